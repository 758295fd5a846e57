use kv_store_adapter::testkit::{Faulty, assert_kind, b};
use kv_store_adapter::wrappers::Fallback;
use kv_store_adapter::{ErrorKind, KvStore, KvStoreExt};

use super::*;

kv_store_adapter::conformance_suite!(store = Fallback::new(memory(), memory());
    basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, cull,
    conditional_writes);

#[tokio::test]
async fn reads_fall_back_on_transient_errors_only() {
    let (primary, backup) = (Faulty::new(memory()), memory());
    backup.put("c", "k", b("backup"), None).await.unwrap();
    let store = Fallback::new(primary.clone(), backup.clone());
    primary.fail_next(1);
    assert_eq!(store.get("c", "k").await.unwrap(), Some(b("backup")));
    assert_eq!(
        store.get("c", "k").await.unwrap(),
        None,
        "a healthy primary answers"
    );
    // Corrupt data is not transient: it is reported, not hidden behind the fallback.
    let garbage = memory();
    garbage
        .put("c", "k", b("not in Compress's format"), None)
        .await
        .unwrap();
    let corrupting = Fallback::new(garbage.compress(1), backup.clone());
    assert_kind(corrupting.get("c", "k").await, ErrorKind::Corrupt);
}

#[tokio::test]
async fn writes_fall_back_only_when_configured() {
    let (primary, backup) = (Faulty::new(memory()), memory());
    let store = Fallback::new(primary.clone(), backup.clone());
    primary.fail_next(1);
    assert_kind(
        store.put("c", "k", b("v"), None).await,
        ErrorKind::Connection,
    );
    assert_eq!(backup.get("c", "k").await.unwrap(), None);
    let store = Fallback::with_write_fallback(primary.clone(), backup.clone());
    primary.fail_next(1);
    store.put("c", "k", b("v"), None).await.unwrap();
    assert_eq!(backup.get("c", "k").await.unwrap(), Some(b("v")));
}

/// Every name a stream gives, or the first error.
async fn drain(
    mut stream: kv_store_adapter::KeyStream<'_>,
) -> kv_store_adapter::Result<Vec<String>> {
    let mut names = Vec::new();
    while let Some(name) = stream.next_key().await {
        names.push(name?);
    }
    Ok(names)
}

/// A listing whose first page the primary cannot give is the fallback's, every page of
/// it: a cursor of one store is never handed to the other (the primary answered the
/// later pages, after the fallback's first name, and the listing lost names).
#[tokio::test]
async fn a_listing_falls_back_on_its_first_page_and_stays_there() {
    let (primary, backup) = (Faulty::new(memory()), memory());
    for c in ["a", "b", "c"] {
        primary.put(c, "p", b("primary"), None).await.unwrap();
    }
    for c in ["x", "y", "z"] {
        backup.put(c, "k1", b("backup"), None).await.unwrap();
        backup.put(c, "k2", b("backup"), None).await.unwrap();
    }
    let store = Fallback::new(primary.clone(), backup.clone());

    primary.fail_next(1);
    let listed = drain(store.list_collections(1)).await.unwrap();
    assert_eq!(listed, ["x", "y", "z"]);
    primary.fail_next(1);
    assert_eq!(drain(store.list_keys("x", 1)).await.unwrap(), ["k1", "k2"]);

    // A healthy primary answers every page.
    assert_eq!(
        drain(store.list_collections(1)).await.unwrap(),
        ["a", "b", "c"]
    );

    // A primary that fails after the first page fails the listing: its cursor means
    // nothing to the fallback.
    let mut stream = store.list_collections(1);
    assert_eq!(stream.next_key().await.unwrap().unwrap(), "a");
    primary.fail_next(1);
    let failed = stream.next_key().await.unwrap();
    assert_kind(failed, ErrorKind::Connection);

    // A cursor neither store gave is a typed error, not a guess.
    use kv_store_adapter::{Cursor, EnumerateCollections, EnumerateKeys};
    for garbage in ["garbage", "2:x", ":x", ""] {
        let cursor = || Some(Cursor::new(garbage));
        assert_kind(
            store.collections_page(cursor(), 1).await,
            ErrorKind::InvalidKey,
        );
        assert_kind(
            store.keys_page("x", cursor(), 1).await,
            ErrorKind::InvalidKey,
        );
    }
}

/// Listing through a fallback walks the primary's pages: never every name at once (the
/// default paging listed every collection and key of the primary for each page).
#[tokio::test]
async fn a_fallback_lists_a_page_at_a_time() {
    let (disk, _dir) = quick_disk();
    let meter = ListingMeter::new(disk);
    let store = Fallback::new(meter.clone(), memory());
    fill_collections(&store, "c", 5, 3_000).await;
    fill(&store, "big", "k", 3_000).await;
    meter.take();
    meter.take_collections();

    assert_eq!(stream_collections(&store, 100).await.len(), 3_001);
    let (most, _) = meter.take_collections();
    assert!(most <= 1_000, "list_collections held {most} names at once");
    assert_eq!(
        drain(store.list_keys("big", 100)).await.unwrap().len(),
        3_000
    );
    let (most, _) = meter.take();
    assert!(most <= 1_000, "list_keys held {most} names at once");
}

/// A primary that does not answer (stalled, behind its timeout) hands the listing to
/// the fallback within one timeout: its first page times out, a transient error.
#[tokio::test]
async fn a_stalled_primary_hands_the_listing_to_the_fallback() {
    use std::time::Duration;
    let (faulty, backup) = (Faulty::new(memory()), memory());
    faulty.put("a", "p", b("primary"), None).await.unwrap();
    backup.put("x", "k", b("backup"), None).await.unwrap();
    let store = Fallback::new(faulty.clone().timeout(Duration::from_millis(200)), backup);
    faulty.delay(Duration::from_secs(5));
    let start = std::time::Instant::now();
    assert_eq!(drain(store.list_collections(10)).await.unwrap(), ["x"]);
    assert_eq!(drain(store.list_keys("x", 10)).await.unwrap(), ["k"]);
    let took = start.elapsed();
    // Two listings, each one limit (200 ms) and slack, never the stall.
    assert!(took < Duration::from_millis(2_000), "{took:?}");
}
