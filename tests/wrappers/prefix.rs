use kv_store_adapter::testkit::b;
use kv_store_adapter::{DestroyStore, EnumerateCollections, EnumerateKeys, KvStore, KvStoreExt};

use super::*;

mod keys_over_memory {
    use super::*;
    kv_store_adapter::conformance_suite!(store = memory().prefix_keys("p").unwrap();
        core, keys, collections, destroy_collection, destroy, cull);
}

mod keys_over_disk {
    use super::*;
    kv_store_adapter::conformance_suite!(fixture = {
        let (store, dir) = disk();
        (store.prefix_keys("p").unwrap(), dir)
    }; core, keys, collections, destroy_collection, destroy, cull);
}

mod collections_over_memory {
    use super::*;
    kv_store_adapter::conformance_suite!(store = memory().prefix_collections("p").unwrap();
        core, keys, collections, destroy_collection, destroy, cull);
}

mod collections_over_disk {
    use super::*;
    kv_store_adapter::conformance_suite!(fixture = {
        let (store, dir) = disk();
        (store.prefix_collections("p").unwrap(), dir)
    }; core, keys, collections, destroy_collection, destroy, cull);
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
