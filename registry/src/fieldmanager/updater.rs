//! Who owns what after a write: structured-merge-diff `merge/update.go` (`Updater.update`,
//! `Update`, `Apply`, `prune`) with the kube-apiserver layers around it that shape entries
//! (k8s.io/apimachinery `pkg/util/managedfields/internal/`: `managedfieldsupdater.go`,
//! `stripmeta.go`, `buildmanagerinfo.go`, `capmanagers.go`). One API version: no conversion.

use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::compare::{compare, Comparison};
use super::conflict::{Conflict, Conflicts};
use super::managed::{identifier, ManagedFields, ManagedFieldsEntry, ManagedOperation};
use super::merge::merge;
use super::path::{Path, PathElement};
use super::schemaconv::Type;
use super::set::FieldSet;
use super::value;
use super::walk::{present_fields, remove_items, to_field_set, Emptied};
use super::{Operation, Reset};

/// Fields no entry records (`NewStripMetaManager`): type meta and server-set metadata.
fn stripped() -> &'static FieldSet {
    static STRIPPED: OnceLock<FieldSet> = OnceLock::new();
    STRIPPED.get_or_init(|| {
        let paths: Vec<Path> = [
            &["apiVersion"][..],
            &["kind"],
            &["metadata"],
            &["metadata", "name"],
            &["metadata", "namespace"],
            &["metadata", "creationTimestamp"],
            &["metadata", "selfLink"],
            &["metadata", "uid"],
            &["metadata", "clusterName"],
            &["metadata", "generation"],
            &["metadata", "managedFields"],
            &["metadata", "resourceVersion"],
        ]
        .iter()
        .map(|p| Path::fields(p))
        .collect();
        FieldSet::from_paths(&paths)
    })
}

impl Reset {
    /// The part of `set` this endpoint may own (upstream's reset-fields filter).
    pub(crate) fn filter(self, set: FieldSet) -> FieldSet {
        let status = PathElement::Field("status".to_owned());
        match self {
            Reset::None => set,
            Reset::Status => {
                let mut status_set = FieldSet::new();
                status_set.insert(std::slice::from_ref(&status));
                set.recursive_difference(&status_set)
            }
            Reset::AllButStatus => set.only_prefix(&status),
        }
    }
}

/// One write's view: the object's type, what the endpoint resets, who writes.
pub(crate) struct Updater<'a> {
    pub ty: Type<'a>,
    pub reset: Reset,
    pub op: &'a Operation,
}

