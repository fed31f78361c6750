//! The authorization filter: the attributes of a request, as kube-apiserver reads them
//! (k8s.io/apiserver `pkg/endpoints/request/requestinfo.go`), decided by the configured chain;
//! 403 with kube-apiserver's message when not allowed, 500 when no authorizer could decide
//! because of an error (`pkg/endpoints/filters/authorization.go`).

use http::Method;

use super::Refusal;
use crate::authentication::User;
use crate::authorization::{forbidden, Attributes, Authorizer, Decision};
use crate::request::{self, Target};

/// The attributes of a request by `user`.
pub fn attributes(
    method: &Method,
    path: &str,
    query: &[(String, String)],
    user: &User,
) -> Attributes {
    let watch = request::watch_requested(query);
    match request::classify(method, path, watch) {
        Target::Resource(r) => {
            let mut verb = r.verb.to_owned();
            let mut name = r.name.unwrap_or_default();
            // A named GET is `get` even with ?watch=true; verbs other than the HTTP methods'
            // (e.g. OPTIONS) are empty and never allowed.
            if verb == "watch" && !name.is_empty() {
                verb = "get".into();
            }
            if verb == "unknown" {
                verb.clear();
            }
            // A list or watch of one object by field selector is authorized as that object.
            if name.is_empty() && matches!(verb.as_str(), "list" | "watch") {
                if let Some(only) = exact_name(query) {
                    name = only;
                }
            }
            Attributes {
                user: user.clone(),
                verb,
                resource_request: true,
                namespace: r.namespace.unwrap_or_default(),
                api_group: r.group,
                api_version: r.version,
                resource: r.resource,
                subresource: r.subresource.unwrap_or_default(),
                name,
                path: path.to_owned(),
            }
        }
        _ => Attributes {
            user: user.clone(),
            verb: method.as_str().to_ascii_lowercase(),
            resource_request: false,
            path: path.to_owned(),
            ..Attributes::default()
        },
    }
}

/// The name a `fieldSelector` requires exactly with `metadata.name=`, when it is a valid path
/// segment.
fn exact_name(query: &[(String, String)]) -> Option<String> {
    let selector = query.iter().find(|(k, _)| k == "fieldSelector")?;
    let selector = registry::selector::FieldSelector::parse(&selector.1).ok()?;
    let name = selector.exact("metadata.name")?;
    registry::meta::path_segment_problems(name)
        .is_empty()
        .then(|| name.to_owned())
}

/// The chain's decision, and what it means for the request: `Ok`, a 403, or a plain 500
/// when an authorizer failed and none allowed.
pub async fn authorize(
    authorizer: &dyn Authorizer,
    attributes: &Attributes,
) -> (Decision, Result<(), Refusal>) {
    let decision = authorizer.authorize(attributes).await;
    let outcome = if decision.allowed() {
        Ok(())
    } else if let Some(error) = &decision.error {
        Err(Refusal::Internal(error.clone()))
    } else {
        Err(Refusal::Status(forbidden(attributes, &decision.reason)))
    };
    (decision, outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn requests_become_attributes_like_requestinfo() {
        let user = User::new("alice", vec![]);
        let a = attributes(
            &Method::GET,
            "/apis/fleet.k0rdent.io/v1alpha1/namespaces/team-a/clusterdeployments",
            &q(&[("fieldSelector", "metadata.name=prod"), ("watch", "true")]),
            &user,
        );
        assert_eq!((a.verb.as_str(), a.name.as_str()), ("watch", "prod"));
        assert_eq!(a.namespace, "team-a");
        assert!(a.resource_request);
        let a = attributes(
            &Method::GET,
            "/apis/fleet.k0rdent.io/v1alpha1/namespaces/team-a/clusterdeployments/prod",
            &q(&[("watch", "1")]),
            &user,
        );
        assert_eq!(a.verb, "get");
        let a = attributes(&Method::DELETE, "/apis/g/v1/things", &[], &user);
        assert_eq!(a.verb, "deletecollection");
        let a = attributes(&Method::GET, "/apis/fleet.k0rdent.io/v1alpha1", &[], &user);
        assert!(!a.resource_request);
        assert_eq!(
            (a.verb.as_str(), a.path.as_str()),
            ("get", "/apis/fleet.k0rdent.io/v1alpha1")
        );
        let a = attributes(&Method::POST, "/version", &[], &user);
        assert_eq!(a.verb, "post");
        let a = attributes(
            &Method::GET,
            "/apis/g/v1/things",
            &q(&[("fieldSelector", "metadata.name=a,spec.x=b")]),
            &user,
        );
        assert_eq!((a.verb.as_str(), a.name.as_str()), ("list", "a"));
    }
}
