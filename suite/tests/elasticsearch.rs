//! ElasticsearchStore against an OpenSearch-API server (osmem-server, started by
//! scripts/servers.sh).
#![cfg(feature = "elasticsearch")]

use std::time::Duration;

use elasticsearch::Elasticsearch;
use elasticsearch::http::Method;
use elasticsearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use kv_store_adapter::KvStore;
use kv_store_adapter::stores::{ElasticsearchOptions, ElasticsearchStore, Timeouts};
use kv_store_adapter::testkit::basics::value_over_the_limit_is_too_large_and_writes_nothing;
use kv_store_adapter::testkit::{b, corrupt_entry_is_a_typed_error, server_url, unique_namespace};
use serde_json::json;

/// A store on `namespace` (as an index prefix); two calls are two instances, as two
/// processes would open.
///
/// Round trips may take up to two minutes here, not the default 30 s: the test server
/// is one Python process shared by every test thread and slows down many times on a
/// loaded machine. These tests check results, not latency; timeouts are tested on
/// stalled private servers.
async fn open(namespace: String) -> Option<ElasticsearchStore> {
    let url = server_url("KV_ELASTICSEARCH_URL")?;
    let options = ElasticsearchOptions::new(url)
        .with_timeouts(Timeouts::documents().operation(Duration::from_secs(120)));
    let store = ElasticsearchStore::connect_with(&options)
        .await
        .expect("the server answers");
    let prefix = namespace.to_lowercase().replace('-', "_");
    Some(store.with_namespace(&prefix).unwrap())
}

async fn connect() -> Option<ElasticsearchStore> {
    open(unique_namespace()).await
}

kv_store_adapter::conformance_suite!(
    store = match connect().await { Some(store) => store, None => return };
    basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, cull, conditional_writes);

mod instances {
    use super::*;
    kv_store_adapter::instances_suite!(
        pair = match kv_store_adapter::testkit::instances::Instances::on_one_namespace(open).await { Some(pair) => pair, None => return };
        basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, destroy_enumerated,
        conditional_writes);
}

/// The raw official client, for reading what the store wrote and writing foreign data.
async fn raw(method: Method, path: &str, body: serde_json::Value) -> serde_json::Value {
    let url = server_url("KV_ELASTICSEARCH_URL").unwrap();
    let pool = SingleNodeConnectionPool::new(url.parse().unwrap());
    let client = Elasticsearch::new(TransportBuilder::new(pool).build().unwrap());
    // Document writes wait for a refresh; index and settings requests take no such
    // parameter.
    let writes = matches!(method, Method::Put | Method::Delete) && path.contains("/_doc/");
    let query: Option<&[(&str, &str)]> = writes.then_some(&[("refresh", "true")]);
    let body = (!body.is_null()).then(|| serde_json::to_vec(&body).unwrap());
    let response = client
        .send(method, path, Default::default(), query, body, None)
        .await
        .unwrap();
    response.json().await.unwrap_or_default()
}

