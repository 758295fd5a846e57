use std::time::Duration;

use bytes::Bytes;
use kv_store_adapter::testkit::{Faulty, b};
use kv_store_adapter::wrappers::PassthroughCache;
use kv_store_adapter::{Key, KvStore, PutOptions, Store};

use super::*;

const MAX: Duration = Duration::from_secs(30);
const MISSING: Duration = Duration::from_secs(10);

mod over_memory {
    use super::*;
    kv_store_adapter::conformance_suite!(store = PassthroughCache::new(memory(), memory(), MAX, MISSING);
        basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, cull,
        conditional_writes);
}

mod over_disk {
    use super::*;
    kv_store_adapter::conformance_suite!(fixture = {
        let (store, dir) = disk();
        (PassthroughCache::new(store, memory(), MAX, MISSING), dir)
    }; basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, cull);
}

#[tokio::test]
async fn reads_fill_the_cache_with_the_primarys_remaining_ttl_capped() {
    let (primary, cache) = (super::simple(), super::simple());
    let store = PassthroughCache::new(primary.clone(), cache.clone(), MAX, MISSING);
    primary
        .put("c", "short", b("s"), Some(Duration::from_secs(5)))
        .await
        .unwrap();
    primary
        .put("c", "long", b("l"), Some(Duration::from_secs(600)))
        .await
        .unwrap();
    primary
        .put("c", "forever", Bytes::new(), None)
        .await
        .unwrap();
    store
        .get_many("c", &["short", "long", "forever", "absent"])
        .await
        .unwrap();
    let ttl = |key: &str| {
        cache
            .entries()
            .into_iter()
            .find(|e| e.key == key)
            .and_then(|e| e.ttl)
    };
    assert!(ttl("short").unwrap() <= Duration::from_secs(5));
    assert!(ttl("long").unwrap() <= MAX && ttl("long").unwrap() > MAX - Duration::from_secs(5));
    assert!(
        ttl("forever").unwrap() <= MISSING,
        "an empty value is cached like any other"
    );
    assert_eq!(cache.entries().len(), 3, "misses are not cached");
    // A hit is served by the cache alone.
    let faulty_primary = Faulty::new(primary.clone());
    let store = PassthroughCache::new(faulty_primary.clone(), cache.clone(), MAX, MISSING);
    assert_eq!(store.get("c", "forever").await.unwrap(), Some(Bytes::new()));
    assert_eq!(faulty_primary.calls(), 0);
}

#[tokio::test]
async fn writes_invalidate_the_cache() {
    let (primary, cache) = (memory(), memory());
    let store = PassthroughCache::new(primary.clone(), cache.clone(), MAX, MISSING);
    store.put("c", "k", b("old"), None).await.unwrap();
    assert_eq!(store.get("c", "k").await.unwrap(), Some(b("old")));
    assert!(cache.get("c", "k").await.unwrap().is_some());
    store.put("c", "k", b("new"), None).await.unwrap();
    assert_eq!(cache.get("c", "k").await.unwrap(), None);
    assert_eq!(store.get("c", "k").await.unwrap(), Some(b("new")));
    store.delete("c", "k").await.unwrap();
    assert_eq!(store.get("c", "k").await.unwrap(), None);
}

#[tokio::test]
async fn a_failing_cache_is_a_miss_for_reads() {
    let primary = memory();
    let cache = Faulty::new(memory());
    let store = PassthroughCache::new(primary.clone(), cache.clone(), MAX, MISSING);
    primary.put("c", "k", b("v"), None).await.unwrap();
    cache.fail_next(1);
    assert_eq!(store.get("c", "k").await.unwrap(), Some(b("v")));
    cache.fail_next(1);
    assert!(
        store.put("c", "k", b("w"), None).await.is_err(),
        "stale cache must fail a write"
    );
}

/// A cache whose writes (the fills) take a while, so a read that missed can still be
/// filling when a write through the wrapper has already finished.
#[derive(Clone)]
struct SlowFills(MemoryStore);

impl Store for SlowFills {
    kv_store_adapter::forward_methods!(0; get_opts, delete_opts);

    async fn put_opts(&self, k: Key<'_>, v: Bytes, o: PutOptions) -> kv_store_adapter::Result<()> {
        tokio::time::sleep(Duration::from_millis(2)).await;
        self.0.put_opts(k, v, o).await
    }
}

/// 1,000 races of a read (missing the cache, filling it) against a put or a delete:
/// once the write has returned, no read sees the old value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_read_after_a_write_returns_sees_the_old_value() {
    let store = PassthroughCache::new(memory(), SlowFills(memory()), MAX, MISSING);
    let mut stale = 0;
    for round in 0..1_000u32 {
        let key = format!("k{round}");
        store
            .primary()
            .put("c", &key, b("old"), None)
            .await
            .unwrap();
        let reader = {
            let (store, key) = (store.clone(), key.clone());
            tokio::spawn(async move { store.get("c", &key).await.unwrap() })
        };
        // Let the reader miss the cache and read the primary's old value.
        tokio::time::sleep(Duration::from_micros(300)).await;
        let expected = if round % 2 == 0 {
            store.put("c", &key, b("new"), None).await.unwrap();
            Some(b("new"))
        } else {
            store.delete("c", &key).await.unwrap();
            None
        };
        let after = store.get("c", &key).await.unwrap();
        stale += usize::from(after != expected);
        reader.await.unwrap();
        assert_eq!(
            store.get("c", &key).await.unwrap(),
            expected,
            "round {round}"
        );
    }
    assert_eq!(stale, 0, "reads right after a write saw the old value");
}

/// Fills follow the crate's TTL rule: a cache built with `Duration::MAX` bounds
/// fills entries of a primary that never expire at `MAX_TTL`, with no panic on any store.
#[tokio::test]
async fn unbounded_cache_ttls_fill_without_panic() {
    let (primary, dir) = disk();
    let (cache, _dir2) = disk();
    let store = PassthroughCache::new(primary, cache, Duration::MAX, Duration::MAX);
    store.primary().put("c", "k", b("v"), None).await.unwrap();
    assert_eq!(store.get("c", "k").await.unwrap(), Some(b("v")));
    let left = store
        .cache()
        .ttl("c", "k")
        .await
        .unwrap()
        .unwrap()
        .expires_in;
    let left = left.expect("the fill has a TTL");
    assert!(left <= kv_store_adapter::names::MAX_TTL);
    assert!(left > kv_store_adapter::names::MAX_TTL - Duration::from_secs(60));
    drop(dir);
}
