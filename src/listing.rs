//! Listing in pages: [`Cursor`], [`Page`] and the stream of names
//! [`KvStore::list_keys`](crate::KvStore::list_keys) and
//! [`KvStore::list_collections`](crate::KvStore::list_collections) give, which holds one
//! page at a time however large the listing.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::{BoxFuture, DestroyCollection, EnumerateCollections, EnumerateKeys, Result};

/// Where a listing goes on: given with a [`Page`], handed back for the next one. Its
/// text is the store's own (a key, a scan cursor, a sort value); only the store that
/// gave it, for the same listing (the same collection, or the collections), understands
/// it.
///
/// ```
/// use kv_store_adapter::Cursor;
/// let cursor = Cursor::new("k42");
/// assert_eq!(cursor.as_str(), "k42");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Cursor(String);

impl Cursor {
    /// A cursor holding `position` (for a store implementing
    /// [`keys_page`](crate::EnumerateKeys::keys_page)).
    pub fn new(position: impl Into<String>) -> Self {
        Self(position.into())
    }

    /// The position, as the store wrote it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Shows only the length: a cursor may be a key, and keys stay out of logs.
impl fmt::Debug for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cursor({} bytes)", self.0.len())
    }
}

/// One page of a listing: names, and the cursor of the next page (`None`: the listing
/// is complete). A page may hold fewer names than asked, even none, before the end.
///
/// ```
/// use kv_store_adapter::{Cursor, Page};
/// let page = Page::new(vec!["a".into()], Some(Cursor::new("a")));
/// assert_eq!(page.names, ["a"]);
/// assert!(page.next.is_some());
/// assert!(!page.in_order);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Page {
    /// The names of this page.
    pub names: Vec<String>,
    /// Where the next page starts; `None` after the last.
    pub next: Option<Cursor>,
    /// Whether the listing comes in name order (the order of the names' bytes): this
    /// page's names ascending, each after every name of the pages before it. A store
    /// whose backend keeps names sorted says so ([`ordered`](Self::ordered)); then a
    /// wrapper that makes its own listing of the names (`SingleCollection`'s
    /// collections, from its one inner collection's keys) can go on from where it
    /// stopped rather than read the listing again for each page of its own. `false`
    /// promises nothing (Redis SCAN, several listings one after another).
    pub in_order: bool,
}

impl Page {
    /// A page of `names`, followed by the page at `next`, in no promised order.
    pub fn new(names: Vec<String>, next: Option<Cursor>) -> Self {
        Self {
            names,
            next,
            in_order: false,
        }
    }

    /// This page, from a listing in name order (see [`in_order`](Self::in_order)):
    /// what a store whose backend keeps names sorted answers.
    ///
    /// ```
    /// use kv_store_adapter::Page;
    /// let page = Page::new(vec!["a".into(), "b".into()], None).ordered();
    /// assert!(page.in_order);
    /// ```
    #[must_use]
    pub fn ordered(mut self) -> Self {
        self.in_order = true;
        self
    }

    /// The page after `after` (or the first) of `names`, sorted and without
    /// duplicates: up to `limit` (at least one) names, then a cursor on the last. How a
    /// store that lists everything at once pages: the default
    /// [`keys_page`](crate::EnumerateKeys::keys_page).
    pub(crate) fn of_sorted(mut names: Vec<String>, after: Option<&Cursor>, limit: usize) -> Self {
        names.sort_unstable();
        names.dedup();
        if let Some(after) = after {
            let start = names.partition_point(|n| n.as_str() <= after.as_str());
            names.drain(..start);
        }
        let limit = limit.max(1);
        let more = names.len() > limit;
        names.truncate(limit);
        let next = if more {
            names.last().cloned().map(Cursor)
        } else {
            None
        };
        Self::new(names, next).ordered()
    }

    /// The page of the first `limit` of `names` — the first `limit + 1` names after a
    /// cursor, in order — and a cursor at its last name when the one more came.
    pub(crate) fn of_one_more(mut names: Vec<String>, limit: usize) -> Self {
        if names.len() <= limit {
            return Self::new(names, None).ordered();
        }
        names.truncate(limit);
        let next = names.last().cloned().map(Cursor);
        Self::new(names, next).ordered()
    }
}

