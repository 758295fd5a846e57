//! Bad and huge input on every store: batches of 100,000 keys and of 24 MiB give a
//! correct result (and a rejected one writes nothing), over-long TTLs and oversized values are typed
//! errors that write nothing. (Zero TTLs and empty or over-long names are conformance
//! rules, run on every store and wrapper.)
#![cfg(feature = "full")]

use bytes::Bytes;
use kv_store_adapter::stores::{
    DiskStore, ElasticsearchStore, MemcachedStore, MemoryStore, MongoStore, MultiDiskStore,
    RedisClusterStore, RedisStore, SimpleStore,
};
use kv_store_adapter::testkit::basics::{
    batches_of_100000_keys_work, over_long_ttl_is_rejected_and_writes_nothing,
    put_many_of_large_values_works,
};
use kv_store_adapter::testkit::{assert_kind, b, server_url, unique, unique_namespace};
use kv_store_adapter::{ErrorKind, KvStore, KvStoreExt};

async fn both<S: KvStore>(store: &S) {
    over_long_ttl_is_rejected_and_writes_nothing(store).await;
    put_many_of_large_values_works(store).await;
    batches_of_100000_keys_work(store).await;
}

#[tokio::test]
async fn memory() {
    both(&MemoryStore::with_max_entries(200_000)).await;
}

#[tokio::test]
async fn simple() {
    both(&SimpleStore::new()).await;
}

#[tokio::test]
async fn disk() {
    let dir = tempfile::tempdir().unwrap();
    both(&DiskStore::open(dir.path().join("kv.redb")).unwrap()).await;
}

#[tokio::test]
async fn multi_disk() {
    let dir = tempfile::tempdir().unwrap();
    both(&MultiDiskStore::open(dir.path()).unwrap()).await;
}

#[tokio::test]
async fn redis() {
    let Some(url) = server_url("KV_REDIS_URL") else {
        return;
    };
    let store = RedisStore::connect(&url).await.unwrap();
    both(&store.with_namespace(&unique_namespace()).unwrap()).await;
}

#[tokio::test]
async fn valkey() {
    let Some(url) = server_url("KV_VALKEY_URL") else {
        return;
    };
    let store = RedisStore::connect(&url).await.unwrap();
    both(&store.with_namespace(&unique_namespace()).unwrap()).await;
}

#[tokio::test]
async fn redis_cluster() {
    let Some(urls) = server_url("KV_REDIS_CLUSTER_URLS") else {
        return;
    };
    let urls: Vec<&str> = urls.split(',').collect();
    let store = RedisClusterStore::connect_cluster(&urls).await.unwrap();
    both(&store.with_namespace(&unique_namespace()).unwrap()).await;
}

#[tokio::test]
async fn memcached() {
    let Some(url) = server_url("KV_MEMCACHED_URL") else {
        return;
    };
    let store = MemcachedStore::connect(&url).await.unwrap();
    let store = store.with_namespace(&unique_namespace()).unwrap();
    both(&store).await;
    // A value over the server's item size: too large, and its batch writes nothing.
    let c = unique("oversized");
    let huge = Bytes::from(vec![7u8; store.item_limit() + 1]);
    assert_kind(
        store.put(&c, "k", huge.clone(), None).await,
        ErrorKind::TooLarge,
    );
    let batch = [("a", b("fits")), ("b", huge)];
    assert_kind(store.put_many(&c, &batch, None).await, ErrorKind::TooLarge);
    assert_eq!(
        store.get_many(&c, &["k", "a", "b"]).await.unwrap(),
        [None, None, None]
    );
}

#[tokio::test]
async fn mongo() {
    let Some(url) = server_url("KV_MONGO_URL") else {
        return;
    };
    let store = MongoStore::connect(&url, "kvtest").await.unwrap();
    both(&store.with_namespace(&unique_namespace()).unwrap()).await;
}

#[tokio::test]
async fn elasticsearch() {
    let Some(url) = server_url("KV_ELASTICSEARCH_URL") else {
        return;
    };
    let prefix = unique_namespace().to_lowercase().replace('-', "_");
    let store = ElasticsearchStore::connect(&url).await.unwrap();
    both(&store.with_namespace(&prefix).unwrap()).await;
}

#[tokio::test]
async fn size_limit_over_a_store_without_one() {
    // Stores without a size limit of their own get one from LimitSize: checked before
    // anything is written.
    let store = MemoryStore::with_max_entries(100).limit_size(0, 1024);
    let c = unique("limited");
    let batch = [("a", b("fits")), ("b", Bytes::from(vec![0u8; 1025]))];
    assert_kind(store.put_many(&c, &batch, None).await, ErrorKind::TooLarge);
    assert_eq!(store.get(&c, "a").await.unwrap(), None);
}
