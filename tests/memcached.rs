//! MemcachedStore against a real memcached (scripts/servers.sh starts one).

use std::time::Duration;

use bytes::Bytes;
use kv_store_adapter::stores::MemcachedStore;
use kv_store_adapter::testkit::{assert_kind, b, server_url, unique_namespace};
use kv_store_adapter::{DestroyStore, Error, ErrorDetail, ErrorKind, KvStore};

async fn connect() -> Option<MemcachedStore> {
    let url = server_url("KV_MEMCACHED_URL")?;
    let store = MemcachedStore::open(&url).await.expect("memcached answers");
    Some(store.with_namespace(&unique_namespace()).unwrap())
}

kv_store_adapter::conformance_suite!(
    store = match connect().await { Some(store) => store, None => return };
    core, destroy);

#[tokio::test]
async fn values_over_the_item_size_fail_before_sending() {
    let Some(store) = connect().await else { return };
    let limit = store.item_limit();
    assert!(
        limit >= 1 << 20,
        "the test server takes 1 MiB values ({limit})"
    );
    match store
        .put("c", "k", Bytes::from(vec![0; limit + 1]), None)
        .await
        .map_err(Error::into_detail)
    {
        Err(ErrorDetail::TooLarge { size, limit: l }) => assert_eq!((size, l), (limit + 1, limit)),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let batch = [("ok", b("v")), ("big", Bytes::from(vec![0; limit + 1]))];
    assert_kind(store.put_many("c", &batch, None).await, ErrorKind::TooLarge);
    assert_eq!(
        store.get("c", "ok").await.unwrap(),
        None,
        "nothing was written"
    );
}

#[tokio::test]
async fn long_ttls_and_sub_second_ttls_work() {
    let Some(store) = connect().await else { return };
    // 40 days: over memcached's 30-day relative limit, sent as an absolute time.
    let long = Duration::from_secs(40 * 24 * 3600);
    store.put("c", "long", b("v"), Some(long)).await.unwrap();
    let (_, left) = store
        .ttl("c", "long")
        .await
        .unwrap()
        .expect("stored, not expired at once");
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
    let store = MemcachedStore::open(&url)
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
        let mc_key = format!("{ns}:0:1:c{key}");
        raw.set(mc_key, bytes, None, flags).await.unwrap();
        kv_store_adapter::testkit::corrupt_entry_is_a_typed_error(&store, "c", key).await;
    }
}

/// A call dropped after its request went out (as a timeout drops it) must not leave its
/// reply for the next call on the same connection to read.
#[tokio::test]
async fn calls_dropped_mid_exchange_leave_no_stale_replies() {
    use std::future::Future;
    use std::task::Poll;
    let Some(url) = server_url("KV_MEMCACHED_URL") else {
        return;
    };
    // One pooled connection, so every call reuses the one a dropped call used.
    let store = MemcachedStore::with_pool(&url, 1)
        .await
        .unwrap()
        .with_namespace(&unique_namespace())
        .unwrap();
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
