//! The one storage conformance suite: every test runs against the embedded store and against
//! a real etcd (`embedded::…` and `etcd::…`), each on a fresh store of its own.

mod support;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use storage::{Error, ListOptions, WatchEvent, MAX_VALUE_BYTES};
use support::{assert_quiet, changes_until, next_change, val, Backend, Fixture};

/// Declares each test once and instantiates it for both backends.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let fixture = super::Fixture::new(super::Backend::Embedded).await.unwrap();
                    super::$name(fixture).await;
                }
            )*
        }
        mod etcd {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(fixture) = super::Fixture::new(super::Backend::Etcd).await else {
                        return;
                    };
                    super::$name(fixture).await;
                }
            )*
        }
    };
}

conformance!(
    fresh_store_is_at_revision_one_and_each_write_adds_one,
    get_of_missing_key_is_not_found,
    create_then_get_returns_value_and_revisions,
    create_of_existing_key_is_already_exists_and_changes_nothing,
    update_at_current_revision_replaces_value_and_keeps_create_revision,
    stale_update_is_conflict_carrying_current_value,
    update_of_missing_key_is_not_found,
    delete_returns_previous_value_and_deletion_revision,
    delete_with_stale_revision_is_conflict_and_keeps_key,
    delete_of_missing_key_is_not_found,
    recreated_key_gets_new_create_revision,
    list_returns_keys_in_order_with_read_revision,
    list_prefix_does_not_match_sibling_with_longer_name,
    list_pages_with_limit_and_start_after_count_remaining,
    pages_that_skip_counting_still_say_whether_more_follows,
    paging_stays_pinned_at_first_page_revision_while_writes_continue,
    list_at_past_revision_shows_old_values_and_deleted_keys,
    list_at_future_revision_is_future_revision,
    count_counts_keys_under_prefix_only,
    watch_delivers_changes_in_order_with_previous_values,
    watch_from_past_revision_replays_history_then_follows,
    watch_from_current_revision_sees_only_new_changes,
    watch_does_not_see_sibling_prefix,
    watch_sends_progress_notifications_while_idle,
    slow_watcher_receives_every_event_in_order,
    compaction_makes_older_revisions_compacted_and_keeps_current_data,
    compaction_of_compacted_or_future_revision_is_rejected,
    watch_from_compacted_revision_fails_with_compacted_revision,
    watch_starting_exactly_at_compacted_revision_works,
    concurrent_compare_and_swap_writers_exactly_one_wins_each_round,
    value_of_exactly_the_limit_is_stored_and_one_byte_more_is_too_large,
    large_lists_are_returned_whole,
    restart_keeps_data_revisions_and_history,
);

const ROOT: &str = "/registry/test";

fn key(name: &str) -> String {
    format!("{ROOT}/{name}")
}

async fn fresh_store_is_at_revision_one_and_each_write_adds_one(f: Fixture) {
    let s = &f.store;
    assert_eq!(s.current_revision().await.unwrap(), 1);
    assert_eq!(s.create(&key("a"), val("1")).await.unwrap(), 2);
    assert_eq!(s.update(&key("a"), val("2"), 2).await.unwrap(), 3);
    // Failed writes make no revision.
    assert!(s.create(&key("a"), val("x")).await.is_err());
    assert!(s.update(&key("a"), val("x"), 2).await.is_err());
    assert_eq!(s.delete(&key("a"), None).await.unwrap().revision, 4);
    assert_eq!(s.current_revision().await.unwrap(), 4);
}

async fn get_of_missing_key_is_not_found(f: Fixture) {
    let err = f.store.get(&key("missing")).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { key: k } if k == key("missing")));
}

async fn create_then_get_returns_value_and_revisions(f: Fixture) {
    let rev = f.store.create(&key("a"), val("hello")).await.unwrap();
    let kv = f.store.get(&key("a")).await.unwrap();
    assert_eq!(kv.key, key("a"));
    assert_eq!(kv.value, val("hello"));
    assert_eq!(kv.create_revision, rev);
    assert_eq!(kv.mod_revision, rev);
}

