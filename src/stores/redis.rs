//! `RedisStore`: Redis (or Valkey) through redis-rs, standalone or cluster.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, RedisError, Value};

use super::TtlEntry;
use crate::store::{
    DeleteOptions, DestroyCollection, DestroyStore, EnumerateCollections, EnumerateKeys, Key,
    ListOptions, PutOptions,
};
use crate::{Condition, ConditionalWrites, Entry, Error, Result, Version, Written, names};

/// The format byte in front of the values 0.1 wrote: the value follows. Read as
/// version [`LEGACY`] until rewritten.
const FORMAT: u8 = 0x01;
/// The format byte in front of every value this store writes: the entry's 16-byte
/// version, then the value. Anything else read back (a value another client wrote) is
/// corrupt data.
const VERSIONED: u8 = 0x02;
/// The version of a value in the 0.1 format: never one [`Version::unique`] gives.
const LEGACY: Version = Version::new(0);
/// Keys per MGET / UNLINK / pipeline.
const CHUNK: usize = 1_000;
/// Keys asked per SCAN step.
const SCAN_COUNT: usize = 1_000;

/// A connection the store can use: the standalone `ConnectionManager` and the
/// cluster's `ClusterConnection`. Enumeration differs: a cluster spreads keys over
/// several primaries.
pub trait RedisConnection: ConnectionLike + Clone + Send + Sync + 'static {
    /// Every key matching `pattern` on the node that holds `slot_key`'s slot.
    fn scan_slot(
        &self,
        pattern: &[u8],
        slot_key: &[u8],
    ) -> impl Future<Output = redis::RedisResult<Vec<Vec<u8>>>> + Send;

    /// Every key matching `pattern` on every primary.
    fn scan_all(
        &self,
        pattern: &[u8],
    ) -> impl Future<Output = redis::RedisResult<Vec<Vec<u8>>>> + Send;
}

/// Runs SCAN to the end (cursor 0), each step through `step`.
pub(crate) async fn scan_to_end<F, Fut>(
    pattern: &[u8],
    mut step: F,
) -> redis::RedisResult<Vec<Vec<u8>>>
where
    F: FnMut(Cmd) -> Fut,
    Fut: Future<Output = redis::RedisResult<Value>>,
{
    let mut cursor: u64 = 0;
    let mut keys = Vec::new();
    loop {
        let mut cmd = redis::cmd("SCAN");
        cmd.arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(SCAN_COUNT);
        let (next, batch): (u64, Vec<Vec<u8>>) = redis::from_redis_value(step(cmd).await?)?;
        keys.extend(batch);
        if next == 0 {
            return Ok(keys);
        }
        cursor = next;
    }
}

impl RedisConnection for ConnectionManager {
    async fn scan_slot(&self, pattern: &[u8], _: &[u8]) -> redis::RedisResult<Vec<Vec<u8>>> {
        self.scan_all(pattern).await
    }

    async fn scan_all(&self, pattern: &[u8]) -> redis::RedisResult<Vec<Vec<u8>>> {
        let conn = self.clone();
        scan_to_end(pattern, |cmd| {
            let mut conn = conn.clone();
            async move { cmd.query_async(&mut conn).await }
        })
        .await
    }
}

/// A store on a Redis (or Valkey) server, or — as `RedisClusterStore` (feature
/// `redis-cluster`) — a cluster.
///
/// Every key lives under the store's namespace as `{namespace}:{{len}:{collection}}{key}`:
/// the collection's byte length makes the encoding injective (no `a::b`+`c` vs
/// `a`+`b::c`), and the braces are a Redis Cluster hash tag, so one collection's keys
/// share a slot and batches work on a cluster. Values carry a one-byte format header.
/// TTLs are exact to the millisecond (`PX`); a put without TTL clears an old one.
/// Batches use MGET, MSET (pipelined `SET … PX` when a TTL is given) and UNLINK, in
/// chunks of 1,000 keys. Enumeration
/// runs SCAN to the end; `destroy` removes only this namespace's keys — never FLUSHDB.
///
/// The connection is a multiplexed `ConnectionManager`: cheap to clone, pipelining
/// concurrent calls, reconnecting by itself.
///
/// ```no_run
/// use bytes::Bytes;
/// use kv_store_adapter::{KvStore, stores::RedisStore};
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let store = RedisStore::connect("redis://127.0.0.1:6379/0").await?.with_namespace("app")?;
/// store.put("sessions", "s1", Bytes::from_static(b"ada"), None).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore<C = ConnectionManager> {
    pub(crate) conn: C,
    namespace: Arc<str>,
    /// The URL with any password replaced, for `Debug`.
    pub(crate) shown: Arc<str>,
    /// The per-command timeout, for the errors it causes.
    timeout: Duration,
}

