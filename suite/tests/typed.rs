//! TypedStore and the collection handle over real stores.
#![cfg(all(feature = "json", feature = "memory", feature = "disk"))]

use std::time::Duration;

use kv_store_adapter::codec::{Codec, JsonCodec, PostcardCodec};
use kv_store_adapter::stores::{DiskStore, MemoryStore};
use kv_store_adapter::testkit::{assert_kind, b};
use kv_store_adapter::{Error, ErrorDetail, ErrorKind, KvStore, KvStoreExt, TypedStore};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct User {
    name: String,
    born: u16,
    tags: Vec<String>,
}

fn ada() -> User {
    User {
        name: "Ada".into(),
        born: 1815,
        tags: vec!["math".into()],
    }
}

#[tokio::test]
async fn typed_values_round_trip_with_postcard() {
    let store = MemoryStore::with_max_entries(100);
    let users = store.typed::<User>("users").unwrap();
    users
        .put("ada", &ada(), Some(Duration::from_secs(60)))
        .await
        .unwrap();
    assert_eq!(users.get("ada").await.unwrap(), Some(ada()));
    let (user, left) = users.ttl("ada").await.unwrap().unwrap();
    assert_eq!(user, ada());
    assert!(left.is_some_and(|l| l <= Duration::from_secs(60)));
    assert_eq!(users.get("nobody").await.unwrap(), None);
    assert!(users.delete("ada").await.unwrap());
}

#[tokio::test]
async fn typed_batches_keep_request_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = DiskStore::open(dir.path().join("kv.redb")).unwrap();
    let users: TypedStore<_, User> = TypedStore::new(store, "users").unwrap();
    let grace = User {
        name: "Grace".into(),
        born: 1906,
        tags: vec![],
    };
    users
        .put_many(&[("ada", &ada()), ("grace", &grace)], None)
        .await
        .unwrap();
    let got = users.get_many(&["grace", "nobody", "ada"]).await.unwrap();
    assert_eq!(got, vec![Some(grace), None, Some(ada())]);
    assert_eq!(users.delete_many(&["ada", "grace"]).await.unwrap(), 2);
}

#[tokio::test]
async fn json_codec_stores_readable_json() {
    let store = MemoryStore::with_max_entries(100);
    let users: TypedStore<_, User, JsonCodec> = TypedStore::new(&store, "users").unwrap();
    users.put("ada", &ada(), None).await.unwrap();
    let raw = store.get("users", "ada").await.unwrap().unwrap();
    assert_eq!(raw, b(r#"{"name":"Ada","born":1815,"tags":["math"]}"#));
    assert_eq!(users.get("ada").await.unwrap(), Some(ada()));
}

#[tokio::test]
async fn undecodable_value_is_a_serialization_error_naming_the_entry() {
    let store = MemoryStore::with_max_entries(100);
    store
        .put("users", "bad", b("\u{ff}garbage that is not a user"), None)
        .await
        .unwrap();
    let mut trailing = PostcardCodec::encode(&ada()).unwrap();
    trailing.extend_from_slice(b"extra");
    store
        .put("users", "trailing", trailing.into(), None)
        .await
        .unwrap();
    let users = store.typed::<User>("users").unwrap();
    for key in ["bad", "trailing"] {
        match users.get(key).await.map_err(Error::into_detail) {
            Err(ErrorDetail::Serialization {
                collection, key: k, ..
            }) => {
                assert_eq!((collection.as_str(), k.as_str()), ("users", key));
            }
            other => panic!("expected a serialization error, got {other:?}"),
        }
    }
    assert_kind(users.get_many(&["bad"]).await, ErrorKind::Serialization);
}

#[tokio::test]
async fn collection_handle_binds_one_collection() {
    let store = MemoryStore::with_max_entries(100);
    let sessions = store.collection("sessions").unwrap();
    sessions.put("s1", b("a"), None).await.unwrap();
    sessions
        .put_many(&[("s2", b("b"))], Some(Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!(
        sessions.get_many(&["s1", "s2"]).await.unwrap(),
        vec![Some(b("a")), Some(b("b"))]
    );
    assert_eq!(store.get("sessions", "s2").await.unwrap(), Some(b("b")));
    assert!(
        sessions
            .ttl("s2")
            .await
            .unwrap()
            .unwrap()
            .expires_in
            .is_some()
    );
    assert_eq!(sessions.delete_many(&["s1", "s2"]).await.unwrap(), 2);
    assert_kind(store.collection(""), ErrorKind::InvalidKey);
}

#[tokio::test]
async fn typed_store_over_an_arc_can_be_spawned() {
    let store = std::sync::Arc::new(MemoryStore::with_max_entries(100));
    let users: TypedStore<_, User> = TypedStore::new(store.clone(), "users").unwrap();
    let handle = tokio::spawn(async move { users.put("ada", &ada(), None).await });
    handle.await.unwrap().unwrap();
    assert!(store.get("users", "ada").await.unwrap().is_some());
}

/// 16 tasks × 25 read-modify-write increments through `update`: none lost, on the
/// memory store and on a disk file (two store types, one rule).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_loses_no_increment_under_contention() {
    async fn run<S: KvStore + kv_store_adapter::ConditionalWrites + Clone + 'static>(store: S) {
        let counters: TypedStore<S, u64> = TypedStore::new(store, "counters").unwrap();
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let counters = counters.clone();
                tokio::spawn(async move {
                    for _ in 0..25 {
                        counters
                            .update("n", None, |n| n.unwrap_or(0) + 1)
                            .await
                            .unwrap();
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(counters.get("n").await.unwrap(), Some(400));
    }
    run(MemoryStore::new()).await;
    let dir = tempfile::tempdir().unwrap();
    run(DiskStore::open(dir.path().join("kv.redb")).unwrap()).await;
}

/// `update` over a default value creates the entry; over a value that does not decode
/// it fails and writes nothing; `get_or_insert` answers the one stored value to every
/// racer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_and_get_or_insert_keep_their_rules() {
    let inner = MemoryStore::new();
    let defaulted = inner.clone().default_value(b("\x05"), None);
    let counters: TypedStore<_, u8> = TypedStore::new(defaulted, "c").unwrap();
    assert_eq!(
        counters
            .update("k", None, |n| n.unwrap() + 1)
            .await
            .unwrap(),
        6
    );
    assert_eq!(inner.get("c", "k").await.unwrap(), Some(b("\x06")));

    inner.put("c", "bad", b(""), None).await.unwrap();
    let plain: TypedStore<_, u64> = TypedStore::new(inner.clone(), "c").unwrap();
    assert_kind(
        plain.update("bad", None, |n| n.unwrap_or(0) + 1).await,
        ErrorKind::Serialization,
    );
    assert_eq!(inner.get("c", "bad").await.unwrap(), Some(b("")));

    let owners: TypedStore<_, String> = TypedStore::new(inner.clone(), "owners").unwrap();
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let owners = owners.clone();
            tokio::spawn(async move { owners.get_or_insert("job", &format!("w{i}"), None).await })
        })
        .collect();
    let mut answers = std::collections::HashSet::new();
    for task in tasks {
        answers.insert(task.await.unwrap().unwrap());
    }
    assert_eq!(answers.len(), 1, "racers saw different owners: {answers:?}");
    assert_eq!(owners.get("job").await.unwrap(), answers.into_iter().next());
}
