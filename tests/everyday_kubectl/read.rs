//! Reading with kubectl: server-side columns, `-o wide`, `--sort-by`, `--show-labels`, `-L`,
//! `-l`, `explain`, and the OpenAPI documents behind them.

use serde_json::{json, Value};

use super::{create, first_column, json, start};
use crate::support::{Backend, Kubectl};
use crate::support_everyday::cld_with;

/// What [`cells`] puts in place of an age.
const AGE: &str = "<age>";

/// A kubectl table cut into cells ([`crate::support::cells`]), each cell under AGE checked to
/// be an age and replaced by [`AGE`], so that rows compare exactly.
fn cells(text: &str) -> Vec<Vec<String>> {
    let mut rows = crate::support::cells(text);
    if let Some(age) = rows[0].iter().position(|name| name == "AGE") {
        for row in &mut rows[1..] {
            let cell = &row[age];
            assert!(
                cell.starts_with(|c: char| c.is_ascii_digit())
                    && (cell.ends_with('s') || cell.ends_with('m')),
                "an age: {cell:?} in\n{text}"
            );
            row[age] = AGE.to_owned();
        }
    }
    rows
}

/// Creates a ClusterDeployment in `default` and, when `status` is given, writes it through
/// `/status` as a controller does.
fn create_cld(kubectl: &Kubectl, name: &str, labels: Value, spec: Value, status: Option<Value>) {
    create(kubectl, &cld_with(name, labels, spec).to_string());
    if let Some(status) = status {
        let body = json!({ "status": status }).to_string();
        let out = kubectl.ok(&[
            "patch",
            "cld",
            name,
            "--subresource=status",
            "--type=merge",
            "-p",
            &body,
        ]);
        assert_eq!(
            out.trim(),
            format!("clusterdeployment.fleet.k0rdent.io/{name} patched")
        );
    }
}

/// A `Ready` condition as a controller writes it.
fn ready(status: &str, reason: &str, message: &str) -> Value {
    json!([{
        "type": "Ready",
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": "2025-01-01T00:00:00Z",
        "observedGeneration": 1,
    }])
}

