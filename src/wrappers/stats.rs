//! `Stats`: per-collection operation counters.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::hash::BuildHasher;
use std::pin::Pin;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::{
    Bytes, Condition, ConditionalWrites, DeleteOptions, Entry, GetOptions, Key, PutOptions, Result,
    Store, Version, Written,
};

/// Counts, per collection, what callers asked and what they got: get/ttl hits and
/// misses, puts, delete hits and misses, and errors. Batch calls count per key.
///
/// Conditional writes ([`ConditionalWrites`](crate::ConditionalWrites)) count too:
/// one that applies counts as what it did (a put, or a delete hit) and in
/// `conditional_applied`; one whose condition did not hold writes nothing and counts
/// in `conditional_rejected` only.
///
/// Counters are atomics found through a lock-free, append-only table of write-once
/// slots, so the hot path takes no lock and touches no reference count; each thread
/// counts in its own shard, so threads counting at once do not contend for a cache
/// line. Clones share the counters.
///
/// **Bounded.** Each named collection's counters take about 1 KiB and live as long as
/// the wrapper, so only the first [`DEFAULT_MAX_COLLECTIONS`] collections seen (or
/// the cap given to [`Stats::with_max_collections`]) are counted by name; calls on
/// every later collection are counted together in one overflow bucket
/// ([`Stats::overflow_stats`], included in [`Stats::total`]). A service with a
/// collection per user does not grow without bound.
///
/// ```
/// use bytes::Bytes;
/// use kv_store_adapter::{KvStore, KvStoreExt, stores::MemoryStore};
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let store = MemoryStore::with_max_entries(100).with_stats();
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
    /// Conditional writes that applied (each also counted in `puts` or
    /// `delete_hits`).
    pub conditional_applied: u64,
    /// Conditional writes whose condition did not hold: nothing written.
    pub conditional_rejected: u64,
}

/// Adds another snapshot's counts, as [`Stats::total`] does over collections.
///
/// ```
/// use kv_store_adapter::wrappers::CollectionStats;
///
/// let mut total = CollectionStats { puts: 2, ..Default::default() };
/// total += CollectionStats { puts: 1, errors: 1, ..Default::default() };
/// assert_eq!((total.puts, total.errors), (3, 1));
/// ```
impl std::ops::AddAssign for CollectionStats {
    fn add_assign(&mut self, other: Self) {
        self.get_hits += other.get_hits;
        self.get_misses += other.get_misses;
        self.ttl_hits += other.ttl_hits;
        self.ttl_misses += other.ttl_misses;
        self.puts += other.puts;
        self.delete_hits += other.delete_hits;
        self.delete_misses += other.delete_misses;
        self.errors += other.errors;
        self.conditional_applied += other.conditional_applied;
        self.conditional_rejected += other.conditional_rejected;
    }
}

impl CollectionStats {
    /// Every operation counted (each batch key once; an applied conditional write
    /// once, as its put or delete).
    pub fn operations(&self) -> u64 {
        self.get_hits
            + self.get_misses
            + self.ttl_hits
            + self.ttl_misses
            + self.puts
            + self.delete_hits
            + self.delete_misses
            + self.errors
            + self.conditional_rejected
    }
}

/// One collection's counters, in shards: a thread that owns a shard (see
/// [`thread_shard`]) adds to it with a plain load and store — no locked instruction,
/// and no cache line another thread counts on — while threads beyond the first
/// [`SHARDS`] alive at once share the last shard through `fetch_add`. Reading sums
/// the shards; `reset` records the sums as a base that later reads subtract, so a
/// reset is not undone by an owner storing its pre-reset count plus one.
#[derive(Debug, Default)]
struct Counters {
    shards: [Shard; SHARDS + 1],
    /// Conditional-write outcomes, outside the shards: a shard stays one cache line
    /// (so a collection's counters stay ~1 KiB), and a conditional write costs a
    /// network round trip or a per-key lock anyway, beside which a shared
    /// `fetch_add` is nothing.
    outcomes: [AtomicU64; KINDS - SHARDED],
    base: [AtomicU64; KINDS],
}

