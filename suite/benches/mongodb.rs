//! MongoStore against the raw mongodb driver doing the same operations on the same
//! documents, same run: the standard workloads. Needs KV_MONGO_URL (scripts/servers.sh);
//! without it, says so and measures nothing.
//!
//! `delete` answers whether a live entry was removed, so both sides delete with the
//! store's live filter on the expiry; on the SecantusDB test server that filter costs
//! 20–25% against a bare `_id` delete, which cannot answer the question.

mod common;

use bytes::Bytes;
use common::workloads::{COLLECTION, Ours, Side, all, compare};
use kv_store_adapter::stores::MongoStore;
use mongodb::bson::{Binary, Bson, DateTime, Document, doc, spec::BinarySubtype};

/// The raw driver on the store's collection, writing the store's document shape.
#[derive(Clone)]
struct Raw {
    coll: mongodb::Collection<Document>,
    db: mongodb::Database,
}

/// The store's `_id` of `key`.
fn id(key: &str) -> Bson {
    MongoStore::document_id(COLLECTION, key)
}

/// The store's document: collection, key, value and a new 16-byte version.
fn document(key: &str, value: &[u8]) -> Document {
    let version = kv_store_adapter::Version::unique().to_bytes().to_vec();
    doc! {
        "_id": id(key),
        "c": COLLECTION,
        "k": key,
        "v": Binary { subtype: BinarySubtype::Generic, bytes: value.to_vec() },
        "n": Binary { subtype: BinarySubtype::Generic, bytes: version },
    }
}

impl Side for Raw {
    async fn get(&self, key: &str) -> Option<Bytes> {
        let found = self.coll.find_one(doc! { "_id": id(key) }).await.unwrap();
        found.and_then(|d| {
            d.get_binary_generic("v")
                .ok()
                .map(|v| Bytes::copy_from_slice(v))
        })
    }

    async fn put(&self, key: &str, value: Bytes) {
        self.coll
            .replace_one(doc! { "_id": id(key) }, document(key, &value))
            .upsert(true)
            .await
            .unwrap();
    }

    async fn delete(&self, key: &str) {
        // The store's question: was a *live* entry removed? Only a delete filtered on
        // the expiry answers it in one request (a bare `_id` delete would also count a
        // document past its deadline that the TTL monitor has not reaped yet).
        let live = doc! { "$not": { "$lte": DateTime::now() } };
        self.coll
            .delete_one(doc! { "_id": id(key), "x": live })
            .await
            .unwrap();
    }

    async fn get_many(&self, keys: &[&str]) -> usize {
        let ids: Vec<Bson> = keys.iter().map(|k| id(k)).collect();
        let mut cursor = self
            .coll
            .find(doc! { "_id": { "$in": ids } })
            .await
            .unwrap();
        let mut found = Vec::new();
        while cursor.advance().await.unwrap() {
            found.push(cursor.deserialize_current().unwrap());
        }
        found.len()
    }

    async fn put_many(&self, keys: &[&str], value: Bytes) {
        let updates: Vec<Document> = keys
            .iter()
            .map(|k| doc! { "q": { "_id": id(k) }, "u": document(k, &value), "upsert": true })
            .collect();
        self.db
            .run_command(doc! { "update": self.coll.name(), "updates": updates, "ordered": true })
            .await
            .unwrap();
    }
}

fn main() {
    let Some(url) = common::server_url("mongodb", "KV_MONGO_URL") else {
        return;
    };
    let rt = common::runtime();
    let (store, raw) = rt.block_on(async {
        let store = MongoStore::connect(&url, "kvbench").await.unwrap();
        let store = store.with_namespace("bench").unwrap();
        let db = mongodb::Client::with_uri_str(&url)
            .await
            .unwrap()
            .database("kvbench");
        let coll = db.collection(&store.mongo_collection_name());
        (store, Raw { coll, db })
    });
    let mut c = common::criterion().measurement_time(std::time::Duration::from_secs(2));
    compare(&mut c, &rt, "mongodb", Ours(store), raw, &all(0.9), 20);
    c.final_summary();
}
