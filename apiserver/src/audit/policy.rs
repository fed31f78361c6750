//! Which requests are audited, and how much of them: the audit.k8s.io/v1 `Policy`, read as
//! k8s.io/apiserver `pkg/audit/policy/reader.go` does, validated as
//! `pkg/apis/audit/validation/validation.go` does and evaluated as `pkg/audit/policy/checker.go`
//! does.

use std::path::Path;

use serde::de::IgnoredAny;
use serde::Deserialize;

pub use registry::authorizer::Attributes;

use super::{Error, Level, Result, Stage, API_VERSION};

/// An audit policy: strictly ordered rules, the first matching one decides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    pub rules: Vec<PolicyRule>,
    /// Stages never recorded, whichever rule matches.
    pub omit_stages: Vec<Stage>,
    /// Whether `metadata.managedFields` is dropped from recorded bodies, unless the matching
    /// rule says otherwise.
    pub omit_managed_fields: bool,
}

/// One rule: a request matches when it matches every field that is set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyRule {
    pub level: Level,
    /// User names; empty matches every user.
    #[serde(default)]
    pub users: Vec<String>,
    /// Groups, any of which the user must be in; empty matches every user.
    #[serde(default)]
    pub user_groups: Vec<String>,
    /// Empty matches every verb.
    #[serde(default)]
    pub verbs: Vec<String>,
    /// Empty matches every resource in every group.
    #[serde(default)]
    pub resources: Vec<GroupResources>,
    /// `""` matches cluster-scoped resources; empty matches every namespace.
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// Paths of non-resource requests; a final `*` matches any rest of the path.
    #[serde(default, rename = "nonResourceURLs")]
    pub non_resource_urls: Vec<String>,
    /// Stages not recorded for requests this rule matches (besides the policy's).
    #[serde(default)]
    pub omit_stages: Vec<Stage>,
    /// Overrides the policy's `omitManagedFields` when set.
    #[serde(default)]
    pub omit_managed_fields: Option<bool>,
}

/// Resources of one API group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupResources {
    /// `""` is the core group, `*` every group.
    #[serde(default)]
    pub group: String,
    /// `pods`, `pods/log`, `*` (every resource and subresource), `pods/*`, `*/status`; empty
    /// matches everything in the group.
    #[serde(default)]
    pub resources: Vec<String>,
    /// Object names; empty matches every object. Requires `resources`.
    #[serde(default)]
    pub resource_names: Vec<String>,
}

/// How a request is audited.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    pub level: Level,
    /// The matching rule's omitted stages and the policy's.
    pub omit_stages: Vec<Stage>,
    pub omit_managed_fields: bool,
}

impl Decision {
    /// Whether an event is written at `stage`.
    pub fn records(&self, stage: Stage) -> bool {
        self.level > Level::None && !self.omit_stages.contains(&stage)
    }
}

/// A policy file as written: `Policy` plus its type and object metadata.
///
/// Unknown fields are an error. kube-apiserver instead falls back to lenient decoding with a
/// warning, for files written before it decoded strictly; here there are no such files, and
/// a misspelt field (`namespace:` for `namespaces:`) would silently widen a rule.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    #[serde(default, rename = "metadata")]
    _metadata: IgnoredAny,
    #[serde(default)]
    rules: Vec<PolicyRule>,
    #[serde(default)]
    omit_stages: Vec<Stage>,
    #[serde(default)]
    omit_managed_fields: bool,
}

