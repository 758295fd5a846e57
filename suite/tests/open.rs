//! `open(url)`: stores chosen at run time, against real servers where they need one.
#![cfg(feature = "full")]

use std::time::{Duration, Instant};

use kv_store_adapter::stores::{
    ElasticsearchStore, MemcachedStore, MongoStore, RedisClusterStore, RedisStore,
};
use kv_store_adapter::testkit::{assert_kind, b, server_url, unique_namespace};
use kv_store_adapter::{ErrorKind, KvStore, open};

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
    // Percent-decoded paths and the builder's options.
    let spaced = dir.path().join("with space.redb");
    let url = format!(
        "redb://{}?durable=false&inline_reads=true&cache_size=1048576",
        dir.path().join("with%20space.redb").display()
    );
    round_trip(&url).await;
    assert!(spaced.exists());
    let store = round_trip(&format!(
        "multidisk://{}?durable=false&max_open_files=8&writer_threads=2",
        dir.path().join("many").display()
    ))
    .await;
    assert!(store.has_collections());
    assert!(dir.path().join("many").is_dir());
    let null = open("null://").await.unwrap();
    null.put("c", "k", b("v"), None).await.unwrap();
    assert_eq!(null.get("c", "k").await.unwrap(), None);
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

/// Each server URL's own parameters reach the store: what the boxed store writes, a
/// store opened directly with the same namespace, database or prefix reads.
#[tokio::test]
async fn every_server_store_opens_with_its_parameters() {
    let (Some(redis), Some(cluster), Some(memcached), Some(mongo), Some(search)) = (
        server_url("KV_REDIS_URL"),
        server_url("KV_REDIS_CLUSTER_URLS"),
        server_url("KV_MEMCACHED_URL"),
        server_url("KV_MONGO_URL"),
        server_url("KV_ELASTICSEARCH_URL"),
    ) else {
        return;
    };
    let ns = unique_namespace();
    let timeouts = "connect_timeout=2s&timeout=3s";

    round_trip(&format!("{redis}?namespace={ns}&{timeouts}")).await;
    let direct = RedisStore::connect(&redis)
        .await
        .unwrap()
        .with_namespace(&ns)
        .unwrap();
    assert_eq!(direct.get("c", "k").await.unwrap(), Some(b("v")));
    // `index=true`: the write went through the index, which only an indexed store
    // lists from (a plain write would be missing here).
    let indexed_ns = unique_namespace();
    round_trip(&format!("{redis}?namespace={indexed_ns}&index=true")).await;
    let direct = RedisStore::connect(&redis)
        .await
        .unwrap()
        .with_namespace(&indexed_ns)
        .unwrap()
        .with_index();
    assert_eq!(direct.keys("c", 10).await.unwrap(), ["k"]);

    let hosts: Vec<&str> = cluster
        .split(',')
        .map(|u| u.trim_start_matches("redis://").trim_end_matches('/'))
        .collect();
    let store = round_trip(&format!(
        "redis-cluster://{}/?namespace={ns}&{timeouts}",
        hosts.join(",")
    ))
    .await;
    assert!(store.has_collections());
    let nodes: Vec<&str> = cluster.split(',').collect();
    let direct = RedisClusterStore::connect_cluster(&nodes)
        .await
        .unwrap()
        .with_namespace(&ns)
        .unwrap();
    assert_eq!(direct.get("c", "k").await.unwrap(), Some(b("v")));

    let url = format!("{memcached}?namespace={ns}&pool_size=2&generation_refresh=0s&{timeouts}");
    round_trip(&url).await;
    let direct = MemcachedStore::connect(&memcached)
        .await
        .unwrap()
        .with_namespace(&ns)
        .unwrap();
    assert_eq!(direct.get("c", "k").await.unwrap(), Some(b("v")));

    // The database from the path, the prefix from the query, the driver's own
    // parameters (directConnection) passed on.
    let (base, query) = mongo.split_once('?').unwrap();
    let db = format!("open-{}", &ns[ns.len() - 8..]);
    let prefix = "opened";
    round_trip(&format!(
        "{}{db}?{query}&prefix={prefix}&{timeouts}",
        base.trim_end_matches('/').to_owned() + "/"
    ))
    .await;
    let direct = MongoStore::connect(&mongo, &db)
        .await
        .unwrap()
        .with_namespace(prefix)
        .unwrap();
    assert_eq!(direct.get("c", "k").await.unwrap(), Some(b("v")));

    let index_prefix = format!("p{}", ns.to_ascii_lowercase().replace('-', "_"));
    let index_prefix = &index_prefix[..index_prefix.len().min(30)];
    let host = search.trim_start_matches("http://");
    round_trip(&format!(
        "elasticsearch://{host}?prefix={index_prefix}&{timeouts}"
    ))
    .await;
    let direct = ElasticsearchStore::connect(&search)
        .await
        .unwrap()
        .with_namespace(index_prefix)
        .unwrap();
    assert_eq!(direct.get("c", "k").await.unwrap(), Some(b("v")));
}