impl<C> fmt::Debug for RedisStore<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &self.shown)
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

pub(crate) use crate::redact::redact;

/// Readies TLS for a connection to `url` (or to options asking for TLS): with the
/// `redis-tls` feature, makes sure rustls has a process-wide crypto provider (ring,
/// unless the application installed another), since redis-rs leaves that choice to
/// the application and would panic without one; without the feature, a `rediss://`
/// or `valkeys://` URL is a clear setup error instead of redis-rs's generic one.
pub(crate) fn tls_ready(url: &str, tls: bool) -> Result<()> {
    let scheme = url.split_once("://").map_or("", |(scheme, _)| scheme);
    if !(tls || scheme.eq_ignore_ascii_case("rediss") || scheme.eq_ignore_ascii_case("valkeys")) {
        return Ok(());
    }
    #[cfg(feature = "redis-tls")]
    {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // Fails only if another thread installed one first, which is as good.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        Ok(())
    }
    #[cfg(not(feature = "redis-tls"))]
    Err(Error::setup_msg(format!(
        "{} asks for TLS, which needs the `redis-tls` Cargo feature",
        redact(url)
    )))
}

/// The PEM certificates in `path`, for trusting a CA of one's own.
#[cfg(feature = "redis-tls")]
pub(crate) fn read_ca_file(path: &std::path::Path) -> Result<Vec<u8>> {
    let pem = std::fs::read(path)
        .map_err(|e| Error::setup(format!("cannot read the TLS CA file {}", path.display()), e))?;
    if !pem.windows(11).any(|w| w == b"-----BEGIN ") {
        return Err(Error::setup_msg(format!(
            "the TLS CA file {} holds no PEM certificate",
            path.display()
        )));
    }
    Ok(pem)
}

pub(crate) fn setup_error(url: &str, e: RedisError) -> Error {
    Error::setup(
        format!("cannot connect to {}: {}", redact(url), e.category()),
        e,
    )
}

/// Connection-level failures are transient; everything else is a backend error.
pub(crate) fn redis_error(e: RedisError) -> Error {
    let transient = e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
        || e.is_unrecoverable_error();
    let message = format!("redis: {}", e.category());
    if transient {
        Error::connection(message, e)
    } else {
        Error::backend(message, e)
    }
}

/// Where and how to connect, for [`RedisStore::connect_with`]: built with
/// [`new`](Self::new) and the `with_*` methods (new options can be added without
/// breaking anyone). The password never appears in `Debug`.
///
/// ```
/// use kv_store_adapter::stores::RedisOptions;
/// let options = RedisOptions::new("127.0.0.1", 6379).with_db(2).with_password("hunter2");
/// assert_eq!(options.db, 2);
/// assert!(!format!("{options:?}").contains("hunter2"));
/// ```
///
/// With the `serde` feature it reads from configuration; every field may be left out
/// (the defaults are `127.0.0.1:6379`, database 0, plain TCP, 5 s timeouts) and an
/// unknown field is an error:
///
/// ```json
/// { "host": "cache.internal", "port": 6380, "password": "…", "tls_ca_file": "/etc/ca.pem",
///   "timeouts": { "connect": "2s", "operation": "500ms" } }
/// ```
#[derive(Clone)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
#[non_exhaustive]
pub struct RedisOptions {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Database number.
    pub db: i64,
    /// ACL user name.
    pub username: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// Connect over TLS (rustls; feature `redis-tls`).
    pub tls: bool,
    /// A PEM file of CA certificates to trust instead of the web PKI roots (feature
    /// `redis-tls`; implies `tls`).
    pub tls_ca_file: Option<std::path::PathBuf>,
    /// Connect and per-command timeouts (5 s each by default).
    pub timeouts: super::Timeouts,
}

