//! Secrets never leave: passwords and API keys in URLs and options, and encryption
//! keys, appear in no `Debug`, `Display`, error message or `tracing` output. All
//! `tracing` output of the process (every crate, TRACE level) is captured and searched.
#![cfg(feature = "full")]

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use kv_store_adapter::stores::{
    ElasticsearchOptions, ElasticsearchStore, MemcachedStore, MemoryStore, MongoStore,
    RedisOptions, RedisStore,
};
use kv_store_adapter::testkit::{b, server_url};
use kv_store_adapter::wrappers::EncryptionKey;
use kv_store_adapter::{KvStore, KvStoreExt, open};

const SECRET: &str = "hunter2-s3cr3t";

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

/// Everything any crate has logged so far in this process.
fn logs() -> String {
    static OUT: OnceLock<Captured> = OnceLock::new();
    let out = OUT.get_or_init(|| {
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        out
    });
    String::from_utf8_lossy(&out.0.lock().unwrap()).into_owned()
}

/// `shown` (a Debug or Display form, an error) and the logs are free of the secret.
fn clean(what: &str, shown: &str) {
    assert!(!shown.contains(SECRET), "{what} shows the secret: {shown}");
    assert!(
        !logs().contains(SECRET),
        "the logs show the secret (after {what})"
    );
}

fn clean_result<T: std::fmt::Debug>(what: &str, result: &kv_store_adapter::Result<T>) {
    match result {
        Ok(value) => clean(what, &format!("{value:?}")),
        Err(e) => clean(
            what,
            &format!("{e} / {e:?} / {:?}", std::error::Error::source(e)),
        ),
    }
}

/// `127.0.0.1:port` of a server URL.
fn address(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', '?']).next().unwrap()
}

#[tokio::test]
async fn redis_passwords() {
    logs();
    let Some(url) = server_url("KV_REDIS_URL") else {
        return;
    };
    let at = address(&url);
    // A password the server refuses, in a URL, through open() and the store.
    for url in [
        format!("redis://user:{SECRET}@{at}/"),
        format!("redis://:{SECRET}@{at}/?namespace=n"),
        format!("redis://user:{SECRET}@127.0.0.1:1/"),
        // Secrets in the query, plain and percent-encoded, which the store used to
        // show verbatim in errors and Debug.
        format!("redis://{at}/?password={SECRET}"),
        format!("redis://{at}/?pass={SECRET}&namespace=n"),
        format!("redis://127.0.0.1:1/?pass%77ord={SECRET}"),
        format!("redis://127.0.0.1:1/?api_key={SECRET}"),
    ] {
        clean_result(
            "open(redis url)",
            &open(&url).await.map(|s| format!("{s:?}")),
        );
        clean_result("RedisStore::connect", &RedisStore::connect(&url).await);
    }
    let (host, port) = at.split_once(':').unwrap();
    let mut options = RedisOptions::new(host, port.parse().unwrap());
    options.password = Some(SECRET.into());
    clean("RedisOptions", &format!("{options:?}"));
    clean_result(
        "RedisStore::connect_with",
        &RedisStore::connect_with(&options).await,
    );
}

#[tokio::test]
async fn memcached_urls() {
    logs();
    let Some(url) = server_url("KV_MEMCACHED_URL") else {
        return;
    };
    let bad = format!("memcached://user:{SECRET}@{}", address(&url));
    clean_result(
        "MemcachedStore::connect",
        &MemcachedStore::connect(&bad).await,
    );
    clean_result(
        "open(memcached url)",
        &open(&bad).await.map(|s| format!("{s:?}")),
    );
}

#[tokio::test]
async fn mongo_credentials() {
    logs();
    let Some(url) = server_url("KV_MONGO_URL") else {
        return;
    };
    let at = address(&url);
    for url in [
        format!(
            "mongodb://admin:{SECRET}@{at}/?directConnection=true&serverSelectionTimeoutMS=2000"
        ),
        format!("mongodb://admin:{SECRET}@127.0.0.1:1/?serverSelectionTimeoutMS=500"),
        format!("mongodb://{at}/?directConnection=true&tlsCertificateKeyFilePassword={SECRET}"),
    ] {
        let store = MongoStore::connect(&url, "secrets").await;
        clean_result("MongoStore::connect", &store);
        if let Ok(store) = store {
            clean_result("a Mongo put", &store.put("c", "k", b("v"), None).await);
        }
    }
}

#[tokio::test]
async fn elasticsearch_keys() {
    logs();
    let Some(url) = server_url("KV_ELASTICSEARCH_URL") else {
        return;
    };
    for url in [url.clone(), "http://127.0.0.1:1".to_owned()] {
        let options =
            ElasticsearchOptions::new(url.replace("http://", &format!("http://elastic:{SECRET}@")))
                .with_api_key("id", SECRET)
                .with_basic("elastic", SECRET);
        clean("ElasticsearchOptions", &format!("{options:?}"));
        let store = ElasticsearchStore::connect_with(&options).await;
        clean_result("ElasticsearchStore::connect", &store);
        if let Ok(store) = store {
            clean_result(
                "an Elasticsearch put",
                &store.put("c", "k", b("v"), None).await,
            );
        }
    }
}

#[tokio::test]
async fn encryption_keys_and_logged_values() {
    logs();
    let key = [0x5A; 32];
    let store = MemoryStore::with_max_entries(100)
        .encrypt(
            EncryptionKey::new(1, key),
            [EncryptionKey::new(0, [0x5B; 32])],
        )
        .logged();
    store.put("c", SECRET, b(SECRET), None).await.unwrap();
    assert_eq!(store.get("c", SECRET).await.unwrap(), Some(b(SECRET)));
    let debug = format!("{store:?}");
    for shown in ["90, 90", "5a5a", "5A5A", "ZZZZ", "91, 91"] {
        assert!(!debug.contains(shown), "key material in Debug: {debug}");
    }
    // Keys and values are not logged unless opted in (but the calls are).
    assert!(logs().contains("kv"), "nothing was captured: {}", logs());
    clean("Logged<Encrypt<MemoryStore>>", &debug);
}
