//! `ElasticsearchStore`: Elasticsearch (or OpenSearch) through the official client.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use elasticsearch::Elasticsearch;
use elasticsearch::auth::Credentials;
use elasticsearch::http::headers::{CONTENT_TYPE, HeaderMap, HeaderValue};
use elasticsearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use elasticsearch::http::{Method, StatusCode, Url};
use serde_json::{Value, json};

use super::TtlEntry;
use crate::store::{
    Cull, DeleteOptions, DestroyCollection, DestroyStore, EnumerateCollections, EnumerateKeys, Key,
    ListOptions, PutOptions,
};
use crate::{Condition, ConditionalWrites, Entry, Error, Result, Version, Written, names};
use crate::{Cursor, Page};

/// Documents per `_mget` / `_bulk` request and per search page.
const CHUNK: usize = 1_000;
/// Elasticsearch's `_id` limit in bytes.
const MAX_ID: usize = 512;
/// Elasticsearch's default limit on a request's body (`http.max_content_length`).
const MAX_REQUEST: usize = 100 << 20;
/// A document's request bytes besides its value, key and collection: field names, the
/// expiry, a hashed `_id`, a bulk action line with its index name (at most 255 bytes),
/// with room to spare.
const REQUEST_OVERHEAD: usize = 1 << 10;
/// Room for the collection, whatever its name: in `c`, and in an `_id` under the
/// `_id` limit, every byte escaped (six bytes in JSON).
const COLLECTION_ROOM: usize = 6 * (names::MAX_NAME_LEN + MAX_ID);

/// How writes wait for search visibility (Elasticsearch's `refresh` parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Refresh {
    /// Return once the write is visible to searches (`keys()`): `wait_for` (default).
    #[default]
    WaitFor,
    /// Refresh at once (`true`): visible sooner, costlier for the cluster.
    Immediate,
    /// Do not wait (`false`): fastest; `keys()` may miss writes for a second.
    None,
}

impl Refresh {
    fn param(self) -> &'static str {
        match self {
            Refresh::WaitFor => "wait_for",
            Refresh::Immediate => "true",
            Refresh::None => "false",
        }
    }
}

/// Where and how to connect, for [`ElasticsearchStore::connect`]. Secrets never appear
/// in `Debug`.
#[derive(Clone)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
#[non_exhaustive]
pub struct ElasticsearchOptions {
    /// `http://` or `https://` (rustls) URL of a node.
    pub url: String,
    /// An API key as `(id, secret)`.
    pub api_key: Option<(String, String)>,
    /// Basic authentication as `(user, password)`.
    pub basic: Option<(String, String)>,
    /// The first request's bound (`connect`, 5 s by default) and every later
    /// request's (`operation`, 30 s by default: [`Timeouts::documents`](super::Timeouts::documents)).
    pub timeouts: super::Timeouts,
}

impl Default for ElasticsearchOptions {
    fn default() -> Self {
        Self {
            url: String::new(),
            api_key: None,
            basic: None,
            timeouts: super::Timeouts::documents(),
        }
    }
}

impl ElasticsearchOptions {
    /// The node at `url` (`http://` or `https://`), no credentials, 5 s to connect and
    /// 30 s per request.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::default()
        }
    }

    /// Authenticates with an API key (`id`, `secret`).
    pub fn with_api_key(mut self, id: impl Into<String>, secret: impl Into<String>) -> Self {
        self.api_key = Some((id.into(), secret.into()));
        self
    }

    /// Authenticates with a user name and password.
    pub fn with_basic(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.basic = Some((user.into(), password.into()));
        self
    }

    /// Other timeouts.
    pub fn with_timeouts(mut self, timeouts: super::Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }
}

impl fmt::Debug for ElasticsearchOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ElasticsearchOptions")
            .field("url", &crate::redact(&self.url))
            .field(
                "api_key",
                &self.api_key.as_ref().map(|(id, _)| (id, "<redacted>")),
            )
            .field(
                "basic",
                &self.basic.as_ref().map(|(user, _)| (user, "<redacted>")),
            )
            .field("timeouts", &self.timeouts)
            .finish()
    }
}

