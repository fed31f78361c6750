//! kube-rs' runtime against `fleet-apiserver up`, on the embedded store and on etcd: a
//! `watcher` with streaming lists (watch-list: the initial-events-end bookmark becomes
//! `InitDone`), `metadata_watcher` and `Api<PartialObjectMeta<_>>` watchers seeing
//! PartialObjectMetadata, and a `reflector` store that equals a fresh list after a burst of
//! writes.

#[macro_use]
mod support;
mod support_everyday;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::pin::Pin;
use std::time::Duration;

use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{self, store::Writer};
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use kube::ResourceExt;
use serde_json::json;
use support::{cld, create, Backend, Raw, TestServer, DEFAULT_CLDS, GROUP, VERSION};
use support_everyday::{cld_with, merge_patch, object_path};

/// How long one expected event may take.
const EVENT_TIMEOUT: Duration = Duration::from_secs(15);

/// ClusterDeployment as kube-rs' dynamic API names it.
fn clusterdeployments() -> ApiResource {
    let gvk = GroupVersionKind::gvk(GROUP, VERSION, "ClusterDeployment");
    ApiResource::from_gvk_with_plural(&gvk, "clusterdeployments")
}

async fn start(backend: Backend) -> Option<(TestServer, kube::Client)> {
    let server = TestServer::start(backend)?;
    let client = server.client().await;
    Some((server, client))
}

/// The next item of a stream. The tests have no `futures`: `Stream` is reached as the
/// supertrait of kube's `WatchStreamExt`, which every stream implements.
async fn next<S: WatchStreamExt + Unpin>(stream: &mut S) -> Option<S::Item> {
    std::future::poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await
}

/// The next watcher event, failing the test on an error, the end, or a timeout.
async fn next_event<S, K>(stream: &mut S, what: &str) -> Event<K>
where
    S: WatchStreamExt<Item = watcher::Result<Event<K>>> + Unpin,
    K: Debug,
{
    match tokio::time::timeout(EVENT_TIMEOUT, next(stream)).await {
        Err(_) => panic!("no event within {EVENT_TIMEOUT:?} while waiting for {what}"),
        Ok(None) => panic!("the watcher ended while waiting for {what}"),
        Ok(Some(Err(e))) => panic!("the watcher failed while waiting for {what}: {e}"),
        Ok(Some(Ok(event))) => event,
    }
}

/// Reads `Init`, one `InitApply` per object, and `InitDone`; returns the initial objects.
async fn initial_objects<S, K>(stream: &mut S) -> Vec<K>
where
    S: WatchStreamExt<Item = watcher::Result<Event<K>>> + Unpin,
    K: Debug,
{
    let first = next_event(stream, "Init").await;
    assert!(matches!(first, Event::Init), "{first:?}");
    let mut objects = Vec::new();
    loop {
        match next_event(stream, "InitApply or InitDone").await {
            Event::InitApply(object) => objects.push(object),
            Event::InitDone => return objects,
            other => panic!("during the initial events: {other:?}"),
        }
    }
}

fn sorted_names<K: ResourceExt>(objects: &[K]) -> Vec<String> {
    let mut names: Vec<String> = objects.iter().map(|o| o.name_any()).collect();
    names.sort();
    names
}

async fn a_streaming_watcher_gets_init_every_object_init_done_then_live_changes(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    for name in ["a", "b", "c"] {
        create(&client, &cld(name, "t1")).await;
    }
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), "default", &clusterdeployments());
    let config = watcher::Config::default().streaming_lists();
    let mut stream = Box::pin(watcher::watcher(api, config));

    // InitDone of a streaming list comes only from the bookmark annotated
    // k8s.io/initial-events-end: without it this would time out.
    let initial = initial_objects(&mut stream).await;
    assert_eq!(sorted_names(&initial), ["a", "b", "c"]);
    for object in &initial {
        assert_eq!(object.data["spec"]["template"], "t1", "{object:?}");
    }

    create(&client, &cld("d", "t1")).await;
    match next_event(&mut stream, "Apply of the new object").await {
        Event::Apply(object) => assert_eq!(object.name_any(), "d"),
        other => panic!("expected Apply(d): {other:?}"),
    }
    merge_patch(
        &client,
        &object_path("a"),
        &json!({"spec": {"template": "t2"}}),
    )
    .await;
    match next_event(&mut stream, "Apply of the patch").await {
        Event::Apply(object) => {
            assert_eq!(object.name_any(), "a");
            assert_eq!(object.data["spec"]["template"], "t2");
        }
        other => panic!("expected Apply(a): {other:?}"),
    }
    let deleted = Raw::delete(&object_path("b")).send(&client).await;
    assert_eq!(deleted.status, 200, "{}", deleted.text());
    match next_event(&mut stream, "Delete").await {
        Event::Delete(object) => assert_eq!(object.name_any(), "b"),
        other => panic!("expected Delete(b): {other:?}"),
    }
}

