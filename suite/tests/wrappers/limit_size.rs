use bytes::Bytes;
use kv_store_adapter::testkit::{assert_kind, b};
use kv_store_adapter::wrappers::LimitSize;
use kv_store_adapter::{Error, ErrorDetail, ErrorKind, KvStore, KvStoreExt};

use super::*;

kv_store_adapter::conformance_suite!(store = memory().limit_size(0, 2 << 20);
    basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, cull,
    conditional_writes);

#[tokio::test]
async fn an_offending_value_fails_with_both_sizes_and_writes_nothing() {
    let store = memory().limit_size(2, 8);
    let result = store.put("c", "k", Bytes::from(vec![0; 9]), None).await;
    match result.as_ref().map_err(Error::detail) {
        Err(ErrorDetail::TooLarge { size: 9, limit: 8 }) => {}
        other => panic!("expected TooLarge {{ 9, 8 }}, got {other:?}"),
    }
    // Too small is its own kind: a caller can tell "split it" from "pad it".
    assert_kind(store.put("c", "k", b("x"), None).await, ErrorKind::TooSmall);
    let batch = [("ok", b("fine")), ("big", Bytes::from(vec![0; 100]))];
    assert_kind(store.put_many("c", &batch, None).await, ErrorKind::TooLarge);
    assert_eq!(
        store.get_many("c", &["ok", "big"]).await.unwrap(),
        vec![None, None]
    );
}

#[tokio::test]
async fn skipping_mode_writes_only_what_fits() {
    let store = LimitSize::skipping(memory(), 0, 8);
    let batch = [("ok", b("fine")), ("big", Bytes::from(vec![0; 100]))];
    store.put_many("c", &batch, None).await.unwrap();
    assert_eq!(
        store.get_many("c", &["ok", "big"]).await.unwrap(),
        vec![Some(b("fine")), None]
    );
}
