//! MemoryStore: the whole conformance suite, plus its bound and its reclaiming of memory.
#![cfg(feature = "memory")]

use std::time::Duration;

use kv_store_adapter::KvStore;
use kv_store_adapter::stores::MemoryStore;
use kv_store_adapter::testkit::b;

#[path = "support/executor.rs"]
mod executor;

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
    // An explicit cull reclaims every expired entry at once.
    store.cull().await.unwrap();
    assert_eq!(
        store.entry_count(),
        1,
        "expired entries still held after cull"
    );
    assert_eq!(store.get("c", "forever").await.unwrap(), Some(b("v")));
    // Without a cull, a read that meets an expired entry reclaims it.
    for i in 0..100 {
        let key = format!("later{i}");
        store
            .put("c", &key, b("v"), Some(Duration::from_millis(50)))
            .await
            .unwrap();
    }
    assert_eq!(store.entry_count(), 101);
    tokio::time::sleep(Duration::from_millis(80)).await;
    for i in 0..100 {
        assert_eq!(store.get("c", &format!("later{i}")).await.unwrap(), None);
    }
    assert_eq!(store.entry_count(), 1, "reads left expired entries held");
}

/// Expired entries give way to new ones when the store is full: once a write has to
/// evict, the store sweeps expired entries out (at most once a second, so the first
/// sweep, while the store filled up, found nothing and the next comes a second later).
#[tokio::test]
async fn a_full_store_of_expired_entries_makes_room_for_new_ones() {
    let store = MemoryStore::with_max_entries(1_000);
    for i in 0..1_000 {
        store
            .put(
                "c",
                &format!("old{i}"),
                b("v"),
                Some(Duration::from_millis(30)),
            )
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    // Half the bound: the new keys' spread over the shards cannot fill one.
    for i in 0..500 {
        store
            .put("c", &format!("new{i}"), b("v"), None)
            .await
            .unwrap();
    }
    assert!(store.entry_count() <= 1_000, "{}", store.entry_count());
    let mut held = 0;
    for i in 0..500 {
        held += usize::from(store.get("c", &format!("new{i}")).await.unwrap().is_some());
    }
    assert_eq!(
        held, 500,
        "new entries evicted while expired ones were held"
    );
}

/// A create racing a plain delete of the same absent key: whatever order they take,
/// their answers agree with what is left. A delete that found nothing came first, so
/// the create's value must remain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_racing_a_delete_agrees_with_what_is_left() {
    use kv_store_adapter::{Condition, Written};
    let store = MemoryStore::with_max_entries(1_000);
    let mut both_orders = [0u32; 2];
    for i in 0..20_000 {
        let key = format!("k{}", i % 64);
        let (a, d) = (store.clone(), store.clone());
        let k = key.clone();
        let create = tokio::spawn(async move {
            a.put_if("c", &k, b("v"), Condition::Absent, Default::default())
                .await
                .unwrap()
        });
        let k = key.clone();
        let delete = tokio::spawn(async move { d.delete("c", &k).await.unwrap() });
        let (created, deleted) = (create.await.unwrap(), delete.await.unwrap());
        assert!(matches!(created, Written::Applied(_)), "{created:?}");
        let left = store.get("c", &key).await.unwrap();
        if deleted {
            assert_eq!(left, None, "round {i}: deleted after the create");
        } else {
            assert_eq!(
                left,
                Some(b("v")),
                "round {i}: the delete found nothing, so it came first"
            );
        }
        both_orders[usize::from(deleted)] += 1;
        store.delete("c", &key).await.unwrap();
    }
    assert!(both_orders[0] > 0, "{both_orders:?}");
}

/// Bounds at either extreme build a working store: none held at 0, and a bound far past
/// memory costs nothing until entries arrive.
#[tokio::test]
async fn extreme_bounds_build_working_stores() {
    let none = MemoryStore::with_max_entries(0);
    none.put("c", "k", b("v"), None).await.unwrap();
    assert_eq!(none.get("c", "k").await.unwrap(), None);
    assert_eq!(none.entry_count(), 0);

    let huge = MemoryStore::with_max_entries(u64::MAX);
    assert_eq!(huge.max_entries(), u64::MAX);
    for i in 0..1_000 {
        huge.put("c", &format!("k{i}"), b("v"), None).await.unwrap();
    }
    assert_eq!(huge.entry_count(), 1_000);
    assert_eq!(huge.get("c", "k999").await.unwrap(), Some(b("v")));
}

/// A bound that does not divide among the cache's shards still holds: never more than
/// `max_entries`.
#[tokio::test]
async fn odd_bounds_hold() {
    for max in [1, 31, 33, 1_001, 4_099] {
        let store = MemoryStore::with_max_entries(max);
        for i in 0..(3 * max) {
            store
                .put("c", &format!("k{i}"), b("v"), None)
                .await
                .unwrap();
        }
        assert!(
            store.entry_count() <= max,
            "{max}: {} held",
            store.entry_count()
        );
        assert!(
            store.entry_count() >= max * 9 / 10,
            "{max}: {} held",
            store.entry_count()
        );
    }
}

