//! What a resource is: its names, scope, subresources, schema, printer columns and selectable
//! fields — everything discovery, OpenAPI and the generic handlers need to know, and nothing
//! about any particular kind.

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::strategy::Strategy;

/// Whether objects live in a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Namespaced,
    Cluster,
}

/// A group and a resource name, printed `resource.group` (just `resource` for the core group).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct GroupResource {
    pub group: String,
    pub resource: String,
}

impl GroupResource {
    pub fn new(group: &str, resource: &str) -> Self {
        GroupResource {
            group: group.into(),
            resource: resource.into(),
        }
    }
}

impl fmt::Display for GroupResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() {
            write!(f, "{}", self.resource)
        } else {
            write!(f, "{}.{}", self.resource, self.group)
        }
    }
}

/// How a printer column gets its cell.
#[derive(Clone)]
pub enum ColumnSource {
    /// A simple JSONPath such as `.spec.template` or `.status.conditions[?(@.type=="Ready")].status`.
    JsonPath(String),
    /// Computed from the whole object.
    Computed(Arc<dyn Fn(&Value) -> Value + Send + Sync>),
}

impl fmt::Debug for ColumnSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnSource::JsonPath(path) => write!(f, "JsonPath({path:?})"),
            ColumnSource::Computed(_) => write!(f, "Computed"),
        }
    }
}

/// A column of `kubectl get` (a `metav1.TableColumnDefinition` plus where its value comes from).
#[derive(Debug, Clone)]
pub struct PrinterColumn {
    pub name: String,
    /// `string`, `integer`, `number`, `boolean` or `date`.
    pub column_type: String,
    pub format: String,
    pub description: String,
    /// Shown only with `-o wide` when above 0.
    pub priority: i32,
    pub source: ColumnSource,
}

/// A field that `fieldSelector` may name, besides `metadata.name` and `metadata.namespace`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectableField {
    /// The selector name, e.g. `spec.template`.
    pub name: String,
    /// The JSONPath of its value, e.g. `.spec.template`.
    pub json_path: String,
}

/// Everything about a resource except its behaviour.
#[derive(Debug, Clone)]
pub struct ResourceDefinition {
    /// The API group; empty for the core group (`/api/v1`).
    pub group: String,
    pub version: String,
    pub kind: String,
    /// The plural resource name used in paths.
    pub plural: String,
    pub singular: String,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub scope: Scope,
    /// Whether `/status` is a subresource (then the main endpoint ignores `.status`).
    pub status_subresource: bool,
    /// A built-in Kubernetes kind: strategic merge patch works on it, driven by the schema's
    /// `x-kubernetes-patch-strategy` / `x-kubernetes-patch-merge-key` (custom and fleet kinds
    /// answer it with 415, as CRDs do).
    pub strategic_merge_patch: bool,
    /// What the resource can do: discovery lists these verbs, OpenAPI declares their paths,
    /// the handlers answer the others with 405. A resource without `get` stores nothing (the
    /// access and identity reviews only answer `create`).
    pub verbs: Verbs,
    /// The OpenAPI v3 schema of the object; `None` for schema-less kinds.
    pub schema: Option<Value>,
    pub printer_columns: Vec<PrinterColumn>,
    pub selectable_fields: Vec<SelectableField>,
}

impl ResourceDefinition {
    /// Served as kube-apiserver serves its own kinds (go-restful routes, protobuf bodies,
    /// typed decoding), not as the custom resource handler serves CRDs.
    pub fn built_in(&self) -> bool {
        self.strategic_merge_patch || !self.verbs.stored()
    }

    /// A definition with the given names, no subresources, schema or columns.
    pub fn new(group: &str, version: &str, kind: &str, plural: &str, scope: Scope) -> Self {
        ResourceDefinition {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            plural: plural.into(),
            singular: kind.to_lowercase(),
            short_names: Vec::new(),
            categories: Vec::new(),
            scope,
            status_subresource: false,
            strategic_merge_patch: false,
            verbs: Verbs::STORED,
            schema: None,
            printer_columns: Vec::new(),
            selectable_fields: Vec::new(),
        }
    }

