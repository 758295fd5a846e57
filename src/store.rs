//! The core store trait and the capability traits.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::names::Joined;
use crate::{Result, names};

/// A value with the time it has left to live (`None`: it never expires).
pub type TtlEntry = (Bytes, Option<Duration>);

/// An async key-value store: opaque byte values under `(collection, key)`, with optional TTL.
///
/// **Callers** use the plain methods (`get`, `put`, …): they check names and TTLs as
/// the contract says, before any I/O, and then call the `raw_` method.
///
/// **Implementors** (stores and wrappers) write the `raw_` methods, which receive
/// names that were already checked, and override the `raw_*_many` batch methods
/// with the backend's native batch calls. A wrapper calls its inner store's `raw_`
/// methods, so names are checked once per call, at the outermost layer, and a
/// wrapper may hand its inner store names longer than [`names::MAX_NAME_LEN`]
/// (a prefix plus a 4 KiB key).
///
/// Futures are `Send`, so generic code over `S: KvStore` can `tokio::spawn`.
///
/// # Rules every store and wrapper keeps
///
/// - **TTLs.** `None` never expires; zero, or more than [`names::MAX_TTL`], is an
///   [`InvalidTtl`](crate::ErrorDetail::InvalidTtl) error from the checked methods,
///   before anything is written. A TTL a wrapper chooses itself stays within the same
///   bound, and a store converts every TTL through [`names::bounded`], so no
///   `Duration` — `Duration::MAX` through a `raw_` method included — can panic.
/// - **Many instances.** Two instances constructed separately on one backend and
///   namespace (two processes) see one state: what one writes, deletes or destroys is
///   what the other reads, lists and writes next. Nothing an instance remembers (a
///   prepared collection, a namespace generation) may change that; a store whose
///   backend forces a delay documents its bound (memcached: `generation_refresh`).
///   Clones of a process-local store share one state.
/// - **Bounded time and memory.** Network stores have connect and operation
///   timeouts ([`Timeouts`](crate::stores::Timeouts)); per-name state has a cap.
/// - **Messages.** No secret (see [`redact`](crate::redact)) and no key (see
///   [`Error::key`](crate::Error::key)) appears in an error's text.
///
/// [`testkit`](crate::testkit) checks these rules for a single instance (`core`, …)
/// and for two instances ([`instances`](crate::testkit::instances)).
///
/// ```
/// use std::time::Duration;
/// use bytes::Bytes;
/// use kv_store_adapter::{KvStore, stores::MemoryStore};
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let store = MemoryStore::with_max_entries(1_000);
/// store.put("users", "ada", Bytes::from_static(b"Lovelace"), Some(Duration::from_secs(60))).await?;
/// assert_eq!(store.get("users", "ada").await?, Some(Bytes::from_static(b"Lovelace")));
/// let (_, left) = store.ttl("users", "ada").await?.unwrap();
/// assert!(left.unwrap() <= Duration::from_secs(60));
/// assert!(store.delete("users", "ada").await?);
/// # Ok(()) }
/// ```
pub trait KvStore: Send + Sync {
    /// Reads one value; names already checked.
    fn raw_get(
        &self,
        collection: &str,
        key: &str,
    ) -> impl Future<Output = Result<Option<Bytes>>> + Send;

