use std::sync::Arc;

use kv_store_adapter::testkit::{Faulty, b};
use kv_store_adapter::wrappers::{
    Coalesce, DEFAULT_GATHER_TICKS, DEFAULT_MAX_IN_FLIGHT, Operation, Stats,
};
use kv_store_adapter::{ErrorKind, KvStore, KvStoreExt};

use super::*;

mod coalesce_suite {
    use super::*;
    kv_store_adapter::conformance_suite!(store = memory().coalesce();
        basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, cull,
        conditional_writes);
}

/// A coalescing store over a memory store whose calls are counted.
fn counted(max_batch: usize) -> Arc<Coalesce<Stats<MemoryStore>>> {
    Arc::new(
        Stats::new(memory())
            .with_latency()
            .coalesce()
            .max_batch(max_batch),
    )
}

/// `n` concurrent gets of `key(i)`, each checked against `expected(i)`.
async fn read_together(
    store: &Arc<Coalesce<Stats<MemoryStore>>>,
    n: usize,
    key: impl Fn(usize) -> String,
    expected: impl Fn(usize) -> Option<bytes::Bytes>,
) {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let (store, k) = (store.clone(), key(i));
        tasks.spawn(async move { (i, store.get("c", &k).await.unwrap()) });
    }
    let mut answered = 0;
    while let Some(done) = tasks.join_next().await {
        let (i, got) = done.unwrap();
        assert_eq!(got, expected(i), "reader {i}");
        answered += 1;
    }
    assert_eq!(answered, n);
}

#[tokio::test]
async fn concurrent_gets_are_one_batch_each_with_its_own_answer() {
    let store = counted(100);
    for i in 0..64 {
        if i % 2 == 0 {
            let v = format!("v{i}");
            store.put("c", &format!("k{i}"), b(&v), None).await.unwrap();
        }
    }
    read_together(
        &store,
        64,
        |i| format!("k{i}"),
        |i| (i % 2 == 0).then(|| b(&format!("v{i}"))),
    )
    .await;
    let stats = store.inner();
    assert_eq!(stats.latency(Operation::GetMany).count, 1, "one batch");
    assert_eq!(stats.latency(Operation::Get).count, 0, "no single get");
    let total = stats.total();
    assert_eq!((total.get_hits, total.get_misses), (32, 32));
}

#[tokio::test]
async fn batches_hold_at_most_max_batch_keys() {
    let store = counted(100);
    store.put("c", "k0", b("v"), None).await.unwrap();
    read_together(
        &store,
        250,
        |i| format!("k{}", i % 7),
        |i| (i % 7 == 0).then(|| b("v")),
    )
    .await;
    let batches = store.inner().latency(Operation::GetMany).count;
    assert_eq!(batches, 3, "250 readers, 100 a batch");
}

#[tokio::test]
async fn a_key_read_by_many_is_read_once() {
    let store = counted(100);
    store.put("c", "hot", b("v"), None).await.unwrap();
    read_together(&store, 50, |_| "hot".into(), |_| Some(b("v"))).await;
    assert_eq!(store.inner().latency(Operation::GetMany).count, 1);
    assert_eq!(store.inner().total().get_hits, 1, "one key in the batch");
}

#[tokio::test]
async fn a_lone_get_is_a_plain_get() {
    let store = counted(100);
    store.put("c", "k", b("v"), None).await.unwrap();
    assert_eq!(store.get("c", "k").await.unwrap(), Some(b("v")));
    assert_eq!(store.get("c", "other").await.unwrap(), None);
    let stats = store.inner();
    assert_eq!(stats.latency(Operation::Get).count, 2);
    assert_eq!(stats.latency(Operation::GetMany).count, 0);
}

#[tokio::test]
async fn reads_of_other_collections_or_options_are_other_batches() {
    let store = counted(100);
    store.put("a", "k", b("1"), None).await.unwrap();
    store
        .put("b", "k", b("2"), Some(Duration::from_secs(60)))
        .await
        .unwrap();
    let (x, y, z) = tokio::join!(
        store.get("a", "k"),
        store.get("b", "k"),
        store.ttl("b", "k"),
    );
    assert_eq!(x.unwrap(), Some(b("1")));
    assert_eq!(y.unwrap(), Some(b("2")));
    let z = z.unwrap().expect("entry");
    assert!(z.expires_in.is_some_and(|t| t > Duration::from_secs(50)));
    // Three batches of one: each is a plain read.
    let stats = store.inner();
    assert_eq!(stats.latency(Operation::Get).count, 2);
    assert_eq!(stats.latency(Operation::Ttl).count, 1);
    assert_eq!(stats.latency(Operation::GetMany).count, 0);
}

