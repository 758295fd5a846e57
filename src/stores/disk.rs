//! `DiskStore`: one redb file, one table per collection.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use redb::{
    Database, DatabaseError, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata,
    TableDefinition, TableError, TableHandle,
};

use super::disk_format as format;
use crate::listing::PageAfter;
use crate::offload;
use crate::store::{
    Cull, DeleteOptions, DestroyCollection, DestroyStore, EnumerateCollections, EnumerateKeys,
    GetOptions, Key, ListOptions, PutOptions, Store,
};
use crate::{Cursor, Entry, Error, ErrorDetail, Page, Result};

/// Tables holding collections are named `kv:{collection}`.
const TABLE_PREFIX: &str = "kv:";
/// The table for store metadata (never a collection: it lacks the prefix).
const META: TableDefinition<&str, &str> = TableDefinition::new("meta");
/// The largest value: redb's 3 GiB limit on a stored value less the entry's header.
const VALUE_LIMIT: usize = (3 << 30) - format::VERSIONED_HEADER;

/// A durable store in one [redb](https://docs.rs/redb) file.
///
/// Each entry is kept as a 25-byte header (format byte, expiry in milliseconds since
/// the Unix epoch, version) followed by the value, of at most
/// [`value_limit`](Self::value_limit) bytes (3 GiB less the header, redb's limit): a
/// larger one fails with [`TooLarge`](crate::ErrorDetail::TooLarge) before it is
/// copied. Commits are durable by default: a `put` returns
/// after the data is on disk, and reopening the file gives back everything that was
/// acknowledged. Writes go through one writer thread that commits every write waiting
/// at that moment in one transaction and one fsync (group commit), so concurrent
/// durable puts share the disk's flush. Other redb calls block, so they run on tokio's
/// blocking threads; batches run in one transaction. Expired entries are invisible at once; [`cull`](crate::KvStore::cull)
/// reclaims their space.
///
/// ```
/// use bytes::Bytes;
/// use kv_store_adapter::{KvStore, stores::DiskStore};
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// let store = DiskStore::open(dir.path().join("kv.redb"))?;
/// store.put("c", "k", Bytes::from_static(b"v"), None).await?;
/// drop(store);
/// let reopened = DiskStore::open(dir.path().join("kv.redb"))?;
/// assert_eq!(reopened.get("c", "k").await?.as_deref(), Some(&b"v"[..]));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct DiskStore {
    inner: Arc<Inner>,
}

struct Inner {
    db: Arc<Database>,
    writer: super::group_commit::Writer,
    path: PathBuf,
    durable: bool,
    reads: Placement,
}

impl fmt::Debug for DiskStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiskStore")
            .field("path", &self.inner.path)
            .field("durable", &self.inner.durable)
            .field("inline_reads", &self.inner.reads.fixed)
            .finish()
    }
}

/// Options for opening a [`DiskStore`].
///
/// ```
/// use kv_store_adapter::stores::DiskStore;
/// let dir = tempfile::tempdir().unwrap();
/// let cache = DiskStore::builder(dir.path().join("cache.redb"))
///     .durable(false)
///     .cache_size(64 << 20)
///     .open()
///     .unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct DiskStoreBuilder {
    path: PathBuf,
    durable: bool,
    inline_reads: Option<bool>,
    cache_size: Option<usize>,
    /// The writer threads to share (`MultiDiskStore`'s pool); a pool of one if `None`.
    writers: Option<Arc<super::group_commit::Pool>>,
}

impl DiskStoreBuilder {
    /// Whether each commit waits for the disk (default `true`). With `false`, commits are
    /// not flushed: a crash may lose recent writes (or, with no later durable commit,
    /// all of them). Only for caches that can be rebuilt.
    pub fn durable(mut self, durable: bool) -> Self {
        self.durable = durable;
        self
    }

