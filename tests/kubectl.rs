//! kubectl 1.32 and 1.33 against `fleet-apiserver up`, on the embedded store and on etcd:
//! discovery, raw discovery and health paths, and create / get / replace / delete as against
//! kube-apiserver.

#[macro_use]
mod support;

use serde_json::{json, Value};
use support::{Backend, Kubectl, TestServer, API_VERSION, GROUP, STATUS_VERBS, STORED_VERBS};

/// One stored kind of fleet.k0rdent.io/v1alpha1 as discovery describes it.
struct Kind {
    plural: &'static str,
    singular: &'static str,
    kind: &'static str,
    namespaced: bool,
    short_name: &'static str,
    /// base64 of the first 8 bytes of sha256("fleet.k0rdent.io/v1alpha1/<Kind>").
    storage_version_hash: &'static str,
    has_status: bool,
}

/// Every kind the API serves (issue #7), by plural name.
const KINDS: [Kind; 6] = [
    Kind {
        plural: "clusterdeployments",
        singular: "clusterdeployment",
        kind: "ClusterDeployment",
        namespaced: true,
        short_name: "cld",
        storage_version_hash: "XNE0tlv6KfU=",
        has_status: true,
    },
    Kind {
        plural: "clustertemplates",
        singular: "clustertemplate",
        kind: "ClusterTemplate",
        namespaced: true,
        short_name: "ctpl",
        storage_version_hash: "CclMJgHdPOY=",
        has_status: true,
    },
    Kind {
        plural: "credentials",
        singular: "credential",
        kind: "Credential",
        namespaced: true,
        short_name: "cred",
        storage_version_hash: "Z8yrmQ0XfFk=",
        has_status: true,
    },
    Kind {
        plural: "multiclusterservices",
        singular: "multiclusterservice",
        kind: "MultiClusterService",
        namespaced: false,
        short_name: "mcs",
        storage_version_hash: "dxmvP7V2xOs=",
        has_status: true,
    },
    // Plain configuration: no status.
    Kind {
        plural: "pricelists",
        singular: "pricelist",
        kind: "PriceList",
        namespaced: false,
        short_name: "pl",
        storage_version_hash: "xkoFFu6P0FQ=",
        has_status: false,
    },
    Kind {
        plural: "servicetemplates",
        singular: "servicetemplate",
        kind: "ServiceTemplate",
        namespaced: true,
        short_name: "stpl",
        storage_version_hash: "kTmRHDW6aJo=",
        has_status: true,
    },
];

impl Kind {
    /// Its APIResourceList entries: the resource, then its `/status` when it has one (as
    /// kube-apiserver lists a CRD's status subresource: no singular name, short names or
    /// categories).
    fn entries(&self) -> Vec<Value> {
        let mut entries = vec![json!({
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": STORED_VERBS,
            "shortNames": [self.short_name],
            "categories": ["k0rdent"],
            "storageVersionHash": self.storage_version_hash,
        })];
        if self.has_status {
            entries.push(json!({
                "name": format!("{}/status", self.plural),
                "singularName": "",
                "namespaced": self.namespaced,
                "kind": self.kind,
                "verbs": STATUS_VERBS,
            }));
        }
        entries
    }
}

