//! Forwarding for wrappers, ours and anyone's: a wrapper writes the methods it changes
//! and forwards the rest to its inner store with [`forward_methods!`](crate::forward_methods)
//! and [`forward_capabilities!`](crate::forward_capabilities).

/// Forwards, inside an `impl Store for Wrapper<S>`, the named [`Store`](crate::Store)
/// methods to the field `$field`.
///
/// Forward only what the wrapper leaves unchanged: a method it does not name and
/// does not write keeps the trait's default, which calls the wrapper's own methods
/// (the default `get_many_opts` loops over `get_opts`), so a wrapper that changes
/// `get_opts` and forwards nothing else is correct on every path, and forwarding
/// `get_many_opts` too is an optimisation that must keep the same meaning.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use kv_store_adapter::{Entry, GetOptions, Key, KvStore, Result, Store, stores::MemoryStore};
///
/// /// Counts reads.
/// struct CountReads<S> { inner: S, reads: AtomicUsize }
///
/// impl<S: Store> Store for CountReads<S> {
///     kv_store_adapter::forward_methods!(inner; put_opts, delete_opts, put_many_opts, delete_many_opts);
///
///     async fn get_opts(&self, key: Key<'_>, opts: GetOptions) -> Result<Option<Entry>> {
///         self.reads.fetch_add(1, Ordering::Relaxed);
///         self.inner.get_opts(key, opts).await
///     }
/// }
/// kv_store_adapter::forward_capabilities!(CountReads, inner;
///     enumerate_keys, enumerate_collections, destroy_collection, destroy, cull);
///
/// # #[tokio::main] async fn main() -> Result<()> {
/// let store = CountReads { inner: MemoryStore::new(), reads: Default::default() };
/// store.get_many("c", ["a", "b"]).await?;
/// assert_eq!(store.reads.load(Ordering::Relaxed), 2);
/// store.destroy().await?; // kept from MemoryStore
/// # Ok(()) }
/// ```
#[macro_export]
macro_rules! forward_methods {
    ($field:tt; $($method:ident),+ $(,)?) => {
        $( $crate::forward_methods!(@ $field $method); )+
    };
    (@ $f:tt get_opts) => {
        #[inline]
        fn get_opts<'a>(&'a self, k: $crate::Key<'a>, o: $crate::GetOptions)
            -> impl ::std::future::Future<Output = $crate::Result<Option<$crate::Entry>>> + Send {
            $crate::Store::get_opts(&self.$f, k, o)
        }
    };
    (@ $f:tt put_opts) => {
        #[inline]
        fn put_opts<'a>(&'a self, k: $crate::Key<'a>, v: $crate::Bytes, o: $crate::PutOptions)
            -> impl ::std::future::Future<Output = $crate::Result<()>> + Send {
            $crate::Store::put_opts(&self.$f, k, v, o)
        }
    };
    (@ $f:tt delete_opts) => {
        #[inline]
        fn delete_opts<'a>(&'a self, k: $crate::Key<'a>, o: $crate::DeleteOptions)
            -> impl ::std::future::Future<Output = $crate::Result<bool>> + Send {
            $crate::Store::delete_opts(&self.$f, k, o)
        }
    };
    (@ $f:tt get_many_opts) => {
        fn get_many_opts(&self, c: &str, keys: &[&str], o: $crate::GetOptions)
            -> impl ::std::future::Future<Output = $crate::Result<Vec<Option<$crate::Entry>>>> + Send {
            $crate::Store::get_many_opts(&self.$f, c, keys, o)
        }
    };
    (@ $f:tt put_many_opts) => {
        fn put_many_opts(&self, c: &str, entries: &[(&str, $crate::Bytes)], o: $crate::PutOptions)
            -> impl ::std::future::Future<Output = $crate::Result<()>> + Send {
            $crate::Store::put_many_opts(&self.$f, c, entries, o)
        }
    };
    (@ $f:tt delete_many_opts) => {
        fn delete_many_opts(&self, c: &str, keys: &[&str], o: $crate::DeleteOptions)
            -> impl ::std::future::Future<Output = $crate::Result<usize>> + Send {
            $crate::Store::delete_many_opts(&self.$f, c, keys, o)
        }
    };
}

