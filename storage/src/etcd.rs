//! The etcd backend: the store contract on etcd v3 (3.4 and later) through `etcd-client`.
//!
//! Writes are single transactions comparing `create_revision` / `mod_revision`, as
//! kube-apiserver's `storage/etcd3/store.go` does. Reads are retried on transient failures;
//! writes never are. Watches resume transparently after a broken connection from the next
//! revision, and report `Compacted` when that revision is gone.
//!
//! etcd 3.4 sends watch progress notifications only every 10 minutes unless it runs with
//! `--experimental-watch-progress-notify-interval` (set it to a few seconds in production),
//! and its `--max-request-bytes` must leave room above [`crate::MAX_VALUE_BYTES`] (2 MiB is
//! enough).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use etcd_client::{
    Certificate, Client, Compare, CompareOp, ConnectOptions, DeleteOptions, EventType, GetOptions,
    Identity, KvClient, TlsOptions, Txn, TxnOp, TxnOpResponse, WatchClient, WatchOptions,
};
use tokio::sync::mpsc;

use crate::error::{check_size, Error, Result};
use crate::store::{
    directory, Deleted, KeyValue, ListOptions, ListResult, Revision, Store, WatchEvent, WatchStream,
};

/// How to reach etcd.
#[derive(Debug, Clone)]
pub struct EtcdOptions {
    /// Client URLs, e.g. `https://10.0.0.1:2379`; requests are balanced over them.
    pub endpoints: Vec<String>,
    /// TLS settings for `https` endpoints.
    pub tls: Option<EtcdTls>,
    /// The limit on each unary request, from sending to the answer.
    pub request_timeout: Duration,
    /// The limit on establishing a connection.
    pub dial_timeout: Duration,
    /// How often a read is tried again after a transient failure.
    pub read_retries: u32,
    /// The largest gRPC message accepted (large lists need more than gRPC's 4 MiB default).
    pub max_message_bytes: usize,
    /// How often a broken watch is re-established before its stream reports `Unavailable`.
    pub watch_retries: u32,
}

impl EtcdOptions {
    /// Options for the given endpoints with default limits.
    pub fn new(endpoints: impl IntoIterator<Item = impl Into<String>>) -> Self {
        EtcdOptions {
            endpoints: endpoints.into_iter().map(Into::into).collect(),
            tls: None,
            request_timeout: Duration::from_secs(10),
            dial_timeout: Duration::from_secs(5),
            read_retries: 3,
            max_message_bytes: 256 * 1024 * 1024,
            watch_retries: 5,
        }
    }
}

/// TLS material for etcd, as PEM.
#[derive(Clone, Default)]
pub struct EtcdTls {
    /// The CA that signed etcd's serving certificates.
    pub ca_pem: Option<Vec<u8>>,
    /// The client certificate and key, for etcd's `--client-cert-auth`.
    pub client_pem: Option<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for EtcdTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdTls")
            .field("ca", &self.ca_pem.is_some())
            .field("client_certificate", &self.client_pem.is_some())
            .finish()
    }
}

impl EtcdTls {
    /// Loads the files named by `--etcd-cafile`, `--etcd-certfile` and `--etcd-keyfile`.
    pub fn from_files(ca: Option<&Path>, cert: Option<&Path>, key: Option<&Path>) -> Result<Self> {
        let read = |p: &Path| {
            std::fs::read(p).map_err(|e| Error::other(format!("reading {}", p.display()), e))
        };
        let client_pem = match (cert, key) {
            (Some(cert), Some(key)) => Some((read(cert)?, read(key)?)),
            (None, None) => None,
            _ => {
                return Err(Error::corrupt(
                    "an etcd client certificate needs both a certificate and a key file",
                ))
            }
        };
        Ok(EtcdTls {
            ca_pem: ca.map(read).transpose()?,
            client_pem,
        })
    }
}

/// A store on an etcd cluster.
#[derive(Clone)]
pub struct EtcdStore {
    kv: KvClient,
    watch: WatchClient,
    options: EtcdOptions,
    /// The endpoint prober, stopped when the last clone of the store is dropped.
    _prober: Option<Arc<AbortOnDrop>>,
}