/// The least string after every string that starts with `prefix` (the prefix with its
/// last character raised by one, after dropping trailing U+10FFFF), `None` where every
/// string after `prefix` starts with it (`""`, or only U+10FFFF). UTF-8 orders as code
/// points, so a backend comparing bytes reads the prefix's names as those from `prefix`
/// up to, not including, this one.
#[cfg_attr(
    not(any(feature = "redis", feature = "mongodb", feature = "elasticsearch")),
    allow(dead_code)
)]
pub(crate) fn prefix_end(prefix: &str) -> Option<String> {
    let mut end = prefix.to_owned();
    while let Some(last) = end.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(c as u32 + 1),
        };
        if let Some(next) = next {
            end.push(next);
            return Some(end);
        }
    }
    None
}

/// How many names a walk asks a page of this crate's stores with a native cursor (their
/// [`walk_page`](crate::EnumerateKeys::walk_page) and
/// [`collections_walk_page`](crate::EnumerateCollections::collections_walk_page)).
pub(crate) const WALK_PAGE: usize = 1_000;

/// The first `limit` distinct names, in order, of all it is offered: how a listing that
/// must read everything (a SCAN, every folded key) answers its first names while
/// holding about twice as many as it keeps (and a few thousand), never all it read.
pub(crate) struct FirstNames {
    names: Vec<String>,
    limit: usize,
    /// Sorted and cut down to `limit` once it holds this many.
    compact_at: usize,
    /// Once `limit` are kept, the greatest of them: no name from here on is wanted.
    ceiling: Option<String>,
}

impl FirstNames {
    /// Names gathered between cuts, at least.
    const SLACK: usize = 4_096;

    pub(crate) fn new(limit: usize) -> Self {
        Self {
            names: Vec::new(),
            limit,
            compact_at: Self::SLACK,
            ceiling: None,
        }
    }

    pub(crate) fn offer(&mut self, name: &str) {
        if self.wants(name) {
            self.push(name.to_owned());
        }
    }

    /// [`offer`](Self::offer) of a name already owned.
    pub(crate) fn offer_owned(&mut self, name: String) {
        if self.wants(&name) {
            self.push(name);
        }
    }

    fn wants(&self, name: &str) -> bool {
        self.limit > 0 && self.ceiling.as_deref().is_none_or(|c| name < c)
    }

    fn push(&mut self, name: String) {
        self.names.push(name);
        if self.names.len() >= self.compact_at {
            self.compact();
        }
    }

    /// Whether `limit` distinct names are kept (cutting down to see).
    pub(crate) fn full(&mut self) -> bool {
        if self.names.len() >= self.limit {
            self.compact();
        }
        self.names.len() >= self.limit
    }

    fn compact(&mut self) {
        self.names.sort_unstable();
        self.names.dedup();
        self.names.truncate(self.limit);
        if self.names.len() == self.limit {
            self.ceiling = self.names.last().cloned();
        }
        self.compact_at = self.names.len().saturating_mul(2).max(Self::SLACK);
    }

    /// The first names, in order.
    pub(crate) fn finish(mut self) -> Vec<String> {
        self.compact();
        self.names
    }
}

/// The page of names after a cursor, from a listing that must read everything (the
/// tables of a file, a SCAN): the first `limit` names greater than the cursor's, and
/// the cursor of the next page when more are greater still. Holds about one page.
pub(crate) struct PageAfter {
    after: Option<Cursor>,
    limit: usize,
    first: FirstNames,
}

impl PageAfter {
    pub(crate) fn new(after: Option<Cursor>, limit: usize) -> Self {
        let limit = limit.max(1);
        Self {
            after,
            limit,
            // One more than the page: whether another page follows.
            first: FirstNames::new(limit.saturating_add(1)),
        }
    }

    pub(crate) fn offer(&mut self, name: &str) {
        if self.after.as_ref().is_none_or(|a| name > a.as_str()) {
            self.first.offer(name);
        }
    }

    /// The page, its names in order.
    pub(crate) fn finish(self) -> Page {
        Page::of_one_more(self.first.finish(), self.limit)
    }
}

/// The error for a cursor given back that the store did not give.
pub(crate) fn foreign_cursor() -> crate::Error {
    crate::Error::invalid_key("a cursor this store did not give")
}

/// The cursor of a listing made of several listings one after another (several
/// stores' collections): which part, and the cursor within it (`None`: its first page).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct PartCursor {
    pub(crate) part: usize,
    pub(crate) inner: Option<Cursor>,
}

