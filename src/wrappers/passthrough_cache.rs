//! `PassthroughCache`: a read-through cache in front of a primary store.

use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{RwLock, RwLockWriteGuard};

use crate::{
    Cull, DestroyCollection, DestroyStore, EnumerateCollections, EnumerateKeys, KvStore, Result,
    TtlEntry,
};

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

impl<P: KvStore, C: KvStore> PassthroughCache<P, C> {
    /// Fills the cache with what the primary answered, unless a write to the key
    /// ended since `epoch` was read (before the primary was asked).
    async fn fill(&self, c: &str, k: &str, entry: &TtlEntry, stripe: usize, epoch: u64) {
        let _shared = self.epochs.stripes[stripe].lock.read().await;
        if self.epochs.epoch(stripe) != epoch {
            return; // the primary's answer may be older than that write
        }
        let ttl = self.cache_ttl(entry.1);
        if let Err(e) = self.cache.raw_put(c, k, entry.0.clone(), Some(ttl)).await {
            tracing::warn!(error = %e, "cannot fill the cache");
        }
    }

    /// Writes the primary, then invalidates the cache while no fill can run on the
    /// keys' stripes (and fills that began before are told to skip).
    async fn write<T>(
        &self,
        c: &str,
        keys: &[&str],
        primary: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let result = primary.await;
        let _exclusive = self.epochs.begin_invalidation(c, Some(keys)).await;
        match keys {
            [key] => self.cache.raw_delete(c, key).await.map(drop)?,
            keys => self.cache.raw_delete_many(c, keys).await.map(drop)?,
        }
        result
    }
}

impl<P: KvStore, C: KvStore> KvStore for PassthroughCache<P, C> {
    async fn raw_get(&self, c: &str, k: &str) -> Result<Option<Bytes>> {
        if let Ok(Some(value)) = self.cache.raw_get(c, k).await {
            return Ok(Some(value));
        }
        Ok(self.raw_ttl(c, k).await?.map(|(value, _)| value))
    }

    async fn raw_put(&self, c: &str, k: &str, v: Bytes, ttl: Option<Duration>) -> Result<()> {
        self.write(c, &[k], self.primary.raw_put(c, k, v, ttl))
            .await
    }

    async fn raw_delete(&self, c: &str, k: &str) -> Result<bool> {
        self.write(c, &[k], self.primary.raw_delete(c, k)).await
    }

    async fn raw_ttl(&self, c: &str, k: &str) -> Result<Option<TtlEntry>> {
        let stripe = self.epochs.stripe(c, k);
        let epoch = self.epochs.epoch(stripe);
        let found = self.primary.raw_ttl(c, k).await?;
        if let Some(entry) = &found {
            self.fill(c, k, entry, stripe, epoch).await;
        }
        Ok(found)
    }

    async fn raw_get_many(&self, c: &str, keys: &[&str]) -> Result<Vec<Option<Bytes>>> {
        let mut out = self
            .cache
            .raw_get_many(c, keys)
            .await
            .unwrap_or_else(|_| vec![None; keys.len()]);
        let missed: Vec<usize> = (0..keys.len()).filter(|&i| out[i].is_none()).collect();
        if missed.is_empty() {
            return Ok(out);
        }
        let missed_keys: Vec<&str> = missed.iter().map(|&i| keys[i]).collect();
        let found = self.raw_ttl_many(c, &missed_keys).await?;
        for (i, entry) in missed.into_iter().zip(found) {
            out[i] = entry.map(|(value, _)| value);
        }
        Ok(out)
    }

    async fn raw_put_many(
        &self,
        c: &str,
        entries: &[(&str, Bytes)],
        ttl: Option<Duration>,
    ) -> Result<()> {
        let keys: Vec<&str> = entries.iter().map(|(k, _)| *k).collect();
        let primary = self.primary.raw_put_many(c, entries, ttl);
        self.write(c, &keys, primary).await
    }

    async fn raw_delete_many(&self, c: &str, keys: &[&str]) -> Result<usize> {
        self.write(c, keys, self.primary.raw_delete_many(c, keys))
            .await
    }

    async fn raw_ttl_many(&self, c: &str, keys: &[&str]) -> Result<Vec<Option<TtlEntry>>> {
        let epochs: Vec<(usize, u64)> = keys
            .iter()
            .map(|k| {
                let stripe = self.epochs.stripe(c, k);
                (stripe, self.epochs.epoch(stripe))
            })
            .collect();
        let found = self.primary.raw_ttl_many(c, keys).await?;
        for ((key, entry), (stripe, epoch)) in keys.iter().zip(&found).zip(epochs) {
            if let Some(entry) = entry {
                self.fill(c, key, entry, stripe, epoch).await;
            }
        }
        Ok(found)
    }
}

impl<P: EnumerateKeys, C: KvStore> EnumerateKeys for PassthroughCache<P, C> {
    fn raw_keys(&self, c: &str, limit: usize) -> impl Future<Output = Result<Vec<String>>> + Send {
        self.primary.raw_keys(c, limit)
    }
}

impl<P: EnumerateCollections, C: KvStore> EnumerateCollections for PassthroughCache<P, C> {
    fn collections(&self, limit: usize) -> impl Future<Output = Result<Vec<String>>> + Send {
        self.primary.collections(limit)
    }
}

impl<P: DestroyCollection, C: DestroyCollection> DestroyCollection for PassthroughCache<P, C> {
    async fn raw_destroy_collection(&self, c: &str) -> Result<()> {
        let result = self.primary.raw_destroy_collection(c).await;
        let _exclusive = self.epochs.begin_invalidation(c, None).await;
        self.cache.raw_destroy_collection(c).await?;
        result
    }
}

impl<P: DestroyStore, C: DestroyStore> DestroyStore for PassthroughCache<P, C> {
    async fn destroy(&self) -> Result<()> {
        let result = self.primary.destroy().await;
        let _exclusive = self.epochs.begin_invalidation("", None).await;
        self.cache.destroy().await?;
        result
    }
}

impl<P: Cull, C: Cull> Cull for PassthroughCache<P, C> {
    async fn cull(&self) -> Result<()> {
        self.cache.cull().await?;
        self.primary.cull().await
    }
}
