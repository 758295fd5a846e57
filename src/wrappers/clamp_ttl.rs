//! `ClampTtl`: bound the TTLs written.

use std::time::Duration;

use crate::{
    Bytes, Condition, ConditionalWrites, DeleteOptions, Error, Key, PutOptions, Result, Store,
    Version, Written, names,
};

/// Clamps every TTL written into `[min, max]`; a write without TTL gets `missing`
/// (if set) or stays without expiry. Reads are forwarded unchanged.
///
/// ```
/// use std::time::Duration;
/// use bytes::Bytes;
/// use kv_store_adapter::{KvStore, KvStoreExt, stores::MemoryStore};
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let hour = Duration::from_secs(3600);
/// let store = MemoryStore::with_max_entries(100).clamp_ttl(Duration::from_secs(1), hour, Some(hour))?;
/// store.put("c", "k", Bytes::new(), None).await?;
/// assert!(store.ttl("c", "k").await?.unwrap().expires_in.unwrap() <= hour);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ClampTtl<S> {
    inner: S,
    min: Duration,
    max: Duration,
    missing: Option<Duration>,
}

impl<S> ClampTtl<S> {
    /// Clamps TTLs into `[min, max]` and gives writes without one `missing`.
    /// `max` (and `missing`) must be valid TTLs and `min ≤ max`.
    pub fn new(inner: S, min: Duration, max: Duration, missing: Option<Duration>) -> Result<Self> {
        names::check_ttl(Some(max))?;
        names::check_ttl(missing)?;
        if min > max {
            return Err(Error::setup_msg(format!(
                "TTL clamp minimum {min:?} is above its maximum {max:?}"
            )));
        }
        Ok(Self {
            inner,
            min,
            max,
            missing,
        })
    }

    fn clamp(&self, mut opts: PutOptions) -> PutOptions {
        opts.ttl = match opts.ttl {
            Some(ttl) => Some(ttl.clamp(self.min, self.max)),
            None => self.missing,
        };
        opts
    }
}

impl<S: Store> Store for ClampTtl<S> {
    crate::forward_methods!(inner; get_opts, delete_opts, get_many_opts, delete_many_opts);

    #[inline]
    fn put_opts<'a>(
        &'a self,
        key: Key<'a>,
        v: Bytes,
        opts: PutOptions,
    ) -> impl Future<Output = Result<()>> + Send {
        self.inner.put_opts(key, v, self.clamp(opts))
    }

    fn put_many_opts(
        &self,
        c: &str,
        entries: &[(&str, Bytes)],
        opts: PutOptions,
    ) -> impl Future<Output = Result<()>> + Send {
        self.inner.put_many_opts(c, entries, self.clamp(opts))
    }
}

crate::forward_capabilities!(ClampTtl, inner; enumerate_keys, enumerate_collections, destroy_collection, destroy, cull);

impl<S: ConditionalWrites> ConditionalWrites for ClampTtl<S> {
    fn put_if_opts<'a>(
        &'a self,
        key: Key<'a>,
        v: Bytes,
        condition: Condition,
        opts: PutOptions,
    ) -> impl Future<Output = Result<Written>> + Send {
        self.inner.put_if_opts(key, v, condition, self.clamp(opts))
    }

    fn delete_if_opts<'a>(
        &'a self,
        key: Key<'a>,
        version: Version,
        opts: DeleteOptions,
    ) -> impl Future<Output = Result<bool>> + Send {
        self.inner.delete_if_opts(key, version, opts)
    }
}
