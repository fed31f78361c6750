//! Credential (`cred`, namespaced): a reference to a provider identity in the management
//! cluster (a Cluster API identity object or a Secret) that ClusterDeployments of its
//! namespace are built with, and the region it is meant for. Its status (whether the
//! identity is usable) is written only by controllers through `/status`.
//!
//! The identity's namespace: a Credential lends its identity only within its own namespace,
//! so `identityRef.namespace`, when set, must be the Credential's namespace (empty means the
//! same). The server cannot know the scope of every identity kind; the Cluster API identity
//! kinds known to be cluster-scoped ([`CLUSTER_SCOPED_KINDS`]) take no namespace at all.
//! Every other kind (AzureClusterIdentity, Secret, …) is treated as namespaced.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::catalog::{AlreadyRegistered, Catalog};
use crate::field::type_error;
use crate::field::FieldError;
use crate::fleet;
use crate::meta;
use crate::resource::{ColumnSource, PrinterColumn, ResourceDefinition, Scope};
use crate::strategy::Strategy;
use crate::structural::object_schema;
pub use fleet_api::v1alpha1::credential::{CredentialSpec, CredentialStatus, IdentityRef};

/// Identity kinds of the Cluster API providers that are cluster-scoped: the AWS provider's
/// `AWSClusterStaticIdentity`, `AWSClusterRoleIdentity` and `AWSClusterControllerIdentity`,
/// and the vSphere provider's `VSphereClusterIdentity`. (The Azure provider's
/// `AzureClusterIdentity` is namespaced.)
pub const CLUSTER_SCOPED_KINDS: [&str; 4] = [
    "AWSClusterStaticIdentity",
    "AWSClusterRoleIdentity",
    "AWSClusterControllerIdentity",
    "VSphereClusterIdentity",
];

/// The definition of `credentials.fleet.k0rdent.io`.
pub fn definition() -> ResourceDefinition {
    let mut def = ResourceDefinition::new(
        fleet::GROUP,
        fleet::VERSION,
        "Credential",
        "credentials",
        Scope::Namespaced,
    );
    def.short_names = vec!["cred".into()];
    def.categories = fleet::categories();
    def.status_subresource = true;
    def.schema = Some(object_schema::<CredentialSpec, CredentialStatus>(
        "A reference to a provider identity in the management cluster that ClusterDeployments \
         of this namespace are built with, and its region.",
    ));
    def.printer_columns = columns();
    def
}

/// Registers `credentials.fleet.k0rdent.io`.
pub fn register(catalog: &Catalog) -> Result<(), AlreadyRegistered> {
    catalog.register(definition(), Arc::new(CredentialStrategy))?;
    Ok(())
}

/// READY (True/False/Unknown), REGION, IDENTITY (kind/name), AGE; DESCRIPTION with `-o wide`.
fn columns() -> Vec<PrinterColumn> {
    let column = |name: &str, column_type: &str, priority, source| {
        PrinterColumn {
        name: name.into(),
        column_type: column_type.into(),
        format: String::new(),
        description: match name {
            "Ready" => "Whether a controller found the identity usable: True, False, or Unknown before it reported.".into(),
            "Identity" => "The identity the credential refers to, as kind/name.".into(),
            _ => String::new(),
        },
        priority,
        source,
    }
    };
    let path = |p: &str| ColumnSource::JsonPath(p.into());
    vec![
        column(
            "Ready",
            "string",
            0,
            ColumnSource::Computed(Arc::new(ready_cell)),
        ),
        column("Region", "string", 0, path(".spec.region")),
        column(
            "Identity",
            "string",
            0,
            ColumnSource::Computed(Arc::new(identity_cell)),
        ),
        column("Age", "date", 0, path(".metadata.creationTimestamp")),
        column("Description", "string", 1, path(".spec.description")),
    ]
}

/// `True` or `False` as a controller reported it, `Unknown` before any did (as READY of
/// ClusterDeployments).
fn ready_cell(obj: &Value) -> Value {
    match obj["status"]["ready"] {
        Value::Bool(true) => json!("True"),
        Value::Bool(false) => json!("False"),
        _ => json!("Unknown"),
    }
}

/// `Kind/name` of the identity.
fn identity_cell(obj: &Value) -> Value {
    let r = &obj["spec"]["identityRef"];
    json!(format!(
        "{}/{}",
        r["kind"].as_str().unwrap_or_default(),
        r["name"].as_str().unwrap_or_default()
    ))
}

