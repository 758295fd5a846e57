//! `MemoryStore`: a bounded in-process cache (quick_cache) with per-entry TTL.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::Bytes;
use quick_cache::sync::{Cache, EntryAction, EntryResult};
use quick_cache::{Lifecycle, UnitWeighter};

use super::Timed as Entry;
use super::memory_key::{Key as Encoded, MemKey, decode, encode, encode_prefixed, with_key};
use crate::listing::PageAfter;
use crate::offload;
use crate::store::{
    Cull, DeleteOptions, DestroyCollection, DestroyStore, EnumerateCollections, EnumerateKeys,
    GetOptions, Key, ListOptions, PutOptions, Store,
};
use crate::{Condition, ConditionalWrites, Cursor, Entry as Found, Page, Result, Version, Written};

type Inner = Cache<MemKey, Entry, UnitWeighter, foldhash::fast::RandomState, Evictions>;

/// A bounded in-memory store with per-entry TTL, built on quick_cache's concurrent cache.
///
/// When more than `max_entries` entries are stored, the cache evicts the least useful
/// (S3-FIFO: an entry read since it was written is kept over one that was not). An
/// expired entry is invisible at once (every read checks its deadline). Its memory is
/// reclaimed at once by [`cull`](crate::KvStore::cull) or by the next read, write or
/// delete of its key; and once the store is full, a write that evicts sweeps every
/// expired entry out, so expired entries do not crowd out live ones for long (at most
/// once a second, and for very large stores less often, so that sweeping takes at most
/// about 1% of one core).
/// Until then it counts toward `max_entries` and [`entry_count`](Self::entry_count),
/// so memory stays bounded either way. No thread runs in the background: a sweep runs
/// on the writing thread, or for stores of more than 1,024 entries inside a Tokio
/// runtime, on its blocking pool. Cloning is cheap and shares the cache.
///
/// ```
/// use std::time::Duration;
/// use bytes::Bytes;
/// use kv_store_adapter::{KvStore, stores::MemoryStore};
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let store = MemoryStore::new();
/// store.put("sessions", "s1", Bytes::from_static(b"token"), Some(Duration::from_millis(50))).await?;
/// assert!(store.get("sessions", "s1").await?.is_some());
/// tokio::time::sleep(Duration::from_millis(60)).await;
/// assert!(store.get("sessions", "s1").await?.is_none());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    shared: Arc<Shared>,
}

struct Shared {
    cache: Inner,
    sweeps: Sweeps,
    max_entries: u64,
}

/// Options for a [`MemoryStore`]: see [`MemoryStore::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct MemoryStoreBuilder {
    max_entries: u64,
}

impl MemoryStoreBuilder {
    /// The most entries held (default [`DEFAULT_MAX_ENTRIES`]); past it, the cache
    /// evicts the least useful.
    pub fn max_entries(mut self, max_entries: u64) -> Self {
        self.max_entries = max_entries;
        self
    }

    /// The store.
    pub fn build(self) -> MemoryStore {
        // The table starts at most this large and grows as entries arrive, so a huge
        // bound costs nothing until it is used.
        let estimated = self.max_entries.min(PREALLOCATED) as usize;
        let cache = |capacity| {
            Cache::with(
                estimated,
                capacity,
                UnitWeighter,
                // foldhash (randomly seeded per cache) hashes short keys several times
                // faster than SipHash; keys are injective encodings, so probing stays
                // cheap.
                foldhash::fast::RandomState::default(),
                Evictions,
            )
        };
        // Each shard holds its share of the bound, rounded up; a bound that is not a
        // multiple of the shards (chosen from `estimated` alone) is rounded down to one
        // instead, so the store never holds more than `max_entries`.
        let mut built = cache(self.max_entries);
        let shards = built.num_shards() as u64;
        if !self.max_entries.is_multiple_of(shards) {
            built = cache(self.max_entries / shards * shards);
        }
        MemoryStore {
            shared: Arc::new(Shared {
                cache: built,
                sweeps: Sweeps::new(),
                max_entries: self.max_entries,
            }),
        }
    }
}

