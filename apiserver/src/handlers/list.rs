//! GET of a collection: one page of objects, with selectors, paging and resourceVersion
//! rules validated as k8s.io/apimachinery `internalversion/validation` validates
//! `ListOptions`.

use http::{Response, StatusCode};
use registry::field::FieldError;
use registry::list::{check_selectable, ListRequest, ReadAt};
use registry::selector::{FieldSelector, LabelSelector};
use registry::ApiError;
use serde_json::Value;
use storage::Revision;

use super::{renderer, Call};
use crate::negotiation::Shape;
use crate::response::{self, Body};

pub(crate) async fn handle(call: Call<'_>) -> Result<Response<Body>, ApiError> {
    let render = renderer(&call.resource.def, &call.headers, &call.query, Shape::List)?;
    let request = list_request(&call)?;
    let mut page = render.list();
    let store = &call.server.store;
    let meta = store
        .list_each(&call.resource, &request, |obj| page.push(obj))
        .await?;
    let mut response = Response::new(response::pieces(page.finish(meta)?));
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

/// A query parameter's value.
pub(crate) fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The selectors of a list or watch (400 for malformed ones or unselectable fields).
pub(crate) fn selectors(call: &Call<'_>) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let labels = LabelSelector::parse(param(&call.query, "labelSelector").unwrap_or_default())
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let fields = FieldSelector::parse(param(&call.query, "fieldSelector").unwrap_or_default())
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    check_selectable(&call.resource, &fields)?;
    Ok((labels, fields))
}

/// A non-zero resourceVersion; `None` for "" and "0"; 400 when not a revision.
pub(crate) fn parse_revision(rv: Option<&str>) -> Result<Option<Revision>, ApiError> {
    match rv {
        None | Some("") | Some("0") => Ok(None),
        Some(rv) => match rv.parse::<Revision>() {
            Ok(revision) if revision > 0 => Ok(Some(revision)),
            _ => Err(ApiError::bad_request(format!(
                "invalid resource version: {rv:?} is not a valid resource version"
            ))),
        },
    }
}

/// 422 for invalid `ListOptions`.
pub(crate) fn invalid_options(errors: Vec<FieldError>) -> Result<(), ApiError> {
    if errors.is_empty() {
        return Ok(());
    }
    Err(ApiError::invalid("ListOptions", "meta.k8s.io", "", &errors))
}

pub(crate) fn list_request(call: &Call<'_>) -> Result<ListRequest, ApiError> {
    let query = &call.query;
    let rv = param(query, "resourceVersion").unwrap_or_default();
    let rv_match = param(query, "resourceVersionMatch").unwrap_or_default();
    let continue_token = param(query, "continue").filter(|c| !c.is_empty());
    let mut errors = Vec::new();
    if !rv_match.is_empty() {
        if rv.is_empty() {
            errors.push(FieldError::forbidden(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden unless resourceVersion is provided",
            ));
        }
        if continue_token.is_some() {
            errors.push(FieldError::forbidden(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden when continue is provided",
            ));
        }
        if !matches!(rv_match, "Exact" | "NotOlderThan") {
            errors.push(FieldError::not_supported(
                "resourceVersionMatch",
                &Value::String(rv_match.into()),
                &["Exact", "NotOlderThan", ""],
            ));
        }
        if rv_match == "Exact" && rv == "0" {
            errors.push(FieldError::forbidden(
                "resourceVersionMatch",
                "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
            ));
        }
    }
    if param(query, "sendInitialEvents").is_some() {
        errors.push(FieldError::forbidden(
            "sendInitialEvents",
            "sendInitialEvents is forbidden for list",
        ));
    }
    invalid_options(errors)?;
    let revision = parse_revision(Some(rv))?;
    if revision.is_some() && continue_token.is_some() {
        return Err(ApiError::bad_request(
            "specifying resource version is not allowed when using continue",
        ));
    }
    let limit = match param(query, "limit") {
        None | Some("") => None,
        Some(l) => match l.parse::<i64>() {
            Ok(n) if n > 0 => Some(n as usize),
            Ok(_) => None,
            Err(_) => return Err(ApiError::bad_request(format!("invalid limit: {l:?}"))),
        },
    };
    let read_at = match (revision, rv_match) {
        (None, _) => Some(ReadAt::Latest),
        (Some(rv), "Exact") => Some(ReadAt::Exact(rv)),
        (Some(rv), "NotOlderThan") => Some(ReadAt::NotOlderThan(rv)),
        // The legacy rule: a resourceVersion with a limit and no match reads exactly there.
        (Some(rv), _) if limit.is_some() => Some(ReadAt::Exact(rv)),
        (Some(rv), _) => Some(ReadAt::NotOlderThan(rv)),
    };
    let (labels, fields) = selectors(call)?;
    Ok(ListRequest {
        namespace: call.namespace().map(str::to_owned),
        labels,
        fields,
        limit,
        continue_token: continue_token.map(str::to_owned),
        read_at,
    })
}
