//! Why a subcommand failed, said so that a person knows what to do.

use std::net::SocketAddr;
use std::path::PathBuf;

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
    /// The data directory could not be made.
    #[error("{}", data_dir_problem(path, error))]
    DataDir {
        path: PathBuf,
        // Not `source`: the message already says it, once.
        error: std::io::Error,
    },
    /// `kubeconfig` found no CA of `up` under the data directory.
    #[error(
        "no certificate authority under {}: run `fleet-apiserver up` first (it creates one there), \
         or pass the --data-dir that `up` used",
        dir.display()
    )]
    NoLocalCa { dir: PathBuf },
    /// Writing to stdout failed.
    #[error("writing the output")]
    Output(#[source] std::io::Error),
    /// The flags do not make sense together.
    #[error("{0}")]
    Usage(String),
    /// The built-in objects (bootstrap RBAC policy, default PriceList) could not be written.
    #[error("creating the built-in objects: {0}")]
    Bootstrap(String),
    /// `--encryption-provider-config` does not load (kube-apiserver's messages).
    #[error("{0}")]
    Encryption(storage::ConfigError),
    /// The server stopped with an error.
    #[error("serving")]
    Serve(#[source] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong making the data directory, and what to do.
fn data_dir_problem(path: &std::path::Path, error: &std::io::Error) -> String {
    let shown = path.display();
    if path.exists() && !path.is_dir() {
        return format!(
            "--data-dir {shown} is a file: name a directory (it is created when missing)"
        );
    }
    format!(
        "creating the data directory {shown}: {error}; pass a --data-dir you may create and write"
    )
}

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
