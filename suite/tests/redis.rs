//! RedisStore against a real redis-server (scripts/servers.sh starts one).
#![cfg(feature = "redis")]

#[path = "support/redis.rs"]
mod support;

use kv_store_adapter::KvStore;
use kv_store_adapter::stores::{RedisOptions, RedisStore};
use kv_store_adapter::testkit::{b, server_url, unique_namespace};
use redis::AsyncCommands;

/// A store on `namespace`; two calls are two instances, as two processes would open.
async fn open(namespace: String) -> Option<RedisStore> {
    let url = server_url("KV_REDIS_URL")?;
    let store = RedisStore::connect(&url).await.expect("redis answers");
    Some(store.with_namespace(&namespace).unwrap())
}

async fn connect() -> Option<RedisStore> {
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

async fn raw() -> Option<redis::aio::MultiplexedConnection> {
    let url = server_url("KV_REDIS_URL")?;
    let client = redis::Client::open(url).unwrap();
    Some(client.get_multiplexed_async_connection().await.unwrap())
}

#[tokio::test]
async fn keys_live_under_the_namespace_with_an_injective_layout() {
    let (Some(store), Some(mut raw)) = (connect().await, raw().await) else {
        return;
    };
    store.put("a::b", "c", b("1"), None).await.unwrap();
    store.put("a", "b::c", b("2"), None).await.unwrap();
    let ns = store.namespace().to_owned();
    let mut keys: Vec<Vec<u8>> = raw.keys(format!("{ns}:*")).await.unwrap();
    keys.sort();
    assert_eq!(
        keys,
        [
            format!("{ns}:{{1:a}}b::c").into_bytes(),
            format!("{ns}:{{4:a::b}}c").into_bytes()
        ]
    );
}

#[tokio::test]
async fn destroy_touches_nothing_outside_the_namespace() {
    let (Some(store), Some(mut raw)) = (connect().await, raw().await) else {
        return;
    };
    let other = store.clone().with_namespace(&unique_namespace()).unwrap();
    let foreign = format!("foreign-{}", unique_namespace());
    raw.set::<_, _, ()>(&foreign, "keep me").await.unwrap();
    store.put("c", "k", b("v"), None).await.unwrap();
    other.put("c", "k", b("other"), None).await.unwrap();
    store.destroy().await.unwrap();
    assert_eq!(store.get("c", "k").await.unwrap(), None);
    assert_eq!(other.get("c", "k").await.unwrap(), Some(b("other")));
    assert_eq!(raw.get::<_, String>(&foreign).await.unwrap(), "keep me");
    assert_eq!(other.collections(10).await.unwrap(), ["c"]);
    raw.del::<_, ()>(&foreign).await.unwrap();
}

#[tokio::test]
async fn foreign_bytes_are_corrupt_data() {
    let Some(store) = connect().await else { return };
    support::foreign_redis_values_are_corrupt(&store).await;
}

#[tokio::test]
async fn ttls_are_kept_to_the_millisecond() {
    let (Some(store), Some(mut raw)) = (connect().await, raw().await) else {
        return;
    };
    let ttl = std::time::Duration::from_micros(1500);
    store
        .put("c", "k", b("v"), Some(std::time::Duration::from_secs(90)))
        .await
        .unwrap();
    let pttl: i64 = raw.pttl(store.redis_key("c", "k")).await.unwrap();
    assert!(pttl > 85_000 && pttl <= 90_000, "{pttl}");
    store.put("c", "tiny", b("v"), Some(ttl)).await.unwrap(); // rounds up to 2 ms, not 0
    store.put("c", "k", b("v"), None).await.unwrap();
    assert_eq!(
        raw.pttl::<_, i64>(store.redis_key("c", "k")).await.unwrap(),
        -1
    );
}

#[tokio::test]
async fn passwords_never_show() {
    let err = RedisStore::connect("redis://user:hunter2@127.0.0.1:1/")
        .await
        .unwrap_err();
    assert!(!format!("{err} {err:?}").contains("hunter2"), "{err:?}");
    let Some(store) = connect().await else { return };
    let shown = RedisStore::from_connection(store_conn(&store), "redis://u:hunter2@host/");
    assert!(!format!("{shown:?}").contains("hunter2"));
}

fn store_conn(store: &RedisStore) -> kv_store_adapter::stores::FailoverConnection {
    store.connection().clone()
}

#[tokio::test]
async fn connects_from_host_port_and_db_options() {
    let Some(url) = server_url("KV_REDIS_URL") else {
        return;
    };
    let port: u16 = url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let options = RedisOptions::new("127.0.0.1", port).with_db(2);
    let store = RedisStore::connect_with(&options)
        .await
        .unwrap()
        .with_namespace(&unique_namespace())
        .unwrap();
    store.put("c", "k", b("in db 2"), None).await.unwrap();
    let mut db2 = redis::Client::open(format!("{url}2"))
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let raw: Option<Vec<u8>> = db2.get(store.redis_key("c", "k")).await.unwrap();
    // The format byte, the 16-byte version, the value.
    let raw = raw.unwrap();
    assert_eq!((raw[0], &raw[17..]), (0x02, &b"in db 2"[..]));
    // Credentials the server refuses (no such user; a password alone would pass, as
    // the default user needs none): a clear error that does not repeat them.
    let wrong = options.with_username("nobody").with_password("hunter2");
    let err = RedisStore::connect_with(&wrong).await.unwrap_err();
    assert!(!format!("{err} {err:?}").contains("hunter2"), "{err:?}");
}

/// Built without `redis-tls` (the feature-alone run), a TLS URL is refused up front,
/// naming the feature and not the password.
#[cfg(not(feature = "redis-tls"))]
#[tokio::test]
async fn tls_without_the_tls_feature_is_a_setup_error_naming_the_feature() {
    for url in [
        "rediss://:hunter2@127.0.0.1:1/",
        "valkeys://:hunter2@127.0.0.1:1/",
    ] {
        let err = RedisStore::connect(url).await.unwrap_err();
        assert_eq!(err.kind(), kv_store_adapter::ErrorKind::Setup, "{err:?}");
        assert!(err.to_string().contains("redis-tls"), "{err}");
        assert!(!format!("{err} {err:?}").contains("hunter2"), "{err:?}");
    }
    let options = RedisOptions::new("127.0.0.1", 1).with_tls();
    let err = RedisStore::connect_with(&options).await.unwrap_err();
    assert!(err.to_string().contains("redis-tls"), "{err}");
}

mod coalesced {
    use super::*;
    use kv_store_adapter::KvStoreExt;
    kv_store_adapter::conformance_suite!(
        store = match connect().await { Some(store) => store.coalesce(), None => return };
        basics, conditional_writes);
}

/// Coalesced reads go out as one MGET; a key holding a list fails that whole MGET on
/// the store, and the wrapper keeps the failure to the one reader of that key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coalesced_reads_keep_a_foreign_keys_error_to_its_reader() {
    use kv_store_adapter::{ErrorKind, KvStoreExt};
    let (Some(store), Some(mut raw)) = (connect().await, raw().await) else {
        return;
    };
    for i in 0..16 {
        store
            .put("c", &format!("k{i}"), b("v"), None)
            .await
            .unwrap();
    }
    let _: () = raw
        .rpush(store.redis_key("c", "list"), "foreign")
        .await
        .unwrap();
    let store = std::sync::Arc::new(store.coalesce());
    for _ in 0..20 {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..17 {
            let store = store.clone();
            let key = if i == 16 {
                "list".to_owned()
            } else {
                format!("k{i}")
            };
            tasks.spawn(async move { (i, store.get("c", &key).await) });
        }
        while let Some(done) = tasks.join_next().await {
            match done.unwrap() {
                (16, got) => assert_eq!(got.unwrap_err().kind(), ErrorKind::Corrupt),
                (i, got) => assert_eq!(got.unwrap(), Some(b("v")), "reader {i}"),
            }
        }
    }
}

/// A value over Redis's 512 MiB limit on a string (`proto-max-bulk-len`), with the
/// store's header, is `TooLarge` before anything is sent — not a connection the
/// server closes, which reads as a transient failure and is retried — and a batch
/// holding one writes none of its entries.
#[tokio::test]
async fn a_value_over_the_string_limit_is_too_large_and_writes_nothing() {
    use kv_store_adapter::testkit::basics::value_over_the_limit_is_too_large_and_writes_nothing;
    let Some(store) = connect().await else { return };
    let limit = RedisStore::value_limit();
    assert_eq!(limit, (512 << 20) - 17);
    value_over_the_limit_is_too_large_and_writes_nothing(&store, limit).await;
    store.destroy().await.unwrap();
}

/// Folded into one collection of a store whose listing is a SCAN (in no order),
/// `SingleCollection` still lists, pages and destroys its collections by the rules.
mod folded {
    use super::*;
    use kv_store_adapter::KvStoreExt;
    kv_store_adapter::conformance_suite!(
        store = match connect().await { Some(store) => store.single_collection("kv").unwrap(), None => return };
        basics, enumerate_keys, enumerate_collections, destroy_collection);
}
