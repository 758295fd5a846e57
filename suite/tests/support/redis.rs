//! Redis-specific test helpers, shared by the Redis, Valkey and Redis Cluster tests
//! (backend helpers stay out of the generic test kit).

use kv_store_adapter::stores::{RedisConnection, RedisStore};
use kv_store_adapter::testkit::{assert_kind, b, corrupt_entry_is_a_typed_error};
use kv_store_adapter::{ErrorKind, KvStore, Version};
use std::time::Duration;

/// Writes values that are not in the Redis stores' format (a wrong format header, an
/// empty value, plain text) under the store's own keys with the store's connection, and
/// checks each with `corrupt_entry_is_a_typed_error`. For Redis, Valkey and Redis
/// Cluster alike.
pub async fn foreign_redis_values_are_corrupt<C: RedisConnection>(store: &RedisStore<C>) {
    let cases: [(&str, &[u8]); 3] = [
        ("garbage", b"\xffnot ours"),
        ("empty", b""),
        ("text", b"plain text"),
    ];
    for (key, bytes) in cases {
        redis::cmd("SET")
            .arg(store.redis_key("c", key))
            .arg(bytes)
            .query_async::<()>(&mut store.connection().clone())
            .await
            .expect("the raw client writes");
        corrupt_entry_is_a_typed_error(store, "c", key).await;
    }
    // Keys holding other types: GET says WRONGTYPE where MGET says nil; every path
    // must answer the same typed error, alone or among other keys in a batch.
    let mut conn = store.connection().clone();
    for (key, command) in [("list", "RPUSH"), ("set", "SADD")] {
        redis::cmd(command)
            .arg(store.redis_key("c", key))
            .arg("x")
            .query_async::<()>(&mut conn)
            .await
            .expect("the raw client writes");
        store.put("c", "plain", b("v"), None).await.unwrap();
        let batch = ["plain", "missing", key];
        for result in [
            store.get_many("c", &batch).await.map(drop),
            store.ttl_many("c", &batch).await.map(drop),
        ] {
            assert_kind(result, ErrorKind::Corrupt);
        }
        // A batch read asks EXISTS beside its MGET only while misses are recent, after
        // it otherwise: either way the other type fails the batch. First after a long
        // run of batches that all hit, then right after one with a miss.
        for _ in 0..100 {
            assert_eq!(store.get_many("c", &["plain"]).await.unwrap().len(), 1);
        }
        assert_kind(
            store.get_many("c", &["plain", key]).await,
            ErrorKind::Corrupt,
        );
        assert_eq!(store.get_many("c", &["missing"]).await.unwrap(), [None]);
        assert_kind(
            store.get_many("c", &["plain", key]).await,
            ErrorKind::Corrupt,
        );
        corrupt_entry_is_a_typed_error(store, "c", key).await;
    }
    conditional_writes_on_old_and_foreign_values(store).await;
}

/// Conditional writes over values the store did not write in its current format: a
/// value in 0.1's format (format byte 1, no version) has version 0 until rewritten;
/// foreign bytes and other types are corrupt data, and nothing is written over them.
async fn conditional_writes_on_old_and_foreign_values<C: RedisConnection>(store: &RedisStore<C>) {
    let mut conn = store.connection().clone();
    let raw_set = |key: &str, bytes: &'static [u8]| {
        let mut cmd = redis::cmd("SET");
        cmd.arg(store.redis_key("cond", key)).arg(bytes);
        cmd
    };
    raw_set("old", b"\x01from 0.1")
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    let entry = store.get_entry("cond", "old").await.unwrap().unwrap();
    assert_eq!(entry.value, "from 0.1");
    assert_eq!(entry.version, Some(Version::new(0)));
    let created = store.create("cond", "old", b("new"), None).await.unwrap();
    assert_eq!(
        created.current().map(|e| e.value.clone()),
        Some(b("from 0.1"))
    );
    assert!(
        !store
            .put_if_version("cond", "old", b("x"), Version::unique(), None)
            .await
            .unwrap()
            .is_applied()
    );
    let written = store
        .put_if_version("cond", "old", b("rewritten"), Version::new(0), None)
        .await
        .unwrap();
    let new = written.version().expect("an applied write's version");
    assert_ne!(new, Version::new(0));
    assert_eq!(
        store
            .get_entry("cond", "old")
            .await
            .unwrap()
            .unwrap()
            .version,
        Some(new)
    );

    for (key, bytes) in [("garbage", &b"\xffnot ours"[..]), ("short", b"\x02abc")] {
        raw_set(key, bytes)
            .query_async::<()>(&mut conn)
            .await
            .unwrap();
        assert_kind(
            store.create("cond", key, b("x"), None).await,
            ErrorKind::Corrupt,
        );
        assert_kind(
            store
                .put_if_version("cond", key, b("x"), Version::new(0), None)
                .await,
            ErrorKind::Corrupt,
        );
        assert!(
            !store
                .delete_if_version("cond", key, Version::new(0))
                .await
                .unwrap()
        );
        let raw: Vec<u8> = redis::cmd("GET")
            .arg(store.redis_key("cond", key))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(raw, bytes, "a conditional write changed foreign bytes");
    }
    redis::cmd("RPUSH")
        .arg(store.redis_key("cond", "list"))
        .arg("x")
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    assert_kind(
        store.create("cond", "list", b("x"), None).await,
        ErrorKind::Corrupt,
    );
    assert_kind(
        store
            .put_if_version("cond", "list", b("x"), Version::new(0), None)
            .await,
        ErrorKind::Corrupt,
    );
}

