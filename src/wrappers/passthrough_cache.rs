//! `PassthroughCache`: a read-through cache in front of a primary store.

use std::time::Duration;

use bytes::Bytes;

use crate::{
    Cull, DestroyCollection, DestroyStore, EnumerateCollections, EnumerateKeys, KvStore, Result,
    TtlEntry,
};

/// Reads try `cache` first; on a miss they read the primary's value *and* remaining
/// TTL, and fill the cache for that TTL capped at `max_ttl` (`missing_ttl` for
/// entries that never expire). `ttl()` always asks the primary, so it reports the true
/// remaining time. Writes and deletes invalidate the cache, write the primary, and
/// invalidate again (closing the window where a concurrent read could refill the
/// cache with the old value). An empty value is a hit like any other.
///
/// A cache that fails on a read is treated as a miss (it is only a cache); a cache that
/// cannot be invalidated fails the write, since it would serve stale data.
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
///     MemoryStore::new(10_000),
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
}

impl<P, C> PassthroughCache<P, C> {
    /// Caches `primary`'s entries in `cache` for at most `max_ttl`, entries without
    /// expiry for `missing_ttl`. A zero duration is raised to one millisecond.
    pub fn new(primary: P, cache: C, max_ttl: Duration, missing_ttl: Duration) -> Self {
        let floor = Duration::from_millis(1);
        Self {
            primary,
            cache,
            max_ttl: max_ttl.max(floor),
            missing_ttl: missing_ttl.max(floor),
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
    async fn fill(&self, c: &str, k: &str, entry: &TtlEntry) {
        let ttl = self.cache_ttl(entry.1);
        if let Err(e) = self.cache.raw_put(c, k, entry.0.clone(), Some(ttl)).await {
            tracing::warn!(error = %e, "cannot fill the cache");
        }
    }

    async fn invalidate(&self, c: &str, keys: &[&str]) -> Result<()> {
        match keys {
            [key] => self.cache.raw_delete(c, key).await.map(drop),
            keys => self.cache.raw_delete_many(c, keys).await.map(drop),
        }
    }

    /// Writes through the primary between two invalidations of the cache.
    async fn write<T>(
        &self,
        c: &str,
        keys: &[&str],
        primary: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        self.invalidate(c, keys).await?;
        let result = primary.await;
        self.invalidate(c, keys).await?;
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
        let found = self.primary.raw_ttl(c, k).await?;
        if let Some(entry) = &found {
            self.fill(c, k, entry).await;
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
        let found = self.primary.raw_ttl_many(c, keys).await?;
        for (key, entry) in keys.iter().zip(&found) {
            if let Some(entry) = entry {
                self.fill(c, key, entry).await;
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
        self.cache.raw_destroy_collection(c).await?;
        self.primary.raw_destroy_collection(c).await?;
        self.cache.raw_destroy_collection(c).await
    }
}

impl<P: DestroyStore, C: DestroyStore> DestroyStore for PassthroughCache<P, C> {
    async fn destroy(&self) -> Result<()> {
        self.cache.destroy().await?;
        self.primary.destroy().await?;
        self.cache.destroy().await
    }
}

impl<P: Cull, C: Cull> Cull for PassthroughCache<P, C> {
    async fn cull(&self) -> Result<()> {
        self.cache.cull().await?;
        self.primary.cull().await
    }
}
