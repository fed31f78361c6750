//! PUT of an object (or of its `/status`).

use http::{Response, StatusCode};
use registry::{meta, ApiError};

use super::{body, renderer, Call};
use crate::negotiation::Shape;
use crate::response::{self, Body};

pub(crate) async fn handle(call: Call<'_>) -> Result<Response<Body>, ApiError> {
    let (name, namespace) = (call.name().to_owned(), call.namespace().map(str::to_owned));
    let resource = call.resource.clone();
    let render = renderer(&resource.def, &call.headers, &call.query, Shape::Object)?;
    let mut options = call.write_options("UpdateOptions")?;
    let object = body::read_object(call.body, &call.headers, &resource.def, &mut options).await?;
    check_name(&object, &name, namespace.as_deref())?;
    let written = call
        .server
        .store
        .update(
            &resource,
            namespace.as_deref(),
            &name,
            object,
            call.subresource,
            &options,
        )
        .await?;
    let mut response = response::json(StatusCode::OK, &render.object(written.object));
    response::add_warnings(&mut response, &written.warnings);
    Ok(response)
}

/// The body must name the object of the URL (k8s.io/apiserver `handlers/rest.go` checkName).
fn check_name(
    object: &serde_json::Value,
    name: &str,
    namespace: Option<&str>,
) -> Result<(), ApiError> {
    let body_name = meta::name(object).unwrap_or_default();
    if body_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    if let (Some(url), Some(body)) = (namespace, meta::namespace(object)) {
        if url != body {
            return Err(ApiError::bad_request(format!(
                "the namespace of the object ({body}) does not match the namespace on the URL ({url})"
            )));
        }
    }
    Ok(())
}
