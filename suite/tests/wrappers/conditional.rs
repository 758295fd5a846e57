//! Conditional writes through the wrappers whose rules differ from passing them on:
//! Retry (an unknown outcome is said so), ReadOnly (refused), Fallback (the primary
//! only) and PassthroughCache (the primary's versions, never an older one after a
//! write it made); and Stats, which counts them by outcome.

use std::time::Duration;

use kv_store_adapter::testkit::{Faulty, assert_kind, b};
use kv_store_adapter::wrappers::{Fallback, PassthroughCache, RetryPolicy};
use kv_store_adapter::{ErrorKind, KvStore, KvStoreExt, Version, Written};

use super::*;

fn retrying(inner: Faulty<MemoryStore>) -> kv_store_adapter::wrappers::Retry<Faulty<MemoryStore>> {
    inner.retry(
        RetryPolicy::default()
            .max_attempts(3)
            .base_delay(Duration::from_millis(1)),
    )
}

/// The version of the live entry under `c`/`key`.
async fn version_of<S: KvStore>(store: &S, key: &str) -> Version {
    let entry = store.get_entry("c", key).await.unwrap();
    entry
        .and_then(|e| e.version)
        .expect("a live entry with a version")
}

#[tokio::test]
async fn retry_says_when_a_conditional_writes_outcome_is_unknown() {
    let faulty = Faulty::new(memory());
    let store = retrying(faulty.clone());

    // A failure before the write reached the store: the retry's answer is the truth.
    faulty.fail_next(1);
    let created = store.create("c", "a", b("mine"), None).await.unwrap();
    assert!(created.is_applied());

    // The write applied and its answer was lost: the retry is rejected by this very
    // write, so the caller is told the outcome is unknown, not that it lost.
    faulty.lose_next_answers(1);
    assert_kind(
        store.create("c", "b", b("mine"), None).await,
        ErrorKind::OutcomeUnknown,
    );
    assert_eq!(store.get("c", "b").await.unwrap(), Some(b("mine")));

    let version = version_of(&store, "b").await;
    faulty.lose_next_answers(1);
    let err = store
        .put_if_version("c", "b", b("next"), version, None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OutcomeUnknown);
    assert!(!err.is_transient(), "an outer layer must not repeat it");
    assert_eq!(store.get("c", "b").await.unwrap(), Some(b("next")));

    let version = version_of(&store, "b").await;
    faulty.lose_next_answers(1);
    assert_kind(
        store.delete_if_version("c", "b", version).await,
        ErrorKind::OutcomeUnknown,
    );
    assert_eq!(store.get("c", "b").await.unwrap(), None);

    // A plain rejection, with no failed attempt before it, stays a rejection.
    let stale = store
        .put_if_version("c", "a", b("x"), Version::unique(), None)
        .await
        .unwrap();
    assert!(matches!(stale, Written::Rejected(_)));
}

#[tokio::test]
async fn read_only_refuses_conditional_writes() {
    let inner = memory();
    inner.put("c", "k", b("v"), None).await.unwrap();
    let version = version_of(&inner, "k").await;
    let store = inner.clone().read_only();
    assert_kind(
        store.create("c", "new", b("v"), None).await,
        ErrorKind::ReadOnly,
    );
    assert_kind(
        store.put_if_version("c", "k", b("w"), version, None).await,
        ErrorKind::ReadOnly,
    );
    assert_kind(
        store.delete_if_version("c", "k", version).await,
        ErrorKind::ReadOnly,
    );
    assert_eq!(inner.get("c", "k").await.unwrap(), Some(b("v")));
    assert_eq!(inner.get("c", "new").await.unwrap(), None);
}

#[tokio::test]
async fn fallback_sends_conditional_writes_to_the_primary_only() {
    let primary = Faulty::new(memory());
    let fallback = memory();
    let store = Fallback::with_write_fallback(primary.clone(), fallback.clone());
    primary.fail_next(1);
    assert_kind(
        store.create("c", "k", b("v"), None).await,
        ErrorKind::Connection,
    );
    assert_eq!(
        fallback.get("c", "k").await.unwrap(),
        None,
        "the create fell back"
    );
    assert!(
        store
            .create("c", "k", b("v"), None)
            .await
            .unwrap()
            .is_applied()
    );
    assert_eq!(fallback.get("c", "k").await.unwrap(), None);
}

#[tokio::test]
async fn passthrough_cache_answers_the_primarys_versions() {
    let primary = memory();
    let store = PassthroughCache::new(
        primary.clone(),
        memory(),
        Duration::from_secs(60),
        Duration::from_secs(60),
    );
    primary.put("c", "k", b("v1"), None).await.unwrap();
    let first = primary.get_entry("c", "k").await.unwrap().unwrap().version;
    // The first read fills the cache, the second is served from it: both with the
    // primary's version, which a compare-and-swap through the wrapper accepts.
    for _ in 0..2 {
        assert_eq!(
            store.get_entry("c", "k").await.unwrap().unwrap().version,
            first
        );
    }
    let written = store
        .put_if_version("c", "k", b("v2"), first.unwrap(), None)
        .await
        .unwrap();
    assert!(written.is_applied());
    // Never the version the write replaced.
    let now = store.get_entry("c", "k").await.unwrap().unwrap();
    assert_eq!(now.value, "v2");
    assert_eq!(now.version, written.version());
    assert_eq!(
        store.get_many("c", ["k"]).await.unwrap(),
        vec![Some(b("v2"))]
    );
}

#[tokio::test]
async fn stats_count_conditional_writes_by_outcome() {
    use kv_store_adapter::wrappers::{CollectionStats, Operation};
    let store = MemoryStore::with_max_entries(100)
        .with_stats()
        .with_latency();
    let first = store.create("c", "k", b("1"), None).await.unwrap();
    let version = first.version().unwrap();
    assert!(
        !store
            .create("c", "k", b("2"), None)
            .await
            .unwrap()
            .is_applied()
    );
    let second = store
        .put_if_version("c", "k", b("2"), version, None)
        .await
        .unwrap();
    assert!(!store.delete_if_version("c", "k", version).await.unwrap());
    assert!(
        store
            .delete_if_version("c", "k", second.version().unwrap())
            .await
            .unwrap()
    );
    let counted = store.collection_stats("c");
    assert_eq!(
        counted,
        CollectionStats {
            puts: 2,
            delete_hits: 1,
            conditional_applied: 3,
            conditional_rejected: 2,
            ..Default::default()
        }
    );
    assert_eq!(counted.operations(), 5, "one count per call");
    assert_eq!(store.latency(Operation::PutIf).count, 3);
    assert_eq!(store.latency(Operation::DeleteIf).count, 2);
}
