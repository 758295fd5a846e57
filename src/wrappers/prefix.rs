//! `PrefixKeys` and `PrefixCollections`: namespaces inside a shared store.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::listing::{CollectionPages, Pages, destroy_collections_where, first_collections};
use crate::names::Joined;
use crate::{
    Bytes, Condition, ConditionalWrites, Cull, DeleteOptions, DestroyCollection, DestroyStore,
    Entry, EnumerateCollections, EnumerateKeys, Error, GetOptions, Key, ListOptions, PutOptions,
    Result, Store, Version, Written,
};
use crate::{Cursor, Page};

/// Separates a prefix from the name it prefixes. Prefixes may not contain it, so the
/// first separator ends the prefix and `prefix ␟ name` is injective.
const SEP: char = '\u{1F}';

#[derive(Debug, Clone)]
pub(crate) struct Prefix {
    /// The prefix followed by [`SEP`].
    head: String,
}

impl Prefix {
    pub(crate) fn new(prefix: &str) -> Result<Self> {
        if prefix.is_empty() || prefix.contains(SEP) {
            return Err(Error::setup_msg(format!(
                "a prefix must be non-empty and free of U+001F: {prefix:?}"
            )));
        }
        Ok(Self {
            head: format!("{prefix}{SEP}"),
        })
    }

    /// The prefix and its separator, what every name starts with.
    #[inline]
    pub(crate) fn head(&self) -> &str {
        &self.head
    }

    #[inline(always)]
    pub(crate) fn apply(&self, name: &str) -> Joined {
        Joined::new([&self.head, name])
    }

    pub(crate) fn strip<'a>(&self, name: &'a str) -> Option<&'a str> {
        name.strip_prefix(self.head.as_str())
    }

    /// Prefixes every name into one buffer, answering the buffer's string and the
    /// names' end offsets (two allocations per batch, whatever its size).
    fn apply_all<'a>(&self, names: impl Iterator<Item = &'a str> + Clone) -> (String, Vec<usize>) {
        let len = names.clone().map(|n| self.head.len() + n.len()).sum();
        let mut buf = String::with_capacity(len);
        let ends = names
            .map(|n| {
                buf.push_str(&self.head);
                buf.push_str(n);
                buf.len()
            })
            .collect();
        (buf, ends)
    }
}

pin_project_lite::pin_project! {
    /// A single-key call's future: the inner store's own, or (a key prefixed already)
    /// one that joins the key first.
    #[project = EitherProj]
    enum Either<D, J> {
        Direct { #[pin] fut: D },
        Joined { #[pin] fut: J },
    }
}

impl<T, D: Future<Output = T>, J: Future<Output = T>> Future for Either<D, J> {
    type Output = T;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match self.project() {
            EitherProj::Direct { fut } => fut.poll(cx),
            EitherProj::Joined { fut } => fut.poll(cx),
        }
    }
}

fn split<'a>(buf: &'a str, ends: &[usize]) -> Vec<&'a str> {
    let mut start = 0;
    ends.iter()
        .map(|&end| {
            let name = &buf[start..end];
            start = end;
            name
        })
        .collect()
}

/// Prefixes every key, so several users share one collection without meeting.
///
/// `keys()` strips the prefix and hides keys without it; `destroy_collection` and
/// `destroy` remove only prefixed keys.
///
/// ```
/// use bytes::Bytes;
/// use kv_store_adapter::{KvStore, KvStoreExt, stores::SimpleStore};
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let shared = SimpleStore::new();
/// let tenant = shared.clone().prefix_keys("tenant-a")?;
/// tenant.put("users", "ada", Bytes::new(), None).await?;
/// assert_eq!(shared.entries()[0].key, "tenant-a\u{1f}ada");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PrefixKeys<S> {
    inner: S,
    prefix: Prefix,
}

impl<S> PrefixKeys<S> {
    /// Prefixes keys with `prefix` (non-empty, without U+001F).
    pub fn new(inner: S, prefix: &str) -> Result<Self> {
        Ok(Self {
            inner,
            prefix: Prefix::new(prefix)?,
        })
    }
}