async fn create_of_existing_key_is_already_exists_and_changes_nothing(f: Fixture) {
    let rev = f.store.create(&key("a"), val("first")).await.unwrap();
    let err = f.store.create(&key("a"), val("second")).await.unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err:?}");
    let kv = f.store.get(&key("a")).await.unwrap();
    assert_eq!((kv.value, kv.mod_revision), (val("first"), rev));
    assert_eq!(f.store.current_revision().await.unwrap(), rev);
}

async fn update_at_current_revision_replaces_value_and_keeps_create_revision(f: Fixture) {
    let created = f.store.create(&key("a"), val("1")).await.unwrap();
    let updated = f.store.update(&key("a"), val("2"), created).await.unwrap();
    assert!(updated > created);
    let kv = f.store.get(&key("a")).await.unwrap();
    assert_eq!(kv.value, val("2"));
    assert_eq!(kv.create_revision, created);
    assert_eq!(kv.mod_revision, updated);
}

async fn stale_update_is_conflict_carrying_current_value(f: Fixture) {
    let first = f.store.create(&key("a"), val("1")).await.unwrap();
    let second = f.store.update(&key("a"), val("2"), first).await.unwrap();
    let err = f
        .store
        .update(&key("a"), val("stale"), first)
        .await
        .unwrap_err();
    match err {
        Error::Conflict {
            key: k,
            expected,
            current,
        } => {
            assert_eq!((k, expected), (key("a"), first));
            assert_eq!(current.value, val("2"));
            assert_eq!(current.mod_revision, second);
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(f.store.get(&key("a")).await.unwrap().value, val("2"));
}

async fn update_of_missing_key_is_not_found(f: Fixture) {
    for expected in [0, 1, 5] {
        let err = f
            .store
            .update(&key("missing"), val("x"), expected)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }), "{expected}: {err:?}");
    }
    assert!(f.store.get(&key("missing")).await.is_err());
    assert_eq!(f.store.current_revision().await.unwrap(), 1);
}

async fn delete_returns_previous_value_and_deletion_revision(f: Fixture) {
    let rev = f.store.create(&key("a"), val("last")).await.unwrap();
    let deleted = f.store.delete(&key("a"), Some(rev)).await.unwrap();
    assert_eq!(deleted.revision, rev + 1);
    assert_eq!(deleted.prev.value, val("last"));
    assert_eq!(deleted.prev.mod_revision, rev);
    assert!(matches!(
        f.store.get(&key("a")).await,
        Err(Error::NotFound { .. })
    ));
}

async fn delete_with_stale_revision_is_conflict_and_keeps_key(f: Fixture) {
    let first = f.store.create(&key("a"), val("1")).await.unwrap();
    let second = f.store.update(&key("a"), val("2"), first).await.unwrap();
    let err = f.store.delete(&key("a"), Some(first)).await.unwrap_err();
    assert!(
        matches!(&err, Error::Conflict { current, .. } if current.mod_revision == second),
        "{err:?}"
    );
    assert_eq!(f.store.get(&key("a")).await.unwrap().value, val("2"));
}

async fn delete_of_missing_key_is_not_found(f: Fixture) {
    for expected in [None, Some(1)] {
        let err = f.store.delete(&key("missing"), expected).await.unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    }
    assert_eq!(f.store.current_revision().await.unwrap(), 1);
}

async fn recreated_key_gets_new_create_revision(f: Fixture) {
    let first = f.store.create(&key("a"), val("1")).await.unwrap();
    f.store.delete(&key("a"), None).await.unwrap();
    let again = f.store.create(&key("a"), val("2")).await.unwrap();
    let kv = f.store.get(&key("a")).await.unwrap();
    assert!(again > first);
    assert_eq!((kv.create_revision, kv.mod_revision), (again, again));
}