/// A store in Elasticsearch (or OpenSearch): one index, `{prefix}-entries`, for every
/// collection.
///
/// Each entry is one document: `c` keyword (the collection), `k` keyword (the key),
/// `v` binary (the value, not indexed), `x` date (the expiry), under a strict mapping.
/// Its `_id` is [`document_id`](Self::document_id): the collection's length in bytes,
/// `.`, the collection, `=`, the key — or `#` and a 128-bit hash of both where that
/// would pass Elasticsearch's 512-byte limit. However many collections a fleet writes,
/// the cluster holds one index of the store's (an index per collection would meet a
/// cluster's shard limit — by default 1,000 shards a node, ~500 indices with a replica
/// each — and grow the cluster state with every name), and nothing is kept or
/// prepared per collection: `collections()` aggregates the live documents' `c`
/// (a composite aggregation, a page at a time), `destroy_collection` deletes by query
/// on `c`. Batches use `_mget` and `_bulk`, surfacing per-item errors (a document
/// `_mget` could not read is an error, never a miss). Errors name Elasticsearch's error types
/// (`cluster_block_exception`), never its reason texts, which quote document ids and
/// preview values. A value travels as base64 in JSON, so the largest one is just under 75
/// MiB ([`value_limit`](Self::value_limit), for Elasticsearch's default 100 MiB
/// request limit); a larger one fails with
/// [`TooLarge`](crate::ErrorDetail::TooLarge) before anything is sent. Writes wait for a refresh by default
/// ([`Refresh::WaitFor`]), so `keys()` (a `search_after` walk) sees them. Reads check
/// the expiry themselves; [`cull`](crate::KvStore::cull) deletes expired documents by query.
///
/// **Many processes.** `destroy_collection` and `destroy` delete documents by query and
/// keep the index and its mapping, so another instance that prepared the index earlier
/// (and so skips preparing it) writes under the strict mapping. An index template
/// (`{prefix}-entries`) gives that mapping to the index if Elasticsearch creates it on
/// the fly, so a write after the index was deleted from outside, by an instance that
/// still remembers it as prepared, lands under the right mapping too. An instance
/// prepares the index again (template and index) when it has not for 60 s.
///
/// ```no_run
/// use bytes::Bytes;
/// use kv_store_adapter::{KvStore, stores::ElasticsearchStore};
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let store = ElasticsearchStore::connect("http://127.0.0.1:9200").await?;
/// store.put("pages", "home", Bytes::from_static(b"<html>"), None).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ElasticsearchStore {
    client: Elasticsearch,
    prefix: Arc<str>,
    refresh: Refresh,
    /// Whether this instance prepared the index lately (a hint: see `Prepared`).
    ready: Arc<super::Prepared>,
    shown: Arc<str>,
    timeouts: super::Timeouts,
}

impl fmt::Debug for ElasticsearchStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ElasticsearchStore")
            .field("url", &self.shown)
            .field("prefix", &self.prefix)
            .field("refresh", &self.refresh)
            .finish()
    }
}

