//! Requests to fleet-apiserver over HTTPS/1.1 with rustls, each on a connection of its own
//! (so each one is a new TLS handshake that presents a chosen client certificate — or none
//! — to the trust the server holds at that moment), or several on one kept-alive connection.

use std::io::{self, BufReader};
use std::net::SocketAddr;
use std::time::Duration;

use certs::CertifiedKey;

use crate::support::http1::{self, Request, Tls, Unframed};
use crate::support::{Reply, TestServer};

const READ_TIMEOUT: Duration = Duration::from_secs(30);
const USER_AGENT: &str = "fleet-aggregated-mode-tests";

/// Who connects: trusts the server's CA and presents `certificate`, if any.
#[derive(Debug, Clone)]
pub struct Caller {
    client: http1::Client,
}

impl Caller {
    /// A caller of `server` presenting `certificate` (none: only headers such as
    /// `Authorization` say who it is).
    pub fn new(server: &TestServer, certificate: Option<&CertifiedKey>) -> Caller {
        let files = certs::Pki::new(server.data_dir()).files();
        let ca = std::fs::read(&files.ca_cert).expect("reading the server's CA");
        let identity = certificate.map(|c| (c.cert_pem.as_bytes(), c.key_pem.as_bytes()));
        let config = http1::client_config(&ca, identity);
        Caller {
            client: http1::Client::new(server.url(), config),
        }
    }

    /// Sends `request` on a new connection; panics when the server cannot be reached.
    pub fn send(&self, request: &Request) -> Reply {
        self.connect()
            .and_then(|mut connection| connection.send(request))
            .unwrap_or_else(|e| panic!("{request}: {e}"))
    }

    /// A new connection, its handshake done.
    pub fn connect(&self) -> io::Result<Connection> {
        let tls = self.client.connect(READ_TIMEOUT)?;
        Ok(Connection {
            tls: BufReader::new(tls),
            addr: self.client.addr(),
        })
    }
}

/// One kept-alive connection.
#[derive(Debug)]
pub struct Connection {
    tls: BufReader<Tls>,
    addr: SocketAddr,
}

impl Connection {
    /// Sends `request` on this connection and reads the whole response.
    pub fn send(&mut self, request: &Request) -> io::Result<Reply> {
        request.write_to(self.tls.get_mut(), self.addr, USER_AGENT)?;
        http1::read_response(&mut self.tls, Unframed::UntilClose)
    }
}
