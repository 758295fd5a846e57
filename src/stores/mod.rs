//! The stores: embedded ones here, server backends behind their Cargo features.

use std::future::Future;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::{Entry, Result};

#[cfg(feature = "disk")]
pub(crate) mod disk;
#[cfg(feature = "disk")]
pub(crate) mod disk_format;
#[cfg(feature = "elasticsearch")]
pub(crate) mod elasticsearch;
#[cfg(feature = "disk")]
mod group_commit;
#[cfg(feature = "memcached")]
pub(crate) mod memcached;
#[cfg(feature = "memcached")]
pub(crate) mod memcached_wire;
#[cfg(feature = "memory")]
mod memory;
#[cfg(feature = "memory")]
pub(crate) mod memory_key;
#[cfg(feature = "mongodb")]
pub(crate) mod mongodb;
#[cfg(feature = "disk")]
mod multi_disk;
mod null;
#[cfg(feature = "redis")]
pub(crate) mod redis;
#[cfg(feature = "redis-cluster")]
mod redis_cluster;
#[cfg(feature = "redis")]
mod redis_failover;
#[cfg(feature = "redis")]
mod redis_index;
mod simple;
#[cfg(feature = "valkey")]
mod valkey;

#[cfg(feature = "disk")]
#[cfg_attr(docsrs, doc(cfg(feature = "disk")))]
pub use disk::{DiskStore, DiskStoreBuilder};
#[cfg(feature = "elasticsearch")]
#[cfg_attr(docsrs, doc(cfg(feature = "elasticsearch")))]
pub use elasticsearch::{ElasticsearchOptions, ElasticsearchStore, Refresh};
#[cfg(feature = "memcached")]
#[cfg_attr(docsrs, doc(cfg(feature = "memcached")))]
pub use memcached::{MemcachedOptions, MemcachedStore};
#[cfg(feature = "memory")]
#[cfg_attr(docsrs, doc(cfg(feature = "memory")))]
pub use memory::{DEFAULT_MAX_ENTRIES, MemoryStore, MemoryStoreBuilder};
#[cfg(feature = "mongodb")]
#[cfg_attr(docsrs, doc(cfg(feature = "mongodb")))]
pub use mongodb::MongoStore;
#[cfg(feature = "disk")]
#[cfg_attr(docsrs, doc(cfg(feature = "disk")))]
pub use multi_disk::{DEFAULT_OPEN_FILES, DEFAULT_WRITER_THREADS, MultiDiskStore};
pub use null::NullStore;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::{RedisConnection, RedisOptions, RedisStore};
#[cfg(feature = "redis-cluster")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis-cluster")))]
pub use redis_cluster::RedisClusterStore;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis_failover::FailoverConnection;
pub use simple::{SimpleEntry, SimpleStore};
#[cfg(feature = "valkey")]
#[cfg_attr(docsrs, doc(cfg(feature = "valkey")))]
pub use valkey::ValkeyStore;

/// How long a network store waits: to connect (and to find its server), and for each
/// round trip to the server to finish (every call, batches, enumeration and destroy
/// included; a call that needs several round trips — a batch in chunks, a listing in
/// pages — gets the whole bound for each). Both are 5 s by default
/// ([`Timeouts::default`]); MongoDB and Elasticsearch use [`Timeouts::documents`] (30 s
/// per round trip), since one of theirs carries up to 1,000 documents or 8 MB and
/// server-side work (an index refresh, a delete by query).
/// A stalled server yields a typed [`Timeout`](crate::ErrorDetail::Timeout) error,
/// never a hang, and the store recovers by itself once the server answers again.
///
/// ```
/// use std::time::Duration;
/// use kv_store_adapter::stores::Timeouts;
///
/// let t = Timeouts::default().operation(Duration::from_millis(500));
/// assert_eq!(t.connect, Duration::from_secs(5));
/// assert_eq!(t.operation, Duration::from_millis(500));
/// ```
///
/// With the `serde` feature it reads from configuration as
/// `{ "connect": "2s", "operation": "500ms" }` (either may be left out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
#[non_exhaustive]
pub struct Timeouts {
    /// Connecting, and finding a server to talk to.
    #[cfg_attr(
        feature = "serde",
        serde(deserialize_with = "crate::duration::deserialize")
    )]
    pub connect: Duration,
    /// One round trip, from the request to its answer (waiting for a pooled
    /// connection included).
    #[cfg_attr(
        feature = "serde",
        serde(deserialize_with = "crate::duration::deserialize")
    )]
    pub operation: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            operation: Duration::from_secs(5),
        }
    }
}

impl Timeouts {
    /// The defaults of the document stores (MongoDB, Elasticsearch): 5 s to connect,
    /// 30 s per round trip.
    pub fn documents() -> Self {
        Self::default().operation(Duration::from_secs(30))
    }

