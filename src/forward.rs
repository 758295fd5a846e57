//! Forwarding for wrappers, ours and anyone's: a wrapper writes the methods it changes
//! and forwards the rest to its inner store with [`forward_methods!`](crate::forward_methods)
//! and [`forward_capabilities!`](crate::forward_capabilities).

/// Forwards, inside an `impl KvStore for Wrapper<S>`, the named `raw_` methods to the
/// field `$field` (the single-key ones with their `_prefixed` forms, which mean the
/// same).
///
/// Forward only what the wrapper leaves unchanged: a method it does not name and
/// does not write keeps the trait's default, which calls the wrapper's own methods
/// (the default `raw_get_many` loops over `raw_get`), so a wrapper that changes
/// `raw_get` and forwards nothing else is correct on every path, and forwarding
/// `raw_get_many` too is an optimisation that must keep the same meaning.
///
/// ```
/// use bytes::Bytes;
/// use kv_store_adapter::{KvStore, KvStoreExt, Result, stores::MemoryStore};
///
/// /// Counts reads.
/// struct CountReads<S> { inner: S, reads: std::sync::atomic::AtomicUsize }
///
/// impl<S: KvStore> KvStore for CountReads<S> {
///     kv_store_adapter::forward_methods!(inner; raw_put, raw_delete, raw_ttl,
///         raw_put_many, raw_delete_many, raw_ttl_many);
///
///     async fn raw_get(&self, c: &str, k: &str) -> Result<Option<Bytes>> {
///         self.reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
///         self.inner.raw_get(c, k).await
///     }
/// }
/// kv_store_adapter::forward_capabilities!(CountReads, inner;
///     enumerate_keys, enumerate_collections, destroy_collection, destroy, cull);
///
/// # #[tokio::main] async fn main() -> Result<()> {
/// let store = CountReads { inner: MemoryStore::with_max_entries(10), reads: Default::default() };
/// store.get_many("c", &["a", "b"]).await?;
/// assert_eq!(store.reads.load(std::sync::atomic::Ordering::Relaxed), 2);
/// # Ok(()) }
/// ```
#[macro_export]
macro_rules! forward_methods {
    ($field:ident; $($method:ident),+ $(,)?) => {
        $( $crate::forward_methods!(@ $field $method); )+
    };
    (@ $f:ident raw_get) => {
        fn raw_get(&self, c: &str, k: &str)
            -> impl ::std::future::Future<Output = $crate::Result<Option<$crate::Bytes>>> + Send {
            $crate::KvStore::raw_get(&self.$f, c, k)
        }
        fn raw_get_prefixed(&self, c: &str, p: &str, k: &str)
            -> impl ::std::future::Future<Output = $crate::Result<Option<$crate::Bytes>>> + Send {
            $crate::KvStore::raw_get_prefixed(&self.$f, c, p, k)
        }
    };
    (@ $f:ident raw_put) => {
        fn raw_put(&self, c: &str, k: &str, v: $crate::Bytes, ttl: Option<::std::time::Duration>)
            -> impl ::std::future::Future<Output = $crate::Result<()>> + Send {
            $crate::KvStore::raw_put(&self.$f, c, k, v, ttl)
        }
        fn raw_put_prefixed(&self, c: &str, p: &str, k: &str, v: $crate::Bytes, ttl: Option<::std::time::Duration>)
            -> impl ::std::future::Future<Output = $crate::Result<()>> + Send {
            $crate::KvStore::raw_put_prefixed(&self.$f, c, p, k, v, ttl)
        }
    };
    (@ $f:ident raw_delete) => {
        fn raw_delete(&self, c: &str, k: &str)
            -> impl ::std::future::Future<Output = $crate::Result<bool>> + Send {
            $crate::KvStore::raw_delete(&self.$f, c, k)
        }
        fn raw_delete_prefixed(&self, c: &str, p: &str, k: &str)
            -> impl ::std::future::Future<Output = $crate::Result<bool>> + Send {
            $crate::KvStore::raw_delete_prefixed(&self.$f, c, p, k)
        }
    };
    (@ $f:ident raw_ttl) => {
        fn raw_ttl(&self, c: &str, k: &str)
            -> impl ::std::future::Future<Output = $crate::Result<Option<$crate::TtlEntry>>> + Send {
            $crate::KvStore::raw_ttl(&self.$f, c, k)
        }
        fn raw_ttl_prefixed(&self, c: &str, p: &str, k: &str)
            -> impl ::std::future::Future<Output = $crate::Result<Option<$crate::TtlEntry>>> + Send {
            $crate::KvStore::raw_ttl_prefixed(&self.$f, c, p, k)
        }
    };
    (@ $f:ident raw_get_many) => {
        fn raw_get_many(&self, c: &str, keys: &[&str])
            -> impl ::std::future::Future<Output = $crate::Result<Vec<Option<$crate::Bytes>>>> + Send {
            $crate::KvStore::raw_get_many(&self.$f, c, keys)
        }
    };
    (@ $f:ident raw_put_many) => {
        fn raw_put_many(&self, c: &str, entries: &[(&str, $crate::Bytes)], ttl: Option<::std::time::Duration>)
            -> impl ::std::future::Future<Output = $crate::Result<()>> + Send {
            $crate::KvStore::raw_put_many(&self.$f, c, entries, ttl)
        }
    };
    (@ $f:ident raw_delete_many) => {
        fn raw_delete_many(&self, c: &str, keys: &[&str])
            -> impl ::std::future::Future<Output = $crate::Result<usize>> + Send {
            $crate::KvStore::raw_delete_many(&self.$f, c, keys)
        }
    };
    (@ $f:ident raw_ttl_many) => {
        fn raw_ttl_many(&self, c: &str, keys: &[&str])
            -> impl ::std::future::Future<Output = $crate::Result<Vec<Option<$crate::TtlEntry>>>> + Send {
            $crate::KvStore::raw_ttl_many(&self.$f, c, keys)
        }
    };
}

