//! Every wrapper: the conformance suite over real stores, then what each one adds.
//!
//! Rules a wrapper changes on purpose are not run for it; `changed_rules.rs` is the one
//! place that lists them, with the reason, and runs the rest.
#![cfg(feature = "full")]

use std::time::Duration;

use kv_store_adapter::stores::{DiskStore, MemoryStore, SimpleStore};

#[path = "../support/executor.rs"]
mod executor;

mod changed_rules;
mod clamp_ttl;
mod coalesce;
mod compress;
mod conditional;
mod encrypt;
mod fallback;
mod limit_size;
mod logged;
mod passthrough_cache;
mod prefix;
mod retry_timeout;
mod route;
mod single_collection;
mod stack;
mod stats;

fn memory() -> MemoryStore {
    MemoryStore::with_max_entries(200_000)
}

fn disk() -> (DiskStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (DiskStore::open(dir.path().join("kv.redb")).unwrap(), dir)
}

#[allow(dead_code)]
fn simple() -> SimpleStore {
    SimpleStore::new()
}

const DAY: Duration = Duration::from_secs(86_400);

/// How many names listing calls answered: the most at once (what a caller above held),
/// in all (what it read), and how many calls.
#[derive(Debug, Clone, Default)]
struct Tally {
    most: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    total: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    calls: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Tally {
    fn saw(&self, names: usize) {
        use std::sync::atomic::Ordering::Relaxed;
        self.most.fetch_max(names, Relaxed);
        self.total.fetch_add(names, Relaxed);
        self.calls.fetch_add(1, Relaxed);
    }

    /// (most at once, in all) since the last call, then starts counting again.
    fn take(&self) -> (usize, usize) {
        use std::sync::atomic::Ordering::Relaxed;
        self.calls.store(0, Relaxed);
        (self.most.swap(0, Relaxed), self.total.swap(0, Relaxed))
    }
}

/// A store that tallies the names each listing call of its inner store answered, keys
/// and collections apart.
#[derive(Debug, Clone)]
struct ListingMeter<S> {
    inner: S,
    keys: Tally,
    collections: Tally,
}

impl<S> ListingMeter<S> {
    fn new(inner: S) -> Self {
        Self {
            inner,
            keys: Tally::default(),
            collections: Tally::default(),
        }
    }

    /// Keys listing calls since the last [`take`](Self::take).
    fn calls(&self) -> usize {
        self.keys.calls.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Keys listed (most at once, in all) since the last call.
    fn take(&self) -> (usize, usize) {
        self.keys.take()
    }

    /// Collection names listed (most at once, in all) since the last call.
    fn take_collections(&self) -> (usize, usize) {
        self.collections.take()
    }
}

impl<S: kv_store_adapter::Store> kv_store_adapter::Store for ListingMeter<S> {
    kv_store_adapter::forward_methods!(inner; get_opts, put_opts, delete_opts, get_many_opts,
        put_many_opts, delete_many_opts);
}

impl<S: kv_store_adapter::EnumerateKeys> kv_store_adapter::EnumerateKeys for ListingMeter<S> {
    async fn keys_opts(
        &self,
        c: &str,
        opts: kv_store_adapter::ListOptions,
    ) -> kv_store_adapter::Result<Vec<String>> {
        let keys = self.inner.keys_opts(c, opts).await?;
        self.keys.saw(keys.len());
        Ok(keys)
    }

    async fn keys_page_with_prefix(
        &self,
        c: &str,
        prefix: &str,
        cursor: Option<kv_store_adapter::Cursor>,
        limit: usize,
    ) -> kv_store_adapter::Result<kv_store_adapter::Page> {
        let page = self
            .inner
            .keys_page_with_prefix(c, prefix, cursor, limit)
            .await?;
        self.keys.saw(page.names.len());
        Ok(page)
    }