/// `connect_timeout` and `timeout` bound a server that accepts connections and never
/// answers (a listener nobody reads).
#[tokio::test]
async fn timeouts_from_the_url_bound_a_silent_server() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    for url in [
        format!("redis://127.0.0.1:{port}/?connect_timeout=300ms&timeout=300ms"),
        format!("memcached://127.0.0.1:{port}?connect_timeout=300ms&timeout=300ms"),
        format!("elasticsearch://127.0.0.1:{port}?connect_timeout=300ms&timeout=300ms"),
        format!(
            "mongodb://127.0.0.1:{port}/?directConnection=true&connect_timeout=300ms&timeout=300ms"
        ),
    ] {
        let started = Instant::now();
        let result = open(&url).await;
        assert!(result.is_err(), "{url}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{url} took {:?}",
            started.elapsed()
        );
    }
}

#[tokio::test]
async fn bad_urls_are_clear_setup_errors_without_secrets() {
    for url in [
        "nosuch://x",
        "not a url",
        "memory://?max_entries=lots",
        "memory://?max_entires=10",
        "redb://",
        "redb:///tmp/x.redb?durable=maybe",
        "multidisk://",
        "null://?anything=1",
        "redis://127.0.0.1:1/?timeout=5",
        "redis://127.0.0.1:1/?connect_timeout=fast",
        "redis-cluster:///?namespace=a",
        "memcached://127.0.0.1:1?pool_size=lots",
        "memcached://127.0.0.1:1?nope=1",
        "memcached://user:pw@127.0.0.1:1",
        "elasticsearch://127.0.0.1:1?api_key=only-half",
        "elasticsearch://127.0.0.1:1?nope=1",
    ] {
        let err = open(url).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Setup, "{url}: {err:?}");
    }
    // The message names the problem.
    let err = open("memory://?max_entires=10").await.unwrap_err();
    assert!(err.to_string().contains("max_entires"), "{err}");
    let err = open("redis://h/?timeout=5").await.unwrap_err();
    assert!(err.to_string().contains("unit"), "{err}");
    // IPv6 hosts parse (nothing listens there: a connection failure, not a URL error).
    let err = open("memcached://[::1]:1?connect_timeout=300ms")
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("invalid URL"), "{err}");
    for secret in [
        "elasticsearch://elastic:hunter2@127.0.0.1:1?connect_timeout=200ms",
        "elasticsearch://127.0.0.1:1?api_key_id=id&api_key=hunter2&connect_timeout=200ms",
        "redis://h/?password=hunter2&timeout=fast",
        "mongodb://u:hunter2@127.0.0.1:1/?connect_timeout=200ms&serverSelectionTimeoutMS=200",
        "rediss-cluster://:hunter2@127.0.0.1:1/?connect_timeout=200ms",
        "memcached://127.0.0.1:1?token=hunter2",
    ] {
        let err = open(secret).await.unwrap_err();
        assert!(
            !format!("{err} {err:?}").contains("hunter2"),
            "{secret}: {err:?}"
        );
    }
    let err = open("nosuch://admin:hunter2@host/").await.unwrap_err();
    assert!(!format!("{err} {err:?}").contains("hunter2"), "{err:?}");
    let err = open("redis://admin:hunter2@127.0.0.1:1/")
        .await
        .unwrap_err();
    assert!(!format!("{err} {err:?}").contains("hunter2"), "{err:?}");
}
