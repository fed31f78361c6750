//! Wiring shared by the subcommands: storage from flags, the catalog of resources, the API
//! server, and running it until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use apiserver::tls::{DynamicTls, TlsFiles, TlsPaths};
use apiserver::ApiServer;
use registry::{Catalog, GenericStore};
use storage::{Compactor, EmbeddedOptions, EmbeddedStore, EtcdOptions, EtcdStore, Store};
use tokio::net::TcpListener;

use crate::cli::AccessArgs;
use crate::error::{Error, Result};

/// Where objects are stored.
#[derive(Debug)]
pub enum StorageChoice {
    Embedded(PathBuf),
    Etcd(EtcdOptions),
}

pub async fn open_storage(choice: StorageChoice) -> Result<Arc<dyn Store>> {
    Ok(match choice {
        StorageChoice::Embedded(dir) => {
            tracing::info!(dir = %dir.display(), "using the embedded store");
            let store =
                EmbeddedStore::open(&dir, EmbeddedOptions::default()).map_err(Error::Storage)?;
            Arc::new(store)
        }
        StorageChoice::Etcd(options) => {
            tracing::info!(endpoints = ?options.endpoints, "using etcd");
            Arc::new(EtcdStore::connect(options).await.map_err(Error::Storage)?)
        }
    })
}

pub async fn bind(addr: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Bind { addr, source })
}

pub fn read(path: &PathBuf) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Read {
        path: path.clone(),
        source,
    })
}

/// How long start-up waits for the host cluster's authentication ConfigMap.
const HOST_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// How to serve: everything `serve` and `up` decide before serving.
pub struct Serving<'a> {
    pub tls: TlsFiles,
    /// Files to follow for certificate rotation.
    pub tls_paths: TlsPaths,
    pub store: Arc<dyn Store>,
    pub prefix: &'a str,
    pub compaction_interval: std::time::Duration,
    pub garbage_collector: bool,
    pub access: &'a AccessArgs,
    /// How each resource is sealed (`--encryption-provider-config`), and the file to follow.
    pub encryption: crate::encryption::Loaded,
    /// The client CA came from the command line (not from the host cluster).
    pub client_ca_from_flags: bool,
    /// Called once the bootstrap policy exists and RBAC is synced, before the server accepts
    /// requests (`up` writes its kubeconfig and the ready line here).
    pub before_serving: Option<BeforeServingHook<'a>>,
}

impl std::fmt::Debug for Serving<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Serving")
            .field("prefix", &self.prefix)
            .field("access", &self.access)
            .finish_non_exhaustive()
    }
}

/// What `up` runs once the server could answer as it will, before it accepts requests.
pub type BeforeServingHook<'a> =
    Box<dyn FnOnce(&GenericStore, &Catalog) -> BeforeServing + Send + 'a>;

/// Work to finish before the server accepts requests.
pub type BeforeServing = std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send>>;

/// Serves the fleet API on `listener` until Ctrl-C or SIGTERM.
pub async fn serve(listener: TcpListener, serving: Serving<'_>) -> Result<()> {
    let catalog = Arc::new(Catalog::new());
    registry::fleet::install(&catalog).map_err(Error::Register)?;
    registry::rbac::install(&catalog).map_err(Error::Register)?;
    apiserver::install_reviews(&catalog).map_err(Error::Register)?;
    let tls = DynamicTls::new(serving.tls.clone()).map_err(Error::Tls)?;
    let _reloader = AbortOnDrop(tokio::spawn(apiserver::tls::reload_files(
        tls.clone(),
        serving.tls_paths.clone(),
    )));
    let encryption = serving.encryption;
    let generic = GenericStore::new(serving.store.clone(), encryption.codecs, serving.prefix);
    let _encryption_reloader = encryption.follow.map(|followed| {
        AbortOnDrop(tokio::spawn(crate::encryption::follow(
            followed,
            generic.clone(),
        )))
    });
    registry::rbac::bootstrap::ensure(&generic, &catalog)
        .await
        .map_err(|e| Error::Bootstrap(e.to_string()))?;
    let control = crate::access::build(
        serving.access,
        serving.client_ca_from_flags,
        &catalog,
        &generic,
        &tls,
    )
    .await?;
    if let Some(rbac) = &control.rbac {
        rbac.wait_synced().await;
    }
    let mut control = control;
    if let Some(host_read) = control.host_read.take() {
        // As kube-apiserver's library: the front-proxy settings are read before serving, and
        // a host that cannot be read is a start-up error.
        match tokio::time::timeout(HOST_READ_TIMEOUT, host_read).await {
            Ok(Ok(())) => {}
            _ => {
                return Err(Error::Usage(format!(
                    "could not read kube-system/extension-apiserver-authentication from the host cluster within {HOST_READ_TIMEOUT:?}"
                )))
            }
        }
    }
    if let Some(before) = serving.before_serving {
        before(&generic, &catalog).await?;
    }
    let crate::access::AccessControl {
        access,
        tasks,
        rbac,
        ..
    } = control;
    let _tasks: Vec<_> = tasks.into_iter().map(AbortOnDrop).collect();
    let server = Arc::new(ApiServer::new(catalog, generic, access));
    let _controllers = controllers(&server, serving.garbage_collector, rbac.is_some());
    let _rbac = rbac;
    let _compactor = (!serving.compaction_interval.is_zero())
        .then(|| Compactor::start(serving.store, serving.compaction_interval));
    apiserver::server::run(listener, tls, server, shutdown_signal())
        .await
        .map_err(Error::Serve)
}

/// Starts the in-process controllers over the server's own API: the garbage collector when
/// asked (standalone: an aggregated server's kinds are the host's collector's), ClusterRole
/// aggregation when RBAC decides over the roles this server stores. One replica: it leads.
fn controllers(
    server: &Arc<ApiServer>,
    garbage_collector: bool,
    rbac: bool,
) -> reconcilers::Runtime {
    let client = apiserver::inprocess::client(server);
    let mut runtime = reconcilers::Runtime::new(client, reconcilers::AlwaysLeader);
    if garbage_collector {
        reconcilers::garbagecollector::install(&mut runtime);
    }
    if rbac {
        reconcilers::clusterroleaggregation::install(&mut runtime);
    }
    runtime
}

/// Aborts a task when dropped.
#[derive(Debug)]
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGTERM; Ctrl-C only");
            let _ = ctrl_c.await;
            return;
        }
    };
    tokio::select! {
        _ = ctrl_c => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
}
