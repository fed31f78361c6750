//! The controller runtime every controller runs on: kube-runtime's `Controller` (watch,
//! reflector store, work queue with deduplication, requeues) with what every controller here
//! shares — an error policy that retries each object with exponential backoff (5 ms doubling
//! to 1000 s, controller-runtime's default), metrics per controller, and leader gating:
//! controllers run only while this replica leads ([`Leadership`]), and are started again when
//! their stream ends. Loops that are not one kind's controller (the garbage collector follows
//! every resource) run on it as tasks, gated and counted the same way.
//!
//! A controller is a [`Reconcile`] implementation in a file of its own, installed with
//! [`Runtime::controller`]; cleanup behind a finalizer uses kube-runtime's [`finalizer`].

use std::collections::HashMap;
use std::fmt::Debug;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::StreamExt;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::Resource;
use serde::de::DeserializeOwned;
use tokio::task::JoinHandle;

pub use kube::runtime::finalizer::{finalizer, Event as FinalizerEvent};

/// The first retry after a failed reconcile; doubled for each failure in a row.
const BACKOFF_BASE: Duration = Duration::from_millis(5);
/// The longest wait between retries.
const BACKOFF_MAX: Duration = Duration::from_secs(1000);
/// Pause before a controller whose stream ended is started again.
const RESTART: Duration = Duration::from_secs(1);

/// Whether this replica leads. Controllers start when it does and stop when it no longer does.
pub trait Leadership: Send + Sync + Debug + 'static {
    /// Completes when this replica leads.
    fn acquired(&self) -> BoxFuture<'static, ()>;
    /// Completes when this replica stops leading.
    fn lost(&self) -> BoxFuture<'static, ()>;
}

/// A single replica: always the leader.
#[derive(Debug, Clone, Copy, Default)]
pub struct AlwaysLeader;

impl Leadership for AlwaysLeader {
    fn acquired(&self) -> BoxFuture<'static, ()> {
        Box::pin(std::future::ready(()))
    }

    fn lost(&self) -> BoxFuture<'static, ()> {
        Box::pin(std::future::pending())
    }
}

/// One controller of one kind: what the runtime calls for each object that changed (and for
/// each requeue).
pub trait Reconcile<K>: Send + Sync + 'static {
    type Error: std::error::Error + Send + Sync + 'static;

    /// Brings the world in line with `object`; the action says when to look again.
    fn reconcile(&self, object: Arc<K>)
        -> impl Future<Output = Result<Action, Self::Error>> + Send;
}

/// What a controller did since the process started.
#[derive(Debug, Default)]
pub struct Metrics {
    starts: AtomicU64,
    reconciles: AtomicU64,
    failures: AtomicU64,
}

/// A reading of [`Metrics`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// Times the controller was started (leadership gained, or its stream ended).
    pub starts: u64,
    /// Reconciles (for a task: passes) that succeeded.
    pub reconciles: u64,
    /// Reconciles (passes) that failed.
    pub failures: u64,
}

impl Metrics {
    /// Counts one reconcile (or pass).
    pub fn reconciled(&self, ok: bool) {
        let counter = if ok { &self.reconciles } else { &self.failures };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            starts: self.starts.load(Ordering::Relaxed),
            reconciles: self.reconciles.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
        }
    }
}

