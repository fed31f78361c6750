//! MultiClusterService, Credential and PriceList end to end (issue #7): a table of invalid
//! objects across the three kinds, each refused with its exact 422 causes and nothing
//! written; status only through `/status`; and through kubectl 1.33 the examples applied and
//! read back equal (after defaults), the columns of `get mcs`, `get pl`, `get cred -A`, the
//! `k0rdent` category, and `explain mcs.spec.rollout`.

mod support;

use serde_json::{json, Value};
use support::invalid::{
    self, case, Case, Resource, Write, DUPLICATE, FORBIDDEN, INVALID, NOT_SUPPORTED, REQUIRED,
};
use support::{
    cells, example_files, send_ok, Backend, Kubectl, Raw, Reply, TestServer, API_VERSION,
};

const MCS: &str = "/apis/fleet.k0rdent.io/v1alpha1/multiclusterservices";
const CREDENTIALS: &str = "/apis/fleet.k0rdent.io/v1alpha1/namespaces/default/credentials";
const PRICE_LISTS: &str = "/apis/fleet.k0rdent.io/v1alpha1/pricelists";

/// One of the three kinds: its name and collection.
#[derive(Clone, Copy)]
enum Kind {
    MultiClusterService,
    Credential,
    PriceList,
}

impl Resource for Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::MultiClusterService => "MultiClusterService",
            Kind::Credential => "Credential",
            Kind::PriceList => "PriceList",
        }
    }

    fn collection(self) -> &'static str {
        match self {
            Kind::MultiClusterService => MCS,
            Kind::Credential => CREDENTIALS,
            Kind::PriceList => PRICE_LISTS,
        }
    }

    fn object(self, name: &str, spec: Value) -> Value {
        let mut metadata = json!({"name": name});
        if let Kind::Credential = self {
            metadata["namespace"] = json!("default");
        }
        json!({"apiVersion": API_VERSION, "kind": self.name(), "metadata": metadata, "spec": spec})
    }

    /// An update case's change is the whole new spec.
    fn change_spec(self, spec: &mut Value, change: Value) {
        *spec = change;
    }
}

impl Kind {
    /// A valid spec.
    fn spec(self) -> Value {
        match self {
            Kind::MultiClusterService => json!({
                "clusterSelector": {"matchLabels": {"env": "prod"}},
                "services": [
                    {"name": "cert-manager", "template": "cert-manager-1-16-2"},
                    {"name": "ingress", "template": "ingress-nginx-4-12-0", "dependsOn": ["cert-manager"]},
                ],
            }),
            Kind::Credential => json!({
                "region": "us-east-1",
                "identityRef": {"apiVersion": "v1", "kind": "Secret", "name": "aws-keys"},
            }),
            Kind::PriceList => json!({
                "currency": "USD",
                "instanceTypes": [
                    {"provider": "aws", "region": "us-east-1", "name": "m5.large", "hourly": "0.096"},
                ],
                "fallback": {"cpuCoreHour": "0.031611", "memoryGiBHour": "0.004237"},
            }),
        }
    }

    /// The valid spec with the field at `pointer` (a JSON pointer below `spec`) set.
    fn spec_with(self, pointer: &str, value: Value) -> Value {
        let mut spec = self.spec();
        let (parent, key) = pointer.rsplit_once('/').expect("a JSON pointer");
        match spec.pointer_mut(parent) {
            Some(Value::Object(map)) => {
                map.insert(key.to_owned(), value);
            }
            Some(Value::Array(items)) => items[key.parse::<usize>().expect("an index")] = value,
            _ => panic!("no object or array at {parent}"),
        }
        spec
    }
}

const PERCENT: &str = "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')";
const DECIMAL: &str = "must be a decimal string such as \"0.096\"";

