//! PATCH of an object (or of its `/status`): JSON patch (RFC 6902) and JSON merge patch
//! (RFC 7386) on every kind, strategic merge patch on built-in kinds, applied to the current
//! object and written as an update (server-side apply is `apply.rs`), as
//! k8s.io/apiserver `pkg/endpoints/handlers/patch.go` does. A patch that sets
//! `metadata.resourceVersion` is an optimistic lock; otherwise conflicts are retried.

use http::{Response, StatusCode};
use registry::{meta, ApiError, DecodedFrom, FieldValidation};
use serde_json::Value;

use super::{body, options, renderer, Call};
use crate::negotiation::Shape;
use crate::response::{self, Body};

/// How often a patch is re-applied after losing a race with another write.
const ATTEMPTS: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PatchType {
    Json,
    Merge,
    Strategic,
    Apply,
}

impl PatchType {
    /// The patch type of the request's `Content-Type`, among those `call`'s resource accepts;
    /// 415 listing them otherwise.
    pub(crate) fn of(call: &Call<'_>) -> Result<PatchType, ApiError> {
        let content_type = call
            .header(http::header::CONTENT_TYPE)
            .and_then(|c| c.split(';').next())
            .map(|c| c.trim().to_ascii_lowercase());
        let def = &call.resource.def;
        match content_type.as_deref() {
            Some("application/json-patch+json") => Ok(PatchType::Json),
            Some("application/merge-patch+json") => Ok(PatchType::Merge),
            Some("application/strategic-merge-patch+json") if def.strategic_merge_patch => {
                Ok(PatchType::Strategic)
            }
            Some("application/apply-patch+yaml") => Ok(PatchType::Apply),
            _ => Err(ApiError::unsupported_media_type(def.patch_types())),
        }
    }
}

pub(crate) async fn handle(call: Call<'_>) -> Result<Response<Body>, ApiError> {
    let patch_type = PatchType::of(&call)?;
    if patch_type == PatchType::Apply {
        return super::apply::handle(call).await;
    }
    let mut options = call.write_options("PatchOptions")?;
    options::check_no_force(&call.query)?;
    options.decoded_from = DecodedFrom::Patch;
    let (name, namespace) = (call.name().to_owned(), call.namespace().map(str::to_owned));
    let resource = call.resource.clone();
    let render = renderer(&resource.def, &call.headers, &call.query, Shape::Object)?;
    let bytes = crate::request::body::read_bytes(call.body).await?;
    let parsed = registry::duplicates::parse(&bytes)
        .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
    let patch = parsed.value;
    // handlers/patch.go decodes merge and JSON patches strictly too: their duplicate fields
    // come before the patched object's unknown fields (a JSON patch's with a prefix).
    if options.field_validation != FieldValidation::Ignore {
        let duplicates = registry::duplicates::field_errors(&parsed.duplicates);
        options.decoding_errors = match patch_type {
            PatchType::Json => duplicates
                .iter()
                .map(|e| format!("json patch {e}"))
                .collect(),
            PatchType::Merge | PatchType::Strategic | PatchType::Apply => duplicates,
        };
    }
    let store = &call.server.store;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let current = store.get(&resource, namespace.as_deref(), &name).await?;
        let mut patched = apply(patch_type, &patch, &current, resource.def.schema.as_ref())?;
        let locked = meta::resource_version(&patched) != meta::resource_version(&current);
        if meta::resource_version(&patched).is_none() {
            let rv = current["metadata"]["resourceVersion"].clone();
            meta::set(&mut patched, "resourceVersion", Some(rv));
        }
        // A patch may not turn the object into another type.
        body::check_type(&patched, &resource.def)?;
        if meta::name(&patched) != Some(name.as_str()) {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({}) does not match the name on the URL ({name})",
                meta::name(&patched).unwrap_or_default()
            )));
        }
        let written = store
            .update(
                &resource,
                namespace.as_deref(),
                &name,
                patched,
                call.subresource,
                &options,
            )
            .await;
        match written {
            Err(e) if e.reason() == "Conflict" && !locked && attempt < ATTEMPTS => continue,
            Err(e) => return Err(e),
            Ok(written) => {
                let mut response = response::json(StatusCode::OK, &render.object(written.object));
                response::add_warnings(&mut response, &written.warnings);
                return Ok(response);
            }
        }
    }
}

fn apply(
    patch_type: PatchType,
    patch: &Value,
    current: &Value,
    schema: Option<&Value>,
) -> Result<Value, ApiError> {
    let mut doc = current.clone();
    match patch_type {
        PatchType::Apply => {
            return Err(ApiError::internal(
                "apply patches are served by server-side apply",
            ))
        }
        PatchType::Strategic => {
            doc = registry::strategic::apply(current, patch, schema)
                .map_err(|e| ApiError::new(422, "Invalid", e.to_string()))?;
        }
        PatchType::Merge => {
            if !patch.is_object() {
                return Err(ApiError::bad_request(
                    "error decoding patch: a merge patch must be a JSON object",
                ));
            }
            json_patch::merge(&mut doc, patch);
        }
        PatchType::Json => {
            let operations: json_patch::Patch = serde_json::from_value(patch.clone())
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            apply_json_patch(&mut doc, &operations.0, patch)?;
        }
    }
    if !doc.is_object() {
        return Err(ApiError::new(
            422,
            "Invalid",
            "the patched object is not a JSON object",
        ));
    }
    Ok(doc)
}