impl Policy {
    /// Reads an audit.k8s.io/v1 `Policy` (YAML or JSON) file; errors name the file and say
    /// what is wrong.
    pub fn from_file(path: &Path) -> Result<Policy> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::ReadPolicy {
            path: path.to_owned(),
            source,
        })?;
        Policy::parse(&text, Some(path))
    }

    /// Reads an audit.k8s.io/v1 `Policy` from YAML or JSON text.
    pub fn from_yaml(text: &str) -> Result<Policy> {
        Policy::parse(text, None)
    }

    /// Metadata for every request (used when `--audit-log-path` is set without a policy file).
    pub fn metadata_for_everything() -> Policy {
        Policy {
            rules: vec![PolicyRule {
                level: Level::Metadata,
                ..PolicyRule::default()
            }],
            ..Policy::default()
        }
    }

    /// The level and omitted stages for a request: the first matching rule decides, and its
    /// omitted stages add to the policy's; when no rule matches the level is `None`. Whatever
    /// the rules say, [`holds_secrets`] requests are capped at `Metadata`.
    pub fn evaluate(&self, attributes: &Attributes) -> Decision {
        let mut decision = match self.rules.iter().find(|rule| rule.matches(attributes)) {
            Some(rule) => Decision {
                level: rule.level,
                omit_stages: union(&self.omit_stages, &rule.omit_stages),
                omit_managed_fields: rule.omit_managed_fields.unwrap_or(self.omit_managed_fields),
            },
            None => Decision {
                level: Level::None,
                omit_stages: self.omit_stages.clone(),
                omit_managed_fields: self.omit_managed_fields,
            },
        };
        if holds_secrets(attributes) {
            decision.level = decision.level.min(Level::Metadata);
        }
        decision
    }

    fn parse(text: &str, path: Option<&Path>) -> Result<Policy> {
        let path = path.map(Path::to_path_buf);
        let file: PolicyFile =
            yaml_serde::from_str(text).map_err(|source| Error::DecodePolicy {
                path: path.clone(),
                source,
            })?;
        let problems = file.problems();
        if !problems.is_empty() {
            return Err(Error::InvalidPolicy { path, problems });
        }
        tracing::debug!(rules = file.rules.len(), "loaded audit policy");
        Ok(Policy {
            rules: file.rules,
            omit_stages: file.omit_stages,
            omit_managed_fields: file.omit_managed_fields,
        })
    }
}

/// Whether a request reads or writes objects holding secret material: `credentials` in
/// `fleet.k0rdent.io` (cloud account identities) and core `secrets`.
///
/// At `Request` or `RequestResponse` their bodies would be copied into the audit log, which
/// is kept longer, and readable by more people, than the objects themselves; so they are
/// never recorded above `Metadata`, whatever the policy says. (kube-apiserver leaves this to
/// the policy author; the policies Kubernetes publishes, such as GCE's in
/// `cluster/gce/gci/configure-helper.sh`, log secrets at `Metadata` only for this reason.)
pub fn holds_secrets(attributes: &Attributes) -> bool {
    attributes.resource_request
        && matches!(
            (attributes.api_group.as_str(), attributes.resource.as_str()),
            ("fleet.k0rdent.io", "credentials") | ("", "secrets")
        )
}

impl PolicyFile {
    /// What `LoadPolicyFromBytes` and `ValidatePolicy` reject, as `field: problem`.
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.api_version != API_VERSION || self.kind != "Policy" {
            problems.push(format!(
                "apiVersion and kind must be {API_VERSION:?} and \"Policy\", not {:?} and {:?}",
                self.api_version, self.kind
            ));
        }
        if self.rules.is_empty() {
            problems.push("rules: Required value: a policy without rules audits nothing".into());
        }
        for (i, rule) in self.rules.iter().enumerate() {
            rule.collect_problems(&format!("rules[{i}]"), &mut problems);
        }
        problems
    }
}

impl PolicyRule {
    fn collect_problems(&self, at: &str, problems: &mut Vec<String>) {
        for (i, url) in self.non_resource_urls.iter().enumerate() {
            let mut invalid = |why: &str| {
                problems.push(format!(
                    "{at}.nonResourceURLs[{i}]: Invalid value: {url:?}: {why}"
                ))
            };
            if url == "*" {
                continue;
            }
            if !url.starts_with('/') {
                invalid("non-resource URL rules must begin with a '/' character");
            }
            let mut all_but_last = url.chars();
            all_but_last.next_back();
            if all_but_last.as_str().contains('*') {
                invalid("non-resource URL wildcards '*' must be the final character of the rule");
            }
        }
        if !self.non_resource_urls.is_empty()
            && (!self.resources.is_empty() || !self.namespaces.is_empty())
        {
            problems.push(format!(
                "{at}.nonResourceURLs: Invalid value: {:?}: rules cannot apply to both regular \
                 resources and non-resource URLs",
                self.non_resource_urls
            ));
        }
        for resources in &self.resources {
            let group = &resources.group;
            if !group.is_empty() && group != "*" {
                let why = registry::meta::dns1123_subdomain_problems(group);
                if !why.is_empty() {
                    problems.push(format!(
                        "{at}.resources.group: Invalid value: {group:?}: {}",
                        why.join(",")
                    ));
                }
            }
            if !resources.resource_names.is_empty() && resources.resources.is_empty() {
                problems.push(format!(
                    "{at}.resources.resourceNames: Invalid value: {:?}: using resourceNames \
                     requires at least one resource",
                    resources.resource_names
                ));
            }
        }
    }

