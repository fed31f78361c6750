//! The audit filter: one audit.k8s.io/v1 Event per recorded stage of a request — received,
//! response started (watches), response complete — at the level the policy gives it, with the
//! bodies that level allows (k8s.io/apiserver `pkg/endpoints/filters/audit.go`).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::SystemTime;

use bytes::Bytes;
use http::Response;
use http_body_util::BodyExt;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use serde_json::Value;

use crate::audit::{self, AuditLog, Event, Level, ResponseStatus, Stage};
use crate::authentication::User;
use crate::authorization::Attributes;
use crate::response::Body;

/// What the event of one request starts from.
#[derive(Debug)]
pub struct Start<'a> {
    pub audit_id: &'a str,
    pub received: SystemTime,
    /// The attributes of the request as the authenticated user asks it.
    pub attributes: &'a Attributes,
    /// Path and query.
    pub request_uri: &'a str,
    pub user_agent: &'a str,
    pub source_ip: String,
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
    /// Starts the event of a request and records `RequestReceived` (not for a failed
    /// authentication); `None` when the policy does not record the request.
    pub fn start(
        log: &Arc<AuditLog>,
        start: Start<'_>,
        failed_authentication: bool,
    ) -> Option<RequestAudit> {
        let a = start.attributes;
        let attributes = audit::Attributes {
            user: &a.user.name,
            groups: &a.user.groups,
            verb: &a.verb,
            resource_request: a.resource_request,
            namespace: &a.namespace,
            api_group: &a.api_group,
            api_version: &a.api_version,
            resource: &a.resource,
            subresource: &a.subresource,
            name: &a.name,
            path: &a.path,
        };
        let decision = log.policy().evaluate(&attributes);
        if decision.level == Level::None {
            return None;
        }
        let mut event = Event::new(start.audit_id, decision, start.received);
        event.set_request(&attributes, start.request_uri);
        event.user = user_info(&a.user);
        event.source_ips = vec![start.source_ip];
        event.set_user_agent(start.user_agent);
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
