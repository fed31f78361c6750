//! The log backend: one JSON line per audit event, appended to a file or stdout
//! (k8s.io/apiserver `plugin/pkg/audit/log/backend.go`), behind a bounded buffer like
//! `plugin/pkg/audit/buffered` so that a slow disk never holds up a request.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;

use super::{Error, Event, Policy, Result};

/// Events buffered before new ones are dropped (`--audit-log-batch-buffer-size`).
pub const BUFFER_SIZE: usize = 10_000;

/// An open audit log and the policy deciding what goes into it.
///
/// Events are serialized on the caller's thread and written by a dedicated thread (file
/// writes block, and tokio has no non-blocking files). Dropping the log writes out what is
/// buffered, flushes, and waits for the writer to finish.
#[derive(Debug)]
pub struct AuditLog {
    policy: Policy,
    lines: Option<SyncSender<Vec<u8>>>,
    writer: Option<JoinHandle<()>>,
    dropped: AtomicU64,
}

impl AuditLog {
    /// Opens `path` for appending (creating it with mode 0600 and its directory with 0700,
    /// as kube-apiserver does); `-` is stdout.
    pub fn open(path: &Path, policy: Policy) -> Result<AuditLog> {
        let out: Box<dyn Write + Send> = if path == Path::new("-") {
            Box::new(std::io::stdout())
        } else {
            Box::new(open_append(path).map_err(|source| Error::OpenLog {
                path: path.to_owned(),
                source,
            })?)
        };
        AuditLog::start(out, policy, BUFFER_SIZE)
    }

    fn start(out: Box<dyn Write + Send>, policy: Policy, capacity: usize) -> Result<AuditLog> {
        let (lines, received) = mpsc::sync_channel(capacity);
        let writer = std::thread::Builder::new()
            .name("audit-log".into())
            .spawn(move || write_lines(received, out))
            .map_err(|source| Error::StartWriter { source })?;
        Ok(AuditLog {
            policy,
            lines: Some(lines),
            writer: Some(writer),
            dropped: AtomicU64::new(0),
        })
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Queues the event at its current stage, unless its level is `None` or the policy omits
    /// the stage. Never blocks: when the buffer is full the event is dropped, counted, and
    /// reported with a warning (at the 1st, 2nd, 4th, 8th… drop, so a stuck disk does not
    /// also flood the log).
    pub fn record(&self, event: &Event) {
        if !event.records() {
            return;
        }
        let mut line = match serde_json::to_vec(event) {
            Ok(line) => line,
            Err(error) => {
                tracing::warn!(audit_id = %event.audit_id, %error, "audit event not serializable");
                return;
            }
        };
        line.push(b'\n');
        let Some(lines) = &self.lines else { return };
        let why = match lines.try_send(line) {
            Ok(()) => return,
            Err(TrySendError::Full(_)) => "the audit log buffer is full",
            Err(TrySendError::Disconnected(_)) => "the audit log writer has stopped",
        };
        let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        if dropped.is_power_of_two() {
            tracing::warn!(audit_id = %event.audit_id, dropped, "audit event dropped: {why}");
        }
    }

    /// How many events were dropped, unwritten.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        // Closing the channel ends the writer once it has written what is queued.
        self.lines = None;
        if let Some(writer) = self.writer.take() {
            if writer.join().is_err() {
                tracing::warn!("the audit log writer panicked");
            }
        }
    }
}

fn open_append(path: &Path) -> std::io::Result<File> {
    let mut directories = DirBuilder::new();
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        directories.mode(0o700);
        options.mode(0o600);
    }
    if let Some(directory) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        directories.recursive(true).create(directory)?;
    }
    options.open(path)
}

