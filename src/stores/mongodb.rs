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

/// Ids longer than this (collection and key) are a binary hash instead.
const MAX_ID: usize = 512;
/// MongoDB's limit on one document.
const DOCUMENT_LIMIT: usize = 16 << 20;
/// A document's bytes besides its key, value and collection: field names, lengths,
/// type tags, the version, the expiry, a hashed `_id` (under 150 bytes), with room to
/// spare.
const DOCUMENT_OVERHEAD: usize = 1 << 10;
/// Room for the collection, whatever its name: in `c`, and with the key in an `_id`
/// of at most [`MAX_ID`] bytes.
const COLLECTION_ROOM: usize = names::MAX_NAME_LEN + MAX_ID;
/// Documents per `update` / `$in` batch.
/// Keys per `$in` read or delete: small, because some MongoDB-wire servers match `$in`
/// in time quadratic in its length (SecantusDB: 100 ids 7x faster per id than 1,000),
/// while for MongoDB itself 100 ids already amortise the round trip.
const CHUNK: usize = 100;
/// Documents per write request, and their bytes: well under the 48 MB message limit.
const WRITE_CHUNK: usize = 1_000;
const WRITE_BYTES: usize = 8 << 20;

/// A store in a MongoDB database: one Mongo collection, `{prefix}.entries`, for every
/// KV collection.
///
/// Each entry is one document: `_id` ([`document_id`](Self::document_id): the
/// collection's length in bytes, `.`, the collection, `=`, the key — or a binary
/// 128-bit hash of both past 512 bytes), `c` (the collection), `k` (the key), `v` (the
/// value as BSON binary), `n` (its version) and `x` (the expiry as a BSON date, absent
/// for entries that never expire). Two indexes: a TTL index on `x` reclaims space
/// (reads check `x` themselves, since the server removes late), and `{c, k}` serves
/// `keys()`, a key at a time after the cursor, and `destroy_collection`. However many
/// KV collections a fleet writes, the database holds one Mongo collection of the
/// store's, and nothing is prepared or remembered per name (a Mongo collection each
/// costs the server files and memory, meets a hosted tier's collection limit, and was
/// kept after `destroy_collection`). `collections()` groups the live documents by `c`.
/// `put` replaces the whole document, so a put without TTL drops `x`. Batches use
/// `$in` finds and one `update` command with many upserts.
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
/// document limit less the key and 5.5 KiB, room for any collection name) fails with
/// [`TooLarge`](crate::ErrorDetail::TooLarge) before anything is sent.
///
/// **MongoDB 4.2 or later** for collection names and keys together over 1 KiB: the
/// `{c, k}` index holds both, and older servers limit an index entry to 1,024 bytes.
///
/// **Many processes.** `destroy_collection` and `destroy` delete documents and keep
/// the Mongo collection and its indexes, so that another instance that prepared it
/// earlier (and so skips preparing it) writes into a collection that still expires
/// entries. Dropped from outside, the collection is created again by the next write
/// (MongoDB creates collections on insert), without its indexes until an instance
/// prepares it again, which each does when it has not for 60 s. Reads, enumeration and
/// deletes check `x` themselves, so in that window entries still expire on time for
/// every reader; only the reclaim of their space waits for the index.
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
    /// Whether this instance prepared the Mongo collection lately (a hint: see
    /// `Prepared`).
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
        let shown = crate::redact(url);
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
            shown: crate::redact(shown).into(),
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
    /// document limit less the key (stored in `k`), room for any collection name (in
    /// `c`, and with the key in an `_id` of at most 512 bytes) and 1 KiB for the rest
    /// of the document. `key` is the whole key as the store receives it, so a
    /// key-prefixing wrapper's prefix counts. A larger value is refused with
    /// [`TooLarge`](crate::ErrorDetail::TooLarge) before anything is sent, and a batch
    /// holding one writes none of its entries.
    ///
    /// ```
    /// use kv_store_adapter::stores::MongoStore;
    /// let room_for_any_collection = 4096 + 512;
    /// let limit = (16 << 20) - 1024 - room_for_any_collection;
    /// assert_eq!(MongoStore::value_limit("k"), limit - 1);
    /// // Under the longest key a caller can pass, 4 KiB less.
    /// assert_eq!(MongoStore::value_limit(&"k".repeat(4096)), limit - 4096);
    /// ```
    pub const fn value_limit(key: &str) -> usize {
        DOCUMENT_LIMIT.saturating_sub(DOCUMENT_OVERHEAD + COLLECTION_ROOM + key.len())
    }

    /// The Mongo collection holding every KV collection's entries:
    /// `{prefix}.entries`.
    ///
    /// ```no_run
    /// use kv_store_adapter::stores::MongoStore;
    /// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
    /// let store = MongoStore::connect("mongodb://127.0.0.1:27017", "app").await?;
    /// assert_eq!(store.with_namespace("kv")?.mongo_collection_name(), "kv.entries");
    /// # Ok(()) }
    /// ```
    pub fn mongo_collection_name(&self) -> String {
        format!("{}.entries", self.prefix)
    }

    /// The `_id` of the document holding `key` of `collection`: the string
    /// `{bytes of collection}.{collection}={key}`, or, where that is over 512 bytes, a
    /// binary 128-bit hash of both (never equal to a string).
    ///
    /// ```
    /// use kv_store_adapter::stores::MongoStore;
    /// use mongodb::bson::Bson;
    /// assert_eq!(MongoStore::document_id("users", "ada"), Bson::String("5.users=ada".into()));
    /// assert!(matches!(MongoStore::document_id("users", &"a".repeat(600)), Bson::Binary(_)));
    /// ```
    pub fn document_id(collection: &str, key: &str) -> Bson {
        id(collection, key)
    }

    fn entries(&self) -> Collection<Document> {
        self.db.collection(&self.mongo_collection_name())
    }

    /// Before the first write (and again after [`Prepared::TRUST`](super::Prepared)):
    /// the TTL index on `x` and the listing index on `{c, k}`.
    async fn prepare(&self) -> Result<Collection<Document>> {
        let coll = self.entries();
        if !self.ready.fresh() {
            let ttl = mongodb::options::IndexOptions::builder()
                .expire_after(Duration::ZERO)
                .build();
            let expiry = IndexModel::builder()
                .keys(doc! { "x": 1 })
                .options(ttl)
                .build();
            let listing = IndexModel::builder().keys(doc! { "c": 1, "k": 1 }).build();
            coll.create_indexes([expiry, listing])
                .await
                .map_err(mongo_error)?;
            self.ready.mark();
        }
        Ok(coll)
    }
}

