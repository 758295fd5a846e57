//! A wrapper written the way a user outside the crate would, with the public API only:
//! it changes one method, forwards the rest with the public macros, keeps every
//! capability of its inner store, joins a fluent chain through `Layer`, and passes the
//! whole conformance suite, single- and multi-instance.
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