/// The indices whose names start with the store's prefix.
async fn indices_of(store: &ElasticsearchStore) -> Vec<String> {
    let prefix = store.index_name().trim_end_matches("-entries").to_owned();
    let listed = raw(
        Method::Get,
        &format!("/_cat/indices/{prefix}-*?format=json"),
        json!(null),
    )
    .await;
    let mut names: Vec<String> = listed
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["index"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// However many collections are written, the cluster holds one index of the store's
/// (an index each would meet the cluster's shard limit at a few hundred), under the
/// strict mapping; `collections()` pages through them all.
#[tokio::test]
async fn every_collection_shares_one_strictly_mapped_index() {
    use kv_store_adapter::stores::Refresh;
    let Some(store) = connect().await else { return };
    let store = store.with_refresh(Refresh::None);
    // More than one page of collections() (1,000 names), hostile names among them.
    let mut names: Vec<String> = (0..1_040).map(|i| format!("c{i:04}")).collect();
    names.extend(["Users", "a-b", "a b", "ü", "a=b", "1.a", "#x"].map(String::from));
    names.push("x".repeat(4096));
    // Sixteen writers at once.
    let mut writers = tokio::task::JoinSet::new();
    for share in names.chunks(names.len() / 16 + 1) {
        let (store, share) = (store.clone(), share.to_vec());
        writers.spawn(async move {
            for name in share {
                store.put(&name, "k", b("v"), None).await.unwrap();
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done.unwrap();
    }
    raw(
        Method::Post,
        &format!("/{}/_refresh", store.index_name()),
        json!(null),
    )
    .await;
    assert_eq!(indices_of(&store).await, [store.index_name()]);
    let index = store.index_name();
    let mapping = raw(Method::Get, &format!("/{index}/_mapping"), json!(null)).await;
    let mappings = &mapping[&index]["mappings"];
    assert_eq!(mappings["dynamic"], "strict", "{mapping}");
    let props = &mappings["properties"];
    assert_eq!(props["c"]["type"], "keyword", "{mapping}");
    assert_eq!(props["k"]["type"], "keyword");
    assert_eq!(props["v"]["type"], "binary");
    assert_eq!(props["x"]["type"], "date");
    names.sort();
    assert_eq!(store.collections(usize::MAX).await.unwrap(), names);
    assert_eq!(store.collections(1_001).await.unwrap(), names[..1_001]);
    store.destroy_collection("c0001").await.unwrap();
    let left = store.collections(usize::MAX).await.unwrap();
    assert_eq!(left.len(), names.len() - 1);
    assert!(!left.contains(&"c0001".to_owned()));
    store.destroy().await.unwrap();
    assert!(store.collections(10).await.unwrap().is_empty());
    assert_eq!(indices_of(&store).await, [store.index_name()]);
}

#[tokio::test]
async fn an_index_deleted_from_outside_comes_back_with_its_mapping() {
    let Some(store) = connect().await else { return };
    store.put("users", "ada", b("v"), None).await.unwrap();
    let index = store.index_name();
    let deleted = raw(Method::Delete, &format!("/{index}"), json!(null)).await;
    assert_eq!(deleted["acknowledged"], true, "{deleted}");
    let ttl = Some(Duration::from_secs(60));
    store.put("users", "grace", b("w"), ttl).await.unwrap();
    let mapping = raw(Method::Get, &format!("/{index}/_mapping"), json!(null)).await;
    let mappings = &mapping[&index]["mappings"];
    assert_eq!(mappings["dynamic"], "strict", "{mapping}");
    assert_eq!(mappings["properties"]["c"]["type"], "keyword", "{mapping}");
    assert_eq!(mappings["properties"]["k"]["type"], "keyword", "{mapping}");
    assert_eq!(mappings["properties"]["x"]["type"], "date", "{mapping}");
    assert_eq!(store.keys("users", 10).await.unwrap(), ["grace"]);
    assert_eq!(store.collections(10).await.unwrap(), ["users"]);
    let entry = store.ttl("users", "grace").await.unwrap().unwrap();
    let (value, left) = (entry.value, entry.expires_in);
    assert_eq!(value, b("w"));
    assert!(left.is_some_and(|left| left <= Duration::from_secs(60)));
    store.destroy().await.unwrap();
    assert!(store.collections(10).await.unwrap().is_empty());
}

#[tokio::test]
async fn destroy_deletes_only_this_stores_indices() {
    let Some(store) = connect().await else { return };
    let foreign = format!(
        "foreign_{}",
        unique_namespace().to_lowercase().replace('-', "_")
    );
    raw(
        Method::Put,
        &format!("/{foreign}/_doc/1"),
        json!({ "keep": true }),
    )
    .await;
    store.put("c", "k", b("v"), None).await.unwrap();
    store.destroy().await.unwrap();
    assert!(store.collections(10).await.unwrap().is_empty());
    let kept = raw(Method::Get, &format!("/{foreign}/_doc/1"), json!(null)).await;
    assert_eq!(kept["found"], true, "{kept}");
    raw(Method::Delete, &format!("/{foreign}"), json!(null)).await;
}

#[tokio::test]
async fn cull_removes_expired_documents_from_the_index() {
    let Some(store) = connect().await else { return };
    store
        .put("c", "short", b("v"), Some(Duration::from_millis(100)))
        .await
        .unwrap();
    store.put("c", "long", b("v"), None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    store.cull().await.unwrap();
    let index = store.index_name();
    let count = raw(
        Method::Post,
        &format!("/{index}/_count"),
        json!({ "query": { "match_all": {} } }),
    )
    .await;
    assert_eq!(count["count"], 1, "{count}");
}

#[tokio::test]
async fn foreign_documents_are_corrupt_data() {
    let Some(store) = connect().await else { return };
    store.put("c", "seed", b("v"), None).await.unwrap();
    let index = store.index_name();
    let id = ElasticsearchStore::document_id("c", "bad").replace('=', "%3D");
    raw(
        Method::Put,
        &format!("/{index}/_doc/{id}"),
        json!({ "c": "c", "k": "bad", "v": "!!not base64!!" }),
    )
    .await;
    corrupt_entry_is_a_typed_error(&store, "c", "bad").await;
}

#[tokio::test]
async fn credentials_never_show() {
    let options = ElasticsearchOptions::new("http://127.0.0.1:1").with_api_key("id", "hunter2");
    assert!(!format!("{options:?}").contains("hunter2"));
    let err = ElasticsearchStore::connect_with(&options)
        .await
        .unwrap_err();
    assert!(!format!("{err} {err:?}").contains("hunter2"), "{err:?}");
}

/// An index with a read block answers `_mget` with an error per document: a batch read
/// is then an error, as the single read already is, never a miss for every key.
#[tokio::test]
async fn a_per_document_error_in_a_batch_read_is_an_error_not_a_miss() {
    let Some(store) = connect().await else { return };
    store.put("c", "a", b("v"), None).await.unwrap();
    let index = store.index_name();
    let settings = format!("/{index}/_settings");
    let block = |on: bool| raw(Method::Put, &settings, json!({ "index.blocks.read": on }));
    assert_eq!(block(true).await["acknowledged"], true);
    let many = store.get_many("c", &["a", "b"]).await;
    let one = store.get("c", "a").await;
    let deleted = store.delete_many("c", &["a"]).await;
    block(false).await;
    let err = many.expect_err("a batch read of a read-blocked index");
    assert_eq!(err.kind(), kv_store_adapter::ErrorKind::Backend, "{err}");
    assert!(err.to_string().contains("cluster_block_exception"), "{err}");
    assert!(one.is_err(), "{one:?}");
    assert!(
        deleted.is_err(),
        "a delete that cannot read what it removes: {deleted:?}"
    );
    assert_eq!(store.get("c", "a").await.unwrap(), Some(b("v")));
    store.destroy().await.unwrap();
}

/// What Elasticsearch says about a failed write names the document and previews its
/// value (`failed to parse field [v] … in document with id '=key'. Preview of field's
/// value: '…'`); the store's error says which write failed and why without either, so
/// logging it shows neither (see `Error::key`).
#[tokio::test]
async fn write_errors_show_no_key_and_no_value() {
    let Some(store) = connect().await else { return };
    const KEY: &str = "ada-private-key";
    let value = b("private value");
    let preview = "cHJpdmF0ZSB2YWx1ZQ"; // the start of the value in base64
    let clean = |what: &str, err: &kv_store_adapter::Error| {
        let shown = format!("{err} / {err:?}");
        for secret in [KEY, "private", preview] {
            assert!(!shown.contains(secret), "{what} shows {secret:?}: {shown}");
        }
    };
    // Another application's index under the store's index name, made before the
    // store's first write, where `v` is a number.
    let index = store.index_name();
    let made = raw(
        Method::Put,
        &format!("/{index}"),
        json!({ "mappings": { "properties": { "v": { "type": "long" } } } }),
    )
    .await;
    assert_eq!(made["acknowledged"], true, "{made}");
    let err = store
        .put_many("c", &[(KEY, value.clone())], None)
        .await
        .expect_err("a value the index cannot parse");
    assert!(
        err.to_string().contains("mapper_parsing_exception"),
        "{err}"
    );
    clean("a batch write's error", &err);
    let err = store
        .put("c", KEY, value.clone(), None)
        .await
        .expect_err("a value the index cannot parse");
    clean("a write's error", &err);
    // A write block: every item of a batch fails.
    let blocked = raw(
        Method::Put,
        &format!("/{index}/_settings"),
        json!({ "index.blocks.write": true }),
    )
    .await;
    assert_eq!(blocked["acknowledged"], true, "{blocked}");
    let err = store
        .put_many("c", &[(KEY, value.clone()), ("other", value.clone())], None)
        .await
        .expect_err("a write-blocked index");
    assert!(err.to_string().contains("cluster_block_exception"), "{err}");
    assert!(err.to_string().contains("2 of 2"), "{err}");
    clean("a blocked batch write's error", &err);
    raw(
        Method::Put,
        &format!("/{index}/_settings"),
        json!({ "index.blocks.write": false }),
    )
    .await;
    store.destroy().await.unwrap();
}

/// A value whose request would pass Elasticsearch's default 100 MiB request limit
/// (`http.max_content_length`) is `TooLarge` before anything is sent, and a batch
/// holding one writes none of its entries; the limit itself is stored, under the
/// longest key a caller can pass, and a prefix counts.
#[tokio::test]
async fn a_value_over_the_request_limit_is_too_large_and_writes_nothing() {
    use kv_store_adapter::KvStoreExt;
    let Some(store) = connect().await else { return };
    let limit = ElasticsearchStore::value_limit("k");
    assert!(limit > 74 << 20 && limit < 75 << 20, "{limit}");
    value_over_the_limit_is_too_large_and_writes_nothing(&store, limit).await;
    // Under the longest key, every byte of which JSON escapes, with a TTL: the
    // request's every part at its largest.
    let long = "\u{1}".repeat(kv_store_adapter::names::MAX_NAME_LEN);
    let largest = bytes::Bytes::from(vec![b'y'; ElasticsearchStore::value_limit(&long)]);
    let ttl = Some(Duration::from_secs(600));
    store.put("c", &long, largest.clone(), ttl).await.unwrap();
    assert_eq!(store.get("c", &long).await.unwrap(), Some(largest.clone()));
    // The same value under the longest collection name of the same bytes: the limit
    // leaves room for any collection.
    store.put(&long, &long, largest.clone(), ttl).await.unwrap();
    assert_eq!(store.get(&long, &long).await.unwrap(), Some(largest));
    // A prefix is part of the key the store receives.
    let prefix = "p".repeat(20 << 10);
    let tenant = (&store).prefix_keys(&prefix).unwrap();
    let limit = ElasticsearchStore::value_limit(&format!("{prefix}\u{1f}k"));
    value_over_the_limit_is_too_large_and_writes_nothing(&tenant, limit).await;
    store.destroy().await.unwrap();
}
