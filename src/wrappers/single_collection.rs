//! `SingleCollection`: every collection folded into one.

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;

use crate::names::Joined;
use crate::{
    Cull, DestroyCollection, DestroyStore, EnumerateCollections, EnumerateKeys, KvStore, Result,
    TtlEntry, names,
};

/// Keeps every `(collection, key)` in one collection of the inner store, under the key
/// `{byte length of collection}:{collection}{key}`: injective and reversible, so
/// `collections()` and `keys()` give back the original names. For backends where
/// collections are costly (one Mongo collection, one Elasticsearch index each).
///
/// ```
/// use bytes::Bytes;
/// use kv_store_adapter::{KvStore, KvStoreExt, stores::SimpleStore};
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let inner = SimpleStore::new();
/// let store = inner.clone().single_collection("kv")?;
/// store.put("users", "ada", Bytes::new(), None).await?;
/// let raw = &inner.entries()[0];
/// assert_eq!((raw.collection.as_str(), raw.key.as_str()), ("kv", "5:usersada"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SingleCollection<S> {
    inner: S,
    name: String,
}

impl<S> SingleCollection<S> {
    /// Folds every collection into the inner collection `name`.
    pub fn new(inner: S, name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        names::check_name(&name)?;
        Ok(Self { inner, name })
    }

    fn head(collection: &str) -> String {
        format!("{}:{collection}", collection.len())
    }

    pub(crate) fn encode(collection: &str, key: &str) -> Joined {
        let mut digits = [0u8; 20];
        Joined::new([decimal(collection.len(), &mut digits), ":", collection, key])
    }

    /// Splits an inner key back into `(collection, key)`.
    pub(crate) fn decode(inner_key: &str) -> Option<(&str, &str)> {
        let (len, rest) = inner_key.split_once(':')?;
        let len = crate::names::canonical_len(len.as_bytes())?;
        let (c, k) = rest.split_at_checked(len)?;
        (!c.is_empty() && !k.is_empty()).then_some((c, k))
    }

    fn encode_all(collection: &str, keys: impl Iterator<Item = impl AsRef<str>>) -> Vec<String> {
        let head = Self::head(collection);
        keys.map(|k| [head.as_str(), k.as_ref()].concat()).collect()
    }
}

/// `n` in decimal, written into `buf` (no allocation).
fn decimal(mut n: usize, buf: &mut [u8; 20]) -> &str {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[at..]).unwrap_or("0")
}

fn refs(names: &[String]) -> Vec<&str> {
    names.iter().map(String::as_str).collect()
}

impl<S: KvStore> KvStore for SingleCollection<S> {
    async fn raw_get(&self, c: &str, k: &str) -> Result<Option<Bytes>> {
        self.inner
            .raw_get(&self.name, Self::encode(c, k).as_str())
            .await
    }

    async fn raw_put(&self, c: &str, k: &str, v: Bytes, ttl: Option<Duration>) -> Result<()> {
        self.inner
            .raw_put(&self.name, Self::encode(c, k).as_str(), v, ttl)
            .await
    }

    async fn raw_delete(&self, c: &str, k: &str) -> Result<bool> {
        self.inner
            .raw_delete(&self.name, Self::encode(c, k).as_str())
            .await
    }

    async fn raw_ttl(&self, c: &str, k: &str) -> Result<Option<TtlEntry>> {
        self.inner
            .raw_ttl(&self.name, Self::encode(c, k).as_str())
            .await
    }

    async fn raw_get_many(&self, c: &str, keys: &[&str]) -> Result<Vec<Option<Bytes>>> {
        let encoded = Self::encode_all(c, keys.iter());
        self.inner.raw_get_many(&self.name, &refs(&encoded)).await
    }

    async fn raw_put_many(
        &self,
        c: &str,
        entries: &[(&str, Bytes)],
        ttl: Option<Duration>,
    ) -> Result<()> {
        let encoded = Self::encode_all(c, entries.iter().map(|(k, _)| k));
        let renamed: Vec<(&str, Bytes)> = encoded
            .iter()
            .zip(entries)
            .map(|(k, (_, v))| (k.as_str(), v.clone()))
            .collect();
        self.inner.raw_put_many(&self.name, &renamed, ttl).await
    }

    async fn raw_delete_many(&self, c: &str, keys: &[&str]) -> Result<usize> {
        let encoded = Self::encode_all(c, keys.iter());
        self.inner
            .raw_delete_many(&self.name, &refs(&encoded))
            .await
    }

    async fn raw_ttl_many(&self, c: &str, keys: &[&str]) -> Result<Vec<Option<TtlEntry>>> {
        let encoded = Self::encode_all(c, keys.iter());
        self.inner.raw_ttl_many(&self.name, &refs(&encoded)).await
    }
}

impl<S: EnumerateKeys> SingleCollection<S> {
    /// Every inner key of `collection`, as the inner store names it.
    async fn inner_keys_of(&self, collection: &str) -> Result<Vec<String>> {
        let head = Self::head(collection);
        let mut keys = self.inner.raw_keys(&self.name, usize::MAX).await?;
        keys.retain(|k| k.starts_with(&head) && k.len() > head.len());
        Ok(keys)
    }
}

impl<S: EnumerateKeys> EnumerateKeys for SingleCollection<S> {
    async fn raw_keys(&self, c: &str, limit: usize) -> Result<Vec<String>> {
        let head_len = Self::head(c).len();
        let keys = self.inner_keys_of(c).await?;
        Ok(keys
            .into_iter()
            .take(limit)
            .map(|mut k| k.split_off(head_len))
            .collect())
    }
}

impl<S: EnumerateKeys> EnumerateCollections for SingleCollection<S> {
    async fn collections(&self, limit: usize) -> Result<Vec<String>> {
        let keys = self.inner.raw_keys(&self.name, usize::MAX).await?;
        let all: BTreeSet<&str> = keys
            .iter()
            .filter_map(|k| Self::decode(k))
            .map(|(c, _)| c)
            .collect();
        Ok(all.into_iter().take(limit).map(str::to_owned).collect())
    }
}

impl<S: EnumerateKeys> DestroyCollection for SingleCollection<S> {
    async fn raw_destroy_collection(&self, c: &str) -> Result<()> {
        let keys = self.inner_keys_of(c).await?;
        for chunk in refs(&keys).chunks(1000) {
            self.inner.raw_delete_many(&self.name, chunk).await?;
        }
        Ok(())
    }
}

/// Destroying the store destroys the one inner collection.
impl<S: DestroyCollection> DestroyStore for SingleCollection<S> {
    fn destroy(&self) -> impl Future<Output = Result<()>> + Send {
        self.inner.raw_destroy_collection(&self.name)
    }
}

impl<S: Cull> Cull for SingleCollection<S> {
    fn cull(&self) -> impl Future<Output = Result<()>> + Send {
        self.inner.cull()
    }
}
