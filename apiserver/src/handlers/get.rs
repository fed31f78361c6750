//! GET of one object (or of its `/status`, which is the same object).

use http::{Response, StatusCode};
use registry::ApiError;

use super::Call;
use crate::negotiation;
use crate::response::{self, Body};

pub(crate) async fn handle(call: Call<'_>) -> Result<Response<Body>, ApiError> {
    negotiation::negotiate_object(call.header(http::header::ACCEPT))?;
    let object = call
        .server
        .store
        .get(&call.resource, call.namespace(), call.name())
        .await?;
    Ok(response::json(StatusCode::OK, &object))
}