/// The `_id` of `key` in collection `c`: `{bytes of c}.{c}={key}` (the length makes it
/// injective), or a binary hash of both past [`MAX_ID`] bytes (never equal to a string).
pub(crate) fn id(c: &str, key: &str) -> Bson {
    let plain = names::pair_id(c, key);
    if plain.len() <= MAX_ID {
        Bson::String(plain)
    } else {
        Bson::Binary(Binary {
            subtype: BinarySubtype::Generic,
            bytes: names::digest(&[c, key]).into_bytes(),
        })
    }
}

/// A stored document: the collection, the key, the value, the version (`n`, 16 bytes,
/// new on every write) and the deadline (`x`) if it expires.
pub(crate) fn document(c: &str, key: &str, value: &[u8], ttl: Option<Duration>) -> Document {
    versioned((c, key), value, ttl, Version::unique())
}

fn versioned(
    (c, key): (&str, &str),
    value: &[u8],
    ttl: Option<Duration>,
    version: Version,
) -> Document {
    let mut doc = doc! {
        "_id": id(c, key),
        "c": c,
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
        let coll = self.entries();
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(CHUNK) {
            let ids: Vec<Bson> = chunk.iter().map(|k| id(c, k)).collect();
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
            let coll = self.prepare().await?;
            coll.replace_one(doc! { "_id": id(c, k) }, document(c, k, &v, ttl))
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
            let live = doc! { "_id": id(c, k), "x": live() };
            let reply = self.entries().delete_one(live).await.map_err(mongo_error)?;
            Ok(reply.deleted_count == 1)
        })
        .await
    }

    async fn ttl_value(&self, c: &str, k: &str) -> Result<Option<TtlEntry>> {
        super::bounded(self.timeouts.operation, async move {
            let found = self
                .entries()
                .find_one(doc! { "_id": id(c, k) })
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
        let coll = self.op(self.prepare()).await?;
        for chunk in super::write_chunks(entries, WRITE_CHUNK, WRITE_BYTES) {
            let updates: Vec<Document> = chunk
                .iter()
                .map(|(k, v)| doc! { "q": { "_id": id(c, k) }, "u": document(c, k, v, ttl), "upsert": true })
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
        let coll = self.entries();
        for chunk in distinct.chunks(CHUNK) {
            let ids: Vec<Bson> = chunk.iter().map(|k| id(c, k)).collect();
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
        let doc = versioned((c, &k), &value, opts.ttl, version);
        let applied = super::bounded(self.timeouts.operation, async {
            let coll = self.prepare().await?;
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
                        doc! { "_id": id(c, &k), "x": { "$lte": DateTime::now() } },
                        doc,
                    )
                    .upsert(true),
                Condition::Version(v) => coll.replace_one(
                    doc! { "_id": id(c, &k), "n": version_filter(v), "x": live() },
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
            let filter =
                doc! { "_id": id(key.collection(), &k), "n": version_filter(version), "x": live() };
            let reply = self
                .entries()
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
        let coll = self.entries();
        let find = coll
            .find(doc! { "c": c, "x": live() })
            .sort(doc! { "k": 1 })
            .projection(doc! { "k": 1, "_id": 0 });
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

    /// A page of 1,000 names: the native cursor serves it cheaply.
    fn walk_page(&self, _collection: &str) -> usize {
        crate::listing::WALK_PAGE
    }

    /// Live documents of the collection in key order on the `{c, k}` index, from
    /// `prefix` (or after the cursor, the last key read, when that is further), ending
    /// at the first key without it (`k` sorts by its bytes, so a prefix's keys are
    /// together).
    async fn keys_page_with_prefix(
        &self,
        c: &str,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page> {
        let limit = limit.clamp(1, i64::MAX as usize);
        let mut filter = doc! { "c": c, "x": live() };
        match &cursor {
            Some(after) if after.as_str() >= prefix => {
                filter.insert("k", doc! { "$gt": after.as_str() });
            }
            _ if !prefix.is_empty() => {
                filter.insert("k", doc! { "$gte": prefix });
            }
            _ => {}
        }
        let coll = self.entries();
        let find = coll
            .find(filter)
            .sort(doc! { "k": 1 })
            .limit(limit as i64)
            .projection(doc! { "k": 1, "_id": 0 });
        let mut found = self.op(async { find.await.map_err(mongo_error) }).await?;
        let mut names = Vec::new();
        while self
            .op(async { found.advance().await.map_err(mongo_error) })
            .await?
        {
            let doc = found.deserialize_current().map_err(mongo_error)?;
            let key = key_of(&doc).ok_or_else(|| Error::corrupt(c, "?", "document has no `k`"))?;
            if !key.starts_with(prefix) {
                return Ok(Page::new(names, None).ordered());
            }
            names.push(key);
        }
        let next = (names.len() == limit)
            .then(|| names.last().cloned().map(Cursor::new))
            .flatten();
        Ok(Page::new(names, next).ordered())
    }
}

impl MongoStore {
    /// `call`, bounded by the operation timeout.
    fn op<T>(&self, call: impl Future<Output = Result<T>>) -> impl Future<Output = Result<T>> {
        super::bounded(self.timeouts.operation, call)
    }
}

impl EnumerateCollections for MongoStore {
    /// The live documents grouped by `c`, in the order of the names' bytes; each round
    /// trip of the cursor is bounded by the operation timeout.
    async fn collections_opts(&self, opts: ListOptions) -> Result<Vec<String>> {
        self.collections_after("", None, opts.limit).await
    }

    /// The same grouping, of the names with the prefix after the cursor's (`c` from the
    /// prefix, before its end, greater than the cursor's on the `{c, k}` index), one
    /// page.
    async fn collections_page_with_prefix(
        &self,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page> {
        let limit = limit.max(1);
        let after = cursor.as_ref().map(Cursor::as_str);
        let names = self
            .collections_after(prefix, after, limit.saturating_add(1))
            .await?;
        Ok(Page::of_one_more(names, limit))
    }

    fn collections_walk_page(&self) -> usize {
        crate::listing::WALK_PAGE
    }
}

impl MongoStore {
    /// Up to `limit` names of collections with a live entry that start with `prefix`,
    /// after `after` (from the first without), in the order of the names' bytes
    /// (MongoDB compares strings by their UTF-8 bytes).
    async fn collections_after(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>> {
        if limit == 0 {
            // `$limit` must be positive.
            return Ok(Vec::new());
        }
        let limit = limit.min(i64::MAX as usize) as i64;
        let mut names = doc! { "$type": "string", "$gte": prefix };
        if let Some(after) = after {
            names.insert("$gt", after);
        }
        if let Some(end) = crate::listing::prefix_end(prefix) {
            names.insert("$lt", end);
        }
        let pipeline = [
            doc! { "$match": { "c": names, "x": live() } },
            doc! { "$group": { "_id": "$c" } },
            doc! { "$sort": { "_id": 1 } },
            doc! { "$limit": limit },
        ];
        let coll = self.entries();
        let aggregate = coll.aggregate(pipeline);
        let mut cursor = self
            .op(async { aggregate.await.map_err(mongo_error) })
            .await?;
        let mut out = Vec::new();
        while self
            .op(async { cursor.advance().await.map_err(mongo_error) })
            .await?
        {
            let doc = cursor.deserialize_current().map_err(mongo_error)?;
            match doc.get_str("_id") {
                Ok(name) => out.push(name.to_owned()),
                Err(_) => {
                    return Err(Error::backend_msg(
                        "mongodb: a collection name that is not a string",
                    ));
                }
            }
        }
        Ok(out)
    }
}

impl DestroyCollection for MongoStore {
    /// Deletes every entry of the collection (on the `{c, k}` index); the Mongo
    /// collection and its indexes stay (see the type's docs).
    async fn destroy_collection_opts(&self, c: &str) -> Result<()> {
        let coll = self.entries();
        let delete = coll.delete_many(doc! { "c": c });
        self.op(async { delete.await.map_err(mongo_error).map(drop) })
            .await
    }
}

impl DestroyStore for MongoStore {
    /// Deletes every entry of the store's Mongo collection, nothing else. The emptied
    /// collection stays, with its indexes, for every instance that remembers it.
    async fn destroy_opts(&self) -> Result<()> {
        let coll = self.entries();
        let delete = coll.delete_many(doc! {});
        self.op(async { delete.await.map_err(mongo_error).map(drop) })
            .await
    }
}
