//! Reading request bodies: the size limit, the media type, JSON, and the object's apiVersion
//! and kind against the resource of the URL.

use bytes::Bytes;
use http::HeaderMap;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Limited};
use registry::field::FieldError;
use registry::{ApiError, ResourceDefinition};
use serde_json::Value;

use crate::negotiation;

/// The largest request body read: 3 MiB, as kube-apiserver's `MaxRequestBodyBytes`.
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// Reads the whole body, refusing more than [`MAX_BODY_BYTES`] with 413.
pub async fn read_bytes(body: BoxBody<Bytes, hyper::Error>) -> Result<Bytes, ApiError> {
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            Err(ApiError::request_too_large(MAX_BODY_BYTES))
        }
        Err(e) => Err(ApiError::bad_request(format!(
            "reading the request body: {e}"
        ))),
    }
}

/// Reads a JSON object of the resource `def` for create or update, with the messages of
/// k8s.io/apiserver `handlers/rest.go` `transformDecodeError` for custom resources.
pub async fn read_object(
    body: BoxBody<Bytes, hyper::Error>,
    headers: &HeaderMap,
    def: &ResourceDefinition,
) -> Result<Value, ApiError> {
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    negotiation::check_body_type(content_type)?;
    let bytes = read_bytes(body).await?;
    let unrecognized = |why: String| {
        ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): {why} ({})",
            def.kind,
            summarize(&bytes)
        ))
    };
    let object: Value = serde_json::from_slice(&bytes)
        .map_err(|e| unrecognized(format!("couldn't get version/kind; json parse error: {e}")))?;
    if !object.is_object() {
        return Err(unrecognized(
            "couldn't get version/kind; json parse error: not a JSON object".into(),
        ));
    }
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if kind.is_empty() {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        return Err(unrecognized(format!(
            "Object 'Kind' is missing in '{text}'"
        )));
    }
    let api_version = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let expected = def.api_version();
    if api_version != expected {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({expected})"
        )));
    }
    if kind != def.kind {
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        let field = FieldError::invalid(
            "kind",
            &Value::String(kind.into()),
            &format!("must be {}", def.kind),
        );
        return Err(ApiError::invalid(kind, &def.group, name, &[field]));
    }
    Ok(object)
}

/// A short rendering of a body for error messages (`summarizeData`): the first 30 bytes of a
/// JSON object, `<empty>`, or hex.
fn summarize(bytes: &[u8]) -> String {
    const MAX: usize = 30;
    if bytes.is_empty() {
        return "<empty>".into();
    }
    let head = &bytes[..bytes.len().min(MAX)];
    let more = if bytes.len() > MAX { " ..." } else { "" };
    if bytes.first() == Some(&b'{') {
        format!("{}{more}", String::from_utf8_lossy(head))
    } else {
        let hex: String = head.iter().map(|b| format!("{b:02x}")).collect();
        format!("{hex}{more}")
    }
}

/// Reads an optional JSON body (such as `DeleteOptions`): `None` when empty.
pub async fn read_optional_json(
    body: BoxBody<Bytes, hyper::Error>,
    headers: &HeaderMap,
) -> Result<Option<Value>, ApiError> {
    let bytes = read_bytes(body).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    negotiation::check_body_type(content_type)?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| ApiError::bad_request(format!("the request body is not valid JSON: {e}")))
}
