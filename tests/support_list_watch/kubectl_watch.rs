//! A long-running kubectl (`get -w`), its stdout read line by line while the test writes;
//! killed by PID when dropped. Short commands use `support::Kubectl`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::kubectl_binary;

/// A running kubectl with piped output.
#[derive(Debug)]
pub struct KubectlWatch {
    child: Child,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    _cache: tempfile::TempDir,
}

impl Drop for KubectlWatch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl KubectlWatch {
    /// Starts kubectl `version` (`"1.32"`, `"1.33"`) with `args` against `kubeconfig`, with
    /// its own cache dir. `None` when that kubectl is not installed (a panic under CI).
    pub fn spawn(version: &str, kubeconfig: &Path, args: &[&str]) -> Option<KubectlWatch> {
        let binary = kubectl_binary(version)?;
        let cache = tempfile::tempdir().expect("a kubectl cache dir");
        let mut child = Command::new(&binary)
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .arg("--cache-dir")
            .arg(cache.path())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        let (sender, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().expect("piped stderr");
        let collected = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                let mut text = collected.lock().unwrap_or_else(|p| p.into_inner());
                text.push_str(&line);
                text.push('\n');
            }
        });
        Some(KubectlWatch {
            child,
            lines,
            stderr,
            _cache: cache,
        })
    }

    /// The next stdout line; panics (with stderr) when none comes `within`.
    pub fn line(&mut self, within: Duration) -> String {
        match self.lines.recv_timeout(within) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => panic!(
                "kubectl printed no line within {within:?}; stderr: {}",
                self.stderr()
            ),
            Err(RecvTimeoutError::Disconnected) => {
                let status = self.child.wait();
                panic!(
                    "kubectl exited ({status:?}) where a line was expected; stderr: {}",
                    self.stderr()
                )
            }
        }
    }

    /// The next line split on whitespace.
    pub fn row(&mut self, within: Duration) -> Vec<String> {
        self.line(within)
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }

    /// What kubectl wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
