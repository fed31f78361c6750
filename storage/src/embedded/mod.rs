//! The embedded backend: etcd's contract on a single redb file, for `fleet-apiserver up`,
//! tests and laptops.
//!
//! Four tables, written together in one durable transaction per write:
//! - `current`: key → its live [`Version`];
//! - `history`: (key, revision) → every version, tombstones included, for reads at a past
//!   revision;
//! - `events`: revision → the [`LoggedEvent`] of that write (with the previous value), for
//!   watches that start in the past;
//! - `meta`: the current and the compacted revision.
//!
//! Writes are serialised by one mutex, held across commit and the broadcast of the event to
//! live watchers, so watchers see events strictly in revision order and only after commit.

mod record;
mod watch;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use redb::{
    Database, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction,
};
use tokio::sync::broadcast;

use crate::error::{check_size, Error, Result};
use crate::store::{
    directory, Deleted, KeyValue, ListOptions, ListResult, Revision, Store, WatchEvent, WatchStream,
};
use record::{LoggedEvent, Version};

const CURRENT: TableDefinition<&str, &[u8]> = TableDefinition::new("current");
const HISTORY: TableDefinition<(&str, i64), &[u8]> = TableDefinition::new("history");
const EVENTS: TableDefinition<i64, &[u8]> = TableDefinition::new("events");
const META: TableDefinition<&str, i64> = TableDefinition::new("meta");

const META_REVISION: &str = "revision";
const META_COMPACTED: &str = "compacted";

/// The revision of an empty store, as in etcd.
const INITIAL_REVISION: Revision = 1;

/// Settings of the embedded store.
#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    /// How long a watch stays silent before it sends a `Progress` notification.
    pub progress_interval: Duration,
    /// How many committed events are kept in memory for live watchers; a watcher further
    /// behind catches up from the on-disk event log (or gets `Compacted`).
    pub event_buffer: usize,
    /// The most memory redb may use to cache pages of the file (its own default is 1 GiB,
    /// which a growing store fills: every page written stays cached).
    pub cache_bytes: usize,
}

/// The page cache of the embedded store unless configured: enough for the tables' inner pages
/// and recent writes of a large store, small beside the data it serves.
pub const DEFAULT_CACHE_BYTES: usize = 16 * 1024 * 1024;

impl Default for EmbeddedOptions {
    fn default() -> Self {
        EmbeddedOptions {
            progress_interval: Duration::from_secs(5),
            event_buffer: 4096,
            cache_bytes: DEFAULT_CACHE_BYTES,
        }
    }
}

/// A store in one redb file inside a data directory.
#[derive(Debug, Clone)]
pub struct EmbeddedStore {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    db: Database,
    path: PathBuf,
    /// Held by the writer committing a batch: transaction, commit and broadcast.
    writer: Mutex<()>,
    /// Writes waiting for the next batch (group commit).
    queue: Mutex<Vec<Pending>>,
    /// The last committed revision (updated before its event is broadcast).
    revision: AtomicI64,
    events: broadcast::Sender<Arc<Committed>>,
    options: EmbeddedOptions,
}

/// What a write decides from the key's live version: the version to store (a tombstone to
/// delete) or an error.
type Decide = Box<dyn FnOnce(Option<&Version>, Revision) -> Result<Version> + Send>;

/// A write waiting for a batch.
struct Pending {
    key: String,
    decide: Decide,
    reply: std::sync::mpsc::SyncSender<Result<LoggedEvent>>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").field("key", &self.key).finish()
    }
}

/// A committed write as broadcast to live watchers.
#[derive(Debug)]
struct Committed {
    revision: Revision,
    key: String,
    event: WatchEvent,
}

