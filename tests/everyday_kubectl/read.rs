//! Reading with kubectl: server-side columns, `-o wide`, `--sort-by`, `--show-labels`, `-L`,
//! `-l`, `explain`, and the OpenAPI documents behind them.

use serde_json::{json, Value};

use super::{cld_yaml, create, first_column, json, start, table};
use crate::support::Backend;

/// The spec line a field `order` goes before.
const SPEC: &str = "  credential:";

/// `order: "N"` and the line it goes before.
fn ordered(order: u8) -> String {
    format!("  order: \"{order}\"\n{SPEC}")
}

pub(crate) fn get_prints_server_side_columns_wide_sorted_and_with_labels(
    backend: Backend,
    version: &str,
) {
    let Some((_server, kubectl)) = start(backend, version) else {
        return;
    };
    // Created out of order; `spec.order` sorts them the other way round.
    create(
        &kubectl,
        &cld_yaml("c", "t1", "  labels:\n    env: prod\n").replace(SPEC, &ordered(1)),
    );
    create(
        &kubectl,
        &cld_yaml("a", "t1", "  labels:\n    env: dev\n").replace(SPEC, &ordered(3)),
    );
    create(
        &kubectl,
        &cld_yaml("b", "t1", "").replace(SPEC, &ordered(2)),
    );

    let plain = kubectl.ok(&["get", "cld"]);
    let rows = table(&plain);
    assert_eq!(rows[0], ["NAME", "AGE"], "{plain}");
    assert_eq!(first_column(&plain), ["a", "b", "c"], "{plain}");
    for row in &rows[1..] {
        assert_eq!(row.len(), 2, "{plain}");
        assert!(
            row[1].ends_with('s') || row[1].ends_with('m'),
            "an age: {plain}"
        );
    }

    let wide = kubectl.ok(&["get", "cld", "-o", "wide"]);
    assert_eq!(
        table(&wide)[0],
        ["NAME", "AGE"],
        "no priority columns: {wide}"
    );
    assert_eq!(first_column(&wide), ["a", "b", "c"], "{wide}");

    let by_name = kubectl.ok(&["get", "cld", "--sort-by=.metadata.name"]);
    assert_eq!(table(&by_name)[0], ["NAME", "AGE"], "{by_name}");
    assert_eq!(first_column(&by_name), ["a", "b", "c"], "{by_name}");
    // Sorting on a spec field needs the whole objects in the table (includeObject=Object).
    let by_order = kubectl.ok(&["get", "cld", "--sort-by=.spec.order"]);
    assert_eq!(first_column(&by_order), ["c", "b", "a"], "{by_order}");

    let labels = kubectl.ok(&["get", "cld", "--show-labels"]);
    let rows = table(&labels);
    assert_eq!(rows[0], ["NAME", "AGE", "LABELS"], "{labels}");
    assert_eq!(rows[1][0], "a");
    assert_eq!(rows[1][2], "env=dev", "{labels}");
    assert_eq!(rows[2][2], "<none>", "{labels}");
    assert_eq!(rows[3][2], "env=prod", "{labels}");

    let column = kubectl.ok(&["get", "cld", "-L", "env"]);
    let rows = table(&column);
    assert_eq!(rows[0], ["NAME", "AGE", "ENV"], "{column}");
    assert_eq!(rows[1][2], "dev", "{column}");
    assert_eq!(rows[2].len(), 2, "b has no env label: {column}");
    assert_eq!(rows[3][2], "prod", "{column}");

    let everywhere = kubectl.ok(&["get", "cld", "-A", "-L", "env"]);
    let rows = table(&everywhere);
    assert_eq!(rows[0], ["NAMESPACE", "NAME", "AGE", "ENV"], "{everywhere}");
    assert_eq!(rows[1][..2], ["default", "a"], "{everywhere}");

    let selected = kubectl.ok(&["get", "cld", "-l", "env=prod"]);
    assert_eq!(first_column(&selected), ["c"], "{selected}");
}

