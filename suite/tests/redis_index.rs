//! `RedisStore::with_index`: the whole conformance kit (one instance and two) over
//! the indexed store, then what the index itself promises — listing without SCAN,
//! staying bounded, agreeing with the data under races, and indexing old data.
#![cfg(feature = "redis")]

use std::time::Duration;

use kv_store_adapter::KvStore;
use kv_store_adapter::stores::RedisStore;
use kv_store_adapter::testkit::{b, server_url, unique_namespace};
use redis::AsyncCommands;

#[path = "support/server.rs"]
mod server;
#[path = "support/redis.rs"]
mod support;

/// An indexed store on `namespace`; two calls are two instances.
async fn open(namespace: String) -> Option<RedisStore> {
    let url = server_url("KV_REDIS_URL")?;
    let store = RedisStore::connect(&url).await.expect("redis answers");
    Some(store.with_namespace(&namespace).unwrap().with_index())
}

async fn connect() -> Option<RedisStore> {
    open(unique_namespace()).await
}

kv_store_adapter::conformance_suite!(
    store = match connect().await { Some(store) => store, None => return };
    basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, conditional_writes);

mod instances {
    use super::*;
    kv_store_adapter::instances_suite!(
        pair = match kv_store_adapter::testkit::instances::Instances::on_one_namespace(open).await { Some(pair) => pair, None => return };
        basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, destroy_enumerated,
        conditional_writes);
}

async fn raw() -> Option<redis::aio::MultiplexedConnection> {
    let url = server_url("KV_REDIS_URL")?;
    let client = redis::Client::open(url).unwrap();
    Some(client.get_multiplexed_async_connection().await.unwrap())
}

/// The index key of `collection` (layout in the store's docs).
fn index_key(store: &RedisStore, collection: &str) -> Vec<u8> {
    let mut key = store.redis_key(collection, "");
    key.push(0xFF);
    key
}

fn collections_key(store: &RedisStore) -> Vec<u8> {
    let mut key = store.namespace().as_bytes().to_vec();
    key.extend_from_slice(b":{\xff}");
    key
}

/// How many SCANs the server has run.
async fn scans(conn: &mut redis::aio::MultiplexedConnection) -> u64 {
    calls(conn, "scan").await
}

/// How many times the server has run `command` (lower case) since its start or the
/// last `CONFIG RESETSTAT`.
async fn calls(conn: &mut redis::aio::MultiplexedConnection, command: &str) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(conn)
        .await
        .unwrap();
    let head = format!("cmdstat_{command}:calls=");
    info.lines()
        .find_map(|line| line.strip_prefix(head.as_str()))
        .map_or(0, |rest| rest.split(',').next().unwrap().parse().unwrap())
}

/// A redis-server of the test's own (so no other test's SCAN counts), a store without
/// the index on it, and a raw connection to it.
async fn private_server() -> Option<(
    server::Server,
    RedisStore,
    redis::aio::MultiplexedConnection,
)> {
    let bin = server_url("KV_REDIS_SERVER_BIN")?;
    let server = server::Server::redis(bin, &[]);
    let url = server.redis_url();
    let store = RedisStore::connect(&url)
        .await
        .unwrap()
        .with_namespace("ix")
        .unwrap();
    let raw = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    Some((server, store, raw))
}

/// 20,000 entries in collection `big`.
async fn fill_big(store: &RedisStore) {
    let big: Vec<(String, bytes::Bytes)> = (0..20_000).map(|i| (format!("k{i}"), b("v"))).collect();
    let big: Vec<(&str, bytes::Bytes)> = big.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    store.put_many("big", &big, None).await.unwrap();
}

/// On a private server (so no other test's SCAN counts): `keys()` and `collections()`
/// of an indexed store run no SCAN, among 20,000 keys of other collections; the store
/// without the index answers the same by scanning.
#[tokio::test]
async fn indexed_listing_reads_no_scan() {
    let Some((_server, plain, mut raw)) = private_server().await else {
        return;
    };
    let store = plain.clone().with_index();
    fill_big(&store).await;
    store.put("small", "a", b("1"), None).await.unwrap();
    store
        .put("small", "b", b("2"), Some(Duration::from_secs(60)))
        .await
        .unwrap();

    let before = scans(&mut raw).await;
    assert_eq!(store.keys("small", 10).await.unwrap(), ["a", "b"]);
    assert_eq!(store.keys("big", 3).await.unwrap().len(), 3);
    assert_eq!(store.collections(10).await.unwrap(), ["big", "small"]);
    assert_eq!(scans(&mut raw).await, before, "the indexed store scanned");

    assert_eq!(plain.keys("small", 10).await.unwrap(), ["a", "b"]);
    assert!(
        scans(&mut raw).await > before,
        "the plain store lists by SCAN"
    );

    // A server that forgot the scripts (a restart, SCRIPT FLUSH): each call loads its
    // script again.
    let flush = || redis::cmd("SCRIPT").arg("FLUSH").clone();
    let _: () = flush().query_async(&mut raw).await.unwrap();
    store.put("small", "c", b("3"), None).await.unwrap();
    let _: () = flush().query_async(&mut raw).await.unwrap();
    assert_eq!(store.collections(10).await.unwrap(), ["big", "small"]);
    let _: () = flush().query_async(&mut raw).await.unwrap();
    assert!(store.delete("small", "c").await.unwrap());
    assert_eq!(store.keys("small", 10).await.unwrap(), ["a", "b"]);
}

