//! Rules every store honours through the core [`KvStore`] trait.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{assert_kind, b, hostile_names, unique, unversioned};
use crate::names::MAX_NAME_LEN;
use crate::{ConditionalWrites, Entry, ErrorDetail, ErrorKind, KvStore};

const NO_KEYS: &[&str] = &[];
const NO_ENTRIES: &[(&str, Bytes)] = &[];

const SHORT_TTL: Duration = Duration::from_millis(300);
/// Slack for scheduling on a loaded machine when waiting for an expiry.
const MARGIN: Duration = Duration::from_millis(150);

/// A missing key reads as `None` through every read call.
pub async fn get_of_missing_key_is_none<S: KvStore>(store: &S) {
    let c = unique("missing");
    assert_eq!(store.get(&c, "nope").await.unwrap(), None);
    assert_eq!(store.ttl(&c, "nope").await.unwrap(), None);
}

/// A value written is read back unchanged.
pub async fn put_then_get_round_trips<S: KvStore>(store: &S) {
    let c = unique("roundtrip");
    store.put(&c, "k", b("v1"), None).await.unwrap();
    assert_eq!(store.get(&c, "k").await.unwrap(), Some(b("v1")));
    let bytes: Bytes = (0..=255u8).collect::<Vec<_>>().into();
    store.put(&c, "binary", bytes.clone(), None).await.unwrap();
    assert_eq!(store.get(&c, "binary").await.unwrap(), Some(bytes));
}

/// A second put replaces the first value.
pub async fn put_overwrites_the_value<S: KvStore>(store: &S) {
    let c = unique("overwrite");
    store.put(&c, "k", b("old"), None).await.unwrap();
    store.put(&c, "k", b("new"), None).await.unwrap();
    assert_eq!(store.get(&c, "k").await.unwrap(), Some(b("new")));
}

/// Deleting answers true once for an existing entry, then false; a missing key is false.
pub async fn delete_answers_whether_the_entry_existed<S: KvStore>(store: &S) {
    let c = unique("delete");
    assert!(!store.delete(&c, "k").await.unwrap());
    store.put(&c, "k", b("v"), None).await.unwrap();
    assert!(store.delete(&c, "k").await.unwrap());
    assert!(!store.delete(&c, "k").await.unwrap());
    assert_eq!(store.get(&c, "k").await.unwrap(), None);
}

/// A call's future does nothing until it is polled: puts and deletes created and
/// dropped unpolled leave the store as it was. (The caller API creates the store's
/// future before polling it, and `Fallback`, `Timeout` and `select!`-style callers
/// drop futures they never polled.)
pub async fn futures_do_nothing_until_polled<S: KvStore>(store: &S) {
    let c = unique("lazy");
    drop(store.put(&c, "k", b("v"), None));
    drop(store.put_many(&c, [("m", b("v"))], None));
    assert_eq!(store.get(&c, "k").await.unwrap(), None);
    assert_eq!(store.get(&c, "m").await.unwrap(), None);
    store.put(&c, "k", b("v"), None).await.unwrap();
    drop(store.delete(&c, "k"));
    drop(store.delete_many(&c, ["k"]));
    assert_eq!(store.get(&c, "k").await.unwrap(), Some(b("v")));
}

/// The same key in two collections is two entries.
pub async fn collections_do_not_share_keys<S: KvStore>(store: &S) {
    let (c1, c2) = (unique("iso-a"), unique("iso-b"));
    store.put(&c1, "k", b("one"), None).await.unwrap();
    store.put(&c2, "k", b("two"), None).await.unwrap();
    assert_eq!(store.get(&c1, "k").await.unwrap(), Some(b("one")));
    assert_eq!(store.get(&c2, "k").await.unwrap(), Some(b("two")));
    store.delete(&c1, "k").await.unwrap();
    assert_eq!(store.get(&c2, "k").await.unwrap(), Some(b("two")));
}

