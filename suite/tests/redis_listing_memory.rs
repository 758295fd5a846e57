//! Listing and destroying without the key index hold one SCAN step at a time: the
//! memory of `keys(c, 10)`, `collections()`, `destroy_collection` and `destroy` does
//! not grow with the number of keys they scan. Each used to gather every key it
//! scanned first (100,000 keys: megabytes held at once), which over a namespace of
//! millions of keys is a process's whole memory.
//!
//! `list_collections` holds one page of names, where `collections()` holds them all.
//!
//! Measured by a global allocator counting the bytes live at once, one server and a
//! cluster; the tests of this binary run one at a time.
#![cfg(feature = "redis-cluster")]

#[path = "support/counting.rs"]
mod counting;

use counting::peak_growth;

use kv_store_adapter::stores::{RedisClusterStore, RedisStore};
use kv_store_adapter::testkit::{server_url, unique_namespace};
use kv_store_adapter::{
    Bytes, DestroyCollection, DestroyStore, EnumerateCollections, EnumerateKeys, KvStore,
};

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

/// One test at a time: the counts are process-wide.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Keys in the big collection.
const KEYS: usize = 100_000;
/// The most a listing may hold beyond what was live before it: a SCAN step of 1,000
/// keys and its reply take ~150 KB; 100,000 keys gathered at once took megabytes.
const BOUND: usize = 2 << 20;

/// Fills collection `big` with [`KEYS`] entries and `small` with 3.
async fn fill(store: &impl KvStore) {
    let names: Vec<String> = (0..KEYS).map(|i| format!("k{i:06}")).collect();
    for chunk in names.chunks(1_000) {
        let entries: Vec<(&str, Bytes)> = chunk
            .iter()
            .map(|k| (k.as_str(), Bytes::from_static(b"v")))
            .collect();
        store.put_many("big", &entries, None).await.unwrap();
    }
    for k in ["a", "b", "c"] {
        store
            .put("small", k, Bytes::from_static(b"v"), None)
            .await
            .unwrap();
    }
}

/// Every listing and destroy of `store` (filled by [`fill`]) within [`BOUND`].
async fn listing_holds_one_step<S>(store: S)
where
    S: EnumerateKeys + EnumerateCollections + DestroyCollection + DestroyStore,
{
    fill(&store).await;

    // Any ten of big's keys: the scan stops once ten have come.
    let (keys, grew) = peak_growth(store.keys("big", 10)).await;
    let keys = keys.unwrap();
    let distinct: std::collections::BTreeSet<&String> = keys.iter().collect();
    assert_eq!(distinct.len(), 10, "{keys:?}");
    assert!(
        keys.iter()
            .all(|k| k.len() == 7 && k[1..].parse::<usize>().is_ok_and(|i| i < KEYS)),
        "{keys:?}"
    );
    assert!(grew < BOUND, "keys(big, 10) held {grew} bytes at once");

    let (collections, grew) = peak_growth(store.collections(10)).await;
    assert_eq!(collections.unwrap(), ["big", "small"]);
    assert!(grew < BOUND, "collections() held {grew} bytes at once");

    let (done, grew) = peak_growth(store.destroy_collection("small")).await;
    done.unwrap();
    assert!(grew < BOUND, "destroy_collection held {grew} bytes at once");
    assert_eq!(store.collections(10).await.unwrap(), ["big"]);
    assert_eq!(store.keys("big", usize::MAX).await.unwrap().len(), KEYS);

    let (done, grew) = peak_growth(store.destroy()).await;
    done.unwrap();
    assert!(grew < BOUND, "destroy held {grew} bytes at once");
    assert!(store.collections(10).await.unwrap().is_empty());
}

#[tokio::test]
async fn one_server() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(url) = server_url("KV_REDIS_URL") else {
        return;
    };
    let store = RedisStore::connect(&url).await.unwrap();
    listing_holds_one_step(store.with_namespace(&unique_namespace()).unwrap()).await;
}

#[tokio::test]
async fn cluster() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(urls) = server_url("KV_REDIS_CLUSTER_URLS") else {
        return;
    };
    let nodes: Vec<&str> = urls.split(',').collect();
    let store = RedisClusterStore::connect_cluster(&nodes).await.unwrap();
    listing_holds_one_step(store.with_namespace(&unique_namespace()).unwrap()).await;
}

/// Collections in the many-collections namespace.
const COLLECTIONS: usize = 50_000;
/// The most a page of 1,000 collection names may hold beyond what was live before it
/// (the names, a SCAN step or the index's page and its replies); every name of
/// [`COLLECTIONS`] at once takes about 2 MB.
const PAGE_BOUND: usize = 1 << 20;

/// Writes one entry in each of [`COLLECTIONS`] collections, 16 writers at once.
async fn fill_collections<S: KvStore + Clone + Send + Sync + 'static>(store: &S) {
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..16 {
        let store = store.clone();
        writers.spawn(async move {
            for i in (w..COLLECTIONS).step_by(16) {
                let c = format!("collection-{i:06}");
                store
                    .put(&c, "k", Bytes::from_static(b"v"), None)
                    .await
                    .unwrap();
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done.unwrap();
    }
}

/// `list_collections` in pages of 1,000 holds one page, where `collections()` holds
/// every name: the stream's peak stays within [`PAGE_BOUND`], and the whole listing's
/// does not (so the bound tells the two apart).
async fn collection_listing_holds_one_page<S>(store: S)
where
    S: EnumerateCollections + DestroyStore + Clone + Send + Sync + 'static,
{
    fill_collections(&store).await;
    let (all, whole) = peak_growth(store.collections(usize::MAX)).await;
    assert_eq!(all.unwrap().len(), COLLECTIONS);
    let (count, paged) = peak_growth(async {
        let mut names = store.list_collections(1_000);
        let mut count = 0;
        while let Some(name) = names.next_key().await {
            assert!(name.unwrap().starts_with("collection-"));
            count += 1;
        }
        count
    })
    .await;
    assert_eq!(count, COLLECTIONS);
    assert!(
        paged < PAGE_BOUND,
        "list_collections held {paged} bytes at once"
    );
    assert!(
        whole > PAGE_BOUND,
        "collections() held only {whole} bytes: the bound does not tell"
    );
    store.destroy().await.unwrap();
}

#[tokio::test]
async fn one_server_collections() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(url) = server_url("KV_REDIS_URL") else {
        return;
    };
    let store = RedisStore::connect(&url).await.unwrap();
    let store = store.with_namespace(&unique_namespace()).unwrap();
    collection_listing_holds_one_page(store.clone()).await;
    let indexed = store
        .with_namespace(&unique_namespace())
        .unwrap()
        .with_index();
    collection_listing_holds_one_page(indexed).await;
}
