//! `SimpleStore`: a plain map whose raw contents tests can inspect.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::Timed;
use crate::store::{
    Cull, DeleteOptions, DestroyCollection, DestroyStore, EnumerateCollections, EnumerateKeys,
    GetOptions, Key, ListOptions, PutOptions, Store,
};
use crate::{Condition, ConditionalWrites, Entry, Result, Version, Written};

type Map = BTreeMap<String, BTreeMap<String, Timed>>;

/// An unbounded, ordered map behind a lock: slow-ish and simple, for tests that want to
/// look at exactly what a wrapper wrote ([`SimpleStore::entries`]). Cloning shares it.
///
/// ```
/// use bytes::Bytes;
/// use kv_store_adapter::{KvStore, stores::SimpleStore};
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let store = SimpleStore::new();
/// store.put("c", "k", Bytes::from_static(b"v"), None).await?;
/// let raw = store.entries();
/// assert_eq!((raw[0].collection.as_str(), raw[0].key.as_str()), ("c", "k"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct SimpleStore {
    map: Arc<RwLock<Map>>,
}

/// One raw entry of a [`SimpleStore`], as [`SimpleStore::entries`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimpleEntry {
    /// The collection as stored.
    pub collection: String,
    /// The key as stored.
    pub key: String,
    /// The value as stored.
    pub value: Bytes,
    /// Time left to live, `None` if it never expires.
    pub ttl: Option<Duration>,
}

impl SimpleStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every live entry, ordered by collection then key.
    pub fn entries(&self) -> Vec<SimpleEntry> {
        let now = Instant::now();
        let map = self.read();
        map.iter()
            .flat_map(|(c, keys)| keys.iter().map(move |(k, e)| (c, k, e)))
            .filter_map(|(c, k, e)| {
                e.remaining(now).map(|ttl| SimpleEntry {
                    collection: c.clone(),
                    key: k.clone(),
                    value: e.value.clone(),
                    ttl,
                })
            })
            .collect()
    }

    fn read(&self) -> RwLockReadGuard<'_, Map> {
        self.map
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Map> {
        self.map
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn live(&self, collection: &str, key: &str, opts: GetOptions) -> Option<Entry> {
        let map = self.read();
        let entry = map.get(collection)?.get(key)?;
        entry.clone().read(opts)
    }
}

impl Store for SimpleStore {
    async fn get_opts(&self, key: Key<'_>, opts: GetOptions) -> Result<Option<Entry>> {
        Ok(self.live(key.collection(), &key.joined(), opts))
    }

    async fn put_opts(&self, key: Key<'_>, value: Bytes, opts: PutOptions) -> Result<()> {
        let name = key.joined();
        self.put_many_opts(key.collection(), &[(&name, value)], opts)
            .await
    }

    async fn delete_opts(&self, key: Key<'_>, opts: DeleteOptions) -> Result<bool> {
        let name = key.joined();
        Ok(self
            .delete_many_opts(key.collection(), &[&name], opts)
            .await?
            == 1)
    }

    async fn get_many_opts(
        &self,
        collection: &str,
        keys: &[&str],
        opts: GetOptions,
    ) -> Result<Vec<Option<Entry>>> {
        Ok(keys
            .iter()
            .map(|k| self.live(collection, k, opts))
            .collect())
    }

    async fn put_many_opts(
        &self,
        collection: &str,
        entries: &[(&str, Bytes)],
        opts: PutOptions,
    ) -> Result<()> {
        let mut map = self.write();
        let keys = map.entry(collection.to_owned()).or_default();
        for (key, value) in entries {
            keys.insert((*key).to_owned(), Timed::new(value.clone(), opts.ttl));
        }
        Ok(())
    }

    async fn delete_many_opts(
        &self,
        collection: &str,
        keys: &[&str],
        _: DeleteOptions,
    ) -> Result<usize> {
        let now = Instant::now();
        let mut map = self.write();
        let Some(entries) = map.get_mut(collection) else {
            return Ok(0);
        };
        let removed = keys
            .iter()
            .filter_map(|key| entries.remove(*key))
            .filter(|e| e.is_live(now))
            .count();
        if entries.is_empty() {
            map.remove(collection);
        }
        Ok(removed)
    }
}

impl EnumerateKeys for SimpleStore {
    async fn keys_opts(&self, collection: &str, opts: ListOptions) -> Result<Vec<String>> {
        let limit = opts.limit;
        let now = Instant::now();
        let map = self.read();
        Ok(map
            .get(collection)
            .into_iter()
            .flatten()
            .filter(|(_, e)| e.is_live(now))
            .map(|(k, _)| k.clone())
            .take(limit)
            .collect())
    }
}

impl EnumerateCollections for SimpleStore {
    async fn collections_opts(&self, opts: ListOptions) -> Result<Vec<String>> {
        let limit = opts.limit;
        let now = Instant::now();
        let map = self.read();
        Ok(map
            .iter()
            .filter(|(_, keys)| keys.values().any(|e| e.is_live(now)))
            .map(|(c, _)| c.clone())
            .take(limit)
            .collect())
    }
}

impl DestroyCollection for SimpleStore {
    async fn destroy_collection_opts(&self, collection: &str) -> Result<()> {
        self.write().remove(collection);
        Ok(())
    }
}

impl DestroyStore for SimpleStore {
    async fn destroy_opts(&self) -> Result<()> {
        self.write().clear();
        Ok(())
    }
}

impl Cull for SimpleStore {
    async fn cull_opts(&self) -> Result<()> {
        let now = Instant::now();
        let mut map = self.write();
        for keys in map.values_mut() {
            keys.retain(|_, e| e.is_live(now));
        }
        map.retain(|_, keys| !keys.is_empty());
        Ok(())
    }
}

/// Atomic: each conditional write holds the map's write lock.
impl ConditionalWrites for SimpleStore {
    async fn put_if_opts(
        &self,
        key: Key<'_>,
        value: Bytes,
        condition: Condition,
        opts: PutOptions,
    ) -> Result<Written> {
        let name = key.joined();
        let now = Instant::now();
        let mut map = self.write();
        let found = map.get(key.collection()).and_then(|keys| keys.get(&*name));
        if !Timed::allows(found, condition, now) {
            return Ok(Written::Rejected(Timed::current(found, now)));
        }
        let entry = Timed::new(value, opts.ttl);
        let version = entry.version;
        map.entry(key.collection().to_owned())
            .or_default()
            .insert(name.into_owned(), entry);
        Ok(Written::Applied(Some(version)))
    }

    async fn delete_if_opts(
        &self,
        key: Key<'_>,
        version: Version,
        _: DeleteOptions,
    ) -> Result<bool> {
        let name = key.joined();
        let mut map = self.write();
        let Some(keys) = map.get_mut(key.collection()) else {
            return Ok(false);
        };
        if !Timed::allows(
            keys.get(&*name),
            Condition::Version(version),
            Instant::now(),
        ) {
            return Ok(false);
        }
        keys.remove(&*name);
        if keys.is_empty() {
            map.remove(key.collection());
        }
        Ok(true)
    }
}
