//! `MemcachedStore`: memcached through its meta protocol, on pipelined connections
//! (`memcached_wire`).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use super::memcached_wire::{self as wire, Answer, Code, Connection};

use super::TtlEntry;
use crate::store::{DeleteOptions, DestroyStore, Key, PutOptions};
use crate::{Condition, ConditionalWrites, Error, Result, Written, names};

/// Client flags marking a value this store wrote ("KV" + format 1).
const FLAGS: u32 = 0x4B56_0001;
/// The value header: expiry in ms since the Unix epoch (0: never), little-endian.
const HEADER: usize = 8;
/// memcached reads exptimes above 30 days as absolute Unix times.
const RELATIVE_LIMIT: u64 = 30 * 24 * 3600;
/// Per-item room the server needs beyond the value (item header, key, suffix).
const ITEM_OVERHEAD: usize = 512;
/// Keys per multi-get / multi-set round trip.
const CHUNK: usize = 500;
/// A multi-set's request is sent once it holds this many bytes.
const REQUEST_BYTES: usize = 1 << 20;
/// How long an instance trusts the generation it read.
const DEFAULT_REFRESH: Duration = Duration::from_secs(1);

/// A store on a memcached server: a few connections shared by every caller, each
/// pipelined — a call's commands are written as soon as it makes them and answered in
/// order, so concurrent callers do not wait for each other's round trips — one round
/// trip per call, and a batch's commands sent together.
///
/// Names are mapped onto memcached's keys (at most 250 bytes of printable ASCII, no
/// spaces): `{ns}:{generation}:{len}:{collection}{key}` when that fits, otherwise
/// `{ns}:{generation}:#{hash}` with a 128-bit hash of the whole `(collection, key)` —
/// injective either way. TTLs are sent in whole seconds rounded up (never 0, which
/// means "forever"), as absolute times past 30 days; each value also carries its exact
/// deadline, so an entry is invisible the very millisecond it expires and `ttl()`
/// answers to the millisecond.
///
/// **Value size.** memcached's item size limit (`-I`, 1 MiB by default) counts the key
/// and item header too, so the largest value is the server's `item_size_max` less 520
/// bytes ([`item_limit`](Self::item_limit), read from the server at open): with the
/// default settings that is 1,048,056 bytes, **under the 1 MiB the other stores take**.
/// Start memcached with `-I 2m` (or more) to store 1 MiB values. A larger value fails
/// with [`ErrorDetail::TooLarge`](crate::ErrorDetail::TooLarge), carrying the value's
/// size and the limit, before anything is sent; values are not split across items.
///
/// Memcached cannot enumerate, so the store implements neither key nor collection
/// enumeration. `destroy()` does not flush the server: it moves this namespace to a
/// new generation (a number folded into every key), which orphans every entry the
/// store wrote; memcached's LRU reclaims them.
///
/// **Bounded time.** Every call, a reconnect included, ends within the operation
/// timeout (5 s by default; [`connect_with_pool`](Self::connect_with_pool) sets both
/// [`Timeouts`](super::Timeouts)) with a [`Timeout`](crate::ErrorDetail::Timeout) error
/// when the server stops answering. A call that gives up leaves its answer to be read
/// and dropped, so when the server answers again the connection serves later calls
/// in step; a connection that fails (closed, reset, an answer out of step) fails its
/// waiting calls with a connection error and is replaced on its next use.
///
/// **Many processes.** The server holds the generation, in the item
/// `{ns}:generation`, and is its only source of truth: `destroy()` is an atomic `incr`
/// of it, and a missing item (never written, evicted, deleted by hand) is created with
/// an atomic `add` of a fresh number drawn from the clock and randomness, never one
/// used before, so entries of an older generation never come back. An instance reads
/// the generation again at most [`generation_refresh`](Self::generation_refresh)
/// (default 1 s) after its last read: **another process sees a `destroy()` within
/// that bound**, and may read or write under the old generation until then (writes
/// made then are orphaned with the rest). Set it to zero with
/// [`with_generation_refresh`](Self::with_generation_refresh) to read the generation
/// on every call (one more round trip per call) and see a destroy at once.
///
/// ```no_run
/// use bytes::Bytes;
/// use kv_store_adapter::{KvStore, stores::MemcachedStore};
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let store = MemcachedStore::connect("memcached://127.0.0.1:11211").await?.with_namespace("app")?;
/// store.put("pages", "home", Bytes::from_static(b"<html>"), None).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MemcachedStore {
    inner: Arc<Inner>,
    namespace: Arc<str>,
    generation: Arc<Generation>,
}

