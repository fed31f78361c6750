//! ClusterTemplate and ServiceTemplate end to end (issue #7): a table of invalid objects, each
//! refused with its exact 422 causes and nothing written; immutable specs and status only
//! through `/status`; and through kubectl 1.33 the examples applied and read back equal, the
//! sim template's manifests rendered, the columns, field selectors, warnings and `explain`.

mod support;

use serde_json::{json, Value};
use support::invalid::{
    self, case, Case, Resource, Write, DUPLICATE, INVALID, NOT_SUPPORTED, REQUIRED,
};
use support::{example_files, send_ok, Backend, Kubectl, Raw, TestServer, API_VERSION};

const CTPLS: &str = "/apis/fleet.k0rdent.io/v1alpha1/namespaces/default/clustertemplates";
const STPLS: &str = "/apis/fleet.k0rdent.io/v1alpha1/namespaces/default/servicetemplates";

const LABEL_RULES: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const NAME_RULES: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const SEMVER_RULES: &str = "must be a semantic version MAJOR.MINOR.PATCH, optionally prefixed with 'v' and followed by -PRERELEASE and +BUILD (e.g. '1.0.0', 'v1.16.2' or '4.12.0-rc.1')";

/// The two template kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Cluster,
    Service,
}

impl Resource for Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Cluster => "ClusterTemplate",
            Kind::Service => "ServiceTemplate",
        }
    }

    fn collection(self) -> &'static str {
        match self {
            Kind::Cluster => CTPLS,
            Kind::Service => STPLS,
        }
    }

    fn object(self, name: &str, spec: Value) -> Value {
        json!({
            "apiVersion": API_VERSION,
            "kind": self.name(),
            "metadata": {"name": name, "namespace": "default"},
            "spec": spec,
        })
    }
}

fn helm() -> Value {
    json!({"helm": {"chart": "aws-standalone-cp", "version": "1.0.0",
                    "repository": "oci://ghcr.io/k0rdent/kcm/charts"}})
}

/// A valid ClusterTemplate spec.
fn cluster_spec() -> Value {
    json!({
        "provider": "aws",
        "kubernetesVersion": "v1.33.2",
        "source": helm(),
        "configSchema": {"type": "object", "properties": {"region": {"type": "string"}}},
        "upgradeTo": ["aws-1-34"],
    })
}

/// A valid ServiceTemplate spec.
fn service_spec() -> Value {
    json!({
        "version": "1.0.0",
        "source": {"inline": {"manifests": "kind: ConfigMap\nmetadata: {name: {{ values.name }}}\n"}},
        "valuesSchema": {"type": "object"},
    })
}

/// `base` with `field` replaced (`null` removes it).
fn with(base: Value, field: &str, value: Value) -> Value {
    let mut spec = base;
    if value.is_null() {
        spec.as_object_mut().expect("a spec").remove(field);
    } else {
        spec[field] = value;
    }
    spec
}

