//! The two faces of a store: [`Store`], which stores and wrappers implement, and
//! [`KvStore`], which callers use and which no store can change.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::listing::{Cursor, KeyStream, Page};
use crate::{Condition, Result, Version, Written, names};

/// The name of one entry as a store receives it: a collection and a key, the key given
/// as a `prefix` and the rest, which together are the key (`prefix ‖ name`).
///
/// A caller's names are checked once, by [`KvStore`], before any store sees them
/// ([`Key::new`] does the same check). Key-prefixing wrappers hand the inner store the
/// prefix as a part of its own, so a store that encodes keys itself (as
/// [`MemoryStore`](crate::stores::MemoryStore) does) encodes both at once and no layer
/// joins them in a buffer first; a store that needs one string asks for
/// [`joined`](Key::joined). Wrappers may derive keys longer than
/// [`MAX_NAME_LEN`](names::MAX_NAME_LEN) (a prefix plus a 4 KiB key).
///
/// `Debug` shows the collection and the key's length, never the key.
///
/// ```
/// use kv_store_adapter::Key;
/// let key = Key::new("users", "ada")?;
/// let mut scratch = String::new();
/// let tenant = key.prefixed("t1/", &mut scratch);
/// assert_eq!((tenant.collection(), tenant.prefix(), tenant.name()), ("users", "t1/", "ada"));
/// assert_eq!(tenant.joined(), "t1/ada");
/// assert!(Key::new("", "ada").is_err());
/// # Ok::<(), kv_store_adapter::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key<'a> {
    collection: &'a str,
    prefix: &'a str,
    name: &'a str,
}

impl<'a> Key<'a> {
    /// The key `key` of `collection`, after checking both names as every caller's are
    /// checked ([`names::check`]).
    #[inline]
    pub fn new(collection: &'a str, key: &'a str) -> Result<Self> {
        names::check(collection, key)?;
        Ok(Self::checked(collection, key))
    }

    /// A key whose names were checked already.
    #[inline(always)]
    pub(crate) fn checked(collection: &'a str, key: &'a str) -> Self {
        Self {
            collection,
            prefix: "",
            name: key,
        }
    }

    /// The collection.
    #[inline(always)]
    pub fn collection(&self) -> &'a str {
        self.collection
    }

    /// The key's first part, what prefixing wrappers added (often empty).
    #[inline(always)]
    pub fn prefix(&self) -> &'a str {
        self.prefix
    }

    /// The key's second part, after [`prefix`](Self::prefix).
    #[inline(always)]
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The whole key, `prefix ‖ name`: borrowed when there is no prefix.
    pub fn joined(&self) -> Cow<'a, str> {
        if self.prefix.is_empty() {
            Cow::Borrowed(self.name)
        } else {
            Cow::Owned([self.prefix, self.name].concat())
        }
    }

    /// The whole key's length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.prefix.len() + self.name.len()
    }

    /// Whether the whole key is empty (never, for a key a caller passed).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// This key with `prefix` in front of it. A key with no prefix yet takes it as its
    /// prefix part (no copy); otherwise the old key is joined into `scratch`.
    #[inline]
    pub fn prefixed<'b>(&self, prefix: &'b str, scratch: &'b mut String) -> Key<'b>
    where
        'a: 'b,
    {
        if self.prefix.is_empty() {
            return Key {
                collection: self.collection,
                prefix,
                name: self.name,
            };
        }
        scratch.clear();
        scratch.push_str(self.prefix);
        scratch.push_str(self.name);
        Key {
            collection: self.collection,
            prefix,
            name: scratch,
        }
    }

    /// This key with `prefix` as its prefix part, when it has none yet (no copy, and
    /// the key lives as long as the prefix and the names): what a wrapper that hands
    /// its inner store the inner store's own future needs. `None` for a key that has a
    /// prefix already; [`prefixed`](Self::prefixed) joins that one.
    ///
    /// ```
    /// use kv_store_adapter::Key;
    ///
    /// let key = Key::new("users", "ada")?;
    /// let tenant = key.try_prefixed("t1/").unwrap();
    /// assert_eq!(tenant.joined(), "t1/ada");
    /// assert!(tenant.try_prefixed("again/").is_none());
    /// # Ok::<(), kv_store_adapter::Error>(())
    /// ```
    #[inline]
    pub fn try_prefixed(&self, prefix: &'a str) -> Option<Key<'a>> {
        self.prefix.is_empty().then_some(Key {
            collection: self.collection,
            prefix,
            name: self.name,
        })
    }

    /// This key in another collection.
    #[inline]
    pub fn in_collection<'b>(&self, collection: &'b str) -> Key<'b>
    where
        'a: 'b,
    {
        Key {
            collection,
            prefix: self.prefix,
            name: self.name,
        }
    }

    /// The key `name` of `collection`, for a wrapper that renames entries (its names
    /// are not checked again).
    pub fn renamed(collection: &'a str, name: &'a str) -> Self {
        Self::checked(collection, name)
    }
}

impl fmt::Debug for Key<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("collection", &self.collection)
            .field("key_len", &self.len())
            .finish()
    }
}

/// A value read from a store, with the time it has left when that was asked for.
///
/// ```
/// use std::time::Duration;
/// use kv_store_adapter::{Bytes, Entry};
/// let entry = Entry::new(Bytes::from_static(b"v"), Some(Duration::from_secs(5)));
/// assert_eq!(entry.value, "v");
/// assert_eq!(entry.expires_in, Some(Duration::from_secs(5)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Entry {
    /// The value; an empty value is a value.
    pub value: Bytes,
    /// The time it has left to live: `None` when it never expires, or when the read did
    /// not ask ([`GetOptions::ttl`] false).
    pub expires_in: Option<Duration>,
    /// The entry's version, for a conditional write ([`ConditionalWrites`]): reported
    /// by every store that has that capability, `None` from the others (and for a
    /// value no store holds, such as [`DefaultValue`](crate::wrappers::DefaultValue)'s).
    pub version: Option<Version>,
}

impl Entry {
    /// An entry of `value` with `expires_in` left (`None`: never expires or not asked).
    #[inline(always)]
    pub fn new(value: Bytes, expires_in: Option<Duration>) -> Self {
        Self {
            value,
            expires_in,
            version: None,
        }
    }

