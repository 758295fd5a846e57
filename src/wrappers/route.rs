//! `Route` and `RouteMap`: choose a store by collection.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::time::Duration;

use bytes::Bytes;

use crate::{
    BoxStore, Cull, DestroyCollection, DestroyStore, EnumerateCollections, EnumerateKeys, KvStore,
    Result, TtlEntry,
};

/// Sends each collection to store `A` when `choose(collection)` is true, else to `B`:
/// static dispatch, both types known at compile time. Nest routes for more stores.
///
/// ```
/// use kv_store_adapter::{KvStore, stores::{DiskStore, MemoryStore}, wrappers::Route};
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// let store = Route::new(
///     MemoryStore::with_max_entries(1_000),
///     DiskStore::open(dir.path().join("kv.redb"))?,
///     |collection: &str| collection.starts_with("cache:"),
/// );
/// store.put("cache:pages", "home", bytes::Bytes::new(), None).await?; // in memory
/// store.put("users", "ada", bytes::Bytes::new(), None).await?;        // on disk
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Route<A, B, F> {
    a: A,
    b: B,
    choose: F,
}

impl<A: fmt::Debug, B: fmt::Debug, F> fmt::Debug for Route<A, B, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Route")
            .field("a", &self.a)
            .field("b", &self.b)
            .finish_non_exhaustive()
    }
}

impl<A, B, F: Fn(&str) -> bool> Route<A, B, F> {
    /// Routes collections for which `choose` is true to `a`, the rest to `b`.
    pub fn new(a: A, b: B, choose: F) -> Self {
        Self { a, b, choose }
    }
}

/// Dispatches one call to whichever store owns the collection.
macro_rules! route {
    ($self:ident, $c:expr, $store:ident => $call:expr) => {
        if ($self.choose)($c) {
            let $store = &$self.a;
            $call.await
        } else {
            let $store = &$self.b;
            $call.await
        }
    };
}

impl<A: KvStore, B: KvStore, F: Fn(&str) -> bool + Send + Sync> KvStore for Route<A, B, F> {
    async fn raw_get(&self, c: &str, k: &str) -> Result<Option<Bytes>> {
        route!(self, c, s => s.raw_get(c, k))
    }
    async fn raw_put(&self, c: &str, k: &str, v: Bytes, ttl: Option<Duration>) -> Result<()> {
        route!(self, c, s => s.raw_put(c, k, v, ttl))
    }
    async fn raw_delete(&self, c: &str, k: &str) -> Result<bool> {
        route!(self, c, s => s.raw_delete(c, k))
    }
    async fn raw_ttl(&self, c: &str, k: &str) -> Result<Option<TtlEntry>> {
        route!(self, c, s => s.raw_ttl(c, k))
    }
    async fn raw_get_many(&self, c: &str, keys: &[&str]) -> Result<Vec<Option<Bytes>>> {
        route!(self, c, s => s.raw_get_many(c, keys))
    }
    async fn raw_put_many(
        &self,
        c: &str,
        entries: &[(&str, Bytes)],
        ttl: Option<Duration>,
    ) -> Result<()> {
        route!(self, c, s => s.raw_put_many(c, entries, ttl))
    }
    async fn raw_delete_many(&self, c: &str, keys: &[&str]) -> Result<usize> {
        route!(self, c, s => s.raw_delete_many(c, keys))
    }
    async fn raw_ttl_many(&self, c: &str, keys: &[&str]) -> Result<Vec<Option<TtlEntry>>> {
        route!(self, c, s => s.raw_ttl_many(c, keys))
    }
}

impl<A: EnumerateKeys, B: EnumerateKeys, F: Fn(&str) -> bool + Send + Sync> EnumerateKeys
    for Route<A, B, F>
{
    async fn raw_keys(&self, c: &str, limit: usize) -> Result<Vec<String>> {
        route!(self, c, s => s.raw_keys(c, limit))
    }
}

/// The collections each store owns: `A`'s chosen ones, then `B`'s others.
impl<A, B, F> EnumerateCollections for Route<A, B, F>
where
    A: EnumerateCollections,
    B: EnumerateCollections,
    F: Fn(&str) -> bool + Send + Sync,
{
    async fn collections(&self, limit: usize) -> Result<Vec<String>> {
        let mut out: Vec<String> = self.a.collections(usize::MAX).await?;
        out.retain(|c| (self.choose)(c));
        let mut b = self.b.collections(usize::MAX).await?;
        b.retain(|c| !(self.choose)(c));
        out.extend(b);
        out.truncate(limit);
        Ok(out)
    }
}

impl<A: DestroyCollection, B: DestroyCollection, F: Fn(&str) -> bool + Send + Sync>
    DestroyCollection for Route<A, B, F>
{
    async fn raw_destroy_collection(&self, c: &str) -> Result<()> {
        route!(self, c, s => s.raw_destroy_collection(c))
    }
}

/// Destroys exactly what the route reaches: the collections of `A` that `choose`
/// sends to `A`, and the collections of `B` it sends to `B`. Other collections of
/// either store (written there directly, or by another route) are left alone, so
/// destroying needs both stores to list and destroy collections.
impl<A, B, F> DestroyStore for Route<A, B, F>
where
    A: EnumerateCollections + DestroyCollection,
    B: EnumerateCollections + DestroyCollection,
    F: Fn(&str) -> bool + Send + Sync,
{
    async fn destroy(&self) -> Result<()> {
        for c in self.a.collections(usize::MAX).await? {
            if (self.choose)(&c) {
                self.a.raw_destroy_collection(&c).await?;
            }
        }
        for c in self.b.collections(usize::MAX).await? {
            if !(self.choose)(&c) {
                self.b.raw_destroy_collection(&c).await?;
            }
        }
        Ok(())
    }
}

