//! `LimitSize`: refuse values outside a size range.

use crate::{Bytes, Error, Key, PutOptions, Result, Store};

/// Refuses values shorter than `min` or longer than `max` bytes, before anything is
/// written. A batch with one offending value writes nothing — or, built with
/// [`LimitSize::skipping`], writes only the values within the limits.
///
/// ```
/// use bytes::Bytes;
/// use kv_store_adapter::{ErrorKind, KvStore, KvStoreExt, stores::MemoryStore};
///
/// # #[tokio::main] async fn main() {
/// let store = MemoryStore::with_max_entries(10).limit_size(0, 4);
/// let err = store.put("c", "k", Bytes::from_static(b"too long"), None).await.unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::TooLarge);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct LimitSize<S> {
    inner: S,
    min: usize,
    max: usize,
    skip: bool,
}

impl<S> LimitSize<S> {
    /// Values must be `min..=max` bytes long; an offending batch writes nothing.
    pub fn new(inner: S, min: usize, max: usize) -> Self {
        Self {
            inner,
            min,
            max,
            skip: false,
        }
    }

    /// Values must be `min..=max` bytes long; batches skip the offenders.
    pub fn skipping(inner: S, min: usize, max: usize) -> Self {
        Self {
            skip: true,
            ..Self::new(inner, min, max)
        }
    }

    fn check(&self, value: &[u8]) -> Result<()> {
        let size = value.len();
        if size > self.max {
            Err(Error::too_large(size, self.max))
        } else if size < self.min {
            Err(Error::too_small(size, self.min))
        } else {
            Ok(())
        }
    }
}

impl<S: Store> Store for LimitSize<S> {
    crate::forward_methods!(inner; get_opts, delete_opts, get_many_opts, delete_many_opts);

    async fn put_opts(&self, key: Key<'_>, v: Bytes, opts: PutOptions) -> Result<()> {
        self.check(&v)?;
        self.inner.put_opts(key, v, opts).await
    }

    async fn put_many_opts(
        &self,
        c: &str,
        entries: &[(&str, Bytes)],
        opts: PutOptions,
    ) -> Result<()> {
        if !self.skip {
            entries.iter().try_for_each(|(_, v)| self.check(v))?;
            return self.inner.put_many_opts(c, entries, opts).await;
        }
        let within: Vec<(&str, Bytes)> = entries
            .iter()
            .filter(|(_, v)| self.check(v).is_ok())
            .cloned()
            .collect();
        if within.is_empty() {
            return Ok(());
        }
        self.inner.put_many_opts(c, &within, opts).await
    }
}

crate::forward_capabilities!(LimitSize, inner; enumerate_keys, enumerate_collections, destroy_collection, destroy, cull);

/// A conditional write over the limit is refused as a put is (`skip` or not: a
/// conditional write has an outcome to report, so it is never skipped silently).
impl<S: crate::ConditionalWrites> crate::ConditionalWrites for LimitSize<S> {
    async fn put_if_opts(
        &self,
        key: Key<'_>,
        v: Bytes,
        condition: crate::Condition,
        opts: PutOptions,
    ) -> Result<crate::Written> {
        self.check(&v)?;
        self.inner.put_if_opts(key, v, condition, opts).await
    }

    fn delete_if_opts<'a>(
        &'a self,
        key: Key<'a>,
        version: crate::Version,
        opts: crate::DeleteOptions,
    ) -> impl std::future::Future<Output = Result<bool>> + Send {
        self.inner.delete_if_opts(key, version, opts)
    }
}
