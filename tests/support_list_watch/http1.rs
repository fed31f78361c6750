//! A small HTTP/1.1 client over rustls, authenticated as the admin of a data directory, for
//! what the kube-rs client cannot show: a watch read event by event as its chunks arrive
//! (kube's streaming APIs need `futures`, which is not a dependency of the tests), and
//! requests that fail with an error instead of a panic while the server is down.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::support::install_crypto;

/// How long a socket read may block: longer than any watch a test keeps idle.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

type Tls = BufReader<StreamOwned<ClientConnection, TcpStream>>;

/// A client of one server, negotiating `http/1.1` with ALPN.
#[derive(Clone)]
pub struct Http1 {
    config: Arc<ClientConfig>,
    addr: SocketAddr,
}

impl std::fmt::Debug for Http1 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Http1({})", self.addr)
    }
}

/// A complete response.
#[derive(Debug, Clone)]
pub struct Response {
    pub head: Head,
    pub body: Vec<u8>,
}

/// Status line and headers of a response, and what TLS negotiated.
#[derive(Debug, Clone)]
pub struct Head {
    /// `HTTP/1.1`.
    pub version: String,
    pub status: u16,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    /// The ALPN protocol TLS agreed on.
    pub alpn: Option<String>,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn chunked(&self) -> bool {
        self.header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    }
}

impl Response {
    pub fn status(&self) -> u16 {
        self.head.status
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the body when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "HTTP {}: the body is not JSON ({e}): {}",
                self.head.status,
                self.text()
            )
        })
    }
}

/// What a watch request got: a 200 stream, or any other complete response.
#[derive(Debug)]
pub enum WatchReply {
    Streaming(WatchStream),
    Rejected(Response),
}

impl WatchReply {
    /// The stream; panics with the response when the watch was rejected.
    pub fn streaming(self) -> WatchStream {
        match self {
            WatchReply::Streaming(stream) => stream,
            WatchReply::Rejected(r) => {
                panic!("the watch was rejected: {} {}", r.status(), r.text())
            }
        }
    }

    /// The rejection; panics when the watch streams.
    pub fn rejected(self) -> Response {
        match self {
            WatchReply::Rejected(response) => response,
            WatchReply::Streaming(s) => {
                panic!("the watch streams ({:?}), a rejection was expected", s.head)
            }
        }
    }
}

/// What a watch stream yields next.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// One line: `{"type": ..., "object": ...}`.
    Event(Value),
    /// The end of the stream.
    End(Ending),
}

/// How a watch stream ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// With the last chunk of the chunked encoding: the server ended the watch.
    Clean,
    /// Anything else: a reset, an EOF in the middle, a read timeout, a line that is not JSON.
    Broken(String),
}

/// A watch being read, line by line, by a thread. Dropping it closes the connection.
#[derive(Debug)]
pub struct WatchStream {
    pub head: Head,
    events: mpsc::UnboundedReceiver<Next>,
    socket: TcpStream,
    ended: bool,
}

impl Drop for WatchStream {
    fn drop(&mut self) {
        let _ = self.socket.shutdown(Shutdown::Both);
    }
}

impl WatchStream {
    /// The next event or the end; panics when nothing comes `within`.
    pub async fn next(&mut self, within: Duration) -> Next {
        if self.ended {
            panic!("the watch stream has already ended");
        }
        match tokio::time::timeout(within, self.events.recv()).await {
            Ok(Some(next)) => {
                self.ended = matches!(next, Next::End(_));
                next
            }
            Ok(None) => panic!("the watch reader stopped without an ending"),
            Err(_) => panic!("no watch event within {within:?}"),
        }
    }

    /// The next event; panics at the end of the stream or when none comes `within`.
    pub async fn event(&mut self, within: Duration) -> Value {
        match self.next(within).await {
            Next::Event(event) => event,
            Next::End(ending) => panic!("the watch ended ({ending:?}) where an event was expected"),
        }
    }

    /// The next `n` events, each within `within`.
    pub async fn events(&mut self, n: usize, within: Duration) -> Vec<Value> {
        let mut events = Vec::with_capacity(n);
        for _ in 0..n {
            events.push(self.event(within).await);
        }
        events
    }

    /// The end of the stream; panics when an event comes first or nothing comes `within`.
    pub async fn end(&mut self, within: Duration) -> Ending {
        match self.next(within).await {
            Next::End(ending) => ending,
            Next::Event(event) => panic!("an event where the end was expected: {event}"),
        }
    }

    /// Panics when anything arrives during `period`.
    pub async fn quiet(&mut self, period: Duration) {
        if let Ok(next) = tokio::time::timeout(period, self.events.recv()).await {
            panic!("nothing was expected on the watch, got {next:?}");
        }
    }
}

impl Http1 {
    /// A client of the server at `url` (`https://IP:PORT`), presenting the admin certificate
    /// of `data_dir/pki` and trusting its CA.
    pub fn new(url: &str, data_dir: &Path) -> Http1 {
        install_crypto();
        let files = certs::Pki::new(data_dir).files();
        let read = |path: &Path| {
            std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
        };
        let mut roots = RootCertStore::empty();
        for ca in certs::certificates_from_pem(&read(&files.ca_cert)).expect("the CA") {
            roots.add(ca).expect("a CA certificate rustls accepts");
        }
        let chain = certs::certificates_from_pem(&read(&files.admin_cert)).expect("admin cert");
        let key = certs::private_key_from_pem(&read(&files.admin_key)).expect("admin key");
        let mut config = ClientConfig::builder()
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .expect("a client TLS configuration");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let authority = url
            .strip_prefix("https://")
            .unwrap_or_else(|| panic!("not an https URL: {url}"));
        let addr = authority
            .parse()
            .unwrap_or_else(|e| panic!("not IP:PORT ({e}): {authority}"));
        Http1 {
            config: Arc::new(config),
            addr,
        }
    }

