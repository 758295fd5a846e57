//! MultiDiskStore with thousands of collections keeps its threads, open files and the
//! memory of a listing under its caps. Alone in its test binary, so no other test's
//! threads, files or allocations are counted.
#![cfg(feature = "disk")]

#[path = "support/counting.rs"]
mod counting;

use counting::peak_growth;

use kv_store_adapter::KvStore;
use kv_store_adapter::stores::MultiDiskStore;
use kv_store_adapter::testkit::b;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

fn count(dir: &str) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_collections_keep_threads_and_files_bounded() {
    const CAP: usize = 16;
    const WRITERS: usize = 2;
    let dir = tempfile::tempdir().unwrap();
    let store = MultiDiskStore::with_options(dir.path(), false, CAP)
        .unwrap()
        .with_writer_threads(WRITERS);
    store.put("warm", "k", b("v"), None).await.unwrap();
    let (threads0, fds0) = (count("/proc/self/task"), count("/proc/self/fd"));
    let (mut threads_max, mut fds_max) = (0, 0);
    for i in 0..5_000 {
        let c = format!("user-{i}");
        store.put(&c, "k", b("v"), None).await.unwrap();
        if i % 50 == 0 {
            threads_max = threads_max.max(count("/proc/self/task"));
            fds_max = fds_max.max(count("/proc/self/fd"));
        }
    }
    // Tokio's blocking pool grows with load too (up to its own cap of 512 threads,
    // idle ones leave after 10 s): count the store's writer threads by name.
    let writers = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim() == "kv-redb-writer")
        .count();
    // The files share one pool of writer threads, however many are open.
    assert!(
        (1..=WRITERS).contains(&writers),
        "{writers} writer threads for a pool of {WRITERS}"
    );
    assert!(
        fds_max <= fds0 + 2 * CAP + 8,
        "{fds_max} descriptors (from {fds0}) for a cap of {CAP}"
    );
    eprintln!(
        "threads {threads0} -> max {threads_max}; fds {fds0} -> max {fds_max}; writers {writers}"
    );
    // Every collection is still there, listed and readable.
    assert_eq!(store.collections(10_000).await.unwrap().len(), 5_001);
    assert_eq!(store.get("user-7", "k").await.unwrap(), Some(b("v")));
    assert!(count("/proc/self/fd") <= fds0 + 2 * CAP + 8);
    streaming_collections_holds_one_page().await;
}

/// Streaming the collections holds a page of names, where `collections()` holds every
/// name at once: 300 collections with 3,000-byte names are 900 KB of names, a page of
/// ten is 30 KB (plus, for either, one collection file open at a time to see whether
/// it holds a live entry).
/// Run by the test above when it is done with its counts: one test in this binary, so
/// that no other test's threads, files or allocations are counted.
async fn streaming_collections_holds_one_page() {
    const BOUND: usize = 600 << 10;
    let dir = tempfile::tempdir().unwrap();
    let store = MultiDiskStore::with_options(dir.path(), false, 4).unwrap();
    for i in 0..300 {
        let c = format!("{i:04}{}", "n".repeat(2_996));
        store.put(&c, "k", b("v"), None).await.unwrap();
    }
    let (all, whole) = peak_growth(store.collections(usize::MAX)).await;
    assert_eq!(all.unwrap().len(), 300);
    let (listed, paged) = peak_growth(async {
        let mut names = store.list_collections(10);
        let mut count = 0;
        while let Some(name) = names.next_key().await {
            assert_eq!(name.unwrap().len(), 3_000);
            count += 1;
        }
        count
    })
    .await;
    assert_eq!(listed, 300);
    eprintln!("collections() peak +{whole} bytes, list_collections(10) +{paged}");
    assert!(paged < BOUND, "list_collections held {paged} bytes at once");
    assert!(
        whole > BOUND,
        "collections() held only {whole} bytes: the bound does not tell"
    );
}