/// One thread's counts of each kind, on its own cache line.
#[derive(Debug, Default)]
#[repr(align(64))]
struct Shard([AtomicU64; SHARDED]);

/// Kinds counted in the shards; the rest, up to `KINDS`, in `Counters::outcomes`.
const SHARDED: usize = 8;
const KINDS: usize = 10;
const GET_HIT: usize = 0;
const GET_MISS: usize = 1;
const TTL_HIT: usize = 2;
const TTL_MISS: usize = 3;
const PUT: usize = 4;
const DELETE_HIT: usize = 5;
const DELETE_MISS: usize = 6;
const ERROR: usize = 7;
const APPLIED: usize = 8;
const REJECTED: usize = 9;

impl Counters {
    #[inline]
    fn add(&self, which: usize, n: u64) {
        if n == 0 {
            return;
        }
        if which >= SHARDED {
            self.outcomes[which - SHARDED].fetch_add(n, Relaxed);
            return;
        }
        let shard = thread_shard();
        let cell = &self.shards[shard].0[which];
        if shard < SHARDS {
            // Only this thread writes this shard while it lives (see `thread_shard`).
            cell.store(cell.load(Relaxed).wrapping_add(n), Relaxed);
        } else {
            cell.fetch_add(n, Relaxed);
        }
    }

    fn sum(&self, which: usize) -> u64 {
        if which >= SHARDED {
            return self.outcomes[which - SHARDED].load(Relaxed);
        }
        let total = self.shards.iter().map(|s| s.0[which].load(Relaxed));
        total.fold(0, u64::wrapping_add)
    }

    fn snapshot(&self) -> CollectionStats {
        let n = |i: usize| self.sum(i).saturating_sub(self.base[i].load(Relaxed));
        CollectionStats {
            get_hits: n(GET_HIT),
            get_misses: n(GET_MISS),
            ttl_hits: n(TTL_HIT),
            ttl_misses: n(TTL_MISS),
            puts: n(PUT),
            delete_hits: n(DELETE_HIT),
            delete_misses: n(DELETE_MISS),
            errors: n(ERROR),
            conditional_applied: n(APPLIED),
            conditional_rejected: n(REJECTED),
        }
    }

    fn reset(&self) {
        for (i, base) in self.base.iter().enumerate() {
            base.store(self.sum(i), Relaxed);
        }
    }
}

/// Shards a thread can own; every collection's counters have one more, shared.
const SHARDS: usize = 16;
const UNCLAIMED: u8 = u8::MAX;

/// Which shards live threads own, one bit each.
static OWNED: AtomicU32 = AtomicU32::new(0);

/// The shard this thread owns, given back when the thread exits.
struct Owner(Cell<u8>);

impl Drop for Owner {
    fn drop(&mut self) {
        let shard = self.0.get() as usize;
        if shard < SHARDS {
            // Release: the next owner's claim sees this thread's last counts.
            OWNED.fetch_and(!(1 << shard), Release);
        }
    }
}

thread_local! {
    static OWNER: Owner = const { Owner(Cell::new(UNCLAIMED)) };
}

/// The calling thread's shard: one it owns (claimed on its first count), or the shared
/// one `SHARDS` if all are owned or the thread is exiting.
#[inline]
fn thread_shard() -> usize {
    OWNER
        .try_with(|owner| match owner.0.get() {
            UNCLAIMED => claim(owner),
            shard => shard as usize,
        })
        .unwrap_or(SHARDS)
}

