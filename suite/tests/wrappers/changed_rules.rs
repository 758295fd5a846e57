//! Wrappers that change contract rules on purpose. This is the one place that says
//! which rules each skips, and why; every other rule is run here explicitly.
//!
//! | wrapper | rules not run | why |
//! |---|---|---|
//! | `ReadOnly` | every rule that writes | writes fail with `ReadOnly` by design |
//! | `DefaultValue` | every rule that expects a miss (including the "nothing was written" checks of the bad-input rules) | a miss answers the default by design |
//! | `Strict` | every rule that expects a miss (likewise) | a miss is a `Missing` error by design |

use std::time::Duration;

use bytes::Bytes;
use kv_store_adapter::testkit::{assert_kind, b, basics};
use kv_store_adapter::wrappers::ReadOnly;
use kv_store_adapter::{Entry, ErrorKind, KvStore, KvStoreExt};

use super::*;

#[tokio::test]
async fn read_only_runs_the_read_rules_and_refuses_every_write() {
    let inner = memory();
    inner.put("c", "k", b("v"), None).await.unwrap();
    let store = inner.clone().read_only();
    basics::get_of_missing_key_is_none(&store).await;
    basics::empty_batches_are_no_ops(&store).await;
    basics::zero_ttl_is_rejected_and_writes_nothing(&store).await;
    basics::empty_and_over_long_names_are_rejected(&store).await;
    assert_eq!(store.get("c", "k").await.unwrap(), Some(b("v")));
    assert_eq!(store.keys("c", 10).await.unwrap(), ["k"]);
    assert_kind(store.put("c", "k", b("w"), None).await, ErrorKind::ReadOnly);
    assert_kind(store.delete("c", "k").await, ErrorKind::ReadOnly);
    assert_kind(store.delete_many("c", &["k"]).await, ErrorKind::ReadOnly);
    assert_eq!(
        inner.get("c", "k").await.unwrap(),
        Some(b("v")),
        "nothing was written"
    );
    let silent = ReadOnly::silent(inner.clone());
    silent.put("c", "k", b("w"), None).await.unwrap();
    assert!(!silent.delete("c", "k").await.unwrap());
    assert_eq!(inner.get("c", "k").await.unwrap(), Some(b("v")));
}

#[tokio::test]
async fn default_value_runs_the_rules_about_stored_values() {
    let default = Bytes::from_static(b"default");
    let store = memory().default_value(default.clone(), Some(Duration::from_secs(9)));
    basics::put_then_get_round_trips(&store).await;
    basics::put_overwrites_the_value(&store).await;
    basics::collections_do_not_share_keys(&store).await;
    basics::put_many_duplicate_keys_last_wins(&store).await;
    basics::zero_length_value_is_a_value(&store).await;
    basics::one_mib_value_round_trips(&store).await;
    basics::hostile_names_round_trip(&store).await;
    basics::separator_collisions_stay_distinct(&store).await;
    assert_eq!(store.get("c", "nope").await.unwrap(), Some(default.clone()));
    assert_eq!(
        store.ttl("c", "nope").await.unwrap(),
        Some(Entry::new(default.clone(), Some(Duration::from_secs(9))))
    );
    assert_eq!(
        store.get_many("c", &["nope"]).await.unwrap(),
        vec![Some(default)]
    );
    assert!(
        store.keys("c", 10).await.unwrap().is_empty(),
        "the default is never written"
    );
}

#[tokio::test]
async fn strict_runs_the_rules_about_stored_values_and_fails_misses() {
    let store = memory().strict();
    basics::put_then_get_round_trips(&store).await;
    basics::put_overwrites_the_value(&store).await;
    basics::collections_do_not_share_keys(&store).await;
    basics::put_many_duplicate_keys_last_wins(&store).await;
    basics::zero_length_value_is_a_value(&store).await;
    basics::one_mib_value_round_trips(&store).await;
    basics::hostile_names_round_trip(&store).await;
    basics::separator_collisions_stay_distinct(&store).await;
    assert_kind(store.get("c", "nope").await, ErrorKind::Missing);
    assert_kind(store.ttl("c", "nope").await, ErrorKind::Missing);
    store.put("c", "here", b("v"), None).await.unwrap();
    assert_kind(
        store.get_many("c", &["here", "nope"]).await,
        ErrorKind::Missing,
    );
    assert_kind(store.ttl_many("c", &["nope"]).await, ErrorKind::Missing);
    let typed = store.typed::<String>("typed").unwrap();
    assert_kind(typed.get("nobody").await, ErrorKind::Missing);
}
