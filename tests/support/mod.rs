//! Fixtures of the end-to-end tests: the real `fleet-apiserver up` on a free port (embedded
//! store or a real etcd), kubectl runners with a hard timeout, kube-rs clients and raw
//! requests, a blocking HTTP/1.1 client ([`http1`]), and the exact-422 case tables of the
//! fleet kinds ([`invalid`]).

// Each test crate includes this module and uses only part of it (and of its re-exports).
#![allow(dead_code, unused_imports)]

/// Instantiates each async test body for both backends, as `<backend>::<test>`.
#[allow(unused_macros)] // Each test crate uses some of these.
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod embedded {
            use super::*;
            $( #[tokio::test] async fn $test() { super::$test(Backend::Embedded).await } )*
        }
        mod etcd {
            use super::*;
            $( #[tokio::test] async fn $test() { super::$test(Backend::Etcd).await } )*
        }
    };
}

/// Instantiates each test body for both backends and both kubectl versions, as
/// `<backend>_kubectl_<version>::<test>`.
#[allow(unused_macros)] // Each test crate uses some of these.
macro_rules! for_each_backend_and_kubectl {
    ($($test:ident),* $(,)?) => {
        for_each_backend_and_kubectl!(@one embedded_kubectl_1_32, Backend::Embedded, "1.32", $($test),*);
        for_each_backend_and_kubectl!(@one embedded_kubectl_1_33, Backend::Embedded, "1.33", $($test),*);
        for_each_backend_and_kubectl!(@one etcd_kubectl_1_32, Backend::Etcd, "1.32", $($test),*);
        for_each_backend_and_kubectl!(@one etcd_kubectl_1_33, Backend::Etcd, "1.33", $($test),*);
    };
    (@one $module:ident, $backend:expr, $version:literal, $($test:ident),*) => {
        mod $module {
            use super::*;
            $(
                #[test]
                fn $test() {
                    super::$test($backend, $version);
                }
            )*
        }
    };
}

mod client;
pub mod http1;
pub mod invalid;
mod kubectl;

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use storage::testing::EtcdServer;

pub use client::{
    assert_unauthorized, base64_decode, cld, client_from, config_from, create, install_crypto,
    kubeconfig_identity, list_revision, send_ok, Raw, Reply,
};
pub use kubectl::{cells, kubectl_binary, Kubectl};

/// The served API group, its version, and both together.
pub const GROUP: &str = "fleet.k0rdent.io";
pub const VERSION: &str = "v1alpha1";
pub const API_VERSION: &str = "fleet.k0rdent.io/v1alpha1";
/// The collection of ClusterDeployments in namespace `default`.
pub const DEFAULT_CLDS: &str =
    "/apis/fleet.k0rdent.io/v1alpha1/namespaces/default/clusterdeployments";
/// The collection of ClusterDeployments in every namespace.
pub const ALL_CLDS: &str = "/apis/fleet.k0rdent.io/v1alpha1/clusterdeployments";
/// SelfSubjectReview: who the server thinks the caller is.
pub const SELF_SUBJECT_REVIEWS: &str = "/apis/authentication.k8s.io/v1/selfsubjectreviews";

/// The verbs discovery lists for every stored fleet kind, sorted (written here, never read
/// from the server's code).
pub const STORED_VERBS: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
/// The verbs discovery lists for every `/status` subresource, sorted.
pub const STATUS_VERBS: [&str; 3] = ["get", "patch", "update"];

/// The binary under test.
pub const BINARY: &str = env!("CARGO_BIN_EXE_fleet-apiserver");
/// How long `up` may take to print its ready line.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How many lines of the server's stderr are kept for failure messages.
const STDERR_TAIL_LINES: usize = 200;

/// The files of `examples/` whose names start with one of `prefixes`, as `examples/<name>`,
/// sorted (every `.yaml` file when `prefixes` is empty).
pub fn example_files(prefixes: &[&str]) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir("examples")
        .expect("examples/")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| {
            let ours = prefixes.is_empty() || prefixes.iter().any(|p| name.starts_with(p));
            ours && name.ends_with(".yaml")
        })
        .map(|name| format!("examples/{name}"))
        .collect();
    files.sort();
    files
}

