//! Wrappers: stores around a store, each doing one job and forwarding the rest.
//!
//! Every wrapper implements [`KvStore`](crate::KvStore) and each capability trait
//! exactly when its inner store does (translating names where it changes them).
//! Compose them like iterator adapters through [`KvStoreExt`](crate::KvStoreExt):
//!
//! ```
//! use std::time::Duration;
//! use kv_store_adapter::{KvStoreExt, stores::MemoryStore};
//!
//! # fn main() -> kv_store_adapter::Result<()> {
//! let store = MemoryStore::new(10_000)
//!     .clamp_ttl(Duration::from_secs(1), Duration::from_secs(3600), None)?
//!     .prefix_keys("tenant-a")?
//!     .with_stats();
//! # Ok(()) }
//! ```

/// Forwards, inside a `KvStore` impl, the named `raw_` methods to `self.inner` (the
/// single-key ones with their `_prefixed` forms, which mean the same).
macro_rules! forward_core {
    ($($method:ident),+ $(,)?) => { $( forward_core!(@ $method); )+ };
    (@raw_get) => {
        fn raw_get(&self, c: &str, k: &str)
            -> impl std::future::Future<Output = $crate::Result<Option<bytes::Bytes>>> + Send {
            self.inner.raw_get(c, k)
        }
        fn raw_get_prefixed(&self, c: &str, p: &str, k: &str)
            -> impl std::future::Future<Output = $crate::Result<Option<bytes::Bytes>>> + Send {
            self.inner.raw_get_prefixed(c, p, k)
        }
    };
    (@raw_put) => {
        fn raw_put(&self, c: &str, k: &str, v: bytes::Bytes, ttl: Option<std::time::Duration>)
            -> impl std::future::Future<Output = $crate::Result<()>> + Send {
            self.inner.raw_put(c, k, v, ttl)
        }
        fn raw_put_prefixed(&self, c: &str, p: &str, k: &str, v: bytes::Bytes, ttl: Option<std::time::Duration>)
            -> impl std::future::Future<Output = $crate::Result<()>> + Send {
            self.inner.raw_put_prefixed(c, p, k, v, ttl)
        }
    };
    (@raw_delete) => {
        fn raw_delete(&self, c: &str, k: &str)
            -> impl std::future::Future<Output = $crate::Result<bool>> + Send {
            self.inner.raw_delete(c, k)
        }
        fn raw_delete_prefixed(&self, c: &str, p: &str, k: &str)
            -> impl std::future::Future<Output = $crate::Result<bool>> + Send {
            self.inner.raw_delete_prefixed(c, p, k)
        }
    };
    (@raw_ttl) => {
        fn raw_ttl(&self, c: &str, k: &str)
            -> impl std::future::Future<Output = $crate::Result<Option<$crate::TtlEntry>>> + Send {
            self.inner.raw_ttl(c, k)
        }
        fn raw_ttl_prefixed(&self, c: &str, p: &str, k: &str)
            -> impl std::future::Future<Output = $crate::Result<Option<$crate::TtlEntry>>> + Send {
            self.inner.raw_ttl_prefixed(c, p, k)
        }
    };
    (@raw_get_many) => {
        fn raw_get_many(&self, c: &str, keys: &[&str])
            -> impl std::future::Future<Output = $crate::Result<Vec<Option<bytes::Bytes>>>> + Send {
            self.inner.raw_get_many(c, keys)
        }
    };
    (@raw_put_many) => {
        fn raw_put_many(&self, c: &str, entries: &[(&str, bytes::Bytes)], ttl: Option<std::time::Duration>)
            -> impl std::future::Future<Output = $crate::Result<()>> + Send {
            self.inner.raw_put_many(c, entries, ttl)
        }
    };
    (@raw_delete_many) => {
        fn raw_delete_many(&self, c: &str, keys: &[&str])
            -> impl std::future::Future<Output = $crate::Result<usize>> + Send {
            self.inner.raw_delete_many(c, keys)
        }
    };
    (@raw_ttl_many) => {
        fn raw_ttl_many(&self, c: &str, keys: &[&str])
            -> impl std::future::Future<Output = $crate::Result<Vec<Option<$crate::TtlEntry>>>> + Send {
            self.inner.raw_ttl_many(c, keys)
        }
    };
}

/// Implements the named capability traits for `Wrapper<S>` by forwarding to `self.inner`.
macro_rules! forward_capabilities {
    ($wrapper:ident: $($cap:ident),+ $(,)?) => { $( forward_capabilities!(@ $cap $wrapper); )+ };
    (@keys $w:ident) => {
        impl<S: $crate::EnumerateKeys> $crate::EnumerateKeys for $w<S> {
            fn raw_keys(&self, c: &str, limit: usize)
                -> impl std::future::Future<Output = $crate::Result<Vec<String>>> + Send {
                self.inner.raw_keys(c, limit)
            }
        }
    };
    (@collections $w:ident) => {
        impl<S: $crate::EnumerateCollections> $crate::EnumerateCollections for $w<S> {
            fn collections(&self, limit: usize)
                -> impl std::future::Future<Output = $crate::Result<Vec<String>>> + Send {
                self.inner.collections(limit)
            }
        }
    };
    (@destroy_collection $w:ident) => {
        impl<S: $crate::DestroyCollection> $crate::DestroyCollection for $w<S> {
            fn raw_destroy_collection(&self, c: &str)
                -> impl std::future::Future<Output = $crate::Result<()>> + Send {
                self.inner.raw_destroy_collection(c)
            }
        }
    };
    (@destroy $w:ident) => {
        impl<S: $crate::DestroyStore> $crate::DestroyStore for $w<S> {
            fn destroy(&self) -> impl std::future::Future<Output = $crate::Result<()>> + Send {
                self.inner.destroy()
            }
        }
    };
    (@cull $w:ident) => {
        impl<S: $crate::Cull> $crate::Cull for $w<S> {
            fn cull(&self) -> impl std::future::Future<Output = $crate::Result<()>> + Send {
                self.inner.cull()
            }
        }
    };
}

mod clamp_ttl;
#[cfg(feature = "compress")]
pub(crate) mod compress;
mod default_value;
#[cfg(feature = "encrypt")]
pub(crate) mod encrypt;
mod fallback;
mod limit_size;
mod logged;
mod passthrough_cache;
pub(crate) mod prefix;
mod read_only;
mod retry;
mod route;
pub(crate) mod single_collection;
mod stats;
mod strict;
mod timeout;

pub use clamp_ttl::ClampTtl;
#[cfg(feature = "compress")]
#[cfg_attr(docsrs, doc(cfg(feature = "compress")))]
pub use compress::Compress;
pub use default_value::DefaultValue;
#[cfg(feature = "encrypt")]
#[cfg_attr(docsrs, doc(cfg(feature = "encrypt")))]
pub use encrypt::{Encrypt, EncryptionKey};
pub use fallback::Fallback;
pub use limit_size::LimitSize;
pub use logged::Logged;
pub use passthrough_cache::PassthroughCache;
pub use prefix::{PrefixCollections, PrefixKeys};
pub use read_only::ReadOnly;
pub use retry::{Retry, RetryPolicy};
pub use route::{Route, RouteMap};
pub use single_collection::SingleCollection;
pub use stats::{CollectionStats, DEFAULT_MAX_COLLECTIONS, Latency, Operation, Stats};
pub use strict::Strict;
pub use timeout::Timeout;
