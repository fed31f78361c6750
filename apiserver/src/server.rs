//! The HTTPS server: accepts TLS connections, serves HTTP/1.1 and HTTP/2 on each (with many
//! concurrent streams for watches), and shuts down gracefully: stop accepting, let requests
//! in flight finish, close connections.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::tls::{DynamicTls, PeerIdentity};
use crate::ApiServer;

/// Concurrent HTTP/2 streams per connection (many watches share one connection).
const MAX_CONCURRENT_STREAMS: u32 = 2000;
/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The request head an HTTP/1.1 connection may send: Go's `DefaultMaxHeaderBytes` (1 MiB,
/// what kube-apiserver sets) plus the 4096 bytes of bufio slack Go reads before it answers
/// 431 Request Header Fields Too Large.
const MAX_HEADER_BYTES_HTTP1: usize = (1 << 20) + 4096;
/// The header list an HTTP/2 stream may send: Go's http2 server advertises the same 1 MiB
/// plus 32 bytes for each of ten fields (`SETTINGS_MAX_HEADER_LIST_SIZE` 1,048,896), and
/// answers a longer list with 431.
const MAX_HEADER_LIST_SIZE_HTTP2: u32 = (1 << 20) + 10 * 32;
/// How long shutdown waits for requests in flight.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// What the server knows about a connection.
#[derive(Debug, Clone)]
pub struct Connection {
    pub remote: SocketAddr,
    peer: Arc<Peer>,
}

/// A connection's client certificate and who it says the peer is under the CAs current when
/// that was last decided: rotated CAs apply to open connections too, as kube-apiserver
/// verifies the certificate on every request.
#[derive(Debug)]
struct Peer {
    chain: Vec<rustls_pki_types::CertificateDer<'static>>,
    tls: Option<Arc<DynamicTls>>,
    decided: std::sync::Mutex<(Option<Arc<crate::tls::TlsState>>, Arc<PeerIdentity>)>,
}

impl Connection {
    /// A connection whose peer is `identity` whatever the CAs (in-process callers, tests).
    pub fn fixed(remote: SocketAddr, identity: PeerIdentity) -> Connection {
        Connection {
            remote,
            peer: Arc::new(Peer {
                chain: Vec::new(),
                tls: None,
                decided: std::sync::Mutex::new((None, Arc::new(identity))),
            }),
        }
    }

    /// Who the client certificate says the peer is, under the current CAs.
    pub fn identity(&self) -> Arc<PeerIdentity> {
        let peer = &self.peer;
        let mut decided = peer.decided.lock().unwrap_or_else(|p| p.into_inner());
        let Some(tls) = &peer.tls else {
            return decided.1.clone();
        };
        let current = tls.current();
        if decided.0.as_ref().is_some_and(|s| Arc::ptr_eq(s, &current)) {
            return decided.1.clone();
        }
        let identity = Arc::new(current.identify(&peer.chain));
        *decided = (Some(current), identity.clone());
        identity
    }
}

/// Serves `server` on `listener` until `shutdown` completes, then drains.
pub async fn run(
    listener: TcpListener,
    tls: Arc<DynamicTls>,
    server: Arc<ApiServer>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .max_buf_size(MAX_HEADER_BYTES_HTTP1);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(MAX_HEADER_LIST_SIZE_HTTP2)
        .max_concurrent_streams(MAX_CONCURRENT_STREAMS)
        .keep_alive_interval(Some(Duration::from_secs(30)));
    let builder = Arc::new(builder);
    let filtered = server.service::<hyper::body::Incoming>();
    tokio::pin!(shutdown);
    loop {
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Each connection uses the certificates current when it arrives.
        let state = tls.current();
        let dynamic = tls.clone();
        let acceptor = TlsAcceptor::from(state.config.clone());
        let filtered = filtered.clone();
        let builder = builder.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::debug!(%remote, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%remote, "TLS handshake timed out");
                    return;
                }
            };
            let chain: Vec<_> = tls
                .get_ref()
                .1
                .peer_certificates()
                .map(|chain| chain.iter().map(|c| c.clone().into_owned()).collect())
                .unwrap_or_default();
            let identity = Arc::new(state.identify(&chain));
            let connection = Connection {
                remote,
                peer: Arc::new(Peer {
                    chain,
                    tls: Some(dynamic),
                    decided: std::sync::Mutex::new((Some(state.clone()), identity)),
                }),
            };
            let service = service_fn(move |mut req: http::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(connection.clone());
                filtered.clone().oneshot(req)
            });
            let conn = builder.serve_connection(TokioIo::new(tls), service);
            if let Err(e) = watcher.watch(conn.into_owned()).await {
                tracing::debug!(%remote, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    server.begin_shutdown();
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all connections closed"),
        () = tokio::time::sleep(DRAIN_TIMEOUT) => {
            tracing::warn!("connections still open after {DRAIN_TIMEOUT:?}; closing them")
        }
    }
    Ok(())
}