/// Whether the tests run under CI, where a missing tool is a failure, never a skip.
pub fn under_ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// Where objects are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded store under `DIR/data`.
    Embedded,
    /// A real etcd started for the test (`--etcd-servers`).
    Etcd,
}

/// How to start a [`TestServer`].
#[derive(Debug)]
pub struct ServerBuilder {
    backend: Backend,
    data_dir: Option<PathBuf>,
    args: Vec<std::ffi::OsString>,
    envs: Vec<(String, String)>,
}

impl ServerBuilder {
    /// Uses this data directory (which outlives the server) instead of a fresh temp dir.
    pub fn data_dir(mut self, dir: &Path) -> Self {
        self.data_dir = Some(dir.to_owned());
        self
    }

    /// Adds command-line arguments of `up` (e.g. `--token-auth-file`, `--audit-log-path`).
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<std::ffi::OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable of the server process (e.g. `RUST_LOG`).
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.envs.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Starts `fleet-apiserver up` and waits for its ready line. `None` when the backend
    /// cannot run here (etcd missing outside CI; a message says so).
    pub fn start(self) -> Option<TestServer> {
        let etcd = match self.backend {
            Backend::Embedded => None,
            Backend::Etcd => Some(EtcdServer::start()?),
        };
        let (temp, data_dir) = match self.data_dir {
            Some(dir) => (None, dir),
            None => {
                let temp = tempfile::tempdir().expect("a temp dir for the server");
                let dir = temp.path().to_owned();
                (Some(temp), dir)
            }
        };
        let mut command = Command::new(BINARY);
        command
            .arg("up")
            .arg("--data-dir")
            .arg(&data_dir)
            .args(["--secure-port", "0"])
            .args(&self.args);
        if let Some(etcd) = &etcd {
            command.args(["--etcd-servers", etcd.client_url()]);
        }
        command.envs(self.envs.iter().map(|(k, v)| (k, v)));
        let mut child = command
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {BINARY}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let stderr_reader = Some(keep_tail(stderr, tail.clone()));
        let lines = forward_lines(stdout);
        // Built before waiting, so that a failed start still kills the child on drop.
        let mut server = TestServer {
            child,
            url: String::new(),
            data_dir,
            kubeconfig_at_ready: Vec::new(),
            stderr_tail: tail,
            stderr_reader,
            etcd,
            _temp: temp,
        };
        server.wait_ready(&lines);
        Some(server)
    }
}

/// A running `fleet-apiserver up`, killed (by PID) when dropped, also when a test panics.
#[derive(Debug)]
pub struct TestServer {
    child: Child,
    url: String,
    data_dir: PathBuf,
    kubeconfig_at_ready: Vec<u8>,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    stderr_reader: Option<JoinHandle<()>>,
    /// The etcd of [`Backend::Etcd`]; dropped (killed) after the server.
    etcd: Option<EtcdServer>,
    _temp: Option<tempfile::TempDir>,
}

impl TestServer {
    /// Starts a server on a fresh data directory.
    pub fn start(backend: Backend) -> Option<TestServer> {
        Self::builder(backend).start()
    }

    pub fn builder(backend: Backend) -> ServerBuilder {
        ServerBuilder {
            backend,
            data_dir: None,
            args: Vec::new(),
            envs: Vec::new(),
        }
    }

    /// The URL of the ready line, e.g. `https://127.0.0.1:41234`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `DIR/admin.kubeconfig`.
    pub fn kubeconfig(&self) -> PathBuf {
        self.data_dir.join("admin.kubeconfig")
    }

    /// Issues a kubeconfig for `user` in `groups` with `fleet-apiserver kubeconfig` (a client
    /// certificate from the server's CA), written under the data directory.
    pub fn kubeconfig_for(&self, user: &str, groups: &[&str]) -> PathBuf {
        let out = self.data_dir.join(format!("{user}.kubeconfig"));
        let mut command = Command::new(BINARY);
        command
            .arg("kubeconfig")
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(["--user", user])
            .arg("--out")
            .arg(&out);
        for group in groups {
            command.args(["--group", group]);
        }
        let status = command
            .status()
            .expect("running fleet-apiserver kubeconfig");
        assert!(
            status.success(),
            "fleet-apiserver kubeconfig --user {user} failed"
        );
        out
    }

