//! Who is asking, end to end against `fleet-apiserver up` (`../shared/docs/KUBERNETES-API.md`
//! §0 and §8): front-proxy identity headers trusted only from an allowed certificate of the
//! request-header CA, a discovery-driven RBAC sweep as a user named by the proxy, static
//! bearer tokens, and anonymous access — with kube-apiserver's exact 401 and 403 bodies.

#[macro_use]
mod support;
mod support_discovery;
mod support_front_proxy;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{assert_unauthorized, Backend, Raw, TestServer, DEFAULT_CLDS};
use support_front_proxy::sweep::{
    self, assert_reaches_handler, Decision, Found, Policy, Rule, Sweeper,
};
use support_front_proxy::{
    assert_forbidden, assert_path_forbidden, client_presenting, self_subject_review, user_info,
    Proxied, Refused, TestCa, PROXY_CN,
};

/// ClusterDeployments in namespace `ns`.
fn clds(ns: &str) -> String {
    format!("/apis/fleet.k0rdent.io/v1alpha1/namespaces/{ns}/clusterdeployments")
}

/// The message of the 403 for listing ClusterDeployments in `ns` as `user`.
fn list_clds_forbidden(user: &str, ns: &str) -> String {
    format!(
        "clusterdeployments.fleet.k0rdent.io is forbidden: User {user:?} cannot list resource \"clusterdeployments\" in API group \"fleet.k0rdent.io\" in the namespace {ns:?}"
    )
}

const CLDS_REFUSED: Refused<'static> = Refused {
    group: "fleet.k0rdent.io",
    resource: "clusterdeployments",
    name: "",
};

/// The certificates of the front-proxy tests: the request-header CA with its proxy
/// certificate and another certificate it issued, and a stranger CA's certificate with the
/// proxy's CN.
struct ProxyCerts {
    ca: TestCa,
    proxy: certs::CertifiedKey,
    intruder: certs::CertifiedKey,
    impostor: certs::CertifiedKey,
}

impl ProxyCerts {
    fn generate() -> Self {
        let ca = TestCa::generate("front-proxy-ca");
        let proxy = ca.issue(PROXY_CN);
        let intruder = ca.issue("intruder");
        let impostor = TestCa::generate("front-proxy-ca").issue(PROXY_CN);
        ProxyCerts {
            ca,
            proxy,
            intruder,
            impostor,
        }
    }
}

/// `up` trusting the front proxy: `allowed` names (empty: any certificate of the CA), and
/// `X-Remote-Uid` as the UID header.
fn start_behind_proxy(certs: &ProxyCerts, allowed: &[&str]) -> TestServer {
    let mut builder = TestServer::builder(Backend::Embedded)
        .args(["--requestheader-client-ca-file"])
        .args([certs.ca.file()])
        .args(["--requestheader-uid-headers", "X-Remote-Uid"]);
    if !allowed.is_empty() {
        builder = builder.args(["--requestheader-allowed-names", &allowed.join(",")]);
    }
    builder
        .start()
        .expect("the embedded backend runs everywhere")
}

/// Alice as the proxy names her: UID, two groups, a repeated extra and a %-escaped extra key.
fn alice() -> Proxied {
    Proxied::user("alice")
        .uid("alice-uid")
        .group("team-a")
        .group("developers")
        .header("x-remote-extra-scopes", "read")
        .header("x-remote-extra-scopes", "write")
        .header("x-remote-extra-example.com%2fteam", "a")
}

fn alice_info() -> Value {
    json!({
        "username": "alice",
        "uid": "alice-uid",
        "groups": ["team-a", "developers", "system:authenticated"],
        "extra": {"scopes": ["read", "write"], "example.com/team": ["a"]},
    })
}

