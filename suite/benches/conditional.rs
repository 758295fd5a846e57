//! Conditional writes against the raw client doing the same atomic operation, same
//! run: a create of a new key, a compare-and-swap increment (read the entry, write the
//! successor if unchanged) one at a time, and 64 increments of 64 keys in flight.
//! Memory: moka's per-key compute, as MemoryStore uses it. Redis and Valkey (each
//! whose URL is set, scripts/servers.sh): `SET NX` and the same server-side script.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{Pair, interleaved, report};
use kv_store_adapter::stores::MemoryStore;
use kv_store_adapter::{ConditionalWrites, KvStore, Version, Written};
use tokio::runtime::Runtime;

const IN_FLIGHT: usize = 64;
const BLOCK: usize = 200;

/// One side: create a key, and increment a counter by compare-and-swap.
trait Side: Clone + Send + Sync + 'static {
    fn create(&self, key: &str) -> impl Future<Output = bool> + Send;
    fn increment(&self, key: &str) -> impl Future<Output = ()> + Send;
}

#[derive(Clone)]
struct Ours<S>(S);

impl<S: KvStore + ConditionalWrites + Clone + 'static> Side for Ours<S> {
    async fn create(&self, key: &str) -> bool {
        self.0
            .create("c", key, Bytes::from_static(b"0"), None)
            .await
            .unwrap()
            .is_applied()
    }
    async fn increment(&self, key: &str) {
        loop {
            let (n, version) = match self.0.get_entry("c", key).await.unwrap() {
                Some(e) => (parse(&e.value), e.version.unwrap()),
                None => {
                    self.create(key).await;
                    continue;
                }
            };
            let next = Bytes::from((n + 1).to_string());
            if let Written::Applied(_) = self
                .0
                .put_if_version("c", key, next, version, None)
                .await
                .unwrap()
            {
                return;
            }
        }
    }
}

fn parse(value: &[u8]) -> u64 {
    std::str::from_utf8(value).unwrap().parse().unwrap()
}

/// moka's atomic per-key compute, with a version beside the value as the store keeps.
#[derive(Clone)]
struct RawMoka(moka::sync::Cache<String, (Bytes, Version)>);

impl Side for RawMoka {
    async fn create(&self, key: &str) -> bool {
        let mut applied = false;
        self.0.entry(key.to_owned()).and_compute_with(|found| {
            if found.is_some() {
                moka::ops::compute::Op::Nop
            } else {
                applied = true;
                moka::ops::compute::Op::Put((Bytes::from_static(b"0"), Version::unique()))
            }
        });
        applied
    }
    async fn increment(&self, key: &str) {
        loop {
            let Some((value, version)) = self.0.get(key) else {
                self.create(key).await;
                continue;
            };
            let next = Bytes::from((parse(&value) + 1).to_string());
            let mut applied = false;
            self.0
                .entry(key.to_owned())
                .and_compute_with(|found| match found {
                    Some(e) if e.value().1 == version => {
                        applied = true;
                        moka::ops::compute::Op::Put((next, Version::unique()))
                    }
                    _ => moka::ops::compute::Op::Nop,
                });
            if applied {
                return;
            }
        }
    }
}

#[cfg(feature = "redis")]
mod raw_redis {
    use super::*;
    use kv_store_adapter::stores::RedisStore;

    const CAS: &str = r"
local cur = redis.call('GET', KEYS[1])
if not cur then return {0, false} end
local f = string.byte(cur, 1)
local ver
if f == 2 then ver = string.sub(cur, 2, 17)
elseif f == 1 then ver = string.rep('\0', 16)
else return {0, cur} end
if ver ~= ARGV[1] then return {0, cur} end
if ARGV[3] == '' then redis.call('SET', KEYS[1], ARGV[2])
else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return {1, false}
";

    /// The raw client writing the store's key names and format: `SET … NX GET` and
    /// the compare-and-swap script by `EVALSHA`.
    #[derive(Clone)]
    pub struct Raw {
        pub conn: redis::aio::ConnectionManager,
        pub store: RedisStore,
        pub script: Arc<redis::Script>,
    }

    impl Raw {
        pub fn new(conn: redis::aio::ConnectionManager, store: RedisStore) -> Self {
            Self {
                conn,
                store,
                script: Arc::new(redis::Script::new(CAS)),
            }
        }
        fn framed(value: &[u8], version: Version) -> Vec<u8> {
            let mut out = vec![2];
            out.extend_from_slice(&version.to_bytes());
            out.extend_from_slice(value);
            out
        }
    }