    /// This entry with `version`.
    #[inline(always)]
    pub fn with_version(mut self, version: Option<Version>) -> Self {
        self.version = version;
        self
    }

    /// An entry read without its time to live.
    #[inline(always)]
    pub fn value(value: Bytes) -> Self {
        Self::new(value, None)
    }

    /// This entry with its value changed by `f` (a codec's decoding, say).
    pub fn try_map<E>(
        self,
        f: impl FnOnce(Bytes) -> std::result::Result<Bytes, E>,
    ) -> std::result::Result<Self, E> {
        Ok(Self {
            value: f(self.value)?,
            ..self
        })
    }
}

/// How to read: [`Store::get_opts`] and [`Store::get_many_opts`].
///
/// ```
/// use kv_store_adapter::GetOptions;
/// assert!(!GetOptions::default().ttl);
/// assert!(GetOptions::with_ttl().ttl);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GetOptions {
    /// Also read each entry's remaining time to live into [`Entry::expires_in`].
    pub ttl: bool,
}

impl GetOptions {
    /// Read values and their remaining time to live.
    pub const fn with_ttl() -> Self {
        Self { ttl: true }
    }
}

/// How to write: [`Store::put_opts`] and [`Store::put_many_opts`].
///
/// ```
/// use std::time::Duration;
/// use kv_store_adapter::PutOptions;
/// assert_eq!(PutOptions::default().ttl, None);
/// assert_eq!(PutOptions::expiring(Some(Duration::from_secs(1))).ttl, Some(Duration::from_secs(1)));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PutOptions {
    /// How long the value lives: `None` never expires. Checked by [`KvStore`] (non-zero,
    /// at most [`names::MAX_TTL`]); a store converts it through [`names::bounded`].
    pub ttl: Option<Duration>,
}

impl PutOptions {
    /// Write with `ttl`.
    pub const fn expiring(ttl: Option<Duration>) -> Self {
        Self { ttl }
    }
}

/// How to delete: [`Store::delete_opts`] and [`Store::delete_many_opts`]. No field yet:
/// it is where a conditional delete will go without changing any store's signature.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteOptions {}

/// How to list: [`EnumerateKeys::keys_opts`] and [`EnumerateCollections::collections_opts`].
///
/// ```
/// use kv_store_adapter::ListOptions;
/// assert_eq!(ListOptions::limit(10).limit, 10);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListOptions {
    /// The most names to answer.
    pub limit: usize,
}

impl ListOptions {
    /// List up to `limit` names.
    pub const fn limit(limit: usize) -> Self {
        Self { limit }
    }
}

impl Default for ListOptions {
    /// No limit.
    fn default() -> Self {
        Self::limit(usize::MAX)
    }
}

