//! `MongoStore`: MongoDB through the official driver.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use mongodb::bson::{Binary, Bson, DateTime, Document, doc, spec::BinarySubtype};
use mongodb::options::ClientOptions;
use mongodb::{Client, Collection, Database, IndexModel};

use super::TtlEntry;
use crate::store::{
    DeleteOptions, DestroyCollection, DestroyStore, EnumerateCollections, EnumerateKeys, Key,
    ListOptions, PutOptions,
};
use crate::{Condition, ConditionalWrites, Error, Result, Version, Written, names};
use crate::{Cursor, Page};

/// Keys longer than this are stored under a binary hash `_id`.
const MAX_ID: usize = 512;
/// MongoDB's limit on one document.
const DOCUMENT_LIMIT: usize = 16 << 20;
/// A document's bytes besides its key and value: field names, lengths, type tags, the
/// version, the expiry, a hashed `_id` (under 150 bytes), with room to spare.
const DOCUMENT_OVERHEAD: usize = 1 << 10;
/// Documents per `update` / `$in` batch.
/// Keys per `$in` read or delete: small, because some MongoDB-wire servers match `$in`
/// in time quadratic in its length (SecantusDB: 100 ids 7x faster per id than 1,000),
/// while for MongoDB itself 100 ids already amortise the round trip.
const CHUNK: usize = 100;
/// Documents per write request, and their bytes: well under the 48 MB message limit.
const WRITE_CHUNK: usize = 1_000;
const WRITE_BYTES: usize = 8 << 20;
/// Collection names readable as themselves: at most this long, of `[A-Za-z0-9_-]`.
const READABLE: usize = 64;

/// A store in a MongoDB database: one Mongo collection per KV collection.
///
/// A KV collection maps to `{prefix}.c.{name}` when its name is short and of
/// `[A-Za-z0-9_-]`, else to `{prefix}.h.{hash}` (a 128-bit hash of the whole name) —
/// injective, within Mongo's naming rules — and a `{prefix}.meta` document keeps the
/// original name for `collections()`. Each entry is one document: `_id` (the key, or a
/// binary hash for keys over 512 bytes), `k` (the original key), `v` (the value as
/// BSON binary) and `x` (the expiry as a BSON date, absent for entries that never
/// expire). A TTL index on `x` reclaims space; reads check `x` themselves, since the
/// server removes late. `put` replaces the whole document, so a put without TTL drops
/// `x`. Batches use `$in` finds and one `update` command with many upserts.
///
/// **Bounded time.** The driver's connect and server-selection timeouts, and a bound on
/// every round trip (a batch of 10,000 keys makes a hundred; emptying one collection
/// is one, so give a store with very large collections a longer operation timeout),
/// are the
/// [`Timeouts`](super::Timeouts) given to [`connect_with_timeouts`](Self::connect_with_timeouts) (5 s to
/// connect, 30 s per round trip by default): a stalled server yields a
/// [`Timeout`](crate::ErrorDetail::Timeout) error.
///
/// **Value size.** A value over [`value_limit`](Self::value_limit) (MongoDB's 16 MiB
/// document limit less the key and 1 KiB) fails with
/// [`TooLarge`](crate::ErrorDetail::TooLarge) before anything is sent.
///
/// **Many processes.** `destroy_collection` and `destroy` delete documents and keep
/// each Mongo collection, its TTL index and its meta document, so that another
/// instance that prepared the collection earlier (and so skips preparing it) writes
/// into a collection that still expires entries and is enumerated. An empty
/// collection is not listed by `collections()`. A collection dropped from outside is
/// created again by the next write (MongoDB creates collections on insert), without
/// its TTL index until an instance prepares it again, which each does for a name it
/// has not prepared for 60 s. Reads, enumeration and deletes check `x` themselves, so
/// in that window entries still expire on time for every reader; only the reclaim of
/// their space waits for the index, which then covers them too.
///
/// **Coalescing.** Under [`Coalesce`](crate::wrappers::Coalesce), concurrent single
/// reads become one `$in` query; MongoDB works on concurrent queries in parallel, so
/// [`gather_ticks(0)`](crate::wrappers::Coalesce::gather_ticks) (more, smaller batches
/// side by side) reads faster than the default, which makes fewer, larger ones.
///
/// ```no_run
/// use bytes::Bytes;
/// use kv_store_adapter::{KvStore, stores::MongoStore};
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let store = MongoStore::connect("mongodb://127.0.0.1:27017", "app").await?;
/// store.put("users", "ada", Bytes::from_static(b"1815"), None).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MongoStore {
    db: Database,
    prefix: Arc<str>,
    /// Mongo collections this instance prepared (a hint: see `Prepared`).
    ready: Arc<super::Prepared>,
    shown: Arc<str>,
    timeouts: super::Timeouts,
}

