//! Property test: random operation sequences run against each backend and against a simple
//! in-memory model of etcd; every result, and the stream a watch saw, must agree.

mod support;

use std::collections::BTreeMap;

use bytes::Bytes;
use proptest::prelude::*;
use storage::{Error, ListOptions, Revision, Store, WatchEvent, WatchStream};
use support::{changes_until, Backend, Fixture};

const ROOT: &str = "/m/a";
/// Keys under the watched root, plus two under a sibling prefix that must stay invisible.
const KEYS: [&str; 7] = [
    "/m/a/k0",
    "/m/a/k1",
    "/m/a/k2",
    "/m/a/k3",
    "/m/a/x/k4",
    "/m/ab/k5",
    "/m/ab/k6",
];

#[derive(Debug, Clone)]
enum Op {
    Create(usize, u8),
    /// Update with the current revision, or with a stale one.
    Update(usize, u8, bool),
    /// Delete unconditionally, with the current revision, or with a stale one.
    Delete(usize, Option<bool>),
    Get(usize),
    /// List the root: limit, start after key, revisions back from current.
    List(Option<usize>, Option<usize>, u8),
    Count,
    /// Compact to this many revisions back from current.
    Compact(u8),
}

fn op() -> impl Strategy<Value = Op> {
    let k = 0..KEYS.len();
    prop_oneof![
        4 => (k.clone(), any::<u8>()).prop_map(|(k, v)| Op::Create(k, v)),
        4 => (k.clone(), any::<u8>(), proptest::bool::weighted(0.2))
            .prop_map(|(k, v, stale)| Op::Update(k, v, stale)),
        2 => (k.clone(), proptest::option::of(proptest::bool::weighted(0.2)))
            .prop_map(|(k, e)| Op::Delete(k, e)),
        2 => k.clone().prop_map(Op::Get),
        3 => (
            proptest::option::of(1usize..4),
            proptest::option::of(k),
            0u8..6
        )
            .prop_map(|(l, s, b)| Op::List(l, s, b)),
        1 => Just(Op::Count),
        1 => (0u8..8).prop_map(Op::Compact),
    ]
}

/// One live key in the model.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    value: Bytes,
    create: Revision,
    modified: Revision,
}

/// etcd, as simply as it can be written: a snapshot of every revision.
#[derive(Debug)]
struct Model {
    snapshots: Vec<BTreeMap<String, Entry>>,
    compacted: Revision,
    events: Vec<WatchEvent>,
}

impl Model {
    fn new() -> Self {
        // Revision 1 is the empty store; index = revision - 1.
        Model {
            snapshots: vec![BTreeMap::new()],
            compacted: 0,
            events: Vec::new(),
        }
    }

    fn revision(&self) -> Revision {
        self.snapshots.len() as Revision
    }

    fn now(&self) -> &BTreeMap<String, Entry> {
        self.snapshots.last().unwrap()
    }

    fn kv(key: &str, e: &Entry) -> String {
        format!("{key}={:?}@{}/{}", e.value, e.create, e.modified)
    }

    fn write(&mut self, key: &str, entry: Option<Entry>) -> Revision {
        let revision = self.revision() + 1;
        let mut next = self.now().clone();
        let prev = next.get(key).cloned();
        let event = match entry {
            Some(mut e) => {
                e.modified = revision;
                next.insert(key.to_owned(), e.clone());
                WatchEvent::Put {
                    kv: kv(key, &e),
                    prev: prev.map(|p| kv(key, &p)),
                }
            }
            None => {
                next.remove(key);
                WatchEvent::Delete {
                    key: key.to_owned(),
                    revision,
                    prev: kv(key, &prev.expect("deleting a live key")),
                }
            }
        };
        self.events.push(event);
        self.snapshots.push(next);
        revision
    }