/// Aborts a background task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl std::fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdStore")
            .field("endpoints", &self.options.endpoints)
            .finish()
    }
}

impl EtcdStore {
    /// Sets up a client for `options.endpoints`. Connections are made lazily, so this succeeds
    /// while etcd is down; requests then fail with `Unavailable` until it is up.
    pub async fn connect(options: EtcdOptions) -> Result<Self> {
        let mut connect = ConnectOptions::new()
            .with_connect_timeout(options.dial_timeout)
            .with_keep_alive(Duration::from_secs(30), Duration::from_secs(10))
            .with_require_leader(true);
        if let Some(tls) = &options.tls {
            let mut config = TlsOptions::new();
            if let Some(ca) = &tls.ca_pem {
                config = config.ca_certificate(Certificate::from_pem(ca));
            }
            if let Some((cert, key)) = &tls.client_pem {
                config = config.identity(Identity::from_pem(cert, key));
            }
            connect = connect.with_tls(config);
        }
        let client = Client::connect(&options.endpoints, Some(connect))
            .await
            .map_err(|e| Error::other("configuring the etcd client", e))?;
        let prober = if options.endpoints.len() > 1 {
            let mut prober = EndpointProber::new(client.clone(), options.endpoints.clone());
            prober.probe().await;
            Some(Arc::new(AbortOnDrop(tokio::spawn(prober.run()))))
        } else {
            None
        };
        Ok(EtcdStore {
            _prober: prober,
            kv: client
                .kv_client()
                .max_decoding_message_size(options.max_message_bytes)
                .max_encoding_message_size(options.max_message_bytes),
            watch: client
                .watch_client()
                .max_decoding_message_size(options.max_message_bytes),
            options,
        })
    }

    /// Runs one unary call under the request timeout.
    async fn call<T, F>(&self, what: &str, f: F) -> Result<T>
    where
        F: std::future::Future<Output = Result<T, etcd_client::Error>>,
    {
        match tokio::time::timeout(self.options.request_timeout, f).await {
            Ok(result) => result.map_err(map_error),
            Err(elapsed) => Err(Error::unavailable(
                format!("etcd {what} timed out"),
                elapsed,
            )),
        }
    }

    /// Runs a read, retrying transient failures with backoff.
    async fn read<T, F, Fut>(&self, what: &str, mut f: F) -> Result<T>
    where
        F: FnMut(KvClient) -> Fut,
        Fut: std::future::Future<Output = Result<T, etcd_client::Error>>,
    {
        let mut attempt = 0;
        loop {
            match self.call(what, f(self.kv.clone())).await {
                Err(e) if e.is_transient() && attempt < self.options.read_retries => {
                    attempt += 1;
                    tracing::debug!(error = %e, attempt, "retrying etcd {what}");
                    tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
                }
                result => return result,
            }
        }
    }

    /// Runs a write transaction. It is tried again only when the connection could not be
    /// established, so it was certainly not applied.
    async fn txn(&self, txn: Txn) -> Result<etcd_client::TxnResponse> {
        let mut attempt = 0;
        loop {
            let mut kv = self.kv.clone();
            let sent = tokio::time::timeout(self.options.request_timeout, kv.txn(txn.clone()));
            match sent.await {
                Ok(Err(e)) if never_sent(&e) && attempt < self.options.read_retries => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                }
                Ok(result) => return result.map_err(map_error),
                Err(elapsed) => {
                    return Err(Error::unavailable("etcd transaction timed out", elapsed))
                }
            }
        }
    }

    /// Fills in the revisions that etcd's "compacted" and "future revision" errors lack.
    async fn resolve(&self, error: Error, requested: Revision) -> Error {
        match error {
            Error::Compacted { .. } => match self.compacted_revision().await {
                Ok(compacted_revision) => Error::Compacted { compacted_revision },
                Err(e) => e,
            },
            Error::FutureRevision { .. } => match self.current_revision().await {
                Ok(current) => Error::FutureRevision { requested, current },
                Err(e) => e,
            },
            other => other,
        }
    }

    /// etcd reports the compacted revision only to a watch that starts before it: start one
    /// at revision 1 on a key nobody uses and read the answer. Only called after etcd said
    /// "compacted", so when the probe is not cancelled (revision 1 itself is still kept), the
    /// compacted revision is 1.
    async fn compacted_revision(&self) -> Result<Revision> {
        let mut client = self.watch.clone();
        let probe = async {
            let mut stream = client
                .watch(
                    "\0fleet-compaction-probe",
                    Some(WatchOptions::new().with_start_revision(1)),
                )
                .await?;
            // etcd syncs new watchers every 100 ms; a compacted one is cancelled then.
            let settle = Duration::from_secs(2);
            while let Ok(message) = tokio::time::timeout(settle, stream.message()).await {
                let Some(resp) = message? else { break };
                if resp.compact_revision() > 0 {
                    return Ok(resp.compact_revision());
                }
                if resp.canceled() || !resp.events().is_empty() {
                    break;
                }
            }
            Ok(1)
        };
        self.call("compaction probe", probe).await
    }
}