impl fmt::Debug for MongoStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MongoStore")
            .field("url", &self.shown)
            .field("database", &self.db.name())
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// The codes of a server that cannot serve now — shutting down, stepping down, not
/// (or no longer) primary, a network failure behind it — on which the driver retries
/// a read once (the retryable-reads specification's list).
const NOT_NOW: [i32; 13] = [
    11600, 11602, 10107, 13435, 13436, 189, 91, 7, 6, 89, 9001, 134, 262,
];

fn mongo_error(e: mongodb::error::Error) -> Error {
    use mongodb::error::{ErrorKind as K, WriteFailure};
    let code = match &*e.kind {
        K::Command(c) => Some(c.code),
        K::Write(WriteFailure::WriteConcernError(c)) => Some(c.code),
        _ => None,
    };
    let transient = matches!(
        *e.kind,
        K::Io(_)
            | K::ConnectionPoolCleared { .. }
            | K::ServerSelection { .. }
            | K::DnsResolve { .. }
    ) || e.contains_label("RetryableWriteError")
        || e.contains_label("TransientTransactionError")
        || code.is_some_and(|code| NOT_NOW.contains(&code));
    if let (true, Some(code)) = (transient, code) {
        Error::connection(
            format!("mongodb: the server cannot serve now (code {code})"),
            e,
        )
    } else if transient {
        Error::connection("mongodb: connection", e)
    } else {
        Error::backend("mongodb: operation failed", e)
    }
}

impl MongoStore {
    /// Connects to `url` and uses `database`, with the collection prefix `kv` and
    /// [`Timeouts::documents`](super::Timeouts::documents) (5 s to connect or select a
    /// server, 30 s per round trip).
    pub async fn connect(url: &str, database: &str) -> Result<Self> {
        Self::connect_with_timeouts(url, database, super::Timeouts::documents()).await
    }

    /// Connects with `timeouts`: the driver's connect and server-selection timeouts
    /// (unless the URL sets them), and a bound on every call (per round trip for
    /// enumeration and destroy), after which it fails with a
    /// [`Timeout`](crate::ErrorDetail::Timeout) error.
    pub async fn connect_with_timeouts(
        url: &str,
        database: &str,
        timeouts: super::Timeouts,
    ) -> Result<Self> {
        let shown = crate::open::redact(url);
        let setup = |e| Error::setup(format!("cannot connect to {shown}"), e);
        let parse = async { ClientOptions::parse(url).await.map_err(setup) };
        let mut options = super::bounded(timeouts.connect, parse).await?;
        options.connect_timeout.get_or_insert(timeouts.connect);
        options
            .server_selection_timeout
            .get_or_insert(timeouts.connect);
        let client = Client::with_options(options).map_err(setup)?;
        let mut store = Self::from_client(&client, database, &shown)?;
        store.timeouts = timeouts;
        let ping = async {
            store
                .db
                .run_command(doc! { "ping": 1 })
                .await
                .map_err(|e| Error::setup(format!("{shown} does not answer"), e))
        };
        super::bounded(timeouts.operation, ping).await?;
        Ok(store)
    }

    /// Uses an existing client; `shown` names it in `Debug`.
    pub fn from_client(client: &Client, database: &str, shown: &str) -> Result<Self> {
        if database.is_empty() || database.contains(['/', '\\', '.', ' ', '"', '$', '\0']) {
            return Err(Error::setup_msg(format!(
                "invalid MongoDB database name {database:?}"
            )));
        }
        Ok(Self {
            db: client.database(database),
            prefix: "kv".into(),
            ready: Arc::default(),
            shown: crate::open::redact(shown).into(),
            timeouts: super::Timeouts::documents(),
        })
    }

