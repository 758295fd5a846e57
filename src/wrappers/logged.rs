//! `Logged`: a `tracing` event per operation.

use std::future::Future;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::{
    Cull, DestroyCollection, DestroyStore, EnumerateCollections, EnumerateKeys, KvStore, Result,
    TtlEntry,
};

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
        key: Option<&str>,
        count: usize,
        call: impl Future<Output = Result<T>>,
        outcome: impl FnOnce(&T) -> &'static str,
    ) -> Result<T> {
        let start = Instant::now();
        let result = call.await;
        let micros = start.elapsed().as_micros() as u64;
        let key = if self.keys { key } else { None };
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

impl<S: KvStore> KvStore for Logged<S> {
    async fn raw_get(&self, c: &str, k: &str) -> Result<Option<Bytes>> {
        self.log("get", c, Some(k), 1, self.inner.raw_get(c, k), found)
            .await
    }
    async fn raw_put(&self, c: &str, k: &str, v: Bytes, ttl: Option<Duration>) -> Result<()> {
        self.log("put", c, Some(k), 1, self.inner.raw_put(c, k, v, ttl), ok)
            .await
    }
    async fn raw_delete(&self, c: &str, k: &str) -> Result<bool> {
        let call = self.inner.raw_delete(c, k);
        self.log("delete", c, Some(k), 1, call, |d| {
            if *d { "hit" } else { "miss" }
        })
        .await
    }
    async fn raw_ttl(&self, c: &str, k: &str) -> Result<Option<TtlEntry>> {
        self.log("ttl", c, Some(k), 1, self.inner.raw_ttl(c, k), found)
            .await
    }
    async fn raw_get_many(&self, c: &str, keys: &[&str]) -> Result<Vec<Option<Bytes>>> {
        let call = self.inner.raw_get_many(c, keys);
        self.log("get_many", c, None, keys.len(), call, ok).await
    }
    async fn raw_put_many(
        &self,
        c: &str,
        entries: &[(&str, Bytes)],
        ttl: Option<Duration>,
    ) -> Result<()> {
        let call = self.inner.raw_put_many(c, entries, ttl);
        self.log("put_many", c, None, entries.len(), call, ok).await
    }
    async fn raw_delete_many(&self, c: &str, keys: &[&str]) -> Result<usize> {
        let call = self.inner.raw_delete_many(c, keys);
        self.log("delete_many", c, None, keys.len(), call, ok).await
    }
    async fn raw_ttl_many(&self, c: &str, keys: &[&str]) -> Result<Vec<Option<TtlEntry>>> {
        let call = self.inner.raw_ttl_many(c, keys);
        self.log("ttl_many", c, None, keys.len(), call, ok).await
    }
}

impl<S: EnumerateKeys> EnumerateKeys for Logged<S> {
    async fn raw_keys(&self, c: &str, limit: usize) -> Result<Vec<String>> {
        self.log("keys", c, None, 0, self.inner.raw_keys(c, limit), ok)
            .await
    }
}
impl<S: EnumerateCollections> EnumerateCollections for Logged<S> {
    async fn collections(&self, limit: usize) -> Result<Vec<String>> {
        self.log(
            "collections",
            "",
            None,
            0,
            self.inner.collections(limit),
            ok,
        )
        .await
    }
}
impl<S: DestroyCollection> DestroyCollection for Logged<S> {
    async fn raw_destroy_collection(&self, c: &str) -> Result<()> {
        let call = self.inner.raw_destroy_collection(c);
        self.log("destroy_collection", c, None, 0, call, ok).await
    }
}
impl<S: DestroyStore> DestroyStore for Logged<S> {
    async fn destroy(&self) -> Result<()> {
        self.log("destroy", "", None, 0, self.inner.destroy(), ok)
            .await
    }
}
impl<S: Cull> Cull for Logged<S> {
    async fn cull(&self) -> Result<()> {
        self.log("cull", "", None, 0, self.inner.cull(), ok).await
    }
}
