//! MongoStore against the raw mongodb driver doing the same operations, same run.
//! Needs KV_MONGO_URL (scripts/servers.sh); without it, says so and measures nothing.

#[macro_use]
mod common;

use std::hint::black_box;

use bytes::Bytes;
use kv_store_adapter::KvStore;
use kv_store_adapter::stores::MongoStore;
use mongodb::bson::{Binary, Document, doc, spec::BinarySubtype};
use tokio::runtime::Runtime;

const KEYS: usize = 1_000;
const BATCH: usize = 100;

struct Setup {
    rt: Runtime,
    store: MongoStore,
    raw: mongodb::Collection<Document>,
    db: mongodb::Database,
    keys: Vec<String>,
    value: Bytes,
}

impl Setup {
    fn new(url: &str) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (store, db) = rt.block_on(async {
            let store = MongoStore::open(url, "kvbench")
                .await
                .unwrap()
                .with_prefix("bench")
                .unwrap();
            let db = mongodb::Client::with_uri_str(url)
                .await
                .unwrap()
                .database("kvbench");
            (store, db)
        });
        let raw = db.collection(&store.mongo_collection_name("users"));
        let keys: Vec<String> = (0..KEYS).map(|i| format!("user:{i:08}")).collect();
        let value = Bytes::from(vec![7u8; 100]);
        let entries: Vec<(&str, Bytes)> =
            keys.iter().map(|k| (k.as_str(), value.clone())).collect();
        rt.block_on(store.put_many("users", &entries, None))
            .unwrap();
        Self {
            rt,
            store,
            raw,
            db,
            keys,
            value,
        }
    }

    fn doc(&self, key: &str) -> Document {
        doc! { "_id": key, "k": key, "v": Binary { subtype: BinarySubtype::Generic, bytes: self.value.to_vec() } }
    }

    fn batch(&self, i: usize) -> &[String] {
        let start = (i * BATCH) % (KEYS - BATCH);
        &self.keys[start..start + BATCH]
    }

    async fn store_get(&self, i: usize) {
        black_box(self.store.get("users", &self.keys[i % KEYS]).await.unwrap());
    }

    async fn raw_get(&self, i: usize) {
        black_box(
            self.raw
                .find_one(doc! { "_id": &self.keys[i % KEYS] })
                .await
                .unwrap(),
        );
    }

    async fn store_put(&self, i: usize) {
        self.store
            .put("users", &self.keys[i % KEYS], self.value.clone(), None)
            .await
            .unwrap();
    }

    async fn raw_put(&self, i: usize) {
        let key = &self.keys[i % KEYS];
        self.raw
            .replace_one(doc! { "_id": key }, self.doc(key))
            .upsert(true)
            .await
            .unwrap();
    }

    async fn store_get_many(&self, i: usize) {
        let keys: Vec<&str> = self.batch(i).iter().map(String::as_str).collect();
        black_box(self.store.get_many("users", &keys).await.unwrap());
    }

    async fn raw_get_many(&self, i: usize) {
        let mut cursor = self
            .raw
            .find(doc! { "_id": { "$in": self.batch(i) } })
            .await
            .unwrap();
        let mut found = Vec::new();
        while cursor.advance().await.unwrap() {
            found.push(cursor.deserialize_current().unwrap());
        }
        black_box(found);
    }

    async fn store_put_many(&self, i: usize) {
        let entries: Vec<(&str, Bytes)> = self
            .batch(i)
            .iter()
            .map(|k| (k.as_str(), self.value.clone()))
            .collect();
        self.store.put_many("users", &entries, None).await.unwrap();
    }

    async fn raw_put_many(&self, i: usize) {
        let updates: Vec<Document> = self
            .batch(i)
            .iter()
            .map(|k| doc! { "q": { "_id": k }, "u": self.doc(k), "upsert": true })
            .collect();
        self.db
            .run_command(doc! { "update": self.raw.name(), "updates": updates, "ordered": true })
            .await
            .unwrap();
    }
}

server_bench!(
    "mongodb",
    "KV_MONGO_URL",
    [
        ("get (vs find_one)", store_get, raw_get, 0.9),
        ("put (vs replace_one upsert)", store_put, raw_put, 0.9),
        (
            "get_many 100 (vs $in find)",
            store_get_many,
            raw_get_many,
            0.9
        ),
        (
            "put_many 100 (vs update command)",
            store_put_many,
            raw_put_many,
            0.9
        ),
    ]
);
