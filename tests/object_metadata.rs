//! Invalid object metadata, for every kind discovery lists as creatable, answered as
//! kube-apiserver v1.33 answers it (issue #13), on the embedded store and on etcd: raw creates
//! of a case table (labels, annotations, finalizers, owner references, generateName,
//! managedFields), a create of a taken name, an update and a merge patch, each a 422 with
//! upstream's exact `Status` and nothing written; valid metadata accepted; and kubectl 1.32 and
//! 1.33 `create` and `label` printing upstream's message. The expected answers are written out
//! in `support_metadata` from upstream's rules, and every answer must equal them.

#[macro_use]
mod support;
mod support_discovery;
mod support_everyday;
mod support_metadata;

use serde_json::{json, Value};
use support::{list_revision, send_ok, Backend, Kubectl, Raw, Reply, TestServer};
use support_discovery::{self as discovery, Listed};
use support_everyday::{patch, warnings};
use support_metadata::{
    bad_label_key_cause, bad_label_update_causes, create_cases, invalid_status, is_generated_from,
    kubectl_invalid, long_label_value, long_label_value_cause, mask_addresses, valid_metadata,
    Cause, Expect, Served, MANAGER,
};

/// The namespace of the namespaced objects.
const NAMESPACE: &str = "default";
/// The stored object of each kind that updates and taken-name creates write to.
const BASE: &str = "base";
/// The kubectl versions the suite runs.
const KUBECTL_VERSIONS: [&str; 2] = ["1.32", "1.33"];

/// A kind discovery lists with `create` and `get` (the stored kinds, not the reviews).
#[derive(Debug)]
struct Kind {
    group: String,
    version: String,
    plural: String,
    kind: String,
    namespaced: bool,
}

impl Kind {
    fn served(&self) -> Served {
        Served::of_group(&self.group)
    }

    fn collection(&self) -> String {
        let namespace = self.namespaced.then_some(NAMESPACE);
        discovery::collection(&self.group, &self.version, &self.plural, namespace)
    }

    fn path(&self, name: &str) -> String {
        format!("{}/{name}", self.collection())
    }

    /// `plural.group`, unambiguous for kubectl.
    fn resource(&self) -> String {
        format!("{}.{}", self.plural, self.group)
    }

    /// A valid new object `name` of this kind with `changes` merged into its metadata (a
    /// `null` removes a field).
    fn object(&self, name: &str, changes: &Value) -> Value {
        let namespace = if self.namespaced { NAMESPACE } else { "" };
        let metadata = json!({"name": name});
        let (group, version, kind) = (&self.group, &self.version, &self.kind);
        let mut object = discovery::fixture(group, version, kind, namespace, metadata)
            .unwrap_or_else(|| panic!("no fixture for {kind}: add one to support_discovery"));
        let metadata = object["metadata"].as_object_mut().expect("metadata");
        for (field, value) in changes.as_object().expect("metadata changes") {
            match value {
                Value::Null => metadata.remove(field),
                value => metadata.insert(field.clone(), value.clone()),
            };
        }
        object
    }

    /// A POST of `object` to this kind's collection, by the test's field manager.
    fn create(&self, object: &Value) -> Raw {
        Raw::post(&format!("{}?fieldManager={MANAGER}", self.collection())).json(object)
    }

    /// The 422 `Status` upstream answers about object `name` of this kind.
    fn invalid(&self, name: &str, causes: &[Cause]) -> Value {
        invalid_status(&self.kind, &self.group, name, causes)
    }
}

/// Every kind discovery lists with `create` and `get`, subresources aside.
async fn creatable_kinds(client: &kube::Client) -> Vec<Kind> {
    let listed = discovery::walk(async |path: &str| send_ok(client, Raw::get(path), 200).await);
    listed
        .await
        .into_iter()
        .filter(|l| l.split().1.is_none() && l.advertises("create") && l.advertises("get"))
        .map(|l: Listed| Kind {
            group: l.group,
            version: l.version,
            plural: l.name,
            kind: l.kind,
            namespaced: l.namespaced,
        })
        .collect()
}

/// An answer to a create, comparable with upstream's: the 422 `Status` (Go's pointer
/// addresses masked), or the created field and the warnings of a 201.
fn answer(reply: &Reply, field: &str) -> Value {
    match reply.status {
        422 => serde_json::from_str(&mask_addresses(&reply.text())).expect("a JSON Status"),
        201 => {
            let created = reply.json();
            let mut value = created["metadata"][field].clone();
            if let Some(entries) = value.as_array().filter(|_| field == "managedFields") {
                let entry =
                    |e: &Value| json!({"manager": e["manager"], "operation": e["operation"]});
                value = entries.iter().map(entry).collect();
            }
            json!({"created": {field: value}, "warnings": warnings(reply)})
        }
        other => panic!("HTTP {other} to a create: {}", reply.text()),
    }
}

