use std::time::{Duration, Instant};

use kv_store_adapter::testkit::{Faulty, assert_kind, b};
use kv_store_adapter::wrappers::RetryPolicy;
use kv_store_adapter::{ErrorKind, KvStore, KvStoreExt};

use super::*;

fn policy(attempts: u32) -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(attempts)
        .base_delay(Duration::from_millis(1))
        .max_delay(Duration::from_millis(5))
}

mod retry_suite {
    use super::*;
    kv_store_adapter::conformance_suite!(store = memory().retry(policy(3));
        basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, cull,
        conditional_writes);
}

mod timeout_suite {
    use super::*;
    kv_store_adapter::conformance_suite!(store = memory().timeout(Duration::from_secs(5));
        basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, cull,
        conditional_writes);
}

#[tokio::test]
async fn transient_failures_are_retried_until_success() {
    let faulty = Faulty::new(memory());
    let store = faulty.clone().retry(policy(3));
    faulty.fail_next(2);
    store.put("c", "k", b("v"), None).await.unwrap();
    assert_eq!(faulty.calls(), 3);
    faulty.fail_next(2);
    assert_eq!(
        store.get_many("c", &["k"]).await.unwrap(),
        vec![Some(b("v"))]
    );
}

#[tokio::test]
async fn attempts_are_bounded() {
    let faulty = Faulty::new(memory());
    let store = faulty.clone().retry(policy(3));
    faulty.fail_next(10);
    assert_kind(store.get("c", "k").await, ErrorKind::Connection);
    assert_eq!(faulty.calls(), 3);
}

#[tokio::test]
async fn invalid_input_and_corrupt_data_are_never_retried() {
    let inner = memory();
    inner
        .put("c", "k", b("not compressed"), None)
        .await
        .unwrap();
    let faulty = Faulty::new(inner).compress(0);
    let store = faulty.retry(policy(5));
    assert_kind(store.get("c", "k").await, ErrorKind::Corrupt);
    assert_kind(
        store.put("c", "", b("v"), None).await,
        ErrorKind::InvalidKey,
    );
    let counted = Faulty::new(memory());
    let store = counted.clone().limit_size(0, 1).retry(policy(5));
    assert_kind(
        store.put("c", "k", b("too big"), None).await,
        ErrorKind::TooLarge,
    );
    assert_eq!(counted.calls(), 0);
}

#[tokio::test]
async fn slow_calls_time_out_and_the_timeout_is_transient() {
    let faulty = Faulty::new(memory());
    let store = faulty.clone().timeout(Duration::from_millis(50));
    faulty.delay(Duration::from_secs(10));
    let start = Instant::now();
    assert_kind(store.get("c", "k").await, ErrorKind::Timeout);
    assert!(start.elapsed() < Duration::from_secs(2));
    // Retry outside Timeout retries it: the second attempt runs once the delay is off.
    let store = faulty
        .clone()
        .timeout(Duration::from_millis(50))
        .retry(policy(40));
    let switch_off = faulty.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(60)).await;
        switch_off.delay(Duration::ZERO);
    });
    assert_eq!(store.get("c", "k").await.unwrap(), None);
}

#[test]
fn backoff_grows_and_stays_under_the_cap() {
    let policy = RetryPolicy::default()
        .base_delay(Duration::from_millis(10))
        .max_delay(Duration::from_millis(100));
    for attempt in 1..20 {
        let cap =
            Duration::from_millis(10 * (1 << (attempt - 1).min(4))).min(Duration::from_millis(100));
        assert!(policy.backoff(attempt) <= cap);
    }
    let spread: std::collections::HashSet<_> = (0..20).map(|_| policy.backoff(5)).collect();
    assert!(spread.len() > 1, "backoff is jittered");
}
