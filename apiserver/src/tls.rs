//! The TLS side of serving: the rustls configuration (serving certificate, ALPN for HTTP/2 and
//! HTTP/1.1, client certificates of the client CA or the front-proxy CA) and which CA a
//! connection's client certificate belongs to. The material can change while serving
//! ([`DynamicTls`]): new connections use the new certificates, open ones keep theirs.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rustls::server::danger::ClientCertVerifier;
use rustls::server::WebPkiClientVerifier;
use rustls::RootCertStore;
use rustls_pki_types::{CertificateDer, UnixTime};

/// Building the TLS configuration failed.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The serving certificate or key did not load.
    #[error("loading the serving certificate")]
    ServingCertificate(#[source] certs::Error),
    /// A CA bundle did not load.
    #[error("loading the {which} CA")]
    Ca {
        which: &'static str,
        #[source]
        source: certs::Error,
    },
    /// A CA certificate was refused by rustls.
    #[error("adding a {which} CA certificate")]
    CaCertificate {
        which: &'static str,
        #[source]
        source: rustls::Error,
    },
    /// rustls refused the configuration.
    #[error("building the TLS configuration")]
    Config(#[source] rustls::Error),
    /// A client certificate verifier could not be built.
    #[error("building the client certificate verifier")]
    Verifier(#[source] rustls::server::VerifierBuilderError),
}

/// PEM material for serving.
#[derive(Clone, Debug, Default)]
pub struct TlsFiles {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
    /// CA of client certificates (x509 authentication: CN = user, O = groups).
    pub client_ca_pem: Option<Vec<u8>>,
    /// CA of front-proxy client certificates (request-header authentication).
    pub request_header_ca_pem: Option<Vec<u8>>,
}

/// Who a connection's client certificate says it is under one set of CAs (decided again
/// when the CAs change).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerIdentity {
    /// CN and O of a certificate that verifies against the client CA.
    pub client: Option<(String, Vec<String>)>,
    /// CN of a certificate that verifies against the front-proxy CA.
    pub front_proxy: Option<String>,
    /// A client certificate was presented.
    pub presented: bool,
    /// `X509SHA256=<hex>` of the certificate, which kube-apiserver records as the user's
    /// `authentication.kubernetes.io/credential-id`.
    pub credential_id: String,
}

/// The handshake's client certificate verifier: proves the client holds the certificate's key
/// (handshake signatures), and accepts any chain. Which CA, if any, vouches for it is decided
/// per connection by [`TlsState::identify`] — so a certificate of an unknown CA is a 401 with a
/// `Status`, not a TLS alert, as with kube-apiserver (which requests but does not verify client
/// certificates in the handshake).
#[derive(Debug)]
struct AnyClientCertificate {
    /// Verifies handshake signatures and supplies the CA names hinted to clients.
    inner: Arc<dyn ClientCertVerifier>,
}

impl ClientCertVerifier for AnyClientCertificate {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<rustls::server::danger::ClientCertVerified, rustls::Error> {
        Ok(rustls::server::danger::ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A built configuration and the verifiers of each CA.
pub struct TlsState {
    pub config: Arc<rustls::ServerConfig>,
    client_ca: Option<Arc<dyn ClientCertVerifier>>,
    request_header_ca: Option<Arc<dyn ClientCertVerifier>>,
}

impl std::fmt::Debug for TlsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsState")
            .field("client_ca", &self.client_ca.is_some())
            .field("request_header_ca", &self.request_header_ca.is_some())
            .finish()
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn add_roots(roots: &mut RootCertStore, pem: &[u8], which: &'static str) -> Result<(), TlsError> {
    for cert in
        certs::certificates_from_pem(pem).map_err(|source| TlsError::Ca { which, source })?
    {
        roots
            .add(cert)
            .map_err(|source| TlsError::CaCertificate { which, source })?;
    }
    Ok(())
}

/// A verifier of client certificates against `roots`; clients without a certificate pass
/// (authentication decides: other credentials, or 401).
fn verifier(roots: RootCertStore) -> Result<Arc<dyn ClientCertVerifier>, TlsError> {
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
        .allow_unauthenticated()
        .build()
        .map_err(TlsError::Verifier)
}

fn ca_verifier(
    pem: Option<&Vec<u8>>,
    which: &'static str,
) -> Result<Option<Arc<dyn ClientCertVerifier>>, TlsError> {
    let Some(pem) = pem else { return Ok(None) };
    let mut roots = RootCertStore::empty();
    add_roots(&mut roots, pem, which)?;
    verifier(roots).map(Some)
}

impl TlsState {
    /// A configuration on the ring provider (never the process default, so the choice does not
    /// depend on which crypto providers other crates compiled in). The handshake accepts
    /// certificates of either CA; [`TlsState::identify`] tells them apart.
    pub fn build(files: &TlsFiles) -> Result<TlsState, TlsError> {
        let chain =
            certs::certificates_from_pem(&files.cert_pem).map_err(TlsError::ServingCertificate)?;
        let key =
            certs::private_key_from_pem(&files.key_pem).map_err(TlsError::ServingCertificate)?;
        let client_ca = ca_verifier(files.client_ca_pem.as_ref(), "client")?;
        let request_header_ca =
            ca_verifier(files.request_header_ca_pem.as_ref(), "request-header")?;
        let builder = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Config)?;
        let builder = if client_ca.is_none() && request_header_ca.is_none() {
            builder.with_no_client_auth()
        } else {
            let mut roots = RootCertStore::empty();
            for (pem, which) in [
                (&files.client_ca_pem, "client"),
                (&files.request_header_ca_pem, "request-header"),
            ] {
                if let Some(pem) = pem {
                    add_roots(&mut roots, pem, which)?;
                }
            }
            builder.with_client_cert_verifier(Arc::new(AnyClientCertificate {
                inner: verifier(roots)?,
            }))
        };
        let mut config = builder
            .with_single_cert(chain, key)
            .map_err(TlsError::Config)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(TlsState {
            config: Arc::new(config),
            client_ca,
            request_header_ca,
        })
    }

    /// Which CA the client certificate chain (leaf first) verifies against.
    pub fn identify(&self, chain: &[CertificateDer<'static>]) -> PeerIdentity {
        let Some((leaf, intermediates)) = chain.split_first() else {
            return PeerIdentity::default();
        };
        let verifies = |verifier: &Option<Arc<dyn ClientCertVerifier>>| {
            verifier.as_ref().is_some_and(|v| {
                v.verify_client_cert(leaf, intermediates, UnixTime::now())
                    .is_ok()
            })
        };
        let subject = certs::identity_from_certificate(leaf.as_ref()).ok();
        let client = subject.clone().filter(|_| verifies(&self.client_ca));
        let front_proxy = subject
            .map(|(cn, _)| cn)
            .filter(|_| verifies(&self.request_header_ca));
        let digest = <sha2::Sha256 as sha2::Digest>::digest(leaf.as_ref());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        PeerIdentity {
            presented: true,
            credential_id: format!("X509SHA256={hex}"),
            client,
            front_proxy,
        }
    }
}

/// TLS material that may change while serving (certificate rotation, CA reload).
#[derive(Debug)]
pub struct DynamicTls {
    files: Mutex<TlsFiles>,
    state: RwLock<Arc<TlsState>>,
}

impl DynamicTls {
    pub fn new(files: TlsFiles) -> Result<Arc<DynamicTls>, TlsError> {
        let state = TlsState::build(&files)?;
        Ok(Arc::new(DynamicTls {
            files: Mutex::new(files),
            state: RwLock::new(Arc::new(state)),
        }))
    }

    /// The configuration new connections use.
    pub fn current(&self) -> Arc<TlsState> {
        self.state.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Changes the material; the old configuration stays when the new one does not build.
    /// Returns whether anything changed.
    pub fn update(&self, change: impl FnOnce(&mut TlsFiles)) -> Result<bool, TlsError> {
        let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        let mut next = files.clone();
        change(&mut next);
        if next.cert_pem == files.cert_pem
            && next.key_pem == files.key_pem
            && next.client_ca_pem == files.client_ca_pem
            && next.request_header_ca_pem == files.request_header_ca_pem
        {
            return Ok(false);
        }
        let state = TlsState::build(&next)?;
        *files = next;
        *self.state.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(state);
        Ok(true)
    }
}

/// Files the TLS material is read from; `None` leaves that piece alone.
#[derive(Clone, Debug, Default)]
pub struct TlsPaths {
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub client_ca: Option<PathBuf>,
    pub request_header_ca: Option<PathBuf>,
}

/// How often certificate files are checked for changes.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// Re-reads the files every [`RELOAD_INTERVAL`] and applies what changed, as kube-apiserver's
/// dynamic certificate controllers do. A half-written pair (certificate and key that do not
/// match) is retried on the next tick. Runs until the task is dropped.
pub async fn reload_files(tls: Arc<DynamicTls>, paths: TlsPaths) {
    let mut ticker = tokio::time::interval(RELOAD_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_error = String::new();
    loop {
        ticker.tick().await;
        let read = |path: &Option<PathBuf>| path.as_ref().map(std::fs::read).transpose();
        let (cert, key, client_ca, request_header_ca) = match (
            read(&paths.cert),
            read(&paths.key),
            read(&paths.client_ca),
            read(&paths.request_header_ca),
        ) {
            (Ok(a), Ok(b), Ok(c), Ok(d)) => (a, b, c, d),
            _ => continue, // A file being replaced; next tick.
        };
        let result = tls.update(|files| {
            if let Some(cert) = cert {
                files.cert_pem = cert;
            }
            if let Some(key) = key {
                files.key_pem = key;
            }
            if client_ca.is_some() {
                files.client_ca_pem = client_ca;
            }
            if request_header_ca.is_some() {
                files.request_header_ca_pem = request_header_ca;
            }
        });
        match result {
            Ok(true) => {
                last_error.clear();
                tracing::info!("reloaded TLS certificates");
            }
            Ok(false) => {}
            Err(e) => {
                let text = e.to_string();
                if text != last_error {
                    tracing::warn!(error = %text, "new TLS certificates do not load; keeping the old ones");
                    last_error = text;
                }
            }
        }
    }
}
