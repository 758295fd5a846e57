//! RedisStore against the raw redis crate doing the same commands on the same kind of
//! connection (a multiplexed ConnectionManager), same run. Needs KV_REDIS_URL
//! (scripts/servers.sh); without it the benchmark says so and measures nothing.

#[macro_use]
mod common;

use std::hint::black_box;

use bytes::Bytes;
use kv_store_adapter::KvStore;
use kv_store_adapter::stores::RedisStore;
use redis::aio::ConnectionManager;
use tokio::runtime::Runtime;

const KEYS: usize = 1_000;
const IN_FLIGHT: usize = 64;
const BATCH: usize = 100;

struct Setup {
    rt: Runtime,
    store: RedisStore,
    raw: ConnectionManager,
    keys: Vec<String>,
    redis_keys: Vec<Vec<u8>>,
    value: Bytes,
}

impl Setup {
    fn new(url: &str) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (store, raw) = rt.block_on(async {
            let store = RedisStore::open(url)
                .await
                .unwrap()
                .with_namespace("bench")
                .unwrap();
            let raw = redis::Client::open(url)
                .unwrap()
                .get_connection_manager()
                .await
                .unwrap();
            (store, raw)
        });
        let keys: Vec<String> = (0..KEYS).map(|i| format!("user:{i:08}")).collect();
        let redis_keys = keys.iter().map(|k| store.redis_key("users", k)).collect();
        let value = Bytes::from(vec![7u8; 100]);
        let entries: Vec<(&str, Bytes)> =
            keys.iter().map(|k| (k.as_str(), value.clone())).collect();
        rt.block_on(store.put_many("users", &entries, None))
            .unwrap();
        Self {
            rt,
            store,
            raw,
            keys,
            redis_keys,
            value,
        }
    }

    async fn store_get(&self, i: usize) {
        black_box(self.store.get("users", &self.keys[i % KEYS]).await.unwrap());
    }

    async fn raw_get(&self, i: usize) {
        let mut conn = self.raw.clone();
        let v: Option<Vec<u8>> = redis::cmd("GET")
            .arg(&self.redis_keys[i % KEYS])
            .query_async(&mut conn)
            .await
            .unwrap();
        black_box(v);
    }

    async fn store_in_flight(&self, i: usize) {
        let mut set = tokio::task::JoinSet::new();
        for j in 0..IN_FLIGHT {
            let (store, key) = (self.store.clone(), self.keys[(i + j) % KEYS].clone());
            set.spawn(async move { black_box(store.get("users", &key).await.unwrap()) });
        }
        while set.join_next().await.is_some() {}
    }

    async fn raw_in_flight(&self, i: usize) {
        let mut set = tokio::task::JoinSet::new();
        for j in 0..IN_FLIGHT {
            let (mut conn, key) = (self.raw.clone(), self.redis_keys[(i + j) % KEYS].clone());
            set.spawn(async move {
                let v: Option<Vec<u8>> = redis::cmd("GET")
                    .arg(key)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                black_box(v)
            });
        }
        while set.join_next().await.is_some() {}
    }

    fn batch(&self, i: usize) -> std::ops::Range<usize> {
        let start = (i * BATCH) % (KEYS - BATCH);
        start..start + BATCH
    }

    async fn store_get_many(&self, i: usize) {
        let keys: Vec<&str> = self.keys[self.batch(i)]
            .iter()
            .map(String::as_str)
            .collect();
        black_box(self.store.get_many("users", &keys).await.unwrap());
    }

    async fn raw_get_many(&self, i: usize) {
        let mut conn = self.raw.clone();
        let v: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
            .arg(&self.redis_keys[self.batch(i)])
            .query_async(&mut conn)
            .await
            .unwrap();
        black_box(v);
    }

    async fn store_put_many(&self, i: usize) {
        let entries: Vec<(&str, Bytes)> = self.keys[self.batch(i)]
            .iter()
            .map(|k| (k.as_str(), self.value.clone()))
            .collect();
        self.store.put_many("users", &entries, None).await.unwrap();
    }

    async fn raw_put_many(&self, i: usize) {
        let mut pipe = redis::pipe();
        for key in &self.redis_keys[self.batch(i)] {
            // The same bytes the store writes: its format byte, then the value.
            let mut framed = vec![1u8];
            framed.extend_from_slice(&self.value);
            pipe.cmd("SET").arg(key).arg(framed).ignore();
        }
        pipe.query_async::<()>(&mut self.raw.clone()).await.unwrap();
    }
}

server_bench!(
    "redis",
    "KV_REDIS_URL",
    [
        ("get (vs GET)", store_get, raw_get, 0.95),
        ("64 gets in flight", store_in_flight, raw_in_flight, 0.9),
        ("get_many 100 (vs MGET)", store_get_many, raw_get_many, 0.9),
        (
            "put_many 100 (vs pipelined SET)",
            store_put_many,
            raw_put_many,
            0.9
        ),
    ]
);
