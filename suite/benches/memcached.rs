//! MemcachedStore against raw async-memcached sending the same meta commands for the
//! same keys and bytes, same run: the standard workloads. The raw client is one
//! connection behind a lock, as an application shares one. Needs KV_MEMCACHED_URL
//! (scripts/servers.sh); without it, says so and measures nothing.
//!
//! `delete` answers whether a live entry was removed; memcached keeps an entry up to a
//! second past its millisecond deadline, so the store looks before deleting (two round
//! trips to the raw client's one): its target is 0.45.

mod common;

use std::sync::Arc;

use async_memcached::{Client, MetaProtocol};
use bytes::Bytes;
use common::workloads::{COLLECTION, Kind, Ours, Side, compare};
use kv_store_adapter::KvStore;
use kv_store_adapter::stores::MemcachedStore;
use tokio::sync::Mutex;

/// The store's marker flags, 0x4B560001.
const FLAGS: u32 = 0x4B56_0001;

#[derive(Clone)]
struct Raw {
    conn: Arc<Mutex<Client>>,
    namespace: String,
    /// The namespace's generation, as the store read it from the server.
    generation: String,
}

impl Raw {
    /// The store's key, built as it builds it.
    fn key(&self, key: &str) -> String {
        format!(
            "{}:{}:{}:{COLLECTION}{key}",
            self.namespace,
            self.generation,
            COLLECTION.len()
        )
    }

    fn framed(value: &[u8]) -> Vec<u8> {
        let mut framed = vec![0u8; 8];
        framed.extend_from_slice(value);
        framed
    }
}

impl Side for Raw {
    async fn get(&self, key: &str) -> Option<Bytes> {
        let key = self.key(key);
        let mut conn = self.conn.lock().await;
        let found = conn
            .meta_get(&key, false, None, Some(&["v", "f", "c"]))
            .await
            .unwrap();
        found.and_then(|v| v.data).map(Bytes::from)
    }

    async fn put(&self, key: &str, value: Bytes) {
        let (key, data) = (self.key(key), Self::framed(&value));
        let mut conn = self.conn.lock().await;
        conn.meta_set(
            &key,
            data.as_slice(),
            false,
            None,
            Some(&[&format!("F{FLAGS}")]),
        )
        .await
        .unwrap();
    }

    async fn delete(&self, key: &str) {
        let key = self.key(key);
        let mut conn = self.conn.lock().await;
        let _ = conn.meta_delete(&key, false, None, None).await;
    }

    async fn get_many(&self, keys: &[&str]) -> usize {
        let keys: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
        let mut conn = self.conn.lock().await;
        conn.meta_get_multi(&keys, Some(&["v", "f", "c"]))
            .await
            .unwrap()
            .len()
    }

    async fn put_many(&self, keys: &[&str], value: Bytes) {
        let items: Vec<(String, Vec<u8>)> = keys
            .iter()
            .map(|k| (self.key(k), Self::framed(&value)))
            .collect();
        let items: Vec<(&str, &[u8])> = items
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_slice()))
            .collect();
        let mut conn = self.conn.lock().await;
        conn.meta_set_multi(&items, Some(&[&format!("F{FLAGS}")]))
            .await
            .unwrap();
    }
}

const TASKS: usize = 64;
const PER_TASK: usize = 200;

