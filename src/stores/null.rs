//! `NullStore`: stores nothing.

use std::time::Duration;

use bytes::Bytes;

use crate::Result;
use crate::store::{
    Cull, DestroyCollection, DestroyStore, EnumerateCollections, EnumerateKeys, KvStore, TtlEntry,
};

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

impl KvStore for NullStore {
    async fn raw_get(&self, _: &str, _: &str) -> Result<Option<Bytes>> {
        Ok(None)
    }
    async fn raw_put(&self, _: &str, _: &str, _: Bytes, _: Option<Duration>) -> Result<()> {
        Ok(())
    }
    async fn raw_delete(&self, _: &str, _: &str) -> Result<bool> {
        Ok(false)
    }
    async fn raw_ttl(&self, _: &str, _: &str) -> Result<Option<TtlEntry>> {
        Ok(None)
    }
    async fn raw_get_many(&self, _: &str, keys: &[&str]) -> Result<Vec<Option<Bytes>>> {
        Ok(vec![None; keys.len()])
    }
    async fn raw_put_many(&self, _: &str, _: &[(&str, Bytes)], _: Option<Duration>) -> Result<()> {
        Ok(())
    }
    async fn raw_delete_many(&self, _: &str, _: &[&str]) -> Result<usize> {
        Ok(0)
    }
    async fn raw_ttl_many(&self, _: &str, keys: &[&str]) -> Result<Vec<Option<TtlEntry>>> {
        Ok(vec![None; keys.len()])
    }
}

impl EnumerateKeys for NullStore {
    async fn raw_keys(&self, _: &str, _: usize) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
}

impl EnumerateCollections for NullStore {
    async fn collections(&self, _: usize) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
}

impl DestroyCollection for NullStore {
    async fn raw_destroy_collection(&self, _: &str) -> Result<()> {
        Ok(())
    }
}

impl DestroyStore for NullStore {
    async fn destroy(&self) -> Result<()> {
        Ok(())
    }
}

impl Cull for NullStore {
    async fn cull(&self) -> Result<()> {
        Ok(())
    }
}
