//! `Strict`: a miss is an error.

use crate::{Entry, Error, GetOptions, Key, Result, Store};

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

impl<S: Store> Store for Strict<S> {
    crate::forward_methods!(inner; put_opts, delete_opts, put_many_opts, delete_many_opts);

    async fn get_opts(&self, key: Key<'_>, opts: GetOptions) -> Result<Option<Entry>> {
        match self.inner.get_opts(key, opts).await? {
            Some(e) => Ok(Some(e)),
            None => Err(Error::missing(key.collection(), &key.joined())),
        }
    }

    async fn get_many_opts(
        &self,
        c: &str,
        keys: &[&str],
        opts: GetOptions,
    ) -> Result<Vec<Option<Entry>>> {
        all_present(c, keys, self.inner.get_many_opts(c, keys, opts).await?)
    }
}

crate::forward_capabilities!(Strict, inner; enumerate_keys, enumerate_collections, destroy_collection, destroy, cull, conditional_writes);
