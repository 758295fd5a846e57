//! The standard workloads, run the same way on a store and on its raw client: get hit,
//! get miss, put, delete, 64 gets in flight, get_many and put_many of 100.

use std::future::Future;
use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::Criterion;
use kv_store_adapter::KvStore;
use tokio::runtime::Runtime;

use super::{Pair, interleaved_ratios, median, report};

pub const KEYS: usize = 1_000;
pub const BATCH: usize = 100;
pub const IN_FLIGHT: usize = 64;
pub const COLLECTION: &str = "users";

/// One side of a comparison: the store, or the raw client doing the same work on the
/// same names (the raw side maps `key` the way the store does).
pub trait Side: Clone + Send + Sync + 'static {
    fn get(&self, key: &str) -> impl Future<Output = Option<Bytes>> + Send;
    fn put(&self, key: &str, value: Bytes) -> impl Future<Output = ()> + Send;
    fn delete(&self, key: &str) -> impl Future<Output = ()> + Send;
    fn get_many(&self, keys: &[&str]) -> impl Future<Output = usize> + Send;
    fn put_many(&self, keys: &[&str], value: Bytes) -> impl Future<Output = ()> + Send;
}

/// Any store, through the public API, in [`COLLECTION`].
#[derive(Clone)]
pub struct Ours<S>(pub S);

impl<S: KvStore + Clone + Send + Sync + 'static> Side for Ours<S> {
    async fn get(&self, key: &str) -> Option<Bytes> {
        self.0.get(COLLECTION, key).await.unwrap()
    }
    async fn put(&self, key: &str, value: Bytes) {
        self.0.put(COLLECTION, key, value, None).await.unwrap()
    }
    async fn delete(&self, key: &str) {
        black_box(self.0.delete(COLLECTION, key).await.unwrap());
    }
    async fn get_many(&self, keys: &[&str]) -> usize {
        self.0.get_many(COLLECTION, keys).await.unwrap().len()
    }
    async fn put_many(&self, keys: &[&str], value: Bytes) {
        let entries: Vec<(&str, Bytes)> = keys.iter().map(|k| (*k, value.clone())).collect();
        self.0.put_many(COLLECTION, &entries, None).await.unwrap()
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    GetHit,
    GetMiss,
    Put,
    Delete,
    InFlight,
    GetMany,
    PutMany,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::GetHit,
        Kind::GetMiss,
        Kind::Put,
        Kind::Delete,
        Kind::InFlight,
        Kind::GetMany,
        Kind::PutMany,
    ];

    fn id(self) -> &'static str {
        match self {
            Kind::GetHit => "get_hit",
            Kind::GetMiss => "get_miss",
            Kind::Put => "put",
            Kind::Delete => "delete",
            Kind::InFlight => "in_flight_64",
            Kind::GetMany => "get_many_100",
            Kind::PutMany => "put_many_100",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::GetHit => "get hit",
            Kind::GetMiss => "get miss",
            Kind::Put => "put",
            Kind::Delete => "delete (existing key)",
            Kind::InFlight => "64 gets in flight (gets/s)",
            Kind::GetMany => "get_many 100 (keys/s)",
            Kind::PutMany => "put_many 100 (keys/s)",
        }
    }

    /// Operations per iteration, for ops/s.
    fn ops(self) -> f64 {
        match self {
            Kind::InFlight => IN_FLIGHT as f64,
            Kind::GetMany | Kind::PutMany => BATCH as f64,
            _ => 1.0,
        }
    }
}

/// The key names every side uses.
pub struct Names {
    pub present: Vec<String>,
    absent: Vec<String>,
    doomed: Vec<String>,
}

impl Names {
    pub fn new() -> Self {
        let names = |prefix: &str| (0..KEYS).map(|i| format!("{prefix}:{i:08}")).collect();
        Self {
            present: names("user"),
            absent: names("absent"),
            doomed: names("doomed"),
        }
    }

    fn batch(&self, i: usize) -> Vec<&str> {
        let start = (i * BATCH) % (KEYS - BATCH);
        self.present[start..start + BATCH]
            .iter()
            .map(String::as_str)
            .collect()
    }
}

/// Writes every present key on `side`.
pub async fn seed<S: Side>(side: &S, names: &Names, value: &Bytes) {
    for chunk in names.present.chunks(BATCH) {
        let keys: Vec<&str> = chunk.iter().map(String::as_str).collect();
        side.put_many(&keys, value.clone()).await;
    }
}