    /// `ruleMatches`: users, groups and verbs, then either the resource or the non-resource
    /// fields; a rule with neither matches both kinds of request.
    fn matches(&self, attributes: &Attributes) -> bool {
        if !self.users.is_empty() && !self.users.contains(&attributes.user.name) {
            return false;
        }
        if !self.user_groups.is_empty()
            && !attributes
                .user
                .groups
                .iter()
                .any(|g| self.user_groups.contains(g))
        {
            return false;
        }
        if !self.verbs.is_empty() && !self.verbs.contains(&attributes.verb) {
            return false;
        }
        if !self.namespaces.is_empty() || !self.resources.is_empty() {
            return self.matches_resource(attributes);
        }
        if !self.non_resource_urls.is_empty() {
            return !attributes.resource_request
                && self
                    .non_resource_urls
                    .iter()
                    .any(|spec| path_matches(&attributes.path, spec));
        }
        true
    }

    fn matches_resource(&self, attributes: &Attributes) -> bool {
        if !attributes.resource_request {
            return false;
        }
        if !self.namespaces.is_empty() && !self.namespaces.contains(&attributes.namespace) {
            return false;
        }
        self.resources.is_empty() || self.resources.iter().any(|gr| gr.matches(attributes))
    }
}

impl GroupResources {
    fn matches(&self, attributes: &Attributes) -> bool {
        if self.group != attributes.api_group && self.group != "*" {
            return false;
        }
        if self.resources.is_empty() {
            return true;
        }
        if !self.resource_names.is_empty() && !self.resource_names.contains(&attributes.name) {
            return false;
        }
        let (resource, subresource) = (
            attributes.resource.as_str(),
            attributes.subresource.as_str(),
        );
        self.resources.iter().any(|spec| {
            let exact = match subresource {
                "" => spec == resource,
                sub => {
                    spec.strip_prefix(resource)
                        .and_then(|s| s.strip_prefix('/'))
                        == Some(sub)
                }
            };
            exact
                || spec == "*"
                // `*/status`: that subresource of any resource.
                || (!subresource.is_empty() && spec.strip_prefix("*/") == Some(subresource))
                // `pods/*`: as upstream, the resource itself as well as its subresources.
                || spec.strip_suffix("/*") == Some(resource)
        })
    }
}

/// `pathMatches`: `*`, the exact path, or a prefix ending in `*`.
fn path_matches(path: &str, spec: &str) -> bool {
    spec == "*"
        || spec == path
        || (spec.ends_with('*') && path.starts_with(spec.trim_end_matches('*')))
}