impl Updater<'_> {
    /// The writer's name; upstream records a nameless one as `unknown`.
    pub(crate) fn manager(&self) -> &str {
        if self.op.manager.is_empty() {
            "unknown"
        } else {
            &self.op.manager
        }
    }

    fn subresource(&self) -> Option<String> {
        self.op.subresource.clone().filter(|s| !s.is_empty())
    }

    /// The identity of this writer's entry for `operation` (`buildManagerInfo`).
    pub(crate) fn id(&self, manager: &str, operation: ManagedOperation) -> String {
        identifier(
            manager,
            operation,
            &self.op.api_version,
            self.subresource().as_deref(),
        )
    }

    fn compare(&self, old: &Value, new: &Value) -> Comparison {
        let c = compare(self.ty, old, new);
        Comparison {
            removed: self.reset.filter(c.removed),
            modified: self.reset.filter(c.modified),
            added: self.reset.filter(c.added),
        }
    }

    /// `Updater.update`: managers other than `writer` lose the fields that changed, or — when
    /// not forced — those changes are conflicts; everyone but `writer` loses removed fields.
    fn reassign(
        &self,
        old: &Value,
        new: &Value,
        managed: &mut ManagedFields,
        writer: Option<&str>,
        force: bool,
    ) -> Result<Comparison, Conflicts> {
        let comparison = self.compare(old, new);
        let changed = comparison.modified.union(&comparison.added);
        let mut taken = Vec::new();
        for (id, entry) in managed.by_id() {
            if Some(id.as_str()) == writer {
                continue;
            }
            let conflicting = entry.fields.intersection(&changed);
            if !conflicting.is_empty() {
                taken.push((id.clone(), conflicting));
            }
        }
        if !force && !taken.is_empty() {
            return Err(conflicts(managed, &taken));
        }
        for (id, conflicting) in &taken {
            if let Some(entry) = managed.get_mut(id) {
                entry.fields = entry.fields.difference(conflicting);
            }
        }
        for (id, entry) in managed.by_id_mut() {
            if Some(id.as_str()) != writer && !comparison.removed.is_empty() {
                entry.fields = entry.fields.difference(&comparison.removed);
            }
        }
        managed.by_id_mut().retain(|_, e| !e.fields.is_empty());
        Ok(comparison)
    }

    /// A non-apply write from `old` to `new` by `manager`: it takes the fields it changed,
    /// which join its Update entry, timed now (`managedFieldsUpdater.Update` over
    /// `Updater.Update` with the "current-operation" manager).
    pub(crate) fn update(
        &self,
        old: &Value,
        new: &Value,
        managed: &mut ManagedFields,
        manager: &str,
    ) {
        // Forced, so never conflicts.
        let Ok(comparison) = self.reassign(old, new, managed, None, true) else {
            return;
        };
        let taken = self
            .reset
            .filter(comparison.modified.union(&comparison.added))
            .difference(stripped());
        if !taken.is_empty() {
            let id = self.id(manager, ManagedOperation::Update);
            let previous = managed.remove(&id).map(|e| e.fields).unwrap_or_default();
            managed.insert(ManagedFieldsEntry {
                manager: manager.to_owned(),
                operation: ManagedOperation::Update,
                api_version: self.op.api_version.clone(),
                time: Some(self.op.time.clone()),
                subresource: self.subresource(),
                fields: taken.union(&previous),
            });
        }
        managed.cap_update_managers();
    }

    /// An apply of `config` onto `live` (both without managed fields): the merged object, or
    /// `live` itself when nothing changed (`Updater.Apply`, `managedFieldsUpdater.Apply`).
    pub(crate) fn apply(
        &self,
        live: &Value,
        config: &Value,
        managed: &mut ManagedFields,
        force: bool,
    ) -> Result<Value, Conflicts> {
        let manager = self.manager();
        let id = self.id(manager, ManagedOperation::Apply);
        let merged = merge(self.ty, live, config);
        let previous = managed.get(&id).cloned();
        managed.insert(ManagedFieldsEntry {
            manager: manager.to_owned(),
            operation: ManagedOperation::Apply,
            api_version: self.op.api_version.clone(),
            time: previous.as_ref().and_then(|e| e.time.clone()),
            subresource: self.subresource(),
            fields: self.reset.filter(to_field_set(self.ty, config)),
        });
        let mut merged = self.prune(merged, managed, previous.map(|e| e.fields));
        keep_config_empties(&mut merged, config);
        self.reassign(live, &merged, managed, Some(&id), force)?;
        let changed = !value::equals(live, &merged);
        if let Some(entry) = managed.get_mut(&id) {
            entry.fields = entry.fields.difference(stripped());
            if changed {
                entry.time = Some(self.op.time.clone());
            }
            if entry.fields.is_empty() {
                managed.remove(&id);
            }
        }
        Ok(if changed { merged } else { live.clone() })
    }

    /// Removes what the applier applied last time and no longer does, unless someone else
    /// owns it (`Updater.prune`, `addBackOwnedItems`, `addBackDanglingItems`).
    fn prune(&self, merged: Value, managed: &ManagedFields, last: Option<FieldSet>) -> Value {
        let Some(last) = last.filter(|l| !l.is_empty()) else {
            return merged;
        };
        let ensure = |set: &FieldSet| set.ensure_named_fields_are_members(Some(self.ty));
        let fields_of = |object: &Value| ensure(&to_field_set(self.ty, object));
        let remove = |set: &FieldSet, emptied| {
            remove_items(self.ty, &merged, set, emptied)
                .unwrap_or_else(|| Value::Object(Map::new()))
        };
        let last = ensure(&last);
        let owned = managed
            .by_id()
            .values()
            .fold(FieldSet::new(), |all, e| all.union(&e.fields));
        let merged_set = fields_of(&merged);
        let pruned = remove(&last, Emptied::Null);
        let owned_or_kept = fields_of(&pruned).union(&ensure(&owned));
        let pruned = remove(&merged_set.difference(&owned_or_kept), Emptied::Null);
        // Upstream compares with the fields the pruned object sets, so a struct field kept for
        // another owner but holding nothing that sets a field (`spec: {tags: []}`) counts as
        // gone and goes; what is present counts here.
        let dangling = merged_set.difference(&ensure(&present_fields(self.ty, &pruned)));
        remove(&dangling.intersection(&last), Emptied::Drop)
    }
}

/// Puts back what `config` holds that sets no field — empty lists and maps, maps of only
/// those — where pruning emptied it (upstream leaves a `null` there, which conversion drops):
/// the result holds the configuration, and applying it again changes nothing.
fn keep_config_empties(object: &mut Value, config: &Value) {
    let (Some(object), Some(config)) = (object.as_object_mut(), config.as_object()) else {
        return;
    };
    for (key, value) in config {
        match object.get_mut(key) {
            Some(child) => keep_config_empties(child, value),
            None if is_hollow(value) => {
                object.insert(key.clone(), value.clone());
            }
            None => {}
        }
    }
}

fn is_hollow(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.values().all(is_hollow),
        Value::Array(list) => list.is_empty(),
        _ => false,
    }
}

fn conflicts(managed: &ManagedFields, taken: &[(String, FieldSet)]) -> Conflicts {
    let mut out = Vec::new();
    for (id, fields) in taken {
        let Some(entry) = managed.get(id) else {
            continue;
        };
        out.extend(fields.paths().into_iter().map(|path| Conflict {
            manager: entry.manager.clone(),
            operation: entry.operation,
            api_version: entry.api_version.clone(),
            subresource: entry.subresource.clone(),
            path,
        }));
    }
    Conflicts(out)
}