impl Default for RedisOptions {
    /// `127.0.0.1:6379`, database 0, no credentials, plain TCP, 5 s timeouts.
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 6379,
            db: 0,
            username: None,
            password: None,
            tls: false,
            tls_ca_file: None,
            timeouts: super::Timeouts::default(),
        }
    }
}

impl RedisOptions {
    /// Plain TCP to `host:port`, database 0, no credentials.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
            ..Self::default()
        }
    }

    /// Database number `db` (0 by default).
    pub fn with_db(mut self, db: i64) -> Self {
        self.db = db;
        self
    }

    /// Authenticates as the ACL user `username`.
    pub fn with_username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }

    /// Authenticates with `password`.
    pub fn with_password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// Connects over TLS (feature `redis-tls`), trusting the web PKI roots.
    pub fn with_tls(mut self) -> Self {
        self.tls = true;
        self
    }

    /// Connects over TLS (feature `redis-tls`), trusting the CA certificates in the PEM
    /// file at `path`.
    pub fn with_tls_ca_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.tls = true;
        self.tls_ca_file = Some(path.into());
        self
    }

    /// Other connect and per-command timeouts.
    pub fn with_timeouts(mut self, timeouts: super::Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }
}

impl fmt::Debug for RedisOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisOptions")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("db", &self.db)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("tls", &self.tls)
            .field("tls_ca_file", &self.tls_ca_file)
            .field("timeouts", &self.timeouts)
            .finish()
    }
}

impl RedisStore {
    /// Connects to `url` (`redis://`, `rediss://` over rustls, `valkey://`, with user,
    /// password and database), with the namespace `kv`.
    ///
    /// Every command waits at most 5 s for its answer, and a connection attempt at
    /// most 5 s (see [`connect_with_timeouts`](Self::connect_with_timeouts)); a stalled
    /// server yields a [`Timeout`](crate::ErrorDetail::Timeout) error, and the
    /// connection manager reconnects by itself.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with_timeouts(url, super::Timeouts::default()).await
    }

    /// [`connect`](Self::connect) with other timeouts.
    pub async fn connect_with_timeouts(url: &str, timeouts: super::Timeouts) -> Result<Self> {
        tls_ready(url, false)?;
        let client = redis::Client::open(url).map_err(|e| setup_error(url, e))?;
        Self::with_client(client, url, timeouts).await
    }

    /// Connects to a `rediss://` (or `valkeys://`) `url`, trusting the CA certificates
    /// in the PEM file `ca_file` instead of the web PKI roots: for servers with
    /// certificates from a CA of one's own (feature `redis-tls`).
    ///
    /// ```no_run
    /// use kv_store_adapter::stores::{RedisStore, Timeouts};
    ///
    /// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
    /// let store =
    ///     RedisStore::connect_tls("rediss://cache.internal:6380/0", "/etc/app/ca.pem", Timeouts::default())
    ///         .await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "redis-tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis-tls")))]
    pub async fn connect_tls(
        url: &str,
        ca_file: impl AsRef<std::path::Path>,
        timeouts: super::Timeouts,
    ) -> Result<Self> {
        tls_ready(url, true)?;
        let pem = read_ca_file(ca_file.as_ref())?;
        let certificates = redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(pem),
        };
        let client =
            redis::Client::build_with_tls(url, certificates).map_err(|e| setup_error(url, e))?;
        Self::with_client(client, url, timeouts).await
    }

    /// Connects with explicit options, with the namespace `kv`.
    pub async fn connect_with(options: &RedisOptions) -> Result<Self> {
        let tls = options.tls || options.tls_ca_file.is_some();
        let scheme = if tls { "rediss" } else { "redis" };
        let shown = format!(
            "{scheme}://{}:{}/{}",
            options.host, options.port, options.db
        );
        tls_ready(&shown, tls)?;
        let addr = if tls {
            redis::ConnectionAddr::TcpTls {
                host: options.host.clone(),
                port: options.port,
                insecure: false,
                tls_params: None,
            }
        } else {
            redis::ConnectionAddr::Tcp(options.host.clone(), options.port)
        };
        let mut settings = redis::RedisConnectionInfo::default().set_db(options.db);
        if let Some(user) = &options.username {
            settings = settings.set_username(user);
        }
        if let Some(password) = &options.password {
            settings = settings.set_password(password);
        }
        let info = redis::IntoConnectionInfo::into_connection_info(addr)
            .map_err(|e| setup_error(&shown, e))?
            .set_redis_settings(settings);
        let client = match &options.tls_ca_file {
            #[cfg(feature = "redis-tls")]
            Some(path) => {
                let certificates = redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(read_ca_file(path)?),
                };
                redis::Client::build_with_tls(info, certificates)
            }
            _ => redis::Client::open(info),
        }
        .map_err(|e| setup_error(&shown, e))?;
        Self::with_client(client, &shown, options.timeouts).await
    }

    async fn with_client(
        client: redis::Client,
        url: &str,
        timeouts: super::Timeouts,
    ) -> Result<Self> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeouts.connect))
            .set_response_timeout(Some(timeouts.operation))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let connect = async {
            ConnectionManager::new_with_config(client, config)
                .await
                .map_err(|e| setup_error(url, e))
        };
        let conn = super::bounded(timeouts.connect, connect).await?;
        Ok(Self::from_connection(conn, &redact(url)).with_timeout(timeouts.operation))
    }
}

