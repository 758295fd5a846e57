//! A stack of five wrappers over DiskStore passes the suite and works in `tokio::spawn`.

use std::sync::Arc;
use std::time::Duration;

use kv_store_adapter::stores::DiskStore;
use kv_store_adapter::testkit::b;
use kv_store_adapter::wrappers::{ClampTtl, Compress, PrefixKeys, Retry, RetryPolicy, Stats};
use kv_store_adapter::{EnumerateKeys, KvStore, KvStoreExt};

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
}; core, keys, collections, destroy_collection, destroy, cull);

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
