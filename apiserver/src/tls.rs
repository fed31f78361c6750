//! The rustls server configuration: the serving certificate, ALPN for HTTP/2 and HTTP/1.1,
//! and optional client certificates verified against a client CA.

use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls::RootCertStore;

/// Building the TLS configuration failed.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The serving certificate or key did not load.
    #[error("loading the serving certificate")]
    ServingCertificate(#[source] certs::Error),
    /// The client CA did not load.
    #[error("loading the client CA")]
    ClientCa(#[source] certs::Error),
    /// A client CA certificate was refused by rustls.
    #[error("adding the client CA certificate")]
    ClientCaCertificate(#[source] rustls::Error),
    /// rustls refused the configuration.
    #[error("building the TLS configuration")]
    Config(#[source] rustls::Error),
    /// The client certificate verifier could not be built.
    #[error("building the client certificate verifier")]
    Verifier(#[source] rustls::server::VerifierBuilderError),
}

/// PEM material for serving.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
    /// CA of client certificates; `None` accepts no client certificates.
    pub client_ca_pem: Option<Vec<u8>>,
}

/// A server configuration on the ring provider (never the process default, so the choice
/// does not depend on which crypto providers other crates compiled in).
pub fn server_config(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain =
        certs::certificates_from_pem(&files.cert_pem).map_err(TlsError::ServingCertificate)?;
    let key = certs::private_key_from_pem(&files.key_pem).map_err(TlsError::ServingCertificate)?;
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Config)?;
    let builder = match &files.client_ca_pem {
        None => builder.with_no_client_auth(),
        Some(ca_pem) => {
            let mut roots = RootCertStore::empty();
            for cert in certs::certificates_from_pem(ca_pem).map_err(TlsError::ClientCa)? {
                roots.add(cert).map_err(TlsError::ClientCaCertificate)?;
            }
            // Clients without a certificate may connect: authentication decides (401).
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .map_err(TlsError::Verifier)?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(TlsError::Config)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