/// Tells a write whether it evicted an entry, that is whether the store is full.
#[derive(Clone, Copy)]
struct Evictions;

impl Lifecycle<MemKey, Entry> for Evictions {
    /// Whether the request evicted anything.
    type RequestState = bool;

    fn begin_request(&self) -> bool {
        false
    }

    fn on_evict(&self, evicted: &mut bool, _: MemKey, _: Entry) {
        *evicted = true;
    }
}

/// When a full store next sweeps out its expired entries.
struct Sweeps {
    start: Instant,
    /// Milliseconds from `start`.
    next: AtomicU64,
    /// Milliseconds between sweeps: for a store of more than [`SWEEP_TIMED_OVER`]
    /// entries a hundred times the last sweep's duration (so sweeping takes at most
    /// about 1% of one core), between [`SWEEP_EVERY`] and [`SWEEP_AT_MOST_EVERY`];
    /// [`SWEEP_EVERY`] for a smaller one.
    every: AtomicU64,
}

const SWEEP_EVERY: Duration = Duration::from_secs(1);
const SWEEP_AT_MOST_EVERY: Duration = Duration::from_secs(64);
/// Stores of more than this many entries space their sweeps by how long the last one
/// took; a smaller store's sweep takes about a millisecond at most (1.3 ms measured for
/// 65,536 entries), so a longer one means its thread was descheduled.
const SWEEP_TIMED_OVER: u64 = 65_536;

impl Sweeps {
    fn new() -> Self {
        Sweeps {
            start: Instant::now(),
            next: AtomicU64::new(0),
            every: AtomicU64::new(millis(SWEEP_EVERY)),
        }
    }

    /// Whether a sweep is due now; if so, the caller is the one to run it.
    fn claim(&self) -> bool {
        let now = millis(self.start.elapsed());
        let next = self.next.load(Ordering::Relaxed);
        let every = self.every.load(Ordering::Relaxed);
        now >= next
            && self
                .next
                .compare_exchange(
                    next,
                    now.saturating_add(every),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
    }

    /// Sets the interval from how long a sweep took.
    fn took(&self, sweep: Duration) {
        let every = sweep
            .saturating_mul(100)
            .clamp(SWEEP_EVERY, SWEEP_AT_MOST_EVERY);
        self.every.store(millis(every), Ordering::Relaxed);
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Shared {
    /// Stores an entry; a write that evicted may sweep.
    #[inline]
    fn insert(self: &Arc<Self>, key: MemKey, entry: Entry) {
        if self.cache.insert_with_lifecycle(key, entry) {
            self.evicted();
        }
    }

    #[cold]
    fn evicted(self: &Arc<Self>) {
        if !self.sweeps.claim() {
            return;
        }
        // A sweep walks the whole cache, as a listing does, and leaves the executor
        // thread free past the same size.
        if self.cache.len() > WALK_IN_PLACE
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let shared = Arc::clone(self);
            drop(runtime.spawn_blocking(move || shared.sweep()));
        } else {
            self.sweep();
        }
    }

    /// Removes every expired entry, each checked under its shard's lock (a racing put
    /// of a key wins).
    fn sweep(&self) {
        let now = Instant::now();
        self.cache.retain(|_, e| e.is_live(now));
        // Only a large store's sweep sets the interval: stretching it for a small one
        // whose thread was descheduled would leave expired entries crowding out live
        // ones.
        if self.cache.capacity() > SWEEP_TIMED_OVER {
            self.sweeps.took(now.elapsed());
        }
    }
}

/// The most entries a new store's table is sized for up front.
const PREALLOCATED: u64 = 16_384;

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("max_entries", &self.max_entries())
            .field("entries", &self.entry_count())
            .finish()
    }
}