#[tokio::test]
async fn readers_of_a_dropped_opener_read_on_their_own() {
    let store = counted(100);
    store.put("c", "a", b("1"), None).await.unwrap();
    store.put("c", "b", b("2"), None).await.unwrap();
    let mut opener = Box::pin(store.get("c", "a"));
    // The opener opens the batch and yields.
    let first = std::future::poll_fn(|cx| std::task::Poll::Ready(opener.as_mut().poll(cx))).await;
    assert!(first.is_pending());
    let joined = tokio::spawn({
        let store = store.clone();
        async move { store.get("c", "b").await }
    });
    // Let the reader join the open batch, then drop the opener before it sends it.
    tokio::task::yield_now().await;
    drop(opener);
    let got = tokio::time::timeout(Duration::from_secs(5), joined)
        .await
        .expect("the joined reader does not wait forever")
        .unwrap();
    assert_eq!(got.unwrap(), Some(b("2")));
    assert_eq!(store.inner().latency(Operation::GetMany).count, 0);
    assert_eq!(store.inner().latency(Operation::Get).count, 1, "read alone");
    // Nothing is left behind: the next reads batch as usual.
    read_together(&store, 10, |_| "a".into(), |_| Some(b("1"))).await;
    assert_eq!(store.inner().latency(Operation::GetMany).count, 1);
}

#[tokio::test]
async fn an_invalid_key_fails_alone() {
    let store = memory().coalesce();
    store.put("c", "k", b("v"), None).await.unwrap();
    let (good, bad) = tokio::join!(store.get("c", "k"), store.get("c", ""));
    assert_eq!(good.unwrap(), Some(b("v")));
    assert_eq!(bad.unwrap_err().kind(), ErrorKind::InvalidKey);
}

/// A coalescing store over a memory store whose calls are counted and can be slowed
/// down or failed.
type Slowed = Arc<Coalesce<Faulty<Stats<MemoryStore>>>>;

fn slowed() -> (Slowed, Faulty<Stats<MemoryStore>>, Stats<MemoryStore>) {
    let stats = Stats::new(memory()).with_latency();
    let faulty = Faulty::new(stats.clone());
    let store = faulty.clone().coalesce().max_in_flight(1);
    (Arc::new(store), faulty, stats)
}

fn spawn_get(
    store: &Slowed,
    key: &'static str,
) -> tokio::task::JoinHandle<kv_store_adapter::Result<Option<bytes::Bytes>>> {
    let store = store.clone();
    tokio::spawn(async move { store.get("c", key).await })
}

#[tokio::test]
async fn a_batch_gathers_readers_while_the_previous_one_is_in_flight() {
    let (store, faulty, stats) = slowed();
    for k in ["a", "b", "c"] {
        stats.put("c", k, b(k), None).await.unwrap();
    }
    faulty.delay(Duration::from_millis(300));
    let a = spawn_get(&store, "a");
    tokio::time::sleep(Duration::from_millis(50)).await; // a's read is in flight
    let b_ = spawn_get(&store, "b");
    tokio::time::sleep(Duration::from_millis(50)).await; // b's batch waits for a's
    let c = spawn_get(&store, "c"); // and c joins it
    assert_eq!(a.await.unwrap().unwrap(), Some(b("a")));
    assert_eq!(b_.await.unwrap().unwrap(), Some(b("b")));
    assert_eq!(c.await.unwrap().unwrap(), Some(b("c")));
    assert_eq!(stats.latency(Operation::Get).count, 1, "a alone");
    assert_eq!(
        stats.latency(Operation::GetMany).count,
        1,
        "b and c together"
    );
}

