use kv_store_adapter::testkit::{Faulty, assert_kind, b};
use kv_store_adapter::wrappers::Fallback;
use kv_store_adapter::{ErrorKind, KvStore, KvStoreExt};

use super::*;

kv_store_adapter::conformance_suite!(store = Fallback::new(memory(), memory());
    basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, cull,
    conditional_writes);

#[tokio::test]
async fn reads_fall_back_on_transient_errors_only() {
    let (primary, backup) = (Faulty::new(memory()), memory());
    backup.put("c", "k", b("backup"), None).await.unwrap();
    let store = Fallback::new(primary.clone(), backup.clone());
    primary.fail_next(1);
    assert_eq!(store.get("c", "k").await.unwrap(), Some(b("backup")));
    assert_eq!(
        store.get("c", "k").await.unwrap(),
        None,
        "a healthy primary answers"
    );
    // Corrupt data is not transient: it is reported, not hidden behind the fallback.
    let garbage = memory();
    garbage
        .put("c", "k", b("not in Compress's format"), None)
        .await
        .unwrap();
    let corrupting = Fallback::new(garbage.compress(1), backup.clone());
    assert_kind(corrupting.get("c", "k").await, ErrorKind::Corrupt);
}

#[tokio::test]
async fn writes_fall_back_only_when_configured() {
    let (primary, backup) = (Faulty::new(memory()), memory());
    let store = Fallback::new(primary.clone(), backup.clone());
    primary.fail_next(1);
    assert_kind(
        store.put("c", "k", b("v"), None).await,
        ErrorKind::Connection,
    );
    assert_eq!(backup.get("c", "k").await.unwrap(), None);
    let store = Fallback::with_write_fallback(primary.clone(), backup.clone());
    primary.fail_next(1);
    store.put("c", "k", b("v"), None).await.unwrap();
    assert_eq!(backup.get("c", "k").await.unwrap(), Some(b("v")));
}
