//! Every wrapper: the conformance suite over real stores, then what each one adds.
//!
//! Rules a wrapper changes on purpose are not run for it; `changed_rules.rs` is the one
//! place that lists them, with the reason, and runs the rest.
#![cfg(feature = "full")]

use std::time::Duration;

use kv_store_adapter::stores::{DiskStore, MemoryStore, SimpleStore};

mod changed_rules;
mod clamp_ttl;
mod coalesce;
mod compress;
mod conditional;
mod encrypt;
mod fallback;
mod limit_size;
mod logged;
mod passthrough_cache;
mod prefix;
mod retry_timeout;
mod route;
mod single_collection;
mod stack;
mod stats;

fn memory() -> MemoryStore {
    MemoryStore::with_max_entries(200_000)
}

fn disk() -> (DiskStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (DiskStore::open(dir.path().join("kv.redb")).unwrap(), dir)
}

#[allow(dead_code)]
fn simple() -> SimpleStore {
    SimpleStore::new()
}

const DAY: Duration = Duration::from_secs(86_400);