struct Inner {
    address: String,
    timeouts: super::Timeouts,
    /// The connections, each shared by every caller that picks it.
    pool: Vec<Slot>,
    item_limit: usize,
}

/// How many calls one connection carries before the next one is used: a pipeline
/// this deep already sends and reads in large batches, and more connections spread the
/// server's work over its threads.
const PIPELINE: usize = 64;

/// Bytes on their way on one connection (requests not yet answered, an answer being
/// read) from which it counts as heavy: a value this large in transfer would hold up
/// the answers behind it, so callers go to another connection.
const HEAVY: usize = 64 * 1024;

/// A pooled connection, and a lock held only while replacing it.
struct Slot {
    connection: std::sync::Mutex<Option<Arc<Connection>>>,
    replacing: tokio::sync::Mutex<()>,
}

impl Slot {
    fn current(&self) -> Option<Arc<Connection>> {
        let connection = self
            .connection
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        connection.clone().filter(|c| !c.is_closed())
    }

    fn set(&self, connection: Arc<Connection>) {
        *self
            .connection
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(connection);
    }
}

/// What an instance remembers of its namespace's generation: the number last read
/// from the server and when, trusted for `refresh`.
#[derive(Debug)]
struct Generation {
    last: std::sync::Mutex<Option<(u64, Instant)>>,
    refresh: Duration,
}

impl Generation {
    fn new(refresh: Duration) -> Arc<Self> {
        Arc::new(Self {
            last: std::sync::Mutex::new(None),
            refresh,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(u64, Instant)>> {
        self.last.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn fresh(&self) -> Option<u64> {
        match *self.lock() {
            Some((generation, at)) if at.elapsed() < self.refresh => Some(generation),
            _ => None,
        }
    }

    fn remember(&self, generation: u64) {
        *self.lock() = Some((generation, Instant::now()));
    }
}

impl fmt::Debug for MemcachedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemcachedStore")
            .field("address", &crate::redact(&self.inner.address))
            .field("namespace", &self.namespace)
            .field("connections", &self.inner.pool.len())
            .field("item_limit", &self.inner.item_limit)
            .finish()
    }
}

/// An answer a command should not get (a protocol surprise, not corrupt data).
fn unexpected(what: &str, answer: &Answer) -> Error {
    match answer.code {
        Code::ServerError => Error::backend_msg(format!(
            "memcached: {what} failed on the server: {}",
            answer.message().chars().take(200).collect::<String>()
        )),
        code => Error::backend_msg(format!("memcached: {what} answered {code:?}")),
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Where and how to connect, for [`MemcachedStore::connect`]: built with
/// [`new`](Self::new) and the `with_*` methods (new options can be added without
/// breaking anyone).
///
/// ```
/// use std::time::Duration;
/// use kv_store_adapter::stores::MemcachedOptions;
///
/// let options = MemcachedOptions::new("127.0.0.1:11211").with_pool_size(8).with_namespace("app");
/// assert_eq!(MemcachedOptions::DEFAULT_POOL_SIZE, 4);
/// assert_eq!(options.generation_refresh, Duration::from_secs(1));
/// ```
///
/// With the `serde` feature it reads from configuration; every field may be left out
/// and an unknown field is an error:
///
/// ```json
/// { "address": "cache.internal:11211", "pool_size": 8, "namespace": "app",
///   "generation_refresh": "1s", "timeouts": { "operation": "250ms" } }
/// ```
#[derive(Clone)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
#[non_exhaustive]
pub struct MemcachedOptions {
    /// `host:port` (IPv6 hosts in brackets); `memcached://` in front is accepted.
    pub address: String,
    /// The most connections ([`DEFAULT_POOL_SIZE`](Self::DEFAULT_POOL_SIZE)): each is
    /// pipelined and shared by every caller. Calls crowd onto the first connection
    /// (one pipeline sends and reads many in each system call); the next is used, and
    /// opened if need be, while those before it carry 64 calls or a large value in
    /// transfer (64 KiB or more on its way).
    pub pool_size: usize,
    /// The namespace of every key (1-64 of `[A-Za-z0-9_.-]`; `kv` by default).
    pub namespace: String,
    /// How long a namespace generation read from the server is trusted (1 s; see
    /// [`MemcachedStore::with_generation_refresh`]).
    #[cfg_attr(
        feature = "serde",
        serde(deserialize_with = "crate::duration::deserialize")
    )]
    pub generation_refresh: Duration,
    /// Connect and per-operation timeouts (5 s each).
    pub timeouts: super::Timeouts,
}

impl MemcachedOptions {
    /// Connections a store keeps unless told otherwise.
    pub const DEFAULT_POOL_SIZE: usize = 4;

    /// The server at `address` with the defaults.
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            ..Self::default()
        }
    }