#[cold]
fn claim(owner: &Owner) -> usize {
    let mut owned = OWNED.load(Relaxed);
    let shard = loop {
        let free = !owned & ((1 << SHARDS) - 1);
        if free == 0 {
            break SHARDS;
        }
        let shard = free.trailing_zeros();
        // Acquire: see the counts of the thread that owned this shard before.
        match OWNED.compare_exchange_weak(owned, owned | 1 << shard, Acquire, Relaxed) {
            Ok(_) => break shard as usize,
            Err(now) => owned = now,
        }
    };
    owner.0.set(shard as u8);
    shard
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
    slots: Box<[OnceLock<Box<Named>>; SLOTS]>,
    /// Boxed, and never removed while the registry lives, so a reference to the
    /// counters outlives the lock (see `find_or_add`).
    overflow: Mutex<HashMap<Box<str>, Box<Counters>>>,
    /// How many collections `overflow` may name (the cap less the table's slots).
    overflow_cap: usize,
    /// Every collection past the cap.
    others: Counters,
    /// Latency histograms, once [`Stats::with_latency`] asked for them.
    latency: OnceLock<Box<Histograms>>,
}

/// How many collections [`Stats`] counts by name unless told otherwise.
pub const DEFAULT_MAX_COLLECTIONS: usize = 4096;

#[derive(Debug)]
struct Named {
    name: Box<str>,
    counters: Counters,
}

const SLOTS: usize = 1024;
/// How far a lookup probes before giving up on the table.
const PROBES: usize = 32;

impl Registry {
    fn new(max_collections: usize) -> Self {
        Self {
            last: AtomicUsize::new(0),
            hasher: foldhash::fast::FixedState::default(),
            slots: Box::new(std::array::from_fn(|_| OnceLock::new())),
            overflow: Mutex::default(),
            overflow_cap: max_collections.saturating_sub(SLOTS),
            others: Counters::default(),
            latency: OnceLock::new(),
        }
    }
}

impl Registry {
    /// The collection's counters: lock-free unless the table is full.
    ///
    /// The common case (the same collection as the call before) is inlined into the
    /// caller; the rest is out of line.
    #[inline]
    fn get(&self, collection: &str) -> &Counters {
        if let Some(named) = self.slots[self.last.load(Relaxed) % SLOTS].get()
            && same(named.name.as_bytes(), collection.as_bytes())
        {
            return &named.counters;
        }
        self.find_or_add(collection)
    }

    #[inline]
    fn count<T>(&self, collection: &str, result: &Result<T>, f: impl FnOnce(&Counters, &T)) {
        let counters = self.get(collection);
        match result {
            Ok(value) => f(counters, value),
            Err(_) => counters.add(ERROR, 1),
        }
    }

    #[cold]
    fn find_or_add(&self, collection: &str) -> &Counters {
        let start = self.hasher.hash_one(collection) as usize;
        for probe in 0..PROBES {
            let at = (start + probe) % SLOTS;
            let named = self.slots[at].get_or_init(|| {
                Box::new(Named {
                    name: collection.into(),
                    counters: Counters::default(),
                })
            });
            if *named.name == *collection {
                self.last.store(at, Relaxed);
                return &named.counters;
            }
        }
        let mut overflow = self.overflow.lock().unwrap_or_else(|e| e.into_inner());
        if overflow.len() >= self.overflow_cap && !overflow.contains_key(collection) {
            return &self.others;
        }
        let counters: *const Counters = &**overflow.entry(collection.into()).or_default();
        // SAFETY: the counters are boxed, so rehashing the map does not move them, and
        // entries are never removed: they live as long as `self`, which bounds the
        // reference. Counters are atomics, shared through `&` by design.
        unsafe { &*counters }
    }

    /// Runs `f` on every collection's name and counters.
    fn each(&self, mut f: impl FnMut(&str, &Counters)) {
        for named in self.slots.iter().filter_map(OnceLock::get) {
            f(&named.name, &named.counters);
        }
        let overflow = self.overflow.lock().unwrap_or_else(|e| e.into_inner());
        overflow
            .iter()
            .for_each(|(name, counters)| f(name, counters));
    }
}

impl<S> Stats<S> {
    /// Counts the calls made through it to `inner`, naming up to
    /// [`DEFAULT_MAX_COLLECTIONS`] collections.
    pub fn new(inner: S) -> Self {
        Self::with_max_collections(inner, DEFAULT_MAX_COLLECTIONS)
    }

