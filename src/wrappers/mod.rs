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

use std::mem::MaybeUninit;

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

/// A name joined from parts: on the stack when short (no allocation on the usual
/// path), on the heap otherwise. Renaming wrappers build their inner names with it.
///
/// It lives in the renaming wrapper's future across the inner call, so it is kept to
/// 64 bytes: every byte of a future is copied when the future is moved (pinned,
/// spawned), and a 3-wrapper stack's future past ~128 bytes is copied by a `memcpy`
/// call instead of a few register moves.
pub(crate) enum Joined {
    /// The first `len` bytes of `buf` are initialised.
    Stack {
        len: u8,
        buf: MaybeUninit<[u8; Joined::STACK]>,
    },
    Heap(Box<str>),
}

impl Joined {
    const STACK: usize = 62;

    // Always inline, with the number of parts a constant: the join happens in the
    // caller's future, unrolled. Out of line (as `#[inline]` left it in the stack's
    // put and get), the call and its loop over a slice of parts cost ~60
    // instructions per call (callgrind).
    #[inline(always)]
    pub(crate) fn new<const N: usize>(parts: [&str; N]) -> Self {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if len > Self::STACK {
            return Self::heap(&parts);
        }
        // Built in place: a buffer filled first and then moved into the enum cost
        // a 64-byte copy per call.
        let mut joined = Self::Stack {
            len: len as u8,
            buf: MaybeUninit::uninit(),
        };
        if let Self::Stack { buf, .. } = &mut joined {
            let dst = buf.as_mut_ptr().cast::<u8>();
            let mut at = 0;
            for part in parts {
                // SAFETY: the parts' lengths sum to `len <= STACK`, so every part fits
                // in `buf` after the ones before it; source and buffer do not overlap.
                unsafe { crate::names::copy_short(part.as_bytes(), dst.add(at)) };
                at += part.len();
            }
        }
        joined
    }

    #[cold]
    fn heap(parts: &[&str]) -> Self {
        Self::Heap(parts.concat().into_boxed_str())
    }

    #[inline]
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Self::Heap(name) => name,
            // SAFETY: `buf[..len]` was initialised by `new` with the concatenation of
            // the `&str` parts, and a concatenation of complete UTF-8 strings is UTF-8.
            // (Checking it again cost 70 instructions per call, a quarter of a
            // 3-wrapper stack's overhead, measured with callgrind.)
            Self::Stack { len, buf } => unsafe {
                let bytes = std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), *len as usize);
                std::str::from_utf8_unchecked(bytes)
            },
        }
    }
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

#[cfg(test)]
mod tests {
    use super::Joined;

    #[test]
    fn joined_is_the_concatenation_for_every_length_and_split() {
        let text: String = ('a'..='z').cycle().take(80).collect();
        for len in 0..=text.len() {
            for cut in 0..=len {
                let (a, b) = (&text[..cut], &text[cut..len]);
                assert_eq!(Joined::new([a, b]).as_str(), &text[..len]);
                assert_eq!(Joined::new([b, "é", a]).as_str(), format!("{b}é{a}"));
            }
        }
    }
}
