//! POST of a new object to a collection.

use http::{Response, StatusCode};
use registry::{meta, ApiError};

use super::{body, renderer, Call};
use crate::negotiation::Shape;
use crate::response::{self, Body};

pub(crate) async fn handle(call: Call<'_>) -> Result<Response<Body>, ApiError> {
    let namespace = call.namespace().map(str::to_owned);
    let resource = call.resource.clone();
    let render = renderer(&resource.def, &call.headers, &call.query, Shape::Object)?;
    let mut options = call.write_options("CreateOptions")?;
    let object = body::read_object(call.body, &call.headers, &resource.def, &mut options).await?;
    // rest.EnsureObjectNamespaceMatchesRequestNamespace
    if let (Some(url), Some(body)) = (namespace.as_deref(), meta::namespace(&object)) {
        if url != body {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
    }
    let written = call
        .server
        .store
        .create(&resource, namespace.as_deref(), object, &options)
        .await?;
    let mut response = response::json(StatusCode::CREATED, &render.object(written.object));
    response::add_warnings(&mut response, &written.warnings);
    Ok(response)
}
