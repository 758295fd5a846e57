//! MongoStore against a MongoDB-wire server (SecantusDB, started by scripts/servers.sh).
#![cfg(feature = "mongodb")]

use kv_store_adapter::KvStore;
use std::time::Duration;

use kv_store_adapter::stores::{MongoStore, Timeouts};
use kv_store_adapter::testkit::basics::value_over_the_limit_is_too_large_and_writes_nothing;
use kv_store_adapter::testkit::{b, corrupt_entry_is_a_typed_error, server_url, unique_namespace};
use mongodb::bson::{Document, doc};

/// A store on `namespace`; two calls are two instances, as two processes would open.
///
/// Round trips may take up to two minutes here, not the default 30 s: the test server
/// is one Python process shared by every test thread, and on a loaded machine one
/// write of 1,000 upserts has taken longer than 30 s in CI (0.3 s when idle). These
/// tests check results, not latency; timeouts are tested on stalled private servers.
async fn open(namespace: String) -> Option<MongoStore> {
    let url = server_url("KV_MONGO_URL")?;
    let timeouts = Timeouts::documents().operation(Duration::from_secs(120));
    let store = MongoStore::connect_with_timeouts(&url, "kvtest", timeouts)
        .await
        .expect("the server answers");
    Some(store.with_namespace(&namespace).unwrap())
}

async fn connect() -> Option<MongoStore> {
    open(unique_namespace()).await
}

kv_store_adapter::conformance_suite!(
    store = match connect().await { Some(store) => store, None => return };
    basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, conditional_writes);

/// The setting `MongoStore`'s docs advise under `Coalesce`: batches sent after one tick.
/// (Conditional writes go straight to the inner store; the Redis suite runs them
/// through `Coalesce`.)
mod coalesced {
    use super::*;
    use kv_store_adapter::KvStoreExt;
    kv_store_adapter::conformance_suite!(
        store = match connect().await { Some(store) => store.coalesce().gather_ticks(0), None => return };
        basics);
}

mod instances {
    use super::*;
    kv_store_adapter::instances_suite!(
        pair = match kv_store_adapter::testkit::instances::Instances::on_one_namespace(open).await { Some(pair) => pair, None => return };
        basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, destroy_enumerated,
        conditional_writes);
}

async fn raw_db() -> Option<mongodb::Database> {
    let url = server_url("KV_MONGO_URL")?;
    Some(
        mongodb::Client::with_uri_str(url)
            .await
            .unwrap()
            .database("kvtest"),
    )
}

