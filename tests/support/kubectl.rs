//! kubectl runners (one version, its own cache, a hard timeout) and readers of what kubectl
//! prints.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::under_ci;

/// How long one kubectl command may take before it is killed.
const KUBECTL_TIMEOUT: Duration = Duration::from_secs(60);

/// Where kubectl `version` (`"1.32"`) is installed: the image's google-cloud-sdk copy, else
/// the one `scripts/install-test-deps` unpacked into `.cache/bin/`. `None` (with a message)
/// when neither exists, except under CI, where that panics.
pub fn kubectl_binary(version: &str) -> Option<PathBuf> {
    let candidates = [
        PathBuf::from(format!("/usr/lib/google-cloud-sdk/bin/kubectl.{version}")),
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(".cache/bin/kubectl.{version}")),
    ];
    if let Some(found) = candidates.iter().find(|path| path.exists()) {
        return Some(found.clone());
    }
    let tried = format!("{} or {}", candidates[0].display(), candidates[1].display());
    assert!(
        !under_ci(),
        "kubectl {version} is not installed ({tried}) and CI is set: run scripts/install-test-deps"
    );
    eprintln!("skipping: kubectl {version} is not installed ({tried})");
    None
}

/// A kubectl of one version, with its own cache directory, always passing `--kubeconfig`
/// and `--request-timeout`, and killed when a command takes longer than a minute.
#[derive(Debug)]
pub struct Kubectl {
    binary: PathBuf,
    kubeconfig: PathBuf,
    cache: tempfile::TempDir,
}

impl Kubectl {
    /// kubectl `version` (`"1.32"`, `"1.33"`) for `kubeconfig`. `None` (with a message) when
    /// that kubectl is not installed, except under CI, where that panics.
    pub fn new(version: &str, kubeconfig: &Path) -> Option<Kubectl> {
        let binary = kubectl_binary(version)?;
        Some(Kubectl {
            binary,
            kubeconfig: kubeconfig.to_owned(),
            cache: tempfile::tempdir().expect("a kubectl cache dir"),
        })
    }

    /// Runs kubectl with `args` (and `stdin`), whatever the outcome.
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = Command::new(&self.binary)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.cache.path())
            .arg("--request-timeout=10s")
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", self.binary.display()));
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            let text = text.to_owned();
            std::thread::spawn(move || {
                let _ = pipe.write_all(text.as_bytes());
            });
        }
        let stdout = read_all(child.stdout.take().expect("piped stdout"));
        let stderr = read_all(child.stderr.take().expect("piped stderr"));
        let deadline = Instant::now() + KUBECTL_TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait().expect("waiting for kubectl") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "kubectl {} hung for {KUBECTL_TIMEOUT:?} and was killed; stderr:\n{}",
                    args.join(" "),
                    String::from_utf8_lossy(&stderr.join().unwrap_or_default())
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        Output {
            status,
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        }
    }

    /// Runs kubectl, asserts success, returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        self.ok_with(args, None)
    }

    /// Like [`Kubectl::ok`], with `stdin`.
    pub fn ok_with(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "kubectl {} failed ({}):\nstderr: {}\nstdout: {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stdout).expect("kubectl prints UTF-8")
    }

    /// Runs kubectl, asserts failure, returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        self.fails_with(args, None)
    }

    /// Like [`Kubectl::fails`], with `stdin`.
    pub fn fails_with(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.run(args, stdin);
        assert!(
            !out.status.success(),
            "kubectl {} succeeded but should fail:\nstdout: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).expect("kubectl prints UTF-8")
    }

    /// The objects of `file` as kubectl reads them, client-side (`create --dry-run=client`).
    pub fn objects_of(&self, file: &str) -> Vec<Value> {
        let out = self.ok(&["create", "--dry-run=client", "-o", "json", "-f", file]);
        // One JSON document per object of the file.
        serde_json::Deserializer::from_str(&out)
            .into_iter::<Value>()
            .map(|object| object.expect("kubectl prints JSON"))
            .collect()
    }
}

/// The rows of a kubectl table, the header first, cut into cells at the header's column
/// starts: kubectl left-aligns every cell under its column's name, columns at least three
/// spaces apart (a name may hold one space, as `INSTANCE TYPES` does), so empty cells stay,
/// as "".
pub fn cells(table: &str) -> Vec<Vec<String>> {
    let header = table.lines().next().unwrap_or_default();
    let starts: Vec<usize> = header
        .char_indices()
        .filter(|(i, c)| *c != ' ' && (*i == 0 || header[..*i].ends_with("  ")))
        .map(|(i, _)| i)
        .collect();
    let ends = starts.iter().skip(1).map(Some).chain([None]);
    let bounds: Vec<_> = starts.iter().zip(ends).collect();
    let cut = |line: &str| -> Vec<String> {
        let cell = |(start, end): &(&usize, Option<&usize>)| {
            let end = end.map_or(line.len(), |end| (*end).min(line.len()));
            let start = (**start).min(end);
            line.get(start..end).unwrap_or_default().trim().to_owned()
        };
        bounds.iter().map(cell).collect()
    };
    table.lines().map(cut).collect()
}

fn read_all(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}
