//! The access and identity reviews — `authorization.k8s.io/v1` SubjectAccessReview,
//! LocalSubjectAccessReview, SelfSubjectAccessReview, SelfSubjectRulesReview and
//! `authentication.k8s.io/v1` SelfSubjectReview, TokenReview: create-only resources that store
//! nothing and answer from the server's own authenticators and authorizers, so that
//! `kubectl auth can-i` and `kubectl auth whoami` work and one server can be another's webhook
//! (kube-apiserver `pkg/registry/authorization/*`, `pkg/registry/authentication/*`).

use std::sync::Arc;

use http::{Response, StatusCode};
use registry::field::FieldError;
use registry::{ApiError, Catalog, ResourceDefinition, SchemalessStrategy, Scope};
use serde_json::{json, Map, Value};

use super::{body, options, Call};
use crate::authentication::User;
use crate::authorization::{Attributes, Authorizer};
use crate::response::{self, Body};

pub const AUTHORIZATION: &str = "authorization.k8s.io";
pub const AUTHENTICATION: &str = "authentication.k8s.io";

/// Registers the review resources.
pub fn install(catalog: &Catalog) -> Result<(), registry::catalog::AlreadyRegistered> {
    let kinds = [
        (
            AUTHORIZATION,
            "SubjectAccessReview",
            "subjectaccessreviews",
            Scope::Cluster,
        ),
        (
            AUTHORIZATION,
            "LocalSubjectAccessReview",
            "localsubjectaccessreviews",
            Scope::Namespaced,
        ),
        (
            AUTHORIZATION,
            "SelfSubjectAccessReview",
            "selfsubjectaccessreviews",
            Scope::Cluster,
        ),
        (
            AUTHORIZATION,
            "SelfSubjectRulesReview",
            "selfsubjectrulesreviews",
            Scope::Cluster,
        ),
        (
            AUTHENTICATION,
            "SelfSubjectReview",
            "selfsubjectreviews",
            Scope::Cluster,
        ),
        (
            AUTHENTICATION,
            "TokenReview",
            "tokenreviews",
            Scope::Cluster,
        ),
    ];
    for (group, kind, plural, scope) in kinds {
        let mut def = ResourceDefinition::new(group, "v1", kind, plural, scope);
        def.verbs = registry::Verbs::CREATE;
        catalog.register(def, Arc::new(SchemalessStrategy))?;
    }
    Ok(())
}

/// POST of a review.
pub(crate) async fn handle(call: Call<'_>) -> Result<Response<Body>, ApiError> {
    let def = call.resource.def.clone();
    // Validated as for any create (dryRun, fieldManager, fieldValidation); nothing is stored
    // either way.
    let mut options = options::write_options(&call.query, &call.headers, "CreateOptions")?;
    let object = body::read_object(call.body, &call.headers, &def, &mut options).await?;
    let server = call.server;
    let authorizer = server.access.authorizer.as_ref();
    let user = &call.user;
    let namespace = call.request.namespace.as_deref().unwrap_or_default();
    let answered = match def.kind.as_str() {
        "SubjectAccessReview" => subject_access_review(authorizer, object, None).await?,
        // Only served in a namespace, as kube-apiserver routes it.
        "LocalSubjectAccessReview" if call.request.namespace.is_none() => {
            return Err(ApiError::no_such_path())
        }
        "LocalSubjectAccessReview" => {
            subject_access_review(authorizer, object, Some(namespace)).await?
        }
        "SelfSubjectAccessReview" => self_subject_access_review(authorizer, object, user).await?,
        "SelfSubjectRulesReview" => self_subject_rules_review(authorizer, object, user)?,
        "SelfSubjectReview" => self_subject_review(user),
        "TokenReview" => token_review(server, object).await?,
        other => return Err(ApiError::internal(format!("no review handler for {other}"))),
    };
    Ok(response::json(StatusCode::CREATED, &answered))
}

/// 422 for a review: kube-apiserver names the kind of the decoded internal object, which is
/// empty — hence messages like `.authorization.k8s.io "" is invalid: …`
/// (`pkg/registry/authorization/*/rest.go`).
fn invalid(group: &str, errors: &[FieldError]) -> Result<(), ApiError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid("", group, "", errors))
    }
}

