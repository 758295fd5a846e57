//! `open(url)`: stores chosen at run time, against real servers where they need one.
#![cfg(feature = "full")]

use kv_store_adapter::testkit::{assert_kind, b, server_url, unique_namespace};
use kv_store_adapter::{EnumerateKeys, ErrorKind, KvStore, open};

async fn round_trip(url: &str) -> kv_store_adapter::BoxStore {
    let store = open(url).await.unwrap_or_else(|e| panic!("{url}: {e}"));
    store.put("c", "k", b("v"), None).await.unwrap();
    assert_eq!(store.get("c", "k").await.unwrap(), Some(b("v")));
    store
}

#[tokio::test]
async fn embedded_stores_open_from_urls() {
    let store = round_trip("memory://?max_entries=50").await;
    assert_eq!(store.keys("c", 10).await.unwrap(), ["k"]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kv.redb");
    let store = round_trip(&format!("redb://{}", path.display())).await;
    assert!(store.has_cull() && store.has_destroy());
    assert!(path.exists());
}

#[tokio::test]
async fn server_stores_open_from_urls() {
    if let Some(url) = server_url("KV_REDIS_URL") {
        let store = round_trip(&format!("{url}?namespace={}", unique_namespace())).await;
        assert!(store.has_keys() && !store.has_cull());
    }
    if let Some(url) = server_url("KV_VALKEY_URL") {
        let url = url.replacen("redis://", "valkey://", 1);
        round_trip(&format!("{url}?namespace={}", unique_namespace())).await;
    }
    if let Some(url) = server_url("KV_MEMCACHED_URL") {
        let store = round_trip(&format!("{url}?namespace={}", unique_namespace())).await;
        assert!(!store.has_keys() && store.has_destroy());
        assert_kind(store.keys("c", 10).await, ErrorKind::Unsupported);
    }
}

#[tokio::test]
async fn bad_urls_are_clear_setup_errors_without_secrets() {
    for url in [
        "nosuch://x",
        "not a url",
        "memory://?max_entries=lots",
        "redb://",
    ] {
        assert_kind(open(url).await, ErrorKind::Setup);
    }
    let err = open("nosuch://admin:hunter2@host/").await.unwrap_err();
    assert!(!format!("{err} {err:?}").contains("hunter2"), "{err:?}");
    let err = open("redis://admin:hunter2@127.0.0.1:1/")
        .await
        .unwrap_err();
    assert!(!format!("{err} {err:?}").contains("hunter2"), "{err:?}");
}
