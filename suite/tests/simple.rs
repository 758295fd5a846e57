//! SimpleStore: the whole conformance suite, plus its raw listing.

use std::time::Duration;

use kv_store_adapter::KvStore;
use kv_store_adapter::stores::{SimpleEntry, SimpleStore};
use kv_store_adapter::testkit::b;

kv_store_adapter::conformance_suite!(store = SimpleStore::new();

    basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, cull,
    conditional_writes);

mod instances {
    use super::*;
    kv_store_adapter::instances_suite!(
        pair = kv_store_adapter::testkit::instances::Instances::clones(SimpleStore::new());
        basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, destroy_enumerated,
        conditional_writes);
}

#[tokio::test]
async fn entries_lists_raw_contents_in_order() {
    let store = SimpleStore::new();
    store.put("b", "k", b("2"), None).await.unwrap();
    store
        .put("a", "k", b("1"), Some(Duration::from_secs(60)))
        .await
        .unwrap();
    let entries = store.entries();
    assert_eq!(entries.len(), 2);
    assert_eq!(
        (entries[0].collection.as_str(), entries[0].value.clone()),
        ("a", b("1"))
    );
    assert!(entries[0].ttl.is_some_and(|t| t <= Duration::from_secs(60)));
    assert_eq!(
        entries[1],
        SimpleEntry {
            collection: "b".into(),
            key: "k".into(),
            value: b("2"),
            ttl: None
        }
    );
}
