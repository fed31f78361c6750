//! Server-side apply: `PATCH` with `application/apply-patch+yaml` (YAML or JSON), merged into
//! the live object by [`registry::fieldmanager::apply`] — creating it when it does not exist —
//! with conflicts on fields other managers own unless `force=true` (k8s.io/apiserver
//! `pkg/endpoints/handlers/patch.go` `applyPatcher`).

use http::{Response, StatusCode};
use registry::field::FieldError;
use registry::fieldmanager::{self, lastapplied, ApplyError};
use registry::{meta, ApiError, Subresource};
use serde_json::Value;

use super::{body, escalation, options, renderer, Call};
use crate::negotiation::Shape;
use crate::response::{self, Body};

/// How often an apply is retried after losing a race with another write.
const ATTEMPTS: usize = 5;

pub(crate) async fn handle(call: Call<'_>) -> Result<Response<Body>, ApiError> {
    let mut options = options::write_options(&call.query, &call.headers, "PatchOptions")?;
    let manager = field_manager(&call.query)?;
    let force = force(&call.query)?;
    // The apply records its own entry; the store must not add an Update one.
    options.manager = None;
    let (name, namespace) = (call.name().to_owned(), call.namespace().map(str::to_owned));
    let resource = call.resource.clone();
    let render = renderer(&resource.def, &call.headers, &call.query, Shape::Object)?;
    let bytes = body::read_bytes(call.body).await?;
    let config: Value = yaml_serde::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
    let locked = meta::resource_version(&config).is_some();
    // rest.EnsureObjectNamespaceMatchesRequestNamespace
    if let (Some(url), Some(body)) = (namespace.as_deref(), meta::namespace(&config)) {
        if url != body {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
    }
    let reset = match call.subresource {
        Subresource::Status => fieldmanager::Reset::AllButStatus,
        Subresource::Main if resource.def.status_subresource => fieldmanager::Reset::Status,
        Subresource::Main => fieldmanager::Reset::None,
    };
    let op = fieldmanager::Operation {
        manager,
        api_version: resource.def.api_version(),
        time: meta::now(),
        subresource: (call.subresource == Subresource::Status).then(|| "status".to_owned()),
    };
    let store = &call.server.store;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let live = match store.get(&resource, namespace.as_deref(), &name).await {
            Ok(live) => Some(live),
            // Apply creates what is missing — but not through a subresource.
            Err(e) if e.code() == 404 && call.subresource == Subresource::Main => None,
            Err(e) => return Err(e),
        };
        let schema = resource.def.schema.as_ref();
        let mut applied =
            match fieldmanager::apply(schema, reset, live.as_ref(), &config, &op, force) {
                // `kubectl` taking over from client-side apply: fields still as last applied.
                Err(ApplyError::Conflicts(conflicts))
                    if lastapplied::conflicts_allowed(
                        &op.manager,
                        live.as_ref(),
                        &conflicts,
                        schema,
                    ) =>
                {
                    fieldmanager::apply(schema, reset, live.as_ref(), &config, &op, true)
                }
                other => other,
            }
            .map_err(apply_error)?;
        lastapplied::update_annotation(&op.manager, &config, &mut applied);
        if meta::name(&applied) != Some(name.as_str()) {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({}) does not match the name on the URL ({name})",
                meta::name(&applied).unwrap_or_default()
            )));
        }
        let authorizer = call.server.access.authorizer.as_ref();
        let ns = namespace.as_deref();
        escalation::check(
            authorizer,
            &call.user,
            &resource.def,
            ns,
            &applied,
            live.as_ref(),
        )
        .await?;
        check_uid(&resource.def, &name, &config, live.as_ref())?;
        let written = match &live {
            None => {
                let written = store
                    .create(&resource, namespace.as_deref(), applied, &options)
                    .await;
                match written {
                    Err(e) if e.code() == 409 && attempt < ATTEMPTS => continue,
                    other => other.map(|w| (StatusCode::CREATED, w)),
                }
            }
            Some(live) => {
                if !locked {
                    let rv = live["metadata"]["resourceVersion"].clone();
                    meta::set(&mut applied, "resourceVersion", Some(rv));
                }
                let written = store
                    .update(
                        &resource,
                        namespace.as_deref(),
                        &name,
                        applied,
                        call.subresource,
                        &options,
                    )
                    .await;
                match written {
                    Err(e) if e.reason() == "Conflict" && !locked && attempt < ATTEMPTS => continue,
                    other => other.map(|w| (StatusCode::OK, w)),
                }
            }
        };
        let (code, written) = written?;
        let mut response = response::json(code, &render.object(written.object));
        response::add_warnings(&mut response, &written.warnings);
        return Ok(response);
    }
}

/// A uid in the configuration must be the live object's: a missing object is a conflict
/// (`uid mismatch`, as kube-apiserver's patcher says), another uid an immutable field.
fn check_uid(
    def: &registry::ResourceDefinition,
    name: &str,
    config: &Value,
    live: Option<&Value>,
) -> Result<(), ApiError> {
    let Some(uid) = meta::get(config, "uid").filter(|u| !u.is_empty()) else {
        return Ok(());
    };
    match live {
        None => Err(ApiError::conflict(
            &def.group_resource(),
            name,
            &format!(
                "uid mismatch: the provided object specified uid {uid}, and no existing object was found"
            ),
        )),
        Some(live) if meta::get(live, "uid") != Some(uid) => Err(ApiError::invalid(
            &def.kind,
            &def.group,
            name,
            &[FieldError::invalid(
                "metadata.uid",
                &Value::String(uid.to_owned()),
                "field is immutable",
            )],
        )),
        Some(_) => Ok(()),
    }
}

/// `fieldManager` is required for apply (`ValidatePatchOptions`).
fn field_manager(query: &[(String, String)]) -> Result<String, ApiError> {
    match query.iter().find(|(k, _)| k == "fieldManager") {
        Some((_, manager)) if !manager.is_empty() => Ok(manager.clone()),
        _ => Err(ApiError::invalid(
            "PatchOptions",
            "meta.k8s.io",
            "",
            &[FieldError::required(
                "fieldManager",
                "is required for apply patch",
            )],
        )),
    }
}

/// `force`: a boolean as Go's `strconv.ParseBool` reads it.
fn force(query: &[(String, String)]) -> Result<bool, ApiError> {
    match query
        .iter()
        .find(|(k, _)| k == "force")
        .map(|(_, v)| v.as_str())
    {
        None | Some("") => Ok(false),
        Some("1" | "t" | "T" | "true" | "TRUE" | "True") => Ok(true),
        Some("0" | "f" | "F" | "false" | "FALSE" | "False") => Ok(false),
        Some(other) => Err(ApiError::bad_request(format!(
            "strconv.ParseBool: parsing {other:?}: invalid syntax"
        ))),
    }
}

fn apply_error(error: ApplyError) -> ApiError {
    match error {
        ApplyError::Conflicts(conflicts) => {
            let causes = conflicts
                .0
                .iter()
                .map(|c| (c.field(), c.message()))
                .collect();
            ApiError::apply_conflict(conflicts.message(), causes)
        }
        ApplyError::Invalid(message) => ApiError::bad_request(message),
        ApplyError::ManagedFields(e) => {
            ApiError::internal(format!("failed to decode managed fields: {e}"))
        }
    }
}
