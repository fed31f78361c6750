//! A blocking HTTP/1.1 client over rustls, for what a kube-rs client cannot show: the
//! certificate a handshake was served, a watch read chunk by chunk, a new handshake per
//! request with a chosen client certificate; and the HTTP/1.1 framing both ends of such tests
//! speak (RFC 9112: a head, then a body sized by `Content-Length` or sent in chunks).

use std::fmt;
use std::io::{self, BufRead, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use serde_json::Value;

use super::client::first_header;
use super::Reply;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A client's TLS stream.
pub type Tls = StreamOwned<ClientConnection, TcpStream>;

/// Trusts the CA certificates of `ca_pem` and presents `identity` (a PEM certificate chain
/// and its PEM key), if any; offers only `http/1.1` (ALPN).
pub fn client_config(ca_pem: &[u8], identity: Option<(&[u8], &[u8])>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for ca in certs::certificates_from_pem(ca_pem).expect("the CA") {
        roots.add(ca).expect("a CA certificate rustls accepts");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots);
    let mut config = match identity {
        None => builder.with_no_client_auth(),
        Some((chain, key)) => {
            let chain = certs::certificates_from_pem(chain).expect("a certificate chain");
            let key = certs::private_key_from_pem(key).expect("a private key");
            builder
                .with_client_auth_cert(chain, key)
                .expect("a client certificate rustls accepts")
        }
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// A client of one server: its address and the TLS configuration to reach it with.
#[derive(Clone)]
pub struct Client {
    config: Arc<ClientConfig>,
    addr: SocketAddr,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Client({})", self.addr)
    }
}

impl Client {
    /// A client of the server at `url` (`https://IP:PORT`) with `config`.
    pub fn new(url: &str, config: Arc<ClientConfig>) -> Client {
        let addr = url
            .strip_prefix("https://")
            .and_then(|authority| authority.parse().ok())
            .unwrap_or_else(|| panic!("not https://IP:PORT: {url}"));
        Client { config, addr }
    }

    /// A client of the server at `url` trusting the CA of its data directory `data_dir` and
    /// presenting the admin certificate there.
    pub fn admin(url: &str, data_dir: &Path) -> Client {
        let files = certs::Pki::new(data_dir).files();
        let read = |path: &Path| {
            std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
        };
        let (chain, key) = (read(&files.admin_cert), read(&files.admin_key));
        Client::new(
            url,
            client_config(&read(&files.ca_cert), Some((&chain, &key))),
        )
    }

    /// The server's address, the `Host` of requests.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A new connection, its handshake done; a read waits at most `read_timeout`.
    pub fn connect(&self, read_timeout: Duration) -> io::Result<Tls> {
        let tcp = TcpStream::connect_timeout(&self.addr, CONNECT_TIMEOUT)?;
        tcp.set_read_timeout(Some(read_timeout))?;
        tcp.set_nodelay(true)?;
        let name = ServerName::IpAddress(self.addr.ip().into());
        let connection =
            ClientConnection::new(self.config.clone(), name).map_err(io::Error::other)?;
        let mut stream = StreamOwned::new(connection, tcp);
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock)?;
        }
        Ok(stream)
    }
}

/// A request: method, path, headers (`Accept: application/json` first), body.
#[derive(Debug, Clone)]
pub struct Request {
    method: &'static str,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    pub fn new(method: &'static str, path: &str) -> Self {
        Request {
            method,
            path: path.to_owned(),
            headers: vec![("Accept".into(), "application/json".into())],
            body: Vec::new(),
        }
    }

    pub fn get(path: &str) -> Self {
        Self::new("GET", path)
    }

    pub fn post_json(path: &str, body: &Value) -> Self {
        let mut request = Self::new("POST", path).header("Content-Type", "application/json");
        request.body = body.to_string().into_bytes();
        request
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

    /// Writes the request to the server `host` as `user_agent`, with a `Content-Length`
    /// unless it is a GET without a body.
    pub fn write_to(
        &self,
        writer: &mut impl Write,
        host: SocketAddr,
        user_agent: &str,
    ) -> io::Result<()> {
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {user_agent}\r\n",
            self.method, self.path
        );
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if self.method != "GET" || !self.body.is_empty() {
            head.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        head.push_str("\r\n");
        writer.write_all(head.as_bytes())?;
        writer.write_all(&self.body)?;
        writer.flush()
    }
}