async fn list_returns_keys_in_order_with_read_revision(f: Fixture) {
    for name in ["c", "a", "b"] {
        f.store.create(&key(name), val(name)).await.unwrap();
    }
    let list = f.store.list(ROOT, ListOptions::default()).await.unwrap();
    let keys: Vec<_> = list.items.iter().map(|kv| kv.key.clone()).collect();
    assert_eq!(keys, [key("a"), key("b"), key("c")]);
    assert_eq!(list.revision, f.store.current_revision().await.unwrap());
    assert_eq!(list.remaining, 0);
    assert!(!list.more());
    let empty = f
        .store
        .list("/registry/nothing", ListOptions::default())
        .await
        .unwrap();
    assert!(empty.items.is_empty());
}

async fn list_prefix_does_not_match_sibling_with_longer_name(f: Fixture) {
    f.store.create("/a/b/x", val("in")).await.unwrap();
    f.store.create("/a/bc/y", val("out")).await.unwrap();
    f.store
        .create("/a/b", val("the prefix itself"))
        .await
        .unwrap();
    for prefix in ["/a/b", "/a/b/"] {
        let list = f.store.list(prefix, ListOptions::default()).await.unwrap();
        let keys: Vec<_> = list.items.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(keys, ["/a/b/x"], "prefix {prefix}");
        assert_eq!(f.store.count(prefix).await.unwrap(), 1);
    }
}

