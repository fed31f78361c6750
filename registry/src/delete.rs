//! Delete with Kubernetes' semantics (k8s.io/apiserver `pkg/registry/generic/registry/store.go`
//! `Delete`, `DeleteCollection`): preconditions, propagation policies, and graceful deletion
//! through finalizers — an object with finalizers gets a `deletionTimestamp` and stays until
//! the last finalizer is removed.

use serde_json::Value;
use storage::Revision;

use crate::errors::{ApiError, Result};
use crate::generic::{set_resource_version, GenericStore};
use crate::list::ListRequest;
use crate::meta;
use crate::resource::Resource;
use crate::time;

/// The finalizer of foreground cascading deletion.
pub const FOREGROUND: &str = "foregroundDeletion";
/// The finalizer of orphaning deletion.
pub const ORPHAN: &str = "orphan";

/// Preconditions of a delete (`DeleteOptions.preconditions`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preconditions {
    pub uid: Option<String>,
    pub resource_version: Option<String>,
}

/// What happens to an object's dependents (`DeleteOptions.propagationPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    /// Dependents are kept, their owner references to this object removed.
    Orphan,
    /// The object goes at once; the garbage collector deletes dependents afterwards.
    Background,
    /// Dependents are deleted first; the object goes when they are gone.
    Foreground,
}

impl Propagation {
    /// Reads `Orphan`, `Background` or `Foreground`.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "Orphan" => Some(Propagation::Orphan),
            "Background" => Some(Propagation::Background),
            "Foreground" => Some(Propagation::Foreground),
            _ => None,
        }
    }
}

/// Options of a delete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    pub preconditions: Preconditions,
    pub propagation: Option<Propagation>,
    pub dry_run: bool,
}

/// The outcome of a delete.
#[derive(Debug, Clone, PartialEq)]
pub enum Deleted {
    /// Removed from storage; the object as it was.
    Gone(Value),
    /// Marked for deletion (finalizers remain); the object as it is now.
    Pending(Value),
}

