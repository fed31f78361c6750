//! What a request asks for, read once from its method, path and query, as k8s.io/apiserver's
//! `pkg/endpoints/request/requestinfo.go` reads it: the [`RequestInfo`] every filter and
//! handler takes from the request's extensions.

pub mod body;

use std::time::SystemTime;

use http::Method;

use crate::authentication::User;
use crate::authorization::Attributes;

/// A request as the filters and handlers see it. Made once per request, by the request-info
/// step of the filter chain (`ApiServer::service`), before anything else reads the request:
/// [`classify`] is private to this module and [`RequestInfo::read`] is its only caller.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    pub method: Method,
    /// The path, without the query.
    pub path: String,
    /// The path and query as sent (what Status messages and audit events quote).
    pub uri: String,
    /// The query's parameters, decoded, in order.
    pub query: Vec<(String, String)>,
    /// Where the path leads, with the Kubernetes verb of a resource request.
    pub target: Target,
    /// When the server received the request (the audit event's `requestReceivedTimestamp`).
    pub received: SystemTime,
}

impl RequestInfo {
    /// Reads the request head.
    pub(crate) fn read(method: &Method, uri: &http::Uri) -> RequestInfo {
        let query: Vec<(String, String)> = uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let path = uri.path().to_owned();
        let target = classify(method, &path, watch_requested(&query));
        #[cfg(test)]
        tests::CLASSIFIED.with(|n| n.set(n.get() + 1));
        RequestInfo {
            method: method.clone(),
            uri: uri
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_else(|| path.clone()),
            path,
            query,
            target,
            received: SystemTime::now(),
        }
    }

    /// The attributes of the request made by `user`, as upstream's `GetAuthorizerAttributes`
    /// builds them from the request info.
    pub fn attributes(&self, user: &User) -> Attributes {
        let Target::Resource(r) = &self.target else {
            return Attributes {
                user: user.clone(),
                verb: self.method.as_str().to_ascii_lowercase(),
                resource_request: false,
                path: self.path.clone(),
                ..Attributes::default()
            };
        };
        let mut verb = r.verb;
        let mut name = r.name.clone().unwrap_or_default();
        // A named GET is `get` even with ?watch=true; verbs other than the HTTP methods'
        // (e.g. OPTIONS) are empty and never allowed.
        if verb == "watch" && !name.is_empty() {
            verb = "get";
        }
        if verb == "unknown" {
            verb = "";
        }
        // A list or watch of one object by field selector is authorized as that object.
        if name.is_empty() && matches!(verb, "list" | "watch") {
            if let Some(only) = exact_name(&self.query) {
                name = only;
            }
        }
        Attributes {
            user: user.clone(),
            verb: verb.into(),
            resource_request: true,
            namespace: r.namespace.clone().unwrap_or_default(),
            api_group: r.group.clone(),
            api_version: r.version.clone(),
            resource: r.resource.clone(),
            subresource: r.subresource.clone().unwrap_or_default(),
            name,
            path: self.path.clone(),
        }
    }

    /// Whether the request is a watch (a long-running, streamed response).
    pub fn is_watch(&self) -> bool {
        matches!(&self.target, Target::Resource(r) if r.verb == "watch")
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

/// A request for a resource (`/api/v1/...` or `/apis/<group>/<version>/...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRequest {
    /// The API group; empty for `/api`.
    pub group: String,
    pub version: String,
    pub namespace: Option<String>,
    /// The plural resource name.
    pub resource: String,
    pub name: Option<String>,
    pub subresource: Option<String>,
    /// The Kubernetes verb: get, list, watch, create, update, patch, delete,
    /// deletecollection.
    pub verb: &'static str,
}

/// Where a path leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A resource or one of its objects.
    Resource(ResourceRequest),
    /// `/api` or `/apis`.
    Root { legacy: bool },
    /// `/apis/<group>`.
    Group(String),
    /// `/api/v1` or `/apis/<group>/<version>`.
    GroupVersion { group: String, version: String },
    /// Any other path (health, version, OpenAPI, or nothing).
    NonResource,
}

/// Whether the query asks to watch: its first `watch` value, false only for `0`, `false` and
/// `f` (any case), as apimachinery's `Convert_Slice_string_To_bool` reads it. One reading
/// for routing, authorization and audit alike.
pub fn watch_requested(query: &[(String, String)]) -> bool {
    query
        .iter()
        .find(|(k, _)| k == "watch")
        .is_some_and(|(_, v)| {
            !(v == "0" || v.eq_ignore_ascii_case("false") || v.eq_ignore_ascii_case("f"))
        })
}

