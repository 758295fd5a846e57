//! DiskStore: the whole conformance suite, plus durability and foreign bytes.
#![cfg(feature = "disk")]

use kv_store_adapter::KvStore;
use kv_store_adapter::stores::DiskStore;
use kv_store_adapter::testkit::{b, corrupt_entry_is_a_typed_error};
use redb::{Database, TableDefinition};

#[path = "support/executor.rs"]
mod executor;

fn fixture() -> (DiskStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = DiskStore::open(dir.path().join("kv.redb")).unwrap();
    (store, dir)
}

kv_store_adapter::conformance_suite!(fixture = fixture();
    basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, cull,
    conditional_writes);

mod instances {
    use super::*;
    kv_store_adapter::instances_suite!(fixture = {
            let (store, dir) = fixture();
            (kv_store_adapter::testkit::instances::Instances::clones(store), dir)
        };
        basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, destroy_enumerated,
        conditional_writes);
}

/// Reads fixed on the calling thread, and fixed on the blocking threads (the default
/// is adaptive, mostly in place), honour the same contract.
mod inline_reads {
    use super::*;
    fn fixture() -> (DiskStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = DiskStore::builder(dir.path().join("kv.redb"))
            .inline_reads(true)
            .open()
            .unwrap();
        (store, dir)
    }
    kv_store_adapter::conformance_suite!(fixture = fixture(); basics, enumerate_keys);
}

mod blocking_reads {
    use super::*;
    fn fixture() -> (DiskStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = DiskStore::builder(dir.path().join("kv.redb"))
            .inline_reads(false)
            .open()
            .unwrap();
        (store, dir)
    }
    kv_store_adapter::conformance_suite!(fixture = fixture(); basics, enumerate_keys);
}

#[tokio::test]
async fn reopening_gives_back_every_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kv.redb");
    let store = DiskStore::open(&path).unwrap();
    let entries: Vec<(String, bytes::Bytes)> = (0..100)
        .map(|i| (format!("k{i}"), b(&format!("v{i}"))))
        .collect();
    for (k, v) in &entries {
        store.put("c", k, v.clone(), None).await.unwrap();
    }
    drop(store);
    let reopened = DiskStore::open(&path).unwrap();
    for (k, v) in &entries {
        assert_eq!(reopened.get("c", k).await.unwrap().as_ref(), Some(v));
    }
}