#[rustfmt::skip] // One row per case reads best.
fn cases() -> Vec<Case<Kind>> {
    use Kind::{Cluster, Service};
    let ct = |field: &str, value: Value| Write::Create(Cluster, with(cluster_spec(), field, value));
    let st = |field: &str, value: Value| Write::Create(Service, with(service_spec(), field, value));
    let helm_with = |field: &str, value: Value| {
        let mut source = helm();
        source["helm"][field] = value;
        if source["helm"][field].is_null() {
            source["helm"].as_object_mut().expect("helm").remove(field);
        }
        source
    };
    vec![
        case("both helm and inline", ct("source", json!({"helm": helm()["helm"], "inline": {"manifests": "x"}})), &[
            (INVALID, "spec.source", "Invalid value: \"{helm, inline}\": must specify exactly one of: `helm`, `inline`"),
        ]),
        case("neither helm nor inline", ct("source", json!({})), &[
            (INVALID, "spec.source", "Invalid value: \"\": must specify one of: `helm`, `inline`"),
        ]),
        case("no source", st("source", Value::Null), &[
            (REQUIRED, "spec.source", "Required value"),
        ]),
        case("a Kubernetes version without v and patch", ct("kubernetesVersion", json!("1.33")), &[
            (INVALID, "spec.kubernetesVersion", "Invalid value: \"1.33\": a Kubernetes version must be of the form vMAJOR.MINOR.PATCH (e.g. 'v1.33.1', regex used for validation is 'v(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)')"),
        ]),
        case("no provider", ct("provider", Value::Null), &[
            (REQUIRED, "spec.provider", "Required value"),
        ]),
        case("a provider that is not a label", ct("provider", json!("AWS")), &[
            (INVALID, "spec.provider", &format!("Invalid value: \"AWS\": {LABEL_RULES}")),
        ]),
        case("a provider of the wrong type", ct("provider", json!(12)), &[
            (INVALID, "spec.provider", "Invalid value: \"integer\": spec.provider in body must be of type string: \"integer\""),
        ]),
        case("a repository that is not a Helm URL", ct("source", helm_with("repository", json!("ghcr.io/k0rdent/kcm/charts"))), &[
            (INVALID, "spec.source.helm.repository", "Invalid value: \"ghcr.io/k0rdent/kcm/charts\": must be a URL with scheme oci://, https:// or http:// (e.g. 'oci://ghcr.io/k0rdent/kcm/charts')"),
        ]),
        case("a chart without version", ct("source", helm_with("version", Value::Null)), &[
            (REQUIRED, "spec.source.helm.version", "Required value"),
        ]),
        case("a chart version range", st("source", helm_with("version", json!("^1.0.0"))), &[
            (INVALID, "spec.source.helm.version", &format!("Invalid value: \"^1.0.0\": {SEMVER_RULES}")),
        ]),
        case("a template syntax error", ct("source", json!({"inline": {"manifests": "kind: Cluster\nmetadata:\n  name: {{ cluster.name }\n"}})), &[
            (INVALID, "spec.source.inline.manifests", "Invalid value: syntax error: unexpected `}`, expected end of variable block (line 3)"),
        ]),
        case("empty inline manifests", st("source", json!({"inline": {"manifests": ""}})), &[
            (REQUIRED, "spec.source.inline.manifests", "Required value"),
        ]),
        case("a configSchema that is not a schema", ct("configSchema", json!({"type": 12})), &[
            (NOT_SUPPORTED, "spec.configSchema.type", "Unsupported value: 12: supported values: \"array\", \"boolean\", \"integer\", \"null\", \"number\", \"object\", \"string\""),
        ]),
        case("a configSchema with bad keywords", ct("configSchema", json!({"required": "region", "properties": {"workers": {"minimum": "one"}}})), &[
            (INVALID, "spec.configSchema.properties[workers].minimum", "Invalid value: \"one\": \"one\" is not of type \"number\""),
            (INVALID, "spec.configSchema.required", "Invalid value: \"region\": \"region\" is not of type \"array\""),
        ]),
        case("a configSchema with a dangling $ref", ct("configSchema", json!({"$ref": "#/definitions/config"})), &[
            (INVALID, "spec.configSchema", "Invalid value: the schema does not compile: Pointer '/definitions/config' does not exist"),
        ]),
        case("a valuesSchema of an unknown dialect", st("valuesSchema", json!({"$schema": "https://example.com/my-schema"})), &[
            (NOT_SUPPORTED, "spec.valuesSchema.$schema", "Unsupported value: \"https://example.com/my-schema\": supported values: \"http://json-schema.org/draft-07/schema#\", \"http://json-schema.org/draft-06/schema#\", \"http://json-schema.org/draft-04/schema#\", \"https://json-schema.org/draft/2019-09/schema\", \"https://json-schema.org/draft/2020-12/schema\""),
        ]),
        case("upgrade targets that are not names", ct("upgradeTo", json!(["aws_1_34"])), &[
            (INVALID, "spec.upgradeTo[0]", &format!("Invalid value: \"aws_1_34\": {NAME_RULES}")),
        ]),
        case("duplicate upgrade targets", ct("upgradeTo", json!(["aws-1-34", "aws-1-35", "aws-1-34"])), &[
            (DUPLICATE, "spec.upgradeTo[2]", "Duplicate value: \"aws-1-34\""),
        ]),
        // Case 18 is created as `case-18`.
        case("an upgrade to itself", Write::Create(Cluster, with(cluster_spec(), "upgradeTo", json!(["case-18"]))), &[
            (INVALID, "spec.upgradeTo[0]", "Invalid value: \"case-18\": a template cannot be upgraded to itself"),
        ]),
        case("no service version", st("version", Value::Null), &[
            (REQUIRED, "spec.version", "Required value"),
        ]),
        case("a service version that is not semantic", st("version", json!("latest")), &[
            (INVALID, "spec.version", &format!("Invalid value: \"latest\": {SEMVER_RULES}")),
        ]),
        case("a changed ClusterTemplate spec", Write::Update(Cluster, json!({"kubernetesVersion": "v1.33.3"})), &[
            (INVALID, "spec", "Invalid value: \"object\": field is immutable"),
        ]),
        case("a changed ServiceTemplate spec", Write::Update(Service, json!({"valuesSchema": {"type": "object", "required": ["name"]}})), &[
            (INVALID, "spec", "Invalid value: \"object\": field is immutable"),
        ]),
        case("a status of the wrong types", Write::Status(Cluster, json!({"valid": "yes", "observedGeneration": -1})), &[
            (INVALID, "status.valid", "Invalid value: \"string\": status.valid in body must be of type boolean: \"string\""),
            (INVALID, "status.observedGeneration", "Invalid value: -1: must be greater than or equal to 0"),
        ]),
    ]
}