/// A coalescing store (default limits) over a memory store whose calls take 200 ms,
/// with "a" being read (one batch in flight), and keys `k0..k{n}` holding `v{i}`.
async fn one_read_in_flight(
    n: usize,
    gather_ticks: usize,
) -> (
    Slowed,
    Stats<MemoryStore>,
    tokio::task::JoinHandle<kv_store_adapter::Result<Option<bytes::Bytes>>>,
) {
    let stats = Stats::new(memory()).with_latency();
    let faulty = Faulty::new(stats.clone());
    let store = Arc::new(faulty.clone().coalesce().gather_ticks(gather_ticks));
    stats.put("c", "a", b("a"), None).await.unwrap();
    for i in 0..n {
        let v = format!("v{i}");
        stats.put("c", &format!("k{i}"), b(&v), None).await.unwrap();
    }
    faulty.delay(Duration::from_millis(200));
    let a = spawn_get(&store, "a");
    tokio::time::sleep(Duration::from_millis(20)).await; // a's read is in flight
    (store, stats, a)
}

/// Gets (or puts, `put`) of `k0..k{n}`, each after `i % spread` yields (callers reaching
/// the store over successive scheduling ticks), each answer checked.
async fn staggered(store: &Slowed, n: usize, spread: usize, put: bool) {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let store = store.clone();
        tasks.spawn(async move {
            for _ in 0..i % spread {
                tokio::task::yield_now().await;
            }
            call(&store, i, put).await
        });
    }
    finish(tasks, n, put).await;
}

/// Reads `k{i}` (or writes `v{i}` to it, `put`).
async fn call(store: &Slowed, i: usize, put: bool) -> (usize, Option<bytes::Bytes>) {
    let key = format!("k{i}");
    if put {
        let v = format!("v{i}");
        store.put("c", &key, b(&v), None).await.unwrap();
        (i, Some(b(&v)))
    } else {
        (i, store.get("c", &key).await.unwrap())
    }
}

/// Waits for the `n` calls of `tasks`, each answering `v{i}`.
async fn finish(
    mut tasks: tokio::task::JoinSet<(usize, Option<bytes::Bytes>)>,
    n: usize,
    put: bool,
) {
    let mut answered = 0;
    while let Some(done) = tasks.join_next().await {
        let (i, got) = done.unwrap();
        assert_eq!(got, Some(b(&format!("v{i}"))), "caller {i} (put: {put})");
        answered += 1;
    }
    assert_eq!(answered, n);
}

/// One call, then ten that each start one more a tick later: the opener looks at its
/// batch (after its one tick) before those last ten arrive, as callers coming from
/// another worker thread do.
async fn arriving_while_the_opener_looks(store: &Slowed, put: bool) {
    let mut tasks = tokio::task::JoinSet::new();
    let first = store.clone();
    tasks.spawn(async move { call(&first, 0, put).await });
    for i in 1..=10 {
        let store = store.clone();
        tasks.spawn(async move {
            tokio::task::yield_now().await;
            let later = store.clone();
            let later = tokio::spawn(async move { call(&later, i + 10, put).await });
            let mine = call(&store, i, put).await;
            let later = later.await.unwrap();
            assert_eq!(later.1, Some(b(&format!("v{}", i + 10))));
            mine
        });
    }
    finish(tasks, 11, put).await;
}

#[tokio::test]
async fn while_a_batch_is_in_flight_the_next_gathers_over_several_ticks() {
    let (store, stats, a) = one_read_in_flight(21, DEFAULT_GATHER_TICKS).await;
    arriving_while_the_opener_looks(&store, false).await;
    assert_eq!(a.await.unwrap().unwrap(), Some(b("a")));
    assert_eq!(stats.latency(Operation::Get).count, 1, "a alone");
    assert_eq!(
        stats.latency(Operation::GetMany).count,
        1,
        "the readers of three ticks, one batch"
    );
}

#[tokio::test]
async fn with_gather_ticks_0_a_batch_goes_after_one_tick_even_while_one_is_in_flight() {
    // The readers of later ticks miss the first batch, which went after one tick.
    let (store, stats, a) = one_read_in_flight(21, 0).await;
    arriving_while_the_opener_looks(&store, false).await;
    assert_eq!(a.await.unwrap().unwrap(), Some(b("a")));
    assert_eq!(stats.latency(Operation::Get).count, 1, "a alone");
    let batches = stats.latency(Operation::GetMany).count;
    assert!(
        batches >= 2,
        "{batches} batch: it gathered past its first tick"
    );
}

