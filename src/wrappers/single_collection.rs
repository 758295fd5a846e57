//! `SingleCollection`: every collection folded into one.

use crate::listing::{FirstNames, PageAfter, Pages, foreign_cursor};
use crate::names::Joined;
use crate::{
    Bytes, Condition, ConditionalWrites, Cull, DeleteOptions, DestroyCollection, DestroyStore,
    Entry, EnumerateCollections, EnumerateKeys, GetOptions, Key, ListOptions, PutOptions, Result,
    Store, Version, Written, names,
};
use crate::{Cursor, Page};

/// Keeps every `(collection, key)` in one collection of the inner store, under the key
/// `{byte length of collection}:{collection}{key}`: injective and reversible, so
/// `collections()` and `keys()` give back the original names. For a store where each
/// collection costs something of its own (a file each in `MultiDiskStore`, a table
/// each in a store of your own), or that offers only one.
///
/// Listing walks the one inner collection page by page: `keys(c)` and
/// `destroy_collection(c)` ask the inner store for the keys starting with `c`'s part
/// ([`keys_page_with_prefix`](crate::EnumerateKeys::keys_page_with_prefix)), and
/// `collections(limit)` reads keys until `limit` names have come, holding a page and
/// those names. Over a store whose key listing is in order
/// ([`Page::in_order`](crate::Page::in_order): `DiskStore`, `MultiDiskStore`,
/// `MemoryStore`, `SimpleStore`, MongoDB, Elasticsearch), a folded collection's keys
/// are together, and `list_collections` reads each inner key about once, each page
/// going on where the last stopped; over one in no order (Redis SCAN), each page of
/// collections reads every inner key.
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

    #[cfg_attr(not(feature = "fuzzing"), allow(dead_code))]
    pub(crate) fn encode(collection: &str, key: &str) -> Joined {
        Self::encode_key(Key::renamed(collection, key))
    }

    /// The inner key of `key`: `len(collection):collection‖key`.
    fn encode_key(key: Key<'_>) -> Joined {
        let mut digits = [0u8; 20];
        let c = key.collection();
        Joined::new([
            decimal(c.len(), &mut digits),
            ":",
            c,
            key.prefix(),
            key.name(),
        ])
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

impl<S: Store> Store for SingleCollection<S> {
    async fn get_opts(&self, k: Key<'_>, o: GetOptions) -> Result<Option<Entry>> {
        let inner = Self::encode_key(k);
        self.inner
            .get_opts(Key::renamed(&self.name, inner.as_str()), o)
            .await
    }

    async fn put_opts(&self, k: Key<'_>, v: Bytes, o: PutOptions) -> Result<()> {
        let inner = Self::encode_key(k);
        self.inner
            .put_opts(Key::renamed(&self.name, inner.as_str()), v, o)
            .await
    }

    async fn delete_opts(&self, k: Key<'_>, o: DeleteOptions) -> Result<bool> {
        let inner = Self::encode_key(k);
        self.inner
            .delete_opts(Key::renamed(&self.name, inner.as_str()), o)
            .await
    }

    async fn get_many_opts(
        &self,
        c: &str,
        keys: &[&str],
        o: GetOptions,
    ) -> Result<Vec<Option<Entry>>> {
        let encoded = Self::encode_all(c, keys.iter());
        self.inner
            .get_many_opts(&self.name, &refs(&encoded), o)
            .await
    }

    async fn put_many_opts(&self, c: &str, entries: &[(&str, Bytes)], o: PutOptions) -> Result<()> {
        let encoded = Self::encode_all(c, entries.iter().map(|(k, _)| k));
        let renamed: Vec<(&str, Bytes)> = encoded
            .iter()
            .zip(entries)
            .map(|(k, (_, v))| (k.as_str(), v.clone()))
            .collect();
        self.inner.put_many_opts(&self.name, &renamed, o).await
    }

    async fn delete_many_opts(&self, c: &str, keys: &[&str], o: DeleteOptions) -> Result<usize> {
        let encoded = Self::encode_all(c, keys.iter());
        self.inner
            .delete_many_opts(&self.name, &refs(&encoded), o)
            .await
    }
}

impl<S: ConditionalWrites> ConditionalWrites for SingleCollection<S> {
    async fn put_if_opts(
        &self,
        k: Key<'_>,
        v: Bytes,
        c: Condition,
        o: PutOptions,
    ) -> Result<Written> {
        let inner = Self::encode_key(k);
        self.inner
            .put_if_opts(Key::renamed(&self.name, inner.as_str()), v, c, o)
            .await
    }

    async fn delete_if_opts(&self, k: Key<'_>, v: Version, o: DeleteOptions) -> Result<bool> {
        let inner = Self::encode_key(k);
        self.inner
            .delete_if_opts(Key::renamed(&self.name, inner.as_str()), v, o)
            .await
    }
}

// Listing one collection and destroying one walk the inner keys that start with its
// head (`Pages`, `keys_page_with_prefix`), a page at a time: an inner store that keeps
// keys in order reads only that collection's. Listing the collections reads the inner
// keys once over such a store, every one per page over another (`folded_page`). Memory
// holds a page and the names being answered.
impl<S: EnumerateKeys> EnumerateKeys for SingleCollection<S> {
    async fn keys_opts(&self, c: &str, opts: ListOptions) -> Result<Vec<String>> {
        let head = Self::head(c);
        Pages::with_prefix(&self.inner, &self.name, &head)
            .pick(opts.limit, |k| {
                k.strip_prefix(head.as_str())
                    .filter(|key| !key.is_empty())
                    .map(str::to_owned)
            })
            .await
    }
    /// A page of the inner collection's keys of `c` that start with `prefix`.
    async fn keys_page_with_prefix(
        &self,
        c: &str,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page> {
        let head = Self::head(c);
        let inner_prefix = format!("{head}{prefix}");
        let mut page = self
            .inner
            .keys_page_with_prefix(&self.name, &inner_prefix, cursor, limit)
            .await?;
        page.names
            .retain(|k| k.starts_with(&head) && k.len() > head.len());
        for k in &mut page.names {
            *k = k.split_off(head.len());
        }
        Ok(page)
    }
    fn walk_page(&self, _c: &str) -> usize {
        self.inner.walk_page(&self.name)
    }
}

impl<S: EnumerateKeys> EnumerateCollections for SingleCollection<S> {
    /// Up to `limit` names, reading the inner keys only until that many have come.
    async fn collections_opts(&self, opts: ListOptions) -> Result<Vec<String>> {
        if opts.limit == 0 {
            return Ok(Vec::new());
        }
        Ok(self.folded_page(None, opts.limit, Wanted::Any).await?.names)
    }
    /// Over an inner store whose key listing is in order ([`Page::in_order`]: each
    /// folded collection's keys are together), the collections of the inner keys from
    /// where the last page stopped, in the order of their inner keys: a whole listing
    /// reads each inner key about once. Otherwise the names after the cursor's, reading
    /// every inner key for each page and keeping one page.
    ///
    /// With a prefix, the page keeps the names that start with it (a page may then
    /// hold none before the end): a folded key's head is the name's length first, so
    /// the prefix's names are not together among the inner keys.
    async fn collections_page_with_prefix(
        &self,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page> {
        let mut page = self.folded_page(cursor, limit, Wanted::Page).await?;
        page.names.retain(|name| name.starts_with(prefix));
        Ok(page)
    }
    fn collections_walk_page(&self) -> usize {
        crate::listing::WALK_PAGE
    }
}

/// What a walk of the folded collections answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wanted {
    /// A page of a listing, and where the next goes on.
    Page,
    /// Any `limit` names (`collections(limit)`), as soon as that many have come.
    Any,
}

impl<S: EnumerateKeys> SingleCollection<S> {
    /// See [`collections_page`](EnumerateCollections::collections_page).
    async fn folded_page(
        &self,
        cursor: Option<Cursor>,
        limit: usize,
        wanted: Wanted,
    ) -> Result<Page> {
        let limit = limit.max(1);
        let at = FoldedCursor::read(cursor)?;
        let mut inner_cursor = match &at {
            FoldedCursor::Ordered { inner, .. } => inner.clone(),
            _ => None,
        };
        // Ask for as many keys as the page wants names, and twice as many each time a
        // page of keys brings too few (large collections), up to the inner store's walk
        // — at once where every page costs a whole listing (`walk_page`'s default).
        let walk = self.inner.walk_page(&self.name);
        let mut ask = if walk == usize::MAX {
            walk
        } else {
            limit.saturating_add(1)
        };
        let mut names: Vec<String> = Vec::new();
        // The head (`len:name`) of the last collection answered: later ones sort after.
        let mut last_head = at.after().map(Self::head);
        loop {
            let page = self
                .inner
                .keys_page_with_prefix(&self.name, "", inner_cursor.clone(), ask.min(walk))
                .await?;
            let unordered = match at {
                FoldedCursor::Unordered { .. } => true,
                // A cursor of the walk in order means nothing to one in no order.
                FoldedCursor::Ordered { .. } if !page.in_order => return Err(foreign_cursor()),
                _ => !page.in_order,
            };
            if unordered {
                let after = at.after().map(str::to_owned);
                return match wanted {
                    Wanted::Page => self.collections_page_unordered(after, page, limit).await,
                    Wanted::Any => self.any_collections(page, limit).await,
                };
            }
            for key in &page.names {
                let Some((c, k)) = Self::decode(key) else {
                    continue;
                };
                let head = &key[..key.len() - k.len()];
                if last_head.as_deref().is_some_and(|last| head <= last) {
                    continue;
                }
                if names.len() == limit {
                    // This page of keys is read again for the next page of names,
                    // from the same inner cursor, skipping what was answered.
                    let next = FoldedCursor::ordered(&names[limit - 1], inner_cursor);
                    return Ok(Page::new(names, Some(next)));
                }
                names.push(c.to_owned());
                if wanted == Wanted::Any && names.len() == limit {
                    return Ok(Page::new(names, None));
                }
                last_head = Some(head.to_owned());
            }
            match page.next {
                Some(next) => inner_cursor = Some(next),
                None => return Ok(Page::new(names, None)),
            }
            ask = ask.saturating_mul(2);
        }
    }

    /// Up to `limit` names from an inner listing in no order whose first page is
    /// `first`, read only until that many have come.
    async fn any_collections(&self, first: Page, limit: usize) -> Result<Page> {
        let decode = |k: &str| Self::decode(k).map(|(c, _)| c.to_owned());
        let mut names = FirstNames::new(limit);
        for c in first.names.iter().filter_map(|k| decode(k)) {
            names.offer_owned(c);
        }
        if first.next.is_some() {
            let mut rest = Pages::new(&self.inner, &self.name).from(first.next);
            while !names.full()
                && let Some(keys) = rest.next().await?
            {
                for c in keys.iter().filter_map(|k| decode(k)) {
                    names.offer_owned(c);
                }
            }
        }
        Ok(Page::new(names.finish(), None))
    }
    /// The names after `after`, from an inner listing in no order whose first page is
    /// `first`: every inner key is read, one page of names kept.
    async fn collections_page_unordered(
        &self,
        after: Option<String>,
        first: Page,
        limit: usize,
    ) -> Result<Page> {
        let mut page = PageAfter::new(after.map(Cursor::new), limit);
        let mut offer = |keys: &[String]| {
            for (c, _) in keys.iter().filter_map(|k| Self::decode(k)) {
                page.offer(c);
            }
        };
        offer(&first.names);
        if first.next.is_some() {
            let mut pages = Pages::new(&self.inner, &self.name).from(first.next);
            while let Some(keys) = pages.next().await? {
                offer(&keys);
            }
        }
        let page = page.finish();
        let next = page.next.map(|c| FoldedCursor::unordered(c.as_str()));
        Ok(Page::new(page.names, next))
    }
}

/// Where a listing of folded collections goes on. Written `o{len}:{after}` then the
/// inner cursor (`-` for none, `+` and the cursor otherwise), or `u{after}`.
#[derive(Debug)]
enum FoldedCursor {
    /// The first page.
    Start,
    /// Over an inner listing in order: after the collection `after`, from the inner
    /// page at `inner`.
    Ordered {
        after: String,
        inner: Option<Cursor>,
    },
    /// Over an inner listing in no order: the names after `after`.
    Unordered { after: String },
}

impl FoldedCursor {
    fn read(cursor: Option<Cursor>) -> Result<Self> {
        let Some(cursor) = cursor else {
            return Ok(Self::Start);
        };
        let text = cursor.as_str();
        if let Some(after) = text.strip_prefix('u') {
            return Ok(Self::Unordered {
                after: after.to_owned(),
            });
        }
        let read = || {
            let (len, rest) = text.strip_prefix('o')?.split_once(':')?;
            let len = crate::names::canonical_len(len.as_bytes())?;
            let (after, rest) = rest.split_at_checked(len)?;
            let inner = match rest.split_at_checked(1)? {
                ("-", "") => None,
                ("+", inner) => Some(Cursor::new(inner)),
                _ => return None,
            };
            Some(Self::Ordered {
                after: after.to_owned(),
                inner,
            })
        };
        read().ok_or_else(foreign_cursor)
    }

    /// The name the page goes on after, if any.
    fn after(&self) -> Option<&str> {
        match self {
            Self::Start => None,
            Self::Ordered { after, .. } | Self::Unordered { after } => Some(after),
        }
    }

    fn ordered(after: &str, inner: Option<Cursor>) -> Cursor {
        let inner = inner.map_or_else(|| "-".to_owned(), |c| format!("+{}", c.as_str()));
        Cursor::new(format!("o{}:{after}{inner}", after.len()))
    }

    fn unordered(after: &str) -> Cursor {
        Cursor::new(format!("u{after}"))
    }
}

impl<S: EnumerateKeys> DestroyCollection for SingleCollection<S> {
    async fn destroy_collection_opts(&self, c: &str) -> Result<()> {
        let head = Self::head(c);
        let mut pages = Pages::with_prefix(&self.inner, &self.name, &head);
        while let Some(names) = pages.next().await? {
            let own: Vec<&str> = names
                .iter()
                .map(String::as_str)
                .filter(|k| k.starts_with(&head) && k.len() > head.len())
                .collect();
            if !own.is_empty() {
                self.inner
                    .delete_many_opts(&self.name, &own, DeleteOptions::default())
                    .await?;
            }
        }
        Ok(())
    }
}

/// Destroying the store destroys the one inner collection.
impl<S: DestroyCollection> DestroyStore for SingleCollection<S> {
    fn destroy_opts(&self) -> impl Future<Output = Result<()>> + Send {
        self.inner.destroy_collection_opts(&self.name)
    }
}

impl<S: Cull> Cull for SingleCollection<S> {
    fn cull_opts(&self) -> impl Future<Output = Result<()>> + Send {
        self.inner.cull_opts()
    }
}
