//! Validation of `metadata` on create and update, with Kubernetes v1.33's rules, order and
//! messages.
//!
//! Followed at k8s.io/apimachinery v0.33.0 (Kubernetes v1.33.0; these files are unchanged
//! through v0.33.13): `pkg/api/validation/objectmeta.go` (`ValidateObjectMetaAccessor`,
//! `ValidateObjectMetaAccessorUpdate`, annotations, owner references, finalizers),
//! `pkg/api/validation/generic.go` (name functions, `maskTrailingDash`),
//! `pkg/apis/meta/v1/validation/validation.go` (`ValidateLabels`, `ValidateManagedFields`,
//! `ValidateFieldManager`), `pkg/util/validation/validation.go` (in [`crate::meta`]) and
//! `pkg/util/validation/field/errors.go` (how values print). Who calls what, and how often:
//! k8s.io/apiserver v0.33.0 `pkg/registry/rest/{create,update}.go` and
//! k8s.io/apiextensions-apiserver v0.33.0 `pkg/registry/customresource/{validator,strategy}.go`.
//!
//! Maps (labels, annotations) are checked in key order; Go visits them in random order.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::delete;
use crate::field::{go_quote, go_strings, FieldError};
use crate::meta;
use crate::time;

/// Upstream `TotalAnnotationSizeLimitB`: 256 KiB of keys and values.
pub const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;
/// Upstream `FieldManagerMaxLength`.
pub const FIELD_MANAGER_MAX_LENGTH: usize = 128;
/// Upstream `MaxSubresourceNameLength`.
const MAX_SUBRESOURCE_NAME_LENGTH: usize = 256;
/// Upstream `FieldImmutableErrorMsg`.
const IMMUTABLE: &str = "field is immutable";
/// Finalizers of the API machinery itself (`orphan`, `foregroundDeletion`, and `kubernetes`
/// of namespaces): no domain needed.
const STANDARD_FINALIZERS: &[&str] = &[delete::ORPHAN, delete::FOREGROUND, "kubernetes"];

/// Upstream `ValidateNameFunc`: the problems of a name, or with `prefix` of a `generateName`
/// (to which a random suffix is appended).
pub type NameFn<'a> = &'a dyn Fn(&str, bool) -> Vec<String>;

/// Upstream `path.ValidatePathSegmentName`: the name rules every update checks
/// (`rest.BeforeUpdate` → `validateCommonFields`), whatever the kind's own rules.
pub fn path_segment_name(name: &str, prefix: bool) -> Vec<String> {
    if prefix {
        meta::path_segment_prefix_problems(name)
    } else {
        meta::path_segment_problems(name)
    }
}

/// `ValidateObjectMetaAccessor`: the metadata of an object to be stored, in upstream's order —
/// generateName, name, namespace, generation, labels, annotations, ownerReferences,
/// finalizers, managedFields.
pub fn validate(obj: &Value, requires_namespace: bool, name_fn: NameFn<'_>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Some(generate_name) = meta::get(obj, "generateName") {
        for problem in name_fn(generate_name, true) {
            errors.push(invalid_string(
                "metadata.generateName",
                generate_name,
                &problem,
            ));
        }
    }
    match meta::name(obj) {
        None => errors.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        )),
        Some(name) => {
            for problem in name_fn(name, false) {
                errors.push(invalid_string("metadata.name", name, &problem));
            }
        }
    }
    match (requires_namespace, meta::namespace(obj)) {
        (true, None) => errors.push(FieldError::required("metadata.namespace", "")),
        (true, Some(ns)) => {
            for problem in meta::dns1123_label_problems(ns) {
                errors.push(invalid_string("metadata.namespace", ns, &problem));
            }
        }
        (false, Some(_)) => errors.push(FieldError::forbidden(
            "metadata.namespace",
            "not allowed on this type",
        )),
        (false, None) => {}
    }
    if generation(obj) < 0 {
        errors.push(FieldError::invalid_raw(
            "metadata.generation",
            &generation(obj).to_string(),
            "must be greater than or equal to 0",
        ));
    }
    errors.extend(validate_labels(obj));
    errors.extend(validate_annotations(obj));
    errors.extend(validate_owner_references(obj));
    errors.extend(validate_finalizers(obj));
    errors.extend(validate_managed_fields(obj));
    errors
}