/// `get_many` / `ttl_many` answer one result per requested key, in request order,
/// misses included, a key asked twice answered twice.
pub async fn get_many_answers_in_request_order<S: KvStore>(store: &S) {
    let c = unique("getmany");
    store
        .put_many(&c, &[("a", b("1")), ("b", b("2")), ("c", b("3"))], None)
        .await
        .unwrap();
    let keys = ["c", "missing", "a", "c", "b"];
    let got = store.get_many(&c, &keys).await.unwrap();
    assert_eq!(
        got,
        vec![Some(b("3")), None, Some(b("1")), Some(b("3")), Some(b("2"))]
    );
    let ttls = store.ttl_many(&c, &keys).await.unwrap();
    let values: Vec<_> = ttls
        .iter()
        .map(|e| e.as_ref().map(|e| e.value.clone()))
        .collect();
    assert_eq!(values, got);
    assert!(ttls.iter().flatten().all(|e| e.expires_in.is_none()));
}

/// Of duplicate keys in one `put_many`, the last wins.
pub async fn put_many_duplicate_keys_last_wins<S: KvStore>(store: &S) {
    let c = unique("dups");
    store
        .put_many(
            &c,
            &[("k", b("first")), ("j", b("j")), ("k", b("last"))],
            None,
        )
        .await
        .unwrap();
    assert_eq!(store.get(&c, "k").await.unwrap(), Some(b("last")));
    assert_eq!(store.get(&c, "j").await.unwrap(), Some(b("j")));
}

/// `delete_many` counts distinct existing entries it removed.
pub async fn delete_many_counts_distinct_existing_entries<S: KvStore>(store: &S) {
    let c = unique("delmany");
    store
        .put_many(&c, &[("a", b("1")), ("b", b("2")), ("c", b("3"))], None)
        .await
        .unwrap();
    let removed = store
        .delete_many(&c, &["a", "missing", "b", "a"])
        .await
        .unwrap();
    assert_eq!(removed, 2);
    assert_eq!(
        store.get_many(&c, &["a", "b", "c"]).await.unwrap(),
        vec![None, None, Some(b("3"))]
    );
    assert_eq!(store.delete_many(&c, &["a", "b"]).await.unwrap(), 0);
}

/// Empty batches do nothing and answer empty results.
pub async fn empty_batches_are_no_ops<S: KvStore>(store: &S) {
    let c = unique("empty");
    assert!(store.get_many(&c, NO_KEYS).await.unwrap().is_empty());
    assert!(store.ttl_many(&c, NO_KEYS).await.unwrap().is_empty());
    store.put_many(&c, NO_ENTRIES, None).await.unwrap();
    assert_eq!(store.delete_many(&c, NO_KEYS).await.unwrap(), 0);
}

/// Batches of 10,000 keys work (stores chunk as they must).
pub async fn batches_of_10000_keys_work<S: KvStore>(store: &S) {
    let c = unique("bigbatch");
    let names: Vec<String> = (0..10_000).map(|i| format!("key-{i}")).collect();
    let entries: Vec<(&str, Bytes)> = names
        .iter()
        .map(|k| (k.as_str(), Bytes::copy_from_slice(k.as_bytes())))
        .collect();
    store.put_many(&c, &entries, None).await.unwrap();
    let keys: Vec<&str> = names.iter().map(String::as_str).collect();
    let got = store.get_many(&c, &keys).await.unwrap();
    assert_eq!(got.len(), 10_000);
    for (key, value) in keys.iter().zip(&got) {
        assert_eq!(value.as_deref(), Some(key.as_bytes()));
    }
    assert_eq!(store.ttl_many(&c, &keys).await.unwrap().len(), 10_000);
    assert_eq!(store.delete_many(&c, &keys).await.unwrap(), 10_000);
    assert!(
        store
            .get_many(&c, &keys[..100])
            .await
            .unwrap()
            .iter()
            .all(Option::is_none)
    );
}

