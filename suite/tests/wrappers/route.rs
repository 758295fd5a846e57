use kv_store_adapter::testkit::b;
use kv_store_adapter::wrappers::{Route, RouteMap};
use kv_store_adapter::{BoxStore, EnumerateCollections, KvStore};

use super::*;

fn even(collection: &str) -> bool {
    collection.len().is_multiple_of(2)
}

mod static_route {
    use super::*;
    kv_store_adapter::conformance_suite!(fixture = {
        let (store, dir) = disk();
        (Route::new(memory(), store, even), dir)
    }; basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, cull);
}

mod route_map {
    use super::*;
    kv_store_adapter::conformance_suite!(store = RouteMap::new(BoxStore::builder(memory()).all().conditional_writes().build())
        .route("::", BoxStore::builder(memory()).all().conditional_writes().build());
        basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, cull,
        conditional_writes);
}

#[tokio::test]
async fn collections_go_where_the_predicate_says() {
    let (a, bb) = (super::simple(), super::simple());
    let store = Route::new(a.clone(), bb.clone(), even);
    store.put("ab", "k", b("even"), None).await.unwrap();
    store.put("abc", "k", b("odd"), None).await.unwrap();
    assert_eq!(a.entries()[0].collection, "ab");
    assert_eq!(bb.entries()[0].collection, "abc");
    let mut all = store.collections(10).await.unwrap();
    all.sort();
    assert_eq!(all, ["ab", "abc"]);
}

#[tokio::test]
async fn a_route_map_is_configured_at_run_time() {
    let (audit, rest) = (super::simple(), super::simple());
    let store = RouteMap::new(BoxStore::builder(rest.clone()).all().build())
        .route("audit", BoxStore::builder(audit.clone()).all().build());
    store.put("audit", "e", b("1"), None).await.unwrap();
    store.put("users", "u", b("2"), None).await.unwrap();
    assert_eq!((audit.entries().len(), rest.entries().len()), (1, 1));
    assert_eq!(audit.entries()[0].collection, "audit");
}

/// A route's destroy removes what it routes and nothing else: a collection of `A` that
/// the predicate sends to `B` (written to `A` directly) survives, and so does one of `B`
/// that belongs to `A`.
#[tokio::test]
async fn destroy_touches_only_routed_collections() {
    let (a, bb) = (super::simple(), super::simple());
    a.put("ab", "k", b("routed to a"), None).await.unwrap();
    a.put("abc", "k", b("a's own, not routed"), None)
        .await
        .unwrap();
    bb.put("abc", "k", b("routed to b"), None).await.unwrap();
    bb.put("ab", "k", b("b's own, not routed"), None)
        .await
        .unwrap();
    Route::new(a.clone(), bb.clone(), even)
        .destroy()
        .await
        .unwrap();
    assert_eq!(a.get("ab", "k").await.unwrap(), None);
    assert_eq!(bb.get("abc", "k").await.unwrap(), None);
    assert_eq!(
        a.get("abc", "k").await.unwrap(),
        Some(b("a's own, not routed"))
    );
    assert_eq!(
        bb.get("ab", "k").await.unwrap(),
        Some(b("b's own, not routed"))
    );
}

#[tokio::test]
async fn route_map_destroy_touches_only_routed_collections() {
    let (audit, rest) = (super::simple(), super::simple());
    audit.put("audit", "e", b("routed"), None).await.unwrap();
    audit
        .put("other", "e", b("not routed here"), None)
        .await
        .unwrap();
    rest.put("users", "u", b("default"), None).await.unwrap();
    rest.put("audit", "e", b("shadowed by the route"), None)
        .await
        .unwrap();
    let store = RouteMap::new(BoxStore::builder(rest.clone()).all().build())
        .route("audit", BoxStore::builder(audit.clone()).all().build());
    store.destroy().await.unwrap();
    assert_eq!(audit.get("audit", "e").await.unwrap(), None);
    assert_eq!(rest.get("users", "u").await.unwrap(), None);
    assert_eq!(
        audit.get("other", "e").await.unwrap(),
        Some(b("not routed here"))
    );
    assert_eq!(
        rest.get("audit", "e").await.unwrap(),
        Some(b("shadowed by the route"))
    );
}