#[tokio::test]
async fn a_trusted_front_proxy_names_the_user_uid_groups_and_extras() {
    let certs = ProxyCerts::generate();
    let server = start_behind_proxy(&certs, &[PROXY_CN]);
    let proxy = client_presenting(&server, "proxy", &certs.proxy).await;

    let reply = alice().on(self_subject_review()).send(&proxy).await;
    assert_eq!(user_info(&reply, "alice via the proxy"), alice_info());

    // Requests are authorized as the named user: discovery (system:authenticated) yes,
    // ClusterDeployments (no binding) no, and everything once a group header says masters.
    let reply = alice().on(Raw::get("/apis")).send(&proxy).await;
    assert_eq!(reply.status, 200, "discovery: {}", reply.text());
    let reply = alice().on(Raw::get(&clds("default"))).send(&proxy).await;
    let message = list_clds_forbidden("alice", "default");
    assert_forbidden(&reply, &CLDS_REFUSED, &message, "alice lists");
    let master = Proxied::user("root").group("system:masters");
    let reply = master.on(Raw::get(&clds("default"))).send(&proxy).await;
    assert_eq!(reply.status, 200, "a master lists: {}", reply.text());
    let reply = master.on(self_subject_review()).send(&proxy).await;
    assert_eq!(
        user_info(&reply, "root via the proxy"),
        json!({"username": "root", "groups": ["system:masters", "system:authenticated"]})
    );
}

#[tokio::test]
async fn identity_headers_from_any_other_client_are_not_trusted() {
    let certs = ProxyCerts::generate();
    let server = start_behind_proxy(&certs, &[PROXY_CN]);
    let untrusted = [
        (
            "an allowed CA's certificate with another CN",
            client_presenting(&server, "intruder", &certs.intruder).await,
        ),
        (
            "another CA's certificate with the allowed CN",
            client_presenting(&server, "impostor", &certs.impostor).await,
        ),
        ("no client certificate", server.anonymous_client().await),
    ];
    for (who, client) in &untrusted {
        let reply = alice().on(self_subject_review()).send(client).await;
        assert_unauthorized(&reply, &format!("{who}: SelfSubjectReview"));
        let reply = alice().on(Raw::get(&clds("default"))).send(client).await;
        assert_unauthorized(&reply, &format!("{who}: list"));
        let reply = alice().on(Raw::get("/version")).send(client).await;
        assert_unauthorized(&reply, &format!("{who}: /version"));
    }

    // The proxy's certificate is no user: without a user header it is refused.
    let proxy = client_presenting(&server, "proxy", &certs.proxy).await;
    let nameless = [
        ("no headers", Proxied::nobody()),
        (
            "groups and extras without a user",
            Proxied::nobody()
                .group("system:masters")
                .header("x-remote-extra-scopes", "read"),
        ),
        ("an empty user", Proxied::user("").group("system:masters")),
    ];
    for (what, headers) in &nameless {
        let reply = headers.on(self_subject_review()).send(&proxy).await;
        assert_unauthorized(&reply, &format!("the proxy with {what}: SelfSubjectReview"));
        let reply = headers.on(Raw::get(&clds("default"))).send(&proxy).await;
        assert_unauthorized(&reply, &format!("the proxy with {what}: list"));
    }

    // A user of the client CA stays who its certificate says, whatever the headers claim.
    let carol = support::client_from(&server.kubeconfig_for("carol", &["viewers"])).await;
    let root = Proxied::user("root").group("system:masters");
    let reply = root.on(self_subject_review()).send(&carol).await;
    let info = user_info(&reply, "carol claiming to be root");
    assert_eq!(info["username"], "carol", "{info}");
    assert_eq!(info["groups"], json!(["viewers", "system:authenticated"]));
    let reply = root.on(Raw::get(&clds("default"))).send(&carol).await;
    let message = list_clds_forbidden("carol", "default");
    assert_forbidden(
        &reply,
        &CLDS_REFUSED,
        &message,
        "carol claiming to be root lists",
    );
    let admin = server.client().await;
    let reply = alice().on(self_subject_review()).send(&admin).await;
    let info = user_info(&reply, "the admin with alice's headers");
    assert_eq!(info["username"], "fleet-admin", "{info}");
    assert_eq!(
        info["groups"],
        json!(["system:masters", "system:authenticated"])
    );
    assert!(info.get("uid").is_none(), "{info}");
    // Only what the server derives from the certificate (its credential ID), no header extra.
    let extra = info["extra"].as_object().cloned().unwrap_or_default();
    assert!(
        extra
            .keys()
            .all(|k| k.starts_with("authentication.kubernetes.io/")),
        "{info}"
    );
}