/// Checks the initial and live events of a metadata-only watcher.
async fn check_metadata_stream<S>(client: &kube::Client, stream: &mut S, round: &str)
where
    S: WatchStreamExt<Item = watcher::Result<Event<PartialObjectMeta<DynamicObject>>>> + Unpin,
{
    let initial = initial_objects(stream).await;
    let mut seen: Vec<(String, BTreeMap<String, String>)> = initial
        .iter()
        .map(|o| (o.name_any(), o.labels().clone()))
        .collect();
    seen.sort();
    assert_eq!(seen[0].0, "a", "{round}: {seen:?}");
    assert_eq!(seen[0].1.get("env").map(String::as_str), Some("prod"));
    assert_eq!(seen[1].0, "b", "{round}: {seen:?}");
    for object in &initial {
        let types = object.types.as_ref().expect("the type of each object");
        assert_eq!(types.api_version, "meta.k8s.io/v1", "{round}: {object:?}");
        assert_eq!(types.kind, "PartialObjectMetadata", "{round}: {object:?}");
        assert!(object.metadata.uid.is_some(), "{round}: {object:?}");
    }

    let label = format!("{round}-label");
    merge_patch(
        client,
        &object_path("a"),
        &json!({"metadata": {"labels": {"round": label}}}),
    )
    .await;
    match next_event(stream, "Apply of the label").await {
        Event::Apply(object) => {
            assert_eq!(object.name_any(), "a");
            assert_eq!(object.labels().get("round"), Some(&label), "{object:?}");
        }
        other => panic!("{round}: expected Apply(a): {other:?}"),
    }
}

#[allow(deprecated)] // The brief names metadata_watcher; Api<PartialObjectMeta<_>> is checked too.
fn deprecated_metadata_watcher(
    api: Api<DynamicObject>,
    config: watcher::Config,
) -> impl WatchStreamExt<Item = watcher::Result<Event<PartialObjectMeta<DynamicObject>>>> + Send {
    kube::runtime::metadata_watcher(api, config)
}

async fn metadata_watchers_see_partial_object_metadata_and_changes(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    let spec = json!({"template": "t1", "credential": "aws"});
    create(
        &client,
        &cld_with("a", json!({"env": "prod"}), spec.clone()),
    )
    .await;
    create(&client, &cld_with("b", json!({"env": "dev"}), spec)).await;
    let ar = clusterdeployments();
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &ar);

    let mut listing = Box::pin(deprecated_metadata_watcher(
        api.clone(),
        watcher::Config::default(),
    ));
    check_metadata_stream(&client, &mut listing, "list-then-watch").await;

    let mut streaming = Box::pin(deprecated_metadata_watcher(
        api,
        watcher::Config::default().streaming_lists(),
    ));
    check_metadata_stream(&client, &mut streaming, "streaming").await;

    let metadata_api: Api<PartialObjectMeta<DynamicObject>> =
        Api::namespaced_with(client.clone(), "default", &ar);
    let mut typed = Box::pin(watcher::watcher(
        metadata_api,
        watcher::Config::default().streaming_lists(),
    ));
    check_metadata_stream(&client, &mut typed, "partial-object-meta-api").await;

    let deleted = Raw::delete(&object_path("b")).send(&client).await;
    assert_eq!(deleted.status, 200, "{}", deleted.text());
    next_delete(&mut listing, "list-then-watch").await;
    next_delete(&mut streaming, "streaming").await;
    next_delete(&mut typed, "partial-object-meta-api").await;
}

