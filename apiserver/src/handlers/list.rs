//! GET of a collection: every object of a resource, in one namespace or in all.

use http::{Response, StatusCode};
use registry::ApiError;
use serde_json::json;

use super::Call;
use crate::negotiation;
use crate::response::{self, Body};

pub(crate) async fn handle(call: Call<'_>) -> Result<Response<Body>, ApiError> {
    negotiation::negotiate_object(call.header(http::header::ACCEPT))?;
    let def = &call.resource.def;
    let list = call
        .server
        .store
        .list(&call.resource, call.namespace())
        .await?;
    let body = json!({
        "kind": def.list_kind(),
        "apiVersion": def.api_version(),
        "metadata": {"resourceVersion": list.resource_version.to_string()},
        "items": list.items,
    });
    Ok(response::json(StatusCode::OK, &body))
}