impl EmbeddedStore {
    /// Opens (or creates) the store in `dir`, creating the directory when missing.
    pub fn open(dir: impl AsRef<Path>, options: EmbeddedOptions) -> Result<Self> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::other(format!("creating data directory {}", dir.display()), e))?;
        let path = dir.join("store.redb");
        let db = Database::builder()
            .set_cache_size(options.cache_bytes)
            .create(&path)
            .map_err(|e| Error::other(format!("opening {}", path.display()), e))?;
        let revision = init(&db)?;
        let (events, _) = broadcast::channel(options.event_buffer.max(16));
        Ok(EmbeddedStore {
            shared: Arc::new(Shared {
                db,
                path,
                writer: Mutex::new(()),
                queue: Mutex::new(Vec::new()),
                revision: AtomicI64::new(revision),
                events,
                options,
            }),
        })
    }

    /// The file holding the data.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    async fn blocking<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Shared) -> Result<T> + Send + 'static,
    {
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || f(&shared))
            .await
            .map_err(|e| Error::other("embedded store task failed", e))?
    }
}

/// Creates the tables of a new store; returns the current revision.
fn init(db: &Database) -> Result<Revision> {
    let txn = db.begin_write().map_err(db_error)?;
    let revision = {
        txn.open_table(CURRENT).map_err(db_error)?;
        txn.open_table(HISTORY).map_err(db_error)?;
        txn.open_table(EVENTS).map_err(db_error)?;
        let mut meta = txn.open_table(META).map_err(db_error)?;
        let revision = meta
            .get(META_REVISION)
            .map_err(db_error)?
            .map(|v| v.value());
        match revision {
            Some(revision) => revision,
            None => {
                meta.insert(META_REVISION, INITIAL_REVISION)
                    .map_err(db_error)?;
                meta.insert(META_COMPACTED, 0).map_err(db_error)?;
                INITIAL_REVISION
            }
        }
    };
    txn.commit().map_err(db_error)?;
    Ok(revision)
}

fn db_error(e: impl Into<redb::Error>) -> Error {
    Error::other("embedded store", e.into())
}

/// The end (exclusive) of the key range of a directory prefix ending in `/`.
fn prefix_end(prefix: &str) -> String {
    debug_assert!(prefix.ends_with('/'));
    format!("{}0", &prefix[..prefix.len() - 1])
}

fn meta_value(txn: &ReadTransaction, name: &str) -> Result<i64> {
    let meta = txn.open_table(META).map_err(db_error)?;
    let value = meta.get(name).map_err(db_error)?;
    value
        .map(|v| v.value())
        .ok_or_else(|| Error::corrupt(format!("embedded store: meta {name:?} missing")))
}

impl Shared {
    /// Checks that `revision` can be read: not compacted, not in the future.
    fn check_readable(&self, txn: &ReadTransaction, revision: Revision) -> Result<Revision> {
        let current = meta_value(txn, META_REVISION)?;
        let compacted = meta_value(txn, META_COMPACTED)?;
        if revision > current {
            return Err(Error::FutureRevision {
                requested: revision,
                current,
            });
        }
        if revision < compacted {
            return Err(Error::Compacted {
                compacted_revision: compacted,
            });
        }
        Ok(current)
    }

    fn get(&self, key: &str) -> Result<KeyValue> {
        let txn = self.db.begin_read().map_err(db_error)?;
        let table = txn.open_table(CURRENT).map_err(db_error)?;
        let row = table.get(key).map_err(db_error)?;
        match row {
            Some(row) => Ok(Version::decode(row.value())?.into_key_value(key)),
            None => Err(Error::NotFound { key: key.into() }),
        }
    }

