//! Server-side apply and managed fields, as kube-apiserver's field manager does them
//! (k8s.io/apimachinery `pkg/util/managedfields/internal/`, over sigs.k8s.io/structured-merge-diff
//! `fieldpath`, `merge`, `typed`): pure functions over JSON objects and the kind's OpenAPI v3
//! schema (`None` for schema-less kinds: maps granular, lists atomic).
//!
//! - [`record_update`]: an ordinary write (create, update, patch) records what its manager
//!   changed in an `Update` entry of `metadata.managedFields`.
//! - [`apply`]: an apply patch merges a configuration into the live object, records it as the
//!   manager's `Apply` entry, removes what the manager stopped applying, and reports
//!   [`Conflicts`] with other managers unless forced.
//!
//! # Layout
//! - [`path`](PathElement) and [`set`](FieldSet): field paths and sets, `fieldsV1` encoding.
//! - `schemaconv`: what an OpenAPI schema says of list and map types; `value`: Go's value order
//!   and renderings.
//! - `walk`, `compare`, `merge`: walks of objects along their type (field sets, validation,
//!   removal; differences; merging).
//! - [`managed`](ManagedFields): entries of `metadata.managedFields`; [`conflict`](Conflicts):
//!   conflicts and their messages; `updater`: who owns what after a write.
//! - [`lastapplied`]: the move from client-side apply (`kubectl`'s last-applied annotation).
//!
//! # Not supported, and differences
//! Not supported: conversion between API versions (entries of other versions are compared as
//! they are); reconciling sets with a schema that changed atomic/granular;
//! unions; `$ref`s; scalar type checks of the applied configuration (left to the kind's
//! validation).
//!
//! Differences: fields a schema does not declare are walked as schema-less rather than
//! rejected. A map or list emptied by removal is dropped where upstream leaves `null` (which
//! conversion, or a custom resource's null pruning, drops), and an empty list or map the
//! configuration holds is kept. Pruning treats a struct field still present as kept, where
//! upstream drops one that holds nothing setting a field (`spec: {tags: []}`).
//! [`FieldSet::to_fields_v1`] yields a JSON object whose keys sort as strings (serde_json's
//! map); [`FieldSet::to_fields_v1_string`] gives upstream's exact bytes and key order.

mod compare;
mod conflict;
pub mod lastapplied;
mod managed;
mod merge;
mod path;
mod schemaconv;
mod set;
mod updater;
mod value;
mod walk;

#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

pub use conflict::{Conflict, Conflicts};
pub use managed::{ManagedFields, ManagedFieldsEntry, ManagedOperation};
pub use path::{Path, PathElement, PathElementError};
pub use set::{FieldSet, FieldsV1Error};

use schemaconv::Type;
use updater::Updater;

/// The manager that owns what an object held before its first apply (`skipNonApplied`).
const BEFORE_FIRST_APPLY: &str = "before-first-apply";

/// Who writes, through which endpoint, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// `fieldManager`; empty is recorded as `unknown`.
    pub manager: String,
    /// The object's `apiVersion` at this endpoint (`apps/v1`).
    pub api_version: String,
    /// Now, RFC 3339 in seconds (`2024-01-02T03:04:05Z`).
    pub time: String,
    /// `Some("status")`, `Some("scale")`, … for a subresource.
    pub subresource: Option<String>,
}

/// Fields an endpoint resets, which its writers therefore never own (upstream's
/// `ResetFieldsStrategy`). They still change in the object returned; the strategy resets them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Reset {
    /// Every field counts.
    #[default]
    None,
    /// The main endpoint of a kind with a `/status` subresource: `.status` is ignored.
    Status,
    /// The `/status` subresource: only `.status` counts.
    AllButStatus,
}