#[tokio::test]
async fn foreign_bytes_are_corrupt_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kv.redb");
    {
        // The raw client writes garbage where the store keeps its entries.
        let db = Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut table = txn
                .open_table(TableDefinition::<&str, &[u8]>::new("kv:c"))
                .unwrap();
            table.insert("short", &[0xD1, 1, 2][..]).unwrap();
            table.insert("wrong-format", &[7u8; 20][..]).unwrap();
            table.insert("empty", &[][..]).unwrap();
        }
        txn.commit().unwrap();
    }
    let store = DiskStore::open(&path).unwrap();
    for key in ["short", "wrong-format", "empty"] {
        corrupt_entry_is_a_typed_error(&store, "c", key).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_durable_puts_share_commits_and_all_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kv.redb");
    let store = DiskStore::open(&path).unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..64 {
        let store = store.clone();
        tasks.spawn(async move {
            for i in 0..20 {
                let key = format!("t{task}-k{i}");
                store.put("c", &key, b(&key), None).await.unwrap();
            }
            assert!(store.delete("c", &format!("t{task}-k0")).await.unwrap());
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    drop(store);
    let reopened = DiskStore::open(&path).unwrap();
    for task in 0..64 {
        assert_eq!(
            reopened.get("c", &format!("t{task}-k0")).await.unwrap(),
            None
        );
        for i in 1..20 {
            let key = format!("t{task}-k{i}");
            assert_eq!(
                reopened.get("c", &key).await.unwrap(),
                Some(b(&key)),
                "{key}"
            );
        }
    }
}

/// Run by `a_second_open_is_a_typed_locked_error` in a child process: opens the file
/// named by `KV_HOLD_PATH`, says so, and keeps it open until its stdin closes.
#[test]
#[ignore = "a helper, run in a child process"]
fn hold_the_file_open() {
    let Ok(path) = std::env::var("KV_HOLD_PATH") else {
        return;
    };
    let _store = DiskStore::open(&path).unwrap();
    println!("open");
    let _ = std::io::Read::read(&mut std::io::stdin(), &mut [0u8; 1]);
}

/// A file another process has open is a typed `Locked` error naming the file; so is a
/// second open in this process; once the other closes it, it opens.
#[test]
fn a_second_open_is_a_typed_locked_error() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kv.redb");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "hold_the_file_open", "--ignored", "--nocapture"])
        .env("KV_HOLD_PATH", &path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(
        lines.any(|line| line.is_ok_and(|l| l.trim() == "open")),
        "the child did not open the file"
    );
    let err = DiskStore::open(&path).unwrap_err();
    assert_eq!(err.kind(), kv_store_adapter::ErrorKind::Locked, "{err:?}");
    assert!(err.to_string().contains("kv.redb"), "{err}");
    drop(child.stdin.take()); // the child closes the file and exits
    assert!(child.wait().unwrap().success());
    let store = DiskStore::open(&path).unwrap();
    let again = DiskStore::open(&path).unwrap_err();
    assert_eq!(
        again.kind(),
        kv_store_adapter::ErrorKind::Locked,
        "{again:?}"
    );
    drop(store);
    DiskStore::open(&path).unwrap();
}

/// Pages of one key over a table where expired rows outnumber live ones: each page
/// reads at most four rows, so many pages end on an expired row, and the cursor of
/// such a page must still move past it. Every live key comes once, nothing expired.
#[tokio::test]
async fn pages_ending_on_expired_rows_go_on_past_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = DiskStore::open(dir.path().join("kv.redb")).unwrap();
    let brief = Some(std::time::Duration::from_millis(50));
    let mut live = Vec::new();
    for i in 0..40 {
        let key = format!("k{i:02}");
        if i % 5 == 0 {
            store.put("c", &key, b("v"), None).await.unwrap();
            live.push(key);
        } else {
            store.put("c", &key, b("v"), brief).await.unwrap();
        }
    }
    tokio::time::sleep(std::time::Duration::from_millis(120)).await;
    let mut keys = store.list_keys("c", 1);
    let mut listed = Vec::new();
    while let Some(key) = keys.next_key().await {
        listed.push(key.unwrap());
    }
    assert_eq!(listed, live);
}

/// A value over redb's 3 GiB limit on a value, with the store's header, is `TooLarge`
/// before it is copied to the writer thread, and a batch holding one writes none of
/// its entries (the writer would have failed it as an untyped backend error, after
/// copying it twice).
#[tokio::test]
async fn a_value_over_the_file_format_limit_is_too_large_and_writes_nothing() {
    use kv_store_adapter::testkit::basics::value_over_the_limit_is_too_large_and_writes_nothing;
    let (store, _dir) = fixture();
    let limit = DiskStore::value_limit();
    assert_eq!(limit, (3 << 30) - 25);
    value_over_the_limit_is_too_large_and_writes_nothing(&store, limit).await;
}

/// Whether `store.get_many` of `n` keys of `len` bytes (`n` = 1: `get`) lets another
/// task of a one-thread runtime run before it answers: a read in place never yields,
/// one on the blocking threads does.
fn read_yields(store: &DiskStore, n: usize, len: usize) -> bool {
    let names: Vec<String> = (0..n).map(|i| format!("k{i:06}")).collect();
    let value = bytes::Bytes::from(vec![7u8; len]);
    let entries: Vec<(&str, bytes::Bytes)> =
        names.iter().map(|k| (k.as_str(), value.clone())).collect();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(store.put_many("batch", &entries, None))
        .unwrap();
    executor::yields(|| async {
        let found = if n == 1 {
            vec![store.get("batch", &names[0]).await.unwrap()]
        } else {
            store.get_many("batch", &names).await.unwrap()
        };
        assert_eq!(found, vec![Some(value); n], "every value read back whole");
    })
}

fn batch_yields(store: &DiskStore, n: usize) -> bool {
    read_yields(store, n, 1)
}

/// Copying out a large value holds the executor as long as a large batch does (a
/// 4 MiB value: ~1 ms here): such reads go to the blocking threads, small ones stay in
/// place. The size is known before the copy, from redb's guard.
#[test]
fn a_large_value_is_read_off_the_executor() {
    let (store, _dir) = fixture();
    assert!(
        !read_yields(&store, 1, 1_000),
        "a small value reads in place"
    );
    assert!(read_yields(&store, 1, 4 << 20), "a 4 MiB value does not");
    assert!(!read_yields(&store, 16, 1_000), "nor a small batch");
    assert!(
        read_yields(&store, 16, 256 << 10),
        "16 values of 256 KiB together do not"
    );
}

/// A large batch holds the executor thread for as long as it reads (10,000 cached keys
/// of 1 KiB: 8.4 ms in place, measured by `--bench disk`): with default reads it goes
/// to the blocking threads, while a small one still reads in place at raw redb's speed.
#[test]
fn a_large_batch_reads_off_the_executor_a_small_one_in_place() {
    let (store, _dir) = fixture();
    assert!(
        !batch_yields(&store, 100),
        "a batch of 100 reads in place, without a thread hop"
    );
    assert!(
        batch_yields(&store, 10_000),
        "a batch of 10,000 leaves the executor thread free while it reads"
    );
    // Fixed in place, it stays in place whatever its size: the caller chose.
    let dir = tempfile::tempdir().unwrap();
    let inline = DiskStore::builder(dir.path().join("inline.redb"))
        .inline_reads(true)
        .open()
        .unwrap();
    assert!(!batch_yields(&inline, 10_000));
}
