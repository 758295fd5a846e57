use kv_store_adapter::testkit::{b, hostile_names};
use kv_store_adapter::{KvStore, KvStoreExt};

use super::*;

mod over_memory {
    use super::*;
    kv_store_adapter::conformance_suite!(store = memory().single_collection("kv").unwrap();
        basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, cull,
        conditional_writes);
}

mod over_disk {
    use super::*;
    kv_store_adapter::conformance_suite!(fixture = {
        let (store, dir) = disk();
        (store.single_collection("kv").unwrap(), dir)
    }; basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, cull);
}

#[tokio::test]
async fn the_encoding_is_reversible_for_hostile_names() {
    let inner = super::simple();
    let store = inner.clone().single_collection("all").unwrap();
    let names = hostile_names();
    for c in names.iter().take(10) {
        for k in names.iter().take(10) {
            store.put(c, k, b(&format!("{c}|{k}")), None).await.unwrap();
        }
    }
    assert!(inner.entries().iter().all(|e| e.collection == "all"));
    assert_eq!(inner.entries().len(), 100);
    let mut collections = store.collections(1000).await.unwrap();
    collections.sort();
    let mut expected: Vec<String> = names.iter().take(10).cloned().collect();
    expected.sort();
    assert_eq!(collections, expected);
    for c in names.iter().take(10) {
        let mut keys = store.keys(c, 1000).await.unwrap();
        keys.sort();
        assert_eq!(keys, expected);
    }
}

/// Listing one folded collection, listing the collections and destroying one walk the
/// inner collection a page at a time: they never hold every folded collection's keys
/// at once (they did: each loaded the whole inner collection).
#[tokio::test]
async fn folded_collections_are_listed_a_page_at_a_time() {
    let (disk, _dir) = disk();
    let meter = ListingMeter::new(disk);
    let store = meter.clone().single_collection("kv").unwrap();
    fill(&store, "big", "k", 5_000).await;
    fill(&store, "small", "k", 5).await;
    meter.take();

    // The inner keys are `3:big…` then `5:small…`: big's first page is enough.
    assert_eq!(store.keys("big", 10).await.unwrap().len(), 10);
    let (_, total) = meter.take();
    assert!(total <= 1_000, "read {total} names for 10");

    // Small's keys come after all of big's: the inner store starts at `5:small` and
    // stops after it.
    let keys = store.keys("small", 10).await.unwrap();
    assert_eq!(keys, (0..5).map(|i| format!("k{i:06}")).collect::<Vec<_>>());
    let (most, total) = meter.take();
    assert!(most <= 1_000, "keys() held {most} names at once");
    assert_eq!(total, 5, "read {total} names for small's 5");

    assert_eq!(
        store.collections(usize::MAX).await.unwrap(),
        ["big", "small"]
    );
    assert_eq!(store.collections(1).await.unwrap(), ["big"]);
    let (most, _) = meter.take();
    assert!(most <= 1_000, "collections() held {most} names at once");

    store.destroy_collection("small").await.unwrap();
    let (most, _) = meter.take();
    assert!(
        most <= 1_000,
        "destroy_collection held {most} names at once"
    );
    assert_eq!(store.collections(usize::MAX).await.unwrap(), ["big"]);
    assert_eq!(store.keys("big", usize::MAX).await.unwrap().len(), 5_000);
}

/// Over an inner store that lists its keys in order, a whole listing of the folded
/// collections reads each inner key about once, and `collections(10)` about ten: both
/// read every inner key for each page of names (a listing of 2,001 collections in
/// pages of 10 read the 5,000 inner keys 201 times over).
#[tokio::test]
async fn folded_collections_are_listed_in_one_pass_over_an_ordered_store() {
    let (disk, _dir) = quick_disk();
    let meter = ListingMeter::new(disk);
    let store = meter.clone().single_collection("kv").unwrap();
    fill_collections(&store, "c", 4, 2_000).await;
    // One large collection in the middle: pages of names go on through its keys.
    fill(&store, "c1000x", "k", 3_000).await;
    let inner_keys = 5_000;
    meter.take();

    let mut listed = stream_collections(&store, 10).await;
    let (most, total) = meter.take();
    listed.sort();
    let mut expected: Vec<String> = (0..2_000).map(|i| format!("c{i:04}")).collect();
    expected.push("c1000x".into());
    expected.sort();
    assert_eq!(listed, expected);
    assert!(most <= 1_000, "one inner call answered {most} keys");
    assert!(
        total <= 3 * inner_keys,
        "listing {} collections read {total} inner keys, of {inner_keys}",
        expected.len()
    );

    // Pages the size of the listing: the same.
    assert_eq!(stream_collections(&store, 5_000).await.len(), 2_001);
    let (_, total) = meter.take();
    assert!(total <= 3 * inner_keys, "read {total} inner keys");

    assert_eq!(store.collections(10).await.unwrap().len(), 10);
    let (_, total) = meter.take();
    assert!(total <= 100, "collections(10) read {total} inner keys");
}

/// A cursor the folded listing did not give is a typed error, never a wrong page:
/// garbage, a cut-off cursor, and one of the walk in order given to a store in no order.
#[tokio::test]
async fn a_foreign_cursor_of_folded_collections_is_invalid() {
    use kv_store_adapter::{Cursor, EnumerateCollections, ErrorKind};
    let (disk, _dir) = quick_disk();
    let store = disk.single_collection("kv").unwrap();
    fill_collections(&store, "c", 2, 5).await;
    // Pages of 2: the cursors given, the first without an inner cursor, the next with.
    let (mut names, mut given, mut cursor) = (Vec::new(), Vec::new(), None);
    loop {
        let page = store.collections_page(cursor, 2).await.unwrap();
        names.extend(page.names);
        match page.next {
            Some(next) => {
                given.push(next.clone());
                cursor = Some(next);
            }
            None => break,
        }
    }
    assert_eq!(names.len(), 5);
    assert_eq!(given.len(), 2);
    for bad in ["garbage", "o", "o9:c0", "o2:c0*", ""] {
        let err = store
            .collections_page(Some(Cursor::new(bad)), 2)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidKey, "{bad:?}");
    }
    // The same cursors, given to a store whose key listing is in no order.
    let unordered = NoOrder(memory()).single_collection("kv").unwrap();
    for cursor in given {
        let err = unordered
            .collections_page(Some(cursor), 2)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidKey);
    }
}

/// A store that promises nothing of its key listing's order.
#[derive(Debug, Clone)]
struct NoOrder<S>(S);

impl<S: kv_store_adapter::Store> kv_store_adapter::Store for NoOrder<S> {
    kv_store_adapter::forward_methods!(0; get_opts, put_opts, delete_opts, get_many_opts,
        put_many_opts, delete_many_opts);
}

impl<S: kv_store_adapter::EnumerateKeys> kv_store_adapter::EnumerateKeys for NoOrder<S> {
    async fn keys_opts(
        &self,
        c: &str,
        opts: kv_store_adapter::ListOptions,
    ) -> kv_store_adapter::Result<Vec<String>> {
        self.0.keys_opts(c, opts).await
    }

    async fn keys_page_with_prefix(
        &self,
        c: &str,
        prefix: &str,
        cursor: Option<kv_store_adapter::Cursor>,
        limit: usize,
    ) -> kv_store_adapter::Result<kv_store_adapter::Page> {
        let mut page = self
            .0
            .keys_page_with_prefix(c, prefix, cursor, limit)
            .await?;
        page.in_order = false;
        Ok(page)
    }
}