impl PartCursor {
    /// The cursor given back (`None`: the first page of the first part); an error for a
    /// cursor that is not one of these.
    pub(crate) fn read(cursor: Option<Cursor>) -> Result<Self> {
        let Some(cursor) = cursor else {
            return Ok(Self {
                part: 0,
                inner: None,
            });
        };
        let (part, inner) = match cursor.0.split_once(':') {
            Some((part, inner)) => (part, Some(Cursor::new(inner))),
            None => (cursor.0.as_str(), None),
        };
        match part.parse() {
            Ok(part) => Ok(Self { part, inner }),
            Err(_) => Err(foreign_cursor()),
        }
    }

    /// The cursor after a page of part `part` of `parts` whose own next cursor is
    /// `next`: on in the part, else the next part's first page, else the end.
    pub(crate) fn after(part: usize, parts: usize, next: Option<Cursor>) -> Option<Cursor> {
        match next {
            Some(inner) => Some(Cursor(format!("{part}:{}", inner.0))),
            None if part + 1 < parts => Some(Cursor((part + 1).to_string())),
            None => None,
        }
    }
}

/// The first `limit` names of `store`'s collections, walked page by page
/// ([`collections_page`](EnumerateCollections::collections_page), pages of its
/// [`collections_walk_page`](EnumerateCollections::collections_walk_page)): how a
/// wrapper whose pages are made of its inner stores' answers `collections()`.
pub(crate) async fn first_collections<S: EnumerateCollections>(
    store: &S,
    limit: usize,
) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut pages = CollectionPages::new(store);
    while out.len() < limit
        && let Some(names) = pages.next().await?
    {
        out.extend(names);
    }
    out.truncate(limit);
    Ok(out)
}

/// A store's collections, a page at a time
/// ([`collections_page`](EnumerateCollections::collections_page), pages of the store's
/// [`collections_walk_page`](EnumerateCollections::collections_walk_page)): how a wrapper
/// that keeps some of an inner store's collections holds one page, never every name.
pub(crate) struct CollectionPages<'a, S> {
    store: &'a S,
    next: Option<Cursor>,
    done: bool,
}

impl<'a, S: EnumerateCollections> CollectionPages<'a, S> {
    pub(crate) fn new(store: &'a S) -> Self {
        Self {
            store,
            next: None,
            done: false,
        }
    }

    /// The next page's names (maybe none), `None` after the last page.
    pub(crate) async fn next(&mut self) -> Result<Option<Vec<String>>> {
        if self.done {
            return Ok(None);
        }
        let limit = self.store.collections_walk_page();
        let page = self.store.collections_page(self.next.take(), limit).await?;
        self.done = page.next.is_none();
        self.next = page.next;
        Ok(Some(page.names))
    }
}

/// Destroys each of `store`'s collections that `pick` names, walking them a page at a
/// time: how a wrapper removes the inner collections it is responsible for.
pub(crate) async fn destroy_collections_where<S>(
    store: &S,
    pick: impl Fn(&str) -> bool,
) -> Result<()>
where
    S: EnumerateCollections + DestroyCollection,
{
    let mut pages = CollectionPages::new(store);
    while let Some(names) = pages.next().await? {
        for c in names.iter().filter(|c| pick(c)) {
            store.destroy_collection_opts(c).await?;
        }
    }
    Ok(())
}

/// One collection's keys in an inner store, a page at a time: how a wrapper that
/// lists, looks for or deletes some of an inner collection's keys holds one page,
/// never the whole collection, and stops as soon as it has what it needs.
pub(crate) struct Pages<'a, S> {
    store: &'a S,
    collection: &'a str,
    /// Only keys starting with it (`""`: every key), asked of the store.
    prefix: &'a str,
    next: Option<Cursor>,
    done: bool,
}

impl<'a, S: EnumerateKeys> Pages<'a, S> {
    /// Every key of `collection`.
    pub(crate) fn new(store: &'a S, collection: &'a str) -> Self {
        Self::with_prefix(store, collection, "")
    }

    /// The keys of `collection` that start with `prefix`, which the store reads
    /// without the others where it can
    /// ([`keys_page_with_prefix`](EnumerateKeys::keys_page_with_prefix)).
    pub(crate) fn with_prefix(store: &'a S, collection: &'a str, prefix: &'a str) -> Self {
        Self {
            store,
            collection,
            prefix,
            next: None,
            done: false,
        }
    }

