//! DELETE of one object or of a collection, with `DeleteOptions` from the body or the query.
//! A finished delete answers a `Success` status (custom resources return no object); one held
//! by finalizers answers the object with its `deletionTimestamp`.

use http::{Response, StatusCode};
use registry::errors::StatusDetails;
use registry::field::FieldError;
use registry::{meta, ApiError, DeleteOptions, Deleted, Preconditions, Propagation, Status};
use serde_json::{json, Value};

use super::{body, list, options, renderer, Call};
use crate::negotiation::Shape;
use crate::response::{self, Body};

pub(crate) async fn handle(call: Call<'_>) -> Result<Response<Body>, ApiError> {
    let (name, namespace) = (call.name().to_owned(), call.namespace().map(str::to_owned));
    let resource = call.resource.clone();
    let render = renderer(&resource.def, &call.headers, &call.query, Shape::Object)?;
    let query = call.query.clone();
    let body = body::read_optional_json(call.body, &call.headers).await?;
    let options = delete_options(&query, body.as_ref())?;
    let deleted = call
        .server
        .store
        .delete(&resource, namespace.as_deref(), &name, &options)
        .await?;
    match deleted {
        Deleted::Gone(obj) => Ok(success(&resource.def, &name, &obj)),
        Deleted::Pending(obj) => Ok(response::json(StatusCode::OK, &render.object(obj))),
    }
}

/// DELETE of a collection: everything the list options select.
pub(crate) async fn collection(call: Call<'_>) -> Result<Response<Body>, ApiError> {
    let resource = call.resource.clone();
    let request = list::list_request(&call)?;
    let query = call.query.clone();
    let body = body::read_optional_json(call.body, &call.headers).await?;
    let options = delete_options(&query, body.as_ref())?;
    let (items, revision) = call
        .server
        .store
        .delete_collection(&resource, &request, &options)
        .await?;
    let list = json!({
        "kind": resource.def.list_kind(),
        "apiVersion": resource.def.api_version(),
        "metadata": {"resourceVersion": revision.to_string()},
        "items": items,
    });
    Ok(response::json(StatusCode::OK, &list))
}

/// The `Success` status of a finished delete (store.go `finalizeDelete`).
pub(crate) fn success(
    def: &registry::ResourceDefinition,
    name: &str,
    obj: &Value,
) -> Response<Body> {
    let status = Status::success(StatusDetails {
        name: name.to_owned(),
        group: def.group.clone(),
        kind: def.plural.clone(),
        uid: meta::get(obj, "uid").unwrap_or_default().to_owned(),
        ..Default::default()
    });
    response::json(StatusCode::OK, &status)
}

/// `DeleteOptions` from the query and the body (the body wins where both speak).
fn delete_options(
    query: &[(String, String)],
    body: Option<&Value>,
) -> Result<DeleteOptions, ApiError> {
    let from_body = |field: &str| body.and_then(|b| b.get(field));
    let query_value = |name: &str| list::param(query, name);
    let mut errors = Vec::new();
    let propagation = match from_body("propagationPolicy")
        .and_then(Value::as_str)
        .or_else(|| query_value("propagationPolicy"))
    {
        None | Some("") => None,
        Some(policy) => {
            let parsed = Propagation::parse(policy);
            if parsed.is_none() {
                errors.push(FieldError::not_supported(
                    "propagationPolicy",
                    &Value::String(policy.into()),
                    &["Foreground", "Background", "Orphan"],
                ));
            }
            parsed
        }
    };
    // The deprecated orphanDependents, when no policy is given.
    let orphan = from_body("orphanDependents")
        .and_then(Value::as_bool)
        .or_else(|| query_value("orphanDependents").map(|v| v == "true"));
    if orphan.is_some() && propagation.is_some() {
        errors.push(FieldError::invalid(
            "propagationPolicy",
            &json!(format!("{propagation:?}")),
            "orphanDependents and deletionPropagation cannot be both set",
        ));
    }
    let propagation = propagation.or(match orphan {
        Some(true) => Some(Propagation::Orphan),
        Some(false) => Some(Propagation::Background),
        None => None,
    });
    let grace = from_body("gracePeriodSeconds")
        .and_then(Value::as_i64)
        .or_else(|| query_value("gracePeriodSeconds").and_then(|g| g.parse().ok()));
    if grace.is_some_and(|g| g < 0) {
        errors.push(FieldError::invalid(
            "gracePeriodSeconds",
            &json!(grace),
            "must be greater than or equal to 0",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(
            "DeleteOptions",
            "meta.k8s.io",
            "",
            &errors,
        ));
    }
    let precondition = |field: &str| {
        from_body("preconditions")
            .and_then(|p| p.get(field))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let dry_run_body: Vec<&str> = from_body("dryRun")
        .and_then(Value::as_array)
        .map(|values| values.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let dry_run_query = query
        .iter()
        .filter(|(k, _)| k == "dryRun")
        .map(|(_, v)| v.as_str());
    Ok(DeleteOptions {
        preconditions: Preconditions {
            uid: precondition("uid"),
            resource_version: precondition("resourceVersion"),
        },
        propagation,
        dry_run: options::dry_run(dry_run_query.chain(dry_run_body), "DeleteOptions")?,
    })
}
