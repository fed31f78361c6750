//! Benchmark comparing the embedded store, the etcd backend and raw etcd-client calls on one real etcd.

use std::error::Error;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use etcd_client::{
    Client, Compare, CompareOp, EventType, GetOptions, KvClient, Txn, TxnOp, WatchClient,
    WatchOptions,
};
use futures::StreamExt;
use storage::testing::{etcd_binary, EtcdServer};
use storage::{
    EmbeddedOptions, EmbeddedStore, EtcdOptions, EtcdStore, ListOptions, Store, WatchEvent,
    WatchStream,
};

type BenchResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// Sequential puts and gets at `BENCH_SCALE=1`.
const OPS: f64 = 2000.0;
/// Keys in the listed prefix at `BENCH_SCALE=1`.
const LIST_KEYS: f64 = 10_000.0;
/// Events delivered to the watcher at `BENCH_SCALE=1`.
const WATCH_EVENTS: f64 = 2000.0;
/// How often the full prefix is listed.
const LIST_ROUNDS: usize = 5;
/// Concurrent writers filling the listed prefix.
const POPULATE_WRITERS: usize = 32;
/// Concurrent writers feeding the watcher.
const WATCH_WRITERS: usize = 16;
/// The size of every value.
const VALUE_BYTES: usize = 1024;
/// The largest gRPC message the raw client accepts (a 10k-key list is ~11 MB).
const MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;
/// How long a watch may take to deliver all its events before the run fails.
const WATCH_TIMEOUT: Duration = Duration::from_secs(120);
/// Pause after opening a watch so that it is established before the clock starts.
const WATCH_SETTLE: Duration = Duration::from_millis(200);
/// Cell width of the printed table.
const CELL: usize = 22;

