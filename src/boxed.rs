//! The one type-erasure escape hatch: stores chosen at run time.
//!
//! [`DynKvStore`] is the object-safe twin of [`KvStore`], implemented for every store;
//! `dyn DynKvStore` (so `Box<dyn …>` and `Arc<dyn …>`) implements [`KvStore`] again.
//! [`BoxStore`] adds the capabilities a store has, chosen when it is boxed.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::store::{
    Cull, DestroyCollection, DestroyStore, EnumerateCollections, EnumerateKeys, KvStore, TtlEntry,
};
use crate::{Error, Result};

/// A boxed, `Send` future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The object-safe twin of [`KvStore`]'s `raw_` methods; every store implements it.
pub trait DynKvStore: Send + Sync {
    /// The boxed store's type name, for [`observe`](crate::observe).
    fn dyn_observed_name(&self) -> &'static str;
    /// See [`KvStore::raw_get`].
    fn dyn_get<'a>(&'a self, c: &'a str, k: &'a str) -> BoxFuture<'a, Result<Option<Bytes>>>;
    /// See [`KvStore::raw_put`].
    fn dyn_put<'a>(
        &'a self,
        c: &'a str,
        k: &'a str,
        v: Bytes,
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, Result<()>>;
    /// See [`KvStore::raw_delete`].
    fn dyn_delete<'a>(&'a self, c: &'a str, k: &'a str) -> BoxFuture<'a, Result<bool>>;
    /// See [`KvStore::raw_ttl`].
    fn dyn_ttl<'a>(&'a self, c: &'a str, k: &'a str) -> BoxFuture<'a, Result<Option<TtlEntry>>>;
    /// See [`KvStore::raw_get_many`].
    fn dyn_get_many<'a>(
        &'a self,
        c: &'a str,
        keys: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Vec<Option<Bytes>>>>;
    /// See [`KvStore::raw_put_many`].
    fn dyn_put_many<'a>(
        &'a self,
        c: &'a str,
        entries: &'a [(&'a str, Bytes)],
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, Result<()>>;
    /// See [`KvStore::raw_delete_many`].
    fn dyn_delete_many<'a>(
        &'a self,
        c: &'a str,
        keys: &'a [&'a str],
    ) -> BoxFuture<'a, Result<usize>>;
    /// See [`KvStore::raw_ttl_many`].
    fn dyn_ttl_many<'a>(
        &'a self,
        c: &'a str,
        keys: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Vec<Option<TtlEntry>>>>;
}

impl<S: KvStore> DynKvStore for S {
    fn dyn_observed_name(&self) -> &'static str {
        self.observed_name()
    }
    fn dyn_get<'a>(&'a self, c: &'a str, k: &'a str) -> BoxFuture<'a, Result<Option<Bytes>>> {
        Box::pin(self.raw_get(c, k))
    }
    fn dyn_put<'a>(
        &'a self,
        c: &'a str,
        k: &'a str,
        v: Bytes,
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.raw_put(c, k, v, ttl))
    }
    fn dyn_delete<'a>(&'a self, c: &'a str, k: &'a str) -> BoxFuture<'a, Result<bool>> {
        Box::pin(self.raw_delete(c, k))
    }
    fn dyn_ttl<'a>(&'a self, c: &'a str, k: &'a str) -> BoxFuture<'a, Result<Option<TtlEntry>>> {
        Box::pin(self.raw_ttl(c, k))
    }
    fn dyn_get_many<'a>(
        &'a self,
        c: &'a str,
        keys: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Vec<Option<Bytes>>>> {
        Box::pin(self.raw_get_many(c, keys))
    }
    fn dyn_put_many<'a>(
        &'a self,
        c: &'a str,
        entries: &'a [(&'a str, Bytes)],
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.raw_put_many(c, entries, ttl))
    }
    fn dyn_delete_many<'a>(
        &'a self,
        c: &'a str,
        keys: &'a [&'a str],
    ) -> BoxFuture<'a, Result<usize>> {
        Box::pin(self.raw_delete_many(c, keys))
    }
    fn dyn_ttl_many<'a>(
        &'a self,
        c: &'a str,
        keys: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Vec<Option<TtlEntry>>>> {
        Box::pin(self.raw_ttl_many(c, keys))
    }
}

