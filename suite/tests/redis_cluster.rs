//! RedisClusterStore against a real three-node Redis Cluster (scripts/servers.sh).
#![cfg(feature = "redis-cluster")]

#[path = "support/redis.rs"]
mod support;

use kv_store_adapter::KvStore;
use kv_store_adapter::stores::RedisClusterStore;
use kv_store_adapter::testkit::{b, server_url, unique_namespace};

/// A cluster client on `namespace`; two calls are two instances, as two processes
/// would open.
async fn open(namespace: String) -> Option<RedisClusterStore> {
    let urls = server_url("KV_REDIS_CLUSTER_URLS")?;
    let nodes: Vec<&str> = urls.split(',').collect();
    let store = RedisClusterStore::connect_cluster(&nodes)
        .await
        .expect("the cluster answers");
    Some(store.with_namespace(&namespace).unwrap())
}

async fn connect() -> Option<RedisClusterStore> {
    open(unique_namespace()).await
}

kv_store_adapter::conformance_suite!(
    store = match connect().await { Some(store) => store, None => return };
    basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, conditional_writes);

mod instances {
    use super::*;
    kv_store_adapter::instances_suite!(
        pair = match kv_store_adapter::testkit::instances::Instances::on_one_namespace(open).await { Some(pair) => pair, None => return };
        basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, destroy_enumerated,
        conditional_writes);
}

/// The same kit over the store with its key index (`with_index`).
mod indexed {
    use super::*;

    async fn open_indexed(namespace: String) -> Option<RedisClusterStore> {
        Some(open(namespace).await?.with_index())
    }

    kv_store_adapter::conformance_suite!(
        store = match open_indexed(unique_namespace()).await { Some(store) => store, None => return };
        basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, conditional_writes);

    mod instances {
        use super::*;
        kv_store_adapter::instances_suite!(
            pair = match kv_store_adapter::testkit::instances::Instances::on_one_namespace(open_indexed).await { Some(pair) => pair, None => return };
            basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, destroy_enumerated,
            conditional_writes);
    }
}

#[tokio::test]
async fn collections_spread_over_every_primary_and_enumerate_completely() {
    let Some(store) = connect().await else { return };
    // Enough collections that every one of the three primaries holds some.
    let names: Vec<String> = (0..60).map(|i| format!("coll-{i}")).collect();
    for name in &names {
        store
            .put_many(name, &[("a", b("1")), ("b", b("2"))], None)
            .await
            .unwrap();
    }
    let mut found = store.collections(1000).await.unwrap();
    found.sort();
    let mut expected = names.clone();
    expected.sort();
    assert_eq!(found, expected);
    // Every primary holds some of this namespace's keys.
    let urls = server_url("KV_REDIS_CLUSTER_URLS").unwrap();
    for url in urls.split(',') {
        let mut node = redis::Client::open(url)
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let (_, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(0)
            .arg("MATCH")
            .arg(format!("{}:*", store.namespace()))
            .arg("COUNT")
            .arg(10_000)
            .query_async(&mut node)
            .await
            .unwrap();
        assert!(!keys.is_empty(), "{url} holds none of the keys");
    }
    store.destroy().await.unwrap();
    assert!(store.collections(1000).await.unwrap().is_empty());
}

#[tokio::test]
async fn foreign_bytes_are_corrupt_data() {
    let Some(store) = connect().await else { return };
    support::foreign_redis_values_are_corrupt(&store).await;
}