    /// Fixes where single and batch reads run: `true` on the calling thread, `false`
    /// on tokio's blocking threads. Writes always run off the executor.
    ///
    /// A read on the blocking threads costs a thread hop (~15-20 µs) against redb's
    /// ~1 µs read from its page cache; a read in place is as fast as raw redb, but a
    /// page not in redb's cache blocks the executor thread for a disk read.
    ///
    /// Unset (the default), reads are **adaptive**: they run in place while they are
    /// fast; when 16 reads within 100 ms take longer than 100 µs each (pages read from
    /// disk), the store's reads run on the blocking threads for the next second, then
    /// try in place again. So a store whose file fits redb's cache (see
    /// [`cache_size`](Self::cache_size)) reads at nearly raw redb's speed, and one that
    /// does not runs at most 15 slow reads in place per 100 ms window, the 16th
    /// switching. (One slow read alone does not switch: a fast read is sometimes
    /// descheduled midway on a busy machine.) A batch is slow when it takes longer than
    /// 100 µs and 2 µs a key; a batch of more than 128 keys always runs on the
    /// blocking threads, however fast each key is, and a read in place that finds
    /// values of 256 KiB or more (together) reads them again there rather than copy them
    /// out on the executor: no read holds the executor thread for long (10,000 cached
    /// keys of 1 KiB take ~8 ms, a 4 MiB value ~1 ms).
    ///
    /// ```
    /// use kv_store_adapter::stores::DiskStore;
    /// # let dir = tempfile::tempdir().unwrap();
    /// let store = DiskStore::builder(dir.path().join("kv.redb")).inline_reads(false).open()?;
    /// # Ok::<(), kv_store_adapter::Error>(())
    /// ```
    pub fn inline_reads(mut self, inline: bool) -> Self {
        self.inline_reads = Some(inline);
        self
    }

    /// redb's page cache size in bytes.
    pub fn cache_size(mut self, bytes: usize) -> Self {
        self.cache_size = Some(bytes);
        self
    }

    /// Commits through `pool`'s threads instead of a thread of its own.
    pub(super) fn writers(mut self, pool: Arc<super::group_commit::Pool>) -> Self {
        self.writers = Some(pool);
        self
    }

    /// Opens the file, creating it if missing. This does blocking file I/O: call it at
    /// start-up, or inside `spawn_blocking`.
    ///
    /// A new file is made under a temporary name beside `path` (`.<name>.….creating`)
    /// and linked into place once whole, so a crash during creation leaves no file
    /// rather than one that cannot be opened.
    pub fn open(self) -> Result<DiskStore> {
        let mut builder = Database::builder();
        if let Some(bytes) = self.cache_size {
            builder.set_cache_size(bytes);
        }
        let db = open_or_create(&builder, &self.path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => Error::from(ErrorDetail::Locked {
                resource: self.path.display().to_string(),
            }),
            e => Error::setup(format!("cannot open {}", self.path.display()), e),
        })?;
        let db = Arc::new(db);
        let pool = self
            .writers
            .unwrap_or_else(|| super::group_commit::Pool::new(1));
        let writer = super::group_commit::Writer::start(db.clone(), self.durable, pool);
        Ok(DiskStore {
            inner: Arc::new(Inner {
                db,
                writer,
                path: self.path,
                durable: self.durable,
                reads: Placement::new(self.inline_reads, Placement::WINDOW, Placement::BACKOFF),
            }),
        })
    }
}

/// Opens the database at `path`, creating it if missing so that a crash at any moment
/// leaves either no file or a whole one.
///
/// redb initialises a new file in place and writes its magic number last; a process
/// killed before that leaves a file that every later open refuses ("not a redb
/// database"). So a missing file is made under a temporary name beside it, fully
/// initialised, then linked into place (never replacing a file another process made
/// first) and the directory synced; where the file system has no hard links, it is
/// created in place. A temporary file left by a crash is removed by a
/// later creation once it is a minute old.
fn open_or_create(
    builder: &redb::Builder,
    path: &Path,
) -> std::result::Result<Database, DatabaseError> {
    loop {
        match builder.open(path) {
            Err(DatabaseError::Storage(redb::StorageError::Io(e)))
                if e.kind() == std::io::ErrorKind::NotFound => {}
            opened => return opened,
        }
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let prefix = format!(".{name}.");
        remove_stale_creations(dir, &prefix);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let temporary = dir.join(format!("{prefix}{}-{nanos}.creating", std::process::id()));
        drop(builder.create(&temporary)?);
        let linked = std::fs::hard_link(&temporary, path);
        let _ = std::fs::remove_file(&temporary);
        match linked {
            // Another process created it first: open theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            // A file system without hard links: create in place, as redb does.
            Err(_) => return builder.create(path),
            // Best effort: some file systems refuse to sync a directory, and the file
            // is whole either way (redb itself never syncs the directory).
            Ok(()) => drop(std::fs::File::open(dir).and_then(|dir| dir.sync_all())),
        }
    }
}