#[tokio::test]
async fn documents_have_the_documented_shape_and_a_ttl_index() {
    let (Some(store), Some(db)) = (connect().await, raw_db().await) else {
        return;
    };
    store
        .put(
            "users",
            "ada",
            b("1815"),
            Some(std::time::Duration::from_secs(60)),
        )
        .await
        .unwrap();
    store.put("users", "ada", b("1815"), None).await.unwrap();
    let coll = db.collection::<Document>(&store.mongo_collection_name());
    let doc = coll.find_one(doc! {}).await.unwrap().unwrap();
    assert_eq!(doc.get_str("_id").unwrap(), "5.users=ada");
    assert_eq!(doc.get_str("c").unwrap(), "users");
    assert_eq!(doc.get_str("k").unwrap(), "ada");
    assert!(
        doc.get("x").is_none(),
        "a put without TTL removes the expiry: {doc:?}"
    );
    let names: Vec<String> = coll.list_index_names().await.unwrap();
    assert!(names.iter().any(|n| n.starts_with("x")), "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("c_1_k_1")), "{names:?}");
}

/// A collection dropped from outside while an instance still trusts it as prepared:
/// the next writes recreate it (without a TTL index for up to a minute), and entries
/// still list, expire on time and go with `destroy`.
#[tokio::test]
async fn a_collection_dropped_from_outside_keeps_working() {
    let (Some(store), Some(db)) = (connect().await, raw_db().await) else {
        return;
    };
    store.put("users", "ada", b("v"), None).await.unwrap();
    let coll = db.collection::<Document>(&store.mongo_collection_name());
    coll.drop().await.unwrap();
    let short = Some(std::time::Duration::from_millis(300));
    store.put("users", "brief", b("x"), short).await.unwrap();
    store.put("users", "grace", b("w"), None).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(store.get("users", "brief").await.unwrap(), None);
    assert_eq!(store.keys("users", 10).await.unwrap(), ["grace"]);
    assert_eq!(store.collections(10).await.unwrap(), ["users"]);
    store.destroy().await.unwrap();
    assert!(store.collections(10).await.unwrap().is_empty());
    assert_eq!(store.get("users", "grace").await.unwrap(), None);
}

/// However many collections are written, hostile names among them, the database
/// holds one Mongo collection of the store's (a collection each costs the server files
/// and memory and meets a hosted tier's collection limit), and `collections()` gives
/// every name back.
#[tokio::test]
async fn every_collection_shares_one_mongo_collection() {
    let (Some(store), Some(db)) = (connect().await, raw_db().await) else {
        return;
    };
    let long = "n".repeat(4096);
    let mut names: Vec<String> = (0..200).map(|i| format!("c{i:03}")).collect();
    names.extend(
        [
            "with.dot", "$dollar", "sp ace", "ÜTF", &long, "system.x", "a=b", "1.a",
        ]
        .map(String::from),
    );
    for n in &names {
        store.put(n, "k", b(n), None).await.unwrap();
    }
    let own = store.mongo_collection_name();
    let prefix = own.trim_end_matches("entries");
    let filter = doc! { "name": { "$regex": format!("^{}", regex_escape(prefix)) } };
    let listed = db.list_collection_names().filter(filter).await.unwrap();
    assert_eq!(listed, [own.as_str()]);
    names.sort();
    assert_eq!(store.collections(usize::MAX).await.unwrap(), names);
    assert_eq!(store.collections(3).await.unwrap(), names[..3]);
    for n in &names {
        assert_eq!(store.get(n, "k").await.unwrap(), Some(b(n)), "{n:?}");
    }
    store.destroy_collection("c001").await.unwrap();
    let left = store.collections(usize::MAX).await.unwrap();
    assert_eq!(left.len(), names.len() - 1);
    store.destroy().await.unwrap();
    assert!(store.collections(10).await.unwrap().is_empty());
}

/// `text` with the characters a regular expression treats specially escaped.
fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = "\\^$.|?*+()[]{}-".contains(c);
            special.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

#[tokio::test]
async fn destroy_drops_only_this_stores_collections() {
    let (Some(store), Some(db)) = (connect().await, raw_db().await) else {
        return;
    };
    let foreign = format!("foreign-{}", unique_namespace());
    db.collection::<Document>(&foreign)
        .insert_one(doc! { "keep": true })
        .await
        .unwrap();
    store.put("c", "k", b("v"), None).await.unwrap();
    store.destroy().await.unwrap();
    assert!(store.collections(10).await.unwrap().is_empty());
    assert_eq!(
        db.collection::<Document>(&foreign)
            .count_documents(doc! {})
            .await
            .unwrap(),
        1
    );
    db.collection::<Document>(&foreign).drop().await.unwrap();
}

#[tokio::test]
async fn foreign_documents_are_corrupt_data() {
    let (Some(store), Some(db)) = (connect().await, raw_db().await) else {
        return;
    };
    store.put("c", "seed", b("v"), None).await.unwrap();
    let coll = db.collection::<Document>(&store.mongo_collection_name());
    let id = |k: &str| MongoStore::document_id("c", k);
    coll.insert_one(doc! { "_id": id("text"), "c": "c", "k": "text", "v": "a string, not binary" })
        .await
        .unwrap();
    coll.insert_one(doc! { "_id": id("nov"), "c": "c", "k": "nov" })
        .await
        .unwrap();
    coll.insert_one(doc! { "_id": id("badx"), "c": "c", "k": "badx", "v": mongodb::bson::Binary { subtype: mongodb::bson::spec::BinarySubtype::Generic, bytes: vec![1] }, "x": "soon" }).await.unwrap();
    // A document of another application, without a collection, is not one of its names.
    coll.insert_one(doc! { "_id": "foreign", "k": 1 })
        .await
        .unwrap();
    assert_eq!(store.collections(10).await.unwrap(), ["c"]);
    for key in ["text", "nov", "badx"] {
        corrupt_entry_is_a_typed_error(&store, "c", key).await;
    }
}

/// A value over MongoDB's 16 MiB document limit is refused with a typed `TooLarge`
/// (its size and the store's limit) before anything is sent: a batch holding one writes
/// none of its entries. The limit itself is stored.
#[tokio::test]
async fn a_value_over_the_document_limit_is_too_large_and_writes_nothing() {
    let Some(store) = connect().await else { return };
    let limit = MongoStore::value_limit("k");
    assert!(limit < 16 << 20 && limit > 16 << 19, "{limit}");
    value_over_the_limit_is_too_large_and_writes_nothing(&store, limit).await;
    // By create, under the shortest key, and by a batch put under the longest key a
    // caller can pass (its `_id` a hash) and under the longest one whose `_id` is the
    // plain string (`1.c=` and the key), with a TTL (the document's every field); and
    // under the longest collection name too.
    let created = store
        .create("c", "k", bytes::Bytes::from(vec![b'x'; limit]), None)
        .await
        .unwrap();
    assert!(created.is_applied());
    let long = "k".repeat(kv_store_adapter::names::MAX_NAME_LEN);
    let id = "i".repeat(508);
    let ttl = Some(Duration::from_secs(600));
    for (c, key) in [("c", &long), ("c", &id), (long.as_str(), &long)] {
        let largest = bytes::Bytes::from(vec![b'y'; MongoStore::value_limit(key)]);
        store
            .put_many(c, &[(key, largest.clone())], ttl)
            .await
            .unwrap();
        assert_eq!(store.get(c, key).await.unwrap(), Some(largest));
    }
    assert_eq!(
        store.get("c", "k").await.unwrap().map(|v| v.len()),
        Some(limit)
    );
    store.destroy().await.unwrap();
}

/// A prefixing wrapper's prefix is part of the stored key, so it leaves less room for
/// the value: a value that fits under the bare key but not under the prefixed one is
/// `TooLarge` before anything is sent, not the server's untyped refusal, and the limit
/// under the prefixed key is still stored.
#[tokio::test]
async fn a_long_prefix_leaves_less_room_and_says_so() {
    use kv_store_adapter::KvStoreExt;
    let Some(store) = connect().await else { return };
    let prefix = "p".repeat(20 << 10);
    let tenant = (&store).prefix_keys(&prefix).unwrap();
    // What the store receives: the prefix, its separator, the key.
    let limit = MongoStore::value_limit(&format!("{prefix}\u{1f}k"));
    assert!(
        limit + (20 << 10) <= MongoStore::value_limit("k"),
        "{limit}"
    );
    value_over_the_limit_is_too_large_and_writes_nothing(&tenant, limit).await;
    let largest = bytes::Bytes::from(vec![b'x'; limit]);
    tenant.put("c", "k", largest.clone(), None).await.unwrap();
    assert_eq!(tenant.get("c", "k").await.unwrap(), Some(largest));
    store.destroy().await.unwrap();
}