    /// `GET path`, the whole response; an error when the server cannot be reached or the
    /// connection breaks.
    pub async fn get(&self, path: &str) -> io::Result<Response> {
        let this = self.clone();
        let path = path.to_owned();
        blocking(move || {
            let (mut tls, _) = this.send(&path)?;
            let head = read_head(&mut tls)?;
            let body = read_body(&mut tls, &head)?;
            Ok(Response { head, body })
        })
        .await
    }

    /// `GET path` of a watch: a stream read as it arrives when the answer is 200 and chunked,
    /// the complete response otherwise. Returns once the headers are in.
    pub async fn watch(&self, path: &str) -> io::Result<WatchReply> {
        let this = self.clone();
        let path = path.to_owned();
        blocking(move || {
            let (mut tls, socket) = this.send(&path)?;
            let head = read_head(&mut tls)?;
            if head.status != 200 || !head.chunked() {
                let body = read_body(&mut tls, &head)?;
                return Ok(WatchReply::Rejected(Response { head, body }));
            }
            let (sender, events) = mpsc::unbounded_channel();
            std::thread::spawn(move || read_events(tls, sender));
            Ok(WatchReply::Streaming(WatchStream {
                head,
                events,
                socket,
                ended: false,
            }))
        })
        .await
    }

    /// Connects, shakes hands and writes the request; returns the reader and a handle on the
    /// socket to shut it down.
    fn send(&self, path: &str) -> io::Result<(Tls, TcpStream)> {
        let tcp = TcpStream::connect_timeout(&self.addr, CONNECT_TIMEOUT)?;
        tcp.set_read_timeout(Some(READ_TIMEOUT))?;
        tcp.set_nodelay(true)?;
        let socket = tcp.try_clone()?;
        let name = ServerName::IpAddress(self.addr.ip().into());
        let connection =
            ClientConnection::new(self.config.clone(), name).map_err(io::Error::other)?;
        let mut tls = StreamOwned::new(connection, tcp);
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\n\
             User-Agent: fleet-list-watch-tests\r\nConnection: close\r\n\r\n",
            self.addr
        );
        tls.write_all(request.as_bytes())?;
        tls.flush()?;
        Ok((BufReader::new(tls), socket))
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| panic!("the HTTP/1.1 thread failed: {e}"))
}

fn read_line(tls: &mut Tls) -> io::Result<String> {
    let mut line = String::new();
    if tls.read_line(&mut line)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed",
        ));
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn read_head(tls: &mut Tls) -> io::Result<Head> {
    let status_line = read_line(tls)?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default().to_owned();
    let status = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other(format!("not a status line: {status_line:?}")))?;
    let mut headers = Vec::new();
    loop {
        let line = read_line(tls)?;
        if line.is_empty() {
            break;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| io::Error::other(format!("not a header: {line:?}")))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let alpn = tls
        .get_ref()
        .conn
        .alpn_protocol()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    Ok(Head {
        version,
        status,
        headers,
        alpn,
    })
}

fn read_body(tls: &mut Tls, head: &Head) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    if head.chunked() {
        while let Some(chunk) = read_chunk(tls)? {
            body.extend(chunk);
        }
    } else if let Some(length) = head.header("content-length") {
        let length: usize = length.parse().map_err(io::Error::other)?;
        body.resize(length, 0);
        tls.read_exact(&mut body)?;
    } else {
        tls.read_to_end(&mut body)?;
    }
    Ok(body)
}

/// One chunk of a chunked body; `None` after the last (empty) chunk and its trailers.
fn read_chunk(tls: &mut Tls) -> io::Result<Option<Vec<u8>>> {
    let size_line = read_line(tls)?;
    let size = size_line.split(';').next().unwrap_or_default().trim();
    let size = usize::from_str_radix(size, 16)
        .map_err(|_| io::Error::other(format!("not a chunk size: {size_line:?}")))?;
    if size == 0 {
        while !read_line(tls)?.is_empty() {}
        return Ok(None);
    }
    let mut chunk = vec![0; size];
    tls.read_exact(&mut chunk)?;
    if !read_line(tls)?.is_empty() {
        return Err(io::Error::other("a chunk does not end with CRLF"));
    }
    Ok(Some(chunk))
}

/// Sends every line of the chunked body as an event, then how the body ended.
fn read_events(mut tls: Tls, sender: mpsc::UnboundedSender<Next>) {
    let mut pending = Vec::new();
    let ending = loop {
        match read_chunk(&mut tls) {
            Ok(Some(chunk)) => pending.extend(chunk),
            Ok(None) if pending.iter().all(u8::is_ascii_whitespace) => break Ending::Clean,
            Ok(None) => break Ending::Broken("the body ends inside a line".into()),
            Err(e) => break Ending::Broken(e.to_string()),
        }
        while let Some(end) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let next = match serde_json::from_slice(&line) {
                Ok(event) => Next::Event(event),
                Err(e) => {
                    let text = String::from_utf8_lossy(&line);
                    let _ =
                        sender.send(Next::End(Ending::Broken(format!("not JSON ({e}): {text}"))));
                    return;
                }
            };
            if sender.send(next).is_err() {
                return;
            }
        }
    };
    let _ = sender.send(Next::End(ending));
}