    /// The admin kubeconfig as it was when the ready line was read.
    pub fn kubeconfig_at_ready(&self) -> &[u8] {
        &self.kubeconfig_at_ready
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The etcd of [`Backend::Etcd`].
    pub fn etcd(&self) -> Option<&EtcdServer> {
        self.etcd.as_ref()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The last lines the server wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        let tail = self.stderr_tail.lock().unwrap_or_else(|p| p.into_inner());
        tail.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    /// Whether a stderr line matching `wanted` appears within 5 s (stderr is read by a
    /// thread, a little after the server writes it).
    pub fn logged(&self, wanted: impl Fn(&str) -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let found = {
                let tail = self.stderr_tail.lock().unwrap_or_else(|p| p.into_inner());
                tail.iter().any(|line| wanted(line))
            };
            if found || Instant::now() > deadline {
                return found;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM (with the `kill` command) and waits at most `within` for the exit.
    pub fn terminate(&mut self, within: Duration) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("running kill");
        assert!(sent.success(), "kill -TERM {pid} failed: {sent}");
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("waiting for the server") {
                // The pipe is closed: read the rest of stderr before anyone looks at it.
                if let Some(reader) = self.stderr_reader.take() {
                    let _ = reader.join();
                }
                return status;
            }
            if Instant::now() > deadline {
                panic!(
                    "the server did not exit within {within:?} after SIGTERM; stderr:\n{}",
                    self.stderr_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A kube-rs client authenticated as the admin of the kubeconfig.
    pub async fn client(&self) -> kube::Client {
        client_from(&self.kubeconfig()).await
    }

    /// A kube-rs client that trusts the server's CA but presents no client certificate.
    pub async fn anonymous_client(&self) -> kube::Client {
        let mut config = config_from(&self.kubeconfig()).await;
        let auth = &mut config.auth_info;
        auth.client_certificate = None;
        auth.client_certificate_data = None;
        auth.client_key = None;
        auth.client_key_data = None;
        assert!(!config.accept_invalid_certs, "the CA must be verified");
        assert!(config.root_cert.is_some(), "the kubeconfig carries the CA");
        kube::Client::try_from(config).expect("a client without a certificate")
    }

    /// Reads stdout until the ready line; panics with the stderr tail when it does not come.
    fn wait_ready(&mut self, lines: &Receiver<String>) {
        let deadline = Instant::now() + READY_TIMEOUT;
        let first = match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => {
                self.fail(&format!("no ready line within {READY_TIMEOUT:?}"))
            }
            Err(RecvTimeoutError::Disconnected) => {
                self.fail("the server closed stdout without a ready line")
            }
        };
        // Read at once: the contract is that the kubeconfig is complete when the line appears.
        let kubeconfig = std::fs::read(self.kubeconfig());
        let Some(url) = first.strip_prefix("ready ") else {
            self.fail(&format!(
                "the first stdout line is not the ready line: {first:?}"
            ))
        };
        assert!(
            url.starts_with("https://"),
            "the ready line names an https URL: {first:?}"
        );
        self.url = url.to_owned();
        self.kubeconfig_at_ready = match kubeconfig {
            Ok(bytes) => bytes,
            Err(e) => self.fail(&format!(
                "{} is missing when the ready line appears: {e}",
                self.kubeconfig().display()
            )),
        };
    }

    /// Kills the server and panics with `why` and everything it wrote to stderr.
    fn fail(&mut self, why: &str) -> ! {
        let _ = self.child.kill();
        let status = self.child.wait();
        if let Some(reader) = self.stderr_reader.take() {
            let _ = reader.join();
        }
        panic!(
            "fleet-apiserver up: {why} (exit: {status:?}); stderr:\n{}",
            self.stderr_tail()
        );
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends every stdout line to the returned channel, and keeps draining after the receiver
/// is gone so that the server never blocks on a full pipe.
pub fn forward_lines(stdout: impl Read + Send + 'static) -> Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = sender.send(line);
        }
    });
    receiver
}

/// Drains stderr, keeping its last lines.
pub fn keep_tail(stderr: ChildStderr, tail: Arc<Mutex<VecDeque<String>>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let mut tail = tail.lock().unwrap_or_else(|p| p.into_inner());
            if tail.len() == STDERR_TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    })
}
