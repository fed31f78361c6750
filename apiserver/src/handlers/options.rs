//! Query options of writes (`CreateOptions`, `UpdateOptions`, `PatchOptions`), validated as
//! k8s.io/apimachinery `pkg/apis/meta/v1/validation` validates them.

use registry::field::FieldError;
use registry::{ApiError, FieldValidation, WriteOptions};
use serde_json::Value;

/// The write options of a request; `kind` names the options type in errors
/// (`CreateOptions`, `UpdateOptions`, `PatchOptions`).
pub fn write_options(query: &[(String, String)], kind: &str) -> Result<WriteOptions, ApiError> {
    let mut options = WriteOptions::default();
    if let Some((_, value)) = query.iter().find(|(k, _)| k == "fieldValidation") {
        options.field_validation = match value.as_str() {
            "" => FieldValidation::default(),
            other => FieldValidation::parse(other).ok_or_else(|| {
                let error = FieldError::not_supported(
                    "fieldValidation",
                    &Value::String(other.into()),
                    &["Ignore", "Warn", "Strict"],
                );
                ApiError::invalid(kind, "meta.k8s.io", "", &[error])
            })?,
        };
    }
    options.dry_run = dry_run(
        query
            .iter()
            .filter(|(k, _)| k == "dryRun")
            .map(|(_, v)| v.as_str()),
        kind,
    )?;
    Ok(options)
}

/// Reads `dryRun` values: none → false; each must be `All` (422 otherwise, as
/// `ValidateDryRun` says).
pub fn dry_run<'a>(values: impl Iterator<Item = &'a str>, kind: &str) -> Result<bool, ApiError> {
    let values: Vec<&str> = values.collect();
    if values.is_empty() {
        return Ok(false);
    }
    if values.iter().all(|v| *v == "All") {
        return Ok(true);
    }
    let printed = format!(
        "[]string{{{}}}",
        values
            .iter()
            .map(|v| format!("{v:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let error = FieldError::not_supported_raw("dryRun", &printed, &["All"]);
    Err(ApiError::invalid(kind, "meta.k8s.io", "", &[error]))
}