/// Times `iters` iterations of `kind` on `side` (set-up, such as writing the entries
/// a delete removes, is not timed).
pub async fn run<S: Side>(
    side: &S,
    kind: Kind,
    iters: u64,
    names: &Names,
    value: &Bytes,
) -> Duration {
    let key = |set: &[String], i: u64| -> String { set[(i as usize * 7919) % KEYS].clone() };
    let mut took = Duration::ZERO;
    match kind {
        Kind::GetHit | Kind::GetMiss => {
            let set = if kind == Kind::GetHit {
                &names.present
            } else {
                &names.absent
            };
            let start = Instant::now();
            for i in 0..iters {
                black_box(side.get(&set[(i as usize * 7919) % KEYS]).await);
            }
            took = start.elapsed();
        }
        Kind::Put => {
            let start = Instant::now();
            for i in 0..iters {
                side.put(&names.present[(i as usize * 7919) % KEYS], value.clone())
                    .await;
            }
            took = start.elapsed();
        }
        Kind::Delete => {
            let mut done = 0;
            while done < iters {
                let n = (iters - done).min(BATCH as u64);
                let keys: Vec<String> = (done..done + n).map(|i| key(&names.doomed, i)).collect();
                let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
                side.put_many(&refs, value.clone()).await;
                let start = Instant::now();
                for k in &refs {
                    side.delete(k).await;
                }
                took += start.elapsed();
                done += n;
            }
        }
        Kind::InFlight => {
            let start = Instant::now();
            for i in 0..iters {
                let mut set = tokio::task::JoinSet::new();
                for j in 0..IN_FLIGHT as u64 {
                    let (side, k) = (side.clone(), key(&names.present, i * 64 + j));
                    set.spawn(async move { black_box(side.get(&k).await) });
                }
                while set.join_next().await.is_some() {}
            }
            took = start.elapsed();
        }
        Kind::GetMany => {
            let start = Instant::now();
            for i in 0..iters {
                black_box(side.get_many(&names.batch(i as usize)).await);
            }
            took = start.elapsed();
        }
        Kind::PutMany => {
            let start = Instant::now();
            for i in 0..iters {
                side.put_many(&names.batch(i as usize), value.clone()).await;
            }
            took = start.elapsed();
        }
    }
    took
}

/// Benchmarks each `(kind, target)` on `ours` and `raw` with criterion, measures the
/// interleaved ratio (blocks of `block` single operations, fewer for in-flight rounds
/// and batches), and prints the report table for `group`.
pub fn compare<O: Side, R: Side>(
    c: &mut Criterion,
    rt: &Runtime,
    group: &str,
    ours: O,
    raw: R,
    targets: &[(Kind, f64)],
    block: u64,
) {
    compare_pooled(
        c,
        rt,
        group,
        || (ours.clone(), raw.clone()),
        1,
        targets,
        block,
    );
}

/// [`compare`] with the interleaved rounds pooled over `instances` fresh pairs from
/// `make`, for in-process stores whose speed depends on one instance's hash seed and
/// memory layout (two caches differ by up to ±5% from those alone); criterion
/// measures the first pair.
pub fn compare_pooled<O: Side, R: Side>(
    c: &mut Criterion,
    rt: &Runtime,
    group: &str,
    make: impl Fn() -> (O, R),
    instances: usize,
    targets: &[(Kind, f64)],
    block: u64,
) {
    let names = Names::new();
    let value = Bytes::from(vec![7u8; 100]);
    let pairs: Vec<(O, R)> = (0..instances)
        .map(|i| {
            let (ours, raw) = make();
            rt.block_on(async {
                // Which side allocates its entries first alternates between pairs.
                if i % 2 == 0 {
                    seed(&ours, &names, &value).await;
                    seed(&raw, &names, &value).await;
                } else {
                    seed(&raw, &names, &value).await;
                    seed(&ours, &names, &value).await;
                }
            });
            (ours, raw)
        })
        .collect();
    let (ours, raw) = &pairs[0];
    let mut g = c.benchmark_group(group);
    let mut ratios = Vec::new();
    for &(kind, _) in targets {
        for (side_name, is_ours) in [("ours", true), ("raw", false)] {
            let id = format!("{}_{side_name}", kind.id());
            g.bench_function(id, |b| {
                b.to_async(rt).iter_custom(|iters| {
                    let (names, value) = (&names, &value);
                    async move {
                        if is_ours {
                            run(ours, kind, iters, names, value).await
                        } else {
                            run(raw, kind, iters, names, value).await
                        }
                    }
                })
            });
        }
        let iters = (block as f64 / kind.ops()).ceil().max(2.0) as u64;
        let pooled = pairs.iter().flat_map(|(ours, raw)| {
            interleaved_ratios(
                31,
                || rt.block_on(run(ours, kind, iters, &names, &value)),
                || rt.block_on(run(raw, kind, iters, &names, &value)),
            )
        });
        ratios.push(median(pooled.collect()));
    }
    g.finish();
    let ids: Vec<(String, String)> = targets
        .iter()
        .map(|(k, _)| (format!("{}_ours", k.id()), format!("{}_raw", k.id())))
        .collect();
    let pairs: Vec<Pair> = targets
        .iter()
        .zip(&ids)
        .zip(ratios)
        .map(|((&(kind, target), (o, r)), ratio)| Pair {
            workload: kind.label(),
            ours: o.clone().leak(),
            raw: r.clone().leak(),
            target,
            interleaved: Some(ratio),
            per_iter: kind.ops(),
            raw_per_iter: 0.0,
        })
        .collect();
    report(group, &pairs);
}

/// Every workload with the same target.
pub fn all(target: f64) -> Vec<(Kind, f64)> {
    Kind::ALL.iter().map(|&k| (k, target)).collect()
}
