//! Work too long for the async executor — compressing, encrypting or copying out large
//! values — runs on tokio's blocking threads; small work runs in place, where a thread
//! hop (~15-20 µs) would cost more than the work.

use bytes::Bytes;

use crate::{Entry, Error, Result};

/// Values of this many bytes or more together are worked on off the executor: lz4 and
/// XChaCha20-Poly1305 take ~100-250 µs for them here (1-2.5 GB/s), over ten hops.
pub(crate) const LARGE: usize = 256 << 10;

/// Whether work over `bytes` bytes goes off the executor: large, and inside a tokio
/// runtime (outside one there is no executor to hold up).
#[cfg_attr(not(any(feature = "compress", feature = "encrypt")), allow(dead_code))]
pub(crate) fn is_large(bytes: usize) -> bool {
    bytes >= LARGE && tokio::runtime::Handle::try_current().is_ok()
}

/// Runs `work` on tokio's blocking threads (in place outside a runtime: there is no
/// executor thread to keep free). A panic in it — a bug, or a library meeting damaged
/// data — is a backend error, as is a runtime that shut down before it ran.
pub(crate) async fn off<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => runtime
            .spawn_blocking(work)
            .await
            .map_err(|e| Error::backend("a blocking task failed", e))?,
        Err(_) => work(),
    }
}

/// The values of `entries` of collection `c`, each through `f(c, key, value)`: in
/// place, or off the executor when they are large together.
#[cfg_attr(not(any(feature = "compress", feature = "encrypt")), allow(dead_code))]
pub(crate) async fn map_values<F>(c: &str, entries: &[(&str, Bytes)], f: F) -> Result<Vec<Bytes>>
where
    F: Fn(&str, &str, &Bytes) -> Result<Bytes> + Send + 'static,
{
    fn each<K: AsRef<str>>(
        c: &str,
        entries: &[(K, Bytes)],
        f: impl Fn(&str, &str, &Bytes) -> Result<Bytes>,
    ) -> Result<Vec<Bytes>> {
        try_collect(
            entries.len(),
            entries.iter().map(|(k, v)| f(c, k.as_ref(), v)),
        )
    }
    if !is_large(entries.iter().map(|(_, v)| v.len()).sum()) {
        return each(c, entries, f);
    }
    let c = c.to_owned();
    let entries: Vec<(String, Bytes)> = entries
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    off(move || each(&c, &entries, f)).await
}

/// `stored`, read for `keys` of collection `c`, each value through `f(c, key, value)`:
/// in place, or off the executor when `work` (their size as `f` sees it) is large.
#[cfg_attr(not(any(feature = "compress", feature = "encrypt")), allow(dead_code))]
pub(crate) async fn map_entries<F>(
    c: &str,
    keys: &[&str],
    stored: Vec<Option<Entry>>,
    work: usize,
    f: F,
) -> Result<Vec<Option<Entry>>>
where
    F: Fn(&str, &str, Bytes) -> Result<Bytes> + Send + 'static,
{
    fn each<K: AsRef<str>>(
        c: &str,
        keys: &[K],
        stored: Vec<Option<Entry>>,
        f: impl Fn(&str, &str, Bytes) -> Result<Bytes>,
    ) -> Result<Vec<Option<Entry>>> {
        let each = keys.iter().zip(stored);
        try_collect(
            keys.len(),
            each.map(|(k, e)| e.map(|e| e.try_map(|v| f(c, k.as_ref(), v))).transpose()),
        )
    }
    if !is_large(work) {
        return each(c, keys, stored, f);
    }
    let (c, keys) = (c.to_owned(), owned(keys));
    off(move || each(&c, &keys, stored, f)).await
}

/// `items`, `len` of them, collected, or their first error: the answer is allocated
/// once (a `collect` through `Result` cannot know the length and grows by doubling,
/// copying what it holds each time: 6 allocations for 100 entries).
#[cfg_attr(
    not(any(feature = "compress", feature = "encrypt", feature = "disk")),
    allow(dead_code)
)]
pub(crate) fn try_collect<T>(len: usize, items: impl Iterator<Item = Result<T>>) -> Result<Vec<T>> {
    let mut out = Vec::with_capacity(len);
    for item in items {
        out.push(item?);
    }
    Ok(out)
}

/// Owned copies of `keys`, for work that runs off the executor.
pub(crate) fn owned(keys: &[&str]) -> Vec<String> {
    keys.iter().map(|k| (*k).to_owned()).collect()
}
