//! What ClusterTemplates and ServiceTemplates share: the `source` union (a Helm chart or
//! inline minijinja manifests), the template status, and their JSON Schemas (`configSchema`,
//! `valuesSchema`) — checked against the meta-schema on create, and used by
//! [`validate_against`] to check a ClusterDeployment's `config` or a service's `values`.
//!
//! Messages follow k8s.io/apimachinery: the union as `pkg/api/validate/union.go` words it,
//! type errors as kube-openapi's `InvalidType` (what a CRD answers), `field is immutable` as
//! `ValidateImmutableField`.

use std::collections::BTreeSet;
use std::sync::Arc;

use jsonschema::error::ValidationErrorKind;
use jsonschema::Draft;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::field::{required_string, type_error, type_name, FieldError, FieldErrorKind};
use crate::resource::{ColumnSource, PrinterColumn};

/// Where a template's objects come from: exactly one of a Helm chart (`helm`) or manifests
/// written inline as a minijinja template (`inline`).
// The members are published as plain objects (`schemars(with)`) rather than
// `anyOf [$ref, null]`, so that the schema stays structural.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateSource {
    /// A Helm chart pulled from a chart repository. Exactly one of `helm` or `inline` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "HelmSource")]
    pub helm: Option<HelmSource>,
    /// Manifests written inline as a minijinja template. Exactly one of `helm` or `inline` is
    /// set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "InlineSource")]
    pub inline: Option<InlineSource>,
}

/// A Helm chart: installed with the template's values (a ClusterTemplate's `config`, a
/// service's `values`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmSource {
    /// The chart name in the repository, e.g. `aws-standalone-cp`.
    pub chart: String,
    /// The exact chart version, a semantic version such as `1.0.0` or `v1.16.2` (no ranges).
    pub version: String,
    /// The chart repository URL: `oci://` for an OCI registry (e.g.
    /// `oci://ghcr.io/k0rdent/kcm/charts`), or `https://` / `http://` for a classic repository
    /// with an index.yaml.
    pub repository: String,
}

/// Manifests written inline.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InlineSource {
    /// A minijinja (Jinja2) template rendering multi-document YAML. In a ClusterTemplate it
    /// sees `cluster` (`name`, `namespace`, `labels` of the ClusterDeployment) and `config`;
    /// in a ServiceTemplate, `cluster` and `values`. Rendered with trim_blocks and
    /// lstrip_blocks; undefined values chain, so `{{ config.workers.replicas | default(2) }}`
    /// works when `workers` is not given. Its syntax is checked on create.
    pub manifests: String,
}

/// What a controller found when it checked a template. Written only through `/status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateStatus {
    /// Whether the template can be used: its chart resolves, or its manifests render.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid: Option<bool>,
    /// Why the template is not valid, or a note about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// The members of the source union, as upstream's union errors list them.
const UNION_MEMBERS: &str = "`helm`, `inline`";
/// Repository URL schemes Helm can pull from.
const REPOSITORY_SCHEMES: [&str; 3] = ["oci://", "https://", "http://"];
/// Functions minijinja templates may call without being given them.
const TEMPLATE_GLOBALS: [&str; 6] = ["range", "dict", "namespace", "debug", "cycler", "joiner"];

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

/// `syntax error: unexpected end of input, expected end of block (line 3)`.
fn template_error(e: &minijinja::Error) -> String {
    let mut message = match e.detail() {
        Some(detail) => format!("{}: {detail}", e.kind()),
        None => e.kind().to_string(),
    };
    if let Some(line) = e.line() {
        message.push_str(&format!(" (line {line})"));
    }
    message
}

/// The minijinja environment inline manifests are checked and rendered in: Jinja2 syntax,
/// `trim_blocks` and `lstrip_blocks` (a block tag leaves no blank line or indentation behind,
/// which keeps YAML tidy), and undefined values that chain, so that
/// `{{ config.workers.replicas | default(2) }}` works when `workers` is not given.
pub fn environment() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    let syntax = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .build()
        .expect("the default delimiters are valid");
    env.set_syntax(syntax);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
    env
}

/// Renders inline `manifests` with `context` (`{"cluster": …, "config": …}` or
/// `{"cluster": …, "values": …}`): the multi-document YAML to apply.
pub fn render_manifests(manifests: &str, context: &Value) -> Result<String, minijinja::Error> {
    environment().render_str(manifests, template_value(context))
}