/// The implementor's trait: what a store or wrapper writes. Callers use [`KvStore`],
/// which every `Store` has and which checks names and TTLs before calling these
/// methods.
///
/// Three methods are required, each taking the checked [`Key`] and an options struct
/// (`#[non_exhaustive]`: new options are added without breaking a store). The batch
/// methods have defaults that loop over the single-key ones; a backend overrides them
/// with its native batch calls. A wrapper calls its inner store's `Store` methods, so
/// names are checked once per call, at the outermost layer; it forwards what it does
/// not change with [`forward_methods!`](crate::forward_methods) and keeps its inner
/// store's capabilities with [`forward_capabilities!`](crate::forward_capabilities).
///
/// Futures are `Send`, so generic code over `S: Store` can `tokio::spawn`.
///
/// # Rules every store and wrapper keeps
///
/// - **TTLs.** `None` never expires; zero, or more than [`names::MAX_TTL`], is an
///   [`InvalidTtl`](crate::ErrorDetail::InvalidTtl) error from [`KvStore`], before
///   anything is written. A TTL a wrapper chooses itself stays within the same bound,
///   and a store converts every TTL through [`names::bounded`], so no `Duration` —
///   `Duration::MAX` through [`put_opts`](Self::put_opts) included — can panic.
/// - **Lazy futures.** Creating a method's future reads and writes nothing; the work
///   happens when it is polled, and a future dropped unpolled has no effect.
///   [`KvStore`]'s calls create the store's future before polling it, and wrappers
///   such as [`Fallback`](crate::wrappers::Fallback) drop futures they never polled.
///   An `async fn` is lazy; a hand-written future does its work in `poll`.
/// - **Many instances.** Two instances constructed separately on one backend and
///   namespace (two processes) see one state: what one writes, deletes or destroys is
///   what the other reads, lists and writes next. Nothing an instance remembers (a
///   prepared collection, a namespace generation) may change that; a store whose
///   backend forces a delay documents its bound (memcached: `generation_refresh`).
///   Clones of a process-local store share one state.
/// - **Bounded time and memory.** Network stores have connect and operation
///   timeouts ([`Timeouts`](crate::stores::Timeouts)); per-name state has a cap. A
///   listing or destroy holds what it answers and one page of the backend's cursor,
///   never everything it reads on the way (a SCAN over the database, the other
///   prefixes' keys of a shared collection); a streamed listing
///   ([`list_keys`](KvStore::list_keys), [`list_collections`](KvStore::list_collections))
///   holds one page. Nothing the backend keeps grows with the number of collections
///   ever written.
/// - **One lifetime.** The single-key methods take the store and the [`Key`] for one
///   lifetime `'a`, so a wrapper may hand its inner store a key that borrows from the
///   wrapper (a prefix it keeps) and answer the inner store's future as its own,
///   with no `async` layer of its own to build and move ([`Key::try_prefixed`]). An
///   implementation may still write `async fn get_opts(&self, key: Key<'_>, …)`.
/// - **Messages.** No secret (see [`redact`](crate::redact)) and no key (see
///   [`Error::key`](crate::Error::key)) appears in an error's text.
///
/// [`testkit`](crate::testkit) checks these rules for a single instance
/// ([`basics`](crate::testkit::basics), …) and for two
/// ([`instances`](crate::testkit::instances)).
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
/// use kv_store_adapter::{Bytes, DeleteOptions, Entry, GetOptions, Key, KvStore, PutOptions, Result, Store};
///
/// /// A store of one process, without expiry (it refuses TTLs).
/// #[derive(Default)]
/// struct Map(Mutex<HashMap<(String, String), Bytes>>);
///
/// impl Store for Map {
///     async fn get_opts(&self, key: Key<'_>, _: GetOptions) -> Result<Option<Entry>> {
///         let map = self.0.lock().unwrap();
///         let found = map.get(&(key.collection().to_owned(), key.joined().into_owned()));
///         Ok(found.cloned().map(Entry::value))
///     }
///     async fn put_opts(&self, key: Key<'_>, value: Bytes, opts: PutOptions) -> Result<()> {
///         if opts.ttl.is_some() {
///             return Err(kv_store_adapter::Error::unsupported("TTLs"));
///         }
///         let mut map = self.0.lock().unwrap();
///         map.insert((key.collection().to_owned(), key.joined().into_owned()), value);
///         Ok(())
///     }
///     async fn delete_opts(&self, key: Key<'_>, _: DeleteOptions) -> Result<bool> {
///         let mut map = self.0.lock().unwrap();
///         Ok(map.remove(&(key.collection().to_owned(), key.joined().into_owned())).is_some())
///     }
/// }
///
/// # #[tokio::main] async fn main() -> Result<()> {
/// let store = Map::default();
/// store.put("users", "ada", Bytes::from_static(b"Lovelace"), None).await?;
/// assert_eq!(store.get("users", "ada").await?, Some(Bytes::from_static(b"Lovelace")));
/// assert!(store.get("", "ada").await.is_err()); // checked before the store sees it
/// # Ok(()) }
/// ```
pub trait Store: Send + Sync {
    /// Reads one entry (with its remaining TTL when `opts.ttl`).
    fn get_opts<'a>(
        &'a self,
        key: Key<'a>,
        opts: GetOptions,
    ) -> impl Future<Output = Result<Option<Entry>>> + Send;

    /// Writes one value, replacing value and expiry together.
    fn put_opts<'a>(
        &'a self,
        key: Key<'a>,
        value: Bytes,
        opts: PutOptions,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Deletes one entry, answering whether it existed.
    fn delete_opts<'a>(
        &'a self,
        key: Key<'a>,
        opts: DeleteOptions,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Reads many entries of `collection`, one answer per key in request order (a key
    /// asked twice is answered twice). Never called with no keys.
    fn get_many_opts(
        &self,
        collection: &str,
        keys: &[&str],
        opts: GetOptions,
    ) -> impl Future<Output = Result<Vec<Option<Entry>>>> + Send {
        async move {
            let mut out = Vec::with_capacity(keys.len());
            for key in keys {
                out.push(self.get_opts(Key::checked(collection, key), opts).await?);
            }
            Ok(out)
        }
    }

    /// Writes many values of `collection` with one set of options; of duplicate keys
    /// the last wins. Never called with no entries.
    fn put_many_opts(
        &self,
        collection: &str,
        entries: &[(&str, Bytes)],
        opts: PutOptions,
    ) -> impl Future<Output = Result<()>> + Send {
        async move {
            for (key, value) in entries {
                self.put_opts(Key::checked(collection, key), value.clone(), opts)
                    .await?;
            }
            Ok(())
        }
    }

    /// Deletes many entries of `collection`, answering how many distinct existing
    /// entries were removed. Never called with no keys.
    fn delete_many_opts(
        &self,
        collection: &str,
        keys: &[&str],
        opts: DeleteOptions,
    ) -> impl Future<Output = Result<usize>> + Send {
        async move {
            let mut removed = 0;
            for key in keys {
                removed += usize::from(
                    self.delete_opts(Key::checked(collection, key), opts)
                        .await?,
                );
            }
            Ok(removed)
        }
    }

    /// The name of the store's type, for [`observe`](crate::observe)'s spans and
    /// metrics; a store that boxes another (`BoxStore`) names the boxed one.
    #[doc(hidden)]
    fn observed_name(&self) -> &'static str {
        std::any::type_name::<Self>()
    }
}

/// Capability: list the live keys of a collection.
pub trait EnumerateKeys: Store {
    /// Up to `opts.limit` live keys of `collection` (a checked name), complete (never a
    /// partial scan page), exactly as they were written.
    fn keys_opts(
        &self,
        collection: &str,
        opts: ListOptions,
    ) -> impl Future<Output = Result<Vec<String>>> + Send;