/// Removes temporary files of [`open_or_create`] that a crash left, once they are a
/// minute old (a creation takes milliseconds, so none of them is still in use).
fn remove_stale_creations(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(file) = file.to_str() else { continue };
        if !(file.starts_with(prefix) && file.ends_with(".creating")) {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(60));
        if old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

impl DiskStore {
    /// The largest value the store takes, in bytes: redb's 3 GiB limit on a stored
    /// value less the entry's 25-byte header. A larger one is refused with
    /// [`TooLarge`](crate::ErrorDetail::TooLarge) before it is copied, and a batch
    /// holding one writes none of its entries.
    ///
    /// ```
    /// use kv_store_adapter::stores::DiskStore;
    /// assert_eq!(DiskStore::value_limit(), (3 << 30) - 25);
    /// ```
    pub const fn value_limit() -> usize {
        VALUE_LIMIT
    }

    /// Opens (or creates) a durable store at `path`. Blocking: see [`DiskStoreBuilder::open`].
    ///
    /// A file that another process (or another store in this process) has open is an
    /// [`ErrorDetail::Locked`] error: share one store (it is cheap to clone) instead.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::builder(path).open()
    }

    /// Options for opening a store at `path`.
    pub fn builder(path: impl AsRef<Path>) -> DiskStoreBuilder {
        DiskStoreBuilder {
            path: path.as_ref().to_owned(),
            durable: true,
            inline_reads: None,
            cache_size: None,
            writers: None,
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs a blocking redb closure off the async runtime threads.
    async fn blocking<R, F>(&self, f: F) -> Result<R>
    where
        F: FnOnce(&Inner) -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        let inner = self.inner.clone();
        offload::off(move || f(&inner)).await
    }

    /// Reads a metadata string (used by `MultiDiskStore` to remember a file's collection).
    pub(crate) fn read_meta_blocking(&self, name: &str) -> Result<Option<String>> {
        let txn = self.inner.db.begin_read().map_err(db_err)?;
        let table = match txn.open_table(META) {
            Ok(table) => table,
            Err(TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(db_err(e)),
        };
        Ok(table
            .get(name)
            .map_err(db_err)?
            .map(|v| v.value().to_owned()))
    }

    /// Reads a metadata string from the file at `path` without opening it for writing
    /// (nothing in the file changes, and no writer thread starts). `Ok(None)` for a
    /// file that is not a redb database or has no such entry.
    pub(crate) fn read_meta_at(path: &Path, name: &str) -> Result<Option<String>> {
        let db = match redb::ReadOnlyDatabase::open(path) {
            Ok(db) => db,
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                return Err(ErrorDetail::Locked {
                    resource: path.display().to_string(),
                }
                .into());
            }
            Err(_) => return Ok(None),
        };
        let Ok(txn) = redb::ReadableDatabase::begin_read(&db) else {
            return Ok(None);
        };
        let Ok(table) = txn.open_table(META) else {
            return Ok(None);
        };
        Ok(table.get(name).ok().flatten().map(|v| v.value().to_owned()))
    }

    /// Writes a metadata string durably.
    pub(crate) fn write_meta_blocking(&self, name: &str, value: &str) -> Result<()> {
        self.inner.write(|txn| {
            txn.open_table(META)
                .map_err(db_err)?
                .insert(name, value)
                .map_err(db_err)?;
            Ok(())
        })
    }
}

impl Inner {
    /// Runs `f` in one write transaction and commits it with the store's durability.
    fn write<R>(&self, f: impl FnOnce(&redb::WriteTransaction) -> Result<R>) -> Result<R> {
        let mut txn = self.db.begin_write().map_err(db_err)?;
        if !self.durable {
            txn.set_durability(Durability::None).map_err(db_err)?;
        }
        let out = f(&txn)?;
        txn.commit().map_err(db_err)?;
        Ok(out)
    }

    /// Runs `f` over the collection's table, or answers `absent()` if it has none (made
    /// only then: a batch's answer of misses is not built for every read).
    fn read<R>(
        &self,
        collection: &str,
        absent: impl FnOnce() -> R,
        f: impl FnOnce(&redb::ReadOnlyTable<&'static str, &'static [u8]>) -> Result<R>,
    ) -> Result<R> {
        // The table's name on the stack where it fits: a read allocates nothing for it.
        let mut buf = [0u8; 128];
        let whole = TABLE_PREFIX.len() + collection.len();
        if whole > buf.len() {
            return self.read_table(&table_name(collection), absent, f);
        }
        buf[..TABLE_PREFIX.len()].copy_from_slice(TABLE_PREFIX.as_bytes());
        buf[TABLE_PREFIX.len()..whole].copy_from_slice(collection.as_bytes());
        // Two whole `str`s joined: valid UTF-8.
        let name =
            std::str::from_utf8(&buf[..whole]).map_err(|e| Error::backend("table name", e))?;
        self.read_table(name, absent, f)
    }

    /// [`Inner::read`] with the table's name (`TABLE_PREFIX` and the collection) given.
    fn read_table<R>(
        &self,
        table: &str,
        absent: impl FnOnce() -> R,
        f: impl FnOnce(&redb::ReadOnlyTable<&'static str, &'static [u8]>) -> Result<R>,
    ) -> Result<R> {
        let txn = self.db.begin_read().map_err(db_err)?;
        match txn.open_table(TableDefinition::<&str, &[u8]>::new(table)) {
            Ok(table) => f(&table),
            Err(TableError::TableDoesNotExist(_)) => Ok(absent()),
            Err(e) => Err(db_err(e)),
        }
    }
}

/// Where a store's reads run: fixed by [`DiskStoreBuilder::inline_reads`], or adaptive.
///
/// Adaptive: reads run in place until [`SLOW_READS`](Self::SLOW_READS) of them, each
/// slower than [`SLOW`](Self::SLOW) (a batch: plus [`CACHED_KEY`](Self::CACHED_KEY)
/// a key), fall in one [`WINDOW`](Self::WINDOW); then they run on the blocking threads
/// for [`BACKOFF`](Self::BACKOFF). One slow read alone does not switch: on a busy
/// machine a fast read is sometimes descheduled midway (measured: 4 in 50,000 reads
/// over 100 µs), while a file that does not fit redb's cache makes most reads slow.
/// Only slow reads write the shared counters. A batch of more than
/// [`IN_PLACE_KEYS`](Self::IN_PLACE_KEYS) always runs on the blocking threads: read in
/// place, it would hold the executor thread however fast each key is.
struct Placement {
    /// `Some(true)`: in place; `Some(false)`: on the blocking threads; `None`: adaptive.
    fixed: Option<bool>,
    /// Reads run on the blocking threads until this many milliseconds after `epoch`
    /// (0: in place). One atomic load on the fast path.
    blocking_until_ms: AtomicU64,
    /// The current window's start (milliseconds after `epoch`) and its slow reads.
    window_start_ms: AtomicU64,
    slow_reads: AtomicU64,
    epoch: Instant,
    window: Duration,
    backoff: Duration,
}

impl Placement {
    /// A read in place slower than this held the executor thread too long.
    const SLOW: Duration = Duration::from_micros(100);
    /// What each key of a batch may add to [`SLOW`](Self::SLOW): a few times a cached
    /// key's read (~0.4-0.9 µs), far under a page read from disk.
    const CACHED_KEY: Duration = Duration::from_micros(2);
    /// The largest batch read in place: about [`SLOW`](Self::SLOW) of cached 1 KiB
    /// values (10,000 of them held the executor 8.4 ms in place).
    const IN_PLACE_KEYS: usize = 128;
    /// This many slow reads in one [`WINDOW`](Self::WINDOW) send reads off the executor.
    const SLOW_READS: u64 = 16;
    const WINDOW: Duration = Duration::from_millis(100);
    /// How long reads stay off the executor after that.
    const BACKOFF: Duration = Duration::from_secs(1);

    fn new(fixed: Option<bool>, window: Duration, backoff: Duration) -> Self {
        Self {
            fixed,
            blocking_until_ms: AtomicU64::new(0),
            window_start_ms: AtomicU64::new(0),
            slow_reads: AtomicU64::new(0),
            epoch: Instant::now(),
            window,
            backoff,
        }
    }

    fn ms_since_epoch(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether the next read, of `keys` keys, runs in place.
    #[inline]
    fn in_place(&self, keys: usize) -> bool {
        match self.fixed {
            Some(inline) => inline,
            None if keys > Self::IN_PLACE_KEYS => false,
            None => {
                let until = self.blocking_until_ms.load(Ordering::Relaxed);
                if until == 0 {
                    return true;
                }
                if self.ms_since_epoch(Instant::now()) < until {
                    return false;
                }
                self.blocking_until_ms.store(0, Ordering::Relaxed);
                true
            }
        }
    }

    /// Runs a read of `keys` keys in place, counting it if adaptive and slow.
    #[inline]
    fn run<R>(&self, keys: usize, read: impl FnOnce() -> R) -> R {
        if self.fixed.is_some() {
            return read();
        }
        let started = Instant::now();
        let answer = read();
        let took = started.elapsed();
        // `keys` is at most `IN_PLACE_KEYS` here.
        let allowed = Self::SLOW + Self::CACHED_KEY * u32::try_from(keys).unwrap_or(u32::MAX);
        if took > allowed {
            self.slow_read(started + took);
        }
        answer
    }

    /// Counts a slow read; the [`SLOW_READS`](Self::SLOW_READS)th of a window sends
    /// reads off the executor. Concurrent slow reads may race on the counters: the
    /// count is approximate, which is all the switch needs.
    #[cold]
    fn slow_read(&self, now: Instant) {
        let now_ms = self.ms_since_epoch(now);
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let start = self.window_start_ms.load(Ordering::Relaxed);
        if now_ms >= start.saturating_add(ms(self.window)) {
            self.window_start_ms.store(now_ms, Ordering::Relaxed);
            self.slow_reads.store(1, Ordering::Relaxed);
            return;
        }
        if self.slow_reads.fetch_add(1, Ordering::Relaxed) + 1 >= Self::SLOW_READS {
            let until = now_ms.saturating_add(ms(self.backoff)).max(1);
            self.blocking_until_ms.store(until, Ordering::Relaxed);
            self.slow_reads.store(0, Ordering::Relaxed);
        }
    }
}

fn table_name(collection: &str) -> String {
    format!("{TABLE_PREFIX}{collection}")
}

fn db_err(e: impl Into<redb::Error>) -> Error {
    let e: redb::Error = e.into();
    Error::backend(format!("redb: {e}"), e)
}

fn get_live(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    collection: &str,
    key: &str,
    opts: GetOptions,
) -> Result<Option<Entry>> {
    let Some(guard) = table.get(key).map_err(db_err)? else {
        return Ok(None);
    };
    live(collection, key, guard.value(), opts)
}

/// [`get_live`] for a read in place, which copies out at most `left` bytes (less what
/// it copies): `Ok(None)` for a value over that, the read to be done off the executor.
// Inlined into the read loops, with `live` and `format::decode`: out of line, each key
// of a batch paid three calls and its nested `Result` through memory (callgrind: 83
// instructions a key of ~2,700; get_many ×100 vs raw redb 0.925 -> 0.956).
#[inline(always)]
fn get_within(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    collection: &str,
    key: &str,
    opts: GetOptions,
    left: &mut usize,
) -> Result<Option<Option<Entry>>> {
    let Some(guard) = table.get(key).map_err(db_err)? else {
        return Ok(Some(None));
    };
    let raw = guard.value();
    let Some(rest) = left.checked_sub(raw.len()) else {
        return Ok(None);
    };
    *left = rest;
    live(collection, key, raw, opts).map(Some)
}

/// The entry a stored form holds, if it is live.
#[inline(always)]
fn live(collection: &str, key: &str, raw: &[u8], opts: GetOptions) -> Result<Option<Entry>> {
    Ok(
        format::decode(collection, key, raw)?.map(|(value, left, version)| {
            Entry::new(
                Bytes::copy_from_slice(value),
                if opts.ttl { left } else { None },
            )
            .with_version(Some(version))
        }),
    )
}

impl Store for DiskStore {
    async fn get_opts(&self, key: Key<'_>, opts: GetOptions) -> Result<Option<Entry>> {
        let (collection, prefix, name) = (key.collection(), key.prefix(), key.name());
        if self.inner.reads.in_place(1) {
            // In place: no owned copies of the names needed. A large value is read
            // again off the executor rather than copied here.
            let (key, mut left) = (key.joined(), offload::LARGE);
            let found = self.inner.reads.run(1, || {
                self.inner.read(
                    collection,
                    || Some(None),
                    |table| get_within(table, collection, &key, opts, &mut left),
                )
            })?;
            if let Some(found) = found {
                return Ok(found);
            }
        }
        // One allocation carries the table name and the key into the blocking task.
        let mut names = String::with_capacity(TABLE_PREFIX.len() + collection.len() + key.len());
        for part in [TABLE_PREFIX, collection, prefix, name] {
            names.push_str(part);
        }
        let split = TABLE_PREFIX.len() + collection.len();
        self.blocking(move |inner| {
            let (table, key) = names.split_at(split);
            let collection = &table[TABLE_PREFIX.len()..];
            inner.read_table(table, || None, |t| get_live(t, collection, key, opts))
        })
        .await
    }

    async fn put_opts(&self, key: Key<'_>, value: Bytes, opts: PutOptions) -> Result<()> {
        let name = key.joined();
        self.put_many_opts(key.collection(), &[(&name, value)], opts)
            .await
    }

    async fn delete_opts(&self, key: Key<'_>, opts: DeleteOptions) -> Result<bool> {
        let name = key.joined();
        Ok(self
            .delete_many_opts(key.collection(), &[&name], opts)
            .await?
            == 1)
    }

    async fn get_many_opts(
        &self,
        collection: &str,
        keys: &[&str],
        opts: GetOptions,
    ) -> Result<Vec<Option<Entry>>> {
        if self.inner.reads.in_place(keys.len()) {
            // Values of `offload::LARGE` bytes or more together are read again off the
            // executor rather than copied here.
            let found = self.inner.reads.run(keys.len(), || {
                self.inner.read(
                    collection,
                    || Some(vec![None; keys.len()]),
                    |table| {
                        let mut left = offload::LARGE;
                        let mut found = Vec::with_capacity(keys.len());
                        for key in keys {
                            match get_within(table, collection, key, opts, &mut left)? {
                                Some(entry) => found.push(entry),
                                None => return Ok(None),
                            }
                        }
                        Ok(Some(found))
                    },
                )
            })?;
            if let Some(found) = found {
                return Ok(found);
            }
        }
        let (c, ks) = (collection.to_owned(), offload::owned(keys));
        self.blocking(move |inner| {
            inner.read(
                &c,
                || vec![None; ks.len()],
                |table| {
                    let found = ks.iter().map(|k| get_live(table, &c, k, opts));
                    offload::try_collect(ks.len(), found)
                },
            )
        })
        .await
    }

    async fn put_many_opts(
        &self,
        collection: &str,
        entries: &[(&str, Bytes)],
        opts: PutOptions,
    ) -> Result<()> {
        super::check_sizes(|_| Some(VALUE_LIMIT), entries.iter().map(|(k, v)| (*k, v)))?;
        // Only names are copied here; the values (`Bytes`, shared) are encoded by the
        // writer thread, so a large batch does not hold up the async executor.
        let rows = entries
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        let table = table_name(collection);
        let expires_ms = format::deadline_ms(opts.ttl);
        let op = super::group_commit::WriteOp::Put {
            table,
            rows,
            expires_ms,
        };
        self.inner.writer.submit(op).await.map(drop)
    }

    async fn delete_many_opts(
        &self,
        collection: &str,
        keys: &[&str],
        _: DeleteOptions,
    ) -> Result<usize> {
        let table = table_name(collection);
        let keys = offload::owned(keys);
        let op = super::group_commit::WriteOp::Delete { table, keys };
        self.inner.writer.submit(op).await
    }
}

/// Atomic: each conditional write is checked and applied inside the file's write
/// transaction, in order with every other write, and committed with the group.
impl crate::ConditionalWrites for DiskStore {
    async fn put_if_opts(
        &self,
        key: Key<'_>,
        value: Bytes,
        condition: crate::Condition,
        opts: PutOptions,
    ) -> Result<crate::Written> {
        let name = key.joined();
        super::check_sizes(|_| Some(VALUE_LIMIT), [(&*name, &value)])?;
        let version = crate::Version::unique();
        let op = super::group_commit::WriteOp::PutIf {
            table: table_name(key.collection()),
            key: name.into_owned(),
            value,
            expires_ms: format::deadline_ms(opts.ttl),
            condition,
            version,
        };
        Ok(match self.inner.writer.submit(op).await? {
            1 => crate::Written::Applied(Some(version)),
            _ => crate::Written::Rejected(None),
        })
    }

    async fn delete_if_opts(
        &self,
        key: Key<'_>,
        version: crate::Version,
        _: DeleteOptions,
    ) -> Result<bool> {
        let op = super::group_commit::WriteOp::DeleteIf {
            table: table_name(key.collection()),
            key: key.joined().into_owned(),
            version,
        };
        Ok(self.inner.writer.submit(op).await? == 1)
    }
}

impl EnumerateKeys for DiskStore {
    async fn keys_opts(&self, collection: &str, opts: ListOptions) -> Result<Vec<String>> {
        let limit = opts.limit;
        let c = collection.to_owned();
        self.blocking(move |inner| {
            inner.read(&c, Vec::new, |table| {
                let mut out = Vec::new();
                for row in table.iter().map_err(db_err)? {
                    if out.len() >= limit {
                        break;
                    }
                    let (k, v) = row.map_err(db_err)?;
                    if format::decode(&c, k.value(), v.value())?.is_some() {
                        out.push(k.value().to_owned());
                    }
                }
                Ok(out)
            })
        })
        .await
    }

    /// A page of 1,000 names: the native cursor serves it cheaply.
    fn walk_page(&self, _collection: &str) -> usize {
        crate::listing::WALK_PAGE
    }

    /// A range read of the collection's table from `prefix` (or after the cursor, the
    /// last key read, when that is further), ending at the first key without it:
    /// `limit` live keys, or at most four times as many rows, whichever comes first.
    async fn keys_page_with_prefix(
        &self,
        collection: &str,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page> {
        let (c, prefix) = (collection.to_owned(), prefix.to_owned());
        let limit = limit.max(1);
        self.blocking(move |inner| {
            inner.read(
                &c,
                || Page::default().ordered(),
                |table| {
                    let start = match &cursor {
                        Some(after) if after.as_str() >= prefix.as_str() => {
                            std::ops::Bound::Excluded(after.as_str())
                        }
                        _ => std::ops::Bound::Included(prefix.as_str()),
                    };
                    let rows = table
                        .range::<&str>((start, std::ops::Bound::Unbounded))
                        .map_err(db_err)?;
                    let mut names: Vec<String> = Vec::new();
                    // The last row read when it was expired (a live one is `names`' last):
                    // no second copy of every key listed.
                    let mut skipped: Option<String> = None;
                    for (read, row) in rows.enumerate() {
                        if names.len() == limit || read == limit.saturating_mul(4) {
                            let last = skipped.or_else(|| names.last().cloned());
                            return Ok(Page::new(names, last.map(Cursor::new)).ordered());
                        }
                        let (k, v) = row.map_err(db_err)?;
                        let key = k.value();
                        if !key.starts_with(prefix.as_str()) {
                            break;
                        }
                        if format::decode(&c, key, v.value())?.is_some() {
                            names.push(key.to_owned());
                            skipped = None;
                        } else {
                            skipped = Some(key.to_owned());
                        }
                    }
                    Ok(Page::new(names, None).ordered())
                },
            )
        })
        .await
    }
}

impl DiskStore {
    /// Every collection with a table, whether or not it holds live entries.
    fn table_collections(inner: &Inner) -> Result<Vec<String>> {
        let txn = inner.db.begin_read().map_err(db_err)?;
        Ok(txn
            .list_tables()
            .map_err(db_err)?
            .filter_map(|t| t.name().strip_prefix(TABLE_PREFIX).map(str::to_owned))
            .collect())
    }

    fn has_live(inner: &Inner, collection: &str) -> Result<bool> {
        inner.read(
            collection,
            || false,
            |table| {
                for row in table.iter().map_err(db_err)? {
                    let (_, v) = row.map_err(db_err)?;
                    if format::is_live(v.value()) != Some(false) {
                        return Ok(true);
                    }
                }
                Ok(false)
            },
        )
    }
}

impl EnumerateCollections for DiskStore {
    async fn collections_opts(&self, opts: ListOptions) -> Result<Vec<String>> {
        let limit = opts.limit;
        self.blocking(move |inner| {
            let txn = inner.db.begin_read().map_err(db_err)?;
            let mut out = Vec::new();
            for table in txn.list_tables().map_err(db_err)? {
                if out.len() >= limit {
                    break;
                }
                if let Some(c) = table.name().strip_prefix(TABLE_PREFIX)
                    && Self::has_live(inner, c)?
                {
                    out.push(c.to_owned());
                }
            }
            Ok(out)
        })
        .await
    }

    /// The first `limit` table names with the prefix after the cursor's (every table
    /// name is read, one page is kept), those with a live entry.
    async fn collections_page_with_prefix(
        &self,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page> {
        let prefix = prefix.to_owned();
        self.blocking(move |inner| {
            let txn = inner.db.begin_read().map_err(db_err)?;
            let mut page = PageAfter::new(cursor, limit);
            for table in txn.list_tables().map_err(db_err)? {
                if let Some(c) = table.name().strip_prefix(TABLE_PREFIX)
                    && c.starts_with(prefix.as_str())
                {
                    page.offer(c);
                }
            }
            drop(txn);
            let mut page = page.finish();
            let mut live = Vec::with_capacity(page.names.len());
            for c in page.names {
                if Self::has_live(inner, &c)? {
                    live.push(c);
                }
            }
            page.names = live;
            Ok(page)
        })
        .await
    }

    fn collections_walk_page(&self) -> usize {
        crate::listing::WALK_PAGE
    }
}

impl DestroyCollection for DiskStore {
    async fn destroy_collection_opts(&self, collection: &str) -> Result<()> {
        let c = collection.to_owned();
        self.blocking(move |inner| {
            inner.write(|txn| {
                let name = table_name(&c);
                txn.delete_table(TableDefinition::<&str, &[u8]>::new(&name))
                    .map_err(db_err)?;
                Ok(())
            })
        })
        .await
    }
}

impl DestroyStore for DiskStore {
    async fn destroy_opts(&self) -> Result<()> {
        self.blocking(move |inner| {
            let collections = Self::table_collections(inner)?;
            inner.write(|txn| {
                for c in &collections {
                    let name = table_name(c);
                    txn.delete_table(TableDefinition::<&str, &[u8]>::new(&name))
                        .map_err(db_err)?;
                }
                Ok(())
            })
        })
        .await
    }
}

impl Cull for DiskStore {
    async fn cull_opts(&self) -> Result<()> {
        self.blocking(move |inner| {
            let collections = Self::table_collections(inner)?;
            inner.write(|txn| {
                for c in &collections {
                    let name = table_name(c);
                    let mut table = txn
                        .open_table(TableDefinition::<&str, &[u8]>::new(&name))
                        .map_err(db_err)?;
                    // Keep what cannot be decoded: never delete data we do not understand.
                    table
                        .retain(|_, v| format::is_live(v) != Some(false))
                        .map_err(db_err)?;
                    if table.is_empty().map_err(db_err)? {
                        drop(table);
                        txn.delete_table(TableDefinition::<&str, &[u8]>::new(&name))
                            .map_err(db_err)?;
                    }
                }
                Ok(())
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creating_a_file_removes_only_stale_temporary_files_of_its_own_name() {
        let dir = tempfile::tempdir().unwrap();
        let stale = dir.path().join(".kv.redb.1-1.creating");
        let fresh = dir.path().join(".kv.redb.2-2.creating");
        let other = dir.path().join(".other.redb.3-3.creating");
        for path in [&stale, &fresh, &other] {
            std::fs::write(path, b"left by a crash").unwrap();
        }
        let hour_ago = SystemTime::now() - Duration::from_secs(3600);
        for path in [&stale, &other] {
            let file = std::fs::File::options().write(true).open(path).unwrap();
            file.set_modified(hour_ago).unwrap();
        }
        let store = DiskStore::open(dir.path().join("kv.redb")).unwrap();
        assert!(
            !stale.exists(),
            "a stale temporary file of this name is removed"
        );
        assert!(fresh.exists(), "a recent one may still be in use");
        assert!(
            other.exists(),
            "another file's are not this creation's business"
        );
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.ends_with(".creating"))
            .collect();
        assert_eq!(
            left.len(),
            2,
            "the creation's own temporary file is gone: {left:?}"
        );
        drop(store);
    }

    #[test]
    fn adaptive_reads_leave_the_executor_after_many_slow_reads_and_come_back() {
        let fast = || std::hint::black_box(1);
        let slow = || std::thread::sleep(Placement::SLOW * 3);
        // Long windows and backoff: the assertions hold however long this thread is
        // descheduled in between.
        let hour = Duration::from_secs(3600);
        let placement = Placement::new(None, hour, hour);
        assert!(placement.in_place(1));
        placement.run(1, fast);
        for _ in 1..Placement::SLOW_READS {
            placement.run(1, slow);
        }
        assert!(
            placement.in_place(1),
            "a few slow reads (a descheduled thread) keep reads in place"
        );
        placement.run(1, slow);
        assert!(
            !placement.in_place(1),
            "many slow reads send reads off the executor"
        );
        // A short backoff: after it, reads run in place again.
        let placement = Placement::new(None, hour, Duration::from_millis(5));
        for _ in 0..Placement::SLOW_READS {
            placement.run(1, slow);
        }
        std::thread::sleep(Duration::from_millis(20));
        assert!(placement.in_place(1));
        assert!(placement.in_place(1), "and stay there");
    }

    #[test]
    fn fixed_placements_do_not_adapt() {
        let slow = || std::thread::sleep(Placement::SLOW * 3);
        for fixed in [true, false] {
            let placement = Placement::new(Some(fixed), Placement::WINDOW, Placement::BACKOFF);
            for _ in 0..Placement::SLOW_READS {
                placement.run(1, slow);
            }
            assert_eq!(placement.in_place(1), fixed);
            assert_eq!(placement.in_place(100_000), fixed, "whatever the batch");
        }
    }

    #[test]
    fn a_batch_of_cached_keys_is_not_a_slow_read() {
        let hour = Duration::from_secs(3600);
        let placement = Placement::new(None, hour, hour);
        // 100 keys at 1.2 µs each: over `SLOW` for the batch, fast for each key (the
        // batch's allowance is 300 µs, room for a sleep's overshoot).
        let batch = || std::thread::sleep(Duration::from_micros(120));
        for _ in 0..Placement::SLOW_READS * 2 {
            placement.run(100, batch);
        }
        assert!(
            placement.in_place(100),
            "cached batches keep reads in place"
        );
        // The same time for one key is a slow read.
        for _ in 0..Placement::SLOW_READS {
            placement.run(1, batch);
        }
        assert!(!placement.in_place(1));
    }

    #[test]
    fn a_batch_over_the_in_place_size_always_leaves_the_executor() {
        let placement = Placement::new(None, Placement::WINDOW, Placement::BACKOFF);
        assert!(placement.in_place(Placement::IN_PLACE_KEYS));
        assert!(!placement.in_place(Placement::IN_PLACE_KEYS + 1));
        assert!(
            placement.in_place(1),
            "and the store's other reads stay in place"
        );
    }
}