    /// Sets the connect timeout (raised to at least a millisecond).
    pub fn connect(mut self, limit: Duration) -> Self {
        self.connect = limit.max(Duration::from_millis(1));
        self
    }

    /// Sets the operation timeout (raised to at least a millisecond).
    pub fn operation(mut self, limit: Duration) -> Self {
        self.operation = limit.max(Duration::from_millis(1));
        self
    }
}

/// `call`, or a [`Timeout`](crate::ErrorDetail::Timeout) error once `limit` has passed
/// (the call is dropped).
#[cfg_attr(
    not(any(feature = "memcached", feature = "mongodb", feature = "elasticsearch")),
    allow(dead_code)
)]
pub(crate) async fn bounded<T>(
    limit: Duration,
    call: impl std::future::Future<Output = crate::Result<T>>,
) -> crate::Result<T> {
    match tokio::time::timeout(limit, call).await {
        Ok(result) => result,
        Err(_) => Err(crate::Error::timeout(limit)),
    }
}

/// Splits a batch into runs of at most `count` entries and about `bytes` bytes of names
/// and values (an entry larger than `bytes` travels alone), so no request a server
/// store sends outgrows the server's message limit (Mongo's 48 MB, a proxy's body
/// limit) however large the values.
#[cfg_attr(
    not(any(feature = "mongodb", feature = "elasticsearch")),
    allow(dead_code)
)]
pub(crate) fn write_chunks<'a, 'b>(
    entries: &'a [(&'b str, Bytes)],
    count: usize,
    bytes: usize,
) -> impl Iterator<Item = &'a [(&'b str, Bytes)]> {
    let mut rest = entries;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut size = 0;
        let mut end = 0;
        while end < rest.len() && end < count {
            let (k, v) = &rest[end];
            size += k.len() + v.len();
            if end > 0 && size > bytes {
                break;
            }
            end += 1;
        }
        let (chunk, tail) = rest.split_at(end);
        rest = tail;
        Some(chunk)
    })
}

/// When an instance last prepared its store's one backend object (the Mongo
/// collection with its indexes, the Elasticsearch index with its mapping and
/// template), so a write need not prepare it again.
///
/// A hint, never the truth: this crate's own `destroy` empties the object in place
/// instead of removing it, so another instance's memory of it stays true; and it is
/// trusted for [`Prepared::TRUST`] only, so an object removed from outside (by an
/// administrator) is prepared again within that bound. One per store, whatever the
/// number of collections written.
#[cfg(any(feature = "mongodb", feature = "elasticsearch"))]
#[derive(Debug, Default)]
pub(crate) struct Prepared(std::sync::Mutex<Option<Instant>>);

#[cfg(any(feature = "mongodb", feature = "elasticsearch"))]
impl Prepared {
    /// How long a preparation is trusted.
    pub(crate) const TRUST: Duration = Duration::from_secs(60);

    fn at(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the object was prepared within [`Self::TRUST`].
    pub(crate) fn fresh(&self) -> bool {
        self.at().is_some_and(|at| at.elapsed() < Self::TRUST)
    }

    /// Records the object as prepared now.
    pub(crate) fn mark(&self) {
        *self.at() = Some(Instant::now());
    }
}

/// What the network stores read: a value with the time it has left (when asked) and
/// its version (where the store keeps one).
type TtlEntry = Entry;

/// The entries of timed answers without their times, for a store whose plain batch
/// read is its timed one.
#[allow(dead_code)]
fn values(entries: Vec<Option<TtlEntry>>) -> Vec<Option<Entry>> {
    entries.into_iter().map(|e| e.map(untimed)).collect()
}

/// `entry` without its remaining time, for a store whose plain read is its timed one.
#[allow(dead_code)]
fn untimed(mut entry: Entry) -> Entry {
    entry.expires_in = None;
    entry
}

/// What the network stores implement: reads and writes of one joined key, and their
/// native batches; [`Store`] follows from it, once for all of them. Their backends
/// need the whole key as one name anyway, so a [`Key`]'s parts are joined here.
#[allow(dead_code)]
trait Backend: Send + Sync {
    fn get_value(&self, c: &str, k: &str) -> impl Future<Output = Result<Option<Entry>>> + Send;
    fn ttl_value(&self, c: &str, k: &str) -> impl Future<Output = Result<Option<TtlEntry>>> + Send;
    fn put_value(
        &self,
        c: &str,
        k: &str,
        v: Bytes,
        ttl: Option<Duration>,
    ) -> impl Future<Output = Result<()>> + Send;
    fn delete_value(&self, c: &str, k: &str) -> impl Future<Output = Result<bool>> + Send;
    fn get_values(
        &self,
        c: &str,
        keys: &[&str],
    ) -> impl Future<Output = Result<Vec<Option<Entry>>>> + Send;
    fn ttl_values(
        &self,
        c: &str,
        keys: &[&str],
    ) -> impl Future<Output = Result<Vec<Option<TtlEntry>>>> + Send;
    fn put_values(
        &self,
        c: &str,
        entries: &[(&str, Bytes)],
        ttl: Option<Duration>,
    ) -> impl Future<Output = Result<()>> + Send;
    fn delete_values(&self, c: &str, keys: &[&str]) -> impl Future<Output = Result<usize>> + Send;
    /// The largest value the backend stores under `key` (the whole key, as the store
    /// writes it), if it has a limit: a larger one is refused with
    /// [`TooLarge`](crate::ErrorDetail::TooLarge) before anything is sent (a batch
    /// holding one writes nothing).
    fn value_limit(&self, key: &str) -> Option<usize> {
        let _ = key;
        None
    }
}

/// [`TooLarge`](crate::ErrorDetail::TooLarge) for the first entry whose value is over
/// `limit` for its key (the whole key; `None`: no limit): the one check behind every
/// store's writes that has a limit — each backend store's through
/// [`Backend::value_limit`], conditional writes included, and the disk store's.
#[allow(dead_code)] // only with a store that has a limit
pub(crate) fn check_sizes<'a>(
    limit: impl Fn(&str) -> Option<usize>,
    entries: impl IntoIterator<Item = (&'a str, &'a Bytes)>,
) -> Result<()> {
    for (key, value) in entries {
        if let Some(limit) = limit(key)
            && value.len() > limit
        {
            return Err(crate::Error::too_large(value.len(), limit));
        }
    }
    Ok(())
}

