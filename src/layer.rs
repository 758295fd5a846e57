//! `Layer`: a wrapper as a value that can wrap any store, so stacks can be built,
//! named and shared before the store exists, and third-party wrappers join the same
//! fluent chains as ours ([`KvStoreExt::layer`](crate::KvStoreExt::layer)).

/// Wraps a store of type `S` in another store: the unit of composition, as tower's
/// `Layer` is for services.
///
/// ```
/// use kv_store_adapter::{KvStoreExt, layer_fn, Layer, stores::MemoryStore};
///
/// # fn main() -> kv_store_adapter::Result<()> {
/// // A layer of our own wrappers, defined once and applied to any store.
/// let tenant = layer_fn(|store: MemoryStore| store.prefix_keys("tenant-a").unwrap().with_stats());
/// let a = MemoryStore::with_max_entries(10).layer(&tenant);
/// let b = tenant.layer(MemoryStore::with_max_entries(10));
/// # let _ = (a, b); Ok(()) }
/// ```
pub trait Layer<S> {
    /// The store `layer` makes.
    type Store;

    /// Wraps `inner`.
    fn layer(&self, inner: S) -> Self::Store;
}

impl<S, L: Layer<S> + ?Sized> Layer<S> for &L {
    type Store = L::Store;

    fn layer(&self, inner: S) -> Self::Store {
        (**self).layer(inner)
    }
}

/// A [`Layer`] made from a function: see [`layer_fn`].
#[derive(Debug, Clone, Copy)]
pub struct LayerFn<F>(F);

/// A [`Layer`] that calls `f` on the store it wraps.
pub fn layer_fn<F>(f: F) -> LayerFn<F> {
    LayerFn(f)
}

impl<S, W, F: Fn(S) -> W> Layer<S> for LayerFn<F> {
    type Store = W;

    fn layer(&self, inner: S) -> W {
        (self.0)(inner)
    }
}

/// Two layers, `inner` applied first and `outer` around it.
///
/// ```
/// use kv_store_adapter::{KvStore, KvStoreExt, Layer, Stack, layer_fn, stores::MemoryStore};
///
/// let both = Stack::new(
///     layer_fn(|s: MemoryStore| s.read_only()),
///     layer_fn(|s| KvStoreExt::with_stats(s)),
/// );
/// let store = MemoryStore::with_max_entries(10).layer(both);
/// assert_eq!(store.total().puts, 0);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Stack<Inner, Outer> {
    inner: Inner,
    outer: Outer,
}

impl<Inner, Outer> Stack<Inner, Outer> {
    /// `inner` first, then `outer` around it.
    pub fn new(inner: Inner, outer: Outer) -> Self {
        Self { inner, outer }
    }
}

impl<S, Inner: Layer<S>, Outer: Layer<Inner::Store>> Layer<S> for Stack<Inner, Outer> {
    type Store = Outer::Store;

    fn layer(&self, inner: S) -> Self::Store {
        self.outer.layer(self.inner.layer(inner))
    }
}
