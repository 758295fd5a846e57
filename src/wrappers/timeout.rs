//! `Timeout`: bound every call.

use std::future::Future;
use std::time::Duration;

use crate::{
    Bytes, Cull, DeleteOptions, DestroyCollection, DestroyStore, Entry, EnumerateCollections,
    EnumerateKeys, Error, GetOptions, Key, ListOptions, PutOptions, Result, Store,
};
use crate::{Cursor, Page};

/// Fails any call that takes longer than `limit` with [`ErrorDetail::Timeout`](crate::ErrorDetail::Timeout), which is
/// transient, so a [`Retry`](super::Retry) outside it retries. The inner call is
/// dropped (cancelled) when the time is up.
///
/// ```
/// use std::time::Duration;
/// use kv_store_adapter::{KvStore, KvStoreExt, stores::MemoryStore};
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let store = MemoryStore::with_max_entries(10).timeout(Duration::from_millis(250));
/// assert_eq!(store.get("c", "k").await?, None);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Timeout<S> {
    inner: S,
    limit: Duration,
}

impl<S> Timeout<S> {
    /// Bounds every call by `limit`.
    pub fn new(inner: S, limit: Duration) -> Self {
        Self { inner, limit }
    }

    async fn bound<T>(&self, call: impl Future<Output = Result<T>>) -> Result<T> {
        match tokio::time::timeout(self.limit, call).await {
            Ok(result) => result,
            Err(_) => Err(Error::timeout(self.limit)),
        }
    }
}

impl<S: Store> Store for Timeout<S> {
    async fn get_opts(&self, k: Key<'_>, o: GetOptions) -> Result<Option<Entry>> {
        self.bound(self.inner.get_opts(k, o)).await
    }
    async fn put_opts(&self, k: Key<'_>, v: Bytes, o: PutOptions) -> Result<()> {
        self.bound(self.inner.put_opts(k, v, o)).await
    }
    async fn delete_opts(&self, k: Key<'_>, o: DeleteOptions) -> Result<bool> {
        self.bound(self.inner.delete_opts(k, o)).await
    }
    async fn get_many_opts(
        &self,
        c: &str,
        keys: &[&str],
        o: GetOptions,
    ) -> Result<Vec<Option<Entry>>> {
        self.bound(self.inner.get_many_opts(c, keys, o)).await
    }
    async fn put_many_opts(&self, c: &str, entries: &[(&str, Bytes)], o: PutOptions) -> Result<()> {
        self.bound(self.inner.put_many_opts(c, entries, o)).await
    }
    async fn delete_many_opts(&self, c: &str, keys: &[&str], o: DeleteOptions) -> Result<usize> {
        self.bound(self.inner.delete_many_opts(c, keys, o)).await
    }
}

/// A conditional write that times out may still apply on the backend: the
/// [`Timeout`](crate::ErrorDetail::Timeout) error leaves its outcome unknown (read the
/// entry to find out).
impl<S: crate::ConditionalWrites> crate::ConditionalWrites for Timeout<S> {
    async fn put_if_opts(
        &self,
        k: Key<'_>,
        v: Bytes,
        c: crate::Condition,
        o: PutOptions,
    ) -> Result<crate::Written> {
        self.bound(self.inner.put_if_opts(k, v, c, o)).await
    }
    async fn delete_if_opts(
        &self,
        k: Key<'_>,
        version: crate::Version,
        o: DeleteOptions,
    ) -> Result<bool> {
        self.bound(self.inner.delete_if_opts(k, version, o)).await
    }
}

impl<S: EnumerateKeys> EnumerateKeys for Timeout<S> {
    async fn keys_opts(&self, c: &str, opts: ListOptions) -> Result<Vec<String>> {
        self.bound(self.inner.keys_opts(c, opts)).await
    }
    async fn keys_page_with_prefix(
        &self,
        c: &str,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page> {
        self.bound(self.inner.keys_page_with_prefix(c, prefix, cursor, limit))
            .await
    }
    fn walk_page(&self, c: &str) -> usize {
        self.inner.walk_page(c)
    }
}
impl<S: EnumerateCollections> EnumerateCollections for Timeout<S> {
    async fn collections_opts(&self, opts: ListOptions) -> Result<Vec<String>> {
        self.bound(self.inner.collections_opts(opts)).await
    }
    async fn collections_page_with_prefix(
        &self,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page> {
        self.bound(
            self.inner
                .collections_page_with_prefix(prefix, cursor, limit),
        )
        .await
    }
    fn collections_walk_page(&self) -> usize {
        self.inner.collections_walk_page()
    }
}
impl<S: DestroyCollection> DestroyCollection for Timeout<S> {
    async fn destroy_collection_opts(&self, c: &str) -> Result<()> {
        self.bound(self.inner.destroy_collection_opts(c)).await
    }
}
impl<S: DestroyStore> DestroyStore for Timeout<S> {
    async fn destroy_opts(&self) -> Result<()> {
        self.bound(self.inner.destroy_opts()).await
    }
}
impl<S: Cull> Cull for Timeout<S> {
    async fn cull_opts(&self) -> Result<()> {
        self.bound(self.inner.cull_opts()).await
    }
}
