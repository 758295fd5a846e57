//! `RedisStore`: Redis (or Valkey) through redis-rs, standalone or cluster.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, IntoConnectionInfo, RedisError, Value};

use super::TtlEntry;
use super::redis_failover::{self, FailoverConnection};
use super::redis_index::{self, CLOCK_MARGIN_MS};
use crate::listing::{FirstNames, PageAfter};
use crate::store::{
    DeleteOptions, DestroyCollection, DestroyStore, EnumerateCollections, EnumerateKeys, Key,
    ListOptions, PutOptions,
};
use crate::{
    Condition, ConditionalWrites, Cursor, Entry, Error, Page, Result, Version, Written, names,
};

/// The format byte in front of the values 0.1 wrote: the value follows. Read as
/// version [`LEGACY`] until rewritten.
const FORMAT: u8 = 0x01;
/// The format byte in front of every value this store writes: the entry's 16-byte
/// version, then the value. Anything else read back (a value another client wrote) is
/// corrupt data.
const VERSIONED: u8 = 0x02;
/// The largest string Redis takes (`proto-max-bulk-len`, 512 MiB by default), less the
/// format byte and the version in front of every value.
const VALUE_LIMIT: usize = (512 << 20) - 17;
/// The version of a value in the 0.1 format: never one [`Version::unique`] gives.
const LEGACY: Version = Version::new(0);
/// Keys per MGET / UNLINK / pipeline.
const CHUNK: usize = 1_000;
/// How many batch reads in a row with no miss, after one with a miss, still send
/// `EXISTS` beside their `MGET` (see [`MissCheck`]).
const MISS_MEMORY: u8 = 16;
/// Collections a cluster's `collections()` looks at at once.
const LOOKS_IN_FLIGHT: usize = 64;
/// Keys asked per SCAN step.
const SCAN_COUNT: usize = 1_000;

/// A connection the store can use: the standalone `ConnectionManager` and the
/// cluster's `ClusterConnection`. Enumeration differs: a cluster spreads keys over
/// several primaries.
pub trait RedisConnection: ConnectionLike + Clone + Send + Sync + 'static {
    /// Whether every key is on one server (standalone), so one script may touch keys of
    /// different collections; false on a cluster.
    const ONE_NODE: bool = true;

    /// The nodes a SCAN of the whole namespace visits, each as host and port: every
    /// primary of a cluster; on one server a single entry that
    /// [`scan_node_page`](Self::scan_node_page) does not look at (the default).
    fn scan_nodes(&self) -> impl Future<Output = redis::RedisResult<Vec<(String, u16)>>> + Send {
        std::future::ready(Ok(vec![(String::new(), 0)]))
    }

    /// One SCAN step from `cursor` on `node` (one of [`scan_nodes`](Self::scan_nodes),
    /// `COUNT` `count`): the next cursor (0 at the end) and the keys matching
    /// `pattern`. The default runs it on this connection's one server.
    fn scan_node_page(
        &self,
        node: &(String, u16),
        pattern: &[u8],
        cursor: u64,
        count: usize,
    ) -> impl Future<Output = redis::RedisResult<(u64, Vec<Vec<u8>>)>> + Send {
        let _ = node;
        let cmd = scan_step(pattern, cursor, count);
        let mut conn = self.clone();
        async move { cmd.query_async(&mut conn).await }
    }

    /// One SCAN step from `cursor` on the node that holds `slot_key`'s slot (`COUNT`
    /// `count`): the next cursor (0 at the end) and the keys matching `pattern`.
    fn scan_page(
        &self,
        pattern: &[u8],
        slot_key: &[u8],
        cursor: u64,
        count: usize,
    ) -> impl Future<Output = redis::RedisResult<(u64, Vec<Vec<u8>>)>> + Send {
        let _ = slot_key;
        let cmd = scan_step(pattern, cursor, count);
        let mut conn = self.clone();
        async move { cmd.query_async(&mut conn).await }
    }
}

/// A SCAN command from `cursor`.
pub(crate) fn scan_step(pattern: &[u8], cursor: u64, count: usize) -> Cmd {
    let mut cmd = redis::cmd("SCAN");
    cmd.arg(cursor)
        .arg("MATCH")
        .arg(pattern)
        .arg("COUNT")
        .arg(count);
    cmd
}

/// A SCAN to its end, a step at a time: over the node holding one collection's slot,
/// or over every primary. It holds one step's keys (about [`SCAN_COUNT`]), never the
/// whole listing, so whoever walks it decides what to keep.
struct Scan<'a, C> {
    conn: &'a C,
    pattern: Vec<u8>,
    /// A key in the slot to scan (a collection's head), or `None`: every primary.
    slot: Option<Vec<u8>>,
    /// The primaries, fetched at the first step of a namespace scan.
    nodes: Option<Vec<(String, u16)>>,
    node: usize,
    cursor: u64,
    done: bool,
}

impl<'a, C: RedisConnection> Scan<'a, C> {
    /// The keys of one collection's slot matching `pattern`.
    fn slot(conn: &'a C, pattern: Vec<u8>, slot: Vec<u8>) -> Self {
        Self::new(conn, pattern, Some(slot))
    }

    /// The keys of every primary matching `pattern`.
    fn all(conn: &'a C, pattern: Vec<u8>) -> Self {
        Self::new(conn, pattern, None)
    }

    fn new(conn: &'a C, pattern: Vec<u8>, slot: Option<Vec<u8>>) -> Self {
        Self {
            conn,
            pattern,
            slot,
            nodes: None,
            node: 0,
            cursor: 0,
            done: false,
        }
    }

    /// The next step's keys (maybe none; SCAN may repeat a key), `None` at the end.
    async fn next(&mut self) -> redis::RedisResult<Option<Vec<Vec<u8>>>> {
        if self.done {
            return Ok(None);
        }
        let (next, keys) = match &self.slot {
            Some(slot) => {
                let (next, keys) = self
                    .conn
                    .scan_page(&self.pattern, slot, self.cursor, SCAN_COUNT)
                    .await?;
                self.done = next == 0;
                (next, keys)
            }
            None => {
                let nodes = match self.nodes.take() {
                    Some(nodes) => nodes,
                    None => self.conn.scan_nodes().await?,
                };
                let Some(node) = nodes.get(self.node) else {
                    self.done = true;
                    return Ok(None);
                };
                let step = self
                    .conn
                    .scan_node_page(node, &self.pattern, self.cursor, SCAN_COUNT)
                    .await;
                self.nodes = Some(nodes);
                let (next, keys) = step?;
                if next == 0 {
                    self.node += 1;
                }
                (next, keys)
            }
        };
        self.cursor = next;
        Ok(Some(keys))
    }
}