/// `ValidateSubjectAccessReviewSpec`'s rules on the attributes (both self and other reviews).
fn check_attributes(spec: &Value, errors: &mut Vec<FieldError>) {
    let resource = spec.get("resourceAttributes").filter(|v| !v.is_null());
    let non_resource = spec.get("nonResourceAttributes").filter(|v| !v.is_null());
    match (resource, non_resource) {
        (Some(_), Some(n)) => errors.push(FieldError::invalid(
            "spec.nonResourceAttributes",
            n,
            "cannot be specified in combination with resourceAttributes",
        )),
        (None, None) => errors.push(FieldError::invalid_raw(
            "spec.resourceAttributes",
            "null",
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        )),
        _ => {}
    }
}

/// The metadata of a review must be empty (upstream compares it with an empty ObjectMeta).
fn check_empty_metadata(object: &Value, errors: &mut Vec<FieldError>) {
    let metadata = object["metadata"].as_object().cloned().unwrap_or_default();
    let meaningful = metadata
        .iter()
        .any(|(k, v)| k != "managedFields" && k != "creationTimestamp" && !is_empty(v));
    if meaningful {
        errors.push(FieldError::invalid_raw(
            "metadata",
            &Value::Object(metadata).to_string(),
            "must be empty",
        ));
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Number(n) => n.as_i64() == Some(0),
        Value::Bool(b) => !b,
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The attributes a review's spec asks about, for `user`.
fn attributes_of(spec: &Value, user: User) -> Attributes {
    let text = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_owned();
    match spec.get("resourceAttributes").filter(|v| !v.is_null()) {
        Some(r) => Attributes {
            user,
            verb: text(r, "verb"),
            resource_request: true,
            namespace: text(r, "namespace"),
            api_group: text(r, "group"),
            api_version: text(r, "version"),
            resource: text(r, "resource"),
            subresource: text(r, "subresource"),
            name: text(r, "name"),
            path: String::new(),
        },
        None => {
            let n = &spec["nonResourceAttributes"];
            Attributes {
                user,
                verb: text(n, "verb"),
                path: text(n, "path"),
                ..Attributes::default()
            }
        }
    }
}

/// Decides and writes `status` ({allowed, denied, reason, evaluationError}).
async fn answer(authorizer: &dyn Authorizer, mut object: Value, attributes: &Attributes) -> Value {
    let decision = authorizer.authorize(attributes).await;
    let mut status = Map::new();
    status.insert("allowed".into(), json!(decision.allowed()));
    if decision.verdict == crate::authorization::Verdict::Deny {
        status.insert("denied".into(), json!(true));
    }
    if !decision.reason.is_empty() {
        status.insert("reason".into(), json!(decision.reason));
    }
    if let Some(error) = decision.error {
        status.insert("evaluationError".into(), json!(error));
    }
    object["status"] = Value::Object(status);
    object
}

async fn subject_access_review(
    authorizer: &dyn Authorizer,
    object: Value,
    namespace: Option<&str>,
) -> Result<Value, ApiError> {
    let spec = object["spec"].clone();
    let mut errors = Vec::new();
    check_attributes(&spec, &mut errors);
    if strings(&spec["groups"]).is_empty() && spec["user"].as_str().unwrap_or_default().is_empty() {
        errors.push(FieldError::invalid(
            "spec.user",
            &json!(""),
            "at least one of user or group must be specified",
        ));
    }
    if let Some(namespace) = namespace {
        // ValidateLocalSubjectAccessReview: the review is about its own namespace only.
        let asked = spec["resourceAttributes"]["namespace"]
            .as_str()
            .unwrap_or_default();
        if spec["resourceAttributes"].is_null() {
            errors.push(FieldError::invalid_raw(
                "spec.nonResourceAttributes",
                "null",
                "disallowed on this kind of request",
            ));
        } else if asked != namespace {
            errors.push(FieldError::invalid(
                "spec.resourceAttributes.namespace",
                &json!(asked),
                "must match metadata.namespace",
            ));
        }
        let mut meta = object["metadata"].clone();
        if let Some(m) = meta.as_object_mut() {
            m.remove("namespace");
        }
        check_empty_metadata(&json!({"metadata": meta}), &mut errors);
    } else {
        check_empty_metadata(&object, &mut errors);
    }
    invalid(AUTHORIZATION, &errors)?;
    let user = User {
        name: spec["user"].as_str().unwrap_or_default().to_owned(),
        uid: spec["uid"].as_str().unwrap_or_default().to_owned(),
        groups: strings(&spec["groups"]),
        extra: spec["extra"]
            .as_object()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), strings(v))).collect())
            .unwrap_or_default(),
    };
    let attributes = attributes_of(&spec, user);
    Ok(answer(authorizer, object, &attributes).await)
}