    fn list(&self, prefix: &str, options: &ListOptions) -> Result<ListResult> {
        let txn = self.db.begin_read().map_err(db_error)?;
        let current = meta_value(&txn, META_REVISION)?;
        let revision = match options.revision {
            Some(revision) if revision > 0 => {
                self.check_readable(&txn, revision)?;
                revision
            }
            _ => current,
        };
        let end = prefix_end(prefix);
        let start = match &options.start_after {
            Some(after) if after.as_str() >= prefix => after.as_str(),
            _ => prefix,
        };
        let limit = options.limit.filter(|l| *l > 0).unwrap_or(usize::MAX);
        let mut page = Page::new(limit, options.skip_count);
        if start >= end.as_str() {
            // Continuing after the last possible key: nothing remains.
        } else if revision == current {
            let table = txn.open_table(CURRENT).map_err(db_error)?;
            for row in table.range(start..end.as_str()).map_err(db_error)? {
                let (key, value) = row.map_err(db_error)?;
                if options.start_after.as_deref() == Some(key.value()) {
                    continue;
                }
                page.offer(|| Ok(Version::decode(value.value())?.into_key_value(key.value())))?;
                if page.settled() {
                    break;
                }
            }
        } else {
            self.list_history(&txn, start, &end, options, revision, &mut page)?;
        }
        Ok(ListResult {
            items: page.items,
            revision,
            remaining: page.remaining,
        })
    }

    /// Lists as of a past `revision`: per key, the last version at or before it.
    fn list_history(
        &self,
        txn: &ReadTransaction,
        start: &str,
        end: &str,
        options: &ListOptions,
        revision: Revision,
        page: &mut Page,
    ) -> Result<()> {
        let table = txn.open_table(HISTORY).map_err(db_error)?;
        let mut candidate: Option<(String, Version)> = None;
        let rows = table
            .range((start, i64::MIN)..(end, i64::MIN))
            .map_err(db_error)?;
        for row in rows {
            let (key, value) = row.map_err(db_error)?;
            let (key, rev) = key.value();
            if options.start_after.as_deref() == Some(key) || rev > revision {
                continue;
            }
            if candidate.as_ref().is_some_and(|(k, _)| k != key) {
                offer_version(page, candidate.take())?;
                if page.settled() {
                    return Ok(());
                }
            }
            candidate = Some((key.to_owned(), Version::decode(value.value())?));
        }
        offer_version(page, candidate)
    }

    fn count(&self, prefix: &str) -> Result<u64> {
        let txn = self.db.begin_read().map_err(db_error)?;
        let table = txn.open_table(CURRENT).map_err(db_error)?;
        let end = prefix_end(prefix);
        let mut n = 0;
        for row in table.range(prefix..end.as_str()).map_err(db_error)? {
            row.map_err(db_error)?;
            n += 1;
        }
        Ok(n)
    }

    fn current_revision(&self) -> Result<Revision> {
        let txn = self.db.begin_read().map_err(db_error)?;
        meta_value(&txn, META_REVISION)
    }

