//! Work too long for the async executor — compressing, encrypting or copying out large
//! values — runs on tokio's blocking threads; small work runs in place, where a thread
//! hop (~15-20 µs) would cost more than the work.

use crate::{Error, Result};

/// Values of this many bytes or more together are worked on off the executor: lz4 and
/// XChaCha20-Poly1305 take ~100-250 µs for them here (1-2.5 GB/s), over ten hops.
pub(crate) const LARGE: usize = 256 << 10;

/// Whether work over `bytes` bytes goes off the executor: large, and inside a tokio
/// runtime (outside one there is no executor to hold up).
#[cfg_attr(not(any(feature = "compress", feature = "encrypt")), allow(dead_code))]
pub(crate) fn is_large(bytes: usize) -> bool {
    bytes >= LARGE && tokio::runtime::Handle::try_current().is_ok()
}

/// Runs `work` on tokio's blocking threads (in place outside a runtime). A panic in it
/// goes on in the caller, as it would have in place.
#[cfg_attr(not(any(feature = "compress", feature = "encrypt")), allow(dead_code))]
pub(crate) async fn off<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return work();
    };
    match runtime.spawn_blocking(work).await {
        Ok(answer) => answer,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(Error::backend_msg(
            "the runtime shut down before the value was worked on",
        )),
    }
}

/// Owned copies of `keys`, for work that runs off the executor.
pub(crate) fn owned(keys: &[&str]) -> Vec<String> {
    keys.iter().map(|k| (*k).to_owned()).collect()
}
