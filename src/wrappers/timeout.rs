//! `Timeout`: bound every call.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;

use crate::{
    Cull, DestroyCollection, DestroyStore, EnumerateCollections, EnumerateKeys, Error, KvStore,
    Result, TtlEntry,
};

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

impl<S: KvStore> KvStore for Timeout<S> {
    async fn raw_get(&self, c: &str, k: &str) -> Result<Option<Bytes>> {
        self.bound(self.inner.raw_get(c, k)).await
    }
    async fn raw_put(&self, c: &str, k: &str, v: Bytes, ttl: Option<Duration>) -> Result<()> {
        self.bound(self.inner.raw_put(c, k, v, ttl)).await
    }
    async fn raw_delete(&self, c: &str, k: &str) -> Result<bool> {
        self.bound(self.inner.raw_delete(c, k)).await
    }
    async fn raw_ttl(&self, c: &str, k: &str) -> Result<Option<TtlEntry>> {
        self.bound(self.inner.raw_ttl(c, k)).await
    }
    async fn raw_get_many(&self, c: &str, keys: &[&str]) -> Result<Vec<Option<Bytes>>> {
        self.bound(self.inner.raw_get_many(c, keys)).await
    }
    async fn raw_put_many(
        &self,
        c: &str,
        entries: &[(&str, Bytes)],
        ttl: Option<Duration>,
    ) -> Result<()> {
        self.bound(self.inner.raw_put_many(c, entries, ttl)).await
    }
    async fn raw_delete_many(&self, c: &str, keys: &[&str]) -> Result<usize> {
        self.bound(self.inner.raw_delete_many(c, keys)).await
    }
    async fn raw_ttl_many(&self, c: &str, keys: &[&str]) -> Result<Vec<Option<TtlEntry>>> {
        self.bound(self.inner.raw_ttl_many(c, keys)).await
    }
}

impl<S: EnumerateKeys> EnumerateKeys for Timeout<S> {
    async fn raw_keys(&self, c: &str, limit: usize) -> Result<Vec<String>> {
        self.bound(self.inner.raw_keys(c, limit)).await
    }
}
impl<S: EnumerateCollections> EnumerateCollections for Timeout<S> {
    async fn collections(&self, limit: usize) -> Result<Vec<String>> {
        self.bound(self.inner.collections(limit)).await
    }
}
impl<S: DestroyCollection> DestroyCollection for Timeout<S> {
    async fn raw_destroy_collection(&self, c: &str) -> Result<()> {
        self.bound(self.inner.raw_destroy_collection(c)).await
    }
}
impl<S: DestroyStore> DestroyStore for Timeout<S> {
    async fn destroy(&self) -> Result<()> {
        self.bound(self.inner.destroy()).await
    }
}
impl<S: Cull> Cull for Timeout<S> {
    async fn cull(&self) -> Result<()> {
        self.bound(self.inner.cull()).await
    }
}
