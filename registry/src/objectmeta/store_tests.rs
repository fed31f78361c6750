//! Metadata validation through the generic store (a 422 before any storage answer, the
//! passes of an update, deletion marks, finalizer warnings), and everything the project
//! itself writes.

use std::sync::Arc;

use serde_json::{json, Value};
use storage::{Codec, EmbeddedOptions, EmbeddedStore};

use super::tests::{cause, causes, invalid, metadata, Cause, LABEL_VALUE, QUALIFIED, SUBDOMAIN};
use super::{finalizer_warnings, path_segment_name, validate};
use crate::delete::{DeleteOptions, Deleted};
use crate::errors::ApiError;
use crate::generic::{GenericStore, Subresource, WriteOptions};
use crate::resource::{Resource, ResourceDefinition, Scope};
use crate::strategy::SchemalessStrategy;

async fn store(built_in: bool) -> (tempfile::TempDir, GenericStore, Resource) {
    let dir = tempfile::tempdir().unwrap();
    let embedded = EmbeddedStore::open(dir.path(), EmbeddedOptions::default()).unwrap();
    let store = GenericStore::new(Arc::new(embedded), Codec::plain(), "/registry");
    let mut def = ResourceDefinition::new(
        "fleet.k0rdent.io",
        "v1alpha1",
        "ClusterDeployment",
        "clusterdeployments",
        Scope::Namespaced,
    );
    def.strategic_merge_patch = built_in;
    let res = Resource {
        def,
        strategy: Arc::new(SchemalessStrategy),
    };
    (dir, store, res)
}

fn error_causes(error: ApiError) -> (u16, Vec<Cause>) {
    let code = error.code();
    let details = error.status().details.clone().unwrap_or_default();
    let causes = details
        .causes
        .into_iter()
        .map(|c| (c.field, c.reason, c.message))
        .collect();
    (code, causes)
}

#[tokio::test]
async fn invalid_metadata_is_a_422_even_when_the_name_is_taken() {
    let (_dir, store, res) = store(false).await;
    let ns = Some("team-a");
    let options = WriteOptions::default();
    store
        .create(&res, ns, metadata(json!({})), &options)
        .await
        .unwrap();
    let again = metadata(json!({"labels": {"-bad": ""}}));
    let error = store.create(&res, ns, again, &options).await.unwrap_err();
    assert_eq!(
        error_causes(error),
        (
            422,
            vec![invalid(
                "metadata.labels",
                &format!("Invalid value: \"-bad\": name part {QUALIFIED}"),
            )]
        )
    );
    let dry_run = WriteOptions {
        dry_run: true,
        ..WriteOptions::default()
    };
    let again = metadata(json!({"finalizers": ["bad finalizer"]}));
    let error = store.create(&res, ns, again, &dry_run).await.unwrap_err();
    assert_eq!(error.code(), 422);
}

#[tokio::test]
async fn a_bad_generate_name_is_reported_with_the_generated_name() {
    let (_dir, store, res) = store(false).await;
    let obj = metadata(json!({"name": null, "generateName": "Web_"}));
    let error = store
        .create(&res, Some("team-a"), obj, &WriteOptions::default())
        .await
        .unwrap_err();
    let (code, causes) = error_causes(error);
    assert_eq!(code, 422);
    assert_eq!(
        causes[0],
        invalid(
            "metadata.generateName",
            &format!("Invalid value: \"Web_\": {SUBDOMAIN}"),
        )
    );
    assert_eq!(causes[1].0, "metadata.name");
    assert!(
        causes[1].2.starts_with("Invalid value: \"Web_"),
        "{causes:?}"
    );
    assert_eq!(causes.len(), 2);
}

#[tokio::test]
async fn updates_report_metadata_errors_as_often_as_upstream() {
    let (_dir, store, res) = store(false).await;
    let ns = Some("team-a");
    let options = WriteOptions::default();
    let created = store
        .create(&res, ns, metadata(json!({})), &options)
        .await
        .unwrap()
        .object;
    let mut bad = created.clone();
    bad["metadata"]["labels"] = json!({"env": "-x"});
    bad["metadata"]["finalizers"] = json!(["bad finalizer"]);
    let error = store
        .update(&res, ns, "web", bad, Subresource::Main, &options)
        .await
        .unwrap_err();
    let label = invalid(
        "metadata.labels",
        &format!("Invalid value: \"-x\": {LABEL_VALUE}"),
    );
    let finalizer = invalid(
        "metadata.finalizers",
        &format!("Invalid value: \"bad finalizer\": name part {QUALIFIED}"),
    );
    // validateCommonFields (create rules, then update rules), then the kind's update rules.
    assert_eq!(
        error_causes(error),
        (422, vec![label.clone(), finalizer, label.clone(), label])
    );

    let mut marked = created.clone();
    marked["metadata"]["deletionTimestamp"] = json!("2026-03-04T05:06:07Z");
    let error = store
        .update(&res, ns, "web", marked, Subresource::Main, &options)
        .await
        .unwrap_err();
    let immutable = invalid(
        "metadata.deletionTimestamp",
        "Invalid value: 2026-03-04 05:06:07 +0000 UTC: field is immutable",
    );
    assert_eq!(
        error_causes(error),
        (422, vec![immutable.clone(), immutable])
    );
}

