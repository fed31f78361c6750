//! The impersonation filter: `Impersonate-User`, `Impersonate-Group`, `Impersonate-Uid` and
//! `Impersonate-Extra-<key>` make the request act as another user, each piece authorized with
//! the `impersonate` verb (k8s.io/apiserver `pkg/endpoints/filters/impersonation.go`).

use std::collections::BTreeMap;
use std::sync::Arc;

use http::{HeaderMap, Response};
use registry::authorizer::CONTROLLER_MANAGER;

use super::audit::AuditRecord;
use super::{logging, pass, refuse, request_user, Filter, HttpRequest, Next, Refusal, RequestUser};
use crate::authentication::{User, ANONYMOUS, AUTHENTICATED, UNAUTHENTICATED};
use crate::authorization::{forbidden, Attributes, Authorizer};
use crate::response::Body;

/// Makes the request act as the user its `Impersonate-*` headers name, when the
/// authenticated user may impersonate every piece of it.
#[derive(Debug, Clone)]
pub struct Impersonate {
    pub authorizer: Arc<dyn Authorizer>,
}

impl Filter for Impersonate {
    async fn filter(&self, mut req: HttpRequest, next: Next) -> Response<Body> {
        let Some(requestor) = request_user(&req).cloned() else {
            return pass(next, req).await;
        };
        match impersonate(self.authorizer.as_ref(), requestor, req.headers_mut()).await {
            Err(refusal) => refuse(req, refusal).await,
            Ok((user, original)) => {
                if original.is_some() {
                    logging::record_user(&user.name);
                    if let Some(audit) = req.extensions().get::<AuditRecord>() {
                        audit.impersonated(&user);
                    }
                }
                req.extensions_mut().insert(RequestUser(Some(user)));
                pass(next, req).await
            }
        }
    }
}

const USER: &str = "impersonate-user";
const GROUP: &str = "impersonate-group";
const UID: &str = "impersonate-uid";
const EXTRA_PREFIX: &str = "impersonate-extra-";

/// One thing asked for, as upstream's `ObjectReference` list.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Wanted {
    ServiceAccount { namespace: String, name: String },
    User(String),
    Group(String),
    Extra { key: String, value: String },
    Uid(String),
}

impl Wanted {
    /// Go's `%v` of the upstream `v1.ObjectReference` (Kind Namespace Name UID APIVersion
    /// ResourceVersion FieldPath), for the error message.
    fn go_value(&self) -> String {
        let (kind, namespace, name, api_version, field_path) = match self {
            Wanted::ServiceAccount { namespace, name } => {
                ("ServiceAccount", namespace.as_str(), name.as_str(), "", "")
            }
            Wanted::User(name) => ("User", "", name.as_str(), "", ""),
            Wanted::Group(name) => ("Group", "", name.as_str(), "", ""),
            Wanted::Extra { key, value } => (
                "UserExtra",
                "",
                value.as_str(),
                "authentication.k8s.io/v1",
                key.as_str(),
            ),
            Wanted::Uid(uid) => ("UID", "", uid.as_str(), "authentication.k8s.io/v1", ""),
        };
        format!("{{{kind} {namespace} {name}  {api_version}  {field_path}}}")
    }

    /// The attributes authorizing this piece.
    fn attributes(&self, requestor: &User) -> Attributes {
        let mut a = Attributes {
            user: requestor.clone(),
            verb: "impersonate".into(),
            resource_request: true,
            api_version: "v1".into(),
            ..Attributes::default()
        };
        match self {
            Wanted::ServiceAccount { namespace, name } => {
                a.resource = "serviceaccounts".into();
                a.namespace = namespace.clone();
                a.name = name.clone();
            }
            Wanted::User(name) => {
                a.resource = "users".into();
                a.name = name.clone();
            }
            Wanted::Group(name) => {
                a.resource = "groups".into();
                a.name = name.clone();
            }
            Wanted::Extra { key, value } => {
                a.api_group = "authentication.k8s.io".into();
                a.resource = "userextras".into();
                a.subresource = key.clone();
                a.name = value.clone();
            }
            Wanted::Uid(uid) => {
                a.api_group = "authentication.k8s.io".into();
                a.resource = "uids".into();
                a.name = uid.clone();
            }
        }
        a
    }
}

