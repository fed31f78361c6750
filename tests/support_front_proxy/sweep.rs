//! The discovery-driven authorization sweep: every resource and subresource discovery lists,
//! every verb it advertises, sent as one user through the front proxy, in two namespaces (or
//! at the cluster scope). Which requests are allowed comes from a model of the RBAC rules
//! written here (`Policy`), never from asking the server.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{assert_forbidden, Proxied, Refused};
use crate::support::{Raw, Reply};
use crate::support_discovery as discovery;

/// The name of the object the admin creates for each kind, in each namespace.
pub const FIXTURE: &str = "sweep";
/// The name of the objects the swept user creates.
const CREATED: &str = "made-by-sweep";
/// The verbs of a resource in the order they are sent: reads, then writes, deletes last.
const ORDER: &[&str] = &[
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
];

/// A resource or subresource as discovery (`/api/<v>`, `/apis/<g>/<v>`) lists it.
#[derive(Debug, Clone)]
pub struct Found {
    pub group: String,
    pub version: String,
    pub resource: String,
    pub subresource: Option<String>,
    pub kind: String,
    pub namespaced: bool,
    pub verbs: Vec<String>,
}

impl Found {
    /// `resource` or `resource/subresource`, as RBAC rules name it.
    pub fn combined(&self) -> String {
        match &self.subresource {
            Some(sub) => format!("{}/{sub}", self.resource),
            None => self.resource.clone(),
        }
    }

    /// The collection in `namespace` ("" for every namespace or the cluster scope).
    pub fn collection(&self, namespace: &str) -> String {
        let prefix = discovery::prefix(&self.group, &self.version);
        if namespace.is_empty() {
            format!("{prefix}/{}", self.resource)
        } else {
            format!("{prefix}/namespaces/{namespace}/{}", self.resource)
        }
    }

    /// The object `name` in `namespace`, or its subresource.
    pub fn object(&self, namespace: &str, name: &str) -> String {
        let object = format!("{}/{name}", self.collection(namespace));
        match &self.subresource {
            Some(sub) => format!("{object}/{sub}"),
            None => object,
        }
    }

    pub fn advertises(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }

    /// The namespaces a request goes to: two for namespaced kinds, the cluster scope ("")
    /// otherwise.
    pub fn namespaces<'a>(&self, namespaces: &[&'a str]) -> Vec<&'a str> {
        if self.namespaced {
            namespaces.to_vec()
        } else {
            vec![""]
        }
    }

    /// A new object of this kind named `name` in `namespace` ("" for the cluster scope).
    pub fn fixture(&self, namespace: &str, name: &str) -> Value {
        let (group, version, kind) = (&self.group, &self.version, &self.kind);
        discovery::fixture(group, version, kind, namespace, json!({"name": name}))
            .unwrap_or_else(|| panic!("no fixture for {kind}: add one to support_discovery"))
    }
}

async fn json_at(client: &kube::Client, proxied: &Proxied, path: &str) -> Value {
    let reply = proxied.on(Raw::get(path)).send(client).await;
    assert_eq!(reply.status, 200, "GET {path}: {}", reply.text());
    reply.json()
}

/// Every resource and subresource of `/api`, `/apis` and their group-versions, read as
/// `proxied`.
pub async fn discover(client: &kube::Client, proxied: &Proxied) -> Vec<Found> {
    let listed = discovery::walk(async |path: &str| json_at(client, proxied, path).await).await;
    let found = listed.iter().map(|listed| {
        let (resource, subresource) = listed.split();
        Found {
            group: listed.group.clone(),
            version: listed.version.clone(),
            resource: resource.to_owned(),
            subresource: subresource.map(str::to_owned),
            kind: listed.kind.clone(),
            namespaced: listed.namespaced,
            verbs: listed.verbs.clone(),
        }
    });
    found.collect()
}