    /// Writes one value, replacing value and expiry; names and TTL already checked.
    fn raw_put(
        &self,
        collection: &str,
        key: &str,
        value: Bytes,
        ttl: Option<Duration>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Deletes one entry, answering whether it existed; names already checked.
    fn raw_delete(&self, collection: &str, key: &str) -> impl Future<Output = Result<bool>> + Send;

    /// Reads one value with its remaining time to live; names already checked.
    fn raw_ttl(
        &self,
        collection: &str,
        key: &str,
    ) -> impl Future<Output = Result<Option<TtlEntry>>> + Send;

    /// [`raw_get`](Self::raw_get) of the key `prefix ‖ key`. Key-prefixing wrappers call
    /// these `_prefixed` methods, so a store that encodes keys itself (as
    /// `MemoryStore` does) can encode both parts at once instead of receiving them
    /// joined in a buffer first, and a wrapper that forwards a method unchanged
    /// forwards its `_prefixed` form too. The default joins the parts and calls the
    /// plain method; override it only together with the plain one, to the same effect.
    fn raw_get_prefixed(
        &self,
        collection: &str,
        prefix: &str,
        key: &str,
    ) -> impl Future<Output = Result<Option<Bytes>>> + Send {
        async move {
            let key = Joined::new([prefix, key]);
            self.raw_get(collection, key.as_str()).await
        }
    }

    /// [`raw_put`](Self::raw_put) of the key `prefix ‖ key`; see [`raw_get_prefixed`](Self::raw_get_prefixed).
    fn raw_put_prefixed(
        &self,
        collection: &str,
        prefix: &str,
        key: &str,
        value: Bytes,
        ttl: Option<Duration>,
    ) -> impl Future<Output = Result<()>> + Send {
        async move {
            let key = Joined::new([prefix, key]);
            self.raw_put(collection, key.as_str(), value, ttl).await
        }
    }

    /// [`raw_delete`](Self::raw_delete) of the key `prefix ‖ key`; see [`raw_get_prefixed`](Self::raw_get_prefixed).
    fn raw_delete_prefixed(
        &self,
        collection: &str,
        prefix: &str,
        key: &str,
    ) -> impl Future<Output = Result<bool>> + Send {
        async move {
            let key = Joined::new([prefix, key]);
            self.raw_delete(collection, key.as_str()).await
        }
    }

    /// [`raw_ttl`](Self::raw_ttl) of the key `prefix ‖ key`; see [`raw_get_prefixed`](Self::raw_get_prefixed).
    fn raw_ttl_prefixed(
        &self,
        collection: &str,
        prefix: &str,
        key: &str,
    ) -> impl Future<Output = Result<Option<TtlEntry>>> + Send {
        async move {
            let key = Joined::new([prefix, key]);
            self.raw_ttl(collection, key.as_str()).await
        }
    }

    /// Reads many values, one answer per key in request order. The default loops over
    /// [`raw_get`](Self::raw_get); backends override it with a native batch call.
    fn raw_get_many(
        &self,
        collection: &str,
        keys: &[&str],
    ) -> impl Future<Output = Result<Vec<Option<Bytes>>>> + Send {
        async move {
            let mut out = Vec::with_capacity(keys.len());
            for key in keys {
                out.push(self.raw_get(collection, key).await?);
            }
            Ok(out)
        }
    }

    /// Writes many values with one TTL; of duplicate keys the last wins.
    fn raw_put_many(
        &self,
        collection: &str,
        entries: &[(&str, Bytes)],
        ttl: Option<Duration>,
    ) -> impl Future<Output = Result<()>> + Send {
        async move {
            for (key, value) in entries {
                self.raw_put(collection, key, value.clone(), ttl).await?;
            }
            Ok(())
        }
    }

    /// Deletes many entries, answering how many distinct existing entries were removed.
    fn raw_delete_many(
        &self,
        collection: &str,
        keys: &[&str],
    ) -> impl Future<Output = Result<usize>> + Send {
        async move {
            let mut removed = 0;
            for key in keys {
                removed += usize::from(self.raw_delete(collection, key).await?);
            }
            Ok(removed)
        }
    }

    /// Reads many values with their TTLs, one answer per key in request order.
    fn raw_ttl_many(
        &self,
        collection: &str,
        keys: &[&str],
    ) -> impl Future<Output = Result<Vec<Option<TtlEntry>>>> + Send {
        async move {
            let mut out = Vec::with_capacity(keys.len());
            for key in keys {
                out.push(self.raw_ttl(collection, key).await?);
            }
            Ok(out)
        }
    }

    /// The name of the store's type, for [`observe`](crate::observe)'s spans and
    /// metrics; a store that boxes another (`BoxStore`) names the boxed one.
    #[doc(hidden)]
    fn observed_name(&self) -> &'static str {
        std::any::type_name::<Self>()
    }

    /// The value under `collection`/`key`, or `None`. An empty value is a value.
    fn get(
        &self,
        collection: &str,
        key: &str,
    ) -> impl Future<Output = Result<Option<Bytes>>> + Send {
        crate::observe::checked!(self, "get", collection, Some(key), None, {
            names::check(collection, key)?;
            self.raw_get(collection, key).await
        })
    }

    /// Stores `value`, replacing any earlier value *and* expiry. `ttl: None` never expires;
    /// a zero TTL is an [`InvalidTtl`](crate::ErrorDetail::InvalidTtl) error.
    fn put(
        &self,
        collection: &str,
        key: &str,
        value: Bytes,
        ttl: Option<Duration>,
    ) -> impl Future<Output = Result<()>> + Send {
        crate::observe::checked!(self, "put", collection, Some(key), None, {
            names::check(collection, key)?;
            names::check_ttl(ttl)?;
            self.raw_put(collection, key, value, ttl).await
        })
    }