    /// `connections` pooled connections (at least one).
    pub fn with_pool_size(mut self, connections: usize) -> Self {
        self.pool_size = connections.max(1);
        self
    }

    /// Uses `namespace` for every key.
    pub fn with_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Trusts a generation read from the server for `refresh`.
    pub fn with_generation_refresh(mut self, refresh: Duration) -> Self {
        self.generation_refresh = refresh;
        self
    }

    /// Other timeouts.
    pub fn with_timeouts(mut self, timeouts: super::Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }
}

impl Default for MemcachedOptions {
    /// `127.0.0.1:11211`, 4 connections, namespace `kv`, 1 s generation refresh, 5 s
    /// timeouts.
    fn default() -> Self {
        Self {
            address: "127.0.0.1:11211".into(),
            pool_size: Self::DEFAULT_POOL_SIZE,
            namespace: "kv".into(),
            generation_refresh: DEFAULT_REFRESH,
            timeouts: super::Timeouts::default(),
        }
    }
}

impl fmt::Debug for MemcachedOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemcachedOptions")
            .field("address", &crate::redact(&self.address))
            .field("pool_size", &self.pool_size)
            .field("namespace", &self.namespace)
            .field("generation_refresh", &self.generation_refresh)
            .field("timeouts", &self.timeouts)
            .finish()
    }
}

impl MemcachedStore {
    /// Connects with `options`.
    pub async fn connect_with(options: &MemcachedOptions) -> Result<Self> {
        let store =
            Self::connect_with_pool(&options.address, options.pool_size, options.timeouts).await?;
        Ok(store
            .with_namespace(&options.namespace)?
            .with_generation_refresh(options.generation_refresh))
    }

