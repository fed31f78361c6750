//! Front-proxy authentication: the user named by `X-Remote-User`-style headers, trusted only on
//! connections whose client certificate the request-header CA verified and whose CN is allowed
//! (k8s.io/apiserver `pkg/authentication/request/headerrequest/requestheader.go`).

use std::collections::BTreeMap;

use http::HeaderMap;

use super::User;
use crate::tls::PeerIdentity;

/// Which headers carry the identity and which proxies may send them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHeaderConfig {
    /// CNs of proxy certificates that are trusted; empty trusts any certificate of the CA.
    pub allowed_names: Vec<String>,
    /// The user name: the first of these headers with a value.
    pub username_headers: Vec<String>,
    /// The user's UID: the first of these headers with a value.
    pub uid_headers: Vec<String>,
    /// Groups: every value of every one of these headers.
    pub group_headers: Vec<String>,
    /// Extra attributes: headers starting with these prefixes; the rest of the header name,
    /// lowercased and %-unescaped, is the key.
    pub extra_headers_prefixes: Vec<String>,
}

impl Default for RequestHeaderConfig {
    /// kube-apiserver's conventional headers.
    fn default() -> Self {
        RequestHeaderConfig {
            allowed_names: Vec::new(),
            username_headers: vec!["X-Remote-User".into()],
            uid_headers: Vec::new(),
            group_headers: vec!["X-Remote-Group".into()],
            extra_headers_prefixes: vec!["X-Remote-Extra-".into()],
        }
    }
}

impl RequestHeaderConfig {
    /// The user the headers name, when the connection is a trusted proxy and a user header is
    /// set.
    pub fn authenticate(&self, headers: &HeaderMap, peer: &PeerIdentity) -> Option<User> {
        let proxy = peer.front_proxy.as_ref()?;
        if !self.allowed_names.is_empty() && !self.allowed_names.contains(proxy) {
            tracing::debug!(proxy = %proxy, "front-proxy certificate CN is not an allowed name");
            return None;
        }
        let name = first_value(headers, &self.username_headers)?;
        let groups = self
            .group_headers
            .iter()
            .flat_map(|h| headers.get_all(h.as_str()))
            .filter_map(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect();
        Some(User {
            name,
            uid: first_value(headers, &self.uid_headers).unwrap_or_default(),
            groups,
            extra: self.extra(headers),
        })
    }

    fn extra(&self, headers: &HeaderMap) -> BTreeMap<String, Vec<String>> {
        let mut extra: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for prefix in &self.extra_headers_prefixes {
            let prefix = prefix.to_ascii_lowercase();
            // HeaderMap names are lowercase already.
            for name in headers.keys() {
                let Some(key) = name.as_str().strip_prefix(prefix.as_str()) else {
                    continue;
                };
                let key = super::unescape_extra_key(key);
                let values = headers
                    .get_all(name)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .map(str::to_owned);
                extra.entry(key).or_default().extend(values);
            }
        }
        extra
    }

    /// Removes every header this configuration reads, whether or not it was trusted.
    pub fn clear(&self, headers: &mut HeaderMap) {
        for name in self
            .username_headers
            .iter()
            .chain(&self.uid_headers)
            .chain(&self.group_headers)
        {
            headers.remove(name.as_str());
        }
        for prefix in &self.extra_headers_prefixes {
            let prefix = prefix.to_ascii_lowercase();
            let names: Vec<_> = headers
                .keys()
                .filter(|n| n.as_str().starts_with(prefix.as_str()))
                .cloned()
                .collect();
            for name in names {
                headers.remove(name);
            }
        }
    }
}

fn first_value(headers: &HeaderMap, names: &[String]) -> Option<String> {
    names
        .iter()
        .filter_map(|n| headers.get(n.as_str()))
        .filter_map(|v| v.to_str().ok())
        .find(|v| !v.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy(cn: &str) -> PeerIdentity {
        PeerIdentity {
            front_proxy: Some(cn.into()),
            ..PeerIdentity::default()
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

    #[test]
    fn trusted_proxies_name_user_groups_and_extras() {
        let config = RequestHeaderConfig {
            allowed_names: vec!["front-proxy-client".into()],
            ..RequestHeaderConfig::default()
        };
        let h = headers(&[
            ("X-Remote-User", "alice"),
            ("X-Remote-Group", "team-a"),
            ("X-Remote-Group", "devs"),
            ("X-Remote-Extra-Scopes", "read"),
            ("X-Remote-Extra-Scopes", "write"),
            ("X-Remote-Extra-Example.com%2fteam", "a"),
        ]);
        let user = config
            .authenticate(&h, &proxy("front-proxy-client"))
            .unwrap();
        assert_eq!(user.name, "alice");
        assert_eq!(user.groups, ["team-a", "devs"]);
        assert_eq!(user.extra["scopes"], ["read", "write"]);
        assert_eq!(user.extra["example.com/team"], ["a"]);
    }

    #[test]
    fn untrusted_connections_and_other_names_are_ignored() {
        let config = RequestHeaderConfig {
            allowed_names: vec!["front-proxy-client".into()],
            ..RequestHeaderConfig::default()
        };
        let h = headers(&[("X-Remote-User", "alice")]);
        assert_eq!(config.authenticate(&h, &PeerIdentity::default()), None);
        assert_eq!(config.authenticate(&h, &proxy("someone-else")), None);
        let any = RequestHeaderConfig::default();
        assert!(any.authenticate(&h, &proxy("someone-else")).is_some());
        assert_eq!(any.authenticate(&HeaderMap::new(), &proxy("x")), None);
    }

    #[test]
    fn clearing_removes_every_identity_header() {
        let config = RequestHeaderConfig::default();
        let mut h = headers(&[
            ("X-Remote-User", "alice"),
            ("X-Remote-Group", "g"),
            ("X-Remote-Extra-A", "b"),
            ("Accept", "application/json"),
        ]);
        config.clear(&mut h);
        assert_eq!(h.len(), 1);
    }
}