/// Implements the named capability traits (`enumerate_keys`, `enumerate_collections`,
/// `destroy_collection`, `destroy`, `cull`) for `Wrapper<S>` whenever `S` has them, by
/// forwarding to the field `$field`: a wrapper keeps every capability of its inner
/// store. Leave out what the wrapper must not offer (a read-only view has no
/// `destroy`). See [`forward_methods!`](crate::forward_methods) for an example.
#[macro_export]
macro_rules! forward_capabilities {
    ($wrapper:ident, $field:ident; $($cap:ident),+ $(,)?) => {
        $( $crate::forward_capabilities!(@ $cap $wrapper $field); )+
    };
    (@enumerate_keys $w:ident $f:ident) => {
        impl<S: $crate::EnumerateKeys> $crate::EnumerateKeys for $w<S> {
            fn raw_keys(&self, c: &str, limit: usize)
                -> impl ::std::future::Future<Output = $crate::Result<Vec<String>>> + Send {
                $crate::EnumerateKeys::raw_keys(&self.$f, c, limit)
            }
        }
    };
    (@enumerate_collections $w:ident $f:ident) => {
        impl<S: $crate::EnumerateCollections> $crate::EnumerateCollections for $w<S> {
            fn collections(&self, limit: usize)
                -> impl ::std::future::Future<Output = $crate::Result<Vec<String>>> + Send {
                $crate::EnumerateCollections::collections(&self.$f, limit)
            }
        }
    };
    (@destroy_collection $w:ident $f:ident) => {
        impl<S: $crate::DestroyCollection> $crate::DestroyCollection for $w<S> {
            fn raw_destroy_collection(&self, c: &str)
                -> impl ::std::future::Future<Output = $crate::Result<()>> + Send {
                $crate::DestroyCollection::raw_destroy_collection(&self.$f, c)
            }
        }
    };
    (@destroy $w:ident $f:ident) => {
        impl<S: $crate::DestroyStore> $crate::DestroyStore for $w<S> {
            fn destroy(&self) -> impl ::std::future::Future<Output = $crate::Result<()>> + Send {
                $crate::DestroyStore::destroy(&self.$f)
            }
        }
    };
    (@cull $w:ident $f:ident) => {
        impl<S: $crate::Cull> $crate::Cull for $w<S> {
            fn cull(&self) -> impl ::std::future::Future<Output = $crate::Result<()>> + Send {
                $crate::Cull::cull(&self.$f)
            }
        }
    };
}