/// Whether a request failed before it left: the connection could not be established.
fn never_sent(error: &etcd_client::Error) -> bool {
    match error {
        etcd_client::Error::GRpcStatus(status) => {
            status.code() == tonic::Code::Unavailable && status.message().contains("connect error")
        }
        _ => false,
    }
}

/// Keeps the client's balancer on reachable endpoints: tonic's balancer would otherwise keep
/// sending requests to an endpoint that refuses connections (etcd's Go client has a health
/// balancer for this). The last reachable endpoint is never removed.
struct EndpointProber {
    client: Client,
    endpoints: Vec<String>,
    in_balancer: Vec<bool>,
}

impl EndpointProber {
    const INTERVAL: Duration = Duration::from_secs(2);
    const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

    fn new(client: Client, endpoints: Vec<String>) -> Self {
        let in_balancer = vec![true; endpoints.len()];
        EndpointProber {
            client,
            endpoints,
            in_balancer,
        }
    }

    async fn run(mut self) {
        loop {
            tokio::time::sleep(Self::INTERVAL).await;
            self.probe().await;
        }
    }

    async fn probe(&mut self) {
        let probes = self.endpoints.iter().map(|e| reachable(e));
        let up = futures::future::join_all(probes).await;
        if !up.iter().any(|u| *u) {
            return; // Keep what we have: every request fails as Unavailable anyway.
        }
        for (i, endpoint) in self.endpoints.iter().enumerate() {
            if up[i] == self.in_balancer[i] {
                continue;
            }
            let changed = if up[i] {
                self.client.add_endpoint(endpoint).await
            } else {
                self.client.remove_endpoint(endpoint).await
            };
            match changed {
                Ok(()) => {
                    tracing::info!(endpoint, reachable = up[i], "etcd endpoint changed");
                    self.in_balancer[i] = up[i];
                }
                Err(e) => tracing::warn!(endpoint, error = %e, "updating etcd endpoints failed"),
            }
        }
    }
}

/// Whether a TCP connection to the endpoint's host and port succeeds.
async fn reachable(endpoint: &str) -> bool {
    let authority = endpoint
        .split("://")
        .nth(1)
        .unwrap_or(endpoint)
        .split('/')
        .next()
        .unwrap_or_default();
    let connect = tokio::net::TcpStream::connect(authority);
    matches!(
        tokio::time::timeout(EndpointProber::CONNECT_TIMEOUT, connect).await,
        Ok(Ok(_))
    )
}

/// Turns an etcd client error into a store error. etcd's "compacted" and "future revision"
/// errors carry no numbers; [`EtcdStore::resolve`] fills them in.
fn map_error(error: etcd_client::Error) -> Error {
    use etcd_client::Error as E;
    use tonic::Code;
    match error {
        E::GRpcStatus(status) => {
            let message = status.message();
            if message.contains("required revision has been compacted") {
                Error::Compacted {
                    compacted_revision: 0,
                }
            } else if message.contains("required revision is a future revision") {
                Error::FutureRevision {
                    requested: 0,
                    current: 0,
                }
            } else if message.contains("request is too large") {
                Error::TooLarge {
                    size: 0,
                    limit: crate::MAX_VALUE_BYTES,
                }
            } else if (status.code() == Code::Unknown && message.contains("transport error"))
                || matches!(
                    status.code(),
                    Code::Unavailable
                        | Code::DeadlineExceeded
                        | Code::Cancelled
                        | Code::ResourceExhausted
                        | Code::Aborted
                )
                || message.contains("no leader")
                || message.contains("leader changed")
            {
                Error::unavailable("etcd", status)
            } else {
                Error::other("etcd", status)
            }
        }
        e @ (E::TransportError(_) | E::IoError(_)) => Error::unavailable("etcd connection", e),
        e => Error::other("etcd client", e),
    }
}