#[tokio::test]
async fn invalid_templates_are_refused_with_exact_causes_and_nothing_is_written() {
    let Some(server) = TestServer::start(Backend::Embedded) else {
        return;
    };
    let client = server.client().await;
    for (kind, spec) in [
        (Kind::Cluster, cluster_spec()),
        (Kind::Service, service_spec()),
    ] {
        let created = send_ok(
            &client,
            Raw::post(kind.collection()).json(&kind.object("base", spec.clone())),
            201,
        )
        .await;
        assert_eq!(created["spec"], spec, "stored as written");
    }

    let cases = cases();
    assert!(cases.len() >= 14);
    invalid::assert_each_refused(&client, cases).await;
}

#[tokio::test]
async fn status_is_written_only_through_the_status_subresource() {
    let Some(server) = TestServer::start(Backend::Embedded) else {
        return;
    };
    let client = server.client().await;
    let mut body = Kind::Cluster.object("base", cluster_spec());
    body["status"] = json!({"valid": true});
    let created = send_ok(&client, Raw::post(CTPLS).json(&body), 201).await;
    assert!(
        created.get("status").is_none(),
        "status dropped on create: {created}"
    );
    assert_eq!(created["metadata"]["generation"], 1);

    // The main resource keeps the stored status; an unchanged spec writes nothing.
    let mut sneaky = created.clone();
    sneaky["status"] = json!({"valid": true});
    let kept = send_ok(
        &client,
        Raw::put(&Kind::Cluster.path("base")).json(&sneaky),
        200,
    )
    .await;
    assert!(kept.get("status").is_none(), "{kept}");
    assert_eq!(
        kept["metadata"]["resourceVersion"],
        created["metadata"]["resourceVersion"]
    );

    // /status writes status only, whatever the body says about the spec.
    let mut observed = kept.clone();
    observed["status"] =
        json!({"valid": true, "message": "chart resolved", "observedGeneration": 1});
    observed["spec"]["provider"] = json!("gcp");
    let path = format!("{}/status", Kind::Cluster.path("base"));
    let written = send_ok(&client, Raw::put(&path).json(&observed), 200).await;
    assert_eq!(written["status"]["valid"], true);
    assert_eq!(written["spec"]["provider"], "aws");
    assert_eq!(written["metadata"]["generation"], 1);
}

/// The columns of `kubectl get` split on runs of spaces (cells here have none).
fn rows(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .map(|line| line.split_whitespace().map(str::to_owned).collect())
        .collect()
}

