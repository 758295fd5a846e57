use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use kv_store_adapter::testkit::b;
use kv_store_adapter::wrappers::Logged;
use kv_store_adapter::{KvStore, KvStoreExt};

use super::*;

kv_store_adapter::conformance_suite!(store = memory().logged();
    core, keys, collections, destroy_collection, destroy, cull);

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Keeps a second dispatcher registered for the whole process.
///
/// `tracing` caches each call site's interest process-wide. While at most one
/// dispatcher is registered, a call site first reached by a test thread without a
/// subscriber (the conformance suite running in parallel) is cached as "never" and
/// would then stay silent for the capturing thread too. With two dispatchers
/// registered, interest is computed over every live dispatcher, so the capturing
/// subscriber is always asked.
fn anchor_interest() {
    static ANCHOR: OnceLock<tracing::Dispatch> = OnceLock::new();
    ANCHOR.get_or_init(|| tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default()));
}

async fn capture<F: std::future::Future<Output = ()>>(f: F) -> String {
    anchor_interest();
    let out = Captured::default();
    let writer = out.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    f.await;
    String::from_utf8(out.0.lock().unwrap().clone()).unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn each_operation_is_an_event_without_keys_or_values() {
    let store = memory().logged();
    let log = capture(async {
        store
            .put("users", "secret-key", b("secret-value"), None)
            .await
            .unwrap();
        store.get("users", "secret-key").await.unwrap();
        store.get_many("users", &["a", "b", "c"]).await.unwrap();
    })
    .await;
    assert!(
        log.contains(r#"op="put""#) && log.contains(r#"collection="users""#),
        "{log}"
    );
    assert!(
        log.contains(r#"outcome="hit""#) && log.contains("keys=3"),
        "{log}"
    );
    assert!(log.contains("micros="), "{log}");
    assert!(
        !log.contains("secret"),
        "keys and values stay out of the log: {log}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn keys_are_logged_only_when_opted_in_and_failures_warn() {
    let store = Logged::with_keys(memory().compress(1));
    let log = capture(async {
        store.get("users", "ada").await.unwrap();
    })
    .await;
    assert!(log.contains(r#"key="ada""#), "{log}");
    let garbage = memory();
    garbage.put("c", "k", b("not ours"), None).await.unwrap();
    let failing = garbage.compress(1).logged();
    let log = capture(async {
        assert!(failing.get("c", "k").await.is_err());
    })
    .await;
    assert!(
        log.contains("WARN") && log.contains(r#"outcome="error""#),
        "{log}"
    );
}
