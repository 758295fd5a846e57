//! The conformance suite: one async test per rule of the store contract, generic over
//! the store, grouped by capability.
//!
//! Run it on a store with [`conformance_suite!`](crate::conformance_suite), naming the
//! groups the store supports:
//!
//! ```no_run
//! use kv_store_adapter::stores::MemoryStore;
//! kv_store_adapter::conformance_suite!(store = MemoryStore::with_max_entries(100_000);
//!     basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, cull);
//! # fn main() {}
//! ```
//!
//! Each rule becomes a `#[tokio::test]` (so the calling crate needs `tokio` with the
//! `macros` and `rt-multi-thread` features) in a module named after its group. A store
//! that needs a guard kept alive (a temporary directory) uses `fixture = EXPR`, where
//! `EXPR` gives `(store, guard)`. Every rule uses fresh collection names, so one
//! server can serve every test at once.
//!
//! A second family, [`instances`], checks two instances on one backend (two
//! processes sharing a server) with [`instances_suite!`](crate::instances_suite).
//!
//! The store type must be `Clone + Send + Sync + 'static` for the racing rules of
//! [`basics`] (they spawn tasks that share the store; wrap a store that is not `Clone`
//! in an `Arc`), and a rule that needs shared state between two handles
//! ([`instances`]) asserts that it has it, so no rule passes vacuously.
//!
//! The rule functions are public too ([`basics`], [`enumerate_keys`], …), for stores whose tests
//! need their own set-up, and [`corrupt_entry_is_a_typed_error`] checks a store's
//! handling of foreign bytes written under one of its keys.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use crate::{ErrorKind, KvStore, Result};

pub mod basics;
pub mod capabilities;
pub mod conditional_writes;
mod faults;
pub mod instances;

pub use capabilities::{cull, destroy, destroy_collection, enumerate_collections, enumerate_keys};
pub use faults::Faulty;

/// Names that stress every store's name mapping: separators, path pieces, wildcards,
/// white space, quotes, emoji and a 4 KiB name.
pub fn hostile_names() -> Vec<String> {
    let mut names: Vec<String> = [
        "::",
        "a::b",
        "/",
        "a/b",
        "\\",
        "..",
        "../..",
        "$",
        "$set",
        "*",
        "?",
        "[a]",
        ".",
        "#",
        "%",
        "%2F",
        " ",
        "a b",
        "\t",
        "line\nbreak",
        "\r\n",
        "'",
        "\"",
        "`",
        "😀",
        "ü",
        "{}",
        "_id",
        "-",
        "CAPS",
        "caps",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    names.push("k".repeat(crate::names::MAX_NAME_LEN));
    names
}

/// A collection name no other test (or earlier run against the same server) uses.
pub fn unique(label: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{label}-{}-{nanos:x}-{n}", std::process::id())
}

/// The server URL in the environment variable `var`, or `None` when it is unset, so
/// the test can skip — unless `KV_REQUIRE_SERVERS=1` (as CI sets it), when a missing
/// server fails the test instead of passing silently.
///
/// ```
/// use kv_store_adapter::testkit::server_url;
/// // Unset here, and servers not required: the test would skip.
/// # if std::env::var_os("KV_REQUIRE_SERVERS").is_none() {
/// assert_eq!(server_url("KV_SURELY_UNSET_URL"), None);
/// # }
/// ```
pub fn server_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("KV_REQUIRE_SERVERS").is_ok_and(|v| v == "1") => {
            panic!(
                "{var} is not set and KV_REQUIRE_SERVERS=1: start the servers with scripts/servers.sh"
            )
        }
        _ => {
            eprintln!("skipped: {var} is not set (run scripts/servers.sh)");
            None
        }
    }
}

/// A namespace (or key prefix) no other test uses: ASCII letters, digits and `-`.
pub fn unique_namespace() -> String {
    unique("t").replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "-")
}

/// `Bytes` from a string.
pub fn b(value: &str) -> Bytes {
    Bytes::copy_from_slice(value.as_bytes())
}

/// `entry` without its version, for comparing a read with an expected [`Entry`](crate::Entry)
/// (versions are new on every write, so no expected value can name one).
pub fn unversioned(entry: crate::Entry) -> crate::Entry {
    entry.with_version(None)
}

