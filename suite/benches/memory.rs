//! MemoryStore against the raw moka cache it is built on, same keys, same run: the
//! standard workloads against moka configured as the store configures it (per-entry
//! expiry, foldhash), and single operations against plain moka (no expiry policy,
//! SipHash) and mini-moka, which lacks per-entry expiry.

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::workloads::{Kind, Ours, Side, compare_pooled};
use common::{Pair, interleaved, report};
use criterion::Criterion;
use kv_store_adapter::KvStore;
use kv_store_adapter::stores::MemoryStore;

const KEYS: usize = 10_000;

fn keys() -> Vec<String> {
    (0..KEYS).map(|i| format!("user:{i:08}")).collect()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let keys = keys();
    let value = Bytes::from(vec![7u8; 100]);

    let store = MemoryStore::with_max_entries(100_000);
    let raw: moka::sync::Cache<String, Bytes> = moka::sync::Cache::new(100_000);
    let mini: mini_moka::sync::Cache<String, Bytes> = mini_moka::sync::Cache::new(100_000);
    for k in &keys {
        rt.block_on(store.put("users", k, value.clone(), None))
            .unwrap();
        raw.insert(k.clone(), value.clone());
        mini.insert(k.clone(), value.clone());
    }

    let mut g = c.benchmark_group("memory");
    let mut i = 0usize;
    let mut next = move || {
        i = (i + 7919) % KEYS;
        i
    };
    g.bench_function("store_get_hit", |b| {
        b.to_async(&rt).iter(|| {
            let k = &keys[next()];
            async { black_box(store.get("users", k).await.unwrap()) }
        })
    });
    g.bench_function("moka_get_hit", |b| {
        b.to_async(&rt).iter(|| {
            let k = &keys[next()];
            async { black_box(raw.get(k.as_str())) }
        })
    });
    g.bench_function("mini_moka_get_hit", |b| {
        b.to_async(&rt).iter(|| {
            let k = &keys[next()];
            async { black_box(mini.get(k)) }
        })
    });
    // Many distinct absent keys: one fixed key would measure one probe length.
    let absent: Vec<String> = (0..KEYS).map(|i| format!("absent:{i:08}")).collect();
    g.bench_function("store_get_miss", |b| {
        b.to_async(&rt).iter(|| {
            let k = &absent[next()];
            async { black_box(store.get("users", k).await.unwrap()) }
        })
    });
    g.bench_function("moka_get_miss", |b| {
        b.to_async(&rt).iter(|| {
            let k = &absent[next()];
            async { black_box(raw.get(k.as_str())) }
        })
    });
    g.bench_function("store_put", |b| {
        b.to_async(&rt).iter(|| {
            let k = &keys[next()];
            let (store, v) = (&store, value.clone());
            async move { store.put("users", k, v, None).await.unwrap() }
        })
    });
    g.bench_function("moka_put", |b| {
        b.to_async(&rt).iter(|| {
            let k = &keys[next()];
            let (raw, v) = (&raw, value.clone());
            async move { raw.insert(k.clone(), v) }
        })
    });
    g.finish();
}

/// Interleaved same-work ratios (store vs raw moka) for get hit, get miss and put.
fn interleaved_ratios() -> [f64; 3] {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (keys, absent) = (
        keys(),
        (0..KEYS)
            .map(|i| format!("absent:{i:08}"))
            .collect::<Vec<_>>(),
    );
    let value = Bytes::from(vec![7u8; 100]);
    let store = MemoryStore::with_max_entries(100_000);
    let raw: moka::sync::Cache<String, Bytes> = moka::sync::Cache::new(100_000);
    for k in &keys {
        rt.block_on(store.put("users", k, value.clone(), None))
            .unwrap();
        raw.insert(k.clone(), value.clone());
    }
    const BLOCK: usize = 2_000;
    let time_store = |set: &[String], put: bool| {
        rt.block_on(async {
            let start = Instant::now();
            for i in 0..BLOCK {
                let k = &set[(i * 7919) % KEYS];
                if put {
                    store.put("users", k, value.clone(), None).await.unwrap();
                } else {
                    black_box(store.get("users", k).await.unwrap());
                }
            }
            start.elapsed()
        })
    };
    let time_raw = |set: &[String], put: bool| {
        rt.block_on(async {
            let start = Instant::now();
            for i in 0..BLOCK {
                let k = &set[(i * 7919) % KEYS];
                if put {
                    raw.insert(k.clone(), value.clone());
                } else {
                    black_box(raw.get(k.as_str()));
                }
            }
            start.elapsed()
        })
    };
    [
        interleaved(101, || time_store(&keys, false), || time_raw(&keys, false)),
        interleaved(
            101,
            || time_store(&absent, false),
            || time_raw(&absent, false),
        ),
        interleaved(101, || time_store(&keys, true), || time_raw(&keys, true)),
    ]
}

