//! `Route` and `RouteMap`: choose a store by collection.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;

use crate::listing::{PartCursor, destroy_collections_where, first_collections, foreign_cursor};
use crate::{
    BoxStore, Bytes, Cull, DeleteOptions, DestroyCollection, DestroyStore, Entry,
    EnumerateCollections, EnumerateKeys, GetOptions, Key, ListOptions, PutOptions, Result, Store,
};
use crate::{Cursor, Page};

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

impl<A: Store, B: Store, F: Fn(&str) -> bool + Send + Sync> Store for Route<A, B, F> {
    async fn get_opts(&self, k: Key<'_>, o: GetOptions) -> Result<Option<Entry>> {
        route!(self, k.collection(), s => s.get_opts(k, o))
    }
    async fn put_opts(&self, k: Key<'_>, v: Bytes, o: PutOptions) -> Result<()> {
        route!(self, k.collection(), s => s.put_opts(k, v, o))
    }
    async fn delete_opts(&self, k: Key<'_>, o: DeleteOptions) -> Result<bool> {
        route!(self, k.collection(), s => s.delete_opts(k, o))
    }
    async fn get_many_opts(
        &self,
        c: &str,
        keys: &[&str],
        o: GetOptions,
    ) -> Result<Vec<Option<Entry>>> {
        route!(self, c, s => s.get_many_opts(c, keys, o))
    }
    async fn put_many_opts(&self, c: &str, entries: &[(&str, Bytes)], o: PutOptions) -> Result<()> {
        route!(self, c, s => s.put_many_opts(c, entries, o))
    }
    async fn delete_many_opts(&self, c: &str, keys: &[&str], o: DeleteOptions) -> Result<usize> {
        route!(self, c, s => s.delete_many_opts(c, keys, o))
    }
}

/// Each conditional write goes to the one store that owns its collection.
impl<A, B, F> crate::ConditionalWrites for Route<A, B, F>
where
    A: crate::ConditionalWrites,
    B: crate::ConditionalWrites,
    F: Fn(&str) -> bool + Send + Sync,
{
    async fn put_if_opts(
        &self,
        k: Key<'_>,
        v: Bytes,
        c: crate::Condition,
        o: PutOptions,
    ) -> Result<crate::Written> {
        route!(self, k.collection(), s => s.put_if_opts(k, v, c, o))
    }
    async fn delete_if_opts(
        &self,
        k: Key<'_>,
        version: crate::Version,
        o: DeleteOptions,
    ) -> Result<bool> {
        route!(self, k.collection(), s => s.delete_if_opts(k, version, o))
    }
}