/// `ValidateObjectMetaAccessorUpdate`: what an update may not change, and the maps and lists
/// of the new metadata again (finalizer names excepted, as upstream).
pub fn validate_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if delete::is_deleting(old) {
        errors.extend(no_new_finalizers(new, old));
    }
    if meta::resource_version(new).is_none() {
        errors.push(invalid_string(
            "metadata.resourceVersion",
            "",
            "must be specified for an update",
        ));
    }
    if generation(new) < generation(old) {
        errors.push(FieldError::invalid_raw(
            "metadata.generation",
            &generation(new).to_string(),
            "must not be decremented",
        ));
    }
    for field in ["name", "namespace", "uid"] {
        let value = meta::get(new, field).unwrap_or_default();
        if value != meta::get(old, field).unwrap_or_default() {
            errors.push(invalid_string(
                &format!("metadata.{field}"),
                value,
                IMMUTABLE,
            ));
        }
    }
    let created = Timestamp::of(new, "creationTimestamp");
    if created != Timestamp::of(old, "creationTimestamp") {
        // A `metav1.Time` value: a missing one prints as Go's zero time.
        let printed = created.map_or_else(|| GO_ZERO_TIME.to_owned(), |t| t.go_string());
        errors.push(FieldError::invalid_raw(
            "metadata.creationTimestamp",
            &printed,
            IMMUTABLE,
        ));
    }
    let deleting = Timestamp::of(new, "deletionTimestamp");
    if deleting != Timestamp::of(old, "deletionTimestamp") {
        // A `*metav1.Time`: nil prints as "null".
        let printed = deleting.map_or_else(|| go_quote("null"), |t| t.go_string());
        errors.push(FieldError::invalid_raw(
            "metadata.deletionTimestamp",
            &printed,
            IMMUTABLE,
        ));
    }
    let grace = grace_period(new);
    if grace != grace_period(old) {
        let printed = grace.map_or_else(|| go_quote("null"), |g| g.to_string());
        errors.push(FieldError::invalid_raw(
            "metadata.deletionGracePeriodSeconds",
            &printed,
            IMMUTABLE,
        ));
    }
    errors.extend(validate_labels(new));
    errors.extend(validate_annotations(new));
    errors.extend(validate_owner_references(new));
    errors.extend(validate_managed_fields(new));
    errors
}

/// What k8s.io/kubernetes `pkg/apis/core/validation` `ValidateObjectMeta` adds for built-in
/// kinds (`validateKubeFinalizerName`): a finalizer without a `/` must be a standard one.
pub fn kube_finalizer_names(obj: &Value) -> Vec<FieldError> {
    finalizers(obj)
        .iter()
        .enumerate()
        .filter(|(_, f)| !f.contains('/') && !STANDARD_FINALIZERS.contains(&f.as_str()))
        .map(|(i, f)| {
            invalid_string(
                &format!("metadata.finalizers[{i}]"),
                f,
                "name is neither a standard finalizer name nor is it fully qualified",
            )
        })
        .collect()
}

/// The warnings about finalizers `new` adds to `old` (all of them on create) that custom
/// resources get (apiextensions-apiserver `customresource` `validateKubeFinalizerName`):
/// malformed names, and names without a domain and path.
pub fn finalizer_warnings(new: &Value, old: Option<&Value>) -> Vec<String> {
    let before: BTreeSet<String> = old
        .map(finalizers)
        .unwrap_or_default()
        .into_iter()
        .collect();
    let added: BTreeSet<String> = finalizers(new)
        .into_iter()
        .filter(|f| !before.contains(f))
        .collect();
    let mut warnings = Vec::new();
    for finalizer in &added {
        let quoted = go_quote(finalizer);
        for problem in meta::qualified_name_problems(finalizer) {
            warnings.push(format!("metadata.finalizers: {quoted}: {problem}"));
        }
        if finalizer.contains('/') || STANDARD_FINALIZERS.contains(&finalizer.as_str()) {
            continue;
        }
        let advice = if finalizer.contains('.') {
            "prefer a domain-qualified finalizer name including a path (/) to avoid accidental \
             conflicts with other finalizer writers"
        } else {
            "prefer a domain-qualified finalizer name to avoid accidental conflicts with other \
             finalizer writers"
        };
        warnings.push(format!("metadata.finalizers: {quoted}: {advice}"));
    }
    warnings
}