pub(crate) fn get_prints_server_side_columns_wide_sorted_and_with_labels(
    backend: Backend,
    version: &str,
) {
    let Some((_server, kubectl)) = start(backend, version) else {
        return;
    };
    // Created out of order; `spec.template` sorts them the other way round. c is up with one
    // of its two services deployed, a is ready, b has no status yet.
    create_cld(
        &kubectl,
        "c",
        json!({"env": "prod"}),
        json!({
            "template": "aws-standalone-1-33",
            "credential": "aws-eu",
            "services": [
                {"name": "cert-manager", "template": "cert-manager-1-16-2"},
                {"name": "ingress-nginx", "template": "ingress-nginx-4-12-0",
                 "dependsOn": ["cert-manager"]},
            ],
        }),
        Some(json!({
            "phase": "Provisioned",
            "kubernetesVersion": "v1.33.2",
            "conditions": ready("False", "ServicesNotReady", "ingress-nginx: Provisioning"),
            "services": [
                {"name": "cert-manager", "state": "Deployed"},
                {"name": "ingress-nginx", "state": "Provisioning"},
            ],
        })),
    );
    create_cld(
        &kubectl,
        "a",
        json!({"env": "dev"}),
        json!({"template": "sim-1-33", "credential": "sim"}),
        Some(json!({
            "phase": "Provisioned",
            "kubernetesVersion": "v1.33.1",
            "conditions": ready("True", "ClusterReady", "the cluster and its services are up"),
        })),
    );
    create_cld(
        &kubectl,
        "b",
        json!({}),
        json!({"template": "gcp-standalone-1-32", "credential": "gcp-us-central1"}),
        None,
    );

    let plain = kubectl.ok(&["get", "cld"]);
    let header = [
        "NAME", "READY", "REASON", "TEMPLATE", "PHASE", "VERSION", "SERVICES", "AGE",
    ];
    let a = [
        "a",
        "True",
        "ClusterReady",
        "sim-1-33",
        "Provisioned",
        "v1.33.1",
        "0/0",
        AGE,
    ];
    let b = [
        "b",
        "Unknown",
        "",
        "gcp-standalone-1-32",
        "",
        "",
        "0/0",
        AGE,
    ];
    let c = [
        "c",
        "False",
        "ServicesNotReady",
        "aws-standalone-1-33",
        "Provisioned",
        "v1.33.2",
        "1/2",
        AGE,
    ];
    assert_eq!(cells(&plain), [header, a, b, c], "{plain}");

    let wide = kubectl.ok(&["get", "cld", "-o", "wide"]);
    assert_eq!(
        cells(&wide),
        [
            [&header[..], &["CREDENTIAL", "MESSAGE"]].concat(),
            [&a[..], &["sim", "the cluster and its services are up"]].concat(),
            [&b[..], &["gcp-us-central1", ""]].concat(),
            [&c[..], &["aws-eu", "ingress-nginx: Provisioning"]].concat(),
        ],
        "{wide}"
    );

    let by_name = kubectl.ok(&["get", "cld", "--sort-by=.metadata.name"]);
    assert_eq!(cells(&by_name), [header, a, b, c], "{by_name}");
    // Sorting on a spec field needs the whole objects in the table (includeObject=Object).
    let by_template = kubectl.ok(&["get", "cld", "--sort-by=.spec.template"]);
    assert_eq!(cells(&by_template), [header, c, b, a], "{by_template}");

    let labels = kubectl.ok(&["get", "cld", "--show-labels"]);
    assert_eq!(
        cells(&labels),
        [
            [&header[..], &["LABELS"]].concat(),
            [&a[..], &["env=dev"]].concat(),
            [&b[..], &["<none>"]].concat(),
            [&c[..], &["env=prod"]].concat(),
        ],
        "{labels}"
    );

    let column = kubectl.ok(&["get", "cld", "-L", "env"]);
    assert_eq!(
        cells(&column),
        [
            [&header[..], &["ENV"]].concat(),
            [&a[..], &["dev"]].concat(),
            [&b[..], &[""]].concat(),
            [&c[..], &["prod"]].concat(),
        ],
        "b has no env label: {column}"
    );

    let everywhere = kubectl.ok(&["get", "cld", "-A", "-L", "env"]);
    assert_eq!(
        cells(&everywhere),
        [
            [&["NAMESPACE"][..], &header, &["ENV"]].concat(),
            [&["default"][..], &a, &["dev"]].concat(),
            [&["default"][..], &b, &[""]].concat(),
            [&["default"][..], &c, &["prod"]].concat(),
        ],
        "{everywhere}"
    );

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

/// The property names of an OpenAPI object schema, sorted.
fn properties(schema: &Value) -> Vec<&str> {
    let mut names: Vec<&str> = schema["properties"]
        .as_object()
        .map(|p| p.keys().map(String::as_str).collect())
        .unwrap_or_default();
    names.sort_unstable();
    names
}

/// The ClusterDeployment schema is typed (`docs/api.md`): the spec's fields and the required
/// ones, the free-form objects kept whole, the status fields and the phase enum.
fn assert_typed_schema(kind: &Value) {
    assert_eq!(kind["required"], json!(["spec"]), "{kind}");
    assert_eq!(
        kind["properties"]["metadata"]["allOf"][0]["$ref"],
        "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    );
    let spec = &kind["properties"]["spec"];
    assert_eq!(spec["type"], "object", "{spec}");
    assert_eq!(
        spec["required"],
        json!(["template", "credential"]),
        "{spec}"
    );
    assert_eq!(
        properties(spec),
        [
            "config",
            "credential",
            "dryRun",
            "paused",
            "services",
            "template"
        ],
        "{spec}"
    );
    let field = |name: &str| &spec["properties"][name];
    for name in ["template", "credential"] {
        assert_eq!(field(name)["type"], "string", "{name}: {spec}");
    }
    for name in ["dryRun", "paused"] {
        assert_eq!(field(name)["type"], "boolean", "{name}: {spec}");
    }
    let config = field("config");
    assert_eq!(config["type"], "object", "{config}");
    assert_eq!(
        config["x-kubernetes-preserve-unknown-fields"], true,
        "{config}"
    );
    let service = &field("services")["items"];
    assert_eq!(field("services")["type"], "array", "{spec}");
    assert_eq!(
        service["required"],
        json!(["name", "template"]),
        "{service}"
    );
    assert_eq!(
        properties(service),
        ["dependsOn", "name", "namespace", "template", "values"],
        "{service}"
    );
    assert_eq!(
        service["properties"]["values"]["x-kubernetes-preserve-unknown-fields"], true,
        "{service}"
    );

    let status = &kind["properties"]["status"];
    assert_eq!(
        properties(status),
        [
            "availableUpgrades",
            "conditions",
            "controlPlane",
            "kubernetesVersion",
            "observedGeneration",
            "phase",
            "services",
            "workers"
        ],
        "{status}"
    );
    assert_eq!(
        status["properties"]["phase"]["enum"],
        json!([
            "Pending",
            "Provisioning",
            "Provisioned",
            "Upgrading",
            "Deleting",
            "Failed"
        ]),
        "{status}"
    );
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
    assert_typed_schema(kind);

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
        for wanted in ["fieldValidation", "dryRun", "fieldManager"] {
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
                "application/apply-patch+yaml",
                "application/json-patch+json",
                "application/merge-patch+json"
            ],
            "only the patch types really served (no strategic merge for a custom kind): {path}"
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