/// The writer thread: writes lines as they come, flushing whenever the queue runs empty so
/// that a burst costs one write and a quiet log is always complete on disk.
fn write_lines(lines: Receiver<Vec<u8>>, out: Box<dyn Write + Send>) {
    let mut out = BufWriter::new(out);
    let mut failures = 0u64;
    let mut check = |result: std::io::Result<()>| {
        if let Err(error) = result {
            failures += 1;
            if failures.is_power_of_two() {
                tracing::warn!(%error, failures, "writing the audit log failed");
            }
        }
    };
    while let Ok(line) = lines.recv() {
        check(out.write_all(&line));
        for line in lines.try_iter() {
            check(out.write_all(&line));
        }
        check(out.flush());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, SystemTime};

    use serde_json::Value;

    use super::*;
    use crate::audit::{Decision, Level, Stage};

    fn event(id: &str, level: Level, stage: Stage) -> Event {
        let decision = Decision {
            level,
            omit_stages: vec![Stage::ResponseStarted],
            ..Decision::default()
        };
        let mut event = Event::new(id, decision, SystemTime::now());
        event.set_stage(stage, SystemTime::now());
        event
    }

    fn read_lines(path: &Path) -> Vec<Value> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    #[test]
    fn the_file_gets_one_parseable_line_per_recorded_event() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/audit.log");
        let log = AuditLog::open(&path, Policy::metadata_for_everything()).unwrap();
        assert_eq!(log.policy(), &Policy::metadata_for_everything());
        log.record(&event("a", Level::Metadata, Stage::RequestReceived));
        log.record(&event("none", Level::None, Stage::ResponseComplete));
        log.record(&event("omitted", Level::Metadata, Stage::ResponseStarted));
        log.record(&event("b", Level::Request, Stage::ResponseComplete));
        drop(log);

        let lines = read_lines(&path);
        let ids: Vec<_> = lines
            .iter()
            .map(|l| l["auditID"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["a", "b"]);
        for line in &lines {
            assert_eq!(line["kind"], "Event");
            assert_eq!(line["apiVersion"], "audit.k8s.io/v1");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(path.parent().unwrap()), 0o700);
        }
    }

    #[test]
    fn reopening_appends_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        for id in ["first", "second"] {
            let log = AuditLog::open(&path, Policy::metadata_for_everything()).unwrap();
            log.record(&event(id, Level::Metadata, Stage::ResponseComplete));
        }
        assert_eq!(read_lines(&path).len(), 2);
    }

    #[test]
    fn an_unopenable_path_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let error = AuditLog::open(dir.path(), Policy::default()).unwrap_err();
        assert!(matches!(error, Error::OpenLog { .. }), "{error}");
        assert!(error
            .to_string()
            .contains(&dir.path().display().to_string()));
    }

    #[test]
    fn a_dash_is_stdout_not_a_file() {
        let log = AuditLog::open(Path::new("-"), Policy::metadata_for_everything()).unwrap();
        drop(log);
        assert!(!Path::new("-").exists());
    }

    #[test]
    fn the_log_can_be_shared_between_requests() {
        fn shared<T: Send + Sync>() {}
        shared::<AuditLog>();
    }

    /// A writer that, on its first write, says so and then waits until the test releases it.
    struct Stuck {
        entered: mpsc::Sender<()>,
        release: Receiver<()>,
        written: Arc<Mutex<Vec<u8>>>,
    }

    impl Write for Stuck {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            if self.entered.send(()).is_ok() {
                self.release.recv().ok();
            }
            self.written.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_full_buffer_drops_and_counts_events_without_blocking() {
        let (entered, is_writing) = mpsc::channel();
        let (release, released) = mpsc::channel();
        let written = Arc::new(Mutex::new(Vec::new()));
        let out = Stuck {
            entered,
            release: released,
            written: written.clone(),
        };
        let log = AuditLog::start(Box::new(out), Policy::default(), 1).unwrap();
        let record = |id| log.record(&event(id, Level::Metadata, Stage::ResponseComplete));

        record("being-written");
        is_writing.recv_timeout(Duration::from_secs(10)).unwrap();
        drop(is_writing); // Later writes do not stop.
        record("queued");
        record("dropped-1");
        record("dropped-2");
        assert_eq!(log.dropped(), 2);

        release.send(()).unwrap();
        drop(log);
        let written = String::from_utf8(written.lock().unwrap().clone()).unwrap();
        let ids: Vec<String> = written
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).unwrap()["auditID"].to_string())
            .collect();
        assert_eq!(ids, ["\"being-written\"", "\"queued\""]);
    }
}