/// The raw moka cache configured as `MemoryStore` configures it — a per-entry expiry
/// policy reading each value's own deadline, and foldhash — as one side of the standard
/// workloads. (The dedicated rows above compare with moka without an expiry policy,
/// which cannot do the store's work: per-entry TTL.)
#[derive(Clone)]
struct RawMoka(moka::sync::Cache<String, Deadlined, foldhash::fast::RandomState>);

/// A value and the instant it expires, as the store keeps it.
#[derive(Clone)]
struct Deadlined(Bytes, Option<Instant>);

struct ByDeadline;

impl moka::Expiry<String, Deadlined> for ByDeadline {
    fn expire_after_create(&self, _: &String, v: &Deadlined, now: Instant) -> Option<Duration> {
        v.1.map(|at| at.saturating_duration_since(now))
    }
    fn expire_after_update(
        &self,
        _: &String,
        v: &Deadlined,
        now: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        v.1.map(|at| at.saturating_duration_since(now))
    }
}

impl RawMoka {
    fn new(max: u64) -> Self {
        Self(
            moka::sync::Cache::builder()
                .max_capacity(max)
                .expire_after(ByDeadline)
                .build_with_hasher(Default::default()),
        )
    }
}

impl Side for RawMoka {
    async fn get(&self, key: &str) -> Option<Bytes> {
        self.0.get(key).map(|v| v.0)
    }
    async fn put(&self, key: &str, value: Bytes) {
        self.0.insert(key.to_owned(), Deadlined(value, None))
    }
    async fn delete(&self, key: &str) {
        black_box(self.0.remove(key));
    }
    async fn get_many(&self, keys: &[&str]) -> usize {
        let found: Vec<Option<Bytes>> = keys.iter().map(|k| self.0.get(*k).map(|v| v.0)).collect();
        found.len()
    }
    async fn put_many(&self, keys: &[&str], value: Bytes) {
        for k in keys {
            self.0
                .insert((*k).to_owned(), Deadlined(value.clone(), None));
        }
    }
}

fn main() {
    let mut c = common::criterion();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let targets = Kind::ALL.map(|k| {
        (
            k,
            if k == Kind::GetHit || k == Kind::GetMiss {
                0.85
            } else {
                0.8
            },
        )
    });
    // Pooled over 8 fresh pairs of caches: each moka instance's random hash seed and
    // layout shift one pair's ratio by a few percent for the whole run.
    compare_pooled(
        &mut c,
        &rt,
        "memory-workloads",
        || {
            (
                Ours(MemoryStore::with_max_entries(100_000)),
                RawMoka::new(100_000),
            )
        },
        8,
        &targets,
        2_000,
    );
    bench(&mut c);
    c.final_summary();
    let [hit, miss, put] = interleaved_ratios();
    report(
        "memory",
        &[
            Pair {
                workload: "get hit (vs moka)",
                ours: "store_get_hit",
                raw: "moka_get_hit",
                target: 0.85,
                interleaved: Some(hit),
                ..Default::default()
            },
            Pair {
                workload: "get miss (vs moka)",
                ours: "store_get_miss",
                raw: "moka_get_miss",
                target: 0.85,
                interleaved: Some(miss),
                ..Default::default()
            },
            Pair {
                workload: "put (vs moka)",
                ours: "store_put",
                raw: "moka_put",
                target: 0.8,
                interleaved: Some(put),
                ..Default::default()
            },
            Pair {
                workload: "raw moka get vs raw mini-moka get",
                ours: "moka_get_hit",
                raw: "mini_moka_get_hit",
                target: 0.0,
                interleaved: None,
                ..Default::default()
            },
        ],
    );
}