impl<A: Cull, B: Cull, F: Fn(&str) -> bool + Send + Sync> Cull for Route<A, B, F> {
    async fn cull(&self) -> Result<()> {
        self.a.cull().await?;
        self.b.cull().await
    }
}

/// Routes collections named in a table (built at run time, e.g. from configuration) to
/// their [`BoxStore`]s, and every other collection to a default one.
///
/// ```
/// use kv_store_adapter::{BoxStore, KvStore, stores::{MemoryStore, NullStore}, wrappers::RouteMap};
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let store = RouteMap::new(BoxStore::new(MemoryStore::with_max_entries(100)))
///     .route("audit", BoxStore::new(NullStore));
/// store.put("audit", "e1", bytes::Bytes::new(), None).await?;
/// assert_eq!(store.get("audit", "e1").await?, None);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RouteMap {
    routes: HashMap<String, BoxStore>,
    default: BoxStore,
}

impl RouteMap {
    /// Every collection goes to `default` until routed elsewhere.
    pub fn new(default: BoxStore) -> Self {
        Self {
            routes: HashMap::new(),
            default,
        }
    }

    /// Sends `collection` to `store`.
    pub fn route(mut self, collection: impl Into<String>, store: BoxStore) -> Self {
        self.routes.insert(collection.into(), store);
        self
    }

    fn store(&self, collection: &str) -> &BoxStore {
        self.routes.get(collection).unwrap_or(&self.default)
    }

    fn stores(&self) -> impl Iterator<Item = &BoxStore> {
        std::iter::once(&self.default).chain(self.routes.values())
    }
}

impl KvStore for RouteMap {
    fn raw_get(&self, c: &str, k: &str) -> impl Future<Output = Result<Option<Bytes>>> + Send {
        self.store(c).raw_get(c, k)
    }
    fn raw_put(
        &self,
        c: &str,
        k: &str,
        v: Bytes,
        ttl: Option<Duration>,
    ) -> impl Future<Output = Result<()>> + Send {
        self.store(c).raw_put(c, k, v, ttl)
    }
    fn raw_delete(&self, c: &str, k: &str) -> impl Future<Output = Result<bool>> + Send {
        self.store(c).raw_delete(c, k)
    }
    fn raw_ttl(&self, c: &str, k: &str) -> impl Future<Output = Result<Option<TtlEntry>>> + Send {
        self.store(c).raw_ttl(c, k)
    }
    fn raw_get_many(
        &self,
        c: &str,
        keys: &[&str],
    ) -> impl Future<Output = Result<Vec<Option<Bytes>>>> + Send {
        self.store(c).raw_get_many(c, keys)
    }
    fn raw_put_many(
        &self,
        c: &str,
        entries: &[(&str, Bytes)],
        ttl: Option<Duration>,
    ) -> impl Future<Output = Result<()>> + Send {
        self.store(c).raw_put_many(c, entries, ttl)
    }
    fn raw_delete_many(
        &self,
        c: &str,
        keys: &[&str],
    ) -> impl Future<Output = Result<usize>> + Send {
        self.store(c).raw_delete_many(c, keys)
    }
    fn raw_ttl_many(
        &self,
        c: &str,
        keys: &[&str],
    ) -> impl Future<Output = Result<Vec<Option<TtlEntry>>>> + Send {
        self.store(c).raw_ttl_many(c, keys)
    }
}

impl EnumerateKeys for RouteMap {
    fn raw_keys(&self, c: &str, limit: usize) -> impl Future<Output = Result<Vec<String>>> + Send {
        self.store(c).raw_keys(c, limit)
    }
}

impl EnumerateCollections for RouteMap {
    async fn collections(&self, limit: usize) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for store in self.stores() {
            for c in store.collections(usize::MAX).await? {
                if std::ptr::eq(self.store(&c), store) {
                    out.push(c);
                }
            }
        }
        out.truncate(limit);
        Ok(out)
    }
}

impl DestroyCollection for RouteMap {
    fn raw_destroy_collection(&self, c: &str) -> impl Future<Output = Result<()>> + Send {
        self.store(c).raw_destroy_collection(c)
    }
}

/// Destroys exactly what the map reaches: each routed collection in its own store, and
/// the default store's collections that are not routed elsewhere. The stores' other
/// data is left alone. The stores must list and destroy collections (else
/// [`Unsupported`](crate::ErrorDetail::Unsupported)).
impl DestroyStore for RouteMap {
    async fn destroy(&self) -> Result<()> {
        for (c, store) in &self.routes {
            store.raw_destroy_collection(c).await?;
        }
        for c in self.default.collections(usize::MAX).await? {
            if !self.routes.contains_key(&c) {
                self.default.raw_destroy_collection(&c).await?;
            }
        }
        Ok(())
    }
}

impl Cull for RouteMap {
    async fn cull(&self) -> Result<()> {
        for store in self.stores() {
            store.cull().await?;
        }
        Ok(())
    }
}