fn es_error(e: elasticsearch::Error) -> Error {
    Error::connection("elasticsearch: request failed", e)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The `_id` of `key` in collection `c`: `{bytes of c}.{c}={key}` (the length makes it
/// injective), or `#` and a hash of both past the `_id` limit (never a digit first).
pub(crate) fn id(c: &str, key: &str) -> String {
    let plain = names::pair_id(c, key);
    if plain.len() < MAX_ID {
        plain
    } else {
        format!("#{}", names::digest(&[c, key]))
    }
}

/// The query matching the live documents of collection `c`.
fn live_in(c: &str) -> Value {
    json!({ "bool": { "filter": [{ "term": { "c": c } }, live_query()] } })
}

/// The query matching documents that have not expired.
fn live_query() -> Value {
    json!({ "bool": { "should": [
        { "bool": { "must_not": { "exists": { "field": "x" } } } },
        { "range": { "x": { "gt": now_ms() } } }
    ], "minimum_should_match": 1 } })
}

impl ElasticsearchStore {
    /// Connects to the node at `url` without credentials (prefix `kv`).
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(&ElasticsearchOptions::new(url)).await
    }

    /// Connects with explicit options (prefix `kv`) and checks that the node answers.
    pub async fn connect_with(options: &ElasticsearchOptions) -> Result<Self> {
        let shown = crate::redact(&options.url);
        let url = Url::parse(&options.url)
            .map_err(|e| Error::setup(format!("invalid Elasticsearch URL {shown:?}"), e))?;
        let mut builder = TransportBuilder::new(SingleNodeConnectionPool::new(url))
            .disable_proxy()
            // A backstop: `call` bounds every request by the operation timeout first,
            // with a typed timeout error.
            .timeout(options.timeouts.operation + Duration::from_secs(1));
        if let Some((id, secret)) = &options.api_key {
            builder = builder.auth(Credentials::ApiKey(id.clone(), secret.clone()));
        } else if let Some((user, password)) = &options.basic {
            builder = builder.auth(Credentials::Basic(user.clone(), password.clone()));
        }
        let transport = builder
            .build()
            .map_err(|e| Error::setup(format!("cannot build a client for {shown}"), e))?;
        let mut store = Self::from_client(Elasticsearch::new(transport), &shown);
        store.timeouts = options.timeouts;
        let first = store.call(Method::Get, "/", &[], None);
        let (status, _) = super::bounded(options.timeouts.connect, first).await?;
        if !status.is_success() {
            return Err(Error::setup_msg(format!("{shown} answered {status}")));
        }
        Ok(store)
    }

    /// Uses an existing client; `shown` names it in `Debug`.
    pub fn from_client(client: Elasticsearch, shown: &str) -> Self {
        Self {
            client,
            prefix: "kv".into(),
            refresh: Refresh::default(),
            ready: Arc::default(),
            shown: crate::redact(shown).into(),
            timeouts: super::Timeouts::documents(),
        }
    }

    /// Uses `prefix` (1-32 of `[a-z0-9_]`) for every index it creates.
    pub fn with_namespace(mut self, prefix: &str) -> Result<Self> {
        names::check_identifier("index prefix", prefix, 32, "[a-z0-9_]", |b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'
        })?;
        self.prefix = prefix.into();
        self.ready = Arc::default();
        Ok(self)
    }

    /// Sets how writes wait for search visibility.
    pub fn with_refresh(mut self, refresh: Refresh) -> Self {
        self.refresh = refresh;
        self
    }

    /// The largest value the store takes under `key`, in bytes: what fits, as base64,
    /// in one request under Elasticsearch's default `http.max_content_length` (100 MiB)
    /// beside the key (in `k`; counted as if every byte needed escaping), room for any
    /// collection name (in `c`, and with the key in an `_id` under 512 bytes) and 1 KiB
    /// for the rest. `key` is the whole key as the store
    /// receives it, so a key-prefixing wrapper's prefix counts. A larger value is
    /// refused with [`TooLarge`](crate::ErrorDetail::TooLarge) before anything is sent,
    /// and a batch holding one writes none of its entries. A cluster configured with a
    /// lower `http.max_content_length` answers HTTP 413 to values between its limit and
    /// this one.
    ///
    /// ```
    /// use kv_store_adapter::stores::ElasticsearchStore;
    /// let room_for_any_collection = 6 * (4096 + 512);
    /// let limit = ((100 << 20) - 1024 - room_for_any_collection - 6) / 4 * 3;
    /// assert_eq!(ElasticsearchStore::value_limit("k"), limit);
    /// assert!(ElasticsearchStore::value_limit("k") > 74 << 20);
    /// ```
    pub const fn value_limit(key: &str) -> usize {
        // JSON escapes a control character as six bytes, a path percent-encodes a byte
        // as three; the `_id` (key and collection, or a hash) is in the collection's
        // room.
        let room = MAX_REQUEST.saturating_sub(REQUEST_OVERHEAD + COLLECTION_ROOM + 6 * key.len());
        // Base64 takes four bytes for every three.
        room / 4 * 3
    }

    /// The index holding every collection's entries: `{prefix}-entries`.
    ///
    /// ```no_run
    /// use kv_store_adapter::stores::ElasticsearchStore;
    /// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
    /// let store = ElasticsearchStore::connect("http://127.0.0.1:9200").await?;
    /// assert_eq!(store.with_namespace("app")?.index_name(), "app-entries");
    /// # Ok(()) }
    /// ```
    pub fn index_name(&self) -> String {
        format!("{}-entries", self.prefix)
    }

    /// The `_id` of the document holding `key` of `collection`:
    /// `{bytes of collection}.{collection}={key}`, or `#` and a 128-bit hash of both
    /// where that would reach Elasticsearch's 512-byte `_id` limit.
    ///
    /// ```
    /// use kv_store_adapter::stores::ElasticsearchStore;
    /// assert_eq!(ElasticsearchStore::document_id("users", "ada"), "5.users=ada");
    /// assert!(ElasticsearchStore::document_id("users", &"a".repeat(600)).starts_with('#'));
    /// ```
    pub fn document_id(collection: &str, key: &str) -> String {
        id(collection, key)
    }

    /// One request; answers the status and the JSON body (`Null` if none).
    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<(StatusCode, Value)> {
        let mut headers = HeaderMap::new();
        if path.ends_with("/_bulk") {
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-ndjson"),
            );
        }
        let query = (!query.is_empty()).then_some(query);
        // Every request, reading its body included, is bounded by the operation
        // timeout (the transport's own timeout covers the request, not the body).
        let exchange = async {
            let response = self
                .client
                .send(method, path, headers, query, body, None)
                .await
                .map_err(es_error)?;
            let status = response.status_code();
            let text = response.text().await.map_err(es_error)?;
            Ok((status, text))
        };
        let (status, text) = super::bounded(self.timeouts.operation, exchange).await?;
        let value = (!text.is_empty()).then(|| serde_json::from_str::<Value>(&text));
        // A cluster that cannot serve now — a 5xx, or 429 (too many requests: a full
        // queue, a rate limit) — is transient, whatever the body: a gateway or a load
        // balancer in front of the cluster answers with its own page, not JSON.
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            let error = match &value {
                Some(Ok(value)) => &value["error"],
                _ => &Value::Null,
            };
            return Err(Error::connection(
                format!("elasticsearch: {status}"),
                error_types(error),
            ));
        }
        let value = match value {
            None => Value::Null,
            Some(Ok(value)) => value,
            Some(Err(e)) => {
                let what = format!("elasticsearch: {status} with a non-JSON body");
                return Err(Error::backend(what, e));
            }
        };
        Ok((status, value))
    }

    /// A failed request as an error: what it was, its status and the error's types
    /// (see [`error_types`]).
    fn failed(what: &str, status: StatusCode, body: &Value) -> Error {
        Error::backend_msg(format!(
            "elasticsearch {what}: {status} {}",
            error_types(&body["error"])
        ))
    }

    /// Before the first write (and again after [`Prepared::TRUST`](super::Prepared)): the
    /// index with the strict mapping, and the template that gives it that mapping if
    /// Elasticsearch creates it on the fly.
    async fn prepare(&self) -> Result<String> {
        let index = self.index_name();
        if self.ready.fresh() {
            return Ok(index);
        }
        let mappings = json!({ "dynamic": "strict", "properties": {
            "c": { "type": "keyword" },
            "k": { "type": "keyword" },
            "v": { "type": "binary" },
            "x": { "type": "date", "format": "epoch_millis" }
        } });
        self.put_template(&index, &mappings).await;
        self.create_index(&index, &json!({ "mappings": mappings }))
            .await?;
        self.ready.mark();
        Ok(index)
    }

    /// Installs (or refreshes) an index template with the entries' strict mapping for
    /// the store's index, so an index deleted from outside and then created on the fly
    /// by a write (Elasticsearch's auto-create) gets that mapping, not a dynamic one. A
    /// safety net: a server that refuses it (a template of another application with the
    /// same pattern and priority) still gets explicit creation.
    async fn put_template(&self, index: &str, mappings: &Value) {
        let prefix = &self.prefix;
        let body = json!({
            "index_patterns": [index],
            "priority": 200,
            "template": { "mappings": mappings },
            "_meta": { "managed_by": "kv-store-adapter" }
        });
        let body = serde_json::to_vec(&body).unwrap_or_default();
        let path = format!("/_index_template/{prefix}-entries");
        match self.call(Method::Put, &path, &[], Some(body)).await {
            Ok((status, _)) if status.is_success() => {}
            Ok((status, _)) => tracing::debug!(%status, "index template refused"),
            Err(e) => tracing::debug!(error = %e, "index template not written"),
        }
    }

    async fn create_index(&self, index: &str, body: &Value) -> Result<()> {
        let body = serde_json::to_vec(body).unwrap_or_default();
        let (status, reply) = self
            .call(Method::Put, &format!("/{index}"), &[], Some(body))
            .await?;
        let exists = reply["error"]["type"] == "resource_already_exists_exception";
        if status.is_success() || exists {
            Ok(())
        } else {
            Err(Self::failed("index creation", status, &reply))
        }
    }

    /// Deletes every document `query` matches, keeping the index and its mapping:
    /// another instance may remember it as prepared and write to it next, which must
    /// land under the strict mapping.
    async fn delete_matching(&self, query: Value) -> Result<()> {
        let body = serde_json::to_vec(&json!({ "query": query })).unwrap_or_default();
        let (status, reply) = self
            .call(
                Method::Post,
                &format!("/{}/_delete_by_query", self.index_name()),
                &[("refresh", "true"), ("conflicts", "proceed")],
                Some(body),
            )
            .await?;
        if status.is_success() || status == StatusCode::NOT_FOUND {
            Ok(())
        } else {
            Err(Self::failed("_delete_by_query", status, &reply))
        }
    }

    /// A document's value and remaining time, or `None` if it has expired.
    pub(crate) fn decode(c: &str, k: &str, source: &Value) -> Result<Option<TtlEntry>> {
        let value = source["v"]
            .as_str()
            .and_then(|v| BASE64.decode(v).ok())
            .ok_or_else(|| Error::corrupt(c, k, "document has no base64 `v`"))?;
        let left = match &source["x"] {
            Value::Null => None,
            x => {
                let at = x
                    .as_u64()
                    .or_else(|| x.as_str().and_then(|s| s.parse().ok()))
                    .ok_or_else(|| Error::corrupt(c, k, "`x` is not epoch milliseconds"))?;
                match at.checked_sub(now_ms()) {
                    Some(left) if left > 0 => Some(Duration::from_millis(left)),
                    _ => return Ok(None),
                }
            }
        };
        Ok(Some(Entry::new(Bytes::from(value), left)))
    }

    pub(crate) fn source(c: &str, key: &str, value: &[u8], ttl: Option<Duration>) -> Value {
        let mut doc = json!({ "c": c, "k": key, "v": BASE64.encode(value) });
        if let Some(ttl) = ttl {
            let ttl = crate::names::bounded(ttl);
            doc["x"] = json!(now_ms() + ttl.as_millis().max(1) as u64);
        }
        doc
    }

    /// The entry of a found document (a GET's answer, or one of `_mget`'s), with its
    /// version: the primary term above the sequence number. Both only grow while the
    /// index lives (this store empties its index in place, never deletes it), a delete
    /// and re-create included.
    fn hit(c: &str, k: &str, doc: &Value) -> Result<Option<TtlEntry>> {
        let entry = Self::decode(c, k, &doc["_source"])?;
        Ok(entry.map(|e| e.with_version(es_version(doc))))
    }

    /// The document of `k` in `c` as it is now: its sequence number and primary term
    /// (expired or not) and its live entry.
    async fn look(&self, c: &str, k: &str) -> Result<(Option<Version>, Option<Entry>)> {
        let path = format!("/{}/_doc/{}", self.index_name(), urlencode(&id(c, k)));
        let (status, reply) = self.call(Method::Get, &path, &[], None).await?;
        match status {
            StatusCode::NOT_FOUND => Ok((None, None)),
            s if s.is_success() && reply["found"] == true => {
                Ok((es_version(&reply), Self::hit(c, k, &reply)?))
            }
            s if s.is_success() => Ok((None, None)),
            s => Err(Self::failed("get", s, &reply)),
        }
    }

    /// Indexes `body` as `id` in `index` only over exactly what [`look`](Self::look)
    /// saw: `op_type=create` where nothing was, else `if_seq_no`/`if_primary_term`.
    /// `Some(version)` if written, `None` on a version conflict (it changed between).
    async fn index_over(
        &self,
        index: &str,
        (c, k): (&str, &str),
        body: Vec<u8>,
        seen: Option<Version>,
    ) -> Result<Option<Option<Version>>> {
        let path = format!("/{index}/_doc/{}", urlencode(&id(c, k)));
        let (seq_no, term) = seen.map(split_version).unwrap_or_default();
        let (seq_no, term) = (seq_no.to_string(), term.to_string());
        let mut params = vec![("refresh", self.refresh.param())];
        match seen {
            None => params.push(("op_type", "create")),
            Some(_) => params.extend([
                ("if_seq_no", seq_no.as_str()),
                ("if_primary_term", term.as_str()),
            ]),
        }
        let (status, reply) = self.call(Method::Put, &path, &params, Some(body)).await?;
        match status {
            s if s.is_success() => Ok(Some(es_version(&reply))),
            StatusCode::CONFLICT => Ok(None),
            s => Err(Self::failed("index", s, &reply)),
        }
    }

    async fn mget(&self, c: &str, keys: &[&str]) -> Result<Vec<Option<TtlEntry>>> {
        let index = self.index_name();
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(CHUNK) {
            let ids: Vec<String> = chunk.iter().map(|k| id(c, k)).collect();
            let body = serde_json::to_vec(&json!({ "ids": ids })).unwrap_or_default();
            let (status, mut reply) = self
                .call(Method::Post, &format!("/{index}/_mget"), &[], Some(body))
                .await?;
            if status == StatusCode::NOT_FOUND {
                out.extend(chunk.iter().map(|_| None));
                continue;
            }
            if !status.is_success() {
                return Err(Self::failed("_mget", status, &reply));
            }
            let docs = match reply["docs"].take() {
                Value::Array(docs) => docs,
                _ => Vec::new(),
            };
            if docs.len() != chunk.len() {
                return Err(Self::failed("_mget (answer count)", status, &reply));
            }
            // A document that could not be read (a read block, an unavailable shard)
            // is not a miss; one of an index that does not exist (yet) is.
            let failed = docs.iter().find(|doc| {
                !doc["error"].is_null() && doc["error"]["type"] != "index_not_found_exception"
            });
            if let Some(failed) = failed {
                return Err(Error::backend_msg(format!(
                    "elasticsearch _mget: a document could not be read: {}",
                    error_types(&failed["error"])
                )));
            }
            for (k, doc) in chunk.iter().zip(&docs) {
                out.push(if doc["found"] == true {
                    Self::hit(c, k, doc)?
                } else {
                    None
                });
            }
        }
        Ok(out)
    }

    /// One `_bulk` request of `lines`; an error if any item failed. `what` names the
    /// request in the error; with `deletes`, a missing index or document is no failure.
    async fn bulk(&self, what: &str, lines: &[Value], deletes: bool) -> Result<()> {
        let mut body = Vec::new();
        for line in lines {
            serde_json::to_writer(&mut body, line).unwrap_or_default();
            body.push(b'\n');
        }
        let (status, reply) = self
            .call(
                Method::Post,
                "/_bulk",
                &[("refresh", self.refresh.param())],
                Some(body),
            )
            .await?;
        if deletes && status == StatusCode::NOT_FOUND {
            return Ok(());
        }
        if !status.is_success() {
            return Err(Self::failed(what, status, &reply));
        }
        if reply["errors"] != true {
            return Ok(());
        }
        // Each item is `{"index": {…}}` or `{"delete": {…}}`; a failed one has an `error`.
        let items = reply["items"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        let failed: Vec<&Value> = items
            .iter()
            .filter_map(|item| item.as_object()?.values().next())
            .filter(|item| !item["error"].is_null())
            .filter(|item| !(deletes && item["error"]["type"] == "index_not_found_exception"))
            .collect();
        match failed.first() {
            None => Ok(()),
            Some(first) => Err(Error::backend_msg(format!(
                "elasticsearch {what}: {} of {} items failed, the first with {} {}",
                failed.len(),
                items.len(),
                first["status"],
                error_types(&first["error"])
            ))),
        }
    }
}