impl<A: EnumerateKeys, B: EnumerateKeys, F: Fn(&str) -> bool + Send + Sync> EnumerateKeys
    for Route<A, B, F>
{
    async fn keys_opts(&self, c: &str, opts: ListOptions) -> Result<Vec<String>> {
        route!(self, c, s => s.keys_opts(c, opts))
    }
    async fn keys_page_with_prefix(
        &self,
        c: &str,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page> {
        route!(self, c, s => s.keys_page_with_prefix(c, prefix, cursor, limit))
    }
    fn walk_page(&self, c: &str) -> usize {
        if (self.choose)(c) {
            self.a.walk_page(c)
        } else {
            self.b.walk_page(c)
        }
    }
}

/// The collections each store owns: `A`'s chosen ones, then `B`'s others.
impl<A, B, F> EnumerateCollections for Route<A, B, F>
where
    A: EnumerateCollections,
    B: EnumerateCollections,
    F: Fn(&str) -> bool + Send + Sync,
{
    async fn collections_opts(&self, opts: ListOptions) -> Result<Vec<String>> {
        first_collections(self, opts.limit).await
    }
    /// A page of `A`'s collections (those it is chosen for), then of `B`'s, each store
    /// asked for the prefix's names.
    async fn collections_page_with_prefix(
        &self,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page> {
        let at = PartCursor::read(cursor)?;
        let mut page = match at.part {
            0 => {
                self.a
                    .collections_page_with_prefix(prefix, at.inner, limit)
                    .await?
            }
            1 => {
                self.b
                    .collections_page_with_prefix(prefix, at.inner, limit)
                    .await?
            }
            _ => return Err(foreign_cursor()),
        };
        let to_a = at.part == 0;
        page.names.retain(|c| (self.choose)(c) == to_a);
        page.next = PartCursor::after(at.part, 2, page.next);
        // Two listings one after another: in no order overall.
        page.in_order = false;
        Ok(page)
    }
    fn collections_walk_page(&self) -> usize {
        self.a
            .collections_walk_page()
            .min(self.b.collections_walk_page())
    }
}

impl<A: DestroyCollection, B: DestroyCollection, F: Fn(&str) -> bool + Send + Sync>
    DestroyCollection for Route<A, B, F>
{
    async fn destroy_collection_opts(&self, c: &str) -> Result<()> {
        route!(self, c, s => s.destroy_collection_opts(c))
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
    async fn destroy_opts(&self) -> Result<()> {
        destroy_collections_where(&self.a, |c| (self.choose)(c)).await?;
        destroy_collections_where(&self.b, |c| !(self.choose)(c)).await
    }
}

impl<A: Cull, B: Cull, F: Fn(&str) -> bool + Send + Sync> Cull for Route<A, B, F> {
    async fn cull_opts(&self) -> Result<()> {
        self.a.cull_opts().await?;
        self.b.cull_opts().await
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

impl Store for RouteMap {
    fn get_opts<'a>(
        &'a self,
        k: Key<'a>,
        o: GetOptions,
    ) -> impl Future<Output = Result<Option<Entry>>> + Send {
        self.store(k.collection()).get_opts(k, o)
    }
    fn put_opts<'a>(
        &'a self,
        k: Key<'a>,
        v: Bytes,
        o: PutOptions,
    ) -> impl Future<Output = Result<()>> + Send {
        self.store(k.collection()).put_opts(k, v, o)
    }
    fn delete_opts<'a>(
        &'a self,
        k: Key<'a>,
        o: DeleteOptions,
    ) -> impl Future<Output = Result<bool>> + Send {
        self.store(k.collection()).delete_opts(k, o)
    }
    fn get_many_opts(
        &self,
        c: &str,
        keys: &[&str],
        o: GetOptions,
    ) -> impl Future<Output = Result<Vec<Option<Entry>>>> + Send {
        self.store(c).get_many_opts(c, keys, o)
    }
    fn put_many_opts(
        &self,
        c: &str,
        entries: &[(&str, Bytes)],
        o: PutOptions,
    ) -> impl Future<Output = Result<()>> + Send {
        self.store(c).put_many_opts(c, entries, o)
    }
    fn delete_many_opts(
        &self,
        c: &str,
        keys: &[&str],
        o: DeleteOptions,
    ) -> impl Future<Output = Result<usize>> + Send {
        self.store(c).delete_many_opts(c, keys, o)
    }
}

/// Each conditional write goes to the collection's store (unsupported if that store
/// was boxed without the capability).
impl crate::ConditionalWrites for RouteMap {
    fn put_if_opts<'a>(
        &'a self,
        k: Key<'a>,
        v: Bytes,
        c: crate::Condition,
        o: PutOptions,
    ) -> impl Future<Output = Result<crate::Written>> + Send {
        self.store(k.collection()).put_if_opts(k, v, c, o)
    }
    fn delete_if_opts<'a>(
        &'a self,
        k: Key<'a>,
        version: crate::Version,
        o: DeleteOptions,
    ) -> impl Future<Output = Result<bool>> + Send {
        self.store(k.collection()).delete_if_opts(k, version, o)
    }
}

impl EnumerateKeys for RouteMap {
    fn keys_opts(
        &self,
        c: &str,
        opts: ListOptions,
    ) -> impl Future<Output = Result<Vec<String>>> + Send {
        self.store(c).keys_opts(c, opts)
    }
    fn keys_page_with_prefix(
        &self,
        c: &str,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> impl Future<Output = Result<Page>> + Send {
        self.store(c)
            .keys_page_with_prefix(c, prefix, cursor, limit)
    }
    fn walk_page(&self, c: &str) -> usize {
        self.store(c).walk_page(c)
    }
}

impl EnumerateCollections for RouteMap {
    async fn collections_opts(&self, opts: ListOptions) -> Result<Vec<String>> {
        first_collections(self, opts.limit).await
    }
    /// A page of each store's collections in turn, the default's first, those routed
    /// to it, each store asked for the prefix's names.
    async fn collections_page_with_prefix(
        &self,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page> {
        let at = PartCursor::read(cursor)?;
        let Some(store) = self.stores().nth(at.part) else {
            return Err(foreign_cursor());
        };
        let mut page = store
            .collections_page_with_prefix(prefix, at.inner, limit)
            .await?;
        page.names.retain(|c| std::ptr::eq(self.store(c), store));
        page.next = PartCursor::after(at.part, self.routes.len() + 1, page.next);
        // Several listings one after another: in no order overall.
        page.in_order = false;
        Ok(page)
    }
    fn collections_walk_page(&self) -> usize {
        self.stores()
            .map(EnumerateCollections::collections_walk_page)
            .min()
            .unwrap_or(usize::MAX)
    }
}

impl DestroyCollection for RouteMap {
    fn destroy_collection_opts(&self, c: &str) -> impl Future<Output = Result<()>> + Send {
        self.store(c).destroy_collection_opts(c)
    }
}

/// Destroys exactly what the map reaches: each routed collection in its own store, and
/// the default store's collections that are not routed elsewhere. The stores' other
/// data is left alone. The stores must list and destroy collections (else
/// [`Unsupported`](crate::ErrorDetail::Unsupported)).
impl DestroyStore for RouteMap {
    async fn destroy_opts(&self) -> Result<()> {
        for (c, store) in &self.routes {
            store.destroy_collection_opts(c).await?;
        }
        destroy_collections_where(&self.default, |c| !self.routes.contains_key(c)).await
    }
}

impl Cull for RouteMap {
    async fn cull_opts(&self) -> Result<()> {
        for store in self.stores() {
            store.cull_opts().await?;
        }
        Ok(())
    }
}
