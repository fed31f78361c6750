//! `metav1.Status` and the API errors that become one: every failure a client sees is built
//! here, with the reasons, codes and message formats of k8s.io/apimachinery's
//! `pkg/api/errors/errors.go`; storage errors are interpreted in ONE place
//! ([`ApiError::from_storage`]), like k8s.io/apiserver's `pkg/storage/errors/storage.go`.

use serde::{Deserialize, Serialize};

use crate::field::FieldError;
use crate::resource::GroupResource;

/// The body of every error response (and of some successful deletes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub kind: String,
    pub api_version: String,
    pub metadata: serde_json::Map<String, serde_json::Value>,
    pub status: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<StatusDetails>,
    /// Absent (0) in the `Success` status of a delete, as kube-apiserver sends it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub code: u16,
}

fn is_zero(code: &u16) -> bool {
    *code == 0
}

/// `metav1.StatusDetails`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusDetails {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<StatusCause>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u32>,
}

/// `metav1.StatusCause`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCause {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub field: String,
}

/// An error answered to a client as a `Status`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} ({}): {}", .status.reason, .status.code, .status.message)]
pub struct ApiError {
    status: Box<Status>,
    /// The connection cannot serve another request (a body was left unread).
    pub close_connection: bool,
}

/// The result of an API operation.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;

impl Status {
    /// A successful `Status` (used by deletes that return no object).
    pub fn success(details: StatusDetails) -> Self {
        Status {
            kind: "Status".into(),
            api_version: "v1".into(),
            metadata: Default::default(),
            status: "Success".into(),
            message: String::new(),
            reason: String::new(),
            details: Some(details),
            code: 0,
        }
    }
}

impl ApiError {
    /// A failure with the given code, reason and message, and no details.
    pub fn new(code: u16, reason: &str, message: impl Into<String>) -> Self {
        ApiError {
            status: Box::new(Status {
                kind: "Status".into(),
                api_version: "v1".into(),
                metadata: Default::default(),
                status: "Failure".into(),
                message: message.into(),
                reason: reason.into(),
                details: None,
                code,
            }),
            close_connection: false,
        }
    }

    fn with_details(mut self, details: StatusDetails) -> Self {
        self.status.details = Some(details);
        self
    }

    /// The HTTP status code.
    pub fn code(&self) -> u16 {
        self.status.code
    }

    /// The `reason`.
    pub fn reason(&self) -> &str {
        &self.status.reason
    }

    /// The `Status` to send.
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// The `Status`, to add to it.
    pub fn status_mut(&mut self) -> &mut Status {
        &mut self.status
    }

    fn resource_details(resource: &GroupResource, name: &str) -> StatusDetails {
        StatusDetails {
            name: name.into(),
            group: resource.group.clone(),
            kind: resource.resource.clone(),
            ..Default::default()
        }
    }

    /// 404: `<resource>.<group> "<name>" not found`.
    pub fn not_found(resource: &GroupResource, name: &str) -> Self {
        ApiError::new(404, "NotFound", format!("{resource} {name:?} not found"))
            .with_details(Self::resource_details(resource, name))
    }

    /// 409: `<resource>.<group> "<name>" already exists`.
    pub fn already_exists(resource: &GroupResource, name: &str) -> Self {
        ApiError::new(
            409,
            "AlreadyExists",
            format!("{resource} {name:?} already exists"),
        )
        .with_details(Self::resource_details(resource, name))
    }

    /// 409: `Operation cannot be fulfilled on <resource>.<group> "<name>": <why>`.
    pub fn conflict(resource: &GroupResource, name: &str, why: &str) -> Self {
        ApiError::new(
            409,
            "Conflict",
            format!("Operation cannot be fulfilled on {resource} {name:?}: {why}"),
        )
        .with_details(Self::resource_details(resource, name))
    }

    /// 409 of a server-side apply that would change fields other managers own
    /// (apimachinery `NewApplyConflict`): one `FieldManagerConflict` cause per field.
    pub fn apply_conflict(message: String, causes: Vec<(String, String)>) -> Self {
        let causes = causes
            .into_iter()
            .map(|(field, message)| StatusCause {
                reason: "FieldManagerConflict".into(),
                message,
                field,
            })
            .collect();
        ApiError::new(409, "Conflict", message).with_details(StatusDetails {
            causes,
            ..Default::default()
        })
    }

    /// The conflict of an update at a stale resourceVersion.
    pub fn modified(resource: &GroupResource, name: &str) -> Self {
        Self::conflict(resource, name, OBJECT_MODIFIED)
    }

