//! GET of a collection with `watch=true`: a stream of `{"type", "object"}` lines, flushed per
//! event, ending at `timeoutSeconds` (30–60 minutes by default), on an ERROR, or when the
//! server shuts down.

use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{Response, StatusCode};
use hyper::body::Frame;
use registry::field::FieldError;
use registry::watch::{ObjectEvent, Start, WatchRequest};
use registry::ApiError;
use serde_json::Value;

use super::list::{invalid_options, param, parse_revision, selectors};
use super::{renderer, Call};
use crate::negotiation::Shape;
use crate::response::Body;
use crate::table::Renderer;

/// The default watch length: kube-apiserver's `--min-request-timeout` (30 minutes), times a
/// random factor between 1 and 2 so that watches of many clients do not end together.
const MIN_REQUEST_TIMEOUT: Duration = Duration::from_secs(1800);

/// How often at most an idle watch gets a bookmark.
pub const BOOKMARK_INTERVAL: Duration = Duration::from_secs(60);

pub(crate) async fn handle(call: Call<'_>) -> Result<Response<Body>, ApiError> {
    let resource = call.resource.clone();
    // Negotiated now; each event is rendered in the stream, which outlives this call.
    let render = renderer(&resource.def, &call.headers, &call.query, Shape::Object)?;
    let (output, include) = (render.output, render.include);
    let request = watch_request(&call)?;
    let events = call.server.store.watch(resource.clone(), request).await?;
    let shutdown = call.server.shutdown_signal();
    let state = (events, shutdown, resource, true);
    let lines = futures::stream::unfold(
        state,
        move |(mut events, mut shutdown, resource, first)| async move {
            let event = tokio::select! {
                event = events.recv() => event?,
                _ = shutdown.wait_for(|stopping| *stopping) => return None,
            };
            let render = Renderer {
                def: &resource.def,
                output,
                include,
            };
            let line = encode(&render.event(event, first));
            Some((Ok(Frame::data(line)), (events, shutdown, resource, false)))
        },
    );
    let mut response = Response::new(crate::response::streaming(lines));
    *response.status_mut() = StatusCode::OK;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

fn encode(event: &ObjectEvent) -> Bytes {
    let mut line = serde_json::to_vec(&event.to_json()).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

/// Reads a watch request, validated as `validateWatchOptions` does with WatchList enabled
/// (k8s.io/apimachinery `apis/meta/internalversion/validation`).
fn watch_request(call: &Call<'_>) -> Result<WatchRequest, ApiError> {
    let query = &call.query;
    let rv_match = param(query, "resourceVersionMatch").unwrap_or_default();
    let send_initial = param(query, "sendInitialEvents").map(|v| matches!(v, "true" | "1"));
    let mut errors = Vec::new();
    if send_initial.is_some() && rv_match != "NotOlderThan" {
        errors.push(FieldError::forbidden(
            "resourceVersionMatch",
            "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
        ));
    }
    if !rv_match.is_empty() {
        if send_initial.is_none() {
            errors.push(FieldError::forbidden(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
            ));
        }
        if rv_match != "NotOlderThan" {
            errors.push(FieldError::not_supported(
                "resourceVersionMatch",
                &Value::String(rv_match.into()),
                &["NotOlderThan"],
            ));
        }
        if param(query, "continue").is_some_and(|c| !c.is_empty()) {
            errors.push(FieldError::forbidden(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden when continue is provided",
            ));
        }
    }
    invalid_options(errors)?;
    let revision = parse_revision(param(query, "resourceVersion"))?;
    let allow_bookmarks = matches!(param(query, "allowWatchBookmarks"), Some("true" | "1"));
    let start = match (send_initial, revision) {
        // The classic watch: "" or "0" lists first, a revision watches after it.
        (None, None) => Start::WithInitialEvents {
            min_revision: None,
            end_bookmark: false,
        },
        (None, Some(rv)) => Start::After(rv),
        // Watch-list: the state at least at the revision, then the end-of-initial-events
        // bookmark (when bookmarks are allowed), then changes.
        (Some(true), min_revision) => Start::WithInitialEvents {
            min_revision,
            end_bookmark: allow_bookmarks,
        },
        (Some(false), Some(rv)) => Start::After(rv),
        (Some(false), None) => Start::Now,
    };
    let timeout = match param(query, "timeoutSeconds") {
        None | Some("") => jittered(MIN_REQUEST_TIMEOUT),
        Some(t) => match t.parse::<u64>() {
            Ok(0) => jittered(MIN_REQUEST_TIMEOUT),
            Ok(seconds) => Duration::from_secs(seconds),
            Err(_) => {
                return Err(ApiError::bad_request(format!(
                    "invalid timeoutSeconds: {t:?}"
                )))
            }
        },
    };
    let (labels, fields) = selectors(call)?;
    Ok(WatchRequest {
        namespace: call.namespace().map(str::to_owned),
        labels,
        fields,
        start,
        allow_bookmarks,
        deadline: tokio::time::Instant::now() + timeout,
        bookmark_interval: BOOKMARK_INTERVAL,
    })
}

/// `base` times a random factor in [1, 2).
fn jittered(base: Duration) -> Duration {
    base.mul_f64(1.0 + random_fraction())
}

/// A random number in [0, 1), from std's randomly keyed hasher (good enough for jitter).
fn random_fraction() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}