#[tokio::test]
async fn kubectl_applies_the_examples_and_shows_columns_fields_warnings_and_docs() {
    let Some(server) = TestServer::start(Backend::Embedded) else {
        return;
    };
    let Some(kubectl) = Kubectl::new("1.33", &server.kubeconfig()) else {
        return;
    };
    let client = server.client().await;

    // Every example applies and reads back equal; a second apply changes nothing.
    let files = example_files(&["clustertemplate-", "servicetemplate-"]);
    assert!(files.len() >= 7, "{files:?}");
    let mut applied = 0;
    for file in &files {
        let local = kubectl.objects_of(file);
        let out = kubectl.ok(&["apply", "-f", file]);
        assert_eq!(out.lines().count(), local.len(), "{file}: {out}");
        assert!(
            out.lines().all(|l| l.ends_with(" created")),
            "{file}: {out}"
        );
        for object in &local {
            let kind = object["kind"].as_str().expect("a kind").to_lowercase();
            let name = object["metadata"]["name"].as_str().expect("a name");
            let ns = object["metadata"]["namespace"]
                .as_str()
                .expect("a namespace");
            let stored = kubectl.ok(&["get", &kind, name, "-n", ns, "-o", "json"]);
            let stored: Value = serde_json::from_str(&stored).expect("kubectl's JSON");
            assert_eq!(stored["spec"], object["spec"], "{file}: {name}");
            assert_eq!(
                stored["metadata"]["labels"], object["metadata"]["labels"],
                "{file}"
            );
            assert!(stored.get("status").is_none(), "{file}: {stored}");
            applied += 1;
        }
        let again = kubectl.ok(&["apply", "-f", file]);
        assert!(
            again.lines().all(|l| l.ends_with(" unchanged")),
            "{file}: {again}"
        );
    }

    // The sim template renders Cluster API objects from a cluster and its config.
    let sim = kubectl.ok(&["get", "ctpl", "sim-1-33", "-o", "json"]);
    let sim: Value = serde_json::from_str(&sim).expect("kubectl's JSON");
    let manifests = sim["spec"]["source"]["inline"]["manifests"]
        .as_str()
        .expect("manifests");
    let context = json!({
        "cluster": {"name": "dev", "namespace": "default", "labels": {"env": "dev"}},
        "config": {"controlPlaneNumber": 3, "workersNumber": 5},
    });
    let rendered =
        registry::fleet::templatesource::render_manifests(manifests, &context).expect("renders");
    let kinds: Vec<&str> = rendered
        .lines()
        .filter_map(|l| l.strip_prefix("kind: "))
        .collect();
    assert_eq!(
        kinds,
        [
            "Cluster",
            "InMemoryCluster",
            "InMemoryMachineTemplate",
            "KubeadmControlPlane",
            "InMemoryMachineTemplate",
            "KubeadmConfigTemplate",
            "MachineDeployment"
        ],
        "{rendered}"
    );
    for line in [
        "  name: dev-cp",
        "  replicas: 3",
        "  replicas: 5",
        "  labels: {\"env\": \"dev\"}",
        "    topology.kubernetes.io/region: sim-east-1",
        "  clusterName: dev",
    ] {
        assert!(
            rendered.lines().any(|l| l == line),
            "{line:?} in:\n{rendered}"
        );
    }
    assert!(
        !rendered.starts_with('\n') && !rendered.contains("\n\n"),
        "{rendered}"
    );

    // Columns: no VALID before a controller checked the template.
    let table = rows(&kubectl.ok(&["get", "ctpl", "-A"]));
    assert_eq!(
        table[0],
        ["NAMESPACE", "NAME", "VALID", "PROVIDER", "VERSION", "AGE"]
    );
    // Cells without a value are empty (and vanish when a row is split on spaces).
    let aws = table
        .iter()
        .find(|r| r[1] == "aws-standalone-1-33")
        .expect("a row");
    assert_eq!(aws.len(), 5, "{aws:?}");
    assert_eq!(
        aws[..4],
        ["default", "aws-standalone-1-33", "aws", "v1.33.2"]
    );
    let mut checked = send_ok(
        &client,
        Raw::get(&Kind::Cluster.path("aws-standalone-1-33")),
        200,
    )
    .await;
    checked["status"] =
        json!({"valid": false, "message": "chart-not-found", "observedGeneration": 1});
    let path = format!("{}/status", Kind::Cluster.path("aws-standalone-1-33"));
    send_ok(&client, Raw::put(&path).json(&checked), 200).await;
    let wide = rows(&kubectl.ok(&["get", "ctpl", "-o", "wide"]));
    assert_eq!(
        wide[0],
        ["NAME", "VALID", "PROVIDER", "VERSION", "AGE", "SOURCE", "MESSAGE"]
    );
    let aws = wide
        .iter()
        .find(|r| r[0] == "aws-standalone-1-33")
        .expect("a row");
    assert_eq!(aws[..4], ["aws-standalone-1-33", "false", "aws", "v1.33.2"]);
    assert_eq!(aws[5..], ["helm", "chart-not-found"]);
    let sim = wide.iter().find(|r| r[0] == "sim-1-33").expect("a row");
    assert_eq!(sim.len(), 5, "{sim:?}");
    assert_eq!(sim[1..3], ["sim", "v1.33.1"]);
    assert_eq!(sim[4], "inline");

    let table = rows(&kubectl.ok(&["get", "stpl", "-A"]));
    assert_eq!(
        table[0],
        ["NAMESPACE", "NAME", "VALID", "VERSION", "SOURCE", "AGE"]
    );
    let podinfo = table
        .iter()
        .find(|r| r[1] == "podinfo-6-7-1")
        .expect("a row");
    assert_eq!(podinfo[2..4], ["6.7.1", "inline"]);
    let nginx = table
        .iter()
        .find(|r| r[1] == "ingress-nginx-4-12-0")
        .expect("a row");
    assert_eq!(nginx[2..4], ["4.12.0", "helm"]);

    // Both kinds are in the k0rdent category.
    let all = kubectl.ok(&["get", "k0rdent", "-A", "-o", "name"]);
    let ours = all
        .lines()
        .filter(|l| l.starts_with("clustertemplate.") || l.starts_with("servicetemplate."))
        .count();
    assert_eq!(ours, applied, "{all}");

    // Field selectors on the declared fields.
    let names = |resource: &str, selector: &str| {
        let out = kubectl.ok(&[
            "get",
            resource,
            "-A",
            "--field-selector",
            selector,
            "-o",
            "name",
        ]);
        out.lines().map(str::to_owned).collect::<Vec<_>>()
    };
    assert_eq!(
        names("ctpl", "spec.provider=aws"),
        [
            "clustertemplate.fleet.k0rdent.io/aws-standalone-1-33",
            "clustertemplate.fleet.k0rdent.io/aws-standalone-1-34"
        ]
    );
    assert_eq!(
        names("stpl", "spec.version=1.16.2"),
        ["servicetemplate.fleet.k0rdent.io/cert-manager-1-16-2"]
    );

    // The spec is immutable through kubectl too; a new version is a new template.
    let err = kubectl.fails(&[
        "patch",
        "ctpl",
        "aws-standalone-1-33",
        "--type=merge",
        "-p",
        r#"{"spec":{"kubernetesVersion":"v1.33.3"}}"#,
    ]);
    assert!(
        err.contains("spec: Invalid value: \"object\": field is immutable"),
        "{err}"
    );

    // Unknown providers and variables the renderer never gives are accepted with warnings.
    let odd = "apiVersion: fleet.k0rdent.io/v1alpha1\nkind: ClusterTemplate\nmetadata: {name: hetzner-1-33, namespace: default}\nspec:\n  provider: hetzner\n  kubernetesVersion: v1.33.2\n  source:\n    inline:\n      manifests: 'name: {{ cluster.name }}-{{ values.suffix }}'\n";
    let out = kubectl.run(&["apply", "-f", "-"], Some(odd));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("Warning: spec.provider: \"hetzner\" is not a known provider (aws, azure, gcp, vsphere, openstack, sim)"), "{stderr}");
    assert!(stderr.contains("Warning: spec.source.inline.manifests: the template refers to \"values\", which is never given; it sees only cluster and config"), "{stderr}");

    // kubectl explain reads the field docs from the OpenAPI v3 document.
    let explained = kubectl.ok(&["explain", "ctpl.spec.source"]);
    for text in [
        "FIELD: source <Object>",
        "Where the Cluster API objects come from: a Helm chart",
        "helm\t<Object>",
        "A Helm chart pulled from a chart repository.",
        "inline\t<Object>",
        "Manifests written inline as a minijinja template.",
    ] {
        assert!(explained.contains(text), "{text:?} in:\n{explained}");
    }
    let explained = kubectl.ok(&["explain", "stpl.spec.source.helm"]);
    for text in [
        "chart\t<string> -required-",
        "repository\t<string> -required-",
        "version\t<string> -required-",
        "oci://ghcr.io/k0rdent/kcm/charts",
    ] {
        assert!(explained.contains(text), "{text:?} in:\n{explained}");
    }
}
