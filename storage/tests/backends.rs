//! Behaviour particular to one backend: etcd connections (TLS, several endpoints, restarts)
//! and the embedded store's bounded watch buffering; and the compactor over both.

mod support;

use std::time::Duration;

use futures::StreamExt;
use storage::testing::EtcdServer;
use storage::{
    Compactor, EmbeddedOptions, EmbeddedStore, Error, EtcdOptions, EtcdStore, EtcdTls, ListOptions,
    Store, WatchEvent,
};
use support::{changes_until, connect_etcd, next_change, val, Backend, Fixture};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_watch_resumes_after_etcd_restart_without_losing_events() {
    let Some(mut f) = Fixture::new(Backend::Etcd).await else {
        return;
    };
    let start = f.store.current_revision().await.unwrap();
    let mut watch = f.store.watch("/r", start).await.unwrap();
    let before = f.store.create("/r/before", val("1")).await.unwrap();
    assert_eq!(next_change(&mut watch).await.unwrap().revision(), before);
    f.restart().await;
    // Writes made through another client while our watch is reconnecting.
    let other = connect_etcd(f.etcd().unwrap()).await;
    let mut revisions = Vec::new();
    for i in 0..5 {
        let rev = create_retrying(&other, &format!("/r/after{i}")).await;
        revisions.push(rev);
    }
    let seen: Vec<_> = changes_until(&mut watch, *revisions.last().unwrap())
        .await
        .iter()
        .map(WatchEvent::revision)
        .collect();
    assert_eq!(seen, revisions);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_with_tls_and_client_certificate_serves_every_operation() {
    let Some(etcd) = EtcdServer::start_tls() else {
        return;
    };
    assert!(etcd.client_url().starts_with("https://"));
    let files = etcd.tls().unwrap();
    let mut options = EtcdOptions::new([etcd.client_url()]);
    options.tls = Some(
        EtcdTls::from_files(
            Some(&files.ca),
            Some(&files.client_cert),
            Some(&files.client_key),
        )
        .unwrap(),
    );
    let store = EtcdStore::connect(options).await.unwrap();
    let rev = store.create("/tls/a", val("secret")).await.unwrap();
    let mut watch = store.watch("/tls", rev).await.unwrap();
    store.update("/tls/a", val("changed"), rev).await.unwrap();
    assert!(matches!(
        next_change(&mut watch).await.unwrap(),
        WatchEvent::Put { kv, .. } if kv.value == val("changed")
    ));

    // Without a client certificate etcd refuses the connection.
    let mut anonymous = EtcdOptions::new([etcd.client_url()]);
    anonymous.request_timeout = Duration::from_secs(2);
    anonymous.read_retries = 0;
    anonymous.tls = Some(EtcdTls::from_files(Some(&files.ca), None, None).unwrap());
    let refused = EtcdStore::connect(anonymous).await.unwrap();
    let err = refused.get("/tls/a").await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_requests_reach_the_live_endpoint_when_another_is_down() {
    let Some(etcd) = EtcdServer::start() else {
        return;
    };
    // A port nobody listens on, first in the list.
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let store = EtcdStore::connect(EtcdOptions::new([dead, etcd.client_url().to_owned()]))
        .await
        .unwrap();
    for i in 0..10 {
        let rev = store
            .create(&format!("/multi/k{i}"), val("v"))
            .await
            .unwrap();
        assert_eq!(
            store
                .get(&format!("/multi/k{i}"))
                .await
                .unwrap()
                .mod_revision,
            rev
        );
    }
    assert_eq!(store.count("/multi").await.unwrap(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_unreachable_is_unavailable_not_a_hang() {
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let mut options = EtcdOptions::new([dead]);
    options.request_timeout = Duration::from_secs(1);
    options.dial_timeout = Duration::from_millis(500);
    options.read_retries = 1;
    let store = EtcdStore::connect(options).await.unwrap();
    let started = std::time::Instant::now();
    let err = store.get("/x").await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert!(matches!(
        store.create("/x", val("v")).await,
        Err(Error::Unavailable { .. })
    ));
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_watcher_that_falls_behind_compaction_gets_compacted_then_ends() {
    let dir = tempfile::tempdir().unwrap();
    let options = EmbeddedOptions {
        progress_interval: Duration::from_secs(60),
        event_buffer: 16,
        ..EmbeddedOptions::default()
    };
    let store = EmbeddedStore::open(dir.path(), options).unwrap();
    let start = store.current_revision().await.unwrap();
    let mut watch = store.watch("/lag", start).await.unwrap();
    // Far more events than the live buffer and the stream buffer hold, never read...
    for i in 0..1000 {
        store
            .create(&format!("/lag/k{i:04}"), val("v"))
            .await
            .unwrap();
    }
    // ...until history is gone.
    let current = store.current_revision().await.unwrap();
    store.compact(current).await.unwrap();
    let mut delivered = Vec::new();
    let error = loop {
        let item = tokio::time::timeout(Duration::from_secs(10), watch.next())
            .await
            .expect("an item within 10 s")
            .expect("the stream reports an error before it ends");
        match item {
            Ok(event) => delivered.push(event.revision()),
            Err(e) => break e,
        }
    };
    assert!(
        matches!(error, Error::Compacted { compacted_revision } if compacted_revision == current),
        "{error:?}"
    );
    // What was delivered is a gap-free prefix of the history, far from all of it.
    let expected: Vec<_> = (start + 1..start + 1 + delivered.len() as i64).collect();
    assert_eq!(delivered, expected);
    assert!(
        delivered.len() < 1000,
        "{} events were buffered",
        delivered.len()
    );
    assert!(
        watch.next().await.is_none(),
        "the stream ends after the error"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compactor_keeps_a_window_of_history() {
    for backend in [Backend::Embedded, Backend::Etcd] {
        let Some(f) = Fixture::new(backend).await else {
            continue;
        };
        let first = f.store.create("/c/a", val("1")).await.unwrap();
        let _compactor = Compactor::start(f.store.clone(), Duration::from_millis(300));
        let mut last = first;
        // Keep writing; within a few windows the first revision must be compacted away,
        // while the recent past stays readable.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            last = f.store.update("/c/a", val("x"), last).await.unwrap();
            let old = f.store.list("/c", ListOptions::at(first)).await;
            if matches!(old, Err(Error::Compacted { .. })) {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{backend:?}: no compaction"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        f.store.list("/c", ListOptions::at(last)).await.unwrap();
    }
}

/// Creates `key` through `store`, retrying while etcd is still coming back. A create that
/// timed out may have been applied, so an `AlreadyExists` after a failure is success.
async fn create_retrying(store: &EtcdStore, key: &str) -> i64 {
    let mut failed = false;
    for _ in 0..100 {
        match store.create(key, val("1")).await {
            Ok(rev) => return rev,
            Err(Error::AlreadyExists { .. }) if failed => {
                return store.get(key).await.unwrap().mod_revision
            }
            Err(e) if e.is_transient() => {
                failed = true;
                tokio::time::sleep(Duration::from_millis(200)).await
            }
            Err(e) => panic!("{e}"),
        }
    }
    panic!("etcd did not come back");
}
