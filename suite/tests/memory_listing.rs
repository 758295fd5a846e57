//! MemoryStore's pages hold one page: a page of `list_keys` or `list_collections` walks
//! the whole cache (it keeps no order) but keeps only about a page of names. It used to
//! list every name of the collection for each page (100,000 keys: megabytes at once,
//! for a page of 100).
//!
//! Measured by a global allocator counting the bytes live at once; the tests of this
//! binary run one at a time.
#![cfg(feature = "memory")]

#[path = "support/counting.rs"]
mod counting;

use counting::peak_growth;

use kv_store_adapter::stores::MemoryStore;
use kv_store_adapter::{Bytes, EnumerateCollections, EnumerateKeys, KvStore};

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

/// One test at a time: the counts are process-wide.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const KEYS: usize = 100_000;
/// The most a page may hold beyond what was live before it: the names kept between
/// cuts (a few thousand, ~200 KB); the collection's 100,000 names take ~3 MB.
const BOUND: usize = 1 << 20;

#[tokio::test]
async fn a_page_of_keys_holds_about_a_page() {
    let _one = ONE_AT_A_TIME.lock().await;
    let store = MemoryStore::with_max_entries(200_000);
    let names: Vec<String> = (0..KEYS).map(|i| format!("key-{i:06}")).collect();
    for chunk in names.chunks(1_000) {
        let entries: Vec<(&str, Bytes)> = chunk
            .iter()
            .map(|k| (k.as_str(), Bytes::from_static(b"v")))
            .collect();
        store.put_many("big", &entries, None).await.unwrap();
    }
    let (page, grew) = peak_growth(store.keys_page("big", None, 100)).await;
    let page = page.unwrap();
    assert_eq!(page.names, names[..100], "the first hundred, in order");
    assert!(grew < BOUND, "a page of 100 held {grew} bytes at once");
    let (page, grew) = peak_growth(store.keys_page("big", page.next, 100)).await;
    assert_eq!(page.unwrap().names, names[100..200]);
    assert!(grew < BOUND, "the next page held {grew} bytes at once");
    let (page, grew) = peak_growth(store.keys_page_with_prefix("big", "key-0999", None, 50)).await;
    assert_eq!(page.unwrap().names, names[99_900..99_950]);
    assert!(grew < BOUND, "a prefix's page held {grew} bytes at once");
}

#[tokio::test]
async fn a_page_of_collections_holds_about_a_page() {
    let _one = ONE_AT_A_TIME.lock().await;
    let store = MemoryStore::with_max_entries(200_000);
    let names: Vec<String> = (0..KEYS).map(|i| format!("c-{i:06}")).collect();
    for c in &names {
        store
            .put(c, "k", Bytes::from_static(b"v"), None)
            .await
            .unwrap();
    }
    let (page, grew) = peak_growth(store.collections_page(None, 100)).await;
    let page = page.unwrap();
    assert_eq!(page.names, names[..100]);
    assert!(
        grew < BOUND,
        "a page of 100 collections held {grew} bytes at once"
    );
    let (page, grew) = peak_growth(store.collections_page(page.next, 100)).await;
    assert_eq!(page.unwrap().names, names[100..200]);
    assert!(grew < BOUND, "the next page held {grew} bytes at once");
}
