//! A fault-injecting wrapper for testing wrappers that handle failures.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst};
use std::time::Duration;

use bytes::Bytes;

use crate::{Error, KvStore, Result, TtlEntry};

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

impl<S: KvStore> KvStore for Faulty<S> {
    async fn raw_get(&self, c: &str, k: &str) -> Result<Option<Bytes>> {
        self.gate().await?;
        self.inner.raw_get(c, k).await
    }
    async fn raw_put(&self, c: &str, k: &str, v: Bytes, ttl: Option<Duration>) -> Result<()> {
        self.gate().await?;
        self.inner.raw_put(c, k, v, ttl).await
    }
    async fn raw_delete(&self, c: &str, k: &str) -> Result<bool> {
        self.gate().await?;
        self.inner.raw_delete(c, k).await
    }
    async fn raw_ttl(&self, c: &str, k: &str) -> Result<Option<TtlEntry>> {
        self.gate().await?;
        self.inner.raw_ttl(c, k).await
    }
    async fn raw_get_many(&self, c: &str, keys: &[&str]) -> Result<Vec<Option<Bytes>>> {
        self.gate().await?;
        self.inner.raw_get_many(c, keys).await
    }
    async fn raw_put_many(
        &self,
        c: &str,
        entries: &[(&str, Bytes)],
        ttl: Option<Duration>,
    ) -> Result<()> {
        self.gate().await?;
        self.inner.raw_put_many(c, entries, ttl).await
    }
    async fn raw_delete_many(&self, c: &str, keys: &[&str]) -> Result<usize> {
        self.gate().await?;
        self.inner.raw_delete_many(c, keys).await
    }
    async fn raw_ttl_many(&self, c: &str, keys: &[&str]) -> Result<Vec<Option<TtlEntry>>> {
        self.gate().await?;
        self.inner.raw_ttl_many(c, keys).await
    }
}

crate::forward_capabilities!(Faulty, inner; enumerate_keys, enumerate_collections, destroy_collection, destroy, cull);