    /// 422: `<Kind>.<group> "<name>" is invalid: <errors>`, one cause per field error. (Some
    /// upstream paths pass the plural resource as `kind`; callers do the same there.)
    pub fn invalid(kind: &str, group: &str, name: &str, errors: &[FieldError]) -> Self {
        let qualified = if group.is_empty() {
            kind.to_owned()
        } else {
            format!("{kind}.{group}")
        };
        // Upstream's `ErrorList.ToAggregate` drops exact repeats from the message (the causes
        // keep them: a custom resource's update checks its metadata more than once).
        let mut messages: Vec<String> = Vec::with_capacity(errors.len());
        for message in errors.iter().map(ToString::to_string) {
            if !messages.contains(&message) {
                messages.push(message);
            }
        }
        let aggregate = match messages.as_slice() {
            [one] => one.clone(),
            many => format!("[{}]", many.join(", ")),
        };
        let causes = errors
            .iter()
            .map(|e| StatusCause {
                reason: e.kind.reason().into(),
                message: e.body(),
                field: e.field.clone(),
            })
            .collect();
        ApiError::new(
            422,
            "Invalid",
            format!("{qualified} {name:?} is invalid: {aggregate}"),
        )
        .with_details(StatusDetails {
            name: name.into(),
            group: group.into(),
            kind: kind.into(),
            causes,
            ..Default::default()
        })
    }

    /// 400 BadRequest.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(400, "BadRequest", message)
    }

    /// 404 for a path that names no resource.
    pub fn no_such_path() -> Self {
        ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
        .with_details(StatusDetails::default())
    }

    /// 405 for a method a route does not serve: what kube-apiserver's go-restful routes (built-in
    /// kinds, discovery) answer, with empty details.
    pub fn method_not_allowed_on_route() -> Self {
        ApiError::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
        .with_details(StatusDetails::default())
    }

    /// 400 for an update or patch of a custom resource's collection (handlers/namer.go).
    pub fn name_must_be_provided() -> Self {
        ApiError::bad_request("name must be provided")
    }

    /// 405 for a verb a resource does not support (the custom resource handler's message).
    pub fn method_not_allowed(verb: &str, resource: &GroupResource) -> Self {
        ApiError::new(
            405,
            "MethodNotAllowed",
            format!(
                "{verb} is not supported on resources of kind {:?}",
                resource.to_string()
            ),
        )
        .with_details(Self::resource_details(resource, ""))
    }

    /// 409 when every name `generateName` tried was taken.
    pub fn name_generation_failed(resource: &GroupResource, name: &str) -> Self {
        let mut e = ApiError::new(
            409,
            "AlreadyExists",
            format!(
                "{resource} {name:?} already exists, the server was not able to generate a unique name for the object"
            ),
        )
        .with_details(Self::resource_details(resource, name));
        if let Some(details) = e.status.details.as_mut() {
            details.retry_after_seconds = Some(1);
        }
        e
    }

    /// 406: nothing in Accept can be produced.
    pub fn not_acceptable(accepted: &[&str]) -> Self {
        ApiError::new(
            406,
            "NotAcceptable",
            format!(
                "only the following media types are accepted: {}",
                accepted.join(", ")
            ),
        )
    }

    /// 415: the body's media type cannot be read.
    pub fn unsupported_media_type(accepted: &[&str]) -> Self {
        ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: {}",
                accepted.join(", ")
            ),
        )
    }

    /// 413: the request body exceeds `limit` bytes.
    pub fn request_too_large(limit: usize) -> Self {
        ApiError::new(
            413,
            "RequestEntityTooLarge",
            format!("Request entity too large: limit is {limit}"),
        )
    }

    /// 410 Expired.
    pub fn expired(message: impl Into<String>) -> Self {
        ApiError::new(410, "Expired", message)
    }

    /// 500 InternalError.
    pub fn internal(message: impl std::fmt::Display) -> Self {
        ApiError::new(
            500,
            "InternalError",
            format!("Internal error occurred: {message}"),
        )
        .with_details(StatusDetails {
            causes: vec![StatusCause {
                reason: String::new(),
                message: message.to_string(),
                field: String::new(),
            }],
            ..Default::default()
        })
    }

    /// 403 Forbidden (apimachinery `NewForbidden`): `<resource> "<name>" is forbidden: <why>`,
    /// `<resource> is forbidden: <why>` without a name, `forbidden: <why>` without a resource
    /// (non-resource paths).
    pub fn forbidden(resource: &GroupResource, name: &str, why: &str) -> Self {
        let message = if resource.group.is_empty() && resource.resource.is_empty() {
            format!("forbidden: {why}")
        } else if name.is_empty() {
            format!("{resource} is forbidden: {why}")
        } else {
            format!("{resource} {name:?} is forbidden: {why}")
        };
        ApiError::new(403, "Forbidden", message)
            .with_details(Self::resource_details(resource, name))
    }

    /// 503 ServiceUnavailable with a retry hint.
    pub fn unavailable(message: impl Into<String>) -> Self {
        ApiError::new(503, "ServiceUnavailable", message).with_details(StatusDetails {
            retry_after_seconds: Some(1),
            ..Default::default()
        })
    }

    /// 504 Timeout.
    pub fn timeout(message: impl Into<String>, retry_after_seconds: u32) -> Self {
        ApiError::new(504, "Timeout", message).with_details(StatusDetails {
            retry_after_seconds: Some(retry_after_seconds),
            ..Default::default()
        })
    }

    /// THE mapping from storage errors to API errors, for an operation on `name` of
    /// `resource`.
    pub fn from_storage(error: storage::Error, resource: &GroupResource, name: &str) -> Self {
        use storage::Error as E;
        match error {
            E::NotFound { .. } => Self::not_found(resource, name),
            E::AlreadyExists { .. } => Self::already_exists(resource, name),
            E::Conflict { .. } => Self::modified(resource, name),
            E::Compacted { .. } => {
                Self::expired("The resourceVersion for the provided watch is too old.")
            }
            E::FutureRevision { requested, current } => {
                let mut e = Self::timeout(
                    format!("Too large resource version: {requested}, current: {current}"),
                    1,
                );
                if let Some(details) = e.status.details.as_mut() {
                    details.causes.push(StatusCause {
                        reason: "ResourceVersionTooLarge".into(),
                        message: "Too large resource version".into(),
                        field: String::new(),
                    });
                }
                e
            }
            E::TooLarge { .. } => ApiError::new(
                413,
                "RequestEntityTooLarge",
                "Request entity too large: the object exceeds the maximum size of 1.5 MiB",
            ),
            E::Unavailable { .. } => Self::unavailable(format!("storage is unavailable: {error}")),
            E::Other { .. } => Self::internal(error),
        }
    }
}

