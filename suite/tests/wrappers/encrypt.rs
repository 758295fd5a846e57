use bytes::Bytes;
use kv_store_adapter::testkit::{assert_kind, b, corrupt_entry_is_a_typed_error};
use kv_store_adapter::wrappers::EncryptionKey;
use kv_store_adapter::{ErrorKind, KvStore, KvStoreExt};

use super::*;

fn key(id: u32) -> EncryptionKey {
    EncryptionKey::new(id, [id as u8; 32])
}

mod over_memory {
    use super::*;
    kv_store_adapter::conformance_suite!(store = memory().encrypt(key(1), []);
        basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, cull,
        conditional_writes);
}

mod over_disk {
    use super::*;
    kv_store_adapter::conformance_suite!(fixture = {
        let (store, dir) = disk();
        (store.encrypt(key(1), []), dir)
    }; basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, cull);
}

#[tokio::test]
async fn values_are_unreadable_and_nonces_fresh() {
    let inner = super::simple();
    let store = inner.clone().encrypt(key(1), []);
    store.put("c", "a", b("secret value"), None).await.unwrap();
    store.put("c", "b", b("secret value"), None).await.unwrap();
    let raw: Vec<Bytes> = inner.entries().into_iter().map(|e| e.value).collect();
    assert_ne!(raw[0], raw[1], "same plaintext, different ciphertexts");
    assert!(raw.iter().all(|v| !v.windows(6).any(|w| w == b"secret")));
}

#[tokio::test]
async fn a_ciphertext_copied_under_another_key_fails() {
    let inner = memory();
    let store = inner.clone().encrypt(key(1), []);
    store.put("c", "alice", b("alice's"), None).await.unwrap();
    let sealed = inner.get("c", "alice").await.unwrap().unwrap();
    inner
        .put("c", "mallory", sealed.clone(), None)
        .await
        .unwrap();
    inner.put("other", "alice", sealed, None).await.unwrap();
    assert_kind(store.get("c", "mallory").await, ErrorKind::Decryption);
    assert_kind(store.get("other", "alice").await, ErrorKind::Decryption);
}

#[tokio::test]
async fn tampering_and_foreign_bytes_are_typed_errors() {
    let inner = memory();
    let store = inner.clone().encrypt(key(1), []);
    store.put("c", "k", b("value"), None).await.unwrap();
    let sealed = inner.get("c", "k").await.unwrap().unwrap();
    for i in [0, 1, 5, 20, sealed.len() - 1] {
        let mut bad = sealed.to_vec();
        bad[i] ^= 0x01;
        inner.put("c", "k", bad.into(), None).await.unwrap();
        corrupt_entry_is_a_typed_error(&store, "c", "k").await;
    }
    inner.put("c", "short", b("xy"), None).await.unwrap();
    corrupt_entry_is_a_typed_error(&store, "c", "short").await;
}

#[tokio::test]
async fn keys_rotate_old_values_stay_readable() {
    let inner = memory();
    inner
        .clone()
        .encrypt(key(1), [])
        .put("c", "old", b("v1"), None)
        .await
        .unwrap();
    let rotated = inner.clone().encrypt(key(2), [key(1)]);
    rotated.put("c", "new", b("v2"), None).await.unwrap();
    assert_eq!(rotated.get("c", "old").await.unwrap(), Some(b("v1")));
    assert_eq!(rotated.get("c", "new").await.unwrap(), Some(b("v2")));
    let retired = inner.clone().encrypt(key(2), []);
    assert_kind(retired.get("c", "old").await, ErrorKind::Decryption);
}

#[test]
fn key_material_never_appears_in_debug() {
    let store = memory().encrypt(
        EncryptionKey::new(7, [0xAB; 32]),
        [EncryptionKey::new(8, [0xCD; 32])],
    );
    let debug = format!("{store:?}");
    assert!(debug.contains("redacted"));
    assert!(
        !debug.contains("171") && !debug.to_lowercase().contains("abab"),
        "{debug}"
    );
}

#[test]
fn large_values_are_encrypted_off_the_executor() {
    super::large_values_are_worked_on_off_the_executor(SimpleStore::new().encrypt(key(1), []));
}