#[tokio::test]
async fn a_batch_gathers_for_a_few_ticks_at_most() {
    // Readers keep coming for 20 ticks: the batch does not wait for all of them, and
    // each batch holds the readers of several ticks.
    let (store, stats, a) = one_read_in_flight(40, DEFAULT_GATHER_TICKS).await;
    staggered(&store, 40, 20, false).await;
    assert_eq!(a.await.unwrap().unwrap(), Some(b("a")));
    let batches = stats.latency(Operation::GetMany).count;
    assert!((2..20).contains(&batches), "{batches} batches");
}

#[tokio::test]
async fn with_nothing_in_flight_a_batch_goes_after_one_tick() {
    // The backend is idle: the readers of the first tick go at once, and those of later
    // ticks, coming while that batch is in flight, gather into the next.
    let stats = Stats::new(memory()).with_latency();
    let faulty = Faulty::new(stats.clone());
    let store = Arc::new(faulty.clone().coalesce());
    for i in 0..30 {
        let v = format!("v{i}");
        stats.put("c", &format!("k{i}"), b(&v), None).await.unwrap();
    }
    faulty.delay(Duration::from_millis(200));
    staggered(&store, 30, 3, false).await;
    assert_eq!(stats.latency(Operation::GetMany).count, 2);
    assert_eq!(stats.latency(Operation::Get).count, 0);
}

#[tokio::test]
async fn while_a_put_batch_is_in_flight_the_next_gathers_over_several_ticks() {
    let stats = Stats::new(memory()).with_latency();
    let faulty = Faulty::new(stats.clone());
    let store = Arc::new(faulty.clone().coalesce());
    faulty.delay(Duration::from_millis(200));
    let first = {
        let store = store.clone();
        tokio::spawn(async move { store.put("c", "a", b("a"), None).await })
    };
    tokio::time::sleep(Duration::from_millis(20)).await; // a's write is in flight
    arriving_while_the_opener_looks(&store, true).await;
    first.await.unwrap().unwrap();
    assert_eq!(stats.latency(Operation::Put).count, 1, "a alone");
    assert_eq!(stats.latency(Operation::PutMany).count, 1, "one batch");
    for i in 0..=20 {
        let got = stats.get("c", &format!("k{i}")).await.unwrap();
        assert_eq!(got, Some(b(&format!("v{i}"))));
    }
}

#[tokio::test]
async fn by_default_four_batches_go_at_once_and_the_fifth_waits() {
    let stats = Stats::new(memory()).with_latency();
    let faulty = Faulty::new(stats.clone());
    let store = Arc::new(faulty.clone().coalesce());
    for k in ["a", "b", "c", "d", "e", "f"] {
        stats.put("c", k, b(k), None).await.unwrap();
    }
    faulty.delay(Duration::from_millis(600));
    let mut tasks = Vec::new();
    for k in ["a", "b", "c", "d"] {
        tasks.push((k, spawn_get(&store, k)));
        tokio::time::sleep(Duration::from_millis(30)).await; // each goes alone
    }
    assert_eq!(DEFAULT_MAX_IN_FLIGHT, 4);
    tasks.push(("e", spawn_get(&store, "e"))); // waits for one of the four
    tokio::time::sleep(Duration::from_millis(30)).await;
    tasks.push(("f", spawn_get(&store, "f"))); // and f joins it
    for (k, task) in tasks {
        assert_eq!(task.await.unwrap().unwrap(), Some(b(k)));
    }
    assert_eq!(stats.latency(Operation::Get).count, 4, "a to d alone");
    assert_eq!(
        stats.latency(Operation::GetMany).count,
        1,
        "e and f together"
    );
}

