//! A fault-injecting wrapper for testing wrappers that handle failures.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst};
use std::time::Duration;

use bytes::Bytes;

use crate::{DeleteOptions, Entry, Error, GetOptions, Key, PutOptions, Result, Store};

/// Wraps a real store and makes its calls fail or stall on demand: the next `n` calls
/// fail with a transient connection error ([`Faulty::fail_next`]), or every call waits
/// first ([`Faulty::delay`]). Clones share the switches.
///
/// ```
/// use kv_store_adapter::{ErrorKind, KvStore, stores::MemoryStore, testkit::Faulty};
///
/// # #[tokio::main] async fn main() {
/// let store = Faulty::new(MemoryStore::with_max_entries(10));
/// store.fail_next(1);
/// assert_eq!(store.get("c", "k").await.unwrap_err().kind(), ErrorKind::Connection);
/// assert_eq!(store.get("c", "k").await.unwrap(), None);
/// assert_eq!(store.calls(), 2);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Faulty<S> {
    inner: S,
    switches: Arc<Switches>,
}

#[derive(Debug, Default)]
struct Switches {
    fail_next: AtomicU32,
    lose_next: AtomicU32,
    delay_ms: AtomicU64,
    calls: AtomicU64,
}

impl<S> Faulty<S> {
    /// Forwards to `inner` until told otherwise.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            switches: Arc::default(),
        }
    }

    /// The next `n` calls fail with [`ErrorDetail::Connection`](crate::ErrorDetail::Connection).
    pub fn fail_next(&self, n: u32) {
        self.switches.fail_next.store(n, SeqCst);
    }

    /// The next `n` writes (conditional or not) reach the inner store, and then their
    /// answers are lost: each fails with a transient connection error although it
    /// applied, as when a connection drops between the server's write and its reply.
    pub fn lose_next_answers(&self, n: u32) {
        self.switches.lose_next.store(n, SeqCst);
    }

    /// A transient error instead of `result`, if an answer is to be lost.
    fn lose<T>(&self, result: Result<T>) -> Result<T> {
        let losing = self
            .switches
            .lose_next
            .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1));
        match losing {
            Ok(_) => Err(Error::connection_msg("injected fault: the answer was lost")),
            Err(_) => result,
        }
    }

    /// Every call waits `delay` before it runs (zero turns this off).
    pub fn delay(&self, delay: Duration) {
        self.switches
            .delay_ms
            .store(delay.as_millis() as u64, SeqCst);
    }

    /// How many calls reached this wrapper.
    pub fn calls(&self) -> u64 {
        self.switches.calls.load(SeqCst)
    }

    async fn gate(&self) -> Result<()> {
        self.switches.calls.fetch_add(1, SeqCst);
        let delay = self.switches.delay_ms.load(SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        let failing = self
            .switches
            .fail_next
            .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1));
        match failing {
            Ok(_) => Err(Error::connection_msg("injected fault")),
            Err(_) => Ok(()),
        }
    }
}

impl<S: Store> Store for Faulty<S> {
    async fn get_opts(&self, k: Key<'_>, o: GetOptions) -> Result<Option<Entry>> {
        self.gate().await?;
        self.inner.get_opts(k, o).await
    }
    async fn put_opts(&self, k: Key<'_>, v: Bytes, o: PutOptions) -> Result<()> {
        self.gate().await?;
        let result = self.inner.put_opts(k, v, o).await;
        self.lose(result)
    }
    async fn delete_opts(&self, k: Key<'_>, o: DeleteOptions) -> Result<bool> {
        self.gate().await?;
        self.inner.delete_opts(k, o).await
    }
    async fn get_many_opts(
        &self,
        c: &str,
        keys: &[&str],
        o: GetOptions,
    ) -> Result<Vec<Option<Entry>>> {
        self.gate().await?;
        self.inner.get_many_opts(c, keys, o).await
    }
    async fn put_many_opts(&self, c: &str, entries: &[(&str, Bytes)], o: PutOptions) -> Result<()> {
        self.gate().await?;
        self.inner.put_many_opts(c, entries, o).await
    }
    async fn delete_many_opts(&self, c: &str, keys: &[&str], o: DeleteOptions) -> Result<usize> {
        self.gate().await?;
        self.inner.delete_many_opts(c, keys, o).await
    }
}

/// Listing calls pass the same gate: they fail, stall and count as the others do.
impl<S: crate::EnumerateKeys> crate::EnumerateKeys for Faulty<S> {
    async fn keys_opts(&self, c: &str, o: crate::ListOptions) -> Result<Vec<String>> {
        self.gate().await?;
        self.inner.keys_opts(c, o).await
    }
    async fn keys_page_with_prefix(
        &self,
        c: &str,
        prefix: &str,
        cursor: Option<crate::Cursor>,
        limit: usize,
    ) -> Result<crate::Page> {
        self.gate().await?;
        self.inner
            .keys_page_with_prefix(c, prefix, cursor, limit)
            .await
    }
    fn walk_page(&self, c: &str) -> usize {
        self.inner.walk_page(c)
    }
}

impl<S: crate::EnumerateCollections> crate::EnumerateCollections for Faulty<S> {
    async fn collections_opts(&self, o: crate::ListOptions) -> Result<Vec<String>> {
        self.gate().await?;
        self.inner.collections_opts(o).await
    }
    async fn collections_page_with_prefix(
        &self,
        prefix: &str,
        cursor: Option<crate::Cursor>,
        limit: usize,
    ) -> Result<crate::Page> {
        self.gate().await?;
        self.inner
            .collections_page_with_prefix(prefix, cursor, limit)
            .await
    }
    fn collections_walk_page(&self) -> usize {
        self.inner.collections_walk_page()
    }
}

crate::forward_capabilities!(Faulty, inner; destroy_collection, destroy, cull);

impl<S: crate::ConditionalWrites> crate::ConditionalWrites for Faulty<S> {
    async fn put_if_opts(
        &self,
        k: Key<'_>,
        v: Bytes,
        c: crate::Condition,
        o: PutOptions,
    ) -> Result<crate::Written> {
        self.gate().await?;
        let result = self.inner.put_if_opts(k, v, c, o).await;
        self.lose(result)
    }
    async fn delete_if_opts(
        &self,
        k: Key<'_>,
        version: crate::Version,
        o: DeleteOptions,
    ) -> Result<bool> {
        self.gate().await?;
        let result = self.inner.delete_if_opts(k, version, o).await;
        self.lose(result)
    }
}