#[tokio::test]
async fn without_allowed_names_any_certificate_of_the_request_header_ca_is_a_proxy() {
    let certs = ProxyCerts::generate();
    let server = start_behind_proxy(&certs, &[]);
    for (name, certificate) in [("proxy", &certs.proxy), ("intruder", &certs.intruder)] {
        let client = client_presenting(&server, name, certificate).await;
        let reply = alice().on(self_subject_review()).send(&client).await;
        assert_eq!(user_info(&reply, name), alice_info());
    }
    let impostor = client_presenting(&server, "impostor", &certs.impostor).await;
    let reply = alice().on(self_subject_review()).send(&impostor).await;
    assert_unauthorized(&reply, "another CA's certificate");
}

/// The rules the swept user has, written from the roles' definitions: what every
/// authenticated user may (system:basic-user; fleet:public-info-viewer: read price lists;
/// system:discovery is over paths) and fleet:edit bound in `team-a` — read
/// everything of fleet.k0rdent.io, write its tenant kinds.
fn alice_policy() -> Policy {
    const READ: &[&str] = &["get", "list", "watch"];
    const WRITE: &[&str] = &["create", "update", "patch", "delete", "deletecollection"];
    let fleet = &["fleet.k0rdent.io"];
    let tenant_kinds = &[
        "clusterdeployments",
        "clustertemplates",
        "servicetemplates",
        "multiclusterservices",
    ];
    let basic_user = vec![
        Rule::new(
            &["create"],
            &["authorization.k8s.io"],
            &["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
        ),
        Rule::new(
            &["create"],
            &["authentication.k8s.io"],
            &["selfsubjectreviews"],
        ),
        Rule::new(READ, fleet, &["pricelists"]),
    ];
    let fleet_edit = vec![
        Rule::new(READ, fleet, &["*"]),
        Rule::new(WRITE, fleet, tenant_kinds),
    ];
    Policy {
        cluster: basic_user,
        namespaces: BTreeMap::from([("team-a".to_owned(), fleet_edit)]),
    }
}

/// Sends `request` (with `headers`) until it is no longer refused — a new binding takes
/// effect — for at most 10 s; the last status.
async fn eventually_allowed(client: &kube::Client, headers: &Proxied, request: Raw) -> u16 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let reply = headers.on(request.clone()).send(client).await;
        if reply.status != 403 || Instant::now() > deadline {
            return reply.status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The admin's object of every kind that can be read and written, in `team-a`, `team-b` or
/// at the cluster scope: what the swept user's named requests find. Returns each one's
/// path and resourceVersion.
async fn create_fixtures(admin: &kube::Client, found: &[Found]) -> Vec<(String, Value)> {
    let mut created = Vec::new();
    let kinds = found
        .iter()
        .filter(|f| f.subresource.is_none() && f.advertises("create") && f.advertises("get"));
    for kind in kinds {
        for namespace in kind.namespaces(&["team-a", "team-b"]) {
            let fixture = kind.fixture(namespace, sweep::FIXTURE);
            let reply = Raw::post(&kind.collection(namespace))
                .json(&fixture)
                .send(admin)
                .await;
            assert_eq!(reply.status, 201, "fixture {fixture}: {}", reply.text());
            let path = kind.object(namespace, sweep::FIXTURE);
            created.push((path, reply.json()["metadata"]["resourceVersion"].clone()));
        }
    }
    created
}

#[tokio::test]
async fn a_proxied_user_may_do_exactly_what_rbac_grants_on_every_discovered_resource() {
    let certs = ProxyCerts::generate();
    let server = start_behind_proxy(&certs, &[PROXY_CN]);
    let admin = server.client().await;
    let proxy = client_presenting(&server, "proxy", &certs.proxy).await;
    let alice = Proxied::user("alice").group("developers");

    // Before any binding alice reads nothing of team-a; the RoleBinding makes her an editor.
    let reply = alice.on(Raw::get(&clds("team-a"))).send(&proxy).await;
    let message = list_clds_forbidden("alice", "team-a");
    assert_forbidden(&reply, &CLDS_REFUSED, &message, "alice before the binding");
    let binding = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "alice-edits", "namespace": "team-a"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "fleet:edit"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"}],
    });
    let reply = Raw::post("/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/rolebindings")
        .json(&binding)
        .send(&admin)
        .await;
    assert_eq!(reply.status, 201, "binding alice: {}", reply.text());
    let status = eventually_allowed(&proxy, &alice, Raw::get(&clds("team-a"))).await;
    assert_eq!(status, 200, "alice lists team-a once bound");

    // Discovery as alice (system:discovery), subresources first: deletes come last.
    let mut found = sweep::discover(&proxy, &alice).await;
    found.sort_by_key(|f| f.subresource.is_none());
    let fixtures = create_fixtures(&admin, &found).await;
    let sweeper = Sweeper {
        proxy: &proxy,
        admin: &admin,
        as_user: &alice,
        user: "alice",
        policy: &alice_policy(),
        namespaces: &["team-a", "team-b"],
    };
    let mut decisions: Vec<Decision> = Vec::new();
    for kind in &found {
        decisions.extend(sweeper.sweep(kind).await);
    }

    // The sweep covered what it must, with the expected outcomes.
    let decided = |verb: &str, combined: &str, namespace: &str| {
        decisions
            .iter()
            .find(|d| d.verb == verb && d.combined == combined && d.namespace == namespace)
            .map(|d| d.allowed)
    };
    let must = [
        ("create", "subjectaccessreviews", "", false),
        ("create", "localsubjectaccessreviews", "team-a", false),
        ("create", "tokenreviews", "", false),
        ("create", "selfsubjectaccessreviews", "", true),
        ("create", "selfsubjectrulesreviews", "", true),
        ("create", "selfsubjectreviews", "", true),
        ("create", "clusterdeployments", "team-a", true),
        ("create", "clusterdeployments", "team-b", false),
        ("list", "clusterdeployments", "", false),
        ("get", "clusterdeployments/status", "team-a", true),
        ("update", "clusterdeployments/status", "team-a", false),
        ("create", "clustertemplates", "team-a", true),
        ("patch", "servicetemplates", "team-a", true),
        ("update", "clustertemplates/status", "team-a", false),
        ("get", "credentials", "team-a", true),
        ("create", "credentials", "team-a", false),
        ("create", "multiclusterservices", "", false),
        ("get", "pricelists", "", true),
        ("update", "pricelists", "", false),
        ("delete", "rolebindings", "team-a", false),
        ("list", "clusterroles", "", false),
    ];
    for (verb, combined, namespace, allowed) in must {
        assert_eq!(
            decided(verb, combined, namespace),
            Some(allowed),
            "{verb} {combined} in {namespace:?} was swept with this decision"
        );
    }
    let allowed = decisions.iter().filter(|d| d.allowed).count();
    assert!(allowed > 5 && allowed < decisions.len(), "{decisions:?}");

    // What alice was refused did not happen: team-b and the cluster scope are untouched.
    for (path, version) in fixtures.iter().filter(|(p, _)| !p.contains("/team-a/")) {
        let reply = Raw::get(path).send(&admin).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text());
        assert_eq!(
            reply.json()["metadata"]["resourceVersion"],
            *version,
            "{path}"
        );
    }

    // Paths: discovery and public info yes, anything else refused with the path message.
    for path in [
        "/api",
        "/apis",
        "/apis/fleet.k0rdent.io/v1alpha1",
        "/version",
        "/healthz",
    ] {
        let reply = alice.on(Raw::get(path)).send(&proxy).await;
        assert_reaches_handler(&reply, &format!("alice GET {path}"));
    }
    let reply = alice.on(Raw::get("/metrics")).send(&proxy).await;
    assert_path_forbidden(&reply, "alice", "get", "/metrics");
    let reply = alice.on(Raw::post("/version")).send(&proxy).await;
    assert_path_forbidden(&reply, "alice", "post", "/version");
}

