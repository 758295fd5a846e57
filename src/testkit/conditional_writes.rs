//! Rules of [`ConditionalWrites`]: versions, create-if-absent, compare-and-swap and
//! delete-if-unchanged, with racing tasks.
//! [`instances::conditional_writes`](crate::testkit::instances::conditional_writes)
//! runs the racing ones over two instances of one backend.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{assert_kind, b, unique};
use crate::{ConditionalWrites, Entry, ErrorKind, KvStore, Version, Written};

const SHORT_TTL: Duration = Duration::from_millis(300);
/// Slack for scheduling on a loaded machine when waiting for an expiry.
const MARGIN: Duration = Duration::from_millis(150);

/// The version of the live entry, read through `get_entry`; fails the rule if the entry
/// is missing or unversioned.
#[track_caller]
fn version_of(entry: Option<Entry>, what: &str) -> Version {
    entry
        .unwrap_or_else(|| panic!("{what}: the entry is missing"))
        .version
        .unwrap_or_else(|| panic!("{what}: a conditional store reported no version"))
}

/// Every read reports a version, every write (a rewrite of the same value included)
/// changes it, and an applied conditional write reports the version reads then see.
pub async fn every_write_changes_the_version<S: KvStore + ConditionalWrites>(store: &S) {
    let c = unique("versions");
    store.put(&c, "k", b("v"), None).await.unwrap();
    let first = version_of(store.get_entry(&c, "k").await.unwrap(), "after put");
    assert_eq!(
        store.ttl(&c, "k").await.unwrap().and_then(|e| e.version),
        Some(first),
        "ttl reports the version get_entry does"
    );
    let batch = store.ttl_many(&c, ["k"]).await.unwrap();
    assert_eq!(batch[0].as_ref().and_then(|e| e.version), Some(first));
    store.put(&c, "k", b("v"), None).await.unwrap();
    let second = version_of(store.get_entry(&c, "k").await.unwrap(), "after rewrite");
    assert_ne!(
        first, second,
        "a rewrite of the same value kept its version"
    );
    store.put_many(&c, [("k", b("v"))], None).await.unwrap();
    let third = version_of(store.get_entry(&c, "k").await.unwrap(), "after put_many");
    assert!(third != first && third != second, "put_many kept a version");
    let written = store
        .put_if_version(&c, "k", b("w"), third, None)
        .await
        .unwrap();
    let Written::Applied(reported) = written else {
        panic!("a current version was rejected: {written:?}");
    };
    let fourth = version_of(store.get_entry(&c, "k").await.unwrap(), "after CAS");
    assert_ne!(fourth, third);
    if let Some(reported) = reported {
        assert_eq!(
            reported, fourth,
            "the applied write reported another version"
        );
    }
}

/// Create applies where nothing is and reports the version; a second create is
/// rejected, writes nothing, and reports the entry that is there.
pub async fn create_applies_only_when_absent<S: KvStore + ConditionalWrites>(store: &S) {
    let c = unique("create");
    let first = store.create(&c, "k", b("first"), None).await.unwrap();
    assert!(first.is_applied(), "create of a missing key: {first:?}");
    let second = store.create(&c, "k", b("second"), None).await.unwrap();
    assert!(!second.is_applied(), "create of an existing key applied");
    let stored = store.get_entry(&c, "k").await.unwrap().unwrap();
    assert_eq!(stored.value, "first", "a rejected create wrote");
    if let Some(current) = second.current() {
        assert_eq!(current.value, "first");
        assert_eq!(current.version, stored.version);
    }
    if let Some(version) = first.version() {
        assert_eq!(Some(version), stored.version);
    }
}

/// 64 tasks create one key at once: exactly one applies; every other sees it exists,
/// and the winner's value is what is stored and what they are shown.
pub async fn racing_creates_have_one_winner<S>(store: &S)
where
    S: KvStore + ConditionalWrites + Clone + 'static,
{
    racing_creates(store, store).await;
}