#[derive(Debug)]
struct CredentialStrategy;

impl Strategy for CredentialStrategy {
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let spec = &obj["spec"];
        if spec.is_null() {
            return vec![FieldError::required("spec", "")];
        }
        if !spec.is_object() {
            return vec![type_error("spec", spec, "object")];
        }
        let mut errors = validate_identity_ref(
            &spec["identityRef"],
            meta::namespace(obj).unwrap_or_default(),
        );
        for field in ["region", "description"] {
            if let Some(error) = string_field(spec, "spec", field) {
                errors.push(error);
            }
        }
        errors
    }

    /// The region is immutable once set.
    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let region = |obj: &Value| {
            obj["spec"]["region"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        };
        let (new_region, old_region) = (region(new), region(old));
        if old_region.is_empty() || new_region == old_region {
            return Vec::new();
        }
        vec![FieldError::invalid(
            "spec.region",
            &json!(new_region),
            "field is immutable",
        )]
    }

    fn validate_status_update(&self, new: &Value, _old: &Value) -> Vec<FieldError> {
        let status = &new["status"];
        let mut errors = Vec::new();
        match &status["ready"] {
            Value::Null | Value::Bool(_) => {}
            other => errors.push(type_error("status.ready", other, "boolean")),
        }
        errors.extend(string_field(status, "status", "message"));
        errors
    }
}

/// `spec.identityRef`: apiVersion, kind and name required; the namespace rule of the
/// module's doc.
fn validate_identity_ref(identity: &Value, own_namespace: &str) -> Vec<FieldError> {
    const PATH: &str = "spec.identityRef";
    if identity.is_null() {
        return vec![FieldError::required(PATH, "")];
    }
    if !identity.is_object() {
        return vec![type_error(PATH, identity, "object")];
    }
    let mut errors = Vec::new();
    let mut text = |field: &str| -> &str {
        if let Some(error) = string_field(identity, PATH, field) {
            errors.push(error);
        }
        identity[field].as_str().unwrap_or_default()
    };
    let (api_version, kind, name, namespace) = (
        text("apiVersion"),
        text("kind"),
        text("name"),
        text("namespace"),
    );
    let at = |field: &str| format!("{PATH}.{field}");
    for field in ["apiVersion", "kind", "name"] {
        if matches!(&identity[field], Value::Null) || identity[field] == "" {
            errors.push(FieldError::required(&at(field), ""));
        }
    }
    if !api_version.is_empty() && !is_api_version(api_version) {
        errors.push(FieldError::invalid(
            &at("apiVersion"),
            &json!(api_version),
            "must be a group/version such as infrastructure.cluster.x-k8s.io/v1beta2, or v1",
        ));
    }
    if !kind.is_empty() && !is_kind(kind) {
        errors.push(FieldError::invalid(
            &at("kind"),
            &json!(kind),
            "must be a kind such as AWSClusterStaticIdentity: a letter, then letters and digits",
        ));
    }
    for problem in meta::dns1123_subdomain_problems(name)
        .into_iter()
        .filter(|_| !name.is_empty())
    {
        errors.push(FieldError::invalid(&at("name"), &json!(name), &problem));
    }
    if namespace.is_empty() {
        return errors;
    }
    if CLUSTER_SCOPED_KINDS.contains(&kind) {
        errors.push(FieldError::forbidden(
            &at("namespace"),
            &format!("must be empty: {kind} is cluster-scoped"),
        ));
    } else if namespace != own_namespace {
        errors.push(FieldError::forbidden(
            &at("namespace"),
            "may not refer to an identity in another namespace",
        ));
    }
    errors
}

/// `group/version` (a DNS subdomain, a DNS label) or a bare `version`.
fn is_api_version(text: &str) -> bool {
    let (group, version) = text.rsplit_once('/').unwrap_or(("", text));
    let group_ok = group.is_empty() && !text.contains('/')
        || meta::dns1123_subdomain_problems(group).is_empty();
    group_ok && meta::dns1123_label_problems(version).is_empty()
}

/// A Go type name as kinds are: an ASCII letter, then letters and digits.
fn is_kind(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_alphabetic())
        && text.chars().all(|c| c.is_ascii_alphanumeric())
}

