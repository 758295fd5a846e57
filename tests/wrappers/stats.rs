use kv_store_adapter::testkit::b;
use kv_store_adapter::{KvStore, KvStoreExt};

use super::*;

kv_store_adapter::conformance_suite!(store = memory().with_stats();
    core, keys, collections, destroy_collection, destroy, cull);

#[tokio::test]
async fn counts_per_collection_and_per_batch_key() {
    let store = memory().with_stats();
    store.put("a", "k", b("v"), None).await.unwrap();
    store
        .put_many("a", &[("x", b("1")), ("y", b("2"))], None)
        .await
        .unwrap();
    store.get("a", "k").await.unwrap();
    store.get("a", "nope").await.unwrap();
    store.get_many("a", &["x", "y", "nope"]).await.unwrap();
    store.ttl("a", "k").await.unwrap();
    store.ttl_many("a", &["nope"]).await.unwrap();
    store.delete("a", "k").await.unwrap();
    store.delete_many("a", &["x", "gone"]).await.unwrap();
    store.get("b", "k").await.unwrap();
    let a = store.collection_stats("a");
    assert_eq!((a.puts, a.get_hits, a.get_misses), (3, 3, 2));
    assert_eq!((a.ttl_hits, a.ttl_misses), (1, 1));
    assert_eq!((a.delete_hits, a.delete_misses), (2, 1));
    assert_eq!(store.collection_stats("b").get_misses, 1);
    assert_eq!(store.total().operations(), a.operations() + 1);
    // Invalid input never reached the inner store, so it is not counted.
    assert!(store.get("", "k").await.is_err());
    assert_eq!(store.total().operations(), a.operations() + 1);
    store.reset();
    assert_eq!(store.total().operations(), 0);
}

#[tokio::test]
async fn collections_seen_by_the_inner_store_are_unchanged() {
    let inner = super::simple();
    let store = inner.clone().with_stats();
    store.put("users", "ada", b("v"), None).await.unwrap();
    assert_eq!(inner.entries()[0].collection, "users");
    assert_eq!(inner.entries()[0].key, "ada");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_stay_exact_past_the_table_of_collections() {
    // 3,000 collections: more than the lock-free table's 1,024 slots, so most land
    // in the overflow map; 4 tasks count into the same collections at once.
    let store = memory().with_stats();
    let collections: Vec<String> = (0..3_000).map(|i| format!("c{i}")).collect();
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (store, collections) = (store.clone(), collections.clone());
            tokio::spawn(async move {
                for (i, c) in collections.iter().enumerate() {
                    store.put(c, "k", b("v"), None).await.unwrap();
                    for _ in 0..i % 3 {
                        assert!(store.get(c, "k").await.unwrap().is_some());
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let snapshot = store.snapshot();
    assert_eq!(snapshot.len(), 3_000);
    for (i, c) in collections.iter().enumerate() {
        let counted = snapshot[c];
        assert_eq!(
            (counted.puts, counted.get_hits),
            (4, 4 * (i % 3) as u64),
            "{c}"
        );
        assert_eq!(store.collection_stats(c), counted);
    }
    store.reset();
    assert_eq!(store.total().operations(), 0);
}
