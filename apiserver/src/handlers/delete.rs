//! DELETE of one object, with `DeleteOptions` from the body or the query.

use http::{Response, StatusCode};
use registry::status::StatusDetails;
use registry::{meta, ApiError, Preconditions, Status};
use serde_json::Value;

use super::{body, options, Call};
use crate::negotiation;
use crate::response::{self, Body};

pub(crate) async fn handle(call: Call<'_>) -> Result<Response<Body>, ApiError> {
    negotiation::negotiate_object(call.header(http::header::ACCEPT))?;
    let (name, namespace) = (call.name().to_owned(), call.namespace().map(str::to_owned));
    let resource = call.resource.clone();
    let options = body::read_optional_json(call.body, &call.headers).await?;
    let preconditions = preconditions(options.as_ref());
    let from_body: Vec<&str> = options
        .as_ref()
        .and_then(|o| o.get("dryRun"))
        .and_then(Value::as_array)
        .map(|values| values.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let from_query = call
        .query
        .iter()
        .filter(|(k, _)| k == "dryRun")
        .map(|(_, v)| v.as_str());
    let dry_run = options::dry_run(from_query.chain(from_body), "DeleteOptions")?;
    let deleted = call
        .server
        .store
        .delete(
            &resource,
            namespace.as_deref(),
            &name,
            &preconditions,
            dry_run,
        )
        .await?;
    // Custom resources answer a finished delete with a Success status (store.go
    // finalizeDelete, ReturnDeletedObject unset).
    let status = Status::success(StatusDetails {
        name,
        group: resource.def.group.clone(),
        kind: resource.def.plural.clone(),
        uid: meta::get(&deleted, "uid").unwrap_or_default().to_owned(),
        ..Default::default()
    });
    Ok(response::json(StatusCode::OK, &status))
}

fn preconditions(options: Option<&Value>) -> Preconditions {
    let pre = options.and_then(|o| o.get("preconditions"));
    let field = |f: &str| {
        pre.and_then(|p| p.get(f))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    Preconditions {
        uid: field("uid"),
        resource_version: field("resourceVersion"),
    }
}