async fn list_pages_with_limit_and_start_after_count_remaining(f: Fixture) {
    for i in 0..7 {
        f.store
            .create(&key(&format!("k{i}")), val("v"))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut start_after = None;
    let mut remaining_seen = Vec::new();
    loop {
        let options = ListOptions {
            revision: None,
            start_after: start_after.clone(),
            limit: Some(3),
            skip_count: false,
        };
        let page = f.store.list(ROOT, options).await.unwrap();
        assert!(page.items.len() <= 3);
        remaining_seen.push(page.remaining);
        seen.extend(page.items.iter().map(|kv| kv.key.clone()));
        if !page.more() {
            break;
        }
        start_after = page.items.last().map(|kv| kv.key.clone());
    }
    let expected: Vec<_> = (0..7).map(|i| key(&format!("k{i}"))).collect();
    assert_eq!(seen, expected);
    assert_eq!(remaining_seen, [4, 1, 0]);
}

/// Pages read without counting what follows still say whether more follows, now and at a
/// past revision, and reach every key once.
async fn pages_that_skip_counting_still_say_whether_more_follows(f: Fixture) {
    for i in 0..7 {
        f.store
            .create(&key(&format!("k{i}")), val("v"))
            .await
            .unwrap();
    }
    let past = f.store.current_revision().await.unwrap();
    f.store.delete(&key("k5"), None).await.unwrap();
    for (revision, expected) in [(None, 6), (Some(past), 7)] {
        let mut seen = Vec::new();
        let mut start_after = None;
        loop {
            let options = ListOptions {
                revision,
                start_after: start_after.clone(),
                limit: Some(3),
                skip_count: true,
            };
            let page = f.store.list(ROOT, options).await.unwrap();
            seen.extend(page.items.iter().map(|kv| kv.key.clone()));
            if !page.more() {
                break;
            }
            assert!(page.remaining >= 1, "{revision:?}");
            start_after = page.items.last().map(|kv| kv.key.clone());
        }
        assert_eq!(seen.len(), expected, "{revision:?}: {seen:?}");
        let mut sorted = seen.clone();
        sorted.dedup();
        assert_eq!(sorted, seen, "each key once, in order");
    }
}

async fn paging_stays_pinned_at_first_page_revision_while_writes_continue(f: Fixture) {
    for i in 0..6 {
        f.store
            .create(&key(&format!("k{i}")), val("old"))
            .await
            .unwrap();
    }
    let first = f
        .store
        .list(
            ROOT,
            ListOptions {
                limit: Some(2),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // Writes go on: an update, a delete and a create in the part not yet read.
    let k3 = f.store.get(&key("k3")).await.unwrap();
    f.store
        .update(&key("k3"), val("new"), k3.mod_revision)
        .await
        .unwrap();
    f.store.delete(&key("k4"), None).await.unwrap();
    f.store.create(&key("k35"), val("new")).await.unwrap();
    let rest = f
        .store
        .list(
            ROOT,
            ListOptions {
                revision: Some(first.revision),
                start_after: first.items.last().map(|kv| kv.key.clone()),
                limit: Some(100),
                skip_count: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.revision, first.revision);
    let seen: Vec<_> = rest
        .items
        .iter()
        .map(|kv| (kv.key.clone(), kv.value.clone()))
        .collect();
    let expected: Vec<_> = (2..6)
        .map(|i| (key(&format!("k{i}")), val("old")))
        .collect();
    assert_eq!(seen, expected);
}

async fn list_at_past_revision_shows_old_values_and_deleted_keys(f: Fixture) {
    let a = f.store.create(&key("a"), val("a1")).await.unwrap();
    f.store.create(&key("b"), val("b1")).await.unwrap();
    let past = f.store.current_revision().await.unwrap();
    f.store.update(&key("a"), val("a2"), a).await.unwrap();
    f.store.delete(&key("b"), None).await.unwrap();
    f.store.create(&key("c"), val("c1")).await.unwrap();
    let then = f.store.list(ROOT, ListOptions::at(past)).await.unwrap();
    let seen: Vec<_> = then
        .items
        .iter()
        .map(|kv| (kv.key.clone(), kv.value.clone(), kv.mod_revision))
        .collect();
    assert_eq!(
        seen,
        [(key("a"), val("a1"), a), (key("b"), val("b1"), a + 1)]
    );
    let now = f.store.list(ROOT, ListOptions::default()).await.unwrap();
    let values: Vec<_> = now.items.iter().map(|kv| kv.value.clone()).collect();
    assert_eq!(values, [val("a2"), val("c1")]);
}

async fn list_at_future_revision_is_future_revision(f: Fixture) {
    f.store.create(&key("a"), val("1")).await.unwrap();
    let current = f.store.current_revision().await.unwrap();
    let options = ListOptions::at(current + 10);
    let err = f.store.list(ROOT, options).await.unwrap_err();
    assert!(
        matches!(err, Error::FutureRevision { requested, current: c } if requested == current + 10 && c == current),
        "{err:?}"
    );
}

async fn count_counts_keys_under_prefix_only(f: Fixture) {
    for i in 0..5 {
        f.store
            .create(&key(&format!("k{i}")), val("v"))
            .await
            .unwrap();
    }
    f.store.create("/registry/other/x", val("v")).await.unwrap();
    f.store.delete(&key("k0"), None).await.unwrap();
    assert_eq!(f.store.count(ROOT).await.unwrap(), 4);
    assert_eq!(f.store.count("/registry").await.unwrap(), 5);
}

async fn watch_delivers_changes_in_order_with_previous_values(f: Fixture) {
    let start = f.store.current_revision().await.unwrap();
    let mut watch = f.store.watch(ROOT, start).await.unwrap();
    let created = f.store.create(&key("a"), val("1")).await.unwrap();
    let updated = f.store.update(&key("a"), val("2"), created).await.unwrap();
    let deleted = f.store.delete(&key("a"), None).await.unwrap().revision;
    let events = changes_until(&mut watch, deleted).await;
    assert_eq!(events.len(), 3, "{events:?}");
    match &events[0] {
        WatchEvent::Put { kv, prev: None } => {
            assert_eq!((kv.value.clone(), kv.mod_revision), (val("1"), created))
        }
        other => panic!("expected a create, got {other:?}"),
    }
    match &events[1] {
        WatchEvent::Put {
            kv,
            prev: Some(prev),
        } => {
            assert_eq!((kv.value.clone(), kv.mod_revision), (val("2"), updated));
            assert_eq!(kv.create_revision, created);
            assert_eq!((prev.value.clone(), prev.mod_revision), (val("1"), created));
        }
        other => panic!("expected an update, got {other:?}"),
    }
    match &events[2] {
        WatchEvent::Delete {
            key: k,
            revision,
            prev,
        } => {
            assert_eq!((k.clone(), *revision), (key("a"), deleted));
            assert_eq!((prev.value.clone(), prev.mod_revision), (val("2"), updated));
        }
        other => panic!("expected a delete, got {other:?}"),
    }
}

async fn watch_from_past_revision_replays_history_then_follows(f: Fixture) {
    let start = f.store.current_revision().await.unwrap();
    let mut revisions = Vec::new();
    for i in 0..40 {
        revisions.push(
            f.store
                .create(&key(&format!("k{i:02}")), val("v"))
                .await
                .unwrap(),
        );
    }
    let mut watch = f.store.watch(ROOT, start).await.unwrap();
    let replayed = changes_until(&mut watch, *revisions.last().unwrap()).await;
    let got: Vec<_> = replayed.iter().map(WatchEvent::revision).collect();
    assert_eq!(got, revisions);
    let live = f.store.create(&key("live"), val("v")).await.unwrap();
    assert_eq!(next_change(&mut watch).await.unwrap().revision(), live);
}

async fn watch_from_current_revision_sees_only_new_changes(f: Fixture) {
    f.store.create(&key("before"), val("v")).await.unwrap();
    let now = f.store.current_revision().await.unwrap();
    let mut watch = f.store.watch(ROOT, now).await.unwrap();
    let after = f.store.create(&key("after"), val("v")).await.unwrap();
    match next_change(&mut watch).await.unwrap() {
        WatchEvent::Put { kv, .. } => assert_eq!((kv.key, kv.mod_revision), (key("after"), after)),
        other => panic!("expected the new key, got {other:?}"),
    }
}

async fn watch_does_not_see_sibling_prefix(f: Fixture) {
    let now = f.store.current_revision().await.unwrap();
    let mut watch = f.store.watch("/a/b", now).await.unwrap();
    f.store.create("/a/bc/y", val("out")).await.unwrap();
    f.store.create("/a/b", val("out")).await.unwrap();
    let inside = f.store.create("/a/b/x", val("in")).await.unwrap();
    match next_change(&mut watch).await.unwrap() {
        WatchEvent::Put { kv, .. } => {
            assert_eq!((kv.key.as_str(), kv.mod_revision), ("/a/b/x", inside))
        }
        other => panic!("expected /a/b/x, got {other:?}"),
    }
    assert_quiet(&mut watch, Duration::from_millis(300)).await;
}

async fn watch_sends_progress_notifications_while_idle(f: Fixture) {
    let rev = f.store.create(&key("a"), val("v")).await.unwrap();
    let mut watch = f.store.watch(ROOT, rev).await.unwrap();
    // Writes elsewhere advance the store but not this watch.
    let elsewhere = f.store.create("/registry/other/x", val("v")).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let item = tokio::time::timeout_at(deadline, watch.next())
            .await
            .expect("a progress notification within 10 s")
            .unwrap()
            .unwrap();
        match item {
            WatchEvent::Progress { revision } if revision >= elsewhere => {
                assert!(revision <= f.store.current_revision().await.unwrap());
                break;
            }
            WatchEvent::Progress { .. } => continue,
            other => panic!("expected only progress, got {other:?}"),
        }
    }
}

async fn slow_watcher_receives_every_event_in_order(f: Fixture) {
    let start = f.store.current_revision().await.unwrap();
    let mut watch = f.store.watch(ROOT, start).await.unwrap();
    // Nobody reads while 600 writes go by: far more than any buffer on the way.
    let mut last = start;
    let mut expected = Vec::new();
    for i in 0..600 {
        last = f
            .store
            .create(&key(&format!("k{i:04}")), val("v"))
            .await
            .unwrap();
        expected.push(last);
    }
    let got: Vec<_> = changes_until(&mut watch, last)
        .await
        .iter()
        .map(WatchEvent::revision)
        .collect();
    assert_eq!(got, expected);
}

async fn compaction_makes_older_revisions_compacted_and_keeps_current_data(f: Fixture) {
    let a1 = f.store.create(&key("a"), val("1")).await.unwrap();
    let a2 = f.store.update(&key("a"), val("2"), a1).await.unwrap();
    f.store.create(&key("b"), val("1")).await.unwrap();
    f.store.delete(&key("b"), None).await.unwrap();
    let c = f.store.create(&key("c"), val("1")).await.unwrap();
    f.store.compact(c).await.unwrap();
    let at = ListOptions::at;
    let err = f.store.list(ROOT, at(a2)).await.unwrap_err();
    assert!(
        matches!(err, Error::Compacted { compacted_revision } if compacted_revision == c),
        "{err:?}"
    );
    // The compaction revision itself and the current state stay readable.
    for options in [at(c), ListOptions::default()] {
        let list = f.store.list(ROOT, options).await.unwrap();
        let seen: Vec<_> = list
            .items
            .iter()
            .map(|kv| (kv.key.clone(), kv.value.clone(), kv.mod_revision))
            .collect();
        assert_eq!(seen, [(key("a"), val("2"), a2), (key("c"), val("1"), c)]);
    }
    let a = f.store.get(&key("a")).await.unwrap();
    assert_eq!((a.create_revision, a.mod_revision), (a1, a2));
}

async fn compaction_of_compacted_or_future_revision_is_rejected(f: Fixture) {
    let rev = f.store.create(&key("a"), val("1")).await.unwrap();
    f.store.create(&key("b"), val("1")).await.unwrap();
    f.store.compact(rev).await.unwrap();
    for again in [rev, rev - 1] {
        let err = f.store.compact(again).await.unwrap_err();
        assert!(
            matches!(err, Error::Compacted { compacted_revision } if compacted_revision == rev),
            "{err:?}"
        );
    }
    let current = f.store.current_revision().await.unwrap();
    let err = f.store.compact(current + 5).await.unwrap_err();
    assert!(matches!(err, Error::FutureRevision { .. }), "{err:?}");
}

async fn watch_from_compacted_revision_fails_with_compacted_revision(f: Fixture) {
    let start = f.store.current_revision().await.unwrap();
    for i in 0..5 {
        f.store
            .create(&key(&format!("k{i}")), val("v"))
            .await
            .unwrap();
    }
    let compacted = f.store.current_revision().await.unwrap();
    f.store.compact(compacted).await.unwrap();
    let mut watch = f.store.watch(ROOT, start).await.unwrap();
    let item = tokio::time::timeout(Duration::from_secs(10), watch.next())
        .await
        .expect("an answer within 10 s")
        .expect("an item before the stream ends");
    assert!(
        matches!(item, Err(Error::Compacted { compacted_revision }) if compacted_revision == compacted),
        "{item:?}"
    );
    let end = tokio::time::timeout(Duration::from_secs(10), watch.next()).await;
    assert!(matches!(end, Ok(None)), "the stream ends after the error");
}

async fn watch_starting_exactly_at_compacted_revision_works(f: Fixture) {
    f.store.create(&key("a"), val("v")).await.unwrap();
    let compacted = f.store.create(&key("b"), val("v")).await.unwrap();
    f.store.compact(compacted).await.unwrap();
    // after = compacted - 1: the first event wanted is the compaction revision, still kept.
    let mut watch = f.store.watch(ROOT, compacted - 1).await.unwrap();
    match next_change(&mut watch).await.unwrap() {
        WatchEvent::Put { kv, .. } => assert_eq!(kv.mod_revision, compacted),
        other => panic!("expected the put at the compaction revision, got {other:?}"),
    }
}

async fn concurrent_compare_and_swap_writers_exactly_one_wins_each_round(f: Fixture) {
    const WRITERS: usize = 8;
    const ROUNDS: usize = 10;
    let k = key("contended");
    f.store.create(&k, val("0")).await.unwrap();
    for round in 0..ROUNDS {
        let current = f.store.get(&k).await.unwrap().mod_revision;
        let barrier = Arc::new(tokio::sync::Barrier::new(WRITERS));
        let tasks: Vec<_> = (0..WRITERS)
            .map(|w| {
                let store = f.store.clone();
                let barrier = barrier.clone();
                let k = k.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    store
                        .update(&k, val(&format!("{round}-{w}")), current)
                        .await
                })
            })
            .collect();
        let mut wins = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => wins += 1,
                Err(Error::Conflict { .. }) => {}
                Err(other) => panic!("unexpected error {other:?}"),
            }
        }
        assert_eq!(wins, 1, "round {round}");
    }
    assert_eq!(f.store.current_revision().await.unwrap(), 2 + ROUNDS as i64);
}