fn main() -> BenchResult<()> {
    let sizes = Sizes::from_env()?;
    let Some(etcd) = EtcdServer::start() else {
        eprintln!("etcd is not installed: nothing to benchmark");
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let rows = runtime.block_on(run(&sizes, etcd.client_url(), dir.path()))?;
    drop(runtime);
    print_report(&sizes, &rows);
    Ok(())
}

/// The workload sizes: the base sizes times `BENCH_SCALE` (default 1.0; `BENCH_SCALE=0.2` for a
/// quick run of `cargo bench -p storage --bench backends`).
struct Sizes {
    scale: f64,
    ops: usize,
    list_keys: usize,
    watch_events: usize,
}

impl Sizes {
    fn from_env() -> BenchResult<Self> {
        let scale = match std::env::var("BENCH_SCALE") {
            Ok(text) => text
                .parse::<f64>()
                .map_err(|e| format!("BENCH_SCALE={text:?} is not a number: {e}"))?,
            // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary
            // without it, and then a tiny run checks that the benchmark still works.
            Err(_) if std::env::args().any(|a| a == "--bench") => 1.0,
            Err(_) => 0.02,
        };
        if !(scale > 0.0 && scale.is_finite()) {
            return Err(format!("BENCH_SCALE must be positive, got {scale}").into());
        }
        let scaled = |base: f64| ((base * scale).round() as usize).max(1);
        Ok(Sizes {
            scale,
            ops: scaled(OPS),
            list_keys: scaled(LIST_KEYS),
            watch_events: scaled(WATCH_EVENTS),
        })
    }
}

/// A throughput and the time figure printed beside it (mean latency, time per list, …).
#[derive(Debug, Clone, Copy)]
struct Figure {
    per_sec: f64,
    ms: f64,
}

impl Figure {
    /// `count` operations done one after another in `elapsed`.
    fn sequential(count: usize, elapsed: Duration) -> Self {
        let secs = elapsed.as_secs_f64();
        Figure {
            per_sec: count as f64 / secs,
            ms: secs * 1000.0 / count as f64,
        }
    }

    /// `count` items handled in `elapsed` in total.
    fn total(count: usize, elapsed: Duration) -> Self {
        let secs = elapsed.as_secs_f64();
        Figure {
            per_sec: count as f64 / secs,
            ms: secs * 1000.0,
        }
    }
}

/// One line of the table: a workload measured on every column.
struct Row {
    name: &'static str,
    legend: String,
    figures: Vec<Figure>,
}

/// One column of the table.
struct Column {
    name: &'static str,
    slug: &'static str,
    backend: Backend,
}

impl Column {
    /// The key prefix of `workload` in this column, so that columns never share keys.
    fn prefix(&self, workload: &str) -> String {
        format!("/bench/{}/{workload}/", self.slug)
    }
}

/// What a column talks to: a `Store`, or etcd through etcd-client directly.
#[derive(Clone)]
enum Backend {
    Store(Arc<dyn Store>),
    Raw(Arc<RawEtcd>),
}

/// Plain etcd-client handles, doing what the etcd backend does without its layer.
struct RawEtcd {
    kv: KvClient,
    watch: WatchClient,
}

impl Backend {
    /// Creates `key`; fails when it exists.
    async fn create(&self, key: &str, value: Bytes) -> BenchResult<()> {
        match self {
            Backend::Store(store) => {
                store.create(key, value).await?;
            }
            Backend::Raw(raw) => {
                let txn = Txn::new()
                    .when([Compare::create_revision(key, CompareOp::Equal, 0)])
                    .and_then([TxnOp::put(key, value.to_vec(), None)]);
                if !raw.kv.clone().txn(txn).await?.succeeded() {
                    return Err(format!("{key} already exists").into());
                }
            }
        }
        Ok(())
    }

    /// Reads `key`; fails when it does not exist.
    async fn get(&self, key: &str) -> BenchResult<()> {
        match self {
            Backend::Store(store) => {
                store.get(key).await?;
            }
            Backend::Raw(raw) => {
                if raw.kv.clone().get(key, None).await?.kvs().is_empty() {
                    return Err(format!("{key} not found").into());
                }
            }
        }
        Ok(())
    }

    /// Lists the whole prefix in one request; returns how many keys it held.
    async fn list(&self, prefix: &str) -> BenchResult<usize> {
        match self {
            Backend::Store(store) => Ok(store
                .list(prefix, ListOptions::default())
                .await?
                .items
                .len()),
            Backend::Raw(raw) => {
                let options = GetOptions::new().with_prefix();
                Ok(raw.kv.clone().get(prefix, Some(options)).await?.kvs().len())
            }
        }
    }

    /// Watches the prefix from now on, with previous values.
    async fn watch(&self, prefix: &str) -> BenchResult<Watch> {
        match self {
            Backend::Store(store) => {
                let now = store.current_revision().await?;
                Ok(Watch::Store(store.watch(prefix, now).await?))
            }
            Backend::Raw(raw) => {
                let options = WatchOptions::new().with_prefix().with_prev_key();
                let mut stream = raw.watch.clone().watch(prefix, Some(options)).await?;
                match stream.message().await? {
                    Some(resp) if resp.created() => Ok(Watch::Raw(Box::new(stream))),
                    other => Err(format!("etcd did not create the watch: {other:?}").into()),
                }
            }
        }
    }
}

/// An open watch of either kind.
enum Watch {
    Store(WatchStream),
    Raw(Box<etcd_client::WatchStream>),
}

impl Watch {
    /// Waits for the next message and returns how many put events it carried.
    async fn next_puts(&mut self) -> BenchResult<usize> {
        match self {
            Watch::Store(stream) => match stream.next().await {
                Some(Ok(WatchEvent::Put { .. })) => Ok(1),
                Some(Ok(_)) => Ok(0),
                Some(Err(e)) => Err(e.into()),
                None => Err("the watch stream ended".into()),
            },
            Watch::Raw(stream) => {
                let resp = stream.message().await?.ok_or("the etcd watch ended")?;
                if resp.canceled() {
                    return Err(
                        format!("etcd cancelled the watch: {}", resp.cancel_reason()).into(),
                    );
                }
                let puts = resp.events().iter();
                Ok(puts
                    .filter(|e| matches!(e.event_type(), EventType::Put))
                    .count())
            }
        }
    }
}

/// Starts the three columns: embedded store in `dir`, etcd backend and raw client on `url`.
async fn columns(url: &str, dir: &Path) -> BenchResult<Vec<Column>> {
    let embedded = EmbeddedStore::open(dir, EmbeddedOptions::default())?;
    let backend = EtcdStore::connect(EtcdOptions::new([url])).await?;
    let client = Client::connect([url], None).await?;
    let raw = RawEtcd {
        kv: client
            .kv_client()
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES),
        watch: client
            .watch_client()
            .max_decoding_message_size(MAX_MESSAGE_BYTES),
    };
    let column = |name, slug, backend| Column {
        name,
        slug,
        backend,
    };
    Ok(vec![
        column("embedded", "embedded", Backend::Store(Arc::new(embedded))),
        column(
            "etcd backend",
            "etcd-backend",
            Backend::Store(Arc::new(backend)),
        ),
        column("raw etcd-client", "raw", Backend::Raw(Arc::new(raw))),
    ])
}