    /// The page of `collection`'s live keys at `cursor` (`None`: the first page): up to
    /// about `limit` names, and the next page's cursor, `None` after the last. A page
    /// may hold fewer names than asked, even none, before the end. A key live for the
    /// whole listing is in some page; one written or deleted meanwhile may be or not;
    /// where the backend's cursor allows it (Redis SCAN) a key may come twice.
    ///
    /// It is [`keys_page_with_prefix`](Self::keys_page_with_prefix) with the prefix
    /// `""`: a store or wrapper implements that one.
    fn keys_page(
        &self,
        collection: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> impl Future<Output = Result<Page>> + Send {
        self.keys_page_with_prefix(collection, "", cursor, limit)
    }

    /// [`keys_page`](Self::keys_page) of only the keys that start with `prefix` (whole
    /// keys, prefix included; `""` is every key). Its cursors go back to this method
    /// with the same prefix.
    ///
    /// The default lists the collection with [`keys_opts`](Self::keys_opts) for every
    /// page, keeps the prefix's keys and pages through them in name order: right for a
    /// store whose size is bounded (it holds the whole listing while it pages). A store
    /// with a native cursor overrides it — starting at the prefix and stopping after
    /// it where its backend keeps keys in order, or matching on its server — so that a
    /// listing of any size holds one page and one prefix's keys in a large shared
    /// collection cost what they hold; it overrides [`walk_page`](Self::walk_page) too.
    /// [`PrefixKeys`](crate::wrappers::PrefixKeys) and
    /// [`SingleCollection`](crate::wrappers::SingleCollection) list through it.
    fn keys_page_with_prefix(
        &self,
        collection: &str,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> impl Future<Output = Result<Page>> + Send {
        async move {
            let mut all = self.keys_opts(collection, ListOptions::default()).await?;
            all.retain(|k| k.starts_with(prefix));
            Ok(Page::of_sorted(all, cursor.as_ref(), limit))
        }
    }

    /// How many names a wrapper that walks `collection`'s listing page by page (to keep
    /// one prefix's keys, or one folded collection's) asks for a page.
    ///
    /// The default, `usize::MAX`, suits the default
    /// [`keys_page_with_prefix`](Self::keys_page_with_prefix), which lists the whole
    /// collection for every page: one page is the cheapest walk
    /// (a thousand pages of a bounded store's 100,000 keys would list them a hundred
    /// times over). A store with a native cursor answers a page size it serves cheaply
    /// — this crate's stores 1,000 — so a walk holds one page, never the collection;
    /// a wrapper answers its inner store's.
    ///
    /// ```
    /// use kv_store_adapter::{EnumerateKeys, stores::MemoryStore};
    ///
    /// // MemoryStore pages by listing everything: walk it in one page.
    /// assert_eq!(MemoryStore::new().walk_page("c"), usize::MAX);
    /// ```
    fn walk_page(&self, collection: &str) -> usize {
        let _ = collection;
        usize::MAX
    }
}

/// Capability: list the collections that hold at least one live entry.
pub trait EnumerateCollections: Store {
    /// Up to `opts.limit` collection names, exactly as they were written.
    fn collections_opts(
        &self,
        opts: ListOptions,
    ) -> impl Future<Output = Result<Vec<String>>> + Send;

    /// The page of collection names at `cursor` (`None`: the first page): up to about
    /// `limit` names, and the next page's cursor, `None` after the last. As with
    /// [`keys_page`](EnumerateKeys::keys_page), a page may hold fewer names than
    /// asked, even none, before the end; a collection live for the whole listing is in
    /// some page, one written or emptied meanwhile may be or not. Pages come in an
    /// order of the store's choosing, and say when it is name order
    /// ([`Page::in_order`]).
    ///
    /// It is [`collections_page_with_prefix`](Self::collections_page_with_prefix) with
    /// the prefix `""`: a store or wrapper implements that one.
    ///
    /// Paging by hand, as an HTTP API handing its caller a cursor would:
    ///
    /// ```
    /// use kv_store_adapter::{Bytes, Cursor, EnumerateCollections, KvStore, stores::MemoryStore};
    ///
    /// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
    /// let store = MemoryStore::new();
    /// for c in ["a", "b", "c"] {
    ///     store.put(c, "k", Bytes::from_static(b"v"), None).await?;
    /// }
    /// let first = store.collections_page(None, 2).await?;
    /// assert_eq!(first.names, ["a", "b"]);
    /// let token: String = first.next.unwrap().as_str().to_owned();
    /// let second = store.collections_page(Some(Cursor::new(token)), 2).await?;
    /// assert_eq!((second.names, second.next), (vec!["c".to_owned()], None));
    /// # Ok(()) }
    /// ```
    fn collections_page(
        &self,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> impl Future<Output = Result<Page>> + Send {
        self.collections_page_with_prefix("", cursor, limit)
    }

    /// [`collections_page`](Self::collections_page) of only the names that start with
    /// `prefix` (`""`: every name). Its cursors go back to this method with the same
    /// prefix.
    ///
    /// The default lists every name with [`collections_opts`](Self::collections_opts)
    /// for every page, keeps the prefix's and pages through them in name order: right
    /// for a store whose size is bounded. A store that can start a listing at a name
    /// overrides it — starting at the prefix, or after the cursor's name, and stopping
    /// after the prefix's names — so that listing any number of collections holds one
    /// page and one prefix's collections among many cost what they hold; this crate's
    /// stores with a backend do, and its wrappers pass it on
    /// ([`PrefixCollections`](crate::wrappers::PrefixCollections) lists through it).
    /// Where nothing can start after a name, each page still reads every name and
    /// keeps one page: Redis without the key index (a SCAN of the namespace),
    /// `MultiDiskStore` (its directory), `SingleCollection` over a store whose key
    /// listing is in no order (its inner collection; over one in order,
    /// [`Page::in_order`], a page goes on where the last stopped).
    ///
    /// ```
    /// use kv_store_adapter::{Bytes, EnumerateCollections, KvStore, stores::MemoryStore};
    ///
    /// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
    /// let store = MemoryStore::new();
    /// for c in ["tenant-a:users", "tenant-a:carts", "tenant-b:users"] {
    ///     store.put(c, "k", Bytes::from_static(b"v"), None).await?;
    /// }
    /// let page = store.collections_page_with_prefix("tenant-a:", None, 10).await?;
    /// assert_eq!(page.names, ["tenant-a:carts", "tenant-a:users"]);
    /// # Ok(()) }
    /// ```
    fn collections_page_with_prefix(
        &self,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> impl Future<Output = Result<Page>> + Send {
        async move {
            let mut all = self.collections_opts(ListOptions::default()).await?;
            all.retain(|name| name.starts_with(prefix));
            Ok(Page::of_sorted(all, cursor.as_ref(), limit))
        }
    }

    /// How many names a wrapper that walks the collections page by page asks for a
    /// page: as [`EnumerateKeys::walk_page`], `usize::MAX` (one page) for the default
    /// [`collections_page`](Self::collections_page), a page size served cheaply
    /// (1,000) for a store that overrides it; a wrapper answers its inner store's.
    ///
    /// ```
    /// use kv_store_adapter::{EnumerateCollections, stores::MemoryStore};
    ///
    /// assert_eq!(MemoryStore::new().collections_walk_page(), usize::MAX);
    /// ```
    fn collections_walk_page(&self) -> usize {
        usize::MAX
    }
}

/// Capability: remove one whole collection.
pub trait DestroyCollection: Store {
    /// Removes every entry of `collection` (a checked name) and nothing else; it is
    /// usable again at once.
    fn destroy_collection_opts(&self, collection: &str) -> impl Future<Output = Result<()>> + Send;
}

/// Capability: remove everything this store wrote, and nothing else.
pub trait DestroyStore: Store {
    /// Removes every entry this store wrote.
    fn destroy_opts(&self) -> impl Future<Output = Result<()>> + Send;
}

/// Capability: reclaim the space of expired entries now.
pub trait Cull: Store {
    /// Removes expired entries (they are already invisible to reads).
    fn cull_opts(&self) -> impl Future<Output = Result<()>> + Send;
}

/// Capability: conditional writes — create only if absent, replace or delete only if
/// the entry still has the [`Version`] the caller read — each one atomic step on the
/// backend, so that many processes sharing it can build locks, idempotency keys and
/// lost-update-free read-modify-write on it.
///
/// # Rules
///
/// - Every read ([`get_opts`](Store::get_opts) and the batches) reports each entry's
///   [`Entry::version`]; every write (plain ones included) gives the entry a new
///   version, and no two writes of one entry share one, a delete and re-create
///   included.
/// - [`Condition::Absent`] applies only where no live entry is: an expired entry is
///   absent. [`Condition::Version`] applies only to a live entry of exactly that
///   version.
/// - An applied write replaces value and expiry together, with `opts.ttl`, exactly as a
///   plain put; a rejected one writes nothing and answers [`Written::Rejected`], not an
///   error.
/// - A store that cannot do one of these atomically does not implement this trait.
///
/// [`testkit::conditional_writes`](crate::testkit) checks these rules, with racing tasks over
/// one instance and over two.
///
/// ```
/// use kv_store_adapter::{Bytes, KvStore, Written, stores::MemoryStore};
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let store = MemoryStore::new();
/// assert!(store.create("locks", "job-7", Bytes::from_static(b"worker-1"), None).await?.is_applied());
/// // A second worker finds the lock taken, and by whom.
/// let taken = store.create("locks", "job-7", Bytes::from_static(b"worker-2"), None).await?;
/// assert_eq!(taken.current().unwrap().value, "worker-1");
///
/// // Compare-and-swap: replace only what was read.
/// let read = store.get_entry("locks", "job-7").await?.unwrap();
/// let version = read.version.unwrap();
/// let renewed = store.put_if_version("locks", "job-7", Bytes::from_static(b"worker-1"), version, None).await?;
/// assert!(renewed.is_applied());
/// // The version read before is stale now: nothing is written.
/// let stale = store.put_if_version("locks", "job-7", Bytes::from_static(b"worker-3"), version, None).await?;
/// assert!(matches!(stale, Written::Rejected(_)));
/// assert!(!store.delete_if_version("locks", "job-7", version).await?);
/// # Ok(()) }
/// ```
pub trait ConditionalWrites: Store {
    /// Writes `value` under `key` if `condition` holds, as one atomic step.
    fn put_if_opts<'a>(
        &'a self,
        key: Key<'a>,
        value: Bytes,
        condition: Condition,
        opts: PutOptions,
    ) -> impl Future<Output = Result<Written>> + Send;

    /// Deletes the entry under `key` if it is live with `version`, as one atomic step;
    /// answers whether it did.
    fn delete_if_opts<'a>(
        &'a self,
        key: Key<'a>,
        version: Version,
        opts: DeleteOptions,
    ) -> impl Future<Output = Result<bool>> + Send;
}

/// Collects a batch's keys into the slice a [`Store`] takes.
fn key_strs<I>(items: &[I]) -> Vec<&str>
where
    I: AsRef<str>,
{
    items.iter().map(AsRef::as_ref).collect()
}

/// One `(key, value)` of a [`KvStore::put_many`] batch: a pair, or a reference to one.
pub trait BatchEntry {
    /// The key.
    fn key(&self) -> &str;
    /// The value (a cheap reference-counted copy for a borrowed pair).
    fn value(&self) -> Bytes;
}

impl<K: AsRef<str>> BatchEntry for (K, Bytes) {
    fn key(&self) -> &str {
        self.0.as_ref()
    }
    fn value(&self) -> Bytes {
        self.1.clone()
    }
}

impl<E: BatchEntry + ?Sized> BatchEntry for &E {
    fn key(&self) -> &str {
        (**self).key()
    }
    fn value(&self) -> Bytes {
        (**self).value()
    }
}

/// The caller's trait: every [`Store`] has it (a blanket implementation, so no store
/// can change it). Each method checks names and TTLs as the contract says, before any
/// I/O, then calls the store; errors carry the store, operation and collection
/// ([`Error::operation`](crate::Error::operation)), and [`observe`](crate::observe)
/// gives each call a span and metrics.
///
/// Batches take any keys that are strings (`&[&str]`, `Vec<String>`, an iterator).
///
/// ```
/// use std::time::Duration;
/// use bytes::Bytes;
/// use kv_store_adapter::{KvStore, stores::MemoryStore};
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let store = MemoryStore::new();
/// store.put("users", "ada", Bytes::from_static(b"Lovelace"), Some(Duration::from_secs(60))).await?;
/// assert_eq!(store.get("users", "ada").await?, Some(Bytes::from_static(b"Lovelace")));
/// let entry = store.ttl("users", "ada").await?.unwrap();
/// assert!(entry.expires_in.unwrap() <= Duration::from_secs(60));
/// let names = vec!["ada".to_string(), "grace".to_string()];
/// assert_eq!(store.get_many("users", &names).await?.iter().flatten().count(), 1);
/// assert!(store.delete("users", "ada").await?);
/// # Ok(()) }
/// ```
pub trait KvStore: Store {
    /// The value under `collection`/`key`, or `None`. An empty value is a value.
    #[inline]
    fn get<'a>(
        &'a self,
        collection: &'a str,
        key: &'a str,
    ) -> impl Future<Output = Result<Option<Bytes>>> + Send + 'a {
        crate::observe::direct!(
            self,
            "get",
            collection,
            Some(key),
            Key::new(collection, key).map(|k| self.get_opts(k, GetOptions::default())),
            |entry: Option<Entry>| entry.map(|e| e.value)
        )
    }