    /// Applies `op`, returning the outcome in the form [`describe`] gives the store's.
    fn apply(&mut self, op: &Op) -> String {
        match op {
            Op::Create(k, v) => {
                let key = KEYS[*k];
                if self.now().contains_key(key) {
                    return "AlreadyExists".into();
                }
                let rev = self.write(key, Some(entry(*v, self.revision() + 1)));
                format!("Ok({rev})")
            }
            Op::Update(k, v, stale) => {
                let key = KEYS[*k];
                let Some(current) = self.now().get(key).cloned() else {
                    return "NotFound".into();
                };
                if *stale {
                    return format!("Conflict({})", Self::kv(key, &current));
                }
                let rev = self.write(key, Some(entry(*v, current.create)));
                format!("Ok({rev})")
            }
            Op::Delete(k, expected) => {
                let key = KEYS[*k];
                let Some(current) = self.now().get(key).cloned() else {
                    return "NotFound".into();
                };
                if *expected == Some(true) {
                    return format!("Conflict({})", Self::kv(key, &current));
                }
                let rev = self.write(key, None);
                format!("Ok({rev}, {})", Self::kv(key, &current))
            }
            Op::Get(k) => match self.now().get(KEYS[*k]) {
                Some(e) => format!("Ok({})", Self::kv(KEYS[*k], e)),
                None => "NotFound".into(),
            },
            Op::List(limit, start_after, back) => self.list(*limit, *start_after, *back),
            Op::Count => {
                let n = self.now().keys().filter(|k| k.starts_with("/m/a/")).count();
                format!("Ok({n})")
            }
            Op::Compact(back) => {
                let target = (self.revision() - *back as Revision).max(1);
                if target <= self.compacted {
                    return format!("Compacted({})", self.compacted);
                }
                self.compacted = target;
                "Ok".into()
            }
        }
    }

    fn list(&self, limit: Option<usize>, start_after: Option<usize>, back: u8) -> String {
        let revision = (self.revision() - back as Revision).max(1);
        if revision < self.compacted {
            return format!("Compacted({})", self.compacted);
        }
        let snapshot = &self.snapshots[(revision - 1) as usize];
        let after = start_after.map(|s| KEYS[s]).unwrap_or("");
        let matching: Vec<_> = snapshot
            .iter()
            .filter(|(k, _)| k.starts_with("/m/a/") && k.as_str() > after)
            .collect();
        let take = limit.unwrap_or(usize::MAX).min(matching.len());
        let items: Vec<_> = matching[..take]
            .iter()
            .map(|(k, e)| Self::kv(k, e))
            .collect();
        format!(
            "Ok({revision}, {items:?}, remaining {})",
            matching.len() - take
        )
    }
}

fn entry(v: u8, create: Revision) -> Entry {
    Entry {
        value: Bytes::from(format!("v{v}")),
        create,
        modified: 0,
    }
}

fn kv(key: &str, e: &Entry) -> storage::KeyValue {
    storage::KeyValue {
        key: key.to_owned(),
        value: Bytes::from(Model::kv(key, e)),
        create_revision: 0,
        mod_revision: e.modified,
    }
}

/// The store's outcome of `op`, described as the model describes its own.
async fn describe(store: &dyn Store, model: &Model, op: &Op) -> String {
    let show = |kv: &storage::KeyValue| {
        Model::kv(
            &kv.key,
            &Entry {
                value: kv.value.clone(),
                create: kv.create_revision,
                modified: kv.mod_revision,
            },
        )
    };
    let fail = |e: Error| match e {
        Error::NotFound { .. } => "NotFound".to_owned(),
        Error::AlreadyExists { .. } => "AlreadyExists".to_owned(),
        Error::Conflict { current, .. } => format!("Conflict({})", show(&current)),
        Error::Compacted { compacted_revision } => format!("Compacted({compacted_revision})"),
        other => format!("unexpected error: {other}"),
    };
    let current_rev = |k: usize| model.now().get(KEYS[k]).map(|e| e.modified);
    match op {
        Op::Create(k, v) => match store.create(KEYS[*k], value(*v)).await {
            Ok(rev) => format!("Ok({rev})"),
            Err(e) => fail(e),
        },
        Op::Update(k, v, stale) => {
            let expected = match (current_rev(*k), stale) {
                (Some(rev), false) => rev,
                (Some(rev), true) => rev - 1,
                (None, _) => model.revision(),
            };
            match store.update(KEYS[*k], value(*v), expected).await {
                Ok(rev) => format!("Ok({rev})"),
                Err(e) => fail(e),
            }
        }
        Op::Delete(k, expected) => {
            let expected = expected.map(|stale| {
                let rev = current_rev(*k).unwrap_or(model.revision());
                if stale {
                    rev - 1
                } else {
                    rev
                }
            });
            match store.delete(KEYS[*k], expected).await {
                Ok(d) => format!("Ok({}, {})", d.revision, show(&d.prev)),
                Err(e) => fail(e),
            }
        }
        Op::Get(k) => match store.get(KEYS[*k]).await {
            Ok(kv) => format!("Ok({})", show(&kv)),
            Err(e) => fail(e),
        },
        Op::List(limit, start_after, back) => {
            let options = ListOptions {
                revision: Some((model.revision() - *back as Revision).max(1)),
                start_after: start_after.map(|s| KEYS[s].to_owned()),
                limit: *limit,
                skip_count: false,
            };
            match store.list(ROOT, options).await {
                Ok(list) => {
                    let items: Vec<_> = list.items.iter().map(show).collect();
                    format!(
                        "Ok({}, {items:?}, remaining {})",
                        list.revision, list.remaining
                    )
                }
                Err(e) => fail(e),
            }
        }
        Op::Count => match store.count(ROOT).await {
            Ok(n) => format!("Ok({n})"),
            Err(e) => fail(e),
        },
        Op::Compact(back) => {
            let target = (model.revision() - *back as Revision).max(1);
            match store.compact(target).await {
                Ok(()) => "Ok".into(),
                Err(e) => fail(e),
            }
        }
    }
}

