//! `Retry`: retry transient failures with exponential backoff and jitter.

use std::future::Future;
use std::hash::BuildHasher;
use std::time::Duration;

use crate::{
    Bytes, Cull, DeleteOptions, DestroyCollection, DestroyStore, Entry, EnumerateCollections,
    EnumerateKeys, GetOptions, Key, ListOptions, PutOptions, Result, Store,
};
use crate::{Cursor, Page};

/// How [`Retry`] retries.
///
/// ```
/// use std::time::Duration;
/// use kv_store_adapter::wrappers::RetryPolicy;
///
/// let policy = RetryPolicy::default()
///     .max_attempts(5)
///     .base_delay(Duration::from_millis(20))
///     .max_delay(Duration::from_secs(1));
/// assert_eq!(policy.attempts(), 5);
/// ```
///
/// With the `serde` feature it reads from configuration as
/// `{ "max_attempts": 5, "base_delay": "10ms", "max_delay": "1s" }` (any may be left
/// out).
#[derive(Debug, Clone, Copy)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct RetryPolicy {
    max_attempts: u32,
    #[cfg_attr(
        feature = "serde",
        serde(deserialize_with = "crate::duration::deserialize")
    )]
    base_delay: Duration,
    #[cfg_attr(
        feature = "serde",
        serde(deserialize_with = "crate::duration::deserialize")
    )]
    max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 3 attempts, backoff from 10 ms doubling up to 1 s, with full jitter.
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(1),
        }
    }
}

impl RetryPolicy {
    /// Total attempts, the first included (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The backoff before the second attempt; it doubles each time.
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// The longest backoff.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Total attempts.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The wait after failed attempt `n` (1-based): uniformly random in
    /// `[0, min(max_delay, base_delay · 2^(n-1))]` ("full jitter"), so clients that
    /// failed together do not retry together.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
            .min(self.max_delay);
        let random = std::collections::hash_map::RandomState::new().hash_one(attempt);
        exp.mul_f64((random >> 11) as f64 / (1u64 << 53) as f64)
    }
}

/// Retries calls that fail with a transient error ([`Error::is_transient`]:
/// connection errors — a backend out of reach, or one answering that it cannot serve
/// now, as Redis does while it loads its data after a restart and MongoDB while a
/// primary steps down — and timeouts) according to its [`RetryPolicy`]. Invalid input,
/// too-large values and corrupt data fail at once: retrying cannot help.
///
/// ```
/// use kv_store_adapter::{KvStore, KvStoreExt, stores::MemoryStore, wrappers::RetryPolicy};
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let store = MemoryStore::with_max_entries(10).retry(RetryPolicy::default().max_attempts(4));
/// assert_eq!(store.get("c", "k").await?, None);
/// # Ok(()) }
/// ```
///
/// [`Error::is_transient`]: crate::Error::is_transient
#[derive(Debug, Clone)]
pub struct Retry<S> {
    inner: S,
    policy: RetryPolicy,
}

impl<S> Retry<S> {
    /// Retries `inner`'s transient failures per `policy`.
    pub fn new(inner: S, policy: RetryPolicy) -> Self {
        Self { inner, policy }
    }