    /// Counts up to `max` collections by name (at least the 1,024 the lock-free table
    /// holds), and every later one in the overflow bucket.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use kv_store_adapter::{KvStore, stores::MemoryStore, wrappers::Stats};
    ///
    /// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
    /// let store = Stats::with_max_collections(MemoryStore::new(), 1024);
    /// for user in 0..1100 {
    ///     store.put(&format!("user-{user}"), "k", Bytes::new(), None).await?;
    /// }
    /// assert!(store.snapshot().len() <= 1024);
    /// assert_eq!(store.total().puts, 1100);
    /// assert!(store.overflow_stats().puts >= 76);
    /// # Ok(()) }
    /// ```
    pub fn with_max_collections(inner: S, max: usize) -> Self {
        Self {
            inner,
            counters: Arc::new(Registry::new(max)),
        }
    }

    /// The counts of every collection past the cap, together.
    pub fn overflow_stats(&self) -> CollectionStats {
        self.counters.others.snapshot()
    }

    /// One collection's counters.
    pub fn collection_stats(&self, collection: &str) -> CollectionStats {
        let mut found = CollectionStats::default();
        self.counters.each(|name, counters| {
            if name == collection {
                found = counters.snapshot();
            }
        });
        found
    }

    /// Every collection's counters.
    pub fn snapshot(&self) -> BTreeMap<String, CollectionStats> {
        let mut all = BTreeMap::new();
        self.counters.each(|name, counters| {
            all.insert(name.to_owned(), counters.snapshot());
        });
        all
    }

    /// The sum over all collections, the overflow bucket included.
    pub fn total(&self) -> CollectionStats {
        let mut total = self.overflow_stats();
        for counted in self.snapshot().into_values() {
            total += counted;
        }
        total
    }

    /// Sets every counter back to zero.
    pub fn reset(&self) {
        self.counters.each(|_, counters| counters.reset());
        self.counters.others.reset();
        if let Some(histograms) = self.counters.latency.get() {
            histograms.ops.iter().for_each(Histogram::reset);
        }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Times every call too, for [`latency`](Self::latency): one clock read when a
    /// call starts and one when it ends (about 40 ns per call here), and 16 KiB of
    /// histograms per `Stats` (shared by its clones). Off unless asked for.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use kv_store_adapter::{KvStore, KvStoreExt, stores::MemoryStore, wrappers::Operation};
    ///
    /// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
    /// let store = MemoryStore::with_max_entries(100).with_stats().with_latency();
    /// for i in 0..100 {
    ///     store.put("c", &i.to_string(), Bytes::new(), None).await?;
    /// }
    /// let put = store.latency(Operation::Put);
    /// assert_eq!(put.count, 100);
    /// assert!(put.p50 <= put.p99 && put.p99 <= put.max.max(put.p99));
    /// # Ok(()) }
    /// ```
    pub fn with_latency(self) -> Self {
        self.counters.latency.get_or_init(Box::default);
        self
    }

    /// The latency quantiles of one operation since the start (or the last
    /// [`reset`](Self::reset)); all zero unless [`with_latency`](Self::with_latency)
    /// turned timing on.
    pub fn latency(&self, operation: Operation) -> Latency {
        self.counters
            .latency
            .get()
            .map_or_else(Latency::default, |h| h.ops[operation as usize].summary())
    }

    /// When a batch starts, if calls are timed.
    fn started(&self) -> Option<Instant> {
        self.counters.latency.get().map(|_| Instant::now())
    }

    /// Records a batch that began at `started`.
    fn timed(&self, operation: Operation, started: Option<Instant>) {
        if let (Some(h), Some(at)) = (self.counters.latency.get(), started) {
            h.ops[operation as usize].record(at.elapsed());
        }
    }

    #[inline]
    fn count<T>(&self, collection: &str, result: &Result<T>, f: impl FnOnce(&Counters, &T)) {
        self.counters.count(collection, result, f);
    }

    fn counted<'c, F, T, C>(
        &self,
        operation: Operation,
        collection: &'c str,
        call: F,
        count: C,
    ) -> Counted<'_, 'c, F, C>
    where
        F: Future<Output = Result<T>>,
        C: Fn(&Counters, &T),
    {
        Counted {
            call,
            registry: &self.counters,
            collection,
            count,
            operation,
            started: None,
        }
    }
}

