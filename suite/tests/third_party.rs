//! A wrapper and a store written the way a user outside the crate would, with the
//! public API only. The wrapper changes one method, forwards the rest with the public
//! macros, keeps every capability of its inner store and joins a fluent chain through
//! `Layer`; the store is a map with expiry and every capability. Both pass the whole
//! conformance suite, single- and multi-instance.
#![cfg(feature = "memory")]

// ---- the third-party wrapper: from here to the end marker ----
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use kv_store_adapter::{DeleteOptions, Key, Layer, Result, Store};

/// Counts the entries deleted through it.
#[derive(Debug, Clone)]
pub struct CountDeletes<S> {
    inner: S,
    deleted: Arc<AtomicU64>,
}

impl<S: Store> Store for CountDeletes<S> {
    kv_store_adapter::forward_methods!(inner; get_opts, put_opts, get_many_opts, put_many_opts);

    async fn delete_opts(&self, key: Key<'_>, opts: DeleteOptions) -> Result<bool> {
        let existed = self.inner.delete_opts(key, opts).await?;
        self.deleted
            .fetch_add(u64::from(existed), Ordering::Relaxed);
        Ok(existed)
    }
}
kv_store_adapter::forward_capabilities!(CountDeletes, inner;
    enumerate_keys, enumerate_collections, destroy_collection, destroy, cull);

/// The layer that wraps any store in [`CountDeletes`], all sharing one counter.
#[derive(Debug, Clone, Default)]
pub struct CountDeletesLayer(Arc<AtomicU64>);

impl<S> Layer<S> for CountDeletesLayer {
    type Store = CountDeletes<S>;
    fn layer(&self, inner: S) -> CountDeletes<S> {
        CountDeletes {
            inner,
            deleted: self.0.clone(),
        }
    }
}
// ---- end of the third-party wrapper ----

// ---- the third-party store: from here to the end marker ----
use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use kv_store_adapter::{Bytes, DestroyCollection, DestroyStore, Entry, EnumerateCollections};
use kv_store_adapter::{EnumerateKeys, GetOptions, ListOptions, PutOptions, names};

/// One collection: key → (value, deadline).
type Keys = BTreeMap<String, (Bytes, Option<Instant>)>;

/// One process's map of collections, with per-entry expiry; clones share it.
#[derive(Debug, Clone, Default)]
pub struct MapStore(Arc<Mutex<BTreeMap<String, Keys>>>);

impl MapStore {
    /// Runs `f` on the locked map, with the time now.
    fn with<R>(&self, f: impl FnOnce(&mut BTreeMap<String, Keys>, Instant) -> R) -> Result<R> {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(f(&mut map, Instant::now()))
    }
}

fn alive(deadline: Option<Instant>, now: Instant) -> bool {
    deadline.is_none_or(|at| at > now)
}

/// The live keys of one collection.
fn live(c: &Keys, now: Instant) -> impl Iterator<Item = &String> {
    c.iter()
        .filter(move |(_, (_, at))| alive(*at, now))
        .map(|(k, _)| k)
}

impl Store for MapStore {
    async fn get_opts(&self, key: Key<'_>, opts: GetOptions) -> Result<Option<Entry>> {
        self.with(|map, now| {
            let (value, at) = map.get(key.collection())?.get(&*key.joined())?;
            let left = at.filter(|_| opts.ttl).map(|at| at - now);
            alive(*at, now).then(|| Entry::new(value.clone(), left))
        })
    }
    async fn put_opts(&self, key: Key<'_>, value: Bytes, opts: PutOptions) -> Result<()> {
        let at = opts.ttl.map(|ttl| Instant::now() + names::bounded(ttl));
        self.with(|map, _| {
            let c = map.entry(key.collection().into()).or_default();
            c.insert(key.joined().into(), (value, at));
        })
    }
    async fn delete_opts(&self, key: Key<'_>, _: DeleteOptions) -> Result<bool> {
        self.with(|map, now| {
            let c = map.get_mut(key.collection());
            let removed = c.and_then(|c| c.remove(&*key.joined()));
            removed.is_some_and(|(_, at)| alive(at, now))
        })
    }
}

impl EnumerateKeys for MapStore {
    async fn keys_opts(&self, c: &str, opts: ListOptions) -> Result<Vec<String>> {
        self.with(|map, now| {
            let keys = map.get(c).into_iter().flat_map(|c| live(c, now));
            keys.take(opts.limit).cloned().collect()
        })
    }
}

impl EnumerateCollections for MapStore {
    async fn collections_opts(&self, opts: ListOptions) -> Result<Vec<String>> {
        self.with(|map, now| {
            let names = map.iter().filter(|(_, c)| live(c, now).next().is_some());
            names.map(|(c, _)| c.clone()).take(opts.limit).collect()
        })
    }
}

impl DestroyCollection for MapStore {
    async fn destroy_collection_opts(&self, c: &str) -> Result<()> {
        self.with(|map, _| drop(map.remove(c)))
    }
}

impl DestroyStore for MapStore {
    async fn destroy_opts(&self) -> Result<()> {
        self.with(|map, _| map.clear())
    }
}
// ---- end of the third-party store ----

use kv_store_adapter::stores::MemoryStore;
use kv_store_adapter::testkit::b;
use kv_store_adapter::{KvStore, KvStoreExt};

fn wrapped() -> CountDeletes<kv_store_adapter::wrappers::Stats<MemoryStore>> {
    MemoryStore::with_max_entries(200_000)
        .with_stats()
        .layer(CountDeletesLayer::default())
}

kv_store_adapter::conformance_suite!(store = wrapped();
    basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, cull);

mod instances {
    use super::*;
    kv_store_adapter::instances_suite!(
        pair = kv_store_adapter::testkit::instances::Instances::clones(wrapped());
        basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, destroy_enumerated);
}

mod map_store {
    use super::*;
    kv_store_adapter::conformance_suite!(store = MapStore::default();
        basics, enumerate_keys, enumerate_collections, destroy_collection, destroy);

    mod instances {
        use super::*;
        kv_store_adapter::instances_suite!(
            pair = kv_store_adapter::testkit::instances::Instances::clones(MapStore::default());
            basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, destroy_enumerated);
    }

    /// It joins the same stacks as the built-in stores.
    #[tokio::test]
    async fn it_takes_wrappers() {
        let store = MapStore::default().prefix_keys("t").unwrap().with_stats();
        store.put("c", "k", b("v"), None).await.unwrap();
        assert_eq!(store.keys("c", 10).await.unwrap(), ["k"]);
        assert_eq!(store.total().puts, 1);
    }
}

#[tokio::test]
async fn it_counts_deletes_on_every_path_and_joins_a_chain() {
    let counter = CountDeletesLayer::default();
    let store = MemoryStore::with_max_entries(100)
        .layer(counter.clone())
        .prefix_keys("tenant")
        .unwrap();
    store.put("c", "a", b("1"), None).await.unwrap();
    store.put("c", "b", b("2"), None).await.unwrap();
    store.put("c", "d", b("3"), None).await.unwrap();
    assert!(store.delete("c", "a").await.unwrap());
    assert!(!store.delete("c", "a").await.unwrap());
    // Batches go through the changed method: `delete_many_opts` was not forwarded.
    assert_eq!(store.delete_many("c", &["b", "nope"]).await.unwrap(), 1);
    assert_eq!(counter.0.load(Ordering::Relaxed), 2);
    assert_eq!(store.keys("c", 10).await.unwrap(), ["d"]);
    store.destroy().await.unwrap();
    assert!(store.keys("c", 10).await.unwrap().is_empty());
}
