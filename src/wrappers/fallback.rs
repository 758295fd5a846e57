//! `Fallback`: a second store for when the first is unreachable.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;

use crate::{
    Cull, DestroyCollection, DestroyStore, EnumerateCollections, EnumerateKeys, KvStore, Result,
    TtlEntry,
};

/// Reads go to `primary`; when it fails with a transient error (connection, timeout)
/// they are answered by `fallback`. Writes go to `primary` only, unless built with
/// [`Fallback::with_write_fallback`], when a transiently failing write is made on
/// `fallback` instead. Other errors are never hidden.
///
/// ```
/// use kv_store_adapter::{KvStore, stores::{MemoryStore, NullStore}, wrappers::Fallback};
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let store = Fallback::new(MemoryStore::with_max_entries(10), NullStore);
/// assert_eq!(store.get("c", "k").await?, None);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Fallback<P, F> {
    primary: P,
    fallback: F,
    writes: bool,
}

impl<P, F> Fallback<P, F> {
    /// Reads fall back to `fallback`; writes do not.
    pub fn new(primary: P, fallback: F) -> Self {
        Self {
            primary,
            fallback,
            writes: false,
        }
    }

    /// Reads and writes fall back to `fallback`.
    pub fn with_write_fallback(primary: P, fallback: F) -> Self {
        Self {
            primary,
            fallback,
            writes: true,
        }
    }

    async fn read<T>(
        &self,
        primary: impl Future<Output = Result<T>>,
        fallback: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        match primary.await {
            Err(e) if e.is_transient() => {
                tracing::warn!(error = %e, "primary store failed; reading from the fallback");
                fallback.await
            }
            result => result,
        }
    }

    async fn write<T>(
        &self,
        primary: impl Future<Output = Result<T>>,
        fallback: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        if self.writes {
            self.read(primary, fallback).await
        } else {
            primary.await
        }
    }
}

impl<P: KvStore, F: KvStore> KvStore for Fallback<P, F> {
    async fn raw_get(&self, c: &str, k: &str) -> Result<Option<Bytes>> {
        self.read(self.primary.raw_get(c, k), self.fallback.raw_get(c, k))
            .await
    }
    async fn raw_put(&self, c: &str, k: &str, v: Bytes, ttl: Option<Duration>) -> Result<()> {
        let primary = self.primary.raw_put(c, k, v.clone(), ttl);
        self.write(primary, self.fallback.raw_put(c, k, v, ttl))
            .await
    }
    async fn raw_delete(&self, c: &str, k: &str) -> Result<bool> {
        self.write(
            self.primary.raw_delete(c, k),
            self.fallback.raw_delete(c, k),
        )
        .await
    }
    async fn raw_ttl(&self, c: &str, k: &str) -> Result<Option<TtlEntry>> {
        self.read(self.primary.raw_ttl(c, k), self.fallback.raw_ttl(c, k))
            .await
    }
    async fn raw_get_many(&self, c: &str, keys: &[&str]) -> Result<Vec<Option<Bytes>>> {
        let primary = self.primary.raw_get_many(c, keys);
        self.read(primary, self.fallback.raw_get_many(c, keys))
            .await
    }
    async fn raw_put_many(
        &self,
        c: &str,
        entries: &[(&str, Bytes)],
        ttl: Option<Duration>,
    ) -> Result<()> {
        let primary = self.primary.raw_put_many(c, entries, ttl);
        self.write(primary, self.fallback.raw_put_many(c, entries, ttl))
            .await
    }
    async fn raw_delete_many(&self, c: &str, keys: &[&str]) -> Result<usize> {
        let primary = self.primary.raw_delete_many(c, keys);
        self.write(primary, self.fallback.raw_delete_many(c, keys))
            .await
    }
    async fn raw_ttl_many(&self, c: &str, keys: &[&str]) -> Result<Vec<Option<TtlEntry>>> {
        let primary = self.primary.raw_ttl_many(c, keys);
        self.read(primary, self.fallback.raw_ttl_many(c, keys))
            .await
    }
}

impl<P: EnumerateKeys, F: EnumerateKeys> EnumerateKeys for Fallback<P, F> {
    async fn raw_keys(&self, c: &str, limit: usize) -> Result<Vec<String>> {
        let primary = self.primary.raw_keys(c, limit);
        self.read(primary, self.fallback.raw_keys(c, limit)).await
    }
}
impl<P: EnumerateCollections, F: EnumerateCollections> EnumerateCollections for Fallback<P, F> {
    async fn collections(&self, limit: usize) -> Result<Vec<String>> {
        let primary = self.primary.collections(limit);
        self.read(primary, self.fallback.collections(limit)).await
    }
}
impl<P: DestroyCollection, F: DestroyCollection> DestroyCollection for Fallback<P, F> {
    async fn raw_destroy_collection(&self, c: &str) -> Result<()> {
        let primary = self.primary.raw_destroy_collection(c);
        self.write(primary, self.fallback.raw_destroy_collection(c))
            .await
    }
}
impl<P: DestroyStore, F: DestroyStore> DestroyStore for Fallback<P, F> {
    async fn destroy(&self) -> Result<()> {
        self.write(self.primary.destroy(), self.fallback.destroy())
            .await
    }
}
impl<P: Cull, F: Cull> Cull for Fallback<P, F> {
    async fn cull(&self) -> Result<()> {
        self.write(self.primary.cull(), self.fallback.cull()).await
    }
}
