//! MemcachedStore against raw async-memcached doing the same meta gets, same run.
//! Needs KV_MEMCACHED_URL (scripts/servers.sh); without it, says so and measures nothing.

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use async_memcached::{Client, MetaProtocol};
use bytes::Bytes;
use common::{Pair, interleaved, report};
use kv_store_adapter::KvStore;
use kv_store_adapter::stores::MemcachedStore;
use tokio::sync::Mutex;

const KEYS: usize = 1_000;

fn main() {
    let Ok(url) = std::env::var("KV_MEMCACHED_URL") else {
        println!(
            "memcached benchmark skipped: KV_MEMCACHED_URL is not set (run scripts/servers.sh)"
        );
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let address = url.trim_start_matches("memcached://").to_owned();
    let keys: Vec<String> = (0..KEYS).map(|i| format!("user:{i:08}")).collect();
    let (store, raw, mc_keys) = rt.block_on(async {
        let store = MemcachedStore::open(&url)
            .await
            .unwrap()
            .with_namespace("bench")
            .unwrap();
        let value = Bytes::from(vec![7u8; 100]);
        let entries: Vec<(&str, Bytes)> =
            keys.iter().map(|k| (k.as_str(), value.clone())).collect();
        store.put_many("users", &entries, None).await.unwrap();
        let mut mc_keys = Vec::new();
        for k in &keys {
            mc_keys.push(store.memcached_key("users", k).await.unwrap());
        }
        // The raw client is one connection behind a lock, as an application shares it.
        let raw = Mutex::new(Client::new(format!("tcp://{address}")).await.unwrap());
        (store, raw, mc_keys)
    });
    let store_get = |i: usize| {
        let (store, key) = (&store, &keys[i % KEYS]);
        async move { black_box(store.get("users", key).await.unwrap()) }
    };
    let raw_get = |i: usize| {
        let (raw, key) = (&raw, &mc_keys[i % KEYS]);
        async move {
            let got = raw
                .lock()
                .await
                .meta_get(key, false, None, Some(&["v", "f"]))
                .await
                .unwrap();
            black_box(got)
        }
    };
    let mut c = common::criterion().measurement_time(Duration::from_secs(2));
    let mut g = c.benchmark_group("memcached");
    let mut i = 0;
    g.bench_function("store_get", |b| {
        b.to_async(&rt).iter(|| {
            i += 1;
            store_get(i)
        })
    });
    g.bench_function("raw_get", |b| {
        b.to_async(&rt).iter(|| {
            i += 1;
            raw_get(i)
        })
    });
    g.finish();
    let time = |ours: bool| {
        rt.block_on(async {
            let start = Instant::now();
            for i in 0..50 {
                if ours {
                    store_get(i).await;
                } else {
                    raw_get(i).await;
                }
            }
            start.elapsed()
        })
    };
    let ratio = interleaved(41, || time(true), || time(false));
    c.final_summary();
    report(
        "memcached",
        &[Pair {
            workload: "get (vs meta get)",
            ours: "store_get",
            raw: "raw_get",
            target: 0.9,
            interleaved: Some(ratio),
        }],
    );
}
