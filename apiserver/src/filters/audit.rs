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
    /// The user the request acts as, when impersonating.
    pub impersonated: Option<&'a User>,
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

/// Starts the event of a request and records `RequestReceived`; `None` when the policy does
/// not record the request.
pub fn start(log: &AuditLog, start: Start<'_>) -> Option<Event> {
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
    event.impersonated_user = start.impersonated.map(user_info);
    event.source_ips = vec![start.source_ip];
    event.set_user_agent(start.user_agent);
    log.record(&event);
    Some(event)
}

/// Whether the event keeps request bodies (so the server reads the body ahead).
pub fn wants_request_body(event: &Event) -> bool {
    event.level() >= Level::Request
}

/// Records the request body: JSON as an object, anything else (protobuf, YAML) not at all.
pub fn request_body(event: &mut Event, bytes: &Bytes, patch: bool) {
    if let Ok(value) = serde_json::from_slice::<Value>(bytes) {
        if patch {
            event.set_request_patch(value);
        } else {
            event.set_request_object(value);
        }
    }
}

/// Records the response: at once for whole bodies (`ResponseComplete`); for watches
/// `ResponseStarted` now and `ResponseComplete` when the stream ends.
pub async fn finish(
    log: Arc<AuditLog>,
    mut event: Event,
    response: Response<Body>,
    streaming: bool,
) -> Response<Body> {
    event.response_status = Some(ResponseStatus::new(response.status().as_u16()));
    if streaming && response.status().is_success() {
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
    let wants_body = event.level() >= Level::Metadata;
    let response = if wants_body {
        let (parts, body) = response.into_parts();
        let bytes = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) => {
                tracing::warn!(error = %e, "reading a response body for the audit log");
                Bytes::new()
            }
        };
        if let Ok(value) = serde_json::from_slice::<Value>(&bytes) {
            event.set_response_object(value);
        }
        Response::from_parts(parts, crate::response::full(bytes))
    } else {
        response
    };
    event.set_stage(Stage::ResponseComplete, SystemTime::now());
    log.record(&event);
    response
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
