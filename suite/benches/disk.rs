//! DiskStore against raw redb doing the same reads and durable writes, same run.
//!
//! Raw redb is measured twice: called inline on the async runtime thread (what the
//! store's default adaptive reads do while reads are fast) and through `spawn_blocking`
//! (what the store does with `inline_reads(false)`, or after a slow read).

mod common;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use common::workloads::{Ours, Side, all, compare};
use common::{Pair, interleaved, report};
use criterion::Criterion;
use kv_store_adapter::KvStore;
use kv_store_adapter::stores::{DiskStore, MultiDiskStore};
use redb::{Database, ReadableDatabase, TableDefinition};

const KEYS: usize = 10_000;
const TABLE: TableDefinition<&str, &[u8]> = TableDefinition::new("users");

fn raw_get(db: &Database, key: &str) -> Option<Bytes> {
    let txn = db.begin_read().unwrap();
    let table = txn.open_table(TABLE).unwrap();
    let got = table.get(key).unwrap();
    got.map(|v| Bytes::copy_from_slice(v.value()))
}

fn raw_put(db: &Database, key: &str, value: &[u8]) {
    let txn = db.begin_write().unwrap();
    txn.open_table(TABLE).unwrap().insert(key, value).unwrap();
    txn.commit().unwrap();
}

/// Interleaved ratio of store gets to raw redb gets, on the benchmarks' multi-thread
/// runtime: a store with `reads` fixed by `inline_reads` (`None`: the default,
/// adaptive) against redb on the calling thread, or, for `Some(false)`, through
/// `spawn_blocking`.
fn interleaved_get(reads: Option<bool>) -> f64 {
    let inline = reads != Some(false);
    let rt = common::runtime();
    let dir = tempfile::tempdir().unwrap();
    let keys: Arc<Vec<String>> = Arc::new((0..KEYS).map(|i| format!("user:{i:08}")).collect());
    let value = Bytes::from(vec![7u8; 100]);
    let mut builder = DiskStore::builder(dir.path().join("store.redb"));
    if let Some(inline) = reads {
        builder = builder.inline_reads(inline);
    }
    let store = builder.open().unwrap();
    let entries: Vec<(&str, Bytes)> = keys.iter().map(|k| (k.as_str(), value.clone())).collect();
    rt.block_on(store.put_many("users", &entries, None))
        .unwrap();
    let db = Arc::new(Database::create(dir.path().join("raw.redb")).unwrap());
    let txn = db.begin_write().unwrap();
    {
        let mut table = txn.open_table(TABLE).unwrap();
        for k in keys.iter() {
            table.insert(k.as_str(), &value[..]).unwrap();
        }
    }
    txn.commit().unwrap();
    // Hand-offs to a blocking thread take microseconds: fewer calls per block.
    let block = if inline { 2_000 } else { 200 };
    interleaved(
        101,
        || {
            rt.block_on(async {
                let start = Instant::now();
                for i in 0..block {
                    black_box(store.get("users", &keys[(i * 7919) % KEYS]).await.unwrap());
                }
                start.elapsed()
            })
        },
        || {
            rt.block_on(async {
                let start = Instant::now();
                for i in 0..block {
                    let n = (i * 7919) % KEYS;
                    if inline {
                        black_box(raw_get(&db, &keys[n]));
                    } else {
                        let (db, keys) = (db.clone(), keys.clone());
                        let got = tokio::task::spawn_blocking(move || raw_get(&db, &keys[n]));
                        black_box(got.await.unwrap());
                    }
                }
                start.elapsed()
            })
        },
    )
}