/// `ValidateLabels`: keys are qualified names, values label values; every error at
/// `metadata.labels`.
fn validate_labels(obj: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (key, value) in string_map(obj, "labels") {
        for problem in meta::qualified_name_problems(key) {
            errors.push(invalid_string("metadata.labels", key, &problem));
        }
        for problem in meta::label_value_problems(value) {
            errors.push(invalid_string("metadata.labels", value, &problem));
        }
    }
    errors
}

/// `ValidateAnnotations`: keys are qualified names in any case; keys and values together at
/// most 256 KiB.
fn validate_annotations(obj: &Value) -> Vec<FieldError> {
    let annotations = string_map(obj, "annotations");
    let mut errors = Vec::new();
    for (key, _) in &annotations {
        for problem in meta::qualified_name_problems(&key.to_lowercase()) {
            errors.push(invalid_string("metadata.annotations", key, &problem));
        }
    }
    let size: usize = annotations.iter().map(|(k, v)| k.len() + v.len()).sum();
    if size > TOTAL_ANNOTATION_SIZE_LIMIT {
        errors.push(FieldError::too_long(
            "metadata.annotations",
            TOTAL_ANNOTATION_SIZE_LIMIT,
        ));
    }
    errors
}

/// One entry of `metadata.ownerReferences`, read as `Unstructured.GetOwnerReferences` reads it
/// (fields of the wrong type are empty).
struct OwnerReference<'a> {
    api_version: &'a str,
    kind: &'a str,
    name: &'a str,
    uid: &'a str,
    controller: Option<bool>,
    block_owner_deletion: Option<bool>,
}

impl<'a> OwnerReference<'a> {
    fn read(entry: &'a Map<String, Value>) -> Self {
        let text = |f: &str| entry.get(f).and_then(Value::as_str).unwrap_or_default();
        OwnerReference {
            api_version: text("apiVersion"),
            kind: text("kind"),
            name: text("name"),
            uid: text("uid"),
            controller: entry.get("controller").and_then(Value::as_bool),
            block_owner_deletion: entry.get("blockOwnerDeletion").and_then(Value::as_bool),
        }
    }

    /// `schema.FromAPIVersionAndKind(apiVersion, kind).Version`: empty for `""`, `"/"`,
    /// `"group/"` and anything with two slashes.
    fn version(&self) -> &str {
        match self.api_version.split('/').collect::<Vec<_>>()[..] {
            [version] => version,
            [_, version] => version,
            _ => "",
        }
    }

    /// Go's `%#v` of a `metav1.OwnerReference`. A set `*bool` prints as its address, which
    /// differs on every request upstream; a fixed one stands in for it here.
    fn go_syntax(&self) -> String {
        let pointer = |b: Option<bool>| match b {
            Some(_) => "(*bool)(0xc000000000)",
            None => "(*bool)(nil)",
        };
        format!(
            "v1.OwnerReference{{APIVersion:{}, Kind:{}, Name:{}, UID:{}, Controller:{}, \
             BlockOwnerDeletion:{}}}",
            go_quote(self.api_version),
            go_quote(self.kind),
            go_quote(self.name),
            go_quote(self.uid),
            pointer(self.controller),
            pointer(self.block_owner_deletion),
        )
    }
}

/// `ValidateOwnerReferences`: apiVersion (with a version), kind, name and uid set; no Event
/// owner; at most one controller. Errors are at the list's path, not the entry's, as
/// upstream reports them.
fn validate_owner_references(obj: &Value) -> Vec<FieldError> {
    const PATH: &str = "metadata.ownerReferences";
    let references = owner_references(obj);
    let mut errors = Vec::new();
    let mut first_controller: Option<String> = None;
    for reference in &references {
        let required = [
            (
                "apiVersion",
                reference.version(),
                reference.api_version,
                "version",
            ),
            ("kind", reference.kind, reference.kind, "kind"),
            ("name", reference.name, reference.name, "name"),
            ("uid", reference.uid, reference.uid, "uid"),
        ];
        for (field, checked, printed, what) in required {
            if checked.is_empty() {
                errors.push(invalid_string(
                    &format!("{PATH}.{field}"),
                    printed,
                    &format!("{what} must not be empty"),
                ));
            }
        }
        // `BannedOwners`: core/v1 Event.
        let core_v1 = matches!(reference.api_version, "v1" | "/v1");
        if core_v1 && reference.kind == "Event" {
            errors.push(FieldError::invalid_raw(
                PATH,
                &reference.go_syntax(),
                "/v1, Kind=Event is disallowed from being an owner",
            ));
        }
        if reference.controller == Some(true) {
            let current = format!("{}/{}", reference.kind, reference.name);
            match &first_controller {
                Some(first) => {
                    let all: Vec<String> =
                        references.iter().map(OwnerReference::go_syntax).collect();
                    errors.push(FieldError::invalid_raw(
                        PATH,
                        &format!("[]v1.OwnerReference{{{}}}", all.join(", ")),
                        &format!(
                            "Only one reference can have Controller set to true. Found \"true\" \
                             in references for {first} and {current}"
                        ),
                    ));
                }
                None => first_controller = Some(current),
            }
        }
    }
    errors
}