/// One RBAC policy rule over resources, matched as upstream's `RuleAllows` does
/// (`pkg/apis/rbac/v1/evaluation_helpers.go`): `*` matches every resource and subresource;
/// otherwise `resource/subresource` must be listed exactly.
#[derive(Debug, Clone)]
pub struct Rule {
    pub verbs: Vec<&'static str>,
    pub groups: Vec<&'static str>,
    pub resources: Vec<String>,
}

impl Rule {
    pub fn new(verbs: &[&'static str], groups: &[&'static str], resources: &[&str]) -> Self {
        Rule {
            verbs: verbs.to_vec(),
            groups: groups.to_vec(),
            resources: resources.iter().map(|r| r.to_string()).collect(),
        }
    }

    fn allows(&self, verb: &str, group: &str, combined: &str) -> bool {
        let any = |list: &[&str], wanted: &str| list.iter().any(|v| *v == "*" || *v == wanted);
        any(&self.verbs, verb)
            && any(&self.groups, group)
            && self.resources.iter().any(|r| r == "*" || r == combined)
    }
}

/// What one user may do: rules bound cluster-wide (ClusterRoleBindings) and rules bound in
/// one namespace each (RoleBindings).
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub cluster: Vec<Rule>,
    pub namespaces: BTreeMap<String, Vec<Rule>>,
}

impl Policy {
    pub fn allows(&self, verb: &str, group: &str, combined: &str, namespace: &str) -> bool {
        let local = self
            .namespaces
            .get(namespace)
            .filter(|_| !namespace.is_empty());
        self.cluster
            .iter()
            .chain(local.into_iter().flatten())
            .any(|rule| rule.allows(verb, group, combined))
    }
}

/// One request of the sweep and what the policy says of it.
#[derive(Debug, Clone)]
pub struct Decision {
    pub verb: String,
    pub combined: String,
    pub namespace: String,
    pub allowed: bool,
}

/// One user's sweep: the user's client (through the proxy) and headers, the admin's client
/// (to read the current objects that updates send back), and the rules expected to hold.
pub struct Sweeper<'a> {
    pub proxy: &'a kube::Client,
    pub admin: &'a kube::Client,
    pub as_user: &'a Proxied,
    pub user: &'a str,
    pub policy: &'a Policy,
    /// Where requests of namespaced kinds go.
    pub namespaces: &'a [&'a str],
}

impl Sweeper<'_> {
    /// Sends every advertised verb of `found` to every namespace (or the cluster scope) and
    /// checks the answer against the policy: allowed requests reach the handler (anything
    /// but 401, 403 or a 5xx), the others get kube-apiserver's 403 exactly.
    pub async fn sweep(&self, found: &Found) -> Vec<Decision> {
        let mut decisions = Vec::new();
        for namespace in found.namespaces(self.namespaces) {
            for verb in ORDER.iter().filter(|v| found.advertises(v)) {
                let current = match *verb {
                    "update" => self.current(found, namespace).await,
                    _ => Value::Null,
                };
                let request = request(found, verb, namespace, current);
                decisions.push(self.check(found, &request).await);
            }
        }
        // A namespaced kind's list and watch in every namespace are cluster-scoped requests.
        if found.namespaced && found.subresource.is_none() {
            for verb in ["list", "watch"].iter().filter(|v| found.advertises(v)) {
                let request = request(found, verb, "", Value::Null);
                decisions.push(self.check(found, &request).await);
            }
        }
        decisions
    }

    /// The admin's fixture as it is now (with its resourceVersion, for updates), or null.
    async fn current(&self, found: &Found, namespace: &str) -> Value {
        let main = Found {
            subresource: None,
            ..found.clone()
        };
        let reply = Raw::get(&main.object(namespace, FIXTURE))
            .send(self.admin)
            .await;
        if reply.status == 200 {
            reply.json()
        } else {
            Value::Null
        }
    }

    async fn check(&self, found: &Found, request: &Request) -> Decision {
        let combined = found.combined();
        let namespace = request.namespace.as_str();
        let allowed = self
            .policy
            .allows(request.verb, &found.group, &combined, namespace);
        let what = format!(
            "{} {} {combined}.{} in {namespace:?} (allowed: {allowed}): {:?}",
            self.user, request.verb, found.group, request.raw
        );
        let reply = self.as_user.on(request.raw.clone()).send(self.proxy).await;
        if allowed {
            assert_reaches_handler(&reply, &what);
        } else {
            let refused = Refused {
                group: &found.group,
                resource: &found.resource,
                name: request.name,
            };
            let message =
                forbidden_message(self.user, request.verb, found, request.name, namespace);
            assert_forbidden(&reply, &refused, &message, &what);
        }
        Decision {
            verb: request.verb.to_owned(),
            combined,
            namespace: namespace.to_owned(),
            allowed,
        }
    }
}