    /// Connects to `memcached://host:port` (or `host:port`) with 4 connections, the
    /// default [`Timeouts`](super::Timeouts) (5 s to connect, 5 s per operation) and the
    /// namespace `kv`, and reads the server's item size limit.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::with_pool(url, MemcachedOptions::DEFAULT_POOL_SIZE).await
    }

    /// Connects with `connections` pooled connections.
    pub async fn with_pool(url: &str, connections: usize) -> Result<Self> {
        Self::connect_with_pool(url, connections, super::Timeouts::default()).await
    }

    /// Connects with `connections` pooled connections and `timeouts`: each call
    /// (waiting for a pooled connection included) ends within `timeouts.operation`
    /// with a [`Timeout`](crate::ErrorDetail::Timeout) error if the server does not
    /// answer, and a connection cut off that way is replaced on its next use.
    pub async fn connect_with_pool(
        url: &str,
        connections: usize,
        timeouts: super::Timeouts,
    ) -> Result<Self> {
        let address = url.strip_prefix("memcached://").unwrap_or(url);
        let address = address.trim_end_matches('/').to_owned();
        if let Some((_, host)) = address.rsplit_once('@') {
            return Err(Error::setup_msg(format!(
                "memcached://***@{host} has a user or password, which memcached's text protocol cannot use"
            )));
        }
        let shown = crate::redact(&address);
        let connect = async {
            Connection::open(&address)
                .await
                .map_err(|e| Error::setup(format!("cannot connect to memcached at {shown}"), e))
        };
        let first = super::bounded(timeouts.connect, connect).await?;
        let item_size_max = item_size_max(&address, timeouts).await?;
        let pool: Vec<Slot> = (0..connections.max(1))
            .map(|_| Slot {
                connection: std::sync::Mutex::new(None),
                replacing: tokio::sync::Mutex::new(()),
            })
            .collect();
        pool[0].set(Arc::new(first));
        Ok(Self {
            inner: Arc::new(Inner {
                address,
                timeouts,
                pool,
                item_limit: item_size_max.saturating_sub(ITEM_OVERHEAD + HEADER),
            }),
            namespace: "kv".into(),
            generation: Generation::new(DEFAULT_REFRESH),
        })
    }

    /// Uses `namespace` (1-64 of `[A-Za-z0-9_.-]`) for every key.
    pub fn with_namespace(mut self, namespace: &str) -> Result<Self> {
        names::check_identifier("namespace", namespace, 64, "[A-Za-z0-9_.-]", |b| {
            b.is_ascii_alphanumeric() || b"_-.".contains(&b)
        })?;
        self.namespace = namespace.into();
        self.generation = Generation::new(self.generation.refresh);
        Ok(self)
    }

    /// Trusts a generation read from the server for `refresh` (default 1 s): the
    /// longest another process's `destroy()` takes to reach this instance. Zero reads
    /// it on every call.
    pub fn with_generation_refresh(mut self, refresh: Duration) -> Self {
        self.generation = Generation::new(refresh);
        self
    }

    /// How long this instance trusts the generation it read.
    pub fn generation_refresh(&self) -> Duration {
        self.generation.refresh
    }

    /// The largest value the server takes, in bytes.
    pub fn item_limit(&self) -> usize {
        self.inner.item_limit
    }

    /// Sends `request` (complete meta commands) on the pooled connection
    /// [`connection`](Self::connection) picks and waits for its `answers` answers, all
    /// within the operation timeout; a reconnect within the connect timeout too.
    async fn call(&self, request: Vec<u8>, answers: usize) -> Result<Vec<Answer>> {
        let timeouts = self.inner.timeouts;
        super::bounded(timeouts.operation, async {
            let connection = self.connection().await?;
            let got = connection.call(request, answers).await?;
            if got.len() == answers {
                Ok(got)
            } else {
                Err(Error::backend_msg("memcached: a short answer"))
            }
        })
        .await
    }

    /// [`call`](Self::call) for one command and its one answer.
    async fn call_one(&self, request: Vec<u8>) -> Result<Answer> {
        let mut answers = self.call(request, 1).await?;
        answers
            .pop()
            .ok_or_else(|| Error::backend_msg("memcached: no answer"))
    }

    /// The pooled connection to send on: the first, in the pool's order, that is
    /// neither deep ([`PIPELINE`] calls waiting) nor heavy ([`HEAVY`] bytes on their way:
    /// a large value in transfer, which would hold up every answer behind it). Callers
    /// crowd onto few connections on purpose: one connection's pipeline sends and reads
    /// many requests per system call, where callers spread over every connection
    /// share them out in small batches (measured: 64 tasks of gets read 1.7 times as
    /// fast on one connection as spread over four). When every connection is deep or
    /// heavy, one more is opened if the pool has room (or one replaced where one
    /// failed); otherwise the one with the fewest calls waiting among the light ones,
    /// or among all.
    async fn connection(&self) -> Result<Arc<Connection>> {
        let pool = &self.inner.pool;
        let mut best: Option<(bool, usize, Arc<Connection>)> = None;
        let mut empty = None;
        for (i, slot) in pool.iter().enumerate() {
            match slot.current() {
                Some(c) => {
                    let (heavy, waiting) = (c.backlog() >= HEAVY, c.waiting());
                    if !heavy && waiting < PIPELINE {
                        return Ok(c);
                    }
                    if best
                        .as_ref()
                        .is_none_or(|(h, w, _)| (heavy, waiting) < (*h, *w))
                    {
                        best = Some((heavy, waiting, c));
                    }
                }
                None => {
                    empty.get_or_insert(i);
                }
            }
        }
        match (empty, best) {
            (Some(i), _) => self.reconnect(&pool[i]).await,
            (None, Some((_, _, best))) => Ok(best),
            (None, None) => unreachable!("a pool has at least one slot"),
        }
    }

    /// The connection of `slot`, connected anew unless another caller just did.
    async fn reconnect(&self, slot: &Slot) -> Result<Arc<Connection>> {
        let _replacing = slot.replacing.lock().await;
        if let Some(connection) = slot.current() {
            return Ok(connection); // another caller replaced it meanwhile
        }
        let address = &self.inner.address;
        let connect = async {
            Connection::open(address)
                .await
                .map_err(|e| Error::connection("memcached: cannot connect", e))
        };
        let connection = Arc::new(super::bounded(self.inner.timeouts.connect, connect).await?);
        slot.set(connection.clone());
        Ok(connection)
    }

    fn generation_key(&self) -> String {
        format!("{}:generation", self.namespace)
    }

    /// This namespace's generation: the one read from the server within `refresh`,
    /// or the server's now (created with an atomic `add` if the item is missing).
    async fn generation(&self) -> Result<u64> {
        if let Some(generation) = self.generation.fresh() {
            return Ok(generation);
        }
        let key = self.generation_key();
        // Each turn either reads the item or adds it; losing the add to another
        // instance three times running means the item vanishes as it is written.
        for _ in 0..3 {
            let mut request = Vec::new();
            wire::command(&mut request, "mg", &key, &["v"]);
            let found = self.call_one(request).await?;
            let data = match found.code {
                Code::Value => found.data,
                Code::Miss => None,
                _ => return Err(unexpected("a read of the generation", &found)),
            };
            if let Some(data) = data {
                let generation = std::str::from_utf8(&data)
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .ok_or_else(|| {
                        Error::corrupt("<namespace>", &key, "generation is not a number")
                    })?;
                self.generation.remember(generation);
                return Ok(generation);
            }
            if let Some(generation) = self.seed_generation().await? {
                return Ok(generation);
            }
            // Another instance created it between our read and our add: read theirs.
        }
        Err(Error::backend_msg(format!(
            "memcached: the generation item {key} keeps disappearing"
        )))
    }

    /// Creates the missing generation item with a number never used before (the clock
    /// in milliseconds above 20 random bits: later than every number an earlier seed
    /// could have counted up to by `incr`, unless a million destroys fell in one
    /// millisecond). `None` if another instance created it first.
    async fn seed_generation(&self) -> Result<Option<u64>> {
        use std::hash::{BuildHasher, Hasher};
        let random = std::hash::RandomState::new().build_hasher().finish() & 0xF_FFFF;
        let generation = (now_ms() << 20) | random;
        let (key, value) = (self.generation_key(), generation.to_string());
        let mut request = Vec::new();
        wire::with_value(&mut request, "ms", &key, &["ME"], &[value.as_bytes()]);
        let answer = self.call_one(request).await?;
        let added = match answer.code {
            Code::Done => true,
            Code::NotStored => false,
            _ => return Err(unexpected("an add of the generation", &answer)),
        };
        if added {
            self.generation.remember(generation);
        }
        Ok(added.then_some(generation))
    }

    /// The memcached key under which `collection`/`key` is stored now.
    pub async fn memcached_key(&self, collection: &str, key: &str) -> Result<String> {
        Ok(self.mc_key(self.generation().await?, collection, key))
    }

    fn mc_key(&self, generation: u64, collection: &str, key: &str) -> String {
        memcached_key(&self.namespace, generation, collection, key)
    }

    /// The entry of an item `mg … v f c` answered, with its version: the item's CAS
    /// token under the namespace generation (so a version from before a destroy, or
    /// from before a server restart reset the tokens, never matches after it).
    fn decode(c: &str, k: &str, generation: u64, found: Answer) -> Result<Option<TtlEntry>> {
        let version = version(generation, found.number('c'));
        let entry = decode(c, k, found.number('f'), found.data.unwrap_or_default())?;
        Ok(entry.map(|e| e.with_version(version)))
    }

    /// The entry of an answer to `mg … v f c`: a hit, or a miss.
    fn found(c: &str, k: &str, generation: u64, answer: Answer) -> Result<Option<TtlEntry>> {
        match answer.code {
            Code::Value => Self::decode(c, k, generation, answer),
            Code::Miss => Ok(None),
            _ => Err(unexpected("a read", &answer)),
        }
    }
}

