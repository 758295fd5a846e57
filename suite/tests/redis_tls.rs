//! RedisStore over TLS (`rediss://`, feature `redis-tls`) against a redis-server that
//! only speaks TLS, with a certificate from a CA made by scripts/servers.sh. Run alone
//! (`--no-default-features --features redis-tls`), this also proves the feature needs
//! nothing else: no other crate installs a rustls crypto provider for it.
#![cfg(feature = "redis-tls")]

use kv_store_adapter::stores::{RedisOptions, RedisStore, Timeouts};
use kv_store_adapter::testkit::{b, server_url, unique_namespace};
use kv_store_adapter::{ErrorKind, KvStore, open};

/// The TLS server's URL and the CA file that signed its certificate.
fn server() -> Option<(String, String)> {
    Some((
        server_url("KV_REDIS_TLS_URL")?,
        server_url("KV_REDIS_TLS_CA")?,
    ))
}

async fn connect() -> Option<RedisStore> {
    let (url, ca) = server()?;
    let store = RedisStore::connect_tls(&url, &ca, Timeouts::default())
        .await
        .expect("the TLS redis answers");
    Some(store.with_namespace(&unique_namespace()).unwrap())
}

kv_store_adapter::conformance_suite!(
    store = match connect().await { Some(store) => store, None => return };
    basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, conditional_writes);

#[tokio::test]
async fn open_takes_the_ca_file_from_the_url() {
    let Some((url, ca)) = server() else { return };
    let ns = unique_namespace();
    let ca = ca
        .replace('%', "%25")
        .replace('&', "%26")
        .replace(' ', "%20");
    let store = open(&format!("{url}?namespace={ns}&tls_ca_file={ca}"))
        .await
        .unwrap();
    store.put("c", "k", b("over tls"), None).await.unwrap();
    assert_eq!(store.get("c", "k").await.unwrap(), Some(b("over tls")));
}

#[tokio::test]
async fn options_take_the_ca_file() {
    let Some((url, ca)) = server() else { return };
    let port: u16 = url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let options = RedisOptions::new("127.0.0.1", port).with_tls_ca_file(&ca);
    let store = RedisStore::connect_with(&options)
        .await
        .unwrap()
        .with_namespace(&unique_namespace())
        .unwrap();
    store.put("c", "k", b("v"), None).await.unwrap();
    assert_eq!(store.get("c", "k").await.unwrap(), Some(b("v")));
    assert!(format!("{store:?}").contains("rediss://"), "{store:?}");
}

#[tokio::test]
async fn a_certificate_from_an_unknown_ca_is_refused_with_a_typed_error() {
    let Some((url, _)) = server() else { return };
    // The web PKI roots do not include the test CA.
    let err = RedisStore::connect(&url).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Setup, "{err:?}");
}

#[tokio::test]
async fn a_missing_or_empty_ca_file_is_a_setup_error_naming_it() {
    let Some((url, _)) = server() else { return };
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-ca.pem");
    let err = RedisStore::connect_tls(&url, &missing, Timeouts::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Setup, "{err:?}");
    assert!(err.to_string().contains("no-such-ca.pem"), "{err}");
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, b"not a certificate").unwrap();
    let err = RedisStore::connect_tls(&url, &empty, Timeouts::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Setup, "{err:?}");
    assert!(err.to_string().contains("no PEM certificate"), "{err}");
}

#[tokio::test]
async fn plain_tcp_to_the_tls_port_fails_within_the_connect_bound() {
    let Some((url, _)) = server() else { return };
    let plain = url.replacen("rediss://", "redis://", 1);
    let timeouts = Timeouts::default().connect(std::time::Duration::from_secs(1));
    let started = std::time::Instant::now();
    let result = RedisStore::connect_with_timeouts(&plain, timeouts).await;
    assert!(result.is_err());
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}
