//! One handler per verb, each written once for every registered resource. This module finds
//! the resource a request names and dispatches on the verb.

mod apply;
mod body;
mod create;
mod delete;
mod escalation;
mod get;
mod list;
mod options;
mod patch;
pub mod review;
mod update;
mod watch;

use std::sync::Arc;

use http::{HeaderMap, Response};
use registry::Verbs;
use registry::{ApiError, Resource, ResourceDefinition, Subresource};

use crate::negotiation::{self, Shape};
use crate::table::{IncludeObject, Renderer};

use crate::authentication::User;
use crate::request::ResourceRequest;
use crate::response::Body;
use crate::ApiServer;

/// Everything a handler gets.
pub(crate) struct Call<'a> {
    pub server: &'a ApiServer,
    pub resource: Arc<Resource>,
    pub request: ResourceRequest,
    pub subresource: Subresource,
    pub headers: HeaderMap,
    pub query: Vec<(String, String)>,
    pub body: crate::request::body::RequestBody,
    /// The user the request acts as (after impersonation).
    pub user: User,
}

impl Call<'_> {
    /// The write options of this request (`kind` names the options type in errors), with the
    /// request's user as the writer the store's write guards judge.
    pub fn write_options(&self, kind: &str) -> Result<registry::WriteOptions, ApiError> {
        let mut options = options::write_options(&self.query, &self.headers, kind)?;
        options.writer = Some(escalation::RequestWriter::shared(
            &self.user,
            &self.server.access.authorizer,
        ));
        Ok(options)
    }

    pub fn namespace(&self) -> Option<&str> {
        self.request.namespace.as_deref()
    }

    /// The object name of the URL (handlers for named verbs only run with one).
    pub fn name(&self) -> &str {
        self.request.name.as_deref().unwrap_or_default()
    }

    pub fn header(&self, name: http::header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// How this request's responses are rendered: the `Accept` header and `includeObject`.
pub(crate) fn renderer<'a>(
    def: &'a ResourceDefinition,
    headers: &HeaderMap,
    query: &[(String, String)],
    shape: Shape,
) -> Result<Renderer<'a>, ApiError> {
    let accept = headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    let output = negotiation::negotiate(accept, shape)?;
    // Read (and checked) only when converting to a Table, as upstream does.
    let include = match output {
        negotiation::Output::Table { .. } => IncludeObject::parse(
            query
                .iter()
                .find(|(k, _)| k == "includeObject")
                .map(|(_, v)| v.as_str()),
        )?,
        _ => IncludeObject::default(),
    };
    Ok(Renderer {
        def,
        output,
        include,
    })
}

/// 404 for a resource nobody serves: a `Status` in a group-version we serve (as for built-in
/// groups), plain text elsewhere (the end of kube-apiserver's handler chain).
fn not_found(server: &ApiServer, request: &ResourceRequest) -> Response<Body> {
    let served = server
        .catalog
        .groups()
        .iter()
        .any(|(g, versions)| *g == request.group && versions.contains(&request.version));
    if served {
        crate::response::error(&ApiError::no_such_path())
    } else {
        crate::response::not_found_text()
    }
}

/// Names that cannot be a path segment (k8s.io/apimachinery `path.ValidatePathSegmentName`),
/// refused as the store's key function refuses them.
fn check_path_name(name: &str) -> Result<(), ApiError> {
    let problems = registry::meta::path_segment_problems(name);
    if problems.is_empty() {
        return Ok(());
    }
    Err(ApiError::bad_request(format!(
        "Name parameter invalid: {name:?}: {}",
        problems.join(";")
    )))
}

/// Serves a resource request.
pub(crate) async fn serve(
    server: &ApiServer,
    request: ResourceRequest,
    parts: http::request::Parts,
    body: crate::request::body::RequestBody,
    query: Vec<(String, String)>,
    user: User,
) -> Result<Response<Body>, ApiError> {
    let Some(resource) = server
        .catalog
        .find(&request.group, &request.version, &request.resource)
    else {
        return Ok(not_found(server, &request));
    };
    if let Some(name) = &request.name {
        check_path_name(name)?;
    }
    let namespaced = resource.def.namespaced();
    // A namespaced object needs its namespace in the path; a cluster-scoped one has none.
    if (namespaced && request.namespace.is_none() && request.name.is_some())
        || (!namespaced && request.namespace.is_some())
    {
        return Err(ApiError::no_such_path());
    }
    let subresource = match request.subresource.as_deref() {
        None => Subresource::Main,
        Some("status") if resource.def.status_subresource && request.name.is_some() => {
            Subresource::Status
        }
        Some(_) => return Err(ApiError::no_such_path()),
    };
    let verb = request.verb;
    let verbs = resource.def.verbs;
    let built_in = resource.def.built_in();
    let named = request.name.is_some();
    let call = Call {
        server,
        resource,
        request,
        subresource,
        headers: parts.headers,
        query,
        body,
        user,
    };
    match (verb, subresource) {
        // What stores nothing is answered by the handler installed for it (the reviews).
        ("create", Subresource::Main)
            if !verbs.stored() && verbs.allows(verb) && call.request.name.is_none() =>
        {
            review::handle(call).await
        }
        // A verb the resource does not serve has no route: go-restful's 405.
        _ if !verbs.stored() || (Verbs::STORED.allows(verb) && !verbs.allows(verb)) => {
            Err(ApiError::method_not_allowed_on_route())
        }
        // Built-in kinds have go-restful routes: a method a path has no route for is 405.
        ("create", _) | ("update", _) | ("patch", _) if built_in && named == (verb == "create") => {
            Err(ApiError::method_not_allowed_on_route())
        }
        ("get", _) => get::handle(call).await,
        ("list", Subresource::Main) => list::handle(call).await,
        ("watch", Subresource::Main) if !named => watch::handle(call).await,
        // The custom resource handler creates from a POST to an object's path too, named by
        // the body (handlers/create.go ignores the path's name).
        ("create", Subresource::Main) => create::handle(call).await,
        ("update", _) if !named => Err(ApiError::name_must_be_provided()),
        ("update", _) => update::handle(call).await,
        // The patch type is checked before the name (customresource_handler.go).
        ("patch", _) if !named => {
            patch::PatchType::of(&call).and_then(|_| Err(ApiError::name_must_be_provided()))
        }
        ("patch", _) => patch::handle(call).await,
        ("delete", Subresource::Main) => delete::handle(call).await,
        ("deletecollection", Subresource::Main) => delete::collection(call).await,
        _ if built_in => Err(ApiError::method_not_allowed_on_route()),
        (verb, _) => Err(ApiError::method_not_allowed(
            verb,
            &call.resource.def.group_resource(),
        )),
    }
}
