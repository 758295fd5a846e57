//! `MemoryStore`: a bounded in-process cache (moka) with per-entry TTL.

use std::fmt;
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::Bytes;
use moka::Expiry;
use moka::ops::compute::Op;
use moka::sync::Cache;

use super::Timed as Entry;
use super::memory_key::{MemKey, decode, encode, encode_prefixed, with_key};
use crate::store::{
    Cull, DeleteOptions, DestroyCollection, DestroyStore, EnumerateCollections, EnumerateKeys,
    GetOptions, Key, ListOptions, PutOptions, Store,
};
use crate::{Condition, ConditionalWrites, Entry as Found, Result, Version, Written};

/// A bounded in-memory store with per-entry TTL, built on moka's concurrent cache.
///
/// When more than `max_entries` entries are stored, moka evicts the least useful
/// (TinyLFU). An expired entry is invisible at once (every read checks its deadline);
/// its memory is reclaimed at once by [`cull`](crate::KvStore::cull), or else by moka's own
/// housekeeping, which runs as the cache is used and removes an entry 2 to about 3.5
/// seconds after its deadline (a 2 s grace that lets `cull` still see it, then moka's
/// timer buckets of about a second). Until then it counts toward `max_entries` and
/// [`entry_count`](Self::entry_count). Cloning is cheap and shares the cache.
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
    cache: Cache<MemKey, Entry, foldhash::fast::RandomState>,
}

/// Options for a [`MemoryStore`]: see [`MemoryStore::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct MemoryStoreBuilder {
    max_entries: u64,
}

impl MemoryStoreBuilder {
    /// The most entries held (default [`DEFAULT_MAX_ENTRIES`]); past it, moka evicts
    /// the least useful.
    pub fn max_entries(mut self, max_entries: u64) -> Self {
        self.max_entries = max_entries;
        self
    }

    /// The store.
    pub fn build(self) -> MemoryStore {
        let cache = Cache::builder()
            .max_capacity(self.max_entries)
            .expire_after(EntryExpiry)
            // foldhash (randomly seeded per cache) hashes short keys several times
            // faster than SipHash; keys are injective encodings, so probing stays cheap.
            .build_with_hasher(foldhash::fast::RandomState::default());
        MemoryStore { cache }
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("max_entries", &self.cache.policy().max_capacity())
            .field("entries", &self.cache.entry_count())
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
        self.cache.policy().max_capacity().unwrap_or(u64::MAX)
    }

    /// The number of entries held, including expired ones not yet reclaimed
    /// (an estimate until housekeeping has run; [`cull`](crate::KvStore::cull) reclaims every expired
    /// entry and runs it, so the count is exact right after a cull).
    pub fn entry_count(&self) -> u64 {
        self.cache.entry_count()
    }

    fn live_entries(&self) -> impl Iterator<Item = (std::sync::Arc<MemKey>, Entry)> + '_ {
        let now = Instant::now();
        self.cache.iter().filter(move |(_, e)| e.is_live(now))
    }
}

/// How long past its deadline moka keeps an entry before its own housekeeping removes
/// it. Reads check each entry's deadline themselves, so an expired entry is invisible
/// at once either way; until moka expires it, [`cull`](crate::KvStore::cull) can still see it, and
/// removes it at once.
const GRACE: Duration = Duration::from_secs(2);

/// Tells moka each entry's own deadline plus [`GRACE`], on create and on every
/// replacing put.
struct EntryExpiry;

impl Expiry<MemKey, Entry> for EntryExpiry {
    fn expire_after_create(&self, _: &MemKey, entry: &Entry, now: Instant) -> Option<Duration> {
        entry
            .expires_at
            .map(|at| at.saturating_duration_since(now) + GRACE)
    }

    fn expire_after_update(
        &self,
        _: &MemKey,
        entry: &Entry,
        now: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        entry
            .expires_at
            .map(|at| at.saturating_duration_since(now) + GRACE)
    }
}

impl MemoryStore {
    /// Runs `f` with `key` encoded. A key without a prefix (the usual case) takes a
    /// branch where the prefix is the constant `""`, so the inlined encoder drops its
    /// copy, as it did when unprefixed calls passed `""` themselves.
    #[inline(always)]
    fn with_encoded<R>(&self, key: Key<'_>, f: impl FnOnce(&super::memory_key::Key) -> R) -> R {
        if key.prefix().is_empty() {
            with_key(key.collection(), "", key.name(), f)
        } else {
            with_key(key.collection(), key.prefix(), key.name(), f)
        }
    }

