//! A handle bound to one collection.

use std::time::Duration;

use bytes::Bytes;

use crate::store::{BatchEntry, ConditionalWrites, Entry, KvStore, PutOptions};
use crate::{Condition, Result, Version, Written, names};

/// A store bound to one collection, so callers don't repeat it on every call.
///
/// Built with [`KvStoreExt::collection`](crate::KvStoreExt::collection) (borrowing) or
/// [`Collection::new`] (owning, e.g. an `Arc<S>`).
///
/// ```
/// use bytes::Bytes;
/// use kv_store_adapter::{KvStoreExt, stores::MemoryStore};
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let store = MemoryStore::with_max_entries(100);
/// let users = store.collection("users")?;
/// users.put("ada", Bytes::from_static(b"1815"), None).await?;
/// assert_eq!(users.get("ada").await?.as_deref(), Some(&b"1815"[..]));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Collection<S> {
    store: S,
    name: String,
}

impl<S: KvStore> Collection<S> {
    /// Binds `store` to `name`, checking the name now.
    pub fn new(store: S, name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        names::check_name(&name)?;
        Ok(Self { store, name })
    }

    /// The collection's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The store underneath.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// See [`KvStore::get`].
    pub async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        self.store.get(&self.name, key).await
    }

    /// See [`KvStore::put`].
    pub async fn put(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<()> {
        self.store.put(&self.name, key, value, ttl).await
    }

    /// See [`KvStore::delete`].
    pub async fn delete(&self, key: &str) -> Result<bool> {
        self.store.delete(&self.name, key).await
    }

    /// See [`KvStore::ttl`].
    pub async fn ttl(&self, key: &str) -> Result<Option<Entry>> {
        self.store.ttl(&self.name, key).await
    }

    /// See [`KvStore::get_many`].
    pub async fn get_many<I>(&self, keys: I) -> Result<Vec<Option<Bytes>>>
    where
        I: IntoIterator<Item: AsRef<str> + Send>,
    {
        self.store.get_many(&self.name, keys).await
    }

    /// See [`KvStore::put_many`].
    pub async fn put_many<I>(&self, entries: I, ttl: Option<Duration>) -> Result<()>
    where
        I: IntoIterator<Item: BatchEntry + Send>,
    {
        self.store.put_many(&self.name, entries, ttl).await
    }

    /// See [`KvStore::delete_many`].
    pub async fn delete_many<I>(&self, keys: I) -> Result<usize>
    where
        I: IntoIterator<Item: AsRef<str> + Send>,
    {
        self.store.delete_many(&self.name, keys).await
    }

    /// See [`KvStore::ttl_many`].
    pub async fn ttl_many<I>(&self, keys: I) -> Result<Vec<Option<Entry>>>
    where
        I: IntoIterator<Item: AsRef<str> + Send>,
    {
        self.store.ttl_many(&self.name, keys).await
    }

    /// See [`KvStore::get_entry`]: the value with its version.
    pub async fn get_entry(&self, key: &str) -> Result<Option<Entry>> {
        self.store.get_entry(&self.name, key).await
    }
}

/// Conditional writes, on a store that has them ([`ConditionalWrites`]).
///
/// ```
/// use bytes::Bytes;
/// use kv_store_adapter::{KvStoreExt, stores::MemoryStore};
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let store = MemoryStore::with_max_entries(100);
/// let locks = store.collection("locks")?;
/// let mine = locks.create("job-7", Bytes::from_static(b"worker-a"), None).await?;
/// assert!(mine.is_applied());
/// let theirs = locks.create("job-7", Bytes::from_static(b"worker-b"), None).await?;
/// assert_eq!(theirs.current().unwrap().value, Bytes::from_static(b"worker-a"));
/// assert!(locks.delete_if_version("job-7", mine.version().unwrap()).await?);
/// # Ok(()) }
/// ```
impl<S: KvStore + ConditionalWrites> Collection<S> {
    /// See [`KvStore::create`].
    pub async fn create(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<Written> {
        self.store.create(&self.name, key, value, ttl).await
    }

    /// See [`KvStore::put_if_version`].
    pub async fn put_if_version(
        &self,
        key: &str,
        value: Bytes,
        version: Version,
        ttl: Option<Duration>,
    ) -> Result<Written> {
        self.store
            .put_if_version(&self.name, key, value, version, ttl)
            .await
    }

    /// See [`KvStore::put_if`].
    pub async fn put_if(
        &self,
        key: &str,
        value: Bytes,
        condition: Condition,
        opts: PutOptions,
    ) -> Result<Written> {
        self.store
            .put_if(&self.name, key, value, condition, opts)
            .await
    }

    /// See [`KvStore::delete_if_version`].
    pub async fn delete_if_version(&self, key: &str, version: Version) -> Result<bool> {
        self.store.delete_if_version(&self.name, key, version).await
    }
}