/// Why managed fields could not be read or recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// `metadata.managedFields` is neither absent, `null` nor a list.
    #[error("metadata.managedFields must be a list")]
    NotAList,
    /// An entry of `metadata.managedFields` does not decode (`DecodeManagedFields`).
    #[error("metadata.managedFields[{index}]: {reason}")]
    DecodeEntry { index: usize, reason: String },
    /// An entry's `fieldsV1` is not a field set.
    #[error("metadata.managedFields[{index}].fieldsV1: {source}")]
    DecodeFields {
        index: usize,
        #[source]
        source: FieldsV1Error,
    },
    /// The object does not fit its schema where field management needs it to: list items
    /// without their keys, duplicate items (in upstream's `ValidationErrors` words).
    #[error("{0}")]
    Typed(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why an apply failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// Fields other managers own would change (409, one `FieldManagerConflict` cause per
    /// [`Conflict`]); `force` takes them.
    #[error("{0}")]
    Conflicts(Conflicts),
    /// The configuration cannot be applied (400): wrong kind or version, managed fields set,
    /// list items without keys or repeated.
    #[error("{0}")]
    Invalid(String),
    /// The live object's managed fields do not decode.
    #[error("failed to decode managed fields: {0}")]
    ManagedFields(#[source] Error),
}

impl FieldSet {
    /// The fields `object` sets (`TypedValue.ToFieldSet`): every scalar, atomic list or map,
    /// item of a `set`/`map` list, map key, and empty or null map.
    pub fn from_object(object: &Value, schema: Option<&Value>) -> Result<FieldSet> {
        let ty = Type::root(schema);
        walk::validate(ty, object, true).map_err(Error::Typed)?;
        Ok(walk::to_field_set(ty, object))
    }
}

/// Records a create (`old` is `None`), update or non-apply patch by `op.manager` in `new`'s
/// `metadata.managedFields` (upstream `FieldManager.UpdateNoErrors`):
///
/// - The entries to start from are those `new` carries — so clients may edit them — unless it
///   carries none or invalid ones, or this is a subresource, then `old`'s. `managedFields: []`
///   or `[{}]` clears them.
/// - Starting from none on an existing object tracks nothing: `new` is left without entries.
/// - The manager's Update entry (per manager, apiVersion and subresource) gains the fields
///   whose value it set or changed, timed `op.time`; other managers lose those fields, and
///   everyone loses removed fields. Entries left empty are dropped; beyond ten Update entries
///   the oldest merge into `ancient-changes`.
///
/// On `Err` (an object that does not fit its schema), `new` keeps `old`'s managed fields.
pub fn record_update(
    schema: Option<&Value>,
    reset: Reset,
    old: Option<&Value>,
    new: &mut Value,
    op: &Operation,
) -> Result<()> {
    let empty = Value::Object(Map::new());
    let live = old.unwrap_or(&empty);
    let mut managed = starting_entries(live, new, op);
    let new_object = without_managed_fields(new);
    *new = new_object;
    if managed.is_empty() && old.is_some() {
        return Ok(());
    }
    let ty = Type::root(schema);
    let live = without_managed_fields(live);
    if let Err(e) = walk::validate(ty, new, true).and(walk::validate(ty, &live, true)) {
        if let Some(old) = old {
            ManagedFields::from_object(old)
                .unwrap_or_default()
                .write_to(new);
        }
        return Err(Error::Typed(e));
    }
    let updater = Updater { ty, reset, op };
    updater.update(&live, new, &mut managed, updater.manager());
    managed.write_to(new);
    Ok(())
}

/// `decodeLiveOrNew`.
fn starting_entries(live: &Value, new: &Value, op: &Operation) -> ManagedFields {
    let from_live = || ManagedFields::from_object(live).unwrap_or_default();
    if op.subresource.as_deref().is_some_and(|s| !s.is_empty()) {
        return from_live();
    }
    if is_reset(new) {
        return ManagedFields::default();
    }
    match ManagedFields::from_object(new) {
        Ok(managed) if !managed.is_empty() => managed,
        _ => from_live(),
    }
}

/// `managedFields: []` or `[{}]` (an entry with every field empty).
fn is_reset(object: &Value) -> bool {
    match object.pointer("/metadata/managedFields") {
        Some(Value::Array(list)) => match list.as_slice() {
            [] => true,
            // Go's decoding ignores other keys.
            [Value::Object(entry)] => {
                [
                    "manager",
                    "operation",
                    "apiVersion",
                    "fieldsType",
                    "subresource",
                ]
                .iter()
                .all(|k| entry.get(*k).is_none_or(|v| v.is_null() || v == ""))
                    && ["time", "fieldsV1"]
                        .iter()
                        .all(|k| entry.get(*k).is_none_or(Value::is_null))
            }
            _ => false,
        },
        _ => false,
    }
}

fn without_managed_fields(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(Value::Object(metadata)) = object.get_mut("metadata") {
        metadata.remove("managedFields");
    }
    object
}

/// Applies `config` (an apply patch, parsed) to `live` (`None` to create) for `op.manager`
/// (upstream `FieldManager.Apply`), returning the new object with its managed fields:
///
/// - The object is `live` with `config` merged in: granular maps key by key, `map`/`set` lists
///   item by item, scalars and atomics replaced.
/// - The manager's Apply entry (per manager and subresource) becomes exactly the fields
///   `config` sets, less the reset ones and server-set metadata.
/// - Fields it applied last time and no longer does are removed when no one else owns them.
/// - Fields other managers own whose value this changes are [`ApplyError::Conflicts`],
///   unless `force`, which takes them. Setting an owned field to its current value shares it.
/// - A live object without managed fields first has its fields recorded for
///   `before-first-apply`.
///
/// When nothing changes the result is `live` with the same managed fields, times included
/// (an entry may still gain fields the configuration now sets to their current values).
/// The configuration's `apiVersion` must be `op.api_version` and its `kind` the live one's.
pub fn apply(
    schema: Option<&Value>,
    reset: Reset,
    live: Option<&Value>,
    config: &Value,
    op: &Operation,
    force: bool,
) -> Result<Value, ApplyError> {
    let live = live.cloned().unwrap_or_else(|| Value::Object(Map::new()));
    let mut managed = ManagedFields::from_object(&live).map_err(ApplyError::ManagedFields)?;
    check_config(&live, config, op)?;
    let ty = Type::root(schema);
    walk::validate(ty, config, false).map_err(|e| {
        ApplyError::Invalid(format!(
            "failed to create typed patch object ({}): {e}",
            describe(config)
        ))
    })?;
    walk::validate(ty, &live, true).map_err(|e| {
        ApplyError::Invalid(format!(
            "failed to create typed live object ({}): {e}",
            describe(&live)
        ))
    })?;
    let live = without_managed_fields(&live);
    let updater = Updater { ty, reset, op };
    if managed.is_empty() {
        updater.update(
            &Value::Object(Map::new()),
            &live,
            &mut managed,
            BEFORE_FIRST_APPLY,
        );
    }
    let mut object = updater
        .apply(&live, config, &mut managed, force)
        .map_err(ApplyError::Conflicts)?;
    managed.write_to(&mut object);
    Ok(object)
}

/// `versionCheckManager` and `structuredMergeManager.Apply`'s checks.
fn check_config(live: &Value, config: &Value, op: &Operation) -> Result<(), ApplyError> {
    if !config.is_object() {
        return Err(ApplyError::Invalid(
            "the applied configuration must be an object".to_owned(),
        ));
    }
    let text = |object: &Value, field: &str| {
        object
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let kind = text(config, "kind");
    let live_kind = text(live, "kind");
    if text(config, "apiVersion") != op.api_version
        || kind.is_empty()
        || (!live_kind.is_empty() && kind != live_kind)
    {
        return Err(ApplyError::Invalid(format!(
            "invalid object type: {}",
            group_version_kind(config)
        )));
    }
    if config
        .pointer("/metadata/managedFields")
        .is_some_and(|m| !m.is_null())
    {
        return Err(ApplyError::Invalid(
            "metadata.managedFields must be nil".to_owned(),
        ));
    }
    Ok(())
}

/// Go's `GroupVersionKind.String()`: `apps/v1, Kind=Deployment`, `/v1, Kind=Pod`.
fn group_version_kind(object: &Value) -> String {
    let api_version = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    format!("{group}/{version}, Kind={kind}")
}

/// `objectGVKNN`: `namespace/name; apps/v1, Kind=Deployment`.
fn describe(object: &Value) -> String {
    let meta = |field: &str| {
        object
            .get("metadata")
            .and_then(|m| m.get(field))
            .and_then(Value::as_str)
            .unwrap_or("")
    };
    format!(
        "{}/{}; {}",
        meta("namespace"),
        meta("name"),
        group_version_kind(object)
    )
}