async fn value_of_exactly_the_limit_is_stored_and_one_byte_more_is_too_large(f: Fixture) {
    let at_limit = Bytes::from(vec![b'x'; MAX_VALUE_BYTES]);
    let rev = f.store.create(&key("big"), at_limit.clone()).await.unwrap();
    assert_eq!(f.store.get(&key("big")).await.unwrap().value, at_limit);
    let over = Bytes::from(vec![b'y'; MAX_VALUE_BYTES + 1]);
    let err = f
        .store
        .create(&key("bigger"), over.clone())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::TooLarge { size, limit } if size == MAX_VALUE_BYTES + 1 && limit == MAX_VALUE_BYTES),
        "{err:?}"
    );
    let err = f.store.update(&key("big"), over, rev).await.unwrap_err();
    assert!(matches!(err, Error::TooLarge { .. }), "{err:?}");
    assert_eq!(f.store.current_revision().await.unwrap(), rev);
}

async fn large_lists_are_returned_whole(f: Fixture) {
    // 6 values of 1 MiB: more than gRPC's default 4 MiB message limit.
    let value = Bytes::from(vec![b'z'; 1024 * 1024]);
    for i in 0..6 {
        f.store
            .create(&key(&format!("k{i}")), value.clone())
            .await
            .unwrap();
    }
    let list = f.store.list(ROOT, ListOptions::default()).await.unwrap();
    assert_eq!(list.items.len(), 6);
    assert!(list.items.iter().all(|kv| kv.value == value));
}

