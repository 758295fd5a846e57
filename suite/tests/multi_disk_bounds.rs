//! MultiDiskStore with thousands of collections keeps its threads and open files under
//! its caps. Alone in its test binary, so no other test's threads or files are counted.
#![cfg(feature = "disk")]

use kv_store_adapter::KvStore;
use kv_store_adapter::stores::MultiDiskStore;
use kv_store_adapter::testkit::b;

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
}
