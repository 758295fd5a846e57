use bytes::Bytes;
use kv_store_adapter::testkit::{b, corrupt_entry_is_a_typed_error};
use kv_store_adapter::wrappers::Compress;
use kv_store_adapter::{KvStore, KvStoreExt};

use super::*;

mod over_memory {
    use super::*;
    kv_store_adapter::conformance_suite!(store = memory().compress(64);
        basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, cull,
        conditional_writes);
}

mod over_disk {
    use super::*;
    kv_store_adapter::conformance_suite!(fixture = {
        let (store, dir) = disk();
        (store.compress(64), dir)
    }; basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, cull);
}

#[tokio::test]
async fn large_values_shrink_and_small_ones_stay_plain() {
    let inner = super::simple();
    let store = inner.clone().compress(100);
    let big = Bytes::from("abcdefgh".repeat(1000));
    store.put("c", "big", big.clone(), None).await.unwrap();
    store.put("c", "small", b("tiny"), None).await.unwrap();
    let stored = |key: &str| {
        inner
            .entries()
            .into_iter()
            .find(|e| e.key == key)
            .unwrap()
            .value
    };
    assert!(stored("big").len() < 200);
    assert_eq!(stored("small"), b("\0tiny"));
    assert_eq!(store.get("c", "big").await.unwrap(), Some(big.clone()));
    // Values written under another threshold read back the same.
    let other = inner.clone().compress(1_000_000);
    assert_eq!(other.get("c", "big").await.unwrap(), Some(big));
}

#[tokio::test]
async fn foreign_and_damaged_values_are_corrupt_data() {
    let inner = memory();
    let store = inner.clone().compress(10);
    store
        .put("c", "good", Bytes::from(vec![5u8; 5000]), None)
        .await
        .unwrap();
    let good = inner.get("c", "good").await.unwrap().unwrap();
    let mut flipped = good.to_vec();
    let last = flipped.len() - 1;
    flipped[last] ^= 0xff;
    flipped[6] ^= 0x55;
    let cases: Vec<(&str, Bytes)> = vec![
        ("garbage", b("no header byte of ours")),
        ("empty", Bytes::new()),
        ("truncated", good.slice(..good.len() / 2)),
        (
            "huge-length",
            Bytes::from_static(&[1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0]),
        ),
        ("flipped", Bytes::from(flipped)),
    ];
    for (key, bytes) in cases {
        inner.put("c", key, bytes, None).await.unwrap();
        corrupt_entry_is_a_typed_error(&store, "c", key).await;
    }
}

#[test]
fn decode_round_trips_encode() {
    let store = Compress::new((), 8);
    for value in [&b""[..], b"short", &[9u8; 4096][..]] {
        let encoded = store.encode(value);
        assert_eq!(Compress::<()>::decode("c", "k", encoded).unwrap(), value);
    }
}

#[test]
fn large_values_are_compressed_off_the_executor() {
    super::large_values_are_worked_on_off_the_executor(SimpleStore::new().compress(64));
}