fn cases() -> Vec<Case<Kind>> {
    use Kind::{Credential as Cred, MultiClusterService as Mcs, PriceList as Pl};
    let mut no_selector = Mcs.spec();
    no_selector
        .as_object_mut()
        .unwrap()
        .remove("clusterSelector");
    let selector = |expression: Value| {
        Mcs.spec_with(
            "/clusterSelector",
            json!({"matchExpressions": [expression]}),
        )
    };
    let max_update = |value: Value| Mcs.spec_with("/rollout", json!({"maxUpdate": value}));
    let identity = |identity: Value| Cred.spec_with("/identityRef", identity);
    let hourly = |price: Value| Pl.spec_with("/instanceTypes/0/hourly", price);
    let decimal = |printed: &str| format!("Invalid value: {printed}: {DECIMAL}");
    let percent = |printed: &str| format!("Invalid value: {printed}: {PERCENT}");
    vec![
        // MultiClusterService.
        case("no cluster selector", Write::Create(Mcs, no_selector), &[
            (REQUIRED, "spec.clusterSelector", "Required value: select clusters by label; {} selects every cluster"),
        ]),
        case("a bad selector operator", Write::Create(Mcs, selector(json!({"key": "env", "operator": "Equals", "values": ["prod"]}))), &[
            (INVALID, "spec.clusterSelector.matchExpressions[0].operator", "Invalid value: \"Equals\": not a valid selector operator"),
        ]),
        case("In without values", Write::Create(Mcs, selector(json!({"key": "env", "operator": "In"}))), &[
            (REQUIRED, "spec.clusterSelector.matchExpressions[0].values", "Required value: must be specified when `operator` is 'In' or 'NotIn'"),
        ]),
        case("an unknown sync mode", Write::Create(Mcs, Mcs.spec_with("/syncMode", json!("Sometimes"))), &[
            (NOT_SUPPORTED, "spec.syncMode", "Unsupported value: \"Sometimes\": supported values: \"OneTime\", \"Continuous\", \"ContinuousWithDriftDetection\", \"DryRun\""),
        ]),
        case("a negative priority", Write::Create(Mcs, Mcs.spec_with("/priority", json!(-5))), &[
            (INVALID, "spec.priority", "Invalid value: -5: must be between 1 and 2147483646, inclusive"),
        ]),
        case("maxUpdate \"0\"", Write::Create(Mcs, max_update(json!("0"))), &[
            (INVALID, "spec.rollout.maxUpdate", &percent("\"0\"")),
        ]),
        case("maxUpdate \"150%\"", Write::Create(Mcs, max_update(json!("150%"))), &[
            (INVALID, "spec.rollout.maxUpdate", "Invalid value: \"150%\": must be between 1% and 100%, inclusive"),
        ]),
        case("maxUpdate \"abc\"", Write::Create(Mcs, max_update(json!("abc"))), &[
            (INVALID, "spec.rollout.maxUpdate", &percent("\"abc\"")),
        ]),
        case("maxUpdate 0", Write::Create(Mcs, max_update(json!(0))), &[
            (INVALID, "spec.rollout.maxUpdate", "Invalid value: 0: must be greater than or equal to 1"),
        ]),
        case("depending on itself", Write::CreateNamed(Mcs, "selfish", Mcs.spec_with("/dependsOn", json!(["selfish"]))), &[
            (INVALID, "spec.dependsOn[0]", "Invalid value: \"selfish\": a MultiClusterService may not depend on itself"),
        ]),
        case("a dependency cycle through a stored object", Write::CreateNamed(Mcs, "loop", Mcs.spec_with("/dependsOn", json!(["base"]))), &[
            (INVALID, "spec.dependsOn[0]", "Invalid value: \"base\": dependency cycle: loop -> base -> loop"),
        ]),
        case("a duplicate service", Write::Create(Mcs, Mcs.spec_with("/services/1", json!({"name": "cert-manager", "template": "other"}))), &[
            (DUPLICATE, "spec.services[1].name", "Duplicate value: \"cert-manager\""),
        ]),
        case("a cycle of services", Write::Update(Mcs, Mcs.spec_with("/services/0/dependsOn", json!(["ingress"]))), &[
            (INVALID, "spec.services[0].dependsOn", "Invalid value: []string{\"ingress\"}: dependency cycle: cert-manager -> ingress -> cert-manager"),
        ]),
        case("an unknown cluster state through /status", Write::Status(Mcs, json!({"matchingClusters": [
            {"namespace": "default", "name": "prod-eu", "state": "Done"},
        ]})), &[
            (NOT_SUPPORTED, "status.matchingClusters[0].state", "Unsupported value: \"Done\": supported values: \"Pending\", \"Provisioning\", \"Deployed\", \"Failed\", \"Deleting\""),
        ]),
        // Credential.
        case("a borrowed identity namespace", Write::Create(Cred, identity(json!({"apiVersion": "v1", "kind": "Secret", "name": "keys", "namespace": "kube-system"}))), &[
            (FORBIDDEN, "spec.identityRef.namespace", "Forbidden: may not refer to an identity in another namespace"),
        ]),
        case("a namespace for a cluster-scoped identity", Write::Create(Cred, identity(json!({
            "apiVersion": "infrastructure.cluster.x-k8s.io/v1beta2", "kind": "AWSClusterStaticIdentity",
            "name": "aws", "namespace": "default"}))), &[
            (FORBIDDEN, "spec.identityRef.namespace", "Forbidden: must be empty: AWSClusterStaticIdentity is cluster-scoped"),
        ]),
        case("an identity without kind and name", Write::Create(Cred, identity(json!({"apiVersion": "v1"}))), &[
            (REQUIRED, "spec.identityRef.kind", "Required value"),
            (REQUIRED, "spec.identityRef.name", "Required value"),
        ]),
        case("a changed region", Write::Update(Cred, Cred.spec_with("/region", json!("us-west-2"))), &[
            (INVALID, "spec.region", "Invalid value: \"us-west-2\": field is immutable"),
        ]),
        // PriceList.
        case("a float price", Write::Create(Pl, hourly(json!(0.096))), &[
            (INVALID, "spec.instanceTypes[0].hourly", &decimal("0.096")),
        ]),
        case("a negative price", Write::Create(Pl, hourly(json!("-0.096"))), &[
            (INVALID, "spec.instanceTypes[0].hourly", "Invalid value: \"-0.096\": must not be negative"),
        ]),
        case("a price with an exponent", Write::Create(Pl, hourly(json!("9.6e-2"))), &[
            (INVALID, "spec.instanceTypes[0].hourly", &decimal("\"9.6e-2\"")),
        ]),
        case("a price with 7 decimals", Write::Create(Pl, hourly(json!("0.0000001"))), &[
            (INVALID, "spec.instanceTypes[0].hourly", "Invalid value: \"0.0000001\": must have at most 6 decimal places"),
        ]),
        case("a lowercase currency", Write::Create(Pl, Pl.spec_with("/currency", json!("usd"))), &[
            (INVALID, "spec.currency", "Invalid value: \"usd\": must be an ISO 4217 code: three uppercase letters such as \"USD\""),
        ]),
        case("an unknown currency", Write::Create(Pl, Pl.spec_with("/currency", json!("XYZ"))), &[
            (INVALID, "spec.currency", "Invalid value: \"XYZ\": not an active ISO 4217 currency code"),
        ]),
        case("a duplicate instance type", Write::Create(Pl, Pl.spec_with("/instanceTypes", json!([
            {"provider": "aws", "region": "us-east-1", "name": "m5.large", "hourly": "0.096"},
            {"provider": "aws", "region": "us-east-1", "name": "m5.large", "hourly": "0.1"},
        ]))), &[
            (DUPLICATE, "spec.instanceTypes[1]", "Duplicate value: {\"name\":\"m5.large\",\"provider\":\"aws\",\"region\":\"us-east-1\"}"),
        ]),
        case("a number for a fallback rate, on update", Write::Update(Pl, Pl.spec_with("/fallback/gpuHour", json!(1))), &[
            (INVALID, "spec.fallback.gpuHour", &decimal("1")),
        ]),
    ]
}