/// The end (exclusive) of the key range of a directory prefix ending in `/`.
fn prefix_end(prefix: &str) -> String {
    format!("{}0", &prefix[..prefix.len() - 1])
}

fn key_value(kv: &etcd_client::KeyValue) -> Result<KeyValue> {
    Ok(KeyValue {
        key: kv
            .key_str()
            .map_err(|e| Error::other("etcd key is not UTF-8", e))?
            .to_owned(),
        value: Bytes::copy_from_slice(kv.value()),
        create_revision: kv.create_revision(),
        mod_revision: kv.mod_revision(),
    })
}

/// Like [`key_value`], taking over etcd-client's buffers instead of copying them.
fn owned_key_value(kv: etcd_client::KeyValue) -> Result<KeyValue> {
    let (create_revision, mod_revision) = (kv.create_revision(), kv.mod_revision());
    let (key, value) = kv.into_key_value();
    Ok(KeyValue {
        key: String::from_utf8(key).map_err(|e| Error::other("etcd key is not UTF-8", e))?,
        value: Bytes::from(value),
        create_revision,
        mod_revision,
    })
}

fn header_revision(header: Option<&etcd_client::ResponseHeader>) -> Result<Revision> {
    header
        .map(|h| h.revision())
        .ok_or_else(|| Error::corrupt("etcd response without header"))
}

/// The value a failed compare-and-swap found: the `get` in the transaction's else branch.
fn found(key: &str, responses: Vec<TxnOpResponse>) -> Result<KeyValue> {
    for response in responses {
        if let TxnOpResponse::Get(get) = response {
            return match get.kvs().first() {
                Some(kv) => key_value(kv),
                None => Err(Error::NotFound { key: key.into() }),
            };
        }
    }
    Err(Error::corrupt("etcd transaction answered without its get"))
}

#[async_trait]
impl Store for EtcdStore {
    async fn get(&self, key: &str) -> Result<KeyValue> {
        let resp = self
            .read("get", |mut kv| async move { kv.get(key, None).await })
            .await?;
        match resp.kvs().first() {
            Some(kv) => key_value(kv),
            None => Err(Error::NotFound { key: key.into() }),
        }
    }

    async fn list(&self, prefix: &str, options: ListOptions) -> Result<ListResult> {
        let prefix = directory(prefix);
        let end = prefix_end(&prefix);
        let start = match &options.start_after {
            // The first key after `after` is `after` followed by a zero byte.
            Some(after) if after.as_str() >= prefix.as_str() => format!("{after}\0"),
            _ => prefix.clone(),
        };
        let requested = options.revision.filter(|r| *r > 0);
        let limit = options.limit.unwrap_or(0) as i64;
        let result = self
            .read("list", |mut kv| {
                let mut get = GetOptions::new().with_range(end.as_str()).with_limit(limit);
                if let Some(revision) = requested {
                    get = get.with_revision(revision);
                }
                let start = start.clone();
                async move { kv.get(start, Some(get)).await }
            })
            .await;
        let mut resp = match result {
            Ok(resp) => resp,
            Err(e) => return Err(self.resolve(e, requested.unwrap_or(0)).await),
        };
        let revision = match requested {
            Some(revision) => revision,
            None => header_revision(resp.header())?,
        };
        let count = resp.count() as u64;
        let items = resp
            .take_kvs()
            .into_iter()
            .map(owned_key_value)
            .collect::<Result<Vec<_>>>()?;
        let remaining = count.saturating_sub(items.len() as u64);
        Ok(ListResult {
            items,
            revision,
            remaining,
        })
    }