/// The memcached key of `collection`/`key` in `generation`: readable when it fits in
/// 250 printable bytes, else a digest.
pub(crate) fn memcached_key(
    namespace: &str,
    generation: u64,
    collection: &str,
    key: &str,
) -> String {
    use std::fmt::Write;
    let printable = |s: &str| s.bytes().all(|b| (0x21..=0x7e).contains(&b));
    // One allocation: the readable form, or its head followed by the digest.
    let mut out = String::with_capacity(namespace.len() + collection.len() + key.len() + 32);
    let _ = write!(out, "{namespace}:{generation}:");
    let head = out.len();
    let _ = write!(out, "{}:", collection.len());
    out.push_str(collection);
    out.push_str(key);
    if out.len() > 250 || !printable(collection) || !printable(key) {
        out.truncate(head);
        out.push('#');
        out.push_str(&names::digest(&[collection, key]));
    }
    out
}

/// The value and remaining time of an item's flags and data; `None` if expired.
pub(crate) fn decode(
    c: &str,
    k: &str,
    flags: Option<u32>,
    data: impl Into<Bytes>,
) -> Result<Option<TtlEntry>> {
    let data: Bytes = data.into();
    if flags != Some(FLAGS) {
        return Err(Error::corrupt(c, k, "not written by this store (flags)"));
    }
    let Some((deadline, _)) = data.split_first_chunk::<HEADER>() else {
        return Err(Error::corrupt(c, k, "shorter than its header"));
    };
    let deadline = u64::from_le_bytes(*deadline);
    let left = match deadline {
        0 => None,
        at => match at.checked_sub(now_ms()) {
            Some(left) if left > 0 => Some(Duration::from_millis(left)),
            _ => return Ok(None),
        },
    };
    // `advance` moves the start without the allocation `slice` would make.
    let mut value = data;
    bytes::Buf::advance(&mut value, HEADER);
    Ok(Some(crate::Entry::new(value, left)))
}

