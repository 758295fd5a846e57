//! Whether a call holds the async executor: on a one-thread runtime, work done in place
//! never lets another task run before it answers, work sent to the blocking threads
//! does. Deterministic, with no timing. Each test binary that uses it declares it:
//!
//! ```ignore
//! #[path = "support/executor.rs"]
//! mod executor;
//! ```

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether `call` lets another task run before it answers (the store under it must not
/// yield on its own: an in-process store).
pub fn yields<F: Future>(call: impl FnOnce() -> F) -> bool {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let ran = Arc::new(AtomicBool::new(false));
        let other = tokio::spawn({
            let ran = ran.clone();
            async move { ran.store(true, Ordering::SeqCst) }
        });
        call().await;
        let yielded = ran.load(Ordering::SeqCst);
        other.await.unwrap();
        yielded
    })
}