    /// Uses `prefix` (1-32 of `[A-Za-z0-9_-]`) for every Mongo collection it creates.
    pub fn with_namespace(mut self, prefix: &str) -> Result<Self> {
        names::check_identifier("collection prefix", prefix, 32, "[A-Za-z0-9_-]", |b| {
            b.is_ascii_alphanumeric() || b"_-".contains(&b)
        })?;
        self.prefix = prefix.into();
        self.ready = Arc::default();
        Ok(self)
    }

    /// The largest value the store takes under `key`, in bytes: MongoDB's 16 MiB
    /// document limit less the key (stored in `k`, and in `_id` too when it is at most
    /// 512 bytes) and 1 KiB for the rest of the document. `key` is the whole key as
    /// the store receives it, so a key-prefixing wrapper's prefix counts. A larger
    /// value is refused with [`TooLarge`](crate::ErrorDetail::TooLarge) before
    /// anything is sent, and a batch holding one writes none of its entries.
    ///
    /// ```
    /// use kv_store_adapter::stores::MongoStore;
    /// assert_eq!(MongoStore::value_limit("k"), (16 << 20) - 1024 - 2);
    /// // Under the longest key a caller can pass, 4 KiB less.
    /// assert_eq!(MongoStore::value_limit(&"k".repeat(4096)), (16 << 20) - 1024 - 4096);
    /// ```
    pub const fn value_limit(key: &str) -> usize {
        // A long key's `_id` is a hash, counted in the overhead.
        let id = if key.len() <= MAX_ID { key.len() } else { 0 };
        DOCUMENT_LIMIT.saturating_sub(DOCUMENT_OVERHEAD + key.len() + id)
    }

    /// The Mongo collection name holding KV collection `name`.
    pub fn mongo_collection_name(&self, name: &str) -> String {
        collection_name(&self.prefix, name)
    }

    fn meta(&self) -> Collection<Document> {
        self.db.collection(&format!("{}.meta", self.prefix))
    }

    fn collection(&self, name: &str) -> Collection<Document> {
        self.db.collection(&self.mongo_collection_name(name))
    }

    /// Before the first write to `name`: its TTL index and its meta document.
    async fn prepare(&self, name: &str) -> Result<Collection<Document>> {
        let mapped = self.mongo_collection_name(name);
        let coll = self.db.collection::<Document>(&mapped);
        if !self.ready.contains(&mapped) {
            self.meta()
                .replace_one(
                    doc! { "_id": &mapped },
                    doc! { "_id": &mapped, "name": name },
                )
                .upsert(true)
                .await
                .map_err(mongo_error)?;
            let ttl = mongodb::options::IndexOptions::builder()
                .expire_after(Duration::ZERO)
                .build();
            let index = IndexModel::builder()
                .keys(doc! { "x": 1 })
                .options(ttl)
                .build();
            coll.create_index(index).await.map_err(mongo_error)?;
            self.ready.insert(mapped);
        }
        Ok(coll)
    }

    /// Deletes every document of the Mongo collection `mapped`, keeping the collection,
    /// its TTL index and its meta document: another instance may remember it as
    /// prepared and write to it next, which must land in a collection that expires
    /// entries and is enumerated.
    async fn empty(&self, mapped: &str) -> Result<()> {
        self.db
            .collection::<Document>(mapped)
            .delete_many(doc! {})
            .await
            .map_err(mongo_error)
            .map(drop)
    }
}

/// The Mongo collection name of KV collection `name` under `prefix`.
pub(crate) fn collection_name(prefix: &str, name: &str) -> String {
    let readable = name.len() <= READABLE
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-".contains(&b));
    if readable {
        format!("{prefix}.c.{name}")
    } else {
        format!("{prefix}.h.{}", names::digest(&[name]))
    }
}

/// The `_id` of `key`: the key itself, or a binary hash (never equal to a string).
fn id(key: &str) -> Bson {
    if key.len() <= MAX_ID {
        Bson::String(key.to_owned())
    } else {
        Bson::Binary(Binary {
            subtype: BinarySubtype::Generic,
            bytes: names::digest(&[key]).into_bytes(),
        })
    }
}

/// A stored document: the key, the value, the version (`n`, 16 bytes, new on every
/// write) and the deadline (`x`) if it expires.
pub(crate) fn document(key: &str, value: &[u8], ttl: Option<Duration>) -> Document {
    versioned(key, value, ttl, Version::unique())
}