/// The version of a document answer: `_primary_term` above `_seq_no`.
fn es_version(doc: &Value) -> Option<Version> {
    let seq_no = doc["_seq_no"].as_u64()?;
    let term = doc["_primary_term"].as_u64()?;
    Some(Version::new((u128::from(term) << 64) | u128::from(seq_no)))
}

/// `(seq_no, primary_term)` of a version.
fn split_version(version: Version) -> (u64, u64) {
    let raw = version.get();
    (raw as u64, (raw >> 64) as u64)
}

/// Atomic through Elasticsearch's optimistic concurrency control. A create is first
/// an index with `op_type=create`: one request where the key is new. Where a document
/// is there, and for every compare-and-swap, the store looks at the document (GET,
/// with its sequence number and primary term), decides, and indexes only over exactly
/// the document it saw (`if_seq_no` and `if_primary_term`, or `op_type=create` where
/// there was none); a delete uses the same guards. Two requests there, since an
/// expired document stays in the index until culled and only this store knows it is
/// expired. The one window: an entry that expires between the look and the write is
/// replaced as if it were still live.
impl ConditionalWrites for ElasticsearchStore {
    async fn put_if_opts(
        &self,
        key: Key<'_>,
        value: Bytes,
        condition: Condition,
        opts: PutOptions,
    ) -> Result<Written> {
        let (c, k) = (key.collection(), key.joined());
        super::check_sizes(|k| super::Backend::value_limit(self, k), [(&*k, &value)])?;
        let index = self.prepare().await?;
        let body = serde_json::to_vec(&Self::source(c, &k, &value, opts.ttl)).unwrap_or_default();
        let (k, index, body) = (&*k, index.as_str(), &body);
        super::look_then_write(
            condition,
            move || self.look(c, k),
            move |seen| self.index_over(index, (c, k), body.clone(), seen),
        )
        .await
    }

