//! Aggregated mode: the client CA and the front-proxy settings kube-apiserver publishes in
//! ConfigMap `kube-system/extension-apiserver-authentication`, followed with a watch so that CA
//! rotation takes effect without a restart (k8s.io/apiserver
//! `pkg/server/options/authentication.go`, `dynamiccertificates/configmap_cafile_content.go`).

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::runtime::{watcher, WatchStreamExt};
use std::sync::Arc;

use super::{Authentication, RequestHeaderConfig};
use crate::tls::DynamicTls;

pub const NAMESPACE: &str = "kube-system";
pub const NAME: &str = "extension-apiserver-authentication";

/// Settings the command line fixed, which the ConfigMap must not change.
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides {
    /// `--client-ca-file` was given.
    pub client_ca: bool,
    /// `--requestheader-client-ca-file` was given (with its header flags).
    pub request_header: bool,
}

/// What the ConfigMap says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Published {
    pub client_ca_pem: Option<Vec<u8>>,
    pub request_header_ca_pem: Option<Vec<u8>>,
    pub request_header: Option<RequestHeaderConfig>,
}

/// Reads the ConfigMap's data. The header lists are JSON arrays of strings.
pub fn published(config_map: &ConfigMap) -> Published {
    let data = config_map.data.clone().unwrap_or_default();
    let list = |key: &str| -> Vec<String> {
        data.get(key)
            .and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or_default()
    };
    let pem = |key: &str| {
        data.get(key)
            .filter(|v| !v.trim().is_empty())
            .map(|v| v.as_bytes().to_vec())
    };
    let request_header_ca_pem = pem("requestheader-client-ca-file");
    let request_header = request_header_ca_pem.as_ref().map(|_| RequestHeaderConfig {
        allowed_names: list("requestheader-allowed-names"),
        username_headers: list("requestheader-username-headers"),
        uid_headers: list("requestheader-uid-headers"),
        group_headers: list("requestheader-group-headers"),
        extra_headers_prefixes: list("requestheader-extra-headers-prefix"),
    });
    Published {
        client_ca_pem: pem("client-ca-file"),
        request_header_ca_pem,
        request_header,
    }
}

/// Applies what the ConfigMap publishes, except what `overrides` fixed.
pub fn apply(
    published: &Published,
    tls: &DynamicTls,
    authentication: &Authentication,
    overrides: Overrides,
) {
    let result = tls.update(|files| {
        if !overrides.client_ca {
            if let Some(pem) = &published.client_ca_pem {
                files.client_ca_pem = Some(pem.clone());
            }
        }
        if !overrides.request_header {
            files.request_header_ca_pem = published.request_header_ca_pem.clone();
        }
    });
    match result {
        Ok(true) => tracing::info!("loaded CAs from {NAMESPACE}/{NAME}"),
        Ok(false) => {}
        Err(e) => {
            tracing::warn!(error = %e, "CAs of {NAMESPACE}/{NAME} do not load; keeping the old ones")
        }
    }
    if !overrides.request_header {
        authentication.set_request_header(published.request_header.clone());
    }
}

/// Follows the ConfigMap until the task is dropped; `read` is told once it has been read
/// (the server serves only then, as kube-apiserver's library reads it once before serving).
pub async fn follow(
    client: kube::Client,
    tls: Arc<DynamicTls>,
    authentication: Arc<Authentication>,
    overrides: Overrides,
    read: tokio::sync::oneshot::Sender<()>,
) {
    let mut read = Some(read);
    let api: kube::Api<ConfigMap> = kube::Api::namespaced(client, NAMESPACE);
    let config = watcher::Config::default().fields(&format!("metadata.name={NAME}"));
    let mut events = watcher(api, config).default_backoff().boxed();
    let mut last_error = String::new();
    while let Some(event) = events.next().await {
        match event {
            Ok(watcher::Event::Apply(cm) | watcher::Event::InitApply(cm)) => {
                last_error.clear();
                apply(&published(&cm), &tls, &authentication, overrides);
            }
            // The initial list is complete (possibly without the ConfigMap).
            Ok(watcher::Event::InitDone) => {
                if let Some(read) = read.take() {
                    let _ = read.send(());
                }
            }
            Ok(_) => {}
            // Logged once per distinct error; the watcher backs off and retries.
            Err(e) => {
                // A host without the ConfigMap (404) publishes nothing: that counts as read,
                // as upstream ignores a NotFound at start-up.
                if not_found(&e) {
                    if let Some(read) = read.take() {
                        let _ = read.send(());
                    }
                }
                let text = e.to_string();
                if text != last_error {
                    tracing::warn!(error = %text, "watching {NAMESPACE}/{NAME} failed; retrying");
                    last_error = text;
                }
            }
        }
    }
}

/// Whether the watcher failed because the host answered 404.
fn not_found(error: &watcher::Error) -> bool {
    match error {
        watcher::Error::InitialListFailed(kube::Error::Api(status))
        | watcher::Error::WatchStartFailed(kube::Error::Api(status))
        | watcher::Error::WatchFailed(kube::Error::Api(status)) => status.code == 404,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configmap_names_cas_and_headers() {
        let cm = ConfigMap {
            data: Some(
                [
                    ("client-ca-file", "CLIENT"),
                    ("requestheader-client-ca-file", "PROXY"),
                    ("requestheader-allowed-names", "[\"front-proxy-client\"]"),
                    ("requestheader-username-headers", "[\"X-Remote-User\"]"),
                    ("requestheader-group-headers", "[\"X-Remote-Group\"]"),
                    (
                        "requestheader-extra-headers-prefix",
                        "[\"X-Remote-Extra-\"]",
                    ),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            ),
            ..ConfigMap::default()
        };
        let published = published(&cm);
        assert_eq!(published.client_ca_pem.as_deref(), Some(&b"CLIENT"[..]));
        assert_eq!(
            published.request_header_ca_pem.as_deref(),
            Some(&b"PROXY"[..])
        );
        let headers = published.request_header.unwrap();
        assert_eq!(headers.allowed_names, ["front-proxy-client"]);
        assert_eq!(headers.username_headers, ["X-Remote-User"]);
        assert_eq!(headers.extra_headers_prefixes, ["X-Remote-Extra-"]);
    }
}