    #[inline(always)]
    fn lookup(&self, key: Key<'_>, opts: GetOptions) -> Option<Found> {
        let entry = self.with_encoded(key, |k| self.cache.get(k))?;
        // Past its deadline, within moka's grace: already invisible.
        entry.read(opts)
    }

    fn remove(&self, key: Key<'_>) -> bool {
        let removed = self.with_encoded(key, |k| self.cache.remove(k));
        removed.is_some_and(|e| e.is_live_now())
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
        self.cache.insert(encoded, Entry::new(value, opts.ttl));
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
            self.cache
                .insert(encode(collection, key), Entry::new(value.clone(), opts.ttl));
        }
        Ok(())
    }
}

impl EnumerateKeys for MemoryStore {
    async fn keys_opts(&self, collection: &str, opts: ListOptions) -> Result<Vec<String>> {
        let limit = opts.limit;
        Ok(self
            .live_entries()
            .filter_map(|(k, _)| match decode(k.bytes()) {
                Some((c, key)) if c == collection => Some(key.to_owned()),
                _ => None,
            })
            .take(limit)
            .collect())
    }
}

impl EnumerateCollections for MemoryStore {
    async fn collections_opts(&self, opts: ListOptions) -> Result<Vec<String>> {
        let limit = opts.limit;
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
        Ok(seen.into_iter().collect())
    }
}

impl DestroyCollection for MemoryStore {
    async fn destroy_collection_opts(&self, collection: &str) -> Result<()> {
        for (k, _) in self.cache.iter() {
            if decode(k.bytes()).is_some_and(|(c, _)| c == collection) {
                self.cache.invalidate(&*k);
            }
        }
        Ok(())
    }
}

impl DestroyStore for MemoryStore {
    async fn destroy_opts(&self) -> Result<()> {
        self.cache.invalidate_all();
        self.cache.run_pending_tasks();
        Ok(())
    }
}

impl Cull for MemoryStore {
    /// Removes every entry expired by now, at once: moka's own housekeeping reclaims
    /// expired entries only in timer buckets of about a second.
    async fn cull_opts(&self) -> Result<()> {
        let now = Instant::now();
        // moka still counts entries within their grace as live, so they are listed;
        // each is removed only if it is still the expired one (a racing put wins).
        for (key, entry) in self.cache.iter() {
            if entry.expires_at.is_some_and(|at| at <= now) {
                self.cache
                    .entry(key.to_owned_key())
                    .and_compute_with(|current| match current {
                        Some(e) if e.value().expires_at.is_some_and(|at| at <= now) => Op::Remove,
                        _ => Op::Nop,
                    });
            }
        }
        self.cache.run_pending_tasks();
        Ok(())
    }
}

/// Atomic per key: each conditional write is one compute of the cache's entry, which
/// moka runs under that key's lock, so racing writers see each other's results.
impl ConditionalWrites for MemoryStore {
    async fn put_if_opts(
        &self,
        key: Key<'_>,
        value: Bytes,
        condition: Condition,
        opts: PutOptions,
    ) -> Result<Written> {
        let encoded = encode_prefixed(key.collection(), key.prefix(), key.name());
        let mut outcome = Written::Rejected(None);
        self.cache.entry(encoded).and_compute_with(|found| {
            let now = Instant::now();
            let found = found.as_ref().map(|e| e.value());
            if Entry::allows(found, condition, now) {
                let entry = Entry::new(value, opts.ttl);
                outcome = Written::Applied(Some(entry.version));
                Op::Put(entry)
            } else {
                outcome = Written::Rejected(Entry::current(found, now));
                Op::Nop
            }
        });
        Ok(outcome)
    }

    async fn delete_if_opts(
        &self,
        key: Key<'_>,
        version: Version,
        _: DeleteOptions,
    ) -> Result<bool> {
        let encoded = encode_prefixed(key.collection(), key.prefix(), key.name());
        let mut deleted = false;
        self.cache.entry(encoded).and_compute_with(|found| {
            let found = found.as_ref().map(|e| e.value());
            if Entry::allows(found, Condition::Version(version), Instant::now()) {
                deleted = true;
                Op::Remove
            } else {
                Op::Nop
            }
        });
        Ok(deleted)
    }
}