    /// Runs one write: `decide` looks at the key's live version and returns the new version to
    /// store (a tombstone to delete) or an error. Returns once the write is durable and its
    /// event broadcast.
    ///
    /// Group commit: the write joins a queue; whoever holds the writer lock commits everything
    /// queued in one transaction (one fsync), each write with its own revision and event, in
    /// queue order. A writer whose write was committed by another finds its answer waiting.
    fn write<T>(
        &self,
        key: &str,
        decide: impl FnOnce(Option<&Version>, Revision) -> Result<Version> + Send + 'static,
        outcome: impl FnOnce(&LoggedEvent) -> T,
    ) -> Result<T> {
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Pending {
                key: key.to_owned(),
                decide: Box::new(decide),
                reply,
            });
        {
            let _guard = self.writer.lock().unwrap_or_else(|p| p.into_inner());
            if let Ok(event) = answer.try_recv() {
                return event.map(|e| outcome(&e));
            }
            self.commit_queued();
        }
        let event = answer
            .recv()
            .map_err(|e| Error::other("embedded store: a write was dropped", e))??;
        Ok(outcome(&event))
    }

    /// Commits every queued write in one transaction, then answers each and broadcasts the
    /// events in revision order. Called with the writer lock held.
    fn commit_queued(&self) {
        let batch = std::mem::take(&mut *self.queue.lock().unwrap_or_else(|p| p.into_inner()));
        if batch.is_empty() {
            return;
        }
        let txn = match self.db.begin_write() {
            Ok(txn) => txn,
            Err(e) => return fail_all(batch, &db_error(e)),
        };
        let mut applied: Vec<(
            std::sync::mpsc::SyncSender<Result<LoggedEvent>>,
            Result<LoggedEvent>,
        )> = Vec::with_capacity(batch.len());
        for pending in batch {
            let result = self.apply(&txn, &pending.key, pending.decide);
            // A refusal (exists, missing, conflict) happens before any change; any other
            // failure may leave a half-applied write in the transaction: commit nothing.
            if let Err(e) = &result {
                if !matches!(
                    e,
                    Error::AlreadyExists { .. } | Error::NotFound { .. } | Error::Conflict { .. }
                ) {
                    let error = copy_error(e);
                    if let Err(abort) = txn.abort() {
                        tracing::error!(error = %abort, "embedded store: aborting a batch failed");
                    }
                    let _ = pending.reply.send(result);
                    for (reply, _) in applied {
                        let _ = reply.send(Err(copy_error(&error)));
                    }
                    return;
                }
            }
            applied.push((pending.reply, result));
        }
        if let Err(e) = txn.commit() {
            let error = db_error(e);
            for (reply, _) in applied {
                let _ = reply.send(Err(copy_error(&error)));
            }
            return;
        }
        for (reply, result) in applied {
            if let Ok(event) = &result {
                self.publish(event);
            }
            let _ = reply.send(result);
        }
    }

    /// Makes a committed write visible: the revision, then the event to live watchers.
    fn publish(&self, event: &LoggedEvent) {
        let revision = event.version.mod_revision;
        self.revision.store(revision, Ordering::SeqCst);
        match event.clone().into_watch_event() {
            // No receiver is fine: nobody is watching.
            Ok(watch_event) => {
                let committed = Committed {
                    revision,
                    key: event.key.clone(),
                    event: watch_event,
                };
                let _ = self.events.send(Arc::new(committed));
            }
            Err(e) => tracing::error!(error = %e, revision, "embedded store: unpublishable event"),
        }
    }

    fn apply(&self, txn: &WriteTransaction, key: &str, decide: Decide) -> Result<LoggedEvent> {
        let mut meta = txn.open_table(META).map_err(db_error)?;
        let revision = meta
            .get(META_REVISION)
            .map_err(db_error)?
            .map(|v| v.value())
            .ok_or_else(|| Error::corrupt("embedded store: meta revision missing"))?
            + 1;
        let mut current = txn.open_table(CURRENT).map_err(db_error)?;
        let prev = match current.get(key).map_err(db_error)? {
            Some(row) => Some(Version::decode(row.value())?),
            None => None,
        };
        let version = decide(prev.as_ref(), revision)?;
        let encoded = version.encode();
        if version.deleted {
            current.remove(key).map_err(db_error)?;
        } else {
            current.insert(key, encoded.as_slice()).map_err(db_error)?;
        }
        let mut history = txn.open_table(HISTORY).map_err(db_error)?;
        history
            .insert((key, revision), encoded.as_slice())
            .map_err(db_error)?;
        let event = LoggedEvent {
            key: key.to_owned(),
            version,
            prev,
        };
        let mut events = txn.open_table(EVENTS).map_err(db_error)?;
        events
            .insert(revision, event.encode().as_slice())
            .map_err(db_error)?;
        meta.insert(META_REVISION, revision).map_err(db_error)?;
        Ok(event)
    }

    fn compact(&self, revision: Revision) -> Result<()> {
        let _guard = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let txn = self.db.begin_write().map_err(db_error)?;
        {
            let mut meta = txn.open_table(META).map_err(db_error)?;
            let current = meta
                .get(META_REVISION)
                .map_err(db_error)?
                .map(|v| v.value());
            let compacted = meta
                .get(META_COMPACTED)
                .map_err(db_error)?
                .map(|v| v.value());
            let (Some(current), Some(compacted)) = (current, compacted) else {
                return Err(Error::corrupt("embedded store: meta revisions missing"));
            };
            if revision <= compacted {
                return Err(Error::Compacted {
                    compacted_revision: compacted,
                });
            }
            if revision > current {
                return Err(Error::FutureRevision {
                    requested: revision,
                    current,
                });
            }
            prune(&txn, revision)?;
            meta.insert(META_COMPACTED, revision).map_err(db_error)?;
        }
        txn.commit().map_err(db_error)
    }

    /// Reads logged events from `from` (inclusive) on, at most `max` of them. Returns the
    /// events and the store revision of the snapshot read. `Compacted` when `from` is gone.
    fn read_events(&self, from: Revision, max: usize) -> Result<(Vec<Committed>, Revision)> {
        let txn = self.db.begin_read().map_err(db_error)?;
        let current = meta_value(&txn, META_REVISION)?;
        let compacted = meta_value(&txn, META_COMPACTED)?;
        if from < compacted {
            return Err(Error::Compacted {
                compacted_revision: compacted,
            });
        }
        let table = txn.open_table(EVENTS).map_err(db_error)?;
        let mut out = Vec::new();
        for row in table.range(from..).map_err(db_error)?.take(max) {
            let (revision, value) = row.map_err(db_error)?;
            let event = LoggedEvent::decode(value.value())?;
            out.push(Committed {
                revision: revision.value(),
                key: event.key.clone(),
                event: event.into_watch_event()?,
            });
        }
        Ok((out, current))
    }
}