/// Asserts that `result` failed with `kind`.
#[track_caller]
pub fn assert_kind<T: std::fmt::Debug>(result: Result<T>, kind: ErrorKind) {
    match result {
        Err(e) => assert_eq!(e.kind(), kind, "expected a {kind:?} error, got {e:?}"),
        Ok(v) => panic!("expected a {kind:?} error, got Ok({v:?})"),
    }
}

/// Polls `check` until it is true or `within` has passed; answers the final result.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Checks a store holding bytes that are not in its format under `collection`/`key`
/// (written there by the backend's raw client): every read answers the typed
/// corrupt-data (or decryption) error, never a panic, a miss or a wrong value.
pub async fn corrupt_entry_is_a_typed_error<S: KvStore>(store: &S, collection: &str, key: &str) {
    fn typed<T>(result: Result<T>) -> bool {
        result
            .err()
            .is_some_and(|e| matches!(e.kind(), ErrorKind::Corrupt | ErrorKind::Decryption))
    }
    assert!(
        typed(store.get(collection, key).await),
        "get of a corrupt entry"
    );
    assert!(
        typed(store.ttl(collection, key).await),
        "ttl of a corrupt entry"
    );
    assert!(
        typed(store.get_many(collection, &[key]).await),
        "get_many of a corrupt entry"
    );
    assert!(
        typed(store.ttl_many(collection, &[key]).await),
        "ttl_many of a corrupt entry"
    );
    // A corrupt entry can still be replaced.
    store.put(collection, key, b("fresh"), None).await.unwrap();
    assert_eq!(store.get(collection, key).await.unwrap(), Some(b("fresh")));
}