/// `ValidateFinalizers`: every name qualified; not both `orphan` and `foregroundDeletion`.
/// Duplicates are allowed (v1.33 neither refuses nor warns about them).
fn validate_finalizers(obj: &Value) -> Vec<FieldError> {
    const PATH: &str = "metadata.finalizers";
    let finalizers = finalizers(obj);
    let mut errors = Vec::new();
    for finalizer in &finalizers {
        for problem in meta::qualified_name_problems(finalizer) {
            errors.push(invalid_string(PATH, finalizer, &problem));
        }
    }
    let has = |f: &str| finalizers.iter().any(|x| x == f);
    if has(delete::ORPHAN) && has(delete::FOREGROUND) {
        errors.push(FieldError::invalid_raw(
            PATH,
            &go_strings(&finalizers),
            &format!(
                "finalizer {} and {} cannot be both set",
                delete::ORPHAN,
                delete::FOREGROUND
            ),
        ));
    }
    errors
}

/// `ValidateNoNewFinalizers`: while an object is being deleted no finalizer may be added. The
/// new ones are listed sorted, once each (a Go string set).
fn no_new_finalizers(new: &Value, old: &Value) -> Option<FieldError> {
    let before = finalizers(old);
    let added: BTreeSet<String> = finalizers(new)
        .into_iter()
        .filter(|f| !before.contains(f))
        .collect();
    if added.is_empty() {
        return None;
    }
    let added: Vec<String> = added.into_iter().collect();
    Some(FieldError::forbidden(
        "metadata.finalizers",
        &format!(
            "no new finalizers can be added if the object is being deleted, found new finalizers {}",
            go_strings(&added)
        ),
    ))
}

/// `ValidateManagedFields`: operation `Apply` or `Update`, fieldsType `FieldsV1` (or empty),
/// a manager of at most 128 printable characters, a subresource of at most 256 bytes.
fn validate_managed_fields(obj: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (i, entry) in managed_fields(obj).iter().enumerate() {
        let path = format!("metadata.managedFields[{i}]");
        let text = |f: &str| entry.get(f).and_then(Value::as_str).unwrap_or_default();
        let operation = text("operation");
        if !matches!(operation, "Apply" | "Update") {
            errors.push(invalid_string(
                &format!("{path}.operation"),
                operation,
                "must be `Apply` or `Update`",
            ));
        }
        let fields_type = text("fieldsType");
        if !fields_type.is_empty() && fields_type != "FieldsV1" {
            errors.push(invalid_string(
                &format!("{path}.fieldsType"),
                fields_type,
                "must be `FieldsV1`",
            ));
        }
        errors.extend(validate_field_manager(
            text("manager"),
            &format!("{path}.manager"),
        ));
        if text("subresource").len() > MAX_SUBRESOURCE_NAME_LENGTH {
            errors.push(FieldError::too_long(
                &format!("{path}.subresource"),
                MAX_SUBRESOURCE_NAME_LENGTH,
            ));
        }
    }
    errors
}

/// `ValidateFieldManager`: at most 128 bytes, every character printable (`unicode.IsPrint`).
pub fn validate_field_manager(manager: &str, path: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if manager.len() > FIELD_MANAGER_MAX_LENGTH {
        errors.push(FieldError::too_long(path, FIELD_MANAGER_MAX_LENGTH));
    }
    for (at, c) in manager.char_indices() {
        if !go_prints(c) {
            errors.push(invalid_string(
                path,
                manager,
                &format!(
                    "invalid character U+{:04X} (at position {at})",
                    u32::from(c)
                ),
            ));
        }
    }
    errors
}

