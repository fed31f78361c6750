//! kube-runtime's `watcher` and `reflector` with the classic initial list (list, then watch
//! from the list's resourceVersion, relist on 410) against `fleet-apiserver up`, on the
//! embedded store and on etcd: every change arrives in order; the watcher recovers when the
//! server is killed and started again on the same port and data; a watch from a compacted
//! revision gets a 410 and the watcher relists; a reflector store equals a fresh list after a
//! burst of 1,000 writes. (`kube_runtime.rs` covers streaming lists.)

#[macro_use]
mod support;
mod support_list_watch;

use std::collections::BTreeMap;
use std::time::Duration;

use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::reflector::{self, store::Writer, Store};
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use kube::ResourceExt;
use serde_json::json;
use support::{Backend, TestServer, GROUP, VERSION};
use support_list_watch::{
    create_in, current_revision, delete_in, get_ok, items, patch_in, relabel, retemplate, revision,
    wait_until_compacted, with_query, Up,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How long one expected watcher event may take (backoff included).
const EVENT_WAIT: Duration = Duration::from_secs(20);

fn clusterdeployments() -> ApiResource {
    let gvk = GroupVersionKind::gvk(GROUP, VERSION, "ClusterDeployment");
    ApiResource::from_gvk_with_plural(&gvk, "clusterdeployments")
}

fn api(client: &kube::Client) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), "default", &clusterdeployments())
}

/// A watcher event reduced to what the tests compare: names and resourceVersions.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Init,
    InitApply(String, String),
    InitDone,
    Apply(String, String),
    Delete(String, String),
    /// An error the watcher reported (and recovers from); the Status code of ERROR events.
    Error(Option<u16>, String),
}

fn seen(item: watcher::Result<Event<DynamicObject>>) -> Seen {
    let id = |o: &DynamicObject| (o.name_any(), o.resource_version().unwrap_or_default());
    match item {
        Ok(Event::Init) => Seen::Init,
        Ok(Event::InitApply(o)) => Seen::InitApply(id(&o).0, id(&o).1),
        Ok(Event::InitDone) => Seen::InitDone,
        Ok(Event::Apply(o)) => Seen::Apply(id(&o).0, id(&o).1),
        Ok(Event::Delete(o)) => Seen::Delete(id(&o).0, id(&o).1),
        Err(watcher::Error::WatchError(status)) => Seen::Error(Some(status.code), status.message),
        Err(e) => Seen::Error(None, e.to_string()),
    }
}

/// A watcher stream polled by a task, its events forwarded to the test.
struct Driven {
    events: mpsc::UnboundedReceiver<Seen>,
    task: JoinHandle<()>,
}

impl Drop for Driven {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Polls `stream` in a task. The tests have no `futures`: `Stream::poll_next` is reached as
/// the supertrait of kube's `WatchStreamExt`.
fn drive<S>(stream: S) -> Driven
where
    S: WatchStreamExt<Item = watcher::Result<Event<DynamicObject>>> + Send + 'static,
{
    let (sender, events) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        let mut stream = Box::pin(stream);
        while let Some(item) = std::future::poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
            if sender.send(seen(item)).is_err() {
                return;
            }
        }
    });
    Driven { events, task }
}

impl Driven {
    async fn next(&mut self) -> Seen {
        match tokio::time::timeout(EVENT_WAIT, self.events.recv()).await {
            Ok(Some(seen)) => seen,
            Ok(None) => panic!("the watcher stream ended"),
            Err(_) => panic!("no watcher event within {EVENT_WAIT:?}"),
        }
    }

    /// Events up to and including the first one `done` accepts.
    async fn until(&mut self, done: impl Fn(&Seen) -> bool) -> Vec<Seen> {
        let mut all = Vec::new();
        loop {
            let next = self.next().await;
            let stop = done(&next);
            all.push(next);
            if stop {
                return all;
            }
        }
    }
}

/// `name -> resourceVersion` of every ClusterDeployment in `default`, listed now.
async fn fresh_list(client: &kube::Client) -> BTreeMap<String, String> {
    let list = get_ok(client, &with_query(Some("default"), "")).await;
    items(&list)
        .iter()
        .map(|o| {
            let meta = &o["metadata"];
            let name = meta["name"].as_str().expect("name").to_owned();
            (
                name,
                meta["resourceVersion"].as_str().expect("rv").to_owned(),
            )
        })
        .collect()
}

