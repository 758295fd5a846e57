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
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use kv_store_adapter::{Bytes, Entry, GetOptions, PutOptions, names};

/// collection → key → (value, deadline).
type Map = BTreeMap<String, BTreeMap<String, (Bytes, Option<Instant>)>>;

/// One process's map of collections, with per-entry expiry; clones share it.
#[derive(Debug, Clone, Default)]
pub struct MapStore(Arc<Mutex<Map>>);

impl MapStore {
    fn map(&self) -> MutexGuard<'_, Map> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Whether an entry with this deadline is still alive.
fn live(deadline: &Option<Instant>) -> bool {
    deadline.is_none_or(|at| at > Instant::now())
}

impl Store for MapStore {
    async fn get_opts(&self, key: Key<'_>, opts: GetOptions) -> Result<Option<Entry>> {
        let map = self.map();
        let found = map
            .get(key.collection())
            .and_then(|c| c.get(&*key.joined()));
        let Some((value, at)) = found.filter(|(_, at)| live(at)) else {
            return Ok(None);
        };
        let left = at.filter(|_| opts.ttl).map(|at| at - Instant::now());
        Ok(Some(Entry::new(value.clone(), left)))
    }
    async fn put_opts(&self, key: Key<'_>, value: Bytes, opts: PutOptions) -> Result<()> {
        let at = opts.ttl.map(|ttl| Instant::now() + names::bounded(ttl));
        let mut map = self.map();
        let c = map.entry(key.collection().to_owned()).or_default();
        c.insert(key.joined().into_owned(), (value, at));
        Ok(())
    }
    async fn delete_opts(&self, key: Key<'_>, _: DeleteOptions) -> Result<bool> {
        let mut map = self.map();
        let c = map.get_mut(key.collection());
        Ok(c.and_then(|c| c.remove(&*key.joined()))
            .is_some_and(|(_, at)| live(&at)))
    }
}
// ---- end of the third-party store ----

// ---- its capabilities: from here to the end marker ----
use kv_store_adapter::ListOptions;
use kv_store_adapter::{DestroyCollection, DestroyStore, EnumerateCollections, EnumerateKeys};

impl EnumerateKeys for MapStore {
    async fn keys_opts(&self, c: &str, opts: ListOptions) -> Result<Vec<String>> {
        let map = self.map();
        let keys = map
            .get(c)
            .into_iter()
            .flatten()
            .filter(|(_, (_, at))| live(at));
        Ok(keys.map(|(k, _)| k.clone()).take(opts.limit).collect())
    }
}

impl EnumerateCollections for MapStore {
    async fn collections_opts(&self, opts: ListOptions) -> Result<Vec<String>> {
        let map = self.map();
        let names = map
            .iter()
            .filter(|(_, c)| c.values().any(|(_, at)| live(at)));
        Ok(names.map(|(c, _)| c.clone()).take(opts.limit).collect())
    }
}

impl DestroyCollection for MapStore {
    async fn destroy_collection_opts(&self, c: &str) -> Result<()> {
        self.map().remove(c);
        Ok(())
    }
}

impl DestroyStore for MapStore {
    async fn destroy_opts(&self) -> Result<()> {
        self.map().clear();
        Ok(())
    }
}
// ---- end of its capabilities ----

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

/// The kit's laziness rule catches a store that writes when a future is created
/// rather than when it is polled.
#[tokio::test]
#[should_panic(expected = "left: Some(")]
async fn the_kit_catches_a_store_that_writes_before_it_is_polled() {
    struct Eager(MapStore);
    impl Store for Eager {
        kv_store_adapter::forward_methods!(0; get_opts, delete_opts);
        fn put_opts(
            &self,
            key: Key<'_>,
            value: Bytes,
            _: PutOptions,
        ) -> impl Future<Output = Result<()>> + Send {
            let mut map = self.0.map();
            let c = map.entry(key.collection().to_owned()).or_default();
            c.insert(key.joined().into_owned(), (value, None));
            std::future::ready(Ok(()))
        }
    }
    kv_store_adapter::testkit::basics::futures_do_nothing_until_polled(&Eager(MapStore::default()))
        .await;
}

/// A third-party wrapper may hand its inner store a key that borrows from the wrapper
/// (its prefix) and answer the inner store's future as its own, with no `async` layer:
/// the single-key methods take the store and the key for one lifetime.
#[tokio::test]
async fn a_wrapper_answers_its_inner_future_with_a_key_borrowing_from_it() {
    struct Tenant<S> {
        inner: S,
        prefix: String,
    }
    impl<S: Store> Store for Tenant<S> {
        kv_store_adapter::forward_methods!(inner; delete_opts);
        fn get_opts<'a>(
            &'a self,
            key: Key<'a>,
            opts: GetOptions,
        ) -> impl Future<Output = Result<Option<Entry>>> + Send {
            // (Only ever the outermost wrapper here, so its keys carry no prefix yet.)
            let key = key.try_prefixed(&self.prefix).expect("an unprefixed key");
            self.inner.get_opts(key, opts)
        }
        fn put_opts<'a>(
            &'a self,
            key: Key<'a>,
            value: Bytes,
            opts: PutOptions,
        ) -> impl Future<Output = Result<()>> + Send {
            let key = key.try_prefixed(&self.prefix).expect("an unprefixed key");
            self.inner.put_opts(key, value, opts)
        }
    }
    let shared = MemoryStore::with_max_entries(100);
    let tenant = Tenant {
        inner: shared.clone(),
        prefix: "t1/".to_owned(),
    };
    tenant.put("c", "k", b("v"), None).await.unwrap();
    assert_eq!(shared.get("c", "t1/k").await.unwrap(), Some(b("v")));
    assert_eq!(tenant.get("c", "k").await.unwrap(), Some(b("v")));
    assert_eq!(shared.get("c", "k").await.unwrap(), None);
}