/// How many entries [`MemoryStore::new`] holds at most.
pub const DEFAULT_MAX_ENTRIES: u64 = 10_000;

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// A store holding at most [`DEFAULT_MAX_ENTRIES`] entries.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A store holding at most `max_entries` entries.
    pub fn with_max_entries(max_entries: u64) -> Self {
        Self::builder().max_entries(max_entries).build()
    }

    /// Options for a store.
    ///
    /// ```
    /// use kv_store_adapter::stores::MemoryStore;
    /// let store = MemoryStore::builder().max_entries(100).build();
    /// assert_eq!(store.max_entries(), 100);
    /// assert_eq!(MemoryStore::new().max_entries(), 10_000);
    /// ```
    pub fn builder() -> MemoryStoreBuilder {
        MemoryStoreBuilder {
            max_entries: DEFAULT_MAX_ENTRIES,
        }
    }

    /// The most entries this store holds.
    pub fn max_entries(&self) -> u64 {
        self.shared.max_entries
    }

    /// The number of entries held, including expired ones not yet reclaimed
    /// ([`cull`](crate::KvStore::cull) reclaims every expired entry, so the count is
    /// exact right after a cull).
    pub fn entry_count(&self) -> u64 {
        self.shared.cache.len() as u64
    }

    fn live_entries(&self) -> impl Iterator<Item = (MemKey, Entry)> + '_ {
        let now = Instant::now();
        self.shared
            .cache
            .iter()
            .filter(move |(_, e)| e.is_live(now))
    }

    /// Runs `f` with `key` encoded. A key without a prefix (the usual case) takes a
    /// branch where the prefix is the constant `""`, so the inlined encoder drops its
    /// copy, as it did when unprefixed calls passed `""` themselves.
    #[inline(always)]
    fn with_encoded<R>(&self, key: Key<'_>, f: impl FnOnce(&Encoded) -> R) -> R {
        if key.prefix().is_empty() {
            with_key(key.collection(), "", key.name(), f)
        } else {
            with_key(key.collection(), key.prefix(), key.name(), f)
        }
    }

    #[inline(always)]
    fn lookup(&self, key: Key<'_>, opts: GetOptions) -> Option<Found> {
        self.with_encoded(key, |k| {
            let entry = self.shared.cache.get(k)?;
            if entry.is_live_now() {
                entry.read(opts)
            } else {
                // Expired: reclaim it now, unless a put has replaced it meanwhile.
                self.shared.cache.remove_if(k, |e| !e.is_live_now());
                None
            }
        })
    }

    fn remove(&self, key: Key<'_>) -> bool {
        let removed = self.with_encoded(key, |k| self.shared.cache.remove(k));
        removed.is_some_and(|(_, e)| e.is_live_now())
    }
}

/// A get's future: looks the key up on the first poll (a store's futures are lazy)
/// and is ready at once. A named future with an always-inlined poll, not an `async fn`
/// or a closure, so that a hit reaches the cache with no call in between (each such
/// call cost a hit ~3% of its instructions, moving the key and the answer through
/// memory).
struct Lookup<'s, 'k> {
    store: &'s MemoryStore,
    key: Key<'k>,
    opts: GetOptions,
}

impl Future for Lookup<'_, '_> {
    type Output = Result<Option<Found>>;

    #[inline(always)]
    fn poll(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        Poll::Ready(Ok(self.store.lookup(self.key, self.opts)))
    }
}

// Every operation completes at once; prefixed keys are encoded straight from their
// parts.
impl Store for MemoryStore {
    fn get_opts(
        &self,
        key: Key<'_>,
        opts: GetOptions,
    ) -> impl Future<Output = Result<Option<Found>>> + Send {
        Lookup {
            store: self,
            key,
            opts,
        }
    }

    async fn put_opts(&self, key: Key<'_>, value: Bytes, opts: PutOptions) -> Result<()> {
        let encoded = encode_prefixed(key.collection(), key.prefix(), key.name());
        self.shared.insert(encoded, Entry::new(value, opts.ttl));
        Ok(())
    }

    async fn delete_opts(&self, key: Key<'_>, _: DeleteOptions) -> Result<bool> {
        Ok(self.remove(key))
    }

