//! A store written outside the crate, with only its public API: a map behind a lock,
//! with per-entry expiry, key and collection listing and destroy. Its tests run the
//! crate's public conformance suite on it, the same rules every built-in store passes:
//!
//! ```text
//! cargo run --example custom_store
//! cargo test --example custom_store --features testkit
//! ```

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kv_store_adapter::{
    DeleteOptions, DestroyCollection, DestroyStore, Entry, EnumerateCollections, EnumerateKeys,
    GetOptions, Key, KvStore, KvStoreExt, ListOptions, PutOptions, Result, Store, names,
};

/// One collection: key → (value, deadline).
type Collection = BTreeMap<String, (Bytes, Option<Instant>)>;

/// The whole store; clones share it.
#[derive(Clone, Default, Debug)]
pub struct MapStore {
    inner: Arc<Mutex<HashMap<String, Collection>>>,
}

impl MapStore {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Collection>> {
        // A panic elsewhere cannot leave the map half-written: every change is one call.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// What is left of an entry's life, `None` when it has expired.
fn remaining(deadline: Option<Instant>, now: Instant) -> Option<Option<Duration>> {
    match deadline {
        None => Some(None),
        Some(at) if at > now => Some(Some(at - now)),
        Some(_) => None,
    }
}

impl Store for MapStore {
    async fn get_opts(&self, key: Key<'_>, opts: GetOptions) -> Result<Option<Entry>> {
        let now = Instant::now();
        let map = self.lock();
        let found = map
            .get(key.collection())
            .and_then(|c| c.get(&*key.joined()));
        let Some((value, deadline)) = found else {
            return Ok(None);
        };
        let left = remaining(*deadline, now);
        Ok(left.map(|left| Entry::new(value.clone(), left.filter(|_| opts.ttl))))
    }

    async fn put_opts(&self, key: Key<'_>, value: Bytes, opts: PutOptions) -> Result<()> {
        // `KvStore::put` refuses TTLs past 50 years, but a wrapper may call `put_opts`
        // with any `Duration`: bound it, as every store does (the conformance suite's
        // `every_duration_follows_the_ttl_rule` caught this example without it).
        let deadline = opts.ttl.map(|ttl| Instant::now() + names::bounded(ttl));
        let mut map = self.lock();
        let entries = map.entry(key.collection().to_owned()).or_default();
        entries.insert(key.joined().into_owned(), (value, deadline));
        Ok(())
    }

    async fn delete_opts(&self, key: Key<'_>, _: DeleteOptions) -> Result<bool> {
        let now = Instant::now();
        let mut map = self.lock();
        let collection = map.get_mut(key.collection());
        let removed = collection.and_then(|c| c.remove(&*key.joined()));
        Ok(removed.is_some_and(|(_, deadline)| remaining(deadline, now).is_some()))
    }
}

impl EnumerateKeys for MapStore {
    async fn keys_opts(&self, collection: &str, opts: ListOptions) -> Result<Vec<String>> {
        let now = Instant::now();
        let map = self.lock();
        let Some(entries) = map.get(collection) else {
            return Ok(Vec::new());
        };
        Ok(entries
            .iter()
            .filter(|(_, (_, deadline))| remaining(*deadline, now).is_some())
            .map(|(key, _)| key.clone())
            .take(opts.limit)
            .collect())
    }
}

impl EnumerateCollections for MapStore {
    async fn collections_opts(&self, opts: ListOptions) -> Result<Vec<String>> {
        let now = Instant::now();
        let map = self.lock();
        let mut names: Vec<String> = map
            .iter()
            .filter(|(_, c)| c.values().any(|(_, d)| remaining(*d, now).is_some()))
            .map(|(name, _)| name.clone())
            .collect();
        names.sort();
        names.truncate(opts.limit);
        Ok(names)
    }
}

impl DestroyCollection for MapStore {
    async fn destroy_collection_opts(&self, collection: &str) -> Result<()> {
        self.lock().remove(collection);
        Ok(())
    }
}

impl DestroyStore for MapStore {
    async fn destroy_opts(&self) -> Result<()> {
        self.lock().clear();
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    // The checked caller methods (`KvStore`), the batches and every wrapper come with
    // `Store`.
    let store = MapStore::default().prefix_keys("app:")?.with_stats();
    store
        .put(
            "c",
            "k",
            Bytes::from_static(b"v"),
            Some(Duration::from_secs(60)),
        )
        .await?;
    assert_eq!(store.get("c", "k").await?, Some(Bytes::from_static(b"v")));
    assert!(store.put("", "k", Bytes::new(), None).await.is_err());
    let found = store.get_many("c", ["k", "missing"]).await?;
    assert_eq!(found.iter().flatten().count(), 1);
    println!("keys: {:?}", store.keys("c", 10).await?);
    println!("operations: {}", store.total().operations());
    Ok(())
}

#[cfg(all(test, feature = "testkit"))]
mod conformance {
    use super::MapStore;

    // Every rule of the contract, for every capability the store has.
    kv_store_adapter::conformance_suite!(store = MapStore::default();
        basics, enumerate_keys, enumerate_collections, destroy_collection, destroy);

    // Clones must share one state, as two processes on one server would.
    mod instances {
        use super::MapStore;
        kv_store_adapter::instances_suite!(
            pair = kv_store_adapter::testkit::instances::Instances::clones(MapStore::default());
            basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, destroy_enumerated);
    }
}