fn union(first: &[Stage], second: &[Stage]) -> Vec<Stage> {
    let mut stages = first.to_vec();
    for stage in second {
        if !stages.contains(stage) {
            stages.push(*stage);
        }
    }
    stages
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request, as upstream's checker tests build them: by default tim@k8s.io (groups
    /// `humans`, `developers`) gets pod `busybox` in `default`.
    #[derive(Clone)]
    struct Req {
        user: &'static str,
        groups: Vec<String>,
        verb: &'static str,
        resource_request: bool,
        namespace: &'static str,
        api_group: &'static str,
        resource: &'static str,
        subresource: &'static str,
        name: &'static str,
        path: &'static str,
    }

    impl Req {
        fn pod() -> Req {
            Req {
                user: "tim@k8s.io",
                groups: vec!["humans".into(), "developers".into()],
                verb: "get",
                resource_request: true,
                namespace: "default",
                api_group: "",
                resource: "pods",
                subresource: "",
                name: "busybox",
                path: "/api/v1/namespaces/default/pods/busybox",
            }
        }

        fn pod_log() -> Req {
            Req {
                subresource: "log",
                path: "/api/v1/namespaces/default/pods/busybox/log",
                ..Req::pod()
            }
        }

        fn cluster_role(name: &'static str) -> Req {
            Req {
                namespace: "",
                api_group: "rbac.authorization.k8s.io",
                resource: "clusterroles",
                name,
                path: "/apis/rbac.authorization.k8s.io/v1/clusterroles/edit",
                ..Req::pod()
            }
        }

        fn non_resource(path: &'static str) -> Req {
            Req {
                resource_request: false,
                namespace: "",
                resource: "",
                name: "",
                path,
                ..Req::pod()
            }
        }

        fn in_group(api_group: &'static str, resource: &'static str) -> Req {
            Req {
                api_group,
                resource,
                ..Req::pod()
            }
        }

        fn verb(self, verb: &'static str) -> Req {
            Req { verb, ..self }
        }

        fn subresource(self, subresource: &'static str) -> Req {
            Req {
                subresource,
                ..self
            }
        }

        fn namespace(self, namespace: &'static str) -> Req {
            Req { namespace, ..self }
        }

        fn by(self, user: &'static str, groups: &[&str]) -> Req {
            Req {
                user,
                groups: groups.iter().map(|g| g.to_string()).collect(),
                ..self
            }
        }

        fn attributes(&self) -> Attributes {
            Attributes {
                user: registry::authorizer::User::new(self.user, self.groups.clone()),
                verb: self.verb.into(),
                resource_request: self.resource_request,
                namespace: self.namespace.into(),
                api_group: self.api_group.into(),
                api_version: "v1".into(),
                resource: self.resource.into(),
                subresource: self.subresource.into(),
                name: self.name.into(),
                path: self.path.into(),
            }
        }
    }

    /// The rules of upstream's `checker_test.go`, by the same names.
    fn rule(name: &str) -> PolicyRule {
        let yaml = match name {
            "default" => "level: Metadata",
            "create" => "{level: Request, verbs: [create]}",
            "tims" => "{level: Metadata, users: [tim@k8s.io]}",
            "humans" => "{level: Metadata, userGroups: [humans]}",
            "serviceAccounts" => "{level: Request, userGroups: ['system:serviceaccounts']}",
            "getPods" => "{level: RequestResponse, verbs: [get], resources: [{resources: [pods]}]}",
            "getPodLogs" => "{level: Request, verbs: [get], resources: [{resources: [pods/log]}]}",
            "getAnything" => "{level: Request, verbs: [get], resources: [{resources: ['*']}]}",
            "getAnyLog" => "{level: Request, verbs: [get], resources: [{resources: ['*/log']}]}",
            "getPodsAndSubresources" => {
                "{level: Request, verbs: [get], resources: [{resources: ['pods/*']}]}"
            }
            "getClusterRoles" => {
                "{level: RequestResponse, verbs: [get], namespaces: [''], resources: \
                 [{group: rbac.authorization.k8s.io, resources: [clusterroles]}]}"
            }
            "clusterRoleEdit" => {
                "{level: Request, resources: [{group: rbac.authorization.k8s.io, \
                 resources: [clusterroles], resourceNames: [edit]}]}"
            }
            "updateAnyStatus" => {
                "{level: RequestResponse, verbs: [update], resources: [{group: '*', \
                 resources: ['*/status']}]}"
            }
            "kubeSystem" => "{level: Request, namespaces: [kube-system]}",
            "clusterScoped" => "{level: Request, namespaces: ['']}",
            "getLogs" => "{level: RequestResponse, verbs: [get], nonResourceURLs: ['/logs*']}",
            "getMetrics" => "{level: Request, verbs: [get], nonResourceURLs: [/metrics]}",
            "anyNonResource" => "{level: Request, nonResourceURLs: ['*']}",
            "omitRequestReceived" => "{level: Request, omitStages: [RequestReceived]}",
            "onlyPanic" => {
                "{level: Request, omitStages: [RequestReceived, ResponseStarted, \
                 ResponseComplete]}"
            }
            other => panic!("no rule {other}"),
        };
        yaml_serde::from_str(yaml).unwrap()
    }

    fn policy(rules: &[&str], omit_stages: &[Stage]) -> Policy {
        Policy {
            rules: rules.iter().map(|name| rule(name)).collect(),
            omit_stages: omit_stages.to_vec(),
            omit_managed_fields: false,
        }
    }

    #[test]
    #[rustfmt::skip] // One case per line reads as a table.
    fn the_first_matching_rule_decides_the_level() {
        use Level::*;
        let anonymous = Req::pod().by("system:anonymous", &["system:unauthenticated"]);
        let status_update = Req::cluster_role("x").verb("update").subresource("status");
        let cases: &[(&str, Req, &[&str], Level)] = &[
            ("a catch-all matches", Req::pod(), &["default"], Metadata),
            ("verbs must match", Req::pod(), &["create"], None),
            ("users match by name", Req::pod(), &["tims"], Metadata),
            ("groups match any group", Req::pod(), &["humans"], Metadata),
            ("other groups do not match", Req::pod(), &["serviceAccounts"], None),
            ("resources match", Req::pod(), &["getPods"], RequestResponse),
            ("a later match does not count", Req::pod(), &["getMetrics", "serviceAccounts", "default"], Metadata),
            ("a subresource rule skips the resource", Req::pod(), &["getPodLogs", "getPods"], RequestResponse),
            ("a resource rule skips subresources", Req::pod_log(), &["getPods"], None),
            ("resource/subresource matches", Req::pod_log(), &["getPodLogs", "getPods"], Request),
            ("* matches subresources", Req::pod_log(), &["getAnything"], Request),
            ("*/log matches any log", Req::pod_log(), &["getAnyLog"], Request),
            ("*/log needs a subresource", Req::pod(), &["getAnyLog"], None),
            ("pods/* matches a subresource", Req::pod_log(), &["getPodsAndSubresources"], Request),
            ("pods/* matches pods, as upstream", Req::pod(), &["getPodsAndSubresources"], Request),
            ("group * with */status", status_update.clone(), &["updateAnyStatus"], RequestResponse),
            ("*/status needs the verb", status_update.verb("get"), &["updateAnyStatus"], None),
            ("groups must match", Req::pod(), &["getClusterRoles"], None),
            ("'' matches cluster-scoped", Req::cluster_role("edit"), &["getClusterRoles"], RequestResponse),
            ("resourceNames must match", Req::cluster_role("admin"), &["clusterRoleEdit"], None),
            ("resourceNames match", Req::cluster_role("edit"), &["clusterRoleEdit", "getClusterRoles"], Request),
            ("namespaces must match", Req::pod(), &["kubeSystem"], None),
            ("namespaces match", Req::pod().namespace("kube-system"), &["kubeSystem"], Request),
            ("namespace '' is cluster scope", Req::cluster_role("edit"), &["clusterScoped"], Request),
            ("namespace '' is not a namespace", Req::pod(), &["clusterScoped"], None),
            ("a trailing * matches the rest", Req::non_resource("/logs/kubelet.log"), &["getLogs"], RequestResponse),
            ("URLs match exactly", Req::non_resource("/metrics/extra"), &["getMetrics"], None),
            ("URL * matches any path", Req::non_resource("/healthz"), &["anyNonResource"], Request),
            ("URL rules skip resources", Req::pod(), &["getLogs", "anyNonResource"], None),
            ("resource rules skip URLs", Req::non_resource("/logs/x"), &["getPods", "kubeSystem"], None),
            ("anonymous is not tim", anonymous.clone(), &["tims", "default"], Metadata),
            ("anonymous is not human", anonymous, &["humans"], None),
            ("no rule matches: None", Req::pod(), &[], None),
        ];
        for (why, request, rules, level) in cases {
            let decision = policy(rules, &[]).evaluate(&request.attributes());
            assert_eq!(decision.level, *level, "{why}: rules {rules:?}");
        }
    }

    #[test]
    #[rustfmt::skip] // One case per line reads as a table.
    fn omitted_stages_are_the_rules_and_the_policys() {
        use Stage::*;
        let policy_wide = [RequestReceived, ResponseStarted];
        let all_but_panic = [RequestReceived, ResponseStarted, ResponseComplete];
        type Case<'a> = (Req, &'a [&'a str], &'a [Stage], &'a [Stage]);
        let cases: &[Case] = &[
            (Req::pod(), &["omitRequestReceived", "default"], &[], &[RequestReceived]),
            (Req::pod(), &["onlyPanic"], &[], &all_but_panic),
            (Req::pod(), &["omitRequestReceived"], &policy_wide, &policy_wide),
            (Req::non_resource("/x"), &["onlyPanic"], &policy_wide, &all_but_panic),
            (Req::pod(), &["getMetrics"], &policy_wide, &policy_wide),
        ];
        for (request, rules, policy_stages, expected) in cases {
            let mut got = policy(rules, policy_stages).evaluate(&request.attributes()).omit_stages;
            got.sort_by_key(|s| *s as u8);
            assert_eq!(got, *expected, "rules {rules:?}, policy omits {policy_stages:?}");
        }
    }

    #[test]
    fn a_decision_records_only_stages_not_omitted_at_a_level_above_none() {
        let decision = policy(&["omitRequestReceived"], &[]).evaluate(&Req::pod().attributes());
        assert!(!decision.records(Stage::RequestReceived));
        assert!(decision.records(Stage::ResponseComplete));
        let none = policy(&[], &[]).evaluate(&Req::pod().attributes());
        assert!(!none.records(Stage::ResponseComplete));
    }

    #[test]
    fn credentials_and_secrets_are_never_logged_above_metadata() {
        let everything = Policy::from_yaml(
            "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n\
             - level: None\n  resources: [{group: fleet.k0rdent.io, resources: [credentials], resourceNames: [quiet]}]\n\
             - level: RequestResponse\n",
        )
        .unwrap();
        let level = |request: Req| everything.evaluate(&request.attributes()).level;
        let credential = || Req::in_group("fleet.k0rdent.io", "credentials");
        assert_eq!(level(credential()), Level::Metadata);
        assert_eq!(level(credential().verb("create")), Level::Metadata);
        assert_eq!(level(credential().subresource("status")), Level::Metadata);
        assert_eq!(level(Req::in_group("", "secrets")), Level::Metadata);
        // The cap only lowers.
        assert_eq!(
            level(Req {
                name: "quiet",
                ..credential()
            }),
            Level::None
        );
        // Other resources, and `secrets` of other groups, keep the policy's level.
        assert_eq!(
            level(Req::in_group("", "configmaps")),
            Level::RequestResponse
        );
        assert_eq!(
            level(Req::in_group("example.com", "secrets")),
            Level::RequestResponse
        );
        assert_eq!(
            level(Req::in_group("fleet.k0rdent.io", "clusterdeployments")),
            Level::RequestResponse
        );
        assert_eq!(
            level(Req::non_resource("/api/v1/secrets")),
            Level::RequestResponse
        );
    }

    const REALISTIC: &str = r#"
# The fleet-apiserver audit policy.
apiVersion: audit.k8s.io/v1
kind: Policy
metadata:
  name: fleet
omitStages:
  - RequestReceived
rules:
  # Probes and discovery are noise.
  - level: None
    nonResourceURLs: ["/healthz*", "/livez*", "/readyz*", "/version"]
  - level: None
    users: ["system:serviceaccount:kcm-system:kcm-controller-manager"]
    verbs: ["get", "list", "watch"]
  - level: Metadata
    resources:
      - group: ""
        resources: ["secrets", "configmaps"]
      - group: fleet.k0rdent.io
        resources: ["credentials"]
  - level: RequestResponse
    namespaces: ["kcm-system"]
    verbs: ["create", "update", "patch", "delete"]
    resources:
      - group: fleet.k0rdent.io
        resources: ["clusterdeployments", "clusterdeployments/status"]
    omitStages: ["ResponseStarted"]
    omitManagedFields: true
  - level: Request
    userGroups: ["system:masters"]
  - level: Metadata
    omitStages: [ResponseStarted]
"#;

    #[test]
    fn a_realistic_policy_parses_and_evaluates() {
        let policy = Policy::from_yaml(REALISTIC).unwrap();
        assert_eq!(policy.rules.len(), 6);
        assert_eq!(policy.omit_stages, [Stage::RequestReceived]);
        assert_eq!(policy.rules[0].non_resource_urls.len(), 4);
        assert_eq!(policy.rules[2].resources[1].group, "fleet.k0rdent.io");
        assert_eq!(policy.rules[3].omit_managed_fields, Some(true));

        let decide = |request: Req| policy.evaluate(&request.attributes());
        assert_eq!(decide(Req::non_resource("/readyz/etcd")).level, Level::None);
        let controller = "system:serviceaccount:kcm-system:kcm-controller-manager";
        assert_eq!(
            decide(Req::pod().by(controller, &[]).verb("watch")).level,
            Level::None
        );
        assert_eq!(
            decide(Req::pod().by(controller, &[]).verb("delete")).level,
            Level::Metadata
        );

        let write = decide(
            Req::in_group("fleet.k0rdent.io", "clusterdeployments")
                .namespace("kcm-system")
                .subresource("status")
                .verb("update"),
        );
        assert_eq!(write.level, Level::RequestResponse);
        assert_eq!(
            write.omit_stages,
            [Stage::RequestReceived, Stage::ResponseStarted]
        );
        assert!(write.omit_managed_fields);

        let admin = decide(Req::pod().by("admin", &["system:masters"]));
        assert_eq!(admin.level, Level::Request);
        assert_eq!(admin.omit_stages, [Stage::RequestReceived]);
        assert!(!admin.omit_managed_fields);
    }

    #[test]
    fn a_json_policy_parses() {
        let json = r#"{"apiVersion": "audit.k8s.io/v1", "kind": "Policy",
            "rules": [{"level": "Metadata", "nonResourceURLs": ["/metrics"]}]}"#;
        let policy = Policy::from_yaml(json).unwrap();
        assert_eq!(policy.rules[0].non_resource_urls, ["/metrics"]);
    }

    #[test]
    fn metadata_for_everything_records_every_request_at_metadata() {
        let policy = Policy::metadata_for_everything();
        for request in [Req::pod(), Req::pod_log(), Req::non_resource("/version")] {
            let decision = policy.evaluate(&request.attributes());
            assert_eq!(decision.level, Level::Metadata);
            assert!(decision.omit_stages.is_empty());
        }
    }

    fn error(yaml: &str) -> String {
        Policy::from_yaml(yaml).unwrap_err().to_string()
    }

    const HEADER: &str = "apiVersion: audit.k8s.io/v1\nkind: Policy\n";

    #[test]
    fn decoding_errors_say_what_is_wrong_and_where() {
        let unknown = error(&format!(
            "{HEADER}rules:\n- level: Metadata\n  namespace: [a]\n"
        ));
        assert!(unknown.contains("unknown field `namespace`"), "{unknown}");
        assert!(
            unknown.contains("rules[0]") && unknown.contains("line 5"),
            "{unknown}"
        );
        let level = error(&format!("{HEADER}rules:\n- level: Everything\n"));
        assert!(level.contains("unknown variant `Everything`"), "{level}");
        let stage = error(&format!(
            "{HEADER}omitStages: [Sometimes]\nrules:\n- level: None\n"
        ));
        assert!(stage.contains("unknown variant `Sometimes`"), "{stage}");
        let missing = error(&format!("{HEADER}rules:\n- users: [a]\n"));
        assert!(missing.contains("missing field `level`"), "{missing}");
    }

    #[test]
    fn invalid_policies_are_refused_with_every_problem() {
        let kind =
            error("apiVersion: audit.k8s.io/v1beta1\nkind: Policy\nrules: [{level: None}]\n");
        assert!(kind.contains("\"audit.k8s.io/v1beta1\""), "{kind}");
        assert!(error(HEADER).contains("rules: Required value"));
        let problems = error(&format!(
            "{HEADER}rules:\n\
             - level: None\n  nonResourceURLs: [metrics, '/a*b', /é, '/é*']\n\
             - level: None\n  nonResourceURLs: [/x]\n  namespaces: [a]\n\
             - level: None\n  resources: [{{group: Bad_Group}}, {{resourceNames: [x]}}]\n"
        ));
        for expected in [
            "rules[0].nonResourceURLs[0]: Invalid value: \"metrics\": non-resource URL rules must begin with a '/' character",
            "rules[0].nonResourceURLs[1]: Invalid value: \"/a*b\": non-resource URL wildcards '*' must be the final character",
            "rules[1].nonResourceURLs: Invalid value: [\"/x\"]: rules cannot apply to both",
            "rules[2].resources.group: Invalid value: \"Bad_Group\"",
            "rules[2].resources.resourceNames: Invalid value: [\"x\"]: using resourceNames requires at least one resource",
        ] {
            assert!(problems.contains(expected), "{expected}\nnot in\n{problems}");
        }
        // A final multi-byte character is no problem, nor a wildcard after it.
        assert!(
            !problems.contains("nonResourceURLs[2]") && !problems.contains("nonResourceURLs[3]")
        );
    }

    #[test]
    fn file_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.yaml");
        let error = Policy::from_file(&missing).unwrap_err().to_string();
        assert!(error.contains("missing.yaml"), "{error}");

        let bad = dir.path().join("bad.yaml");
        std::fs::write(&bad, format!("{HEADER}rules: [{{level: Loud}}]\n")).unwrap();
        let error = Policy::from_file(&bad).unwrap_err().to_string();
        assert!(
            error.contains("bad.yaml") && error.contains("Loud"),
            "{error}"
        );

        let good = dir.path().join("policy.yaml");
        std::fs::write(&good, REALISTIC).unwrap();
        assert_eq!(
            Policy::from_file(&good).unwrap(),
            Policy::from_yaml(REALISTIC).unwrap()
        );
    }
}