/// Runs every workload on every column, workload by workload.
async fn run(sizes: &Sizes, url: &str, dir: &Path) -> BenchResult<Vec<Row>> {
    let columns = columns(url, dir).await?;
    for column in &columns {
        warm_up(column).await?;
    }
    let (ops, list_keys, events) = (sizes.ops, sizes.list_keys, sizes.watch_events);
    let put = measure(&columns, "put", |c| bench_put(c, ops)).await?;
    let get = measure(&columns, "get", |c| bench_get(c, ops)).await?;
    let fill = measure(&columns, "list setup", |c| bench_fill(c, list_keys)).await?;
    let list = measure(&columns, "list", |c| bench_list(c, list_keys)).await?;
    let watch = measure(&columns, "watch", |c| bench_watch(c, events)).await?;
    let row = |name, legend, figures| Row {
        name,
        legend,
        figures,
    };
    Ok(vec![
        row(
            "put",
            format!("{ops} sequential creates of 1 KiB values: ops/s (mean latency)"),
            put,
        ),
        row(
            "get",
            format!("{ops} sequential gets of those keys: ops/s (mean latency)"),
            get,
        ),
        row(
            "list setup",
            format!("{list_keys} creates by {POPULATE_WRITERS} concurrent writers: ops/s (total)"),
            fill,
        ),
        row(
            "list",
            format!("full list of {list_keys} keys, {LIST_ROUNDS} times: items/s (mean per list)"),
            list,
        ),
        row(
            "watch",
            format!(
                "{events} creates by {WATCH_WRITERS} writers: events/s received \
                 (first write to last event)"
            ),
            watch,
        ),
    ])
}