    async fn delete_if_opts(
        &self,
        key: Key<'_>,
        version: Version,
        _: DeleteOptions,
    ) -> Result<bool> {
        let (c, k) = (key.collection(), key.joined());
        let (_, current) = self.look(c, &k).await?;
        if current.is_none_or(|e| e.version != Some(version)) {
            return Ok(false);
        }
        let path = format!("/{}/_doc/{}", self.index_name(), urlencode(&id(c, &k)));
        let (seq_no, term) = split_version(version);
        let (seq_no, term) = (seq_no.to_string(), term.to_string());
        let params = [
            ("refresh", self.refresh.param()),
            ("if_seq_no", seq_no.as_str()),
            ("if_primary_term", term.as_str()),
        ];
        let (status, reply) = self.call(Method::Delete, &path, &params, None).await?;
        match status {
            s if s.is_success() => Ok(true),
            StatusCode::CONFLICT | StatusCode::NOT_FOUND => Ok(false),
            s => Err(Self::failed("delete", s, &reply)),
        }
    }
}

super::backend_store!(ElasticsearchStore);

impl super::Backend for ElasticsearchStore {
    fn value_limit(&self, key: &str) -> Option<usize> {
        Some(Self::value_limit(key))
    }

    async fn get_value(&self, c: &str, k: &str) -> Result<Option<Entry>> {
        Ok(self.ttl_value(c, k).await?.map(super::untimed))
    }