/// Upstream's answer to a create of object `name` of `kind`, as [`answer`] writes it.
fn expected(kind: &Kind, name: &str, expect: &Expect) -> Value {
    match expect {
        Expect::Refused(causes) => kind.invalid(name, causes),
        Expect::Accepted {
            field,
            stored,
            warnings,
        } => json!({"created": {*field: stored}, "warnings": warnings}),
    }
}

/// One server's sweep of every creatable kind.
struct Sweep<'a> {
    client: &'a kube::Client,
}

impl Sweep<'_> {
    /// Compares the answer to `write` on `kind` with upstream's.
    fn judge(&self, kind: &Kind, write: &str, answered: &Value, upstream: &Value) {
        assert_eq!(answered, upstream, "{} {write}", kind.kind);
    }

    /// The names of the kind's stored objects.
    async fn names(&self, kind: &Kind) -> Vec<String> {
        let list = send_ok(self.client, Raw::get(&kind.collection()), 200).await;
        let items = list["items"].as_array().expect("items");
        let name = |i: &Value| i["metadata"]["name"].as_str().expect("a name").to_owned();
        items.iter().map(name).collect()
    }

    async fn get(&self, kind: &Kind, name: &str) -> Value {
        send_ok(self.client, Raw::get(&kind.path(name)), 200).await
    }

    /// The control case: valid metadata (domain-qualified labels and finalizers) is accepted
    /// without warnings and stored as sent. The object is the [`BASE`] of the other cases.
    async fn create_base(&self, kind: &Kind) {
        let object = kind.object(BASE, &valid_metadata());
        let reply = kind.create(&object).send(self.client).await;
        assert_eq!(reply.status, 201, "{}: {}", kind.kind, reply.text());
        assert_eq!(warnings(&reply), Vec::<String>::new(), "{}", kind.kind);
        let stored = self.get(kind, BASE).await;
        assert_eq!(stored, reply.json(), "{}", kind.kind);
        for field in ["labels", "annotations", "finalizers"] {
            let sent = &object["metadata"][field];
            assert_eq!(stored["metadata"][field], *sent, "{}: {field}", kind.kind);
        }
    }

    /// Every create of the case table, each under its own name; a refused one writes nothing.
    async fn create_cases(&self, kind: &Kind) {
        for (i, case) in create_cases().into_iter().enumerate() {
            let write = format!("create: {}", case.what);
            let what = format!("{} {write}", kind.kind);
            let object = kind.object(&format!("case-{i}"), &case.metadata);
            let before = self.names(kind).await;
            let revision = list_revision(self.client).await;
            let reply = kind.create(&object).send(self.client).await;
            let name = match reply.status {
                422 => reply.json()["details"]["name"].clone(),
                _ => reply.json()["metadata"]["name"].clone(),
            };
            let name = name.as_str().expect("a name").to_owned();
            if let Some(base) = case.metadata["generateName"].as_str() {
                assert!(is_generated_from(&name, base), "{what}: {name}");
            }
            let expect = (case.expect)(kind.served(), &name);
            // What a 201 is compared by: the field upstream stores, else the one the case sets.
            let changed = case.metadata.as_object().and_then(|m| m.keys().next());
            let field = match &expect {
                Expect::Accepted { field, .. } => field,
                Expect::Refused(_) => changed.expect("a metadata change").as_str(),
            };
            let upstream = expected(kind, &name, &expect);
            self.judge(kind, &write, &answer(&reply, field), &upstream);
            if reply.status == 422 {
                assert_eq!(
                    list_revision(self.client).await,
                    revision,
                    "{what}: a write"
                );
                assert_eq!(self.names(kind).await, before, "{what}");
                let reply = Raw::get(&kind.path(&name)).send(self.client).await;
                assert_eq!(reply.status, 404, "{what}: {}", reply.text());
            }
        }
    }

    /// Sends `request`, an invalid write to [`BASE`]: 422 as upstream answers it, and the
    /// storage revision, the kind's objects and [`BASE`] as they were.
    async fn refused_write_to_base(&self, kind: &Kind, write: &str, request: Raw, want: Value) {
        let what = format!("{} {write}", kind.kind);
        let names = self.names(kind).await;
        let before = self.get(kind, BASE).await;
        let revision = list_revision(self.client).await;
        let reply = request.send(self.client).await;
        assert_eq!(reply.status, 422, "{what}: {}", reply.text());
        self.judge(kind, write, &reply.json(), &want);
        assert_eq!(
            list_revision(self.client).await,
            revision,
            "{what}: a write"
        );
        assert_eq!(self.names(kind).await, names, "{what}");
        assert_eq!(
            self.get(kind, BASE).await,
            before,
            "{what}: the object changed"
        );
    }

    /// A create of the taken name [`BASE`] with a bad label: 422, not 409 (metadata is
    /// validated before storage is asked).
    async fn taken_name(&self, kind: &Kind) {
        let object = kind.object(BASE, &json!({"labels": {"-bad": "x"}}));
        let want = kind.invalid(BASE, &[bad_label_key_cause()]);
        let write = "create of a taken name";
        self.refused_write_to_base(kind, write, kind.create(&object), want)
            .await;
    }

    /// A PUT and a merge patch of [`BASE`] adding the label key `-bad`: the label as often as
    /// the kind's update checks it.
    async fn updates(&self, kind: &Kind) {
        let want = kind.invalid(BASE, &bad_label_update_causes(kind.served()));
        let mut body = self.get(kind, BASE).await;
        body["metadata"]["labels"]["-bad"] = json!("x");
        let put = Raw::put(&kind.path(BASE)).json(&body);
        self.refused_write_to_base(kind, "update", put, want.clone())
            .await;
        let change = json!({"metadata": {"labels": {"-bad": "x"}}});
        let merge = patch(&kind.path(BASE), "application/merge-patch+json", &change);
        self.refused_write_to_base(kind, "merge patch", merge, want)
            .await;
    }

    /// kubectl `create -f -` of an object with a label value of 93 characters, and `kubectl
    /// label` of [`BASE`] with the key `-bad`: kubectl's exact stderr, and nothing written.
    async fn kubectl(&self, kubectl: &Kubectl, version: &str, kind: &Kind) {
        let name = format!("kubectl-{}", version.replace('.', "-"));
        let object = kind.object(&name, &json!({"labels": {"env": long_label_value()}}));
        let stdin = serde_json::to_string(&object).expect("JSON");
        let stderr = kubectl.fails_with(&["create", "-f", "-"], Some(&stdin));
        let what = format!("kubectl {version} create {}", kind.kind);
        let want = kubectl_invalid(&kind.kind, &name, &[long_label_value_cause()]);
        assert_eq!(stderr, want, "{what}");
        let reply = Raw::get(&kind.path(&name)).send(self.client).await;
        assert_eq!(reply.status, 404, "{what}: {}", reply.text());

        let before = self.get(kind, BASE).await;
        let resource = kind.resource();
        let mut args = vec!["label", resource.as_str(), BASE];
        if kind.namespaced {
            args.extend(["-n", NAMESPACE]);
        }
        args.extend(["--", "-bad=x"]);
        let stderr = kubectl.fails(&args);
        let what = format!("kubectl {version} label {}", kind.kind);
        let causes = bad_label_update_causes(kind.served());
        assert_eq!(stderr, kubectl_invalid(&kind.kind, BASE, &causes), "{what}");
        assert_eq!(
            self.get(kind, BASE).await,
            before,
            "{what}: the object changed"
        );
    }
}

/// The whole sweep on one server: every case on every kind, raw and through each kubectl.
async fn sweep(backend: Backend) {
    let Some(server) = TestServer::start(backend) else {
        return;
    };
    let client = server.client().await;
    let kinds = creatable_kinds(&client).await;
    let of = |served| kinds.iter().filter(|k| k.served() == served).count();
    assert!(
        of(Served::CustomResource) >= 6 && of(Served::BuiltIn) == 4,
        "{kinds:?}"
    );
    let sweep = Sweep { client: &client };
    for kind in &kinds {
        sweep.create_base(kind).await;
        sweep.create_cases(kind).await;
        sweep.taken_name(kind).await;
        sweep.updates(kind).await;
    }
    for version in KUBECTL_VERSIONS {
        let Some(kubectl) = Kubectl::new(version, &server.kubeconfig()) else {
            continue;
        };
        for kind in &kinds {
            sweep.kubectl(&kubectl, version, kind).await;
        }
    }
}

async fn invalid_metadata_of_every_kind_is_refused_as_upstream_refuses_it(backend: Backend) {
    sweep(backend).await;
}

on_both_backends!(invalid_metadata_of_every_kind_is_refused_as_upstream_refuses_it);
