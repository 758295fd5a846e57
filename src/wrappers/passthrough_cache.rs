//! `PassthroughCache`: a read-through cache in front of a primary store.

use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{RwLock, RwLockWriteGuard};

use crate::{
    Bytes, Condition, ConditionalWrites, Cull, DeleteOptions, DestroyCollection, DestroyStore,
    Entry, EnumerateCollections, EnumerateKeys, GetOptions, Key, ListOptions, PutOptions, Result,
    Store, Version, Written,
};
use crate::{Cursor, Page};

/// Reads try `cache` first; on a miss they read the primary's value *and* remaining
/// TTL, and fill the cache for that TTL capped at `max_ttl` (`missing_ttl` for
/// entries that never expire). `ttl()` always asks the primary, so it reports the true
/// remaining time. An empty value is a hit like any other.
///
/// **No stale reads after a write.** Writes and deletes write the primary, then
/// invalidate the cache. A read that missed and read the old value from the primary
/// fills the cache only if no write to that key ended since the read began: each key
/// hashes to one of 256 stripes, each with an epoch that a write moves on while holding
/// the stripe's lock exclusively, and a fill checks the epoch and writes the cache
/// while holding it shared. Once a put or delete through this wrapper has returned,
/// no read through it sees the old value. (Writes made to the primary directly, or by
/// another process, are seen when the cached entry expires: at most `max_ttl`.)
///
/// A cache that fails on a read is treated as a miss (it is only a cache); a cache that
/// cannot be invalidated fails the write, since it would serve stale data.
///
/// Fills are internal writes and follow the crate's TTL rule like every other: the
/// fill's TTL is the primary's remaining time capped at `max_ttl`, and `max_ttl` and
/// `missing_ttl` are clamped to [`MAX_TTL`](crate::names::MAX_TTL) when built.
///
/// ```
/// use std::time::Duration;
/// use bytes::Bytes;
/// use kv_store_adapter::{KvStore, stores::{DiskStore, MemoryStore}, wrappers::PassthroughCache};
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// let store = PassthroughCache::new(
///     DiskStore::open(dir.path().join("kv.redb"))?,
///     MemoryStore::new(),
///     Duration::from_secs(60),
///     Duration::from_secs(10),
/// );
/// store.put("users", "ada", Bytes::from_static(b"1815"), None).await?;
/// assert_eq!(store.get("users", "ada").await?.as_deref(), Some(&b"1815"[..])); // fills
/// assert!(store.cache().get("users", "ada").await?.is_some());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PassthroughCache<P, C> {
    primary: P,
    cache: C,
    max_ttl: Duration,
    missing_ttl: Duration,
    epochs: Arc<Epochs>,
}

const STRIPES: usize = 256;

/// Per-stripe write epochs, and a lock ordering fills against invalidations.
#[derive(Debug)]
struct Epochs {
    stripes: Box<[Stripe]>,
    hasher: foldhash::fast::FixedState,
}

#[derive(Debug, Default)]
struct Stripe {
    epoch: AtomicU64,
    /// Shared by fills, exclusive for a write's invalidation.
    lock: RwLock<()>,
}

impl Default for Epochs {
    fn default() -> Self {
        Self {
            stripes: (0..STRIPES).map(|_| Stripe::default()).collect(),
            hasher: foldhash::fast::FixedState::default(),
        }
    }
}

impl Epochs {
    fn stripe(&self, c: &str, k: &str) -> usize {
        self.hasher.hash_one((c, k)) as usize % STRIPES
    }

    fn epoch(&self, stripe: usize) -> u64 {
        self.stripes[stripe].epoch.load(Ordering::Acquire)
    }

    /// Locks the stripes of `keys` (every stripe for `None`) exclusively, in order,
    /// and moves their epochs on: fills that began earlier will not write.
    async fn begin_invalidation(
        &self,
        c: &str,
        keys: Option<&[&str]>,
    ) -> Vec<RwLockWriteGuard<'_, ()>> {
        let mut stripes: Vec<usize> = match keys {
            Some(keys) => keys.iter().map(|k| self.stripe(c, k)).collect(),
            None => (0..STRIPES).collect(),
        };
        stripes.sort_unstable();
        stripes.dedup();
        let mut guards = Vec::with_capacity(stripes.len());
        for i in stripes {
            guards.push(self.stripes[i].lock.write().await);
            self.stripes[i].epoch.fetch_add(1, Ordering::AcqRel);
        }
        guards
    }
}

impl<P, C> PassthroughCache<P, C> {
    /// Caches `primary`'s entries in `cache` for at most `max_ttl`, entries without
    /// expiry for `missing_ttl`. A zero duration is raised to one millisecond, one over
    /// [`MAX_TTL`](crate::names::MAX_TTL) (`Duration::MAX` included) lowered to it.
    pub fn new(primary: P, cache: C, max_ttl: Duration, missing_ttl: Duration) -> Self {
        let floor = Duration::from_millis(1);
        let bound = |ttl: Duration| ttl.clamp(floor, crate::names::MAX_TTL);
        Self {
            primary,
            cache,
            max_ttl: bound(max_ttl),
            missing_ttl: bound(missing_ttl),
            epochs: Arc::default(),
        }
    }