/// A static token file with two users, alice in two groups and bob in none.
fn token_file() -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().expect("a token file");
    let lines = "alice-token,alice,alice-uid,\"team-a,devs\"\nbob-token,bob,bob-uid\n";
    std::fs::write(file.path(), lines).expect("writing the token file");
    file
}

fn bearer(token: &str, request: Raw) -> Raw {
    request.header("authorization", &format!("Bearer {token}"))
}

/// SelfSubjectReview with `token` names alice and bob as the token file says.
async fn tokens_name_their_users(client: &kube::Client) {
    let reply = bearer("alice-token", self_subject_review())
        .send(client)
        .await;
    assert_eq!(
        user_info(&reply, "alice's token"),
        json!({"username": "alice", "uid": "alice-uid", "groups": ["team-a", "devs", "system:authenticated"]})
    );
    let reply = bearer("bob-token", self_subject_review())
        .send(client)
        .await;
    assert_eq!(
        user_info(&reply, "bob's token"),
        json!({"username": "bob", "uid": "bob-uid", "groups": ["system:authenticated"]})
    );
}

/// Health paths answer without any credentials.
async fn health_is_public(client: &kube::Client) {
    for path in ["/healthz", "/livez", "/readyz"] {
        let reply = Raw::get(path).send(client).await;
        assert_eq!(
            reply.status,
            200,
            "{path} without credentials: {}",
            reply.text()
        );
    }
}