async fn self_subject_access_review(
    authorizer: &dyn Authorizer,
    object: Value,
    user: &User,
) -> Result<Value, ApiError> {
    let spec = object["spec"].clone();
    let mut errors = Vec::new();
    check_attributes(&spec, &mut errors);
    check_empty_metadata(&object, &mut errors);
    invalid(AUTHORIZATION, &errors)?;
    let attributes = attributes_of(&spec, user.clone());
    let mut answered = answer(authorizer, object, &attributes).await;
    // The response names who was asked about, as kube-apiserver's does not: nothing to add.
    answered["spec"] = spec;
    Ok(answered)
}

fn self_subject_rules_review(
    authorizer: &dyn Authorizer,
    object: Value,
    user: &User,
) -> Result<Value, ApiError> {
    let namespace = object["spec"]["namespace"].as_str().unwrap_or_default();
    if namespace.is_empty() {
        return Err(ApiError::bad_request("no namespace on request"));
    }
    let rules = authorizer.rules_for(user, namespace);
    let mut status = json!({
        "resourceRules": rules.resource_rules,
        "nonResourceRules": rules.non_resource_rules,
        "incomplete": rules.incomplete,
    });
    if !rules.evaluation_error.is_empty() {
        status["evaluationError"] = json!(rules.evaluation_error);
    }
    Ok(json!({
        "kind": "SelfSubjectRulesReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": null},
        "spec": {},
        "status": status,
    }))
}

fn self_subject_review(user: &User) -> Value {
    json!({
        "kind": "SelfSubjectReview",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"creationTimestamp": registry::time::now()},
        "status": {"userInfo": user},
    })
}

/// TokenReview with this server's own token authenticators (static token file, then its
/// own TokenReview delegation).
async fn token_review(server: &crate::ApiServer, mut object: Value) -> Result<Value, ApiError> {
    let token = object["spec"]["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if token.is_empty() {
        return Err(ApiError::bad_request(
            "token is required for TokenReview in authentication",
        ));
    }
    // This server's tokens are for itself: a review for other audiences is not authenticated
    // (upstream intersects the requested audiences with the server's own).
    let audiences = strings(&object["spec"]["audiences"]);
    if !audiences.is_empty() {
        let quoted: Vec<String> = audiences.iter().map(|a| format!("{a:?}")).collect();
        object["status"] = json!({
            "user": {},
            "error": format!(
                "token audiences [{}] is invalid for the target audiences",
                quoted.join(" ")
            ),
        });
        return Ok(object);
    }
    let authentication = &server.access.authentication;
    let mut user = authentication
        .token_file
        .as_ref()
        .and_then(|f| f.authenticate(&token));
    if user.is_none() {
        if let Some(reviewer) = &authentication.token_review {
            user = reviewer.authenticate(&token).await.ok().flatten();
        }
    }
    object["status"] = match user {
        Some(user) => json!({
            "authenticated": true,
            "user": user.with_authenticated_group(),
            "audiences": object["spec"]["audiences"].clone(),
        }),
        None => json!({"user": {}, "error": "invalid bearer token"}),
    };
    if object["status"]["audiences"].is_null() {
        if let Some(status) = object["status"].as_object_mut() {
            status.remove("audiences");
        }
    }
    Ok(object)
}
