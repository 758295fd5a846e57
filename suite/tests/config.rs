//! Feature `serde`: the options structs read from configuration files (JSON here),
//! with defaults for what is left out, durations as "250ms"/"5s", unknown fields and
//! bad values refused, and the stores they describe connecting for real.
#![cfg(feature = "full")]

use std::time::Duration;

use kv_store_adapter::stores::{
    ElasticsearchOptions, ElasticsearchStore, MemcachedOptions, MemcachedStore, RedisOptions,
    RedisStore, Timeouts,
};
use kv_store_adapter::testkit::{b, server_url, unique_namespace};
use kv_store_adapter::wrappers::RetryPolicy;
use kv_store_adapter::{KvStore, KvStoreExt};

fn port_of(url: &str) -> u16 {
    url.trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn timeouts_and_retry_policies_read_from_text() {
    let t: Timeouts = serde_json::from_str(r#"{ "connect": "2s", "operation": "250ms" }"#).unwrap();
    assert_eq!(
        (t.connect, t.operation),
        (Duration::from_secs(2), Duration::from_millis(250))
    );
    let t: Timeouts = serde_json::from_str(r#"{ "operation": "1m" }"#).unwrap();
    assert_eq!(t, Timeouts::default().operation(Duration::from_secs(60)));
    let err = serde_json::from_str::<Timeouts>(r#"{ "operation": "5" }"#).unwrap_err();
    assert!(err.to_string().contains("unit"), "{err}");
    let err = serde_json::from_str::<Timeouts>(r#"{ "operatoin": "5s" }"#).unwrap_err();
    assert!(err.to_string().contains("operatoin"), "{err}");
    let policy: RetryPolicy =
        serde_json::from_str(r#"{ "max_attempts": 5, "base_delay": "20ms" }"#).unwrap();
    let expected = RetryPolicy::default()
        .max_attempts(5)
        .base_delay(Duration::from_millis(20));
    assert_eq!(format!("{policy:?}"), format!("{expected:?}"));
}

#[tokio::test]
async fn redis_options_from_a_config_file_connect() {
    let Some(url) = server_url("KV_REDIS_URL") else {
        return;
    };
    let json = format!(
        r#"{{ "port": {}, "db": 3, "timeouts": {{ "connect": "2s", "operation": "1s" }} }}"#,
        port_of(&url)
    );
    let options: RedisOptions = serde_json::from_str(&json).unwrap();
    assert_eq!((options.host.as_str(), options.db), ("127.0.0.1", 3));
    assert_eq!(options.timeouts.operation, Duration::from_secs(1));
    let store = RedisStore::connect_with(&options)
        .await
        .unwrap()
        .with_namespace(&unique_namespace())
        .unwrap();
    store.put("c", "k", b("v"), None).await.unwrap();
    assert_eq!(store.get("c", "k").await.unwrap(), Some(b("v")));
    let err = serde_json::from_str::<RedisOptions>(r#"{ "hots": "x" }"#).unwrap_err();
    assert!(err.to_string().contains("hots"), "{err}");
    let options: RedisOptions = serde_json::from_str(r#"{ "password": "hunter2" }"#).unwrap();
    assert!(!format!("{options:?}").contains("hunter2"));
}

#[tokio::test]
async fn memcached_options_from_a_config_file_connect() {
    let Some(url) = server_url("KV_MEMCACHED_URL") else {
        return;
    };
    let ns = unique_namespace();
    let json = format!(
        r#"{{ "address": "{url}", "pool_size": 2, "namespace": "{ns}", "generation_refresh": "0s" }}"#
    );
    let options: MemcachedOptions = serde_json::from_str(&json).unwrap();
    assert_eq!(options.pool_size, 2);
    let store = MemcachedStore::connect_with(&options).await.unwrap();
    assert_eq!(store.generation_refresh(), Duration::ZERO);
    store.put("c", "k", b("v"), None).await.unwrap();
    let direct = MemcachedStore::connect(&url)
        .await
        .unwrap()
        .with_namespace(&ns)
        .unwrap();
    assert_eq!(direct.get("c", "k").await.unwrap(), Some(b("v")));
    assert!(format!("{store:?}").contains("connections: 2"), "{store:?}");
    let defaults: MemcachedOptions = serde_json::from_str("{}").unwrap();
    assert_eq!(defaults.pool_size, MemcachedOptions::DEFAULT_POOL_SIZE);
}

#[tokio::test]
async fn elasticsearch_options_from_a_config_file_connect() {
    let Some(url) = server_url("KV_ELASTICSEARCH_URL") else {
        return;
    };
    let json = format!(r#"{{ "url": "{url}", "timeouts": {{ "operation": "10s" }} }}"#);
    let options: ElasticsearchOptions = serde_json::from_str(&json).unwrap();
    assert_eq!(options.timeouts.operation, Duration::from_secs(10));
    let store = ElasticsearchStore::connect_with(&options)
        .await
        .unwrap()
        .with_stats();
    let c = format!("cfg-{}", unique_namespace().to_ascii_lowercase());
    store.put(&c, "k", b("v"), None).await.unwrap();
    assert_eq!(store.get(&c, "k").await.unwrap(), Some(b("v")));
    let options: ElasticsearchOptions =
        serde_json::from_str(r#"{ "url": "http://h:9200", "api_key": ["id", "hunter2"] }"#)
            .unwrap();
    assert!(!format!("{options:?}").contains("hunter2"));
}