/// Listing, streaming and destroying through a route walk each routed store's
/// collections a page at a time: never every name of a store at once (they did: each
/// asked both stores for all their collections in one call).
#[tokio::test]
async fn a_route_lists_collections_a_page_at_a_time() {
    let ((disk_a, _a), (disk_b, _b)) = (quick_disk(), quick_disk());
    let (a, bb) = (ListingMeter::new(disk_a), ListingMeter::new(disk_b));
    let store = Route::new(a.clone(), bb.clone(), even);
    fill_collections(&store, "c", 5, 2_500).await; // six characters: to a
    fill_collections(&store, "c", 6, 2_500).await; // seven: to b
    assert_eq!(a.collections(usize::MAX).await.unwrap().len(), 2_500);
    a.take_collections();

    let listed = store.collections(usize::MAX).await.unwrap();
    assert_eq!(listed.len(), 5_000);
    let mut streamed = stream_collections(&store, 100).await;
    streamed.sort();
    let mut listed = listed;
    listed.sort();
    assert_eq!(streamed, listed);
    store.destroy().await.unwrap();
    for (name, meter) in [("a", &a), ("b", &bb)] {
        let (most, _) = meter.take_collections();
        assert!(most <= 1_000, "{name} answered {most} names at once");
    }
    assert!(store.collections(10).await.unwrap().is_empty());
}

/// A listing by prefix asks each store for the prefix's names: they read no other
/// (before, each store listed all of its names and the route dropped the others).
#[tokio::test]
async fn a_route_asks_each_store_for_a_prefix() {
    let ((disk_a, _a), (disk_b, _b)) = (quick_disk(), quick_disk());
    let (a, bb) = (ListingMeter::new(disk_a), ListingMeter::new(disk_b));
    let store = Route::new(a.clone(), bb.clone(), even);
    fill_collections(&store, "c", 5, 2_000).await; // to a
    fill_collections(&store, "c", 6, 2_000).await; // to b
    fill_collections(&store, "d", 5, 30).await; // to a
    fill_collections(&store, "d", 6, 30).await; // to b
    a.take_collections();
    bb.take_collections();

    let mut listed = Vec::new();
    let mut names = store.list_collections_with_prefix("d", 7);
    while let Some(name) = names.next_key().await {
        listed.push(name.unwrap());
    }
    assert_eq!(listed.len(), 60);
    assert!(listed.iter().all(|c| c.starts_with('d')));
    for (name, meter) in [("a", &a), ("b", &bb)] {
        let (_, total) = meter.take_collections();
        assert_eq!(total, 30, "{name} answered {total} names for 30");
    }

    let map = RouteMap::new(BoxStore::builder(a.clone()).all().build())
        .route("d000000", BoxStore::builder(bb.clone()).all().build());
    let page = map
        .collections_page_with_prefix("d0000", None, 100)
        .await
        .unwrap();
    assert_eq!(page.names.len(), 10, "{:?}", page.names);
    let (_, total) = a.take_collections();
    assert_eq!(total, 10, "the default store answered {total} names for 10");
}

/// The same through a route map: its default store's collections, less the routed
/// names, a page at a time.
#[tokio::test]
async fn a_route_map_lists_collections_a_page_at_a_time() {
    let ((disk_rest, _r), (disk_audit, _a)) = (quick_disk(), quick_disk());
    let rest = ListingMeter::new(disk_rest);
    let store = RouteMap::new(BoxStore::builder(rest.clone()).all().build())
        .route("audit", BoxStore::builder(disk_audit).all().build());
    fill_collections(&store, "c", 5, 3_000).await;
    store.put("audit", "e", b("1"), None).await.unwrap();
    rest.take_collections();

    assert_eq!(store.collections(usize::MAX).await.unwrap().len(), 3_001);
    assert_eq!(stream_collections(&store, 100).await.len(), 3_001);
    store.destroy().await.unwrap();
    let (most, _) = rest.take_collections();
    assert!(
        most <= 1_000,
        "the default store answered {most} names at once"
    );
    assert!(store.collections(10).await.unwrap().is_empty());
}
