//! ValkeyStore against a real valkey-server (scripts/servers.sh starts one).
#![cfg(feature = "valkey")]

#[path = "support/redis.rs"]
mod support;

use kv_store_adapter::KvStore;
use kv_store_adapter::stores::ValkeyStore;
use kv_store_adapter::testkit::{b, server_url, unique_namespace};

/// A store on `namespace`; two calls are two instances, as two processes would open.
async fn open(namespace: String) -> Option<ValkeyStore> {
    let url = server_url("KV_VALKEY_URL")?;
    let store = ValkeyStore::connect(&url).await.expect("valkey answers");
    Some(store.with_namespace(&namespace).unwrap())
}

async fn connect() -> Option<ValkeyStore> {
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

    async fn open_indexed(namespace: String) -> Option<ValkeyStore> {
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

    /// Members whose entries went behind the store's back do not list a collection.
    #[tokio::test]
    async fn collections_skip_members_whose_entries_are_gone() {
        let Some(store) = open_indexed(unique_namespace()).await else {
            return;
        };
        super::support::collections_skip_members_whose_entries_are_gone(&store).await;
    }

    /// Entries written while `destroy_collection` scans stay listed.
    #[tokio::test]
    async fn entries_surviving_destroy_collection_stay_listed() {
        let Some(store) = open_indexed(unique_namespace()).await else {
            return;
        };
        super::support::entries_surviving_destroy_stay_listed(&store, false).await;
    }

    /// Entries written while `destroy` scans stay listed.
    #[tokio::test]
    async fn entries_surviving_destroy_stay_listed() {
        let Some(store) = open_indexed(unique_namespace()).await else {
            return;
        };
        super::support::entries_surviving_destroy_stay_listed(&store, true).await;
    }
}

#[tokio::test]
async fn the_server_is_valkey_and_valkey_urls_work() {
    let Some(url) = server_url("KV_VALKEY_URL") else {
        return;
    };
    let valkey_url = url.replacen("redis://", "valkey://", 1);
    let store = ValkeyStore::connect(&valkey_url)
        .await
        .unwrap()
        .with_namespace(&unique_namespace())
        .unwrap();
    store.put("c", "k", b("v"), None).await.unwrap();
    assert_eq!(store.get("c", "k").await.unwrap(), Some(b("v")));
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query_async(&mut store.connection().clone())
        .await
        .unwrap();
    assert!(
        info.contains("valkey_version") || info.contains("server_name:valkey"),
        "{info}"
    );
}

#[tokio::test]
async fn foreign_bytes_are_corrupt_data() {
    let Some(store) = connect().await else { return };
    support::foreign_redis_values_are_corrupt(&store).await;
}
