//! MultiDiskStore: the whole conformance suite, plus its file layout.
#![cfg(feature = "disk")]

use kv_store_adapter::KvStore;
use kv_store_adapter::stores::MultiDiskStore;
use kv_store_adapter::testkit::{b, hostile_names};

fn fixture() -> (MultiDiskStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = MultiDiskStore::open(dir.path()).unwrap();
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

#[tokio::test]
async fn files_stay_inside_the_base_directory() {
    let root = tempfile::tempdir().unwrap();
    let base = root.path().join("base");
    let store = MultiDiskStore::open(&base).unwrap();
    let names = hostile_names();
    for name in &names {
        store.put(name, "k", b("v"), None).await.unwrap();
    }
    // Exactly one file per collection, all directly in the base directory.
    let files: Vec<_> = std::fs::read_dir(&base)
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    assert_eq!(files.len(), names.len());
    assert!(files.iter().all(|f| f.file_type().unwrap().is_file()));
    let outside: Vec<_> = std::fs::read_dir(root.path()).unwrap().collect();
    assert_eq!(
        outside.len(),
        1,
        "nothing was created beside the base directory"
    );
}

#[tokio::test]
async fn collections_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let store = MultiDiskStore::open(dir.path()).unwrap();
    store.put("a/../b", "k", b("1"), None).await.unwrap();
    store.put("Ünïcode ✓", "k", b("2"), None).await.unwrap();
    drop(store);
    let reopened = MultiDiskStore::open(dir.path()).unwrap();
    let mut names = reopened.collections(10).await.unwrap();
    names.sort();
    assert_eq!(names, ["a/../b", "Ünïcode ✓"]);
    assert_eq!(reopened.get("Ünïcode ✓", "k").await.unwrap(), Some(b("2")));
}

#[test]
fn file_names_are_injective_for_case_and_punctuation() {
    let a = MultiDiskStore::file_name("Users");
    let b = MultiDiskStore::file_name("users");
    let c = MultiDiskStore::file_name("users!");
    assert!(a != b && b != c && a != c);
    assert!(MultiDiskStore::file_name(&"x".repeat(4096)).len() < 100);
}

#[tokio::test]
async fn foreign_bytes_are_corrupt_data() {
    let dir = tempfile::tempdir().unwrap();
    let store = MultiDiskStore::open(dir.path()).unwrap();
    store.put("c", "k", b("v"), None).await.unwrap();
    drop(store);
    {
        // The raw client writes garbage where the store keeps the entry.
        let path = dir.path().join(MultiDiskStore::file_name("c"));
        let db = redb::Database::open(path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let def = redb::TableDefinition::<&str, &[u8]>::new("kv:c");
            txn.open_table(def)
                .unwrap()
                .insert("k", &[9u8, 9, 9][..])
                .unwrap();
        }
        txn.commit().unwrap();
    }
    let store = MultiDiskStore::open(dir.path()).unwrap();
    kv_store_adapter::testkit::corrupt_entry_is_a_typed_error(&store, "c", "k").await;
}