    /// Removes the entry, answering whether it existed.
    fn delete(&self, collection: &str, key: &str) -> impl Future<Output = Result<bool>> + Send {
        crate::observe::checked!(self, "delete", collection, Some(key), None, {
            names::check(collection, key)?;
            self.raw_delete(collection, key).await
        })
    }

    /// The value and its remaining time to live (`None` for an entry that never expires).
    fn ttl(
        &self,
        collection: &str,
        key: &str,
    ) -> impl Future<Output = Result<Option<TtlEntry>>> + Send {
        crate::observe::checked!(self, "ttl", collection, Some(key), None, {
            names::check(collection, key)?;
            self.raw_ttl(collection, key).await
        })
    }

    /// One answer per key, in request order; a key asked twice is answered twice.
    fn get_many(
        &self,
        collection: &str,
        keys: &[&str],
    ) -> impl Future<Output = Result<Vec<Option<Bytes>>>> + Send {
        crate::observe::checked!(self, "get_many", collection, None, Some(keys.len()), {
            names::check_all(collection, keys.iter().copied())?;
            if keys.is_empty() {
                return Ok(Vec::new());
            }
            self.raw_get_many(collection, keys).await
        })
    }

    /// Stores every `(key, value)` pair with one TTL; of duplicate keys the last wins.
    fn put_many(
        &self,
        collection: &str,
        entries: &[(&str, Bytes)],
        ttl: Option<Duration>,
    ) -> impl Future<Output = Result<()>> + Send {
        crate::observe::checked!(self, "put_many", collection, None, Some(entries.len()), {
            names::check_all(collection, entries.iter().map(|(key, _)| *key))?;
            names::check_ttl(ttl)?;
            if entries.is_empty() {
                return Ok(());
            }
            self.raw_put_many(collection, entries, ttl).await
        })
    }

    /// Removes every listed entry, answering how many distinct existing entries went.
    fn delete_many(
        &self,
        collection: &str,
        keys: &[&str],
    ) -> impl Future<Output = Result<usize>> + Send {
        crate::observe::checked!(self, "delete_many", collection, None, Some(keys.len()), {
            names::check_all(collection, keys.iter().copied())?;
            if keys.is_empty() {
                return Ok(0);
            }
            self.raw_delete_many(collection, keys).await
        })
    }

    /// One value-and-TTL answer per key, in request order.
    fn ttl_many(
        &self,
        collection: &str,
        keys: &[&str],
    ) -> impl Future<Output = Result<Vec<Option<TtlEntry>>>> + Send {
        crate::observe::checked!(self, "ttl_many", collection, None, Some(keys.len()), {
            names::check_all(collection, keys.iter().copied())?;
            if keys.is_empty() {
                return Ok(Vec::new());
            }
            self.raw_ttl_many(collection, keys).await
        })
    }
}

/// The values of `raw_ttl_many`'s answers, for stores whose `raw_get_many` is their
/// `raw_ttl_many` without the times.
#[cfg_attr(not(feature = "disk"), allow(dead_code))]
pub(crate) fn values(entries: Vec<Option<TtlEntry>>) -> Vec<Option<Bytes>> {
    entries
        .into_iter()
        .map(|e| e.map(|(value, _)| value))
        .collect()
}