/// Batches of 100,000 keys: a correct result for every operation; and a batch of
/// 100,000 with one invalid key is an invalid-key error that writes none of them.
/// Not in [`conformance_suite!`](crate::conformance_suite) (it is slow on some
/// servers); `tests/bad_input.rs` runs it on every store.
pub async fn batches_of_100000_keys_work<S: KvStore>(store: &S) {
    const N: usize = 100_000;
    let c = unique("hugebatch");
    let names: Vec<String> = (0..N).map(|i| format!("k{i}")).collect();
    let mut entries: Vec<(&str, Bytes)> = names
        .iter()
        .map(|k| (k.as_str(), Bytes::copy_from_slice(k.as_bytes())))
        .collect();
    entries.push(("", b("bad")));
    assert_kind(
        store.put_many(&c, &entries, None).await,
        ErrorKind::InvalidKey,
    );
    let keys: Vec<&str> = names.iter().map(String::as_str).collect();
    let got = store.get_many(&c, &keys).await.unwrap();
    assert!(
        got.iter().all(Option::is_none),
        "a rejected batch wrote entries"
    );
    entries.pop();
    store.put_many(&c, &entries, None).await.unwrap();
    let got = store.get_many(&c, &keys).await.unwrap();
    assert_eq!(got.len(), N);
    for (key, value) in keys.iter().zip(&got) {
        assert_eq!(value.as_deref(), Some(key.as_bytes()));
    }
    let ttls = store.ttl_many(&c, &keys).await.unwrap();
    assert!(
        ttls.iter()
            .all(|t| t.as_ref().is_some_and(|e| e.expires_in.is_none()))
    );
    assert_eq!(store.delete_many(&c, &keys).await.unwrap(), N);
    assert!(
        store
            .get_many(&c, &keys)
            .await
            .unwrap()
            .iter()
            .all(Option::is_none)
    );
}

/// A batch of 24 values of 1 MiB (24 MiB, more than one server message may carry)
/// round-trips: stores split what they send.
pub async fn put_many_of_large_values_works<S: KvStore>(store: &S) {
    let c = unique("largebatch");
    let names: Vec<String> = (0..24).map(|i| format!("big-{i}")).collect();
    let entries: Vec<(&str, Bytes)> = names
        .iter()
        .enumerate()
        .map(|(i, k)| (k.as_str(), Bytes::from(vec![i as u8; 1 << 20])))
        .collect();
    store.put_many(&c, &entries, None).await.unwrap();
    let keys: Vec<&str> = names.iter().map(String::as_str).collect();
    let got = store.get_many(&c, &keys).await.unwrap();
    for ((_, value), got) in entries.iter().zip(&got) {
        assert!(
            got.as_ref() == Some(value),
            "a 1 MiB value of the batch came back wrong"
        );
    }
    assert_eq!(store.delete_many(&c, &keys).await.unwrap(), 24);
}

/// Bad input beyond names: a TTL over [`MAX_TTL`](crate::names::MAX_TTL) is an
/// invalid-TTL error, and a batch carrying it writes nothing.
pub async fn over_long_ttl_is_rejected_and_writes_nothing<S: KvStore>(store: &S) {
    let c = unique("longttl");
    let ttl = Some(crate::names::MAX_TTL + Duration::from_secs(1));
    assert_kind(store.put(&c, "k", b("v"), ttl).await, ErrorKind::InvalidTtl);
    assert_kind(
        store.put_many(&c, &[("a", b("1"))], ttl).await,
        ErrorKind::InvalidTtl,
    );
    assert_eq!(
        store.get_many(&c, &["k", "a"]).await.unwrap(),
        vec![None, None]
    );
    // The longest TTL accepted works.
    store
        .put(&c, "k", b("v"), Some(crate::names::MAX_TTL))
        .await
        .unwrap();
    assert_eq!(store.get(&c, "k").await.unwrap(), Some(b("v")));
}