async fn restart_keeps_data_revisions_and_history(mut f: Fixture) {
    let a = f.store.create(&key("a"), val("1")).await.unwrap();
    let past = f.store.update(&key("a"), val("2"), a).await.unwrap();
    f.store.create(&key("b"), val("1")).await.unwrap();
    let before = f.store.current_revision().await.unwrap();
    f.restart().await;
    let after = retry(|| f.store.current_revision()).await;
    assert_eq!(after, before);
    assert_eq!(f.store.get(&key("a")).await.unwrap().value, val("2"));
    let old = f.store.list(ROOT, ListOptions::at(past)).await.unwrap();
    assert_eq!(old.items.len(), 1);
    let mut watch = f.store.watch(ROOT, a).await.unwrap();
    assert_eq!(next_change(&mut watch).await.unwrap().revision(), past);
    // Writes go on from the same revision counter.
    assert_eq!(
        f.store.create(&key("c"), val("1")).await.unwrap(),
        before + 1
    );
}

/// Retries a read while the store is coming back.
async fn retry<T, Fut>(mut f: impl FnMut() -> Fut) -> T
where
    Fut: std::future::Future<Output = storage::Result<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match f().await {
            Ok(v) => return v,
            Err(e) if tokio::time::Instant::now() < deadline => {
                eprintln!("store not back yet: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("store did not come back: {e}"),
        }
    }
}
