use kv_store_adapter::testkit::{b, hostile_names};
use kv_store_adapter::{KvStore, KvStoreExt};

use super::*;

mod over_memory {
    use super::*;
    kv_store_adapter::conformance_suite!(store = memory().single_collection("kv").unwrap();
        basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, cull,
        conditional_writes);
}

mod over_disk {
    use super::*;
    kv_store_adapter::conformance_suite!(fixture = {
        let (store, dir) = disk();
        (store.single_collection("kv").unwrap(), dir)
    }; basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, cull);
}

#[tokio::test]
async fn the_encoding_is_reversible_for_hostile_names() {
    let inner = super::simple();
    let store = inner.clone().single_collection("all").unwrap();
    let names = hostile_names();
    for c in names.iter().take(10) {
        for k in names.iter().take(10) {
            store.put(c, k, b(&format!("{c}|{k}")), None).await.unwrap();
        }
    }
    assert!(inner.entries().iter().all(|e| e.collection == "all"));
    assert_eq!(inner.entries().len(), 100);
    let mut collections = store.collections(1000).await.unwrap();
    collections.sort();
    let mut expected: Vec<String> = names.iter().take(10).cloned().collect();
    expected.sort();
    assert_eq!(collections, expected);
    for c in names.iter().take(10) {
        let mut keys = store.keys(c, 1000).await.unwrap();
        keys.sort();
        assert_eq!(keys, expected);
    }
}
