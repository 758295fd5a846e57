//! The one type-erasure escape hatch: stores chosen at run time.
//!
//! [`DynStore`] is the object-safe twin of [`Store`], implemented for every store;
//! `dyn DynStore` (so `Box<dyn …>` and `Arc<dyn …>`) implements [`Store`] again.
//! [`BoxStore`] adds the capabilities a store has, chosen when it is boxed.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;

use crate::store::{
    Cull, DeleteOptions, DestroyCollection, DestroyStore, Entry, EnumerateCollections,
    EnumerateKeys, GetOptions, Key, ListOptions, PutOptions, Store,
};
use crate::{Cursor, Error, Page, Result};

/// A boxed, `Send` future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The object-safe twin of [`Store`]; every store implements it, and
/// `dyn DynStore` implements [`Store`] again.
pub trait DynStore: Send + Sync {
    /// The boxed store's type name, for [`observe`](crate::observe).
    fn dyn_observed_name(&self) -> &'static str;
    /// See [`Store::get_opts`].
    fn dyn_get<'a>(&'a self, k: Key<'a>, o: GetOptions) -> BoxFuture<'a, Result<Option<Entry>>>;
    /// See [`Store::put_opts`].
    fn dyn_put<'a>(&'a self, k: Key<'a>, v: Bytes, o: PutOptions) -> BoxFuture<'a, Result<()>>;
    /// See [`Store::delete_opts`].
    fn dyn_delete<'a>(&'a self, k: Key<'a>, o: DeleteOptions) -> BoxFuture<'a, Result<bool>>;
    /// See [`Store::get_many_opts`].
    fn dyn_get_many<'a>(
        &'a self,
        c: &'a str,
        keys: &'a [&'a str],
        o: GetOptions,
    ) -> BoxFuture<'a, Result<Vec<Option<Entry>>>>;
    /// See [`Store::put_many_opts`].
    fn dyn_put_many<'a>(
        &'a self,
        c: &'a str,
        entries: &'a [(&'a str, Bytes)],
        o: PutOptions,
    ) -> BoxFuture<'a, Result<()>>;
    /// See [`Store::delete_many_opts`].
    fn dyn_delete_many<'a>(
        &'a self,
        c: &'a str,
        keys: &'a [&'a str],
        o: DeleteOptions,
    ) -> BoxFuture<'a, Result<usize>>;
}

impl<S: Store> DynStore for S {
    fn dyn_observed_name(&self) -> &'static str {
        self.observed_name()
    }
    fn dyn_get<'a>(&'a self, k: Key<'a>, o: GetOptions) -> BoxFuture<'a, Result<Option<Entry>>> {
        Box::pin(self.get_opts(k, o))
    }
    fn dyn_put<'a>(&'a self, k: Key<'a>, v: Bytes, o: PutOptions) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.put_opts(k, v, o))
    }
    fn dyn_delete<'a>(&'a self, k: Key<'a>, o: DeleteOptions) -> BoxFuture<'a, Result<bool>> {
        Box::pin(self.delete_opts(k, o))
    }
    fn dyn_get_many<'a>(
        &'a self,
        c: &'a str,
        keys: &'a [&'a str],
        o: GetOptions,
    ) -> BoxFuture<'a, Result<Vec<Option<Entry>>>> {
        Box::pin(self.get_many_opts(c, keys, o))
    }
    fn dyn_put_many<'a>(
        &'a self,
        c: &'a str,
        entries: &'a [(&'a str, Bytes)],
        o: PutOptions,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.put_many_opts(c, entries, o))
    }
    fn dyn_delete_many<'a>(
        &'a self,
        c: &'a str,
        keys: &'a [&'a str],
        o: DeleteOptions,
    ) -> BoxFuture<'a, Result<usize>> {
        Box::pin(self.delete_many_opts(c, keys, o))
    }
}

/// Forwards [`Store`] for a type that reaches a `dyn DynStore` through `$core`.
macro_rules! forward_dyn {
    ($ty:ty, |$s:ident| $core:expr) => {
        impl Store for $ty {
            fn observed_name(&self) -> &'static str {
                let $s = self;
                $core.dyn_observed_name()
            }
            async fn get_opts(&self, k: Key<'_>, o: GetOptions) -> Result<Option<Entry>> {
                let $s = self;
                $core.dyn_get(k, o).await
            }
            async fn put_opts(&self, k: Key<'_>, v: Bytes, o: PutOptions) -> Result<()> {
                let $s = self;
                $core.dyn_put(k, v, o).await
            }
            async fn delete_opts(&self, k: Key<'_>, o: DeleteOptions) -> Result<bool> {
                let $s = self;
                $core.dyn_delete(k, o).await
            }
            async fn get_many_opts(
                &self,
                c: &str,
                keys: &[&str],
                o: GetOptions,
            ) -> Result<Vec<Option<Entry>>> {
                let $s = self;
                $core.dyn_get_many(c, keys, o).await
            }
            async fn put_many_opts(
                &self,
                c: &str,
                entries: &[(&str, Bytes)],
                o: PutOptions,
            ) -> Result<()> {
                let $s = self;
                $core.dyn_put_many(c, entries, o).await
            }
            async fn delete_many_opts(
                &self,
                c: &str,
                keys: &[&str],
                o: DeleteOptions,
            ) -> Result<usize> {
                let $s = self;
                $core.dyn_delete_many(c, keys, o).await
            }
        }
    };
}