#[tokio::test]
async fn static_tokens_authenticate_and_nothing_else_does_without_anonymous_access() {
    let tokens = token_file();
    let server = TestServer::builder(Backend::Embedded)
        .args(["--token-auth-file"])
        .args([tokens.path()])
        .start()
        .expect("the embedded backend runs everywhere");
    let nobody = server.anonymous_client().await;
    tokens_name_their_users(&nobody).await;

    let reply = bearer("bob-token", Raw::get(&clds("a")))
        .send(&nobody)
        .await;
    assert_forbidden(
        &reply,
        &CLDS_REFUSED,
        &list_clds_forbidden("bob", "a"),
        "bob lists",
    );
    // Without a front proxy, identity headers next to a token are ignored.
    let root = Proxied::user("root").group("system:masters");
    let reply = root
        .on(bearer("bob-token", self_subject_review()))
        .send(&nobody)
        .await;
    assert_eq!(
        user_info(&reply, "bob claiming to be root")["username"],
        "bob"
    );
    let reply = root
        .on(bearer("bob-token", Raw::get(&clds("a"))))
        .send(&nobody)
        .await;
    let message = list_clds_forbidden("bob", "a");
    assert_forbidden(
        &reply,
        &CLDS_REFUSED,
        &message,
        "bob claiming to be root lists",
    );

    for path in ["/version", "/apis", &clds("a")] {
        let reply = bearer("wrong-token", Raw::get(path)).send(&nobody).await;
        assert_unauthorized(&reply, &format!("a wrong token: {path}"));
        let reply = Raw::get(path).send(&nobody).await;
        assert_unauthorized(&reply, &format!("no credentials: {path}"));
    }
    let reply = self_subject_review().send(&nobody).await;
    assert_unauthorized(&reply, "no credentials: SelfSubjectReview");
    health_is_public(&nobody).await;

    // A certificate no CA vouches for fails alone, but a valid token still authenticates.
    let stranger = TestCa::generate("stranger-ca").issue("alice");
    let stranger = client_presenting(&server, "stranger", &stranger).await;
    let reply = self_subject_review().send(&stranger).await;
    assert_unauthorized(&reply, "a stranger's certificate");
    let reply = bearer("bob-token", self_subject_review())
        .send(&stranger)
        .await;
    assert_eq!(
        user_info(&reply, "a stranger's certificate with bob's token")["username"],
        "bob"
    );
}

