//! ElasticsearchStore against the raw official client sending the same requests, same
//! run. Needs KV_ELASTICSEARCH_URL (scripts/servers.sh); without it, measures nothing.

#[macro_use]
mod common;

use std::hint::black_box;

use base64::Engine;
use bytes::Bytes;
use elasticsearch::Elasticsearch;
use elasticsearch::http::Method;
use elasticsearch::http::headers::{CONTENT_TYPE, HeaderMap, HeaderValue};
use elasticsearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use kv_store_adapter::KvStore;
use kv_store_adapter::stores::ElasticsearchStore;
use serde_json::{Value, json};
use tokio::runtime::Runtime;

const KEYS: usize = 1_000;
const BATCH: usize = 100;

struct Setup {
    rt: Runtime,
    store: ElasticsearchStore,
    raw: Elasticsearch,
    index: String,
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
        let store = rt
            .block_on(ElasticsearchStore::open(url))
            .unwrap()
            .with_prefix("bench")
            .unwrap();
        let pool = SingleNodeConnectionPool::new(url.parse().unwrap());
        let raw = Elasticsearch::new(TransportBuilder::new(pool).disable_proxy().build().unwrap());
        let keys: Vec<String> = (0..KEYS).map(|i| format!("user:{i:08}")).collect();
        let value = Bytes::from(vec![7u8; 100]);
        let entries: Vec<(&str, Bytes)> =
            keys.iter().map(|k| (k.as_str(), value.clone())).collect();
        rt.block_on(store.put_many("users", &entries, None))
            .unwrap();
        let index = store.index_name("users");
        Self {
            rt,
            store,
            raw,
            index,
            keys,
            value,
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        refresh: bool,
        body: Option<Vec<u8>>,
    ) -> Value {
        let mut headers = HeaderMap::new();
        if path.ends_with("_bulk") {
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-ndjson"),
            );
        }
        let query: Option<&[(&str, &str)]> = refresh.then_some(&[("refresh", "wait_for")]);
        let response = self
            .raw
            .send(method, path, headers, query, body, None)
            .await
            .unwrap();
        response.json().await.unwrap()
    }

    fn source(&self, key: &str) -> Value {
        json!({ "k": key, "v": base64::engine::general_purpose::STANDARD.encode(&self.value) })
    }

    fn batch(&self, i: usize) -> &[String] {
        let start = (i * BATCH) % (KEYS - BATCH);
        &self.keys[start..start + BATCH]
    }

    async fn store_get(&self, i: usize) {
        black_box(self.store.get("users", &self.keys[i % KEYS]).await.unwrap());
    }

    async fn raw_get(&self, i: usize) {
        // The store's _ids are "=" + key, percent-encoded in the path.
        let path = format!(
            "/{}/_doc/%3D{}",
            self.index,
            self.keys[i % KEYS].replace(':', "%3A")
        );
        black_box(self.send(Method::Get, &path, false, None).await);
    }

    async fn store_put(&self, i: usize) {
        self.store
            .put("users", &self.keys[i % KEYS], self.value.clone(), None)
            .await
            .unwrap();
    }

    async fn raw_put(&self, i: usize) {
        let key = &self.keys[i % KEYS];
        let path = format!("/{}/_doc/%3D{}", self.index, key.replace(':', "%3A"));
        let body = serde_json::to_vec(&self.source(key)).unwrap();
        black_box(self.send(Method::Put, &path, true, Some(body)).await);
    }

    async fn store_get_many(&self, i: usize) {
        let keys: Vec<&str> = self.batch(i).iter().map(String::as_str).collect();
        black_box(self.store.get_many("users", &keys).await.unwrap());
    }

    async fn raw_get_many(&self, i: usize) {
        let ids: Vec<String> = self.batch(i).iter().map(|k| format!("={k}")).collect();
        let body = serde_json::to_vec(&json!({ "ids": ids })).unwrap();
        black_box(
            self.send(
                Method::Post,
                &format!("/{}/_mget", self.index),
                false,
                Some(body),
            )
            .await,
        );
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
        let mut body = Vec::new();
        for key in self.batch(i) {
            serde_json::to_writer(
                &mut body,
                &json!({ "index": { "_index": self.index, "_id": format!("={key}") } }),
            )
            .unwrap();
            body.push(b'\n');
            serde_json::to_writer(&mut body, &self.source(key)).unwrap();
            body.push(b'\n');
        }
        black_box(self.send(Method::Post, "/_bulk", true, Some(body)).await);
    }
}

server_bench!(
    "elasticsearch",
    "KV_ELASTICSEARCH_URL",
    [
        ("get (vs GET _doc)", store_get, raw_get, 0.9),
        ("put (vs PUT _doc, wait_for)", store_put, raw_put, 0.9),
        ("get_many 100 (vs _mget)", store_get_many, raw_get_many, 0.9),
        ("put_many 100 (vs _bulk)", store_put_many, raw_put_many, 0.9),
    ]
);
