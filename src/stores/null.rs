//! `NullStore`: stores nothing.

use bytes::Bytes;

use crate::store::{
    Cull, DeleteOptions, DestroyCollection, DestroyStore, EnumerateCollections, EnumerateKeys,
    GetOptions, Key, ListOptions, PutOptions, Store,
};
use crate::{Condition, ConditionalWrites, Entry, Result, Version, Written};

/// Accepts every write and forgets it; every read misses. For tests and for switching
/// caching off.
///
/// ```
/// use bytes::Bytes;
/// use kv_store_adapter::{KvStore, stores::NullStore};
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// NullStore.put("c", "k", Bytes::from_static(b"v"), None).await?;
/// assert_eq!(NullStore.get("c", "k").await?, None);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct NullStore;

impl Store for NullStore {
    async fn get_opts(&self, _: Key<'_>, _: GetOptions) -> Result<Option<Entry>> {
        Ok(None)
    }
    async fn put_opts(&self, _: Key<'_>, _: Bytes, _: PutOptions) -> Result<()> {
        Ok(())
    }
    async fn delete_opts(&self, _: Key<'_>, _: DeleteOptions) -> Result<bool> {
        Ok(false)
    }
    async fn get_many_opts(
        &self,
        _: &str,
        keys: &[&str],
        _: GetOptions,
    ) -> Result<Vec<Option<Entry>>> {
        Ok(vec![None; keys.len()])
    }
    async fn put_many_opts(&self, _: &str, _: &[(&str, Bytes)], _: PutOptions) -> Result<()> {
        Ok(())
    }
    async fn delete_many_opts(&self, _: &str, _: &[&str], _: DeleteOptions) -> Result<usize> {
        Ok(0)
    }
}

impl EnumerateKeys for NullStore {
    async fn keys_opts(&self, _: &str, _: ListOptions) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
}

impl EnumerateCollections for NullStore {
    async fn collections_opts(&self, _: ListOptions) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
}

impl DestroyCollection for NullStore {
    async fn destroy_collection_opts(&self, _: &str) -> Result<()> {
        Ok(())
    }
}

impl DestroyStore for NullStore {
    async fn destroy_opts(&self) -> Result<()> {
        Ok(())
    }
}

impl Cull for NullStore {
    async fn cull_opts(&self) -> Result<()> {
        Ok(())
    }
}

/// Never applies: there is never an entry to match, and a created one would not be
/// kept.
impl ConditionalWrites for NullStore {
    async fn put_if_opts(
        &self,
        _: Key<'_>,
        _: Bytes,
        _: Condition,
        _: PutOptions,
    ) -> Result<Written> {
        Ok(Written::Rejected(None))
    }
    async fn delete_if_opts(&self, _: Key<'_>, _: Version, _: DeleteOptions) -> Result<bool> {
        Ok(false)
    }
}
