//! What ClusterTemplates and ServiceTemplates share: the `source` union (a Helm chart or
//! inline minijinja manifests), the template status, and their JSON Schemas (`configSchema`,
//! `valuesSchema`) — checked against the meta-schema on create, and used by
//! [`validate_against`] to check a ClusterDeployment's `config` or a service's `values`.
//!
//! Messages follow k8s.io/apimachinery: the union as `pkg/api/validate/union.go` words it,
//! type errors as kube-openapi's `InvalidType` (what a CRD answers), `field is immutable` as
//! `ValidateImmutableField`.
//!
//! # Layout
//! - this file: the `source` union's checks (its types are `fleet_api`'s), versions, status,
//!   immutability;
//! - [`render`]: inline manifests in minijinja (checked, rendered, variables warned about);
//! - [`schema`]: the templates' JSON Schemas, checked against the meta-schema and used;
//! - [`columns`]: the printer columns the template kinds share.

mod columns;
mod render;
mod schema;

use serde_json::Value;

use crate::field::{required_string, type_error, FieldError, FieldErrorKind};

pub use fleet_api::v1alpha1::templatesource::{
    HelmSource, InlineSource, TemplateSource, TemplateStatus,
};

pub use columns::{column, source_column};
pub use render::{environment, manifests_warnings, render_manifests};
pub use schema::{validate_against, validate_schema};

use render::template_error;
use schema::printed_value;

/// The members of the source union, as upstream's union errors list them.
const UNION_MEMBERS: &str = "`helm`, `inline`";
/// Repository URL schemes Helm can pull from.
const REPOSITORY_SCHEMES: [&str; 3] = ["oci://", "https://", "http://"];

/// Checks a template's `source` at `path` (`spec.source`).
pub fn validate_source(source: Option<&Value>, path: &str) -> Vec<FieldError> {
    let source = match source {
        None | Some(Value::Null) => return vec![FieldError::required(path, "")],
        Some(source @ Value::Object(_)) => source,
        Some(other) => return vec![type_error(path, other, "object")],
    };
    let helm = source.get("helm").filter(|v| !v.is_null());
    let inline = source.get("inline").filter(|v| !v.is_null());
    match (helm, inline) {
        (None, None) => vec![FieldError::invalid(
            path,
            &Value::from(""),
            &format!("must specify one of: {UNION_MEMBERS}"),
        )],
        (Some(_), Some(_)) => vec![FieldError::invalid(
            path,
            &Value::from("{helm, inline}"),
            &format!("must specify exactly one of: {UNION_MEMBERS}"),
        )],
        (Some(helm), None) => validate_helm(helm, &format!("{path}.helm")),
        (None, Some(inline)) => validate_inline(inline, &format!("{path}.inline")),
    }
}

fn validate_helm(helm: &Value, path: &str) -> Vec<FieldError> {
    if !helm.is_object() {
        return vec![type_error(path, helm, "object")];
    }
    let mut errors = Vec::new();
    let chart_path = format!("{path}.chart");
    if let Some(chart) = required_string(helm.get("chart"), &chart_path, &mut errors) {
        if !is_chart_name(chart) {
            errors.push(FieldError::invalid(
                &chart_path,
                &Value::from(chart),
                "a chart name must consist of alphanumeric characters, '-', '_' or '.', and \
                 must start with an alphanumeric character (e.g. 'ingress-nginx')",
            ));
        }
    }
    errors.extend(validate_version(
        helm.get("version"),
        &format!("{path}.version"),
    ));
    let repository_path = format!("{path}.repository");
    if let Some(url) = required_string(helm.get("repository"), &repository_path, &mut errors) {
        if !is_repository_url(url) {
            errors.push(FieldError::invalid(
                &repository_path,
                &Value::from(url),
                "must be a URL with scheme oci://, https:// or http:// (e.g. \
                 'oci://ghcr.io/k0rdent/kcm/charts')",
            ));
        }
    }
    errors
}

fn validate_inline(inline: &Value, path: &str) -> Vec<FieldError> {
    if !inline.is_object() {
        return vec![type_error(path, inline, "object")];
    }
    let mut errors = Vec::new();
    let manifests_path = format!("{path}.manifests");
    if let Some(manifests) = required_string(inline.get("manifests"), &manifests_path, &mut errors)
    {
        if let Err(e) = environment().template_from_str(manifests) {
            // The template can be long: omitted from the message, as `field.OmitValueType`.
            errors.push(omitted_invalid(&manifests_path, &template_error(&e)));
        }
    }
    errors
}

