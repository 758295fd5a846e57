//! Typed access to serde models.

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::{Codec, PostcardCodec};
use crate::store::{ConditionalWrites, KvStore};
use crate::{Error, ErrorDetail, Result, Written, names};

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

impl<S, T, C> TypedStore<S, T, C>
where
    S: KvStore + ConditionalWrites,
    T: Serialize + DeserializeOwned + Send + Sync,
    C: Codec,
{
    /// How many times [`update`](Self::update) and [`get_or_insert`](Self::get_or_insert)
    /// try before they give up with [`Conflict`](ErrorDetail::Conflict).
    pub const MAX_ATTEMPTS: u32 = 64;

    /// Read-modify-write without lost updates: reads the value under `key` (`None`
    /// if there is none), writes `f`'s answer only if nobody wrote in between
    /// (compare-and-swap on the entry's version, or create-if-absent), and on a
    /// conflict reads again and calls `f` again, after a short random wait, up to
    /// [`MAX_ATTEMPTS`](Self::MAX_ATTEMPTS) times; then it fails with
    /// [`Conflict`](ErrorDetail::Conflict) having written nothing. Answers the value
    /// written. `f` may run several times: keep it free of side effects.
    ///
    /// ```
    /// use kv_store_adapter::{TypedStore, stores::MemoryStore};
    ///
    /// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
    /// let hits: TypedStore<_, u64> = TypedStore::new(MemoryStore::new(), "hits")?;
    /// assert_eq!(hits.update("home", None, |n| n.unwrap_or(0) + 1).await?, 1);
    /// assert_eq!(hits.update("home", None, |n| n.unwrap_or(0) + 1).await?, 2);
    /// # Ok(()) }
    /// ```
    pub async fn update<F>(&self, key: &str, ttl: Option<Duration>, mut f: F) -> Result<T>
    where
        F: FnMut(Option<T>) -> T + Send,
    {
        let c = &self.collection;
        let mut seen = self.store.get_entry(c, key).await?;
        for attempt in 1..=Self::MAX_ATTEMPTS {
            let (old, condition) = match seen {
                Some(entry) => {
                    let condition = match entry.version {
                        Some(v) => crate::Condition::Version(v),
                        // An entry no store holds (a default value): create it.
                        None => crate::Condition::Absent,
                    };
                    (Some(self.decode(key, &entry.value)?), condition)
                }
                None => (None, crate::Condition::Absent),
            };
            let new = f(old);
            let bytes = self.encode(key, &new)?;
            let opts = crate::PutOptions::expiring(ttl);
            seen = match self.store.put_if(c, key, bytes, condition, opts).await? {
                Written::Applied(_) => return Ok(new),
                Written::Rejected(Some(current)) => Some(current),
                Written::Rejected(None) => None,
            };
            tokio::time::sleep(crate::version::contention_backoff(attempt)).await;
            if seen.is_none() {
                seen = self.store.get_entry(c, key).await?;
            }
        }
        Err(ErrorDetail::Conflict {
            attempts: Self::MAX_ATTEMPTS,
        }
        .into())
    }

    /// The value under `key`, or `value` stored there if there is none — atomically:
    /// of many callers racing, one stores its value and every one of them answers
    /// that same stored value.
    ///
    /// ```
    /// use kv_store_adapter::{TypedStore, stores::MemoryStore};
    ///
    /// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
    /// let owners: TypedStore<_, String> = TypedStore::new(MemoryStore::new(), "owners")?;
    /// assert_eq!(owners.get_or_insert("job-1", &"ada".to_string(), None).await?, "ada");
    /// assert_eq!(owners.get_or_insert("job-1", &"grace".to_string(), None).await?, "ada");
    /// # Ok(()) }
    /// ```
    pub async fn get_or_insert(&self, key: &str, value: &T, ttl: Option<Duration>) -> Result<T> {
        let c = &self.collection;
        let bytes = self.encode(key, value)?;
        for attempt in 1..=Self::MAX_ATTEMPTS {
            let current = match self.store.create(c, key, bytes.clone(), ttl).await? {
                // What was stored is exactly `value`'s encoding.
                Written::Applied(_) => return self.decode(key, &bytes),
                Written::Rejected(Some(current)) => Some(current),
                Written::Rejected(None) => self.store.get_entry(c, key).await?,
            };
            match current {
                Some(entry) => return self.decode(key, &entry.value),
                // Gone again between the create and the read: try to create again.
                None => tokio::time::sleep(crate::version::contention_backoff(attempt)).await,
            }
        }
        Err(ErrorDetail::Conflict {
            attempts: Self::MAX_ATTEMPTS,
        }
        .into())
    }
}
