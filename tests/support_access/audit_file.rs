//! The audit log file as the tests read it: one audit.k8s.io/v1 Event per JSON line, looked
//! up by audit ID.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long the server's writer thread may take to put an event on disk.
const WRITE_WAIT: Duration = Duration::from_secs(10);

/// An audit log written by `up --audit-log-path`.
#[derive(Debug, Clone)]
pub struct AuditFile {
    path: PathBuf,
}

impl AuditFile {
    pub fn new(path: &Path) -> AuditFile {
        AuditFile {
            path: path.to_owned(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The whole file; empty while it does not exist.
    pub fn text(&self) -> String {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => panic!("reading {}: {e}", self.path.display()),
        }
    }

    /// Every complete line as JSON, in file order; panics on a line that is not JSON.
    pub fn events(&self) -> Vec<Value> {
        let text = self.text();
        // A last line without its newline is still being written.
        let complete = match text.rfind('\n') {
            Some(end) => &text[..=end],
            None => "",
        };
        complete
            .lines()
            .enumerate()
            .map(|(i, line)| {
                serde_json::from_str(line).unwrap_or_else(|e| {
                    panic!(
                        "line {} of {} is not JSON ({e}): {line}",
                        i + 1,
                        self.path.display()
                    )
                })
            })
            .collect()
    }

    /// The events of one request, in file order.
    pub fn events_of(&self, audit_id: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|event| event["auditID"] == audit_id)
            .collect()
    }

    /// The events of one request once one at `stage` is on disk; panics when none comes
    /// within 10 s.
    pub async fn reached(&self, audit_id: &str, stage: &str) -> Vec<Value> {
        self.reached_any(audit_id, &[stage]).await
    }

    /// The events of one request once one at any of `stages` is on disk; panics when none
    /// comes within 10 s.
    pub async fn reached_any(&self, audit_id: &str, stages: &[&str]) -> Vec<Value> {
        let deadline = Instant::now() + WRITE_WAIT;
        loop {
            let events = self.events_of(audit_id);
            if events
                .iter()
                .any(|e| stages.iter().any(|s| e["stage"] == *s))
            {
                return events;
            }
            if Instant::now() > deadline {
                panic!(
                    "no {stages:?} event of {audit_id} within {WRITE_WAIT:?}; its events: \
                     {events:#?}\nthe log:\n{}",
                    self.text()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The events of one request once it is complete.
    pub async fn completed(&self, audit_id: &str) -> Vec<Value> {
        self.reached(audit_id, "ResponseComplete").await
    }
}

/// Microseconds since the Unix epoch of a `metav1.MicroTime` as upstream writes it:
/// `2006-01-02T15:04:05.000000Z`, exactly (UTC, six fractional digits). `None` otherwise.
pub fn micros_since_epoch(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let separators = [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
    ];
    let shaped = bytes.len() == 27
        && bytes[26] == b'Z'
        && separators.iter().all(|&(i, c)| bytes[i] == c)
        && (0..26)
            .filter(|i| !separators.iter().any(|&(s, _)| s == *i))
            .all(|i| bytes[i].is_ascii_digit());
    if !shaped {
        return None;
    }
    let number = |from: usize, to: usize| text[from..to].parse::<i64>().ok();
    let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
    let (hour, minute, second) = (number(11, 13)?, number(14, 16)?, number(17, 19)?);
    let micros = number(20, 26)?;
    let in_range = (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    if !in_range {
        return None;
    }
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second;
    Some(seconds * 1_000_000 + micros)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}