/// What the headers ask for; an error for groups, extras or a UID without a user (a plain
/// 500 up to Kubernetes 1.34, whose behaviour this server reports).
fn wanted(headers: &HeaderMap) -> Result<Vec<Wanted>, Refusal> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    let mut wanted = Vec::new();
    let user = text(USER);
    if !user.is_empty() {
        wanted.push(match service_account(user) {
            Some((namespace, name)) => Wanted::ServiceAccount { namespace, name },
            None => Wanted::User(user.to_owned()),
        });
    }
    for group in headers
        .get_all(GROUP)
        .iter()
        .filter_map(|v| v.to_str().ok())
    {
        wanted.push(Wanted::Group(group.to_owned()));
    }
    for name in headers.keys() {
        let Some(key) = name.as_str().strip_prefix(EXTRA_PREFIX) else {
            continue;
        };
        let key = crate::authentication::unescape_extra_key(key);
        for value in headers.get_all(name).iter().filter_map(|v| v.to_str().ok()) {
            wanted.push(Wanted::Extra {
                key: key.clone(),
                value: value.to_owned(),
            });
        }
    }
    let uid = text(UID);
    if !uid.is_empty() {
        wanted.push(Wanted::Uid(uid.to_owned()));
    }
    if user.is_empty() && !wanted.is_empty() {
        let list: Vec<String> = wanted.iter().map(Wanted::go_value).collect();
        return Err(Refusal::Internal(format!(
            "requested [{}] without impersonating a user",
            list.join(" ")
        )));
    }
    Ok(wanted)
}

/// `system:serviceaccount:<namespace>:<name>` split, as upstream's `SplitUsername`.
fn service_account(user: &str) -> Option<(String, String)> {
    let rest = user.strip_prefix("system:serviceaccount:")?;
    let (namespace, name) = rest.split_once(':')?;
    if namespace.is_empty() || name.is_empty() || name.contains(':') {
        return None;
    }
    let valid = |s: &str| registry::meta::dns1123_label_problems(s).is_empty();
    (valid(namespace) && registry::meta::dns1123_subdomain_problems(name).is_empty())
        .then(|| (namespace.to_owned(), name.to_owned()))
}

