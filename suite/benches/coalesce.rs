//! `Coalesce` over the network stores, same run: 64 tasks each reading single keys,
//! through the wrapper against the raw client sending one request per key (Redis
//! `GET` on a multiplexed connection, MongoDB `findOne`, Elasticsearch document
//! `GET`), and a lone reader through the wrapper against the bare store (what one
//! yield costs). Interleaved medians (rounds alternate which side goes first).
//! Backends come from the URLs scripts/servers.sh exports; each missing one is skipped.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::interleaved;
use kv_store_adapter::wrappers::DEFAULT_GATHER_TICKS;
use kv_store_adapter::{KvStore, KvStoreExt};
use tokio::runtime::Runtime;

const COLLECTION: &str = "coalesce";
const KEYS: usize = 1_000;
const TASKS: usize = 64;

/// Reads one key, answering whether it was there.
trait Reader: Clone + Send + Sync + 'static {
    fn read(&self, key: &str) -> impl std::future::Future<Output = bool> + Send;
}

struct Ours<S>(Arc<S>);

impl<S> Clone for Ours<S> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<S: KvStore + Send + Sync + 'static> Reader for Ours<S> {
    async fn read(&self, key: &str) -> bool {
        self.0.get(COLLECTION, key).await.unwrap().is_some()
    }
}

/// The `i`th key read (keys are made once: the loop measures reads, not formatting).
fn key(i: usize) -> &'static str {
    static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let names = NAMES.get_or_init(|| (0..KEYS).map(|n| format!("key:{n:05}")).collect());
    &names[(i * 7919) % KEYS]
}

/// `TASKS` tasks, each reading `per_task` keys one after another.
fn in_flight<R: Reader>(rt: &Runtime, reader: &R, per_task: usize) -> Duration {
    rt.block_on(async {
        let start = Instant::now();
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let reader = reader.clone();
                tokio::spawn(async move {
                    for i in 0..per_task {
                        assert!(reader.read(key(t * per_task + i)).await);
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        start.elapsed()
    })
}

/// One reader, `count` keys one after another.
fn sequential<R: Reader>(rt: &Runtime, reader: &R, count: usize) -> Duration {
    rt.block_on(async {
        let start = Instant::now();
        for i in 0..count {
            assert!(reader.read(key(i)).await);
        }
        start.elapsed()
    })
}

/// Reads many keys in one request of the raw client, answering how many were there.
trait Batcher: Clone + Send + Sync + 'static {
    fn read_batch(&self, keys: &[&str]) -> impl std::future::Future<Output = usize> + Send;
}

/// The ceiling of any coalescing: one task sending the raw client's batch request
/// for `TASKS` keys at a time, no caller to wake per key; `rounds` batches.
fn batched<B: Batcher>(rt: &Runtime, batcher: &B, rounds: usize) -> Duration {
    rt.block_on(async {
        let start = Instant::now();
        for r in 0..rounds {
            let keys: Vec<&str> = (0..TASKS).map(|i| key(r * TASKS + i)).collect();
            assert_eq!(batcher.read_batch(&keys).await, TASKS);
        }
        start.elapsed()
    })
}

/// What perfect batching reaches here: raw batches of `TASKS` keys against the raw
/// per-key get from `TASKS` tasks (the row the coalesced reads compare with). Where
/// this falls short of the target, no coalescing on this machine and server meets it.
fn ceiling<R: Reader + Batcher>(rt: &Runtime, group: &str, raw: &R, target: f64, per_task: usize) {
    let reads = (TASKS * per_task) as f64;
    let (ours, other, ratio) = rates(
        reads,
        || batched(rt, raw, per_task),
        || in_flight(rt, raw, per_task),
    );
    row(
        group,
        "ceiling: raw batches of 64 keys (one task) vs raw per-key get (64 tasks)",
        ours,
        other,
        ratio,
        target,
    );
}

/// Measures both workloads for one backend and prints and records its rows: the 64
/// tasks with each of `gather_ticks` (the first is the store's own advice), a lone
/// reader with the default.
fn compare<S, R>(
    rt: &Runtime,
    group: &str,
    store: S,
    raw: R,
    target: f64,
    per_task: usize,
    gather_ticks: &[usize],
) where
    S: KvStore + Clone + Send + Sync + 'static,
    R: Reader,
{
    let value = Bytes::from(vec![7u8; 100]);
    let entries: Vec<(&str, Bytes)> = (0..KEYS).map(|i| (key(i), value.clone())).collect();
    rt.block_on(store.put_many(COLLECTION, &entries, None))
        .unwrap();
    let reads = (TASKS * per_task) as f64;
    for &ticks in gather_ticks {
        let coalesced = Ours(Arc::new(store.clone().coalesce().gather_ticks(ticks)));
        let (ours, other, ratio) = rates(
            reads,
            || in_flight(rt, &coalesced, per_task),
            || in_flight(rt, &raw, per_task),
        );
        let workload = if ticks == DEFAULT_GATHER_TICKS {
            "64 tasks of single gets: Coalesce vs raw per-key get".to_owned()
        } else {
            format!("64 tasks of single gets: Coalesce, gather_ticks({ticks}), vs raw per-key get")
        };
        row(group, &workload, ours, other, ratio, target);
    }
    let coalesced = Ours(Arc::new(store.clone().coalesce()));
    let bare = Ours(Arc::new(store));
    let count = 1_000;
    let (ours, other, ratio) = rates(
        count as f64,
        || sequential(rt, &coalesced, count),
        || sequential(rt, &bare, count),
    );
    row(
        group,
        "lone sequential get: Coalesce vs the bare store",
        ours,
        other,
        ratio,
        0.95,
    );
}

/// Writes one key.
trait Writer: Clone + Send + Sync + 'static {
    fn write(&self, key: &str, value: Bytes) -> impl std::future::Future<Output = ()> + Send;
}

impl<S: KvStore + Send + Sync + 'static> Writer for Ours<S> {
    async fn write(&self, key: &str, value: Bytes) {
        self.0.put(COLLECTION, key, value, None).await.unwrap();
    }
}

