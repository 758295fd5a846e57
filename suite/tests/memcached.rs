//! MemcachedStore against a real memcached (scripts/servers.sh starts one).
#![cfg(feature = "memcached")]

use std::time::Duration;

use bytes::Bytes;
use kv_store_adapter::stores::MemcachedStore;
use kv_store_adapter::testkit::{b, server_url, unique_namespace};
use kv_store_adapter::{Error, ErrorDetail, KvStore};

/// A store on `namespace`; two calls are two instances, as two processes would open.
async fn open(namespace: String) -> Option<MemcachedStore> {
    let url = server_url("KV_MEMCACHED_URL")?;
    let store = MemcachedStore::connect(&url)
        .await
        .expect("memcached answers");
    Some(store.with_namespace(&namespace).unwrap())
}

async fn connect() -> Option<MemcachedStore> {
    open(unique_namespace()).await
}

kv_store_adapter::conformance_suite!(
    store = match connect().await { Some(store) => store, None => return };
    basics, destroy, conditional_writes);

/// Two instances on one namespace; a destroy may take one generation refresh to reach
/// the other (documented).
async fn pair() -> Option<kv_store_adapter::testkit::instances::Instances<MemcachedStore>> {
    let pair = kv_store_adapter::testkit::instances::Instances::on_one_namespace(open).await?;
    let settle = pair.a.generation_refresh();
    Some(pair.settle(settle))
}

mod instances {
    use super::*;
    kv_store_adapter::instances_suite!(
        pair = match pair().await { Some(pair) => pair, None => return };
        basics, destroy, conditional_writes);
}

/// With the generation read on every call, a destroy reaches the other instance at once.
mod instances_strict {
    use super::*;
    kv_store_adapter::instances_suite!(
        pair = match pair().await {
            Some(pair) => kv_store_adapter::testkit::instances::Instances::new(
                pair.a.with_generation_refresh(Duration::ZERO),
                pair.b.with_generation_refresh(Duration::ZERO),
            ),
            None => return,
        };
        basics, destroy);
}

async fn raw_delete(key: &str) {
    use async_memcached::AsciiProtocol;
    let url = server_url("KV_MEMCACHED_URL").unwrap();
    let address = url.trim_start_matches("memcached://");
    let mut raw = async_memcached::Client::new(format!("tcp://{address}"))
        .await
        .unwrap();
    let _ = raw.delete(key).await;
}

/// The generation item deleted (or evicted) after a destroy: a fresh instance must not
/// fall back to an old generation and bring destroyed entries back.
#[tokio::test]
async fn a_lost_generation_never_resurrects_destroyed_entries() {
    let Some(pair) = pair().await else { return };
    let ns = unique_namespace();
    let a = pair.a.with_namespace(&ns).unwrap();
    a.put("c", "k", b("before"), None).await.unwrap();
    a.destroy().await.unwrap();
    a.put("c", "k2", b("after"), None).await.unwrap();
    a.destroy().await.unwrap();
    raw_delete(&format!("{ns}:generation")).await;
    let fresh = pair.b.with_namespace(&ns).unwrap();
    assert_eq!(
        fresh.get("c", "k").await.unwrap(),
        None,
        "destroyed entry came back"
    );
    assert_eq!(
        fresh.get("c", "k2").await.unwrap(),
        None,
        "destroyed entry came back"
    );
    // The store works on, and destroys again, with the new generation.
    fresh.put("c", "k", b("new"), None).await.unwrap();
    assert_eq!(fresh.get("c", "k").await.unwrap(), Some(b("new")));
    raw_delete(&format!("{ns}:generation")).await;
    fresh.destroy().await.unwrap();
    assert_eq!(fresh.get("c", "k").await.unwrap(), None);
}

