//! Typed access to serde models.

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::{Codec, PostcardCodec};
use crate::store::KvStore;
use crate::{Error, Result, names};

/// Stores values of type `T` in one collection of `S`, encoded with codec `C`
/// (postcard by default). No boxing: it is a thin layer over `S`.
///
/// A stored value that does not decode as `T` is an [`ErrorDetail::Serialization`](crate::ErrorDetail::Serialization) naming the
/// collection and key.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use kv_store_adapter::{TypedStore, stores::MemoryStore};
///
/// #[derive(Serialize, Deserialize, PartialEq, Debug)]
/// struct User { name: String, born: u16 }
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let users: TypedStore<_, User> = TypedStore::new(MemoryStore::with_max_entries(100), "users")?;
/// users.put("ada", &User { name: "Ada".into(), born: 1815 }, None).await?;
/// assert_eq!(users.get("ada").await?.unwrap().born, 1815);
/// # Ok(()) }
/// ```
pub struct TypedStore<S, T, C = PostcardCodec> {
    store: S,
    collection: String,
    _marker: PhantomData<fn() -> (T, C)>,
}

impl<S: fmt::Debug, T, C> fmt::Debug for TypedStore<S, T, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypedStore")
            .field("store", &self.store)
            .field("collection", &self.collection)
            .field("type", &std::any::type_name::<T>())
            .field("codec", &std::any::type_name::<C>())
            .finish()
    }
}

impl<S: Clone, T, C> Clone for TypedStore<S, T, C> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            collection: self.collection.clone(),
            _marker: PhantomData,
        }
    }
}

impl<S, T, C> TypedStore<S, T, C>
where
    S: KvStore,
    T: Serialize + DeserializeOwned + Send + Sync,
    C: Codec,
{
    /// Binds `store` to `collection`, checking the name now.
    pub fn new(store: S, collection: impl Into<String>) -> Result<Self> {
        let collection = collection.into();
        names::check_name(&collection)?;
        Ok(Self {
            store,
            collection,
            _marker: PhantomData,
        })
    }

    /// The collection's name.
    pub fn collection(&self) -> &str {
        &self.collection
    }

    /// The store underneath.
    pub fn store(&self) -> &S {
        &self.store
    }

    fn encode(&self, key: &str, value: &T) -> Result<Bytes> {
        C::encode(value)
            .map(Bytes::from)
            .map_err(|source| self.serde_error(key, source))
    }

    fn decode(&self, key: &str, bytes: &[u8]) -> Result<T> {
        C::decode(bytes).map_err(|source| self.serde_error(key, source))
    }

    fn serde_error(&self, key: &str, source: crate::BoxError) -> Error {
        Error::serialization(&self.collection, key, source)
    }

    /// The value under `key`, decoded.
    pub async fn get(&self, key: &str) -> Result<Option<T>> {
        match self.store.get(&self.collection, key).await? {
            Some(bytes) => self.decode(key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Encodes and stores `value`.
    pub async fn put(&self, key: &str, value: &T, ttl: Option<Duration>) -> Result<()> {
        let bytes = self.encode(key, value)?;
        self.store.put(&self.collection, key, bytes, ttl).await
    }

    /// Removes the entry, answering whether it existed.
    pub async fn delete(&self, key: &str) -> Result<bool> {
        self.store.delete(&self.collection, key).await
    }

    /// The decoded value with its remaining time to live.
    pub async fn ttl(&self, key: &str) -> Result<Option<(T, Option<Duration>)>> {
        match self.store.ttl(&self.collection, key).await? {
            Some(entry) => Ok(Some((self.decode(key, &entry.value)?, entry.expires_in))),
            None => Ok(None),
        }
    }

    /// One decoded answer per key, in request order.
    pub async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<T>>> {
        let found = self.store.get_many(&self.collection, keys).await?;
        keys.iter()
            .zip(found)
            .map(|(key, bytes)| bytes.map(|b| self.decode(key, &b)).transpose())
            .collect()
    }

    /// Encodes and stores every pair with one TTL; nothing is written if one fails to encode.
    pub async fn put_many(&self, entries: &[(&str, &T)], ttl: Option<Duration>) -> Result<()> {
        let encoded = entries
            .iter()
            .map(|(key, value)| Ok((*key, self.encode(key, value)?)))
            .collect::<Result<Vec<_>>>()?;
        self.store.put_many(&self.collection, &encoded, ttl).await
    }

    /// Removes every listed entry, answering how many existed.
    pub async fn delete_many(&self, keys: &[&str]) -> Result<usize> {
        self.store.delete_many(&self.collection, keys).await
    }
}
