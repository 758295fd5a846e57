//! Feature `metrics`: every checked call counts and times itself through the `metrics`
//! facade, with bounded labels. Recorded by metrics-util's debugging recorder, the
//! one recorder this test binary installs.
#![cfg(feature = "metrics")]

use std::collections::HashMap;

use kv_store_adapter::stores::SimpleStore;
use kv_store_adapter::testkit::b;
use kv_store_adapter::{KvStore, observe};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use metrics_util::{CompositeKey, MetricKind};

type Labels = Vec<(String, String)>;

fn labels(key: &CompositeKey) -> Labels {
    let mut labels: Labels = key
        .key()
        .labels()
        .map(|l| (l.key().to_owned(), l.value().to_owned()))
        .collect();
    labels.sort();
    labels
}

fn expect(pairs: &[(&str, &str)]) -> Labels {
    let mut labels: Labels = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    labels.sort();
    labels
}

#[tokio::test]
async fn calls_are_counted_and_timed_with_bounded_labels() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder
        .install()
        .expect("the only recorder of this test binary");

    let store = SimpleStore::new();
    for i in 0..5 {
        store
            .put("c", &format!("k{i}"), b("v"), None)
            .await
            .unwrap();
    }
    for i in 0..7 {
        store.get("c", &format!("k{i}")).await.unwrap(); // 5 hits, 2 misses
    }
    assert!(store.get("c", "").await.is_err());

    let snapshot = snapshotter.snapshot().into_hashmap();
    let mut counters: HashMap<Labels, u64> = HashMap::new();
    let mut timings: HashMap<Labels, usize> = HashMap::new();
    for (key, (_, _, value)) in &snapshot {
        match (key.kind(), key.key().name(), value) {
            (MetricKind::Counter, "kv_store_operations_total", DebugValue::Counter(n)) => {
                counters.insert(labels(key), *n);
            }
            (
                MetricKind::Histogram,
                "kv_store_operation_duration_seconds",
                DebugValue::Histogram(samples),
            ) => {
                assert!(samples.iter().all(|s| s.into_inner() >= 0.0));
                timings.insert(labels(key), samples.len());
            }
            _ => {}
        }
    }
    let get = |outcome| {
        expect(&[
            ("system", "simple"),
            ("operation", "get"),
            ("outcome", outcome),
        ])
    };
    let put = expect(&[
        ("system", "simple"),
        ("operation", "put"),
        ("outcome", "ok"),
    ]);
    assert_eq!(counters.get(&put), Some(&5), "{counters:?}");
    assert_eq!(counters.get(&get("hit")), Some(&5));
    assert_eq!(counters.get(&get("miss")), Some(&2));
    assert_eq!(counters.get(&get("error")), Some(&1));
    assert_eq!(timings.get(&get("hit")), Some(&5));
    assert_eq!(timings.get(&put), Some(&5));
    // No collection label unless asked for.
    assert!(counters.keys().flatten().all(|(k, _)| k != "collection"));

    // Asked for: at most two distinct collections, the rest labelled `other`.
    observe::label_collections(2);
    for c in ["a", "b", "c", "d", "a"] {
        store.get(c, "k").await.unwrap();
    }
    observe::label_collections(0);
    let snapshot = snapshotter.snapshot().into_hashmap();
    let mut by_collection: HashMap<String, u64> = HashMap::new();
    for (key, (_, _, value)) in &snapshot {
        if let (MetricKind::Counter, DebugValue::Counter(n)) = (key.kind(), value)
            && let Some((_, c)) = labels(key).into_iter().find(|(k, _)| k == "collection")
        {
            *by_collection.entry(c).or_default() += n;
        }
    }
    let expected: HashMap<String, u64> = [
        ("a".to_string(), 2),
        ("b".to_string(), 1),
        ("other".to_string(), 2),
    ]
    .into();
    assert_eq!(by_collection, expected);
}
