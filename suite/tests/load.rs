//! Load: 64 tasks × 10,000 mixed operations through a four-wrapper stack
//! (`Stats<Retry<Timeout<PrefixKeys<store>>>>`) over Redis and over DiskStore. Each
//! task owns its keys and keeps a model of them, so every answer is checked exactly;
//! no call may fail, and the Statistics counters must equal the operations issued.
#![cfg(all(feature = "disk", feature = "redis"))]

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use kv_store_adapter::stores::{DiskStore, RedisStore};
use kv_store_adapter::testkit::{server_url, unique};
use kv_store_adapter::wrappers::{CollectionStats, RetryPolicy, Stats};
use kv_store_adapter::{KvStore, KvStoreExt};

const TASKS: u64 = 64;
const OPS: u64 = 10_000;
const KEYS: u64 = 50;

fn hit(hit: bool, hits: &mut u64, misses: &mut u64) {
    *if hit { hits } else { misses } += 1;
}

/// One task's mixed workload over its own keys, checked against its model.
async fn task<S: KvStore>(store: S, c: String, task: u64) -> CollectionStats {
    let mut model: HashMap<String, Bytes> = HashMap::new();
    let mut expected = CollectionStats::default();
    let mut rng = task.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for i in 0..OPS {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let key = format!("t{task}-{}", rng % KEYS);
        match i % 10 {
            0..=3 => {
                let got = store.get(&c, &key).await.unwrap();
                assert_eq!(got.as_ref(), model.get(&key), "get {key}");
                hit(
                    got.is_some(),
                    &mut expected.get_hits,
                    &mut expected.get_misses,
                );
            }
            4..=5 => {
                let value = Bytes::from(format!("{task}:{i}"));
                store.put(&c, &key, value.clone(), None).await.unwrap();
                model.insert(key, value);
                expected.puts += 1;
            }
            6 => {
                let removed = store.delete(&c, &key).await.unwrap();
                assert_eq!(removed, model.remove(&key).is_some(), "delete {key}");
                hit(
                    removed,
                    &mut expected.delete_hits,
                    &mut expected.delete_misses,
                );
            }
            7 => {
                let got = store.ttl(&c, &key).await.unwrap();
                assert_eq!(got.as_ref().map(|e| &e.value), model.get(&key), "ttl {key}");
                hit(
                    got.is_some(),
                    &mut expected.ttl_hits,
                    &mut expected.ttl_misses,
                );
            }
            8 => {
                let keys: Vec<String> = (0..4)
                    .map(|j| format!("t{task}-{}", (rng + j) % KEYS))
                    .collect();
                let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
                let got = store.get_many(&c, &refs).await.unwrap();
                for (k, v) in keys.iter().zip(&got) {
                    assert_eq!(v.as_ref(), model.get(k), "get_many {k}");
                    hit(
                        v.is_some(),
                        &mut expected.get_hits,
                        &mut expected.get_misses,
                    );
                }
            }
            _ => {
                let entries: Vec<(String, Bytes)> = (0..3)
                    .map(|j| {
                        (
                            format!("t{task}-{}", (rng + j) % KEYS),
                            Bytes::from(format!("{i}.{j}")),
                        )
                    })
                    .collect();
                let refs: Vec<(&str, Bytes)> = entries
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.clone()))
                    .collect();
                store.put_many(&c, &refs, None).await.unwrap();
                expected.puts += entries.len() as u64;
                model.extend(entries);
            }
        }
    }
    expected
}

/// Runs every task on `store` (already wrapped) and checks the counters.
async fn under_load<S: KvStore + Clone + 'static>(store: Stats<S>) {
    let c = unique("load");
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| tokio::spawn(task(store.clone(), c.clone(), t)))
        .collect();
    let mut expected = CollectionStats::default();
    for t in tasks {
        expected += t.await.expect("no task panicked");
    }
    let counted = store.collection_stats(&c);
    // No call failed (errors stays 0 in `expected`), and every count matches.
    assert_eq!(counted, expected);
    let calls_per_task = OPS; // batch keys count once each, so operations exceed calls
    assert!(counted.operations() >= TASKS * calls_per_task);
    eprintln!(
        "{} operations counted, as issued: {expected:?}",
        counted.operations()
    );
}

fn stack<S: KvStore + Clone + 'static>(store: S) -> Stats<impl KvStore + Clone + 'static> {
    let policy = RetryPolicy::default().max_attempts(3);
    store
        .prefix_keys("load")
        .unwrap()
        .timeout(Duration::from_secs(10))
        .retry(policy)
        .with_stats()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_under_load() {
    let Some(url) = server_url("KV_REDIS_URL") else {
        return;
    };
    let store = RedisStore::connect(&url).await.unwrap();
    under_load(stack(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_under_load() {
    let dir = tempfile::tempdir().unwrap();
    let store = DiskStore::open(dir.path().join("kv.redb")).unwrap();
    under_load(stack(store)).await;
}