/// Skips the label changes of later rounds up to the Delete of `b`.
async fn next_delete<S>(stream: &mut S, round: &str)
where
    S: WatchStreamExt<Item = watcher::Result<Event<PartialObjectMeta<DynamicObject>>>> + Unpin,
{
    loop {
        match next_event(stream, "Delete").await {
            Event::Delete(object) => {
                assert_eq!(object.name_any(), "b", "{round}");
                return;
            }
            Event::Apply(object) if object.name_any() == "a" => continue,
            other => panic!("{round}: expected Delete(b): {other:?}"),
        }
    }
}

/// How many writes the burst makes, and how many run at once.
const WRITES: usize = 200;
const CONCURRENT_WRITES: usize = 10;

/// The i-th write of the burst: 100 creates, then 60 label changes, then 40 deletes.
async fn write(client: kube::Client, i: usize) {
    match i {
        0..100 => {
            create(&client, &cld(&format!("w-{i:03}"), "t1")).await;
        }
        100..160 => {
            let name = format!("w-{:03}", i - 100);
            merge_patch(
                &client,
                &object_path(&name),
                &json!({"metadata": {"labels": {"step": i.to_string()}}}),
            )
            .await;
        }
        _ => {
            let name = format!("w-{:03}", i - 160 + 50);
            let reply = Raw::delete(&object_path(&name)).send(&client).await;
            assert_eq!(reply.status, 200, "deleting {name}: {}", reply.text());
        }
    }
}

/// Names and resourceVersions of every ClusterDeployment in `default`, listed now.
async fn fresh_list(client: &kube::Client) -> BTreeMap<String, String> {
    let reply = Raw::get(DEFAULT_CLDS).send(client).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|o| {
            let meta = &o["metadata"];
            (
                meta["name"].as_str().expect("name").to_owned(),
                meta["resourceVersion"].as_str().expect("rv").to_owned(),
            )
        })
        .collect()
}

fn snapshot(store: &reflector::Store<DynamicObject>) -> BTreeMap<String, String> {
    store
        .state()
        .iter()
        .map(|o| (o.name_any(), o.resource_version().unwrap_or_default()))
        .collect()
}

async fn a_reflector_store_equals_a_fresh_list_after_a_burst_of_writes(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    create(&client, &cld("before", "t1")).await;
    let ar = clusterdeployments();
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &ar);
    let writer = Writer::new(ar);
    let store = writer.as_reader();
    let stream = reflector::reflector(
        writer,
        watcher::watcher(api, watcher::Config::default().streaming_lists()),
    );
    let driver = tokio::spawn(async move {
        let mut stream = Box::pin(stream);
        while let Some(event) = next(&mut stream).await {
            if let Err(e) = event {
                eprintln!("reflector watch error (it recovers): {e}");
            }
        }
    });
    tokio::time::timeout(EVENT_TIMEOUT, store.wait_until_ready())
        .await
        .expect("the store is ready in time")
        .expect("the writer is alive");
    assert_eq!(snapshot(&store).keys().collect::<Vec<_>>(), ["before"]);

    let mut next_write = 0;
    while next_write < WRITES {
        let mut batch = tokio::task::JoinSet::new();
        let end = (next_write + CONCURRENT_WRITES).min(WRITES);
        for i in next_write..end {
            batch.spawn(write(client.clone(), i));
        }
        while let Some(done) = batch.join_next().await {
            done.expect("a write");
        }
        next_write = end;
    }

    let expected = fresh_list(&client).await;
    assert_eq!(expected.len(), 1 + 100 - 40, "{expected:?}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let cached = snapshot(&store);
        if cached == expected {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            let missing: Vec<_> = expected
                .iter()
                .filter(|(k, v)| cached.get(*k) != Some(v))
                .collect();
            let extra: Vec<_> = cached
                .keys()
                .filter(|k| !expected.contains_key(*k))
                .collect();
            panic!("the store never matched the list: differing {missing:?}, extra {extra:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    driver.abort();
}

on_both_backends!(
    a_streaming_watcher_gets_init_every_object_init_done_then_live_changes,
    metadata_watchers_see_partial_object_metadata_and_changes,
    a_reflector_store_equals_a_fresh_list_after_a_burst_of_writes,
);