impl<C: RedisConnection> RedisStore<C> {
    /// Wraps an existing connection (namespace `kv`); `shown` names it in `Debug`.
    pub fn from_connection(conn: C, shown: &str) -> Self {
        Self {
            conn,
            namespace: "kv".into(),
            shown: redact(shown).into(),
            timeout: super::Timeouts::default().operation,
        }
    }

    /// Reports commands that time out as [`Timeout`](crate::ErrorDetail::Timeout) after
    /// `limit` (the connection's own response timeout, which this does not change).
    pub(crate) fn with_timeout(mut self, limit: Duration) -> Self {
        self.timeout = limit;
        self
    }

    /// A failed command as the crate's error: a timeout is a typed timeout.
    fn fail(&self, e: RedisError) -> Error {
        if e.is_timeout() {
            Error::timeout(self.timeout)
        } else {
            redis_error(e)
        }
    }

    /// Uses `namespace` (ASCII letters, digits, `_`, `-`, `.`) for every key, so
    /// several stores share one database without meeting.
    pub fn with_namespace(mut self, namespace: &str) -> Result<Self> {
        names::check_identifier("namespace", namespace, 64, "[A-Za-z0-9_.-]", |b| {
            b.is_ascii_alphanumeric() || b"_-.".contains(&b)
        })?;
        self.namespace = namespace.into();
        Ok(self)
    }

    /// The connection underneath (for commands the store does not cover).
    pub fn connection(&self) -> &C {
        &self.conn
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    fn head(&self, collection: &str) -> Vec<u8> {
        key_head(&self.namespace, collection)
    }

    /// The Redis key of `collection`/`key`.
    pub fn redis_key(&self, collection: &str, key: &str) -> Vec<u8> {
        let mut out = self.head(collection);
        out.extend_from_slice(key.as_bytes());
        out
    }

    /// The Redis keys of a batch: the collection's prefix is built once.
    fn redis_keys<'a>(
        &self,
        collection: &str,
        keys: impl Iterator<Item = &'a str>,
    ) -> Vec<Vec<u8>> {
        let head = self.head(collection);
        keys.map(|k| {
            let mut out = Vec::with_capacity(head.len() + k.len());
            out.extend_from_slice(&head);
            out.extend_from_slice(k.as_bytes());
            out
        })
        .collect()
    }

    fn decode<'a>(&self, raw: &'a [u8]) -> Option<(&'a str, &'a str)> {
        split_key(&self.namespace, raw)
    }

    /// A SCAN pattern matching `literal` followed by anything.
    fn pattern(literal: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(literal.len() + 8);
        for &b in literal {
            if b"*?[]\\".contains(&b) {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'*');
        out
    }

    fn set(cmd: &mut Cmd, key: Vec<u8>, value: &[u8], ttl: Option<Duration>) {
        cmd.arg(key).arg(Framed::new(value));
        if let Some(ms) = ttl.map(px) {
            cmd.arg("PX").arg(ms);
        }
    }

    async fn query<T: redis::FromRedisValue>(&self, cmd: &Cmd) -> Result<T> {
        cmd.query_async(&mut self.conn.clone())
            .await
            .map_err(|e| self.fail(e))
    }

    /// Every live key of `collection`, as Redis keys.
    async fn collection_keys(&self, collection: &str) -> Result<Vec<Vec<u8>>> {
        let head = self.head(collection);
        self.conn
            .scan_slot(&Self::pattern(&head), &head)
            .await
            .map_err(|e| self.fail(e))
    }

    async fn unlink(&self, keys: &[Vec<u8>]) -> Result<usize> {
        let mut removed = 0;
        for chunk in keys.chunks(CHUNK) {
            removed += self.query::<usize>(redis::cmd("UNLINK").arg(chunk)).await?;
        }
        Ok(removed)
    }
}

