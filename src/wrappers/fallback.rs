//! `Fallback`: a second store for when the first is unreachable.

use std::future::Future;

use crate::listing::{PartCursor, foreign_cursor};
use crate::{
    Bytes, Cull, Cursor, DeleteOptions, DestroyCollection, DestroyStore, Entry,
    EnumerateCollections, EnumerateKeys, GetOptions, Key, ListOptions, Page, PutOptions, Result,
    Store,
};

/// Reads go to `primary`; when it fails with a transient error (connection, timeout)
/// they are answered by `fallback`. Writes go to `primary` only, unless built with
/// [`Fallback::with_write_fallback`], when a transiently failing write is made on
/// `fallback` instead. Other errors are never hidden.
///
/// A listing in pages ([`list_keys`](crate::KvStore::list_keys),
/// [`list_collections`](crate::KvStore::list_collections)) is the primary's pages, or,
/// when the primary fails on the first page, the fallback's, to the end: a cursor
/// remembers which store gave it, since one store's cursor means nothing to the other.
/// A primary that fails after the first page fails the listing.
///
/// ```
/// use kv_store_adapter::{KvStore, stores::{MemoryStore, NullStore}, wrappers::Fallback};
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let store = Fallback::new(MemoryStore::with_max_entries(10), NullStore);
/// assert_eq!(store.get("c", "k").await?, None);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Fallback<P, F> {
    primary: P,
    fallback: F,
    writes: bool,
}

impl<P, F> Fallback<P, F> {
    /// Reads fall back to `fallback`; writes do not.
    pub fn new(primary: P, fallback: F) -> Self {
        Self {
            primary,
            fallback,
            writes: false,
        }
    }

    /// Reads and writes fall back to `fallback`.
    pub fn with_write_fallback(primary: P, fallback: F) -> Self {
        Self {
            primary,
            fallback,
            writes: true,
        }
    }

    async fn read<T>(
        &self,
        primary: impl Future<Output = Result<T>>,
        fallback: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        match primary.await {
            Err(e) if e.is_transient() => {
                tracing::warn!(error = %e, "primary store failed; reading from the fallback");
                fallback.await
            }
            result => result,
        }
    }

    async fn write<T>(
        &self,
        primary: impl Future<Output = Result<T>>,
        fallback: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        if self.writes {
            self.read(primary, fallback).await
        } else {
            primary.await
        }
    }
}

impl<P: Store, F: Store> Store for Fallback<P, F> {
    async fn get_opts(&self, k: Key<'_>, o: GetOptions) -> Result<Option<Entry>> {
        self.read(self.primary.get_opts(k, o), self.fallback.get_opts(k, o))
            .await
    }
    async fn put_opts(&self, k: Key<'_>, v: Bytes, o: PutOptions) -> Result<()> {
        let primary = self.primary.put_opts(k, v.clone(), o);
        self.write(primary, self.fallback.put_opts(k, v, o)).await
    }
    async fn delete_opts(&self, k: Key<'_>, o: DeleteOptions) -> Result<bool> {
        let primary = self.primary.delete_opts(k, o);
        self.write(primary, self.fallback.delete_opts(k, o)).await
    }
    async fn get_many_opts(
        &self,
        c: &str,
        keys: &[&str],
        o: GetOptions,
    ) -> Result<Vec<Option<Entry>>> {
        let primary = self.primary.get_many_opts(c, keys, o);
        self.read(primary, self.fallback.get_many_opts(c, keys, o))
            .await
    }
    async fn put_many_opts(&self, c: &str, entries: &[(&str, Bytes)], o: PutOptions) -> Result<()> {
        let primary = self.primary.put_many_opts(c, entries, o);
        self.write(primary, self.fallback.put_many_opts(c, entries, o))
            .await
    }
    async fn delete_many_opts(&self, c: &str, keys: &[&str], o: DeleteOptions) -> Result<usize> {
        let primary = self.primary.delete_many_opts(c, keys, o);
        self.write(primary, self.fallback.delete_many_opts(c, keys, o))
            .await
    }
}