fn hits_misses<T>(found: &[Option<T>]) -> (u64, u64) {
    let hits = found.iter().filter(|f| f.is_some()).count() as u64;
    (hits, found.len() as u64 - hits)
}

/// `a == b`, inline for names up to 16 bytes (a `memcmp` call costs more than the
/// comparison of a short collection name).
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    fn word<const N: usize>(s: &[u8], at: usize) -> [u8; N] {
        s[at..at + N].try_into().unwrap_or([0; N])
    }
    match (a.len(), b.len()) {
        (n, m) if n != m => false,
        (n @ 8..=16, _) => {
            word::<8>(a, 0) == word::<8>(b, 0) && word::<8>(a, n - 8) == word::<8>(b, n - 8)
        }
        (n @ 4..8, _) => {
            word::<4>(a, 0) == word::<4>(b, 0) && word::<4>(a, n - 4) == word::<4>(b, n - 4)
        }
        _ => a == b,
    }
}

pin_project_lite::pin_project! {
    /// An inner call, counted (and timed, if asked for) when it completes.
    struct Counted<'r, 'c, F, C> {
        #[pin]
        call: F,
        registry: &'r Registry,
        collection: &'c str,
        count: C,
        operation: Operation,
        // When it was first polled, if calls are timed.
        started: Option<Instant>,
    }
}

impl<F, T, C> Future for Counted<'_, '_, F, C>
where
    F: Future<Output = Result<T>>,
    C: Fn(&Counters, &T),
{
    type Output = Result<T>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let this = self.project();
        let timed = this.registry.latency.get();
        if timed.is_some() && this.started.is_none() {
            *this.started = Some(Instant::now());
        }
        let poll = this.call.poll(cx);
        if let Poll::Ready(result) = &poll {
            let count = &*this.count;
            this.registry
                .count(this.collection, result, |n, value| count(n, value));
            if let (Some(h), Some(at)) = (timed, *this.started) {
                h.ops[*this.operation as usize].record(at.elapsed());
            }
        }
        poll
    }
}

impl<S: Store> Store for Stats<S> {
    // Single-key calls are counted by a `Counted` future around the inner call: it
    // holds the call, the registry and the collection, 24 bytes on top of the inner
    // future (an `async` block would hold the key too, and await a second copy of
    // the call), and a stack's future is copied whenever it is pinned or spawned.
    #[inline]
    fn get_opts<'a>(
        &'a self,
        k: Key<'a>,
        o: GetOptions,
    ) -> impl Future<Output = Result<Option<Entry>>> + Send {
        let ttl = o.ttl;
        let op = if ttl { Operation::Ttl } else { Operation::Get };
        self.counted(
            op,
            k.collection(),
            self.inner.get_opts(k, o),
            move |n, found| {
                let (hit, miss) = if ttl {
                    (TTL_HIT, TTL_MISS)
                } else {
                    (GET_HIT, GET_MISS)
                };
                n.add(if found.is_some() { hit } else { miss }, 1)
            },
        )
    }

    #[inline]
    fn put_opts<'a>(
        &'a self,
        k: Key<'a>,
        v: Bytes,
        o: PutOptions,
    ) -> impl Future<Output = Result<()>> + Send {
        self.counted(
            Operation::Put,
            k.collection(),
            self.inner.put_opts(k, v, o),
            |n, _| n.add(PUT, 1),
        )
    }

    #[inline]
    fn delete_opts<'a>(
        &'a self,
        k: Key<'a>,
        o: DeleteOptions,
    ) -> impl Future<Output = Result<bool>> + Send {
        self.counted(
            Operation::Delete,
            k.collection(),
            self.inner.delete_opts(k, o),
            |n, existed| n.add(if *existed { DELETE_HIT } else { DELETE_MISS }, 1),
        )
    }

    async fn get_many_opts(
        &self,
        c: &str,
        keys: &[&str],
        o: GetOptions,
    ) -> Result<Vec<Option<Entry>>> {
        let started = self.started();
        let result = self.inner.get_many_opts(c, keys, o).await;
        let (op, hit, miss) = if o.ttl {
            (Operation::TtlMany, TTL_HIT, TTL_MISS)
        } else {
            (Operation::GetMany, GET_HIT, GET_MISS)
        };
        self.timed(op, started);
        self.count(c, &result, |n, found| {
            let (hits, misses) = hits_misses(found);
            n.add(hit, hits);
            n.add(miss, misses);
        });
        result
    }

    async fn put_many_opts(&self, c: &str, entries: &[(&str, Bytes)], o: PutOptions) -> Result<()> {
        let started = self.started();
        let result = self.inner.put_many_opts(c, entries, o).await;
        self.timed(Operation::PutMany, started);
        self.count(c, &result, |n, _| n.add(PUT, entries.len() as u64));
        result
    }

    async fn delete_many_opts(&self, c: &str, keys: &[&str], o: DeleteOptions) -> Result<usize> {
        let started = self.started();
        let result = self.inner.delete_many_opts(c, keys, o).await;
        self.timed(Operation::DeleteMany, started);
        self.count(c, &result, |n, removed| {
            n.add(DELETE_HIT, *removed as u64);
            n.add(DELETE_MISS, keys.len().saturating_sub(*removed) as u64);
        });
        result
    }
}