/// Interleaved ratio of the default store's `get_many` of 100 keys to raw redb reading
/// the same 100 keys in one read transaction on the calling thread (the fastest a raw
/// caller can do while the pages are cached), with the ops/s of both: the issue's
/// "get_many ×100 ≥ 0.9× raw redb in one transaction".
fn interleaved_get_many() -> (f64, f64, f64) {
    let rt = common::runtime();
    let dir = tempfile::tempdir().unwrap();
    let keys: Vec<String> = (0..KEYS).map(|i| format!("user:{i:08}")).collect();
    let value = Bytes::from(vec![7u8; 100]);
    let store = DiskStore::open(dir.path().join("store.redb")).unwrap();
    let entries: Vec<(&str, Bytes)> = keys.iter().map(|k| (k.as_str(), value.clone())).collect();
    rt.block_on(store.put_many("users", &entries, None))
        .unwrap();
    let db = Database::create(dir.path().join("raw.redb")).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut table = txn.open_table(TABLE).unwrap();
        for k in &keys {
            table.insert(k.as_str(), &value[..]).unwrap();
        }
    }
    txn.commit().unwrap();
    let batches: Vec<Vec<&str>> = (0..KEYS / 100)
        .map(|b| {
            (0..100)
                .map(|i| keys[(b * 100 + i) * 7919 % KEYS].as_str())
                .collect()
        })
        .collect();
    let (mut ours_time, mut raw_time) = (Vec::new(), Vec::new());
    const BLOCK: usize = 50;
    let ratio = interleaved(
        101,
        || {
            let took = rt.block_on(async {
                let start = Instant::now();
                for batch in batches.iter().cycle().take(BLOCK) {
                    black_box(store.get_many("users", batch).await.unwrap());
                }
                start.elapsed()
            });
            ours_time.push(took.as_secs_f64());
            took
        },
        || {
            let took = rt.block_on(async {
                let start = Instant::now();
                for batch in batches.iter().cycle().take(BLOCK) {
                    let txn = db.begin_read().unwrap();
                    let table = txn.open_table(TABLE).unwrap();
                    let found: Vec<Option<Bytes>> = batch
                        .iter()
                        .map(|k| {
                            let got = table.get(*k).unwrap();
                            got.map(|v| Bytes::copy_from_slice(v.value()))
                        })
                        .collect();
                    black_box(found);
                }
                start.elapsed()
            });
            raw_time.push(took.as_secs_f64());
            took
        },
    );
    let keys_per_s = |t: Vec<f64>| (BLOCK * 100) as f64 / common::median(t);
    (keys_per_s(ours_time), keys_per_s(raw_time), ratio)
}

fn bench(c: &mut Criterion) {
    let rt = common::runtime();
    let dir = tempfile::tempdir().unwrap();
    let keys: Arc<Vec<String>> = Arc::new((0..KEYS).map(|i| format!("user:{i:08}")).collect());
    let value = Bytes::from(vec![7u8; 100]);

    let store = DiskStore::open(dir.path().join("store.redb")).unwrap();
    let inline = DiskStore::builder(dir.path().join("inline.redb"))
        .inline_reads(true)
        .open()
        .unwrap();
    let blocking = DiskStore::builder(dir.path().join("blocking.redb"))
        .inline_reads(false)
        .open()
        .unwrap();
    let db = Arc::new(Database::create(dir.path().join("raw.redb")).unwrap());
    let entries: Vec<(&str, Bytes)> = keys.iter().map(|k| (k.as_str(), value.clone())).collect();
    for s in [&store, &inline, &blocking] {
        rt.block_on(s.put_many("users", &entries, None)).unwrap();
    }
    {
        let txn = db.begin_write().unwrap();
        {
            let mut table = txn.open_table(TABLE).unwrap();
            for k in keys.iter() {
                table.insert(k.as_str(), &value[..]).unwrap();
            }
        }
        txn.commit().unwrap();
    }

    let mut g = c.benchmark_group("disk");
    let mut i = 0usize;
    let mut next = move || {
        i = (i + 7919) % KEYS;
        i
    };
    g.bench_function("store_get", |b| {
        b.to_async(&rt).iter(|| {
            let (store, k) = (&store, &keys[next()]);
            async move { black_box(store.get("users", k).await.unwrap()) }
        })
    });
    g.bench_function("store_get_blocking_reads", |b| {
        b.to_async(&rt).iter(|| {
            let (store, k) = (&blocking, &keys[next()]);
            async move { black_box(store.get("users", k).await.unwrap()) }
        })
    });
    g.bench_function("store_get_inline_reads", |b| {
        b.to_async(&rt).iter(|| {
            let (store, k) = (&inline, &keys[next()]);
            async move { black_box(store.get("users", k).await.unwrap()) }
        })
    });
    g.bench_function("redb_get_inline", |b| {
        b.to_async(&rt).iter(|| {
            let (db, k) = (&db, &keys[next()]);
            async move { black_box(raw_get(db, k)) }
        })
    });
    g.bench_function("redb_get_spawn_blocking", |b| {
        b.to_async(&rt).iter(|| {
            let (db, keys, n) = (db.clone(), keys.clone(), next());
            async move {
                let got = tokio::task::spawn_blocking(move || raw_get(&db, &keys[n]));
                black_box(got.await.unwrap())
            }
        })
    });
    g.bench_function("store_put_durable", |b| {
        b.to_async(&rt).iter(|| {
            let (store, k, v) = (&store, &keys[next()], value.clone());
            async move { store.put("users", k, v, None).await.unwrap() }
        })
    });
    // 64 tasks each making one durable put: time per round of 64.
    g.bench_function("store_put_durable_64_concurrent", |b| {
        b.to_async(&rt).iter(|| {
            let (store, keys, base, v) = (store.clone(), keys.clone(), next(), value.clone());
            async move {
                let mut set = tokio::task::JoinSet::new();
                for j in 0..64 {
                    let (store, keys, v) = (store.clone(), keys.clone(), v.clone());
                    set.spawn(async move {
                        store
                            .put("users", &keys[(base + j) % KEYS], v, None)
                            .await
                            .unwrap()
                    });
                }
                while set.join_next().await.is_some() {}
            }
        })
    });
    g.bench_function("redb_put_durable_spawn_blocking", |b| {
        b.to_async(&rt).iter(|| {
            let (db, keys, n, v) = (db.clone(), keys.clone(), next(), value.clone());
            async move {
                let put = tokio::task::spawn_blocking(move || raw_put(&db, &keys[n], &v));
                put.await.unwrap()
            }
        })
    });
    g.finish();
}