/// A request of the sweep: verb, where, the object name it names (none for collections).
struct Request {
    verb: &'static str,
    namespace: String,
    name: &'static str,
    raw: Raw,
}

/// The request of `verb`; an update sends back `current` (when there is one) relabelled.
fn request(found: &Found, verb: &'static str, namespace: &str, current: Value) -> Request {
    let object = |name| found.object(namespace, name);
    let merge = |path: &str| {
        let body = json!({"metadata": {"labels": {"swept": "patched"}}});
        Raw::new("PATCH", path)
            .header("content-type", "application/merge-patch+json")
            .body(serde_json::to_vec(&body).expect("JSON"))
    };
    let (name, raw) = match verb {
        "get" => (FIXTURE, Raw::get(&object(FIXTURE))),
        "list" => ("", Raw::get(&found.collection(namespace))),
        "watch" => {
            let path = format!(
                "{}?watch=true&timeoutSeconds=1",
                found.collection(namespace)
            );
            ("", Raw::get(&path))
        }
        "create" => {
            let fixture = found.fixture(namespace, CREATED);
            if found.subresource.is_some() {
                (FIXTURE, Raw::post(&object(FIXTURE)).json(&fixture))
            } else {
                ("", Raw::post(&found.collection(namespace)).json(&fixture))
            }
        }
        "update" => {
            let mut body = if current.is_null() {
                found.fixture(namespace, FIXTURE)
            } else {
                current
            };
            body["metadata"]["labels"]["swept"] = json!("updated");
            (FIXTURE, Raw::put(&object(FIXTURE)).json(&body))
        }
        "patch" => (FIXTURE, merge(&object(FIXTURE))),
        "delete" => (FIXTURE, Raw::delete(&object(FIXTURE))),
        "deletecollection" => ("", Raw::delete(&found.collection(namespace))),
        other => panic!("the sweep sends no {other}"),
    };
    Request {
        verb,
        namespace: namespace.to_owned(),
        name,
        raw,
    }
}

/// An allowed request is answered by its handler, whatever that says.
pub fn assert_reaches_handler(reply: &Reply, what: &str) {
    assert!(
        !matches!(reply.status, 401 | 403) && reply.status < 500,
        "{what}: HTTP {} {}",
        reply.status,
        reply.text()
    );
}

/// kube-apiserver's message of a refused resource request (`forbiddenMessage` and
/// `apierrors.NewForbidden`).
pub fn forbidden_message(
    user: &str,
    verb: &str,
    found: &Found,
    name: &str,
    namespace: &str,
) -> String {
    let qualified = if found.group.is_empty() {
        found.resource.clone()
    } else {
        format!("{}.{}", found.resource, found.group)
    };
    let subject = if name.is_empty() {
        qualified
    } else {
        format!("{qualified} {name:?}")
    };
    let scope = if namespace.is_empty() {
        "at the cluster scope".to_owned()
    } else {
        format!("in the namespace {namespace:?}")
    };
    format!(
        "{subject} is forbidden: User {user:?} cannot {verb} resource {:?} in API group {:?} {scope}",
        found.combined(),
        found.group
    )
}
