//! RedisStore against the raw redis crate sending the same commands on the same kind of
//! connection (a multiplexed ConnectionManager, or the cluster connection) to the same
//! keys, same run: the standard workloads. Runs against Redis (KV_REDIS_URL), Valkey
//! (KV_VALKEY_URL) and Redis Cluster (KV_REDIS_CLUSTER_URLS), each that is set
//! (scripts/servers.sh); without any, says so and measures nothing.

mod common;

use bytes::Bytes;
use common::workloads::{COLLECTION, Ours, Side, all, compare};
use kv_store_adapter::stores::{RedisClusterStore, RedisConnection, RedisStore};

/// The raw client (`conn`), writing the key names and value format of `store` (whose
/// own connection type may differ: the standalone store's also follows failovers).
#[derive(Clone)]
struct Raw<C, K = C> {
    conn: C,
    store: RedisStore<K>,
}

impl<C, K: RedisConnection> Raw<C, K> {
    fn key(&self, key: &str) -> Vec<u8> {
        self.store.redis_key(COLLECTION, key)
    }

    /// The store's format: the format byte, a new 16-byte version, the value.
    fn framed(value: &[u8]) -> Vec<u8> {
        let mut framed = Vec::with_capacity(17 + value.len());
        framed.push(2);
        framed.extend_from_slice(&kv_store_adapter::Version::unique().to_bytes());
        framed.extend_from_slice(value);
        framed
    }
}

impl<C: RedisConnection, K: RedisConnection> Side for Raw<C, K> {
    async fn get(&self, key: &str) -> Option<Bytes> {
        let v: Option<Vec<u8>> = redis::cmd("GET")
            .arg(self.key(key))
            .query_async(&mut self.conn.clone())
            .await
            .unwrap();
        v.map(Bytes::from)
    }

    async fn put(&self, key: &str, value: Bytes) {
        redis::cmd("SET")
            .arg(self.key(key))
            .arg(Self::framed(&value))
            .query_async::<()>(&mut self.conn.clone())
            .await
            .unwrap();
    }

    async fn delete(&self, key: &str) {
        redis::cmd("DEL")
            .arg(self.key(key))
            .query_async::<i64>(&mut self.conn.clone())
            .await
            .unwrap();
    }

    async fn get_many(&self, keys: &[&str]) -> usize {
        let keys: Vec<Vec<u8>> = keys.iter().map(|k| self.key(k)).collect();
        let v: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
            .arg(keys)
            .query_async(&mut self.conn.clone())
            .await
            .unwrap();
        v.len()
    }

    /// One MSET, the fastest way to write a batch without expiry.
    async fn put_many(&self, keys: &[&str], value: Bytes) {
        let framed = Self::framed(&value);
        let mut cmd = redis::cmd("MSET");
        for key in keys {
            cmd.arg(self.key(key)).arg(&framed);
        }
        cmd.query_async::<()>(&mut self.conn.clone()).await.unwrap();
    }
}

fn main() {
    let servers = [("redis", "KV_REDIS_URL"), ("valkey", "KV_VALKEY_URL")];
    let mut c = common::criterion().measurement_time(std::time::Duration::from_secs(2));
    let mut measured = false;
    for (group, var) in servers {
        let Some(url) = common::server_url(group, var) else {
            continue;
        };
        let rt = common::runtime();
        let (store, conn) = rt.block_on(async {
            let store = RedisStore::connect(&url).await.unwrap();
            let conn = redis::Client::open(url.as_str())
                .unwrap()
                .get_connection_manager()
                .await
                .unwrap();
            (store.with_namespace("bench").unwrap(), conn)
        });
        let raw = Raw {
            conn,
            store: store.clone(),
        };
        compare(&mut c, &rt, group, Ours(store), raw, &all(0.9), 50);
        measured = true;
    }
    if let Some(urls) = common::server_url("redis-cluster", "KV_REDIS_CLUSTER_URLS") {
        let nodes: Vec<&str> = urls.split(',').collect();
        let rt = common::runtime();
        let (store, conn) = rt.block_on(async {
            let store = RedisClusterStore::connect_cluster(&nodes).await.unwrap();
            let client = redis::cluster::ClusterClient::new(nodes.clone()).unwrap();
            let conn = client.get_async_connection().await.unwrap();
            (store.with_namespace("bench").unwrap(), conn)
        });
        let raw = Raw {
            conn,
            store: store.clone(),
        };
        compare(
            &mut c,
            &rt,
            "redis-cluster",
            Ours(store),
            raw,
            &all(0.9),
            50,
        );
        measured = true;
    }
    if measured {
        c.final_summary();
    }
}
