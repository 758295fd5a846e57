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

    /// Foreign values and other types through the indexed writes, which on a cluster run
    /// in a transaction beside `EXISTS` of the index.
    #[tokio::test]
    async fn foreign_bytes_are_corrupt_data() {
        let Some(store) = open_indexed(unique_namespace()).await else {
            return;
        };
        support::foreign_redis_values_are_corrupt(&store).await;
    }

    fn registry(store: &RedisClusterStore) -> Vec<u8> {
        let mut key = store.namespace().as_bytes().to_vec();
        key.extend_from_slice(b":{\xff}");
        key
    }

    /// `collections()` reads the collections index, not the keyspace: an entry written
    /// behind the store's back (no index member, no name) is not listed, where a SCAN
    /// would find it; and a collection whose entries expired leaves the index.
    #[tokio::test]
    async fn collections_come_from_the_registry_and_dead_names_leave_it() {
        let Some(store) = open_indexed(unique_namespace()).await else {
            return;
        };
        let mut conn = store.connection().clone();
        let _: () = redis::cmd("SET")
            .arg(store.redis_key("ghost", "k"))
            .arg(b"\x02................v")
            .query_async(&mut conn)
            .await
            .unwrap();
        let short = Some(std::time::Duration::from_millis(100));
        for i in 0..30 {
            store
                .put(&format!("dead{i}"), "k", b("v"), short)
                .await
                .unwrap();
        }
        for i in 0..30 {
            store
                .put(&format!("live{i:02}"), "k", b("v"), None)
                .await
                .unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let expected: Vec<String> = (0..30).map(|i| format!("live{i:02}")).collect();
        assert_eq!(store.collections(1000).await.unwrap(), expected);
        assert_eq!(store.collections(3).await.unwrap(), expected[..3]);
        let names: usize = redis::cmd("ZCARD")
            .arg(registry(&store))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(names, 30, "dead names stay in the collections index");
        store.destroy().await.unwrap();
        assert!(store.collections(1000).await.unwrap().is_empty());
    }

    /// New collections prune the list of names as they register, with no
    /// `collections()` call: 200 collections die, then 200 new ones are written (half
    /// with a TTL, half without: two ways to create an index); each new name checks
    /// two sampled names.
    #[tokio::test]
    async fn registrations_prune_dead_collection_names() {
        let Some(store) = open_indexed(unique_namespace()).await else {
            return;
        };
        let short = Some(std::time::Duration::from_millis(100));
        for i in 0..200 {
            store
                .put(&format!("dead{i}"), "k", b("v"), short)
                .await
                .unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        for i in 0..200 {
            let ttl = (i % 2 == 0).then_some(std::time::Duration::from_secs(60));
            store
                .put(&format!("new{i}"), "k", b("v"), ttl)
                .await
                .unwrap();
        }
        let names: usize = redis::cmd("ZCARD")
            .arg(registry(&store))
            .query_async(&mut store.connection().clone())
            .await
            .unwrap();
        assert!(
            names <= 300,
            "{names} names: registrations left the dead ones (400 without pruning)"
        );
        assert_eq!(store.collections(1000).await.unwrap().len(), 200);
        store.destroy().await.unwrap();
    }

    /// More collections than one page of names (1,000), a tenth of them dead.
    #[tokio::test]
    async fn collections_page_through_many_names() {
        let Some(store) = open_indexed(unique_namespace()).await else {
            return;
        };
        support::collections_page_through_many_names(&store).await;
    }

    /// Members whose entries went behind the store's back do not list a collection.
    #[tokio::test]
    async fn collections_skip_members_whose_entries_are_gone() {
        let Some(store) = open_indexed(unique_namespace()).await else {
            return;
        };
        support::collections_skip_members_whose_entries_are_gone(&store).await;
    }

    /// Entries written while `destroy_collection` scans stay listed.
    #[tokio::test]
    async fn entries_surviving_destroy_collection_stay_listed() {
        let Some(store) = open_indexed(unique_namespace()).await else {
            return;
        };
        support::entries_surviving_destroy_stay_listed(&store, false).await;
    }

    /// Entries written while `destroy` scans stay listed.
    #[tokio::test]
    async fn entries_surviving_destroy_stay_listed() {
        let Some(store) = open_indexed(unique_namespace()).await else {
            return;
        };
        support::entries_surviving_destroy_stay_listed(&store, true).await;
    }

    /// A collection whose name was lost (its writer died between the write and the
    /// registration; here a raw `ZREM`) is listed again after `build_index`.
    #[tokio::test]
    async fn build_index_names_an_unnamed_collection() {
        let Some(store) = open_indexed(unique_namespace()).await else {
            return;
        };
        store.put("orphan", "k", b("v"), None).await.unwrap();
        store.put("named", "k", b("v"), None).await.unwrap();
        let mut conn = store.connection().clone();
        let _: () = redis::cmd("ZREM")
            .arg(registry(&store))
            .arg("orphan")
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(store.collections(10).await.unwrap(), ["named"]);
        store.build_index().await.unwrap();
        assert_eq!(store.collections(10).await.unwrap(), ["named", "orphan"]);
        store.destroy().await.unwrap();
    }

    /// Two instances: one destroys a collection while the other writes to it, 200
    /// times. Whenever the write survived, the collection is listed.
    #[tokio::test]
    async fn a_write_racing_destroy_collection_stays_listed() {
        let Some(pair) =
            kv_store_adapter::testkit::instances::Instances::on_one_namespace(open_indexed).await
        else {
            return;
        };
        let (a, b_store) = (pair.a.clone(), pair.b.clone());
        for round in 0..200 {
            let ttl = (round % 2 == 1).then_some(std::time::Duration::from_secs(60));
            let (destroyed, written) = tokio::join!(
                a.destroy_collection("c"),
                b_store.put("c", "k", b("v"), ttl)
            );
            destroyed.unwrap();
            written.unwrap();
            let live = b_store.get("c", "k").await.unwrap().is_some();
            let listed = a.collections(10).await.unwrap() == ["c"];
            assert_eq!(
                listed, live,
                "round {round}: entry live {live}, listed {listed}"
            );
        }
        a.destroy().await.unwrap();
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
