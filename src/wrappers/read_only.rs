//! `ReadOnly`: refuse writes.

use crate::{Bytes, DeleteOptions, Error, Key, PutOptions, Result, Store};

/// Forwards reads; every write (put, delete) fails with [`ErrorDetail::ReadOnly`](crate::ErrorDetail::ReadOnly)
/// before reaching the inner store, or — built with [`ReadOnly::silent`] — is a no-op
/// answering `false` / `0`. It forwards listing and `cull` (which removes only
/// entries already invisible), and has no `destroy_collection` or `destroy` at all:
/// a read-only view that offers them only to refuse at run time invites the call.
///
/// ```compile_fail
/// use kv_store_adapter::{DestroyStore, KvStoreExt, stores::MemoryStore};
/// # async fn f() {
/// MemoryStore::with_max_entries(10).read_only().destroy().await; // no such method
/// # }
/// ```
///
/// ```
/// use bytes::Bytes;
/// use kv_store_adapter::{ErrorKind, KvStore, KvStoreExt, stores::MemoryStore};
///
/// # #[tokio::main] async fn main() {
/// let store = MemoryStore::with_max_entries(10).read_only();
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

impl<S: Store> Store for ReadOnly<S> {
    crate::forward_methods!(inner; get_opts, get_many_opts);

    async fn put_opts(&self, _: Key<'_>, _: Bytes, _: PutOptions) -> Result<()> {
        self.refuse(())
    }

    async fn delete_opts(&self, _: Key<'_>, _: DeleteOptions) -> Result<bool> {
        self.refuse(false)
    }

    async fn put_many_opts(&self, _: &str, _: &[(&str, Bytes)], _: PutOptions) -> Result<()> {
        self.refuse(())
    }

    async fn delete_many_opts(&self, _: &str, _: &[&str], _: DeleteOptions) -> Result<usize> {
        self.refuse(0)
    }
}

crate::forward_capabilities!(ReadOnly, inner; enumerate_keys, enumerate_collections, cull);

/// Refused as every write is, so a read-only view fits where conditional writes are
/// required and says why it writes nothing.
impl<S: Store> crate::ConditionalWrites for ReadOnly<S> {
    async fn put_if_opts(
        &self,
        _: Key<'_>,
        _: Bytes,
        _: crate::Condition,
        _: PutOptions,
    ) -> Result<crate::Written> {
        self.refuse(crate::Written::Rejected(None))
    }

    async fn delete_if_opts(
        &self,
        _: Key<'_>,
        _: crate::Version,
        _: DeleteOptions,
    ) -> Result<bool> {
        self.refuse(false)
    }
}