    fn walk_page(&self, c: &str) -> usize {
        self.inner.walk_page(c)
    }
}

impl<S: kv_store_adapter::EnumerateCollections> kv_store_adapter::EnumerateCollections
    for ListingMeter<S>
{
    async fn collections_opts(
        &self,
        opts: kv_store_adapter::ListOptions,
    ) -> kv_store_adapter::Result<Vec<String>> {
        let names = self.inner.collections_opts(opts).await?;
        self.collections.saw(names.len());
        Ok(names)
    }

    async fn collections_page_with_prefix(
        &self,
        prefix: &str,
        cursor: Option<kv_store_adapter::Cursor>,
        limit: usize,
    ) -> kv_store_adapter::Result<kv_store_adapter::Page> {
        let page = self
            .inner
            .collections_page_with_prefix(prefix, cursor, limit)
            .await?;
        self.collections.saw(page.names.len());
        Ok(page)
    }

    fn collections_walk_page(&self) -> usize {
        self.inner.collections_walk_page()
    }
}
kv_store_adapter::forward_capabilities!(ListingMeter, inner; destroy_collection, destroy, cull);

/// Writes `n` entries named `{stem}{i}` to collection `c` of `store`, in batches.
async fn fill(store: &impl kv_store_adapter::KvStore, c: &str, stem: &str, n: usize) {
    let keys: Vec<String> = (0..n).map(|i| format!("{stem}{i:06}")).collect();
    for chunk in keys.chunks(1_000) {
        let entries: Vec<(&str, kv_store_adapter::Bytes)> = chunk
            .iter()
            .map(|k| (k.as_str(), kv_store_adapter::Bytes::from_static(b"v")))
            .collect();
        store.put_many(c, &entries, None).await.unwrap();
    }
}

/// A DiskStore that does not wait for the disk on commit: for tests that write
/// thousands of collections one by one.
fn quick_disk() -> (DiskStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = DiskStore::builder(dir.path().join("kv.redb"))
        .durable(false)
        .open()
        .unwrap();
    (store, dir)
}

/// Writes one entry to each of `n` collections named `{stem}{i}` (zero-padded to
/// `width` digits).
async fn fill_collections(
    store: &impl kv_store_adapter::KvStore,
    stem: &str,
    width: usize,
    n: usize,
) {
    for i in 0..n {
        let c = format!("{stem}{i:0width$}");
        store
            .put(&c, "k", kv_store_adapter::Bytes::from_static(b"v"), None)
            .await
            .unwrap();
    }
}

/// Every name `list_collections(page)` streams from `store`.
async fn stream_collections(
    store: &impl kv_store_adapter::EnumerateCollections,
    page: usize,
) -> Vec<String> {
    use kv_store_adapter::KvStore;
    let mut listed = store.list_collections(page);
    let mut names = Vec::new();
    while let Some(name) = listed.next_key().await {
        names.push(name.unwrap());
    }
    names
}

/// A wrapper that transforms values (`Compress`, `Encrypt`) over `SimpleStore`: every
/// call on large values (4 MiB, or a batch of 16 × 256 KiB) leaves the executor
/// thread free while it works (lz4 or XChaCha20 at 1-2.5 GB/s: milliseconds in place);
/// the same calls on small values work in place, where a thread hop would cost more.
fn large_values_are_worked_on_off_the_executor<S: kv_store_adapter::KvStore>(store: S) {
    use bytes::Bytes;
    use executor::yields;
    let value = |len: usize| Bytes::from(b"{\"name\":\"ada\",\"n\":1}".repeat(len / 20));
    for (len, large) in [(4 << 20, true), (200, false)] {
        let v = value(len);
        assert_eq!(
            yields(|| async { store.put("c", "one", v.clone(), None).await.unwrap() }),
            large,
            "put of {len} bytes"
        );
        let got = std::cell::RefCell::new(None);
        assert_eq!(
            yields(|| async { *got.borrow_mut() = store.get("c", "one").await.unwrap() }),
            large,
            "get of {len} bytes"
        );
        assert_eq!(got.into_inner(), Some(v), "read back whole");
        let per = if large { 256 << 10 } else { 20 };
        let names: Vec<String> = (0..16).map(|i| format!("k{i}")).collect();
        let entries: Vec<(&str, Bytes)> = names.iter().map(|k| (k.as_str(), value(per))).collect();
        assert_eq!(
            yields(|| async { store.put_many("c", &entries, None).await.unwrap() }),
            large,
            "put_many of 16 x {per} bytes"
        );
        let found = std::cell::RefCell::new(Vec::new());
        assert_eq!(
            yields(|| async { *found.borrow_mut() = store.get_many("c", &names).await.unwrap() }),
            large,
            "get_many of 16 x {per} bytes"
        );
        assert_eq!(found.into_inner(), vec![Some(value(per)); 16]);
    }
}