/// The running controllers; dropping it stops them.
pub struct Runtime {
    client: kube::Client,
    leadership: Arc<dyn Leadership>,
    metrics: Vec<(&'static str, Arc<Metrics>)>,
    tasks: Vec<JoinHandle<()>>,
}

impl Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("leadership", &self.leadership)
            .field("controllers", &self.metrics)
            .finish_non_exhaustive()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Runtime {
    /// A runtime whose controllers use `client` while `leadership` says this replica leads.
    pub fn new(client: kube::Client, leadership: impl Leadership) -> Runtime {
        Runtime {
            client,
            leadership: Arc::new(leadership),
            metrics: Vec::new(),
            tasks: Vec::new(),
        }
    }

    /// Runs the controller `make` builds — the kube-runtime `Controller` saying what to
    /// watch, and the reconciler — with the shared error policy and metrics.
    pub fn controller<K, R, F>(&mut self, name: &'static str, make: F)
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
        R: Reconcile<K>,
        F: Fn(&kube::Client) -> (Controller<K>, R) + Send + Sync + 'static,
    {
        let metrics = self.register(name);
        let client = self.client.clone();
        let counted = metrics.clone();
        self.spawn_led(name, metrics, move || {
            let (controller, reconciler) = make(&client);
            let context = Arc::new(Context {
                name,
                reconciler,
                metrics: counted.clone(),
                failures: Mutex::new(HashMap::new()),
            });
            let run = controller.run(reconcile::<K, R>, error_policy::<K, R>, context);
            Box::pin(run.for_each(move |result| {
                if let Err(error) = result {
                    tracing::debug!(controller = name, %error, "controller event");
                }
                std::future::ready(())
            }))
        });
    }

    /// Runs a loop of its own (a controller over several kinds), started again when it
    /// returns; it counts its passes in the metrics it is given.
    pub fn task<F, Fut>(&mut self, name: &'static str, make: F)
    where
        F: Fn(kube::Client, Arc<Metrics>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let metrics = self.register(name);
        let client = self.client.clone();
        let counted = metrics.clone();
        self.spawn_led(name, metrics, move || {
            Box::pin(make(client.clone(), counted.clone()))
        });
    }

    /// Every controller's metrics, in the order they were installed.
    pub fn metrics(&self) -> Vec<(&'static str, MetricsSnapshot)> {
        self.metrics
            .iter()
            .map(|(name, metrics)| (*name, metrics.snapshot()))
            .collect()
    }

    fn register(&mut self, name: &'static str) -> Arc<Metrics> {
        let metrics = Arc::new(Metrics::default());
        self.metrics.push((name, metrics.clone()));
        metrics
    }

    /// Runs `run()` while this replica leads; again after it ends.
    fn spawn_led<F>(&mut self, name: &'static str, metrics: Arc<Metrics>, run: F)
    where
        F: Fn() -> BoxFuture<'static, ()> + Send + Sync + 'static,
    {
        let leadership = self.leadership.clone();
        self.tasks.push(tokio::spawn(async move {
            loop {
                leadership.acquired().await;
                metrics.starts.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(controller = name, "started");
                tokio::select! {
                    () = run() => tracing::warn!(controller = name, "stopped; starting again"),
                    () = leadership.lost() => {
                        tracing::info!(controller = name, "no longer the leader; stopped");
                        continue;
                    }
                }
                tokio::time::sleep(RESTART).await;
            }
        }));
    }
}

/// What the runtime keeps for one controller's reconciles.
struct Context<K: Resource<DynamicType = ()>, R> {
    name: &'static str,
    reconciler: R,
    metrics: Arc<Metrics>,
    /// Failures in a row, per object.
    failures: Mutex<HashMap<ObjectRef<K>, u32>>,
}

async fn reconcile<K, R>(object: Arc<K>, context: Arc<Context<K, R>>) -> Result<Action, R::Error>
where
    K: Resource<DynamicType = ()> + Send + Sync + 'static,
    R: Reconcile<K>,
{
    let key = ObjectRef::from_obj(object.as_ref());
    let result = context.reconciler.reconcile(object).await;
    context.metrics.reconciled(result.is_ok());
    if result.is_ok() {
        let mut failures = context.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures.remove(&key);
    }
    result
}

fn error_policy<K, R>(object: Arc<K>, error: &R::Error, context: Arc<Context<K, R>>) -> Action
where
    K: Resource<DynamicType = ()>,
    R: Reconcile<K>,
{
    let key = ObjectRef::from_obj(object.as_ref());
    let failures = {
        let mut failures = context.failures.lock().unwrap_or_else(|p| p.into_inner());
        let count = failures.entry(key.clone()).or_insert(0);
        *count += 1;
        *count
    };
    let delay = backoff(failures);
    let error: &(dyn std::error::Error + 'static) = error;
    tracing::warn!(controller = context.name, object = %key, error, retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

/// The wait before retrying after `failures` failures in a row.
pub fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(31);
    BACKOFF_BASE
        .saturating_mul(1u32 << doublings)
        .min(BACKOFF_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_a_bound() {
        let waits: Vec<Duration> = [1, 2, 3, 10].into_iter().map(backoff).collect();
        let ms = |n| Duration::from_millis(n);
        assert_eq!(waits, [ms(5), ms(10), ms(20), ms(2560)]);
        assert_eq!(backoff(18), Duration::from_millis(655_360));
        assert_eq!(backoff(19), BACKOFF_MAX);
        assert_eq!(backoff(u32::MAX), BACKOFF_MAX);
    }

    #[tokio::test]
    async fn a_single_replica_always_leads() {
        AlwaysLeader.acquired().await;
        let lost = tokio::time::timeout(Duration::from_millis(20), AlwaysLeader.lost()).await;
        assert!(lost.is_err(), "never loses");
    }
}
