//! The HTTPS server: accepts TLS connections, serves HTTP/1.1 and HTTP/2 on each (with many
//! concurrent streams for watches), and shuts down gracefully: stop accepting, let requests
//! in flight finish, close connections.

use std::convert::Infallible;
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

use crate::tls::{DynamicTls, PeerIdentity};
use crate::ApiServer;

/// Concurrent HTTP/2 streams per connection (many watches share one connection).
const MAX_CONCURRENT_STREAMS: u32 = 2000;
/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for requests in flight.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// What the server knows about a connection.
#[derive(Debug, Clone)]
pub struct Connection {
    pub remote: SocketAddr,
    /// Who the client certificate says the peer is (nobody without one).
    pub identity: Arc<PeerIdentity>,
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
    builder.http1().timer(TokioTimer::new());
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(MAX_CONCURRENT_STREAMS)
        .keep_alive_interval(Some(Duration::from_secs(30)));
    let builder = Arc::new(builder);
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
        let acceptor = TlsAcceptor::from(state.config.clone());
        let server = server.clone();
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
            let connection = Connection {
                remote,
                identity: Arc::new(state.identify(&chain)),
            };
            let service = service_fn(move |req| {
                let server = server.clone();
                let connection = connection.clone();
                async move { Ok::<_, Infallible>(server.handle(req, &connection).await) }
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