/// A value of `limit + 1` bytes, where `limit` is the store's largest value under the
/// key `k`, is [`TooLarge`](crate::ErrorDetail::TooLarge) carrying both sizes — from
/// `put`, from `put_many` (whose other entry is not written either) and from `create`
/// — and nothing is written. The value is zeroed and the check never writes to it, so
/// a limit of gigabytes costs no memory unless the store copies the value.
pub async fn value_over_the_limit_is_too_large_and_writes_nothing<S>(store: &S, limit: usize)
where
    S: KvStore + ConditionalWrites,
{
    let c = unique("toolarge");
    let big = Bytes::from(vec![0u8; limit + 1]);
    let too_large = |result: crate::Result<_>| match result.map_err(crate::Error::into_detail) {
        Err(ErrorDetail::TooLarge { size, limit: l }) => assert_eq!((size, l), (limit + 1, limit)),
        other => panic!("expected TooLarge, got {other:?}"),
    };
    too_large(store.put(&c, "k", big.clone(), None).await);
    too_large(
        store
            .put_many(&c, &[("small", b("v")), ("k", big.clone())], None)
            .await,
    );
    too_large(store.create(&c, "k", big, None).await.map(drop));
    assert_eq!(
        store.get_many(&c, &["small", "k"]).await.unwrap(),
        [None, None]
    );
}

/// `ttl()` answers the value and `0 < remaining ≤ ttl`, or `None` for no expiry.
pub async fn ttl_reports_remaining_time_within_bounds<S: KvStore>(store: &S) {
    let c = unique("ttl");
    let ttl = Duration::from_secs(60);
    store.put(&c, "k", b("v"), Some(ttl)).await.unwrap();
    let Entry {
        value,
        expires_in: left,
        ..
    } = store.ttl(&c, "k").await.unwrap().unwrap();
    assert_eq!(value, b("v"));
    let left = left.expect("an entry with a TTL reports its remaining time");
    assert!(
        left > Duration::ZERO && left <= ttl,
        "remaining {left:?} for a TTL of {ttl:?}"
    );
    assert!(
        left > ttl - Duration::from_secs(10),
        "remaining {left:?} is far too short"
    );
    store.put(&c, "forever", b("v"), None).await.unwrap();
    assert_eq!(
        store.ttl(&c, "forever").await.unwrap().map(unversioned),
        Some(Entry::new(b("v"), None))
    );
}

/// An entry is invisible to every read once its TTL has passed.
pub async fn expired_entries_are_invisible_at_once<S: KvStore>(store: &S) {
    let c = unique("expiry");
    let ttl = Duration::from_millis(1000);
    store.put(&c, "stay", b("s"), None).await.unwrap();
    let start = Instant::now();
    store.put(&c, "k", b("v"), Some(ttl)).await.unwrap();
    let alive = store.get(&c, "k").await.unwrap().is_some();
    assert!(alive || start.elapsed() >= ttl, "gone before its TTL");
    tokio::time::sleep(ttl + MARGIN).await;
    assert_eq!(store.get(&c, "k").await.unwrap(), None);
    assert_eq!(store.ttl(&c, "k").await.unwrap(), None);
    assert_eq!(
        store.get_many(&c, &["k", "stay"]).await.unwrap(),
        vec![None, Some(b("s"))]
    );
    assert_eq!(store.ttl_many(&c, &["k"]).await.unwrap(), vec![None]);
    assert!(
        !store.delete(&c, "k").await.unwrap(),
        "an expired entry did not exist"
    );
}

/// A 300 ms TTL keeps the entry for about 300 ms, not 0 and not a whole second.
pub async fn sub_second_ttl_is_honoured<S: KvStore>(store: &S) {
    let c = unique("subsecond");
    let start = Instant::now();
    store.put(&c, "k", b("v"), Some(SHORT_TTL)).await.unwrap();
    match store.ttl(&c, "k").await.unwrap() {
        Some(Entry {
            expires_in: left, ..
        }) => assert!(left.is_some_and(|left| left <= SHORT_TTL)),
        // On a loaded machine the round trips alone may outlast the TTL.
        None => assert!(start.elapsed() >= SHORT_TTL, "gone before its TTL"),
    }
    tokio::time::sleep(SHORT_TTL + MARGIN).await;
    assert_eq!(store.get(&c, "k").await.unwrap(), None);
}

