//! `/healthz`, `/livez` and `/readyz`, with `?verbose`, `?exclude=` and `/<endpoint>/<check>`,
//! as k8s.io/apiserver's `pkg/server/healthz` answers them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http::{Response, StatusCode};
use storage::Store;

use crate::response::{self, Body};

/// How long the storage check may take.
const STORAGE_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The health endpoints and their checks.
#[derive(Debug)]
pub struct Health {
    store: Arc<dyn Store>,
    /// Set when the server starts shutting down: readiness fails from then on.
    shutting_down: AtomicBool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    Ping,
    Storage,
    Shutdown,
}

impl Check {
    fn name(self) -> &'static str {
        match self {
            Check::Ping => "ping",
            Check::Storage => "storage",
            Check::Shutdown => "shutdown",
        }
    }
}

impl Health {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Health {
            store,
            shutting_down: AtomicBool::new(false),
        }
    }

    /// Makes `/readyz` fail from now on (the server is draining).
    pub fn mark_shutting_down(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    /// Answers a health path, or `None` when `path` is not one.
    pub async fn respond(&self, path: &str, query: &[(String, String)]) -> Option<Response<Body>> {
        let mut parts = path.trim_start_matches('/').splitn(2, '/');
        let endpoint = parts.next()?;
        let checks: &[Check] = match endpoint {
            "healthz" => &[Check::Ping, Check::Storage],
            "livez" => &[Check::Ping],
            "readyz" => &[Check::Ping, Check::Storage, Check::Shutdown],
            _ => return None,
        };
        match parts.next() {
            Some(one) => Some(self.single(checks, one).await),
            None => Some(self.all(endpoint, checks, query).await),
        }
    }

    async fn run(&self, check: Check) -> Result<(), String> {
        match check {
            Check::Ping => Ok(()),
            Check::Shutdown if self.shutting_down.load(Ordering::SeqCst) => {
                Err("process is shutting down".into())
            }
            Check::Shutdown => Ok(()),
            Check::Storage => {
                match tokio::time::timeout(STORAGE_CHECK_TIMEOUT, self.store.current_revision())
                    .await
                {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err("storage did not answer in time".into()),
                }
            }
        }
    }

    async fn single(&self, checks: &[Check], name: &str) -> Response<Body> {
        let Some(check) = checks.iter().find(|c| c.name() == name) else {
            return text(StatusCode::NOT_FOUND, "404 page not found\n".into());
        };
        match self.run(*check).await {
            Ok(()) => text(StatusCode::OK, "ok".into()),
            Err(e) => text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("internal server error: {e}\n"),
            ),
        }
    }

    async fn all(
        &self,
        endpoint: &str,
        checks: &[Check],
        query: &[(String, String)],
    ) -> Response<Body> {
        let verbose = query.iter().any(|(k, _)| k == "verbose");
        let excluded: Vec<&str> = query
            .iter()
            .filter(|(k, _)| k == "exclude")
            .map(|(_, v)| v.as_str())
            .collect();
        let mut report = String::new();
        let mut failed = false;
        for check in checks {
            if excluded.contains(&check.name()) {
                report.push_str(&format!("[+]{} excluded: ok\n", check.name()));
                continue;
            }
            match self.run(*check).await {
                Ok(()) => report.push_str(&format!("[+]{} ok\n", check.name())),
                Err(e) => {
                    tracing::warn!(check = check.name(), error = %e, "{endpoint} check failed");
                    failed = true;
                    report.push_str(&format!("[-]{} failed: reason withheld\n", check.name()));
                }
            }
        }
        let unknown: Vec<&&str> = excluded
            .iter()
            .filter(|e| !checks.iter().any(|c| c.name() == **e))
            .collect();
        if !unknown.is_empty() {
            let names: Vec<String> = unknown.iter().map(|u| format!("{u:?}")).collect();
            report.push_str(&format!(
                "warn: some health checks cannot be excluded: no matches for {}\n",
                names.join(",")
            ));
        }
        if failed {
            report.push_str(&format!("{endpoint} check failed\n"));
            return text(StatusCode::INTERNAL_SERVER_ERROR, report);
        }
        if verbose {
            report.push_str(&format!("{endpoint} check passed\n"));
            return text(StatusCode::OK, report);
        }
        text(StatusCode::OK, "ok".into())
    }
}

fn text(code: StatusCode, body: String) -> Response<Body> {
    let mut response = response::with_type(code, "text/plain; charset=utf-8", body);
    response.headers_mut().insert(
        "X-Content-Type-Options",
        http::HeaderValue::from_static("nosniff"),
    );
    response
}
