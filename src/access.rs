//! Wiring of authentication, authorization and audit from the command line.

use std::path::Path;
use std::sync::Arc;

use apiserver::authentication::{Authentication, RequestHeaderConfig, TokenFile, TokenReviewer};
use apiserver::authorization::{AlwaysAllow, Authorizer, Chain, RbacAuthorizer, WebhookAuthorizer};
use apiserver::tls::DynamicTls;
use apiserver::Access;
use registry::{Catalog, GenericStore};
use tokio::task::JoinHandle;

use crate::cli::AccessArgs;
use crate::error::{self, Error, Result};

/// What serving needs for access control, and the tasks keeping it current.
#[derive(Debug)]
pub struct AccessControl {
    pub access: Access,
    /// The RBAC authorizer when RBAC is a mode (its watches must be synced before serving).
    pub rbac: Option<Arc<RbacAuthorizer>>,
    /// Completes once the host cluster's authentication ConfigMap has been read (aggregated
    /// mode).
    pub host_read: Option<tokio::sync::oneshot::Receiver<()>>,
    pub tasks: Vec<JoinHandle<()>>,
}

/// A client of a kube-apiserver from a kubeconfig file.
async fn client(path: &Path) -> Result<kube::Client> {
    let usage = |what: String| Error::Usage(format!("{}: {what}", path.display()));
    let kubeconfig = kube::config::Kubeconfig::read_from(path).map_err(|e| usage(e.to_string()))?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .map_err(|e| usage(e.to_string()))?;
    kube::Client::try_from(config).map_err(|e| usage(e.to_string()))
}

/// `client_ca_from_flags`: the client CA was given on the command line (the host cluster's
/// ConfigMap must not replace it).
pub async fn build(
    args: &AccessArgs,
    client_ca_from_flags: bool,
    catalog: &Catalog,
    store: &GenericStore,
    tls: &Arc<DynamicTls>,
) -> Result<AccessControl> {
    let mut tasks = Vec::new();
    let token_file = args
        .token_auth_file
        .as_deref()
        .map(TokenFile::load)
        .transpose()
        .map_err(|e| Error::Usage(error::chain(&e)))?;
    let host = match &args.authentication_kubeconfig {
        Some(path) => Some(client(path).await?),
        None => None,
    };
    let authentication = Arc::new(Authentication {
        x509: true,
        token_file,
        token_review: host.clone().map(|c| TokenReviewer::new(c, Vec::new())),
        anonymous: args.anonymous_auth,
        ..Authentication::default()
    });
    let flags_request_header = RequestHeaderConfig {
        allowed_names: args.requestheader_allowed_names.clone(),
        username_headers: args.requestheader_username_headers.clone(),
        uid_headers: args.requestheader_uid_headers.clone(),
        group_headers: args.requestheader_group_headers.clone(),
        extra_headers_prefixes: args.requestheader_extra_headers_prefix.clone(),
    };
    if args.requestheader_client_ca_file.is_some() {
        authentication.set_request_header(Some(flags_request_header));
    }
    let mut host_read = None;
    if let Some(host) = host {
        let (read, was_read) = tokio::sync::oneshot::channel();
        host_read = Some(was_read);
        tasks.push(tokio::spawn(apiserver::authentication::extension::follow(
            host,
            tls.clone(),
            authentication.clone(),
            apiserver::authentication::extension::Overrides {
                client_ca: client_ca_from_flags,
                request_header: args.requestheader_client_ca_file.is_some(),
            },
            read,
        )));
    }
    let mut modes: Vec<Arc<dyn Authorizer>> = Vec::new();
    let mut rbac = None;
    for mode in &args.authorization_mode {
        match mode.as_str() {
            "RBAC" => {
                let authorizer = RbacAuthorizer::start(store.clone(), catalog);
                rbac = Some(authorizer.clone());
                modes.push(authorizer);
            }
            "Webhook" => {
                let path = args.authorization_kubeconfig.as_deref().ok_or_else(|| {
                    Error::Usage(
                        "--authorization-mode=Webhook needs --authorization-kubeconfig".into(),
                    )
                })?;
                modes.push(Arc::new(WebhookAuthorizer::new(client(path).await?)));
            }
            "AlwaysAllow" => modes.push(Arc::new(AlwaysAllow)),
            other => {
                return Err(Error::Usage(format!(
                    "unknown authorization mode {other:?}: use RBAC, Webhook or AlwaysAllow"
                )))
            }
        }
    }
    let audit = match &args.audit_log_path {
        None => None,
        Some(path) => {
            let policy = match &args.audit_policy_file {
                Some(file) => apiserver::audit::Policy::from_file(file),
                None => Ok(apiserver::audit::Policy::metadata_for_everything()),
            }
            .map_err(|e| Error::Usage(error::chain(&e)))?;
            let log = apiserver::audit::AuditLog::open(path, policy)
                .map_err(|e| Error::Usage(error::chain(&e)))?;
            Some(Arc::new(log))
        }
    };
    Ok(AccessControl {
        access: Access {
            authentication,
            authorizer: Arc::new(Chain { modes }),
            audit,
        },
        rbac,
        host_read,
        tasks,
    })
}
