use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use kv_store_adapter::testkit::b;
use kv_store_adapter::wrappers::Logged;
use kv_store_adapter::{KvStore, KvStoreExt};

use super::*;

kv_store_adapter::conformance_suite!(store = memory().logged();
    basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, cull,
    conditional_writes);

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

/// Failing operations log their error without the key: errors keep it in a field
/// (`Error::key`) that their `Display` leaves out. Every keyed error kind: corrupt data
/// (Compress over foreign bytes), decryption (Encrypt with another key), missing
/// (strict access) and (de)serialization (a typed read of the wrong type).
#[tokio::test(flavor = "current_thread")]
async fn failures_log_no_key_unless_opted_in() {
    use kv_store_adapter::TypedStore;
    use kv_store_adapter::wrappers::EncryptionKey;
    let key = "ada@example.com-private";
    let raw = memory();
    raw.put("c", key, b("not ours"), None).await.unwrap();
    let compressed = raw.clone().compress(1).logged();
    let sealer = raw.clone().encrypt(EncryptionKey::new(1, [7; 32]), []);
    sealer
        .put("c", "sealed-private", b("v"), None)
        .await
        .unwrap();
    let sealed = raw
        .clone()
        .encrypt(EncryptionKey::new(1, [8; 32]), [])
        .logged();
    let typed = TypedStore::<_, String>::new(raw.clone().logged(), "c").unwrap();
    let log = capture(async {
        let errors = [
            compressed.get("c", key).await.unwrap_err(),
            sealed.get("c", "sealed-private").await.unwrap_err(),
            typed.get(key).await.unwrap_err(),
            raw.clone()
                .strict()
                .logged()
                .get("c", "missing-private")
                .await
                .unwrap_err(),
        ];
        for e in &errors {
            assert!(!e.to_string().contains("private"), "{e}");
            assert!(!format!("{e:?}").is_empty());
        }
        assert_eq!(errors[0].key(), Some(key));
        assert_eq!(errors[0].collection(), Some("c"));
    })
    .await;
    assert!(log.contains(r#"outcome="error""#), "{log}");
    assert!(!log.contains("private"), "a key reached the log: {log}");
    let opted_in = raw.clone().compress(1);
    let log = capture(async {
        assert!(Logged::with_keys(opted_in).get("c", key).await.is_err());
    })
    .await;
    assert!(log.contains(key), "opted in, the key is logged: {log}");
}
