//! Property tests over random Unicode names: every store's name mapping keeps distinct
//! `(collection, key)` pairs apart and enumeration gives back the originals, checked on
//! the pure mappings (many cases) and on every real store (fewer cases for servers).
#![cfg(feature = "full")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use bytes::Bytes;
use kv_store_adapter::fuzzing;
use kv_store_adapter::stores::{
    DiskStore, ElasticsearchStore, MemcachedStore, MemoryStore, MongoStore, MultiDiskStore,
    RedisStore, SimpleStore,
};
use kv_store_adapter::testkit::{server_url, unique_namespace};
use kv_store_adapter::{EnumerateCollections, EnumerateKeys, KvStore, KvStoreExt};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// A name: separators, path pieces, braces, prefix separators, controls (no NUL), any
/// Unicode, or a long run up to the 4 KiB limit.
fn name() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("::".to_owned()),
        Just(":".to_owned()),
        Just("/".to_owned()),
        Just("\\".to_owned()),
        Just("..".to_owned()),
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("\u{1F}".to_owned()),
        Just("#".to_owned()),
        Just("$".to_owned()),
        Just("0".to_owned()),
        "[\u{1}-\u{1F}\u{7F}]",
        "[a-zA-Z0-9_-]{1,4}",
        "[^\u{0}]{1,3}",
    ];
    prop_oneof![
        8 => prop::collection::vec(piece, 1..6).prop_map(|parts| parts.concat()),
        1 => ("[a-z:/]{1,3}", 1000usize..1400).prop_map(|(unit, n)| {
            let mut long = unit.repeat(n);
            long.truncate(kv_store_adapter::names::MAX_NAME_LEN);
            long
        }),
    ]
}

fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((name(), name()), 1..6)
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

#[test]
fn pure_mappings_are_injective_and_reversible() {
    runner(2_000)
        .run(&(name(), name()), |(c, k)| {
            fuzzing::names(&c, &k);
            fuzzing::redaction(&c, &k);
            Ok(())
        })
        .unwrap();
}

/// Collections and keys that look like a document id's own syntax
/// (`{bytes of collection}.{collection}={key}`), and lengths on either side of the
/// 512-byte `_id` limit and of the longest name: each maps to its own id, readable
/// back or a hash of both (`fuzzing::names` checks every store's mapping).
#[test]
fn document_ids_at_their_edges() {
    let long = |unit: &str, n: usize| unit.repeat(n);
    let pairs = [
        ("a".to_owned(), "b=c".to_owned()),
        ("a=b".to_owned(), "c".to_owned()),
        ("a".to_owned(), "1.a=b".to_owned()),
        ("1.a".to_owned(), "b".to_owned()),
        ("3.a=b".to_owned(), "=".to_owned()),
        ("c".to_owned(), long("k", 506)),
        ("c".to_owned(), long("k", 507)),
        ("c".to_owned(), long("k", 508)),
        ("c".to_owned(), long("k", 509)),
        (long("c", 4096), "k".to_owned()),
        (long("ü", 2048), long("=", 4096)),
    ];
    for (c, k) in &pairs {
        fuzzing::names(c, k);
    }
}

#[test]
fn name_decoders_accept_only_what_encoders_write() {
    runner(2_000)
        .run(&prop::collection::vec(any::<u8>(), 0..64), |data| {
            fuzzing::name_decoders(&data);
            Ok(())
        })
        .unwrap();
}

#[test]
fn stored_entry_decoders_never_panic_and_round_trip() {
    runner(1_000)
        .run(&prop::collection::vec(any::<u8>(), 0..96), |data| {
            fuzzing::entries(&data);
            fuzzing::compress(&data);
            fuzzing::encrypt(&data);
            Ok(())
        })
        .unwrap();
}

#[test]
fn memcached_answers_parse_the_same_whatever_the_reads() {
    runner(2_000)
        .run(&prop::collection::vec(any::<u8>(), 0..200), |data| {
            fuzzing::memcached_answers(&data);
            Ok(())
        })
        .unwrap();
}

/// Writes a distinct value under each pair, then checks reads (the last write wins for
/// repeated pairs) and, when `enumerate`, `collections()` and `keys()`.
async fn distinct_and_enumerable<S>(store: &S, pairs: &[(String, String)], enumerate: bool)
where
    S: KvStore + EnumerateKeys + EnumerateCollections,
{
    let mut expected = BTreeMap::new();
    for (i, (c, k)) in pairs.iter().enumerate() {
        let value = Bytes::from(i.to_string());
        store.put(c, k, value.clone(), None).await.unwrap();
        expected.insert((c.clone(), k.clone()), value);
    }
    reads_back(store, &expected).await;
    if !enumerate {
        return;
    }
    let collections: BTreeSet<String> = expected.keys().map(|(c, _)| c.clone()).collect();
    let listed: BTreeSet<String> = store.collections(1000).await.unwrap().into_iter().collect();
    assert_eq!(listed, collections);
    for c in &collections {
        let keys: BTreeSet<String> = expected
            .keys()
            .filter(|(ec, _)| ec == c)
            .map(|(_, k)| k.clone())
            .collect();
        let listed: BTreeSet<String> = store.keys(c, 1000).await.unwrap().into_iter().collect();
        assert_eq!(listed, keys, "keys of {c:?}");
    }
}