/// A server and a kubectl of `version` for it; `None` when either cannot run here.
fn start(backend: Backend, version: &str) -> Option<(TestServer, Kubectl)> {
    let server = TestServer::start(backend)?;
    let kubectl = Kubectl::new(version, &server.kubeconfig())?;
    Some((server, kubectl))
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The rows of a kubectl table, split on whitespace (no cell here is empty).
fn table(text: &str) -> Vec<Vec<&str>> {
    text.lines()
        .map(|line| line.split_whitespace().collect())
        .collect()
}

fn lists_the_fleet_api_resources_and_reads_every_discovery_path(backend: Backend, version: &str) {
    let Some((_server, kubectl)) = start(backend, version) else {
        return;
    };

    let resource_list = json(&kubectl.ok(&["get", "--raw", "/apis/fleet.k0rdent.io/v1alpha1"]));
    assert_eq!(resource_list["kind"], "APIResourceList");
    assert_eq!(resource_list["apiVersion"], "v1");
    assert_eq!(resource_list["groupVersion"], API_VERSION);
    let resources = resource_list["resources"].as_array().expect("resources");
    // Exactly these entries (verbs sorted), whatever the order of the entries.
    let mut listed = resources.clone();
    listed.sort_by_key(|entry| entry["name"].as_str().map(str::to_owned));
    let expected: Vec<Value> = KINDS.iter().flat_map(Kind::entries).collect();
    assert_eq!(listed, expected, "exactly the fleet kinds: {resource_list}");

    let wide = kubectl.ok(&["api-resources", "--api-group", GROUP, "-o", "wide"]);
    let rows = table(&wide);
    assert_eq!(
        rows[0],
        [
            "NAME",
            "SHORTNAMES",
            "APIVERSION",
            "NAMESPACED",
            "KIND",
            "VERBS",
            "CATEGORIES"
        ],
        "{wide}"
    );
    let joined_verbs = STORED_VERBS.join(",");
    let expected_rows: Vec<Vec<&str>> = KINDS
        .iter()
        .map(|kind| {
            vec![
                kind.plural,
                kind.short_name,
                API_VERSION,
                if kind.namespaced { "true" } else { "false" },
                kind.kind,
                joined_verbs.as_str(),
                "k0rdent",
            ]
        })
        .collect();
    assert_eq!(rows[1..], expected_rows, "sorted by name: {wide}");

    let api = json(&kubectl.ok(&["get", "--raw", "/api"]));
    assert_eq!(api["kind"], "APIVersions");
    assert!(api["versions"].is_array(), "{api}");

    let group_entry = |group: &Value| {
        assert_eq!(group["name"], GROUP, "{group}");
        let versions = group["versions"].as_array().expect("versions");
        assert_eq!(versions.len(), 1, "{group}");
        assert_eq!(versions[0]["groupVersion"], API_VERSION);
        assert_eq!(versions[0]["version"], "v1alpha1");
        assert_eq!(group["preferredVersion"], versions[0]);
    };
    let apis = json(&kubectl.ok(&["get", "--raw", "/apis"]));
    assert_eq!(apis["kind"], "APIGroupList");
    assert_eq!(apis["apiVersion"], "v1");
    let groups = apis["groups"].as_array().expect("groups");
    let names: Vec<&str> = groups.iter().filter_map(|g| g["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            GROUP,
            "rbac.authorization.k8s.io",
            "authorization.k8s.io",
            "authentication.k8s.io"
        ],
        "{apis}"
    );
    group_entry(&groups[0]);

    let group = json(&kubectl.ok(&["get", "--raw", "/apis/fleet.k0rdent.io"]));
    assert_eq!(group["kind"], "APIGroup");
    assert_eq!(group["apiVersion"], "v1");
    group_entry(&group);

    let version_info = json(&kubectl.ok(&["get", "--raw", "/version"]));
    assert_eq!(version_info["major"], "1");
    assert_eq!(version_info["minor"], "33");
    let git_version = version_info["gitVersion"].as_str().expect("gitVersion");
    assert!(git_version.starts_with("v1.33."), "{version_info}");
    assert!(
        version_info["platform"]
            .as_str()
            .is_some_and(|p| p.starts_with("linux/")),
        "{version_info}"
    );

    assert_eq!(kubectl.ok(&["get", "--raw", "/healthz"]), "ok");
    assert_eq!(kubectl.ok(&["get", "--raw", "/livez"]), "ok");
    let readyz = kubectl.ok(&["get", "--raw", "/readyz?verbose"]);
    let lines: Vec<&str> = readyz.lines().collect();
    assert_eq!(lines.last(), Some(&"readyz check passed"), "{readyz}");
    let checks = &lines[..lines.len() - 1];
    assert!(!checks.is_empty(), "{readyz}");
    for check in checks {
        assert!(
            check.starts_with("[+]") && check.ends_with(" ok"),
            "{readyz}"
        );
    }
    for name in ["ping", "storage"] {
        assert!(
            checks.contains(&format!("[+]{name} ok").as_str()),
            "{readyz}"
        );
    }
}

/// A ClusterDeployment named `prod` in `default` as YAML, optionally at a resourceVersion.
fn prod_yaml(template: &str, resource_version: Option<&str>) -> String {
    let rv = resource_version
        .map(|rv| format!("  resourceVersion: \"{rv}\"\n"))
        .unwrap_or_default();
    format!(
        "apiVersion: fleet.k0rdent.io/v1alpha1\n\
         kind: ClusterDeployment\n\
         metadata:\n  name: prod\n  namespace: default\n{rv}\
         spec:\n  template: {template}\n  credential: aws\n"
    )
}

/// `YYYY-MM-DDTHH:MM:SSZ`, as metav1.Time serialises.
fn is_rfc3339_seconds_utc(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];
    b.len() == 20
        && digits.iter().all(|i| b[*i].is_ascii_digit())
        && (b[4], b[7], b[10], b[13], b[16], b[19]) == (b'-', b'-', b'T', b':', b':', b'Z')
}