/// A standalone server's connection: every key is on the one server.
macro_rules! standalone_connection {
    ($($connection:ty),*) => {$(
        impl RedisConnection for $connection {}
    )*};
}

standalone_connection!(ConnectionManager, FailoverConnection);

/// A store on a Redis (or Valkey) server, or — as `RedisClusterStore` (feature
/// `redis-cluster`) — a cluster.
///
/// Every key lives under the store's namespace as `{namespace}:{{len}:{collection}}{key}`:
/// the collection's byte length makes the encoding injective (no `a::b`+`c` vs
/// `a`+`b::c`), and the braces are a Redis Cluster hash tag, so one collection's keys
/// share a slot and batches work on a cluster. Values carry a one-byte format header.
/// TTLs are exact to the millisecond (`PX`); a put without TTL clears an old one.
/// Batches use MGET, MSET (pipelined `SET … PX` when a TTL is given) and UNLINK, in
/// chunks of 1,000 keys. A key holding another type (a list or a hash, another
/// application's) reads as corrupt data, never as a miss; as `MGET` answers nil for
/// both, a batch read asks `EXISTS` in the same round trip while misses are recent,
/// and otherwise asks about a batch's nils in a second round trip. Enumeration runs SCAN
/// — over the whole database, however small the collection — unless the store keeps a
/// key index ([`with_index`](Self::with_index)), when it reads only the collection's
/// index. A scan holds one step (1,000 keys) at a time, whatever the database's size:
/// `keys(c, 10)` and `collections(10)` stop once ten names have come (to the end when
/// fewer are there), a page of `list_collections` keeps the first names after its
/// cursor, and `destroy_collection` and `destroy` unlink each step's keys as
/// they come. `destroy` removes only this namespace's keys — never FLUSHDB.
///
/// The connection ([`FailoverConnection`]) is a multiplexed `ConnectionManager`:
/// cheap to clone, pipelining concurrent calls, reconnecting by itself after a lost
/// connection (in RESP3, as soon as the server closes it) — and after a failover behind
/// a fixed endpoint, when the server it reaches answers `READONLY`.
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
pub struct RedisStore<C = FailoverConnection> {
    pub(crate) conn: C,
    namespace: Arc<str>,
    /// The URL with any password replaced, for `Debug`.
    pub(crate) shown: Arc<str>,
    /// The per-command timeout, for the errors it causes.
    timeout: Duration,
    /// Whether writes keep the key index ([`with_index`](Self::with_index)).
    index: bool,
    /// Whether batch reads ask `EXISTS` in the same round trip as their `MGET`.
    misses: Arc<MissCheck>,
}

/// When a batch read learns whether its misses are real. `MGET` answers nil both for a
/// missing key and for one holding a list or hash (another application's, which must
/// be a corrupt-data error, not a miss); `EXISTS` tells them apart. Sent beside every
/// `MGET` it costs ~11% of coalesced reads that all hit, and after the fact it costs a
/// round trip per batch with a miss. So it goes beside the `MGET` while misses are
/// recent (within [`MISS_MEMORY`] batches), and after it otherwise: a read-mostly
/// cache skips it, a miss-heavy workload pays no extra round trip, and a mix pays at
/// most one per `MISS_MEMORY` batches that all hit. Only the timing depends on this
/// guess, never the answer.
#[derive(Debug, Default)]
struct MissCheck(std::sync::atomic::AtomicU8);

impl MissCheck {
    /// Whether the next batch read sends `EXISTS` with its `MGET`.
    fn in_advance(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed) > 0
    }

    /// Notes a batch read's outcome: whether it had a miss.
    fn saw(&self, miss: bool) {
        use std::sync::atomic::Ordering::Relaxed;
        if miss {
            self.0.store(MISS_MEMORY, Relaxed);
        } else {
            let _ = self.0.fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1));
        }
    }
}

impl<C> fmt::Debug for RedisStore<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &self.shown)
            .field("namespace", &self.namespace)
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

use crate::redact::redact;

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

/// Whether a server refused `HELLO 3`: it predates RESP3 (Redis before 6 has no
/// `HELLO`; redis-rs knows that one by its message), has the command disabled, or does
/// not offer the protocol version (`NOPROTO`).
fn refused_hello(e: &RedisError) -> bool {
    e.kind() == redis::ErrorKind::RESP3NotSupported
        || e.code() == Some("NOPROTO")
        || (e.code() == Some("ERR")
            && e.detail()
                .is_some_and(|d| d.to_ascii_lowercase().contains("command") && d.contains("HELLO")))
}