/// The key prefix of `collection` in `namespace`: `{ns}:{{len}:{collection}}`.
pub(crate) fn key_head(namespace: &str, collection: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(namespace.len() + collection.len() + 16);
    out.extend_from_slice(namespace.as_bytes());
    out.extend_from_slice(b":{");
    // Digits without a temporary String.
    let _ = std::io::Write::write_fmt(&mut out, format_args!("{}:", collection.len()));
    out.extend_from_slice(collection.as_bytes());
    out.push(b'}');
    out
}

/// Splits a Redis key of `namespace` back into `(collection, key)`.
pub(crate) fn split_key<'a>(namespace: &str, raw: &'a [u8]) -> Option<(&'a str, &'a str)> {
    let rest = raw
        .strip_prefix(namespace.as_bytes())?
        .strip_prefix(b":{")?;
    let colon = rest.iter().position(|&b| b == b':')?;
    let len = names::canonical_len(&rest[..colon])?;
    let rest = &rest[colon + 1..];
    let (c, rest) = rest.split_at_checked(len)?;
    let k = rest.strip_prefix(b"}")?;
    Some((std::str::from_utf8(c).ok()?, std::str::from_utf8(k).ok()?))
}

/// A value as the store writes it — the format byte, a new version, then the bytes —
/// written straight into the command's buffer (no stored copy built first).
pub(crate) struct Framed<'a> {
    value: &'a [u8],
    version: Version,
}

impl<'a> Framed<'a> {
    /// `value` under a new version.
    pub(crate) fn new(value: &'a [u8]) -> Self {
        Self {
            value,
            version: Version::unique(),
        }
    }
}

impl redis::ToRedisArgs for Framed<'_> {
    fn write_redis_args<W: ?Sized + redis::RedisWrite>(&self, out: &mut W) {
        use std::io::Write;
        let mut arg = out.writer_for_next_arg();
        // Writing to the command's in-memory buffer cannot fail.
        let _ = arg.write_all(&[VERSIONED]);
        let _ = arg.write_all(&self.version.to_bytes());
        let _ = arg.write_all(self.value);
    }
}

/// The entry of a stored form: `None` stays a miss, a foreign format is corrupt data.
pub(crate) fn decode_value(c: &str, k: &str, raw: Option<Vec<u8>>) -> Result<Option<Entry>> {
    let Some(raw) = raw else { return Ok(None) };
    let (version, header) = match raw.split_first() {
        Some((&VERSIONED, rest)) => match rest.first_chunk::<16>() {
            Some(version) => (Version::from_bytes(*version), 17),
            None => return Err(Error::corrupt(c, k, "shorter than its version")),
        },
        Some((&FORMAT, _)) => (LEGACY, 1),
        _ => {
            return Err(Error::corrupt(
                c,
                k,
                "not written by this store (format byte)",
            ));
        }
    };
    // `advance` moves the start without the allocation `slice` would make.
    let mut value = Bytes::from(raw);
    bytes::Buf::advance(&mut value, header);
    Ok(Some(Entry::value(value).with_version(Some(version))))
}

/// A TTL in milliseconds for `PX`, rounded up: a sub-millisecond TTL must not become
/// "no TTL" or zero.
fn px(ttl: Duration) -> u64 {
    names::bounded(ttl).as_nanos().div_ceil(1_000_000).max(1) as u64
}

fn parse<T: redis::FromRedisValue>(value: Value) -> Result<T> {
    redis::from_redis_value(value).map_err(|e| Error::backend("redis: unexpected reply", e))
}

/// PTTL's answer as a remaining time: -1 never expires; 0 ms (expiring this very
/// millisecond) is reported as 1 ms, since the value was still there.
fn remaining(pttl: i64) -> Option<Duration> {
    (pttl >= 0).then(|| Duration::from_millis(pttl.max(1) as u64))
}