/// `helm` or `inline`: which member of a source is set (for the SOURCE column).
pub fn source_type(source: &Value) -> Value {
    ["helm", "inline"]
        .into_iter()
        .find(|member| source.get(*member).is_some_and(|v| !v.is_null()))
        .map_or(Value::Null, Value::from)
}

/// Checks a required semantic version at `path` (a chart's `version`, a ServiceTemplate's
/// `spec.version`).
pub fn validate_version(version: Option<&Value>, path: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Some(v) = required_string(version, path, &mut errors) {
        if !is_semver(v) {
            errors.push(FieldError::invalid(
                path,
                &Value::from(v),
                "must be a semantic version MAJOR.MINOR.PATCH, optionally prefixed with 'v' \
                 and followed by -PRERELEASE and +BUILD (e.g. '1.0.0', 'v1.16.2' or \
                 '4.12.0-rc.1')",
            ));
        }
    }
    errors
}

/// The status fields controllers write: `valid` a boolean, `observedGeneration` not negative.
pub fn validate_status(obj: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let status = &obj["status"];
    let checks = [
        ("valid", "boolean"),
        ("message", "string"),
        ("observedGeneration", "integer"),
    ];
    for (field, expected) in checks {
        let value = &status[field];
        let fits = match expected {
            "boolean" => value.is_boolean(),
            "string" => value.is_string(),
            _ => value.is_i64(),
        };
        if !value.is_null() && !fits {
            errors.push(type_error(&format!("status.{field}"), value, expected));
        }
    }
    if let Some(generation) = status["observedGeneration"].as_i64().filter(|g| *g < 0) {
        errors.push(FieldError::invalid(
            "status.observedGeneration",
            &Value::from(generation),
            "must be greater than or equal to 0",
        ));
    }
    errors
}

/// Checks that a template's spec did not change: the spec of a template is immutable (a new
/// version is a new template).
pub fn validate_spec_immutable(new: &Value, old: &Value) -> Vec<FieldError> {
    if new.get("spec") == old.get("spec") {
        return Vec::new();
    }
    let printed = printed_value(new.get("spec").unwrap_or(&Value::Null));
    vec![FieldError::invalid_raw(
        "spec",
        &printed,
        "field is immutable",
    )]
}

/// An `Invalid` error that does not print the value (`field.OmitValueType`).
pub(super) fn omitted_invalid(path: &str, detail: &str) -> FieldError {
    FieldError {
        kind: FieldErrorKind::Invalid,
        field: path.into(),
        value: None,
        detail: detail.into(),
    }
}

/// Helm's chart names: alphanumerics, `-`, `_`, `.`, starting with an alphanumeric.
fn is_chart_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// `oci://`, `https://` or `http://`, a host, and no whitespace.
fn is_repository_url(url: &str) -> bool {
    let Some(rest) = REPOSITORY_SCHEMES
        .iter()
        .find_map(|scheme| url.strip_prefix(scheme))
    else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    !host.is_empty() && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Semantic Versioning 2.0.0, with an optional leading `v` (as Helm accepts).
pub fn is_semver(version: &str) -> bool {
    let version = version.strip_prefix('v').unwrap_or(version);
    let (rest, build) = match version.split_once('+') {
        Some((rest, build)) => (rest, Some(build)),
        None => (version, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (rest, None),
    };
    let numbers: Vec<&str> = core.split('.').collect();
    let identifiers_ok = |s: &str, numeric_rules: bool| {
        s.split('.').all(|id| {
            !id.is_empty()
                && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !(numeric_rules && is_number(id) && id.len() > 1 && id.starts_with('0'))
        })
    };
    numbers.len() == 3
        && numbers.iter().all(|n| is_canonical_number(n))
        && pre.is_none_or(|p| identifiers_ok(p, true))
        && build.is_none_or(|b| identifiers_ok(b, false))
}

/// `vMAJOR.MINOR.PATCH` with no leading zeros (a Kubernetes release).
pub fn is_kubernetes_version(version: &str) -> bool {
    let Some(core) = version.strip_prefix('v') else {
        return false;
    };
    let numbers: Vec<&str> = core.split('.').collect();
    numbers.len() == 3 && numbers.iter().all(|n| is_canonical_number(n))
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_canonical_number(s: &str) -> bool {
    is_number(s) && (s == "0" || !s.starts_with('0'))
}

#[cfg(test)]
mod tests;