crate::forward_capabilities!(Stats, inner; enumerate_keys, enumerate_collections, destroy_collection, destroy, cull);

impl<S: ConditionalWrites> ConditionalWrites for Stats<S> {
    fn put_if_opts<'a>(
        &'a self,
        k: Key<'a>,
        v: Bytes,
        c: Condition,
        o: PutOptions,
    ) -> impl Future<Output = Result<Written>> + Send {
        self.counted(
            Operation::PutIf,
            k.collection(),
            self.inner.put_if_opts(k, v, c, o),
            |n, written| match written {
                Written::Applied(_) => {
                    n.add(PUT, 1);
                    n.add(APPLIED, 1);
                }
                Written::Rejected(_) => n.add(REJECTED, 1),
            },
        )
    }

    fn delete_if_opts<'a>(
        &'a self,
        k: Key<'a>,
        v: Version,
        o: DeleteOptions,
    ) -> impl Future<Output = Result<bool>> + Send {
        self.counted(
            Operation::DeleteIf,
            k.collection(),
            self.inner.delete_if_opts(k, v, o),
            |n, removed| {
                if *removed {
                    n.add(DELETE_HIT, 1);
                    n.add(APPLIED, 1);
                } else {
                    n.add(REJECTED, 1);
                }
            },
        )
    }
}

/// An operation [`Stats::latency`] reports on (a batch is timed as one call).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// `get`.
    Get,
    /// `put`.
    Put,
    /// `delete`.
    Delete,
    /// `ttl`.
    Ttl,
    /// `get_many`, per batch.
    GetMany,
    /// `put_many`, per batch.
    PutMany,
    /// `delete_many`, per batch.
    DeleteMany,
    /// `ttl_many`, per batch.
    TtlMany,
    /// A conditional put (`create`, `put_if_version`, `put_if`).
    PutIf,
    /// A conditional delete (`delete_if_version`).
    DeleteIf,
}

/// Latency quantiles of one operation. Quantiles come from a log-scale histogram
/// with four buckets per doubling, each reported as its bucket's upper bound: at
/// most 25% above the true value, never below it. `max` is exact.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Latency {
    /// Calls timed.
    pub count: u64,
    /// The median.
    pub p50: Duration,
    /// The 90th percentile.
    pub p90: Duration,
    /// The 99th percentile.
    pub p99: Duration,
    /// The slowest call.
    pub max: Duration,
}