/// Connection-level failures are transient; everything else is a backend error.
pub(crate) fn redis_error(e: RedisError) -> Error {
    // Transient: no answer, or a server that answers "not now" — `LOADING` its dataset
    // after a restart, `TRYAGAIN`, `MASTERDOWN` or `CLUSTERDOWN` during a failover
    // (what the redis crate would wait and retry), `BUSY` while another client's
    // script runs past the busy threshold.
    let transient = e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
        || e.is_unrecoverable_error()
        || matches!(e.retry_method(), redis::RetryMethod::WaitAndRetry)
        || e.code() == Some("BUSY")
        // A primary demoted to replica (a failover): the connection is replaced, and the
        // write goes through once the endpoint names the new primary.
        || redis_failover::read_only(&e);
    // The server's error code, where there is one, says what a category like
    // "extension error" does not (`BUSY`); codes never carry keys or values.
    let message = match e.code() {
        Some(code) => format!("redis: {} ({code})", e.category()),
        None => format!("redis: {}", e.category()),
    };
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
    /// The largest value the store takes, in bytes: Redis's default limit on a string
    /// (`proto-max-bulk-len`, 512 MiB) less the store's 17-byte header. A larger value
    /// is refused with [`TooLarge`](crate::ErrorDetail::TooLarge) before anything is
    /// sent (the server would close the connection), and a batch holding one writes
    /// none of its entries. The same on a cluster and on Valkey.
    ///
    /// ```
    /// use kv_store_adapter::stores::RedisStore;
    /// assert_eq!(RedisStore::value_limit(), (512 << 20) - 17);
    /// ```
    pub const fn value_limit() -> usize {
        VALUE_LIMIT
    }

    /// Connects to `url` (`redis://`, `rediss://` over rustls, `valkey://`, with user,
    /// password and database), with the namespace `kv`.
    ///
    /// Every command waits at most 5 s for its answer, and a connection attempt at
    /// most 5 s (see [`connect_with_timeouts`](Self::connect_with_timeouts)); a stalled
    /// server yields a [`Timeout`](crate::ErrorDetail::Timeout) error, and the
    /// connection manager reconnects by itself.
    ///
    /// It speaks RESP3, so it hears at once when the server closes the connection (an
    /// idle timeout) and reconnects before the next call, unless the URL chooses a
    /// protocol (`?protocol=resp2`); to a server without RESP3 (before Redis 6), RESP2.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with_timeouts(url, super::Timeouts::default()).await
    }

    /// [`connect`](Self::connect) with other timeouts.
    pub async fn connect_with_timeouts(url: &str, timeouts: super::Timeouts) -> Result<Self> {
        tls_ready(url, false)?;
        let info = url
            .into_connection_info()
            .map_err(|e| setup_error(url, e))?;
        Self::with_client(redis::Client::open, info, url, timeouts).await
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
        let info = url
            .into_connection_info()
            .map_err(|e| setup_error(url, e))?;
        let make = |info| redis::Client::build_with_tls(info, certificates.clone());
        Self::with_client(make, info, url, timeouts).await
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
        let info = addr
            .into_connection_info()
            .map_err(|e| setup_error(&shown, e))?
            .set_redis_settings(settings);
        #[cfg(feature = "redis-tls")]
        let certificates = match &options.tls_ca_file {
            Some(path) => Some(redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(read_ca_file(path)?),
            }),
            None => None,
        };
        #[cfg(feature = "redis-tls")]
        let make = |info| match &certificates {
            Some(certificates) => redis::Client::build_with_tls(info, certificates.clone()),
            None => redis::Client::open(info),
        };
        #[cfg(not(feature = "redis-tls"))]
        let make = redis::Client::open;
        Self::with_client(make, info, &shown, options.timeouts).await
    }

    /// Connects with the client `make` builds for `info`: in RESP3 unless `url` chooses
    /// a protocol, and in RESP2 if the server does not speak RESP3 (before Redis 6).
    ///
    /// RESP3 because with it the connection hears at once when the server closes it
    /// (Redis's `timeout` for idle clients, a managed service's idle limit, a proxy)
    /// and reconnects then; in RESP2 it learns only from the next call, which fails.
    async fn with_client(
        make: impl Fn(redis::ConnectionInfo) -> redis::RedisResult<redis::Client>,
        info: redis::ConnectionInfo,
        url: &str,
        timeouts: super::Timeouts,
    ) -> Result<Self> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeouts.connect))
            .set_response_timeout(Some(timeouts.operation))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let chosen =
            url::Url::parse(url).is_ok_and(|u| u.query_pairs().any(|(k, _)| k == "protocol"));
        let connect = |info: redis::ConnectionInfo| {
            let (make, config) = (&make, config.clone());
            async move { FailoverConnection::connect(make(info)?, config, timeouts.connect).await }
        };
        let connect = async {
            let made = if chosen {
                connect(info).await
            } else {
                let settings = info.redis_settings().clone();
                let resp3 = (info.clone())
                    .set_redis_settings(settings.set_protocol(redis::ProtocolVersion::RESP3));
                match connect(resp3).await {
                    Err(e) if refused_hello(&e) => connect(info).await,
                    made => made,
                }
            };
            made.map_err(|e| setup_error(url, e))
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
            index: false,
            misses: Arc::default(),
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

    /// Keeps an index of each collection's keys beside the data, so `keys()` reads
    /// only the collection asked for and `collections()` only the list of
    /// collections, instead of scanning the whole database (on a cluster, every
    /// primary): listing ten keys of a small collection stays under a millisecond in a
    /// database of a million keys, where SCAN takes a second.
    ///
    /// The price is on writes, which change the entry and its index in one atomic
    /// step: a put without a TTL becomes a `MULTI` transaction (`MSET`, `ZADD`,
    /// `PERSIST`, and the collection's registration), every other write a server-side
    /// script (see `docs/benchmarks.md` for the measured cost). Reads do not change.
    /// Turn it on for a namespace you enumerate while it is large; every instance on
    /// the namespace must agree, as they agree on the namespace itself (entries
    /// written without the index are not listed). For data written before, run
    /// [`build_index`](Self::build_index) once.
    ///
    /// On a cluster the list of collections sits on one slot, apart from the
    /// collections, so a write that creates a collection's index names the collection
    /// with one more command; a process that dies between the two leaves that
    /// collection out of `collections()` until its index dies or `build_index` runs.
    ///
    /// The index stays bounded: expired members leave it on the collection's next
    /// write with a TTL, an index expires with its last entry, and dead collection
    /// names are dropped as new ones are registered and when `collections()` meets
    /// them. A member whose entry is gone (a raw `DEL`, or a `destroy_collection`
    /// racing a write elsewhere) is skipped by `keys()` and taken out by
    /// `collections()`, which lists only collections with an entry. Needs Redis 7.0
    /// or Valkey 7.2 (`ZRANGE … BYSCORE`, `ZRANDMEMBER`).
    ///
    /// ```no_run
    /// use kv_store_adapter::{KvStore, stores::RedisStore};
    ///
    /// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
    /// let store = RedisStore::connect("redis://127.0.0.1:6379/0")
    ///     .await?
    ///     .with_namespace("app")?
    ///     .with_index();
    /// let some = store.keys("sessions", 10).await?;
    /// # Ok(()) }
    /// ```
    pub fn with_index(mut self) -> Self {
        self.index = true;
        self
    }

    /// Indexes every entry of the namespace that has no index entry yet (written by
    /// 0.1 or by a store without [`with_index`](Self::with_index)), keeping each TTL,
    /// and answers how many entries it saw. Safe beside other instances writing: each
    /// key is indexed from its state at that moment, in one script. Scans the whole
    /// database once.
    ///
    /// ```no_run
    /// use kv_store_adapter::stores::RedisStore;
    ///
    /// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
    /// let store = RedisStore::connect("redis://127.0.0.1:6379/0").await?.with_index();
    /// let indexed = store.build_index().await?;
    /// # Ok(()) }
    /// ```
    pub async fn build_index(&self) -> Result<usize> {
        let colls = self.collections_index();
        let ns_head = self.namespace_head();
        let mut found = 0;
        let mut scan = Scan::all(&self.conn, Self::pattern(&ns_head));
        while let Some(keys) = scan.next().await.map_err(|e| self.fail(e))? {
            for (c, keys) in self.by_collection(&keys).0 {
                let idx = redis_index::index_key(&self.head(c));
                // On a cluster the name is registered whether or not the index was
                // new: this repairs a collection whose writer died before registering.
                self.register(c).await?;
                for chunk in keys.chunks(CHUNK) {
                    found += self
                        .eval::<usize>(&redis_index::INDEX_EXISTING, |cmd| {
                            cmd.arg(chunk.len() + 1 + usize::from(colls.is_some()));
                            cmd.arg(chunk).arg(&idx).arg(&colls);
                            cmd.arg(&ns_head).arg(c);
                            for raw in chunk {
                                cmd.arg(self.decode(raw).map_or("", |(_, k)| k));
                            }
                        })
                        .await?;
                }
            }
        }
        Ok(found)
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

    /// A scan of `collection`'s keys (its data keys, and its index), a step at a time.
    fn collection_scan(&self, collection: &str) -> Scan<'_, C> {
        let head = self.head(collection);
        Scan::slot(&self.conn, Self::pattern(&head), head)
    }

    /// The prefix of every key of the namespace: `{ns}:{`.
    fn namespace_head(&self) -> Vec<u8> {
        let mut head = self.namespace.as_bytes().to_vec();
        head.extend_from_slice(b":{");
        head
    }

    /// The collections index, on one server; `None` on a cluster.
    fn collections_index(&self) -> Option<Vec<u8>> {
        C::ONE_NODE.then(|| redis_index::collections_key(&self.namespace))
    }

    /// The collections index on a cluster with the index, which writes register in
    /// outside their own transaction; `None` on one server (registered inside it) or
    /// without the index.
    fn cluster_registry(&self) -> Option<Vec<u8>> {
        (!C::ONE_NODE && self.index).then(|| redis_index::collections_key(&self.namespace))
    }

    /// The collections index `collections()` reads, and whether it is a cluster's
    /// registry: only with the key index (without, the index is not kept).
    fn collections_list(&self) -> Option<(Vec<u8>, bool)> {
        self.index
            .then(|| (redis_index::collections_key(&self.namespace), !C::ONE_NODE))
    }

    /// Names `c` in the cluster's collections index (after a write created its index).
    async fn register(&self, c: &str) -> Result<()> {
        match self.cluster_registry() {
            Some(registry) => {
                self.query(redis::cmd("ZADD").arg(registry).arg(0).arg(c))
                    .await
            }
            None => Ok(()),
        }
    }

    /// Names `c` after a write created its index. A name new to the list then has two
    /// sampled names checked and the dead ones taken out, as a registration on one
    /// server does, so the list stays bounded without `collections()` calls.
    async fn register_created(&self, c: &str) -> Result<()> {
        let Some(registry) = self.cluster_registry() else {
            return Ok(());
        };
        let added: usize = self
            .query(redis::cmd("ZADD").arg(&registry).arg(0).arg(c))
            .await?;
        if added == 0 {
            return Ok(());
        }
        let sampled: Vec<String> = self
            .query(redis::cmd("ZRANDMEMBER").arg(&registry).arg(2))
            .await?;
        for other in sampled.iter().filter(|other| *other != c) {
            if !self.collection_live(other).await? {
                self.unregister(other).await?;
            }
        }
        Ok(())
    }

    /// Whether collection `c` has a live entry by its index; one without loses its
    /// index ([`redis_index::CHECK_COLLECTION`], given only the index).
    async fn collection_live(&self, c: &str) -> Result<bool> {
        self.check_collection(c, None).await
    }

    /// [`redis_index::CHECK_COLLECTION`] of `c` (given `colls`, the one-server
    /// collections index, too), asked again while it answers that it took out as many
    /// gone members as one run may.
    async fn check_collection(&self, c: &str, colls: Option<&[u8]>) -> Result<bool> {
        let idx = redis_index::index_key(&self.head(c));
        loop {
            let answer: i64 = self
                .eval(&redis_index::CHECK_COLLECTION, |cmd| {
                    match colls {
                        Some(colls) => cmd.arg(2).arg(&idx).arg(colls),
                        None => cmd.arg(1).arg(&idx),
                    };
                    cmd.arg(c);
                })
                .await?;
            if answer != redis_index::UNDECIDED {
                return Ok(answer == 1);
            }
        }
    }

    /// Takes `c` out of the cluster's collections index, then looks at its index again
    /// and names it again if the index exists by then: a writer that created the index
    /// in between registers after its write, so either its `ZADD` comes after this
    /// `ZREM`, or its index is there for the second look.
    async fn unregister(&self, c: &str) -> Result<()> {
        let Some(registry) = self.cluster_registry() else {
            return Ok(());
        };
        self.query::<()>(redis::cmd("ZREM").arg(&registry).arg(c))
            .await?;
        let idx = redis_index::index_key(&self.head(c));
        if self.query::<bool>(redis::cmd("EXISTS").arg(idx)).await? {
            self.register(c).await?;
        }
        Ok(())
    }

    /// A scan of every key of the namespace, data and indexes, on every primary.
    fn namespace_scan(&self) -> Scan<'_, C> {
        Scan::all(&self.conn, Self::pattern(&self.namespace_head()))
    }

    /// Keys of the namespace sorted by collection: data keys, and indexes.
    fn by_collection<'k>(&self, keys: &'k [Vec<u8>]) -> (Grouped<'k>, Grouped<'k>) {
        let (mut data, mut indexes) = (Grouped::new(), Grouped::new());
        for raw in keys {
            if redis_index::is_index(raw) {
                if let Some((c, "")) = self.decode(&raw[..raw.len() - 1]) {
                    indexes.entry(c).or_default().push(raw.clone());
                }
            } else if let Some((c, _)) = self.decode(raw) {
                data.entry(c).or_default().push(raw.clone());
            }
        }
        (data, indexes)
    }

    /// Runs `script` by its hash with the arguments `build` adds (the number of keys
    /// first), loading it when the server does not know it (see [`Self::scripted`]).
    async fn eval<T: redis::FromRedisValue>(
        &self,
        script: &redis::Script,
        build: impl FnOnce(&mut Cmd),
    ) -> Result<T> {
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(script.get_hash());
        build(&mut cmd);
        let run = || async { cmd.query_async(&mut self.conn.clone()).await };
        self.scripted(script, run).await
    }

    /// Runs `attempt`, which sends `script` by its hash; while the server answers that
    /// it does not know the script (a restart, `SCRIPT FLUSH`, a failover to a server
    /// that never ran it), loads it and runs `attempt` again — twice at most, as the
    /// load and the run can meet different servers across a failover.
    async fn scripted<T, F, Fut>(&self, script: &redis::Script, mut attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let mut loads = 0;
        loop {
            match attempt().await {
                Err(e)
                    if loads < 2
                        && e.kind()
                            == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) =>
                {
                    loads += 1;
                    script
                        .load_async(&mut self.conn.clone())
                        .await
                        .map_err(|e| self.fail(e))?;
                }
                answer => return answer.map_err(|e| self.fail(e)),
            }
        }
    }

    /// Runs an indexed write `script` (see [`Self::eval`]). On a cluster it runs in a
    /// transaction after `EXISTS` of the collection's index `idx`, and a write that
    /// created the index registers the collection `c` afterwards.
    async fn eval_indexed<T: redis::FromRedisValue>(
        &self,
        script: &redis::Script,
        c: &str,
        idx: &[u8],
        build: impl FnOnce(&mut Cmd),
    ) -> Result<T> {
        if self.cluster_registry().is_none() {
            return self.eval(script, build).await;
        }
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(script.get_hash());
        build(&mut cmd);
        let mut pipe = redis::pipe();
        pipe.atomic().cmd("EXISTS").arg(idx).add_command(cmd);
        let run = || async {
            pipe.query_async::<(bool, T)>(&mut self.conn.clone())
                .await
                .map_err(failed_command)
        };
        let (existed, answer) = self.scripted(script, run).await?;
        if !existed {
            self.register_created(c).await?;
        }
        Ok(answer)
    }

    /// An indexed put of `entries`: without a TTL, one transaction per chunk (see
    /// [`Self::put_indexed_persistent`]); with one, one script per chunk, which reads
    /// the server's clock for the members' scores and the index's expiry.
    async fn put_indexed(
        &self,
        c: &str,
        entries: &[(&str, Bytes)],
        ttl: Option<Duration>,
    ) -> Result<()> {
        let head = self.head(c);
        let idx = redis_index::index_key(&head);
        let colls = self.collections_index();
        let ns_head = self.namespace_head();
        if ttl.is_none() {
            return self
                .put_indexed_persistent(c, &head, &idx, colls.as_deref(), entries)
                .await;
        }
        let ttl = ttl.map(|t| px(t).to_string()).unwrap_or_default();
        for chunk in entries.chunks(CHUNK) {
            self.eval_indexed::<usize>(&redis_index::PUT, c, &idx, |cmd| {
                cmd.arg(chunk.len() + 1 + usize::from(colls.is_some()));
                for (k, _) in chunk {
                    cmd.arg(Joined(&head, k));
                }
                cmd.arg(&idx).arg(&colls);
                cmd.arg(chunk.len()).arg(&ttl).arg(&ns_head).arg(c);
                for (k, _) in chunk {
                    cmd.arg(*k);
                }
                for (_, v) in chunk {
                    cmd.arg(Framed::new(v));
                }
            })
            .await?;
        }
        Ok(())
    }

    /// An indexed put without a TTL: per chunk one `MULTI` of `MSET`, `ZADD` of the
    /// members scored `inf`, `PERSIST` of the index (it may have expired with its TTL'd
    /// members) and, on one server, `ZADD` of the name to the collections index — what
    /// the put script does in this case, as plain commands, which cost the server a
    /// fraction of a script's run. A name that is new to the collections index then
    /// prunes it (see [`redis_index::PRUNE_COLLECTIONS`]).
    async fn put_indexed_persistent(
        &self,
        c: &str,
        head: &[u8],
        idx: &[u8],
        colls: Option<&[u8]>,
        entries: &[(&str, Bytes)],
    ) -> Result<()> {
        let cluster = self.cluster_registry().is_some();
        // One server: whether the name was new to the collections index; a cluster:
        // whether a chunk created the collection's index.
        let mut registered = false;
        let mut created = false;
        for chunk in entries.chunks(CHUNK) {
            let mut pipe = redis::pipe();
            pipe.atomic();
            if cluster {
                pipe.cmd("EXISTS").arg(idx);
            }
            let mset = pipe.cmd("MSET");
            for (k, v) in chunk {
                mset.arg(Joined(head, k)).arg(Framed::new(v));
            }
            mset.ignore();
            let zadd = pipe.cmd("ZADD").arg(idx);
            for (k, _) in chunk {
                zadd.arg("inf").arg(*k);
            }
            zadd.ignore();
            pipe.cmd("PERSIST").arg(idx).ignore();
            if let Some(colls) = colls {
                pipe.cmd("ZADD").arg(colls).arg(0).arg(c);
            }
            let (answer,): (usize,) = pipe
                .query_async(&mut self.conn.clone())
                .await
                .map_err(|e| self.fail(e))?;
            if cluster {
                created |= answer == 0;
            } else if colls.is_some() {
                registered |= answer > 0;
            }
        }
        if created {
            self.register_created(c).await?;
        }
        if let (true, Some(colls)) = (registered, colls) {
            self.eval::<()>(&redis_index::PRUNE_COLLECTIONS, |cmd| {
                cmd.arg(1).arg(colls).arg(self.namespace_head()).arg(c);
            })
            .await?;
        }
        Ok(())
    }

    /// An indexed delete of `keys` (one script per chunk): how many existed.
    async fn delete_indexed(&self, c: &str, keys: &[&str]) -> Result<usize> {
        let head = self.head(c);
        let idx = redis_index::index_key(&head);
        let mut removed = 0;
        for chunk in keys.chunks(CHUNK) {
            removed += self
                .eval::<usize>(&redis_index::DELETE, |cmd| {
                    cmd.arg(chunk.len() + 1);
                    for k in chunk {
                        cmd.arg(Joined(&head, k));
                    }
                    cmd.arg(&idx).arg(chunk);
                })
                .await?;
        }
        Ok(removed)
    }

    /// Up to `limit` live keys of `c` from its index: the members not expired by the
    /// server's clock (less a margin), each checked with EXISTS, in a window that
    /// grows until it holds `limit` live keys or the whole index.
    async fn indexed_keys(&self, c: &str, limit: usize) -> Result<Vec<String>> {
        let head = self.head(c);
        let idx = redis_index::index_key(&head);
        let (secs, micros): (u64, u64) = self.query(&redis::cmd("TIME")).await?;
        let since = server_ms(secs, micros).saturating_sub(CLOCK_MARGIN_MS);
        let mut window = limit.saturating_add(limit / 4 + 16);
        loop {
            let mut cmd = redis::cmd("ZRANGE");
            cmd.arg(&idx).arg(since).arg("+inf").arg("BYSCORE");
            let whole = window >= 1 << 40;
            if !whole {
                cmd.arg("LIMIT").arg(0).arg(window);
            }
            let members: Vec<Vec<u8>> = self.query(&cmd).await?;
            let mut out = Vec::new();
            for chunk in members.chunks(CHUNK) {
                out.extend(self.live_members(&head, chunk.iter()).await?);
            }
            if whole || out.len() >= limit || members.len() < window {
                out.sort_unstable();
                out.dedup();
                out.truncate(limit);
                return Ok(out);
            }
            window = window.saturating_mul(8);
        }
    }

    /// The index members of the collection at `head` whose entry exists (one pipeline
    /// of EXISTS), as names.
    async fn live_members<'m>(
        &self,
        head: &[u8],
        members: impl Iterator<Item = &'m Vec<u8>>,
    ) -> Result<Vec<String>> {
        let members: Vec<&Vec<u8>> = members.collect();
        if members.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for m in &members {
            pipe.cmd("EXISTS").arg(Joined(head, m));
        }
        let live: Vec<bool> = pipe
            .query_async(&mut self.conn.clone())
            .await
            .map_err(|e| self.fail(e))?;
        Ok(members
            .into_iter()
            .zip(live)
            .filter(|(_, live)| *live)
            .filter_map(|(m, _)| String::from_utf8(m.clone()).ok())
            .collect())
    }

    /// Up to `limit` collections with a live entry, in name order, from a collections
    /// index (`cluster`: the cluster's registry), as many names at a time as are still
    /// wanted (at most [`CHUNK`]).
    async fn listed_collections(
        &self,
        colls: &[u8],
        cluster: bool,
        limit: usize,
    ) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut after = None;
        while out.len() < limit {
            let count = limit - out.len();
            let (live, next) = self.listed_page(colls, cluster, "", after, count).await?;
            out.extend(live);
            match next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        out.truncate(limit);
        Ok(out)
    }

    /// The live ones of the next `count` names of a collections index after `after`,
    /// and where the page after starts (`None`: the last page).
    async fn listed_page(
        &self,
        colls: &[u8],
        cluster: bool,
        prefix: &str,
        after: Option<Cursor>,
        count: usize,
    ) -> Result<(Vec<String>, Option<Cursor>)> {
        let count = count.clamp(1, CHUNK);
        let names = self
            .names_after(colls, prefix, after.as_ref().map(Cursor::as_str), count)
            .await?;
        let next = (names.len() == count)
            .then(|| names.last().cloned().map(Cursor::new))
            .flatten();
        let live = if cluster {
            self.registered_live(names).await?
        } else {
            self.indexed_live(colls, names).await?
        };
        Ok((live, next))
    }

    /// The names of the collections index (one server) that still have a live entry;
    /// the dead ones are dropped from it.
    async fn indexed_live(&self, colls: &[u8], names: Vec<String>) -> Result<Vec<String>> {
        let script = &*redis_index::CHECK_COLLECTION;
        if names.is_empty() {
            return Ok(names);
        }
        let mut pipe = redis::pipe();
        for c in &names {
            pipe.cmd("EVALSHA")
                .arg(script.get_hash())
                .arg(2)
                .arg(redis_index::index_key(&self.head(c)))
                .arg(colls)
                .arg(c);
        }
        // Loaded only when the server does not know it (see `scripted`).
        let run = || async { pipe.query_async::<Vec<i64>>(&mut self.conn.clone()).await };
        let answers = self.scripted(script, run).await?;
        let mut out = Vec::with_capacity(names.len());
        for (c, answer) in names.into_iter().zip(answers) {
            let live = match answer {
                redis_index::UNDECIDED => self.check_collection(&c, Some(colls)).await?,
                answer => answer == 1,
            };
            if live {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// The next `count` names of a collections index that start with `prefix`, after
    /// `after` (from the first without), in name order: every name has score 0, so the
    /// set reads by name, from the prefix to its end, a page at a time, however many
    /// collections there are.
    async fn names_after(
        &self,
        registry: &[u8],
        prefix: &str,
        after: Option<&str>,
        count: usize,
    ) -> Result<Vec<String>> {
        let mut cmd = redis::cmd("ZRANGE");
        cmd.arg(registry);
        match after {
            Some(last) if last >= prefix => cmd.arg([b"(", last.as_bytes()].concat()),
            _ if prefix.is_empty() => cmd.arg("-"),
            _ => cmd.arg([b"[", prefix.as_bytes()].concat()),
        };
        match crate::listing::prefix_end(prefix) {
            Some(end) => cmd.arg([b"(", end.as_bytes()].concat()),
            None => cmd.arg("+"),
        };
        cmd.arg("BYLEX").arg("LIMIT").arg(0).arg(count);
        self.query(&cmd).await
    }

    /// The names of a cluster's collections index that still have a live entry: each
    /// index is on its collection's slot, so each is looked at on its own (64 at once),
    /// and the dead names met are taken out ([`Self::unregister`]).
    async fn registered_live(&self, names: Vec<String>) -> Result<Vec<String>> {
        let mut out = Vec::with_capacity(names.len());
        for chunk in names.chunks(LOOKS_IN_FLIGHT) {
            // The looks of a chunk run at once (each on its own slot's node).
            let mut looks = tokio::task::JoinSet::new();
            for (i, c) in chunk.iter().enumerate() {
                let (store, c) = (self.clone(), c.clone());
                looks.spawn(async move { (i, store.collection_live(&c).await) });
            }
            let mut live = vec![false; chunk.len()];
            while let Some(done) = looks.join_next().await {
                let (i, answer) = done.map_err(|e| Error::backend("a listing task failed", e))?;
                live[i] = answer?;
            }
            for (c, live) in chunk.iter().zip(live) {
                if live {
                    out.push(c.clone());
                } else {
                    self.unregister(c).await?;
                }
            }
        }
        Ok(out)
    }

    async fn unlink(&self, keys: &[Vec<u8>]) -> Result<usize> {
        let mut removed = 0;
        for chunk in keys.chunks(CHUNK) {
            removed += self.query::<usize>(redis::cmd("UNLINK").arg(chunk)).await?;
        }
        Ok(removed)
    }
}

/// `TIME`'s answer (seconds, microseconds) in milliseconds; a server's garbage
/// saturates instead of overflowing.
fn server_ms(secs: u64, micros: u64) -> u64 {
    secs.saturating_mul(1000).saturating_add(micros / 1000)
}

/// Keys of the namespace by collection.
type Grouped<'k> = std::collections::BTreeMap<&'k str, Vec<Vec<u8>>>;

/// A collection's key prefix and a key, written as one argument (no joined copy).
struct Joined<'a, K: AsRef<[u8]> + ?Sized>(&'a [u8], &'a K);

impl<K: AsRef<[u8]> + ?Sized> redis::ToRedisArgs for Joined<'_, K> {
    fn write_redis_args<W: ?Sized + redis::RedisWrite>(&self, out: &mut W) {
        use std::io::Write;
        let mut arg = out.writer_for_next_arg();
        let _ = arg.write_all(self.0);
        let _ = arg.write_all(self.1.as_ref());
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

/// The error of the one command that failed in a transaction, as if it had run alone
/// (a script's `WRONGTYPE` or `NOSCRIPT`); any other error as it is.
fn failed_command(e: RedisError) -> RedisError {
    match e.clone().into_server_errors() {
        Some(errors) if errors.len() == 1 => RedisError::from(errors[0].1.clone()),
        _ => e,
    }
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
    fn value_limit(&self, _key: &str) -> Option<usize> {
        Some(VALUE_LIMIT)
    }

    async fn get_value(&self, c: &str, k: &str) -> Result<Option<Entry>> {
        let raw = self
            .query(redis::cmd("GET").arg(self.redis_key(c, k)))
            .await
            .map_err(|e| foreign_type(c, k, e))?;
        decode_value(c, k, raw)
    }

    async fn put_value(&self, c: &str, k: &str, v: Bytes, ttl: Option<Duration>) -> Result<()> {
        if self.index {
            return self.put_indexed(c, &[(k, v)], ttl).await;
        }
        let mut cmd = redis::cmd("SET");
        Self::set(&mut cmd, self.redis_key(c, k), &v, ttl);
        self.query::<()>(&cmd).await
    }

    async fn delete_value(&self, c: &str, k: &str) -> Result<bool> {
        if self.index {
            return Ok(self.delete_indexed(c, &[k]).await? > 0);
        }
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
            // MGET answers nil for a key holding a list or hash, as for a missing key:
            // EXISTS, which counts keys of every type, tells them apart (see MissCheck).
            let mut mget = redis::cmd("MGET");
            mget.arg(&redis_keys);
            let (raw, existing): (Vec<Option<Vec<u8>>>, Option<usize>) = if self.misses.in_advance()
            {
                let mut pipe = redis::pipe();
                pipe.add_command(mget).cmd("EXISTS").arg(&redis_keys);
                let (raw, existing) = pipe
                    .query_async(&mut self.conn.clone())
                    .await
                    .map_err(|e| self.fail(e))?;
                (raw, Some(existing))
            } else {
                (self.query(&mget).await?, None)
            };
            let values = raw.iter().filter(|v| v.is_some()).count();
            self.misses.saw(values < raw.len());
            // Without the count, every nil is asked about.
            if existing.unwrap_or(raw.len()) > values {
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
        if self.index {
            return self.put_indexed(c, entries, ttl).await;
        }
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
        if self.index {
            return self.delete_indexed(c, keys).await;
        }
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

/// The conditional scripts, without and with the key index (`redis_index`).
static PUT_IF_VERSION: std::sync::LazyLock<[redis::Script; 2]> = std::sync::LazyLock::new(|| {
    [
        redis_index::put_if_version(false),
        redis_index::put_if_version(true),
    ]
});
static DELETE_IF_VERSION: std::sync::LazyLock<[redis::Script; 2]> =
    std::sync::LazyLock::new(|| {
        [
            redis_index::delete_if_version(false),
            redis_index::delete_if_version(true),
        ]
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
        super::check_sizes(|k| super::Backend::value_limit(self, k), [(&*k, &value)])?;
        let framed = Framed::new(&value);
        let version = framed.version;
        let (applied, current): (bool, Option<Vec<u8>>) = match condition {
            Condition::Absent if self.index => {
                let head = self.head(c);
                let colls = self.collections_index();
                let ttl = opts.ttl.map(|t| px(t).to_string()).unwrap_or_default();
                let idx = redis_index::index_key(&head);
                let old: Option<Vec<u8>> = self
                    .eval_indexed(&redis_index::CREATE, c, &idx, |cmd| {
                        cmd.arg(2 + usize::from(colls.is_some()))
                            .arg(Joined(&head, k.as_bytes()))
                            .arg(&idx)
                            .arg(&colls)
                            .arg(framed)
                            .arg(ttl)
                            .arg(self.namespace_head())
                            .arg(c)
                            .arg(&*k);
                    })
                    .await
                    .map_err(|e| foreign_type(c, &k, e))?;
                (old.is_none(), old)
            }
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
                let head = self.head(c);
                let colls = self.collections_index().filter(|_| self.index);
                let script = &PUT_IF_VERSION[usize::from(self.index)];
                let idx = redis_index::index_key(&head);
                let build = |cmd: &mut Cmd| {
                    cmd.arg(if self.index {
                        2 + usize::from(colls.is_some())
                    } else {
                        1
                    })
                    .arg(Joined(&head, k.as_bytes()));
                    if self.index {
                        cmd.arg(&idx).arg(&colls);
                    }
                    cmd.arg(&expected.to_bytes()[..]).arg(framed).arg(ttl);
                    if self.index {
                        cmd.arg(self.namespace_head()).arg(c).arg(&*k);
                    }
                };
                let (applied, current): (i64, Option<Vec<u8>>) = if self.index {
                    self.eval_indexed(script, c, &idx, build).await
                } else {
                    self.eval(script, build).await
                }
                .map_err(|e| foreign_type(c, &k, e))?;
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
        let head = self.head(c);
        let deleted: i64 = self
            .eval(&DELETE_IF_VERSION[usize::from(self.index)], |cmd| {
                cmd.arg(1 + usize::from(self.index))
                    .arg(Joined(&head, k.as_bytes()));
                if self.index {
                    cmd.arg(redis_index::index_key(&head));
                }
                cmd.arg(&version.to_bytes()[..]);
                if self.index {
                    cmd.arg(&*k);
                }
            })
            .await
            .map_err(|e| foreign_type(c, &k, e))?;
        Ok(deleted == 1)
    }
}

impl<C: RedisConnection> EnumerateKeys for RedisStore<C> {
    async fn keys_opts(&self, c: &str, opts: ListOptions) -> Result<Vec<String>> {
        let limit = opts.limit;
        if self.index {
            return self.indexed_keys(c, limit).await;
        }
        // The slot is scanned until `limit` distinct names have come (any `limit` of
        // them answer), holding only those.
        let mut first = FirstNames::new(limit);
        let mut scan = self.collection_scan(c);
        while !first.full()
            && let Some(raw) = scan.next().await.map_err(|e| self.fail(e))?
        {
            for (coll, k) in raw.iter().filter_map(|raw| self.decode(raw)) {
                if coll == c {
                    first.offer(k);
                }
            }
        }
        Ok(first.finish())
    }

    /// A page of 1,000 names: the native cursor serves it cheaply.
    fn walk_page(&self, _collection: &str) -> usize {
        crate::listing::WALK_PAGE
    }

    /// One SCAN step (the cursor is SCAN's) over the database, or, with the index,
    /// one ZSCAN step over the collection's index, each member checked with EXISTS;
    /// either may repeat a key, as SCAN does. `MATCH` on the prefix: the server
    /// filters, so only the prefix's keys come back (the step still walks past the
    /// others on the server).
    async fn keys_page_with_prefix(
        &self,
        c: &str,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page> {
        let position = match cursor.as_ref().map(|c| c.as_str().parse::<u64>()) {
            None => 0,
            Some(Ok(position)) if position > 0 => position,
            Some(_) => return Err(crate::listing::foreign_cursor()),
        };
        let count = limit.clamp(1, CHUNK);
        let head = self.head(c);
        let (next, mut names) = if self.index {
            let mut zscan = redis::cmd("ZSCAN");
            zscan.arg(redis_index::index_key(&head)).arg(position);
            if !prefix.is_empty() {
                zscan.arg("MATCH").arg(Self::pattern(prefix.as_bytes()));
            }
            let (next, flat): (u64, Vec<Vec<u8>>) =
                self.query(zscan.arg("COUNT").arg(count)).await?;
            // Members and scores alternate.
            (
                next,
                self.live_members(&head, flat.iter().step_by(2)).await?,
            )
        } else {
            let mut literal = head.clone();
            literal.extend_from_slice(prefix.as_bytes());
            let (next, raw) = self
                .conn
                .scan_page(&Self::pattern(&literal), &head, position, count)
                .await
                .map_err(|e| self.fail(e))?;
            let names = raw
                .iter()
                .filter_map(|raw| self.decode(raw))
                .filter(|(coll, _)| *coll == c)
                .map(|(_, k)| k.to_owned())
                .collect();
            (next, names)
        };
        names.retain(|k: &String| k.starts_with(prefix));
        let next = (next != 0).then(|| Cursor::new(next.to_string()));
        Ok(Page::new(names, next))
    }
}

impl<C: RedisConnection> EnumerateCollections for RedisStore<C> {
    async fn collections_opts(&self, opts: ListOptions) -> Result<Vec<String>> {
        let limit = opts.limit;
        if let Some((colls, cluster)) = self.collections_list() {
            return self.listed_collections(&colls, cluster, limit).await;
        }
        // Without the index: the namespace is scanned until `limit` distinct names have
        // come, holding only those.
        let mut first = FirstNames::new(limit);
        let mut scan = self.namespace_scan();
        while !first.full()
            && let Some(raw) = scan.next().await.map_err(|e| self.fail(e))?
        {
            for (c, _) in raw.iter().filter_map(|raw| self.decode(raw)) {
                first.offer(c);
            }
        }
        Ok(first.finish())
    }

    /// With the key index, a page of the collections index in name order from the
    /// prefix to its end (one server's, or a cluster's registry); without it, the names
    /// with the prefix after the cursor's from a SCAN of the whole namespace, holding
    /// one page.
    async fn collections_page_with_prefix(
        &self,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page> {
        if let Some((colls, cluster)) = self.collections_list() {
            // `ZRANGE … BYLEX`: in the order of the names' bytes.
            let (names, next) = self
                .listed_page(&colls, cluster, prefix, cursor, limit)
                .await?;
            return Ok(Page::new(names, next).ordered());
        }
        let mut page = PageAfter::new(cursor, limit);
        let mut scan = self.namespace_scan();
        while let Some(raw) = scan.next().await.map_err(|e| self.fail(e))? {
            for (c, _) in raw.iter().filter_map(|raw| self.decode(raw)) {
                if c.starts_with(prefix) {
                    page.offer(c);
                }
            }
        }
        Ok(page.finish())
    }

    fn collections_walk_page(&self) -> usize {
        crate::listing::WALK_PAGE
    }
}

impl<C: RedisConnection> DestroyCollection for RedisStore<C> {
    async fn destroy_collection_opts(&self, c: &str) -> Result<()> {
        // The indexes go first: a write after this re-creates them, so whatever the
        // scan below misses is still indexed (whatever it removes after a write only
        // leaves a member that listing skips).
        let mut pipe = redis::pipe();
        pipe.atomic();
        if let Some(colls) = self.collections_index() {
            pipe.cmd("ZREM").arg(colls).arg(c).ignore();
        }
        pipe.cmd("UNLINK")
            .arg(redis_index::index_key(&self.head(c)))
            .ignore();
        pipe.query_async::<()>(&mut self.conn.clone())
            .await
            .map_err(|e| self.fail(e))?;
        // The scan finds the index too if a write re-created it meanwhile: that index
        // stays, or the writer's entries the scan missed would be left unlisted.
        let idx = redis_index::index_key(&self.head(c));
        let mut scan = self.collection_scan(c);
        while let Some(mut keys) = scan.next().await.map_err(|e| self.fail(e))? {
            keys.retain(|k| *k != idx);
            self.unlink(&keys).await?;
        }
        self.unregister(c).await
    }
}

impl<C: RedisConnection> DestroyStore for RedisStore<C> {
    async fn destroy_opts(&self) -> Result<()> {
        if let Some(colls) = self.collections_index().or_else(|| self.cluster_registry()) {
            self.query::<()>(redis::cmd("UNLINK").arg(colls)).await?;
        }
        // Every index before any entry (as `destroy_collection` does), then a second
        // scan for the entries only: an index a write re-creates after the first
        // stays, so what that write leaves is listed. Without indexes, one scan: until
        // it meets an index, the first takes the entries too. On a cluster the keys
        // span slots: unlinked collection by collection. Each scan holds one step.
        let mut two_scans = self.index;
        let mut scan = self.namespace_scan();
        while let Some(keys) = scan.next().await.map_err(|e| self.fail(e))? {
            let (data, indexes) = self.by_collection(&keys);
            two_scans |= !indexes.is_empty();
            for keys in indexes.values() {
                self.unlink(keys).await?;
            }
            if !two_scans {
                for keys in data.values() {
                    self.unlink(keys).await?;
                }
            }
        }
        if two_scans {
            let mut scan = self.namespace_scan();
            while let Some(keys) = scan.next().await.map_err(|e| self.fail(e))? {
                for keys in self.by_collection(&keys).0.values() {
                    self.unlink(keys).await?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn server_time_in_milliseconds_never_overflows() {
        assert_eq!(super::server_ms(1_700_000_000, 123_456), 1_700_000_000_123);
        assert_eq!(super::server_ms(u64::MAX, u64::MAX), u64::MAX);
    }
}