/// A type error when `obj[field]` is set but not a string.
fn string_field(obj: &Value, path: &str, field: &str) -> Option<FieldError> {
    match &obj[field] {
        Value::Null | Value::String(_) => None,
        other => Some(type_error(&format!("{path}.{field}"), other, "string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credential(identity: Value) -> Value {
        json!({
            "apiVersion": "fleet.k0rdent.io/v1alpha1", "kind": "Credential",
            "metadata": {"name": "aws", "namespace": "team-a"},
            "spec": {"identityRef": identity, "region": "us-east-1"},
        })
    }

    fn messages(identity: Value) -> Vec<String> {
        CredentialStrategy
            .validate(&credential(identity))
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn identities_of_the_own_namespace_or_cluster_scoped_kinds_are_fine() {
        let capa = "infrastructure.cluster.x-k8s.io/v1beta2";
        for identity in [
            json!({"apiVersion": capa, "kind": "AWSClusterStaticIdentity", "name": "aws"}),
            json!({"apiVersion": "infrastructure.cluster.x-k8s.io/v1beta1",
                   "kind": "AzureClusterIdentity", "name": "az", "namespace": "team-a"}),
            json!({"apiVersion": "v1", "kind": "Secret", "name": "gcp-sa"}),
        ] {
            assert!(messages(identity.clone()).is_empty(), "{identity}");
        }
    }

    #[test]
    fn another_namespace_or_a_namespace_for_a_cluster_scoped_kind_is_forbidden() {
        assert_eq!(
            messages(json!({"apiVersion": "v1", "kind": "Secret", "name": "s", "namespace": "kube-system"})),
            ["spec.identityRef.namespace: Forbidden: may not refer to an identity in another namespace"]
        );
        assert_eq!(
            messages(json!({"apiVersion": "infrastructure.cluster.x-k8s.io/v1beta2",
                            "kind": "AWSClusterRoleIdentity", "name": "r", "namespace": "team-a"})),
            ["spec.identityRef.namespace: Forbidden: must be empty: AWSClusterRoleIdentity is cluster-scoped"]
        );
    }

    #[test]
    fn reference_fields_are_required_and_well_formed() {
        assert_eq!(
            messages(json!({"apiVersion": "a/b/c", "kind": "", "name": "Bad_Name", "namespace": 3})),
            [
                "spec.identityRef.namespace: Invalid value: \"integer\": spec.identityRef.namespace in body must be of type string: \"integer\"",
                "spec.identityRef.kind: Required value",
                "spec.identityRef.apiVersion: Invalid value: \"a/b/c\": must be a group/version such as infrastructure.cluster.x-k8s.io/v1beta2, or v1",
                "spec.identityRef.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            ]
        );
        assert_eq!(messages(Value::Null), ["spec.identityRef: Required value"]);
        assert_eq!(
            messages(json!({"kind": "Secret-2", "name": "s"})),
            [
                "spec.identityRef.apiVersion: Required value",
                "spec.identityRef.kind: Invalid value: \"Secret-2\": must be a kind such as AWSClusterStaticIdentity: a letter, then letters and digits",
            ]
        );
    }

    #[test]
    fn the_region_cannot_change_once_set() {
        let old = credential(json!({"apiVersion": "v1", "kind": "Secret", "name": "s"}));
        let mut new = old.clone();
        new["spec"]["region"] = json!("us-west-2");
        assert_eq!(
            CredentialStrategy.validate_update(&new, &old)[0].to_string(),
            "spec.region: Invalid value: \"us-west-2\": field is immutable"
        );
        let mut unset = old.clone();
        unset["spec"]["region"] = Value::Null;
        assert!(CredentialStrategy.validate_update(&old, &unset).is_empty());
        assert_eq!(CredentialStrategy.validate_update(&unset, &old).len(), 1);
    }

    #[test]
    fn columns_show_readiness_region_and_identity() {
        let names: Vec<_> = columns()
            .into_iter()
            .map(|c| (c.name, c.priority))
            .collect();
        assert_eq!(
            names,
            [
                ("Ready", 0),
                ("Region", 0),
                ("Identity", 0),
                ("Age", 0),
                ("Description", 1)
            ]
            .map(|(n, p)| (n.to_owned(), p))
        );
        let obj = credential(json!({"apiVersion": "v1", "kind": "Secret", "name": "s"}));
        assert_eq!(identity_cell(&obj), json!("Secret/s"));
        assert_eq!(ready_cell(&obj), json!("Unknown"));
        assert_eq!(
            ready_cell(&json!({"status": {"ready": false}})),
            json!("False")
        );
        let spec: CredentialSpec = serde_json::from_value(obj["spec"].clone()).unwrap();
        assert_eq!(spec.identity_ref.namespace, "");
    }
}