    async fn get_many_opts(
        &self,
        collection: &str,
        keys: &[&str],
        opts: GetOptions,
    ) -> Result<Vec<Option<Found>>> {
        Ok(keys
            .iter()
            .map(|key| self.lookup(Key::checked(collection, key), opts))
            .collect())
    }

    async fn put_many_opts(
        &self,
        collection: &str,
        entries: &[(&str, Bytes)],
        opts: PutOptions,
    ) -> Result<()> {
        for (key, value) in entries {
            self.shared
                .insert(encode(collection, key), Entry::new(value.clone(), opts.ttl));
        }
        Ok(())
    }
}

/// Entries a walk of the whole cache (a listing, `destroy_collection`, `destroy`,
/// `cull`, a full store's sweep) reads in place; in a larger store it runs on the
/// blocking threads: a page of keys read ~0.15 µs an entry here, 1.5 ms for 10,000
/// entries, 124 ms for 1,000,000.
const WALK_IN_PLACE: usize = 1_024;

impl MemoryStore {
    /// Runs `walk` over the store: in place for a small store, else off the executor.
    async fn walk<R: Send + 'static>(
        &self,
        walk: impl FnOnce(&MemoryStore) -> R + Send + 'static,
    ) -> Result<R> {
        if self.shared.cache.len() <= WALK_IN_PLACE {
            return Ok(walk(self));
        }
        let store = self.clone();
        offload::off(move || Ok(walk(&store))).await
    }

    fn keys_of(&self, collection: &str, limit: usize) -> Vec<String> {
        self.live_entries()
            .filter_map(|(k, _)| match decode(k.bytes()) {
                Some((c, key)) if c == collection => Some(key.to_owned()),
                _ => None,
            })
            .take(limit)
            .collect()
    }

    /// One walk of the cache, keeping about one page of names: the cache has no order,
    /// so each page reads every entry (and [`walk_page`](EnumerateKeys::walk_page)
    /// stays one page), but holds only the page, never the collection's names.
    fn page_of_keys(
        &self,
        collection: &str,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Page {
        let mut page = PageAfter::new(cursor, limit);
        for (k, _) in self.live_entries() {
            if let Some((c, key)) = decode(k.bytes())
                && c == collection
                && key.starts_with(prefix)
            {
                page.offer(key);
            }
        }
        page.finish()
    }

    fn page_of_collections(&self, prefix: &str, cursor: Option<Cursor>, limit: usize) -> Page {
        let mut page = PageAfter::new(cursor, limit);
        for (k, _) in self.live_entries() {
            if let Some((c, _)) = decode(k.bytes())
                && c.starts_with(prefix)
            {
                page.offer(c);
            }
        }
        page.finish()
    }

    fn collections_of(&self, limit: usize) -> Vec<String> {
        let mut seen = std::collections::BTreeSet::new();
        for (k, _) in self.live_entries() {
            if seen.len() >= limit {
                break;
            }
            match decode(k.bytes()) {
                Some((c, _)) if !seen.contains(c) => {
                    seen.insert(c.to_owned());
                }
                _ => {}
            }
        }
        seen.into_iter().collect()
    }
}

impl EnumerateKeys for MemoryStore {
    async fn keys_opts(&self, collection: &str, opts: ListOptions) -> Result<Vec<String>> {
        let c = collection.to_owned();
        self.walk(move |s| s.keys_of(&c, opts.limit)).await
    }

