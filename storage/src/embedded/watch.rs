//! Watches on the embedded store: replay from the on-disk event log, then follow the live
//! broadcast, falling back to the log whenever the watcher lags behind the broadcast buffer.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;

use super::{Committed, Shared};
use crate::error::{Error, Result};
use crate::store::{Revision, WatchEvent, WatchStream};

/// How many logged events one catch-up read takes from disk.
const REPLAY_BATCH: usize = 512;
/// How many events wait for the consumer before the watcher stops reading (and, if that lasts,
/// lags and catches up from disk later).
const STREAM_BUFFER: usize = 128;

/// Starts a watch of `prefix` (a directory ending in `/`) after revision `after`.
pub(super) fn start(shared: Arc<Shared>, prefix: String, after: Revision) -> WatchStream {
    let (tx, mut rx) = mpsc::channel(STREAM_BUFFER);
    // Subscribe before reading the log, so that nothing committed in between is missed.
    let live = shared.events.subscribe();
    let watcher = Watcher {
        shared,
        prefix,
        next: after + 1,
        tx,
        last_sent: Instant::now(),
    };
    tokio::spawn(watcher.run(live));
    Box::pin(futures::stream::poll_fn(move |cx| rx.poll_recv(cx)))
}

struct Watcher {
    shared: Arc<Shared>,
    prefix: String,
    /// The next revision to look at: everything before it has been delivered or filtered out.
    next: Revision,
    tx: mpsc::Sender<Result<WatchEvent>>,
    /// When this watch last sent something to its consumer.
    last_sent: Instant,
}

/// Why a watcher stopped.
enum Stop {
    /// The consumer dropped the stream.
    Closed,
    /// An error was sent to the consumer.
    Failed,
}

impl Watcher {
    async fn run(mut self, mut live: broadcast::Receiver<Arc<Committed>>) {
        let _ = self.follow(&mut live).await;
    }

    async fn follow(&mut self, live: &mut broadcast::Receiver<Arc<Committed>>) -> Result<(), Stop> {
        self.catch_up().await?;
        loop {
            // Progress is due when this watch sent nothing for a whole interval, however busy
            // the rest of the store is.
            let progress_due = self.last_sent + self.shared.options.progress_interval;
            let received = tokio::select! {
                received = live.recv() => received,
                () = tokio::time::sleep_until(progress_due) => {
                    self.send_progress().await?;
                    continue;
                }
                () = self.tx.closed() => return Err(Stop::Closed),
            };
            match received {
                Ok(committed) if committed.revision < self.next => {}
                Ok(committed) if committed.revision == self.next => {
                    self.deliver(&committed).await?;
                }
                // A gap (or lag): the broadcast dropped events this watcher needs.
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => self.catch_up().await?,
                Err(broadcast::error::RecvError::Closed) => {
                    return self
                        .fail(Error::Unavailable {
                            message: "embedded store closed".into(),
                            source: None,
                        })
                        .await;
                }
            }
        }
    }

    /// Replays the on-disk event log from `next` up to the store's current revision.
    async fn catch_up(&mut self) -> Result<(), Stop> {
        loop {
            let shared = self.shared.clone();
            let from = self.next;
            let read = tokio::task::spawn_blocking(move || shared.read_events(from, REPLAY_BATCH))
                .await
                .map_err(|e| Error::other("embedded store task failed", e));
            let (events, current) = match read {
                Ok(Ok(read)) => read,
                Ok(Err(e)) | Err(e) => return self.fail(e).await,
            };
            let done = events.len() < REPLAY_BATCH;
            for committed in &events {
                self.deliver(committed).await?;
            }
            if done {
                // Events up to `current` are all on disk and delivered; later ones come live.
                self.next = self.next.max(current + 1);
                return Ok(());
            }
        }
    }

    async fn deliver(&mut self, committed: &Committed) -> Result<(), Stop> {
        self.next = committed.revision + 1;
        if committed.key.starts_with(&self.prefix) {
            self.send(Ok(committed.event.clone())).await?;
        }
        Ok(())
    }

    async fn send_progress(&mut self) -> Result<(), Stop> {
        let committed = self.shared.revision.load(Ordering::SeqCst);
        let revision = (self.next - 1).min(committed);
        self.send(Ok(WatchEvent::Progress { revision })).await
    }

    async fn fail(&mut self, error: Error) -> Result<(), Stop> {
        self.send(Err(error)).await?;
        Err(Stop::Failed)
    }

    async fn send(&mut self, item: Result<WatchEvent>) -> Result<(), Stop> {
        self.tx.send(item).await.map_err(|_| Stop::Closed)?;
        self.last_sent = Instant::now();
        Ok(())
    }
}
