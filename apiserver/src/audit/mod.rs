//! The audit log, as kube-apiserver's `--audit-policy-file` and `--audit-log-path` provide it.
//!
//! # Layout
//! - [`policy`]: the audit.k8s.io/v1 `Policy`: which requests are recorded, at what level.
//! - [`event`]: the audit.k8s.io/v1 `Event` written for each recorded stage of a request.
//! - [`log`]: the backend appending one JSON line per event to a file or stdout.
//!
//! The flow (k8s.io/apiserver `pkg/endpoints/filters/audit.go`): the server evaluates the
//! policy once per request ([`Policy::evaluate`]), starts an [`Event`] with the resulting
//! [`Decision`], fills it as the request is served, and passes it to [`AuditLog::record`] at
//! each stage. The event carries the decision, so it keeps only the bodies its level allows
//! and `record` skips the stages the policy omits.

pub mod event;
pub mod log;
pub mod policy;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use event::{Event, ObjectReference, ResponseStatus, UserInfo};
pub use log::AuditLog;
pub use policy::{Attributes, Decision, GroupResources, Policy, PolicyRule};

/// The group version of policies and events.
pub const API_VERSION: &str = "audit.k8s.io/v1";

/// How much of a request is recorded. Levels are ordered: each one records what the
/// previous one does, and more.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum Level {
    /// Nothing.
    #[default]
    None,
    /// Who did what to which object, when, and the response code; no bodies.
    Metadata,
    /// Metadata and the request body.
    Request,
    /// Metadata and both the request and the response bodies.
    RequestResponse,
}

/// The points in serving a request at which an event is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Stage {
    /// As soon as the request is received, before it is handled.
    RequestReceived,
    /// Once the response headers are sent; only for long-running requests (watch).
    ResponseStarted,
    /// Once the response body is complete.
    ResponseComplete,
    /// When handling the request panicked.
    Panic,
}

/// Why the audit log could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the policy file failed.
    #[error("reading audit policy {}: {source}", path.display())]
    ReadPolicy {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The policy is not an audit.k8s.io/v1 `Policy` in YAML or JSON.
    #[error("decoding audit policy{}: {source}", in_file(path))]
    DecodePolicy {
        path: Option<PathBuf>,
        #[source]
        source: yaml_serde::Error,
    },
    /// The policy decoded but breaks the rules of k8s.io/apiserver
    /// `pkg/apis/audit/validation`.
    #[error("invalid audit policy{}: {}", in_file(path), problems.join("; "))]
    InvalidPolicy {
        path: Option<PathBuf>,
        problems: Vec<String>,
    },
    /// Creating or opening the log file for appending failed.
    #[error("opening audit log {}: {source}", path.display())]
    OpenLog {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Starting the thread that writes the log failed.
    #[error("starting the audit log writer: {source}")]
    StartWriter {
        #[source]
        source: std::io::Error,
    },
}

/// The result of setting up the audit log.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn in_file(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map(|p| format!(" {}", p.display()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_ordered_from_none_to_request_response() {
        assert!(Level::None < Level::Metadata);
        assert!(Level::Metadata < Level::Request);
        assert!(Level::Request < Level::RequestResponse);
    }

    #[test]
    fn levels_and_stages_use_upstream_strings() {
        let levels = serde_json::to_value([Level::None, Level::RequestResponse]).unwrap();
        assert_eq!(levels, serde_json::json!(["None", "RequestResponse"]));
        let stage: Stage = serde_json::from_str("\"ResponseStarted\"").unwrap();
        assert_eq!(stage, Stage::ResponseStarted);
    }
}