// The single-key methods hand the inner store the prefix and the key as two parts of
// one `Key`, and answer the inner store's own future: a store that encodes keys itself
// encodes both at once, and this layer adds no future of its own (an `async` layer
// here, its state built and moved on each call, cost a MemoryStore get behind it a
// quarter of its time). Only a key that already carries a prefix (prefix wrappers
// nested) is joined, into a buffer an `async` block holds.
macro_rules! prefixed_call {
    ($self:ident, $k:ident => $call:expr) => {
        match $k.try_prefixed($self.prefix.head()) {
            Some($k) => Either::Direct { fut: $call },
            None => Either::Joined {
                fut: async move {
                    let mut scratch = String::new();
                    let $k = $k.prefixed($self.prefix.head(), &mut scratch);
                    $call.await
                },
            },
        }
    };
}

impl<S: Store> Store for PrefixKeys<S> {
    #[inline]
    fn get_opts<'a>(
        &'a self,
        k: Key<'a>,
        o: GetOptions,
    ) -> impl Future<Output = Result<Option<Entry>>> + Send {
        prefixed_call!(self, k => self.inner.get_opts(k, o))
    }

    #[inline]
    fn put_opts<'a>(
        &'a self,
        k: Key<'a>,
        v: Bytes,
        o: PutOptions,
    ) -> impl Future<Output = Result<()>> + Send {
        prefixed_call!(self, k => self.inner.put_opts(k, v, o))
    }

    #[inline]
    fn delete_opts<'a>(
        &'a self,
        k: Key<'a>,
        o: DeleteOptions,
    ) -> impl Future<Output = Result<bool>> + Send {
        prefixed_call!(self, k => self.inner.delete_opts(k, o))
    }

    async fn get_many_opts(
        &self,
        c: &str,
        keys: &[&str],
        o: GetOptions,
    ) -> Result<Vec<Option<Entry>>> {
        let (buf, ends) = self.prefix.apply_all(keys.iter().copied());
        self.inner.get_many_opts(c, &split(&buf, &ends), o).await
    }

    async fn put_many_opts(&self, c: &str, entries: &[(&str, Bytes)], o: PutOptions) -> Result<()> {
        let (buf, ends) = self.prefix.apply_all(entries.iter().map(|(k, _)| *k));
        let keys = split(&buf, &ends);
        let renamed: Vec<(&str, Bytes)> = keys
            .into_iter()
            .zip(entries)
            .map(|(k, (_, v))| (k, v.clone()))
            .collect();
        self.inner.put_many_opts(c, &renamed, o).await
    }

    async fn delete_many_opts(&self, c: &str, keys: &[&str], o: DeleteOptions) -> Result<usize> {
        let (buf, ends) = self.prefix.apply_all(keys.iter().copied());
        self.inner.delete_many_opts(c, &split(&buf, &ends), o).await
    }
}

// Listing, looking for and deleting this prefix's keys walk the inner store's keys
// with this prefix a page at a time (`Pages`, `keys_page_with_prefix`): memory holds
// one page, each stops once it has what it needs, and an inner store that keeps keys
// in order (or matches on its server) reads only this prefix's.
impl<S: EnumerateKeys> PrefixKeys<S> {
    /// Whether `c` holds at least one of this prefix's keys.
    async fn holds_any(&self, c: &str) -> Result<bool> {
        let found = Pages::with_prefix(&self.inner, c, self.prefix.head())
            .pick(1, |k| self.prefix.strip(k).map(|_| String::new()))
            .await?;
        Ok(!found.is_empty())
    }
}

