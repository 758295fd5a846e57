//! ElasticsearchStore behind a real reverse proxy, a private nginx on a port of its own
//! (scripts/servers.sh installs it), as clusters are often reached through a gateway or
//! a load balancer: the proxy's "not now" answers — 502 from a gateway whose upstream
//! is down, with an HTML page; 429 from a rate limit — are transient errors, so `Retry`
//! and `Fallback` engage and the call succeeds once the backend serves again.
#![cfg(feature = "elasticsearch")]

use std::time::Duration;

use bytes::Bytes;
use kv_store_adapter::stores::ElasticsearchStore;
use kv_store_adapter::testkit::{server_url, unique_namespace};
use kv_store_adapter::wrappers::RetryPolicy;
use kv_store_adapter::{KvStore, KvStoreExt};

#[path = "support/server.rs"]
mod server;
use server::Server;

/// A store on `url` with a namespace of the test's own.
async fn store(url: &str, namespace: &str) -> ElasticsearchStore {
    ElasticsearchStore::connect(url)
        .await
        .unwrap()
        .with_namespace(namespace)
        .unwrap()
}

/// A node restarts behind the gateway: meanwhile the gateway answers 502 with its own
/// HTML page (not Elasticsearch's JSON), which is a transient error, and calls through
/// the same store succeed again once the node is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_whose_upstream_is_down_is_transient() {
    let (Some(nginx), Some(search)) = (
        server_url("KV_NGINX_BIN"),
        server_url("KV_SEARCH_SERVER_BIN"),
    ) else {
        return;
    };
    let mut search = Server::new(search, |port| {
        ["-addr", &format!("127.0.0.1:{port}"), "-no-stdin-watch"]
            .map(str::to_owned)
            .to_vec()
    });
    let upstream = search.port;
    let dir = tempfile::tempdir().unwrap();
    let gateway = Server::nginx(nginx, dir.path(), move |port| {
        format!(
            "server {{ listen 127.0.0.1:{port}; \
             location / {{ proxy_pass http://127.0.0.1:{upstream}; }} }}"
        )
    });
    let url = format!("http://127.0.0.1:{}", gateway.port);
    let store = store(&url, "gateway").await;
    store
        .put("c", "k", Bytes::from_static(b"v"), None)
        .await
        .unwrap();

    search.kill();
    let err = store.get("c", "k").await.unwrap_err();
    assert!(err.is_transient(), "not transient: {err}");
    assert!(err.to_string().contains("502"), "{err}");

    // The node comes back (empty: the test server keeps nothing across a restart).
    search.start();
    assert_eq!(store.get("c", "k").await.unwrap(), None);
    store
        .put("c", "k", Bytes::from_static(b"w"), None)
        .await
        .unwrap();
    assert_eq!(
        store.get("c", "k").await.unwrap(),
        Some(Bytes::from_static(b"w"))
    );
}

/// A rate limit in front of the cluster answers 429 to the calls over it: transient,
/// and `Retry` waits each call out until the limit lets it through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_is_transient_and_waited_out() {
    let (Some(nginx), Some(direct)) = (
        server_url("KV_NGINX_BIN"),
        server_url("KV_ELASTICSEARCH_URL"),
    ) else {
        return;
    };
    let upstream = direct.trim_start_matches("http://").to_owned();
    let dir = tempfile::tempdir().unwrap();
    let limited = Server::nginx(nginx, dir.path(), move |port| {
        format!(
            "limit_req_zone $server_port zone=calls:1m rate=5r/s; \
             limit_req_status 429; \
             server {{ listen 127.0.0.1:{port}; \
             location / {{ limit_req zone=calls burst=1 nodelay; \
             proxy_pass http://{upstream}; }} }}"
        )
    });
    // Written directly; read through the limit.
    let namespace = unique_namespace().to_lowercase().replace('-', "_");
    let writer = store(&direct, &namespace).await;
    let entries: Vec<(String, Bytes)> = (0..20)
        .map(|i| (format!("k{i}"), Bytes::from(i.to_string())))
        .collect();
    let entries: Vec<(&str, Bytes)> = entries
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    writer.put_many("c", &entries, None).await.unwrap();
    let reader = store(&format!("http://127.0.0.1:{}", limited.port), &namespace).await;

    // Twenty reads at once: the limit lets a few through and answers 429 to the rest.
    let reads = (0..20).map(|i| {
        let reader = reader.clone();
        tokio::spawn(async move { reader.get("c", &format!("k{i}")).await })
    });
    let mut limited_calls = 0;
    for read in reads {
        if let Err(err) = read.await.unwrap() {
            assert!(err.is_transient(), "not transient: {err}");
            assert!(err.to_string().contains("429"), "{err}");
            limited_calls += 1;
        }
    }
    assert!(limited_calls > 0, "the limit let every read through");

    // Through Retry, every read gets its value.
    let patient = RetryPolicy::default()
        .max_attempts(200)
        .base_delay(Duration::from_millis(50))
        .max_delay(Duration::from_millis(400));
    let reader = reader.retry(patient);
    let reads = (0..20).map(|i| {
        let reader = reader.clone();
        tokio::spawn(async move { reader.get("c", &format!("k{i}")).await })
    });
    for (i, read) in reads.enumerate() {
        assert_eq!(
            read.await.unwrap().unwrap(),
            Some(Bytes::from(i.to_string()))
        );
    }
    writer.destroy().await.unwrap();
}