/// A store past the inline limit (65,536 entries) sweeps too, on Tokio's blocking pool:
/// the expired entries go soon after writes start evicting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_full_store_sweeps_too() {
    const MAX: u64 = 100_000;
    let store = MemoryStore::with_max_entries(MAX);
    // Every entry expires at one instant, however long filling takes on a busy machine
    // (with one TTL of 1 s for all, the first entries expired and were swept before the
    // last went in, and the store never held the 90% below).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    for i in 0..MAX {
        let ttl = deadline.saturating_duration_since(tokio::time::Instant::now());
        store
            .put(
                "c",
                &format!("old{i}"),
                b("v"),
                Some(ttl.max(Duration::from_millis(1))),
            )
            .await
            .unwrap();
    }
    let before = store.entry_count();
    assert!(before > MAX * 9 / 10, "{before}");
    // Every entry expired, and past the first sweep's interval after that (one may
    // have run, finding nothing, while the store filled).
    tokio::time::sleep_until(deadline + Duration::from_millis(1_200)).await;
    let mut i = 0;
    let swept = kv_store_adapter::testkit::eventually(Duration::from_secs(10), || {
        i += 1;
        let store = store.clone();
        let key = format!("new{i}");
        async move {
            store.put("c", &key, b("v"), None).await.unwrap();
            store.entry_count() < 1_000
        }
    });
    assert!(swept.await, "{} entries still held", store.entry_count());
}

/// A full store's sweep walks the whole cache (1.3 ms for 65,536 entries): in a store
/// of more than a thousand entries the write that starts it does not run it, Tokio's
/// blocking pool does. Deterministic: the one blocking thread is held while the
/// writes evict, so a sweep in place would be the only one that could have run.
#[test]
fn a_large_stores_sweep_runs_off_the_writing_thread() {
    const MAX: u64 = 10_000;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(1)
        .build()
        .unwrap();
    rt.block_on(async {
        let store = MemoryStore::with_max_entries(MAX);
        let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
        for i in 0..MAX {
            let ttl = deadline.saturating_duration_since(tokio::time::Instant::now());
            let ttl = Some(ttl.max(Duration::from_millis(1)));
            store
                .put("c", &format!("old{i}"), b("v"), ttl)
                .await
                .unwrap();
        }
        // Past the deadline and the interval of a sweep that ran while the store filled.
        tokio::time::sleep_until(deadline + Duration::from_millis(1_200)).await;
        let (release, held) = std::sync::mpsc::channel::<()>();
        let blocker = tokio::task::spawn_blocking(move || held.recv());
        for i in 0..2_000 {
            store
                .put("c", &format!("new{i}"), b("v"), None)
                .await
                .unwrap();
        }
        let held = store.entry_count();
        assert!(
            held > MAX / 2,
            "the writes swept in place: {held} entries left"
        );
        release.send(()).unwrap();
        blocker.await.unwrap().unwrap();
        let swept = kv_store_adapter::testkit::eventually(Duration::from_secs(10), || {
            let store = store.clone();
            async move { store.entry_count() <= 2_000 }
        });
        assert!(swept.await, "{} entries still held", store.entry_count());
    });
}

/// A walk of the whole cache — a listing page, `keys`, `collections`,
/// `destroy_collection`, `cull`, `destroy` — takes ~0.15 µs an entry (1.5 ms for
/// 10,000, 124 ms for 1,000,000): in a store of more than a thousand entries it leaves
/// the executor thread free; in a small one it runs in place.
#[test]
fn a_walk_of_a_large_store_runs_off_the_executor() {
    use kv_store_adapter::{Bytes, EnumerateCollections, EnumerateKeys};
    for (n, large) in [(10_000, true), (10, false)] {
        let store = MemoryStore::with_max_entries(20_000);
        let names: Vec<String> = (0..n).map(|i| format!("k{i:05}")).collect();
        let entries: Vec<(&str, Bytes)> = names
            .iter()
            .map(|k| (k.as_str(), Bytes::from_static(b"v")))
            .collect();
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(store.put_many("c", &entries, None))
            .unwrap();
        let walks: [(&str, bool); 6] = [
            (
                "keys_page",
                executor::yields(|| async {
                    let page = store.keys_page("c", None, 5).await.unwrap();
                    assert_eq!(page.names, names[..5]);
                }),
            ),
            (
                "keys",
                executor::yields(|| async {
                    assert_eq!(store.keys("c", usize::MAX).await.unwrap().len(), n);
                }),
            ),
            (
                "collections_page",
                executor::yields(|| async {
                    assert_eq!(store.collections_page(None, 5).await.unwrap().names, ["c"]);
                }),
            ),
            (
                "collections",
                executor::yields(|| async {
                    assert_eq!(store.collections(5).await.unwrap(), ["c"]);
                }),
            ),
            (
                "destroy_collection",
                executor::yields(|| async {
                    store.destroy_collection("other").await.unwrap();
                    assert_eq!(store.keys("c", usize::MAX).await.unwrap().len(), n);
                }),
            ),
            (
                "cull",
                executor::yields(|| async { store.cull().await.unwrap() }),
            ),
        ];
        for (walk, yielded) in walks {
            assert_eq!(yielded, large, "{walk} over {n} entries");
        }
        assert_eq!(
            executor::yields(|| async {
                store.destroy().await.unwrap();
                assert!(store.keys("c", 10).await.unwrap().is_empty());
            }),
            large,
            "destroy over {n} entries"
        );
    }
}
