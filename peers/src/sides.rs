//! Every side: this crate's stores, openkeyv's, OpenDAL's services and the raw clients,
//! each as its own user would call it.

use std::sync::Arc;

use bytes::Bytes;
use kv_store_adapter::KvStore;
use serde_json::Value as Json;

use crate::{Group, Side};

const COLLECTION: &str = "users";

fn encode(value: &Json) -> Bytes {
    Bytes::from(serde_json::to_vec(value).unwrap())
}

fn decode(bytes: &[u8]) -> Json {
    serde_json::from_slice(bytes).unwrap()
}

/// This crate: a [`KvStore`] with its batch calls.
pub struct Ours<S>(pub S, pub &'static str);

impl<S: KvStore> Side for Ours<S> {
    fn name(&self) -> String {
        self.1.into()
    }
    async fn put(&self, key: &str, value: &Json) {
        self.0
            .put(COLLECTION, key, encode(value), None)
            .await
            .unwrap();
    }
    async fn get(&self, key: &str) -> Option<Json> {
        let got = self.0.get(COLLECTION, key).await.unwrap();
        got.map(|v| decode(&v))
    }
    async fn delete(&self, key: &str) {
        self.0.delete(COLLECTION, key).await.unwrap();
    }
    fn native_batches(&self) -> bool {
        true
    }
    async fn put_many(&self, keys: &[String], values: &[Json]) {
        let entries: Vec<(&str, Bytes)> = keys
            .iter()
            .zip(values)
            .map(|(k, v)| (k.as_str(), encode(v)))
            .collect();
        self.0.put_many(COLLECTION, &entries, None).await.unwrap();
    }
    async fn get_many(&self, keys: &[String]) -> usize {
        let got = self.0.get_many(COLLECTION, keys).await.unwrap();
        got.iter().flatten().map(|v| decode(v)).count()
    }
    async fn delete_many(&self, keys: &[String]) {
        self.0.delete_many(COLLECTION, keys).await.unwrap();
    }
}

/// openkeyv: values go through its structured value type, as its users' do.
pub struct Openkeyv<S>(pub S, pub &'static str);

mod okv {
    use openkeyv::value::{StructuredValue, Value};
    use serde_json::Value as Json;

    pub fn encode(value: &Json) -> Value {
        Value::from_structured(&StructuredValue::from_json(value).unwrap()).unwrap()
    }

    pub fn decode(value: Value) -> Json {
        value.decode_structured().unwrap().to_json().unwrap()
    }
}

impl<S: openkeyv::protocol::AsyncKeyValue> Side for Openkeyv<S> {
    fn name(&self) -> String {
        self.1.into()
    }
    async fn put(&self, key: &str, value: &Json) {
        let value = okv::encode(value);
        self.0
            .put(key, value, Some(COLLECTION), None)
            .await
            .unwrap();
    }
    async fn get(&self, key: &str) -> Option<Json> {
        self.0
            .get(key, Some(COLLECTION))
            .await
            .unwrap()
            .map(okv::decode)
    }
    async fn delete(&self, key: &str) {
        self.0.delete(key, Some(COLLECTION)).await.unwrap();
    }
    fn native_batches(&self) -> bool {
        true
    }
    async fn put_many(&self, keys: &[String], values: &[Json]) {
        let values: Vec<_> = values.iter().map(okv::encode).collect();
        let done = self.0.put_many(keys, &values, Some(COLLECTION), None).await;
        done.unwrap();
    }
    async fn get_many(&self, keys: &[String]) -> usize {
        let got = self.0.get_many(keys, Some(COLLECTION)).await.unwrap();
        got.into_iter().flatten().map(okv::decode).count()
    }
    async fn delete_many(&self, keys: &[String]) {
        self.0.delete_many(keys, Some(COLLECTION)).await.unwrap();
    }
}

/// OpenDAL: an `Operator` over a service, one path per key; it has no batch read or
/// write, and deletes many paths with `delete_iter`.
pub struct Opendal(pub opendal::Operator, pub &'static str);

fn path(key: &str) -> String {
    format!("{COLLECTION}/{key}")
}

impl Side for Opendal {
    fn name(&self) -> String {
        self.1.into()
    }
    async fn put(&self, key: &str, value: &Json) {
        self.0.write(&path(key), encode(value)).await.unwrap();
    }
    async fn get(&self, key: &str) -> Option<Json> {
        match self.0.read(&path(key)).await {
            Ok(buffer) => Some(decode(&buffer.to_bytes())),
            Err(e) if e.kind() == opendal::ErrorKind::NotFound => None,
            Err(e) => panic!("{e}"),
        }
    }
    async fn delete(&self, key: &str) {
        self.0.delete(&path(key)).await.unwrap();
    }
    async fn delete_many(&self, keys: &[String]) {
        self.0
            .delete_iter(keys.iter().map(|k| path(k)))
            .await
            .unwrap();
    }
}

/// A raw in-process cache, keyed by `collection/key` as its users would key it.
pub trait RawCache: Send + Sync {
    const NAME: &'static str;
    fn insert(&self, key: String, value: Bytes);
    fn get(&self, key: &str) -> Option<Bytes>;
    fn remove(&self, key: &str);
}

/// Raw moka: a bounded `sync::Cache`, no expiry policy.
impl RawCache for moka::sync::Cache<String, Bytes> {
    const NAME: &'static str = "raw moka";
    fn insert(&self, key: String, value: Bytes) {
        moka::sync::Cache::insert(self, key, value)
    }
    fn get(&self, key: &str) -> Option<Bytes> {
        moka::sync::Cache::get(self, key)
    }
    fn remove(&self, key: &str) {
        self.invalidate(key)
    }
}

/// Raw quick_cache (what `MemoryStore` is built on): a bounded `sync::Cache`, values
/// without deadlines.
impl RawCache for quick_cache::sync::Cache<String, Bytes> {
    const NAME: &'static str = "raw quick_cache";
    fn insert(&self, key: String, value: Bytes) {
        quick_cache::sync::Cache::insert(self, key, value)
    }
    fn get(&self, key: &str) -> Option<Bytes> {
        quick_cache::sync::Cache::get(self, key)
    }
    fn remove(&self, key: &str) {
        drop(quick_cache::sync::Cache::remove(self, key))
    }
}

/// A raw cache as a side.
pub struct Raw<C>(pub C);

impl<C: RawCache> Side for Raw<C> {
    fn name(&self) -> String {
        C::NAME.into()
    }
    async fn put(&self, key: &str, value: &Json) {
        self.0.insert(format!("{COLLECTION}/{key}"), encode(value));
    }
    async fn get(&self, key: &str) -> Option<Json> {
        self.0
            .get(&format!("{COLLECTION}/{key}"))
            .map(|v| decode(&v))
    }
    async fn delete(&self, key: &str) {
        self.0.remove(&format!("{COLLECTION}/{key}"));
    }
}

/// Raw redb: a durable write transaction per write call, a read transaction per read
/// call (a batch is one), called inline.
pub struct RawRedb(pub redb::Database, pub tempfile::TempDir);

const TABLE: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new(COLLECTION);

impl RawRedb {
    fn write(&self, f: impl FnOnce(&mut redb::Table<&str, &[u8]>)) {
        let txn = self.0.begin_write().unwrap();
        f(&mut txn.open_table(TABLE).unwrap());
        txn.commit().unwrap();
    }

    fn read<T>(&self, f: impl FnOnce(&redb::ReadOnlyTable<&str, &[u8]>) -> T) -> T {
        use redb::ReadableDatabase;
        let txn = self.0.begin_read().unwrap();
        f(&txn.open_table(TABLE).unwrap())
    }
}

impl Side for RawRedb {
    fn name(&self) -> String {
        "raw redb".into()
    }
    async fn put(&self, key: &str, value: &Json) {
        let value = encode(value);
        self.write(|t| drop(t.insert(key, &value[..]).unwrap()));
    }
    async fn get(&self, key: &str) -> Option<Json> {
        self.read(|t| t.get(key).unwrap().map(|v| decode(v.value())))
    }
    async fn delete(&self, key: &str) {
        self.write(|t| drop(t.remove(key).unwrap()));
    }
    fn native_batches(&self) -> bool {
        true
    }
    async fn put_many(&self, keys: &[String], values: &[Json]) {
        self.write(|t| {
            for (k, v) in keys.iter().zip(values) {
                t.insert(k.as_str(), &encode(v)[..]).unwrap();
            }
        });
    }
    async fn get_many(&self, keys: &[String]) -> usize {
        self.read(|t| {
            keys.iter()
                .filter_map(|k| t.get(k.as_str()).unwrap().map(|v| decode(v.value())))
                .count()
        })
    }
    async fn delete_many(&self, keys: &[String]) {
        self.write(|t| {
            for k in keys {
                t.remove(k.as_str()).unwrap();
            }
        });
    }
}

/// The raw redis crate on a connection manager: GET/SET/DEL, MGET/MSET/DEL of many.
pub struct RawRedis(pub redis::aio::ConnectionManager);

fn redis_key(key: &str) -> String {
    format!("raw:{COLLECTION}:{key}")
}

impl Side for RawRedis {
    fn name(&self) -> String {
        "raw redis".into()
    }
    async fn put(&self, key: &str, value: &Json) {
        let cmd = redis::cmd("SET")
            .arg(redis_key(key))
            .arg(&encode(value)[..])
            .clone();
        cmd.query_async::<()>(&mut self.0.clone()).await.unwrap();
    }
    async fn get(&self, key: &str) -> Option<Json> {
        let got: Option<Vec<u8>> = redis::cmd("GET")
            .arg(redis_key(key))
            .query_async(&mut self.0.clone())
            .await
            .unwrap();
        got.map(|v| decode(&v))
    }
    async fn delete(&self, key: &str) {
        let cmd = redis::cmd("DEL").arg(redis_key(key)).clone();
        cmd.query_async::<i64>(&mut self.0.clone()).await.unwrap();
    }
    fn native_batches(&self) -> bool {
        true
    }
    async fn put_many(&self, keys: &[String], values: &[Json]) {
        let mut cmd = redis::cmd("MSET");
        for (k, v) in keys.iter().zip(values) {
            cmd.arg(redis_key(k)).arg(&encode(v)[..]);
        }
        cmd.query_async::<()>(&mut self.0.clone()).await.unwrap();
    }
    async fn get_many(&self, keys: &[String]) -> usize {
        let keys: Vec<String> = keys.iter().map(|k| redis_key(k)).collect();
        let got: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
            .arg(keys)
            .query_async(&mut self.0.clone())
            .await
            .unwrap();
        got.iter().flatten().map(|v| decode(v)).count()
    }
    async fn delete_many(&self, keys: &[String]) {
        let keys: Vec<String> = keys.iter().map(|k| redis_key(k)).collect();
        let cmd = redis::cmd("DEL").arg(keys).clone();
        cmd.query_async::<i64>(&mut self.0.clone()).await.unwrap();
    }
}

/// Every side, as one type for a group's list.
pub enum Any {
    Memory(Ours<kv_store_adapter::stores::MemoryStore>),
    Disk(Ours<kv_store_adapter::stores::DiskStore>, tempfile::TempDir),
    Redis(Ours<kv_store_adapter::stores::RedisStore>),
    OkvMemory(Openkeyv<openkeyv::store::memory::MemoryStore>),
    OkvDisk(
        Openkeyv<openkeyv::store::disk::DiskStore>,
        Arc<tempfile::TempDir>,
    ),
    OkvRedis(Openkeyv<openkeyv::store::redis::RedisStore>),
    Opendal(Opendal, Option<Arc<tempfile::TempDir>>),
    Moka(Raw<moka::sync::Cache<String, Bytes>>),
    Quick(Raw<quick_cache::sync::Cache<String, Bytes>>),
    Redb(RawRedb),
    RawRedis(RawRedis),
}

macro_rules! each {
    ($any:expr, $side:ident => $body:expr) => {
        match $any {
            Any::Memory($side) => $body,
            Any::Disk($side, _) => $body,
            Any::Redis($side) => $body,
            Any::OkvMemory($side) => $body,
            Any::OkvDisk($side, _) => $body,
            Any::OkvRedis($side) => $body,
            Any::Opendal($side, _) => $body,
            Any::Moka($side) => $body,
            Any::Quick($side) => $body,
            Any::Redb($side) => $body,
            Any::RawRedis($side) => $body,
        }
    };
}

impl Any {
    pub async fn run(&self, workload: &str, keys: &[String], docs: &[Json]) -> f64 {
        each!(self, side => crate::run(side, workload, keys, docs).await)
    }

    pub fn label(&self) -> String {
        each!(self, side => if side.native_batches() {
            side.name()
        } else {
            format!("{} (batches: loop)", side.name())
        })
    }
}

fn temp(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(prefix).tempdir().unwrap()
}

/// The groups: memory, disk, and Redis when `redis_url` is given.
pub async fn groups(redis_url: Option<&str>) -> Vec<Group> {
    use kv_store_adapter::stores::{DiskStore, MemoryStore, RedisStore};
    use opendal::{Operator, services};

    let mut groups = vec![Group {
        title: "Memory",
        keys: 100_000,
        sides: vec![
            Any::Memory(Ours(
                MemoryStore::with_max_entries(1_000_000),
                "kv-store-adapter MemoryStore",
            )),
            Any::OkvMemory(Openkeyv(
                openkeyv::store::memory::MemoryStore::new(),
                "openkeyv MemoryStore",
            )),
            Any::Opendal(
                Opendal(
                    Operator::new(services::Memory::default()).unwrap(),
                    "OpenDAL memory",
                ),
                None,
            ),
            Any::Opendal(
                Opendal(
                    Operator::new(services::Moka::default()).unwrap(),
                    "OpenDAL moka",
                ),
                None,
            ),
            Any::Quick(Raw(quick_cache::sync::Cache::new(1_000_000))),
            Any::Moka(Raw(moka::sync::Cache::new(1_000_000))),
        ],
    }];

    let dir = temp("kv-peers-ours-");
    let ours = DiskStore::open(dir.path().join("ours.redb")).unwrap();
    let okv_dir = Arc::new(temp("kv-peers-sled-"));
    let okv = openkeyv::store::disk::DiskStore::new(okv_dir.path()).unwrap();
    let odal_dir = Arc::new(temp("kv-peers-odal-"));
    let odal_file = odal_dir.path().join("db.redb");
    let odal = services::Redb::default()
        .datadir(odal_file.to_str().unwrap())
        .table(COLLECTION);
    let raw_dir = temp("kv-peers-redb-");
    let raw = redb::Database::create(raw_dir.path().join("raw.redb")).unwrap();
    groups.push(Group {
        title: "Disk (durable writes)",
        keys: 2_000,
        sides: vec![
            Any::Disk(Ours(ours, "kv-store-adapter DiskStore (redb)"), dir),
            Any::OkvDisk(Openkeyv(okv, "openkeyv DiskStore (sled)"), okv_dir),
            Any::Opendal(
                Opendal(Operator::new(odal).unwrap(), "OpenDAL redb"),
                Some(odal_dir),
            ),
            Any::Redb(RawRedb(raw, raw_dir)),
        ],
    });

    if let Some(url) = redis_url {
        let ours = RedisStore::connect(url)
            .await
            .unwrap()
            .with_namespace("peers")
            .unwrap();
        let okv = openkeyv::store::redis::RedisStore::new(url).await.unwrap();
        let endpoint = url.replace("redis://", "tcp://");
        let odal = services::Redis::default().endpoint(endpoint.trim_end_matches('/'));
        let raw = redis::Client::open(url)
            .unwrap()
            .get_connection_manager()
            .await
            .unwrap();
        groups.push(Group {
            title: "Redis",
            keys: 20_000,
            sides: vec![
                Any::Redis(Ours(ours, "kv-store-adapter RedisStore")),
                Any::OkvRedis(Openkeyv(okv, "openkeyv RedisStore")),
                Any::Opendal(Opendal(Operator::new(odal).unwrap(), "OpenDAL redis"), None),
                Any::RawRedis(RawRedis(raw)),
            ],
        });
    }
    groups
}