    async fn put_value(&self, c: &str, k: &str, v: Bytes, ttl: Option<Duration>) -> Result<()> {
        let index = self.prepare().await?;
        let path = format!("/{index}/_doc/{}", urlencode(&id(c, k)));
        let body = serde_json::to_vec(&Self::source(c, k, &v, ttl)).unwrap_or_default();
        let (status, reply) = self
            .call(
                Method::Put,
                &path,
                &[("refresh", self.refresh.param())],
                Some(body),
            )
            .await?;
        if status.is_success() {
            Ok(())
        } else {
            Err(Self::failed("index", status, &reply))
        }
    }

    async fn delete_value(&self, c: &str, k: &str) -> Result<bool> {
        Ok(self.delete_values(c, &[k]).await? == 1)
    }

    async fn ttl_value(&self, c: &str, k: &str) -> Result<Option<TtlEntry>> {
        let path = format!("/{}/_doc/{}", self.index_name(), urlencode(&id(c, k)));
        let (status, reply) = self.call(Method::Get, &path, &[], None).await?;
        match status {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() && reply["found"] == true => Self::hit(c, k, &reply),
            s if s.is_success() => Ok(None),
            s => Err(Self::failed("get", s, &reply)),
        }
    }

    async fn get_values(&self, c: &str, keys: &[&str]) -> Result<Vec<Option<Entry>>> {
        Ok(super::values(self.mget(c, keys).await?))
    }

