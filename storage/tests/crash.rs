//! Crash test: a child process writes to the embedded store in a burst and is killed with
//! SIGKILL; after reopening, every write it acknowledged is there, whole, and nothing partial
//! is visible. The child is this same test binary, re-run with `FLEET_CRASH_DIR` set.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use storage::{EmbeddedOptions, EmbeddedStore, ListOptions, Store};

const CHILD_ENV: &str = "FLEET_CRASH_DIR";
const ROUND_ENV: &str = "FLEET_CRASH_ROUND";
const WRITERS: usize = 4;

/// The value of write `i` of `round`: its size and bytes depend on both, so a torn or swapped
/// value cannot pass for a right one.
fn value(round: u32, i: u64) -> Bytes {
    let len = 1 + ((i * 7919 + round as u64 * 104_729) % 48_000) as usize;
    let fill = b'a' + ((i + round as u64) % 26) as u8;
    let mut v = format!("{round}:{i}:").into_bytes();
    v.resize(len.max(v.len()), fill);
    Bytes::from(v)
}

fn key(round: u32, writer: usize, i: u64) -> String {
    format!("/crash/r{round}/w{writer}/{i:08}")
}

/// The child: writes forever from several tasks, printing `ack <writer> <i>` after each write
/// returned. Does nothing when run as an ordinary test.
#[test]
fn crash_child_writer() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let round: u32 = std::env::var(ROUND_ENV).unwrap().parse().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let store = Arc::new(EmbeddedStore::open(dir, EmbeddedOptions::default()).unwrap());
        let tasks: Vec<_> = (0..WRITERS)
            .map(|writer| {
                let store = store.clone();
                tokio::spawn(async move {
                    for i in 0.. {
                        let k = key(round, writer, i);
                        store.create(&k, value(round, i)).await.unwrap();
                        println!("ack {writer} {i}");
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
}

/// Starts the child for `round`, lets it acknowledge at least `acks` writes, kills it with
/// SIGKILL and returns, per writer, how many writes it acknowledged.
fn write_and_kill(dir: &std::path::Path, round: u32, acks: usize) -> Vec<u64> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_child_writer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir)
        .env(ROUND_ENV, round.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut acked = vec![0u64; WRITERS];
    let mut seen = 0;
    let stdout = BufReader::new(child.stdout.take().unwrap());
    for line in stdout.lines() {
        let line = line.unwrap();
        // libtest prints `test crash_child_writer ... ` without a newline before the first ack.
        let Some(at) = line.find("ack ") else {
            continue;
        };
        let rest = &line[at + 4..];
        let mut parts = rest.split(' ');
        let writer: usize = parts.next().unwrap().parse().unwrap();
        let i: u64 = parts.next().unwrap().parse().unwrap();
        // Each writer acknowledges its writes in order.
        assert_eq!(
            i, acked[writer],
            "writer {writer} acknowledged out of order"
        );
        acked[writer] = i + 1;
        seen += 1;
        if seen == acks {
            child.kill().unwrap(); // SIGKILL
            break;
        }
    }
    child.wait().unwrap();
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_store_keeps_every_acknowledged_write_across_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..3 {
        let acked = tokio::task::block_in_place(|| write_and_kill(dir.path(), round, 400));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let store = EmbeddedStore::open(dir.path(), EmbeddedOptions::default()).unwrap();
        let mut total = 0u64;
        for r in 0..=round {
            let list = store
                .list(&format!("/crash/r{r}"), ListOptions::default())
                .await
                .unwrap();
            for kv in &list.items {
                // Every visible value is whole and is the one written under its key.
                let i: u64 = kv.key.rsplit('/').next().unwrap().parse().unwrap();
                assert_eq!(kv.value, value(r, i), "torn or wrong value at {}", kv.key);
            }
            total += list.items.len() as u64;
        }
        for (writer, &n) in acked.iter().enumerate() {
            for i in 0..n {
                let kv = store.get(&key(round, writer, i)).await.unwrap_or_else(|e| {
                    panic!("round {round}: acknowledged write {writer}/{i} lost: {e}")
                });
                assert_eq!(kv.value, value(round, i));
            }
        }
        // One revision per write that made it to disk, acknowledged or in flight when killed.
        assert_eq!(store.current_revision().await.unwrap(), 1 + total as i64);
        let in_round = acked.iter().sum::<u64>();
        let listed = store.count(&format!("/crash/r{round}")).await.unwrap();
        assert!(
            listed >= in_round && listed <= in_round + WRITERS as u64,
            "round {round}: {listed} writes stored, {in_round} acknowledged"
        );
    }
}