    /// The primary store.
    pub fn primary(&self) -> &P {
        &self.primary
    }

    /// The cache.
    pub fn cache(&self) -> &C {
        &self.cache
    }

    fn cache_ttl(&self, left: Option<Duration>) -> Duration {
        left.map_or(self.missing_ttl, |left| left.min(self.max_ttl))
    }
}

impl<P: Store, C: Store> PassthroughCache<P, C> {
    async fn fill(&self, c: &str, k: &str, entry: &Entry, stripe: usize, epoch: u64) {
        let _shared = self.epochs.stripes[stripe].lock.read().await;
        if self.epochs.epoch(stripe) != epoch {
            return; // the primary's answer may be older than that write
        }
        let opts = PutOptions::expiring(Some(self.cache_ttl(entry.expires_in)));
        let key = Key::renamed(c, k);
        if let Err(e) = self.cache.put_opts(key, cached(entry), opts).await {
            tracing::warn!(error = %e, "cannot fill the cache");
        }
    }

    async fn write<T>(
        &self,
        c: &str,
        keys: &[&str],
        primary: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let result = primary.await;
        let _exclusive = self.epochs.begin_invalidation(c, Some(keys)).await;
        let opts = DeleteOptions::default();
        match keys {
            [key] => self
                .cache
                .delete_opts(Key::renamed(c, key), opts)
                .await
                .map(drop)?,
            keys => self.cache.delete_many_opts(c, keys, opts).await.map(drop)?,
        }
        result
    }

    /// Reads from the primary, with the TTL (the cache's entry lives no longer than
    /// the primary's), filling the cache unless a write came in between.
    async fn read_through(&self, key: Key<'_>) -> Result<Option<Entry>> {
        let (c, k) = (key.collection(), key.joined());
        let stripe = self.epochs.stripe(c, &k);
        let epoch = self.epochs.epoch(stripe);
        let found = self.primary.get_opts(key, GetOptions::with_ttl()).await?;
        if let Some(entry) = &found {
            self.fill(c, &k, entry, stripe, epoch).await;
        }
        Ok(found)
    }

    async fn read_through_many(&self, c: &str, keys: &[&str]) -> Result<Vec<Option<Entry>>> {
        let epochs: Vec<(usize, u64)> = keys
            .iter()
            .map(|k| {
                let stripe = self.epochs.stripe(c, k);
                (stripe, self.epochs.epoch(stripe))
            })
            .collect();
        let found = self
            .primary
            .get_many_opts(c, keys, GetOptions::with_ttl())
            .await?;
        for ((key, entry), (stripe, epoch)) in keys.iter().zip(&found).zip(epochs) {
            if let Some(entry) = entry {
                self.fill(c, key, entry, stripe, epoch).await;
            }
        }
        Ok(found)
    }
}

/// The entry as a read without `ttl` answers it.
fn untimed(entry: Option<Entry>, opts: GetOptions) -> Option<Entry> {
    entry.map(|e| {
        if opts.ttl {
            e
        } else {
            Entry::value(e.value).with_version(e.version)
        }
    })
}

/// What the cache keeps for a primary's entry: its version too (the cache's own
/// version would mean nothing to the primary), as a format byte (0: none, 1: 16 bytes
/// follow) in front of the value.
fn cached(entry: &Entry) -> Bytes {
    let mut out = Vec::with_capacity(17 + entry.value.len());
    match entry.version {
        Some(version) => {
            out.push(1);
            out.extend_from_slice(&version.to_bytes());
        }
        None => out.push(0),
    }
    out.extend_from_slice(&entry.value);
    out.into()
}

/// The primary's entry from what the cache kept; `None` (read through) for anything
/// else.
fn uncached(entry: Entry) -> Option<Entry> {
    let raw = entry.value;
    let (version, header) = match raw.first()? {
        0 => (None, 1),
        1 => (
            Some(Version::from_bytes(*raw.get(1..17)?.first_chunk()?)),
            17,
        ),
        _ => return None,
    };
    Some(Entry::value(raw.slice(header..)).with_version(version))
}

impl<P: Store, C: Store> Store for PassthroughCache<P, C> {
    async fn get_opts(&self, key: Key<'_>, opts: GetOptions) -> Result<Option<Entry>> {
        // The cache's expiry is its own, so a read that asks for the TTL asks the primary.
        if !opts.ttl
            && let Ok(Some(entry)) = self.cache.get_opts(key, opts).await
            && let Some(entry) = uncached(entry)
        {
            return Ok(Some(entry));
        }
        Ok(untimed(self.read_through(key).await?, opts))
    }

    async fn put_opts(&self, key: Key<'_>, v: Bytes, opts: PutOptions) -> Result<()> {
        let k = key.joined();
        self.write(key.collection(), &[&k], self.primary.put_opts(key, v, opts))
            .await
    }