/// A `WRONGTYPE` reply (the key holds a list, a hash, …) is foreign data under the
/// store's key: corrupt, as a foreign string is. Other errors pass through.
fn foreign_type(c: &str, k: &str, e: Error) -> Error {
    let wrong_type = std::error::Error::source(&e)
        .and_then(|source| source.downcast_ref::<RedisError>())
        .is_some_and(|e| e.code() == Some("WRONGTYPE"));
    if wrong_type { not_a_string(c, k) } else { e }
}

/// The corrupt-data error for a key holding another type than a string.
fn not_a_string(c: &str, k: &str) -> Error {
    Error::corrupt(c, k, "not written by this store (not a string)")
}

impl<C: RedisConnection> RedisStore<C> {
    /// After a batch read answered nil for a key that exists: asks the type of each
    /// such key, and fails with corrupt data on the first that is not a string. A
    /// string (written between the batch's commands) is a plain race, not an error.
    async fn check_foreign_types(
        &self,
        c: &str,
        keys: &[&str],
        redis_keys: &[Vec<u8>],
        values: &[Option<Vec<u8>>],
    ) -> Result<()> {
        let mut pipe = redis::pipe();
        let nil: Vec<usize> = (0..values.len()).filter(|&i| values[i].is_none()).collect();
        for &i in &nil {
            pipe.cmd("TYPE").arg(&redis_keys[i]);
        }
        let types: Vec<String> = pipe
            .query_async(&mut self.conn.clone())
            .await
            .map_err(|e| self.fail(e))?;
        for (&i, kind) in nil.iter().zip(types) {
            if kind != "none" && kind != "string" {
                return Err(not_a_string(c, keys[i]));
            }
        }
        Ok(())
    }
}

super::backend_store!(RedisStore<C>, C: RedisConnection);

impl<C: RedisConnection> super::Backend for RedisStore<C> {
    async fn get_value(&self, c: &str, k: &str) -> Result<Option<Entry>> {
        let raw = self
            .query(redis::cmd("GET").arg(self.redis_key(c, k)))
            .await
            .map_err(|e| foreign_type(c, k, e))?;
        decode_value(c, k, raw)
    }

    async fn put_value(&self, c: &str, k: &str, v: Bytes, ttl: Option<Duration>) -> Result<()> {
        let mut cmd = redis::cmd("SET");
        Self::set(&mut cmd, self.redis_key(c, k), &v, ttl);
        self.query::<()>(&cmd).await
    }

    async fn delete_value(&self, c: &str, k: &str) -> Result<bool> {
        let removed: usize = self
            .query(redis::cmd("UNLINK").arg(self.redis_key(c, k)))
            .await?;
        Ok(removed > 0)
    }

    async fn ttl_value(&self, c: &str, k: &str) -> Result<Option<TtlEntry>> {
        Ok(self.ttl_values(c, &[k]).await?.pop().flatten())
    }