#[tokio::test]
async fn with_anonymous_access_requests_without_credentials_are_system_anonymous() {
    let tokens = token_file();
    let server = TestServer::builder(Backend::Embedded)
        .args(["--token-auth-file"])
        .args([tokens.path()])
        .args(["--anonymous-auth=true"])
        .start()
        .expect("the embedded backend runs everywhere");
    let admin = server.client().await;
    let nobody = server.anonymous_client().await;
    tokens_name_their_users(&nobody).await;
    health_is_public(&nobody).await;

    // system:public-info-viewer is bound to system:unauthenticated, system:discovery is not.
    let reply = Raw::get("/version").send(&nobody).await;
    assert_eq!(reply.status, 200, "anonymous /version: {}", reply.text());
    let reply = Raw::get("/apis").send(&nobody).await;
    assert_path_forbidden(&reply, "system:anonymous", "get", "/apis");
    let reply = Raw::get(&clds("a")).send(&nobody).await;
    let message = list_clds_forbidden("system:anonymous", "a");
    assert_forbidden(&reply, &CLDS_REFUSED, &message, "anonymous lists");
    let reply = self_subject_review().send(&nobody).await;
    let refused = Refused {
        group: "authentication.k8s.io",
        resource: "selfsubjectreviews",
        name: "",
    };
    let message = "selfsubjectreviews.authentication.k8s.io is forbidden: User \"system:anonymous\" cannot create resource \"selfsubjectreviews\" in API group \"authentication.k8s.io\" at the cluster scope";
    assert_forbidden(&reply, &refused, message, "anonymous SelfSubjectReview");

    // A wrong token is not anonymous.
    for path in ["/version", &clds("a")] {
        let reply = bearer("wrong-token", Raw::get(path)).send(&nobody).await;
        assert_unauthorized(&reply, &format!("a wrong token: {path}"));
    }

    // Anonymous requests are in system:unauthenticated and not in system:authenticated.
    for (namespace, group) in [
        ("b", "system:unauthenticated"),
        ("c", "system:authenticated"),
    ] {
        let binding = json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "viewers", "namespace": namespace},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "fleet:view"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}],
        });
        let path =
            format!("/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings");
        let reply = Raw::post(&path).json(&binding).send(&admin).await;
        assert_eq!(reply.status, 201, "binding {group}: {}", reply.text());
    }
    let anonymous = Proxied::nobody();
    let status = eventually_allowed(&nobody, &anonymous, Raw::get(&clds("b"))).await;
    assert_eq!(status, 200, "system:unauthenticated may view b");
    let bob_reads_c = eventually_allowed(
        &nobody,
        &anonymous,
        bearer("bob-token", Raw::get(&clds("c"))),
    );
    assert_eq!(bob_reads_c.await, 200, "system:authenticated may view c");
    let reply = Raw::get(&clds("c")).send(&nobody).await;
    let message = list_clds_forbidden("system:anonymous", "c");
    assert_forbidden(&reply, &CLDS_REFUSED, &message, "anonymous lists c");
}

/// The in-process controllers' user: a client certificate naming it, a trusted front proxy
/// naming it, an administrator impersonating it — none is it.
#[tokio::test]
async fn nobody_outside_the_process_is_the_controllers_user() {
    const MANAGER: &str = "system:fleet-controller-manager";
    let proxy_ca = TestCa::generate("front-proxy-ca");
    let Some(server) = TestServer::builder(Backend::Embedded)
        .args(["--requestheader-client-ca-file"])
        .args([proxy_ca.file()])
        .start()
    else {
        return;
    };
    // A client certificate with its name, from the server's own CA.
    let certificate = support::client_from(&server.kubeconfig_for(MANAGER, &[])).await;
    let reply = Raw::get(DEFAULT_CLDS).send(&certificate).await;
    assert_unauthorized(&reply, "a certificate naming the controllers' user");

    // A trusted front proxy naming it.
    let proxy = client_presenting(&server, "proxy", &proxy_ca.issue("front-proxy")).await;
    let reply = Proxied::user(MANAGER)
        .on(Raw::get(DEFAULT_CLDS))
        .send(&proxy)
        .await;
    assert_unauthorized(&reply, "a front proxy naming the controllers' user");
    let reply = Proxied::user("alice")
        .on(Raw::get("/apis"))
        .send(&proxy)
        .await;
    assert_eq!(
        reply.status,
        200,
        "the proxy itself is trusted: {}",
        reply.text()
    );

    // An administrator impersonating it.
    let admin = server.client().await;
    let reply = Raw::get(DEFAULT_CLDS)
        .header("Impersonate-User", MANAGER)
        .send(&admin)
        .await;
    assert_eq!(reply.status, 403, "{}", reply.text());
    assert_eq!(
        reply.json()["message"],
        "users \"system:fleet-controller-manager\" is forbidden: User \"fleet-admin\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope: the in-process controllers' user cannot be impersonated"
    );
}