/// Without the index, `keys(c, 10)` and `collections(1)` stop scanning once they have
/// that many names (on a private server, so only their SCANs count): they scanned all
/// 20,000 keys, about twenty steps, to keep the first names in order.
#[tokio::test]
async fn a_scan_stops_once_it_has_the_names_asked_for() {
    let Some((_server, store, mut raw)) = private_server().await else {
        return;
    };
    fill_big(&store).await;

    let before = scans(&mut raw).await;
    let keys = store.keys("big", 10).await.unwrap();
    let used = scans(&mut raw).await - before;
    assert_eq!(keys.len(), 10, "{keys:?}");
    assert!(used <= 2, "keys(big, 10) ran {used} SCAN steps");

    let before = scans(&mut raw).await;
    assert_eq!(store.collections(1).await.unwrap(), ["big"]);
    let used = scans(&mut raw).await - before;
    assert!(used <= 2, "collections(1) ran {used} SCAN steps");

    // Asked for more than there are, a scan goes to the end.
    assert_eq!(store.keys("big", 30_000).await.unwrap().len(), 20_000);
    assert_eq!(store.collections(2).await.unwrap(), ["big"]);
}

/// Members of expired entries leave the index on the collection's next write with a
/// TTL, an index expires with its last entry, and a dead collection leaves the
/// collections index.
#[tokio::test]
async fn the_index_stays_bounded() {
    let (Some(store), Some(mut raw)) = (connect().await, raw().await) else {
        return;
    };
    let short = Some(Duration::from_millis(150));
    // A long-lived entry keeps the index itself alive: only pruning can shrink it.
    store
        .put("sessions", "anchor", b("v"), Some(Duration::from_secs(60)))
        .await
        .unwrap();
    for round in 0..5 {
        let names: Vec<String> = (0..200).map(|i| format!("s{round}-{i}")).collect();
        for chunk in names.chunks(50) {
            let entries: Vec<(&str, bytes::Bytes)> =
                chunk.iter().map(|k| (k.as_str(), b("v"))).collect();
            store.put_many("sessions", &entries, short).await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    store.put("sessions", "last", b("v"), short).await.unwrap();
    let members: usize = raw.zcard(index_key(&store, "sessions")).await.unwrap();
    assert_eq!(members, 2, "expired members stay in the index");
    store.delete("sessions", "anchor").await.unwrap();

    // A collection that held a key without TTL: once that key is deleted, its index
    // expires with the entries left.
    store.put("mixed", "forever", b("v"), None).await.unwrap();
    store.put("mixed", "brief", b("v"), short).await.unwrap();
    let pttl: i64 = raw.pttl(index_key(&store, "mixed")).await.unwrap();
    assert_eq!(pttl, -1, "an index with a key without TTL is persistent");
    assert!(store.delete("mixed", "forever").await.unwrap());
    let pttl: i64 = raw.pttl(index_key(&store, "mixed")).await.unwrap();
    // -2: on a slow machine the brief entry, and so the index, may be gone already.
    assert!(
        pttl != -1 && pttl <= 150,
        "index PTTL {pttl} after its last key without TTL left"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let exists: bool = raw.exists(index_key(&store, "mixed")).await.unwrap();
    assert!(!exists, "the index outlived its entries");
    let exists: bool = raw.exists(index_key(&store, "sessions")).await.unwrap();
    assert!(!exists, "the index outlived its entries");

    // 50 collections that died, then `collections()`: their names are gone.
    for i in 0..50 {
        store
            .put(&format!("dead{i}"), "k", b("v"), short)
            .await
            .unwrap();
    }
    store.put("alive", "k", b("v"), None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(store.collections(100).await.unwrap(), ["alive"]);
    let names: usize = raw.zcard(collections_key(&store)).await.unwrap();
    assert_eq!(names, 1, "dead collections stay in the collections index");
}

/// More collections than one page of names (1,000): `collections()` reads the names a
/// page at a time, in order, dead ones among them skipped.
#[tokio::test]
async fn collections_page_through_many_names() {
    let Some(store) = connect().await else { return };
    support::collections_page_through_many_names(&store).await;
}

/// Members whose entries went behind the store's back do not list a collection.
#[tokio::test]
async fn collections_skip_members_whose_entries_are_gone() {
    let Some(store) = connect().await else { return };
    support::collections_skip_members_whose_entries_are_gone(&store).await;
}

/// Entries written while `destroy_collection` scans stay listed.
#[tokio::test]
async fn entries_surviving_destroy_collection_stay_listed() {
    let Some(store) = connect().await else { return };
    support::entries_surviving_destroy_stay_listed(&store, false).await;
}

/// Entries written while `destroy` scans stay listed.
#[tokio::test]
async fn entries_surviving_destroy_stay_listed() {
    let Some(store) = connect().await else { return };
    support::entries_surviving_destroy_stay_listed(&store, true).await;
}

/// Foreign values and other types through the indexed writes.
#[tokio::test]
async fn foreign_bytes_are_corrupt_data() {
    let Some(store) = connect().await else { return };
    support::foreign_redis_values_are_corrupt(&store).await;
}

/// New collections prune the collections index of dead names as they register, with
/// no `collections()` call: 200 collections die, then 200 new ones are written (without
/// a TTL, the put that registers outside a script); each registration drops up to two
/// sampled dead names.
#[tokio::test]
async fn registrations_prune_dead_collection_names() {
    let (Some(store), Some(mut raw)) = (connect().await, raw().await) else {
        return;
    };
    for i in 0..200 {
        let name = format!("dead{i}");
        let entries = [("k", b("v"))];
        let short = Some(Duration::from_millis(100));
        store.put_many(&name, &entries, short).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Without a TTL: a put registers its name in a transaction, then prunes.
    for i in 0..200 {
        store
            .put(&format!("new{i}"), "k", b("v"), None)
            .await
            .unwrap();
    }
    let names: usize = raw.zcard(collections_key(&store)).await.unwrap();
    assert!(
        names <= 300,
        "{names} names registered: registrations left the dead ones (400 without pruning)"
    );
    assert_eq!(store.collections(1000).await.unwrap().len(), 200);
}

/// A key rewritten with a TTL after it had none, or without after it had one: the
/// index follows the last write, so listing agrees with `get` at every step.
#[tokio::test]
async fn rewrites_move_a_key_between_lasting_and_expiring() {
    let Some(store) = connect().await else { return };
    store.put("c", "k", b("1"), None).await.unwrap();
    store
        .put("c", "k", b("2"), Some(Duration::from_millis(1_000)))
        .await
        .unwrap();
    assert_eq!(store.keys("c", 10).await.unwrap(), ["k"]);
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(store.get("c", "k").await.unwrap(), None);
    assert!(store.keys("c", 10).await.unwrap().is_empty());
    assert!(store.collections(10).await.unwrap().is_empty());

    store
        .put("c", "k", b("3"), Some(Duration::from_millis(100)))
        .await
        .unwrap();
    store.put("c", "k", b("4"), None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(store.get("c", "k").await.unwrap(), Some(b("4")));
    assert_eq!(store.keys("c", 10).await.unwrap(), ["k"]);
    assert_eq!(store.collections(10).await.unwrap(), ["c"]);
}

/// Two instances racing puts with and without TTL, deletes and creates on a few keys:
/// afterwards the index lists exactly the keys `get` finds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_writers_leave_the_index_equal_to_the_data() {
    let namespace = unique_namespace();
    let (Some(a), Some(b_store)) = (open(namespace.clone()).await, open(namespace).await) else {
        return;
    };
    let mut tasks = Vec::new();
    for t in 0..16u64 {
        let store = if t % 2 == 0 {
            a.clone()
        } else {
            b_store.clone()
        };
        tasks.push(tokio::spawn(async move {
            for i in 0..200u64 {
                let key = format!("k{}", (i * 7 + t) % 8);
                match (i + t) % 4 {
                    0 => store.put("race", &key, b("v"), None).await.map(drop),
                    1 => store
                        .put("race", &key, b("v"), Some(Duration::from_secs(60)))
                        .await
                        .map(drop),
                    2 => store.delete("race", &key).await.map(drop),
                    _ => store.create("race", &key, b("v"), None).await.map(drop),
                }
                .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let mut live = Vec::new();
    for i in 0..8 {
        let key = format!("k{i}");
        if a.get("race", &key).await.unwrap().is_some() {
            live.push(key);
        }
    }
    assert_eq!(a.keys("race", 100).await.unwrap(), live);
    assert_eq!(b_store.keys("race", 100).await.unwrap(), live);
    let expected: Vec<&str> = if live.is_empty() {
        vec![]
    } else {
        vec!["race"]
    };
    assert_eq!(a.collections(10).await.unwrap(), expected);
}

/// An entry removed behind the store's back leaves a member that listing skips.
#[tokio::test]
async fn a_raw_delete_is_not_listed() {
    let (Some(store), Some(mut raw)) = (connect().await, raw().await) else {
        return;
    };
    store.put("c", "gone", b("v"), None).await.unwrap();
    store.put("c", "kept", b("v"), None).await.unwrap();
    let _: () = raw.del(store.redis_key("c", "gone")).await.unwrap();
    assert_eq!(store.keys("c", 10).await.unwrap(), ["kept"]);
    assert_eq!(store.keys("c", 1).await.unwrap(), ["kept"]);
}

/// Data written without the index is not listed by an indexed store until
/// `build_index` runs; then it is, TTLs kept.
#[tokio::test]
async fn build_index_takes_in_data_written_without_it() {
    let namespace = unique_namespace();
    let Some(indexed) = open(namespace.clone()).await else {
        return;
    };
    let url = server_url("KV_REDIS_URL").unwrap();
    let plain = RedisStore::connect(&url)
        .await
        .unwrap()
        .with_namespace(&namespace)
        .unwrap();
    plain.put("old", "a", b("1"), None).await.unwrap();
    plain
        .put("old", "b", b("2"), Some(Duration::from_millis(1_500)))
        .await
        .unwrap();
    plain.put("other", "c", b("3"), None).await.unwrap();
    assert!(indexed.keys("old", 10).await.unwrap().is_empty());

    assert_eq!(indexed.build_index().await.unwrap(), 3);
    assert_eq!(indexed.keys("old", 10).await.unwrap(), ["a", "b"]);
    assert_eq!(indexed.collections(10).await.unwrap(), ["old", "other"]);
    tokio::time::sleep(Duration::from_millis(1_700)).await;
    assert_eq!(indexed.keys("old", 10).await.unwrap(), ["a"]);
}

/// `destroy` and `destroy_collection` leave no index behind.
#[tokio::test]
async fn destroy_removes_the_indexes() {
    let (Some(store), Some(mut raw)) = (connect().await, raw().await) else {
        return;
    };
    store.put("x", "k", b("v"), None).await.unwrap();
    store.put("y", "k", b("v"), None).await.unwrap();
    store.destroy_collection("x").await.unwrap();
    let exists: bool = raw.exists(index_key(&store, "x")).await.unwrap();
    assert!(!exists);
    assert_eq!(store.collections(10).await.unwrap(), ["y"]);
    store.destroy().await.unwrap();
    let pattern = format!("{}:*", store.namespace());
    let left: Vec<Vec<u8>> = raw.keys(pattern).await.unwrap();
    assert!(left.is_empty(), "{} keys left", left.len());
}

/// A tenant's collections on the index: `PrefixCollections` reads the collections index
/// from its prefix to its end and looks only at its own collections' entries — not at
/// the 3,000 names of another tenant sorting before them (it read them all, four pages
/// of the index, and looked at each: 3,010 liveness checks for 10 names).
#[tokio::test]
async fn a_prefix_listing_reads_the_index_from_the_prefix() {
    use kv_store_adapter::wrappers::PrefixCollections;
    let Some((_server, plain, mut raw)) = private_server().await else {
        return;
    };
    let store = plain.with_index();
    let (before, tenant) = (
        PrefixCollections::new(store.clone(), "aaa").unwrap(),
        PrefixCollections::new(store.clone(), "zzz").unwrap(),
    );
    for chunk in 0..30 {
        let puts = (0..100).map(|i| {
            let before = before.clone();
            async move {
                before
                    .put(&format!("c{chunk:02}{i:02}"), "k", b("v"), None)
                    .await
            }
        });
        let mut set = tokio::task::JoinSet::new();
        for put in puts {
            set.spawn(put);
        }
        for done in set.join_all().await {
            done.unwrap();
        }
    }
    for i in 0..10 {
        tenant
            .put(&format!("c{i}"), "k", b("v"), None)
            .await
            .unwrap();
    }
    // Loads the look's script (a fresh server answers NOSCRIPT once).
    tenant.collections(1).await.unwrap();
    redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async::<()>(&mut raw)
        .await
        .unwrap();

    assert_eq!(tenant.collections(usize::MAX).await.unwrap().len(), 10);
    let (pages, checks) = (
        calls(&mut raw, "zrange").await,
        calls(&mut raw, "evalsha").await,
    );
    // Each look is a script reading its collection's own index once.
    assert!(checks <= 10, "{checks} collections looked at for 10");
    assert!(
        pages <= checks + 1,
        "{} reads of the collections index",
        pages - checks
    );
    assert_eq!(before.collections(usize::MAX).await.unwrap().len(), 3_000);
}
