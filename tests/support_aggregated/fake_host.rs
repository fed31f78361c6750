//! A fake host kube-apiserver: just what `--authentication-kubeconfig` makes fleet-apiserver
//! ask for. ConfigMap `kube-system/extension-apiserver-authentication` is listed (a
//! `ConfigMapList` with a resourceVersion) and watched (a chunked stream of `MODIFIED` events
//! the test publishes while it runs), and `TokenReview`s are answered for the tokens it knows.
//! HTTPS/1.1 on 127.0.0.1 with its own CA, one thread per connection; every request is logged.

use std::collections::BTreeMap;
use std::io::{self, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use certs::Ca;
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use serde_json::{json, Value};

use crate::support::http1::{self, Head, Unframed};

/// The ConfigMap kube-apiserver publishes for extension API servers.
pub const NAMESPACE: &str = "kube-system";
pub const NAME: &str = "extension-apiserver-authentication";
/// The bearer token of the kubeconfig the fake host writes (fleet-apiserver's own
/// credentials); requests without it get 401.
pub const HOST_TOKEN: &str = "fleet-apiserver-sa-token";
/// Where TokenReviews are posted.
pub const TOKEN_REVIEWS: &str = "/apis/authentication.k8s.io/v1/tokenreviews";
const CONFIG_MAPS: &str = "/api/v1/namespaces/kube-system/configmaps";
/// The resourceVersion of the first ConfigMap; each publish adds one.
const FIRST_REVISION: u64 = 1000;
/// How often a watch thread looks for the end of the test or of the watch.
const POLL: Duration = Duration::from_millis(100);

/// A request as the fake host received it.
#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    /// The path without the query.
    pub path: String,
    /// The raw query string (after `?`), empty when none.
    pub raw_query: String,
    /// Query parameters, decoded.
    pub query: BTreeMap<String, String>,
    pub authorization: Option<String>,
    /// The body parsed as JSON (`Null` when empty or not JSON).
    pub body: Value,
}

impl Logged {
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query.get(key).map(String::as_str)
    }

    /// A list or watch of the ConfigMaps of kube-system.
    pub fn is_config_map_read(&self) -> bool {
        self.method == "GET" && self.path == CONFIG_MAPS
    }

    pub fn is_watch(&self) -> bool {
        matches!(self.param("watch"), Some("true" | "1"))
    }

    /// `spec.token` of a posted TokenReview.
    pub fn reviewed_token(&self) -> Option<&str> {
        (self.method == "POST" && self.path == TOKEN_REVIEWS)
            .then(|| self.body["spec"]["token"].as_str())
            .flatten()
    }
}

impl std::fmt::Display for Logged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        if !self.raw_query.is_empty() {
            write!(f, "?{}", self.raw_query)?;
        }
        Ok(())
    }
}

/// How to start a [`FakeHost`].
#[derive(Debug, Default)]
pub struct FakeHostBuilder {
    data: BTreeMap<String, String>,
    users: BTreeMap<String, Value>,
    list_delay: Duration,
}

impl FakeHostBuilder {
    /// The `data` of the ConfigMap served first.
    pub fn config_map(mut self, data: BTreeMap<String, String>) -> Self {
        self.data = data;
        self
    }

    /// TokenReviews of `token` answer `authenticated: true` with `user`
    /// (`{"username", "uid", "groups", "extra"}`); other tokens are not authenticated.
    pub fn user(mut self, token: &str, user: Value) -> Self {
        self.users.insert(token.to_owned(), user);
        self
    }

    /// Lists of the ConfigMap are answered only after `delay` (a slow host).
    pub fn list_delay(mut self, delay: Duration) -> Self {
        self.list_delay = delay;
        self
    }

    pub fn start(self) -> FakeHost {
        crate::support::install_crypto();
        let ca = Ca::generate("fake-host-ca").expect("the fake host's CA");
        let serving = ca
            .issue_serving(&["127.0.0.1".to_owned()])
            .expect("the fake host's serving certificate");
        let chain = certs::certificates_from_pem(serving.cert_pem.as_bytes()).expect("a chain");
        let key = certs::private_key_from_pem(serving.key_pem.as_bytes()).expect("a key");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("a TLS server configuration");
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];

        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the fake host");
        let addr = listener.local_addr().expect("its address");
        let dir = tempfile::tempdir().expect("a temp dir for the fake host");
        let kubeconfig = write_kubeconfig(dir.path(), addr, ca.cert_pem());
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                revision: FIRST_REVISION,
                data: self.data,
                watchers: Vec::new(),
            }),
            users: self.users,
            list_delay: self.list_delay,
            log: Mutex::new(Vec::new()),
            stopped: AtomicBool::new(false),
        });
        let accepting = shared.clone();
        let tls = Arc::new(tls);
        std::thread::spawn(move || {
            for tcp in listener.incoming() {
                if accepting.stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(tcp) = tcp else { continue };
                let (tls, shared) = (tls.clone(), accepting.clone());
                std::thread::spawn(move || {
                    // A connection ends when fleet-apiserver closes it or exits.
                    let _ = serve_connection(tcp, tls, &shared);
                });
            }
        });
        FakeHost {
            addr,
            kubeconfig,
            shared,
            _dir: dir,
        }
    }
}