/// kube-apiserver's limit of operations in one JSON patch (`maxJSONPatchOperations`).
const MAX_JSON_PATCH_OPERATIONS: usize = 10_000;
/// How many bytes the `copy` operations of one patch may duplicate (upstream's
/// `JSONPatchMaxCopyBytes`, the request size limit).
const MAX_COPY_BYTES: usize = crate::request::body::MAX_BODY_BYTES;
/// The deepest nesting a patched object may reach: what can still be decoded again (JSON
/// decoding stops at 128 levels).
const MAX_DEPTH: usize = 100;

/// Applies a JSON patch one operation at a time, refusing what would grow the object without
/// bound: too many operations (413), copies over the size limit, nesting too deep (422).
fn apply_json_patch(
    doc: &mut Value,
    operations: &[json_patch::PatchOperation],
    raw: &Value,
) -> Result<(), ApiError> {
    if operations.len() > MAX_JSON_PATCH_OPERATIONS {
        return Err(ApiError::new(
            413,
            "RequestEntityTooLarge",
            format!(
                "Request entity too large: The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, got {}",
                operations.len()
            ),
        ));
    }
    let invalid = |message: String| ApiError::new(422, "Invalid", message);
    let segments = |pointer: &Value| pointer.as_str().map_or(0, |p| p.matches('/').count());
    let mut copied = 0;
    for (operation, raw) in operations.iter().zip(raw.as_array().into_iter().flatten()) {
        let added = match raw["op"].as_str() {
            Some("add" | "replace" | "test") => Some(raw["value"].clone()),
            Some("copy" | "move") => {
                let from = raw["from"].as_str().unwrap_or_default();
                let value = doc.pointer(from).cloned();
                if raw["op"] == "copy" {
                    copied += value
                        .as_ref()
                        .map_or(0, |v| serde_json::to_vec(v).map_or(0, |b| b.len()));
                    if copied > MAX_COPY_BYTES {
                        return Err(invalid(format!(
                            "the copy operations of the patch duplicate more than {MAX_COPY_BYTES} bytes"
                        )));
                    }
                }
                value
            }
            _ => None,
        };
        if let Some(value) = added {
            if segments(&raw["path"]) + depth(&value) > MAX_DEPTH {
                return Err(invalid(format!(
                    "the patched object would be nested more than {MAX_DEPTH} levels deep"
                )));
            }
        }
        json_patch::patch(doc, std::slice::from_ref(operation))
            .map_err(|e| invalid(e.to_string()))?;
    }
    Ok(())
}

/// The nesting depth of a value (a scalar is 0), without recursion.
fn depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 0)];
    while let Some((value, level)) = stack.pop() {
        deepest = deepest.max(level);
        match value {
            Value::Array(items) => stack.extend(items.iter().map(|v| (v, level + 1))),
            Value::Object(map) => stack.extend(map.values().map(|v| (v, level + 1))),
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patch_of(ops: Value) -> Result<Value, ApiError> {
        let mut doc = json!({"spec": {}});
        let operations: json_patch::Patch = serde_json::from_value(ops.clone()).unwrap();
        apply_json_patch(&mut doc, &operations.0, &ops).map(|()| doc)
    }

    #[test]
    fn json_patches_cannot_grow_objects_without_bound() {
        let mut deep = json!(1);
        for _ in 0..60 {
            deep = json!({"a": deep});
        }
        let nested = patch_of(json!([
            {"op": "add", "path": "/spec/x", "value": deep},
            {"op": "add", "path": format!("/spec/x{}", "/a".repeat(59)), "value": deep},
        ]));
        assert_eq!(nested.unwrap_err().code(), 422);
        let mut doubling =
            vec![json!({"op": "add", "path": "/spec/x", "value": "y".repeat(100_000)})];
        for i in 0..40 {
            doubling.push(json!({"op": "copy", "from": "/spec", "path": format!("/spec/c{i}")}));
        }
        assert_eq!(patch_of(Value::Array(doubling)).unwrap_err().code(), 422);
        let many: Vec<Value> = (0..10_001)
            .map(|_| json!({"op": "test", "path": "/spec", "value": {}}))
            .collect();
        assert_eq!(patch_of(Value::Array(many)).unwrap_err().code(), 413);
        assert!(patch_of(json!([{"op": "add", "path": "/spec/a", "value": 1}])).is_ok());
    }
}
