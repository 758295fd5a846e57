//! `Logged`: a `tracing` event per operation.

use std::future::Future;
use std::time::Instant;

use crate::{
    Bytes, Cull, DeleteOptions, DestroyCollection, DestroyStore, Entry, EnumerateCollections,
    EnumerateKeys, GetOptions, Key, ListOptions, PutOptions, Result, Store,
};
use crate::{Cursor, Page};

/// Emits one `tracing` event (target `kv_store_adapter`) per operation, with the
/// operation, collection, key count, duration in microseconds and outcome; failures
/// at `WARN`, the rest at `DEBUG`. Values are never logged; keys only when opted in
/// with [`Logged::with_keys`], since keys may carry personal data or secrets. A failed
/// call logs its error's `Display`, which never holds a key (see [`Error::key`](crate::Error::key)).
///
/// ```
/// use kv_store_adapter::{KvStore, KvStoreExt, stores::MemoryStore};
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let store = MemoryStore::with_max_entries(10).logged();
/// store.get("users", "ada").await?; // DEBUG op="get" collection="users" keys=1 …
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Logged<S> {
    inner: S,
    keys: bool,
}

impl<S> Logged<S> {
    /// Logs operations without their keys.
    pub fn new(inner: S) -> Self {
        Self { inner, keys: false }
    }

    /// Also logs the keys of single-key operations.
    pub fn with_keys(inner: S) -> Self {
        Self { inner, keys: true }
    }

    async fn log<T>(
        &self,
        op: &'static str,
        collection: &str,
        key: Option<Key<'_>>,
        count: usize,
        call: impl Future<Output = Result<T>>,
        outcome: impl FnOnce(&T) -> &'static str,
    ) -> Result<T> {
        let start = Instant::now();
        let result = call.await;
        let micros = start.elapsed().as_micros() as u64;
        // A prefixed key is joined only when it is logged.
        let joined = key.filter(|_| self.keys).map(|k| k.joined());
        let key = joined.as_deref();
        match &result {
            Ok(value) => tracing::debug!(
                target: "kv_store_adapter",
                op, collection, key, keys = count, micros, outcome = outcome(value),
            ),
            Err(error) => tracing::warn!(
                target: "kv_store_adapter",
                op, collection, key, keys = count, micros, outcome = "error", %error,
            ),
        }
        result
    }
}

fn found<T>(v: &Option<T>) -> &'static str {
    if v.is_some() { "hit" } else { "miss" }
}
fn ok<T>(_: &T) -> &'static str {
    "ok"
}

impl<S: Store> Store for Logged<S> {
    async fn get_opts(&self, key: Key<'_>, o: GetOptions) -> Result<Option<Entry>> {
        let op = if o.ttl { "ttl" } else { "get" };
        let call = self.inner.get_opts(key, o);
        self.log(op, key.collection(), Some(key), 1, call, found)
            .await
    }
    async fn put_opts(&self, key: Key<'_>, v: Bytes, o: PutOptions) -> Result<()> {
        let call = self.inner.put_opts(key, v, o);
        self.log("put", key.collection(), Some(key), 1, call, ok)
            .await
    }
    async fn delete_opts(&self, key: Key<'_>, o: DeleteOptions) -> Result<bool> {
        let call = self.inner.delete_opts(key, o);
        self.log("delete", key.collection(), Some(key), 1, call, |d| {
            if *d { "hit" } else { "miss" }
        })
        .await
    }
    async fn get_many_opts(
        &self,
        c: &str,
        keys: &[&str],
        o: GetOptions,
    ) -> Result<Vec<Option<Entry>>> {
        let op = if o.ttl { "ttl_many" } else { "get_many" };
        let call = self.inner.get_many_opts(c, keys, o);
        self.log(op, c, None, keys.len(), call, ok).await
    }
    async fn put_many_opts(&self, c: &str, entries: &[(&str, Bytes)], o: PutOptions) -> Result<()> {
        let call = self.inner.put_many_opts(c, entries, o);
        self.log("put_many", c, None, entries.len(), call, ok).await
    }
    async fn delete_many_opts(&self, c: &str, keys: &[&str], o: DeleteOptions) -> Result<usize> {
        let call = self.inner.delete_many_opts(c, keys, o);
        self.log("delete_many", c, None, keys.len(), call, ok).await
    }
}

impl<S: crate::ConditionalWrites> crate::ConditionalWrites for Logged<S> {
    async fn put_if_opts(
        &self,
        key: Key<'_>,
        v: Bytes,
        condition: crate::Condition,
        o: PutOptions,
    ) -> Result<crate::Written> {
        let call = self.inner.put_if_opts(key, v, condition, o);
        self.log("put_if", key.collection(), Some(key), 1, call, |w| {
            if w.is_applied() {
                "applied"
            } else {
                "rejected"
            }
        })
        .await
    }
    async fn delete_if_opts(
        &self,
        key: Key<'_>,
        version: crate::Version,
        o: DeleteOptions,
    ) -> Result<bool> {
        let call = self.inner.delete_if_opts(key, version, o);
        self.log("delete_if", key.collection(), Some(key), 1, call, |d| {
            if *d { "applied" } else { "rejected" }
        })
        .await
    }
}

impl<S: EnumerateKeys> EnumerateKeys for Logged<S> {
    async fn keys_opts(&self, c: &str, opts: ListOptions) -> Result<Vec<String>> {
        self.log("keys", c, None, 0, self.inner.keys_opts(c, opts), ok)
            .await
    }
    async fn keys_page_with_prefix(
        &self,
        c: &str,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page> {
        let page = self.inner.keys_page_with_prefix(c, prefix, cursor, limit);
        self.log("keys", c, None, 0, page, ok).await
    }
    fn walk_page(&self, c: &str) -> usize {
        self.inner.walk_page(c)
    }
}
impl<S: EnumerateCollections> EnumerateCollections for Logged<S> {
    async fn collections_opts(&self, opts: ListOptions) -> Result<Vec<String>> {
        self.log(
            "collections",
            "",
            None,
            0,
            self.inner.collections_opts(opts),
            ok,
        )
        .await
    }
    async fn collections_page_with_prefix(
        &self,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page> {
        let page = self
            .inner
            .collections_page_with_prefix(prefix, cursor, limit);
        self.log("collections", "", None, 0, page, ok).await
    }
    fn collections_walk_page(&self) -> usize {
        self.inner.collections_walk_page()
    }
}
impl<S: DestroyCollection> DestroyCollection for Logged<S> {
    async fn destroy_collection_opts(&self, c: &str) -> Result<()> {
        let call = self.inner.destroy_collection_opts(c);
        self.log("destroy_collection", c, None, 0, call, ok).await
    }
}
impl<S: DestroyStore> DestroyStore for Logged<S> {
    async fn destroy_opts(&self) -> Result<()> {
        self.log("destroy", "", None, 0, self.inner.destroy_opts(), ok)
            .await
    }
}
impl<S: Cull> Cull for Logged<S> {
    async fn cull_opts(&self) -> Result<()> {
        self.log("cull", "", None, 0, self.inner.cull_opts(), ok)
            .await
    }
}
