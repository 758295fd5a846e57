//! `MemoryStore`: a bounded in-process cache (moka) with per-entry TTL.

use std::fmt;
use std::time::{Duration, Instant};

use bytes::Bytes;
use moka::Expiry;
use moka::sync::Cache;

use super::Entry;
use super::memory_key::{MemKey, decode, encode, encode_prefixed, with_key};
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
    cache: Cache<MemKey, Entry, foldhash::fast::RandomState>,
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
            // foldhash (randomly seeded per cache) hashes short keys several times
            // faster than SipHash; keys are injective encodings, so probing stays cheap.
            .build_with_hasher(foldhash::fast::RandomState::default());
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

impl MemoryStore {
    #[inline(always)]
    fn lookup(&self, collection: &str, prefix: &str, key: &str) -> Option<Entry> {
        with_key(collection, prefix, key, |k| self.cache.get(k))
    }

    fn insert(
        &self,
        collection: &str,
        prefix: &str,
        key: &str,
        value: Bytes,
        ttl: Option<Duration>,
    ) {
        let key = encode_prefixed(collection, prefix, key);
        self.cache.insert(key, Entry::new(value, ttl));
    }

    fn remove(&self, collection: &str, prefix: &str, key: &str) -> bool {
        let removed = with_key(collection, prefix, key, |k| self.cache.remove(k));
        removed.is_some_and(|e| e.is_live(Instant::now()))
    }

    fn lookup_ttl(&self, collection: &str, prefix: &str, key: &str) -> Option<TtlEntry> {
        let found = self.lookup(collection, prefix, key)?;
        found
            .remaining(Instant::now())
            .map(|left| (found.value, left))
    }
}

// Every operation completes synchronously; the `_prefixed` forms encode the prefix
// straight into the key instead of receiving it joined.
impl KvStore for MemoryStore {
    /// The checked `get` with the lookup in place of a nested `raw_get` future: one
    /// state machine less on the store's hottest call (~1.5% of a miss).
    async fn get(&self, collection: &str, key: &str) -> Result<Option<Bytes>> {
        crate::names::check(collection, key)?;
        Ok(self.lookup(collection, "", key).map(|entry| entry.value))
    }

    async fn raw_get(&self, collection: &str, key: &str) -> Result<Option<Bytes>> {
        Ok(self.lookup(collection, "", key).map(|entry| entry.value))
    }

    async fn raw_put(
        &self,
        collection: &str,
        key: &str,
        value: Bytes,
        ttl: Option<Duration>,
    ) -> Result<()> {
        self.insert(collection, "", key, value, ttl);
        Ok(())
    }

    async fn raw_delete(&self, collection: &str, key: &str) -> Result<bool> {
        Ok(self.remove(collection, "", key))
    }

    async fn raw_ttl(&self, collection: &str, key: &str) -> Result<Option<TtlEntry>> {
        Ok(self.lookup_ttl(collection, "", key))
    }

    async fn raw_get_prefixed(&self, c: &str, prefix: &str, key: &str) -> Result<Option<Bytes>> {
        Ok(self.lookup(c, prefix, key).map(|entry| entry.value))
    }

    async fn raw_put_prefixed(
        &self,
        c: &str,
        prefix: &str,
        key: &str,
        value: Bytes,
        ttl: Option<Duration>,
    ) -> Result<()> {
        self.insert(c, prefix, key, value, ttl);
        Ok(())
    }

    async fn raw_delete_prefixed(&self, c: &str, prefix: &str, key: &str) -> Result<bool> {
        Ok(self.remove(c, prefix, key))
    }

    async fn raw_ttl_prefixed(&self, c: &str, prefix: &str, key: &str) -> Result<Option<TtlEntry>> {
        Ok(self.lookup_ttl(c, prefix, key))
    }

    async fn raw_get_many(&self, collection: &str, keys: &[&str]) -> Result<Vec<Option<Bytes>>> {
        Ok(keys
            .iter()
            .map(|key| self.lookup(collection, "", key).map(|entry| entry.value))
            .collect())
    }

    async fn raw_put_many(
        &self,
        collection: &str,
        entries: &[(&str, Bytes)],
        ttl: Option<Duration>,
    ) -> Result<()> {
        for (key, value) in entries {
            self.cache
                .insert(encode(collection, key), Entry::new(value.clone(), ttl));
        }
        Ok(())
    }
}

impl EnumerateKeys for MemoryStore {
    async fn raw_keys(&self, collection: &str, limit: usize) -> Result<Vec<String>> {
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
    async fn collections(&self, limit: usize) -> Result<Vec<String>> {
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
    async fn raw_destroy_collection(&self, collection: &str) -> Result<()> {
        for (k, _) in self.cache.iter() {
            if decode(k.bytes()).is_some_and(|(c, _)| c == collection) {
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
