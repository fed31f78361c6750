//! Fixtures of the tenant matrix (`tenancy`): a server with team-a's editors bound, object
//! builders, kube-apiserver's 403 lines, and readers of kubectl's tables.

use crate::support::{Backend, Kubectl, TestServer};

/// The collection of ClusterDeployments in `namespace`, for `--raw` requests.
pub fn clds_path(namespace: &str) -> String {
    format!("/apis/fleet.k0rdent.io/v1alpha1/namespaces/{namespace}/clusterdeployments")
}

/// A server with team-a's editors bound, and kubectl runners for the admin and for alice.
pub struct Tenants {
    pub server: TestServer,
    pub version: String,
    pub admin: Kubectl,
    pub alice: Kubectl,
}

impl Tenants {
    /// Starts the server and binds group `team-a` to `fleet:edit` in namespace `team-a` with
    /// kubectl's imperative (protobuf) `create rolebinding`. `None` when the backend or that
    /// kubectl cannot run here.
    pub fn start(backend: Backend, version: &str) -> Option<Tenants> {
        let server = TestServer::start(backend)?;
        let admin = Kubectl::new(version, &server.kubeconfig())?;
        let out = admin.ok(&[
            "create",
            "rolebinding",
            "team-a-edit",
            "--clusterrole=fleet:edit",
            "--group=team-a",
            "-n",
            "team-a",
        ]);
        assert_eq!(
            out.trim(),
            "rolebinding.rbac.authorization.k8s.io/team-a-edit created"
        );
        let alice = Kubectl::new(version, &server.kubeconfig_for("alice", &["team-a"]))?;
        Some(Tenants {
            server,
            version: version.to_owned(),
            admin,
            alice,
        })
    }

    /// A kubectl for `user` in `groups`, with a client certificate from the server's CA.
    pub fn user(&self, user: &str, groups: &[&str]) -> Kubectl {
        let kubeconfig = self.server.kubeconfig_for(user, groups);
        Kubectl::new(&self.version, &kubeconfig).expect("this kubectl ran at start")
    }

    /// The admin creates ClusterDeployment `namespace/name`.
    pub fn admin_creates(&self, namespace: &str, name: &str) {
        let out = self.admin.ok_with(
            &["create", "-f", "-"],
            Some(&cld_yaml(namespace, name, "aws")),
        );
        assert_eq!(
            out.trim(),
            format!("clusterdeployment.fleet.k0rdent.io/{name} created")
        );
    }

    /// `namespace/name` as the admin reads it (JSON, resourceVersion included).
    pub fn stored(&self, namespace: &str, name: &str) -> String {
        self.admin
            .ok(&["get", "cld", name, "-n", namespace, "-o", "json"])
    }

    /// The names of the objects of `kind` in `namespace`, as the admin lists them.
    pub fn names(&self, kind: &str, namespace: &str) -> String {
        self.admin.ok(&["get", kind, "-n", namespace, "-o", "name"])
    }
}

/// A ClusterDeployment as YAML (the shape of `examples/clusterdeployment.yaml`).
pub fn cld_yaml(namespace: &str, name: &str, template: &str) -> String {
    format!(
        "apiVersion: fleet.k0rdent.io/v1alpha1\n\
         kind: ClusterDeployment\n\
         metadata:\n  name: {name}\n  namespace: {namespace}\n  labels:\n    env: prod\n\
         spec:\n  template: {template}\n  credential: aws-eu\n  config:\n    region: eu-central-1\n"
    )
}

/// A RoleBinding granting `fleet:admin` to group `team-a` in `team-a`, as YAML.
pub const ESCALATING_BINDING: &str = "apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: team-a-admin
  namespace: team-a
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: fleet:admin
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: Group
  name: team-a
";

/// kubectl's line for the 403 of `user` doing `verb` on clusterdeployments (object `name`,
/// if any) in `namespace`, worded as k8s.io/apiserver
/// `pkg/endpoints/handlers/responsewriters/errors.go` (`forbiddenMessage`) and apimachinery
/// `pkg/api/errors/errors.go` (`NewForbidden`).
pub fn cld_forbidden(user: &str, verb: &str, name: Option<&str>, namespace: &str) -> String {
    let name = name.map(|n| format!(" {n:?}")).unwrap_or_default();
    format!(
        "Error from server (Forbidden): clusterdeployments.fleet.k0rdent.io{name} is forbidden: \
         User {user:?} cannot {verb} resource \"clusterdeployments\" in API group \
         \"fleet.k0rdent.io\" in the namespace {namespace:?}"
    )
}

/// Runs a kubectl command that must fail, and asserts that its last stderr line is `expected`
/// (kubectl may log discovery errors before it).
pub fn refused(kubectl: &Kubectl, args: &[&str], stdin: Option<&str>, expected: &str) {
    let err = kubectl.fails_with(args, stdin);
    let last = err.trim_end().lines().last().unwrap_or_default();
    assert_eq!(last, expected, "kubectl {}; stderr:\n{err}", args.join(" "));
}

/// The rows of a kubectl table, split on whitespace.
pub fn rows(text: &str) -> Vec<Vec<&str>> {
    text.lines()
        .map(|line| line.split_whitespace().collect())
        .filter(|row: &Vec<&str>| !row.is_empty())
        .collect()
}

/// The verbs of the `auth can-i --list` row for `resource`, sorted; `None` when no row names
/// it.
pub fn listed_verbs(list: &str, resource: &str) -> Option<Vec<String>> {
    let line = list
        .lines()
        .find(|line| line.split_whitespace().next() == Some(resource))?;
    let verbs = line.rsplit_once('[')?.1.trim_end().trim_end_matches(']');
    let mut verbs: Vec<String> = verbs.split_whitespace().map(str::to_owned).collect();
    verbs.sort();
    Some(verbs)
}

/// `verbs` as owned strings, sorted (to compare with [`listed_verbs`]).
pub fn sorted(verbs: &[&str]) -> Vec<String> {
    let mut verbs: Vec<String> = verbs.iter().map(|v| (*v).to_owned()).collect();
    verbs.sort();
    verbs
}

/// `kubectl auth can-i --list` for a user with only the bootstrap bindings of
/// system:authenticated (system:basic-user, fleet:public-info-viewer, system:discovery,
/// system:public-info-viewer; the health and version paths come from both of the last two,
/// and kubectl prints both rules). kubectl sorts resource rules by group, then resource.
pub const BASIC_USER_RULES: &str = "
Resources                                       Non-Resource URLs   Resource Names   Verbs
selfsubjectreviews.authentication.k8s.io        []                  []               [create]
selfsubjectaccessreviews.authorization.k8s.io   []                  []               [create]
selfsubjectrulesreviews.authorization.k8s.io    []                  []               [create]
pricelists.fleet.k0rdent.io                     []                  []               [get list watch]
                                                [/api/*]            []               [get]
                                                [/api]              []               [get]
                                                [/apis/*]           []               [get]
                                                [/apis]             []               [get]
                                                [/healthz]          []               [get]
                                                [/healthz]          []               [get]
                                                [/livez]            []               [get]
                                                [/livez]            []               [get]
                                                [/openapi/*]        []               [get]
                                                [/openapi]          []               [get]
                                                [/readyz]           []               [get]
                                                [/readyz]           []               [get]
                                                [/version/]         []               [get]
                                                [/version/]         []               [get]
                                                [/version]          []               [get]
                                                [/version]          []               [get]
";