async fn get(client: &kube::Client, kind: Kind, name: &str) -> Reply {
    Raw::get(&kind.path(name)).send(client).await
}

#[tokio::test]
async fn invalid_services_credentials_and_price_lists_are_refused_with_exact_causes() {
    let Some(server) = TestServer::start(Backend::Embedded) else {
        return;
    };
    let client = server.client().await;
    // `base` of each kind; the MultiClusterService depends on a `loop` that does not exist.
    for kind in [Kind::MultiClusterService, Kind::Credential, Kind::PriceList] {
        let mut spec = kind.spec();
        if let Kind::MultiClusterService = kind {
            spec["dependsOn"] = json!(["loop"]);
        }
        let request = Raw::post(kind.collection()).json(&kind.object("base", spec));
        send_ok(&client, request, 201).await;
    }

    let cases = cases();
    assert!(cases.len() >= 14, "{}", cases.len());
    invalid::assert_each_refused(&client, cases).await;

    // Status is written only through /status: the main resource keeps the stored one.
    let mut sneaky = get(&client, Kind::Credential, "base").await.json();
    sneaky["status"] = json!({"ready": true});
    let kept = send_ok(
        &client,
        Raw::put(&Kind::Credential.path("base")).json(&sneaky),
        200,
    )
    .await;
    assert!(
        kept.get("status").is_none_or(|s| s.get("ready").is_none()),
        "{kept}"
    );
    let path = format!("{}/status", Kind::Credential.path("base"));
    let written = send_ok(&client, Raw::put(&path).json(&sneaky), 200).await;
    assert_eq!(written["status"]["ready"], true);
    // A region that was never set may be set once.
    let mut unset = Kind::Credential.object("unset", Kind::Credential.spec());
    unset["spec"].as_object_mut().unwrap().remove("region");
    send_ok(&client, Raw::post(CREDENTIALS).json(&unset), 201).await;
    let mut set = get(&client, Kind::Credential, "unset").await.json();
    set["spec"]["region"] = json!("eu-west-1");
    let updated = send_ok(
        &client,
        Raw::put(&Kind::Credential.path("unset")).json(&set),
        200,
    )
    .await;
    assert_eq!(updated["spec"]["region"], "eu-west-1");
}

