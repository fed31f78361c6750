//! ClusterDeployment end to end (issue #7): a table of invalid objects, each refused with its
//! exact 422 causes and nothing written; config checked against the ClusterTemplate and
//! upgrades only along its `upgradeTo`; status only through `/status`, checked like
//! `metav1.Condition`s; and through kubectl 1.33 the columns (`-o wide`), field selectors,
//! `explain`, and the examples applied and read back equal.

mod support;

use serde_json::{json, Value};
use support::invalid::{
    self, case, Case, Resource, Write, DUPLICATE, FORBIDDEN, INVALID, NOT_SUPPORTED, REQUIRED,
};
use support::{
    cells, example_files, send_ok, Backend, Kubectl, Raw, Reply, TestServer, API_VERSION,
    DEFAULT_CLDS,
};

const TEMPLATES: &str = "/apis/fleet.k0rdent.io/v1alpha1/namespaces/default/clustertemplates";

fn cld_path(name: &str) -> String {
    format!("{DEFAULT_CLDS}/{name}")
}

/// A ClusterTemplate in `default` with a config schema and upgrade targets.
fn template(name: &str, upgrade_to: &[&str]) -> Value {
    json!({
        "apiVersion": API_VERSION,
        "kind": "ClusterTemplate",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "provider": "aws",
            "kubernetesVersion": "v1.33.0",
            "source": {"helm": {
                "chart": "aws-standalone-cp",
                "version": "1.0.0",
                "repository": "oci://ghcr.io/k0rdent/kcm/charts",
            }},
            "configSchema": {
                "type": "object",
                "required": ["region"],
                "additionalProperties": false,
                "properties": {
                    "region": {"type": "string"},
                    "workersNumber": {"type": "integer", "minimum": 1},
                    "controlPlaneNumber": {"type": "integer", "enum": [1, 3, 5]},
                },
            },
            "upgradeTo": upgrade_to,
        },
    })
}

/// A ClusterDeployment in `default`.
fn cld(name: &str, spec: Value) -> Value {
    json!({
        "apiVersion": API_VERSION,
        "kind": "ClusterDeployment",
        "metadata": {"name": name, "namespace": "default", "labels": {"env": "prod"}},
        "spec": spec,
    })
}

/// A valid spec for the template `aws-1-33`.
fn spec() -> Value {
    json!({
        "template": "aws-1-33",
        "credential": "aws-eu",
        "config": {"region": "eu-central-1", "workersNumber": 3},
        "services": [
            {"name": "cert-manager", "template": "cert-manager-1-16"},
            {"name": "ingress", "template": "ingress-nginx-4-12", "dependsOn": ["cert-manager"]},
        ],
    })
}

fn with_services(services: Value) -> Value {
    let mut spec = spec();
    spec["services"] = services;
    spec
}

fn service(name: &str, depends_on: &[&str]) -> Value {
    json!({"name": name, "template": "web-1-0", "dependsOn": depends_on})
}

async fn get(client: &kube::Client, name: &str) -> Reply {
    Raw::get(&cld_path(name)).send(client).await
}

/// ClusterDeployments in `default`, as the case table writes them.
#[derive(Debug, Clone, Copy)]
struct Clds;

impl Resource for Clds {
    fn name(self) -> &'static str {
        "ClusterDeployment"
    }

    fn collection(self) -> &'static str {
        DEFAULT_CLDS
    }

    fn object(self, name: &str, spec: Value) -> Value {
        cld(name, spec)
    }
}

/// The stored object `name` with these spec fields replaced: a PUT body.
async fn changed(client: &kube::Client, name: &str, fields: Value) -> Value {
    invalid::with_spec_change(client, Clds, name, fields).await
}

const LABEL_RULES: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const NAME_RULES: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

