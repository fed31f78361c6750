//! The templates' JSON Schemas (`configSchema`, `valuesSchema`): checked against the
//! meta-schema of their dialect when a template is written (no remote references), and used to
//! check a ClusterDeployment's `config` or a service's `values`, one cause per violation.

use jsonschema::error::ValidationErrorKind;
use jsonschema::Draft;
use serde_json::Value;

use super::omitted_invalid;
use crate::field::{type_error, type_name, FieldError, FieldErrorKind};

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
pub(super) fn printed_value(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        Value::Null => "\"null\"".into(),
        Value::Object(_) | Value::Array(_) => format!("{:?}", type_name(value)),
        other => other.to_string(),
    }
}