impl GenericStore {
    /// Deletes an object, or marks it for deletion when finalizers hold it.
    pub async fn delete(
        &self,
        res: &Resource,
        namespace: Option<&str>,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<Deleted> {
        let namespace = res.def.scoped(namespace);
        let gr = res.def.group_resource();
        let key = self.key(res, namespace, name);
        loop {
            let current = self
                .storage()
                .get(&key)
                .await
                .map_err(|e| ApiError::from_storage(e, &gr, name))?;
            let obj = self.decode(&current)?;
            check_preconditions(res, &obj, name, &options.preconditions)?;
            let finalizers = finalizers_after(&obj, options.propagation);
            let outcome = if finalizers.is_empty() {
                self.remove(&key, current.mod_revision, obj, options.dry_run)
                    .await
            } else {
                let marked = mark_deleting(obj.clone(), finalizers);
                if marked == obj {
                    return Ok(Deleted::Pending(obj));
                }
                self.write_marked(res, &key, current.mod_revision, marked, options.dry_run)
                    .await
            };
            match outcome {
                Err(storage::Error::Conflict { .. }) => continue,
                Err(e) => return Err(ApiError::from_storage(e, &gr, name)),
                Ok(deleted) => return Ok(deleted),
            }
        }
    }

    async fn remove(
        &self,
        key: &str,
        revision: Revision,
        obj: Value,
        dry_run: bool,
    ) -> storage::Result<Deleted> {
        if !dry_run {
            self.storage().delete(key, Some(revision)).await?;
        }
        Ok(Deleted::Gone(obj))
    }

    async fn write_marked(
        &self,
        res: &Resource,
        key: &str,
        revision: Revision,
        mut marked: Value,
        dry_run: bool,
    ) -> storage::Result<Deleted> {
        if dry_run {
            return Ok(Deleted::Pending(marked));
        }
        let value = self
            .encode(key, &marked)
            .map_err(|e| storage::Error::Other {
                message: format!(
                    "encoding {} for deletion: {}",
                    res.def.kind,
                    e.status().message
                ),
                source: None,
            })?;
        let written = self.storage().update(key, value, revision).await?;
        set_resource_version(&mut marked, written);
        Ok(Deleted::Pending(marked))
    }

    /// Deletes every object a list request selects; returns what was deleted or marked, and
    /// the revision the selection was read at.
    pub async fn delete_collection(
        &self,
        res: &Resource,
        request: &ListRequest,
        options: &DeleteOptions,
    ) -> Result<(Vec<Value>, Revision)> {
        let list = self.list(res, request).await?;
        let revision = list.resource_version;
        let mut out = Vec::new();
        for obj in list.items {
            let name = meta::name(&obj).unwrap_or_default().to_owned();
            let namespace = meta::namespace(&obj).map(str::to_owned);
            match self.delete(res, namespace.as_deref(), &name, options).await {
                Ok(Deleted::Gone(obj) | Deleted::Pending(obj)) => out.push(obj),
                // Deleted by someone else in the meantime.
                Err(e) if e.code() == 404 => {}
                Err(e) => return Err(e),
            }
        }
        Ok((out, revision))
    }
}

/// The object's finalizers once `propagation` is applied to them.
fn finalizers_after(obj: &Value, propagation: Option<Propagation>) -> Vec<String> {
    let mut finalizers = finalizers(obj);
    let (add, drop) = match propagation {
        Some(Propagation::Foreground) => (Some(FOREGROUND), ORPHAN),
        Some(Propagation::Orphan) => (Some(ORPHAN), FOREGROUND),
        Some(Propagation::Background) | None => (None, ""),
    };
    finalizers.retain(|f| f != drop);
    if let Some(add) = add {
        if !finalizers.iter().any(|f| f == add) {
            finalizers.push(add.to_owned());
        }
    }
    finalizers
}

/// `metadata.finalizers`.
pub fn finalizers(obj: &Value) -> Vec<String> {
    obj["metadata"]["finalizers"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the object is being deleted (`metadata.deletionTimestamp` set).
pub fn is_deleting(obj: &Value) -> bool {
    meta::get(obj, "deletionTimestamp").is_some()
}

/// Sets the deletion marks: `deletionTimestamp` (once), `deletionGracePeriodSeconds: 0`,
/// `generation` + 1 (once, when deletion starts), and the finalizers.
fn mark_deleting(mut obj: Value, finalizers: Vec<String>) -> Value {
    if !is_deleting(&obj) {
        meta::set(
            &mut obj,
            "deletionTimestamp",
            Some(Value::String(time::now())),
        );
        meta::set(&mut obj, "deletionGracePeriodSeconds", Some(Value::from(0)));
        let generation = obj["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
        meta::set(&mut obj, "generation", Some(Value::from(generation)));
    }
    let finalizers = finalizers.into_iter().map(Value::String).collect();
    meta::set(&mut obj, "finalizers", Some(Value::Array(finalizers)));
    obj
}

fn check_preconditions(
    res: &Resource,
    obj: &Value,
    name: &str,
    preconditions: &Preconditions,
) -> Result<()> {
    let gr = res.def.group_resource();
    if let Some(uid) = &preconditions.uid {
        let actual = meta::get(obj, "uid").unwrap_or_default();
        if uid != actual {
            let why = format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {actual}"
            );
            return Err(ApiError::conflict(&gr, name, &why));
        }
    }
    if let Some(rv) = &preconditions.resource_version {
        let actual = meta::resource_version(obj).unwrap_or_default();
        if rv != actual {
            let why = format!(
                "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {actual}"
            );
            return Err(ApiError::conflict(&gr, name, &why));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn propagation_sets_exactly_one_cascade_finalizer() {
        let obj = json!({"metadata": {"finalizers": ["x", "orphan"]}});
        assert_eq!(
            finalizers_after(&obj, Some(Propagation::Foreground)),
            ["x", "foregroundDeletion"]
        );
        assert_eq!(
            finalizers_after(&obj, Some(Propagation::Orphan)),
            ["x", "orphan"]
        );
        assert_eq!(finalizers_after(&obj, None), ["x", "orphan"]);
    }

    #[test]
    fn marking_sets_the_timestamp_and_bumps_generation_once() {
        let obj = json!({"metadata": {"name": "a", "generation": 3}});
        let marked = mark_deleting(obj, vec!["x".into()]);
        assert!(is_deleting(&marked));
        assert_eq!(marked["metadata"]["generation"], 4);
        assert_eq!(marked["metadata"]["deletionGracePeriodSeconds"], 0);
        let again = mark_deleting(marked.clone(), vec!["x".into()]);
        assert_eq!(again, marked);
    }
}