/// Go's `unicode.IsPrint`, which is `strconv.IsPrint`: exactly the characters `%q` leaves
/// unescaped (the quote and the backslash aside).
fn go_prints(c: char) -> bool {
    matches!(c, '"' | '\\') || go_quote(c.encode_utf8(&mut [0; 4])).len() == c.len_utf8() + 2
}

/// `field.Invalid(path, value, detail)` for a string value (printed with `%q`).
fn invalid_string(path: &str, value: &str, detail: &str) -> FieldError {
    FieldError::invalid_raw(path, &go_quote(value), detail)
}

/// A string map of `metadata`, as `Unstructured` reads it: nothing when any value is not a
/// string.
fn string_map<'a>(obj: &'a Value, field: &str) -> Vec<(&'a String, &'a str)> {
    let Some(map) = obj["metadata"].get(field).and_then(Value::as_object) else {
        return Vec::new();
    };
    map.iter()
        .map(|(k, v)| v.as_str().map(|v| (k, v)))
        .collect::<Option<Vec<_>>>()
        .unwrap_or_default()
}

/// A list of `metadata` as `Unstructured`'s accessors read it: every entry as `entry` reads
/// it, or nothing when any entry is not of its type.
fn metadata_list<'a, T>(
    obj: &'a Value,
    field: &str,
    entry: impl Fn(&'a Value) -> Option<T>,
) -> Vec<T> {
    obj["metadata"][field]
        .as_array()
        .and_then(|list| list.iter().map(entry).collect::<Option<Vec<_>>>())
        .unwrap_or_default()
}

/// `metadata.finalizers` (`Unstructured.GetFinalizers`).
fn finalizers(obj: &Value) -> Vec<String> {
    metadata_list(obj, "finalizers", |f| f.as_str().map(str::to_owned))
}

/// `metadata.ownerReferences`.
fn owner_references(obj: &Value) -> Vec<OwnerReference<'_>> {
    metadata_list(obj, "ownerReferences", |r| {
        r.as_object().map(OwnerReference::read)
    })
}

/// `metadata.managedFields`.
fn managed_fields(obj: &Value) -> Vec<&Map<String, Value>> {
    metadata_list(obj, "managedFields", Value::as_object)
}

fn generation(obj: &Value) -> i64 {
    obj["metadata"]["generation"].as_i64().unwrap_or(0)
}

fn grace_period(obj: &Value) -> Option<i64> {
    obj["metadata"]["deletionGracePeriodSeconds"].as_i64()
}

/// `time.Time{}.String()`.
const GO_ZERO_TIME: &str = "0001-01-01 00:00:00 +0000 UTC";

/// A `metav1.Time` of `metadata`: compared as instants (`Semantic.DeepEqual`), printed as Go
/// prints a `time.Time` in a server running in UTC. Text that is no RFC 3339 time compares
/// and prints as itself.
#[derive(Debug, PartialEq)]
enum Timestamp {
    At { seconds: i64, fraction: String },
    Unparsed(String),
}

impl Timestamp {
    fn of(obj: &Value, field: &str) -> Option<Self> {
        let text = meta::get(obj, field)?;
        Some(match time::parse_time(text) {
            Some(seconds) => Timestamp::At {
                seconds,
                fraction: fraction(text),
            },
            None => Timestamp::Unparsed(text.to_owned()),
        })
    }

    /// `time.Time.String()`: `2006-01-02 15:04:05.999999999 +0000 UTC` (a `fmt.Stringer`,
    /// so unquoted in field errors).
    fn go_string(&self) -> String {
        match self {
            Timestamp::At { seconds, fraction } => {
                let rfc3339 = time::format_time(*seconds);
                let (date, time) = rfc3339.trim_end_matches('Z').split_at(10);
                format!("{date} {}{fraction} +0000 UTC", &time[1..])
            }
            Timestamp::Unparsed(text) => go_quote(text),
        }
    }
}

/// The fractional seconds of an RFC 3339 time as Go prints them (`.5`; empty for none).
fn fraction(text: &str) -> String {
    let Some(rest) = text.get(19..).and_then(|r| r.strip_prefix('.')) else {
        return String::new();
    };
    let digits: String = rest
        .chars()
        .take_while(char::is_ascii_digit)
        .take(9)
        .collect();
    let digits = digits.trim_end_matches('0');
    if digits.is_empty() {
        String::new()
    } else {
        format!(".{digits}")
    }
}

#[cfg(test)]
mod store_tests;
#[cfg(test)]
mod tests;
