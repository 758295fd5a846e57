use std::time::Duration;

use kv_store_adapter::testkit::b;
use kv_store_adapter::{KvStore, KvStoreExt};

use super::*;

kv_store_adapter::conformance_suite!(
    store = memory().clamp_ttl(Duration::from_millis(1), DAY, None).unwrap();
    basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, cull,
    conditional_writes);

#[tokio::test]
async fn writes_are_clamped_and_missing_ttls_filled() {
    let inner = super::simple();
    let (min, max) = (Duration::from_secs(10), Duration::from_secs(100));
    let store = inner
        .clone()
        .clamp_ttl(min, max, Some(Duration::from_secs(50)))
        .unwrap();
    store
        .put("c", "short", b("v"), Some(Duration::from_secs(1)))
        .await
        .unwrap();
    store
        .put("c", "long", b("v"), Some(Duration::from_secs(1000)))
        .await
        .unwrap();
    store
        .put_many("c", &[("none", b("v"))], None)
        .await
        .unwrap();
    let ttl = |key: &str| {
        inner
            .entries()
            .into_iter()
            .find(|e| e.key == key)
            .unwrap()
            .ttl
            .unwrap()
    };
    assert!(ttl("short") > Duration::from_secs(9) && ttl("short") <= min);
    assert!(ttl("long") > Duration::from_secs(99) && ttl("long") <= max);
    assert!(ttl("none") > Duration::from_secs(49) && ttl("none") <= Duration::from_secs(50));
}

#[tokio::test]
async fn an_inverted_range_is_refused() {
    let err = memory().clamp_ttl(Duration::from_secs(2), Duration::from_secs(1), None);
    assert!(err.is_err());
}
