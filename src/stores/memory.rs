//! `MemoryStore`: a bounded in-process cache (moka) with per-entry TTL.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

use bytes::Bytes;
use moka::Expiry;
use moka::sync::Cache;

use super::Entry;
use crate::Result;
use crate::store::{
    Cull, DestroyCollection, DestroyStore, EnumerateCollections, EnumerateKeys, KvStore, TtlEntry,
};

/// A bounded in-memory store with per-entry TTL, built on moka's concurrent cache.
///
/// When more than `max_entries` entries are stored, moka evicts the least useful
/// (TinyLFU); expired entries are invisible at once and their memory is reclaimed by
/// moka's housekeeping (or at once by [`Cull::cull`]). Cloning is cheap and shares
/// the cache.
///
/// ```
/// use std::time::Duration;
/// use bytes::Bytes;
/// use kv_store_adapter::{KvStore, stores::MemoryStore};
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let store = MemoryStore::new(10_000);
/// store.put("sessions", "s1", Bytes::from_static(b"token"), Some(Duration::from_millis(50))).await?;
/// assert!(store.get("sessions", "s1").await?.is_some());
/// tokio::time::sleep(Duration::from_millis(60)).await;
/// assert!(store.get("sessions", "s1").await?.is_none());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    cache: Cache<MemKey, Entry>,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("max_entries", &self.cache.policy().max_capacity())
            .field("entries", &self.cache.entry_count())
            .finish()
    }
}

impl MemoryStore {
    /// A store holding at most `max_entries` entries.
    pub fn new(max_entries: u64) -> Self {
        let cache = Cache::builder()
            .max_capacity(max_entries)
            .expire_after(EntryExpiry)
            .build();
        Self { cache }
    }

    /// The number of entries held, including expired ones not yet reclaimed
    /// (an estimate until housekeeping has run; [`Cull::cull`] runs it).
    pub fn entry_count(&self) -> u64 {
        self.cache.entry_count()
    }

    fn live_entries(&self) -> impl Iterator<Item = (std::sync::Arc<MemKey>, Entry)> + '_ {
        let now = Instant::now();
        self.cache.iter().filter(move |(_, e)| e.is_live(now))
    }
}

/// Tells moka each entry's own deadline, on create and on every replacing put.
struct EntryExpiry;

impl Expiry<MemKey, Entry> for EntryExpiry {
    fn expire_after_create(&self, _: &MemKey, entry: &Entry, now: Instant) -> Option<Duration> {
        entry.expires_at.map(|at| at.saturating_duration_since(now))
    }

    fn expire_after_update(
        &self,
        _: &MemKey,
        entry: &Entry,
        now: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        entry.expires_at.map(|at| at.saturating_duration_since(now))
    }
}

/// `(collection, key)` in one allocation; looked up without allocating through
/// `dyn Pair`, which `(&str, &str)` also implements.
struct MemKey {
    joined: Box<str>,
    split: usize,
}

impl MemKey {
    fn new(collection: &str, key: &str) -> Self {
        let mut joined = String::with_capacity(collection.len() + key.len());
        joined.push_str(collection);
        joined.push_str(key);
        Self {
            joined: joined.into_boxed_str(),
            split: collection.len(),
        }
    }
}

trait Pair {
    fn parts(&self) -> (&str, &str);
}

impl Pair for MemKey {
    fn parts(&self) -> (&str, &str) {
        self.joined.split_at(self.split)
    }
}

impl Pair for (&str, &str) {
    fn parts(&self) -> (&str, &str) {
        (self.0, self.1)
    }
}

impl Hash for dyn Pair + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.parts().hash(state);
    }
}

impl PartialEq for dyn Pair + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for dyn Pair + '_ {}

impl Hash for MemKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self as &dyn Pair).hash(state);
    }
}

impl PartialEq for MemKey {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for MemKey {}

impl<'a> Borrow<dyn Pair + 'a> for MemKey {
    fn borrow(&self) -> &(dyn Pair + 'a) {
        self
    }
}

impl KvStore for MemoryStore {
    async fn raw_get(&self, collection: &str, key: &str) -> Result<Option<Bytes>> {
        let lookup: &dyn Pair = &(collection, key);
        Ok(self.cache.get(lookup).map(|entry| entry.value))
    }

    async fn raw_put(
        &self,
        collection: &str,
        key: &str,
        value: Bytes,
        ttl: Option<Duration>,
    ) -> Result<()> {
        self.cache
            .insert(MemKey::new(collection, key), Entry::new(value, ttl));
        Ok(())
    }

    async fn raw_delete(&self, collection: &str, key: &str) -> Result<bool> {
        let lookup: &dyn Pair = &(collection, key);
        let now = Instant::now();
        Ok(self.cache.remove(lookup).is_some_and(|e| e.is_live(now)))
    }

    async fn raw_ttl(&self, collection: &str, key: &str) -> Result<Option<TtlEntry>> {
        let lookup: &dyn Pair = &(collection, key);
        let now = Instant::now();
        Ok(self
            .cache
            .get(lookup)
            .and_then(|e| e.remaining(now).map(|left| (e.value, left))))
    }

    async fn raw_put_many(
        &self,
        collection: &str,
        entries: &[(&str, Bytes)],
        ttl: Option<Duration>,
    ) -> Result<()> {
        for (key, value) in entries {
            self.cache
                .insert(MemKey::new(collection, key), Entry::new(value.clone(), ttl));
        }
        Ok(())
    }
}

impl EnumerateKeys for MemoryStore {
    async fn raw_keys(&self, collection: &str, limit: usize) -> Result<Vec<String>> {
        Ok(self
            .live_entries()
            .filter_map(|(k, _)| {
                let (c, key) = k.parts();
                (c == collection).then(|| key.to_owned())
            })
            .take(limit)
            .collect())
    }
}

impl EnumerateCollections for MemoryStore {
    async fn collections(&self, limit: usize) -> Result<Vec<String>> {
        let mut seen = std::collections::BTreeSet::new();
        for (k, _) in self.live_entries() {
            if seen.len() >= limit {
                break;
            }
            if !seen.contains(k.parts().0) {
                seen.insert(k.parts().0.to_owned());
            }
        }
        Ok(seen.into_iter().collect())
    }
}

impl DestroyCollection for MemoryStore {
    async fn raw_destroy_collection(&self, collection: &str) -> Result<()> {
        for (k, _) in self.cache.iter() {
            if k.parts().0 == collection {
                self.cache.invalidate(&*k);
            }
        }
        Ok(())
    }
}

impl DestroyStore for MemoryStore {
    async fn destroy(&self) -> Result<()> {
        self.cache.invalidate_all();
        self.cache.run_pending_tasks();
        Ok(())
    }
}

impl Cull for MemoryStore {
    async fn cull(&self) -> Result<()> {
        self.cache.run_pending_tasks();
        Ok(())
    }
}