/// Raw redb through `spawn_blocking` (as any async caller must), one transaction per
/// call and per batch, as one side of the standard workloads.
#[derive(Clone)]
struct RawRedb(Arc<Database>);

impl RawRedb {
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Database) -> T + Send + 'static,
    ) -> T {
        let db = self.0.clone();
        tokio::task::spawn_blocking(move || f(&db)).await.unwrap()
    }
}

impl Side for RawRedb {
    async fn get(&self, key: &str) -> Option<Bytes> {
        let key = key.to_owned();
        self.blocking(move |db| raw_get(db, &key)).await
    }
    async fn put(&self, key: &str, value: Bytes) {
        let key = key.to_owned();
        self.blocking(move |db| raw_put(db, &key, &value)).await
    }
    async fn delete(&self, key: &str) {
        let key = key.to_owned();
        self.blocking(move |db| {
            let txn = db.begin_write().unwrap();
            black_box(
                txn.open_table(TABLE)
                    .unwrap()
                    .remove(key.as_str())
                    .unwrap()
                    .is_some(),
            );
            txn.commit().unwrap();
        })
        .await
    }
    async fn get_many(&self, keys: &[&str]) -> usize {
        let keys: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
        self.blocking(move |db| {
            let txn = db.begin_read().unwrap();
            let table = txn.open_table(TABLE).unwrap();
            let found: Vec<Option<Bytes>> = keys
                .iter()
                .map(|k| {
                    table
                        .get(k.as_str())
                        .unwrap()
                        .map(|v| Bytes::copy_from_slice(v.value()))
                })
                .collect();
            found.len()
        })
        .await
    }
    async fn put_many(&self, keys: &[&str], value: Bytes) {
        let keys: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
        self.blocking(move |db| {
            let txn = db.begin_write().unwrap();
            {
                let mut table = txn.open_table(TABLE).unwrap();
                for k in &keys {
                    table.insert(k.as_str(), &value[..]).unwrap();
                }
            }
            txn.commit().unwrap();
        })
        .await
    }
}

/// DiskStore::put_many of 10,000 × 1 KiB must not hold up the executor: the longest
/// stall of a 1 ms ticker beside it, against raw redb doing the same write through
/// spawn_blocking (which holds up nothing but the key copy).
fn executor_stall() {
    let dir = tempfile::tempdir().unwrap();
    let store = DiskStore::builder(dir.path().join("stall.redb"))
        .durable(false)
        .open()
        .unwrap();
    let raw = RawRedb(Arc::new(
        Database::create(dir.path().join("raw-stall.redb")).unwrap(),
    ));
    let names: Vec<String> = (0..10_000).map(|i| format!("key-{i:05}")).collect();
    let value = Bytes::from(vec![7u8; 1024]);
    let entries: Vec<(&str, Bytes)> = names.iter().map(|k| (k.as_str(), value.clone())).collect();
    let keys: Vec<&str> = names.iter().map(String::as_str).collect();
    let ours = common::longest_stall(11, || async {
        store.put_many("c", &entries, None).await.unwrap();
    });
    let raw_stall = common::longest_stall(11, || raw.put_many(&keys, value.clone()));
    let raw_is = "raw redb via spawn_blocking";
    common::stall_row("disk", "put_many 10,000 x 1 KiB", ours, raw_stall, raw_is);
    // The same bound for reading them back (both wrote them above) in one batch, with
    // the store's default (adaptive) reads.
    let ours = common::longest_stall(11, || async {
        assert_eq!(
            store
                .get_many("c", &keys)
                .await
                .unwrap()
                .iter()
                .flatten()
                .count(),
            keys.len()
        );
    });
    let raw_stall = common::longest_stall(11, || async {
        assert_eq!(raw.get_many(&keys).await, keys.len());
    });
    common::stall_row("disk", "get_many 10,000 x 1 KiB", ours, raw_stall, raw_is);
}

