//! A stack of five wrappers over DiskStore passes the suite and works in `tokio::spawn`.

use std::sync::Arc;
use std::time::Duration;

use kv_store_adapter::stores::DiskStore;
use kv_store_adapter::testkit::b;
use kv_store_adapter::wrappers::{ClampTtl, Compress, PrefixKeys, Retry, RetryPolicy, Stats};
use kv_store_adapter::{KvStore, KvStoreExt};

use super::*;

/// Five wrappers, one concrete type: no boxing anywhere.
type Five = Stats<Retry<ClampTtl<PrefixKeys<Compress<DiskStore>>>>>;

fn five(inner: DiskStore) -> Five {
    inner
        .compress(128)
        .prefix_keys("tenant")
        .unwrap()
        .clamp_ttl(Duration::from_millis(1), DAY, None)
        .unwrap()
        .retry(RetryPolicy::default())
        .with_stats()
}

kv_store_adapter::conformance_suite!(fixture = {
    let (store, dir) = disk();
    (five(store), dir)
}; basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, cull,
    conditional_writes);

/// Generic code over any store spawns work onto the runtime.
async fn spawn_writes<S: KvStore + 'static>(store: Arc<S>) -> usize {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..16 {
        let store = store.clone();
        tasks.spawn(async move { store.put("spawned", &format!("k{i}"), b("v"), None).await });
    }
    let mut done = 0;
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
        done += 1;
    }
    done
}

#[tokio::test]
async fn the_stack_is_usable_from_spawned_tasks() {
    let (store, _dir) = disk();
    let store = Arc::new(five(store));
    assert_eq!(spawn_writes(store.clone()).await, 16);
    assert_eq!(store.keys("spawned", 100).await.unwrap().len(), 16);
}

/// An error says which call of which store failed (the outermost stack, where the
/// caller made the call) and in which collection, and never shows the key.
#[tokio::test]
async fn errors_say_which_call_of_which_store_failed() {
    let (store, _dir) = disk();
    let store = five(store);
    let long_key = "secret-key-".repeat(1_000);
    let err = store
        .put("users", &long_key, b("v"), None)
        .await
        .unwrap_err();
    assert_eq!(err.operation(), Some("put"));
    assert_eq!(err.collection(), Some("users"));
    assert_eq!(err.store_type(), Some(std::any::type_name::<Five>()));
    let text = err.to_string();
    assert!(
        text.ends_with(
            "(put on Stats<Retry<ClampTtl<PrefixKeys<Compress<DiskStore>>>>>, collection \"users\")"
        ),
        "{text}"
    );
    assert!(!text.contains("secret-key"), "{text}");
    let err = store.get_many("orders", &["ok", ""]).await.unwrap_err();
    assert_eq!(err.operation(), Some("get_many"));
    assert_eq!(err.collection(), Some("orders"));
    // An error made above the store's calls (a typed value that does not decode)
    // names its collection as before.
    let typed: kv_store_adapter::TypedStore<_, u32> =
        kv_store_adapter::TypedStore::new(memory(), "c").unwrap();
    let garbage = bytes::Bytes::from(vec![0xff; 8]); // an unterminated varint
    typed.store().put("c", "k", garbage, None).await.unwrap();
    let err = typed.get("k").await.unwrap_err();
    assert_eq!(err.kind(), kv_store_adapter::ErrorKind::Serialization);
    assert_eq!(err.collection(), Some("c"));
    assert_eq!(err.operation(), None);
}
