//! MemoryStore: the whole conformance suite, plus its bound and its reclaiming of memory.

use std::time::Duration;

use kv_store_adapter::stores::MemoryStore;
use kv_store_adapter::testkit::{b, eventually};
use kv_store_adapter::{Cull, KvStore};

kv_store_adapter::conformance_suite!(store = MemoryStore::new(100_000);

    core, keys, collections, destroy_collection, destroy, cull);

mod instances {
    use super::*;
    kv_store_adapter::instances_suite!(
        pair = kv_store_adapter::testkit::instances::Instances::clones(MemoryStore::new(100_000));
        core, keys, collections, destroy_collection, destroy, destroy_enumerated);
}

#[tokio::test]
async fn holds_at_most_max_entries() {
    let store = MemoryStore::new(100);
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
    let store = MemoryStore::new(1_000);
    for i in 0..500 {
        let key = format!("k{i}");
        store
            .put("c", &key, b("v"), Some(Duration::from_millis(50)))
            .await
            .unwrap();
    }
    store.cull().await.unwrap();
    assert_eq!(store.entry_count(), 500);
    // moka's timer wheel works in ~1 s buckets: reclaiming follows within a few seconds.
    let reclaimed = eventually(Duration::from_secs(4), || async {
        store.cull().await.unwrap();
        store.entry_count() == 0
    });
    assert!(
        reclaimed.await,
        "{} expired entries still held",
        store.entry_count()
    );
}