    /// The same walk, going on from `next`, a cursor an earlier page of it gave.
    pub(crate) fn from(mut self, next: Option<Cursor>) -> Self {
        self.next = next;
        self
    }

    /// The next page's names (maybe none), `None` after the last page.
    pub(crate) async fn next(&mut self) -> Result<Option<Vec<String>>> {
        if self.done {
            return Ok(None);
        }
        let (cursor, limit) = (self.next.take(), self.store.walk_page(self.collection));
        let (c, prefix) = (self.collection, self.prefix);
        let page = self
            .store
            .keys_page_with_prefix(c, prefix, cursor, limit)
            .await?;
        self.done = page.next.is_none();
        self.next = page.next;
        Ok(Some(page.names))
    }

    /// Up to `limit` distinct names that `pick` makes of the keys, in name order,
    /// read until a page brings the count to `limit` or the listing ends (a page may
    /// repeat a key: Redis SCAN).
    pub(crate) async fn pick(
        mut self,
        limit: usize,
        mut pick: impl FnMut(&str) -> Option<String>,
    ) -> Result<Vec<String>> {
        let mut first = FirstNames::new(limit);
        while !first.full()
            && let Some(names) = self.next().await?
        {
            for name in names.iter().filter_map(|k| pick(k)) {
                first.offer_owned(name);
            }
        }
        Ok(first.finish())
    }
}

/// The keys of a collection, or the collections of a store, page by page: an async
/// stream of `Result<String>` (`futures_core::Stream`, so `StreamExt` from `futures` or
/// `tokio-stream` works on it), holding one page at a time. Given by
/// [`KvStore::list_keys`](crate::KvStore::list_keys) and
/// [`KvStore::list_collections`](crate::KvStore::list_collections); an error ends it.
#[must_use = "a stream does nothing until polled"]
pub struct KeyStream<'a> {
    fetch: Box<dyn FnMut(Option<Cursor>) -> BoxFuture<'a, Result<Page>> + Send + 'a>,
    pending: Option<BoxFuture<'a, Result<Page>>>,
    names: std::vec::IntoIter<String>,
    /// The next page's cursor; `None` before the first page and after the last.
    next: Option<Cursor>,
    started: bool,
    done: bool,
}

impl<'a> KeyStream<'a> {
    pub(crate) fn new(
        fetch: impl FnMut(Option<Cursor>) -> BoxFuture<'a, Result<Page>> + Send + 'a,
    ) -> Self {
        Self {
            fetch: Box::new(fetch),
            pending: None,
            names: Vec::new().into_iter(),
            next: None,
            started: false,
            done: false,
        }
    }

    /// The next key, `None` at the end: the same as polling the stream, without a
    /// stream library.
    ///
    /// ```
    /// use kv_store_adapter::{KvStore, stores::MemoryStore};
    ///
    /// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
    /// let store = MemoryStore::new();
    /// store.put("c", "k", kv_store_adapter::Bytes::from_static(b"v"), None).await?;
    /// let mut keys = store.list_keys("c", 100);
    /// while let Some(key) = keys.next_key().await {
    ///     assert_eq!(key?, "k");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn next_key(&mut self) -> Option<Result<String>> {
        std::future::poll_fn(|cx| self.poll_key(cx)).await
    }

    fn poll_key(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<String>>> {
        loop {
            if let Some(name) = self.names.next() {
                return Poll::Ready(Some(Ok(name)));
            }
            if self.done {
                return Poll::Ready(None);
            }
            let pending = match &mut self.pending {
                Some(pending) => pending,
                None => {
                    if self.started && self.next.is_none() {
                        self.done = true;
                        continue;
                    }
                    self.started = true;
                    let cursor = self.next.take();
                    self.pending.insert((self.fetch)(cursor))
                }
            };
            let page = std::task::ready!(pending.as_mut().poll(cx));
            self.pending = None;
            match page {
                Ok(page) => {
                    self.names = page.names.into_iter();
                    self.next = page.next;
                    self.done = self.next.is_none();
                }
                Err(e) => {
                    self.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
            }
        }
    }
}

impl futures_core::Stream for KeyStream<'_> {
    type Item = Result<String>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_key(cx)
    }
}

