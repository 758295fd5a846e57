//! `Stats`: per-collection operation counters.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;

use crate::{KvStore, Result, TtlEntry};

/// Counts, per collection, what callers asked and what they got: get/ttl hits and
/// misses, puts, delete hits and misses, and errors. Batch calls count per key.
///
/// Counters are atomics found through a lock-free, append-only table of write-once
/// slots, so the hot path takes no lock and touches no reference count. Clones share
/// the counters.
///
/// ```
/// use bytes::Bytes;
/// use kv_store_adapter::{KvStore, KvStoreExt, stores::MemoryStore};
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let store = MemoryStore::new(100).with_stats();
/// store.put("c", "k", Bytes::new(), None).await?;
/// store.get("c", "k").await?;
/// store.get_many("c", &["k", "nope"]).await?;
/// let c = store.collection_stats("c");
/// assert_eq!((c.puts, c.get_hits, c.get_misses), (1, 2, 1));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Stats<S> {
    inner: S,
    counters: Arc<Registry>,
}

/// A snapshot of one collection's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CollectionStats {
    /// `get` answers with a value.
    pub get_hits: u64,
    /// `get` answers without one.
    pub get_misses: u64,
    /// `ttl` answers with a value.
    pub ttl_hits: u64,
    /// `ttl` answers without one.
    pub ttl_misses: u64,
    /// Entries written.
    pub puts: u64,
    /// Deletes that removed an entry.
    pub delete_hits: u64,
    /// Deletes that found nothing.
    pub delete_misses: u64,
    /// Calls that failed.
    pub errors: u64,
}

impl CollectionStats {
    /// Every operation counted (each batch key once).
    pub fn operations(&self) -> u64 {
        self.get_hits
            + self.get_misses
            + self.ttl_hits
            + self.ttl_misses
            + self.puts
            + self.delete_hits
            + self.delete_misses
            + self.errors
    }
}

#[derive(Debug, Default)]
struct Counters([AtomicU64; 8]);

const GET_HIT: usize = 0;
const GET_MISS: usize = 1;
const TTL_HIT: usize = 2;
const TTL_MISS: usize = 3;
const PUT: usize = 4;
const DELETE_HIT: usize = 5;
const DELETE_MISS: usize = 6;
const ERROR: usize = 7;

impl Counters {
    fn add(&self, which: usize, n: u64) {
        if n > 0 {
            self.0[which].fetch_add(n, Relaxed);
        }
    }

    fn snapshot(&self) -> CollectionStats {
        let n = |i: usize| self.0[i].load(Relaxed);
        CollectionStats {
            get_hits: n(GET_HIT),
            get_misses: n(GET_MISS),
            ttl_hits: n(TTL_HIT),
            ttl_misses: n(TTL_MISS),
            puts: n(PUT),
            delete_hits: n(DELETE_HIT),
            delete_misses: n(DELETE_MISS),
            errors: n(ERROR),
        }
    }

    fn reset(&self) {
        self.0.iter().for_each(|c| c.store(0, Relaxed));
    }
}

/// Collection → counters: an append-only, lock-free open-addressing table of
/// write-once slots (`OnceLock`), so a lookup is one hash and an acquire load or two —
/// no lock, no reference count. Entries are never removed (a snapshot lists every
/// collection ever counted); past `SLOTS` collections the rest share a mutex-guarded
/// overflow map.
#[derive(Debug)]
struct Registry {
    /// The slot used last: most calls are for the same collection as the one before,
    /// and then no hashing is needed.
    last: AtomicUsize,
    hasher: foldhash::fast::FixedState,
    slots: Box<[OnceLock<Box<Named>>]>,
    overflow: Mutex<HashMap<Box<str>, Arc<Counters>>>,
}

#[derive(Debug)]
struct Named {
    name: Box<str>,
    counters: Arc<Counters>,
}

const SLOTS: usize = 1024;
/// How far a lookup probes before giving up on the table.
const PROBES: usize = 32;

impl Default for Registry {
    fn default() -> Self {
        Self {
            last: AtomicUsize::new(0),
            hasher: foldhash::fast::FixedState::default(),
            slots: (0..SLOTS).map(|_| OnceLock::new()).collect(),
            overflow: Mutex::default(),
        }
    }
}

impl Registry {
    /// Runs `f` on the collection's counters: lock-free unless the table is full.
    fn with(&self, collection: &str, f: impl FnOnce(&Counters)) {
        let last = self.last.load(Relaxed) % SLOTS;
        if let Some(named) = self.slots[last].get()
            && *named.name == *collection
        {
            return f(&named.counters);
        }
        let start = self.hasher.hash_one(collection) as usize;
        for probe in 0..PROBES {
            let slot = &self.slots[(start + probe) % SLOTS];
            let named = match slot.get() {
                Some(named) => named,
                None => slot.get_or_init(|| {
                    Box::new(Named {
                        name: collection.into(),
                        counters: Arc::default(),
                    })
                }),
            };
            if *named.name == *collection {
                self.last.store((start + probe) % SLOTS, Relaxed);
                return f(&named.counters);
            }
        }
        let counters = self
            .overflow
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(collection.into())
            .or_default()
            .clone();
        f(&counters)
    }