/// Runs the conformance suite's groups against a store.
///
/// `store = EXPR` builds the store for each test; `fixture = EXPR` builds a
/// `(store, guard)` pair and keeps the guard alive for the test. The groups are
/// `basics` (every store), `enumerate_keys`, `enumerate_collections`,
/// `destroy_collection`, `destroy`, `cull` and `conditional_writes` (the capabilities). Each becomes a module
/// of the calling file, so none is named like a crate (`core`) or a common method.
#[macro_export]
macro_rules! conformance_suite {
    (store = $make:expr; $($group:ident),+ $(,)?) => {
        $( $crate::__conformance_group!($group, store, { let store = $make; (store, ()) }); )+
    };
    (fixture = $make:expr; $($group:ident),+ $(,)?) => {
        $( $crate::__conformance_group!($group, store, $make); )+
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_group {
    (basics, $store:ident, $make:expr) => {
        $crate::__conformance_tests!(
            basics,
            $store,
            $make,
            [
                get_of_missing_key_is_none,
                put_then_get_round_trips,
                put_overwrites_the_value,
                delete_answers_whether_the_entry_existed,
                futures_do_nothing_until_polled,
                collections_do_not_share_keys,
                get_many_answers_in_request_order,
                put_many_duplicate_keys_last_wins,
                delete_many_counts_distinct_existing_entries,
                empty_batches_are_no_ops,
                batches_of_10000_keys_work,
                ttl_reports_remaining_time_within_bounds,
                expired_entries_are_invisible_at_once,
                sub_second_ttl_is_honoured,
                put_many_applies_its_ttl,
                zero_ttl_is_rejected_and_writes_nothing,
                every_duration_follows_the_ttl_rule,
                put_without_ttl_clears_expiry,
                put_many_without_ttl_clears_expiry,
                hostile_names_round_trip,
                empty_and_over_long_names_are_rejected,
                separator_collisions_stay_distinct,
                zero_length_value_is_a_value,
                one_mib_value_round_trips,
                racing_tasks_read_only_whole_values,
                tasks_on_distinct_keys_do_not_interfere,
            ]
        );
    };
    (enumerate_keys, $store:ident, $make:expr) => {
        $crate::__conformance_tests!(
            enumerate_keys,
            $store,
            $make,
            [
                keys_lists_every_live_key,
                keys_respects_the_limit,
                keys_gives_back_hostile_names,
                keys_hides_expired_entries,
                keys_of_an_unknown_collection_is_empty,
                list_keys_pages_through_every_key,
                list_keys_keeps_what_lasts_through_the_listing,
                keys_with_a_prefix_are_exactly_those,
                keys_said_in_order_are_in_order,
            ]
        );
    };
    (enumerate_collections, $store:ident, $make:expr) => {
        $crate::__conformance_tests!(
            enumerate_collections,
            $store,
            $make,
            [
                collections_lists_written_collections,
                collections_gives_back_hostile_names,
                list_collections_pages_through_every_collection,
                collections_said_in_order_are_in_order,
                collections_with_a_prefix_are_exactly_those,
            ]
        );
    };
    (destroy_collection, $store:ident, $make:expr) => {
        $crate::__conformance_tests!(
            destroy_collection,
            $store,
            $make,
            [
                destroy_collection_removes_exactly_that_collection,
                destroyed_collection_is_usable_again,
            ]
        );
    };
    (destroy, $store:ident, $make:expr) => {
        $crate::__conformance_tests!(destroy, $store, $make, [destroy_removes_everything,]);
    };
    (cull, $store:ident, $make:expr) => {
        $crate::__conformance_tests!(cull, $store, $make, [cull_keeps_live_entries,]);
    };
    (conditional_writes, $store:ident, $make:expr) => {
        $crate::__conformance_tests!(
            conditional_writes,
            $store,
            $make,
            [
                every_write_changes_the_version,
                create_applies_only_when_absent,
                racing_creates_have_one_winner,
                stale_version_never_applies,
                version_from_before_a_recreate_never_matches,
                delete_if_version_removes_only_that_version,
                create_over_an_expired_entry_applies,
                conditional_writes_keep_the_ttl_rules,
                cas_counter_loses_no_update,
            ]
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ($group:ident, $store:ident, $make:expr, [$($rule:ident),+ $(,)?]) => {
        mod $group {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $rule() {
                    let ($store, _guard) = $make;
                    $crate::testkit::$group::$rule(&$store).await;
                }
            )+
        }
    };
}

/// Runs the many-instances rules ([`instances`]) against a pair of stores.
///
/// `pair = EXPR` builds an [`instances::Instances`] for each test; `fixture = EXPR`
/// builds `(pair, guard)` and keeps the guard alive. The groups are `basics`,
/// `enumerate_keys`, `enumerate_collections`, `destroy_collection`, `destroy`,
/// `destroy_enumerated` (a store that destroys and enumerates both keys and
/// collections) and `conditional_writes`. The `destroy` groups need a
/// pair of the test's own: a fresh namespace each time `EXPR` runs.
#[macro_export]
macro_rules! instances_suite {
    (pair = $make:expr; $($group:ident),+ $(,)?) => {
        $( $crate::__instances_group!($group, { let pair = $make; (pair, ()) }); )+
    };
    (fixture = $make:expr; $($group:ident),+ $(,)?) => {
        $( $crate::__instances_group!($group, $make); )+
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __instances_group {
    (basics, $make:expr) => {
        $crate::__instances_tests!(
            basics,
            $make,
            [
                put_in_a_is_read_by_b,
                delete_in_a_is_a_miss_in_b,
                racing_puts_over_both_leave_one_whole_value,
            ]
        );
    };
    (enumerate_keys, $make:expr) => {
        $crate::__instances_tests!(enumerate_keys, $make, [keys_in_b_list_what_a_wrote]);
    };
    (enumerate_collections, $make:expr) => {
        $crate::__instances_tests!(
            enumerate_collections,
            $make,
            [collections_in_b_list_what_a_wrote]
        );
    };
    (destroy_collection, $make:expr) => {
        $crate::__instances_tests!(
            destroy_collection,
            $make,
            [destroy_collection_in_a_reaches_b]
        );
    };
    (destroy, $make:expr) => {
        $crate::__instances_tests!(destroy, $make, [destroy_in_a_reaches_b]);
    };
    (conditional_writes, $make:expr) => {
        $crate::__instances_tests!(
            conditional_writes,
            $make,
            [
                version_read_in_a_applies_in_b,
                racing_creates_over_both_have_one_winner,
                cas_counter_over_both_loses_no_update,
            ]
        );
    };
    (destroy_enumerated, $make:expr) => {
        $crate::__instances_tests!(
            destroy_enumerated,
            $make,
            [writes_after_a_destroy_are_enumerable]
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __instances_tests {
    ($group:ident, $make:expr, [$($rule:ident),+ $(,)?]) => {
        mod $group {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $rule() {
                    let (pair, _guard) = $make;
                    $crate::testkit::instances::$group::$rule(&pair).await;
                }
            )+
        }
    };
}