/// Implements the named capability traits (`enumerate_keys`, `enumerate_collections`,
/// `destroy_collection`, `destroy`, `cull`, `conditional_writes`) for `Wrapper<S>` whenever `S` has them, by
/// forwarding to the field `$field`: a wrapper keeps every capability of its inner
/// store. Leave out what the wrapper must not offer (a read-only view has no
/// `destroy`). See [`forward_methods!`](crate::forward_methods) for an example.
#[macro_export]
macro_rules! forward_capabilities {
    ($wrapper:ident, $field:tt; $($cap:ident),+ $(,)?) => {
        $( $crate::forward_capabilities!(@ $cap $wrapper $field); )+
    };
    (@enumerate_keys $w:ident $f:tt) => {
        impl<S: $crate::EnumerateKeys> $crate::EnumerateKeys for $w<S> {
            fn keys_opts(&self, c: &str, o: $crate::ListOptions)
                -> impl ::std::future::Future<Output = $crate::Result<Vec<String>>> + Send {
                $crate::EnumerateKeys::keys_opts(&self.$f, c, o)
            }
            fn keys_page_with_prefix(&self, c: &str, prefix: &str, cursor: Option<$crate::Cursor>, limit: usize)
                -> impl ::std::future::Future<Output = $crate::Result<$crate::Page>> + Send {
                $crate::EnumerateKeys::keys_page_with_prefix(&self.$f, c, prefix, cursor, limit)
            }
            fn walk_page(&self, c: &str) -> usize {
                $crate::EnumerateKeys::walk_page(&self.$f, c)
            }
        }
    };
    (@enumerate_collections $w:ident $f:tt) => {
        impl<S: $crate::EnumerateCollections> $crate::EnumerateCollections for $w<S> {
            fn collections_opts(&self, o: $crate::ListOptions)
                -> impl ::std::future::Future<Output = $crate::Result<Vec<String>>> + Send {
                $crate::EnumerateCollections::collections_opts(&self.$f, o)
            }
            fn collections_page_with_prefix(&self, prefix: &str, cursor: Option<$crate::Cursor>, limit: usize)
                -> impl ::std::future::Future<Output = $crate::Result<$crate::Page>> + Send {
                $crate::EnumerateCollections::collections_page_with_prefix(&self.$f, prefix, cursor, limit)
            }
            fn collections_walk_page(&self) -> usize {
                $crate::EnumerateCollections::collections_walk_page(&self.$f)
            }
        }
    };
    (@destroy_collection $w:ident $f:tt) => {
        impl<S: $crate::DestroyCollection> $crate::DestroyCollection for $w<S> {
            fn destroy_collection_opts(&self, c: &str)
                -> impl ::std::future::Future<Output = $crate::Result<()>> + Send {
                $crate::DestroyCollection::destroy_collection_opts(&self.$f, c)
            }
        }
    };
    (@destroy $w:ident $f:tt) => {
        impl<S: $crate::DestroyStore> $crate::DestroyStore for $w<S> {
            fn destroy_opts(&self) -> impl ::std::future::Future<Output = $crate::Result<()>> + Send {
                $crate::DestroyStore::destroy_opts(&self.$f)
            }
        }
    };
    (@conditional_writes $w:ident $f:tt) => {
        impl<S: $crate::ConditionalWrites> $crate::ConditionalWrites for $w<S> {
            fn put_if_opts<'a>(&'a self, k: $crate::Key<'a>, v: $crate::Bytes, c: $crate::Condition, o: $crate::PutOptions)
                -> impl ::std::future::Future<Output = $crate::Result<$crate::Written>> + Send {
                $crate::ConditionalWrites::put_if_opts(&self.$f, k, v, c, o)
            }
            fn delete_if_opts<'a>(&'a self, k: $crate::Key<'a>, v: $crate::Version, o: $crate::DeleteOptions)
                -> impl ::std::future::Future<Output = $crate::Result<bool>> + Send {
                $crate::ConditionalWrites::delete_if_opts(&self.$f, k, v, o)
            }
        }
    };
    (@cull $w:ident $f:tt) => {
        impl<S: $crate::Cull> $crate::Cull for $w<S> {
            fn cull_opts(&self) -> impl ::std::future::Future<Output = $crate::Result<()>> + Send {
                $crate::Cull::cull_opts(&self.$f)
            }
        }
    };
}
