//! The run-time escape hatch: boxed stores pass the suite and report what they lack.
#![cfg(all(feature = "memory", feature = "disk"))]

use std::sync::Arc;

use kv_store_adapter::stores::{DiskStore, MemoryStore};
use kv_store_adapter::testkit::{self, assert_kind, b};
use kv_store_adapter::{BoxStore, DynStore, ErrorKind, KvStore, KvStoreExt};

kv_store_adapter::conformance_suite!(
    store = BoxStore::builder(MemoryStore::with_max_entries(100_000)).all().conditional_writes().build();
    basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, cull,
    conditional_writes);

/// `Arc<dyn DynStore>` is a store too (core trait only).
mod arc_dyn {
    use super::*;
    kv_store_adapter::conformance_suite!(
        store = Arc::new(MemoryStore::with_max_entries(100_000)) as Arc<dyn DynStore>;
        basics);
}

#[tokio::test]
async fn missing_capabilities_answer_unsupported() {
    let store = MemoryStore::with_max_entries(10).boxed();
    assert!(!store.has_keys());
    assert_kind(store.keys("c", 10).await, ErrorKind::Unsupported);
    assert_kind(store.destroy().await, ErrorKind::Unsupported);
    assert!(!store.has_conditional_writes());
    assert_kind(
        store
            .create("c", "k", kv_store_adapter::testkit::b("v"), None)
            .await,
        ErrorKind::Unsupported,
    );
    assert_eq!(
        store.get("c", "k").await.unwrap(),
        None,
        "an unsupported create wrote"
    );
    // Capability calls go through `KvStore` too: they say where they failed.
    let err = store.keys("c", 10).await.unwrap_err();
    assert_eq!(
        (err.operation(), err.collection()),
        (Some("keys"), Some("c"))
    );
    let err = store.destroy().await.unwrap_err();
    assert_eq!((err.operation(), err.collection()), (Some("destroy"), None));
    assert!(
        err.to_string().ends_with("(destroy on MemoryStore)"),
        "{err}"
    );
    assert!(store.keys("", 10).await.is_err(), "names are checked");
    // The core still works, and still checks names.
    store.put("c", "k", b("v"), None).await.unwrap();
    assert_eq!(store.get("c", "k").await.unwrap(), Some(b("v")));
    testkit::basics::empty_and_over_long_names_are_rejected(&store).await;
}

#[tokio::test]
async fn boxed_all_keeps_every_capability() {
    let store = MemoryStore::new().with_stats().boxed_all();
    assert!(store.has_keys() && store.has_collections() && store.has_destroy_collection());
    assert!(store.has_destroy() && store.has_cull());
    store.put("c", "k", b("v"), None).await.unwrap();
    assert_eq!(store.keys("c", 10).await.unwrap(), ["k"]);
    assert_eq!(store.collections(10).await.unwrap(), ["c"]);
    store.destroy().await.unwrap();
    assert!(store.keys("c", 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn stores_of_different_types_share_one_type_at_run_time() {
    let dir = tempfile::tempdir().unwrap();
    let disk = DiskStore::open(dir.path().join("kv.redb")).unwrap();
    let stores: Vec<BoxStore> = vec![
        BoxStore::builder(MemoryStore::with_max_entries(10))
            .keys()
            .build(),
        BoxStore::builder(disk).keys().build(),
    ];
    for store in &stores {
        store.put("c", "k", b("v"), None).await.unwrap();
        assert_eq!(store.keys("c", 10).await.unwrap(), ["k"]);
    }
}