#[tokio::test]
async fn a_full_batch_does_not_wait_for_the_one_in_flight() {
    let stats = Stats::new(memory()).with_latency();
    let faulty = Faulty::new(stats.clone());
    let store = Arc::new(faulty.clone().coalesce().max_batch(2).max_in_flight(1));
    for k in ["a", "b", "c"] {
        stats.put("c", k, b(k), None).await.unwrap();
    }
    faulty.delay(Duration::from_millis(600));
    let start = std::time::Instant::now();
    let a = spawn_get(&store, "a");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let b_ = spawn_get(&store, "b");
    let c = spawn_get(&store, "c"); // fills b's batch: it goes at once
    let (b_, c) = (b_.await.unwrap(), c.await.unwrap());
    let took = start.elapsed();
    assert_eq!((b_.unwrap(), c.unwrap()), (Some(b("b")), Some(b("c"))));
    // Sent at ~50 ms, answered at ~650 ms; after a's answer it would be ~1,200 ms.
    assert!(took < Duration::from_millis(1_000), "{took:?}");
    assert_eq!(a.await.unwrap().unwrap(), Some(b("a")));
    assert_eq!(stats.latency(Operation::GetMany).count, 1);
}

#[tokio::test]
async fn a_batch_that_fails_to_reach_the_store_fails_each_reader_once() {
    let (store, faulty, stats) = slowed();
    faulty.fail_next(1);
    let (x, y, z) = tokio::join!(
        store.get("c", "a"),
        store.get("c", "b"),
        store.get("c", "c")
    );
    for got in [x, y, z] {
        assert_eq!(got.unwrap_err().kind(), ErrorKind::Connection);
    }
    assert_eq!(faulty.calls(), 1, "one batch, not read again per key");
    assert_eq!(stats.latency(Operation::GetMany).count, 0);
}

#[tokio::test]
async fn max_batch_of_one_reads_each_key_alone() {
    let store = counted(1);
    store.put("c", "k0", b("v"), None).await.unwrap();
    read_together(
        &store,
        10,
        |i| format!("k{}", i % 2),
        |i| (i % 2 == 0).then(|| b("v")),
    )
    .await;
    assert_eq!(store.inner().latency(Operation::Get).count, 10);
    assert_eq!(store.inner().latency(Operation::GetMany).count, 0);
}

#[tokio::test]
async fn nothing_is_kept_per_collection_once_reads_end() {
    let store = counted(2);
    for c in 0..100 {
        let collection = format!("c{c}");
        store.put(&collection, "b", b("2"), None).await.unwrap();
        // The opener opens a batch and yields; a reader joins and fills it (2 keys);
        // then the opener is dropped before it sends the full batch.
        let mut opener = Box::pin(store.get(&collection, "a"));
        let first =
            std::future::poll_fn(|cx| std::task::Poll::Ready(opener.as_mut().poll(cx))).await;
        assert!(first.is_pending());
        let joined = tokio::spawn({
            let (store, collection) = (store.clone(), collection.clone());
            async move { store.get(&collection, "b").await }
        });
        tokio::task::yield_now().await;
        drop(opener);
        assert_eq!(joined.await.unwrap().unwrap(), Some(b("2")));
    }
    read_together(&store, 50, |i| format!("k{i}"), |_| None).await;
    assert_eq!(
        store.gathering(),
        0,
        "no collection's state outlives its reads"
    );
}

/// Under a stalled backend no read waits for two timeouts: a batch gathered behind one
/// that timed out times out with it, without being sent.
#[tokio::test]
async fn readers_behind_a_timed_out_batch_time_out_with_it() {
    let stats = Stats::new(memory()).with_latency();
    let faulty = Faulty::new(stats.clone());
    let store = Arc::new(
        faulty
            .clone()
            .timeout(Duration::from_millis(300))
            .coalesce()
            .max_in_flight(1),
    );
    faulty.delay(Duration::from_millis(2_000)); // a backend that does not answer
    let start = std::time::Instant::now();
    let spawn = |key: &'static str| {
        let store = store.clone();
        tokio::spawn(async move { (store.get("c", key).await, start.elapsed()) })
    };
    let a = spawn("a");
    tokio::time::sleep(Duration::from_millis(50)).await; // a's read is in flight
    let b_ = spawn("b"); // b's batch waits for a's
    tokio::time::sleep(Duration::from_millis(20)).await;
    let c = spawn("c"); // and c joins it
    for task in [a, b_, c] {
        let (got, took) = task.await.unwrap();
        assert_eq!(got.unwrap_err().kind(), ErrorKind::Timeout);
        // One limit (300 ms) and slack, not two.
        assert!(took < Duration::from_millis(500), "{took:?}");
    }
    assert_eq!(faulty.calls(), 1, "the waiting batch was never sent");
}

