//! Query options of writes (`CreateOptions`, `UpdateOptions`, `PatchOptions`), validated as
//! k8s.io/apimachinery `pkg/apis/meta/v1/validation` validates them.

use registry::field::FieldError;
use registry::{ApiError, FieldValidation, WriteOptions};
use serde_json::Value;

/// The write options of a request; `kind` names the options type in errors
/// (`CreateOptions`, `UpdateOptions`, `PatchOptions`). The field manager is `fieldManager`, or
/// derived from the `User-Agent` as kube-apiserver does.
pub fn write_options(
    query: &[(String, String)],
    headers: &http::HeaderMap,
    kind: &str,
) -> Result<WriteOptions, ApiError> {
    let manager = match query.iter().find(|(k, _)| k == "fieldManager") {
        Some((_, manager)) => manager.clone(),
        None => manager_from_user_agent(
            headers
                .get(http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default(),
        ),
    };
    let mut options = WriteOptions {
        manager: Some(manager),
        ..WriteOptions::default()
    };
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
    check_field_manager(query, kind)?;
    options.dry_run = dry_run(
        query
            .iter()
            .filter(|(k, _)| k == "dryRun")
            .map(|(_, v)| v.as_str()),
        kind,
    )?;
    Ok(options)
}

/// The manager of a write without `fieldManager`: the user agent up to its first `/`,
/// printable characters only, at most 128 bytes (upstream's `prefixFromUserAgent`).
pub fn manager_from_user_agent(user_agent: &str) -> String {
    let mut manager = String::new();
    for c in user_agent.split('/').next().unwrap_or_default().chars() {
        if c.is_control() {
            continue;
        }
        if manager.len() >= FIELD_MANAGER_MAX {
            break;
        }
        manager.push(c);
    }
    manager
}

/// The most characters a `fieldManager` may have.
const FIELD_MANAGER_MAX: usize = 128;

/// `fieldManager`: at most 128 bytes, printable characters only (`ValidateFieldManager`).
fn check_field_manager(query: &[(String, String)], kind: &str) -> Result<(), ApiError> {
    let Some((_, manager)) = query.iter().find(|(k, _)| k == "fieldManager") else {
        return Ok(());
    };
    let mut errors = Vec::new();
    if manager.len() > FIELD_MANAGER_MAX {
        errors.push(FieldError::too_long("fieldManager", FIELD_MANAGER_MAX));
    }
    for (i, c) in manager.chars().enumerate() {
        if c.is_control() {
            errors.push(FieldError::invalid(
                "fieldManager",
                &Value::String(manager.clone()),
                &format!("invalid character U+{:04X} (at position {i})", c as u32),
            ));
        }
    }
    if errors.is_empty() {
        return Ok(());
    }
    Err(ApiError::invalid(kind, "meta.k8s.io", "", &errors))
}

/// `force` is only for apply patches (`ValidatePatchOptions`).
pub fn check_no_force(query: &[(String, String)]) -> Result<(), ApiError> {
    if query.iter().any(|(k, _)| k == "force") {
        let error = FieldError::forbidden("force", "may not be specified for non-apply patch");
        return Err(ApiError::invalid(
            "PatchOptions",
            "meta.k8s.io",
            "",
            &[error],
        ));
    }
    Ok(())
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
    let printed = registry::field::go_strings(&values);
    let error = FieldError::not_supported_raw("dryRun", &printed, &["All"]);
    Err(ApiError::invalid(kind, "meta.k8s.io", "", &[error]))
}