/// An indexed store with more collections than one page of names (1,000), a tenth of
/// them dead: `collections()` reads the names a page at a time, in order, skipping the
/// dead. For the one-server and the cluster index alike.
#[allow(dead_code)] // used by the indexed tests only
pub async fn collections_page_through_many_names<C: RedisConnection>(store: &RedisStore<C>) {
    let short = Some(Duration::from_millis(100));
    for i in 0..1_050 {
        let ttl = (i % 10 == 0).then_some(short).flatten();
        store
            .put(&format!("c{i:04}"), "k", b("v"), ttl)
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let expected: Vec<String> = (0..1_050)
        .filter(|i| i % 10 != 0)
        .map(|i| format!("c{i:04}"))
        .collect();
    assert_eq!(store.collections(usize::MAX).await.unwrap(), expected);
    assert_eq!(store.collections(920).await.unwrap(), expected[..920]);
    store.destroy().await.unwrap();
}

/// An index member whose entry is gone (a raw `DEL` behind the store's back, or a
/// `destroy_collection` racing a write, whose key scan removes an entry written after
/// the index went) does not make an empty collection listed, with or without a TTL;
/// and more such members than one look checks (1,000) are all looked past.
#[allow(dead_code)] // used by the indexed tests only
pub async fn collections_skip_members_whose_entries_are_gone<C: RedisConnection>(
    store: &RedisStore<C>,
) {
    let mut conn = store.connection().clone();
    let raw_del = |c: &str, keys: &[String]| {
        let mut cmd = redis::cmd("DEL");
        for k in keys {
            cmd.arg(store.redis_key(c, k));
        }
        cmd
    };
    let one = vec!["k".to_owned()];
    store.put("kept", "k", b("v"), None).await.unwrap();
    store.put("plain", "k", b("v"), None).await.unwrap();
    store
        .put("expiring", "k", b("v"), Some(Duration::from_secs(600)))
        .await
        .unwrap();
    for c in ["plain", "expiring"] {
        raw_del(c, &one).query_async::<()>(&mut conn).await.unwrap();
    }
    let many: Vec<String> = (0..1_500).map(|i| format!("k{i:04}")).collect();
    let entries: Vec<(&str, bytes::Bytes)> = many.iter().map(|k| (k.as_str(), b("v"))).collect();
    store.put_many("many", &entries, None).await.unwrap();
    raw_del("many", &many[..1_499])
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    assert_eq!(store.collections(10).await.unwrap(), ["kept", "many"]);
    assert_eq!(store.keys("many", 10).await.unwrap(), ["k1499"]);
    raw_del("many", &many[1_499..])
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    assert_eq!(store.collections(10).await.unwrap(), ["kept"]);
    // Listed again as soon as it holds an entry again.
    store.put("plain", "k", b("v"), None).await.unwrap();
    assert_eq!(store.collections(10).await.unwrap(), ["kept", "plain"]);
    store.destroy().await.unwrap();
}

/// `destroy_collection` (or with `whole`, `destroy`) racing a writer of new keys, over
/// a collection big enough that the scan takes many round trips: every entry that
/// survives is still listed by `keys()` and its collection by `collections()`. (The
/// scan used to take out an index that the writer had re-created meanwhile, leaving
/// the writer's surviving entries unlisted.)
#[allow(dead_code)] // used by the indexed tests only
pub async fn entries_surviving_destroy_stay_listed<C: RedisConnection>(
    store: &RedisStore<C>,
    whole: bool,
) {
    use std::sync::atomic::{AtomicBool, Ordering};
    let filler: Vec<String> = (0..20_000).map(|i| format!("f{i:05}")).collect();
    for round in 0..3 {
        let entries: Vec<(&str, bytes::Bytes)> =
            filler.iter().map(|k| (k.as_str(), b("v"))).collect();
        store.put_many("c", &entries, None).await.unwrap();
        let done = AtomicBool::new(false);
        let writes = async {
            let mut written = Vec::new();
            while !done.load(Ordering::Relaxed) {
                let key = format!("w{round}-{}", written.len());
                store.put("c", &key, b("v"), None).await.unwrap();
                written.push(key);
            }
            written
        };
        let destroy = async {
            if whole {
                store.destroy().await.unwrap();
            } else {
                store.destroy_collection("c").await.unwrap();
            }
            done.store(true, Ordering::Relaxed);
        };
        let (written, ()) = tokio::join!(writes, destroy);
        let listed = store.keys("c", 1_000_000).await.unwrap();
        let mut live = Vec::new();
        for key in &written {
            if store.get("c", key).await.unwrap().is_some() {
                live.push(key.clone());
            }
        }
        let unlisted: Vec<&String> = live.iter().filter(|k| !listed.contains(*k)).collect();
        assert!(
            unlisted.is_empty(),
            "round {round}: {} of {} written keys survived, {} of them not listed: {:?}",
            live.len(),
            written.len(),
            unlisted.len(),
            &unlisted[..unlisted.len().min(5)]
        );
        assert_eq!(
            store
                .collections(10)
                .await
                .unwrap()
                .contains(&"c".to_string()),
            !live.is_empty(),
            "round {round}"
        );
        store.destroy_collection("c").await.unwrap();
    }
}
