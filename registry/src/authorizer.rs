//! Who asks and what they ask to do, as every authorizer sees it — one set of types for the
//! server's authorizer chain, the RBAC index, the audit policy and the write guards:
//! k8s.io/apiserver's `user.Info` ([`User`]), `authorizer.AttributesRecord` ([`Attributes`])
//! and the rules an authorizer reports a user holds ([`PolicyRule`], the shape of
//! `authorizer.ResourceRuleInfo` and `NonResourceRuleInfo`, stored by RBAC as `rbacv1.PolicyRule`).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

/// The group every authenticated user is in.
pub const AUTHENTICATED: &str = "system:authenticated";
/// The user of unauthenticated requests when anonymous access is enabled.
pub const ANONYMOUS: &str = "system:anonymous";
/// The group of unauthenticated requests.
pub const UNAUTHENTICATED: &str = "system:unauthenticated";
/// The group that is always allowed everything.
pub const MASTERS: &str = "system:masters";
/// The user the server's in-process controllers act as (kube-controller-manager's
/// `system:kube-controller-manager`), bound by the bootstrap policy to the ClusterRole of the
/// same name. Only the server's in-process client authenticates as it: an outside request
/// naming it — by certificate, token, front-proxy header or impersonation — is refused.
pub const CONTROLLER_MANAGER: &str = "system:fleet-controller-manager";

/// An authenticated user (k8s.io/apiserver `user.Info`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct User {
    #[serde(rename = "username")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub uid: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, Vec<String>>,
}

impl User {
    /// A user with a name and groups.
    pub fn new(name: impl Into<String>, groups: Vec<String>) -> Self {
        User {
            name: name.into(),
            groups,
            ..User::default()
        }
    }

    /// The anonymous user.
    pub fn anonymous() -> Self {
        User::new(ANONYMOUS, vec![UNAUTHENTICATED.into()])
    }

    /// Adds `system:authenticated` unless the user is anonymous or already has it, as
    /// k8s.io/apiserver `pkg/authentication/group/authenticated_group_adder.go` does.
    pub fn with_authenticated_group(mut self) -> Self {
        let anonymous = self.name == ANONYMOUS || self.groups.iter().any(|g| g == UNAUTHENTICATED);
        if !anonymous && !self.groups.iter().any(|g| g == AUTHENTICATED) {
            self.groups.push(AUTHENTICATED.into());
        }
        self
    }

    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }
}

/// What a request asks to do (k8s.io/apiserver `authorizer.AttributesRecord`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes {
    pub user: User,
    /// A Kubernetes verb for resource requests (get, list, watch, create, update, patch,
    /// delete, deletecollection, impersonate, …), the lowercase HTTP method otherwise.
    pub verb: String,
    /// A request for a resource (`api_group`, `resource`, …) rather than for `path`.
    pub resource_request: bool,
    /// Empty for cluster-scoped and all-namespace requests.
    pub namespace: String,
    /// Empty for the core group.
    pub api_group: String,
    /// Never matched by authorizers; copied into audit events' `objectRef`.
    pub api_version: String,
    pub resource: String,
    pub subresource: String,
    pub name: String,
    /// The request path, without the query (for non-resource requests).
    pub path: String,
}

/// What an authorizer says a user may do: verbs over resources (of API groups, with names),
/// or over non-resource URLs. Serialized as `rbacv1.PolicyRule`: `verbs` always, the rest when
/// not empty; `null` lists read as empty, as Go decodes them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRule {
    #[serde(default, deserialize_with = "nullable")]
    pub verbs: Vec<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub api_groups: Vec<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub resources: Vec<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub resource_names: Vec<String>,
    #[serde(
        rename = "nonResourceURLs",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub non_resource_urls: Vec<String>,
}

/// A JSON `null` reads as the empty value, as Go decodes it.
pub(crate) fn nullable<'de, D, T>(deserializer: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