forward_dyn!(dyn DynStore + '_, |s| s);

/// Object-safe capability methods, implemented for every store with that capability.
trait DynKeys: Send + Sync {
    fn dyn_keys<'a>(&'a self, c: &'a str, limit: usize) -> BoxFuture<'a, Result<Vec<String>>>;
    fn dyn_keys_page_with_prefix<'a>(
        &'a self,
        c: &'a str,
        prefix: &'a str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Page>>;
    fn dyn_walk_page(&self, c: &str) -> usize;
}
impl<S: EnumerateKeys> DynKeys for S {
    fn dyn_keys<'a>(&'a self, c: &'a str, limit: usize) -> BoxFuture<'a, Result<Vec<String>>> {
        Box::pin(self.keys_opts(c, ListOptions::limit(limit)))
    }
    fn dyn_keys_page_with_prefix<'a>(
        &'a self,
        c: &'a str,
        prefix: &'a str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Page>> {
        Box::pin(self.keys_page_with_prefix(c, prefix, cursor, limit))
    }
    fn dyn_walk_page(&self, c: &str) -> usize {
        self.walk_page(c)
    }
}
trait DynCollections: Send + Sync {
    fn dyn_collections(&self, limit: usize) -> BoxFuture<'_, Result<Vec<String>>>;
    fn dyn_collections_page_with_prefix<'a>(
        &'a self,
        prefix: &'a str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Page>>;
    fn dyn_collections_walk_page(&self) -> usize;
}
impl<S: EnumerateCollections> DynCollections for S {
    fn dyn_collections(&self, limit: usize) -> BoxFuture<'_, Result<Vec<String>>> {
        Box::pin(self.collections_opts(ListOptions::limit(limit)))
    }
    fn dyn_collections_page_with_prefix<'a>(
        &'a self,
        prefix: &'a str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Page>> {
        Box::pin(self.collections_page_with_prefix(prefix, cursor, limit))
    }
    fn dyn_collections_walk_page(&self) -> usize {
        self.collections_walk_page()
    }
}
trait DynDestroyCollection: Send + Sync {
    fn dyn_destroy_collection<'a>(&'a self, c: &'a str) -> BoxFuture<'a, Result<()>>;
}
impl<S: DestroyCollection> DynDestroyCollection for S {
    fn dyn_destroy_collection<'a>(&'a self, c: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.destroy_collection_opts(c))
    }
}
trait DynDestroy: Send + Sync {
    fn dyn_destroy(&self) -> BoxFuture<'_, Result<()>>;
}
impl<S: DestroyStore> DynDestroy for S {
    fn dyn_destroy(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(self.destroy_opts())
    }
}
trait DynCull: Send + Sync {
    fn dyn_cull(&self) -> BoxFuture<'_, Result<()>>;
}
impl<S: Cull> DynCull for S {
    fn dyn_cull(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(self.cull_opts())
    }
}

trait DynConditional: Send + Sync {
    fn dyn_put_if<'a>(
        &'a self,
        k: Key<'a>,
        v: Bytes,
        c: crate::Condition,
        o: PutOptions,
    ) -> BoxFuture<'a, Result<crate::Written>>;
    fn dyn_delete_if<'a>(
        &'a self,
        k: Key<'a>,
        v: crate::Version,
        o: DeleteOptions,
    ) -> BoxFuture<'a, Result<bool>>;
}
impl<S: crate::ConditionalWrites> DynConditional for S {
    fn dyn_put_if<'a>(
        &'a self,
        k: Key<'a>,
        v: Bytes,
        c: crate::Condition,
        o: PutOptions,
    ) -> BoxFuture<'a, Result<crate::Written>> {
        Box::pin(self.put_if_opts(k, v, c, o))
    }
    fn dyn_delete_if<'a>(
        &'a self,
        k: Key<'a>,
        v: crate::Version,
        o: DeleteOptions,
    ) -> BoxFuture<'a, Result<bool>> {
        Box::pin(self.delete_if_opts(k, v, o))
    }
}

/// A store chosen at run time: the core trait through one box, plus the capabilities
/// that were declared when it was built. A missing capability answers
/// [`ErrorDetail::Unsupported`](crate::ErrorDetail::Unsupported).
///
/// ```
/// use bytes::Bytes;
/// use kv_store_adapter::{BoxStore, KvStore, stores::MemoryStore};
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
    core: Arc<dyn DynStore>,
    keys: Option<Arc<dyn DynKeys>>,
    collections: Option<Arc<dyn DynCollections>>,
    destroy_collection: Option<Arc<dyn DynDestroyCollection>>,
    destroy: Option<Arc<dyn DynDestroy>>,
    cull: Option<Arc<dyn DynCull>>,
    conditional: Option<Arc<dyn DynConditional>>,
}