fn versioned(key: &str, value: &[u8], ttl: Option<Duration>, version: Version) -> Document {
    let mut doc = doc! {
        "_id": id(key),
        "k": key,
        "v": Binary { subtype: BinarySubtype::Generic, bytes: value.to_vec() },
        "n": version_bson(version),
    };
    if let Some(ttl) = ttl {
        let at = SystemTime::now() + names::bounded(ttl);
        doc.insert("x", DateTime::from_system_time(at));
    }
    doc
}

fn version_bson(version: Version) -> Bson {
    Bson::Binary(Binary {
        subtype: BinarySubtype::Generic,
        bytes: version.to_bytes().to_vec(),
    })
}

/// The filter part matching documents of `version`: 0.1's documents have no `n` and
/// are version 0 (never one [`Version::unique`] gives) until rewritten.
fn version_filter(version: Version) -> Bson {
    if version == LEGACY {
        Bson::Document(doc! { "$exists": false })
    } else {
        version_bson(version)
    }
}

/// The version of documents 0.1 wrote (without `n`).
const LEGACY: Version = Version::new(0);

/// The filter part matching a live document (no deadline, or one still ahead).
fn live() -> Bson {
    Bson::Document(doc! { "$not": { "$lte": DateTime::now() } })
}

/// The value, remaining time and version of a stored document; `None` if it has
/// expired.
pub(crate) fn decode(c: &str, k: &str, doc: &Document) -> Result<Option<TtlEntry>> {
    let version = match doc.get("n") {
        None => LEGACY,
        Some(Bson::Binary(b)) => match <[u8; 16]>::try_from(b.bytes.as_slice()) {
            Ok(bytes) => Version::from_bytes(bytes),
            Err(_) => return Err(Error::corrupt(c, k, "`n` is not a 16-byte version")),
        },
        Some(_) => return Err(Error::corrupt(c, k, "`n` is not a 16-byte version")),
    };
    let value = match doc.get("v") {
        Some(Bson::Binary(b)) => Bytes::copy_from_slice(&b.bytes),
        _ => return Err(Error::corrupt(c, k, "document has no binary `v`")),
    };
    let left = match doc.get("x") {
        None | Some(Bson::Null) => None,
        Some(Bson::DateTime(at)) => match at.to_system_time().duration_since(SystemTime::now()) {
            Ok(left) if !left.is_zero() => Some(left),
            _ => return Ok(None),
        },
        Some(_) => return Err(Error::corrupt(c, k, "`x` is not a date")),
    };
    Ok(Some(
        crate::Entry::new(value, left).with_version(Some(version)),
    ))
}

/// The original key of a document (for `keys()`).
pub(crate) fn key_of(doc: &Document) -> Option<String> {
    doc.get_str("k").ok().map(str::to_owned)
}

impl MongoStore {
    async fn find_many(&self, c: &str, keys: &[&str]) -> Result<Vec<Option<TtlEntry>>> {
        let coll = self.collection(c);
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(CHUNK) {
            let ids: Vec<Bson> = chunk.iter().map(|k| id(k)).collect();
            let find = coll.find(doc! { "_id": { "$in": ids } });
            let mut cursor = self.op(async { find.await.map_err(mongo_error) }).await?;
            let mut found: HashMap<String, Document> = HashMap::new();
            while self
                .op(async { cursor.advance().await.map_err(mongo_error) })
                .await?
            {
                let doc = cursor.deserialize_current().map_err(mongo_error)?;
                match key_of(&doc) {
                    Some(k) => found.insert(k, doc),
                    None => return Err(Error::corrupt(c, "?", "document has no string `k`")),
                };
            }
            for k in chunk {
                out.push(match found.get(*k) {
                    Some(doc) => decode(c, k, doc)?,
                    None => None,
                });
            }
        }
        Ok(out)
    }
}

super::backend_store!(MongoStore);

impl super::Backend for MongoStore {
    fn value_limit(&self, key: &str) -> Option<usize> {
        Some(Self::value_limit(key))
    }

    async fn get_value(&self, c: &str, k: &str) -> Result<Option<crate::Entry>> {
        Ok(self.ttl_value(c, k).await?.map(super::untimed))
    }

