//! Crash durability: a child process doing acknowledged durable puts into a DiskStore
//! (and a MultiDiskStore) is SIGKILLed at a random moment, 20 rounds each. After every
//! kill the store must reopen, and every key whose put was acknowledged (the child
//! prints it on its stdout pipe once `put` returned) must read back its exact value —
//! this round's and all earlier rounds'. Before that, 150 kills each while the child
//! is still creating its files: the store must open (and list) afterwards.
//!
//! A test without the libtest harness: the same binary is the child when
//! `KV_CRASH_CHILD` is set.
#![cfg(feature = "disk")]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use kv_store_adapter::stores::{DiskStore, MultiDiskStore};
use kv_store_adapter::{BoxStore, KvStore};

const ROUNDS: u32 = 20;
const WRITERS: u32 = 16;
const CREATION_ROUNDS: u32 = 150;

/// The exact value of a key: 1 to 3,000 bytes derived from its name.
fn value(key: &str) -> Bytes {
    let len = 1 + key
        .bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(b.into()))
        % 3000;
    key.bytes().cycle().take(len as usize).collect()
}

fn collection(key: &str) -> String {
    format!("c{}", key.len() % 4)
}

fn open(kind: &str, path: &Path) -> BoxStore {
    match kind {
        "disk" => {
            BoxStore::new(DiskStore::open(path.join("kv.redb")).expect("reopens after a crash"))
        }
        _ => {
            let store = MultiDiskStore::open(path.join("multi")).expect("reopens after a crash");
            BoxStore::builder(store).collections().build()
        }
    }
}

/// The child: writers put fresh keys until killed, printing each acknowledged key.
fn child(spec: &str) {
    let (kind, rest) = spec.split_once(':').unwrap();
    let (round, path) = rest.split_once(':').unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = std::sync::Arc::new(open(kind, Path::new(path)));
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let store = store.clone();
                let round = round.to_owned();
                tokio::spawn(async move {
                    for i in 0.. {
                        let key = format!("r{round}-w{w}-{i}");
                        store
                            .put(&collection(&key), &key, value(&key), None)
                            .await
                            .unwrap();
                        // stdout is line-buffered: the line leaves whole, after the ack.
                        println!("{key}");
                    }
                })
            })
            .collect();
        for w in writers {
            w.await.unwrap();
        }
    });
}

/// A pseudo-random kill delay in 10..400 ms.
fn delay(round: u32) -> Duration {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    Duration::from_millis(10 + u64::from(nanos.wrapping_mul(2654435761).wrapping_add(round) % 390))
}

/// Runs the child for `round` in `dir`, SIGKILLs it after `delay`, and returns the keys
/// it acknowledged.
fn kill_child(kind: &str, round: u32, dir: &Path, delay: Duration) -> Vec<String> {
    let exe = std::env::current_exe().unwrap();
    let spec = format!("{kind}:{round}:{}", dir.display());
    let mut child = Command::new(&exe)
        .env("KV_CRASH_CHILD", spec)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        // Only whole lines count: a line cut by the kill was never acknowledged.
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            if let Some(key) = line.strip_suffix('\n') {
                lines.push(key.to_owned());
            }
            line.clear();
        }
        lines
    });
    std::thread::sleep(delay);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    reader.join().unwrap()
}

/// Kills a child while it is still creating its files (0.5 to 6.5 ms after it
/// starts), each round in a fresh directory: the store must open afterwards, and list.
/// (redb writes a new file in place and refuses one whose creation was cut short.)
fn creation_rounds(kind: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    for round in 0..CREATION_ROUNDS {
        let dir = tempfile::tempdir().unwrap();
        let micros = 500 + u64::from(delay(round).subsec_micros()) % 6_000;
        let acked = kill_child(kind, round, dir.path(), Duration::from_micros(micros));
        let store = open(kind, dir.path());
        rt.block_on(async {
            if kind == "multi" {
                // Lists by opening each collection file read-only.
                store.collections(usize::MAX).await.unwrap();
            }
            for key in &acked {
                let got = store.get(&collection(key), key).await.unwrap();
                assert_eq!(
                    got,
                    Some(value(key)),
                    "{kind} creation round {round}: {key} lost"
                );
            }
        });
    }
    eprintln!("{kind}: {CREATION_ROUNDS} kills during creation, every store reopened");
}

fn crash_rounds(kind: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut acked = BTreeSet::new();
    let rt = tokio::runtime::Runtime::new().unwrap();
    for round in 0..ROUNDS {
        let this_round = kill_child(kind, round, dir.path(), delay(round));
        acked.extend(this_round.iter().cloned());

        let store = open(kind, dir.path());
        rt.block_on(async {
            for key in &acked {
                let got = store.get(&collection(key), key).await.unwrap();
                assert_eq!(
                    got,
                    Some(value(key)),
                    "{kind} round {round}: acknowledged {key} lost"
                );
            }
        });
        drop(store);
        eprintln!(
            "{kind} round {round}: {} acknowledged this round, {} in all, all intact",
            this_round.len(),
            acked.len()
        );
    }
    assert!(
        acked.len() > 100,
        "the child acknowledged too little to prove anything"
    );
}

fn main() {
    if let Ok(spec) = std::env::var("KV_CRASH_CHILD") {
        return child(&spec);
    }
    creation_rounds("disk");
    creation_rounds("multi");
    crash_rounds("disk");
    crash_rounds("multi");
    println!("crash durability: ok");
}
