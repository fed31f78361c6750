//! The generic store: every verb written once over `storage`, driven by each resource's
//! definition and strategy (k8s.io/apiserver `pkg/registry/generic/registry/store.go`).
//!
//! Objects are stored as JSON inside the [`Codec`] envelope, without `resourceVersion`: it is
//! the key's `mod_revision` and is set on every object read back.

use std::sync::{Arc, RwLock};

use bytes::Bytes;
use serde_json::Value;
use storage::{Codec, Codecs, KeyValue, Revision, Store};

use crate::admission::{Guarded, Writer};
use crate::delete;
use crate::errors::{ApiError, Result};
use crate::field::{go_quote, FieldError};
use crate::fieldmanager;
use crate::meta;
use crate::objectmeta;
use crate::pruning::{self, FieldValidation};
use crate::resource::Resource;
use crate::time;

/// How many names `generateName` tries before giving up on collisions.
const GENERATE_NAME_ATTEMPTS: usize = 8;

/// Reads and writes objects of any registered resource.
#[derive(Debug, Clone)]
pub struct GenericStore {
    store: Arc<dyn Store>,
    /// How each resource's values are sealed (encryption at rest); replaced when the
    /// encryption configuration is reloaded, shared by every clone.
    codecs: Arc<RwLock<Codecs>>,
    root: String,
}

/// Which part of an object an update writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subresource {
    /// The object (its `.status` is kept when the kind has a status subresource).
    Main,
    /// Only `.status`.
    Status,
}

/// The outcome of a write.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    pub object: Value,
    /// Warnings for the client.
    pub warnings: Vec<String>,
    /// The update removed the last finalizer of an object being deleted: it is gone (the
    /// response is still the object, as store.go `deleteWithoutFinalizers` returns it).
    pub deleted: bool,
}

/// Options of every write.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// What to do with fields the schema does not declare.
    pub field_validation: FieldValidation,
    /// `dryRun=All`: validate and default everything, store nothing.
    pub dry_run: bool,
    /// The field manager this write is recorded for in `metadata.managedFields` (an `Update`
    /// entry); `None` leaves managed fields as the object carries them (server-side apply has
    /// already recorded its `Apply` entry; in-process writers such as the garbage collector).
    pub manager: Option<String>,
    /// What strict decoding found in the request's body before the schema was consulted —
    /// its duplicate fields ([`crate::duplicates`]) — reported ahead of the unknown fields
    /// under `fieldValidation`.
    pub decoding_errors: Vec<String>,
    /// Where the object came from, which decides how strict decoding refuses it.
    pub decoded_from: DecodedFrom,
    /// Who writes, for the kind's [`crate::admission::WriteGuard`]; `None` for in-process
    /// writers, which are trusted.
    pub writer: Option<Arc<dyn Writer>>,
}

/// The request body an object was decoded from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DecodedFrom {
    /// The object itself (create, update): strict errors are 400 (`transformDecodeError`).
    #[default]
    Body,
    /// A JSON or merge patch applied to the stored object: strict errors are 422 on `patch`
    /// with the patched object (handlers/patch.go).
    Patch,
}

/// What a write by `manager` through `subresource` of `res` is to the field manager: the
/// fields its endpoint resets, and the operation recorded (now, in the resource's version).
pub fn field_operation(
    res: &Resource,
    subresource: Subresource,
    manager: &str,
) -> (fieldmanager::Reset, fieldmanager::Operation) {
    let reset = match subresource {
        Subresource::Status => fieldmanager::Reset::AllButStatus,
        Subresource::Main if res.def.status_subresource => fieldmanager::Reset::Status,
        Subresource::Main => fieldmanager::Reset::None,
    };
    let op = fieldmanager::Operation {
        manager: manager.to_owned(),
        api_version: res.def.api_version(),
        time: time::now(),
        subresource: (subresource == Subresource::Status).then(|| "status".to_owned()),
    };
    (reset, op)
}

/// Records an ordinary write in `new`'s managed fields (`fieldmanager::record_update`).
fn record_update(
    res: &Resource,
    subresource: Subresource,
    old: Option<&Value>,
    new: &mut Value,
    options: &WriteOptions,
) -> Result<()> {
    let Some(manager) = &options.manager else {
        return Ok(());
    };
    let (reset, op) = field_operation(res, subresource, manager);
    fieldmanager::record_update(res.def.schema.as_ref(), reset, old, new, &op)
        .map_err(|e| ApiError::bad_request(format!("failed to update managed fields: {e}")))
}

