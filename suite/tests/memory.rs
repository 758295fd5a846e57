//! MemoryStore: the whole conformance suite, plus its bound and its reclaiming of memory.
#![cfg(feature = "memory")]

use std::time::Duration;

use kv_store_adapter::KvStore;
use kv_store_adapter::stores::MemoryStore;
use kv_store_adapter::testkit::{b, eventually};

kv_store_adapter::conformance_suite!(store = MemoryStore::with_max_entries(100_000);

    basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, cull,
    conditional_writes);

mod instances {
    use super::*;
    kv_store_adapter::instances_suite!(
        pair = kv_store_adapter::testkit::instances::Instances::clones(MemoryStore::with_max_entries(100_000));
        basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, destroy_enumerated,
        conditional_writes);
}

#[tokio::test]
async fn holds_at_most_max_entries() {
    let store = MemoryStore::with_max_entries(100);
    for i in 0..1_000 {
        store
            .put("c", &format!("k{i}"), b("v"), None)
            .await
            .unwrap();
    }
    store.cull().await.unwrap();
    assert!(
        store.entry_count() <= 100,
        "{} entries",
        store.entry_count()
    );
}

#[tokio::test]
async fn expired_entries_are_reclaimed_not_only_hidden() {
    let store = MemoryStore::with_max_entries(1_000);
    for i in 0..500 {
        let key = format!("k{i}");
        store
            .put("c", &key, b("v"), Some(Duration::from_millis(50)))
            .await
            .unwrap();
    }
    store.put("c", "forever", b("v"), None).await.unwrap();
    store.cull().await.unwrap();
    assert_eq!(store.entry_count(), 501);
    tokio::time::sleep(Duration::from_millis(80)).await;
    // An explicit cull reclaims every expired entry at once (moka's own timer wheel
    // would take up to a second or two).
    store.cull().await.unwrap();
    assert_eq!(
        store.entry_count(),
        1,
        "expired entries still held after cull"
    );
    assert_eq!(store.get("c", "forever").await.unwrap(), Some(b("v")));
    // Left alone, moka's own housekeeping reclaims them a few seconds after their
    // deadline (its 2 s grace, then its timer buckets of about a second); here its
    // housekeeping runs through cull, once they are past the grace.
    for i in 0..100 {
        let key = format!("later{i}");
        store
            .put("c", &key, b("v"), Some(Duration::from_millis(50)))
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let reclaimed = eventually(Duration::from_secs(4), || async {
        store.cull().await.unwrap();
        store.entry_count() == 1
    });
    assert!(
        reclaimed.await,
        "{} entries still held",
        store.entry_count()
    );
}
