//! `fleet-apiserver up` with the flags the shared fixture does not pass: a short
//! `--etcd-compaction-interval`, and a fixed `--secure-port` so that the server can be killed
//! and started again on the same port and data (and the same etcd).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use storage::testing::EtcdServer;

use super::http1::Http1;
use crate::support::{client_from, forward_lines, keep_tail, Backend, BINARY};

const READY_TIMEOUT: Duration = Duration::from_secs(30);
const STDERR_TAIL_LINES: usize = 100;

/// A port the OS has just handed out on loopback (and that nothing listens on now).
pub fn reserve_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding a free port");
    listener.local_addr().expect("the bound address").port()
}

/// How to start an [`Up`].
#[derive(Debug)]
pub struct UpBuilder {
    backend: Backend,
    compaction_interval: Option<&'static str>,
    fixed_port: bool,
}

impl UpBuilder {
    /// `--etcd-compaction-interval` (e.g. `"2s"`).
    pub fn compaction_interval(mut self, interval: &'static str) -> Self {
        self.compaction_interval = Some(interval);
        self
    }

    /// Listens on a port reserved now and kept across [`Up::restart`], instead of port 0.
    pub fn fixed_port(mut self) -> Self {
        self.fixed_port = true;
        self
    }

    /// Starts the server (and etcd for [`Backend::Etcd`]); `None` when etcd cannot run here.
    pub fn start(self) -> Option<Up> {
        let etcd = match self.backend {
            Backend::Embedded => None,
            Backend::Etcd => Some(EtcdServer::start()?),
        };
        let data = tempfile::tempdir().expect("a temp dir for the server");
        let port = if self.fixed_port { reserve_port() } else { 0 };
        let mut args = vec![
            "up".to_owned(),
            "--data-dir".to_owned(),
            data.path().display().to_string(),
            "--secure-port".to_owned(),
            port.to_string(),
        ];
        if let Some(interval) = self.compaction_interval {
            args.extend(["--etcd-compaction-interval".to_owned(), interval.to_owned()]);
        }
        if let Some(etcd) = &etcd {
            args.extend(["--etcd-servers".to_owned(), etcd.client_url().to_owned()]);
        }
        let mut up = Up {
            args,
            child: None,
            url: String::new(),
            stderr_tail: Arc::default(),
            data,
            etcd,
        };
        up.spawn();
        Some(up)
    }
}

/// A running `fleet-apiserver up`, killed by PID when dropped; its data directory (and etcd)
/// outlive restarts.
#[derive(Debug)]
pub struct Up {
    args: Vec<String>,
    child: Option<Child>,
    url: String,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    data: tempfile::TempDir,
    /// Dropped after the server is killed.
    etcd: Option<EtcdServer>,
}

impl Drop for Up {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Up {
    pub fn builder(backend: Backend) -> UpBuilder {
        UpBuilder {
            backend,
            compaction_interval: None,
            fixed_port: false,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.data_dir().join("admin.kubeconfig")
    }

    /// A kube-rs client for the admin (make a new one after a restart).
    pub async fn client(&self) -> kube::Client {
        client_from(&self.kubeconfig()).await
    }

    /// The HTTP/1.1 client of this server.
    pub fn http(&self) -> Http1 {
        Http1::new(&self.url, self.data_dir())
    }

    /// The last lines the server wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        let tail = self.stderr_tail.lock().unwrap_or_else(|p| p.into_inner());
        tail.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    /// Kills the server (SIGKILL to its PID) and waits for it; nothing when not running.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills the server and starts it again with the same flags, data and port.
    pub fn restart(&mut self) {
        let before = self.url.clone();
        self.kill();
        self.spawn();
        assert_eq!(self.url, before, "the server came back on the same URL");
    }

    fn spawn(&mut self) {
        let mut child = Command::new(BINARY)
            .args(&self.args)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {BINARY}: {e}"));
        let lines = forward_lines(child.stdout.take().expect("piped stdout"));
        keep_tail(
            child.stderr.take().expect("piped stderr"),
            self.stderr_tail.clone(),
        );
        self.child = Some(child);
        match lines.recv_timeout(READY_TIMEOUT) {
            Ok(line) if line.starts_with("ready https://") => {
                self.url = line["ready ".len()..].to_owned();
            }
            other => {
                self.kill();
                panic!(
                    "fleet-apiserver {} did not print its ready line: {other:?}; stderr:\n{}",
                    self.args.join(" "),
                    self.stderr_tail()
                );
            }
        }
    }
}