impl KvStore for dyn DynKvStore + '_ {
    fn observed_name(&self) -> &'static str {
        self.dyn_observed_name()
    }
    async fn raw_get(&self, c: &str, k: &str) -> Result<Option<Bytes>> {
        self.dyn_get(c, k).await
    }
    async fn raw_put(&self, c: &str, k: &str, v: Bytes, ttl: Option<Duration>) -> Result<()> {
        self.dyn_put(c, k, v, ttl).await
    }
    async fn raw_delete(&self, c: &str, k: &str) -> Result<bool> {
        self.dyn_delete(c, k).await
    }
    async fn raw_ttl(&self, c: &str, k: &str) -> Result<Option<TtlEntry>> {
        self.dyn_ttl(c, k).await
    }
    async fn raw_get_many(&self, c: &str, keys: &[&str]) -> Result<Vec<Option<Bytes>>> {
        self.dyn_get_many(c, keys).await
    }
    async fn raw_put_many(
        &self,
        c: &str,
        entries: &[(&str, Bytes)],
        ttl: Option<Duration>,
    ) -> Result<()> {
        self.dyn_put_many(c, entries, ttl).await
    }
    async fn raw_delete_many(&self, c: &str, keys: &[&str]) -> Result<usize> {
        self.dyn_delete_many(c, keys).await
    }
    async fn raw_ttl_many(&self, c: &str, keys: &[&str]) -> Result<Vec<Option<TtlEntry>>> {
        self.dyn_ttl_many(c, keys).await
    }
}

/// Object-safe capability methods, implemented for every store with that capability.
trait DynKeys: Send + Sync {
    fn dyn_keys<'a>(&'a self, c: &'a str, limit: usize) -> BoxFuture<'a, Result<Vec<String>>>;
}
impl<S: EnumerateKeys> DynKeys for S {
    fn dyn_keys<'a>(&'a self, c: &'a str, limit: usize) -> BoxFuture<'a, Result<Vec<String>>> {
        Box::pin(self.raw_keys(c, limit))
    }
}
trait DynCollections: Send + Sync {
    fn dyn_collections(&self, limit: usize) -> BoxFuture<'_, Result<Vec<String>>>;
}
impl<S: EnumerateCollections> DynCollections for S {
    fn dyn_collections(&self, limit: usize) -> BoxFuture<'_, Result<Vec<String>>> {
        Box::pin(self.collections(limit))
    }
}
trait DynDestroyCollection: Send + Sync {
    fn dyn_destroy_collection<'a>(&'a self, c: &'a str) -> BoxFuture<'a, Result<()>>;
}
impl<S: DestroyCollection> DynDestroyCollection for S {
    fn dyn_destroy_collection<'a>(&'a self, c: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.raw_destroy_collection(c))
    }
}
trait DynDestroy: Send + Sync {
    fn dyn_destroy(&self) -> BoxFuture<'_, Result<()>>;
}
impl<S: DestroyStore> DynDestroy for S {
    fn dyn_destroy(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(self.destroy())
    }
}
trait DynCull: Send + Sync {
    fn dyn_cull(&self) -> BoxFuture<'_, Result<()>>;
}
impl<S: Cull> DynCull for S {
    fn dyn_cull(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(self.cull())
    }
}

/// A store chosen at run time: the core trait through one box, plus the capabilities
/// that were declared when it was built. A missing capability answers
/// [`ErrorDetail::Unsupported`](crate::ErrorDetail::Unsupported).
///
/// ```
/// use bytes::Bytes;
/// use kv_store_adapter::{BoxStore, EnumerateKeys, KvStore, stores::MemoryStore};
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let store: BoxStore = BoxStore::builder(MemoryStore::with_max_entries(100)).keys().collections().build();
/// store.put("c", "k", Bytes::from_static(b"v"), None).await?;
/// assert_eq!(store.keys("c", 10).await?, vec!["k".to_string()]);
/// assert!(store.has_keys());
/// assert!(!store.has_destroy());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct BoxStore {
    core: Arc<dyn DynKvStore>,
    keys: Option<Arc<dyn DynKeys>>,
    collections: Option<Arc<dyn DynCollections>>,
    destroy_collection: Option<Arc<dyn DynDestroyCollection>>,
    destroy: Option<Arc<dyn DynDestroy>>,
    cull: Option<Arc<dyn DynCull>>,
}

impl fmt::Debug for BoxStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoxStore")
            .field("keys", &self.has_keys())
            .field("collections", &self.has_collections())
            .field("destroy_collection", &self.has_destroy_collection())
            .field("destroy", &self.has_destroy())
            .field("cull", &self.has_cull())
            .finish_non_exhaustive()
    }
}

/// Builds a [`BoxStore`], declaring the capabilities the store has.
#[derive(Debug)]
pub struct BoxStoreBuilder<S> {
    store: Arc<S>,
    boxed: BoxStore,
}

impl BoxStore {
    /// Boxes the core trait only.
    pub fn new<S: KvStore + 'static>(store: S) -> Self {
        Self::builder(store).build()
    }

    /// Starts boxing `store`; add each capability it has, then `build()`.
    pub fn builder<S: KvStore + 'static>(store: S) -> BoxStoreBuilder<S> {
        let store = Arc::new(store);
        let boxed = BoxStore {
            core: store.clone(),
            keys: None,
            collections: None,
            destroy_collection: None,
            destroy: None,
            cull: None,
        };
        BoxStoreBuilder { store, boxed }
    }

    /// Whether [`EnumerateKeys`] works.
    pub fn has_keys(&self) -> bool {
        self.keys.is_some()
    }
    /// Whether [`EnumerateCollections`] works.
    pub fn has_collections(&self) -> bool {
        self.collections.is_some()
    }
    /// Whether [`DestroyCollection`] works.
    pub fn has_destroy_collection(&self) -> bool {
        self.destroy_collection.is_some()
    }
    /// Whether [`DestroyStore`] works.
    pub fn has_destroy(&self) -> bool {
        self.destroy.is_some()
    }
    /// Whether [`Cull`] works.
    pub fn has_cull(&self) -> bool {
        self.cull.is_some()
    }
}

