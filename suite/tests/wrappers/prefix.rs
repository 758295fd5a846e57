use kv_store_adapter::testkit::b;
use kv_store_adapter::{Entry, KvStore, KvStoreExt};

use super::*;

mod keys_over_memory {
    use super::*;
    kv_store_adapter::conformance_suite!(store = memory().prefix_keys("p").unwrap();
        basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, cull,
        conditional_writes);
}

mod keys_over_disk {
    use super::*;
    kv_store_adapter::conformance_suite!(fixture = {
        let (store, dir) = disk();
        (store.prefix_keys("p").unwrap(), dir)
    }; basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, cull);
}

// PrefixKeys hands its inner store the prefix and the key as two parts (the
// `_prefixed` methods), which forwarding wrappers pass down and MemoryStore encodes
// itself: the whole suite through that path.
mod keys_over_forwarding_wrappers_over_memory {
    use super::*;
    kv_store_adapter::conformance_suite!(store = memory()
        .with_stats()
        .clamp_ttl(Duration::from_millis(1), DAY, None)
        .unwrap()
        .prefix_keys("p")
        .unwrap();
        basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, cull,
        conditional_writes);
}

// A prefix over a prefix: the outer one's keys already carry a prefix, so it joins
// them (its `async` path) where a single prefix hands over two parts.
mod keys_over_nested_prefixes {
    use super::*;
    kv_store_adapter::conformance_suite!(store = memory()
        .prefix_keys("outer")
        .unwrap()
        .with_stats()
        .prefix_keys("inner")
        .unwrap();
        basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, cull,
        conditional_writes);
}

mod collections_over_memory {
    use super::*;
    kv_store_adapter::conformance_suite!(store = memory().prefix_collections("p").unwrap();
        basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, cull,
        conditional_writes);
}

mod collections_over_disk {
    use super::*;
    kv_store_adapter::conformance_suite!(fixture = {
        let (store, dir) = disk();
        (store.prefix_collections("p").unwrap(), dir)
    }; basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, cull);
}

#[tokio::test]
async fn key_prefixes_never_meet_each_other_or_unprefixed_keys() {
    let shared = super::simple();
    let a = shared.clone().prefix_keys("a").unwrap();
    let ab = shared.clone().prefix_keys("a\u{1e}b").unwrap();
    a.put("c", "k", b("from a"), None).await.unwrap();
    ab.put("c", "k", b("from ab"), None).await.unwrap();
    shared.put("c", "k", b("plain"), None).await.unwrap();
    shared.put("c", "a", b("plain a"), None).await.unwrap();
    assert_eq!(a.get("c", "k").await.unwrap(), Some(b("from a")));
    assert_eq!(ab.get("c", "k").await.unwrap(), Some(b("from ab")));
    assert_eq!(a.keys("c", 10).await.unwrap(), ["k"]);
    a.destroy().await.unwrap();
    assert_eq!(a.get("c", "k").await.unwrap(), None);
    assert_eq!(ab.get("c", "k").await.unwrap(), Some(b("from ab")));
    assert_eq!(shared.get("c", "k").await.unwrap(), Some(b("plain")));
}

#[tokio::test]
async fn collection_prefixes_hide_other_collections() {
    let shared = super::simple();
    let app = shared.clone().prefix_collections("app").unwrap();
    app.put("users", "k", b("v"), None).await.unwrap();
    shared.put("users", "k", b("other"), None).await.unwrap();
    shared.put("app", "k", b("other"), None).await.unwrap();
    assert_eq!(app.collections(10).await.unwrap(), ["users"]);
    app.destroy().await.unwrap();
    assert_eq!(
        shared.entries().len(),
        2,
        "destroy removed only the prefixed collection"
    );
}

#[tokio::test]
async fn bad_prefixes_are_refused() {
    assert!(memory().prefix_keys("").is_err());
    assert!(memory().prefix_collections("a\u{1f}b").is_err());
}