pub(crate) fn explain_describes_the_kind_and_its_spec_recursively(backend: Backend, version: &str) {
    let Some((_server, kubectl)) = start(backend, version) else {
        return;
    };
    let spec = kubectl.ok(&["explain", "clusterdeployment.spec", "--recursive"]);
    assert!(
        spec.lines()
            .any(|l| l.trim() == "KIND:       ClusterDeployment"),
        "{spec}"
    );
    assert!(spec.contains("GROUP:      fleet.k0rdent.io"), "{spec}");
    assert!(spec.contains("FIELD: spec <Object>"), "{spec}");
    let kind = kubectl.ok(&["explain", "cld"]);
    assert!(
        kind.contains("A wanted cluster"),
        "the schema's description: {kind}"
    );
    for field in ["apiVersion", "kind", "metadata", "spec", "status"] {
        assert!(
            kind.lines()
                .any(|l| l.trim_start().starts_with(&format!("{field}\t"))),
            "{field} in:\n{kind}"
        );
    }
}

/// The names of an OpenAPI operation's parameters.
pub(crate) fn parameter_names(operation: &Value) -> Vec<&str> {
    operation["parameters"]
        .as_array()
        .map(|p| p.iter().filter_map(|p| p["name"].as_str()).collect())
        .unwrap_or_default()
}

pub(crate) fn openapi_v3_documents_the_kind_and_the_patch_parameters(
    backend: Backend,
    version: &str,
) {
    let Some((_server, kubectl)) = start(backend, version) else {
        return;
    };
    let root = json(&kubectl.ok(&["get", "--raw", "/openapi/v3"]));
    let url = root["paths"]["apis/fleet.k0rdent.io/v1alpha1"]["serverRelativeURL"]
        .as_str()
        .unwrap_or_else(|| panic!("the group-version is listed: {root}"));
    assert!(
        url.starts_with("/openapi/v3/apis/fleet.k0rdent.io/v1alpha1?hash="),
        "{url}"
    );
    let document = json(&kubectl.ok(&["get", "--raw", url]));
    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.")),
        "{}",
        document["openapi"]
    );
    let schemas = &document["components"]["schemas"];
    let kind = &schemas["io.k0rdent.fleet.v1alpha1.ClusterDeployment"];
    assert_eq!(
        kind["x-kubernetes-group-version-kind"],
        json!([{"group": "fleet.k0rdent.io", "version": "v1alpha1", "kind": "ClusterDeployment"}]),
        "{kind}"
    );
    let list = &schemas["io.k0rdent.fleet.v1alpha1.ClusterDeploymentList"];
    assert_eq!(
        list["x-kubernetes-group-version-kind"][0]["kind"], "ClusterDeploymentList",
        "{list}"
    );

    let object = "/apis/fleet.k0rdent.io/v1alpha1/namespaces/{namespace}/clusterdeployments/{name}";
    for path in [object.to_owned(), format!("{object}/status")] {
        let operation = &document["paths"][&path]["patch"];
        assert_eq!(
            operation["x-kubernetes-action"], "patch",
            "{path}: {operation}"
        );
        assert_eq!(
            operation["x-kubernetes-group-version-kind"]["kind"], "ClusterDeployment",
            "{path}: {operation}"
        );
        let parameters = parameter_names(operation);
        for wanted in ["fieldValidation", "dryRun"] {
            assert!(
                parameters.contains(&wanted),
                "{path}: {wanted} in {parameters:?}"
            );
        }
        let mut types: Vec<&str> = operation["requestBody"]["content"]
            .as_object()
            .map(|c| c.keys().map(String::as_str).collect())
            .unwrap_or_default();
        types.sort_unstable();
        assert_eq!(
            types,
            [
                "application/json-patch+json",
                "application/merge-patch+json"
            ],
            "only the patch types really served: {path}"
        );
    }
    let collection = "/apis/fleet.k0rdent.io/v1alpha1/namespaces/{namespace}/clusterdeployments";
    let create_operation = &document["paths"][collection]["post"];
    assert_eq!(create_operation["x-kubernetes-action"], "post");
    let parameters = parameter_names(create_operation);
    assert!(parameters.contains(&"fieldValidation"), "{parameters:?}");
    assert!(parameters.contains(&"dryRun"), "{parameters:?}");

    let v2 = json(&kubectl.ok(&["get", "--raw", "/openapi/v2"]));
    assert_eq!(v2["swagger"], "2.0");
    assert!(
        v2["definitions"]["io.k0rdent.fleet.v1alpha1.ClusterDeployment"].is_object(),
        "the v2 document has the kind"
    );
}