    async fn put_values(
        &self,
        c: &str,
        entries: &[(&str, Bytes)],
        ttl: Option<Duration>,
    ) -> Result<()> {
        let index = self.prepare().await?;
        for chunk in super::write_chunks(entries, CHUNK, 8 << 20) {
            let mut lines = Vec::with_capacity(2 * chunk.len());
            for (k, v) in chunk {
                lines.push(json!({ "index": { "_index": index, "_id": id(c, k) } }));
                lines.push(Self::source(c, k, v, ttl));
            }
            self.bulk("_bulk", &lines, false).await?;
        }
        Ok(())
    }

    async fn delete_values(&self, c: &str, keys: &[&str]) -> Result<usize> {
        let distinct = names::distinct(keys);
        let live = self.mget(c, &distinct).await?;
        let index = self.index_name();
        let mut removed = 0;
        for (chunk, live) in distinct.chunks(CHUNK).zip(live.chunks(CHUNK)) {
            let present: Vec<Value> = chunk
                .iter()
                .map(|k| json!({ "delete": { "_index": index, "_id": id(c, k) } }))
                .collect();
            removed += live.iter().filter(|e| e.is_some()).count();
            // Deleting a missing document is a per-item 404, not a failure.
            self.bulk("_bulk delete", &present, true).await?;
        }
        Ok(removed)
    }

    fn ttl_values(
        &self,
        c: &str,
        keys: &[&str],
    ) -> impl Future<Output = Result<Vec<Option<TtlEntry>>>> + Send {
        self.mget(c, keys)
    }
}

/// What an Elasticsearch error is, as this store's errors show it: its `type` and its
/// causes' (`mapper_parsing_exception, caused by illegal_argument_exception`), never its
/// `reason`. Elasticsearch writes document ids and previews of values into reasons
/// (`failed to parse field [v] … in document with id '=key'. Preview of field's
/// value: '…'`), and no error's text may show a key or a value (see
/// [`Error::key`](crate::Error::key)).
fn error_types(error: &Value) -> String {
    let mut out = String::new();
    let mut cause = error;
    // A bounded walk: the chain is the server's to make.
    for depth in 0..4 {
        let Some(kind) = cause["type"].as_str() else {
            break;
        };
        if depth > 0 {
            out.push_str(", caused by ");
        }
        // Types are identifiers (`cluster_block_exception`); anything else is not shown.
        if kind.len() <= 100 && kind.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            out.push_str(kind);
        } else {
            out.push_str("(an unnamed error)");
        }
        cause = &cause["caused_by"];
    }
    if out.is_empty() {
        out.push_str("(no error type)");
    }
    out
}