    /// Stores `value`, replacing any earlier value *and* expiry. `ttl: None` never
    /// expires; a zero TTL is an [`InvalidTtl`](crate::ErrorDetail::InvalidTtl) error.
    #[inline]
    fn put<'a>(
        &'a self,
        collection: &'a str,
        key: &'a str,
        value: Bytes,
        ttl: Option<Duration>,
    ) -> impl Future<Output = Result<()>> + Send + 'a {
        self.put_with(collection, key, value, PutOptions::expiring(ttl))
    }

    /// [`put`](Self::put) with every option.
    #[inline]
    fn put_with<'a>(
        &'a self,
        collection: &'a str,
        key: &'a str,
        value: Bytes,
        opts: PutOptions,
    ) -> impl Future<Output = Result<()>> + Send + 'a {
        crate::observe::direct!(
            self,
            "put",
            collection,
            Some(key),
            Key::new(collection, key)
                .and_then(|k| names::check_ttl(opts.ttl).map(|()| k))
                .map(|k| self.put_opts(k, value, opts)),
            |()| ()
        )
    }

    /// Removes the entry, answering whether it existed.
    #[inline]
    fn delete<'a>(
        &'a self,
        collection: &'a str,
        key: &'a str,
    ) -> impl Future<Output = Result<bool>> + Send + 'a {
        crate::observe::direct!(
            self,
            "delete",
            collection,
            Some(key),
            Key::new(collection, key).map(|k| self.delete_opts(k, DeleteOptions::default())),
            |existed: bool| existed
        )
    }

    /// The value and its remaining time to live ([`Entry::expires_in`] is `None` for
    /// an entry that never expires).
    #[inline]
    fn ttl<'a>(
        &'a self,
        collection: &'a str,
        key: &'a str,
    ) -> impl Future<Output = Result<Option<Entry>>> + Send + 'a {
        crate::observe::direct!(
            self,
            "ttl",
            collection,
            Some(key),
            Key::new(collection, key).map(|k| self.get_opts(k, GetOptions::with_ttl())),
            |entry: Option<Entry>| entry
        )
    }

    /// The value with its [`Entry::version`] (for a conditional write), without its
    /// TTL.
    #[inline]
    fn get_entry<'a>(
        &'a self,
        collection: &'a str,
        key: &'a str,
    ) -> impl Future<Output = Result<Option<Entry>>> + Send + 'a {
        crate::observe::direct!(
            self,
            "get_entry",
            collection,
            Some(key),
            Key::new(collection, key).map(|k| self.get_opts(k, GetOptions::default())),
            |entry: Option<Entry>| entry
        )
    }

    /// Stores `value` only if no live entry is under `collection`/`key` (an expired one
    /// counts as absent), atomically: of many callers racing, exactly one applies and
    /// the others are answered [`Written::Rejected`] with the winner's entry where the
    /// store read it. `ttl` as in [`put`](Self::put).
    fn create<'a>(
        &'a self,
        collection: &'a str,
        key: &'a str,
        value: Bytes,
        ttl: Option<Duration>,
    ) -> impl Future<Output = Result<Written>> + Send + 'a
    where
        Self: ConditionalWrites,
    {
        self.put_if(
            collection,
            key,
            value,
            Condition::Absent,
            PutOptions::expiring(ttl),
        )
    }

    /// Stores `value` only if the entry is live with `version` (compare-and-swap): a
    /// write by anyone since `version` was read makes it [`Written::Rejected`], with the
    /// current entry where the store read it. `ttl` as in [`put`](Self::put).
    fn put_if_version<'a>(
        &'a self,
        collection: &'a str,
        key: &'a str,
        value: Bytes,
        version: Version,
        ttl: Option<Duration>,
    ) -> impl Future<Output = Result<Written>> + Send + 'a
    where
        Self: ConditionalWrites,
    {
        self.put_if(
            collection,
            key,
            value,
            Condition::Version(version),
            PutOptions::expiring(ttl),
        )
    }

    /// A conditional write with every option; see [`ConditionalWrites`].
    fn put_if<'a>(
        &'a self,
        collection: &'a str,
        key: &'a str,
        value: Bytes,
        condition: Condition,
        opts: PutOptions,
    ) -> impl Future<Output = Result<Written>> + Send + 'a
    where
        Self: ConditionalWrites,
    {
        crate::observe::direct!(
            self,
            "put_if",
            collection,
            Some(key),
            Key::new(collection, key)
                .and_then(|k| names::check_ttl(opts.ttl).map(|()| k))
                .map(|k| self.put_if_opts(k, value, condition, opts)),
            |written: Written| written
        )
    }

    /// Removes the entry only if it is live with `version`; answers whether it did.
    fn delete_if_version<'a>(
        &'a self,
        collection: &'a str,
        key: &'a str,
        version: Version,
    ) -> impl Future<Output = Result<bool>> + Send + 'a
    where
        Self: ConditionalWrites,
    {
        crate::observe::direct!(
            self,
            "delete_if_version",
            collection,
            Some(key),
            Key::new(collection, key).map(|k| self.delete_if_opts(
                k,
                version,
                DeleteOptions::default()
            )),
            |deleted: bool| deleted
        )
    }

    /// One answer per key, in request order; a key asked twice is answered twice.
    fn get_many<I>(
        &self,
        collection: &str,
        keys: I,
    ) -> impl Future<Output = Result<Vec<Option<Bytes>>>> + Send
    where
        I: IntoIterator<Item: AsRef<str> + Send>,
    {
        let keys: Vec<I::Item> = keys.into_iter().collect();
        crate::observe::checked!(self, "get_many", collection, None, Some(keys.len()), {
            let keys = key_strs(&keys);
            names::check_all(collection, keys.iter().copied())?;
            if keys.is_empty() {
                return Ok(Vec::new());
            }
            let entries = self
                .get_many_opts(collection, &keys, GetOptions::default())
                .await?;
            Ok(entries.into_iter().map(|e| e.map(|e| e.value)).collect())
        })
    }

    /// Stores every `(key, value)` pair with one TTL; of duplicate keys the last wins.
    fn put_many<I>(
        &self,
        collection: &str,
        entries: I,
        ttl: Option<Duration>,
    ) -> impl Future<Output = Result<()>> + Send
    where
        I: IntoIterator<Item: BatchEntry + Send>,
    {
        let entries: Vec<I::Item> = entries.into_iter().collect();
        crate::observe::checked!(self, "put_many", collection, None, Some(entries.len()), {
            let pairs: Vec<(&str, Bytes)> = entries.iter().map(|e| (e.key(), e.value())).collect();
            names::check_all(collection, pairs.iter().map(|(key, _)| *key))?;
            names::check_ttl(ttl)?;
            if pairs.is_empty() {
                return Ok(());
            }
            self.put_many_opts(collection, &pairs, PutOptions::expiring(ttl))
                .await
        })
    }

    /// Removes every listed entry, answering how many distinct existing entries went.
    fn delete_many<I>(
        &self,
        collection: &str,
        keys: I,
    ) -> impl Future<Output = Result<usize>> + Send
    where
        I: IntoIterator<Item: AsRef<str> + Send>,
    {
        let keys: Vec<I::Item> = keys.into_iter().collect();
        crate::observe::checked!(self, "delete_many", collection, None, Some(keys.len()), {
            let keys = key_strs(&keys);
            names::check_all(collection, keys.iter().copied())?;
            if keys.is_empty() {
                return Ok(0);
            }
            self.delete_many_opts(collection, &keys, DeleteOptions::default())
                .await
        })
    }

    /// One value-and-TTL answer per key, in request order.
    fn ttl_many<I>(
        &self,
        collection: &str,
        keys: I,
    ) -> impl Future<Output = Result<Vec<Option<Entry>>>> + Send
    where
        I: IntoIterator<Item: AsRef<str> + Send>,
    {
        let keys: Vec<I::Item> = keys.into_iter().collect();
        crate::observe::checked!(self, "ttl_many", collection, None, Some(keys.len()), {
            let keys = key_strs(&keys);
            names::check_all(collection, keys.iter().copied())?;
            if keys.is_empty() {
                return Ok(Vec::new());
            }
            self.get_many_opts(collection, &keys, GetOptions::with_ttl())
                .await
        })
    }

    /// Up to `limit` live keys of `collection`, exactly as they were written.
    fn keys(
        &self,
        collection: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<String>>> + Send
    where
        Self: EnumerateKeys,
    {
        crate::observe::checked!(self, "keys", collection, None, None, {
            names::check_name(collection)?;
            self.keys_opts(collection, ListOptions::limit(limit)).await
        })
    }

    /// Every live key of `collection`, as a stream read a page of about `page_size` at
    /// a time ([`EnumerateKeys::keys_page`]): memory holds one page, however large the
    /// collection. The name is checked when the first page is asked for.
    ///
    /// ```
    /// use kv_store_adapter::{Bytes, KvStore, stores::MemoryStore};
    ///
    /// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
    /// let store = MemoryStore::new();
    /// for k in ["a", "b", "c"] {
    ///     store.put("c", k, Bytes::from_static(b"v"), None).await?;
    /// }
    /// let mut keys = store.list_keys("c", 2);
    /// let mut seen = Vec::new();
    /// while let Some(key) = keys.next_key().await {
    ///     seen.push(key?);
    /// }
    /// seen.sort();
    /// assert_eq!(seen, ["a", "b", "c"]);
    /// # Ok(()) }
    /// ```
    fn list_keys<'a>(&'a self, collection: &'a str, page_size: usize) -> KeyStream<'a>
    where
        Self: EnumerateKeys + Sized,
    {
        self.list_keys_with_prefix(collection, "", page_size)
    }

    /// The live keys of `collection` that start with `prefix`, as a stream read a page
    /// of about `page_size` at a time ([`EnumerateKeys::keys_page_with_prefix`]): the
    /// stores of this crate start at the prefix and stop after it, so the other keys
    /// of the collection are not read.
    ///
    /// ```
    /// use kv_store_adapter::{Bytes, KvStore, stores::MemoryStore};
    ///
    /// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
    /// let store = MemoryStore::new();
    /// for k in ["user:1", "user:2", "order:1"] {
    ///     store.put("c", k, Bytes::from_static(b"v"), None).await?;
    /// }
    /// let mut keys = store.list_keys_with_prefix("c", "user:", 100);
    /// let mut seen = Vec::new();
    /// while let Some(key) = keys.next_key().await {
    ///     seen.push(key?);
    /// }
    /// seen.sort();
    /// assert_eq!(seen, ["user:1", "user:2"]);
    /// # Ok(()) }
    /// ```
    fn list_keys_with_prefix<'a>(
        &'a self,
        collection: &'a str,
        prefix: &'a str,
        page_size: usize,
    ) -> KeyStream<'a>
    where
        Self: EnumerateKeys + Sized,
    {
        KeyStream::new(move |cursor| {
            Box::pin(crate::observe::checked!(
                self,
                "keys",
                collection,
                None,
                None,
                {
                    names::check_name(collection)?;
                    self.keys_page_with_prefix(collection, prefix, cursor, page_size)
                        .await
                }
            ))
        })
    }

    /// Up to `limit` names of collections holding at least one live entry.
    fn collections(&self, limit: usize) -> impl Future<Output = Result<Vec<String>>> + Send
    where
        Self: EnumerateCollections,
    {
        crate::observe::checked!(self, "collections", "", None, None, {
            self.collections_opts(ListOptions::limit(limit)).await
        })
    }

    /// Every collection holding at least one live entry, as a stream of names read a
    /// page of about `page_size` at a time ([`EnumerateCollections::collections_page`]):
    /// memory holds one page, however many collections the store has.
    ///
    /// ```
    /// use kv_store_adapter::{Bytes, KvStore, stores::MemoryStore};
    ///
    /// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
    /// let store = MemoryStore::new();
    /// for c in ["users", "orders", "carts"] {
    ///     store.put(c, "k", Bytes::from_static(b"v"), None).await?;
    /// }
    /// let mut names = store.list_collections(2);
    /// let mut seen = Vec::new();
    /// while let Some(name) = names.next_key().await {
    ///     seen.push(name?);
    /// }
    /// seen.sort();
    /// assert_eq!(seen, ["carts", "orders", "users"]);
    /// # Ok(()) }
    /// ```
    fn list_collections(&self, page_size: usize) -> KeyStream<'_>
    where
        Self: EnumerateCollections + Sized,
    {
        self.list_collections_with_prefix("", page_size)
    }

    /// The collections holding a live entry whose names start with `prefix`, as a
    /// stream read a page of about `page_size` at a time
    /// ([`EnumerateCollections::collections_page_with_prefix`]): the stores of this
    /// crate start at the prefix and stop after it (a tenant's collections among
    /// every tenant's).
    ///
    /// ```
    /// use kv_store_adapter::{Bytes, KvStore, stores::MemoryStore};
    ///
    /// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
    /// let store = MemoryStore::new();
    /// for c in ["a:users", "a:orders", "b:users"] {
    ///     store.put(c, "k", Bytes::from_static(b"v"), None).await?;
    /// }
    /// let mut names = store.list_collections_with_prefix("a:", 100);
    /// let mut seen = Vec::new();
    /// while let Some(name) = names.next_key().await {
    ///     seen.push(name?);
    /// }
    /// seen.sort();
    /// assert_eq!(seen, ["a:orders", "a:users"]);
    /// # Ok(()) }
    /// ```
    fn list_collections_with_prefix<'a>(
        &'a self,
        prefix: &'a str,
        page_size: usize,
    ) -> KeyStream<'a>
    where
        Self: EnumerateCollections + Sized,
    {
        KeyStream::new(move |cursor| {
            Box::pin(crate::observe::checked!(
                self,
                "collections",
                "",
                None,
                None,
                {
                    self.collections_page_with_prefix(prefix, cursor, page_size)
                        .await
                }
            ))
        })
    }

    /// Removes every entry of `collection` and nothing else; it is usable again at once.
    fn destroy_collection(&self, collection: &str) -> impl Future<Output = Result<()>> + Send
    where
        Self: DestroyCollection,
    {
        crate::observe::checked!(self, "destroy_collection", collection, None, None, {
            names::check_name(collection)?;
            self.destroy_collection_opts(collection).await
        })
    }

    /// Removes every entry this store wrote, and nothing else.
    fn destroy(&self) -> impl Future<Output = Result<()>> + Send
    where
        Self: DestroyStore,
    {
        crate::observe::checked!(self, "destroy", "", None, None, {
            self.destroy_opts().await
        })
    }

    /// Reclaims the space of expired entries now (they are already invisible).
    fn cull(&self) -> impl Future<Output = Result<()>> + Send
    where
        Self: Cull,
    {
        crate::observe::checked!(self, "cull", "", None, None, { self.cull_opts().await })
    }
}