    async fn run<T, F, Fut>(&self, mut call: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut attempt = 1;
        loop {
            match call().await {
                Err(e) if e.is_transient() && attempt < self.policy.max_attempts => {
                    tracing::debug!(attempt, error = %e, "retrying a transient failure");
                    tokio::time::sleep(self.policy.backoff(attempt)).await;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }
}

impl<S: Store> Store for Retry<S> {
    async fn get_opts(&self, k: Key<'_>, o: GetOptions) -> Result<Option<Entry>> {
        self.run(|| self.inner.get_opts(k, o)).await
    }
    async fn put_opts(&self, k: Key<'_>, v: Bytes, o: PutOptions) -> Result<()> {
        self.run(|| self.inner.put_opts(k, v.clone(), o)).await
    }
    async fn delete_opts(&self, k: Key<'_>, o: DeleteOptions) -> Result<bool> {
        self.run(|| self.inner.delete_opts(k, o)).await
    }
    async fn get_many_opts(
        &self,
        c: &str,
        keys: &[&str],
        o: GetOptions,
    ) -> Result<Vec<Option<Entry>>> {
        self.run(|| self.inner.get_many_opts(c, keys, o)).await
    }
    async fn put_many_opts(&self, c: &str, entries: &[(&str, Bytes)], o: PutOptions) -> Result<()> {
        self.run(|| self.inner.put_many_opts(c, entries, o)).await
    }
    async fn delete_many_opts(&self, c: &str, keys: &[&str], o: DeleteOptions) -> Result<usize> {
        self.run(|| self.inner.delete_many_opts(c, keys, o)).await
    }
}

impl<S> Retry<S> {
    /// A conditional write, retried like any call after a transient failure, with one
    /// difference: once an attempt has failed, its write may have applied on the
    /// backend before the failure (a lost answer), so a later attempt's rejection
    /// proves nothing — it may be this call's own earlier write that stops it. That
    /// rejection is answered as an [`OutcomeUnknown`](crate::ErrorDetail::OutcomeUnknown)
    /// error, never as a plain rejection. An applied attempt is what it says.
    async fn run_conditional<T, F, Fut>(&self, applied: fn(&T) -> bool, mut call: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut attempt = 1;
        let mut failed: Option<crate::Error> = None;
        loop {
            match call().await {
                Err(e) if e.is_transient() && attempt < self.policy.max_attempts => {
                    tracing::debug!(attempt, error = %e, "retrying a conditional write");
                    tokio::time::sleep(self.policy.backoff(attempt)).await;
                    attempt += 1;
                    failed = Some(e);
                }
                Ok(outcome) if !applied(&outcome) && failed.is_some() => {
                    return Err(crate::Error::outcome_unknown(failed));
                }
                result => return result,
            }
        }
    }
}

impl<S: crate::ConditionalWrites> crate::ConditionalWrites for Retry<S> {
    async fn put_if_opts(
        &self,
        k: Key<'_>,
        v: Bytes,
        c: crate::Condition,
        o: PutOptions,
    ) -> Result<crate::Written> {
        self.run_conditional(crate::Written::is_applied, || {
            self.inner.put_if_opts(k, v.clone(), c, o)
        })
        .await
    }
    async fn delete_if_opts(
        &self,
        k: Key<'_>,
        version: crate::Version,
        o: DeleteOptions,
    ) -> Result<bool> {
        self.run_conditional(
            |deleted| *deleted,
            || self.inner.delete_if_opts(k, version, o),
        )
        .await
    }
}

impl<S: EnumerateKeys> EnumerateKeys for Retry<S> {
    async fn keys_opts(&self, c: &str, opts: ListOptions) -> Result<Vec<String>> {
        self.run(|| self.inner.keys_opts(c, opts)).await
    }
    async fn keys_page_with_prefix(
        &self,
        c: &str,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page> {
        self.run(|| {
            self.inner
                .keys_page_with_prefix(c, prefix, cursor.clone(), limit)
        })
        .await
    }
    fn walk_page(&self, c: &str) -> usize {
        self.inner.walk_page(c)
    }
}
impl<S: EnumerateCollections> EnumerateCollections for Retry<S> {
    async fn collections_opts(&self, opts: ListOptions) -> Result<Vec<String>> {
        self.run(|| self.inner.collections_opts(opts)).await
    }
    async fn collections_page_with_prefix(
        &self,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page> {
        self.run(|| {
            self.inner
                .collections_page_with_prefix(prefix, cursor.clone(), limit)
        })
        .await
    }
    fn collections_walk_page(&self) -> usize {
        self.inner.collections_walk_page()
    }
}
impl<S: DestroyCollection> DestroyCollection for Retry<S> {
    async fn destroy_collection_opts(&self, c: &str) -> Result<()> {
        self.run(|| self.inner.destroy_collection_opts(c)).await
    }
}
impl<S: DestroyStore> DestroyStore for Retry<S> {
    async fn destroy_opts(&self) -> Result<()> {
        self.run(|| self.inner.destroy_opts()).await
    }
}
impl<S: Cull> Cull for Retry<S> {
    async fn cull_opts(&self) -> Result<()> {
        self.run(|| self.inner.cull_opts()).await
    }
}
