//! `KvStoreExt`: the fluent way to wrap and bind stores.

use std::time::Duration;

use bytes::Bytes;

use crate::wrappers::{
    ClampTtl, Coalesce, DefaultValue, LimitSize, Logged, PrefixCollections, PrefixKeys, ReadOnly,
    Retry, RetryPolicy, SingleCollection, Stats, Strict, Timeout,
};
use crate::{
    BoxStore, Collection, Cull, DestroyCollection, DestroyStore, EnumerateCollections,
    EnumerateKeys, KvStore, Result, TypedStore,
};

/// Fluent helpers on every store, like iterator adapters: each wraps `self` in one
/// wrapper, so stacks read in the order they are built (the last call is outermost).
///
/// ```
/// use std::time::Duration;
/// use serde::{Deserialize, Serialize};
/// use kv_store_adapter::{KvStoreExt, stores::MemoryStore};
///
/// #[derive(Serialize, Deserialize)]
/// struct Point { x: i32, y: i32 }
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let store = MemoryStore::with_max_entries(100)
///     .prefix_keys("tenant-a")?
///     .clamp_ttl(Duration::from_millis(1), Duration::from_secs(3600), None)?
///     .with_stats();
/// let points = store.typed::<Point>("points")?;
/// points.put("origin", &Point { x: 0, y: 0 }, None).await?;
/// assert_eq!(points.get("origin").await?.map(|p| p.x), Some(0));
/// assert_eq!(store.collection_stats("points").puts, 1);
/// # Ok(()) }
/// ```
pub trait KvStoreExt: KvStore + Sized {
    /// A handle bound to `collection`, borrowing this store.
    fn collection(&self, collection: impl Into<String>) -> Result<Collection<&Self>> {
        Collection::new(self, collection)
    }

    /// A handle bound to `collection`, owning this store.
    fn into_collection(self, collection: impl Into<String>) -> Result<Collection<Self>> {
        Collection::new(self, collection)
    }

    /// Typed access to `collection` with the default (postcard) codec, borrowing this store.
    fn typed<T>(&self, collection: impl Into<String>) -> Result<TypedStore<&Self, T>>
    where
        T: serde::Serialize + serde::de::DeserializeOwned + Send + Sync,
    {
        TypedStore::new(self, collection)
    }

    /// Wraps this store with `layer`: how a wrapper written outside this crate (or a
    /// stack defined once as a [`Layer`](crate::Layer)) joins a fluent chain.
    ///
    /// ```
    /// use kv_store_adapter::{KvStoreExt, layer_fn, stores::MemoryStore};
    /// let store = MemoryStore::with_max_entries(10)
    ///     .with_stats()
    ///     .layer(layer_fn(|inner| inner)) // any Layer: a third-party wrapper's, say
    ///     .read_only();
    /// # let _ = store;
    /// ```
    fn layer<L: crate::Layer<Self>>(self, layer: L) -> L::Store {
        layer.layer(self)
    }

    /// Boxes this store (core trait only) for stacks chosen at run time; see
    /// [`boxed_all`](Self::boxed_all) and [`BoxStore::builder`] to keep capabilities.
    fn boxed(self) -> BoxStore
    where
        Self: 'static,
    {
        BoxStore::new(self)
    }

    /// Boxes this store with every capability, for a store that has them all (as
    /// every built-in store and wrapper over one does).
    ///
    /// ```
    /// use kv_store_adapter::{KvStore, KvStoreExt, stores::MemoryStore};
    /// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
    /// let store = MemoryStore::new().with_stats().boxed_all();
    /// assert!(store.has_keys() && store.has_destroy());
    /// assert!(store.keys("c", 10).await?.is_empty());
    /// # Ok(()) }
    /// ```
    fn boxed_all(self) -> BoxStore
    where
        Self: EnumerateKeys
            + EnumerateCollections
            + DestroyCollection
            + DestroyStore
            + Cull
            + 'static,
    {
        BoxStore::builder(self).all().build()
    }

    /// Wraps in [`Stats`].
    fn with_stats(self) -> Stats<Self> {
        Stats::new(self)
    }

    /// Wraps in [`ClampTtl`].
    fn clamp_ttl(
        self,
        min: Duration,
        max: Duration,
        missing: Option<Duration>,
    ) -> Result<ClampTtl<Self>> {
        ClampTtl::new(self, min, max, missing)
    }

    /// Wraps in [`PrefixKeys`].
    fn prefix_keys(self, prefix: &str) -> Result<PrefixKeys<Self>> {
        PrefixKeys::new(self, prefix)
    }

    /// Wraps in [`PrefixCollections`].
    fn prefix_collections(self, prefix: &str) -> Result<PrefixCollections<Self>> {
        PrefixCollections::new(self, prefix)
    }

    /// Wraps in [`SingleCollection`].
    fn single_collection(self, name: impl Into<String>) -> Result<SingleCollection<Self>> {
        SingleCollection::new(self, name)
    }

    /// Wraps in [`ReadOnly`] (writes fail).
    fn read_only(self) -> ReadOnly<Self> {
        ReadOnly::new(self)
    }

    /// Wraps in [`Retry`].
    fn retry(self, policy: RetryPolicy) -> Retry<Self> {
        Retry::new(self, policy)
    }

    /// Wraps in [`Coalesce`]: concurrent single-key reads of a collection become one
    /// batch read.
    fn coalesce(self) -> Coalesce<Self> {
        Coalesce::new(self)
    }

    /// Wraps in [`Timeout`].
    fn timeout(self, limit: Duration) -> Timeout<Self> {
        Timeout::new(self, limit)
    }

    /// Wraps in [`LimitSize`] (an offending batch writes nothing).
    fn limit_size(self, min: usize, max: usize) -> LimitSize<Self> {
        LimitSize::new(self, min, max)
    }

    /// Wraps in [`Logged`] (keys not logged).
    fn logged(self) -> Logged<Self> {
        Logged::new(self)
    }

    /// Wraps in [`DefaultValue`].
    fn default_value(self, value: Bytes, ttl: Option<Duration>) -> DefaultValue<Self> {
        DefaultValue::new(self, value, ttl)
    }

    /// Wraps in [`Strict`] (misses are errors).
    fn strict(self) -> Strict<Self> {
        Strict::new(self)
    }

    /// Wraps in [`Compress`](crate::wrappers::Compress).
    #[cfg(feature = "compress")]
    #[cfg_attr(docsrs, doc(cfg(feature = "compress")))]
    fn compress(self, threshold: usize) -> crate::wrappers::Compress<Self> {
        crate::wrappers::Compress::new(self, threshold)
    }

    /// Wraps in [`Encrypt`](crate::wrappers::Encrypt).
    #[cfg(feature = "encrypt")]
    #[cfg_attr(docsrs, doc(cfg(feature = "encrypt")))]
    fn encrypt(
        self,
        write: crate::wrappers::EncryptionKey,
        read: impl IntoIterator<Item = crate::wrappers::EncryptionKey>,
    ) -> crate::wrappers::Encrypt<Self> {
        crate::wrappers::Encrypt::new(self, write, read)
    }
}

impl<S: KvStore> KvStoreExt for S {}