/// One histogram per [`Operation`].
#[derive(Debug, Default)]
struct Histograms {
    ops: [Histogram; 10],
}

const BUCKETS: usize = 256;

/// Counts of calls by duration in nanoseconds: below 4 ns one bucket per value, then
/// four per doubling, indexed by the exponent and the two bits after the leading one.
#[derive(Debug)]
struct Histogram {
    buckets: Box<[AtomicU64; BUCKETS]>,
    max: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            buckets: Box::new(std::array::from_fn(|_| AtomicU64::new(0))),
            max: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    fn bucket(nanos: u64) -> usize {
        if nanos < 4 {
            return nanos as usize;
        }
        let exponent = 63 - nanos.leading_zeros() as usize;
        let mantissa = ((nanos >> (exponent - 2)) & 3) as usize;
        4 * exponent + mantissa
    }

    /// The first duration past bucket `i`, in nanoseconds.
    fn upper(i: usize) -> u64 {
        if i < 4 {
            return i as u64 + 1;
        }
        let (exponent, mantissa) = (i / 4, (i % 4) as u64);
        (5 + mantissa).saturating_mul(1 << (exponent - 2))
    }

    fn record(&self, took: Duration) {
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.buckets[Self::bucket(nanos)].fetch_add(1, Relaxed);
        self.max.fetch_max(nanos, Relaxed);
    }

    fn reset(&self) {
        self.buckets.iter().for_each(|b| b.store(0, Relaxed));
        self.max.store(0, Relaxed);
    }

    fn summary(&self) -> Latency {
        let counts: Vec<u64> = self.buckets.iter().map(|b| b.load(Relaxed)).collect();
        let count: u64 = counts.iter().sum();
        let quantile = |q: f64| {
            let rank = ((count as f64) * q).ceil().max(1.0) as u64;
            let mut seen = 0;
            for (i, n) in counts.iter().enumerate() {
                seen += n;
                if seen >= rank {
                    return Duration::from_nanos(Self::upper(i));
                }
            }
            Duration::ZERO
        };
        if count == 0 {
            return Latency::default();
        }
        Latency {
            count,
            p50: quantile(0.5),
            p90: quantile(0.9),
            p99: quantile(0.99),
            max: Duration::from_nanos(self.max.load(Relaxed)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Counters, Histogram, Shard, same};

    /// A thread's shard is one cache line, so a collection's counters stay ~1 KiB
    /// (the documented bound): the conditional-write outcomes live outside it.
    #[test]
    fn a_collection_s_counters_stay_about_one_kib() {
        assert_eq!(std::mem::size_of::<Shard>(), 64);
        assert!(std::mem::size_of::<Counters>() <= 1_280);
    }

    #[test]
    fn histogram_buckets_bound_every_duration_from_above_within_a_quarter() {
        let mut last = 0;
        for nanos in (0..10_000u64).chain([1 << 40, u64::MAX / 3, u64::MAX]) {
            let i = Histogram::bucket(nanos);
            assert!(i < super::BUCKETS, "{nanos}");
            assert!(i >= last || nanos > 9_999, "buckets grow with the duration");
            last = i;
            let upper = Histogram::upper(i);
            assert!(upper > nanos || upper == u64::MAX, "{nanos} < {upper}");
            assert!(
                upper as f64 <= (nanos as f64) * 1.25 + 1.0,
                "{nanos}: {upper}"
            );
        }
    }

    #[test]
    fn same_agrees_with_eq_for_every_short_length() {
        let words: Vec<Vec<u8>> = (0..=20)
            .flat_map(|n| {
                let base: Vec<u8> = (0..n).map(|i| b'a' + i as u8).collect();
                let mut variants = vec![base.clone()];
                for at in 0..n {
                    let mut v = base.clone();
                    v[at] ^= 1;
                    variants.push(v);
                }
                variants
            })
            .collect();
        for a in &words {
            for b in &words {
                assert_eq!(same(a, b), a == b, "{a:?} vs {b:?}");
            }
        }
    }
}