/// Drops undeclared fields from `obj`; refuses them and the body's duplicate fields under
/// `Strict`, else returns them as warnings (none under `Ignore`). Messages and order are the
/// custom resource handler's: duplicates in document order, then unknown `metadata` fields,
/// then the other unknown fields sorted.
fn check_fields(res: &Resource, obj: &mut Value, options: &WriteOptions) -> Result<Vec<String>> {
    let decoded = (options.field_validation == FieldValidation::Strict
        && options.decoded_from == DecodedFrom::Patch)
        .then(|| serde_json::to_string(&*obj).unwrap_or_default());
    let mut unknown = pruning::prune(obj, res.def.schema.as_ref());
    unknown.sort_by_key(|path| (!path.starts_with("metadata."), path.clone()));
    let messages: Vec<String> = options
        .decoding_errors
        .iter()
        .cloned()
        .chain(
            unknown
                .iter()
                .map(|field| format!("unknown field {}", go_quote(field))),
        )
        .collect();
    match options.field_validation {
        _ if messages.is_empty() => Ok(Vec::new()),
        FieldValidation::Strict => {
            let error = format!("strict decoding error: {}", messages.join(", "));
            Err(match decoded {
                // handlers/patch.go: an Invalid error of no kind and no name on `patch`.
                Some(patched) => ApiError::invalid(
                    "",
                    "",
                    "",
                    &[FieldError::invalid_raw(
                        "patch",
                        &go_quote(&patched),
                        &error,
                    )],
                ),
                // handlers/rest.go transformDecodeError.
                None => ApiError::bad_request(format!(
                    "{kind} in version {version} cannot be handled as a {kind}: {error}",
                    kind = res.def.kind,
                    version = go_quote(&res.def.version),
                )),
            })
        }
        FieldValidation::Warn => Ok(messages),
        FieldValidation::Ignore => Ok(Vec::new()),
    }
}

impl GenericStore {
    /// A store keeping objects under `root` (e.g. `/registry`).
    pub fn new(store: Arc<dyn Store>, codecs: impl Into<Codecs>, root: &str) -> Self {
        GenericStore {
            store,
            codecs: Arc::new(RwLock::new(codecs.into())),
            root: root.trim_end_matches('/').to_owned(),
        }
    }