fn cases() -> Vec<Case<Clds>> {
    let without = |field: &str| {
        let mut spec = spec();
        spec.as_object_mut().expect("an object").remove(field);
        spec
    };
    let with = |field: &str, value: Value| {
        let mut spec = spec();
        spec[field] = value;
        spec
    };
    let bad_name = format!("Invalid value: \"AWS_1_33\": {NAME_RULES}");
    let bad_service_name = format!("Invalid value: \"Web.App\": {LABEL_RULES}");
    let bad_namespace = format!("Invalid value: \"kube_system\": {LABEL_RULES}");
    let bad_config = json!({"workersNumber": 0, "controlPlaneNumber": 2, "zone": "a"});
    let namespaced = json!([{"name": "web", "template": "web-1-0", "namespace": "kube_system"}]);
    let cycle = json!([
        service("a", &["c"]),
        service("b", &["a"]),
        service("c", &["b"])
    ]);
    let conditions = json!({"conditions": [
        {"type": "Ready", "status": "Yes", "reason": "Provisioned",
         "lastTransitionTime": "2026-05-01T10:00:00Z"},
        {"type": "Ready", "status": "True", "reason": "",
         "lastTransitionTime": "2026-05-01T10:00:00Z"},
    ]});
    vec![
        case(
            "missing template",
            Write::Create(Clds, without("template")),
            &[(REQUIRED, "spec.template", "Required value")],
        ),
        case(
            "missing credential",
            Write::Create(Clds, without("credential")),
            &[(REQUIRED, "spec.credential", "Required value")],
        ),
        case(
            "a template name that cannot be a name",
            Write::Create(Clds, with("template", json!("AWS_1_33"))),
            &[(INVALID, "spec.template", &bad_name)],
        ),
        case(
            "a boolean written as a string",
            Write::Create(Clds, with("dryRun", json!("yes"))),
            &[(
                INVALID,
                "spec.dryRun",
                "Invalid value: \"string\": spec.dryRun in body must be of type boolean: \"string\"",
            )],
        ),
        case(
            "config violating the template's schema",
            Write::Create(Clds, with("config", bad_config)),
            &[
                (
                    INVALID,
                    "spec.config.controlPlaneNumber",
                    "Invalid value: 2: 2 is not one of 1, 3 or 5",
                ),
                (
                    INVALID,
                    "spec.config.workersNumber",
                    "Invalid value: 0: 0 is less than the minimum of 1",
                ),
                (
                    INVALID,
                    "spec.config",
                    "Invalid value: \"object\": Additional properties are not allowed ('zone' was unexpected)",
                ),
                (
                    INVALID,
                    "spec.config",
                    "Invalid value: \"object\": \"region\" is a required property",
                ),
            ],
        ),
        case(
            "duplicate service names",
            Write::Create(Clds, with_services(json!([
                service("web", &[]),
                service("web", &[])
            ]))),
            &[(DUPLICATE, "spec.services[1].name", "Duplicate value: \"web\"")],
        ),
        case(
            "a service name that is not a label",
            Write::Create(Clds, with_services(json!([service("Web.App", &[])]))),
            &[(INVALID, "spec.services[0].name", &bad_service_name)],
        ),
        case(
            "a bad service namespace",
            Write::Create(Clds, with_services(namespaced)),
            &[(INVALID, "spec.services[0].namespace", &bad_namespace)],
        ),
        case(
            "an unknown dependency",
            Write::Create(Clds, with_services(json!([service("web", &["db"])]))),
            &[(
                INVALID,
                "spec.services[0].dependsOn[0]",
                "Invalid value: \"db\": must be the name of another service in spec.services",
            )],
        ),
        case(
            "a service depending on itself",
            Write::Create(Clds, with_services(json!([service("web", &["web"])]))),
            &[(
                INVALID,
                "spec.services[0].dependsOn[0]",
                "Invalid value: \"web\": a service may not depend on itself",
            )],
        ),
        case(
            "a dependency cycle",
            Write::Create(Clds, with_services(cycle)),
            &[(
                INVALID,
                "spec.services[0].dependsOn",
                "Invalid value: []string{\"c\"}: dependency cycle: a -> c -> b -> a",
            )],
        ),
        case(
            "a forbidden upgrade",
            Write::Update(Clds, json!({"template": "aws-1-35"})),
            &[(
                FORBIDDEN,
                "spec.template",
                "Forbidden: may only change to one of the templates in upgradeTo of \"aws-1-33\": [\"aws-1-34\"]",
            )],
        ),
        case(
            "an update of config violating the schema",
            Write::Update(Clds, json!({"config": {"region": 1}})),
            &[(
                INVALID,
                "spec.config.region",
                "Invalid value: 1: 1 is not of type \"string\"",
            )],
        ),
        case(
            "an unknown phase through /status",
            Write::Status(Clds, json!({"phase": "Running"})),
            &[(
                NOT_SUPPORTED,
                "status.phase",
                "Unsupported value: \"Running\": supported values: \"Pending\", \"Provisioning\", \"Provisioned\", \"Upgrading\", \"Deleting\", \"Failed\"",
            )],
        ),
        case(
            "bad conditions through /status",
            Write::Status(Clds, conditions),
            &[
                (
                    NOT_SUPPORTED,
                    "status.conditions[0].status",
                    "Unsupported value: \"Yes\": supported values: \"True\", \"False\", \"Unknown\"",
                ),
                (
                    REQUIRED,
                    "status.conditions[1].reason",
                    "Required value: must be set",
                ),
                (
                    DUPLICATE,
                    "status.conditions[1].type",
                    "Duplicate value: \"Ready\"",
                ),
            ],
        ),
        case(
            "negative machine counts through /status",
            Write::Status(Clds, json!({"workers": {"ready": -1, "desired": 3}})),
            &[(
                INVALID,
                "status.workers.ready",
                "Invalid value: -1: status.workers.ready in body should be greater than or equal to 0",
            )],
        ),
    ]
}

