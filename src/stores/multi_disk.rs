//! `MultiDiskStore`: one redb file per collection under a base directory.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;

use super::DiskStore;
use crate::store::{
    Cull, DestroyCollection, DestroyStore, EnumerateCollections, EnumerateKeys, KvStore, TtlEntry,
};
use crate::{Error, Result, names};

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

struct Inner {
    base: PathBuf,
    durable: bool,
    /// Open files by collection name.
    open: Mutex<HashMap<String, DiskStore>>,
    /// Serialises opening and removing files (redb refuses a second open of one file).
    files: tokio::sync::Mutex<()>,
}

impl fmt::Debug for MultiDiskStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultiDiskStore")
            .field("base", &self.inner.base)
            .field("durable", &self.inner.durable)
            .finish()
    }
}

impl MultiDiskStore {
    /// Opens a durable store under `base`, creating the directory if needed.
    pub fn open(base: impl AsRef<Path>) -> Result<Self> {
        Self::with_durability(base, true)
    }

    /// Opens a store under `base`; `durable: false` trades crash safety for speed
    /// (see [`DiskStoreBuilder::durable`](super::DiskStoreBuilder::durable)).
    pub fn with_durability(base: impl AsRef<Path>, durable: bool) -> Result<Self> {
        let base = base.as_ref().to_owned();
        std::fs::create_dir_all(&base)
            .map_err(|e| Error::setup(format!("cannot create {}", base.display()), e))?;
        Ok(Self {
            inner: Arc::new(Inner {
                base,
                durable,
                open: Mutex::new(HashMap::new()),
                files: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// The base directory.
    pub fn base(&self) -> &Path {
        &self.inner.base
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
        let readable: String = collection
            .chars()
            .filter_map(|c| match c.to_ascii_lowercase() {
                c @ ('a'..='z' | '0'..='9' | '_' | '-') => Some(c),
                _ => None,
            })
            .take(READABLE_PART)
            .collect();
        format!("{readable}_-{}.{EXTENSION}", names::digest(&[collection]))
    }

    fn opened(&self) -> MutexGuard<'_, HashMap<String, DiskStore>> {
        self.inner
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The collection's store; `None` if it has no file and `create` is false.
    async fn store(&self, collection: &str, create: bool) -> Result<Option<DiskStore>> {
        if let Some(store) = self.opened().get(collection) {
            return Ok(Some(store.clone()));
        }
        let _files = self.inner.files.lock().await;
        if let Some(store) = self.opened().get(collection) {
            return Ok(Some(store.clone()));
        }
        let path = self.inner.base.join(Self::file_name(collection));
        let (name, durable) = (collection.to_owned(), self.inner.durable);
        let store = blocking(move || {
            if !create && !path.exists() {
                return Ok(None);
            }
            let store = DiskStore::builder(&path).durable(durable).open()?;
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
            self.opened().insert(collection.to_owned(), store.clone());
        }
        Ok(store)
    }

    /// Opens every collection file in the base directory that is not open yet.
    async fn open_all(&self) -> Result<Vec<(String, DiskStore)>> {
        let _files = self.inner.files.lock().await;
        let known: Vec<PathBuf> = self
            .opened()
            .values()
            .map(|s| s.path().to_owned())
            .collect();
        let (base, durable) = (self.inner.base.clone(), self.inner.durable);
        let found = blocking(move || {
            let mut found = Vec::new();
            let dir = std::fs::read_dir(&base)
                .map_err(|e| Error::backend(format!("cannot list {}", base.display()), e))?;
            for entry in dir {
                let path = entry
                    .map_err(|e| Error::backend("cannot list the base directory", e))?
                    .path();
                if path.extension().is_none_or(|e| e != EXTENSION) || known.contains(&path) {
                    continue;
                }
                let store = DiskStore::builder(&path).durable(durable).open()?;
                if let Some(name) = store.read_meta_blocking(META_COLLECTION)? {
                    found.push((name, store));
                }
            }
            Ok(found)
        })
        .await?;
        let mut opened = self.opened();
        opened.extend(found);
        let mut all: Vec<_> = opened.iter().map(|(c, s)| (c.clone(), s.clone())).collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(all)
    }
}

async fn blocking<R: Send + 'static>(f: impl FnOnce() -> Result<R> + Send + 'static) -> Result<R> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle
            .spawn_blocking(f)
            .await
            .map_err(|e| Error::backend("the file task failed", e))?,
        Err(_) => f(),
    }
}

impl KvStore for MultiDiskStore {
    async fn raw_get(&self, collection: &str, key: &str) -> Result<Option<Bytes>> {
        match self.store(collection, false).await? {
            Some(store) => store.raw_get(collection, key).await,
            None => Ok(None),
        }
    }

    async fn raw_put(
        &self,
        collection: &str,
        key: &str,
        value: Bytes,
        ttl: Option<Duration>,
    ) -> Result<()> {
        let store = self.store(collection, true).await?;
        store
            .ok_or(Error::unsupported("creating the collection file"))?
            .raw_put(collection, key, value, ttl)
            .await
    }

    async fn raw_delete(&self, collection: &str, key: &str) -> Result<bool> {
        match self.store(collection, false).await? {
            Some(store) => store.raw_delete(collection, key).await,
            None => Ok(false),
        }
    }

    async fn raw_ttl(&self, collection: &str, key: &str) -> Result<Option<TtlEntry>> {
        match self.store(collection, false).await? {
            Some(store) => store.raw_ttl(collection, key).await,
            None => Ok(None),
        }
    }

    async fn raw_get_many(&self, collection: &str, keys: &[&str]) -> Result<Vec<Option<Bytes>>> {
        match self.store(collection, false).await? {
            Some(store) => store.raw_get_many(collection, keys).await,
            None => Ok(vec![None; keys.len()]),
        }
    }

    async fn raw_put_many(
        &self,
        collection: &str,
        entries: &[(&str, Bytes)],
        ttl: Option<Duration>,
    ) -> Result<()> {
        let store = self.store(collection, true).await?;
        store
            .ok_or(Error::unsupported("creating the collection file"))?
            .raw_put_many(collection, entries, ttl)
            .await
    }

    async fn raw_delete_many(&self, collection: &str, keys: &[&str]) -> Result<usize> {
        match self.store(collection, false).await? {
            Some(store) => store.raw_delete_many(collection, keys).await,
            None => Ok(0),
        }
    }

    async fn raw_ttl_many(&self, collection: &str, keys: &[&str]) -> Result<Vec<Option<TtlEntry>>> {
        match self.store(collection, false).await? {
            Some(store) => store.raw_ttl_many(collection, keys).await,
            None => Ok(vec![None; keys.len()]),
        }
    }
}

impl EnumerateKeys for MultiDiskStore {
    async fn raw_keys(&self, collection: &str, limit: usize) -> Result<Vec<String>> {
        match self.store(collection, false).await? {
            Some(store) => store.raw_keys(collection, limit).await,
            None => Ok(Vec::new()),
        }
    }
}

impl EnumerateCollections for MultiDiskStore {
    async fn collections(&self, limit: usize) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for (name, store) in self.open_all().await? {
            if out.len() >= limit {
                break;
            }
            if !store.collections(1).await?.is_empty() {
                out.push(name);
            }
        }
        Ok(out)
    }
}

impl MultiDiskStore {
    /// Closes and deletes the collection's file, if it has one.
    async fn remove_file(&self, collection: &str) -> Result<()> {
        let _files = self.inner.files.lock().await;
        let store = self.opened().remove(collection);
        let path = match store {
            Some(store) => store.path().to_owned(),
            None => self.inner.base.join(Self::file_name(collection)),
        };
        blocking(move || match std::fs::remove_file(&path) {
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
    async fn raw_destroy_collection(&self, collection: &str) -> Result<()> {
        self.remove_file(collection).await
    }
}

impl DestroyStore for MultiDiskStore {
    async fn destroy(&self) -> Result<()> {
        for (name, _) in self.open_all().await? {
            self.remove_file(&name).await?;
        }
        Ok(())
    }
}

impl Cull for MultiDiskStore {
    async fn cull(&self) -> Result<()> {
        for (_, store) in self.open_all().await? {
            store.cull().await?;
        }
        Ok(())
    }
}
