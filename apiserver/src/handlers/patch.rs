//! PATCH of an object (or of its `/status`): JSON patch (RFC 6902) and JSON merge patch
//! (RFC 7386) on every kind, strategic merge patch on built-in kinds, applied to the current
//! object and written as an update (server-side apply is `apply.rs`), as
//! k8s.io/apiserver `pkg/endpoints/handlers/patch.go` does. A patch that sets
//! `metadata.resourceVersion` is an optimistic lock; otherwise conflicts are retried.

use http::{Response, StatusCode};
use registry::{meta, ApiError};
use serde_json::Value;

use super::{body, escalation, options, renderer, Call};
use crate::negotiation::Shape;
use crate::response::{self, Body};

/// How often a patch is re-applied after losing a race with another write.
const ATTEMPTS: usize = 5;

#[derive(Debug, Clone, Copy)]
enum PatchType {
    Json,
    Merge,
    Strategic,
}

pub(crate) async fn handle(call: Call<'_>) -> Result<Response<Body>, ApiError> {
    let patch_type = match call
        .header(http::header::CONTENT_TYPE)
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim().to_ascii_lowercase())
        .as_deref()
    {
        Some("application/json-patch+json") => PatchType::Json,
        Some("application/merge-patch+json") => PatchType::Merge,
        Some("application/strategic-merge-patch+json")
            if call.resource.def.strategic_merge_patch =>
        {
            PatchType::Strategic
        }
        Some("application/apply-patch+yaml") => return super::apply::handle(call).await,
        _ => {
            return Err(ApiError::unsupported_media_type(
                call.resource.def.patch_types(),
            ))
        }
    };
    let options = options::write_options(&call.query, &call.headers, "PatchOptions")?;
    options::check_no_force(&call.query)?;
    let (name, namespace) = (call.name().to_owned(), call.namespace().map(str::to_owned));
    let resource = call.resource.clone();
    let render = renderer(&resource.def, &call.headers, &call.query, Shape::Object)?;
    let bytes = body::read_bytes(call.body).await?;
    let patch: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
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
        let authorizer = call.server.access.authorizer.as_ref();
        let ns = namespace.as_deref();
        escalation::check(
            authorizer,
            &call.user,
            &resource.def,
            ns,
            &patched,
            Some(&current),
        )
        .await?;
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
            json_patch::patch(&mut doc, &operations)
                .map_err(|e| ApiError::new(422, "Invalid", e.to_string()))?;
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