/// The user the request acts as: `requestor` without impersonation headers, the impersonated
/// user when every piece is allowed, 403 for the first piece that is not. The headers are
/// removed.
pub async fn impersonate(
    authorizer: &dyn Authorizer,
    requestor: User,
    headers: &mut HeaderMap,
) -> Result<(User, Option<User>), Refusal> {
    let wanted = wanted(headers)?;
    if wanted.is_empty() {
        return Ok((requestor, None));
    }
    let groups_given = headers.contains_key(GROUP);
    let mut user = User::default();
    let mut extra: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for piece in &wanted {
        let attributes = piece.attributes(&requestor);
        if matches!(piece, Wanted::User(name) if name == CONTROLLER_MANAGER) {
            let reason = "the in-process controllers' user cannot be impersonated";
            return Err(Refusal::Status(forbidden(&attributes, reason)));
        }
        let decision = authorizer.authorize(&attributes).await;
        if !decision.allowed() {
            return Err(Refusal::Status(forbidden(&attributes, &decision.reason)));
        }
        match piece {
            Wanted::ServiceAccount { namespace, name } => {
                user.name = format!("system:serviceaccount:{namespace}:{name}");
                if !groups_given {
                    user.groups = vec![
                        "system:serviceaccounts".into(),
                        format!("system:serviceaccounts:{namespace}"),
                    ];
                }
            }
            Wanted::User(name) => user.name = name.clone(),
            Wanted::Group(group) => user.groups.push(group.clone()),
            Wanted::Extra { key, value } => {
                extra.entry(key.clone()).or_default().push(value.clone())
            }
            Wanted::Uid(uid) => user.uid = uid.clone(),
        }
    }
    user.extra = extra;
    let has = |g: &str| user.groups.iter().any(|x| x == g);
    if user.name != ANONYMOUS {
        if !has(AUTHENTICATED) && !has(UNAUTHENTICATED) {
            user.groups.push(AUTHENTICATED.into());
        }
    } else if !has(UNAUTHENTICATED) {
        user.groups.push(UNAUTHENTICATED.into());
    }
    headers.remove(USER);
    headers.remove(GROUP);
    headers.remove(UID);
    let extras: Vec<_> = headers
        .keys()
        .filter(|n| n.as_str().starts_with(EXTRA_PREFIX))
        .cloned()
        .collect();
    for name in extras {
        headers.remove(name);
    }
    Ok((user, Some(requestor)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authorization::Decision;
    use async_trait::async_trait;

    /// Allows impersonating users and groups named in the list.
    #[derive(Debug)]
    struct Allow(Vec<&'static str>);

    #[async_trait]
    impl Authorizer for Allow {
        async fn authorize(&self, a: &Attributes) -> Decision {
            if self.0.contains(&a.name.as_str()) {
                Decision::allow("")
            } else {
                Decision::no_opinion("")
            }
        }
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        map
    }

    fn alice() -> User {
        User::new("alice", vec!["team-a".into(), AUTHENTICATED.into()])
    }

    #[tokio::test]
    async fn allowed_impersonation_replaces_the_user() {
        let mut h = headers(&[
            ("Impersonate-User", "bob"),
            ("Impersonate-Group", "devs"),
            ("Impersonate-Extra-Scopes", "view"),
        ]);
        let (user, original) = impersonate(&Allow(vec!["bob", "devs", "view"]), alice(), &mut h)
            .await
            .unwrap();
        assert_eq!(user.name, "bob");
        assert_eq!(user.groups, ["devs", AUTHENTICATED]);
        assert_eq!(user.extra["scopes"], ["view"]);
        assert_eq!(original.unwrap().name, "alice");
        assert!(h.is_empty());
    }

    #[tokio::test]
    async fn service_accounts_get_their_groups() {
        let mut h = headers(&[("Impersonate-User", "system:serviceaccount:team-a:builder")]);
        let (user, _) = impersonate(&Allow(vec!["builder"]), alice(), &mut h)
            .await
            .unwrap();
        assert_eq!(
            user.groups,
            [
                "system:serviceaccounts",
                "system:serviceaccounts:team-a",
                AUTHENTICATED
            ]
        );
    }

    #[tokio::test]
    async fn denied_pieces_are_forbidden_with_upstreams_message() {
        let mut h = headers(&[("Impersonate-User", "bob")]);
        let Refusal::Status(error) = impersonate(&Allow(vec![]), alice(), &mut h)
            .await
            .unwrap_err()
        else {
            panic!("a Status")
        };
        assert_eq!(error.code(), 403);
        assert_eq!(
            error.status().message,
            "users \"bob\" is forbidden: User \"alice\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope"
        );
        let mut h = headers(&[("Impersonate-Group", "devs")]);
        let error = impersonate(&Allow(vec!["devs"]), alice(), &mut h)
            .await
            .unwrap_err();
        assert_eq!(
            error,
            Refusal::Internal("requested [{Group  devs    }] without impersonating a user".into())
        );
    }

    #[tokio::test]
    async fn no_headers_keep_the_user() {
        let (user, original) = impersonate(&Allow(vec![]), alice(), &mut HeaderMap::new())
            .await
            .unwrap();
        assert_eq!(user, alice());
        assert_eq!(original, None);
    }
}