/// `put_many`'s one TTL applies to every entry.
pub async fn put_many_applies_its_ttl<S: KvStore>(store: &S) {
    let c = unique("putmanyttl");
    let start = Instant::now();
    store
        .put_many(&c, &[("a", b("1")), ("b", b("2"))], Some(SHORT_TTL))
        .await
        .unwrap();
    for entry in store.ttl_many(&c, &["a", "b"]).await.unwrap() {
        match entry {
            Some(Entry {
                expires_in: left, ..
            }) => assert!(left.is_some_and(|left| left <= SHORT_TTL)),
            None => assert!(start.elapsed() >= SHORT_TTL, "gone before its TTL"),
        }
    }
    tokio::time::sleep(SHORT_TTL + MARGIN).await;
    assert_eq!(
        store.get_many(&c, &["a", "b"]).await.unwrap(),
        vec![None, None]
    );
}

/// A zero TTL is an invalid-TTL error, and nothing is written.
pub async fn zero_ttl_is_rejected_and_writes_nothing<S: KvStore>(store: &S) {
    let c = unique("zerottl");
    assert_kind(
        store.put(&c, "k", b("v"), Some(Duration::ZERO)).await,
        ErrorKind::InvalidTtl,
    );
    let batch = store
        .put_many(&c, &[("a", b("1"))], Some(Duration::ZERO))
        .await;
    assert_kind(batch, ErrorKind::InvalidTtl);
    assert_eq!(
        store.get_many(&c, &["k", "a"]).await.unwrap(),
        vec![None, None]
    );
}

/// Every `Duration` follows the crate's one TTL rule, through `put` and `put_many`:
/// up to [`MAX_TTL`](crate::names::MAX_TTL) it is stored and `ttl()` reports at most
/// it (a sub-millisecond TTL may have expired already); past it the write is an
/// invalid-TTL error that writes nothing. No TTL makes a store or wrapper panic, and a
/// TTL handed unchecked to the raw methods (`Duration::MAX`) is held to the bound.
pub async fn every_duration_follows_the_ttl_rule<S: KvStore>(store: &S) {
    use crate::names::MAX_TTL;
    const DAY: u64 = 86_400;
    let ttls = [
        Duration::from_nanos(1),
        Duration::from_micros(999),
        Duration::from_secs(1) + Duration::from_nanos(1),
        Duration::from_secs(30 * DAY - 1),
        Duration::from_secs(30 * DAY),
        Duration::from_secs(30 * DAY + 1),
        MAX_TTL,
        Duration::from_secs(u64::from(u32::MAX)),
        Duration::from_secs(u64::MAX),
        Duration::MAX,
    ];
    let c = unique("ttlrule");
    for (i, ttl) in ttls.into_iter().enumerate() {
        let (one, many) = (format!("one{i}"), format!("many{i}"));
        let results = [
            store.put(&c, &one, b("v"), Some(ttl)).await,
            store
                .put_many(&c, &[(many.as_str(), b("v"))], Some(ttl))
                .await,
        ];
        for (key, result) in [one, many].iter().zip(results) {
            if ttl > MAX_TTL {
                assert_kind(result, ErrorKind::InvalidTtl);
                assert_eq!(store.get(&c, key).await.unwrap(), None, "{ttl:?} wrote");
                continue;
            }
            result.unwrap_or_else(|e| panic!("a TTL of {ttl:?} was refused: {e}"));
            // Whole milliseconds are the finest any backend keeps.
            let ceiling = Duration::from_millis(ttl.as_nanos().div_ceil(1_000_000) as u64);
            match store.ttl(&c, key).await.unwrap() {
                Some(Entry {
                    expires_in: Some(left),
                    ..
                }) => assert!(
                    left <= ceiling && left > Duration::ZERO,
                    "{ttl:?}: {left:?} left"
                ),
                Some(Entry {
                    expires_in: None, ..
                }) => panic!("{ttl:?}: stored without expiry"),
                None => assert!(ttl < Duration::from_secs(2), "{ttl:?}: gone at once"),
            }
        }
    }
    // The raw path, as a wrapper would call it: bounded, never a panic.
    let key = crate::Key::new(&c, "raw").unwrap();
    let opts = crate::PutOptions::expiring(Some(Duration::MAX));
    store.put_opts(key, b("v"), opts).await.unwrap();
    match store.ttl(&c, "raw").await.unwrap() {
        Some(Entry {
            expires_in: Some(left),
            ..
        }) => assert!(left <= MAX_TTL, "{left:?}"),
        other => panic!("Duration::MAX through put_opts: {other:?}"),
    }
}