/// Classifies a request. `watch` is the `watch` query parameter.
fn classify(method: &Method, path: &str, watch: bool) -> Target {
    let parts: Vec<&str> = path
        .trim_start_matches('/')
        .trim_end_matches('/')
        .split('/')
        .collect();
    let (group, version, rest) = match parts.as_slice() {
        ["api"] => return Target::Root { legacy: true },
        ["apis"] => return Target::Root { legacy: false },
        ["apis", group] => return Target::Group((*group).to_owned()),
        ["api", version] => {
            return Target::GroupVersion {
                group: String::new(),
                version: (*version).to_owned(),
            }
        }
        ["apis", group, version] => {
            return Target::GroupVersion {
                group: (*group).to_owned(),
                version: (*version).to_owned(),
            }
        }
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return Target::NonResource,
    };
    if rest.iter().any(|p| p.is_empty()) {
        return Target::NonResource;
    }
    // `namespaces/<ns>/<resource>...` is namespaced; `namespaces`, `namespaces/<ns>` and its
    // subresources `status` and `finalize` address the namespaces resource itself.
    let (namespace, rest): (Option<String>, &[&str]) = match rest {
        ["namespaces", ns, next, ..] if !matches!(*next, "status" | "finalize") => {
            (Some((*ns).to_owned()), &rest[2..])
        }
        other => (None, other),
    };
    let (resource, name, subresource) = match rest {
        [resource] => (*resource, None, None),
        [resource, name] => (*resource, Some((*name).to_owned()), None),
        [resource, name, sub] => (*resource, Some((*name).to_owned()), Some((*sub).to_owned())),
        _ => return Target::NonResource,
    };
    let verb = verb(method, name.is_some(), watch);
    Target::Resource(ResourceRequest {
        group: group.to_owned(),
        version: version.to_owned(),
        namespace,
        resource: resource.to_owned(),
        name,
        subresource,
        verb,
    })
}

fn verb(method: &Method, named: bool, watch: bool) -> &'static str {
    match (method.as_str(), named) {
        ("GET" | "HEAD", _) if watch => "watch",
        ("GET" | "HEAD", true) => "get",
        ("GET" | "HEAD", false) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => "unknown",
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    thread_local! {
        /// How many requests this thread classified (the filter chain's test counts them).
        pub(crate) static CLASSIFIED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }

    fn resource(method: Method, path: &str) -> ResourceRequest {
        match classify(&method, path, false) {
            Target::Resource(r) => r,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn namespaced_object_paths_are_read_like_kube_apiserver() {
        let r = resource(
            Method::PUT,
            "/apis/fleet.k0rdent.io/v1alpha1/namespaces/team-a/clusterdeployments/prod/status",
        );
        assert_eq!(r.group, "fleet.k0rdent.io");
        assert_eq!(r.namespace.as_deref(), Some("team-a"));
        assert_eq!(r.resource, "clusterdeployments");
        assert_eq!(r.name.as_deref(), Some("prod"));
        assert_eq!(r.subresource.as_deref(), Some("status"));
        assert_eq!(r.verb, "update");
    }

    #[test]
    fn collections_and_verbs() {
        assert_eq!(resource(Method::GET, "/apis/g/v1/things").verb, "list");
        assert_eq!(
            resource(Method::POST, "/apis/g/v1/namespaces/a/things").verb,
            "create"
        );
        assert_eq!(
            resource(Method::DELETE, "/apis/g/v1/things").verb,
            "deletecollection"
        );
        assert_eq!(
            resource(Method::GET, "/api/v1/namespaces").resource,
            "namespaces"
        );
        let ns = resource(Method::GET, "/api/v1/namespaces/default");
        assert_eq!(
            (ns.resource.as_str(), ns.name.as_deref()),
            ("namespaces", Some("default"))
        );
        assert!(matches!(
            classify(&Method::GET, "/apis/g/v1/things", true),
            Target::Resource(ResourceRequest { verb: "watch", .. })
        ));
    }

    #[test]
    fn discovery_and_other_paths() {
        assert_eq!(
            classify(&Method::GET, "/apis", false),
            Target::Root { legacy: false }
        );
        assert_eq!(
            classify(&Method::GET, "/apis/g", false),
            Target::Group("g".into())
        );
        assert!(matches!(
            classify(&Method::GET, "/apis/g/v1/", false),
            Target::GroupVersion { .. }
        ));
        assert_eq!(
            classify(&Method::GET, "/healthz", false),
            Target::NonResource
        );
        assert_eq!(
            classify(&Method::GET, "/apis/g/v1/a/b/c/d", false),
            Target::NonResource
        );
    }

    #[test]
    fn watch_is_read_from_the_first_value_as_apimachinery_reads_it() {
        let q = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert!(watch_requested(&q(&[("watch", "true")])));
        assert!(watch_requested(&q(&[("watch", "True")])));
        assert!(watch_requested(&q(&[("watch", "1")])));
        assert!(watch_requested(&q(&[("watch", "")])));
        assert!(!watch_requested(&q(&[
            ("watch", "false"),
            ("watch", "true")
        ])));
        assert!(!watch_requested(&q(&[("watch", "FALSE")])));
        assert!(!watch_requested(&q(&[("watch", "0")])));
        assert!(!watch_requested(&q(&[("limit", "1")])));
    }

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn requests_become_attributes_like_requestinfo() {
        let user = User::new("alice", vec![]);
        let attributes = |method: &Method, uri: &str, query: &[(String, String)], user: &User| {
            let mut uri = uri.to_owned();
            if !query.is_empty() {
                let pairs: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
                uri = format!("{uri}?{}", pairs.join("&"));
            }
            RequestInfo::read(method, &uri.parse().unwrap()).attributes(user)
        };
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