/// Concurrent destroys from many instances each move the generation on (atomic
/// `incr`), and all instances agree on the result.
#[tokio::test]
async fn concurrent_destroys_agree_on_one_generation() {
    let Some(pair) = pair().await else { return };
    let ns = unique_namespace();
    let stores: Vec<MemcachedStore> = (0..8)
        .map(|i| {
            let s = if i % 2 == 0 { &pair.a } else { &pair.b };
            s.clone()
                .with_namespace(&ns)
                .unwrap()
                .with_generation_refresh(Duration::ZERO)
        })
        .collect();
    stores[0].put("c", "k", b("v"), None).await.unwrap();
    let first = stores[0].memcached_key("c", "k").await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for store in stores.clone() {
        tasks.spawn(async move { store.destroy().await.unwrap() });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let keys: std::collections::HashSet<String> = futures_keys(&stores).await;
    assert_eq!(keys.len(), 1, "instances disagree: {keys:?}");
    assert!(!keys.contains(&first));
    for store in &stores {
        assert_eq!(store.get("c", "k").await.unwrap(), None);
    }
}

async fn futures_keys(stores: &[MemcachedStore]) -> std::collections::HashSet<String> {
    let mut keys = std::collections::HashSet::new();
    for store in stores {
        keys.insert(store.memcached_key("c", "k").await.unwrap());
    }
    keys
}

#[tokio::test]
async fn values_over_the_item_size_fail_before_sending() {
    use kv_store_adapter::testkit::basics::value_over_the_limit_is_too_large_and_writes_nothing;
    let Some(store) = connect().await else { return };
    let limit = store.item_limit();
    assert!(
        limit >= 1 << 20,
        "the test server takes 1 MiB values ({limit})"
    );
    value_over_the_limit_is_too_large_and_writes_nothing(&store, limit).await;
}

#[tokio::test]
async fn long_ttls_and_sub_second_ttls_work() {
    let Some(store) = connect().await else { return };
    // 40 days: over memcached's 30-day relative limit, sent as an absolute time.
    let long = Duration::from_secs(40 * 24 * 3600);
    store.put("c", "long", b("v"), Some(long)).await.unwrap();
    let left = store
        .ttl("c", "long")
        .await
        .unwrap()
        .expect("stored, not expired at once")
        .expires_in;
    assert!(left.unwrap() > long - Duration::from_secs(60));
    store
        .put("c", "short", b("v"), Some(Duration::from_millis(200)))
        .await
        .unwrap();
    assert!(store.get("c", "short").await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        store.get("c", "short").await.unwrap(),
        None,
        "gone at its millisecond deadline"
    );
}

#[tokio::test]
async fn destroy_spares_other_namespaces() {
    let (Some(a), Some(other)) = (connect().await, connect().await) else {
        return;
    };
    a.put("c", "k", b("a"), None).await.unwrap();
    other.put("c", "k", b("other"), None).await.unwrap();
    a.destroy().await.unwrap();
    assert_eq!(a.get("c", "k").await.unwrap(), None);
    assert_eq!(other.get("c", "k").await.unwrap(), Some(b("other")));
    a.put("c", "k", b("again"), None).await.unwrap();
    assert_eq!(a.get("c", "k").await.unwrap(), Some(b("again")));
}

#[tokio::test]
async fn foreign_bytes_are_corrupt_data() {
    let Some(url) = server_url("KV_MEMCACHED_URL") else {
        return;
    };
    let ns = unique_namespace();
    let store = MemcachedStore::connect(&url)
        .await
        .unwrap()
        .with_namespace(&ns)
        .unwrap();
    let address = url.trim_start_matches("memcached://");
    let mut raw = async_memcached::Client::new(format!("tcp://{address}"))
        .await
        .unwrap();
    use async_memcached::AsciiProtocol;
    // Foreign flags; the store's flags on a value shorter than its deadline header;
    // the store's flags on an empty value.
    let cases: [(&str, &[u8], Option<u32>); 3] = [
        ("k", b"written by someone else", None),
        ("short", b"abc", Some(0x4B56_0001)),
        ("empty", b"", Some(0x4B56_0001)),
    ];
    for (key, bytes, flags) in cases {
        let mc_key = store.memcached_key("c", key).await.unwrap();
        raw.set(mc_key, bytes, None, flags).await.unwrap();
        kv_store_adapter::testkit::corrupt_entry_is_a_typed_error(&store, "c", key).await;
    }
}

/// A batch of large values goes in requests of about a megabyte each (never copied into
/// memory whole) and every value reads back.
#[tokio::test]
async fn a_batch_of_large_values_round_trips() {
    let Some(store) = connect().await else { return };
    let names: Vec<String> = (0..24).map(|i| format!("big{i}")).collect();
    let entries: Vec<(&str, Bytes)> = names
        .iter()
        .enumerate()
        .map(|(i, k)| (k.as_str(), Bytes::from(vec![i as u8; 600 * 1024 + i])))
        .collect();
    store.put_many("c", &entries, None).await.unwrap();
    let got = store.get_many("c", &names).await.unwrap();
    let expected: Vec<Option<Bytes>> = entries.iter().map(|(_, v)| Some(v.clone())).collect();
    assert_eq!(got, expected);
    assert_eq!(store.delete_many("c", &names).await.unwrap(), names.len());
}

/// A store with a single connection, on a fresh namespace.
async fn one_connection() -> Option<MemcachedStore> {
    let url = server_url("KV_MEMCACHED_URL")?;
    let store = MemcachedStore::with_pool(&url, 1).await.unwrap();
    Some(store.with_namespace(&unique_namespace()).unwrap())
}

/// A call dropped after its request went out (as a timeout drops it) must not leave its
/// reply for the next call on the same connection to read.
#[tokio::test]
async fn calls_dropped_mid_exchange_leave_no_stale_replies() {
    use std::future::Future;
    use std::task::Poll;
    // One pooled connection, so every call reuses the one a dropped call used.
    let Some(store) = one_connection().await else {
        return;
    };
    let keys: Vec<String> = (0..20).map(|i| format!("k{i}")).collect();
    for k in &keys {
        store.put("c", k, b(k), None).await.unwrap();
    }
    for i in 0..200 {
        // Poll a get once (its request is written, its reply not yet read), then drop it.
        let mut dropped = Box::pin(store.get("c", &keys[i % keys.len()]));
        std::future::poll_fn(|cx| {
            let _ = dropped.as_mut().poll(cx);
            Poll::Ready(())
        })
        .await;
        drop(dropped);
        let other = &keys[(i + 7) % keys.len()];
        let got = tokio::time::timeout(Duration::from_secs(5), store.get("c", other)).await;
        assert_eq!(got.expect("no hang").unwrap(), Some(b(other)));
    }
}

/// 64 tasks share one pipelined connection, mixing puts, gets, batches and deletes of
/// their own keys with values from empty to 512 KiB: each gets its own answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_on_one_connection_each_get_their_own_answers() {
    let Some(store) = one_connection().await else {
        return;
    };
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..64usize {
        let store = store.clone();
        tasks.spawn(async move {
            for round in 0..20usize {
                let key = format!("t{t}-r{round}");
                let size = [0, 1, 100, 4096, 512 * 1024][(t + round) % 5];
                let value = Bytes::from(vec![(t % 251) as u8; size]);
                store.put("c", &key, value.clone(), None).await.unwrap();
                assert_eq!(store.get("c", &key).await.unwrap(), Some(value.clone()));
                let batch = [key.as_str(), "absent"];
                let got = store.get_many("c", &batch).await.unwrap();
                assert_eq!(got, vec![Some(value), None]);
                assert!(store.delete("c", &key).await.unwrap());
                assert_eq!(store.get("c", &key).await.unwrap(), None);
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
}

#[path = "support/server.rs"]
mod server;

/// Against a memcached with default settings (1 MiB items, the value's key and header
/// included), the store's limit is what the server takes: a 1 MiB value is a typed
/// too-large error with both sizes and writes nothing, and a value at the limit works.
#[tokio::test]
async fn default_item_size_is_the_documented_limit() {
    let Some(bin) = server_url("KV_MEMCACHED_BIN") else {
        return;
    };
    let server = server::Server::memcached(bin, &[]);
    let store = MemcachedStore::connect(&server.memcached_url())
        .await
        .unwrap();
    let limit = store.item_limit();
    assert!(limit < 1 << 20 && limit > (1 << 20) - 4096, "{limit}");
    match store
        .put("c", "big", Bytes::from(vec![7; 1 << 20]), None)
        .await
        .map_err(Error::into_detail)
    {
        Err(ErrorDetail::TooLarge { size, limit: l }) => assert_eq!((size, l), (1 << 20, limit)),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert_eq!(store.get("c", "big").await.unwrap(), None);
    // The longest key the store writes readably still fits with a value at the limit.
    let key = "k".repeat(200);
    let value = Bytes::from(vec![7; limit]);
    store.put("c", &key, value.clone(), None).await.unwrap();
    assert_eq!(store.get("c", &key).await.unwrap(), Some(value));
}