    /// `group/version`, or just `version` for the core group: the `apiVersion` of objects.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn group_resource(&self) -> GroupResource {
        GroupResource::new(&self.group, &self.plural)
    }

    pub fn namespaced(&self) -> bool {
        self.scope == Scope::Namespaced
    }

    /// The namespace a request addresses: `namespace` for namespaced resources, none for
    /// cluster-scoped ones.
    pub fn scoped<'a>(&self, namespace: Option<&'a str>) -> Option<&'a str> {
        namespace.filter(|_| self.namespaced())
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    /// The group segment of storage keys: the group, or `core`.
    pub fn storage_group(&self) -> &str {
        if self.group.is_empty() {
            "core"
        } else {
            &self.group
        }
    }

    /// The patch media types this resource accepts, in the order 415 messages list them.
    pub fn patch_types(&self) -> &'static [&'static str] {
        const CUSTOM: &[&str] = &[
            "application/json-patch+json",
            "application/merge-patch+json",
            "application/apply-patch+yaml",
        ];
        const BUILT_IN: &[&str] = &[
            "application/json-patch+json",
            "application/merge-patch+json",
            "application/strategic-merge-patch+json",
            "application/apply-patch+yaml",
        ];
        if self.strategic_merge_patch {
            BUILT_IN
        } else {
            CUSTOM
        }
    }

    /// `storageVersionHash`: base64 of the first 8 bytes of sha256("group/version/kind"), as
    /// k8s.io/apiserver `pkg/endpoints/discovery/storageversionhash.go` computes it.
    pub fn storage_version_hash(&self) -> String {
        let digest = Sha256::digest(format!("{}/{}/{}", self.group, self.version, self.kind));
        base64::engine::general_purpose::STANDARD.encode(&digest[..8])
    }
}

/// A registered resource: its definition and its strategy.
#[derive(Clone)]
pub struct Resource {
    pub def: ResourceDefinition,
    pub strategy: Arc<dyn Strategy>,
}

impl fmt::Debug for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resource")
            .field("group", &self.def.group)
            .field("version", &self.def.version)
            .field("plural", &self.def.plural)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_version_hash_matches_kube_apiserver() {
        // kube-apiserver serves deployments.apps/v1 with storageVersionHash "8aSe+NMegvE=".
        let def =
            ResourceDefinition::new("apps", "v1", "Deployment", "deployments", Scope::Namespaced);
        assert_eq!(def.storage_version_hash(), "8aSe+NMegvE=");
    }

    #[test]
    fn core_group_resources_print_without_a_dot() {
        assert_eq!(GroupResource::new("", "pods").to_string(), "pods");
        assert_eq!(
            GroupResource::new("fleet.k0rdent.io", "credentials").to_string(),
            "credentials.fleet.k0rdent.io"
        );
    }
}

/// A set of the verbs a resource serves (upstream derives them from the storage's interfaces:
/// `rest.Getter`, `rest.Lister`, `rest.Creater`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verbs(u8);

impl Verbs {
    /// The verbs, sorted as discovery lists them.
    const NAMES: [&'static str; 8] = [
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    ];
    /// Every verb the generic store serves.
    pub const STORED: Verbs = Verbs(0xff);
    /// Only `create`: a request answered and forgotten (reviews).
    pub const CREATE: Verbs = Verbs(1);

    /// Whether `verb` is served.
    pub fn allows(self, verb: &str) -> bool {
        Self::NAMES
            .iter()
            .position(|name| *name == verb)
            .is_some_and(|bit| self.0 & (1 << bit) != 0)
    }

    /// The verbs served, sorted.
    pub fn names(self) -> Vec<&'static str> {
        Self::NAMES
            .iter()
            .enumerate()
            .filter(|(bit, _)| self.0 & (1 << bit) != 0)
            .map(|(_, name)| *name)
            .collect()
    }

    /// Whether objects are stored (and can be read back).
    pub fn stored(self) -> bool {
        self.allows("get")
    }
}

#[cfg(test)]
mod verbs_tests {
    use super::Verbs;

    #[test]
    fn verbs_are_named_in_discovery_order() {
        assert_eq!(
            Verbs::STORED.names(),
            [
                "create",
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "update",
                "watch"
            ]
        );
        assert_eq!(Verbs::CREATE.names(), ["create"]);
        assert!(Verbs::STORED.stored() && !Verbs::CREATE.stored());
        assert!(Verbs::CREATE.allows("create") && !Verbs::CREATE.allows("list"));
        assert!(!Verbs::STORED.allows("impersonate"));
    }
}