impl<S: EnumerateKeys> EnumerateKeys for PrefixKeys<S> {
    async fn keys_opts(&self, c: &str, opts: ListOptions) -> Result<Vec<String>> {
        Pages::with_prefix(&self.inner, c, self.prefix.head())
            .pick(opts.limit, |k| self.prefix.strip(k).map(str::to_owned))
            .await
    }
    /// A page of the inner store's keys with this prefix and then `prefix`.
    async fn keys_page_with_prefix(
        &self,
        c: &str,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page> {
        let inner_prefix = self.prefix.apply(prefix);
        let mut page = self
            .inner
            .keys_page_with_prefix(c, inner_prefix.as_str(), cursor, limit)
            .await?;
        page.names = page
            .names
            .iter()
            .filter_map(|k| self.prefix.strip(k))
            .map(str::to_owned)
            .collect();
        Ok(page)
    }
    fn walk_page(&self, c: &str) -> usize {
        self.inner.walk_page(c)
    }
}

/// Collections that hold at least one of this prefix's keys (the inner store's
/// collections walked a page at a time).
impl<S: EnumerateKeys + EnumerateCollections> EnumerateCollections for PrefixKeys<S> {
    /// Each looked at (a listing of its own) only until `limit` are found.
    async fn collections_opts(&self, opts: ListOptions) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut pages = CollectionPages::new(&self.inner);
        while out.len() < opts.limit
            && let Some(names) = pages.next().await?
        {
            for c in names {
                if out.len() < opts.limit && self.holds_any(&c).await? {
                    out.push(c);
                }
            }
        }
        Ok(out)
    }
    /// A page of the inner store's collections with the prefix, those holding one of
    /// this key prefix's keys.
    async fn collections_page_with_prefix(
        &self,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page> {
        let mut page = self
            .inner
            .collections_page_with_prefix(prefix, cursor, limit)
            .await?;
        let mut own = Vec::with_capacity(page.names.len());
        for c in page.names {
            if self.holds_any(&c).await? {
                own.push(c);
            }
        }
        page.names = own;
        Ok(page)
    }
    fn collections_walk_page(&self) -> usize {
        self.inner.collections_walk_page()
    }
}

impl<S: EnumerateKeys> DestroyCollection for PrefixKeys<S> {
    async fn destroy_collection_opts(&self, c: &str) -> Result<()> {
        let mut pages = Pages::with_prefix(&self.inner, c, self.prefix.head());
        while let Some(names) = pages.next().await? {
            let own: Vec<&str> = names
                .iter()
                .map(String::as_str)
                .filter(|k| self.prefix.strip(k).is_some())
                .collect();
            if !own.is_empty() {
                self.inner
                    .delete_many_opts(c, &own, DeleteOptions::default())
                    .await?;
            }
        }
        Ok(())
    }
}

impl<S: EnumerateKeys + EnumerateCollections> DestroyStore for PrefixKeys<S> {
    async fn destroy_opts(&self) -> Result<()> {
        let mut pages = CollectionPages::new(&self.inner);
        while let Some(names) = pages.next().await? {
            for c in names {
                self.destroy_collection_opts(&c).await?;
            }
        }
        Ok(())
    }
}

crate::forward_capabilities!(PrefixKeys, inner; cull);

impl<S: ConditionalWrites> ConditionalWrites for PrefixKeys<S> {
    #[inline]
    fn put_if_opts<'a>(
        &'a self,
        k: Key<'a>,
        v: Bytes,
        c: Condition,
        o: PutOptions,
    ) -> impl Future<Output = Result<Written>> + Send {
        prefixed_call!(self, k => self.inner.put_if_opts(k, v, c, o))
    }

    #[inline]
    fn delete_if_opts<'a>(
        &'a self,
        k: Key<'a>,
        v: Version,
        o: DeleteOptions,
    ) -> impl Future<Output = Result<bool>> + Send {
        prefixed_call!(self, k => self.inner.delete_if_opts(k, v, o))
    }
}

/// Prefixes every collection, so several users share one store without meeting.
///
/// `collections()` strips the prefix and hides collections without it; `destroy`
/// removes only prefixed collections.
///
/// ```
/// use bytes::Bytes;
/// use kv_store_adapter::{KvStore, KvStoreExt, stores::SimpleStore};
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let shared = SimpleStore::new();
/// let app = shared.clone().prefix_collections("app")?;
/// app.put("users", "ada", Bytes::new(), None).await?;
/// assert_eq!(shared.entries()[0].collection, "app\u{1f}users");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PrefixCollections<S> {
    inner: S,
    prefix: Prefix,
}

impl<S> PrefixCollections<S> {
    /// Prefixes collections with `prefix` (non-empty, without U+001F).
    pub fn new(inner: S, prefix: &str) -> Result<Self> {
        Ok(Self {
            inner,
            prefix: Prefix::new(prefix)?,
        })
    }
}

impl<S: Store> Store for PrefixCollections<S> {
    async fn get_opts(&self, k: Key<'_>, o: GetOptions) -> Result<Option<Entry>> {
        let c = self.prefix.apply(k.collection());
        self.inner.get_opts(k.in_collection(c.as_str()), o).await
    }

    async fn put_opts(&self, k: Key<'_>, v: Bytes, o: PutOptions) -> Result<()> {
        let c = self.prefix.apply(k.collection());
        self.inner.put_opts(k.in_collection(c.as_str()), v, o).await
    }