/// A put without TTL over an entry that had one leaves an entry that never expires.
pub async fn put_without_ttl_clears_expiry<S: KvStore>(store: &S) {
    let c = unique("clearttl");
    store.put(&c, "k", b("old"), Some(SHORT_TTL)).await.unwrap();
    store.put(&c, "k", b("new"), None).await.unwrap();
    assert_eq!(
        store.ttl(&c, "k").await.unwrap().map(unversioned),
        Some(Entry::new(b("new"), None))
    );
    tokio::time::sleep(SHORT_TTL + MARGIN).await;
    assert_eq!(store.get(&c, "k").await.unwrap(), Some(b("new")));
}

/// `put_many` without a TTL clears the expiry of every entry it replaces, as `put`
/// does (a store that writes batches with another command than single puts must too).
pub async fn put_many_without_ttl_clears_expiry<S: KvStore>(store: &S) {
    let c = unique("clearttlmany");
    let old = [("a", b("old")), ("b", b("old"))];
    store.put_many(&c, &old, Some(SHORT_TTL)).await.unwrap();
    let new = [("a", b("new")), ("b", b("new"))];
    store.put_many(&c, &new, None).await.unwrap();
    let entries: Vec<_> = (store.ttl_many(&c, &["a", "b"]).await.unwrap())
        .into_iter()
        .map(|e| e.map(unversioned))
        .collect();
    assert_eq!(
        entries,
        [
            Some(Entry::new(b("new"), None)),
            Some(Entry::new(b("new"), None))
        ]
    );
    tokio::time::sleep(SHORT_TTL + MARGIN).await;
    let values = store.get_many(&c, &["a", "b"]).await.unwrap();
    assert_eq!(values, [Some(b("new")), Some(b("new"))]);
}

/// Every hostile name works as a collection and as a key, each pair its own entry.
pub async fn hostile_names_round_trip<S: KvStore>(store: &S) {
    let names = hostile_names();
    let c = unique("hostile");
    let entries: Vec<(&str, Bytes)> = names.iter().map(|n| (n.as_str(), b(n))).collect();
    store.put_many(&c, &entries, None).await.unwrap();
    for name in &names {
        assert_eq!(
            store.get(&c, name).await.unwrap(),
            Some(b(name)),
            "key {name:?}"
        );
        store.put(name, &c, b(name), None).await.unwrap();
    }
    for name in &names {
        assert_eq!(
            store.get(name, &c).await.unwrap(),
            Some(b(name)),
            "collection {name:?}"
        );
        assert!(store.delete(name, &c).await.unwrap());
    }
}

/// Empty names and names over 4,096 bytes are invalid-key errors, and nothing is written.
pub async fn empty_and_over_long_names_are_rejected<S: KvStore>(store: &S) {
    let c = unique("badnames");
    let long = "x".repeat(MAX_NAME_LEN + 1);
    let v = b("v");
    assert_kind(
        store.put(&c, "", v.clone(), None).await,
        ErrorKind::InvalidKey,
    );
    assert_kind(
        store.put("", "k", v.clone(), None).await,
        ErrorKind::InvalidKey,
    );
    assert_kind(
        store.put(&c, &long, v.clone(), None).await,
        ErrorKind::InvalidKey,
    );
    assert_kind(
        store.put(&long, "k", v.clone(), None).await,
        ErrorKind::InvalidKey,
    );
    assert_kind(store.get(&c, "").await, ErrorKind::InvalidKey);
    assert_kind(store.ttl(&c, &long).await, ErrorKind::InvalidKey);
    assert_kind(store.delete("", "k").await, ErrorKind::InvalidKey);
    let batch = [("ok", v.clone()), ("", v.clone())];
    assert_kind(
        store.put_many(&c, &batch, None).await,
        ErrorKind::InvalidKey,
    );
    assert_kind(
        store.get_many(&c, &["ok", long.as_str()]).await,
        ErrorKind::InvalidKey,
    );
    assert_kind(
        store.delete_many(&c, &["ok", ""]).await,
        ErrorKind::InvalidKey,
    );
    assert_kind(store.ttl_many(&c, &[""]).await, ErrorKind::InvalidKey);
    assert_eq!(
        store.get(&c, "ok").await.unwrap(),
        None,
        "a rejected batch wrote nothing"
    );
}