/// Files the store did not write are never opened, changed or deleted: another
/// program's redb file, a text file, and a redb file named like the store's own whose
/// recorded collection does not map to its name.
#[tokio::test]
async fn foreign_files_in_the_base_directory_are_left_alone() {
    let (store, dir) = fixture();
    let base = dir.path();
    {
        let db = redb::Database::create(base.join("other-app.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(redb::TableDefinition::<&str, &str>::new("t"))
            .unwrap()
            .insert("x", "y")
            .unwrap();
        txn.commit().unwrap();
    }
    std::fs::write(base.join("notes.txt"), "hello").unwrap();
    std::fs::write(base.join("broken.redb"), "not a database").unwrap();
    // One of the store's files, copied under the name of another collection.
    store.put("real", "k", b("v"), None).await.unwrap();
    let impostor = MultiDiskStore::file_name("impostor");
    drop(store);
    let (store, _) = (MultiDiskStore::open(base).unwrap(), ());
    std::fs::copy(
        base.join(MultiDiskStore::file_name("real")),
        base.join(&impostor),
    )
    .unwrap();
    let snapshot = |name: &str| std::fs::read(base.join(name)).unwrap();
    let before: Vec<Vec<u8>> = [
        "other-app.redb",
        "notes.txt",
        "broken.redb",
        impostor.as_str(),
    ]
    .iter()
    .map(|n| snapshot(n))
    .collect();
    store.put("mine", "k", b("v"), None).await.unwrap();
    let mut listed = store.collections(100).await.unwrap();
    listed.sort();
    assert_eq!(listed, ["mine", "real"]);
    store.cull().await.unwrap();
    store.destroy().await.unwrap();
    assert!(store.collections(100).await.unwrap().is_empty());
    let after: Vec<Vec<u8>> = [
        "other-app.redb",
        "notes.txt",
        "broken.redb",
        impostor.as_str(),
    ]
    .iter()
    .map(|n| snapshot(n))
    .collect();
    assert!(before == after, "a foreign file was changed or removed");
    assert!(!base.join(MultiDiskStore::file_name("mine")).exists());
}

/// `collections(10)` opens about ten files, not every one: 50 files named like the
/// store's own, sorting after the first ten collections' files and held open by
/// another handle, are never opened — opening one fails the call, as the whole
/// listing shows.
#[tokio::test]
async fn a_few_collections_open_a_few_files() {
    let (store, dir) = fixture();
    for i in 0..20 {
        store
            .put(&format!("a{i:02}"), "k", b("v"), None)
            .await
            .unwrap();
    }
    // Databases held open here: the store cannot open them to read their names.
    let held: Vec<redb::Database> = (0..50)
        .map(|i| {
            redb::Database::create(dir.path().join(format!("z{i:02}_-{i:032x}.redb"))).unwrap()
        })
        .collect();
    let first = store.collections(10).await.unwrap();
    assert_eq!(
        first,
        (0..10).map(|i| format!("a{i:02}")).collect::<Vec<_>>()
    );
    assert!(
        store.collections(usize::MAX).await.is_err(),
        "a listing that reaches the held files fails"
    );
    drop(held);
}

/// A listing by prefix opens only the files whose readable part could hold one of the
/// prefix's names: 50 files held open by another handle, named like the store's own but
/// of other names (sorting before and after the prefix's), are never opened — before,
/// every page of files was opened and its names filtered afterwards.
#[tokio::test]
async fn a_prefix_listing_opens_only_its_files() {
    use kv_store_adapter::EnumerateCollections;
    let (store, dir) = fixture();
    for i in 0..20 {
        store
            .put(&format!("Tenant-M:c{i:02}"), "k", b("v"), None)
            .await
            .unwrap();
    }
    let held: Vec<redb::Database> = (0..50)
        .map(|i| {
            let stem = if i % 2 == 0 { "tenant-a" } else { "tenant-z" };
            redb::Database::create(dir.path().join(format!("{stem}{i:02}_-{i:032x}.redb"))).unwrap()
        })
        .collect();
    let mut listed = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .collections_page_with_prefix("Tenant-M:", cursor, 3)
            .await
            .unwrap();
        listed.extend(page.names);
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    listed.sort();
    assert_eq!(
        listed,
        (0..20)
            .map(|i| format!("Tenant-M:c{i:02}"))
            .collect::<Vec<_>>()
    );
    // A name of the prefix's readable part but not of the prefix: listed by neither.
    store.put("tenant-mc", "k", b("v"), None).await.unwrap();
    let page = store
        .collections_page_with_prefix("Tenant-M:c1", None, 100)
        .await
        .unwrap();
    assert_eq!(page.names.len(), 10, "{:?}", page.names);
    assert!(
        store.collections(usize::MAX).await.is_err(),
        "a listing that reaches the held files fails"
    );
    drop(held);
}

/// The whole suite again with the tightest caps: one writer thread for every file,
/// two files open, so files close and reopen while calls are in flight.
mod tight {
    use super::*;

    fn fixture() -> (MultiDiskStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = MultiDiskStore::with_options(dir.path(), true, 2)
            .unwrap()
            .with_writer_threads(1);
        (store, dir)
    }

    kv_store_adapter::conformance_suite!(fixture = fixture();
        basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, cull);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_writer_thread_serves_many_files_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = MultiDiskStore::with_options(dir.path(), true, 8)
        .unwrap()
        .with_writer_threads(1);
    let tasks: Vec<_> = (0..256)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let c = format!("c{}", i % 32);
                store.put(&c, &format!("k{i}"), b("v"), None).await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    for i in 0..256 {
        let c = format!("c{}", i % 32);
        assert_eq!(store.get(&c, &format!("k{i}")).await.unwrap(), Some(b("v")));
    }
    assert_eq!(store.collections(100).await.unwrap().len(), 32);
}

/// Each collection's file has `DiskStore`'s value limit, checked before the value is
/// copied and before the collection's file is made.
#[tokio::test]
async fn a_value_over_the_file_format_limit_is_too_large() {
    use kv_store_adapter::stores::DiskStore;
    use kv_store_adapter::testkit::basics::value_over_the_limit_is_too_large_and_writes_nothing;
    let (store, dir) = fixture();
    let files = || std::fs::read_dir(dir.path()).unwrap().count();
    let before = files();
    value_over_the_limit_is_too_large_and_writes_nothing(&store, DiskStore::value_limit()).await;
    assert_eq!(files(), before, "a file was made for a write that failed");
}
