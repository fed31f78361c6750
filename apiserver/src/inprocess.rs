//! A `kube::Client` served by this server in process, for its own controllers: every request
//! goes through the whole filter chain — authentication, audit, authorization, the handlers —
//! as [`CONTROLLER_MANAGER`], a user the bootstrap policy binds (kube-controller-manager's
//! `system:kube-controller-manager`). That identity travels as a request extension only this
//! module creates; requests from the network carry none, and one naming the user by
//! certificate, token, front-proxy header or impersonation is refused.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use registry::authorizer::CONTROLLER_MANAGER;
use tower::ServiceExt;

use crate::authentication::User;
use crate::filters::authentication::InProcess;
use crate::request::body::BoxError;
use crate::server::Connection;
use crate::tls::PeerIdentity;
use crate::ApiServer;

/// A client of `server` acting as [`CONTROLLER_MANAGER`].
pub fn client(server: &Arc<ApiServer>) -> kube::Client {
    let chain = server.service::<Full<Bytes>>();
    let user = User::new(CONTROLLER_MANAGER, Vec::new()).with_authenticated_group();
    let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let connection = Connection::fixed(loopback, PeerIdentity::default());
    let service = tower::service_fn(move |req: Request<kube::client::Body>| {
        let (chain, connection) = (chain.clone(), connection.clone());
        let identity = InProcess::new(user.clone());
        async move {
            let (mut parts, body) = req.into_parts();
            let bytes = body.collect_bytes().await?;
            parts.extensions.insert(identity);
            parts.extensions.insert(connection);
            let response = chain
                .oneshot(Request::from_parts(parts, Full::new(bytes)))
                .await?;
            Ok::<_, BoxError>(response)
        }
    });
    kube::Client::new(service, "default")
}
