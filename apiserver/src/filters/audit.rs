//! The audit filter: one audit.k8s.io/v1 Event per recorded stage of a request — received,
//! response started (watches), response complete — at the level the policy gives it, with the
//! bodies that level allows (k8s.io/apiserver `pkg/endpoints/filters/audit.go`). The filters
//! inside it add to the event through the [`AuditRecord`] in the request's extensions.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::SystemTime;

use bytes::Bytes;
use http::Response;
use http_body_util::BodyExt;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use serde_json::Value;

use super::{audit_id, pass, request_info, request_user, Filter, HttpRequest, Next};
use crate::audit::{self, AuditLog, Event, Level, ResponseStatus, Stage};
use crate::authentication::User;
use crate::response::Body;
use crate::server::Connection;

/// Records the audit event of every request the policy selects.
#[derive(Debug, Clone)]
pub struct Audit {
    /// The log; `None`: nothing is audited.
    pub log: Option<Arc<AuditLog>>,
}

impl Filter for Audit {
    async fn filter(&self, mut req: HttpRequest, next: Next) -> Response<Body> {
        let requestor = request_user(&req).cloned().unwrap_or_default();
        let Some(audit) = self
            .log
            .as_ref()
            .and_then(|log| RequestAudit::start(log, &req, &requestor, false))
        else {
            return pass(next, req).await;
        };
        let watch = request_info(&req).is_watch();
        let record = AuditRecord(Arc::new(Mutex::new(Some(audit))));
        req.extensions_mut().insert(record.clone());
        let response = pass(next, req).await;
        match record.take() {
            Some(audit) => audit.finish(response, watch).await,
            None => response,
        }
    }
}

/// The audit event of a request being served, shared with the filters and the handler inside
/// the audit filter (in the request's extensions).
#[derive(Debug, Clone)]
pub struct AuditRecord(Arc<Mutex<Option<RequestAudit>>>);

impl AuditRecord {
    fn with(&self, f: impl FnOnce(&mut RequestAudit)) {
        let mut guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(audit) = guard.as_mut() {
            f(audit);
        }
    }

    fn take(&self) -> Option<RequestAudit> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// See [`RequestAudit::request_body`].
    pub fn request_body(&self, bytes: &Bytes, patch: bool) {
        self.with(|audit| audit.request_body(bytes, patch));
    }

    /// See [`RequestAudit::impersonated`].
    pub fn impersonated(&self, user: &User) {
        self.with(|audit| audit.impersonated(user));
    }

    /// See [`RequestAudit::annotate`].
    pub fn annotate(&self, key: &str, value: &str) {
        self.with(|audit| audit.annotate(key, value));
    }
}

pub fn user_info(user: &User) -> audit::UserInfo {
    audit::UserInfo {
        username: user.name.clone(),
        uid: user.uid.clone(),
        groups: user.groups.clone(),
        extra: user.extra.clone(),
    }
}

/// The audit record of one request, filled as it is served.
#[derive(Debug)]
pub struct RequestAudit {
    log: Arc<AuditLog>,
    event: Event,
    /// Authentication failed: one event at `ResponseStarted`, as upstream's
    /// `WithFailedAuthenticationAudit` writes it.
    failed_authentication: bool,
}

impl RequestAudit {
    /// Starts the event of a request by `requestor` (the authenticated user, before
    /// impersonation) and records `RequestReceived` (not for a failed authentication); `None`
    /// when the policy does not record the request.
    pub fn start(
        log: &Arc<AuditLog>,
        req: &HttpRequest,
        requestor: &User,
        failed_authentication: bool,
    ) -> Option<RequestAudit> {
        let info = request_info(req);
        let attributes = info.attributes(requestor);
        let decision = log.policy().evaluate(&attributes);
        if decision.level == Level::None {
            return None;
        }
        let mut event = Event::new(audit_id::of(req), decision, info.received);
        event.set_request(&attributes, &info.uri);
        event.user = user_info(&attributes.user);
        if let Some(connection) = req.extensions().get::<Connection>() {
            event.source_ips = vec![connection.remote.ip().to_string()];
        }
        let user_agent = req
            .headers()
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        event.set_user_agent(user_agent);
        if !failed_authentication {
            log.record(&event);
        }
        Some(RequestAudit {
            log: log.clone(),
            event,
            failed_authentication,
        })
    }

    /// Records the request body (`LogRequestObject`, `LogRequestPatch`): it names the object
    /// of a create at every level and is kept from level `Request` on. JSON only.
    pub fn request_body(&mut self, bytes: &Bytes, patch: bool) {
        if let Ok(value) = serde_json::from_slice::<Value>(bytes) {
            if patch {
                self.event.set_request_patch(value);
            } else {
                self.event.set_request_object(value);
            }
        }
    }

    /// The user the request acts as (`LogImpersonatedUser`).
    pub fn impersonated(&mut self, user: &User) {
        self.event.impersonated_user = Some(user_info(user));
    }

    /// Adds an annotation (e.g. `authorization.k8s.io/decision`).
    pub fn annotate(&mut self, key: &str, value: &str) {
        self.event.annotations.insert(key.into(), value.into());
    }

    /// Records the response: at once for whole bodies (`ResponseComplete`, or
    /// `ResponseStarted` for a failed authentication); for watches `ResponseStarted` now and
    /// `ResponseComplete` when the stream ends.
    pub async fn finish(self, response: Response<Body>, streaming: bool) -> Response<Body> {
        let RequestAudit {
            log,
            mut event,
            failed_authentication,
        } = self;
        let code = response.status().as_u16();
        if streaming && response.status().is_success() {
            event.response_status = Some(ResponseStatus::new(code));
            event.set_stage(Stage::ResponseStarted, SystemTime::now());
            log.record(&event);
            return response.map(|body| {
                AuditedStream {
                    inner: body,
                    event: Some(event),
                    log,
                }
                .boxed()
            });
        }
        let (parts, body) = response.into_parts();
        let bytes = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) => {
                tracing::warn!(error = %e, "reading a response body for the audit log");
                Bytes::new()
            }
        };
        // The body matters when the level keeps it, or when it may be a `Status` (errors,
        // deletes): a large list answered at level Metadata is not parsed.
        let may_be_status = !response_ok(code) || event.verb.starts_with("delete");
        if event.level() >= Level::RequestResponse || may_be_status {
            if let Ok(value) = serde_json::from_slice::<Value>(&bytes) {
                event.set_response_object(value);
            }
        }
        // The HTTP code, also when the body is a `Status` without one (a delete's Success).
        let status = event
            .response_status
            .get_or_insert_with(|| ResponseStatus::new(code));
        status.code = code;
        let stage = if failed_authentication {
            Stage::ResponseStarted
        } else {
            Stage::ResponseComplete
        };
        event.set_stage(stage, SystemTime::now());
        log.record(&event);
        Response::from_parts(parts, crate::response::full(bytes))
    }
}

fn response_ok(code: u16) -> bool {
    (200..300).contains(&code)
}

/// A streamed response body that records `ResponseComplete` when it is dropped (the stream
/// ended or the client went away).
struct AuditedStream {
    inner: Body,
    event: Option<Event>,
    log: Arc<AuditLog>,
}

impl HttpBody for AuditedStream {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for AuditedStream {
    fn drop(&mut self) {
        if let Some(mut event) = self.event.take() {
            event.set_stage(Stage::ResponseComplete, SystemTime::now());
            self.log.record(&event);
        }
    }
}