/// Conditional writes go to the primary only, whether or not writes fall back: a
/// version read from one store means nothing to the other, and a create that fell back
/// could apply in both.
impl<P: crate::ConditionalWrites, F: Store> crate::ConditionalWrites for Fallback<P, F> {
    fn put_if_opts<'a>(
        &'a self,
        k: Key<'a>,
        v: Bytes,
        c: crate::Condition,
        o: PutOptions,
    ) -> impl Future<Output = Result<crate::Written>> + Send {
        self.primary.put_if_opts(k, v, c, o)
    }
    fn delete_if_opts<'a>(
        &'a self,
        k: Key<'a>,
        version: crate::Version,
        o: DeleteOptions,
    ) -> impl Future<Output = Result<bool>> + Send {
        self.primary.delete_if_opts(k, version, o)
    }
}

impl<P, F> Fallback<P, F> {
    /// A page of a listing: the first page from `primary`, or from `fallback` when the
    /// primary fails with a transient error; every later page from the store that gave
    /// the cursor (which one is in the cursor: a cursor of one means nothing to the
    /// other, and starting over on the other would answer names twice).
    async fn page<PF, FF>(
        &self,
        cursor: Option<Cursor>,
        primary: impl FnOnce(Option<Cursor>) -> PF,
        fallback: impl FnOnce(Option<Cursor>) -> FF,
    ) -> Result<Page>
    where
        PF: Future<Output = Result<Page>>,
        FF: Future<Output = Result<Page>>,
    {
        let (part, mut page) = match cursor {
            None => match primary(None).await {
                Err(e) if e.is_transient() => {
                    tracing::warn!(error = %e, "primary store failed; listing the fallback");
                    (1, fallback(None).await?)
                }
                answer => (0, answer?),
            },
            cursor => match PartCursor::read(cursor)? {
                PartCursor { part: 0, inner } => (0, primary(inner).await?),
                PartCursor { part: 1, inner } => (1, fallback(inner).await?),
                _ => return Err(foreign_cursor()),
            },
        };
        page.next = PartCursor::after(part, 1, page.next);
        Ok(page)
    }
}

impl<P: EnumerateKeys, F: EnumerateKeys> EnumerateKeys for Fallback<P, F> {
    async fn keys_opts(&self, c: &str, opts: ListOptions) -> Result<Vec<String>> {
        let primary = self.primary.keys_opts(c, opts);
        self.read(primary, self.fallback.keys_opts(c, opts)).await
    }
    /// Pages of the primary, or of the fallback when the primary fails on the first.
    async fn keys_page_with_prefix(
        &self,
        c: &str,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page> {
        self.page(
            cursor,
            |at| self.primary.keys_page_with_prefix(c, prefix, at, limit),
            |at| self.fallback.keys_page_with_prefix(c, prefix, at, limit),
        )
        .await
    }
    /// The primary's, which answers unless it is down.
    fn walk_page(&self, c: &str) -> usize {
        self.primary.walk_page(c)
    }
}
impl<P: EnumerateCollections, F: EnumerateCollections> EnumerateCollections for Fallback<P, F> {
    async fn collections_opts(&self, opts: ListOptions) -> Result<Vec<String>> {
        let primary = self.primary.collections_opts(opts);
        self.read(primary, self.fallback.collections_opts(opts))
            .await
    }
    /// Pages of the primary, or of the fallback when the primary fails on the first.
    async fn collections_page_with_prefix(
        &self,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page> {
        self.page(
            cursor,
            |at| self.primary.collections_page_with_prefix(prefix, at, limit),
            |at| {
                self.fallback
                    .collections_page_with_prefix(prefix, at, limit)
            },
        )
        .await
    }
    /// The primary's, which answers unless it is down.
    fn collections_walk_page(&self) -> usize {
        self.primary.collections_walk_page()
    }
}
impl<P: DestroyCollection, F: DestroyCollection> DestroyCollection for Fallback<P, F> {
    async fn destroy_collection_opts(&self, c: &str) -> Result<()> {
        let primary = self.primary.destroy_collection_opts(c);
        self.write(primary, self.fallback.destroy_collection_opts(c))
            .await
    }
}
impl<P: DestroyStore, F: DestroyStore> DestroyStore for Fallback<P, F> {
    async fn destroy_opts(&self) -> Result<()> {
        self.write(self.primary.destroy_opts(), self.fallback.destroy_opts())
            .await
    }
}
impl<P: Cull, F: Cull> Cull for Fallback<P, F> {
    async fn cull_opts(&self) -> Result<()> {
        self.write(self.primary.cull_opts(), self.fallback.cull_opts())
            .await
    }
}