/// The message of a conflict at a stale resourceVersion (k8s.io/apiserver
/// `pkg/registry/generic/registry/store.go` `OptimisticLockErrorMsg`).
pub const OBJECT_MODIFIED: &str =
    "the object has been modified; please apply your changes to the latest version and try again";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::FieldError;

    fn cld() -> GroupResource {
        GroupResource::new("fleet.k0rdent.io", "clusterdeployments")
    }

    #[test]
    fn not_found_names_the_qualified_resource_and_fills_details() {
        let e = ApiError::not_found(&cld(), "prod");
        let json = serde_json::to_value(e.status()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "clusterdeployments.fleet.k0rdent.io \"prod\" not found",
                "reason": "NotFound",
                "details": {"name": "prod", "group": "fleet.k0rdent.io", "kind": "clusterdeployments"},
                "code": 404
            })
        );
    }

    #[test]
    fn stale_update_conflict_has_the_upstream_message() {
        let e = ApiError::modified(&cld(), "prod");
        assert_eq!(
            e.status().message,
            "Operation cannot be fulfilled on clusterdeployments.fleet.k0rdent.io \"prod\": the object has been modified; please apply your changes to the latest version and try again"
        );
    }

    #[test]
    fn invalid_aggregates_one_error_plainly_and_several_in_brackets() {
        let one = [FieldError::required("spec.template", "")];
        let e = ApiError::invalid("ClusterDeployment", "fleet.k0rdent.io", "x", &one);
        assert_eq!(
            e.status().message,
            "ClusterDeployment.fleet.k0rdent.io \"x\" is invalid: spec.template: Required value"
        );
        let two = [
            FieldError::required("spec.template", ""),
            FieldError::invalid("metadata.name", &serde_json::json!("A"), "bad"),
        ];
        let e = ApiError::invalid("ClusterDeployment", "fleet.k0rdent.io", "x", &two);
        assert!(e.status().message.ends_with(
            "is invalid: [spec.template: Required value, metadata.name: Invalid value: \"A\": bad]"
        ));
        let causes = &e.status().details.as_ref().unwrap().causes;
        assert_eq!(causes[0].reason, "FieldValueRequired");
        assert_eq!(causes[1].field, "metadata.name");
    }
}