fn snapshot(store: &Store<DynamicObject>) -> BTreeMap<String, String> {
    store
        .state()
        .iter()
        .map(|o| (o.name_any(), o.resource_version().unwrap_or_default()))
        .collect()
}

/// A reflector over a classic watcher of `default` with `config`, driven by a task.
fn reflect(client: &kube::Client, config: watcher::Config) -> (Store<DynamicObject>, Driven) {
    let writer = Writer::new(clusterdeployments());
    let store = writer.as_reader();
    let stream = reflector::reflector(writer, watcher::watcher(api(client), config));
    (store, drive(stream.default_backoff()))
}

/// Waits until the store holds exactly what a fresh list returns.
async fn wait_until_store_matches_a_fresh_list(
    store: &Store<DynamicObject>,
    client: &kube::Client,
) {
    let expected = fresh_list(client).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let cached = snapshot(store);
        if cached == expected {
            return;
        }
        if Instant::now() > deadline {
            let differing: Vec<_> = expected
                .iter()
                .filter(|(k, v)| cached.get(*k) != Some(v))
                .collect();
            let extra: Vec<_> = cached
                .keys()
                .filter(|k| !expected.contains_key(*k))
                .collect();
            panic!(
                "the store never matched a fresh list: differing {differing:?}, extra {extra:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn rv(object: &serde_json::Value) -> String {
    revision(object).to_string()
}

async fn a_list_then_watch_watcher_sees_every_change_in_order(backend: Backend) {
    let Some(server) = TestServer::start(backend) else {
        return;
    };
    let client = server.client().await;
    let a = create_in(&client, "default", "a", &[]).await;
    let b = create_in(&client, "default", "b", &[]).await;
    let mut watch = drive(watcher::watcher(api(&client), watcher::Config::default()));
    let initial = watch.until(|s| *s == Seen::InitDone).await;
    assert_eq!(
        initial,
        [
            Seen::Init,
            Seen::InitApply("a".into(), rv(&a)),
            Seen::InitApply("b".into(), rv(&b)),
            Seen::InitDone,
        ]
    );

    let mut expected = Vec::new();
    let c = create_in(&client, "default", "c", &[]).await;
    expected.push(Seen::Apply("c".into(), rv(&c)));
    let a2 = retemplate(&client, "default", "a", "t2").await;
    expected.push(Seen::Apply("a".into(), rv(&a2)));
    let b2 = relabel(&client, "default", "b", "env", Some("prod")).await;
    expected.push(Seen::Apply("b".into(), rv(&b2)));
    create_in(&client, "other", "elsewhere", &[]).await;
    delete_in(&client, "default", "c").await;
    let deletion = current_revision(&client).await;
    expected.push(Seen::Delete("c".into(), deletion.to_string()));
    let d = create_in(&client, "default", "d", &[]).await;
    expected.push(Seen::Apply("d".into(), rv(&d)));

    let mut changes = Vec::new();
    for _ in 0..expected.len() {
        changes.push(watch.next().await);
    }
    assert_eq!(changes, expected);
}

async fn a_watcher_recovers_across_a_server_restart_on_the_same_port_and_data(backend: Backend) {
    let Some(mut server) = Up::builder(backend).fixed_port().start() else {
        return;
    };
    let client = server.client().await;
    create_in(&client, "default", "a", &[]).await;
    let (store, mut watch) = reflect(&client, watcher::Config::default());
    watch.until(|s| *s == Seen::InitDone).await;
    assert_eq!(snapshot(&store).keys().collect::<Vec<_>>(), ["a"]);

    server.kill();
    let broken = watch.until(|s| matches!(s, Seen::Error(..))).await;
    assert!(
        matches!(broken.last(), Some(Seen::Error(None, _))),
        "the watcher notices the dead server: {broken:?}"
    );
    server.restart();
    let client = server.client().await;
    let b = create_in(&client, "default", "b", &[]).await;
    let a2 = retemplate(&client, "default", "a", "after-restart").await;
    let after = watch
        .until(|s| *s == Seen::Apply("a".into(), rv(&a2)))
        .await;
    assert!(
        after.contains(&Seen::Apply("b".into(), rv(&b)))
            || after.contains(&Seen::InitApply("b".into(), rv(&b))),
        "b, created after the restart, is seen: {after:?}"
    );
    wait_until_store_matches_a_fresh_list(&store, &client).await;
}

async fn a_watcher_relists_after_a_410_when_its_revision_is_compacted(backend: Backend) {
    let Some(server) = Up::builder(backend).compaction_interval("2s").start() else {
        return;
    };
    let client = server.client().await;
    create_in(&client, "default", "a", &[]).await;
    let listed_at = current_revision(&client).await;
    // Watches end every 2 s and are resumed from the last resourceVersion; without bookmarks
    // that stays the list's while every write goes to another namespace.
    let config = watcher::Config::default().timeout(2).disable_bookmarks();
    let (store, mut watch) = reflect(&client, config);
    watch.until(|s| *s == Seen::InitDone).await;
    wait_until_compacted(&client, listed_at).await;

    let deadline = Instant::now() + Duration::from_secs(40);
    let mut seen = Vec::new();
    let mut writes = 0;
    while !seen.iter().any(|s| matches!(s, Seen::Error(Some(410), _))) {
        assert!(Instant::now() < deadline, "no 410 within 40 s: {seen:?}");
        writes += 1;
        patch_in(
            &client,
            "filler",
            "compaction-filler",
            json!({"spec": {"n": writes}}),
        )
        .await;
        if let Ok(Some(next)) =
            tokio::time::timeout(Duration::from_millis(300), watch.events.recv()).await
        {
            seen.push(next);
        }
    }
    let expired = seen.last().expect("the 410");
    let Seen::Error(_, message) = expired else {
        unreachable!()
    };
    assert!(
        message.starts_with("too old resource version"),
        "{expired:?}"
    );

    let relist = watch.until(|s| *s == Seen::InitDone).await;
    assert_eq!(
        relist.first(),
        Some(&Seen::Init),
        "a relist follows the 410: {relist:?}"
    );
    let b = create_in(&client, "default", "b", &[]).await;
    watch.until(|s| *s == Seen::Apply("b".into(), rv(&b))).await;
    wait_until_store_matches_a_fresh_list(&store, &client).await;
}

/// How many writes the burst makes, and how many run at once.
const BURST: usize = 1000;
const CONCURRENT_WRITES: usize = 16;

/// The i-th write of the burst: 500 creates, 300 label changes, 200 deletes.
async fn burst_write(client: kube::Client, i: usize) {
    match i {
        0..500 => {
            create_in(&client, "default", &format!("w-{i:03}"), &[]).await;
        }
        500..800 => {
            let name = format!("w-{:03}", i - 500);
            relabel(&client, "default", &name, "step", Some(&i.to_string())).await;
        }
        _ => delete_in(&client, "default", &format!("w-{:03}", i - 800 + 250)).await,
    }
}

async fn a_reflector_store_equals_a_fresh_list_after_a_burst_of_1000_writes(backend: Backend) {
    let Some(server) = TestServer::start(backend) else {
        return;
    };
    let client = server.client().await;
    create_in(&client, "default", "before", &[]).await;
    let (store, mut watch) = reflect(&client, watcher::Config::default());
    watch.until(|s| *s == Seen::InitDone).await;

    let mut next = 0;
    while next < BURST {
        let mut batch = tokio::task::JoinSet::new();
        let end = (next + CONCURRENT_WRITES).min(BURST);
        for i in next..end {
            batch.spawn(burst_write(client.clone(), i));
        }
        while let Some(done) = batch.join_next().await {
            done.expect("a write");
        }
        next = end;
    }
    let mut events = Vec::with_capacity(BURST);
    for _ in 0..BURST {
        events.push(watch.next().await);
    }
    let trouble: Vec<_> = events
        .iter()
        .filter(|s| !matches!(s, Seen::Apply(..) | Seen::Delete(..)))
        .collect();
    assert!(
        trouble.is_empty(),
        "one watch carried the burst, one event per write: {trouble:?}"
    );
    assert_eq!(fresh_list(&client).await.len(), 1 + 500 - 200);
    wait_until_store_matches_a_fresh_list(&store, &client).await;
}

on_both_backends!(
    a_list_then_watch_watcher_sees_every_change_in_order,
    a_watcher_recovers_across_a_server_restart_on_the_same_port_and_data,
    a_watcher_relists_after_a_410_when_its_revision_is_compacted,
    a_reflector_store_equals_a_fresh_list_after_a_burst_of_1000_writes,
);