/// Capability: list the live keys of a collection.
pub trait EnumerateKeys: KvStore {
    /// Up to `limit` live keys of `collection`, complete (never a partial scan page);
    /// the name is already checked.
    fn raw_keys(
        &self,
        collection: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<String>>> + Send;

    /// Up to `limit` live keys of `collection`, exactly as they were written.
    fn keys(
        &self,
        collection: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<String>>> + Send {
        crate::observe::checked!(self, "keys", collection, None, None, {
            names::check_name(collection)?;
            self.raw_keys(collection, limit).await
        })
    }
}

/// Capability: list the collections that hold at least one live entry.
pub trait EnumerateCollections: KvStore {
    /// Up to `limit` collection names, exactly as they were written.
    fn collections(&self, limit: usize) -> impl Future<Output = Result<Vec<String>>> + Send;
}

/// Capability: remove one whole collection.
pub trait DestroyCollection: KvStore {
    /// Removes every entry of `collection`; the name is already checked.
    fn raw_destroy_collection(&self, collection: &str) -> impl Future<Output = Result<()>> + Send;

    /// Removes every entry of `collection` and nothing else; it is usable again at once.
    fn destroy_collection(&self, collection: &str) -> impl Future<Output = Result<()>> + Send {
        crate::observe::checked!(self, "destroy_collection", collection, None, None, {
            names::check_name(collection)?;
            self.raw_destroy_collection(collection).await
        })
    }
}

/// Capability: remove everything this store wrote, and nothing else.
pub trait DestroyStore: KvStore {
    /// Removes every entry this store wrote.
    fn destroy(&self) -> impl Future<Output = Result<()>> + Send;
}

/// Capability: reclaim the space of expired entries now.
pub trait Cull: KvStore {
    /// Removes expired entries (they are already invisible to reads).
    fn cull(&self) -> impl Future<Output = Result<()>> + Send;
}

/// Implements every store trait for a smart pointer or reference by forwarding to the
/// pointee's `raw_` methods.
macro_rules! forward_pointer {
    ($($ptr:ty),*) => {$(
        impl<S: KvStore + ?Sized> KvStore for $ptr {
            fn observed_name(&self) -> &'static str {
                (**self).observed_name()
            }
            fn raw_get(&self, c: &str, k: &str) -> impl Future<Output = Result<Option<Bytes>>> + Send {
                (**self).raw_get(c, k)
            }
            fn raw_put(&self, c: &str, k: &str, v: Bytes, ttl: Option<Duration>) -> impl Future<Output = Result<()>> + Send {
                (**self).raw_put(c, k, v, ttl)
            }
            fn raw_delete(&self, c: &str, k: &str) -> impl Future<Output = Result<bool>> + Send {
                (**self).raw_delete(c, k)
            }
            fn raw_ttl(&self, c: &str, k: &str) -> impl Future<Output = Result<Option<TtlEntry>>> + Send {
                (**self).raw_ttl(c, k)
            }
            fn raw_get_prefixed(&self, c: &str, p: &str, k: &str) -> impl Future<Output = Result<Option<Bytes>>> + Send {
                (**self).raw_get_prefixed(c, p, k)
            }
            fn raw_put_prefixed(&self, c: &str, p: &str, k: &str, v: Bytes, ttl: Option<Duration>) -> impl Future<Output = Result<()>> + Send {
                (**self).raw_put_prefixed(c, p, k, v, ttl)
            }
            fn raw_delete_prefixed(&self, c: &str, p: &str, k: &str) -> impl Future<Output = Result<bool>> + Send {
                (**self).raw_delete_prefixed(c, p, k)
            }
            fn raw_ttl_prefixed(&self, c: &str, p: &str, k: &str) -> impl Future<Output = Result<Option<TtlEntry>>> + Send {
                (**self).raw_ttl_prefixed(c, p, k)
            }
            fn raw_get_many(&self, c: &str, keys: &[&str]) -> impl Future<Output = Result<Vec<Option<Bytes>>>> + Send {
                (**self).raw_get_many(c, keys)
            }
            fn raw_put_many(&self, c: &str, entries: &[(&str, Bytes)], ttl: Option<Duration>) -> impl Future<Output = Result<()>> + Send {
                (**self).raw_put_many(c, entries, ttl)
            }
            fn raw_delete_many(&self, c: &str, keys: &[&str]) -> impl Future<Output = Result<usize>> + Send {
                (**self).raw_delete_many(c, keys)
            }
            fn raw_ttl_many(&self, c: &str, keys: &[&str]) -> impl Future<Output = Result<Vec<Option<TtlEntry>>>> + Send {
                (**self).raw_ttl_many(c, keys)
            }
        }
        impl<S: EnumerateKeys + ?Sized> EnumerateKeys for $ptr {
            fn raw_keys(&self, c: &str, limit: usize) -> impl Future<Output = Result<Vec<String>>> + Send {
                (**self).raw_keys(c, limit)
            }
        }
        impl<S: EnumerateCollections + ?Sized> EnumerateCollections for $ptr {
            fn collections(&self, limit: usize) -> impl Future<Output = Result<Vec<String>>> + Send {
                (**self).collections(limit)
            }
        }
        impl<S: DestroyCollection + ?Sized> DestroyCollection for $ptr {
            fn raw_destroy_collection(&self, c: &str) -> impl Future<Output = Result<()>> + Send {
                (**self).raw_destroy_collection(c)
            }
        }
        impl<S: DestroyStore + ?Sized> DestroyStore for $ptr {
            fn destroy(&self) -> impl Future<Output = Result<()>> + Send {
                (**self).destroy()
            }
        }
        impl<S: Cull + ?Sized> Cull for $ptr {
            fn cull(&self) -> impl Future<Output = Result<()>> + Send {
                (**self).cull()
            }
        }
    )*};
}

forward_pointer!(&S, Arc<S>, Box<S>);
