//! `MemoryStore`: a bounded in-process cache (moka) with per-entry TTL.

use std::fmt;
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

/// `(collection, key)` encoded injectively as `len(collection) as u32 LE ‖ collection ‖ key`.
///
/// Plain byte slices keep moka's hashing and probing as cheap as for a single string
/// key; lookups of short keys encode on the stack, so reads do not allocate.
type MemKey = Box<[u8]>;

fn encode_into(buf: &mut Vec<u8>, collection: &str, key: &str) {
    buf.clear();
    // Collections are at most a few KiB (names are checked), so the length fits.
    buf.extend_from_slice(&(collection.len() as u32).to_le_bytes());
    buf.extend_from_slice(collection.as_bytes());
    buf.extend_from_slice(key.as_bytes());
}

pub(crate) fn encode(collection: &str, key: &str) -> MemKey {
    encode_prefixed(collection, "", key)
}

/// The encoding of `(collection, prefix ‖ key)`.
fn encode_prefixed(collection: &str, prefix: &str, key: &str) -> MemKey {
    let mut buf = Vec::with_capacity(4 + collection.len() + prefix.len() + key.len());
    encode_into(&mut buf, collection, prefix);
    buf.extend_from_slice(key.as_bytes());
    buf.into_boxed_slice()
}

/// The `(collection, key)` of an encoded key.
pub(crate) fn decode(key: &[u8]) -> Option<(&str, &str)> {
    let (len, rest) = key.split_first_chunk::<4>()?;
    let (c, k) = rest.split_at_checked(u32::from_le_bytes(*len) as usize)?;
    Some((std::str::from_utf8(c).ok()?, std::str::from_utf8(k).ok()?))
}

/// Encoded keys up to this size are built on the stack for lookups.
const STACK_KEY: usize = 128;

/// Runs `f` with the encoded `(collection, prefix ‖ key)`; short keys (the usual
/// case) do not allocate. Plain keys pass an empty `prefix`, whose copy the inlined
/// code drops.
#[inline]
fn with_key<R>(collection: &str, prefix: &str, key: &str, f: impl FnOnce(&[u8]) -> R) -> R {
    let len = 4 + collection.len() + prefix.len() + key.len();
    if len > STACK_KEY {
        return f(&encode_prefixed(collection, prefix, key));
    }
    let mut buf = std::mem::MaybeUninit::<[u8; STACK_KEY]>::uninit();
    let dst = buf.as_mut_ptr().cast::<u8>();
    // SAFETY: `len <= STACK_KEY` bytes are written, each exactly once, from slices
    // that do not overlap the buffer; then exactly those bytes are read.
    let encoded = unsafe {
        let key_at = dst.add(4 + collection.len());
        crate::names::copy_short(&(collection.len() as u32).to_le_bytes(), dst);
        crate::names::copy_short(collection.as_bytes(), dst.add(4));
        if !prefix.is_empty() {
            crate::names::copy_short(prefix.as_bytes(), key_at);
        }
        crate::names::copy_short(key.as_bytes(), key_at.add(prefix.len()));
        std::slice::from_raw_parts(dst, len)
    };
    f(encoded)
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
        // The collection is encoded once; each key replaces the previous one after it.
        let mut buf = Vec::with_capacity(STACK_KEY);
        encode_into(&mut buf, collection, "");
        let prefix = buf.len();
        Ok(keys
            .iter()
            .map(|key| {
                buf.truncate(prefix);
                buf.extend_from_slice(key.as_bytes());
                self.cache.get(&buf[..]).map(|entry| entry.value)
            })
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
            .filter_map(|(k, _)| match decode(&k) {
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
            match decode(&k) {
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
            if decode(&k).is_some_and(|(c, _)| c == collection) {
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