fn creates_gets_replaces_and_deletes(backend: Backend, version: &str) {
    let Some((_server, kubectl)) = start(backend, version) else {
        return;
    };
    let created = kubectl.ok_with(&["create", "-f", "-"], Some(&prod_yaml("t1", None)));
    assert_eq!(
        created.trim(),
        "clusterdeployment.fleet.k0rdent.io/prod created"
    );

    let yaml = kubectl.ok(&[
        "get",
        "clusterdeployments",
        "prod",
        "-n",
        "default",
        "-o",
        "yaml",
    ]);
    for line in [
        "apiVersion: fleet.k0rdent.io/v1alpha1",
        "kind: ClusterDeployment",
        "  name: prod",
        "  namespace: default",
        "  generation: 1",
        "  template: t1",
        "  credential: aws",
    ] {
        assert!(yaml.lines().any(|l| l == line), "{line:?} in:\n{yaml}");
    }

    let first = json(&kubectl.ok(&["get", "clusterdeployment", "prod", "-o", "json"]));
    assert_eq!(first["apiVersion"], API_VERSION);
    assert_eq!(first["kind"], "ClusterDeployment");
    let meta = &first["metadata"];
    let uid = meta["uid"].as_str().expect("uid");
    assert_eq!(uid.len(), 36, "a UUID: {uid}");
    let created_at = meta["creationTimestamp"]
        .as_str()
        .expect("creationTimestamp");
    assert!(is_rfc3339_seconds_utc(created_at), "{created_at}");
    assert_eq!(meta["generation"], 1);
    let rv1 = meta["resourceVersion"].as_str().expect("resourceVersion");
    assert!(rv1.parse::<u64>().is_ok(), "a revision: {rv1}");
    assert_eq!(first["spec"]["template"], "t1");
    assert!(first.get("status").is_none(), "{first}");

    let jsonpath = kubectl.ok(&[
        "get",
        "cld",
        "prod",
        "-o",
        "jsonpath={.metadata.name} {.spec.template} {.metadata.generation} {.metadata.uid}",
    ]);
    assert_eq!(jsonpath, format!("prod t1 1 {uid}"));

    let short = kubectl.ok(&["get", "cld"]);
    let rows = table(&short);
    assert_eq!(rows[0].first(), Some(&"NAME"), "{short}");
    assert_eq!(rows.len(), 2, "{short}");
    assert_eq!(rows[1][0], "prod", "{short}");
    let all = kubectl.ok(&["get", "cld", "-A"]);
    let rows = table(&all);
    assert_eq!(rows[0][..2], ["NAMESPACE", "NAME"], "{all}");
    assert_eq!(rows.len(), 2, "{all}");
    assert_eq!(rows[1][..2], ["default", "prod"], "{all}");
    let other = kubectl.ok(&["get", "cld", "-n", "other"]);
    assert!(
        other.trim().is_empty(),
        "nothing in namespace other: {other}"
    );

    // Without a resourceVersion kubectl replace reads the current one first.
    let replaced = kubectl.ok_with(&["replace", "-f", "-"], Some(&prod_yaml("t2", None)));
    assert_eq!(
        replaced.trim(),
        "clusterdeployment.fleet.k0rdent.io/prod replaced"
    );
    let second = json(&kubectl.ok(&["get", "cld", "prod", "-o", "json"]));
    assert_eq!(second["spec"]["template"], "t2");
    assert_eq!(second["metadata"]["generation"], 2);
    assert_eq!(second["metadata"]["uid"], uid);
    assert_eq!(second["metadata"]["creationTimestamp"], created_at);
    let rv2 = second["metadata"]["resourceVersion"].as_str().expect("rv");
    assert_ne!(rv2, rv1, "a replace writes a new revision");
    assert!(
        rv2.parse::<u64>().expect("a revision") > rv1.parse::<u64>().expect("a revision"),
        "{rv1} -> {rv2}"
    );

    let stale = kubectl.fails_with(&["replace", "-f", "-"], Some(&prod_yaml("t3", Some(rv1))));
    assert!(
        stale.contains(
            "Operation cannot be fulfilled on clusterdeployments.fleet.k0rdent.io \"prod\": the object has been modified; please apply your changes to the latest version and try again"
        ),
        "{stale}"
    );
    assert!(stale.starts_with("Error from server (Conflict)"), "{stale}");
    let unchanged = json(&kubectl.ok(&["get", "cld", "prod", "-o", "json"]));
    assert_eq!(unchanged["spec"]["template"], "t2");
    assert_eq!(unchanged["metadata"]["resourceVersion"], rv2);

    let deleted = kubectl.ok(&["delete", "cld", "prod"]);
    assert!(
        deleted.starts_with("clusterdeployment.fleet.k0rdent.io \"prod\" deleted"),
        "{deleted}"
    );
    let missing = kubectl.fails(&["get", "cld", "prod"]);
    assert_eq!(
        missing.trim(),
        "Error from server (NotFound): clusterdeployments.fleet.k0rdent.io \"prod\" not found"
    );
    let empty = kubectl.run(&["get", "cld", "-A"], None);
    assert!(empty.status.success());
    assert!(empty.stdout.is_empty(), "no object is left");
    assert_eq!(
        String::from_utf8_lossy(&empty.stderr).trim(),
        "No resources found"
    );
}

for_each_backend_and_kubectl!(
    lists_the_fleet_api_resources_and_reads_every_discovery_path,
    creates_gets_replaces_and_deletes,
);