/// `tasks` tasks, each reading `PER_TASK` keys one after another through `read(task,
/// key)`; answers reads per second.
fn reads_per_second<F, Fut>(
    rt: &tokio::runtime::Runtime,
    tasks: usize,
    read: F,
) -> std::time::Duration
where
    F: Fn(usize, String) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    rt.block_on(async {
        let start = std::time::Instant::now();
        let handles: Vec<_> = (0..tasks)
            .map(|t| {
                let read = read.clone();
                tokio::spawn(async move {
                    for i in 0..PER_TASK {
                        read(t, format!("k{}", (t * PER_TASK + i) % 1_000)).await;
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
        start.elapsed()
    })
}

/// The store's concurrency: 64 tasks of single gets against one task (its connections
/// are shared and pipelined), and against raw async-memcached with a connection per
/// task (what an application gets by opening 64 connections). Interleaved medians.
fn concurrency(rt: &tokio::runtime::Runtime, store: MemcachedStore, url: &str, keyer: &Raw) {
    let store = Arc::new(store);
    let entries: Vec<(String, Bytes)> = (0..1_000)
        .map(|i| (format!("k{i}"), Bytes::from(vec![7u8; 100])))
        .collect();
    let entries: Vec<(&str, Bytes)> = entries
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    rt.block_on(store.put_many(COLLECTION, &entries, None))
        .unwrap();
    let address = url.trim_start_matches("memcached://").to_owned();
    let raw: Vec<Arc<Mutex<Client>>> = rt.block_on(async {
        let mut clients = Vec::new();
        for _ in 0..TASKS {
            let conn = Client::new(format!("tcp://{address}")).await.unwrap();
            clients.push(Arc::new(Mutex::new(conn)));
        }
        clients
    });
    let raw = Arc::new(raw);
    let keyer = Raw {
        conn: raw[0].clone(),
        ..keyer.clone()
    };
    let ours = |tasks: usize| {
        let store = store.clone();
        reads_per_second(rt, tasks, move |_, key| {
            let store = store.clone();
            async move {
                assert!(store.get(COLLECTION, &key).await.unwrap().is_some());
            }
        })
    };
    let theirs = || {
        let (raw, keyer) = (raw.clone(), keyer.clone());
        reads_per_second(rt, TASKS, move |t, key| {
            let (raw, key) = (raw.clone(), keyer.key(&key));
            async move {
                let mut conn = raw[t].lock().await;
                let found = conn.meta_get(&key, false, None, Some(&["v", "f", "c"]));
                assert!(found.await.unwrap().is_some());
            }
        })
    };
    // What pipelining can reach on this machine: one raw connection sending 64 gets in
    // one write (a pipeline ended by `mn`) against the same connection sending one.
    let batched = |batch: usize| {
        let (conn, keyer) = (raw[0].clone(), keyer.clone());
        rt.block_on(async move {
            let keys: Vec<String> = (0..1_000).map(|i| keyer.key(&format!("k{i}"))).collect();
            let mut conn = conn.lock().await;
            let start = std::time::Instant::now();
            for round in 0..PER_TASK {
                let first = (round * batch) % (1_000 - batch);
                let keys = &keys[first..first + batch];
                let found = if batch == 1 {
                    let found = conn.meta_get(&keys[0], false, None, Some(&["v", "f", "c"]));
                    usize::from(found.await.unwrap().is_some())
                } else {
                    let found = conn.meta_get_multi(keys, Some(&["v", "f", "c"]));
                    found.await.unwrap().len()
                };
                assert_eq!(found, batch);
            }
            start.elapsed()
        })
    };
    let scaling = common::interleaved(11, || ours(TASKS) / TASKS as u32, || ours(1));
    let vs_raw = common::interleaved(11, || ours(TASKS), theirs);
    let ceiling = common::interleaved(11, || batched(TASKS) / TASKS as u32, || batched(1));
    for (workload, ratio, target) in [
        ("64 tasks of gets vs one task (reads/s)", scaling, 6.0),
        (
            "64 tasks of gets vs raw, a connection per task",
            vs_raw,
            1.0,
        ),
        (
            "ceiling: raw pipelines of 64 gets vs single gets, one connection (reads/s)",
            ceiling,
            6.0,
        ),
    ] {
        let result = if ratio >= target { "pass" } else { "FAIL" };
        println!(
            "memcached: {workload}: interleaved ratio {ratio:.3} (target >= {target}): {result}"
        );
        common::record(&[
            "memcached".into(),
            workload.into(),
            "-".into(),
            "-".into(),
            format!("{ratio:.3}"),
            format!("{target:.2}"),
            result.into(),
        ]);
    }
}

fn main() {
    let Some(url) = common::server_url("memcached", "KV_MEMCACHED_URL") else {
        return;
    };
    let rt = common::runtime();
    let namespace = format!("bench{}", std::process::id());
    let (store, raw) = rt.block_on(async {
        let store = MemcachedStore::connect(&url).await.unwrap();
        let store = store.with_namespace(&namespace).unwrap();
        let address = url.trim_start_matches("memcached://");
        let conn = Client::new(format!("tcp://{address}")).await.unwrap();
        let key = store.memcached_key(COLLECTION, "k").await.unwrap();
        let raw = Raw {
            conn: Arc::new(Mutex::new(conn)),
            namespace: namespace.clone(),
            generation: key.split(':').nth(1).unwrap().to_owned(),
        };
        assert_eq!(key, raw.key("k"), "the raw side writes the store's keys");
        (store, raw)
    });
    concurrency(&rt, store.clone(), &url, &raw);
    if std::env::args().any(|a| a == "--concurrency-only") {
        return;
    }
    let mut c = common::criterion().measurement_time(std::time::Duration::from_secs(2));
    let targets = Kind::ALL.map(|k| (k, if k == Kind::Delete { 0.45 } else { 0.9 }));
    compare(&mut c, &rt, "memcached", Ours(store), raw, &targets, 50);
    c.final_summary();
}