/// A conditional write for a store that must look before it writes (its backend
/// cannot tell an expired entry from a live one): `look` answers a token for exactly
/// what the key holds (expired or not) and its live entry; `write` writes only over
/// what that token names (the backend's compare-and-set; `T::default()` names "no
/// item", an add), answering `None` if the key changed in between. A create first
/// tries the add without looking, one round trip where the key is new (the common
/// case); only when something is there does it look, and then write over an expired
/// item by its token. A create that loses looks again (the winner is then live, or
/// already gone); a compare-and-swap that loses has failed.
#[allow(dead_code)]
async fn look_then_write<T: Default, L, W>(
    condition: crate::Condition,
    look: impl Fn() -> L,
    write: impl Fn(T) -> W,
) -> Result<crate::Written>
where
    L: Future<Output = Result<(T, Option<Entry>)>>,
    W: Future<Output = Result<Option<Option<crate::Version>>>>,
{
    use crate::Written;
    let create = condition == crate::Condition::Absent;
    if create && let Some(version) = write(T::default()).await? {
        return Ok(Written::Applied(version));
    }
    for _ in 0..3 {
        let (seen, current) = look().await?;
        if !condition.holds(current.as_ref().map(|e| e.version)) {
            return Ok(Written::Rejected(current));
        }
        match write(seen).await? {
            Some(version) => return Ok(Written::Applied(version)),
            None if create => continue,
            None => return Ok(Written::Rejected(None)),
        }
    }
    // Changed under it three times running: others keep writing this key.
    Ok(Written::Rejected(None))
}

