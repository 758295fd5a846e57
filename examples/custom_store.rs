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
    DestroyCollection, DestroyStore, EnumerateCollections, EnumerateKeys, KvStore, KvStoreExt,
    Result, TtlEntry, names,
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

impl KvStore for MapStore {
    async fn raw_get(&self, collection: &str, key: &str) -> Result<Option<Bytes>> {
        Ok(self.raw_ttl(collection, key).await?.map(|(value, _)| value))
    }

    async fn raw_put(
        &self,
        collection: &str,
        key: &str,
        value: Bytes,
        ttl: Option<Duration>,
    ) -> Result<()> {
        // The checked `put` refuses TTLs past 50 years, but a wrapper may call `raw_put`
        // with any `Duration`: bound it, as every store does (the conformance suite's
        // `every_duration_follows_the_ttl_rule` caught this example without it).
        let deadline = ttl.map(|ttl| Instant::now() + names::bounded(ttl));
        let mut map = self.lock();
        let entries = map.entry(collection.to_owned()).or_default();
        entries.insert(key.to_owned(), (value, deadline));
        Ok(())
    }

    async fn raw_delete(&self, collection: &str, key: &str) -> Result<bool> {
        let now = Instant::now();
        let mut map = self.lock();
        let removed = map.get_mut(collection).and_then(|c| c.remove(key));
        Ok(removed.is_some_and(|(_, deadline)| remaining(deadline, now).is_some()))
    }

    async fn raw_ttl(&self, collection: &str, key: &str) -> Result<Option<TtlEntry>> {
        let now = Instant::now();
        let map = self.lock();
        let Some((value, deadline)) = map.get(collection).and_then(|c| c.get(key)) else {
            return Ok(None);
        };
        Ok(remaining(*deadline, now).map(|left| (value.clone(), left)))
    }
}

impl EnumerateKeys for MapStore {
    async fn raw_keys(&self, collection: &str, limit: usize) -> Result<Vec<String>> {
        let now = Instant::now();
        let map = self.lock();
        let Some(entries) = map.get(collection) else {
            return Ok(Vec::new());
        };
        Ok(entries
            .iter()
            .filter(|(_, (_, deadline))| remaining(*deadline, now).is_some())
            .map(|(key, _)| key.clone())
            .take(limit)
            .collect())
    }
}

impl EnumerateCollections for MapStore {
    async fn collections(&self, limit: usize) -> Result<Vec<String>> {
        let now = Instant::now();
        let map = self.lock();
        let mut names: Vec<String> = map
            .iter()
            .filter(|(_, c)| c.values().any(|(_, d)| remaining(*d, now).is_some()))
            .map(|(name, _)| name.clone())
            .collect();
        names.sort();
        names.truncate(limit);
        Ok(names)
    }
}

impl DestroyCollection for MapStore {
    async fn raw_destroy_collection(&self, collection: &str) -> Result<()> {
        self.lock().remove(collection);
        Ok(())
    }
}

impl DestroyStore for MapStore {
    async fn destroy(&self) -> Result<()> {
        self.lock().clear();
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    // The checked caller methods, the batches and every wrapper come with the trait.
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
    let found = store.get_many("c", &["k", "missing"]).await?;
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