    async fn delete_opts(&self, k: Key<'_>, o: DeleteOptions) -> Result<bool> {
        let c = self.prefix.apply(k.collection());
        self.inner.delete_opts(k.in_collection(c.as_str()), o).await
    }

    async fn get_many_opts(
        &self,
        c: &str,
        keys: &[&str],
        o: GetOptions,
    ) -> Result<Vec<Option<Entry>>> {
        let c = self.prefix.apply(c);
        self.inner.get_many_opts(c.as_str(), keys, o).await
    }

    async fn put_many_opts(&self, c: &str, entries: &[(&str, Bytes)], o: PutOptions) -> Result<()> {
        let c = self.prefix.apply(c);
        self.inner.put_many_opts(c.as_str(), entries, o).await
    }

    async fn delete_many_opts(&self, c: &str, keys: &[&str], o: DeleteOptions) -> Result<usize> {
        let c = self.prefix.apply(c);
        self.inner.delete_many_opts(c.as_str(), keys, o).await
    }
}

impl<S: EnumerateKeys> EnumerateKeys for PrefixCollections<S> {
    async fn keys_opts(&self, c: &str, opts: ListOptions) -> Result<Vec<String>> {
        self.inner
            .keys_opts(self.prefix.apply(c).as_str(), opts)
            .await
    }
    async fn keys_page_with_prefix(
        &self,
        c: &str,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page> {
        self.inner
            .keys_page_with_prefix(self.prefix.apply(c).as_str(), prefix, cursor, limit)
            .await
    }
    fn walk_page(&self, c: &str) -> usize {
        self.inner.walk_page(self.prefix.apply(c).as_str())
    }
}

/// The inner store's collections with this prefix, walked a page at a time.
impl<S: EnumerateCollections> EnumerateCollections for PrefixCollections<S> {
    async fn collections_opts(&self, opts: ListOptions) -> Result<Vec<String>> {
        first_collections(self, opts.limit).await
    }
    /// A page of the inner store's collections with this prefix followed by `prefix`
    /// (without this prefix), through the inner store's
    /// [`collections_page_with_prefix`](EnumerateCollections::collections_page_with_prefix):
    /// the stores of this crate start at the prefix and stop after it, so other
    /// prefixes' names are not read.
    async fn collections_page_with_prefix(
        &self,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page> {
        let inner_prefix = self.prefix.apply(prefix);
        let mut page = self
            .inner
            .collections_page_with_prefix(inner_prefix.as_str(), cursor, limit)
            .await?;
        page.names = self.own(std::mem::take(&mut page.names));
        Ok(page)
    }
    fn collections_walk_page(&self) -> usize {
        self.inner.collections_walk_page()
    }
}

impl<S> PrefixCollections<S> {
    /// The names of `inner` that are this prefix's, without it.
    fn own(&self, inner: Vec<String>) -> Vec<String> {
        inner
            .iter()
            .filter_map(|c| self.prefix.strip(c))
            .map(str::to_owned)
            .collect()
    }
}

impl<S: DestroyCollection> DestroyCollection for PrefixCollections<S> {
    async fn destroy_collection_opts(&self, c: &str) -> Result<()> {
        self.inner
            .destroy_collection_opts(self.prefix.apply(c).as_str())
            .await
    }
}

impl<S: EnumerateCollections + DestroyCollection> DestroyStore for PrefixCollections<S> {
    /// Destroys each of its own collections, walking its own listing (which ends past
    /// the prefix's names where the inner listing is in order).
    async fn destroy_opts(&self) -> Result<()> {
        destroy_collections_where(self, |_| true).await
    }
}

impl<S: ConditionalWrites> ConditionalWrites for PrefixCollections<S> {
    async fn put_if_opts(
        &self,
        k: Key<'_>,
        v: Bytes,
        c: Condition,
        o: PutOptions,
    ) -> Result<Written> {
        let collection = self.prefix.apply(k.collection());
        self.inner
            .put_if_opts(k.in_collection(collection.as_str()), v, c, o)
            .await
    }

    async fn delete_if_opts(&self, k: Key<'_>, v: Version, o: DeleteOptions) -> Result<bool> {
        let collection = self.prefix.apply(k.collection());
        self.inner
            .delete_if_opts(k.in_collection(collection.as_str()), v, o)
            .await
    }
}

impl<S: Cull> Cull for PrefixCollections<S> {
    fn cull_opts(&self) -> impl Future<Output = Result<()>> + Send {
        self.inner.cull_opts()
    }
}