    fn find(&self, collection: &str) -> Option<Arc<Counters>> {
        self.all()
            .into_iter()
            .find(|(name, _)| name == collection)
            .map(|(_, c)| c)
    }

    fn all(&self) -> Vec<(String, Arc<Counters>)> {
        let mut all: Vec<_> = self
            .slots
            .iter()
            .filter_map(OnceLock::get)
            .map(|n| (n.name.to_string(), n.counters.clone()))
            .collect();
        let overflow = self.overflow.lock().unwrap_or_else(|e| e.into_inner());
        all.extend(overflow.iter().map(|(n, c)| (n.to_string(), c.clone())));
        all
    }
}

impl<S> Stats<S> {
    /// Counts the calls made through it to `inner`.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            counters: Arc::default(),
        }
    }

    /// One collection's counters.
    pub fn collection_stats(&self, collection: &str) -> CollectionStats {
        self.counters
            .find(collection)
            .map(|c| c.snapshot())
            .unwrap_or_default()
    }

    /// Every collection's counters.
    pub fn snapshot(&self) -> BTreeMap<String, CollectionStats> {
        self.counters
            .all()
            .into_iter()
            .map(|(name, c)| (name, c.snapshot()))
            .collect()
    }

    /// The sum over all collections.
    pub fn total(&self) -> CollectionStats {
        self.snapshot()
            .values()
            .fold(CollectionStats::default(), |mut t, c| {
                t.get_hits += c.get_hits;
                t.get_misses += c.get_misses;
                t.ttl_hits += c.ttl_hits;
                t.ttl_misses += c.ttl_misses;
                t.puts += c.puts;
                t.delete_hits += c.delete_hits;
                t.delete_misses += c.delete_misses;
                t.errors += c.errors;
                t
            })
    }

    /// Sets every counter back to zero.
    pub fn reset(&self) {
        self.counters.all().iter().for_each(|(_, c)| c.reset());
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn count<T>(&self, collection: &str, result: &Result<T>, f: impl FnOnce(&Counters, &T)) {
        self.counters.with(collection, |counters| match result {
            Ok(value) => f(counters, value),
            Err(_) => counters.add(ERROR, 1),
        })
    }
}

fn hits_misses<T>(found: &[Option<T>]) -> (u64, u64) {
    let hits = found.iter().filter(|f| f.is_some()).count() as u64;
    (hits, found.len() as u64 - hits)
}

impl<S: KvStore> KvStore for Stats<S> {
    async fn raw_get(&self, c: &str, k: &str) -> Result<Option<Bytes>> {
        let result = self.inner.raw_get(c, k).await;
        self.count(c, &result, |n, found| {
            n.add(if found.is_some() { GET_HIT } else { GET_MISS }, 1)
        });
        result
    }

    async fn raw_put(&self, c: &str, k: &str, v: Bytes, ttl: Option<Duration>) -> Result<()> {
        let result = self.inner.raw_put(c, k, v, ttl).await;
        self.count(c, &result, |n, _| n.add(PUT, 1));
        result
    }

    async fn raw_delete(&self, c: &str, k: &str) -> Result<bool> {
        let result = self.inner.raw_delete(c, k).await;
        self.count(c, &result, |n, existed| {
            n.add(if *existed { DELETE_HIT } else { DELETE_MISS }, 1)
        });
        result
    }

    async fn raw_ttl(&self, c: &str, k: &str) -> Result<Option<TtlEntry>> {
        let result = self.inner.raw_ttl(c, k).await;
        self.count(c, &result, |n, found| {
            n.add(if found.is_some() { TTL_HIT } else { TTL_MISS }, 1)
        });
        result
    }

    async fn raw_get_many(&self, c: &str, keys: &[&str]) -> Result<Vec<Option<Bytes>>> {
        let result = self.inner.raw_get_many(c, keys).await;
        self.count(c, &result, |n, found| {
            let (hits, misses) = hits_misses(found);
            n.add(GET_HIT, hits);
            n.add(GET_MISS, misses);
        });
        result
    }

    async fn raw_put_many(
        &self,
        c: &str,
        entries: &[(&str, Bytes)],
        ttl: Option<Duration>,
    ) -> Result<()> {
        let result = self.inner.raw_put_many(c, entries, ttl).await;
        self.count(c, &result, |n, _| n.add(PUT, entries.len() as u64));
        result
    }

    async fn raw_delete_many(&self, c: &str, keys: &[&str]) -> Result<usize> {
        let result = self.inner.raw_delete_many(c, keys).await;
        self.count(c, &result, |n, removed| {
            n.add(DELETE_HIT, *removed as u64);
            n.add(DELETE_MISS, keys.len().saturating_sub(*removed) as u64);
        });
        result
    }

    async fn raw_ttl_many(&self, c: &str, keys: &[&str]) -> Result<Vec<Option<TtlEntry>>> {
        let result = self.inner.raw_ttl_many(c, keys).await;
        self.count(c, &result, |n, found| {
            let (hits, misses) = hits_misses(found);
            n.add(TTL_HIT, hits);
            n.add(TTL_MISS, misses);
        });
        result
    }
}

forward_capabilities!(Stats: keys, collections, destroy_collection, destroy, cull);