/// MemoryStore's two-part encoding of a prefixed key is the same entry as the joined
/// key written plainly: short keys (encoded on the stack) and long ones (on the heap).
#[tokio::test]
async fn prefixed_and_joined_keys_are_one_entry_in_memory() {
    let shared = memory();
    let tenant = shared.clone().prefix_keys("t").unwrap();
    for key in ["k".to_owned(), "x".repeat(300)] {
        let joined = format!("t\u{1f}{key}");
        tenant
            .put("c", &key, b("via prefix"), Some(DAY))
            .await
            .unwrap();
        assert_eq!(
            shared.get("c", &joined).await.unwrap(),
            Some(b("via prefix"))
        );
        shared.put("c", &joined, b("plain"), None).await.unwrap();
        assert_eq!(tenant.get("c", &key).await.unwrap(), Some(b("plain")));
        assert_eq!(
            tenant
                .ttl("c", &key)
                .await
                .unwrap()
                .map(|e| e.with_version(None)),
            Some(Entry::new(b("plain"), None))
        );
        assert!(tenant.delete("c", &key).await.unwrap());
        assert_eq!(shared.get("c", &joined).await.unwrap(), None);
    }
    // Nested prefixes join in order.
    let nested = shared
        .clone()
        .prefix_keys("a")
        .unwrap()
        .prefix_keys("b")
        .unwrap();
    nested.put("c", "k", b("v"), None).await.unwrap();
    assert_eq!(
        shared.get("c", "a\u{1f}b\u{1f}k").await.unwrap(),
        Some(b("v"))
    );
}

/// The wrappers a prefix sits on keep their rules on the two-part path: Stats counts,
/// ClampTtl clamps, ReadOnly refuses, and references forward it.
#[tokio::test]
async fn wrappers_under_a_key_prefix_keep_their_rules() {
    let stats = memory().with_stats();
    let counted = (&stats).prefix_keys("p").unwrap();
    counted.put("c", "k", b("v"), None).await.unwrap();
    assert!(counted.get("c", "k").await.unwrap().is_some());
    assert!(counted.get("c", "absent").await.unwrap().is_none());
    assert!(counted.ttl("c", "k").await.unwrap().is_some());
    assert!(counted.delete("c", "k").await.unwrap());
    assert!(!counted.delete("c", "k").await.unwrap());
    let seen = stats.collection_stats("c");
    assert_eq!(
        (seen.puts, seen.get_hits, seen.get_misses, seen.ttl_hits),
        (1, 1, 1, 1)
    );
    assert_eq!((seen.delete_hits, seen.delete_misses), (1, 1));

    let clamped = memory()
        .clamp_ttl(
            Duration::from_secs(10),
            Duration::from_secs(20),
            Some(Duration::from_secs(15)),
        )
        .unwrap()
        .prefix_keys("p")
        .unwrap();
    clamped.put("c", "long", b("v"), Some(DAY)).await.unwrap();
    clamped.put("c", "none", b("v"), None).await.unwrap();
    let left = |e: Option<Entry>| e.unwrap().expires_in.unwrap();
    assert!(left(clamped.ttl("c", "long").await.unwrap()) <= Duration::from_secs(20));
    let missing = left(clamped.ttl("c", "none").await.unwrap());
    assert!(missing > Duration::from_secs(10) && missing <= Duration::from_secs(15));

    let shared = memory();
    shared.put("c", "p\u{1f}k", b("kept"), None).await.unwrap();
    let frozen = shared.clone().read_only().prefix_keys("p").unwrap();
    assert_eq!(frozen.get("c", "k").await.unwrap(), Some(b("kept")));
    let refused = frozen.put("c", "k", b("w"), None).await.unwrap_err();
    assert_eq!(refused.kind(), kv_store_adapter::ErrorKind::ReadOnly);
    assert_eq!(
        frozen.delete("c", "k").await.unwrap_err().kind(),
        kv_store_adapter::ErrorKind::ReadOnly
    );
    assert_eq!(shared.get("c", "p\u{1f}k").await.unwrap(), Some(b("kept")));
}