impl fmt::Debug for BoxStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoxStore")
            .field("keys", &self.has_keys())
            .field("collections", &self.has_collections())
            .field("destroy_collection", &self.has_destroy_collection())
            .field("destroy", &self.has_destroy())
            .field("cull", &self.has_cull())
            .field("conditional_writes", &self.has_conditional_writes())
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
    pub fn new<S: Store + 'static>(store: S) -> Self {
        Self::builder(store).build()
    }

    /// Starts boxing `store`; add each capability it has, then `build()`.
    pub fn builder<S: Store + 'static>(store: S) -> BoxStoreBuilder<S> {
        let store = Arc::new(store);
        let boxed = BoxStore {
            core: store.clone(),
            keys: None,
            collections: None,
            destroy_collection: None,
            destroy: None,
            cull: None,
            conditional: None,
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
    /// Whether [`ConditionalWrites`](crate::ConditionalWrites) works.
    pub fn has_conditional_writes(&self) -> bool {
        self.conditional.is_some()
    }
}

impl<S: Store + 'static> BoxStoreBuilder<S> {
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
    /// Declares [`ConditionalWrites`](crate::ConditionalWrites) (not part of
    /// [`all`](Self::all), which predates it).
    pub fn conditional_writes(mut self) -> Self
    where
        S: crate::ConditionalWrites,
    {
        self.boxed.conditional = Some(self.store.clone());
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

forward_dyn!(BoxStore, |s| s.core);

impl EnumerateKeys for BoxStore {
    async fn keys_opts(&self, c: &str, o: ListOptions) -> Result<Vec<String>> {
        match &self.keys {
            Some(inner) => inner.dyn_keys(c, o.limit).await,
            None => Err(Error::unsupported("enumerating keys")),
        }
    }
    async fn keys_page_with_prefix(
        &self,
        c: &str,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page> {
        match &self.keys {
            Some(inner) => {
                inner
                    .dyn_keys_page_with_prefix(c, prefix, cursor, limit)
                    .await
            }
            None => Err(Error::unsupported("enumerating keys")),
        }
    }
    fn walk_page(&self, c: &str) -> usize {
        self.keys
            .as_ref()
            .map_or(usize::MAX, |inner| inner.dyn_walk_page(c))
    }
}
impl EnumerateCollections for BoxStore {
    async fn collections_opts(&self, o: ListOptions) -> Result<Vec<String>> {
        match &self.collections {
            Some(inner) => inner.dyn_collections(o.limit).await,
            None => Err(Error::unsupported("enumerating collections")),
        }
    }
    async fn collections_page_with_prefix(
        &self,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page> {
        match &self.collections {
            Some(inner) => {
                inner
                    .dyn_collections_page_with_prefix(prefix, cursor, limit)
                    .await
            }
            None => Err(Error::unsupported("enumerating collections")),
        }
    }
    fn collections_walk_page(&self) -> usize {
        self.collections
            .as_ref()
            .map_or(usize::MAX, |inner| inner.dyn_collections_walk_page())
    }
}
impl DestroyCollection for BoxStore {
    async fn destroy_collection_opts(&self, c: &str) -> Result<()> {
        match &self.destroy_collection {
            Some(inner) => inner.dyn_destroy_collection(c).await,
            None => Err(Error::unsupported("destroying a collection")),
        }
    }
}
impl DestroyStore for BoxStore {
    async fn destroy_opts(&self) -> Result<()> {
        match &self.destroy {
            Some(inner) => inner.dyn_destroy().await,
            None => Err(Error::unsupported("destroying the store")),
        }
    }
}
impl crate::ConditionalWrites for BoxStore {
    async fn put_if_opts(
        &self,
        k: Key<'_>,
        v: Bytes,
        c: crate::Condition,
        o: PutOptions,
    ) -> Result<crate::Written> {
        match &self.conditional {
            Some(inner) => inner.dyn_put_if(k, v, c, o).await,
            None => Err(Error::unsupported("conditional writes")),
        }
    }
    async fn delete_if_opts(
        &self,
        k: Key<'_>,
        v: crate::Version,
        o: DeleteOptions,
    ) -> Result<bool> {
        match &self.conditional {
            Some(inner) => inner.dyn_delete_if(k, v, o).await,
            None => Err(Error::unsupported("conditional writes")),
        }
    }
}
impl Cull for BoxStore {
    async fn cull_opts(&self) -> Result<()> {
        match &self.cull {
            Some(inner) => inner.dyn_cull().await,
            None => Err(Error::unsupported("culling")),
        }
    }
}
