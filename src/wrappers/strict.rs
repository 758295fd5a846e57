//! `Strict`: a miss is an error.

use bytes::Bytes;

use crate::{Error, KvStore, Result, TtlEntry};

/// Raise-on-missing access: `get`, `get_many`, `ttl` and `ttl_many` fail with
/// [`ErrorDetail::Missing`](crate::ErrorDetail::Missing) (naming the first missing key) instead of answering `None`, so
/// every `Some` can be unwrapped safely. Writes and enumeration are forwarded.
///
/// ```
/// use kv_store_adapter::{ErrorKind, KvStore, KvStoreExt, stores::MemoryStore};
///
/// # #[tokio::main] async fn main() {
/// let store = MemoryStore::with_max_entries(10).strict();
/// let err = store.get("users", "nobody").await.unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Missing);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Strict<S> {
    inner: S,
}

impl<S> Strict<S> {
    /// Misses become [`ErrorDetail::Missing`](crate::ErrorDetail::Missing).
    pub fn new(inner: S) -> Self {
        Self { inner }
    }
}

fn all_present<T>(c: &str, keys: &[&str], found: Vec<Option<T>>) -> Result<Vec<Option<T>>> {
    match found.iter().position(Option::is_none) {
        Some(i) => Err(Error::missing(c, keys.get(i).copied().unwrap_or_default())),
        None => Ok(found),
    }
}

impl<S: KvStore> KvStore for Strict<S> {
    crate::forward_methods!(inner; raw_put, raw_delete, raw_put_many, raw_delete_many);

    async fn raw_get(&self, c: &str, k: &str) -> Result<Option<Bytes>> {
        match self.inner.raw_get(c, k).await? {
            Some(v) => Ok(Some(v)),
            None => Err(Error::missing(c, k)),
        }
    }

    async fn raw_ttl(&self, c: &str, k: &str) -> Result<Option<TtlEntry>> {
        match self.inner.raw_ttl(c, k).await? {
            Some(e) => Ok(Some(e)),
            None => Err(Error::missing(c, k)),
        }
    }

    async fn raw_get_many(&self, c: &str, keys: &[&str]) -> Result<Vec<Option<Bytes>>> {
        all_present(c, keys, self.inner.raw_get_many(c, keys).await?)
    }

    async fn raw_ttl_many(&self, c: &str, keys: &[&str]) -> Result<Vec<Option<TtlEntry>>> {
        all_present(c, keys, self.inner.raw_ttl_many(c, keys).await?)
    }
}

crate::forward_capabilities!(Strict, inner; enumerate_keys, enumerate_collections, destroy_collection, destroy, cull);
