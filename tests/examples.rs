//! Every file of `examples/` applies together on a fresh `fleet-apiserver up` (in any order:
//! objects may name templates and credentials that arrive later), and every object reads back
//! with the spec and labels of its file, as `kubectl get k0rdent -A` lists them.

mod support;

use serde_json::Value;
use support::{example_files, Backend, Kubectl, TestServer};

#[test]
fn every_example_applies_and_reads_back_with_its_spec_and_labels() {
    let Some(server) = TestServer::start(Backend::Embedded) else {
        return;
    };
    let Some(kubectl) = Kubectl::new("1.33", &server.kubeconfig()) else {
        return;
    };
    kubectl.ok(&["apply", "-f", "examples/"]);
    let files = example_files(&[]);
    let mut names = Vec::new();
    for file in &files {
        for wanted in kubectl.objects_of(file) {
            let kind = wanted["kind"].as_str().expect("a kind").to_lowercase();
            let name = wanted["metadata"]["name"].as_str().expect("a name");
            let mut args = vec!["get", &kind, name, "-o", "json"];
            let namespace = wanted["metadata"]["namespace"].as_str();
            if let Some(namespace) = namespace {
                args.extend(["-n", namespace]);
            }
            let stored: Value = serde_json::from_str(&kubectl.ok(&args)).expect("JSON");
            // Defaults may add to the spec; everything the file says is kept as it says it.
            assert_contains(
                &stored["spec"],
                &wanted["spec"],
                &format!("{file}: {kind}/{name}"),
            );
            assert_contains(
                &stored["metadata"]["labels"],
                &wanted["metadata"]["labels"],
                &format!("{file}: {kind}/{name} labels"),
            );
            names.push(format!("{kind}.fleet.k0rdent.io/{name}"));
        }
    }
    assert!(files.len() >= 10, "{files:?}");
    let listed = kubectl.ok(&["get", "k0rdent", "-A", "-o", "name"]);
    for name in &names {
        assert!(
            listed.lines().any(|l| l == name),
            "{name} not in:\n{listed}"
        );
    }
}

/// `actual` has every field of `wanted` with the same value (objects may have more fields).
fn assert_contains(actual: &Value, wanted: &Value, what: &str) {
    match (actual, wanted) {
        (_, Value::Null) => {}
        (Value::Object(actual), Value::Object(wanted)) => {
            for (key, value) in wanted {
                let inner = actual.get(key).unwrap_or(&Value::Null);
                assert_contains(inner, value, &format!("{what}.{key}"));
            }
        }
        _ => assert_eq!(actual, wanted, "{what}"),
    }
}
