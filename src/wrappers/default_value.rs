//! `DefaultValue`: answer a default on a miss.

use std::time::Duration;

use bytes::Bytes;

use crate::{KvStore, Result, TtlEntry};

/// A miss answers `value` instead of `None` (and `ttl()` answers it with `ttl`); the
/// default is never written. Writes and enumeration are forwarded unchanged.
///
/// ```
/// use bytes::Bytes;
/// use kv_store_adapter::{KvStore, KvStoreExt, stores::MemoryStore};
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let store = MemoryStore::with_max_entries(10).default_value(Bytes::from_static(b"{}"), None);
/// assert_eq!(store.get("config", "missing").await?, Some(Bytes::from_static(b"{}")));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct DefaultValue<S> {
    inner: S,
    value: Bytes,
    ttl: Option<Duration>,
}

impl<S> DefaultValue<S> {
    /// Misses answer `value`; `ttl()` reports `ttl` for it.
    pub fn new(inner: S, value: Bytes, ttl: Option<Duration>) -> Self {
        Self { inner, value, ttl }
    }
}

impl<S: KvStore> KvStore for DefaultValue<S> {
    crate::forward_methods!(inner; raw_put, raw_delete, raw_put_many, raw_delete_many);

    async fn raw_get(&self, c: &str, k: &str) -> Result<Option<Bytes>> {
        let found = self.inner.raw_get(c, k).await?;
        Ok(Some(found.unwrap_or_else(|| self.value.clone())))
    }

    async fn raw_ttl(&self, c: &str, k: &str) -> Result<Option<TtlEntry>> {
        let found = self.inner.raw_ttl(c, k).await?;
        Ok(Some(
            found.unwrap_or_else(|| (self.value.clone(), self.ttl)),
        ))
    }

    async fn raw_get_many(&self, c: &str, keys: &[&str]) -> Result<Vec<Option<Bytes>>> {
        let found = self.inner.raw_get_many(c, keys).await?;
        Ok(found
            .into_iter()
            .map(|v| Some(v.unwrap_or_else(|| self.value.clone())))
            .collect())
    }

    async fn raw_ttl_many(&self, c: &str, keys: &[&str]) -> Result<Vec<Option<TtlEntry>>> {
        let found = self.inner.raw_ttl_many(c, keys).await?;
        Ok(found
            .into_iter()
            .map(|e| Some(e.unwrap_or_else(|| (self.value.clone(), self.ttl))))
            .collect())
    }
}

crate::forward_capabilities!(DefaultValue, inner; enumerate_keys, enumerate_collections, destroy_collection, destroy, cull);
