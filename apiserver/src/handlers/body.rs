//! Decoding request bodies: the media type, JSON, and the object's apiVersion and kind against
//! the resource of the URL (reading them whole, with the size limit, is `crate::request::body`).

use http::HeaderMap;
use registry::field::FieldError;
use registry::{ApiError, FieldValidation, ResourceDefinition, WriteOptions};
use serde_json::Value;

use crate::negotiation;
use crate::request::body::{read_bytes, RequestBody};

/// Reads a JSON object of the resource `def` for create or update, with the messages of
/// k8s.io/apiserver `handlers/rest.go` `transformDecodeError` for custom resources. Unless
/// `options` ignore field validation, the body's duplicate fields go into
/// `options.decoding_errors` (strict decoding reports them with the unknown fields).
pub async fn read_object(
    body: RequestBody,
    headers: &HeaderMap,
    def: &ResourceDefinition,
    options: &mut WriteOptions,
) -> Result<Value, ApiError> {
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let built_in = def.built_in();
    let body_type = negotiation::body_type(content_type, built_in)?;
    let bytes = read_bytes(body).await?;
    if body_type == negotiation::BodyType::Protobuf {
        let object = crate::protobuf::decode(&bytes).map_err(|e| {
            ApiError::bad_request(format!(
                "the object provided is unrecognized (must be of type {}): {e}",
                def.kind
            ))
        })?;
        check_type(&object, def)?;
        return Ok(object);
    }
    let unrecognized = |why: String| {
        ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): {why} ({})",
            def.kind,
            summarize(&bytes)
        ))
    };
    // One pass finds the body's duplicate fields too (strict decoding reports them).
    let parsed = registry::duplicates::parse(&bytes)
        .map_err(|e| unrecognized(format!("couldn't get version/kind; json parse error: {e}")))?;
    let object = parsed.value;
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
    check_type(&object, def)?;
    if options.field_validation != FieldValidation::Ignore {
        options.decoding_errors = registry::duplicates::field_errors(&parsed.duplicates);
    }
    Ok(object)
}

/// The object's apiVersion and kind must be the resource's: 400 for another apiVersion, 422
/// for another kind (the messages of the custom resource handler).
pub(crate) fn check_type(object: &Value, def: &ResourceDefinition) -> Result<(), ApiError> {
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    let expected = def.api_version();
    if api_version != expected {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({expected})"
        )));
    }
    let kind = object["kind"].as_str().unwrap_or_default();
    if kind != def.kind {
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        let field = FieldError::invalid(
            "kind",
            &Value::String(kind.into()),
            &format!("must be {}", def.kind),
        );
        return Err(ApiError::invalid(kind, &def.group, name, &[field]));
    }
    Ok(())
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
    body: RequestBody,
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