/// Listing, looking for and deleting one prefix's keys read only that prefix's keys,
/// a page at a time, and stop once they have what they need: they never hold every
/// prefix's keys at once (they did: each loaded the whole inner collection, so
/// `keys("c", 10)` over a million shared keys read a million).
#[tokio::test]
async fn a_prefix_lists_its_keys_a_page_at_a_time() {
    let (disk, _dir) = disk();
    let meter = ListingMeter::new(disk);
    let bulk = meter.clone().prefix_keys("bulk").unwrap();
    let few = meter.clone().prefix_keys("few").unwrap();
    fill(&bulk, "c", "k", 5_000).await;
    fill(&few, "c", "k", 5).await;
    meter.take();

    // The inner keys are `bulk␟…` then `few␟…`: the first page holds ten of bulk's.
    assert_eq!(bulk.keys("c", 10).await.unwrap().len(), 10);
    let (most, total) = meter.take();
    assert!(total <= 1_000, "read {total} names for 10");

    // Few's keys come after all of bulk's: the inner store starts at the prefix and
    // stops after it, reading few's five names and no other.
    let keys = few.keys("c", 10).await.unwrap();
    assert_eq!(keys, (0..5).map(|i| format!("k{i:06}")).collect::<Vec<_>>());
    let (most_few, total) = meter.take();
    assert!(most.max(most_few) <= 1_000, "held {most_few} names at once");
    assert_eq!(total, 5, "read {total} names for few's 5");

    assert_eq!(few.collections(usize::MAX).await.unwrap(), ["c"]);
    let (most, _) = meter.take();
    assert!(most <= 1_000, "collections() held {most} names at once");

    few.destroy_collection("c").await.unwrap();
    let (most, _) = meter.take();
    assert!(
        most <= 1_000,
        "destroy_collection held {most} names at once"
    );
    assert!(few.keys("c", 10).await.unwrap().is_empty());
    assert_eq!(bulk.keys("c", usize::MAX).await.unwrap().len(), 5_000);
    assert_eq!(bulk.collections(usize::MAX).await.unwrap(), ["c"]);
}

/// Over a store that pages by listing everything (the default `keys_page`, as
/// MemoryStore does), a walk reads it in one page: a thousand-name page at a time would
/// list the whole collection once per page (100,000 keys: 2.6 s instead of 25 ms).
#[tokio::test]
async fn a_prefix_walks_a_store_without_a_cursor_in_one_page() {
    let meter = ListingMeter::new(memory());
    let few = meter.clone().prefix_keys("few").unwrap();
    let bulk = meter.clone().prefix_keys("bulk").unwrap();
    fill(&bulk, "c", "k", 5_000).await;
    fill(&few, "c", "k", 5).await;
    meter.take();
    assert_eq!(few.keys("c", usize::MAX).await.unwrap().len(), 5);
    assert_eq!(meter.calls(), 1, "one page");
    assert_eq!(bulk.keys("c", usize::MAX).await.unwrap().len(), 5_000);
    few.destroy_collection("c").await.unwrap();
    assert_eq!(bulk.keys("c", usize::MAX).await.unwrap().len(), 5_000);
    assert!(few.keys("c", 10).await.unwrap().is_empty());
}

/// Listing, streaming and destroying one prefix's collections walk the inner store's
/// collections a page at a time: they never hold every prefix's collection names at
/// once (they did: each asked the inner store for all of them in one call).
#[tokio::test]
async fn a_prefix_lists_its_collections_a_page_at_a_time() {
    let (disk, _dir) = quick_disk();
    let meter = ListingMeter::new(disk);
    let mine = meter.clone().prefix_collections("mine").unwrap();
    let theirs = meter.clone().prefix_collections("theirs").unwrap();
    fill_collections(&mine, "c", 5, 2_500).await;
    fill_collections(&theirs, "c", 5, 2_500).await;
    meter.take_collections();

    let listed = mine.collections(usize::MAX).await.unwrap();
    assert_eq!(listed.len(), 2_500);
    let (most, _) = meter.take_collections();
    assert!(most <= 1_000, "collections() held {most} names at once");

    assert_eq!(mine.collections(10).await.unwrap(), listed[..10]);
    let (_, total) = meter.take_collections();
    assert!(total <= 1_000, "read {total} names for 10");

    let mut streamed = stream_collections(&mine, 100).await;
    streamed.sort();
    assert_eq!(streamed, listed);
    let (most, _) = meter.take_collections();
    assert!(most <= 1_000, "list_collections held {most} names at once");

    mine.destroy().await.unwrap();
    let (most, _) = meter.take_collections();
    assert!(most <= 1_000, "destroy held {most} names at once");
    assert!(mine.collections(10).await.unwrap().is_empty());
    assert_eq!(theirs.collections(usize::MAX).await.unwrap().len(), 2_500);
}

