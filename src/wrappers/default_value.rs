//! `DefaultValue`: answer a default on a miss.

use std::time::Duration;

use crate::{Bytes, Entry, GetOptions, Key, Result, Store};

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

impl<S: Store> Store for DefaultValue<S> {
    crate::forward_methods!(inner; put_opts, delete_opts, put_many_opts, delete_many_opts);

    async fn get_opts(&self, key: Key<'_>, opts: GetOptions) -> Result<Option<Entry>> {
        let found = self.inner.get_opts(key, opts).await?;
        Ok(Some(found.unwrap_or_else(|| self.default(opts))))
    }

    async fn get_many_opts(
        &self,
        c: &str,
        keys: &[&str],
        opts: GetOptions,
    ) -> Result<Vec<Option<Entry>>> {
        let found = self.inner.get_many_opts(c, keys, opts).await?;
        Ok(found
            .into_iter()
            .map(|e| Some(e.unwrap_or_else(|| self.default(opts))))
            .collect())
    }
}

impl<S> DefaultValue<S> {
    fn default(&self, opts: GetOptions) -> Entry {
        Entry::new(self.value.clone(), if opts.ttl { self.ttl } else { None })
    }
}

// A default answered for a missing entry has no version: a conditional write over it
// is a create.
crate::forward_capabilities!(DefaultValue, inner; enumerate_keys, enumerate_collections, destroy_collection, destroy, cull, conditional_writes);