    async fn keys_page_with_prefix(
        &self,
        collection: &str,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page> {
        let (c, prefix) = (collection.to_owned(), prefix.to_owned());
        self.walk(move |s| s.page_of_keys(&c, &prefix, cursor, limit))
            .await
    }
}

impl EnumerateCollections for MemoryStore {
    async fn collections_page_with_prefix(
        &self,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page> {
        let prefix = prefix.to_owned();
        self.walk(move |s| s.page_of_collections(&prefix, cursor, limit))
            .await
    }

    async fn collections_opts(&self, opts: ListOptions) -> Result<Vec<String>> {
        self.walk(move |s| s.collections_of(opts.limit)).await
    }
}

impl DestroyCollection for MemoryStore {
    async fn destroy_collection_opts(&self, collection: &str) -> Result<()> {
        // One pass under each shard's lock: an entry written during the pass is either
        // removed with the rest or written after it, never half.
        let collection = collection.to_owned();
        self.walk(move |s| {
            s.shared
                .cache
                .retain(|k, _| decode(k.bytes()).is_none_or(|(c, _)| c != collection))
        })
        .await
    }
}

impl DestroyStore for MemoryStore {
    async fn destroy_opts(&self) -> Result<()> {
        self.walk(|s| s.shared.cache.clear()).await
    }
}

impl Cull for MemoryStore {
    /// Removes every expired entry, at once, checking each under its shard's
    /// lock (a racing put of a key wins).
    async fn cull_opts(&self) -> Result<()> {
        self.walk(|s| s.shared.sweep()).await
    }
}

/// Atomic per key: each conditional write inspects and acts on the key's entry under
/// its shard's lock; where the key is absent, the cache holds a placeholder for it
/// until the write is decided, and racing conditional writers of the key wait for it
/// (a thread wait of microseconds: the holder decides and fills it without yielding).
impl ConditionalWrites for MemoryStore {
    async fn put_if_opts(
        &self,
        key: Key<'_>,
        value: Bytes,
        condition: Condition,
        opts: PutOptions,
    ) -> Result<Written> {
        Ok(self.with_encoded(key, |k| self.put_if_encoded(k, value, condition, opts)))
    }

    async fn delete_if_opts(
        &self,
        key: Key<'_>,
        version: Version,
        _: DeleteOptions,
    ) -> Result<bool> {
        let found = self.with_encoded(key, |k| {
            self.shared.cache.entry(k, None, |_, found| {
                if Entry::allows(Some(&*found), Condition::Version(version), Instant::now()) {
                    EntryAction::Remove
                } else {
                    EntryAction::Retain(())
                }
            })
        });
        Ok(matches!(found, EntryResult::Removed(..)))
    }
}

impl MemoryStore {
    /// A conditional put of the encoded key `k` (built on the stack: only a write to
    /// an absent key copies it, into the cache).
    fn put_if_encoded(
        &self,
        k: &Encoded,
        value: Bytes,
        condition: Condition,
        opts: PutOptions,
    ) -> Written {
        let mut value = Some(value);
        loop {
            let found = self.shared.cache.entry(k, None, |_, found| {
                let now = Instant::now();
                if Entry::allows(Some(&*found), condition, now) {
                    let entry = Entry::new(value.take().unwrap_or_default(), opts.ttl);
                    let version = entry.version;
                    *found = entry;
                    EntryAction::Retain(Written::Applied(Some(version)))
                } else {
                    EntryAction::Retain(Written::Rejected(Entry::current(Some(&*found), now)))
                }
            });
            return match found {
                EntryResult::Retained(outcome) => outcome,
                EntryResult::Vacant(guard) => {
                    if !Entry::allows(None, condition, Instant::now()) {
                        return Written::Rejected(None);
                    }
                    let entry = Entry::new(value.take().unwrap_or_default(), opts.ttl);
                    let version = entry.version;
                    match guard.insert_with_lifecycle(entry) {
                        Ok(evicted) => {
                            if evicted {
                                self.shared.evicted();
                            }
                            Written::Applied(Some(version))
                        }
                        // A plain put or delete of the key replaced the placeholder
                        // meanwhile: decide again on what it left, so the answer
                        // agrees with the racing call's.
                        Err(entry) => {
                            value = Some(entry.value);
                            continue;
                        }
                    }
                }
                // Neither is asked for: no callback removes or replaces, and with no
                // timeout the wait for another writer's placeholder never gives up.
                EntryResult::Removed(..) | EntryResult::Replaced(..) | EntryResult::Timeout => {
                    Written::Rejected(None)
                }
            };
        }
    }
}