    impl Side for Raw {
        async fn create(&self, key: &str) -> bool {
            let old: Option<Vec<u8>> = redis::cmd("SET")
                .arg(self.store.redis_key("c", key))
                .arg(Self::framed(b"0", Version::unique()))
                .arg("NX")
                .arg("GET")
                .query_async(&mut self.conn.clone())
                .await
                .unwrap();
            old.is_none()
        }
        async fn increment(&self, key: &str) {
            let rkey = self.store.redis_key("c", key);
            loop {
                let raw: Option<Vec<u8>> = redis::cmd("GET")
                    .arg(&rkey)
                    .query_async(&mut self.conn.clone())
                    .await
                    .unwrap();
                let Some(raw) = raw else {
                    self.create(key).await;
                    continue;
                };
                let n = parse(&raw[17..]);
                let next = Self::framed((n + 1).to_string().as_bytes(), Version::unique());
                let (applied, _): (i64, Option<Vec<u8>>) = self
                    .script
                    .key(&rkey)
                    .arg(&raw[1..17])
                    .arg(next)
                    .arg("")
                    .invoke_async(&mut self.conn.clone())
                    .await
                    .unwrap();
                if applied == 1 {
                    return;
                }
            }
        }
    }
}

/// Times `BLOCK` operations of `work`.
fn block<S: Side>(rt: &Runtime, side: &S, work: &'static str, next: &AtomicU64) -> Duration {
    let start = Instant::now();
    rt.block_on(async {
        match work {
            "create" => {
                for _ in 0..BLOCK {
                    let key = format!("new:{}", next.fetch_add(1, Ordering::Relaxed));
                    assert!(side.create(&key).await);
                }
            }
            "increment" => {
                for _ in 0..BLOCK {
                    side.increment("counter").await;
                }
            }
            _ => {
                for _ in 0..BLOCK / IN_FLIGHT + 1 {
                    let tasks: Vec<_> = (0..IN_FLIGHT)
                        .map(|i| {
                            let side = side.clone();
                            tokio::spawn(async move { side.increment(&format!("k{i}")).await })
                        })
                        .collect();
                    for task in tasks {
                        task.await.unwrap();
                    }
                }
            }
        }
    });
    start.elapsed()
}

fn compare<A: Side, B: Side>(
    c: &mut criterion::Criterion,
    rt: &Runtime,
    group: &str,
    ours: A,
    raw: B,
) {
    let next = AtomicU64::new(0);
    let works = [
        ("create", "create (new key)", BLOCK as f64),
        ("increment", "CAS increment, sequential", BLOCK as f64),
        (
            "in-flight",
            "CAS increment, 64 keys in flight",
            ((BLOCK / IN_FLIGHT + 1) * IN_FLIGHT) as f64,
        ),
    ];
    let mut pairs = Vec::new();
    let leaked: &'static str = Box::leak(group.to_owned().into_boxed_str());
    let mut g = c.benchmark_group(leaked);
    for (work, label, per_iter) in works {
        let ours_id: &'static str = Box::leak(format!("{work}-ours").into_boxed_str());
        let raw_id: &'static str = Box::leak(format!("{work}-raw").into_boxed_str());
        g.bench_function(ours_id, |b| {
            b.iter_custom(|n| (0..n).map(|_| block(rt, &ours, work, &next)).sum())
        });
        g.bench_function(raw_id, |b| {
            b.iter_custom(|n| (0..n).map(|_| block(rt, &raw, work, &next)).sum())
        });
        let ratio = interleaved(
            21,
            || block(rt, &ours, work, &next),
            || block(rt, &raw, work, &next),
        );
        pairs.push(Pair {
            workload: label,
            ours: ours_id,
            raw: raw_id,
            target: 0.8,
            interleaved: Some(ratio),
            per_iter,
            ..Pair::default()
        });
    }
    g.finish();
    report(leaked, &pairs);
}

fn main() {
    let mut c = common::criterion().measurement_time(Duration::from_secs(2));
    let rt = common::runtime();
    let raw = RawMoka(moka::sync::Cache::builder().max_capacity(1_000_000).build());
    compare(
        &mut c,
        &rt,
        "conditional-memory",
        Ours(MemoryStore::with_max_entries(1_000_000)),
        raw,
    );
    #[cfg(feature = "redis")]
    for (group, var) in [
        ("conditional-redis", "KV_REDIS_URL"),
        ("conditional-valkey", "KV_VALKEY_URL"),
    ] {
        let Some(url) = common::server_url(group, var) else {
            continue;
        };
        let (store, conn) = rt.block_on(async {
            let store = kv_store_adapter::stores::RedisStore::connect(&url)
                .await
                .unwrap();
            let conn = redis::Client::open(url.as_str())
                .unwrap()
                .get_connection_manager()
                .await
                .unwrap();
            (
                store
                    .with_namespace(&format!("cbench{}", std::process::id()))
                    .unwrap(),
                conn,
            )
        });
        let raw = raw_redis::Raw::new(conn, store.clone());
        compare(&mut c, &rt, group, Ours(store), raw);
    }
    c.final_summary();
}
