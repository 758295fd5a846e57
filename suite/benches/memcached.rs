//! MemcachedStore against raw async-memcached sending the same meta commands for the
//! same keys and bytes, same run: the standard workloads. The raw client is one
//! connection behind a lock, as an application shares one. Needs KV_MEMCACHED_URL
//! (scripts/servers.sh); without it, says so and measures nothing.
//!
//! `delete` answers whether a live entry was removed; memcached keeps an entry up to a
//! second past its millisecond deadline, so the store looks before deleting (two round
//! trips to the raw client's one): its target is 0.45.

mod common;

use std::sync::Arc;

use async_memcached::{Client, MetaProtocol};
use bytes::Bytes;
use common::workloads::{COLLECTION, Kind, Ours, Side, compare};
use kv_store_adapter::stores::MemcachedStore;
use tokio::sync::Mutex;

/// The store's marker flags, 0x4B560001.
const FLAGS: u32 = 0x4B56_0001;

#[derive(Clone)]
struct Raw {
    conn: Arc<Mutex<Client>>,
    namespace: String,
}

impl Raw {
    /// The store's key for a fresh namespace (generation 0), built as it builds it.
    fn key(&self, key: &str) -> String {
        format!(
            "{}:0:{}:{COLLECTION}{key}",
            self.namespace,
            COLLECTION.len()
        )
    }

    fn framed(value: &[u8]) -> Vec<u8> {
        let mut framed = vec![0u8; 8];
        framed.extend_from_slice(value);
        framed
    }
}

impl Side for Raw {
    async fn get(&self, key: &str) -> Option<Bytes> {
        let key = self.key(key);
        let mut conn = self.conn.lock().await;
        let found = conn
            .meta_get(&key, false, None, Some(&["v", "f", "c"]))
            .await
            .unwrap();
        found.and_then(|v| v.data).map(Bytes::from)
    }

    async fn put(&self, key: &str, value: Bytes) {
        let (key, data) = (self.key(key), Self::framed(&value));
        let mut conn = self.conn.lock().await;
        conn.meta_set(
            &key,
            data.as_slice(),
            false,
            None,
            Some(&[&format!("F{FLAGS}")]),
        )
        .await
        .unwrap();
    }

    async fn delete(&self, key: &str) {
        let key = self.key(key);
        let mut conn = self.conn.lock().await;
        let _ = conn.meta_delete(&key, false, None, None).await;
    }

    async fn get_many(&self, keys: &[&str]) -> usize {
        let keys: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
        let mut conn = self.conn.lock().await;
        conn.meta_get_multi(&keys, Some(&["v", "f", "c"]))
            .await
            .unwrap()
            .len()
    }

    async fn put_many(&self, keys: &[&str], value: Bytes) {
        let items: Vec<(String, Vec<u8>)> = keys
            .iter()
            .map(|k| (self.key(k), Self::framed(&value)))
            .collect();
        let items: Vec<(&str, &[u8])> = items
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_slice()))
            .collect();
        let mut conn = self.conn.lock().await;
        conn.meta_set_multi(&items, Some(&[&format!("F{FLAGS}")]))
            .await
            .unwrap();
    }
}

fn main() {
    let Some(url) = common::server_url("memcached", "KV_MEMCACHED_URL") else {
        return;
    };
    let rt = common::runtime();
    let namespace = format!("bench{}", std::process::id());
    let (store, raw) = rt.block_on(async {
        let store = MemcachedStore::connect(&url).await.unwrap();
        let store = store.with_namespace(&namespace).unwrap();
        let address = url.trim_start_matches("memcached://");
        let conn = Client::new(format!("tcp://{address}")).await.unwrap();
        let raw = Raw {
            conn: Arc::new(Mutex::new(conn)),
            namespace: namespace.clone(),
        };
        let key = store.memcached_key(COLLECTION, "k").await.unwrap();
        assert_eq!(key, raw.key("k"), "the raw side writes the store's keys");
        (store, raw)
    });
    let mut c = common::criterion().measurement_time(std::time::Duration::from_secs(2));
    let targets = Kind::ALL.map(|k| (k, if k == Kind::Delete { 0.45 } else { 0.9 }));
    compare(&mut c, &rt, "memcached", Ours(store), raw, &targets, 50);
    c.final_summary();
}
