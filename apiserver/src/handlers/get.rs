//! GET of one object (or of its `/status`, which is the same object).

use http::{Response, StatusCode};
use registry::ApiError;

use super::{renderer, Call};
use crate::negotiation::Shape;
use crate::response::{self, Body};

pub(crate) async fn handle(call: Call<'_>) -> Result<Response<Body>, ApiError> {
    let render = renderer(
        &call.resource.def,
        &call.headers,
        &call.query,
        Shape::Object,
    )?;
    let object = call
        .server
        .store
        .get(&call.resource, call.namespace(), call.name())
        .await?;
    Ok(response::json(StatusCode::OK, &render.object(object)))
}