/// A prefix's listing and its `destroy` ask the inner store for the prefix's names
/// (`collections_page_with_prefix`): they read no other prefix's, neither those before
/// them (they read all of them, 3,000 here, before the inner stores started at a
/// prefix) nor those after (they read those until the listing in order passed them).
#[tokio::test]
async fn a_prefix_listing_reads_only_its_names() {
    let (disk, _dir) = quick_disk();
    let meter = ListingMeter::new(disk);
    let before = meter.clone().prefix_collections("aaa").unwrap();
    let mine = meter.clone().prefix_collections("mine").unwrap();
    let after = meter.clone().prefix_collections("theirs").unwrap();
    fill_collections(&before, "c", 5, 3_000).await;
    fill_collections(&mine, "c", 5, 500).await;
    fill_collections(&after, "c", 5, 3_000).await;
    meter.take_collections();

    assert_eq!(stream_collections(&mine, 100).await.len(), 500);
    let (_, total) = meter.take_collections();
    assert_eq!(total, 500, "listing 500 names read {total}");
    assert_eq!(mine.collections(usize::MAX).await.unwrap().len(), 500);
    let (_, total) = meter.take_collections();
    assert_eq!(total, 500, "collections() of 500 read {total}");
    assert_eq!(mine.collections(10).await.unwrap().len(), 10);
    let (_, total) = meter.take_collections();
    assert!(total <= 500, "collections(10) read {total}");

    // A prefix of the wrapper's names: the inner store is asked for `mine` + it.
    let mut some = Vec::new();
    let mut listed = mine.list_collections_with_prefix("c001", 7);
    while let Some(name) = listed.next_key().await {
        some.push(name.unwrap());
    }
    assert_eq!(some.len(), 100);
    assert!(some.iter().all(|c| c.starts_with("c001")));
    let (_, total) = meter.take_collections();
    assert_eq!(total, 100, "100 names of 500 read {total}");

    mine.destroy().await.unwrap();
    let (_, total) = meter.take_collections();
    assert_eq!(total, 500, "destroying 500 collections read {total} names");
    assert!(mine.collections(10).await.unwrap().is_empty());
    assert_eq!(before.collections(usize::MAX).await.unwrap().len(), 3_000);
    assert_eq!(after.collections(usize::MAX).await.unwrap().len(), 3_000);
}

/// A key prefix's collections are the inner collections holding one of its keys: they
/// are found walking the inner collections a page at a time, never all at once.
#[tokio::test]
async fn a_key_prefix_finds_its_collections_a_page_at_a_time() {
    let (disk, _dir) = quick_disk();
    let meter = ListingMeter::new(disk);
    let bulk = meter.clone().prefix_keys("bulk").unwrap();
    let few = meter.clone().prefix_keys("few").unwrap();
    fill_collections(&bulk, "c", 5, 5_000).await;
    fill_collections(&few, "c", 5, 3).await;
    meter.take_collections();

    assert_eq!(
        few.collections(usize::MAX).await.unwrap(),
        ["c00000", "c00001", "c00002"]
    );
    let (most, _) = meter.take_collections();
    assert!(most <= 1_000, "collections() held {most} names at once");

    assert_eq!(stream_collections(&few, 2).await.len(), 3);
    let (most, _) = meter.take_collections();
    assert!(most <= 1_000, "list_collections held {most} names at once");

    few.destroy().await.unwrap();
    let (most, _) = meter.take_collections();
    assert!(most <= 1_000, "destroy held {most} names at once");
    assert!(few.collections(10).await.unwrap().is_empty());
    assert_eq!(bulk.collections(usize::MAX).await.unwrap().len(), 5_000);
}