/// The running fake host; stops accepting and ends its watches when dropped.
#[derive(Debug)]
pub struct FakeHost {
    addr: SocketAddr,
    kubeconfig: PathBuf,
    shared: Arc<Shared>,
    _dir: tempfile::TempDir,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    users: BTreeMap<String, Value>,
    list_delay: Duration,
    log: Mutex<Vec<Logged>>,
    stopped: AtomicBool,
}

/// The ConfigMap and the watches following it, changed together so that no watch misses a
/// publish.
#[derive(Debug)]
struct State {
    revision: u64,
    data: BTreeMap<String, String>,
    watchers: Vec<Sender<String>>,
}

impl State {
    fn config_map(&self) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": NAME,
                "namespace": NAMESPACE,
                "uid": "6f1c1d5e-0000-4000-8000-000000000001",
                "resourceVersion": self.revision.to_string(),
                "creationTimestamp": "2025-01-01T00:00:00Z",
            },
            "data": self.data,
        })
    }

    fn event(&self, kind: &str) -> String {
        let mut line = json!({"type": kind, "object": self.config_map()}).to_string();
        line.push('\n');
        line
    }
}

impl FakeHost {
    pub fn builder() -> FakeHostBuilder {
        FakeHostBuilder::default()
    }

    /// A kubeconfig naming the fake host, its CA and [`HOST_TOKEN`].
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// Replaces the ConfigMap's data, bumps its resourceVersion and sends `MODIFIED` to every
    /// open watch. Returns how many watches it was sent to.
    pub fn publish(&self, data: BTreeMap<String, String>) -> usize {
        let mut state = self.shared.lock_state();
        state.revision += 1;
        state.data = data;
        let event = state.event("MODIFIED");
        state.watchers.retain(|w| w.send(event.clone()).is_ok());
        state.watchers.len()
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Logged> {
        self.shared
            .log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// How many TokenReviews of `token` were posted.
    pub fn reviews_of(&self, token: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.reviewed_token() == Some(token))
            .count()
    }

    /// How many watches are being served: a watch counts until its thread ends (its
    /// `timeoutSeconds`, a failed write, or the host stopping).
    pub fn open_watches(&self) -> usize {
        let mut state = self.shared.lock_state();
        // An empty string is a probe the watch threads skip, never an event.
        state.watchers.retain(|w| w.send(String::new()).is_ok());
        state.watchers.len()
    }

    /// Waits until a watch of the ConfigMap is open; panics with the log after `within`.
    pub fn wait_for_watch(&self, within: Duration) {
        let deadline = Instant::now() + within;
        while self.open_watches() == 0 {
            if Instant::now() > deadline {
                panic!(
                    "no watch of {NAMESPACE}/{NAME} within {within:?}; requests:\n{}",
                    self.describe_requests()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The log, one request a line, for failure messages.
    pub fn describe_requests(&self) -> String {
        let lines: Vec<String> = self.requests().iter().map(|r| format!("  {r}")).collect();
        lines.join("\n")
    }
}

impl Drop for FakeHost {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

impl Shared {
    fn lock_state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

type Tls = BufReader<StreamOwned<ServerConnection, TcpStream>>;

/// Serves the requests of one kept-alive connection until it closes or turns into a watch.
fn serve_connection(tcp: TcpStream, config: Arc<ServerConfig>, shared: &Shared) -> io::Result<()> {
    tcp.set_nodelay(true)?;
    let connection = ServerConnection::new(config).map_err(io::Error::other)?;
    let mut tls: Tls = BufReader::new(StreamOwned::new(connection, tcp));
    while let Some(head) = http1::read_head(&mut tls)? {
        let body = http1::read_body(&mut tls, &head, Unframed::Empty)?;
        let request = parse(&head, &body)?;
        shared
            .log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(request.clone());
        match answer(&request, shared) {
            Answer::Json(status, value) => respond(tls.get_mut(), status, &value)?,
            Answer::Watch(events) => {
                let timeout = request
                    .param("timeoutSeconds")
                    .and_then(|s| s.parse().ok())
                    .map(Duration::from_secs);
                return stream_watch(tls.get_mut(), events, timeout, shared);
            }
        }
    }
    Ok(())
}

enum Answer {
    Json(u16, Value),
    Watch(Receiver<String>),
}

fn answer(request: &Logged, shared: &Shared) -> Answer {
    if request.authorization.as_deref() != Some(&format!("Bearer {HOST_TOKEN}")) {
        return Answer::Json(401, status(401, "Unauthorized", "Unauthorized"));
    }
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", CONFIG_MAPS) => {
            let selected = request.param("fieldSelector").unwrap_or_default();
            let wanted = format!("metadata.name={NAME}");
            if request.is_watch() {
                let (sender, events) = mpsc::channel();
                let mut state = shared.lock_state();
                // A watch from an older version first gets the change it missed.
                let from: u64 = request
                    .param("resourceVersion")
                    .and_then(|rv| rv.parse().ok())
                    .unwrap_or(0);
                if from < state.revision && selected == wanted {
                    let _ = sender.send(state.event("MODIFIED"));
                }
                if selected == wanted {
                    state.watchers.push(sender);
                }
                return Answer::Watch(events);
            }
            std::thread::sleep(shared.list_delay);
            let state = shared.lock_state();
            let items = if selected == wanted {
                vec![state.config_map()]
            } else {
                Vec::new()
            };
            Answer::Json(
                200,
                json!({
                    "kind": "ConfigMapList",
                    "apiVersion": "v1",
                    "metadata": {"resourceVersion": state.revision.to_string()},
                    "items": items,
                }),
            )
        }
        ("POST", TOKEN_REVIEWS) => Answer::Json(201, token_review(request, shared)),
        _ => Answer::Json(
            404,
            status(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ),
        ),
    }
}

/// The answered TokenReview: the known user, or `authenticated: false`.
fn token_review(request: &Logged, shared: &Shared) -> Value {
    let token = request.reviewed_token().unwrap_or_default();
    let status = match shared.users.get(token) {
        Some(user) => json!({"authenticated": true, "user": user, "audiences": []}),
        None => json!({"user": {}, "error": "invalid bearer token"}),
    };
    json!({
        "kind": "TokenReview",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"creationTimestamp": null},
        "spec": request.body["spec"],
        "status": status,
    })
}

fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code,
    })
}

fn respond(writer: &mut impl Write, code: u16, value: &Value) -> io::Result<()> {
    let body = value.to_string();
    write!(
        writer,
        "HTTP/1.1 {code} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        reason_phrase(code),
        body.len()
    )?;
    writer.flush()
}

/// Writes events as they are published until the watch's `timeoutSeconds` pass (then the
/// last chunk), the connection breaks, or the fake host stops.
fn stream_watch(
    writer: &mut impl Write,
    events: Receiver<String>,
    timeout: Option<Duration>,
    shared: &Shared,
) -> io::Result<()> {
    write!(
        writer,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )?;
    writer.flush()?;
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        if shared.stopped.load(Ordering::SeqCst) {
            return Ok(());
        }
        if deadline.is_some_and(|d| Instant::now() > d) {
            return http1::write_chunk(writer, b"");
        }
        match events.recv_timeout(POLL) {
            // Sent only to find closed watches.
            Ok(line) if line.is_empty() => {}
            Ok(line) => http1::write_chunk(writer, line.as_bytes())?,
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return http1::write_chunk(writer, b""),
        }
    }
}