/// The rows of a `kubectl get` table below its header, which must name exactly `header`.
fn rows(table: &str, header: &[&str]) -> Vec<Vec<String>> {
    let mut rows = cells(table);
    assert!(
        !rows.is_empty() && rows.remove(0) == header,
        "a header {header:?} in:\n{table}"
    );
    rows
}

/// The object after the server's defaults (the registered strategy's `default`).
fn defaulted(mut obj: Value) -> Value {
    let catalog = registry::Catalog::new();
    registry::fleet::install(&catalog).expect("the fleet kinds");
    let plural = match obj["kind"].as_str().unwrap_or_default() {
        "MultiClusterService" => "multiclusterservices",
        "Credential" => "credentials",
        "PriceList" => "pricelists",
        other => panic!("an example of kind {other}"),
    };
    let res = catalog
        .find(registry::fleet::GROUP, registry::fleet::VERSION, plural)
        .expect("registered");
    res.strategy.default(&mut obj);
    obj
}

#[tokio::test]
async fn kubectl_round_trips_the_examples_shows_columns_and_explains() {
    let Some(server) = TestServer::start(Backend::Embedded) else {
        return;
    };
    let Some(kubectl) = Kubectl::new("1.33", &server.kubeconfig()) else {
        return;
    };
    let client = server.client().await;

    // `up` installed the PriceList `default`; the example is the same object.
    let installed = get(&client, Kind::PriceList, "default").await.json();
    let default = registry::fleet::pricelist::default_price_list();
    assert_eq!(installed["spec"], default["spec"]);
    assert_eq!(
        installed["metadata"]["annotations"],
        default["metadata"]["annotations"]
    );

    let files = example_files(&["multiclusterservice-", "credential-", "pricelist-"]);
    assert!(files.len() >= 7, "{files:?}");
    for file in &files {
        let [local] = &kubectl.objects_of(file)[..] else {
            panic!("one object in {file}");
        };
        if file.ends_with("pricelist-default.yaml") {
            assert_eq!(
                *local,
                registry::fleet::pricelist::default_price_list(),
                "{file}"
            );
        }
        let out = kubectl.ok(&["apply", "-f", file]);
        // Applying the installed default only adds kubectl's last-applied annotation.
        let verb = if file.ends_with("pricelist-default.yaml") {
            "configured"
        } else {
            "created"
        };
        assert!(out.trim().ends_with(verb), "{file}: {out}");
        let stored = kubectl.ok(&["get", "-f", file, "-o", "json"]);
        let stored: Value = serde_json::from_str(&stored).expect("kubectl's JSON");
        let expected = defaulted(local.clone());
        assert_eq!(stored["spec"], expected["spec"], "{file}");
        for (key, value) in local["metadata"]["annotations"]
            .as_object()
            .into_iter()
            .flatten()
        {
            assert_eq!(
                &stored["metadata"]["annotations"][key], value,
                "{file}: {key}"
            );
        }
        let again = kubectl.ok(&["apply", "-f", file]);
        assert!(again.trim().ends_with("unchanged"), "{file}: {again}");
    }

    // Server-side apply of a changed copy: the int-or-string `maxUpdate` and the defaults.
    let applied = std::fs::read_to_string("examples/multiclusterservice-gpu-operator.yaml")
        .expect("the example")
        .replace("maxUpdate: 2", "maxUpdate: 50%");
    let out = kubectl.ok_with(
        &[
            "apply",
            "--server-side",
            "--field-manager=platform",
            "--force-conflicts",
            "-f",
            "-",
        ],
        Some(&applied),
    );
    assert_eq!(
        out.trim(),
        "multiclusterservice.fleet.k0rdent.io/gpu-operator serverside-applied"
    );
    let rollout = kubectl.ok(&[
        "get",
        "mcs",
        "gpu-operator",
        "-o",
        "jsonpath={.spec.rollout}",
    ]);
    assert_eq!(rollout, r#"{"maxUpdate":"50%","stopOnFailure":false}"#);

    // A controller reports the matching clusters through /status (kube-rs, like a reconciler).
    let path = format!("{}/status", Kind::MultiClusterService.path("ingress"));
    let mut observed = get(&client, Kind::MultiClusterService, "ingress")
        .await
        .json();
    observed["status"] = json!({"matchingClusters": [
        {"namespace": "default", "name": "prod-eu", "state": "Deployed"},
        {"namespace": "team-a", "name": "prod-us", "state": "Deployed"},
        {"namespace": "team-b", "name": "prod-ap", "state": "Provisioning", "message": "installing ingress-nginx"},
    ]});
    send_ok(&client, Raw::put(&path).json(&observed), 200).await;
    let path = format!("{}/status", Kind::Credential.path("aws-eu"));
    let mut ready = get(&client, Kind::Credential, "aws-eu").await.json();
    ready["status"] = json!({"ready": true});
    send_ok(&client, Raw::put(&path).json(&ready), 200).await;

    let table = kubectl.ok(&["get", "mcs"]);
    let mcs = rows(&table, &["NAME", "CLUSTERS", "PRIORITY", "MODE", "AGE"]);
    let cells: Vec<&[String]> = mcs.iter().map(|r| &r[..4]).collect();
    assert_eq!(
        cells,
        [
            ["gpu-operator", "0/0", "100", "DryRun"],
            ["ingress", "2/3", "100", "Continuous"],
            ["monitoring", "0/0", "200", "ContinuousWithDriftDetection"],
        ],
        "{table}"
    );

    let table = kubectl.ok(&["get", "pl"]);
    let pl = rows(&table, &["NAME", "CURRENCY", "INSTANCE TYPES", "AGE"]);
    let instance_types = registry::fleet::pricelist::default_price_list()["spec"]["instanceTypes"]
        .as_array()
        .map_or(0, Vec::len)
        .to_string();
    assert_eq!(pl.len(), 1, "{table}");
    assert_eq!(
        pl[0][..3],
        ["default", "USD", instance_types.as_str()],
        "{table}"
    );

    let table = kubectl.ok(&["get", "cred", "-A"]);
    let cred = rows(
        &table,
        &["NAMESPACE", "NAME", "READY", "REGION", "IDENTITY", "AGE"],
    );
    let cells: Vec<&[String]> = cred.iter().map(|r| &r[..5]).collect();
    assert_eq!(
        cells,
        [
            [
                "default",
                "aws-eu",
                "True",
                "eu-central-1",
                "AWSClusterStaticIdentity/aws-cluster-identity"
            ],
            [
                "default",
                "azure-prod",
                "Unknown",
                "westeurope",
                "AzureClusterIdentity/azure-cluster-identity"
            ],
            [
                "default",
                "gcp-us-central1",
                "Unknown",
                "us-central1",
                "Secret/gcp-cloud-sa"
            ],
        ],
        "{table}"
    );

    // The k0rdent category reaches all three kinds.
    let names = kubectl.ok(&["get", "k0rdent", "-A", "-o", "name"]);
    for name in [
        "multiclusterservice.fleet.k0rdent.io/monitoring",
        "credential.fleet.k0rdent.io/gcp-us-central1",
        "pricelist.fleet.k0rdent.io/default",
    ] {
        assert!(names.lines().any(|l| l == name), "{name} in:\n{names}");
    }

    // A bad edit through kubectl shows the cause and changes nothing.
    let refused = kubectl.fails(&[
        "patch",
        "pl",
        "default",
        "--type=merge",
        "-p",
        r#"{"spec":{"fallback":{"gpuHour":0.35}}}"#,
    ]);
    assert!(
        refused.contains(r#"spec.fallback.gpuHour: Invalid value: 0.35: must be a decimal string such as "0.096""#),
        "{refused}"
    );
    let gpu = kubectl.ok(&[
        "get",
        "pl",
        "default",
        "-o",
        "jsonpath={.spec.fallback.gpuHour}",
    ]);
    assert_eq!(gpu, "0.35");

    // kubectl explain reads the field docs from the OpenAPI v3 document (compared with
    // whitespace collapsed: kubectl wraps long lines).
    let explain = |field: &str| {
        let out = kubectl.ok(&["explain", field]);
        out.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    let explained = explain("mcs.spec.rollout");
    for text in [
        "KIND: MultiClusterService",
        "FIELD: rollout <Object>",
        "How many matching clusters are updated at once.",
        "maxUpdate <",
        "Most clusters updated at once: a count (at least 1, e.g. `2`) or a percentage of the \
         matching clusters from `\"1%\"` to `\"100%\"` (e.g. `\"25%\"`, rounded up to at least \
         one cluster). Defaults to `\"100%\"`: every cluster at once.",
        "stopOnFailure <boolean>",
        "Stop updating further clusters once an update failed on one. Defaults to true.",
    ] {
        assert!(explained.contains(text), "{text:?} in:\n{explained}");
    }
    let explained = explain("pl.spec.instanceTypes.hourly");
    assert!(
        explained.contains("Price per hour: a decimal string such as `\"0.096\"` (never a number)"),
        "{explained}"
    );
}