    async fn get_values(&self, c: &str, keys: &[&str]) -> Result<Vec<Option<Entry>>> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(CHUNK) {
            let redis_keys = self.redis_keys(c, chunk.iter().copied());
            // MGET answers nil for a key holding a list or hash, as for a missing key;
            // EXISTS counts keys of every type, in the same round trip.
            let mut pipe = redis::pipe();
            pipe.cmd("MGET")
                .arg(&redis_keys)
                .cmd("EXISTS")
                .arg(&redis_keys);
            let (raw, existing): (Vec<Option<Vec<u8>>>, usize) = pipe
                .query_async(&mut self.conn.clone())
                .await
                .map_err(|e| self.fail(e))?;
            let values = raw.iter().filter(|v| v.is_some()).count();
            if existing > values {
                self.check_foreign_types(c, chunk, &redis_keys, &raw)
                    .await?;
            }
            for (k, v) in chunk.iter().zip(raw) {
                out.push(decode_value(c, k, v)?);
            }
        }
        Ok(out)
    }

    async fn put_values(
        &self,
        c: &str,
        entries: &[(&str, Bytes)],
        ttl: Option<Duration>,
    ) -> Result<()> {
        for chunk in entries.chunks(CHUNK) {
            let redis_keys = self.redis_keys(c, chunk.iter().map(|(k, _)| *k));
            if ttl.is_none() {
                // One MSET: it replaces values and clears old expiries, as SET does.
                // A collection's keys share a hash slot, so it works on a cluster too.
                let mut cmd = redis::cmd("MSET");
                for (key, (_, v)) in redis_keys.into_iter().zip(chunk) {
                    cmd.arg(key).arg(Framed::new(v));
                }
                self.query::<()>(&cmd).await?;
                continue;
            }
            let mut pipe = redis::pipe();
            for (key, (_, v)) in redis_keys.into_iter().zip(chunk) {
                let mut cmd = redis::cmd("SET");
                Self::set(&mut cmd, key, v, ttl);
                pipe.add_command(cmd).ignore();
            }
            pipe.query_async::<()>(&mut self.conn.clone())
                .await
                .map_err(|e| self.fail(e))?;
        }
        Ok(())
    }

    async fn delete_values(&self, c: &str, keys: &[&str]) -> Result<usize> {
        let redis_keys = self.redis_keys(c, keys.iter().copied());
        self.unlink(&redis_keys).await
    }

    async fn ttl_values(&self, c: &str, keys: &[&str]) -> Result<Vec<Option<TtlEntry>>> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(CHUNK) {
            let redis_keys = self.redis_keys(c, chunk.iter().copied());
            let mut pipe = redis::pipe();
            pipe.cmd("MGET").arg(&redis_keys);
            for key in &redis_keys {
                pipe.cmd("PTTL").arg(key);
            }
            let mut answers: Vec<Value> = pipe
                .query_async(&mut self.conn.clone())
                .await
                .map_err(|e| self.fail(e))?;
            let pttls = answers.split_off(1.min(answers.len()));
            let values: Vec<Option<Vec<u8>>> = match answers.pop() {
                Some(v) => parse(v)?,
                None => return Err(Error::backend("redis: short pipeline reply", "MGET")),
            };
            let pttls: Vec<i64> = pttls.into_iter().map(parse).collect::<Result<_>>()?;
            // A nil value with a PTTL of a live key: a list or hash, or a string
            // written between the two commands.
            if values
                .iter()
                .zip(&pttls)
                .any(|(v, &p)| v.is_none() && p != -2)
            {
                self.check_foreign_types(c, chunk, &redis_keys, &values)
                    .await?;
            }
            for ((k, v), pttl) in chunk.iter().zip(values).zip(pttls) {
                // PTTL -2: the key vanished between MGET and PTTL.
                let entry = match decode_value(c, k, v)? {
                    Some(mut entry) if pttl != -2 => {
                        entry.expires_in = remaining(pttl);
                        Some(entry)
                    }
                    _ => None,
                };
                out.push(entry);
            }
        }
        Ok(out)
    }
}

/// Compare-and-swap: KEYS[1] the key, ARGV[1] the expected version (16 bytes),
/// ARGV[2] the new stored form, ARGV[3] `PX` milliseconds or empty. Answers
/// `{1, false}` when applied, else `{0, current stored form or false}`.
static PUT_IF_VERSION: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
local cur = redis.call('GET', KEYS[1])
if not cur then return {0, false} end
local f = string.byte(cur, 1)
local ver
if f == 2 then ver = string.sub(cur, 2, 17)
elseif f == 1 then ver = string.rep('\0', 16)
else return {0, cur} end
if ver ~= ARGV[1] then return {0, cur} end
if ARGV[3] == '' then redis.call('SET', KEYS[1], ARGV[2])
else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return {1, false}
",
    )
});

/// Delete-if-unchanged: KEYS[1] the key, ARGV[1] the expected version. Answers 1 when
/// it deleted, else 0.
static DELETE_IF_VERSION: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local f = string.byte(cur, 1)
local ver
if f == 2 then ver = string.sub(cur, 2, 17)
elseif f == 1 then ver = string.rep('\0', 16)
else return 0 end
if ver ~= ARGV[1] then return 0 end
redis.call('UNLINK', KEYS[1])
return 1
",
    )
});

