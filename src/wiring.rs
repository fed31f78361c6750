//! Wiring shared by the subcommands: storage from flags, the catalog of resources, the API
//! server, and running it until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use apiserver::tls::TlsFiles;
use apiserver::ApiServer;
use registry::gc::GarbageCollector;
use registry::{Catalog, GenericStore};
use storage::{Codec, Compactor, EmbeddedOptions, EmbeddedStore, EtcdOptions, EtcdStore, Store};
use tokio::net::TcpListener;

/// Why a subcommand failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The listening socket could not be bound.
    #[error("binding {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// Storage did not open.
    #[error("opening storage")]
    Storage(#[source] storage::Error),
    /// Certificates could not be made or loaded.
    #[error("preparing certificates")]
    Certificates(#[source] certs::Error),
    /// The TLS configuration was refused.
    #[error("configuring TLS")]
    Tls(#[source] apiserver::tls::TlsError),
    /// Two resources claimed the same name.
    #[error("registering resources")]
    Register(#[source] registry::catalog::AlreadyRegistered),
    /// A file could not be read.
    #[error("reading {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Writing to stdout failed.
    #[error("writing the output")]
    Output(#[source] std::io::Error),
    /// The flags do not make sense together.
    #[error("{0}")]
    Usage(String),
    /// The server stopped with an error.
    #[error("serving")]
    Serve(#[source] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error with its sources, joined by ": ".
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(&format!(": {e}"));
        source = e.source();
    }
    text
}

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

/// Serves the fleet API from `store` on `listener` until Ctrl-C or SIGTERM.
pub async fn serve(
    listener: TcpListener,
    tls: &TlsFiles,
    store: Arc<dyn Store>,
    prefix: &str,
    compaction_interval: std::time::Duration,
    garbage_collector: bool,
) -> Result<()> {
    let catalog = Arc::new(Catalog::new());
    registry::fleet::install(&catalog).map_err(Error::Register)?;
    registry::rbac::install(&catalog).map_err(Error::Register)?;
    let tls = apiserver::tls::server_config(tls).map_err(Error::Tls)?;
    let generic = GenericStore::new(store.clone(), Codec::plain(), prefix);
    let _collector =
        garbage_collector.then(|| GarbageCollector::start(generic.clone(), catalog.clone()));
    let server = Arc::new(ApiServer::new(catalog, generic));
    let _compactor =
        (!compaction_interval.is_zero()).then(|| Compactor::start(store, compaction_interval));
    apiserver::server::run(listener, tls, server, shutdown_signal())
        .await
        .map_err(Error::Serve)
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