/// 64 concurrent puts of one collection and TTL: one `put_many`, every value written.
#[tokio::test]
async fn concurrent_puts_are_one_put_many() {
    let store = counted(100);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..64 {
        let store = store.clone();
        tasks.spawn(async move {
            let v = format!("v{i}");
            store.put("c", &format!("k{i}"), b(&v), None).await.unwrap();
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let stats = store.inner();
    assert_eq!(stats.latency(Operation::PutMany).count, 1, "one batch");
    assert_eq!(stats.latency(Operation::Put).count, 0, "no single put");
    for i in 0..64 {
        let got = stats.get("c", &format!("k{i}")).await.unwrap();
        assert_eq!(got, Some(b(&format!("v{i}"))));
    }
}

/// Puts with other TTLs, or of other collections, are other batches; each keeps its
/// TTL; a lone put is a plain put.
#[tokio::test]
async fn puts_batch_only_with_the_same_collection_and_ttl() {
    let store = counted(100);
    let hour = Some(Duration::from_secs(3600));
    let (x, y, z) = tokio::join!(
        store.put("c", "a", b("1"), None),
        store.put("c", "b", b("2"), hour),
        store.put("d", "a", b("3"), None),
    );
    x.unwrap();
    y.unwrap();
    z.unwrap();
    let stats = store.inner();
    assert_eq!(stats.latency(Operation::Put).count, 3);
    assert_eq!(stats.latency(Operation::PutMany).count, 0);
    assert!(
        stats
            .ttl("c", "a")
            .await
            .unwrap()
            .unwrap()
            .expires_in
            .is_none()
    );
    let b_ttl = stats.ttl("c", "b").await.unwrap().unwrap().expires_in;
    assert!(b_ttl.is_some_and(|t| t > Duration::from_secs(3500)));
    assert_eq!(stats.get("d", "a").await.unwrap(), Some(b("3")));
}

/// Two puts of one key in one batch: the later one wins, as if one after the other.
#[tokio::test]
async fn of_one_key_in_a_batch_the_later_put_wins() {
    let store = counted(100);
    let (x, y) = tokio::join!(
        store.put("c", "k", b("first"), None),
        store.put("c", "k", b("second"), None),
    );
    x.unwrap();
    y.unwrap();
    assert_eq!(store.inner().latency(Operation::PutMany).count, 1);
    assert_eq!(store.get("c", "k").await.unwrap(), Some(b("second")));
}

/// One value too large fails the whole `put_many` of a size-limited store: each put is
/// sent again alone, so only the large one fails and the others are written.
#[tokio::test]
async fn one_bad_value_fails_only_its_own_put() {
    let stats = Stats::new(memory()).with_latency();
    let store = stats.clone().limit_size(0, 8).coalesce();
    let (x, y, z) = tokio::join!(
        store.put("c", "a", b("small"), None),
        store.put("c", "b", b("far too large a value"), None),
        store.put("c", "c", b("tiny"), None),
    );
    x.unwrap();
    assert_eq!(y.unwrap_err().kind(), ErrorKind::TooLarge);
    z.unwrap();
    assert_eq!(stats.get("c", "a").await.unwrap(), Some(b("small")));
    assert_eq!(stats.get("c", "b").await.unwrap(), None);
    assert_eq!(stats.get("c", "c").await.unwrap(), Some(b("tiny")));
}

/// A put batch that cannot reach the store fails every put once, none sent again.
#[tokio::test]
async fn a_put_batch_that_fails_to_reach_the_store_fails_each_put_once() {
    let (store, faulty, stats) = slowed();
    faulty.fail_next(1);
    let (x, y, z) = tokio::join!(
        store.put("c", "a", b("1"), None),
        store.put("c", "b", b("2"), None),
        store.put("c", "c", b("3"), None),
    );
    for got in [x, y, z] {
        assert_eq!(got.unwrap_err().kind(), ErrorKind::Connection);
    }
    assert_eq!(faulty.calls(), 1, "one batch, not written again per key");
    assert_eq!(stats.total().puts, 0);
}