    async fn put_value(&self, c: &str, k: &str, v: Bytes, ttl: Option<Duration>) -> Result<()> {
        super::bounded(self.timeouts.operation, async move {
            let coll = self.prepare(c).await?;
            coll.replace_one(doc! { "_id": id(k) }, document(k, &v, ttl))
                .upsert(true)
                .await
                .map_err(mongo_error)
                .map(drop)
        })
        .await
    }

    async fn delete_value(&self, c: &str, k: &str) -> Result<bool> {
        super::bounded(self.timeouts.operation, async move {
            // One delete that only matches a live document answers exactly whether a live
            // entry went; an expired one is invisible already and left to the TTL index.
            let live = doc! { "_id": id(k), "x": live() };
            let reply = self
                .collection(c)
                .delete_one(live)
                .await
                .map_err(mongo_error)?;
            Ok(reply.deleted_count == 1)
        })
        .await
    }

    async fn ttl_value(&self, c: &str, k: &str) -> Result<Option<TtlEntry>> {
        super::bounded(self.timeouts.operation, async move {
            let found = self
                .collection(c)
                .find_one(doc! { "_id": id(k) })
                .await
                .map_err(mongo_error)?;
            match found {
                Some(doc) => decode(c, k, &doc),
                None => Ok(None),
            }
        })
        .await
    }

    async fn get_values(&self, c: &str, keys: &[&str]) -> Result<Vec<Option<crate::Entry>>> {
        // Bounded per round trip inside.
        Ok(super::values(self.find_many(c, keys).await?))
    }

    async fn put_values(
        &self,
        c: &str,
        entries: &[(&str, Bytes)],
        ttl: Option<Duration>,
    ) -> Result<()> {
        // Each round trip (preparing, each chunk) is bounded, not the whole batch.
        let coll = self.op(self.prepare(c)).await?;
        for chunk in super::write_chunks(entries, WRITE_CHUNK, WRITE_BYTES) {
            let updates: Vec<Document> = chunk
                .iter()
                .map(|(k, v)| doc! { "q": { "_id": id(k) }, "u": document(k, v, ttl), "upsert": true })
                .collect();
            let command = self
                .db
                .run_command(doc! { "update": coll.name(), "updates": updates, "ordered": true });
            let reply = self
                .op(async { command.await.map_err(mongo_error) })
                .await?;
            if let Ok(errors) = reply.get_array("writeErrors")
                && !errors.is_empty()
            {
                return Err(Error::backend_msg(format!(
                    "mongodb refused {} of the writes: {:?}",
                    errors.len(),
                    errors.first()
                )));
            }
        }
        Ok(())
    }

    async fn delete_values(&self, c: &str, keys: &[&str]) -> Result<usize> {
        let distinct = names::distinct(keys);
        let live = self.find_many(c, &distinct).await?;
        let removed = live.iter().filter(|e| e.is_some()).count();
        let coll = self.collection(c);
        for chunk in distinct.chunks(CHUNK) {
            let ids: Vec<Bson> = chunk.iter().map(|k| id(k)).collect();
            let delete = coll.delete_many(doc! { "_id": { "$in": ids } });
            self.op(async { delete.await.map_err(mongo_error) }).await?;
        }
        Ok(removed)
    }

    fn ttl_values(
        &self,
        c: &str,
        keys: &[&str],
    ) -> impl Future<Output = Result<Vec<Option<TtlEntry>>>> + Send {
        // Bounded per round trip inside.
        self.find_many(c, keys)
    }
}

