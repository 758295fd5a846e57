//! `MultiDiskStore`: one redb file per collection under a base directory.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;

use super::DiskStore;
use crate::listing::PageAfter;
use crate::store::{
    Cull, DeleteOptions, DestroyCollection, DestroyStore, EnumerateCollections, EnumerateKeys,
    GetOptions, Key, ListOptions, PutOptions, Store,
};
use crate::{Cursor, Entry, Error, Page, Result, names, offload};

const EXTENSION: &str = "redb";
const META_COLLECTION: &str = "collection";
/// How many characters of a collection's name appear, sanitised, in its file name.
const READABLE_PART: usize = 40;

/// A durable store keeping each collection in its own [`DiskStore`] file under one base
/// directory, so collections can be copied, backed up or removed one by one.
///
/// File names are `{readable part}-{hash}.redb`: the readable part keeps only
/// `[a-z0-9_-]` from the start of the name, and the hash covers the whole original
/// name, so the mapping is injective, stays inside the base directory whatever the
/// name (`..`, `/`, NUL, 4 KiB) and fits every file system's name limit. Each file
/// records its original collection name, which [`EnumerateCollections`] gives back.
///
/// **Other files are left alone.** A file is this store's only when its name follows
/// the scheme *and* the collection name recorded inside maps back to that file name;
/// enumeration, `cull` and `destroy` never open, change or delete anything else in the
/// base directory (another program's `.redb` files included).
///
/// **Bounded.** At most [`DEFAULT_OPEN_FILES`] collection files (configurable with
/// [`with_options`](Self::with_options)) are open at once; the least recently used
/// closes when another must open. All files share one pool of at most
/// [`DEFAULT_WRITER_THREADS`] writer threads ([`with_writer_threads`](Self::with_writer_threads)),
/// each committing the writes waiting for one file in one transaction at a time. A
/// process with thousands of collections keeps a fixed number of threads and file
/// descriptors.
///
/// ```
/// use bytes::Bytes;
/// use kv_store_adapter::{EnumerateCollections, KvStore, stores::MultiDiskStore};
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// let store = MultiDiskStore::open(dir.path())?;
/// store.put("../etc/passwd", "k", Bytes::from_static(b"v"), None).await?;
/// assert_eq!(store.collections(10).await?, vec!["../etc/passwd".to_string()]);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MultiDiskStore {
    inner: Arc<Inner>,
}

/// How many collection files a store keeps open unless told otherwise.
pub const DEFAULT_OPEN_FILES: usize = 64;

/// How many writer threads a store's files share unless told otherwise.
pub const DEFAULT_WRITER_THREADS: usize = 4;

struct Inner {
    base: PathBuf,
    durable: bool,
    /// Open files by collection name, at most `max_open`, least recently used first
    /// to close.
    open: Mutex<Handles>,
    max_open: usize,
    /// The writer threads every open file commits through.
    writers: Arc<super::group_commit::Pool>,
    /// Serialises opening and removing files (redb refuses a second open of one file).
    files: tokio::sync::Mutex<()>,
}

/// Open collection files, each with the tick of its last use.
#[derive(Default)]
struct Handles {
    by_name: HashMap<String, (DiskStore, u64)>,
    tick: u64,
}

impl Handles {
    fn get(&mut self, collection: &str) -> Option<DiskStore> {
        self.tick += 1;
        let tick = self.tick;
        self.by_name.get_mut(collection).map(|(store, used)| {
            *used = tick;
            store.clone()
        })
    }

    /// Keeps `store` open; answers the least recently used handles it let go to stay
    /// within `max` (their files close once the calls still using them finish).
    #[must_use]
    fn insert(&mut self, collection: String, store: DiskStore, max: usize) -> Vec<DiskStore> {
        let mut evicted = Vec::new();
        while self.by_name.len() >= max.max(1) {
            let oldest = self
                .by_name
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(name, _)| name.clone());
            match oldest.and_then(|name| self.by_name.remove(&name)) {
                Some((store, _)) => evicted.push(store),
                None => break,
            }
        }
        self.tick += 1;
        self.by_name.insert(collection, (store, self.tick));
        evicted
    }
}