/// Answers every write of a batch that could not be committed with the same error.
fn fail_all(batch: Vec<Pending>, error: &Error) {
    for pending in batch {
        let _ = pending.reply.send(Err(copy_error(error)));
    }
}

/// The same error again (storage errors hold sources that cannot be cloned).
fn copy_error(error: &Error) -> Error {
    Error::Other {
        message: error.to_string(),
        source: None,
    }
}

/// Drops history that no read at or after `revision` can need: per key touched before
/// `revision`, every version but the last one at or before it (and that one too when it is a
/// tombstone); and the event log before `revision`.
fn prune(txn: &WriteTransaction, revision: Revision) -> Result<()> {
    let mut events = txn.open_table(EVENTS).map_err(db_error)?;
    let mut keys = std::collections::BTreeSet::new();
    for row in events.range(..revision).map_err(db_error)? {
        let (_, value) = row.map_err(db_error)?;
        keys.insert(LoggedEvent::decode(value.value())?.key);
    }
    events
        .retain_in(..revision, |_, _| false)
        .map_err(db_error)?;
    let mut history = txn.open_table(HISTORY).map_err(db_error)?;
    for key in &keys {
        let range = (key.as_str(), i64::MIN)..=(key.as_str(), revision);
        let keep = last_live_revision(&history, range.clone())?;
        history
            .retain_in(range, |(_, rev), _| Some(rev) == keep)
            .map_err(db_error)?;
    }
    Ok(())
}

/// The revision of the last version in `range` of one key's history, unless it is a tombstone.
fn last_live_revision(
    history: &redb::Table<(&str, i64), &[u8]>,
    range: std::ops::RangeInclusive<(&str, i64)>,
) -> Result<Option<Revision>> {
    let Some(row) = history.range(range).map_err(db_error)?.next_back() else {
        return Ok(None);
    };
    let (key, value) = row.map_err(db_error)?;
    let live = !Version::decode(value.value())?.deleted;
    Ok(live.then(|| key.value().1))
}

fn offer_version(page: &mut Page, candidate: Option<(String, Version)>) -> Result<()> {
    match candidate {
        Some((key, version)) if !version.deleted => page.offer(|| Ok(version.into_key_value(&key))),
        _ => Ok(()),
    }
}