impl<S: KvStore + 'static> BoxStoreBuilder<S> {
    /// Declares [`EnumerateKeys`].
    pub fn keys(mut self) -> Self
    where
        S: EnumerateKeys,
    {
        self.boxed.keys = Some(self.store.clone());
        self
    }
    /// Declares [`EnumerateCollections`].
    pub fn collections(mut self) -> Self
    where
        S: EnumerateCollections,
    {
        self.boxed.collections = Some(self.store.clone());
        self
    }
    /// Declares [`DestroyCollection`].
    pub fn destroy_collection(mut self) -> Self
    where
        S: DestroyCollection,
    {
        self.boxed.destroy_collection = Some(self.store.clone());
        self
    }
    /// Declares [`DestroyStore`].
    pub fn destroy(mut self) -> Self
    where
        S: DestroyStore,
    {
        self.boxed.destroy = Some(self.store.clone());
        self
    }
    /// Declares [`Cull`].
    pub fn cull(mut self) -> Self
    where
        S: Cull,
    {
        self.boxed.cull = Some(self.store.clone());
        self
    }
    /// Declares every capability at once.
    pub fn all(self) -> Self
    where
        S: EnumerateKeys + EnumerateCollections + DestroyCollection + DestroyStore + Cull,
    {
        self.keys()
            .collections()
            .destroy_collection()
            .destroy()
            .cull()
    }
    /// The boxed store.
    pub fn build(self) -> BoxStore {
        self.boxed
    }
}

impl KvStore for BoxStore {
    fn observed_name(&self) -> &'static str {
        self.core.dyn_observed_name()
    }
    async fn raw_get(&self, c: &str, k: &str) -> Result<Option<Bytes>> {
        self.core.dyn_get(c, k).await
    }
    async fn raw_put(&self, c: &str, k: &str, v: Bytes, ttl: Option<Duration>) -> Result<()> {
        self.core.dyn_put(c, k, v, ttl).await
    }
    async fn raw_delete(&self, c: &str, k: &str) -> Result<bool> {
        self.core.dyn_delete(c, k).await
    }
    async fn raw_ttl(&self, c: &str, k: &str) -> Result<Option<TtlEntry>> {
        self.core.dyn_ttl(c, k).await
    }
    async fn raw_get_many(&self, c: &str, keys: &[&str]) -> Result<Vec<Option<Bytes>>> {
        self.core.dyn_get_many(c, keys).await
    }
    async fn raw_put_many(
        &self,
        c: &str,
        entries: &[(&str, Bytes)],
        ttl: Option<Duration>,
    ) -> Result<()> {
        self.core.dyn_put_many(c, entries, ttl).await
    }
    async fn raw_delete_many(&self, c: &str, keys: &[&str]) -> Result<usize> {
        self.core.dyn_delete_many(c, keys).await
    }
    async fn raw_ttl_many(&self, c: &str, keys: &[&str]) -> Result<Vec<Option<TtlEntry>>> {
        self.core.dyn_ttl_many(c, keys).await
    }
}

impl EnumerateKeys for BoxStore {
    async fn raw_keys(&self, c: &str, limit: usize) -> Result<Vec<String>> {
        match &self.keys {
            Some(inner) => inner.dyn_keys(c, limit).await,
            None => Err(Error::unsupported("enumerating keys")),
        }
    }
}
impl EnumerateCollections for BoxStore {
    async fn collections(&self, limit: usize) -> Result<Vec<String>> {
        match &self.collections {
            Some(inner) => inner.dyn_collections(limit).await,
            None => Err(Error::unsupported("enumerating collections")),
        }
    }
}
impl DestroyCollection for BoxStore {
    async fn raw_destroy_collection(&self, c: &str) -> Result<()> {
        match &self.destroy_collection {
            Some(inner) => inner.dyn_destroy_collection(c).await,
            None => Err(Error::unsupported("destroying a collection")),
        }
    }
}
impl DestroyStore for BoxStore {
    async fn destroy(&self) -> Result<()> {
        match &self.destroy {
            Some(inner) => inner.dyn_destroy().await,
            None => Err(Error::unsupported("destroying the store")),
        }
    }
}
impl Cull for BoxStore {
    async fn cull(&self) -> Result<()> {
        match &self.cull {
            Some(inner) => inner.dyn_cull().await,
            None => Err(Error::unsupported("culling")),
        }
    }
}
