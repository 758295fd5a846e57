use std::time::Duration;

use bytes::Bytes;
use kv_store_adapter::KvStore;
use kv_store_adapter::testkit::{Faulty, b};
use kv_store_adapter::wrappers::PassthroughCache;

use super::*;

const MAX: Duration = Duration::from_secs(30);
const MISSING: Duration = Duration::from_secs(10);

mod over_memory {
    use super::*;
    kv_store_adapter::conformance_suite!(store = PassthroughCache::new(memory(), memory(), MAX, MISSING);
        core, keys, collections, destroy_collection, destroy, cull);
}

mod over_disk {
    use super::*;
    kv_store_adapter::conformance_suite!(fixture = {
        let (store, dir) = disk();
        (PassthroughCache::new(store, memory(), MAX, MISSING), dir)
    }; core, keys, collections, destroy_collection, destroy, cull);
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