impl fmt::Debug for MultiDiskStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultiDiskStore")
            .field("base", &self.inner.base)
            .field("durable", &self.inner.durable)
            .field("max_open", &self.inner.max_open)
            .finish()
    }
}

impl MultiDiskStore {
    /// Opens a durable store under `base`, creating the directory if needed, keeping at
    /// most [`DEFAULT_OPEN_FILES`] collection files open.
    pub fn open(base: impl AsRef<Path>) -> Result<Self> {
        Self::with_durability(base, true)
    }

    /// Opens a store under `base`; `durable: false` trades crash safety for speed
    /// (see [`DiskStoreBuilder::durable`](super::DiskStoreBuilder::durable)).
    pub fn with_durability(base: impl AsRef<Path>, durable: bool) -> Result<Self> {
        Self::with_options(base, durable, DEFAULT_OPEN_FILES)
    }

    /// Opens a store under `base` keeping at most `max_open_files` collection files
    /// (each with its writer thread) open at once: the least recently used closes
    /// when another must open.
    ///
    /// ```
    /// use kv_store_adapter::stores::MultiDiskStore;
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = MultiDiskStore::with_options(dir.path(), true, 8).unwrap();
    /// assert_eq!(store.max_open_files(), 8);
    /// ```
    pub fn with_options(
        base: impl AsRef<Path>,
        durable: bool,
        max_open_files: usize,
    ) -> Result<Self> {
        let base = base.as_ref().to_owned();
        std::fs::create_dir_all(&base)
            .map_err(|e| Error::setup(format!("cannot create {}", base.display()), e))?;
        Ok(Self {
            inner: Arc::new(Inner {
                base,
                durable,
                open: Mutex::new(Handles::default()),
                max_open: max_open_files.max(1),
                writers: super::group_commit::Pool::new(DEFAULT_WRITER_THREADS),
                files: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// The base directory.
    pub fn base(&self) -> &Path {
        &self.inner.base
    }

    /// How many collection files may be open at once.
    pub fn max_open_files(&self) -> usize {
        self.inner.max_open
    }

    /// Commits through at most `threads` writer threads (at least one; default
    /// [`DEFAULT_WRITER_THREADS`]), shared by every file of this store and its clones.
    /// More threads let durable writes to different collections wait for their fsyncs
    /// side by side.
    ///
    /// ```
    /// use kv_store_adapter::stores::MultiDiskStore;
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = MultiDiskStore::open(dir.path()).unwrap().with_writer_threads(2);
    /// assert_eq!(store.writer_threads(), 2);
    /// ```
    pub fn with_writer_threads(self, threads: usize) -> Self {
        self.inner.writers.set_max(threads);
        self
    }

    /// The most writer threads this store uses.
    pub fn writer_threads(&self) -> usize {
        self.inner.writers.max()
    }

    /// The file name that holds `collection`: always a single path component.
    ///
    /// ```
    /// use kv_store_adapter::stores::MultiDiskStore;
    /// let name = MultiDiskStore::file_name("../Users/ä");
    /// assert!(name.starts_with("users_-") && name.ends_with(".redb"));
    /// assert!(!name.contains('/'));
    /// ```
    pub fn file_name(collection: &str) -> String {
        let readable = Self::readable(collection);
        format!("{readable}_-{}.{EXTENSION}", names::digest(&[collection]))
    }

    /// The readable part of a file name: the name's first [`READABLE_PART`] characters
    /// of `[a-z0-9_-]`, lowercased. A name starting with a prefix has a readable part
    /// starting with the prefix's.
    fn readable(collection: &str) -> String {
        collection
            .chars()
            .filter_map(|c| match c.to_ascii_lowercase() {
                c @ ('a'..='z' | '0'..='9' | '_' | '-') => Some(c),
                _ => None,
            })
            .take(READABLE_PART)
            .collect()
    }

    /// Whether a file name follows this store's scheme (`{readable}_-{32 hex}.redb`,
    /// the readable part of `[a-z0-9_-]`): files that do not are never opened.
    fn is_own_file_name(name: &str) -> bool {
        let Some(stem) = name.strip_suffix(".redb") else {
            return false;
        };
        let Some((readable, hash)) = stem.rsplit_once("_-") else {
            return false;
        };
        hash.len() == 32
            && hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            && readable.len() <= READABLE_PART
            && readable
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    }

    fn opened(&self) -> MutexGuard<'_, Handles> {
        self.inner
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The store of `collection` for a write of `values`, its file made if need be —
    /// after the values are checked against the file's limit, so that a write that
    /// cannot happen makes no file.
    async fn store_for_write<'a>(
        &self,
        collection: &str,
        values: impl IntoIterator<Item = (&'a str, &'a Bytes)>,
    ) -> Result<DiskStore> {
        super::check_sizes(|_| Some(DiskStore::value_limit()), values)?;
        self.store(collection, true)
            .await?
            .ok_or(Error::unsupported("creating the collection file"))
    }

    /// The collection's store; `None` if it has no file and `create` is false.
    async fn store(&self, collection: &str, create: bool) -> Result<Option<DiskStore>> {
        if let Some(store) = self.opened().get(collection) {
            return Ok(Some(store));
        }
        let _files = self.inner.files.lock().await;
        if let Some(store) = self.opened().get(collection) {
            return Ok(Some(store));
        }
        let path = self.inner.base.join(Self::file_name(collection));
        let (name, durable) = (collection.to_owned(), self.inner.durable);
        let writers = self.inner.writers.clone();
        let store = offload::off(move || {
            if !create && !path.exists() {
                return Ok(None);
            }
            let store = open_file(&path, durable, &writers)?;
            match store.read_meta_blocking(META_COLLECTION)? {
                Some(stored) if stored == name => {}
                Some(stored) => {
                    return Err(Error::setup_msg(format!(
                        "{} holds collection {stored:?}, not {name:?}",
                        path.display()
                    )));
                }
                None => store.write_meta_blocking(META_COLLECTION, &name)?,
            }
            Ok(Some(store))
        })
        .await?;
        if let Some(store) = &store {
            let evicted =
                self.opened()
                    .insert(collection.to_owned(), store.clone(), self.inner.max_open);
            // Closed before the next file opens (still holding `files`), so open files
            // and writer threads stay within the cap, plus only files that calls in
            // flight still use.
            if !evicted.is_empty() {
                offload::off(move || {
                    drop(evicted);
                    Ok(())
                })
                .await?;
            }
        }
        Ok(store)
    }

    /// The collections of one page of this store's files in the base directory: the
    /// first `limit` files whose names follow `after` (a file name), and the cursor of
    /// the next page. Reads the whole directory and keeps one page of file names, so
    /// that a store with any number of collections never holds them all.
    ///
    /// A file is this store's when its name follows the scheme and the collection
    /// name recorded inside it maps back to that very file name; anything else in the
    /// directory (other files, other programs' redb files) is never opened or touched.
    ///
    /// Only files whose readable part could belong to a name starting with `prefix`
    /// are counted and opened, and only such names answered.
    async fn own_page(&self, prefix: &str, after: Option<Cursor>, limit: usize) -> Result<Page> {
        let readable = Self::readable(prefix);
        let prefix = prefix.to_owned();
        let _files = self.inner.files.lock().await;
        let open: HashMap<PathBuf, String> = self
            .opened()
            .by_name
            .iter()
            .map(|(name, (store, _))| (store.path().to_owned(), name.clone()))
            .collect();
        let base = self.inner.base.clone();
        offload::off(move || {
            let mut page = PageAfter::new(after, limit);
            let dir = std::fs::read_dir(&base)
                .map_err(|e| Error::backend(format!("cannot list {}", base.display()), e))?;
            for entry in dir {
                let entry =
                    entry.map_err(|e| Error::backend("cannot list the base directory", e))?;
                if let Some(file) = entry.file_name().to_str()
                    && Self::is_own_file_name(file)
                    && file.starts_with(readable.as_str())
                {
                    page.offer(file);
                }
            }
            let Page {
                names: files, next, ..
            } = page.finish();
            let mut found = Vec::with_capacity(files.len());
            for file in files {
                let path = base.join(&file);
                let name = match open.get(&path) {
                    Some(name) => name.clone(),
                    // Read-only, only to read the name: nothing in it changes, no
                    // writer thread starts, and it closes again at once.
                    None => match read_name(&path)? {
                        Some(name) if Self::file_name(&name) == file => name,
                        _ => continue, // not this store's file after all
                    },
                };
                if name.starts_with(prefix.as_str()) {
                    found.push(name);
                }
            }
            Ok(Page::new(found, next))
        })
        .await
    }

    /// Calls `each` with the collection of every file of this store, a page of files at
    /// a time.
    async fn for_each_own<F, Fut>(&self, mut each: F) -> Result<()>
    where
        F: FnMut(String) -> Fut,
        Fut: Future<Output = Result<()>>,
    {
        let mut cursor = None;
        loop {
            let page = self.own_page("", cursor, crate::listing::WALK_PAGE).await?;
            for name in page.names {
                each(name).await?;
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(()),
            }
        }
    }
}

/// Opens one collection file. A file still held by a handle that was just closed (by
/// a call still running on it) frees within moments: wait for it rather than fail.
fn open_file(
    path: &Path,
    durable: bool,
    writers: &Arc<super::group_commit::Pool>,
) -> Result<DiskStore> {
    let mut waited = Duration::ZERO;
    loop {
        match DiskStore::builder(path)
            .durable(durable)
            .writers(writers.clone())
            .open()
        {
            Err(e) if e.kind() == crate::ErrorKind::Locked && waited < LOCKED_WAIT => {
                std::thread::sleep(Duration::from_millis(5));
                waited += Duration::from_millis(5);
            }
            other => return other,
        }
    }
}

/// The collection name recorded in the file at `path`, read-only; waits like
/// [`open_file`] for a handle of this process that is closing.
fn read_name(path: &Path) -> Result<Option<String>> {
    let mut waited = Duration::ZERO;
    loop {
        match DiskStore::read_meta_at(path, META_COLLECTION) {
            Err(e) if e.kind() == crate::ErrorKind::Locked && waited < LOCKED_WAIT => {
                std::thread::sleep(Duration::from_millis(5));
                waited += Duration::from_millis(5);
            }
            other => return other,
        }
    }
}

/// Lets handles go off the async executor: closing the last handle of a file waits for
/// its writer thread's last commit.
fn close(handles: impl IntoIterator<Item = DiskStore> + Send + 'static) {
    let handles: Vec<DiskStore> = handles.into_iter().collect();
    if handles.is_empty() {
        return;
    }
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => drop(runtime.spawn_blocking(move || drop(handles))),
        Err(_) => drop(handles),
    }
}

/// How long opening a collection file waits for a closing handle of this process.
const LOCKED_WAIT: Duration = Duration::from_secs(5);

impl Store for MultiDiskStore {
    async fn get_opts(&self, key: Key<'_>, opts: GetOptions) -> Result<Option<Entry>> {
        match self.store(key.collection(), false).await? {
            Some(store) => store.get_opts(key, opts).await,
            None => Ok(None),
        }
    }

    async fn put_opts(&self, key: Key<'_>, value: Bytes, opts: PutOptions) -> Result<()> {
        self.store_for_write(key.collection(), [(key.name(), &value)])
            .await?
            .put_opts(key, value, opts)
            .await
    }

    async fn delete_opts(&self, key: Key<'_>, opts: DeleteOptions) -> Result<bool> {
        match self.store(key.collection(), false).await? {
            Some(store) => store.delete_opts(key, opts).await,
            None => Ok(false),
        }
    }

    async fn get_many_opts(
        &self,
        collection: &str,
        keys: &[&str],
        opts: GetOptions,
    ) -> Result<Vec<Option<Entry>>> {
        match self.store(collection, false).await? {
            Some(store) => store.get_many_opts(collection, keys, opts).await,
            None => Ok(vec![None; keys.len()]),
        }
    }

    async fn put_many_opts(
        &self,
        collection: &str,
        entries: &[(&str, Bytes)],
        opts: PutOptions,
    ) -> Result<()> {
        self.store_for_write(collection, entries.iter().map(|(k, v)| (*k, v)))
            .await?
            .put_many_opts(collection, entries, opts)
            .await
    }

    async fn delete_many_opts(
        &self,
        collection: &str,
        keys: &[&str],
        opts: DeleteOptions,
    ) -> Result<usize> {
        match self.store(collection, false).await? {
            Some(store) => store.delete_many_opts(collection, keys, opts).await,
            None => Ok(0),
        }
    }
}

/// Each collection's file is a [`DiskStore`]: its conditional writes are atomic there.
impl crate::ConditionalWrites for MultiDiskStore {
    async fn put_if_opts(
        &self,
        key: Key<'_>,
        value: Bytes,
        condition: crate::Condition,
        opts: PutOptions,
    ) -> Result<crate::Written> {
        self.store_for_write(key.collection(), [(key.name(), &value)])
            .await?
            .put_if_opts(key, value, condition, opts)
            .await
    }

    async fn delete_if_opts(
        &self,
        key: Key<'_>,
        version: crate::Version,
        opts: DeleteOptions,
    ) -> Result<bool> {
        match self.store(key.collection(), false).await? {
            Some(store) => store.delete_if_opts(key, version, opts).await,
            None => Ok(false),
        }
    }
}

impl EnumerateKeys for MultiDiskStore {
    async fn keys_opts(&self, collection: &str, opts: ListOptions) -> Result<Vec<String>> {
        match self.store(collection, false).await? {
            Some(store) => store.keys_opts(collection, opts).await,
            None => Ok(Vec::new()),
        }
    }

    /// A page of 1,000 names: the native cursor serves it cheaply.
    fn walk_page(&self, _collection: &str) -> usize {
        crate::listing::WALK_PAGE
    }

    async fn keys_page_with_prefix(
        &self,
        collection: &str,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page> {
        match self.store(collection, false).await? {
            Some(store) => {
                store
                    .keys_page_with_prefix(collection, prefix, cursor, limit)
                    .await
            }
            None => Ok(Page::default()),
        }
    }
}

impl EnumerateCollections for MultiDiskStore {
    /// The first `limit` collections of [`collections_page`](Self::collections_page)'s
    /// pages, each asking only for as many as are still wanted: a page opens each of
    /// its files to see whether it holds a live entry.
    async fn collections_opts(&self, opts: ListOptions) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut cursor = None;
        while out.len() < opts.limit {
            let wanted = (opts.limit - out.len()).min(crate::listing::WALK_PAGE);
            let page = self.collections_page(cursor, wanted).await?;
            out.extend(page.names);
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        out.truncate(opts.limit);
        Ok(out)
    }

    /// The collections of the next `limit` files after the cursor's (in file name
    /// order, not collection name order) that hold a live entry and a name with the
    /// prefix. Each page reads the base directory's names and keeps one page of them,
    /// counting and opening only the files whose readable part could hold such a name.
    async fn collections_page_with_prefix(
        &self,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page> {
        let mut page = self.own_page(prefix, cursor, limit).await?;
        let mut live = Vec::with_capacity(page.names.len());
        for name in page.names {
            if let Some(store) = self.store(&name, false).await?
                && !store
                    .collections_opts(ListOptions::limit(1))
                    .await?
                    .is_empty()
            {
                live.push(name);
            }
        }
        page.names = live;
        Ok(page)
    }

    /// A page of 1,000 files.
    fn collections_walk_page(&self) -> usize {
        crate::listing::WALK_PAGE
    }
}

impl MultiDiskStore {
    /// Closes and deletes the collection's file, if it has one.
    async fn remove_file(&self, collection: &str) -> Result<()> {
        let _files = self.inner.files.lock().await;
        close(
            self.opened()
                .by_name
                .remove(collection)
                .map(|(store, _)| store),
        );
        let path = self.inner.base.join(Self::file_name(collection));
        offload::off(move || match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::backend(
                format!("cannot remove {}", path.display()),
                e,
            )),
        })
        .await
    }
}

impl DestroyCollection for MultiDiskStore {
    async fn destroy_collection_opts(&self, collection: &str) -> Result<()> {
        self.remove_file(collection).await
    }
}

impl DestroyStore for MultiDiskStore {
    /// Deletes this store's files (see `own_page`), and no other file.
    async fn destroy_opts(&self) -> Result<()> {
        self.for_each_own(|name| async move { self.remove_file(&name).await })
            .await
    }
}

impl Cull for MultiDiskStore {
    async fn cull_opts(&self) -> Result<()> {
        self.for_each_own(|name| async move {
            match self.store(&name, false).await? {
                Some(store) => store.cull_opts().await,
                None => Ok(()),
            }
        })
        .await
    }
}