fn main() {
    executor_stall();
    if std::env::args().any(|a| a == "--stall-only") {
        return;
    }
    let (ours, raw, ratio) = interleaved_get_many();
    let target = 0.9;
    let result = if ratio >= target { "pass" } else { "FAIL" };
    println!(
        "\ndisk: get_many 100, default reads, vs redb inline in one read transaction \
         (keys/s, interleaved medians): ours {ours:.0}, raw {raw:.0}, ratio {ratio:.3} \
         (target >= {target}): {result}"
    );
    common::record(&[
        "disk".into(),
        "get_many 100, default reads (vs redb inline, one read txn)".into(),
        format!("{ours:.0}"),
        format!("{raw:.0}"),
        format!("{ratio:.3}"),
        format!("{target:.2}"),
        result.into(),
    ]);
    if std::env::args().any(|a| a == "--get-many-only") {
        return;
    }
    let mut c = common::criterion();
    {
        let rt = common::runtime();
        let dir = tempfile::tempdir().unwrap();
        // Raw redb in a file of its own, as each store keeps one.
        let raw = |name: &str| RawRedb(Arc::new(Database::create(dir.path().join(name)).unwrap()));
        let store = DiskStore::open(dir.path().join("std.redb")).unwrap();
        let group = "disk-workloads";
        compare(
            &mut c,
            &rt,
            group,
            Ours(store),
            raw("raw-std.redb"),
            &all(0.8),
            50,
        );
        // One redb file per collection: the same work in the collection's own file.
        let multi = MultiDiskStore::open(dir.path().join("multi")).unwrap();
        let group = "multi-disk-workloads";
        compare(
            &mut c,
            &rt,
            group,
            Ours(multi),
            raw("raw-multi.redb"),
            &all(0.8),
            50,
        );
    }
    bench(&mut c);
    c.final_summary();

    let (adaptive, blocking, inline) = (
        interleaved_get(None),
        interleaved_get(Some(false)),
        interleaved_get(Some(true)),
    );
    report(
        "disk",
        &[
            Pair {
                workload: "get, default adaptive reads (vs redb inline)",
                ours: "store_get",
                raw: "redb_get_inline",
                target: 0.7,
                interleaved: Some(adaptive),
                ..Default::default()
            },
            Pair {
                workload: "get, blocking reads (vs redb via spawn_blocking)",
                ours: "store_get_blocking_reads",
                raw: "redb_get_spawn_blocking",
                target: 0.8,
                interleaved: Some(blocking),
                ..Default::default()
            },
            Pair {
                workload: "get, inline_reads (vs redb inline)",
                ours: "store_get_inline_reads",
                raw: "redb_get_inline",
                target: 0.8,
                interleaved: Some(inline),
                ..Default::default()
            },
            Pair {
                workload: "64 concurrent durable puts vs sequential store puts",
                ours: "store_put_durable_64_concurrent",
                raw: "store_put_durable",
                target: 10.0,
                interleaved: None,
                per_iter: 64.0,
                raw_per_iter: 1.0,
            },
            Pair {
                workload: "64 concurrent durable puts vs redb txn per put",
                ours: "store_put_durable_64_concurrent",
                raw: "redb_put_durable_spawn_blocking",
                target: 20.0,
                interleaved: None,
                per_iter: 64.0,
                raw_per_iter: 1.0,
            },
            Pair {
                workload: "durable put (vs redb txn per put)",
                ours: "store_put_durable",
                raw: "redb_put_durable_spawn_blocking",
                target: 0.8,
                interleaved: None,
                ..Default::default()
            },
        ],
    );
}