async fn reads_back<S: KvStore>(store: &S, expected: &BTreeMap<(String, String), Bytes>) {
    for ((c, k), value) in expected {
        assert_eq!(
            store.get(c, k).await.unwrap().as_ref(),
            Some(value),
            "{c:?}/{k:?}"
        );
    }
}

/// Runs `check` on `cases` random pair lists, each against a fresh store from `make`.
fn on_real_store<S, M, F>(cases: u32, make: M)
where
    M: Fn() -> F,
    F: std::future::Future<Output = Option<(S, Box<dyn std::any::Any>)>>,
    S: KvStore + EnumerateKeys + EnumerateCollections,
{
    let rt = tokio::runtime::Runtime::new().unwrap();
    runner(cases)
        .run(&pairs(), |pairs| {
            rt.block_on(async {
                if let Some((store, _guard)) = make().await {
                    distinct_and_enumerable(&store, &pairs, true).await;
                }
            });
            Ok(())
        })
        .unwrap();
}

fn no_guard() -> Box<dyn std::any::Any> {
    Box::new(())
}

#[test]
fn memory_store() {
    on_real_store(200, || async {
        Some((MemoryStore::with_max_entries(1000), no_guard()))
    });
}

#[test]
fn simple_store() {
    on_real_store(200, || async { Some((SimpleStore::new(), no_guard())) });
}

#[test]
fn disk_store() {
    on_real_store(48, || async {
        let dir = tempfile::tempdir().unwrap();
        let store = DiskStore::builder(dir.path().join("kv.redb"))
            .durable(false)
            .open()
            .unwrap();
        Some((store, Box::new(dir) as Box<dyn std::any::Any>))
    });
}

/// Every file MultiDiskStore makes stays a plain file directly in its base directory.
fn only_files_in(base: &Path, root: &Path) {
    let outside: Vec<_> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        outside,
        ["base"],
        "something was created beside the base directory"
    );
    for entry in std::fs::read_dir(base).unwrap() {
        let entry = entry.unwrap();
        assert!(
            entry.file_type().unwrap().is_file(),
            "{:?} is not a plain file",
            entry.path()
        );
    }
}

#[test]
fn multi_disk_store_stays_inside_its_directory() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    runner(24)
        .run(&pairs(), |pairs| {
            let root = tempfile::tempdir().unwrap();
            let base = root.path().join("base");
            rt.block_on(async {
                let store = MultiDiskStore::with_durability(&base, false).unwrap();
                distinct_and_enumerable(&store, &pairs, true).await;
            });
            only_files_in(&base, root.path());
            Ok(())
        })
        .unwrap();
}

#[test]
fn renaming_wrappers() {
    on_real_store(100, || async {
        Some((
            MemoryStore::with_max_entries(1000)
                .single_collection("all")
                .unwrap(),
            no_guard(),
        ))
    });
    on_real_store(100, || async {
        let store = MemoryStore::with_max_entries(1000)
            .prefix_collections("t")
            .unwrap()
            .prefix_keys("k")
            .unwrap();
        Some((store, no_guard()))
    });
}

/// A Redis-protocol server named by `var`, a fresh namespace per case.
fn redis_like(var: &'static str, cases: u32) {
    on_real_store(cases, move || async move {
        let url = server_url(var)?;
        let store = RedisStore::connect(&url).await.unwrap();
        Some((
            store.with_namespace(&unique_namespace()).unwrap(),
            no_guard(),
        ))
    });
}

#[test]
fn redis_store() {
    redis_like("KV_REDIS_URL", 32);
}

#[test]
fn valkey_store() {
    redis_like("KV_VALKEY_URL", 16);
}

#[test]
fn memcached_store() {
    // Memcached cannot enumerate: distinct pairs must still read back their own values.
    let rt = tokio::runtime::Runtime::new().unwrap();
    runner(32)
        .run(&pairs(), |pairs| {
            rt.block_on(async {
                let Some(url) = server_url("KV_MEMCACHED_URL") else {
                    return;
                };
                let store = MemcachedStore::connect(&url)
                    .await
                    .unwrap()
                    .with_namespace(&unique_namespace())
                    .unwrap();
                let mut expected = BTreeMap::new();
                for (i, (c, k)) in pairs.iter().enumerate() {
                    let value = Bytes::from(i.to_string());
                    store.put(c, k, value.clone(), None).await.unwrap();
                    expected.insert((c.clone(), k.clone()), value);
                }
                reads_back(&store, &expected).await;
            });
            Ok(())
        })
        .unwrap();
}

#[test]
fn mongo_store() {
    on_real_store(6, || async {
        let url = server_url("KV_MONGO_URL")?;
        let store = MongoStore::connect(&url, "kvtest")
            .await
            .unwrap()
            .with_namespace(&unique_namespace())
            .unwrap();
        Some((store, no_guard()))
    });
}

#[test]
fn elasticsearch_store() {
    on_real_store(6, || async {
        let url = server_url("KV_ELASTICSEARCH_URL")?;
        let prefix = unique_namespace().to_lowercase().replace('-', "_");
        let store = ElasticsearchStore::connect(&url)
            .await
            .unwrap()
            .with_namespace(&prefix)
            .unwrap();
        Some((store, no_guard()))
    });
}