#[tokio::test]
async fn deleting_objects_keep_their_marks_and_refuse_new_finalizers() {
    let (_dir, store, res) = store(false).await;
    let ns = Some("team-a");
    let options = WriteOptions::default();
    let obj = metadata(json!({"finalizers": ["example.com/hold"]}));
    store.create(&res, ns, obj, &options).await.unwrap();
    let Deleted::Pending(marked) = store
        .delete(&res, ns, "web", &DeleteOptions::default())
        .await
        .unwrap()
    else {
        panic!("held by its finalizer");
    };
    // A body without the marks keeps them.
    let mut unmarked = marked.clone();
    let meta = unmarked["metadata"].as_object_mut().unwrap();
    meta.remove("deletionTimestamp");
    meta.remove("deletionGracePeriodSeconds");
    meta.insert("labels".into(), json!({"env": "prod"}));
    let written = store
        .update(&res, ns, "web", unmarked, Subresource::Main, &options)
        .await
        .unwrap()
        .object;
    assert_eq!(
        written["metadata"]["deletionTimestamp"],
        marked["metadata"]["deletionTimestamp"]
    );
    assert_eq!(written["metadata"]["deletionGracePeriodSeconds"], 0);
    let mut more = written.clone();
    more["metadata"]["finalizers"] = json!(["example.com/hold", "x/y"]);
    let error = store
        .update(&res, ns, "web", more, Subresource::Main, &options)
        .await
        .unwrap_err();
    let forbidden = cause(
        "metadata.finalizers",
        "FieldValueForbidden",
        "Forbidden: no new finalizers can be added if the object is being deleted, found new \
         finalizers []string{\"x/y\"}",
    );
    assert_eq!(
        error_causes(error),
        (422, vec![forbidden.clone(), forbidden])
    );
}

#[tokio::test]
async fn custom_kinds_warn_about_finalizers_without_a_domain_and_built_in_kinds_refuse_them() {
    let (_dir, custom, res) = store(false).await;
    let ns = Some("team-a");
    let options = WriteOptions::default();
    let obj = metadata(json!({"finalizers": ["hold"]}));
    let created = custom.create(&res, ns, obj, &options).await.unwrap();
    assert_eq!(
        created.warnings,
        [
            "metadata.finalizers: \"hold\": prefer a domain-qualified finalizer name to avoid \
          accidental conflicts with other finalizer writers"
        ]
    );
    let mut more = created.object.clone();
    more["metadata"]["finalizers"] = json!(["hold", "keep.example.com"]);
    let updated = custom
        .update(&res, ns, "web", more, Subresource::Main, &options)
        .await
        .unwrap();
    assert_eq!(updated.warnings.len(), 1);

    // pkg/apis/core/validation `validateKubeFinalizerName`: built-in kinds refuse a finalizer
    // without a `/` that is not a standard one, and warn about nothing.
    let (_built_in_dir, built_in, res) = store(true).await;
    let obj = metadata(json!({"finalizers": ["hold", "orphan", "example.com/keep"]}));
    let error = built_in.create(&res, ns, obj, &options).await.unwrap_err();
    assert_eq!(
        error_causes(error),
        (
            422,
            vec![cause(
                "metadata.finalizers[0]",
                "FieldValueInvalid",
                "Invalid value: \"hold\": name is neither a standard finalizer name nor is it fully qualified"
            )]
        )
    );
    let obj = metadata(json!({"finalizers": ["example.com/keep"]}));
    let created = built_in.create(&res, ns, obj, &options).await.unwrap();
    assert!(created.warnings.is_empty());
}

/// Labels and annotations of `metadata:` blocks in a YAML file with two-space indentation
/// (the examples), as a JSON object per document.
fn example_metadata(yaml: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut section: Option<String> = None;
    let mut in_metadata = false;
    for line in yaml.lines() {
        if line == "metadata:" {
            in_metadata = true;
            out.push(json!({"name": "example"}));
            continue;
        }
        if !line.starts_with(' ') {
            in_metadata = false;
        }
        if !in_metadata {
            continue;
        }
        let current = out.last_mut().unwrap();
        if let Some(field) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':')) {
            section = Some(field.to_owned());
            current[field] = json!({});
        } else if let (Some(field), Some(entry)) = (&section, line.strip_prefix("    ")) {
            let (key, value) = entry.split_once(": ").unwrap();
            current[field][key] = json!(value.trim_matches('"'));
        } else {
            section = None;
        }
    }
    out
}

#[test]
fn everything_the_project_writes_has_valid_metadata() {
    let mut objects: Vec<(String, Value)> = Vec::new();
    for role in crate::rbac::bootstrap::cluster_roles() {
        objects.push(("bootstrap ClusterRole".into(), role));
    }
    for binding in crate::rbac::bootstrap::cluster_role_bindings() {
        objects.push(("bootstrap ClusterRoleBinding".into(), binding));
    }
    objects.push((
        "default PriceList".into(),
        crate::fleet::pricelist::default_price_list(),
    ));
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples");
    for entry in std::fs::read_dir(examples).unwrap() {
        let path = entry.unwrap().path();
        let yaml = std::fs::read_to_string(&path).unwrap();
        for metadata in example_metadata(&yaml) {
            objects.push((path.display().to_string(), json!({"metadata": metadata})));
        }
    }
    let last_applied = crate::fieldmanager::lastapplied::LAST_APPLIED;
    let applied = json!({"metadata": {"name": "x", "annotations": {last_applied: "{}\n"}}});
    objects.push(("last-applied annotation".into(), applied));
    assert!(objects.len() > 20, "{}", objects.len());
    for (what, obj) in objects {
        let errors = validate(&obj, false, &path_segment_name);
        assert_eq!(causes(&errors), Vec::<Cause>::new(), "{what}: {obj}");
        assert_eq!(
            finalizer_warnings(&obj, None),
            Vec::<String>::new(),
            "{what}"
        );
    }
}