impl fmt::Debug for KeyStream<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyStream")
            .field("buffered", &self.names.len())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_names_are_the_smallest_distinct_ones_in_order() {
        // Repeats and every order of arrival, across several cuts (SLACK).
        let offered: Vec<String> = (0..20_000u64)
            .map(|i| format!("n{:05}", (i * 7_919) % 9_000))
            .collect();
        for limit in [0, 1, 5, 4_095, 4_096, 8_999, 9_000, 12_000, usize::MAX] {
            let mut first = FirstNames::new(limit);
            for name in &offered {
                first.offer(name);
            }
            let mut expected = offered.clone();
            expected.sort_unstable();
            expected.dedup();
            expected.truncate(limit);
            assert_eq!(first.finish(), expected, "limit {limit}");
        }
    }

    #[test]
    fn a_prefix_end_follows_exactly_the_prefix_names() {
        assert_eq!(prefix_end("ab").as_deref(), Some("ac"));
        assert_eq!(prefix_end("a\u{D7FF}").as_deref(), Some("a\u{E000}"));
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{10FFFF}\u{10FFFF}"), None);
        assert_eq!(prefix_end(""), None);
        // Every name with the prefix sorts before the end; every other name after the
        // prefix sorts at or after it — as bytes, as the backends compare.
        let names = [
            "a",
            "ab",
            "ab\u{10FFFF}",
            "ab\u{FFFF}z",
            "aba",
            "ac",
            "b",
            "é",
            "a\u{7F}",
        ];
        for prefix in ["a", "ab", "é", "a\u{7F}"] {
            let end = prefix_end(prefix).unwrap();
            for name in names {
                let inside = name.starts_with(prefix);
                let before_end = name.as_bytes() < end.as_bytes();
                let from_prefix = name.as_bytes() >= prefix.as_bytes();
                assert_eq!(inside, from_prefix && before_end, "{prefix:?} {name:?}");
            }
        }
    }

    #[test]
    fn pages_of_a_sorted_listing_cover_it_once() {
        let names: Vec<String> = ["d", "a", "c", "b", "a"].map(String::from).to_vec();
        let first = Page::of_sorted(names.clone(), None, 2);
        assert_eq!(first.names, ["a", "b"]);
        let second = Page::of_sorted(names.clone(), first.next.as_ref(), 2);
        assert_eq!(second.names, ["c", "d"]);
        assert_eq!(second.next, None);
        assert_eq!(Page::of_sorted(names, None, 0).names, ["a"]);
    }

    #[test]
    fn pages_after_a_cursor_cover_an_unordered_listing_once() {
        // Names offered in any order, with repeats (a SCAN), page after page.
        let offered: Vec<String> = (0..5_000u64)
            .map(|i| format!("c{:04}", (i * 7_919) % 1_234))
            .collect();
        for limit in [1, 7, 1_000, 1_234, 5_000] {
            let (mut seen, mut cursor) = (Vec::new(), None);
            loop {
                let mut page = PageAfter::new(cursor, limit);
                for name in &offered {
                    page.offer(name);
                }
                let page = page.finish();
                assert!(page.names.len() <= limit);
                seen.extend(page.names);
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            let mut expected = offered.clone();
            expected.sort_unstable();
            expected.dedup();
            assert_eq!(seen, expected, "limit {limit}");
        }
    }

    #[test]
    fn part_cursors_say_where_a_listing_of_listings_goes_on() {
        let first = PartCursor::read(None).unwrap();
        assert_eq!((first.part, first.inner), (0, None));
        // A part's own cursor may hold anything, ':' too.
        let on = PartCursor::after(0, 2, Some(Cursor::new("x:1"))).unwrap();
        let read = PartCursor::read(Some(on)).unwrap();
        assert_eq!((read.part, read.inner), (0, Some(Cursor::new("x:1"))));
        let next_part = PartCursor::after(0, 2, None).unwrap();
        let read = PartCursor::read(Some(next_part)).unwrap();
        assert_eq!((read.part, read.inner), (1, None));
        assert_eq!(PartCursor::after(1, 2, None), None);
        for garbage in ["", "x", "-1", ":", "99999999999999999999999:a"] {
            let err = PartCursor::read(Some(Cursor::new(garbage))).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::InvalidKey, "{garbage:?}");
        }
    }
}