/// The server's `item_size_max`, from `stats settings` (asked over a short-lived plain
/// connection).
async fn item_size_max(address: &str, timeouts: super::Timeouts) -> Result<usize> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let shown = crate::redact(address);
    let io = |e: std::io::Error| Error::setup(format!("cannot read settings of {shown}"), e);
    let connect = async { tokio::net::TcpStream::connect(address).await.map_err(io) };
    let mut conn = super::bounded(timeouts.connect, connect).await?;
    conn.write_all(b"stats settings\r\n").await.map_err(io)?;
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    while !reply.ends_with(b"END\r\n") {
        let n = tokio::time::timeout(timeouts.operation, conn.read(&mut buf))
            .await
            .map_err(|_| Error::timeout(timeouts.operation))?
            .map_err(io)?;
        if n == 0 || reply.len() > 1 << 20 {
            break;
        }
        reply.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&reply)
        .lines()
        .find_map(|line| line.strip_prefix("STAT item_size_max "))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| Error::setup_msg(format!("{shown} did not report item_size_max")))
}

/// The version of an item: its CAS token under the namespace generation.
fn version(generation: u64, cas: Option<u64>) -> Option<crate::Version> {
    cas.map(|cas| crate::Version::new((u128::from(generation) << 64) | u128::from(cas)))
}

/// Whether a meta command's answer says it did not store or delete: `NS` (an add over
/// an item), `EX` (a CAS token that no longer matches) or `NF` (no item for a CAS).
fn refused(answer: &Answer) -> bool {
    matches!(answer.code, Code::NotStored | Code::Exists | Code::NotFound)
}

/// The exptime flag for `ttl`: whole seconds rounded up, absolute past 30 days.
fn exptime(ttl: Option<Duration>) -> Option<String> {
    let ttl = names::bounded(ttl?);
    let secs = ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0);
    let secs = secs.max(1);
    if secs > RELATIVE_LIMIT {
        // memcached parses exptimes as 32-bit signed: past 2038 the server cannot hold
        // the deadline, so the item gets none there and the value's own deadline
        // (checked on every read) expires it.
        let at = now_ms() / 1000 + secs;
        (at <= i32::MAX as u64).then(|| format!("T{at}"))
    } else {
        Some(format!("T{secs}"))
    }
}

#[cfg(feature = "fuzzing")]
pub(crate) fn framed(value: &[u8], ttl: Option<Duration>) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + value.len());
    out.extend_from_slice(&header(ttl));
    out.extend_from_slice(value);
    out
}

/// The header a value is stored behind: its deadline in ms since the Unix epoch (0:
/// never), little-endian.
fn header(ttl: Option<Duration>) -> [u8; HEADER] {
    let deadline = ttl.map_or(0, |ttl| {
        now_ms() + names::bounded(ttl).as_millis().max(1) as u64
    });
    deadline.to_le_bytes()
}

/// Appends the `ms` of `value` under `key`, behind its header, with `flags`.
fn set_command(out: &mut Vec<u8>, key: &str, value: &[u8], ttl: Option<Duration>, flags: &[&str]) {
    wire::with_value(out, "ms", key, flags, &[&header(ttl), value]);
}

super::backend_store!(MemcachedStore);

impl super::Backend for MemcachedStore {
    async fn get_value(&self, c: &str, k: &str) -> Result<Option<crate::Entry>> {
        Ok(self.ttl_value(c, k).await?.map(super::untimed))
    }

    fn value_limit(&self, _key: &str) -> Option<usize> {
        // Keys are at most 250 bytes on the wire (longer ones are hashed), inside the
        // overhead `item_limit` leaves.
        Some(self.inner.item_limit)
    }

    async fn put_value(&self, c: &str, k: &str, v: Bytes, ttl: Option<Duration>) -> Result<()> {
        let key = self.mc_key(self.generation().await?, c, k);
        let flags = format!("F{FLAGS}");
        let mut meta: Vec<&str> = vec![&flags];
        let exp = exptime(ttl);
        meta.extend(exp.as_deref());
        let mut request = Vec::with_capacity(key.len() + v.len() + 64);
        set_command(&mut request, &key, &v, ttl, &meta);
        let answer = self.call_one(request).await?;
        match answer.code {
            Code::Done => Ok(()),
            _ => Err(unexpected("a set", &answer)),
        }
    }