/// `a::b`+`c` and `a`+`b::c` (and friends) are distinct entries.
pub async fn separator_collisions_stay_distinct<S: KvStore>(store: &S) {
    let base = unique("sep");
    let pairs = [
        (format!("{base}a::b"), "c".to_owned()),
        (format!("{base}a"), "b::c".to_owned()),
        (format!("{base}a:"), ":b::c".to_owned()),
        (format!("{base}a/b"), "c".to_owned()),
        (format!("{base}a"), "b/c".to_owned()),
        (format!("{base}a\0"), "b".to_owned()),
    ];
    for (i, (c, k)) in pairs.iter().enumerate() {
        store.put(c, k, b(&i.to_string()), None).await.unwrap();
    }
    for (i, (c, k)) in pairs.iter().enumerate() {
        assert_eq!(
            store.get(c, k).await.unwrap(),
            Some(b(&i.to_string())),
            "{c:?} + {k:?}"
        );
    }
}

/// Zero bytes is a value, not a miss.
pub async fn zero_length_value_is_a_value<S: KvStore>(store: &S) {
    let c = unique("emptyvalue");
    store.put(&c, "k", Bytes::new(), None).await.unwrap();
    assert_eq!(store.get(&c, "k").await.unwrap(), Some(Bytes::new()));
    assert_eq!(
        store.ttl(&c, "k").await.unwrap().map(unversioned),
        Some(Entry::new(Bytes::new(), None))
    );
    assert_eq!(
        store.get_many(&c, &["k"]).await.unwrap(),
        vec![Some(Bytes::new())]
    );
    assert!(store.delete(&c, "k").await.unwrap());
}

/// A 1 MiB value round-trips byte for byte.
pub async fn one_mib_value_round_trips<S: KvStore>(store: &S) {
    let c = unique("big");
    let value: Bytes = (0..1 << 20)
        .map(|i: u32| (i % 251) as u8)
        .collect::<Vec<_>>()
        .into();
    store.put(&c, "k", value.clone(), None).await.unwrap();
    assert_eq!(store.get(&c, "k").await.unwrap(), Some(value));
}

/// 64 tasks racing puts and gets on one key only ever read a value some task wrote, whole.
pub async fn racing_tasks_read_only_whole_values<S: KvStore + Clone + 'static>(store: &S) {
    let c = unique("race");
    let value_of = |task: usize| Bytes::from(vec![task as u8; 1024 + task]);
    let written: HashSet<Bytes> = (0..64).map(value_of).collect();
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..64 {
        let (store, c) = (store.clone(), c.clone());
        let value = value_of(task);
        tasks.spawn(async move {
            let mut seen = Vec::new();
            for _ in 0..10 {
                store.put(&c, "k", value.clone(), None).await.unwrap();
                seen.extend(store.get(&c, "k").await.unwrap());
            }
            seen
        });
    }
    while let Some(seen) = tasks.join_next().await {
        for value in seen.unwrap() {
            assert!(written.contains(&value), "read a value no task wrote whole");
        }
    }
}

/// 64 tasks on distinct keys each read back exactly their own writes.
pub async fn tasks_on_distinct_keys_do_not_interfere<S: KvStore + Clone + 'static>(store: &S) {
    let c = unique("distinct");
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..64 {
        let (store, c) = (store.clone(), c.clone());
        tasks.spawn(async move {
            let key = format!("task-{task}");
            for round in 0..10 {
                let value = b(&format!("{task}/{round}"));
                store.put(&c, &key, value.clone(), None).await.unwrap();
                assert_eq!(store.get(&c, &key).await.unwrap(), Some(value));
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
}