#[tokio::test]
async fn invalid_cluster_deployments_are_refused_with_exact_causes_and_nothing_is_written() {
    let Some(server) = TestServer::start(Backend::Embedded) else {
        return;
    };
    let client = server.client().await;
    for t in [
        template("aws-1-33", &["aws-1-34"]),
        template("aws-1-34", &[]),
    ] {
        send_ok(&client, Raw::post(TEMPLATES).json(&t), 201).await;
    }
    send_ok(
        &client,
        Raw::post(DEFAULT_CLDS).json(&cld("base", spec())),
        201,
    )
    .await;

    invalid::assert_each_refused(&client, cases()).await;
}

#[tokio::test]
async fn upgrades_follow_the_template_and_missing_templates_are_no_obstacle() {
    let Some(server) = TestServer::start(Backend::Embedded) else {
        return;
    };
    let client = server.client().await;
    // The template does not exist yet: the config is not checked, and the name may change.
    let early = cld(
        "early",
        json!({"template": "aws-1-32", "credential": "aws-eu", "config": {"anything": true}}),
    );
    send_ok(&client, Raw::post(DEFAULT_CLDS).json(&early), 201).await;
    let renamed = changed(&client, "early", json!({"template": "aws-1-33-typo"})).await;
    send_ok(&client, Raw::put(&cld_path("early")).json(&renamed), 200).await;

    for t in [
        template("aws-1-33", &["aws-1-34"]),
        template("aws-1-34", &[]),
    ] {
        send_ok(&client, Raw::post(TEMPLATES).json(&t), 201).await;
    }
    // A config accepted before its template arrived does not block unrelated updates.
    let mut relabeled = get(&client, "early").await.json();
    relabeled["metadata"]["labels"]["tier"] = json!("gold");
    send_ok(&client, Raw::put(&cld_path("early")).json(&relabeled), 200).await;

    let created = send_ok(
        &client,
        Raw::post(DEFAULT_CLDS).json(&cld("prod", spec())),
        201,
    )
    .await;
    assert_eq!(created["metadata"]["generation"], 1);
    assert_eq!(
        created["spec"]["services"][0]["namespace"], "cert-manager",
        "defaulted"
    );
    let upgrade = changed(&client, "prod", json!({"template": "aws-1-34"})).await;
    let upgraded = send_ok(&client, Raw::put(&cld_path("prod")).json(&upgrade), 200).await;
    assert_eq!(upgraded["spec"]["template"], "aws-1-34");
    assert_eq!(upgraded["metadata"]["generation"], 2);
    // aws-1-34 lists no upgrades: going back is refused.
    let back = changed(&client, "prod", json!({"template": "aws-1-33"})).await;
    let reply = Raw::put(&cld_path("prod")).json(&back).send(&client).await;
    assert_eq!(reply.status, 422, "{}", reply.text());
    assert_eq!(
        reply.json()["message"],
        "ClusterDeployment.fleet.k0rdent.io \"prod\" is invalid: spec.template: Forbidden: may not change: ClusterTemplate \"aws-1-34\" allows no upgrades (its upgradeTo is empty)"
    );
    // The main resource ignores status; /status ignores spec.
    let mut sneaky = get(&client, "prod").await.json();
    sneaky["status"] = json!({"phase": "Provisioned"});
    let kept = send_ok(&client, Raw::put(&cld_path("prod")).json(&sneaky), 200).await;
    assert!(
        kept.get("status").is_none_or(|s| s.get("phase").is_none()),
        "{kept}"
    );
    let mut observed = kept.clone();
    observed["status"] = json!({"phase": "Upgrading"});
    observed["spec"]["credential"] = json!("someone-else");
    let path = format!("{}/status", cld_path("prod"));
    let written = send_ok(&client, Raw::put(&path).json(&observed), 200).await;
    assert_eq!(written["status"]["phase"], "Upgrading");
    assert_eq!(written["spec"], kept["spec"]);
    assert_eq!(written["metadata"]["generation"], 2, "status is not spec");
}

