//! What a request asks for, read from its method, path and query, as k8s.io/apiserver's
//! `pkg/endpoints/request/requestinfo.go` reads it.

use http::Method;

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
pub fn classify(method: &Method, path: &str, watch: bool) -> Target {
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
mod tests {
    use super::*;

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
}
