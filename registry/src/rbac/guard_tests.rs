//! The escalation check as the generic store runs it: inside the write, for the RBAC kinds,
//! when a write names its writer — not for in-process writers, not for writes that change
//! only what the garbage collector changes.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{json, Value};
use storage::{Codec, EmbeddedOptions, EmbeddedStore};

use super::authorizer::PolicyRule;
use crate::admission::Writer;
use crate::catalog::Catalog;
use crate::generic::{GenericStore, Subresource, WriteOptions};

/// A writer who holds `held` and may neither escalate nor bind.
#[derive(Debug)]
struct Holder {
    held: Vec<PolicyRule>,
}

#[async_trait]
impl Writer for Holder {
    fn name(&self) -> &str {
        "alice"
    }

    fn groups(&self) -> &[String] {
        &[]
    }

    fn is_superuser(&self) -> bool {
        false
    }

    async fn may(
        &self,
        _verb: &str,
        _resource: &crate::resource::GroupResource,
        _name: &str,
        _namespace: &str,
    ) -> bool {
        false
    }

    fn rules_held(&self, _namespace: &str) -> (Vec<PolicyRule>, Vec<String>) {
        (self.held.clone(), Vec::new())
    }

    fn role_reference_rules(
        &self,
        _kind: &str,
        _name: &str,
        _namespace: &str,
    ) -> Option<Result<Vec<PolicyRule>, String>> {
        None
    }
}

fn role(name: &str, verbs: &[&str]) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": name, "namespace": "team-a"},
        "rules": [{"apiGroups": ["fleet.k0rdent.io"], "resources": ["clusterdeployments"], "verbs": verbs}],
    })
}

fn as_writer(held: &[&str]) -> WriteOptions {
    let rule: PolicyRule = serde_json::from_value(json!({
        "apiGroups": ["fleet.k0rdent.io"], "resources": ["clusterdeployments"], "verbs": held,
    }))
    .unwrap();
    WriteOptions {
        writer: Some(Arc::new(Holder { held: vec![rule] })),
        ..WriteOptions::default()
    }
}

#[tokio::test]
async fn the_store_refuses_rbac_writes_that_grant_more_than_their_writer_holds() {
    let dir = tempfile::tempdir().unwrap();
    let embedded = EmbeddedStore::open(dir.path(), EmbeddedOptions::default()).unwrap();
    let store = GenericStore::new(Arc::new(embedded), Codec::plain(), "/registry");
    let catalog = Catalog::new();
    super::install(&catalog).unwrap();
    let roles = catalog
        .find("rbac.authorization.k8s.io", "v1", "roles")
        .unwrap();
    let ns = Some("team-a");

    // Holding get, alice may grant get, not delete.
    let reader = as_writer(&["get"]);
    store
        .create(&roles, ns, role("readers", &["get"]), &reader)
        .await
        .unwrap();
    let refused = store
        .create(&roles, ns, role("deleters", &["get", "delete"]), &reader)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), 403);
    assert!(
        refused
            .status()
            .message
            .starts_with("roles.rbac.authorization.k8s.io \"deleters\" is forbidden: user \"alice\" (groups=[]) is attempting to grant RBAC permissions not currently held:"),
        "{refused}"
    );

    // An in-process writer (no writer named) is trusted.
    store
        .create(
            &roles,
            ns,
            role("deleters", &["get", "delete"]),
            &WriteOptions::default(),
        )
        .await
        .unwrap();

    // An update judges the object against what alice holds; one that only changes what the
    // garbage collector changes is no grant.
    let stored = store.get(&roles, ns, "deleters").await.unwrap();
    let mut labelled = stored.clone();
    labelled["metadata"]["labels"] = json!({"team": "a"});
    let refused = store
        .update(&roles, ns, "deleters", labelled, Subresource::Main, &reader)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), 403, "{refused}");
    let mut finalized = stored;
    finalized["metadata"]["finalizers"] = json!(["example.com/keep"]);
    store
        .update(
            &roles,
            ns,
            "deleters",
            finalized,
            Subresource::Main,
            &reader,
        )
        .await
        .unwrap();
}