    async fn count(&self, prefix: &str) -> Result<u64> {
        let prefix = directory(prefix);
        let end = prefix_end(&prefix);
        let resp = self
            .read("count", |mut kv| {
                let get = GetOptions::new().with_range(end.as_str()).with_count_only();
                let prefix = prefix.clone();
                async move { kv.get(prefix, Some(get)).await }
            })
            .await?;
        Ok(resp.count() as u64)
    }

    async fn current_revision(&self) -> Result<Revision> {
        let resp = self
            .read("revision", |mut kv| async move {
                kv.get("\0", Some(GetOptions::new().with_count_only()))
                    .await
            })
            .await?;
        header_revision(resp.header())
    }

    async fn create(&self, key: &str, value: Bytes) -> Result<Revision> {
        check_size(&value)?;
        let txn = Txn::new()
            .when([Compare::create_revision(key, CompareOp::Equal, 0)])
            .and_then([TxnOp::put(key, value.to_vec(), None)]);
        let resp = self.txn(txn).await?;
        if !resp.succeeded() {
            return Err(Error::AlreadyExists { key: key.into() });
        }
        header_revision(resp.header())
    }

    async fn update(&self, key: &str, value: Bytes, expected: Revision) -> Result<Revision> {
        check_size(&value)?;
        let txn = Txn::new()
            .when([
                Compare::create_revision(key, CompareOp::Greater, 0),
                Compare::mod_revision(key, CompareOp::Equal, expected),
            ])
            .and_then([TxnOp::put(key, value.to_vec(), None)])
            .or_else([TxnOp::get(key, None)]);
        let resp = self.txn(txn).await?;
        if resp.succeeded() {
            return header_revision(resp.header());
        }
        let current = found(key, resp.op_responses())?;
        Err(Error::Conflict {
            key: key.into(),
            expected,
            current: Box::new(current),
        })
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<Deleted> {
        let mut compares = vec![Compare::create_revision(key, CompareOp::Greater, 0)];
        if let Some(expected) = expected {
            compares.push(Compare::mod_revision(key, CompareOp::Equal, expected));
        }
        let txn = Txn::new()
            .when(compares)
            .and_then([TxnOp::delete(
                key,
                Some(DeleteOptions::new().with_prev_key()),
            )])
            .or_else([TxnOp::get(key, None)]);
        let resp = self.txn(txn).await?;
        if !resp.succeeded() {
            let current = found(key, resp.op_responses())?;
            return Err(Error::Conflict {
                key: key.into(),
                expected: expected.unwrap_or(0),
                current: Box::new(current),
            });
        }
        let revision = header_revision(resp.header())?;
        for response in resp.op_responses() {
            if let TxnOpResponse::Delete(deleted) = response {
                if let Some(prev) = deleted.prev_kvs().first() {
                    return Ok(Deleted {
                        revision,
                        prev: key_value(prev)?,
                    });
                }
            }
        }
        Err(Error::corrupt(
            "etcd delete answered without the previous value",
        ))
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream> {
        let (tx, mut rx) = mpsc::channel(128);
        let watcher = Watcher {
            store: self.clone(),
            prefix: directory(prefix),
            next: after + 1,
            tx,
        };
        tokio::spawn(watcher.run());
        Ok(Box::pin(futures::stream::poll_fn(move |cx| {
            rx.poll_recv(cx)
        })))
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        let mut kv = self.kv.clone();
        match self.call("compact", kv.compact(revision, None)).await {
            Ok(_) => Ok(()),
            Err(e) => Err(self.resolve(e, revision).await),
        }
    }
}

/// One watch: a task that keeps an etcd watch open from `next` and forwards its events.
struct Watcher {
    store: EtcdStore,
    prefix: String,
    next: Revision,
    tx: mpsc::Sender<Result<WatchEvent>>,
}

/// How one etcd watch stream ended.
enum Ended {
    /// The consumer went away, or a final error was sent: stop.
    Stop,
    /// The connection broke: watch again from `next`.
    Broken(Error),
}

impl Watcher {
    async fn run(mut self) {
        let mut failures = 0;
        loop {
            let delivered = self.next;
            let error = match self.stream().await {
                Ended::Stop => return,
                Ended::Broken(error) => error,
            };
            if self.next > delivered {
                failures = 0;
            }
            failures += 1;
            if failures > self.store.options.watch_retries {
                let _ = self.tx.send(Err(error)).await;
                return;
            }
            tracing::debug!(error = %error, prefix = %self.prefix, next = self.next, "re-establishing etcd watch");
            tokio::time::sleep(Duration::from_millis(100 << failures.min(6))).await;
        }
    }

    async fn stream(&mut self) -> Ended {
        let options = WatchOptions::new()
            .with_range(prefix_end(&self.prefix))
            .with_start_revision(self.next)
            .with_prev_key()
            .with_progress_notify();
        let mut client = self.store.watch.clone();
        let opened = tokio::select! {
            opened = client.watch(self.prefix.as_str(), Some(options)) => opened,
            () = self.tx.closed() => return Ended::Stop,
        };
        let mut stream = match opened {
            Ok(stream) => stream,
            Err(e) => return Ended::Broken(map_error(e)),
        };
        loop {
            let message = tokio::select! {
                message = stream.message() => message,
                () = self.tx.closed() => return Ended::Stop,
            };
            let resp = match message {
                Ok(Some(resp)) => resp,
                Ok(None) => {
                    return Ended::Broken(Error::Unavailable {
                        message: "etcd closed the watch stream".into(),
                        source: None,
                    })
                }
                Err(e) => return Ended::Broken(map_error(e)),
            };
            if let Err(stop) = self.forward(&resp).await {
                return stop;
            }
        }
    }

    /// Forwards one watch response: events, a progress notification, or the end.
    async fn forward(&mut self, resp: &etcd_client::WatchResponse) -> Result<(), Ended> {
        if resp.compact_revision() > 0 {
            let compacted = Error::Compacted {
                compacted_revision: resp.compact_revision(),
            };
            return Err(self.fail(compacted).await);
        }
        if resp.canceled() {
            let reason = format!("etcd cancelled the watch: {}", resp.cancel_reason());
            return Err(self.fail(Error::corrupt(reason)).await);
        }
        if resp.events().is_empty() {
            if resp.created() {
                return Ok(());
            }
            // A progress notification: nothing under the prefix changed up to the header.
            let revision = resp.header().map(|h| h.revision()).unwrap_or(self.next - 1);
            return self.send(Ok(WatchEvent::Progress { revision })).await;
        }
        for event in resp.events() {
            let converted = convert(event);
            if let Ok(converted) = &converted {
                self.next = converted.revision() + 1;
            }
            let failed = converted.is_err();
            self.send(converted).await?;
            if failed {
                return Err(Ended::Stop);
            }
        }
        Ok(())
    }

    async fn fail(&mut self, error: Error) -> Ended {
        let _ = self.tx.send(Err(error)).await;
        Ended::Stop
    }

    async fn send(&mut self, item: Result<WatchEvent>) -> Result<(), Ended> {
        self.tx.send(item).await.map_err(|_| Ended::Stop)
    }
}

/// Converts one etcd event. A delete without its previous value (compacted away before etcd
/// could attach it) cannot be reported faithfully, so it is an error, as in kube-apiserver's
/// `storage/etcd3/event.go`.
fn convert(event: &etcd_client::Event) -> Result<WatchEvent> {
    let kv = event
        .kv()
        .ok_or_else(|| Error::corrupt("etcd watch event without a key"))?;
    let prev = event.prev_kv().map(key_value).transpose()?;
    match event.event_type() {
        EventType::Put => Ok(WatchEvent::Put {
            kv: key_value(kv)?,
            prev,
        }),
        EventType::Delete => {
            let deleted = key_value(kv)?;
            let prev = prev.ok_or_else(|| {
                Error::corrupt(format!(
                    "etcd delete event for {:?} at revision {} has no previous value",
                    deleted.key, deleted.mod_revision
                ))
            })?;
            Ok(WatchEvent::Delete {
                key: deleted.key,
                revision: deleted.mod_revision,
                prev,
            })
        }
    }
}