impl<S: Store + ?Sized> KvStore for S {}

/// Implements every store trait for a smart pointer or reference by forwarding to the
/// pointee.
macro_rules! forward_pointer {
    ($($ptr:ty),*) => {$(
        impl<S: Store + ?Sized> Store for $ptr {
            fn observed_name(&self) -> &'static str {
                (**self).observed_name()
            }
            fn get_opts<'a>(&'a self, k: Key<'a>, o: GetOptions) -> impl Future<Output = Result<Option<Entry>>> + Send {
                (**self).get_opts(k, o)
            }
            fn put_opts<'a>(&'a self, k: Key<'a>, v: Bytes, o: PutOptions) -> impl Future<Output = Result<()>> + Send {
                (**self).put_opts(k, v, o)
            }
            fn delete_opts<'a>(&'a self, k: Key<'a>, o: DeleteOptions) -> impl Future<Output = Result<bool>> + Send {
                (**self).delete_opts(k, o)
            }
            fn get_many_opts(&self, c: &str, keys: &[&str], o: GetOptions) -> impl Future<Output = Result<Vec<Option<Entry>>>> + Send {
                (**self).get_many_opts(c, keys, o)
            }
            fn put_many_opts(&self, c: &str, entries: &[(&str, Bytes)], o: PutOptions) -> impl Future<Output = Result<()>> + Send {
                (**self).put_many_opts(c, entries, o)
            }
            fn delete_many_opts(&self, c: &str, keys: &[&str], o: DeleteOptions) -> impl Future<Output = Result<usize>> + Send {
                (**self).delete_many_opts(c, keys, o)
            }
        }
        impl<S: EnumerateKeys + ?Sized> EnumerateKeys for $ptr {
            fn keys_opts(&self, c: &str, o: ListOptions) -> impl Future<Output = Result<Vec<String>>> + Send {
                (**self).keys_opts(c, o)
            }
            fn keys_page_with_prefix(&self, c: &str, prefix: &str, cursor: Option<Cursor>, limit: usize) -> impl Future<Output = Result<Page>> + Send {
                (**self).keys_page_with_prefix(c, prefix, cursor, limit)
            }
            fn walk_page(&self, c: &str) -> usize {
                (**self).walk_page(c)
            }
        }
        impl<S: EnumerateCollections + ?Sized> EnumerateCollections for $ptr {
            fn collections_opts(&self, o: ListOptions) -> impl Future<Output = Result<Vec<String>>> + Send {
                (**self).collections_opts(o)
            }
            fn collections_page_with_prefix(&self, prefix: &str, cursor: Option<Cursor>, limit: usize) -> impl Future<Output = Result<Page>> + Send {
                (**self).collections_page_with_prefix(prefix, cursor, limit)
            }
            fn collections_walk_page(&self) -> usize {
                (**self).collections_walk_page()
            }
        }
        impl<S: DestroyCollection + ?Sized> DestroyCollection for $ptr {
            fn destroy_collection_opts(&self, c: &str) -> impl Future<Output = Result<()>> + Send {
                (**self).destroy_collection_opts(c)
            }
        }
        impl<S: DestroyStore + ?Sized> DestroyStore for $ptr {
            fn destroy_opts(&self) -> impl Future<Output = Result<()>> + Send {
                (**self).destroy_opts()
            }
        }
        impl<S: ConditionalWrites + ?Sized> ConditionalWrites for $ptr {
            fn put_if_opts<'a>(&'a self, k: Key<'a>, v: Bytes, c: Condition, o: PutOptions) -> impl Future<Output = Result<Written>> + Send {
                (**self).put_if_opts(k, v, c, o)
            }
            fn delete_if_opts<'a>(&'a self, k: Key<'a>, v: Version, o: DeleteOptions) -> impl Future<Output = Result<bool>> + Send {
                (**self).delete_if_opts(k, v, o)
            }
        }
        impl<S: Cull + ?Sized> Cull for $ptr {
            fn cull_opts(&self) -> impl Future<Output = Result<()>> + Send {
                (**self).cull_opts()
            }
        }
    )*};
}

forward_pointer!(&S, Arc<S>, Box<S>);