fn template_value(value: &Value) -> minijinja::Value {
    match value {
        Value::Null => minijinja::Value::from(()),
        Value::Bool(b) => minijinja::Value::from(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => minijinja::Value::from(i),
            (None, Some(u)) => minijinja::Value::from(u),
            _ => minijinja::Value::from(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => minijinja::Value::from(s.as_str()),
        Value::Array(items) => items.iter().map(template_value).collect(),
        Value::Object(map) => {
            minijinja::Value::from_pairs(map.iter().map(|(k, v)| (k.as_str(), template_value(v))))
        }
    }
}

/// Warnings for inline manifests that refer to variables the renderer does not give them
/// (`given`: `cluster` and `config`, or `cluster` and `values`).
pub fn manifests_warnings(source: &Value, path: &str, given: &[&str]) -> Vec<String> {
    let Some(manifests) = source.pointer("/inline/manifests").and_then(Value::as_str) else {
        return Vec::new();
    };
    let env = environment();
    let Ok(template) = env.template_from_str(manifests) else {
        return Vec::new();
    };
    let unknown: BTreeSet<String> = template
        .undeclared_variables(false)
        .into_iter()
        .filter(|v| !given.contains(&v.as_str()) && !TEMPLATE_GLOBALS.contains(&v.as_str()))
        .collect();
    unknown
        .into_iter()
        .map(|name| {
            format!(
                "{path}.inline.manifests: the template refers to {name:?}, which is never \
                 given; it sees only {}",
                given.join(" and ")
            )
        })
        .collect()
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

/// A column read with a JSONPath.
pub fn column(name: &str, column_type: &str, path: &str, priority: i32) -> PrinterColumn {
    PrinterColumn {
        name: name.into(),
        column_type: column_type.into(),
        format: String::new(),
        description: String::new(),
        priority,
        source: ColumnSource::JsonPath(path.into()),
    }
}

/// SOURCE: `helm` or `inline`.
pub fn source_column(priority: i32) -> PrinterColumn {
    PrinterColumn {
        name: "Source".into(),
        column_type: "string".into(),
        format: String::new(),
        description: "Where the objects come from: helm or inline.".into(),
        priority,
        source: ColumnSource::Computed(Arc::new(|obj| source_type(&obj["spec"]["source"]))),
    }
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

/// Checks that `schema` at `path` (`spec.configSchema`) is a JSON Schema in the dialect of
/// Helm's values.schema.json: draft-07 unless its `$schema` names draft-04, -06, 2019-09 or
/// 2020-12. One error per problem the meta-schema finds, at the path of the offending keyword
/// (`spec.configSchema.properties[replicas].type`); then the schema must compile (its `$ref`s
/// resolve locally, its patterns are regular expressions).
pub fn validate_schema(schema: &Value, path: &str) -> Vec<FieldError> {
    if !schema.is_object() {
        return vec![type_error(path, schema, "object")];
    }
    let draft = match dialect(schema) {
        Ok(draft) => draft,
        Err(uri) => {
            return vec![FieldError::not_supported(
                &format!("{path}.$schema"),
                &Value::from(uri),
                &SUPPORTED_DIALECTS,
            )]
        }
    };
    let meta = meta_validator(draft);
    let errors: Vec<FieldError> = meta
        .iter_errors(schema)
        .map(|e| {
            let at = schema_field_path(path, e.instance_path());
            let is_type = e.instance_path().as_str().ends_with("/type")
                && matches!(e.kind(), ValidationErrorKind::AnyOf { .. });
            if is_type {
                // The meta-schema's `anyOf` says nothing useful: name the types instead.
                let printed = printed_value(e.instance());
                FieldError::not_supported_raw(&at, &printed, &JSON_TYPES)
            } else {
                FieldError::invalid_raw(&at, &printed_value(e.instance()), &e.to_string())
            }
        })
        .collect();
    if !errors.is_empty() {
        return errors;
    }
    match compile(schema, draft) {
        Ok(_) => Vec::new(),
        Err(e) => {
            let at = schema_field_path(path, e.instance_path());
            vec![omitted_invalid(
                &at,
                &format!("the schema does not compile: {e}"),
            )]
        }
    }
}

/// A validator for `schema`; `$ref`s resolve only within it.
fn compile(
    schema: &Value,
    draft: Draft,
) -> Result<jsonschema::Validator, jsonschema::ValidationError<'static>> {
    jsonschema::options()
        .with_draft(draft)
        .with_retriever(LocalOnly)
        .build(schema)
}

/// Refuses every remote `$ref`: a server never fetches schemas from the network.
struct LocalOnly;

impl jsonschema::Retrieve for LocalOnly {
    fn retrieve(
        &self,
        _uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        Err("remote schemas are never fetched; only references within the schema resolve".into())
    }
}

/// The values of the `type` keyword (alone or in a list).
const JSON_TYPES: [&str; 7] = [
    "array", "boolean", "integer", "null", "number", "object", "string",
];

/// The `$schema` URIs [`validate_schema`] accepts.
const SUPPORTED_DIALECTS: [&str; 5] = [
    "http://json-schema.org/draft-07/schema#",
    "http://json-schema.org/draft-06/schema#",
    "http://json-schema.org/draft-04/schema#",
    "https://json-schema.org/draft/2019-09/schema",
    "https://json-schema.org/draft/2020-12/schema",
];

/// The draft of a schema: named by `$schema`, draft-07 (Helm's) without one; `Err` with an
/// unknown URI.
fn dialect(schema: &Value) -> Result<Draft, String> {
    match schema.get("$schema") {
        None => Ok(Draft::Draft7),
        Some(Value::String(uri)) => match Draft::Draft7.detect(schema) {
            Draft::Unknown => Err(uri.clone()),
            draft => Ok(draft),
        },
        Some(other) => Err(other.to_string()),
    }
}

fn meta_validator(draft: Draft) -> jsonschema::meta::MetaValidator<'static> {
    match draft {
        Draft::Draft4 => jsonschema::draft4::meta::validator(),
        Draft::Draft6 => jsonschema::draft6::meta::validator(),
        Draft::Draft201909 => jsonschema::draft201909::meta::validator(),
        Draft::Draft202012 => jsonschema::draft202012::meta::validator(),
        _ => jsonschema::draft7::meta::validator(),
    }
}

/// Checks `instance` against `schema` (a template's `configSchema` or `valuesSchema`, already
/// accepted by [`validate_schema`]): one `Invalid` error per violation, at `field_prefix`
/// followed by the instance path (`spec.config.workers.replicas`, `spec.config.zones[1]`),
/// with the validator's message. Objects and arrays print as `"object"` and `"array"`.
pub fn validate_against(schema: &Value, instance: &Value, field_prefix: &str) -> Vec<FieldError> {
    let draft = dialect(schema).unwrap_or(Draft::Draft7);
    let validator = match compile(schema, draft) {
        Ok(validator) => validator,
        Err(e) => {
            return vec![FieldError {
                kind: FieldErrorKind::Internal,
                field: field_prefix.into(),
                value: None,
                detail: format!("the schema does not compile: {e}"),
            }]
        }
    };
    // A bounded number of causes, each bounded in size: a schema can make every part of a
    // large instance fail many times over.
    validator
        .iter_errors(instance)
        .take(MAX_SCHEMA_ERRORS)
        .map(|e| {
            let mut at = field_prefix.to_owned();
            for segment in e.instance_path().segments() {
                match segment {
                    jsonschema::paths::LocationSegment::Property(key) => push_key(&mut at, &key),
                    jsonschema::paths::LocationSegment::Index(i) => at.push_str(&format!("[{i}]")),
                }
            }
            let mut detail = e.to_string();
            if detail.len() > MAX_DETAIL {
                let mut end = MAX_DETAIL;
                while !detail.is_char_boundary(end) {
                    end -= 1;
                }
                detail.truncate(end);
                detail.push('…');
            }
            FieldError::invalid_raw(&at, &printed_value(e.instance()), &detail)
        })
        .collect()
}

/// How many violations of a schema one write reports.
const MAX_SCHEMA_ERRORS: usize = 50;
/// How long one violation's message may be.
const MAX_DETAIL: usize = 256;

/// Keywords whose members are names, not keywords: `properties[replicas]`, as
/// apiextensions' validation prints paths into a schema.
const NAMED_MEMBERS: [&str; 7] = [
    "properties",
    "patternProperties",
    "definitions",
    "$defs",
    "dependencies",
    "dependentSchemas",
    "dependentRequired",
];

/// A path into a schema: keywords as `.keyword`, names as `[name]`, items as `[0]`.
fn schema_field_path(prefix: &str, location: &jsonschema::paths::Location) -> String {
    let mut out = prefix.to_owned();
    let mut named = false;
    for segment in location.segments() {
        let text = segment.to_string();
        if named {
            out.push_str(&format!("[{text}]"));
            named = false;
        } else if text.parse::<usize>().is_ok() {
            out.push_str(&format!("[{text}]"));
        } else {
            named = NAMED_MEMBERS.contains(&text.as_str());
            out.push('.');
            out.push_str(&text);
        }
    }
    out
}

/// `.key`, or `[key]` when the key would not read as one path segment.
fn push_key(path: &mut String, key: &str) {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$');
    if plain {
        path.push('.');
        path.push_str(key);
    } else {
        path.push_str(&format!("[{key}]"));
    }
}

/// A bad value as a field error prints it: scalars as themselves, objects and arrays by
/// their type, as kube-openapi prints them.
fn printed_value(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        Value::Null => "\"null\"".into(),
        Value::Object(_) | Value::Array(_) => format!("{:?}", type_name(value)),
        other => other.to_string(),
    }
}

/// An `Invalid` error that does not print the value (`field.OmitValueType`).
fn omitted_invalid(path: &str, detail: &str) -> FieldError {
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
mod tests {
    use super::*;
    use serde_json::json;

    fn messages(errors: &[FieldError]) -> Vec<String> {
        errors.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn templatesource_needs_exactly_one_member() {
        let path = "spec.source";
        assert_eq!(
            messages(&validate_source(Some(&json!({})), path)),
            ["spec.source: Invalid value: \"\": must specify one of: `helm`, `inline`"]
        );
        let both = json!({"helm": {"chart": "a", "version": "1.0.0", "repository": "oci://x"},
                          "inline": {"manifests": "x"}});
        assert_eq!(
            messages(&validate_source(Some(&both), path)),
            ["spec.source: Invalid value: \"{helm, inline}\": must specify exactly one of: `helm`, `inline`"]
        );
        assert_eq!(
            messages(&validate_source(None, path)),
            ["spec.source: Required value"]
        );
    }

    #[test]
    fn templatesource_checks_helm_fields() {
        let helm = json!({"helm": {"chart": "-x", "version": "1.0", "repository": "ftp://h/c"}});
        assert_eq!(
            messages(&validate_source(Some(&helm), "spec.source")),
            [
                "spec.source.helm.chart: Invalid value: \"-x\": a chart name must consist of alphanumeric characters, '-', '_' or '.', and must start with an alphanumeric character (e.g. 'ingress-nginx')",
                "spec.source.helm.version: Invalid value: \"1.0\": must be a semantic version MAJOR.MINOR.PATCH, optionally prefixed with 'v' and followed by -PRERELEASE and +BUILD (e.g. '1.0.0', 'v1.16.2' or '4.12.0-rc.1')",
                "spec.source.helm.repository: Invalid value: \"ftp://h/c\": must be a URL with scheme oci://, https:// or http:// (e.g. 'oci://ghcr.io/k0rdent/kcm/charts')",
            ]
        );
        let missing = json!({"helm": {"chart": 3}});
        assert_eq!(
            messages(&validate_source(Some(&missing), "spec.source")),
            [
                "spec.source.helm.chart: Invalid value: \"integer\": spec.source.helm.chart in body must be of type string: \"integer\"",
                "spec.source.helm.version: Required value",
                "spec.source.helm.repository: Required value",
            ]
        );
    }

    #[test]
    fn templatesource_compiles_inline_manifests() {
        let bad = json!({"inline": {"manifests": "kind: A\nname: {{ cluster.name }\n"}});
        let errors = validate_source(Some(&bad), "spec.source");
        assert_eq!(
            messages(&errors),
            ["spec.source.inline.manifests: Invalid value: syntax error: unexpected `}`, expected end of variable block (line 2)"]
        );
        let good = json!({"inline": {"manifests": "{% for i in range(2) %}n: {{ cluster.name }}-{{ config.x | default(1) }}{% endfor %}"}});
        assert!(validate_source(Some(&good), "spec.source").is_empty());
        assert!(manifests_warnings(&good, "spec.source", &["cluster", "config"]).is_empty());
        assert_eq!(
            manifests_warnings(&good, "spec.source", &["cluster", "values"]),
            ["spec.source.inline.manifests: the template refers to \"config\", which is never given; it sees only cluster and values"]
        );
    }

    #[test]
    fn templatesource_renders_manifests_with_chained_defaults() {
        let manifests = "{% for i in range(config.workers.replicas | default(2)) %}\n- {{ cluster.name }}-{{ i }}\n{% endfor %}\nregion: {{ config.region }}";
        let context = json!({"cluster": {"name": "dev"}, "config": {"region": "eu"}});
        assert_eq!(
            render_manifests(manifests, &context).expect("renders"),
            "- dev-0\n- dev-1\nregion: eu"
        );
    }

    #[test]
    fn templatesource_versions() {
        for good in [
            "1.0.0",
            "v1.16.2",
            "4.12.0-rc.1",
            "1.0.0+build.5",
            "0.0.0-0.a-b",
        ] {
            assert!(is_semver(good), "{good}");
        }
        for bad in [
            "1.0", "01.0.0", "1.0.0-", "1.0.0-01", "^1.0.0", "1.0.0 ", "v",
        ] {
            assert!(!is_semver(bad), "{bad}");
        }
        assert!(is_kubernetes_version("v1.33.0"));
        for bad in ["1.33.0", "v1.33", "v1.033.0", "v1.33.0+k0s.0"] {
            assert!(!is_kubernetes_version(bad), "{bad}");
        }
    }

    #[test]
    fn templatesource_schemas_are_checked_against_the_meta_schema() {
        assert!(validate_schema(
            &json!({"type": "object", "properties": {"replicas": {"type": "integer", "minimum": 1}}}),
            "spec.configSchema"
        )
        .is_empty());
        assert_eq!(
            messages(&validate_schema(&json!({"type": 12}), "spec.configSchema")),
            ["spec.configSchema.type: Unsupported value: 12: supported values: \"array\", \"boolean\", \"integer\", \"null\", \"number\", \"object\", \"string\""]
        );
        assert_eq!(
            messages(&validate_schema(
                &json!({"properties": {"replicas": {"type": "integr"}, "zones": {"minItems": -1}}}),
                "spec.configSchema"
            )),
            [
                "spec.configSchema.properties[replicas].type: Unsupported value: \"integr\": supported values: \"array\", \"boolean\", \"integer\", \"null\", \"number\", \"object\", \"string\"",
                "spec.configSchema.properties[zones].minItems: Invalid value: -1: -1 is less than the minimum of 0",
            ]
        );
        assert_eq!(
            messages(&validate_schema(
                &json!({"$ref": "#/definitions/missing"}),
                "spec.configSchema"
            ))
            .len(),
            1
        );
        assert_eq!(
            messages(&validate_schema(&json!({"$schema": "https://example.com/s"}), "spec.configSchema")),
            ["spec.configSchema.$schema: Unsupported value: \"https://example.com/s\": supported values: \"http://json-schema.org/draft-07/schema#\", \"http://json-schema.org/draft-06/schema#\", \"http://json-schema.org/draft-04/schema#\", \"https://json-schema.org/draft/2019-09/schema\", \"https://json-schema.org/draft/2020-12/schema\""]
        );
        assert_eq!(
            messages(&validate_schema(&json!(true), "spec.configSchema")),
            ["spec.configSchema: Invalid value: \"boolean\": spec.configSchema in body must be of type object: \"boolean\""]
        );
    }

    #[test]
    fn templatesource_values_are_checked_against_a_schema() {
        let schema = json!({
            "type": "object",
            "required": ["region"],
            "properties": {
                "region": {"type": "string"},
                "workers": {"type": "object", "properties": {"replicas": {"type": "integer", "maximum": 10}}},
                "zones": {"type": "array", "items": {"type": "string"}},
            },
        });
        let config = json!({"workers": {"replicas": 11}, "zones": ["a", 2]});
        assert_eq!(
            messages(&validate_against(&schema, &config, "spec.config")),
            [
                "spec.config: Invalid value: \"object\": \"region\" is a required property",
                "spec.config.workers.replicas: Invalid value: 11: 11 is greater than the maximum of 10",
                "spec.config.zones[1]: Invalid value: 2: 2 is not of type \"string\"",
            ]
        );
        assert!(validate_against(&schema, &json!({"region": "eu"}), "spec.config").is_empty());
    }

    #[test]
    fn templatesource_specs_are_immutable() {
        let old = json!({"spec": {"version": "1.0.0"}});
        assert!(validate_spec_immutable(&old, &old).is_empty());
        let new = json!({"spec": {"version": "1.0.1"}});
        assert_eq!(
            messages(&validate_spec_immutable(&new, &old)),
            ["spec: Invalid value: \"object\": field is immutable"]
        );
    }
}
