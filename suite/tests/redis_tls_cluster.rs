//! RedisClusterStore over TLS (`rediss://` nodes that talk TLS to each other too),
//! trusting the CA scripts/servers.sh made: features `redis-cluster` and `redis-tls`
//! together, and nothing else.
#![cfg(all(feature = "redis-cluster", feature = "redis-tls"))]

use kv_store_adapter::stores::{RedisClusterStore, Timeouts};
use kv_store_adapter::testkit::{b, server_url, unique_namespace};
use kv_store_adapter::{ErrorKind, KvStore, open};

fn cluster() -> Option<(Vec<String>, String)> {
    let urls = server_url("KV_REDIS_TLS_CLUSTER_URLS")?;
    let ca = server_url("KV_REDIS_TLS_CA")?;
    Some((urls.split(',').map(str::to_owned).collect(), ca))
}

async fn connect() -> Option<RedisClusterStore> {
    let (nodes, ca) = cluster()?;
    let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
    let store = RedisClusterStore::connect_cluster_tls(&nodes, &ca, Timeouts::default())
        .await
        .expect("the TLS cluster answers");
    Some(store.with_namespace(&unique_namespace()).unwrap())
}

kv_store_adapter::conformance_suite!(
    store = match connect().await { Some(store) => store, None => return };
    basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, conditional_writes);

#[tokio::test]
async fn open_reads_the_node_list_and_the_ca_file() {
    let Some((nodes, ca)) = cluster() else { return };
    let hosts: Vec<&str> = nodes
        .iter()
        .map(|u| u.trim_start_matches("rediss://").trim_end_matches('/'))
        .collect();
    let ns = unique_namespace();
    let url = format!(
        "rediss-cluster://{}/?namespace={ns}&tls_ca_file={}",
        hosts.join(","),
        ca.replace('%', "%25").replace('&', "%26")
    );
    let store = open(&url).await.unwrap();
    for c in ["a", "b", "c"] {
        store.put(c, "k", b("v"), None).await.unwrap();
    }
    assert_eq!(store.get("b", "k").await.unwrap(), Some(b("v")));
    let mut collections = store.collections(10).await.unwrap();
    collections.sort();
    assert_eq!(collections, ["a", "b", "c"]);
}

#[tokio::test]
async fn the_web_pki_roots_refuse_the_test_ca() {
    let Some((nodes, _)) = cluster() else { return };
    let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
    let timeouts = Timeouts::default().connect(std::time::Duration::from_secs(2));
    let err = RedisClusterStore::connect_cluster_with_timeouts(&nodes, timeouts)
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Setup | ErrorKind::Timeout),
        "{err:?}"
    );
}