/// Atomic, one round trip each: a create is `SET … NX GET` (the rejected one reads the
/// winner's value in the same command), a compare-and-swap and a delete-if-unchanged
/// are server-side scripts comparing the version kept in front of the value. On a
/// cluster each touches one key, so one slot. Values written by 0.1 (no version in
/// front) have version 0 until rewritten.
impl<C: RedisConnection> ConditionalWrites for RedisStore<C> {
    async fn put_if_opts(
        &self,
        key: Key<'_>,
        value: Bytes,
        condition: Condition,
        opts: PutOptions,
    ) -> Result<Written> {
        let (c, k) = (key.collection(), key.joined());
        let framed = Framed::new(&value);
        let version = framed.version;
        let (applied, current): (bool, Option<Vec<u8>>) = match condition {
            Condition::Absent => {
                let mut cmd = redis::cmd("SET");
                cmd.arg(self.redis_key(c, &k))
                    .arg(framed)
                    .arg("NX")
                    .arg("GET");
                if let Some(ms) = opts.ttl.map(px) {
                    cmd.arg("PX").arg(ms);
                }
                let old: Option<Vec<u8>> =
                    self.query(&cmd).await.map_err(|e| foreign_type(c, &k, e))?;
                (old.is_none(), old)
            }
            Condition::Version(expected) => {
                let ttl = opts.ttl.map(|t| px(t).to_string()).unwrap_or_default();
                let (applied, current): (i64, Option<Vec<u8>>) = PUT_IF_VERSION
                    .key(self.redis_key(c, &k))
                    .arg(&expected.to_bytes()[..])
                    .arg(framed)
                    .arg(ttl)
                    .invoke_async(&mut self.conn.clone())
                    .await
                    .map_err(|e| foreign_type(c, &k, self.fail(e)))?;
                (applied == 1, current)
            }
        };
        Ok(if applied {
            Written::Applied(Some(version))
        } else {
            Written::Rejected(decode_value(c, &k, current)?)
        })
    }

    async fn delete_if_opts(
        &self,
        key: Key<'_>,
        version: Version,
        _: DeleteOptions,
    ) -> Result<bool> {
        let (c, k) = (key.collection(), key.joined());
        let deleted: i64 = DELETE_IF_VERSION
            .key(self.redis_key(c, &k))
            .arg(&version.to_bytes()[..])
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(|e| foreign_type(c, &k, self.fail(e)))?;
        Ok(deleted == 1)
    }
}

impl<C: RedisConnection> EnumerateKeys for RedisStore<C> {
    async fn keys_opts(&self, c: &str, opts: ListOptions) -> Result<Vec<String>> {
        let limit = opts.limit;
        let keys = self.collection_keys(c).await?;
        let mut out: Vec<String> = keys
            .iter()
            .filter_map(|raw| self.decode(raw))
            .filter(|(coll, _)| *coll == c)
            .map(|(_, k)| k.to_owned())
            .collect();
        out.sort_unstable();
        out.dedup();
        out.truncate(limit);
        Ok(out)
    }
}

impl<C: RedisConnection> EnumerateCollections for RedisStore<C> {
    async fn collections_opts(&self, opts: ListOptions) -> Result<Vec<String>> {
        let limit = opts.limit;
        let mut head = self.namespace.as_bytes().to_vec();
        head.extend_from_slice(b":{");
        let keys = self
            .conn
            .scan_all(&Self::pattern(&head))
            .await
            .map_err(|e| self.fail(e))?;
        let mut out: Vec<String> = keys
            .iter()
            .filter_map(|raw| self.decode(raw))
            .map(|(c, _)| c.to_owned())
            .collect();
        out.sort_unstable();
        out.dedup();
        out.truncate(limit);
        Ok(out)
    }
}

impl<C: RedisConnection> DestroyCollection for RedisStore<C> {
    async fn destroy_collection_opts(&self, c: &str) -> Result<()> {
        let keys = self.collection_keys(c).await?;
        self.unlink(&keys).await.map(drop)
    }
}

impl<C: RedisConnection> DestroyStore for RedisStore<C> {
    async fn destroy_opts(&self) -> Result<()> {
        let mut head = self.namespace.as_bytes().to_vec();
        head.extend_from_slice(b":{");
        let keys = self
            .conn
            .scan_all(&Self::pattern(&head))
            .await
            .map_err(|e| self.fail(e))?;
        // On a cluster the keys span slots: unlink them collection by collection.
        let mut by_collection: std::collections::BTreeMap<&str, Vec<Vec<u8>>> = Default::default();
        for raw in &keys {
            if let Some((c, _)) = self.decode(raw) {
                by_collection.entry(c).or_default().push(raw.clone());
            }
        }
        for keys in by_collection.values() {
            self.unlink(keys).await?;
        }
        Ok(())
    }
}
