//! Unit tests of the ClusterDeployment kind: schema, defaults, validation messages, columns,
//! and admission against templates in a real (embedded) store.

use std::sync::Arc;

use serde_json::{json, Value};
use storage::{Codec, EmbeddedOptions, EmbeddedStore};

use super::*;
use crate::generic::{GenericStore, Subresource, WriteOptions};
use crate::resource::Resource;
use crate::strategy::SchemalessStrategy;

fn registered() -> (Catalog, Arc<Resource>) {
    let catalog = Catalog::new();
    register(&catalog).unwrap();
    let res = catalog
        .find(fleet::GROUP, fleet::VERSION, "clusterdeployments")
        .unwrap();
    (catalog, res)
}

fn object(spec: Value) -> Value {
    json!({
        "apiVersion": "fleet.k0rdent.io/v1alpha1", "kind": "ClusterDeployment",
        "metadata": {"name": "prod-eu", "namespace": "default"},
        "spec": spec,
    })
}

fn valid_spec() -> Value {
    json!({"template": "aws-1-33", "credential": "aws-eu", "config": {"region": "eu"}})
}

/// The messages of `validate` after `default`, as `field: message`.
fn problems(spec: Value) -> Vec<String> {
    let (_, res) = registered();
    let mut obj = object(spec);
    res.strategy.default(&mut obj);
    res.strategy
        .validate(&obj)
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn status_problems(status: Value) -> Vec<String> {
    let (_, res) = registered();
    let mut new = object(valid_spec());
    new["status"] = status;
    res.strategy
        .validate_status_update(&new, &object(valid_spec()))
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn the_schema_documents_every_field_without_refs() {
    let (_, res) = registered();
    let schema = res.def.schema.as_ref().unwrap();
    let text = schema.to_string();
    assert!(!text.contains("\\n"), "descriptions are one line: {schema}");
    for not_structural in ["$ref", "anyOf", "nullable", "\"null\""] {
        assert!(!text.contains(not_structural), "{not_structural}: {schema}");
    }
    let spec = &schema["properties"]["spec"];
    assert_eq!(spec["required"], json!(["template", "credential"]));
    let service = &spec["properties"]["services"]["items"];
    assert_eq!(service["required"], json!(["name", "template"]));
    for field in ["name", "template", "namespace", "values", "dependsOn"] {
        let doc = service["properties"][field]["description"].as_str();
        assert!(
            doc.is_some_and(|d| !d.is_empty()),
            "services.{field}: {service}"
        );
    }
    let status = &schema["properties"]["status"]["properties"];
    assert_eq!(
        status["phase"]["enum"],
        json!([
            "Pending",
            "Provisioning",
            "Provisioned",
            "Upgrading",
            "Deleting",
            "Failed"
        ])
    );
    let condition = &status["conditions"]["items"];
    assert_eq!(
        condition["properties"]["type"]["enum"]
            .as_array()
            .unwrap()
            .len(),
        8
    );
    assert_eq!(
        condition["properties"]["status"]["enum"],
        json!(["True", "False", "Unknown"])
    );
    assert_eq!(
        spec["properties"]["config"]["x-kubernetes-preserve-unknown-fields"],
        true
    );
}

#[test]
fn a_complete_deployment_is_valid_and_service_namespaces_default_to_their_names() {
    let (_, res) = registered();
    let mut obj = object(json!({
        "template": "aws-1-33", "credential": "aws-eu", "config": {"region": "eu", "x": null},
        "dryRun": false, "paused": null,
        "services": [
            {"name": "cert-manager", "template": "cert-manager-1-16", "values": {"crds": true}},
            {"name": "ingress", "template": "ingress-nginx-4-12", "namespace": "ingress-system",
             "dependsOn": ["cert-manager"]},
        ],
    }));
    res.strategy.default(&mut obj);
    assert!(res.strategy.validate(&obj).is_empty(), "{obj}");
    assert_eq!(obj["spec"]["services"][0]["namespace"], "cert-manager");
    assert_eq!(obj["spec"]["services"][1]["namespace"], "ingress-system");
    assert!(
        obj["spec"].get("paused").is_none(),
        "declared nulls are dropped"
    );
    assert_eq!(
        obj["spec"]["config"]["x"],
        Value::Null,
        "config is the user's"
    );
    let mut bare = object(valid_spec());
    res.strategy.default(&mut bare);
    assert_eq!(bare, object(valid_spec()), "defaults add nothing else");
}

#[test]
fn references_and_types_are_checked_with_upstream_messages() {
    assert_eq!(
        problems(json!({})),
        [
            "spec.template: Required value",
            "spec.credential: Required value",
        ]
    );
    assert_eq!(problems(json!({"template": "", "credential": "Bad_Name"})), [
        "spec.template: Required value",
        "spec.credential: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    ]);
    assert_eq!(
        problems(json!({"template": 3, "credential": "c", "dryRun": "yes", "config": []})),
        [
            "spec.config: Invalid value: \"array\": spec.config in body must be of type object: \"array\"",
            "spec.dryRun: Invalid value: \"string\": spec.dryRun in body must be of type boolean: \"string\"",
            "spec.template: Invalid value: \"integer\": spec.template in body must be of type string: \"integer\"",
        ]
    );
    let (_, res) = registered();
    let no_spec = json!({"metadata": {"name": "a"}});
    assert_eq!(
        res.strategy.validate(&no_spec)[0].to_string(),
        "spec: Required value"
    );
}

#[test]
fn services_need_unique_label_names_and_known_dependencies() {
    let spec = |services: Value| {
        let mut spec = valid_spec();
        spec["services"] = services;
        spec
    };
    assert_eq!(
        problems(spec(json!([
            {"name": "web", "template": "nginx"},
            {"name": "web", "template": "nginx", "namespace": "Web_NS"},
            {"template": "x", "dependsOn": ["web", "web", "db"]},
        ]))),
        [
            "spec.services[2].name: Required value",
            "spec.services[1].namespace: Invalid value: \"Web_NS\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
            "spec.services[1].name: Duplicate value: \"web\"",
            "spec.services[2].dependsOn[1]: Duplicate value: \"web\"",
            "spec.services[2].dependsOn[2]: Invalid value: \"db\": must be the name of another service in spec.services",
        ]
    );
}

#[test]
fn dependency_cycles_and_self_dependencies_are_refused_once_each() {
    let spec = |services: Value| {
        let mut spec = valid_spec();
        spec["services"] = services;
        spec
    };
    let service =
        |name: &str, deps: &[&str]| json!({"name": name, "template": "t", "dependsOn": deps});
    assert_eq!(problems(spec(json!([service("a", &["a"])]))), [
        "spec.services[0].dependsOn[0]: Invalid value: \"a\": a service may not depend on itself",
    ]);
    assert_eq!(
        problems(spec(json!([
            service("a", &["b"]),
            service("b", &["c"]),
            service("c", &["a"]),
            service("d", &["a"]),
        ]))),
        ["spec.services[0].dependsOn: Invalid value: []string{\"b\"}: dependency cycle: a -> b -> c -> a"]
    );
    // A long chain is no cycle, and checking it does not recurse.
    let chain: Vec<Value> = (0..20_000)
        .map(|i| service(&format!("s{i}"), &[&format!("s{}", i + 1)]))
        .chain([service("s20000", &[])])
        .collect();
    assert!(validation::spec_problems(&spec(Value::Array(chain))).is_empty());
}

#[test]
fn status_is_checked_like_metav1_conditions() {
    let condition = |kind: &str, status: &str, reason: &str| {
        json!({"type": kind, "status": status, "reason": reason,
               "lastTransitionTime": "2026-05-01T10:00:00Z"})
    };
    assert!(status_problems(json!({
        "phase": "Provisioned", "kubernetesVersion": "v1.33.0+k0s.0",
        "conditions": [condition("Ready", "True", "Succeeded")],
        "controlPlane": {"ready": 3, "desired": 3}, "workers": {"ready": 2, "desired": 3},
        "availableUpgrades": ["aws-1-34"], "observedGeneration": 2,
        "services": [{"name": "web", "state": "Deployed"}],
    }))
    .is_empty());
    assert_eq!(
        status_problems(json!({
            "phase": "Running",
            "kubernetesVersion": "1.33",
            "conditions": [
                condition("Ready", "Yes", "bad reason"),
                condition("Ready", "True", ""),
                {"type": "Bogus", "status": "True", "reason": "R",
                 "lastTransitionTime": "yesterday"},
            ],
            "workers": {"ready": -1},
            "services": [{"name": "web", "state": "Deployed"}, {"name": "web", "state": "Gone"}],
        })),
        [
            "status.conditions[0].status: Unsupported value: \"Yes\": supported values: \"True\", \"False\", \"Unknown\"",
            "status.conditions[2].lastTransitionTime: Invalid value: \"yesterday\": status.conditions[2].lastTransitionTime in body must be of type date-time: \"yesterday\"",
            "status.conditions[2].type: Unsupported value: \"Bogus\": supported values: \"Ready\", \"TemplateReady\", \"CredentialReady\", \"InfrastructureReady\", \"ControlPlaneReady\", \"WorkersReady\", \"ServicesReady\", \"Deleting\"",
            "status.phase: Unsupported value: \"Running\": supported values: \"Pending\", \"Provisioning\", \"Provisioned\", \"Upgrading\", \"Deleting\", \"Failed\"",
            "status.services[1].state: Unsupported value: \"Gone\": supported values: \"Pending\", \"Provisioning\", \"Deployed\", \"Failed\", \"Deleting\"",
            "status.workers.ready: Invalid value: -1: status.workers.ready in body should be greater than or equal to 0",
            "status.conditions[0].reason: Invalid value: \"bad reason\": a condition reason must start with alphabetic character, optionally followed by a string of alphanumeric characters or '_,:', and must end with an alphanumeric character or '_'",
            "status.conditions[1].reason: Required value: must be set",
            "status.conditions[1].type: Duplicate value: \"Ready\"",
            "status.services[1].name: Duplicate value: \"web\"",
            "status.kubernetesVersion: Invalid value: \"1.33\": must be a Kubernetes version: vMAJOR.MINOR.PATCH, optionally followed by -PRERELEASE and +BUILD (e.g. 'v1.33.0' or 'v1.33.0+k0s.0')",
        ]
    );
}

#[test]
fn columns_show_the_ready_condition_and_deployed_services() {
    let mut obj = object(json!({"template": "t", "credential": "c", "services": [
        {"name": "a", "template": "t"},
        {"name": "b", "template": "t"},
        {"name": "c", "template": "t"},
    ]}));
    assert_eq!(services_ready(&obj), "0/3");
    let cell = |obj: &Value, name: &str| match &columns()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap()
        .source
    {
        ColumnSource::Computed(f) => f(obj),
        ColumnSource::JsonPath(p) => json!(p),
    };
    assert_eq!(cell(&obj, "Ready"), "Unknown");
    assert_eq!(cell(&obj, "Reason"), Value::Null);
    obj["status"] = json!({
        "conditions": [{"type": "Ready", "status": "False", "reason": "ServicesNotReady",
                        "message": "1 of 3"}],
        "services": [{"name": "a", "state": "Deployed"}, {"name": "b", "state": "Failed"},
                     {"name": "gone", "state": "Deployed"}],
    });
    assert_eq!(cell(&obj, "Ready"), "False");
    assert_eq!(cell(&obj, "Reason"), "ServicesNotReady");
    assert_eq!(cell(&obj, "Message"), "1 of 3");
    assert_eq!(services_ready(&obj), "1/3");
    let names: Vec<(String, i32)> = columns()
        .into_iter()
        .map(|c| (c.name, c.priority))
        .collect();
    let wanted = [
        ("Ready", 0),
        ("Reason", 0),
        ("Template", 0),
        ("Phase", 0),
        ("Version", 0),
        ("Services", 0),
        ("Age", 0),
        ("Credential", 1),
        ("Message", 1),
    ];
    assert_eq!(names, wanted.map(|(n, p)| (n.to_owned(), p)));
}

/// A generic store on a fresh embedded store, with a schema-less ClusterTemplate kind.
async fn store() -> (tempfile::TempDir, GenericStore, Arc<Resource>, Resource) {
    let dir = tempfile::tempdir().unwrap();
    let embedded = EmbeddedStore::open(dir.path(), EmbeddedOptions::default()).unwrap();
    let store = GenericStore::new(Arc::new(embedded), Codec::plain(), "/registry");
    let (_, cld) = registered();
    let def = ResourceDefinition::new(
        fleet::GROUP,
        fleet::VERSION,
        "ClusterTemplate",
        "clustertemplates",
        Scope::Namespaced,
    );
    let templates = Resource {
        def,
        strategy: Arc::new(SchemalessStrategy),
    };
    (dir, store, cld, templates)
}

fn template(name: &str, upgrade_to: &[&str]) -> Value {
    json!({
        "apiVersion": "fleet.k0rdent.io/v1alpha1", "kind": "ClusterTemplate",
        "metadata": {"name": name},
        "spec": {"upgradeTo": upgrade_to, "configSchema": {
            "type": "object", "required": ["region"],
            "properties": {
                "region": {"type": "string"},
                "workers": {"type": "integer", "minimum": 1},
            }
        }},
    })
}

fn causes(error: crate::errors::ApiError) -> Vec<String> {
    let details = error.status().details.clone().unwrap_or_default();
    details
        .causes
        .iter()
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect()
}

#[tokio::test]
async fn admission_checks_config_and_upgrades_against_stored_templates() {
    let (_dir, store, cld, templates) = store().await;
    let options = WriteOptions::default();
    let ns = Some("default");
    // Without its template, anything is accepted, and the template may be renamed freely.
    let mut early =
        object(json!({"template": "missing", "credential": "c", "config": {"workers": 0}}));
    early["metadata"]["name"] = json!("early");
    let created = store
        .create(&cld, ns, early, &options)
        .await
        .unwrap()
        .object;
    let mut renamed = created.clone();
    renamed["spec"]["template"] = json!("aws-1-33");
    store
        .create(
            &templates,
            ns,
            template("aws-1-33", &["aws-1-34"]),
            &options,
        )
        .await
        .unwrap();
    store
        .create(&templates, ns, template("aws-1-34", &[]), &options)
        .await
        .unwrap();
    // Renaming to an existing template checks the config against it.
    let refused = store
        .update(&cld, ns, "early", renamed, Subresource::Main, &options)
        .await;
    assert_eq!(causes(refused.unwrap_err()).len(), 2);

    let bad = object(json!({"template": "aws-1-33", "credential": "c", "config": {"workers": 0}}));
    let error = store.create(&cld, ns, bad, &options).await.unwrap_err();
    assert_eq!(error.code(), 422);
    let fields: Vec<String> = causes(error)
        .iter()
        .map(|c| c.split(':').next().unwrap().to_owned())
        .collect();
    assert_eq!(fields, ["spec.config", "spec.config.workers"]);

    let good =
        object(json!({"template": "aws-1-33", "credential": "c", "config": {"region": "eu"}}));
    let created = store.create(&cld, ns, good, &options).await.unwrap().object;
    let mut sideways = created.clone();
    sideways["spec"]["template"] = json!("missing");
    let error = store
        .update(&cld, ns, "prod-eu", sideways, Subresource::Main, &options)
        .await;
    assert_eq!(causes(error.unwrap_err()), [
        "spec.template: Forbidden: may only change to one of the templates in upgradeTo of \"aws-1-33\": [\"aws-1-34\"]",
    ]);
    let mut upgrade = created.clone();
    upgrade["spec"]["template"] = json!("aws-1-34");
    let upgraded = store
        .update(&cld, ns, "prod-eu", upgrade, Subresource::Main, &options)
        .await
        .unwrap();
    assert_eq!(upgraded.object["spec"]["template"], "aws-1-34");
    let mut back = upgraded.object.clone();
    back["spec"]["template"] = json!("aws-1-33");
    let error = store
        .update(&cld, ns, "prod-eu", back, Subresource::Main, &options)
        .await;
    assert_eq!(causes(error.unwrap_err()), [
        "spec.template: Forbidden: may not change: ClusterTemplate \"aws-1-34\" allows no upgrades (its upgradeTo is empty)",
    ]);
}

#[tokio::test]
async fn unchanged_config_is_not_rechecked_on_update() {
    let (_dir, store, cld, templates) = store().await;
    let options = WriteOptions::default();
    let ns = Some("default");
    let early =
        object(json!({"template": "aws-1-33", "credential": "c", "config": {"workers": 0}}));
    let created = store
        .create(&cld, ns, early, &options)
        .await
        .unwrap()
        .object;
    store
        .create(&templates, ns, template("aws-1-33", &[]), &options)
        .await
        .unwrap();
    let mut labeled = created.clone();
    labeled["metadata"]["labels"] = json!({"env": "prod"});
    store
        .update(&cld, ns, "prod-eu", labeled, Subresource::Main, &options)
        .await
        .unwrap();
}