fn reason_phrase(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        401 => "Unauthorized",
        _ => "Not Found",
    }
}

fn parse(head: &Head, body: &[u8]) -> io::Result<Logged> {
    let mut parts = head.start.split(' ');
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(io::Error::other(format!(
            "not a request line: {:?}",
            head.start
        )));
    };
    let (path, raw_query) = target.split_once('?').unwrap_or((target, ""));
    let query = raw_query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    Ok(Logged {
        method: method.to_owned(),
        path: path.to_owned(),
        raw_query: raw_query.to_owned(),
        query,
        authorization: head.header("authorization").map(str::to_owned),
        body: serde_json::from_slice(body).unwrap_or(Value::Null),
    })
}

/// Decodes a form-urlencoded component (`+` is a space).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match text
                .get(i + 1..i + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            {
                Some(b) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                None => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A kubeconfig (JSON is YAML) with the server URL, the CA file and the bearer token.
fn write_kubeconfig(dir: &Path, addr: SocketAddr, ca_pem: &str) -> PathBuf {
    let ca = dir.join("host-ca.crt");
    std::fs::write(&ca, ca_pem).expect("writing the fake host's CA");
    let kubeconfig = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "host", "cluster": {
            "server": format!("https://{addr}"),
            "certificate-authority": ca,
        }}],
        "users": [{"name": "fleet-apiserver", "user": {"token": HOST_TOKEN}}],
        "contexts": [{"name": "host", "context": {"cluster": "host", "user": "fleet-apiserver"}}],
        "current-context": "host",
    });
    let path = dir.join("host.kubeconfig");
    std::fs::write(&path, kubeconfig.to_string()).expect("writing the host kubeconfig");
    path
}