/// Atomic, one write each: a create is an insert (refused by the unique `_id` where
/// a document is there), then, only where one is, an upsert that only matches an
/// expired document (an expired one: replaced; a live one: the insert meets the
/// unique `_id` and is refused); a compare-and-swap replaces, and a
/// delete-if-unchanged deletes, only the live document of that version. A rejected
/// write reads the entry that stopped it in a second round trip (not atomic with the
/// write: it may be newer).
impl ConditionalWrites for MongoStore {
    async fn put_if_opts(
        &self,
        key: Key<'_>,
        value: Bytes,
        condition: Condition,
        opts: PutOptions,
    ) -> Result<Written> {
        let (c, k) = (key.collection(), key.joined());
        super::check_sizes(|k| super::Backend::value_limit(self, k), [(&*k, &value)])?;
        let version = Version::unique();
        let doc = versioned(&k, &value, opts.ttl, version);
        let applied = super::bounded(self.timeouts.operation, async {
            let coll = self.prepare(c).await?;
            if condition == Condition::Absent {
                // A new key, the common case, is one insert; only where a document is
                // there does the upsert below look for an expired one to replace.
                match coll.insert_one(&doc).await {
                    Ok(_) => return Ok(true),
                    Err(e) if is_duplicate_key(&e) => {}
                    Err(e) => return Err(mongo_error(e)),
                }
            }
            let replace = match condition {
                Condition::Absent => coll
                    .replace_one(
                        doc! { "_id": id(&k), "x": { "$lte": DateTime::now() } },
                        doc,
                    )
                    .upsert(true),
                Condition::Version(v) => coll.replace_one(
                    doc! { "_id": id(&k), "n": version_filter(v), "x": live() },
                    doc,
                ),
            };
            match replace.await {
                Ok(reply) => Ok(reply.matched_count == 1 || reply.upserted_id.is_some()),
                Err(e) if is_duplicate_key(&e) => Ok(false),
                Err(e) => Err(mongo_error(e)),
            }
        })
        .await?;
        if applied {
            return Ok(Written::Applied(Some(version)));
        }
        let current = super::Backend::get_value(self, c, &k).await?;
        Ok(Written::Rejected(current))
    }

    async fn delete_if_opts(
        &self,
        key: Key<'_>,
        version: Version,
        _: DeleteOptions,
    ) -> Result<bool> {
        let k = key.joined();
        super::bounded(self.timeouts.operation, async {
            let filter = doc! { "_id": id(&k), "n": version_filter(version), "x": live() };
            let reply = self
                .collection(key.collection())
                .delete_one(filter)
                .await
                .map_err(mongo_error)?;
            Ok(reply.deleted_count == 1)
        })
        .await
    }
}

/// Whether `e` is a write refused by a unique index (E11000).
fn is_duplicate_key(e: &mongodb::error::Error) -> bool {
    use mongodb::error::{ErrorKind as K, WriteFailure};
    match &*e.kind {
        K::Write(WriteFailure::WriteError(w)) => w.code == 11000,
        K::Command(c) => c.code == 11000,
        _ => false,
    }
}

impl EnumerateKeys for MongoStore {
    /// Each round trip (the query, each further batch of the cursor) is bounded by the
    /// operation timeout, not the whole listing.
    async fn keys_opts(&self, c: &str, opts: ListOptions) -> Result<Vec<String>> {
        let limit = opts.limit;
        let now = DateTime::now();
        let live = doc! { "$or": [ { "x": { "$exists": false } }, { "x": { "$gt": now } } ] };
        let coll = self.collection(c);
        let find = coll.find(live).projection(doc! { "k": 1, "_id": 0 });
        let mut cursor = self.op(async { find.await.map_err(mongo_error) }).await?;
        let mut out = Vec::new();
        while out.len() < limit
            && self
                .op(async { cursor.advance().await.map_err(mongo_error) })
                .await?
        {
            let doc = cursor.deserialize_current().map_err(mongo_error)?;
            out.push(key_of(&doc).ok_or_else(|| Error::corrupt(c, "?", "document has no `k`"))?);
        }
        Ok(out)
    }