    async fn delete_opts(&self, key: Key<'_>, opts: DeleteOptions) -> Result<bool> {
        let k = key.joined();
        self.write(key.collection(), &[&k], self.primary.delete_opts(key, opts))
            .await
    }

    async fn get_many_opts(
        &self,
        c: &str,
        keys: &[&str],
        opts: GetOptions,
    ) -> Result<Vec<Option<Entry>>> {
        if opts.ttl {
            return self.read_through_many(c, keys).await;
        }
        let mut out = self
            .cache
            .get_many_opts(c, keys, opts)
            .await
            .unwrap_or_else(|_| vec![None; keys.len()]);
        for slot in &mut out {
            *slot = slot.take().and_then(uncached);
        }
        let missed: Vec<usize> = (0..keys.len()).filter(|&i| out[i].is_none()).collect();
        if missed.is_empty() {
            return Ok(out);
        }
        let missed_keys: Vec<&str> = missed.iter().map(|&i| keys[i]).collect();
        let found = self.read_through_many(c, &missed_keys).await?;
        for (i, entry) in missed.into_iter().zip(found) {
            out[i] = untimed(entry, opts);
        }
        Ok(out)
    }

    async fn put_many_opts(
        &self,
        c: &str,
        entries: &[(&str, Bytes)],
        opts: PutOptions,
    ) -> Result<()> {
        let keys: Vec<&str> = entries.iter().map(|(k, _)| *k).collect();
        let primary = self.primary.put_many_opts(c, entries, opts);
        self.write(c, &keys, primary).await
    }

    async fn delete_many_opts(&self, c: &str, keys: &[&str], opts: DeleteOptions) -> Result<usize> {
        self.write(c, keys, self.primary.delete_many_opts(c, keys, opts))
            .await
    }
}

/// A conditional write goes to the primary, then invalidates the key as every write
/// does (bumping its epoch, so a read that fetched an older entry meanwhile does not
/// fill the cache with it): no read through this wrapper answers an entry older than
/// one a conditional write it made acknowledged.
impl<P: ConditionalWrites, C: Store> ConditionalWrites for PassthroughCache<P, C> {
    async fn put_if_opts(
        &self,
        key: Key<'_>,
        v: Bytes,
        condition: Condition,
        opts: PutOptions,
    ) -> Result<Written> {
        let k = key.joined();
        let primary = self.primary.put_if_opts(key, v, condition, opts);
        self.write(key.collection(), &[&k], primary).await
    }

    async fn delete_if_opts(
        &self,
        key: Key<'_>,
        version: Version,
        opts: DeleteOptions,
    ) -> Result<bool> {
        let k = key.joined();
        let primary = self.primary.delete_if_opts(key, version, opts);
        self.write(key.collection(), &[&k], primary).await
    }
}

impl<P: EnumerateKeys, C: Store> EnumerateKeys for PassthroughCache<P, C> {
    fn keys_opts(
        &self,
        c: &str,
        opts: ListOptions,
    ) -> impl Future<Output = Result<Vec<String>>> + Send {
        self.primary.keys_opts(c, opts)
    }
    fn keys_page_with_prefix(
        &self,
        c: &str,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> impl Future<Output = Result<Page>> + Send {
        self.primary.keys_page_with_prefix(c, prefix, cursor, limit)
    }
    fn walk_page(&self, c: &str) -> usize {
        self.primary.walk_page(c)
    }
}

impl<P: EnumerateCollections, C: Store> EnumerateCollections for PassthroughCache<P, C> {
    fn collections_opts(
        &self,
        opts: ListOptions,
    ) -> impl Future<Output = Result<Vec<String>>> + Send {
        self.primary.collections_opts(opts)
    }
    fn collections_page_with_prefix(
        &self,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> impl Future<Output = Result<Page>> + Send {
        self.primary
            .collections_page_with_prefix(prefix, cursor, limit)
    }
    fn collections_walk_page(&self) -> usize {
        self.primary.collections_walk_page()
    }
}

impl<P: DestroyCollection, C: DestroyCollection> DestroyCollection for PassthroughCache<P, C> {
    async fn destroy_collection_opts(&self, c: &str) -> Result<()> {
        let result = self.primary.destroy_collection_opts(c).await;
        let _exclusive = self.epochs.begin_invalidation(c, None).await;
        self.cache.destroy_collection_opts(c).await?;
        result
    }
}

impl<P: DestroyStore, C: DestroyStore> DestroyStore for PassthroughCache<P, C> {
    async fn destroy_opts(&self) -> Result<()> {
        let result = self.primary.destroy_opts().await;
        let _exclusive = self.epochs.begin_invalidation("", None).await;
        self.cache.destroy_opts().await?;
        result
    }
}

impl<P: Cull, C: Cull> Cull for PassthroughCache<P, C> {
    async fn cull_opts(&self) -> Result<()> {
        self.cache.cull_opts().await?;
        self.primary.cull_opts().await
    }
}