/// Collects up to `limit` items and counts the rest.
struct Page {
    items: Vec<KeyValue>,
    limit: usize,
    remaining: u64,
    /// Stop at the first key beyond the page instead of counting them all.
    skip_count: bool,
}

impl Page {
    fn new(limit: usize, skip_count: bool) -> Self {
        Page {
            items: Vec::new(),
            limit,
            remaining: 0,
            skip_count,
        }
    }

    /// Whether reading on would change nothing the caller asked for.
    fn settled(&self) -> bool {
        self.skip_count && self.remaining > 0
    }

    /// Takes the item `make` builds while there is room, else only counts it.
    fn offer(&mut self, make: impl FnOnce() -> Result<KeyValue>) -> Result<()> {
        if self.items.len() < self.limit {
            self.items.push(make()?);
        } else {
            self.remaining += 1;
        }
        Ok(())
    }
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn get(&self, key: &str) -> Result<KeyValue> {
        let key = key.to_owned();
        self.blocking(move |s| s.get(&key)).await
    }

    async fn list(&self, prefix: &str, options: ListOptions) -> Result<ListResult> {
        let prefix = directory(prefix);
        self.blocking(move |s| s.list(&prefix, &options)).await
    }

    async fn count(&self, prefix: &str) -> Result<u64> {
        let prefix = directory(prefix);
        self.blocking(move |s| s.count(&prefix)).await
    }

    async fn current_revision(&self) -> Result<Revision> {
        self.blocking(|s| s.current_revision()).await
    }

    async fn create(&self, key: &str, value: Bytes) -> Result<Revision> {
        check_size(&value)?;
        let key = key.to_owned();
        self.blocking(move |s| {
            let owned = key.clone();
            s.write(
                &key,
                move |prev, revision| match prev {
                    Some(_) => Err(Error::AlreadyExists { key: owned }),
                    None => Ok(Version {
                        create_revision: revision,
                        mod_revision: revision,
                        deleted: false,
                        value,
                    }),
                },
                |event| event.version.mod_revision,
            )
        })
        .await
    }

    async fn update(&self, key: &str, value: Bytes, expected: Revision) -> Result<Revision> {
        check_size(&value)?;
        let key = key.to_owned();
        self.blocking(move |s| {
            let owned = key.clone();
            s.write(
                &key,
                move |prev, revision| {
                    let prev = check_expected(&owned, prev, Some(expected))?;
                    Ok(Version {
                        create_revision: prev.create_revision,
                        mod_revision: revision,
                        deleted: false,
                        value,
                    })
                },
                |event| event.version.mod_revision,
            )
        })
        .await
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<Deleted> {
        let key = key.to_owned();
        self.blocking(move |s| {
            let owned = key.clone();
            s.write(
                &key,
                move |prev, revision| {
                    let prev = check_expected(&owned, prev, expected)?;
                    Ok(Version {
                        create_revision: prev.create_revision,
                        mod_revision: revision,
                        deleted: true,
                        value: Bytes::new(),
                    })
                },
                |event| Deleted {
                    revision: event.version.mod_revision,
                    prev: event
                        .prev
                        .clone()
                        .expect("a delete always has a previous version")
                        .into_key_value(&event.key),
                },
            )
        })
        .await
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream> {
        Ok(watch::start(self.shared.clone(), directory(prefix), after))
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        self.blocking(move |s| s.compact(revision)).await
    }
}

/// The compare of compare-and-swap: the key must exist and, when `expected` is given, be at
/// that revision.
fn check_expected<'a>(
    key: &str,
    prev: Option<&'a Version>,
    expected: Option<Revision>,
) -> Result<&'a Version> {
    let prev = prev.ok_or_else(|| Error::NotFound { key: key.into() })?;
    match expected {
        Some(expected) if expected != prev.mod_revision => Err(Error::Conflict {
            key: key.into(),
            expected,
            current: Box::new(prev.clone().into_key_value(key)),
        }),
        _ => Ok(prev),
    }
}
