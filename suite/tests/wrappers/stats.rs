use kv_store_adapter::testkit::b;
use kv_store_adapter::{KvStore, KvStoreExt};

use super::*;

kv_store_adapter::conformance_suite!(store = memory().with_stats();
    basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, cull,
    conditional_writes);

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

/// Each thread counts in a shard of its own (16 of them) or, beyond that, in a shared
/// one; threads that exit give their shard to the next. Counts stay exact through
/// all of it: 3 waves of 24 OS threads on one collection, a reset in between.
#[test]
fn counts_stay_exact_across_many_threads_and_shard_hand_overs() {
    let store = memory().with_stats();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let wave = |puts: usize| {
        std::thread::scope(|s| {
            for t in 0..24 {
                let store = &store;
                s.spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .build()
                        .unwrap();
                    for i in 0..puts {
                        let key = format!("{t}-{i}");
                        rt.block_on(store.put("c", &key, b("v"), None)).unwrap();
                        assert!(rt.block_on(store.get("c", &key)).unwrap().is_some());
                    }
                });
            }
        });
    };
    wave(500);
    wave(300);
    let seen = store.collection_stats("c");
    assert_eq!((seen.puts, seen.get_hits), (24 * 800, 24 * 800));
    store.reset();
    assert_eq!(store.collection_stats("c").operations(), 0);
    wave(100);
    rt.block_on(store.get("c", "absent")).unwrap();
    let seen = store.collection_stats("c");
    assert_eq!(
        (seen.puts, seen.get_hits, seen.get_misses),
        (2_400, 2_400, 1)
    );
}

/// 100,000 collections (a collection per user): at most the cap is named, the rest
/// are counted together, and nothing is lost from the total.
#[tokio::test]
async fn per_collection_counters_are_capped() {
    use kv_store_adapter::wrappers::{DEFAULT_MAX_COLLECTIONS, Stats};
    let store = Stats::new(kv_store_adapter::stores::NullStore);
    for user in 0..100_000 {
        store
            .put(&format!("user-{user}"), "k", b("v"), None)
            .await
            .unwrap();
    }
    let named = store.snapshot();
    assert!(named.len() <= DEFAULT_MAX_COLLECTIONS, "{}", named.len());
    assert!(
        named.len() >= DEFAULT_MAX_COLLECTIONS - 64,
        "{}",
        named.len()
    );
    assert_eq!(store.total().puts, 100_000);
    assert_eq!(
        store.overflow_stats().puts,
        100_000 - named.len() as u64,
        "every call past the cap is in the overflow bucket"
    );
    // A collection named before the cap keeps counting by name.
    store.put("user-0", "k", b("v"), None).await.unwrap();
    assert_eq!(store.collection_stats("user-0").puts, 2);
    store.reset();
    assert_eq!(store.total(), Default::default());
}

/// With latency on, quantiles follow real call times (a store that takes 20 ms per
/// call, through `Faulty`), within the histogram's resolution; off, they stay zero.
#[tokio::test]
async fn latency_quantiles_follow_the_calls() {
    use kv_store_adapter::testkit::Faulty;
    use kv_store_adapter::wrappers::{Latency, Operation};
    use std::time::Duration;

    let slow = Faulty::new(memory());
    let store = slow.clone().with_stats().with_latency();
    for i in 0..10 {
        store
            .put("c", &format!("k{i}"), b("v"), None)
            .await
            .unwrap();
    }
    slow.delay(Duration::from_millis(20));
    for i in 0..10 {
        store.get("c", &format!("k{i}")).await.unwrap();
    }
    store.get_many("c", &["k1", "k2"]).await.unwrap();
    let get = store.latency(Operation::Get);
    assert_eq!(get.count, 10);
    assert!(get.p50 >= Duration::from_millis(20), "{get:?}");
    assert!(get.max >= Duration::from_millis(20), "{get:?}");
    assert!(get.p50 <= get.p90 && get.p90 <= get.p99, "{get:?}");
    let put = store.latency(Operation::Put);
    assert_eq!(put.count, 10);
    assert!(put.p99 < Duration::from_millis(20), "{put:?}");
    assert_eq!(store.latency(Operation::GetMany).count, 1);
    assert_eq!(store.latency(Operation::Delete), Latency::default());
    store.reset();
    assert_eq!(store.latency(Operation::Get).count, 0);

    let untimed = memory().with_stats();
    untimed.put("c", "k", b("v"), None).await.unwrap();
    assert_eq!(untimed.latency(Operation::Put), Latency::default());
}