/// `Store` for a [`Backend`], the same for every network store (a blanket impl would
/// overlap the pointer impls of `Store`).
#[allow(unused_macros)]
macro_rules! backend_store {
    ($ty:ty $(, $g:ident: $b:path)*) => {
        impl<$($g: $b),*> $crate::Store for $ty {
            async fn get_opts(&self, key: $crate::Key<'_>, opts: $crate::GetOptions) -> $crate::Result<Option<$crate::Entry>> {
                let (c, k) = (key.collection(), key.joined());
                // The `ttl` path's state (a pipeline, its answers) is boxed: inline, every
                // get's future would be as large as it (RedisStore: 856 bytes, not 368),
                // copied on each spawn and poll of the task (measured: 64 Redis gets in
                // flight, 0.88 -> 0.98 of the raw client's rate).
                if opts.ttl {
                    Box::pin($crate::stores::Backend::ttl_value(self, c, &k)).await
                } else {
                    $crate::stores::Backend::get_value(self, c, &k).await
                }
            }

            async fn put_opts(&self, key: $crate::Key<'_>, value: $crate::Bytes, opts: $crate::PutOptions) -> $crate::Result<()> {
                let k = key.joined();
                $crate::stores::check_sizes(|k| $crate::stores::Backend::value_limit(self, k), [(&*k, &value)])?;
                $crate::stores::Backend::put_value(self, key.collection(), &k, value, opts.ttl).await
            }

            async fn delete_opts(&self, key: $crate::Key<'_>, _: $crate::DeleteOptions) -> $crate::Result<bool> {
                $crate::stores::Backend::delete_value(self, key.collection(), &key.joined()).await
            }

            async fn get_many_opts(
                &self,
                c: &str,
                keys: &[&str],
                opts: $crate::GetOptions,
            ) -> $crate::Result<Vec<Option<$crate::Entry>>> {
                if opts.ttl {
                    $crate::stores::Backend::ttl_values(self, c, keys).await
                } else {
                    $crate::stores::Backend::get_values(self, c, keys).await
                }
            }

            async fn put_many_opts(&self, c: &str, entries: &[(&str, $crate::Bytes)], opts: $crate::PutOptions) -> $crate::Result<()> {
                let limit = |k: &str| $crate::stores::Backend::value_limit(self, k);
                $crate::stores::check_sizes(limit, entries.iter().map(|(k, v)| (*k, v)))?;
                $crate::stores::Backend::put_values(self, c, entries, opts.ttl).await
            }

            async fn delete_many_opts(&self, c: &str, keys: &[&str], _: $crate::DeleteOptions) -> $crate::Result<usize> {
                $crate::stores::Backend::delete_values(self, c, keys).await
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use backend_store;

/// A value with its deadline on the monotonic clock and its version, as the in-process
/// stores keep it.
#[derive(Debug, Clone)]
struct Timed {
    value: Bytes,
    expires_at: Option<Instant>,
    version: crate::Version,
}

impl Timed {
    /// A freshly written entry: a new version.
    fn new(value: Bytes, ttl: Option<Duration>) -> Self {
        // `ttl` was checked against `MAX_TTL`, so the addition cannot overflow in
        // practice; should it, the entry simply never expires.
        let expires_at = ttl.and_then(|ttl| Instant::now().checked_add(crate::names::bounded(ttl)));
        Self {
            value,
            expires_at,
            version: crate::Version::unique(),
        }
    }

    /// Whether `condition` holds for this entry as found (`None`: no entry), now.
    fn allows(found: Option<&Self>, condition: crate::Condition, now: Instant) -> bool {
        condition.holds(found.filter(|e| e.is_live(now)).map(|e| Some(e.version)))
    }

    /// The entry a rejected conditional write reports: the live one found, if any.
    fn current(found: Option<&Self>, now: Instant) -> Option<crate::Entry> {
        found
            .filter(|e| e.is_live(now))
            .and_then(|e| e.clone().read(crate::GetOptions::default()))
    }

    /// `None` once expired, else the remaining time (`Some(None)`: never expires).
    fn remaining(&self, now: Instant) -> Option<Option<Duration>> {
        match self.expires_at {
            None => Some(None),
            Some(at) if at > now => Some(Some(at - now)),
            Some(_) => None,
        }
    }

    fn is_live(&self, now: Instant) -> bool {
        self.remaining(now).is_some()
    }

    /// Whether the entry is live now; reads the clock only for an entry with a
    /// deadline (most have none, and the clock is a fifth of a memory hit's cost).
    #[cfg(feature = "memory")]
    #[inline]
    fn is_live_now(&self) -> bool {
        self.expires_at.is_none_or(|at| at > Instant::now())
    }

    /// What a read answers: `None` once expired, else the value, with its remaining
    /// time when `opts.ttl`. Reads the clock only for an entry with a deadline.
    #[inline]
    fn read(self, opts: crate::GetOptions) -> Option<crate::Entry> {
        let left = match self.expires_at {
            None => None,
            Some(at) => Some(
                at.checked_duration_since(Instant::now())
                    .filter(|d| !d.is_zero())?,
            ),
        };
        Some(
            crate::Entry::new(self.value, left.filter(|_| opts.ttl))
                .with_version(Some(self.version)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(any(feature = "mongodb", feature = "elasticsearch"))]
    #[test]
    fn a_preparation_is_trusted_once_marked() {
        let prepared = Prepared::default();
        assert!(!prepared.fresh());
        prepared.mark();
        assert!(prepared.fresh());
    }

    #[test]
    fn write_chunks_bound_count_and_bytes() {
        let big = Bytes::from(vec![0u8; 600]);
        let entries: Vec<(&str, Bytes)> = (0..10).map(|_| ("k", big.clone())).collect();
        let sizes: Vec<usize> = write_chunks(&entries, 4, 1_300).map(<[_]>::len).collect();
        assert_eq!(sizes, [2, 2, 2, 2, 2]);
        let sizes: Vec<usize> = write_chunks(&entries, 3, 1 << 20).map(<[_]>::len).collect();
        assert_eq!(sizes, [3, 3, 3, 1]);
        // An entry over the byte bound still travels, alone.
        let sizes: Vec<usize> = write_chunks(&entries[..2], 5, 10).map(<[_]>::len).collect();
        assert_eq!(sizes, [1, 1]);
        assert_eq!(write_chunks(&[], 5, 10).count(), 0);
    }
}