/// Percent-encodes an `_id` for a URL path.
fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl EnumerateKeys for ElasticsearchStore {
    async fn keys_opts(&self, c: &str, opts: ListOptions) -> Result<Vec<String>> {
        let limit = opts.limit;
        let index = self.index_name();
        let mut out = Vec::new();
        let mut after: Option<Value> = None;
        while out.len() < limit {
            let mut query = json!({
                "size": CHUNK.min(limit - out.len()),
                "_source": ["k"],
                "sort": [{ "k": "asc" }],
                "query": live_in(c),
            });
            if let Some(after) = &after {
                query["search_after"] = after.clone();
            }
            let body = serde_json::to_vec(&query).unwrap_or_default();
            let (status, reply) = self
                .call(Method::Post, &format!("/{index}/_search"), &[], Some(body))
                .await?;
            if status == StatusCode::NOT_FOUND {
                break;
            }
            if !status.is_success() {
                return Err(Self::failed("_search", status, &reply));
            }
            let hits = reply["hits"]["hits"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for hit in &hits {
                let key = hit["_source"]["k"]
                    .as_str()
                    .ok_or_else(|| Error::corrupt(c, "?", "document has no `k`"))?;
                out.push(key.to_owned());
            }
            match hits.last() {
                Some(last) if !hits.is_empty() => after = Some(last["sort"].clone()),
                _ => break,
            }
        }
        out.truncate(limit);
        Ok(out)
    }

    /// A page of 1,000 names: the native cursor serves it cheaply.
    fn walk_page(&self, _collection: &str) -> usize {
        crate::listing::WALK_PAGE
    }

    /// One `_search` sorted on the key, `search_after` the cursor (the last key read),
    /// with `k` from `prefix` on, ending at the first key without it (a keyword sorts
    /// by its bytes, so a prefix's keys are together).
    async fn keys_page_with_prefix(
        &self,
        c: &str,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page> {
        let limit = limit.clamp(1, CHUNK);
        let mut filter = live_in(c);
        if !prefix.is_empty() {
            filter =
                json!({ "bool": { "filter": [filter, { "range": { "k": { "gte": prefix } } }] } });
        }
        let mut query = json!({
            "size": limit,
            "_source": ["k"],
            "sort": [{ "k": "asc" }],
            "query": filter,
        });
        if let Some(after) = &cursor {
            query["search_after"] = json!([after.as_str()]);
        }
        let body = serde_json::to_vec(&query).unwrap_or_default();
        let index = self.index_name();
        let (status, reply) = self
            .call(Method::Post, &format!("/{index}/_search"), &[], Some(body))
            .await?;
        if status == StatusCode::NOT_FOUND {
            return Ok(Page::default());
        }
        if !status.is_success() {
            return Err(Self::failed("_search", status, &reply));
        }
        let mut names = Vec::new();
        for hit in reply["hits"]["hits"].as_array().into_iter().flatten() {
            let key = hit["_source"]["k"]
                .as_str()
                .ok_or_else(|| Error::corrupt(c, "?", "document has no `k`"))?;
            if !key.starts_with(prefix) {
                return Ok(Page::new(names, None).ordered());
            }
            names.push(key.to_owned());
        }
        let next = (names.len() == limit)
            .then(|| names.last().cloned().map(Cursor::new))
            .flatten();
        Ok(Page::new(names, next).ordered())
    }
}

impl EnumerateCollections for ElasticsearchStore {
    /// A composite aggregation of the live documents' `c`, a page at a time, in the
    /// order of the names' bytes.
    async fn collections_opts(&self, opts: ListOptions) -> Result<Vec<String>> {
        self.collections_after("", None, opts.limit).await
    }

    /// The same aggregation, of the documents whose `c` is from the prefix up to its
    /// end, from after the cursor's name: one page.
    async fn collections_page_with_prefix(
        &self,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page> {
        let limit = limit.max(1);
        let names = self
            .collections_after(prefix, cursor, limit.saturating_add(1))
            .await?;
        Ok(Page::of_one_more(names, limit))
    }

    fn collections_walk_page(&self) -> usize {
        crate::listing::WALK_PAGE
    }
}

impl ElasticsearchStore {
    /// Up to `limit` names of collections with a live entry that start with `prefix`,
    /// after `after`'s (from the first without), in the order of the names' bytes: a
    /// composite aggregation, a page of [`CHUNK`] at a time.
    async fn collections_after(
        &self,
        prefix: &str,
        after: Option<Cursor>,
        limit: usize,
    ) -> Result<Vec<String>> {
        let index = self.index_name();
        let mut filter = live_query();
        if !prefix.is_empty() {
            let mut range = json!({ "gte": prefix });
            if let Some(end) = crate::listing::prefix_end(prefix) {
                range["lt"] = json!(end);
            }
            filter = json!({ "bool": { "filter": [filter, { "range": { "c": range } }] } });
        }
        let mut out = Vec::new();
        let mut after: Option<Value> = after.map(|name| json!({ "c": name.as_str() }));
        while out.len() < limit {
            let size = CHUNK.min(limit - out.len());
            let mut names =
                json!({ "size": size, "sources": [{ "c": { "terms": { "field": "c" } } }] });
            if let Some(after) = after.take() {
                names["after"] = after;
            }
            let query = json!({
                "size": 0,
                "query": filter,
                "aggs": { "names": { "composite": names } },
            });
            let body = serde_json::to_vec(&query).unwrap_or_default();
            let (status, mut reply) = self
                .call(Method::Post, &format!("/{index}/_search"), &[], Some(body))
                .await?;
            if status == StatusCode::NOT_FOUND {
                break;
            }
            if !status.is_success() {
                return Err(Self::failed("_search (collections)", status, &reply));
            }
            let page = &mut reply["aggregations"]["names"];
            let buckets = match page["buckets"].take() {
                Value::Array(buckets) => buckets,
                _ => Vec::new(),
            };
            for bucket in &buckets {
                let name = bucket["key"]["c"].as_str().ok_or_else(|| {
                    Error::backend_msg("elasticsearch: a collection name that is not a string")
                })?;
                out.push(name.to_owned());
            }
            match page["after_key"].take() {
                key @ Value::Object(_) if buckets.len() == size => after = Some(key),
                _ => break,
            }
        }
        out.truncate(limit);
        Ok(out)
    }
}

impl DestroyCollection for ElasticsearchStore {
    /// Deletes every entry of the collection (by query on `c`); the index stays (see
    /// the type's docs).
    async fn destroy_collection_opts(&self, c: &str) -> Result<()> {
        self.delete_matching(json!({ "term": { "c": c } })).await
    }
}

impl DestroyStore for ElasticsearchStore {
    /// Deletes every entry of the store's index, nothing else. The emptied index
    /// stays, prepared, for every instance that remembers it.
    async fn destroy_opts(&self) -> Result<()> {
        self.delete_matching(json!({ "match_all": {} })).await
    }
}

impl Cull for ElasticsearchStore {
    /// Deletes expired documents with `_delete_by_query` on `x`.
    async fn cull_opts(&self) -> Result<()> {
        self.delete_matching(json!({ "range": { "x": { "lte": now_ms() } } }))
            .await
    }
}