pub(crate) async fn racing_creates<S>(a: &S, other: &S)
where
    S: KvStore + ConditionalWrites + Clone + 'static,
{
    let c = unique("create-race");
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { other.clone() };
            let c = c.clone();
            tokio::spawn(async move {
                let written = store
                    .create(&c, "lock", Bytes::from(format!("task-{i}")), None)
                    .await
                    .unwrap();
                (i, written)
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut shown = Vec::new();
    for task in tasks {
        let (i, written) = task.await.unwrap();
        match written {
            Written::Applied(_) => winners.push(i),
            Written::Rejected(current) => shown.push(current),
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    let winner = Bytes::from(format!("task-{}", winners[0]));
    assert_eq!(a.get(&c, "lock").await.unwrap(), Some(winner.clone()));
    assert_eq!(other.get(&c, "lock").await.unwrap(), Some(winner.clone()));
    for current in shown.into_iter().flatten() {
        assert_eq!(current.value, winner, "a loser was shown another value");
    }
}

/// A stale version never applies and writes nothing, for a put and a delete; the
/// rejection reports the current entry where the store read it.
pub async fn stale_version_never_applies<S: KvStore + ConditionalWrites>(store: &S) {
    let c = unique("stale");
    store.put(&c, "k", b("one"), None).await.unwrap();
    let stale = version_of(store.get_entry(&c, "k").await.unwrap(), "first");
    store.put(&c, "k", b("two"), None).await.unwrap();
    let written = store
        .put_if_version(&c, "k", b("three"), stale, None)
        .await
        .unwrap();
    assert!(!written.is_applied(), "a stale version applied");
    if let Some(current) = written.current() {
        assert_eq!(current.value, "two");
    }
    assert!(!store.delete_if_version(&c, "k", stale).await.unwrap());
    assert_eq!(store.get(&c, "k").await.unwrap(), Some(b("two")));
    // An update of a missing entry never applies either.
    let missing = store
        .put_if_version(&c, "missing", b("x"), stale, None)
        .await
        .unwrap();
    assert!(!missing.is_applied());
    assert_eq!(store.get(&c, "missing").await.unwrap(), None);
}

/// A version read before a delete and re-create (of the very same value) never
/// matches the new entry.
pub async fn version_from_before_a_recreate_never_matches<S: KvStore + ConditionalWrites>(
    store: &S,
) {
    let c = unique("recreate");
    store.put(&c, "k", b("same"), None).await.unwrap();
    let old = version_of(store.get_entry(&c, "k").await.unwrap(), "first life");
    assert!(store.delete(&c, "k").await.unwrap());
    assert!(
        store
            .create(&c, "k", b("same"), None)
            .await
            .unwrap()
            .is_applied()
    );
    let new = version_of(store.get_entry(&c, "k").await.unwrap(), "second life");
    assert_ne!(old, new);
    let written = store
        .put_if_version(&c, "k", b("other"), old, None)
        .await
        .unwrap();
    assert!(!written.is_applied(), "a version of the first life applied");
    assert!(!store.delete_if_version(&c, "k", old).await.unwrap());
    assert_eq!(store.get(&c, "k").await.unwrap(), Some(b("same")));
}

/// Delete-if-version removes exactly the version read, once.
pub async fn delete_if_version_removes_only_that_version<S: KvStore + ConditionalWrites>(
    store: &S,
) {
    let c = unique("delete-if");
    store.put(&c, "k", b("v"), None).await.unwrap();
    let version = version_of(store.get_entry(&c, "k").await.unwrap(), "put");
    assert!(store.delete_if_version(&c, "k", version).await.unwrap());
    assert_eq!(store.get(&c, "k").await.unwrap(), None);
    assert!(!store.delete_if_version(&c, "k", version).await.unwrap());
}

/// An expired entry is absent: create applies over it; a version of an expired entry
/// matches nothing.
pub async fn create_over_an_expired_entry_applies<S: KvStore + ConditionalWrites>(store: &S) {
    let c = unique("create-expired");
    store.put(&c, "k", b("old"), Some(SHORT_TTL)).await.unwrap();
    let old = store
        .get_entry(&c, "k")
        .await
        .unwrap()
        .and_then(|e| e.version);
    tokio::time::sleep(SHORT_TTL + MARGIN).await;
    if let Some(old) = old {
        let written = store
            .put_if_version(&c, "k", b("x"), old, None)
            .await
            .unwrap();
        assert!(!written.is_applied(), "an expired entry's version applied");
        assert!(!store.delete_if_version(&c, "k", old).await.unwrap());
    }
    let written = store.create(&c, "k", b("new"), None).await.unwrap();
    assert!(
        written.is_applied(),
        "create over an expired entry: {written:?}"
    );
    assert_eq!(store.get(&c, "k").await.unwrap(), Some(b("new")));
}

/// Conditional writes keep the TTL rules of a plain put: an applied one replaces value
/// and expiry together (`None` clears the expiry), and a zero TTL is an error that
/// writes nothing.
pub async fn conditional_writes_keep_the_ttl_rules<S: KvStore + ConditionalWrites>(store: &S) {
    let c = unique("cond-ttl");
    let ttl = Duration::from_secs(600);
    assert!(
        store
            .create(&c, "k", b("v"), Some(ttl))
            .await
            .unwrap()
            .is_applied()
    );
    let entry = store.ttl(&c, "k").await.unwrap().unwrap();
    let left = entry.expires_in.expect("create lost its TTL");
    assert!(left > Duration::ZERO && left <= ttl, "{left:?} left");
    let version = entry.version.unwrap();
    assert_kind(
        store
            .put_if_version(&c, "k", b("zero"), version, Some(Duration::ZERO))
            .await,
        ErrorKind::InvalidTtl,
    );
    assert_kind(
        store
            .create(&c, "other", b("zero"), Some(Duration::ZERO))
            .await,
        ErrorKind::InvalidTtl,
    );
    assert_eq!(store.get(&c, "other").await.unwrap(), None);
    let written = store
        .put_if_version(&c, "k", b("w"), version, None)
        .await
        .unwrap();
    assert!(written.is_applied(), "the zero TTL wrote: {written:?}");
    let entry = store.ttl(&c, "k").await.unwrap().unwrap();
    assert_eq!(entry.value, "w");
    assert_eq!(
        entry.expires_in, None,
        "an update without TTL kept the expiry"
    );
    let start = Instant::now();
    let version = entry.version.unwrap();
    let written = store
        .put_if_version(&c, "k", b("short"), version, Some(SHORT_TTL))
        .await
        .unwrap();
    assert!(written.is_applied());
    tokio::time::sleep(SHORT_TTL + MARGIN).await;
    assert!(start.elapsed() > SHORT_TTL);
    assert_eq!(store.get(&c, "k").await.unwrap(), None, "the update's TTL");
}

/// 32 tasks of compare-and-swap increments of one counter, up to 100 each: the final
/// count is exactly the number of increments applied, with no update lost.
///
/// Each task stops early (after at least 3 increments) once 15 s have passed, so a
/// backend serving tens of writes a second (a test server emulating one) tests the
/// rule in bounded time instead of saturating the server that other tests share.
pub async fn cas_counter_loses_no_update<S>(store: &S)
where
    S: KvStore + ConditionalWrites + Clone + 'static,
{
    cas_counter(store, store).await;
}

/// One increment: read, write the successor if unchanged, else again from what the
/// rejection (or a new read) shows. Answers the number of attempts.
async fn increment<S: KvStore + ConditionalWrites>(store: &S, c: &str, key: &str) -> usize {
    let mut seen = store.get_entry(c, key).await.unwrap();
    for attempt in 1.. {
        let entry = seen.expect("the counter vanished");
        let n: u64 = std::str::from_utf8(&entry.value).unwrap().parse().unwrap();
        let version = entry.version.expect("no version");
        let next = Bytes::from((n + 1).to_string());
        match store
            .put_if_version(c, key, next, version, None)
            .await
            .unwrap()
        {
            Written::Applied(_) => return attempt,
            Written::Rejected(Some(current)) => seen = Some(current),
            Written::Rejected(None) => seen = store.get_entry(c, key).await.unwrap(),
        }
        // Back off for a random while, longer after each loss, as a real client of
        // a contended key should: without it, 32 tasks spend most round trips losing.
        tokio::time::sleep(crate::version::contention_backoff(attempt as u32)).await;
    }
    unreachable!()
}

pub(crate) async fn cas_counter<S>(a: &S, other: &S)
where
    S: KvStore + ConditionalWrites + Clone + 'static,
{
    count_concurrently(a, other, 32, 3..=100, Duration::from_secs(15)).await;
}

/// The compare-and-swap counter with `tasks` tasks (half of them through `other`, which
/// may be `a` itself) of `each` increments: the final count is exactly `tasks × each`.
/// For a backend too slow for the full rule in a test's time (a test server that
/// emulates one, with tens of writes a second), at a smaller scale.
pub async fn cas_counter_scaled<S>(a: &S, other: &S, tasks: usize, each: usize)
where
    S: KvStore + ConditionalWrites + Clone + 'static,
{
    let applied = count_concurrently(a, other, tasks, each..=each, Duration::ZERO).await;
    assert_eq!(applied, tasks * each);
}

/// `tasks` tasks increment one counter, half through `a` and half through `other`; each
/// makes at least `each.start()` increments and at most `each.end()`, stopping between
/// the two once `budget` has passed. The counter ends at exactly the number of
/// increments applied, which is answered.
async fn count_concurrently<S>(
    a: &S,
    other: &S,
    tasks: usize,
    each: std::ops::RangeInclusive<usize>,
    budget: Duration,
) -> usize
where
    S: KvStore + ConditionalWrites + Clone + 'static,
{
    let c = unique("cas-counter");
    assert!(a.create(&c, "n", b("0"), None).await.unwrap().is_applied());
    let deadline = Instant::now() + budget;
    let handles: Vec<_> = (0..tasks)
        .map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { other.clone() };
            let (c, each) = (c.clone(), each.clone());
            tokio::spawn(async move {
                let (mut applied, mut attempts) = (0, 0);
                while applied < *each.end()
                    && (applied < *each.start() || Instant::now() < deadline)
                {
                    attempts += increment(&store, &c, "n").await;
                    applied += 1;
                }
                (applied, attempts)
            })
        })
        .collect();
    let (mut applied, mut attempts) = (0, 0);
    for handle in handles {
        let (n, tries) = handle.await.unwrap();
        applied += n;
        attempts += tries;
    }
    let total = Bytes::from(applied.to_string());
    assert_eq!(
        a.get(&c, "n").await.unwrap(),
        Some(total.clone()),
        "an update was lost"
    );
    assert_eq!(other.get(&c, "n").await.unwrap(), Some(total));
    assert!(attempts >= applied);
    applied
}