    /// The underlying store (for health checks and watches).
    pub fn storage(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The prefix of every key this store writes.
    pub fn root_prefix(&self) -> String {
        format!("{}/", self.root)
    }

    /// The key prefix of a resource, or of its objects in one namespace.
    pub fn prefix(&self, res: &Resource, namespace: Option<&str>) -> String {
        let base = format!(
            "{}/{}/{}",
            self.root,
            res.def.storage_group(),
            res.def.plural
        );
        match namespace {
            Some(ns) if res.def.namespaced() => format!("{base}/{ns}/"),
            _ => format!("{base}/"),
        }
    }

    pub(crate) fn key(&self, res: &Resource, namespace: Option<&str>, name: &str) -> String {
        format!("{}{name}", self.prefix(res, namespace))
    }

    /// Seals values with `codecs` from now on (a reloaded encryption configuration).
    pub fn set_codecs(&self, codecs: Codecs) {
        *self.codecs.write().unwrap_or_else(|p| p.into_inner()) = codecs;
    }

    /// The codec of the resource a key belongs to: `ROOT/<group or core>/<plural>/…`.
    fn codec(&self, key: &str) -> Codec {
        let rest = key
            .strip_prefix(&self.root)
            .and_then(|rest| rest.strip_prefix('/'))
            .unwrap_or_default();
        let mut parts = rest.splitn(3, '/');
        let group = match parts.next().unwrap_or_default() {
            "core" => "",
            group => group,
        };
        let resource = parts.next().unwrap_or_default();
        let codecs = self.codecs.read().unwrap_or_else(|p| p.into_inner());
        codecs.codec(group, resource).clone()
    }

    /// Decodes a stored object and sets its `resourceVersion`.
    pub fn decode(&self, kv: &KeyValue) -> Result<Value> {
        self.decode_checked(kv).map(|(obj, _)| obj)
    }

    /// Decodes a stored object and says whether its value is stale: sealed otherwise than its
    /// resource's codec seals now (another key, or plain text where encryption is on).
    pub fn decode_checked(&self, kv: &KeyValue) -> Result<(Value, bool)> {
        let opened = self
            .codec(&kv.key)
            .open_checked(&kv.key, &kv.value)
            .map_err(|e| ApiError::internal(format!("decoding {}: {e}", kv.key)))?;
        let mut obj: Value = serde_json::from_slice(&opened.json)
            .map_err(|e| ApiError::internal(format!("decoding {}: {e}", kv.key)))?;
        meta::set(
            &mut obj,
            "resourceVersion",
            Some(Value::String(kv.mod_revision.to_string())),
        );
        Ok((obj, opened.stale))
    }

    pub(crate) fn encode(&self, key: &str, obj: &Value) -> Result<Bytes> {
        let mut stored = obj.clone();
        meta::set(&mut stored, "resourceVersion", None);
        let json = serde_json::to_vec(&stored).map_err(ApiError::internal)?;
        self.codec(key)
            .seal(key, &json)
            .map_err(|e| ApiError::internal(format!("encoding {key}: {e}")))
    }

    /// Reads one object.
    pub async fn get(&self, res: &Resource, namespace: Option<&str>, name: &str) -> Result<Value> {
        let gr = res.def.group_resource();
        let kv = self
            .store
            .get(&self.key(res, namespace, name))
            .await
            .map_err(|e| ApiError::from_storage(e, &gr, name))?;
        self.decode(&kv)
    }

    /// Creates an object in `namespace` (ignored for cluster-scoped resources). The caller
    /// has checked that the body's namespace, if any, matches.
    pub async fn create(
        &self,
        res: &Resource,
        namespace: Option<&str>,
        mut obj: Value,
        options: &WriteOptions,
    ) -> Result<Written> {
        let namespace = res.def.scoped(namespace);
        let field_warnings = check_fields(res, &mut obj, options)?;
        guard(res, namespace, &obj, None, options).await?;
        prepare_new_metadata(res, namespace, &mut obj);
        res.strategy.prepare_for_create(&mut obj);
        res.strategy.default(&mut obj);
        record_update(res, Subresource::Main, None, &mut obj, options)?;
        let generate = meta::name(&obj).is_none();
        let base = meta::get(&obj, "generateName").map(str::to_owned);
        for _ in 0..GENERATE_NAME_ATTEMPTS {
            if generate {
                if let Some(base) = &base {
                    meta::set(
                        &mut obj,
                        "name",
                        Some(Value::String(meta::generate_name(base))),
                    );
                }
            }
            self.validate_create(res, namespace, &obj).await?;
            let name = meta::name(&obj).unwrap_or_default().to_owned();
            let key = self.key(res, namespace, &name);
            let value = self.encode(&key, &obj)?;
            if options.dry_run {
                // Everything but the write: the name must still be free.
                return match self.store.get(&key).await {
                    Ok(_) if generate => continue,
                    Ok(_) => Err(ApiError::already_exists(&res.def.group_resource(), &name)),
                    Err(storage::Error::NotFound { .. }) => {
                        let mut warnings = field_warnings;
                        warnings.extend(warnings_on_create(res, &obj));
                        Ok(Written {
                            object: obj,
                            warnings,
                            deleted: false,
                        })
                    }
                    Err(e) => Err(ApiError::from_storage(e, &res.def.group_resource(), &name)),
                };
            }
            match self.store.create(&key, value).await {
                Ok(revision) => {
                    set_resource_version(&mut obj, revision);
                    let mut warnings = field_warnings;
                    warnings.extend(warnings_on_create(res, &obj));
                    return Ok(Written {
                        object: obj,
                        warnings,
                        deleted: false,
                    });
                }
                Err(storage::Error::AlreadyExists { .. }) if generate => continue,
                Err(e) => return Err(ApiError::from_storage(e, &res.def.group_resource(), &name)),
            }
        }
        let name = meta::name(&obj).unwrap_or_default().to_owned();
        Err(ApiError::name_generation_failed(
            &res.def.group_resource(),
            &name,
        ))
    }

    async fn validate_create(
        &self,
        res: &Resource,
        namespace: Option<&str>,
        obj: &Value,
    ) -> Result<()> {
        let mut errors = validate_new_metadata(res, obj);
        errors.extend(res.strategy.validate(obj));
        // Admission reads other objects: only for objects valid on their own (upstream's
        // validating admission runs after validation passed).
        if errors.is_empty() {
            errors.extend(self.admit(res, namespace, obj, None).await);
        }
        self.invalid_if_any(res, obj, errors)
    }

    /// The kind's admission checks (none for most kinds).
    async fn admit(
        &self,
        res: &Resource,
        namespace: Option<&str>,
        new: &Value,
        old: Option<&Value>,
    ) -> Vec<FieldError> {
        match res.strategy.admission() {
            None => Vec::new(),
            Some(admission) => {
                let request = crate::admission::Request {
                    store: self,
                    namespace,
                    new,
                    old,
                };
                admission.admit(&request).await
            }
        }
    }

    fn invalid_if_any(&self, res: &Resource, obj: &Value, errors: Vec<FieldError>) -> Result<()> {
        if errors.is_empty() {
            return Ok(());
        }
        let name = meta::name(obj).unwrap_or_default();
        Err(ApiError::invalid(
            &res.def.kind,
            &res.def.group,
            name,
            &errors,
        ))
    }

    /// Replaces an object (or its status). The caller has checked that the body names the
    /// object of the URL. `metadata.resourceVersion` is required and must be current.
    pub async fn update(
        &self,
        res: &Resource,
        namespace: Option<&str>,
        name: &str,
        mut obj: Value,
        subresource: Subresource,
        options: &WriteOptions,
    ) -> Result<Written> {
        let namespace = res.def.scoped(namespace);
        let gr = res.def.group_resource();
        let mut warnings = check_fields(res, &mut obj, options)?;
        let key = self.key(res, namespace, name);
        let current = self
            .store
            .get(&key)
            .await
            .map_err(|e| ApiError::from_storage(e, &gr, name))?;
        let (old, stale) = self.decode_checked(&current)?;
        if subresource == Subresource::Main {
            guard(res, namespace, &obj, Some(&old), options).await?;
        }
        check_resource_version(res, &obj, current.mod_revision, name)?;
        check_uid(res, &obj, &old, name)?;
        let mut errors = Vec::new();
        match subresource {
            Subresource::Main => {
                keep_immutable_metadata(&mut obj, &old);
                if res.def.status_subresource {
                    copy_field(&mut obj, &old, "status");
                }
                res.strategy.prepare_for_update(&mut obj, &old);
                res.strategy.default(&mut obj);
                record_update(res, subresource, Some(&old), &mut obj, options)?;
                errors.extend(validate_metadata_update(res, &obj, &old));
                errors.extend(res.strategy.validate(&obj));
                errors.extend(res.strategy.validate_update(&obj, &old));
                if errors.is_empty() {
                    errors.extend(self.admit(res, namespace, &obj, Some(&old)).await);
                }
                if spec_changed(&obj, &old) {
                    let generation = old["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
                    meta::set(&mut obj, "generation", Some(Value::from(generation)));
                }
            }
            Subresource::Status => {
                let mut next = old.clone();
                copy_field(&mut next, &obj, "status");
                // Managed fields travel with the status write (they say who wrote it).
                if let Some(managed) = obj["metadata"].get("managedFields").cloned() {
                    next["metadata"]["managedFields"] = managed;
                }
                record_update(res, subresource, Some(&old), &mut next, options)?;
                obj = next;
                errors.extend(validate_metadata_update(res, &obj, &old));
                errors.extend(res.strategy.validate_status_update(&obj, &old));
            }
        }
        self.invalid_if_any(res, &obj, errors)?;
        if subresource == Subresource::Main {
            warnings.extend(finalizer_warnings(res, &obj, Some(&old)));
            warnings.extend(res.strategy.warnings_on_update(&obj, &old));
        }
        set_resource_version(&mut obj, current.mod_revision);
        if obj == old && !stale {
            // Nothing changed: no write, the resourceVersion stays (as in GuaranteedUpdate,
            // which writes a stale value anyway, to move it to the current key).
            return Ok(Written {
                object: old,
                warnings,
                deleted: false,
            });
        }
        if delete::is_deleting(&obj) && delete::finalizers(&obj).is_empty() {
            // The last finalizer is gone: the object is deleted instead of written.
            if !options.dry_run {
                self.store
                    .delete(&key, Some(current.mod_revision))
                    .await
                    .map_err(|e| ApiError::from_storage(e, &gr, name))?;
            }
            return Ok(Written {
                object: obj,
                warnings,
                deleted: true,
            });
        }
        let value = self.encode(&key, &obj)?;
        if options.dry_run {
            return Ok(Written {
                object: obj,
                warnings,
                deleted: false,
            });
        }
        let revision = self
            .store
            .update(&key, value, current.mod_revision)
            .await
            .map_err(|e| ApiError::from_storage(e, &gr, name))?;
        set_resource_version(&mut obj, revision);
        Ok(Written {
            object: obj,
            warnings,
            deleted: false,
        })
    }
}

pub(crate) fn set_resource_version(obj: &mut Value, revision: Revision) {
    meta::set(
        obj,
        "resourceVersion",
        Some(Value::String(revision.to_string())),
    );
}

/// The kind's check of the writer's authority over `new` (replacing `old`), if the kind has
/// one and the write names a writer.
async fn guard(
    res: &Resource,
    namespace: Option<&str>,
    new: &Value,
    old: Option<&Value>,
    options: &WriteOptions,
) -> Result<()> {
    let (Some(guard), Some(writer)) = (res.strategy.write_guard(), options.writer.as_deref())
    else {
        return Ok(());
    };
    let write = Guarded {
        def: &res.def,
        namespace,
        new,
        old,
        writer,
    };
    guard.check(&write).await
}

/// The metadata the server owns on create (k8s.io/apiserver `rest.BeforeCreate`).
fn prepare_new_metadata(res: &Resource, namespace: Option<&str>, obj: &mut Value) {
    let namespace = namespace.map(|ns| Value::String(ns.to_owned()));
    meta::set(obj, "namespace", namespace);
    meta::set(obj, "uid", Some(Value::String(meta::new_uid())));
    meta::set(obj, "creationTimestamp", Some(Value::String(time::now())));
    meta::set(obj, "generation", Some(Value::from(1)));
    for cleared in [
        "resourceVersion",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
    ] {
        meta::set(obj, cleared, None);
    }
    if res.def.status_subresource {
        if let Some(map) = obj.as_object_mut() {
            map.remove("status");
        }
    }
}

/// The metadata checks of a create: `ValidateObjectMetaAccessor` with the kind's name rules
/// (as `customResourceValidator.Validate` runs it). A `generateName` is checked by the same
/// rules once its trailing `-` is masked (`NameIsDNSSubdomain(name, prefix)`).
fn validate_new_metadata(res: &Resource, obj: &Value) -> Vec<FieldError> {
    let name_fn = |name: &str, prefix: bool| match prefix {
        true => res.strategy.validate_name(&meta::mask_trailing_dash(name)),
        false => res.strategy.validate_name(name),
    };
    let mut errors = objectmeta::validate(obj, res.def.namespaced(), &name_fn);
    if res.def.built_in() {
        errors.extend(objectmeta::kube_finalizer_names(obj));
    }
    errors
}

/// The metadata checks of an update, as often and in the order kube-apiserver 1.33 runs them:
/// `rest.BeforeUpdate`'s `validateCommonFields` (`ValidateObjectMetaAccessor` with path-segment
/// names, then `ValidateObjectMetaAccessorUpdate`), then the kind's `ValidateUpdate` — for a
/// custom resource `ValidateObjectMetaAccessorUpdate` once more (a bad label is three causes),
/// for a built-in kind its `ValidateX` and `ValidateXUpdate`, which runs `ValidateX` again
/// before `ValidateObjectMetaUpdate` (five causes; kubernetes#132550 dropped the repeat after
/// 1.33). The 422's message (`ToAggregate`) lists each error once.
fn validate_metadata_update(res: &Resource, new: &Value, old: &Value) -> Vec<FieldError> {
    let name_fn = objectmeta::path_segment_name;
    let mut errors = objectmeta::validate(new, res.def.namespaced(), &name_fn);
    let update = objectmeta::validate_update(new, old);
    errors.extend(update.iter().cloned());
    if res.def.built_in() {
        let own = validate_new_metadata(res, new);
        errors.extend(own.iter().cloned());
        errors.extend(own);
    }
    errors.extend(update);
    errors
}

/// The warnings of a create: finalizers, then the kind's.
fn warnings_on_create(res: &Resource, obj: &Value) -> Vec<String> {
    let mut warnings = finalizer_warnings(res, obj, None);
    warnings.extend(res.strategy.warnings_on_create(obj));
    warnings
}

/// Warnings about the finalizers a write adds, which kube-apiserver gives custom resources
/// (apiextensions-apiserver's customresource strategy) and no built-in kind.
fn finalizer_warnings(res: &Resource, new: &Value, old: Option<&Value>) -> Vec<String> {
    if res.def.built_in() {
        return Vec::new();
    }
    objectmeta::finalizer_warnings(new, old)
}

/// The resourceVersion precondition of an update.
fn check_resource_version(
    res: &Resource,
    obj: &Value,
    current: Revision,
    name: &str,
) -> Result<()> {
    match meta::resource_version(obj) {
        // Upstream builds this error from the plural resource (store.go), not the Kind.
        None => Err(ApiError::invalid(
            &res.def.plural,
            &res.def.group,
            name,
            &[FieldError::invalid_raw(
                "metadata.resourceVersion",
                "0x0",
                "must be specified for an update",
            )],
        )),
        Some(rv) if rv.parse::<Revision>().ok() == Some(current) => Ok(()),
        Some(_) => Err(ApiError::modified(&res.def.group_resource(), name)),
    }
}

/// A uid in the body is a precondition: a different one is a conflict (as the storage UID
/// precondition of kube-apiserver's update makes it).
fn check_uid(res: &Resource, obj: &Value, old: &Value, name: &str) -> Result<()> {
    match (meta::get(obj, "uid"), meta::get(old, "uid")) {
        (Some(new_uid), Some(old_uid)) if new_uid != old_uid => Err(ApiError::conflict(
            &res.def.group_resource(),
            name,
            &format!("Precondition failed: UID in precondition: {new_uid}, UID in object meta: {old_uid}"),
        )),
        _ => Ok(()),
    }
}

/// Resets server-owned metadata to the old object's (k8s.io/apiserver `rest.BeforeUpdate`). A
/// `deletionTimestamp` is kept once set, a `deletionGracePeriodSeconds` when the body has
/// none; setting either otherwise is left to validation to refuse (`field is immutable`).
fn keep_immutable_metadata(obj: &mut Value, old: &Value) {
    let old_field = |field: &str| {
        old.get("metadata")
            .and_then(|m| m.get(field))
            .filter(|v| !v.is_null())
            .cloned()
    };
    for field in [
        "uid",
        "creationTimestamp",
        "generation",
        "namespace",
        "name",
        "selfLink",
    ] {
        meta::set(obj, field, old_field(field));
    }
    for field in ["deletionTimestamp", "deletionGracePeriodSeconds"] {
        let new = obj.get("metadata").and_then(|m| m.get(field));
        if new.is_some_and(Value::is_null) {
            meta::set(obj, field, None);
        }
    }
    if delete::is_deleting(old) {
        meta::set(obj, "deletionTimestamp", old_field("deletionTimestamp"));
    }
    let grace = obj
        .get("metadata")
        .and_then(|m| m.get("deletionGracePeriodSeconds"));
    if grace.is_none() {
        meta::set(
            obj,
            "deletionGracePeriodSeconds",
            old_field("deletionGracePeriodSeconds"),
        );
    }
}

/// Sets `obj[field]` to `from[field]`, removing it when `from` has none.
fn copy_field(obj: &mut Value, from: &Value, field: &str) {
    let value = from.get(field).cloned();
    if let Some(map) = obj.as_object_mut() {
        match value {
            Some(v) => {
                map.insert(field.into(), v);
            }
            None => {
                map.remove(field);
            }
        }
    }
}

/// Whether anything outside `metadata` and `status` differs.
fn spec_changed(new: &Value, old: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(map) = v.as_object_mut() {
            map.remove("metadata");
            map.remove("status");
        }
        v
    };
    strip(new) != strip(old)
}

#[cfg(test)]
mod encryption_tests;