/// The template the examples name, with a schema their config satisfies.
fn standalone_template(name: &str, upgrade_to: &[&str]) -> Value {
    let mut t = template(name, upgrade_to);
    t["spec"]["configSchema"] = json!({
        "type": "object",
        "required": ["region"],
        "properties": {
            "region": {"type": "string"},
            "controlPlaneNumber": {"type": "integer", "minimum": 1},
            "workersNumber": {"type": "integer", "minimum": 0},
        },
    });
    t
}

#[tokio::test]
async fn kubectl_shows_columns_selects_fields_explains_and_round_trips_the_examples() {
    let Some(server) = TestServer::start(Backend::Embedded) else {
        return;
    };
    let Some(kubectl) = Kubectl::new("1.33", &server.kubeconfig()) else {
        return;
    };
    let client = server.client().await;
    for t in [
        standalone_template("aws-standalone-1-33", &["aws-standalone-1-34"]),
        standalone_template("aws-standalone-1-34", &[]),
    ] {
        send_ok(&client, Raw::post(TEMPLATES).json(&t), 201).await;
    }

    // Every example applies and reads back equal.
    let examples = example_files(&["clusterdeployment"]);
    assert!(examples.len() >= 3, "{examples:?}");
    for file in &examples {
        let [local] = &kubectl.objects_of(file)[..] else {
            panic!("one object in {file}");
        };
        let out = kubectl.ok(&["apply", "-f", file]);
        assert!(out.trim().ends_with("created"), "{file}: {out}");
        let name = local["metadata"]["name"].as_str().expect("a name");
        let stored = kubectl.ok(&["get", "cld", name, "-o", "json"]);
        let stored: Value = serde_json::from_str(&stored).expect("kubectl's JSON");
        assert_eq!(stored["spec"], local["spec"], "{file}");
        assert_eq!(
            stored["metadata"]["labels"], local["metadata"]["labels"],
            "{file}"
        );
        let again = kubectl.ok(&["apply", "-f", file]);
        assert!(again.trim().ends_with("unchanged"), "{file}: {again}");
    }

    // Before any controller: READY Unknown, nothing else observed.
    let table = cells(&kubectl.ok(&["get", "cld", "prod-eu"]));
    assert_eq!(
        table[0],
        ["NAME", "READY", "REASON", "TEMPLATE", "PHASE", "VERSION", "SERVICES", "AGE"]
    );
    assert_eq!(
        table[1][..7],
        [
            "prod-eu",
            "Unknown",
            "",
            "aws-standalone-1-33",
            "",
            "",
            "0/2"
        ]
    );

    // A controller reports through /status (kube-rs, like a reconciler).
    let mut observed = get(&client, "prod-eu").await.json();
    observed["status"] = json!({
        "phase": "Provisioned",
        "kubernetesVersion": "v1.33.0",
        "observedGeneration": 1,
        "controlPlane": {"ready": 3, "desired": 3},
        "workers": {"ready": 3, "desired": 3},
        "availableUpgrades": ["aws-standalone-1-34"],
        "conditions": [
            {"type": "Ready", "status": "False", "reason": "ServicesNotReady",
             "message": "ingress-nginx:Provisioning", "observedGeneration": 1,
             "lastTransitionTime": "2026-05-01T10:00:00Z"},
            {"type": "TemplateReady", "status": "True", "reason": "Valid",
             "lastTransitionTime": "2026-05-01T09:00:00Z"},
        ],
        "services": [
            {"name": "cert-manager", "state": "Deployed"},
            {"name": "ingress-nginx", "state": "Provisioning", "message": "installing"},
        ],
    });
    let path = format!("{}/status", cld_path("prod-eu"));
    let written = send_ok(&client, Raw::put(&path).json(&observed), 200).await;
    assert_eq!(written["status"]["phase"], "Provisioned");

    let wide = cells(&kubectl.ok(&["get", "cld", "-o", "wide"]));
    assert_eq!(
        wide[0],
        [
            "NAME",
            "READY",
            "REASON",
            "TEMPLATE",
            "PHASE",
            "VERSION",
            "SERVICES",
            "AGE",
            "CREDENTIAL",
            "MESSAGE"
        ]
    );
    let prod = wide
        .iter()
        .find(|r| r[0] == "prod-eu")
        .expect("a prod-eu row");
    assert_eq!(
        prod[..7],
        [
            "prod-eu",
            "False",
            "ServicesNotReady",
            "aws-standalone-1-33",
            "Provisioned",
            "v1.33.0",
            "1/2"
        ]
    );
    assert_eq!(prod[8..], ["aws-eu", "ingress-nginx:Provisioning"]);

    // Field selectors on the declared fields.
    let names = |selector: &str| {
        let out = kubectl.ok(&["get", "cld", "--field-selector", selector, "-o", "name"]);
        out.lines().map(str::to_owned).collect::<Vec<_>>()
    };
    assert_eq!(
        names("spec.template=aws-standalone-1-33"),
        ["clusterdeployment.fleet.k0rdent.io/prod-eu"]
    );
    assert_eq!(
        names("status.phase=Provisioned"),
        ["clusterdeployment.fleet.k0rdent.io/prod-eu"]
    );
    assert_eq!(names("spec.credential=sim").len(), 1);
    assert_eq!(names("status.phase!=Provisioned").len(), examples.len() - 1);

    // The allowed upgrade goes through kubectl; another is refused with the allowed targets.
    let refused = kubectl.fails(&[
        "patch",
        "cld",
        "prod-eu",
        "--type=merge",
        "-p",
        r#"{"spec":{"template":"aws-standalone-2-0"}}"#,
    ]);
    assert!(
        refused.contains("spec.template: Forbidden: may only change to one of the templates in upgradeTo of \"aws-standalone-1-33\": [\"aws-standalone-1-34\"]"),
        "{refused}"
    );
    let out = kubectl.ok(&[
        "patch",
        "cld",
        "prod-eu",
        "--type=merge",
        "-p",
        r#"{"spec":{"template":"aws-standalone-1-34"}}"#,
    ]);
    assert_eq!(
        out.trim(),
        "clusterdeployment.fleet.k0rdent.io/prod-eu patched"
    );
    assert_eq!(
        names("spec.template=aws-standalone-1-34"),
        ["clusterdeployment.fleet.k0rdent.io/prod-eu"]
    );

    // kubectl explain reads the field docs from the OpenAPI v3 document.
    let explained = kubectl.ok(&["explain", "cld.spec.services"]);
    for text in [
        "FIELD: services <[]Object>",
        "Beach-head services installed on the cluster once it is up.",
        "dependsOn\t<[]string>",
        "Names of other services of this cluster that must be Deployed before",
        "name\t<string> -required-",
        "Name of the service, unique within the cluster (a DNS-1123 label).",
        "namespace\t<string>",
        "Defaults to the service's name.",
        "template\t<string> -required-",
        "values\t<Object>",
    ] {
        assert!(explained.contains(text), "{text:?} in:\n{explained}");
    }
}