impl fmt::Display for Request {
    /// `METHOD path`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// The start line and headers of a request or a response.
#[derive(Debug, Clone)]
pub struct Head {
    /// `GET /path HTTP/1.1` or `HTTP/1.1 200 OK`.
    pub start: String,
    /// Names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        first_header(&self.headers, name)
    }

    pub fn chunked(&self) -> bool {
        self.header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    }

    /// The status code of a response's head.
    pub fn status(&self) -> io::Result<u16> {
        self.start
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| io::Error::other(format!("not a status line: {:?}", self.start)))
    }
}

/// How a body without `Content-Length` or chunks ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unframed {
    /// There is none (a request).
    Empty,
    /// It runs to the end of the connection (a response).
    UntilClose,
    /// It may not be: an error (a response on a connection that is kept alive).
    Refused,
}

/// The next head; `None` when the peer closed the connection between messages.
pub fn read_head(reader: &mut impl BufRead) -> io::Result<Option<Head>> {
    let Some(start) = read_line(reader)? else {
        return Ok(None);
    };
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader)?.ok_or_else(|| eof("EOF in the headers"))?;
        if line.is_empty() {
            return Ok(Some(Head { start, headers }));
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| io::Error::other(format!("not a header: {line:?}")))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
}

/// One chunk of a chunked body; `None` after the last (empty) chunk and its trailers.
pub fn read_chunk(reader: &mut impl BufRead) -> io::Result<Option<Vec<u8>>> {
    let size_line = read_line(reader)?.ok_or_else(|| eof("EOF in chunks"))?;
    let size = size_line.split(';').next().unwrap_or_default().trim();
    let size = usize::from_str_radix(size, 16)
        .map_err(|_| io::Error::other(format!("not a chunk size: {size_line:?}")))?;
    if size == 0 {
        while !read_line(reader)?.unwrap_or_default().is_empty() {}
        return Ok(None);
    }
    let mut chunk = vec![0; size];
    reader.read_exact(&mut chunk)?;
    if read_line(reader)?.is_none_or(|end| !end.is_empty()) {
        return Err(io::Error::other("a chunk does not end with CRLF"));
    }
    Ok(Some(chunk))
}

/// The body that follows `head`.
pub fn read_body(
    reader: &mut impl BufRead,
    head: &Head,
    unframed: Unframed,
) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    if head.chunked() {
        while let Some(chunk) = read_chunk(reader)? {
            body.extend(chunk);
        }
        return Ok(body);
    }
    match (head.header("content-length"), unframed) {
        (Some(length), _) => {
            body.resize(length.parse().map_err(io::Error::other)?, 0);
            reader.read_exact(&mut body)?;
        }
        (None, Unframed::UntilClose) => {
            reader.read_to_end(&mut body)?;
        }
        (None, Unframed::Empty) => {}
        (None, Unframed::Refused) => {
            return Err(io::Error::other(
                "a response without a length cannot keep the connection",
            ))
        }
    }
    Ok(body)
}

/// The next response, whole; an error when the server closed the connection instead.
pub fn read_response(reader: &mut impl BufRead, unframed: Unframed) -> io::Result<Reply> {
    let head = read_head(reader)?.ok_or_else(|| eof("the server closed the connection"))?;
    let status = head.status()?;
    let body = read_body(reader, &head, unframed)?;
    Ok(Reply {
        status,
        headers: head.headers,
        body,
    })
}

/// Writes one chunk of a chunked body and flushes it; an empty `data` is the last chunk.
pub fn write_chunk(writer: &mut impl Write, data: &[u8]) -> io::Result<()> {
    write!(writer, "{:x}\r\n", data.len())?;
    writer.write_all(data)?;
    writer.write_all(b"\r\n")?;
    writer.flush()
}

/// A line without its CRLF; `None` at the end of the stream.
fn read_line(reader: &mut impl BufRead) -> io::Result<Option<String>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    Ok(Some(line.trim_end_matches(['\r', '\n']).to_owned()))
}

fn eof(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, what.to_owned())
}
