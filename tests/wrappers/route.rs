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
    }; core, keys, collections, destroy_collection, destroy, cull);
}

mod route_map {
    use super::*;
    kv_store_adapter::conformance_suite!(store = RouteMap::new(BoxStore::builder(memory()).all().build())
        .route("::", BoxStore::builder(memory()).all().build());
        core, keys, collections, destroy_collection, destroy, cull);
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