    async fn delete_value(&self, c: &str, k: &str) -> Result<bool> {
        Ok(self.delete_values(c, &[k]).await? == 1)
    }

    async fn ttl_value(&self, c: &str, k: &str) -> Result<Option<TtlEntry>> {
        let generation = self.generation().await?;
        let key = self.mc_key(generation, c, k);
        Ok(self.look(c, k, generation, &key).await?.1)
    }

    async fn get_values(&self, c: &str, keys: &[&str]) -> Result<Vec<Option<crate::Entry>>> {
        Ok(super::values(self.ttl_values(c, keys).await?))
    }

    async fn put_values(
        &self,
        c: &str,
        entries: &[(&str, Bytes)],
        ttl: Option<Duration>,
    ) -> Result<()> {
        let generation = self.generation().await?;
        let flags = format!("F{FLAGS}");
        let mut meta: Vec<&str> = vec![&flags];
        let exp = exptime(ttl);
        meta.extend(exp.as_deref());
        // One request per CHUNK items or REQUEST_BYTES, whichever comes first: a batch
        // of large values is never copied into memory whole.
        let mut request = Vec::new();
        let mut items = 0;
        for (i, (k, v)) in entries.iter().enumerate() {
            set_command(&mut request, &self.mc_key(generation, c, k), v, ttl, &meta);
            items += 1;
            if items == CHUNK || request.len() >= REQUEST_BYTES || i + 1 == entries.len() {
                let answers = self.call(std::mem::take(&mut request), items).await?;
                if let Some(refused) = answers.iter().find(|a| a.code != Code::Done) {
                    return Err(unexpected("a set", refused));
                }
                items = 0;
            }
        }
        Ok(())
    }

    async fn delete_values(&self, c: &str, keys: &[&str]) -> Result<usize> {
        let distinct = names::distinct(keys);
        // Only live entries count, and memcached keeps an entry up to a second past
        // its millisecond deadline: look before deleting.
        let live = self.ttl_values(c, &distinct).await?;
        let generation = self.generation().await?;
        let mut removed = 0;
        for (keys, live) in distinct.chunks(CHUNK).zip(live.chunks(CHUNK)) {
            let mut request = Vec::new();
            for k in keys {
                wire::command(&mut request, "md", &self.mc_key(generation, c, k), &[]);
            }
            for (answer, entry) in self.call(request, keys.len()).await?.iter().zip(live) {
                match answer.code {
                    Code::Done => removed += usize::from(entry.is_some()),
                    Code::NotFound => {} // already gone
                    _ => return Err(unexpected("a delete", answer)),
                }
            }
        }
        Ok(removed)
    }

    async fn ttl_values(&self, c: &str, keys: &[&str]) -> Result<Vec<Option<TtlEntry>>> {
        let generation = self.generation().await?;
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(CHUNK) {
            let mut request = Vec::new();
            for k in chunk {
                let key = self.mc_key(generation, c, k);
                wire::command(&mut request, "mg", &key, &["v", "f", "c"]);
            }
            // One answer per key, in the order asked: a hit or `EN`.
            let answers = self.call(request, chunk.len()).await?;
            for (k, answer) in chunk.iter().zip(answers) {
                out.push(Self::found(c, k, generation, answer)?);
            }
        }
        Ok(out)
    }
}

impl MemcachedStore {
    /// The item under `key` as it is now: its CAS token (expired by its own deadline
    /// or not: memcached keeps an item up to a second past it) and its live entry.
    async fn look(
        &self,
        c: &str,
        k: &str,
        generation: u64,
        key: &str,
    ) -> Result<(Option<u64>, Option<TtlEntry>)> {
        let mut request = Vec::new();
        wire::command(&mut request, "mg", key, &["v", "f", "c"]);
        let found = self.call_one(request).await?;
        let cas = found.number('c');
        Ok((cas, Self::found(c, k, generation, found)?))
    }

