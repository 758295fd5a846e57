//! NullStore: the rules that apply to a store that keeps nothing.

use kv_store_adapter::KvStore;
use kv_store_adapter::stores::NullStore;
use kv_store_adapter::testkit::{b, basics};

#[tokio::test]
async fn reads_miss_and_input_rules_hold() {
    let store = NullStore;
    basics::get_of_missing_key_is_none(&store).await;
    basics::empty_batches_are_no_ops(&store).await;
    basics::zero_ttl_is_rejected_and_writes_nothing(&store).await;
    basics::empty_and_over_long_names_are_rejected(&store).await;
}

#[tokio::test]
async fn writes_are_accepted_and_forgotten() {
    let store = NullStore;
    store.put("c", "k", b("v"), None).await.unwrap();
    assert_eq!(store.get("c", "k").await.unwrap(), None);
    assert_eq!(
        store.get_many("c", &["k", "k"]).await.unwrap(),
        vec![None, None]
    );
    assert_eq!(store.ttl_many("c", &["k"]).await.unwrap(), vec![None]);
    assert!(!store.delete("c", "k").await.unwrap());
    assert_eq!(store.delete_many("c", &["k"]).await.unwrap(), 0);
    assert!(store.keys("c", 10).await.unwrap().is_empty());
    assert!(store.collections(10).await.unwrap().is_empty());
}

#[tokio::test]
async fn conditional_writes_never_apply() {
    let store = NullStore;
    let created = store.create("c", "k", b("v"), None).await.unwrap();
    assert_eq!(created, kv_store_adapter::Written::Rejected(None));
    let version = kv_store_adapter::Version::unique();
    assert!(
        !store
            .put_if_version("c", "k", b("v"), version, None)
            .await
            .unwrap()
            .is_applied()
    );
    assert!(!store.delete_if_version("c", "k", version).await.unwrap());
    assert_eq!(store.get_entry("c", "k").await.unwrap(), None);
}
