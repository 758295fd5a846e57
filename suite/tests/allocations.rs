//! Renaming wrappers add no allocation per call beyond the new name itself: counted
//! with a counting global allocator, on this thread only.
#![cfg(feature = "memory")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use kv_store_adapter::stores::MemoryStore;
use kv_store_adapter::testkit::b;
use kv_store_adapter::{KvStore, KvStoreExt};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations per `get`, averaged over many calls on a current-thread runtime.
fn allocations_per_get<S: KvStore>(store: &S) -> f64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        for i in 0..100 {
            store
                .put("users", &format!("user:{i:04}"), b("v"), None)
                .await
                .unwrap();
        }
        let keys: Vec<String> = (0..100).map(|i| format!("user:{i:04}")).collect();
        for k in &keys {
            store.get("users", k).await.unwrap(); // warm up
        }
        let before = ALLOCATIONS.with(Cell::get);
        for _ in 0..10 {
            for k in &keys {
                std::hint::black_box(store.get("users", k).await.unwrap());
            }
        }
        (ALLOCATIONS.with(Cell::get) - before) as f64 / 1000.0
    })
}

#[test]
fn renaming_and_counting_wrappers_allocate_nothing_per_get() {
    // Short names: the renamed ones fit the wrappers' stack buffers.
    let bare = allocations_per_get(&MemoryStore::new());
    let stack = MemoryStore::new()
        .clamp_ttl(Duration::from_millis(1), Duration::from_secs(60), None)
        .unwrap()
        .prefix_keys("tenant")
        .unwrap()
        .prefix_collections("app")
        .unwrap()
        .with_stats();
    let stacked = allocations_per_get(&stack);
    assert!(
        stacked - bare < 0.01,
        "bare {bare} allocations per get, stacked {stacked}"
    );
    // SingleCollection builds its (collection, key) encoding on the stack too.
    let single = allocations_per_get(&MemoryStore::new().single_collection("kv").unwrap());
    assert!(
        single - bare < 0.01,
        "bare {bare}, single collection {single}"
    );
}

/// Allocations per read of 64 concurrent gets, each in its own task (the tasks'
/// allocations included), on a current-thread runtime.
fn allocations_per_concurrent_get<S: KvStore + Send + Sync + 'static>(store: S) -> f64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let store = std::sync::Arc::new(store);
    let keys: std::sync::Arc<[String]> = (0..64).map(|i| format!("user:{i:04}")).collect();
    rt.block_on(async {
        for k in keys.iter() {
            store.put("users", k, b("v"), None).await.unwrap();
        }
        let round = || {
            let tasks: Vec<_> = (0..keys.len())
                .map(|i| {
                    let (store, keys) = (store.clone(), keys.clone());
                    tokio::spawn(async move { store.get("users", &keys[i]).await.unwrap() })
                })
                .collect();
            async move {
                for task in tasks {
                    assert!(task.await.unwrap().is_some());
                }
            }
        };
        round().await; // warm up
        let before = ALLOCATIONS.with(Cell::get);
        for _ in 0..10 {
            round().await;
        }
        (ALLOCATIONS.with(Cell::get) - before) as f64 / (10 * keys.len()) as f64
    })
}

#[test]
fn a_coalesced_read_allocates_little_beyond_its_reply_channel() {
    let bare = allocations_per_concurrent_get(MemoryStore::new());
    let coalesced = allocations_per_concurrent_get(MemoryStore::new().coalesce());
    // Per joined reader: its reply channel; the batch's buffers grow by doubling, and
    // the batch read itself is one call for all (its few allocations shared by 64).
    assert!(
        coalesced - bare < 1.5,
        "bare {bare} allocations per read, coalesced {coalesced}"
    );
}