    /// Sets `data` under `key` only over exactly what [`look`](Self::look) saw: with
    /// `add` semantics (`ME`) where there was no item, else with its CAS token (`C`).
    /// `Some(version)` if stored, `None` if the item changed in between.
    async fn set_over(
        &self,
        generation: u64,
        key: &str,
        value: &[u8],
        seen: Option<u64>,
        ttl: Option<Duration>,
    ) -> Result<Option<Option<crate::Version>>> {
        let flags = format!("F{FLAGS}");
        let exp = exptime(ttl);
        let compare = seen.map(|cas| format!("C{cas}"));
        let mut meta: Vec<&str> = vec![&flags, "c"];
        meta.extend(exp.as_deref());
        meta.push(compare.as_deref().unwrap_or("ME"));
        let mut request = Vec::with_capacity(key.len() + value.len() + 64);
        set_command(&mut request, key, value, ttl, &meta);
        let answer = self.call_one(request).await?;
        match answer.code {
            Code::Done => Ok(Some(version(generation, answer.number('c')))),
            _ if refused(&answer) => Ok(None),
            _ => Err(unexpected("a conditional set", &answer)),
        }
    }
}

/// Atomic through memcached's CAS tokens. A create is first an `ms` in add mode (`ME`):
/// one round trip where the key is new. Where an item is there, and for every
/// compare-and-swap, the store looks at the item (`mg` with its token), decides, and
/// writes with `ms` only over exactly the item it saw (`C<token>`, or add mode where
/// there was none); a delete uses `md C<token>`. Two round trips there, since memcached
/// keeps an item up to a second past this store's millisecond deadline and cannot tell
/// an expired one from a live one itself. The one window: an entry that expires
/// between the look and the write is replaced as if it were still live.
impl ConditionalWrites for MemcachedStore {
    async fn put_if_opts(
        &self,
        key: Key<'_>,
        value: Bytes,
        condition: Condition,
        opts: PutOptions,
    ) -> Result<Written> {
        let (c, k) = (key.collection(), key.joined());
        super::check_sizes(|k| super::Backend::value_limit(self, k), [(&*k, &value)])?;
        let generation = self.generation().await?;
        let mc_key = self.mc_key(generation, c, &k);
        let (k, mc_key, data) = (&*k, mc_key.as_str(), &value[..]);
        super::look_then_write(
            condition,
            move || self.look(c, k, generation, mc_key),
            move |seen| self.set_over(generation, mc_key, data, seen, opts.ttl),
        )
        .await
    }

    async fn delete_if_opts(
        &self,
        key: Key<'_>,
        version: crate::Version,
        _: DeleteOptions,
    ) -> Result<bool> {
        let (c, k) = (key.collection(), key.joined());
        let generation = self.generation().await?;
        let mc_key = self.mc_key(generation, c, &k);
        let (seen, current) = self.look(c, &k, generation, &mc_key).await?;
        if current.is_none_or(|e| e.version != Some(version)) {
            return Ok(false);
        }
        let Some(cas) = seen else { return Ok(false) };
        let compare = format!("C{cas}");
        let mut request = Vec::new();
        wire::command(&mut request, "md", &mc_key, &[&compare]);
        let answer = self.call_one(request).await?;
        match answer.code {
            Code::Done => Ok(true),
            _ if refused(&answer) => Ok(false),
            _ => Err(unexpected("a conditional delete", &answer)),
        }
    }
}

impl DestroyStore for MemcachedStore {
    /// Orphans every entry of this namespace by moving the server's generation on
    /// with an atomic `incr` (or seeding a fresh one if the item is gone). Other
    /// instances see it within their [`generation_refresh`](MemcachedStore::generation_refresh).
    async fn destroy_opts(&self) -> Result<()> {
        let key = self.generation_key();
        for _ in 0..3 {
            let mut request = Vec::new();
            wire::command(&mut request, "ma", &key, &["v"]);
            let answer = self.call_one(request).await?;
            let bumped = match answer.code {
                Code::Value => Some(
                    answer
                        .data
                        .as_deref()
                        .and_then(|d| std::str::from_utf8(d).ok())
                        .and_then(|d| d.trim().parse::<u64>().ok())
                        .ok_or_else(|| {
                            Error::corrupt("<namespace>", &key, "generation is not a number")
                        })?,
                ),
                Code::NotFound => None,
                _ => return Err(unexpected("an increment of the generation", &answer)),
            };
            match bumped {
                Some(generation) => {
                    self.generation.remember(generation);
                    return Ok(());
                }
                // No generation yet (or evicted): a fresh one orphans everything.
                None if self.seed_generation().await?.is_some() => return Ok(()),
                None => {} // another instance seeded one meanwhile: bump that
            }
        }
        Err(Error::backend_msg(format!(
            "memcached: the generation item {key} keeps disappearing"
        )))
    }
}