fn value(v: u8) -> Bytes {
    Bytes::from(format!("v{v}"))
}

/// Rewrites a store event into the model's form (values as `key=value@create/mod`).
fn normalise(event: WatchEvent) -> WatchEvent {
    let model_kv = |kv: storage::KeyValue| {
        let e = Entry {
            value: kv.value.clone(),
            create: kv.create_revision,
            modified: kv.mod_revision,
        };
        storage::KeyValue {
            key: kv.key.clone(),
            value: Bytes::from(Model::kv(&kv.key, &e)),
            create_revision: 0,
            mod_revision: kv.mod_revision,
        }
    };
    match event {
        WatchEvent::Put { kv, prev } => WatchEvent::Put {
            kv: model_kv(kv),
            prev: prev.map(model_kv),
        },
        WatchEvent::Delete {
            key,
            revision,
            prev,
        } => WatchEvent::Delete {
            key,
            revision,
            prev: model_kv(prev),
        },
        progress => progress,
    }
}

async fn run_case(backend: Backend, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let Some(fixture) = Fixture::new(backend).await else {
        return Ok(());
    };
    let store = fixture.store.as_ref();
    let mut model = Model::new();
    let mut watch = store.watch(ROOT, 1).await.unwrap();
    let mut got = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        if matches!(op, Op::Compact(_)) {
            // Read what the watch has been sent so far, as a live watcher does: etcd cancels a
            // watcher still behind a compaction (`Compacted`), which is not what this checks.
            catch_up(&mut watch, &watched(&model), &mut got).await;
        }
        let got = describe(store, &model, op).await;
        let want = model.apply(op);
        prop_assert_eq!(got, want, "operation {} {:?} of {:?}", i, op, ops);
    }
    let want = watched(&model);
    catch_up(&mut watch, &want, &mut got).await;
    prop_assert_eq!(got, want, "watch stream of {:?}", ops);
    Ok(())
}

/// The model's changes the watch of `ROOT` must see.
fn watched(model: &Model) -> Vec<WatchEvent> {
    model
        .events
        .iter()
        .filter(|e| match e {
            WatchEvent::Put { kv, .. } => kv.key.starts_with("/m/a/"),
            WatchEvent::Delete { key, .. } => key.starts_with("/m/a/"),
            WatchEvent::Progress { .. } => false,
        })
        .cloned()
        .collect()
}

/// Reads the watch until `got` holds as many changes as `want`.
async fn catch_up(watch: &mut WatchStream, want: &[WatchEvent], got: &mut Vec<WatchEvent>) {
    if want.len() > got.len() {
        let last = want[want.len() - 1].revision();
        let changes = changes_until(watch, last).await;
        got.extend(changes.into_iter().map(normalise));
    }
}

fn check(backend: Backend, cases: u32) {
    let config = ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let result = runner.run(&proptest::collection::vec(op(), 1..40), |ops| {
        runtime.block_on(run_case(backend, ops))
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn embedded_agrees_with_the_model() {
    check(Backend::Embedded, 64);
}

#[test]
fn etcd_agrees_with_the_model() {
    // Each case starts its own etcd, so fewer cases.
    check(Backend::Etcd, 24);
}
