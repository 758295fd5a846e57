//! `ReadOnly`: refuse writes.

use std::time::Duration;

use bytes::Bytes;

use crate::{DestroyCollection, DestroyStore, Error, KvStore, Result};

/// Forwards reads; every write (put, delete, destroy) fails with [`ErrorDetail::ReadOnly`](crate::ErrorDetail::ReadOnly)
/// before reaching the inner store, or — built with [`ReadOnly::silent`] — is a no-op
/// answering `false` / `0`.
///
/// ```
/// use bytes::Bytes;
/// use kv_store_adapter::{ErrorKind, KvStore, KvStoreExt, stores::MemoryStore};
///
/// # #[tokio::main] async fn main() {
/// let store = MemoryStore::new(10).read_only();
/// let err = store.put("c", "k", Bytes::new(), None).await.unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::ReadOnly);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ReadOnly<S> {
    inner: S,
    silent: bool,
}

impl<S> ReadOnly<S> {
    /// Writes fail with [`ErrorDetail::ReadOnly`](crate::ErrorDetail::ReadOnly).
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            silent: false,
        }
    }

    /// Writes are ignored: puts succeed without writing, deletes answer `false` / `0`.
    pub fn silent(inner: S) -> Self {
        Self {
            inner,
            silent: true,
        }
    }

    fn refuse<T>(&self, ignored: T) -> Result<T> {
        if self.silent {
            Ok(ignored)
        } else {
            Err(Error::read_only())
        }
    }
}

impl<S: KvStore> KvStore for ReadOnly<S> {
    forward_core!(raw_get, raw_ttl, raw_get_many, raw_ttl_many);

    async fn raw_put(&self, _: &str, _: &str, _: Bytes, _: Option<Duration>) -> Result<()> {
        self.refuse(())
    }

    async fn raw_delete(&self, _: &str, _: &str) -> Result<bool> {
        self.refuse(false)
    }

    async fn raw_put_many(&self, _: &str, _: &[(&str, Bytes)], _: Option<Duration>) -> Result<()> {
        self.refuse(())
    }

    async fn raw_delete_many(&self, _: &str, _: &[&str]) -> Result<usize> {
        self.refuse(0)
    }
}

forward_capabilities!(ReadOnly: keys, collections, cull);

impl<S: DestroyCollection> DestroyCollection for ReadOnly<S> {
    async fn raw_destroy_collection(&self, _: &str) -> Result<()> {
        self.refuse(())
    }
}

impl<S: DestroyStore> DestroyStore for ReadOnly<S> {
    async fn destroy(&self) -> Result<()> {
        self.refuse(())
    }
}