    /// Live documents in `_id` order after the cursor's `_id`. Ids are the keys
    /// (strings) or, for long keys, digests (binary), and Mongo compares only ids of
    /// one type, so the listing pages through the strings, then the binaries; the
    /// cursor says which (`s` + key, `b` + hex).
    async fn keys_page(&self, c: &str, cursor: Option<Cursor>, limit: usize) -> Result<Page> {
        let limit = limit.max(1);
        let (mut binary, mut after) = match cursor.as_ref().map(Cursor::as_str) {
            None => (false, None),
            Some(s) if s.starts_with('s') => (false, Some(Bson::String(s[1..].to_owned()))),
            Some("b") => (true, None),
            Some(s) if s.starts_with('b') => match from_hex(&s[1..]) {
                Some(bytes) => (true, Some(binary_id(bytes))),
                None => return Err(Error::invalid_key("a cursor this store did not give")),
            },
            Some(_) => return Err(Error::invalid_key("a cursor this store did not give")),
        };
        let coll = self.collection(c);
        let mut names = Vec::new();
        loop {
            let mut id = doc! { "$type": if binary { "binData" } else { "string" } };
            if let Some(after) = &after {
                id.insert("$gt", after.clone());
            }
            let now = DateTime::now();
            let filter = doc! { "_id": id, "$or": [ { "x": { "$exists": false } }, { "x": { "$gt": now } } ] };
            let want = (limit - names.len()) as i64;
            let find = coll
                .find(filter)
                .sort(doc! { "_id": 1 })
                .limit(want)
                .projection(doc! { "k": 1, "_id": 1 });
            let mut found = self.op(async { find.await.map_err(mongo_error) }).await?;
            let mut last = None;
            let mut read = 0;
            while self
                .op(async { found.advance().await.map_err(mongo_error) })
                .await?
            {
                let doc = found.deserialize_current().map_err(mongo_error)?;
                names.push(
                    key_of(&doc).ok_or_else(|| Error::corrupt(c, "?", "document has no `k`"))?,
                );
                last = doc.get("_id").cloned();
                read += 1;
            }
            if read == want {
                let next = match last {
                    Some(Bson::String(s)) => format!("s{s}"),
                    Some(Bson::Binary(b)) => format!("b{}", to_hex(&b.bytes)),
                    _ => return Err(Error::corrupt(c, "?", "document has an unexpected `_id`")),
                };
                return Ok(Page::new(names, Some(Cursor::new(next))));
            }
            if binary {
                return Ok(Page::new(names, None));
            }
            (binary, after) = (true, None);
        }
    }
}

fn binary_id(bytes: Vec<u8>) -> Bson {
    Bson::Binary(Binary {
        subtype: BinarySubtype::Generic,
        bytes,
    })
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

impl MongoStore {
    /// `call`, bounded by the operation timeout.
    fn op<T>(&self, call: impl Future<Output = Result<T>>) -> impl Future<Output = Result<T>> {
        super::bounded(self.timeouts.operation, call)
    }

    /// `(mapped name, original name)` of every collection this store created.
    async fn own_collections(&self) -> Result<Vec<(String, String)>> {
        let meta = self.meta();
        let find = meta.find(doc! {});
        let mut cursor = self.op(async { find.await.map_err(mongo_error) }).await?;
        let mut out = Vec::new();
        while self
            .op(async { cursor.advance().await.map_err(mongo_error) })
            .await?
        {
            let doc = cursor.deserialize_current().map_err(mongo_error)?;
            if let (Ok(mapped), Ok(name)) = (doc.get_str("_id"), doc.get_str("name")) {
                out.push((mapped.to_owned(), name.to_owned()));
            }
        }
        Ok(out)
    }
}

impl EnumerateCollections for MongoStore {
    /// Each round trip is bounded by the operation timeout.
    async fn collections_opts(&self, opts: ListOptions) -> Result<Vec<String>> {
        let limit = opts.limit;
        let now = DateTime::now();
        let mut out = Vec::new();
        for (mapped, name) in self.own_collections().await? {
            if out.len() >= limit {
                break;
            }
            let live = doc! { "$or": [ { "x": { "$exists": false } }, { "x": { "$gt": now } } ] };
            let coll = self.db.collection::<Document>(&mapped);
            let any = self
                .op(async { coll.find_one(live).await.map_err(mongo_error) })
                .await?;
            if any.is_some() {
                out.push(name);
            }
        }
        out.sort();
        Ok(out)
    }
}

impl DestroyCollection for MongoStore {
    /// Deletes every entry of the collection. The emptied Mongo collection, its TTL
    /// index and its meta document stay (see the type's docs): the name is listed
    /// again as soon as anyone writes to it.
    async fn destroy_collection_opts(&self, c: &str) -> Result<()> {
        self.op(self.empty(&self.mongo_collection_name(c))).await
    }
}

impl DestroyStore for MongoStore {
    /// Deletes every entry of every collection this store created, nothing else. The
    /// emptied collections stay, prepared, for every instance that remembers them.
    /// Each collection's delete is bounded by the operation timeout.
    async fn destroy_opts(&self) -> Result<()> {
        for (mapped, _) in self.own_collections().await? {
            self.op(self.empty(&mapped)).await?;
        }
        Ok(())
    }
}