/// `TASKS` tasks, each writing `per_task` keys one after another.
fn writes_in_flight<W: Writer>(rt: &Runtime, writer: &W, per_task: usize) -> Duration {
    let value = Bytes::from(vec![9u8; 100]);
    rt.block_on(async {
        let start = Instant::now();
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let (writer, value) = (writer.clone(), value.clone());
                tokio::spawn(async move {
                    for i in 0..per_task {
                        writer.write(key(t * per_task + i), value.clone()).await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        start.elapsed()
    })
}

/// Coalesced single puts from 64 tasks against the raw client's per-key write, and a
/// lone writer through the wrapper against the bare store.
fn compare_writes<S, W>(rt: &Runtime, group: &str, store: S, raw: W, per_task: usize)
where
    S: KvStore + Clone + Send + Sync + 'static,
    W: Writer,
{
    let coalesced = Ours(Arc::new(store.clone().coalesce()));
    let bare = Ours(Arc::new(store));
    let writes = (TASKS * per_task) as f64;
    let (ours, other, ratio) = rates(
        writes,
        || writes_in_flight(rt, &coalesced, per_task),
        || writes_in_flight(rt, &raw, per_task),
    );
    row(
        group,
        "64 tasks of single puts: Coalesce vs raw per-key write",
        ours,
        other,
        ratio,
        1.0,
    );
    let count = 1_000;
    let (ours, other, ratio) = rates(
        count as f64,
        || sequential_writes(rt, &coalesced, count),
        || sequential_writes(rt, &bare, count),
    );
    row(
        group,
        "lone sequential put: Coalesce vs the bare store",
        ours,
        other,
        ratio,
        0.95,
    );
}

/// One writer, `count` keys one after another.
fn sequential_writes<W: Writer>(rt: &Runtime, writer: &W, count: usize) -> Duration {
    let value = Bytes::from(vec![9u8; 100]);
    rt.block_on(async {
        let start = Instant::now();
        for i in 0..count {
            writer.write(key(i), value.clone()).await;
        }
        start.elapsed()
    })
}

/// Interleaved medians (21 rounds) of `ours` and `other`, each round doing `ops`
/// operations: both rates per second and the ratio.
fn rates(
    ops: f64,
    mut ours: impl FnMut() -> Duration,
    mut other: impl FnMut() -> Duration,
) -> (f64, f64, f64) {
    let mut times = (Vec::new(), Vec::new());
    let ratio = interleaved(
        21,
        || {
            let t = ours();
            times.0.push(t.as_secs_f64());
            t
        },
        || {
            let t = other();
            times.1.push(t.as_secs_f64());
            t
        },
    );
    (
        ops / common::median(times.0),
        ops / common::median(times.1),
        ratio,
    )
}

fn row(group: &str, workload: &str, ours: f64, raw: f64, ratio: f64, target: f64) {
    let result = if ratio >= target { "pass" } else { "FAIL" };
    println!(
        "{group}: {workload}: ours {ours:.0}/s, other {raw:.0}/s, interleaved ratio \
         {ratio:.3} (target >= {target}): {result}"
    );
    common::record(&[
        group.into(),
        workload.into(),
        format!("{ours:.0}"),
        format!("{raw:.0}"),
        format!("{ratio:.3}"),
        format!("{target:.2}"),
        result.into(),
    ]);
}

#[cfg(feature = "redis")]
mod raw_redis {
    use super::*;
    use kv_store_adapter::stores::RedisStore;

    /// A `GET` per key on a multiplexed connection manager (which pipelines what
    /// concurrent tasks send).
    #[derive(Clone)]
    pub struct Raw {
        pub conn: redis::aio::ConnectionManager,
        pub store: RedisStore,
    }

    /// A `SET` per key of the store's stored form.
    impl Writer for Raw {
        async fn write(&self, key: &str, value: Bytes) {
            let mut framed = vec![2u8];
            framed.extend_from_slice(&kv_store_adapter::Version::unique().to_bytes());
            framed.extend_from_slice(&value);
            redis::cmd("SET")
                .arg(self.store.redis_key(COLLECTION, key))
                .arg(framed)
                .query_async::<()>(&mut self.conn.clone())
                .await
                .unwrap();
        }
    }

    /// One `MGET`.
    impl Batcher for Raw {
        async fn read_batch(&self, keys: &[&str]) -> usize {
            let mut cmd = redis::cmd("MGET");
            for key in keys {
                cmd.arg(self.store.redis_key(COLLECTION, key));
            }
            let values: Vec<Option<Vec<u8>>> =
                cmd.query_async(&mut self.conn.clone()).await.unwrap();
            values.iter().flatten().count()
        }
    }

    impl Reader for Raw {
        async fn read(&self, key: &str) -> bool {
            let v: Option<Vec<u8>> = redis::cmd("GET")
                .arg(self.store.redis_key(COLLECTION, key))
                .query_async(&mut self.conn.clone())
                .await
                .unwrap();
            v.is_some()
        }
    }
}

#[cfg(feature = "mongodb")]
mod raw_mongo {
    use super::*;
    use kv_store_adapter::stores::MongoStore;
    use mongodb::bson::{Bson, Document, doc};

    /// A `findOne` by the store's `_id` per key.
    #[derive(Clone)]
    pub struct Raw(pub mongodb::Collection<Document>);

    impl Reader for Raw {
        async fn read(&self, key: &str) -> bool {
            let id = MongoStore::document_id(COLLECTION, key);
            let found = self.0.find_one(doc! { "_id": id }).await.unwrap();
            found.is_some()
        }
    }

    /// One `find` with `$in`, every document read.
    impl Batcher for Raw {
        async fn read_batch(&self, keys: &[&str]) -> usize {
            let ids: Vec<Bson> = keys
                .iter()
                .map(|k| MongoStore::document_id(COLLECTION, k))
                .collect();
            let mut cursor = self.0.find(doc! { "_id": { "$in": ids } }).await.unwrap();
            let mut found = 0;
            while cursor.advance().await.unwrap() {
                found += 1;
            }
            found
        }
    }
}

#[cfg(feature = "elasticsearch")]
mod raw_es {
    use super::*;
    use elasticsearch::Elasticsearch;
    use elasticsearch::http::Method;
    use elasticsearch::http::headers::HeaderMap;
    use kv_store_adapter::stores::ElasticsearchStore;

    /// A document `GET` per key (under the store's `_id` of the key).
    #[derive(Clone)]
    pub struct Raw {
        pub client: Elasticsearch,
        pub index: String,
    }

    impl Reader for Raw {
        async fn read(&self, key: &str) -> bool {
            let id = ElasticsearchStore::document_id(COLLECTION, key);
            let path = format!(
                "/{}/_doc/{}",
                self.index,
                id.replace('=', "%3D").replace(':', "%3A")
            );
            let response = self
                .client
                .send::<(), ()>(Method::Get, &path, HeaderMap::new(), None, None, None)
                .await
                .unwrap();
            let status = response.status_code().as_u16();
            let _ = response.bytes().await.unwrap();
            status == 200
        }
    }

    /// One `_mget` by id, its reply parsed.
    impl Batcher for Raw {
        async fn read_batch(&self, keys: &[&str]) -> usize {
            let ids: Vec<String> = keys
                .iter()
                .map(|k| ElasticsearchStore::document_id(COLLECTION, k))
                .collect();
            let body = serde_json::json!({ "ids": ids });
            let response = self
                .client
                .send(
                    Method::Post,
                    &format!("/{}/_mget", self.index),
                    HeaderMap::new(),
                    None::<&()>,
                    Some(elasticsearch::http::request::JsonBody::new(body)),
                    None,
                )
                .await
                .unwrap();
            let reply: serde_json::Value = response.json().await.unwrap();
            reply["docs"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["found"] == true)
                .count()
        }
    }
}

fn main() {
    let rt = common::runtime();
    let namespace = format!("coalesce{}", std::process::id());
    #[cfg(feature = "redis")]
    if let Some(url) = common::server_url("coalesce-redis", "KV_REDIS_URL") {
        let (store, conn) = rt.block_on(async {
            let store = kv_store_adapter::stores::RedisStore::connect(&url)
                .await
                .unwrap()
                .with_namespace(&namespace)
                .unwrap();
            let conn = redis::Client::open(url.as_str())
                .unwrap()
                .get_connection_manager()
                .await
                .unwrap();
            (store, conn)
        });
        let raw = raw_redis::Raw {
            conn,
            store: store.clone(),
        };
        compare(
            &rt,
            "coalesce-redis",
            store.clone(),
            raw.clone(),
            2.0,
            200,
            &[DEFAULT_GATHER_TICKS],
        );
        ceiling(&rt, "coalesce-redis", &raw, 2.0, 200);
        compare_writes(&rt, "coalesce-redis", store, raw, 200);
    }
    #[cfg(feature = "mongodb")]
    if let Some(url) = common::server_url("coalesce-mongodb", "KV_MONGO_URL") {
        let (store, coll) = rt.block_on(async {
            let store = kv_store_adapter::stores::MongoStore::connect(&url, &namespace)
                .await
                .unwrap();
            let client = mongodb::Client::with_uri_str(&url).await.unwrap();
            let coll = client
                .database(&namespace)
                .collection(&store.mongo_collection_name());
            (store, coll)
        });
        let raw = raw_mongo::Raw(coll);
        // `gather_ticks(0)`, as `Coalesce::gather_ticks` advises for MongoDB, which works
        // on concurrent requests in parallel; then the default.
        compare(
            &rt,
            "coalesce-mongodb",
            store,
            raw.clone(),
            5.0,
            10,
            &[0, DEFAULT_GATHER_TICKS],
        );
        ceiling(&rt, "coalesce-mongodb", &raw, 5.0, 10);
    }
    #[cfg(feature = "elasticsearch")]
    if let Some(url) = common::server_url("coalesce-elasticsearch", "KV_ELASTICSEARCH_URL") {
        use elasticsearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
        let store = rt
            .block_on(kv_store_adapter::stores::ElasticsearchStore::connect(&url))
            .unwrap()
            .with_namespace(&namespace)
            .unwrap();
        let pool = SingleNodeConnectionPool::new(url.parse().unwrap());
        let transport = TransportBuilder::new(pool).disable_proxy().build().unwrap();
        let raw = raw_es::Raw {
            client: elasticsearch::Elasticsearch::new(transport),
            index: store.index_name(),
        };
        compare(
            &rt,
            "coalesce-elasticsearch",
            store,
            raw.clone(),
            5.0,
            50,
            &[DEFAULT_GATHER_TICKS],
        );
        ceiling(&rt, "coalesce-elasticsearch", &raw, 5.0, 50);
    }
}
