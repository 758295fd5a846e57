//! ElasticsearchStore against the raw official client sending the same requests for
//! the same documents, same run: the standard workloads. Writes wait for a refresh on
//! both sides (the store's default, so `keys()` sees them). Needs KV_ELASTICSEARCH_URL
//! (scripts/servers.sh); without it, says so and measures nothing.
//!
//! `delete` answers whether a live entry was removed, so the store reads the document
//! (its expiry) before deleting it: two requests to the raw client's one, target 0.45.

mod common;

use base64::Engine;
use bytes::Bytes;
use common::workloads::{COLLECTION, Kind, Ours, Side, compare};
use elasticsearch::Elasticsearch;
use elasticsearch::http::Method;
use elasticsearch::http::headers::{CONTENT_TYPE, HeaderMap, HeaderValue};
use elasticsearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use kv_store_adapter::stores::ElasticsearchStore;
use serde_json::{Value, json};

#[derive(Clone)]
struct Raw {
    client: Elasticsearch,
    index: String,
}

impl Raw {
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
            .client
            .send(method, path, headers, query, body, None)
            .await
            .unwrap();
        response.json().await.unwrap()
    }

    /// The store's `_id` of `key`, percent-encoded for a path.
    fn doc_path(&self, key: &str) -> String {
        let id = ElasticsearchStore::document_id(COLLECTION, key);
        format!(
            "/{}/_doc/{}",
            self.index,
            id.replace('=', "%3D").replace(':', "%3A")
        )
    }

    fn source(key: &str, value: &[u8]) -> Value {
        let v = base64::engine::general_purpose::STANDARD.encode(value);
        json!({ "c": COLLECTION, "k": key, "v": v })
    }
}

impl Side for Raw {
    async fn get(&self, key: &str) -> Option<Bytes> {
        let reply = self
            .send(Method::Get, &self.doc_path(key), false, None)
            .await;
        reply["_source"]["v"]
            .as_str()
            .map(|v| Bytes::from(v.to_owned()))
    }

    async fn put(&self, key: &str, value: Bytes) {
        let body = serde_json::to_vec(&Self::source(key, &value)).unwrap();
        self.send(Method::Put, &self.doc_path(key), true, Some(body))
            .await;
    }

    async fn delete(&self, key: &str) {
        self.send(Method::Delete, &self.doc_path(key), true, None)
            .await;
    }

    async fn get_many(&self, keys: &[&str]) -> usize {
        let ids: Vec<String> = keys
            .iter()
            .map(|k| ElasticsearchStore::document_id(COLLECTION, k))
            .collect();
        let body = serde_json::to_vec(&json!({ "ids": ids })).unwrap();
        let reply = self
            .send(
                Method::Post,
                &format!("/{}/_mget", self.index),
                false,
                Some(body),
            )
            .await;
        reply["docs"].as_array().map_or(0, Vec::len)
    }

    async fn put_many(&self, keys: &[&str], value: Bytes) {
        let mut body = Vec::new();
        for key in keys {
            let id = ElasticsearchStore::document_id(COLLECTION, key);
            let action = json!({ "index": { "_index": self.index, "_id": id } });
            serde_json::to_writer(&mut body, &action).unwrap();
            body.push(b'\n');
            serde_json::to_writer(&mut body, &Self::source(key, &value)).unwrap();
            body.push(b'\n');
        }
        self.send(Method::Post, "/_bulk", true, Some(body)).await;
    }
}

fn main() {
    let Some(url) = common::server_url("elasticsearch", "KV_ELASTICSEARCH_URL") else {
        return;
    };
    let rt = common::runtime();
    let store = rt
        .block_on(ElasticsearchStore::connect(&url))
        .unwrap()
        .with_namespace("bench")
        .unwrap();
    let pool = SingleNodeConnectionPool::new(url.parse().unwrap());
    let client = Elasticsearch::new(TransportBuilder::new(pool).disable_proxy().build().unwrap());
    let raw = Raw {
        client,
        index: store.index_name(),
    };
    // The store creates its index on first write; the raw side then writes into it.
    let mut c = common::criterion().measurement_time(std::time::Duration::from_secs(2));
    let targets = Kind::ALL.map(|k| (k, if k == Kind::Delete { 0.45 } else { 0.9 }));
    compare(&mut c, &rt, "elasticsearch", Ours(store), raw, &targets, 20);
    c.final_summary();
}