/// Runs one workload on each column in turn.
async fn measure<'a, F, Fut>(
    columns: &'a [Column],
    workload: &str,
    f: F,
) -> BenchResult<Vec<Figure>>
where
    F: Fn(&'a Column) -> Fut,
    Fut: Future<Output = BenchResult<Figure>>,
{
    let mut figures = Vec::with_capacity(columns.len());
    for column in columns {
        eprintln!("running {workload} on {}", column.name);
        figures.push(f(column).await?);
    }
    Ok(figures)
}

/// A few cheap requests, so that connections exist before anything is timed.
async fn warm_up(column: &Column) -> BenchResult<()> {
    let prefix = column.prefix("warm-up");
    for _ in 0..20 {
        column.backend.list(&prefix).await?;
    }
    Ok(())
}

async fn bench_put(column: &Column, count: usize) -> BenchResult<Figure> {
    let prefix = column.prefix("put");
    let keys: Vec<String> = (0..count).map(|i| key(&prefix, i)).collect();
    let values: Vec<Bytes> = (0..count).map(value).collect();
    let start = Instant::now();
    for (key, value) in keys.iter().zip(values) {
        column.backend.create(key, value).await?;
    }
    Ok(Figure::sequential(count, start.elapsed()))
}

/// Reads back the keys `bench_put` wrote.
async fn bench_get(column: &Column, count: usize) -> BenchResult<Figure> {
    let prefix = column.prefix("put");
    let keys: Vec<String> = (0..count).map(|i| key(&prefix, i)).collect();
    let start = Instant::now();
    for key in &keys {
        column.backend.get(key).await?;
    }
    Ok(Figure::sequential(count, start.elapsed()))
}

/// Fills the prefix that `bench_list` reads.
async fn bench_fill(column: &Column, count: usize) -> BenchResult<Figure> {
    let prefix = column.prefix("list");
    let elapsed = write_concurrently(&column.backend, &prefix, count, POPULATE_WRITERS).await?;
    Ok(Figure::total(count, elapsed))
}

async fn bench_list(column: &Column, count: usize) -> BenchResult<Figure> {
    let prefix = column.prefix("list");
    let start = Instant::now();
    for _ in 0..LIST_ROUNDS {
        let listed = column.backend.list(&prefix).await?;
        if listed != count {
            return Err(format!("listed {listed} keys under {prefix}, expected {count}").into());
        }
    }
    let mean = start.elapsed() / LIST_ROUNDS as u32;
    Ok(Figure {
        per_sec: count as f64 / mean.as_secs_f64(),
        ms: mean.as_secs_f64() * 1000.0,
    })
}

async fn bench_watch(column: &Column, count: usize) -> BenchResult<Figure> {
    let prefix = column.prefix("watch");
    let mut watch = column.backend.watch(&prefix).await?;
    tokio::time::sleep(WATCH_SETTLE).await;
    let start = Instant::now();
    let writes = write_concurrently(&column.backend, &prefix, count, WATCH_WRITERS);
    let received = receive(&mut watch, count, start);
    let (_, elapsed) = futures::future::try_join(writes, received).await?;
    Ok(Figure::total(count, elapsed))
}

/// Reads the watch until `count` puts arrived; returns the time since `start`.
async fn receive(watch: &mut Watch, count: usize, start: Instant) -> BenchResult<Duration> {
    let deadline = tokio::time::Instant::from_std(start + WATCH_TIMEOUT);
    let mut seen = 0;
    while seen < count {
        seen += tokio::time::timeout_at(deadline, watch.next_puts())
            .await
            .map_err(|_| format!("only {seen} of {count} events within {WATCH_TIMEOUT:?}"))??;
    }
    Ok(start.elapsed())
}

/// Creates keys `0..count` under `prefix` from `writers` tasks; returns the time it took.
async fn write_concurrently(
    backend: &Backend,
    prefix: &str,
    count: usize,
    writers: usize,
) -> BenchResult<Duration> {
    let start = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|writer| {
            let backend = backend.clone();
            let prefix = prefix.to_owned();
            tokio::spawn(async move {
                for i in (writer..count).step_by(writers) {
                    backend.create(&key(&prefix, i), value(i)).await?;
                }
                BenchResult::Ok(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok(start.elapsed())
}

fn key(prefix: &str, i: usize) -> String {
    format!("{prefix}{i:06}")
}

/// A JSON-like object of exactly `VALUE_BYTES` bytes.
fn value(i: usize) -> Bytes {
    let mut text = format!(
        r#"{{"apiVersion":"fleet.k0rdent.io/v1alpha1","kind":"ClusterDeployment","metadata":{{"name":"bench-{i:06}","namespace":"bench","uid":"{i:032x}"}},"spec":{{"template":"aws-standalone-cp-0-1-0","config":""#
    );
    let tail = r#""}}"#;
    let filler = VALUE_BYTES.saturating_sub(text.len() + tail.len());
    text.extend(
        "abcdefghijklmnopqrstuvwxyz0123456789"
            .chars()
            .cycle()
            .take(filler),
    );
    text.push_str(tail);
    Bytes::from(text)
}

fn print_report(sizes: &Sizes, rows: &[Row]) {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!();
    println!("storage backends benchmark (BENCH_SCALE={})", sizes.scale);
    println!("etcd: {}", etcd_version());
    println!("cores: {cores}");
    println!();
    println!("Cells: throughput (time in parentheses, see the legend).");
    println!("Ratios are throughput ratios against raw etcd-client: higher is better, 1.00 = as fast as raw.");
    println!();
    print_table(rows);
    println!();
    for row in rows {
        println!("{:<12}{}", format!("{}:", row.name), row.legend);
    }
}

fn print_table(rows: &[Row]) {
    println!(
        "{:<12}{:>CELL$}{:>CELL$}{:>CELL$}{:>20}{:>16}",
        "workload",
        "embedded",
        "etcd backend",
        "raw etcd-client",
        "etcd backend ÷ raw",
        "embedded ÷ raw"
    );
    for row in rows {
        let [embedded, backend, raw] = [0, 1, 2].map(|i| row.figures[i]);
        println!(
            "{:<12}{:>CELL$}{:>CELL$}{:>CELL$}{:>20.2}{:>16.2}",
            row.name,
            cell(embedded),
            cell(backend),
            cell(raw),
            backend.per_sec / raw.per_sec,
            embedded.per_sec / raw.per_sec,
        );
    }
}

fn cell(figure: Figure) -> String {
    format!("{:.0}/s ({})", figure.per_sec, milliseconds(figure.ms))
}

fn milliseconds(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// The first line of `etcd --version`.
fn etcd_version() -> String {
    let Some(binary) = etcd_binary() else {
        return "not installed".into();
    };
    match std::process::Command::new(&binary)
        .arg("--version")
        .output()
    {
        Ok(output) => String::from_utf8_lossy(&output.stdout)
            .lines()
            .next()
            .unwrap_or("(no output)")
            .to_owned(),
        Err(e) => format!("{} --version failed: {e}", binary.display()),
    }
}
