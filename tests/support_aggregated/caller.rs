//! Requests to fleet-apiserver over HTTPS/1.1 with rustls, each on a connection of its own
//! (so each one is a new TLS handshake that presents a chosen client certificate — or none
//! — to the trust the server holds at that moment), or several on one kept-alive connection.

use std::io::{self, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use certs::CertifiedKey;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use serde_json::Value;

use super::wire::{self, Unframed};
use crate::support::{install_crypto, TestServer};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Who connects: trusts the server's CA and presents `certificate`, if any.
#[derive(Clone)]
pub struct Caller {
    config: Arc<ClientConfig>,
    addr: SocketAddr,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Caller({})", self.addr)
    }
}

/// A request: method, path, headers, body.
#[derive(Debug, Clone)]
pub struct Request {
    method: &'static str,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    pub fn post_json(path: &str, body: &Value) -> Self {
        Request {
            method: "POST",
            path: path.to_owned(),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Adds every header of `headers`.
    pub fn headers(self, headers: &[(&str, &str)]) -> Self {
        headers
            .iter()
            .fold(self, |request, (name, value)| request.header(name, value))
    }
}

/// A complete response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the body when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "HTTP {}: the body is not JSON ({e}): {}",
                self.status,
                self.text()
            )
        })
    }
}

impl Caller {
    /// A caller of `server` presenting `certificate` (none: only headers such as
    /// `Authorization` say who it is).
    pub fn new(server: &TestServer, certificate: Option<&CertifiedKey>) -> Caller {
        install_crypto();
        let files = certs::Pki::new(server.data_dir()).files();
        let ca = std::fs::read(&files.ca_cert).expect("reading the server's CA");
        let mut roots = RootCertStore::empty();
        for cert in certs::certificates_from_pem(&ca).expect("the server's CA") {
            roots.add(cert).expect("a CA certificate rustls accepts");
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots);
        let mut config = match certificate {
            None => builder.with_no_client_auth(),
            Some(certificate) => {
                let chain = certs::certificates_from_pem(certificate.cert_pem.as_bytes())
                    .expect("a certificate chain");
                let key = certs::private_key_from_pem(certificate.key_pem.as_bytes())
                    .expect("a private key");
                builder
                    .with_client_auth_cert(chain, key)
                    .expect("a client certificate rustls accepts")
            }
        };
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let addr = server
            .url()
            .strip_prefix("https://")
            .and_then(|authority| authority.parse().ok())
            .unwrap_or_else(|| panic!("not https://IP:PORT: {}", server.url()));
        Caller {
            config: Arc::new(config),
            addr,
        }
    }

    /// Sends `request` on a new connection; panics when the server cannot be reached.
    pub fn send(&self, request: &Request) -> Response {
        self.connect()
            .and_then(|mut connection| connection.send(request))
            .unwrap_or_else(|e| panic!("{} {}: {e}", request.method, request.path))
    }

    /// A new connection, its handshake done.
    pub fn connect(&self) -> io::Result<Connection> {
        let tcp = TcpStream::connect_timeout(&self.addr, CONNECT_TIMEOUT)?;
        tcp.set_read_timeout(Some(READ_TIMEOUT))?;
        tcp.set_nodelay(true)?;
        let name = ServerName::IpAddress(self.addr.ip().into());
        let connection =
            ClientConnection::new(self.config.clone(), name).map_err(io::Error::other)?;
        let mut stream = StreamOwned::new(connection, tcp);
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock)?;
        }
        Ok(Connection {
            tls: BufReader::new(stream),
            addr: self.addr,
        })
    }
}

/// One kept-alive connection.
#[derive(Debug)]
pub struct Connection {
    tls: BufReader<StreamOwned<ClientConnection, TcpStream>>,
    addr: SocketAddr,
}

impl Connection {
    /// Sends `request` on this connection and reads the whole response.
    pub fn send(&mut self, request: &Request) -> io::Result<Response> {
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\n\
             User-Agent: fleet-aggregated-mode-tests\r\nContent-Length: {}\r\n",
            request.method,
            request.path,
            self.addr,
            request.body.len()
        );
        for (name, value) in &request.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let stream = self.tls.get_mut();
        stream.write_all(head.as_bytes())?;
        stream.write_all(&request.body)?;
        stream.flush()?;
        let head = wire::read_head(&mut self.tls)?.ok_or_else(|| {
            io::Error::new(io::ErrorKind::UnexpectedEof, "closed before a response")
        })?;
        let status = head
            .start
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| io::Error::other(format!("not a status line: {:?}", head.start)))?;
        let body = wire::read_body(&mut self.tls, &head, Unframed::UntilClose)?;
        Ok(Response { status, body })
    }
}
