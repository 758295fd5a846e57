//! Listing 1,000,000 keys: `list_keys` (a stream holding one page) against `keys()`
//! (the whole listing in one `Vec`), the peak resident memory each adds to the process
//! (Linux's VmHWM, reset before each through `/proc/self/clear_refs`), and the time,
//! same run. DiskStore always; Redis, with and without the key index, on a private
//! redis-server when KV_REDIS_SERVER_BIN is set (scripts/servers.sh).

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use kv_store_adapter::stores::{DiskStore, RedisStore};
use kv_store_adapter::{EnumerateKeys, KvStore};

const KEYS: usize = 1_000_000;
const PAGE: usize = 1_000;
const GROUP: &str = "listing";

/// The process's peak resident memory since the last reset, in KiB.
fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Resets the peak to the current resident size.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Runs `list`, answering its time and the peak memory it added, in MiB.
fn measure<F: std::future::Future<Output = usize>>(
    rt: &tokio::runtime::Runtime,
    list: impl FnOnce() -> F,
) -> (Duration, f64, usize) {
    reset_peak();
    let base = resident_kib();
    let start = Instant::now();
    let count = rt.block_on(list());
    let took = start.elapsed();
    let added = peak_kib().saturating_sub(base) as f64 / 1024.0;
    (took, added, count)
}

async fn streamed<S: EnumerateKeys>(store: &S) -> usize {
    let mut keys = store.list_keys("big", PAGE);
    let mut count = 0;
    while let Some(key) = keys.next_key().await {
        key.unwrap();
        count += 1;
    }
    count
}

fn compare<S: EnumerateKeys>(rt: &tokio::runtime::Runtime, name: &str, store: &S) {
    let (t_stream, m_stream, n_stream) = measure(rt, || streamed(store));
    let (t_vec, m_vec, n_vec) = measure(rt, || async {
        store.keys("big", usize::MAX).await.unwrap().len()
    });
    assert!(
        n_stream >= KEYS && n_vec == KEYS,
        "{n_stream} streamed, {n_vec} listed"
    );
    println!(
        "{GROUP}: {name}: {KEYS} keys: list_keys (pages of {PAGE}) peak +{m_stream:.1} MiB in {:.2} s; keys() peak +{m_vec:.1} MiB in {:.2} s; memory ratio {:.3}",
        t_stream.as_secs_f64(),
        t_vec.as_secs_f64(),
        m_stream / m_vec.max(0.1)
    );
    common::record(&[
        GROUP.to_owned(),
        format!("{name}: peak MiB, list_keys vs keys()"),
        format!("{m_stream:.1}"),
        format!("{m_vec:.1}"),
        format!("{:.3}", m_stream / m_vec.max(0.1)),
        "-".into(),
        "-".into(),
    ]);
}

async fn fill<S: KvStore>(store: &S) {
    let value = Bytes::from_static(b"v");
    let names: Vec<String> = (0..KEYS).map(|i| format!("key-{i:08}")).collect();
    for chunk in names.chunks(10_000) {
        let entries: Vec<(&str, Bytes)> =
            chunk.iter().map(|k| (k.as_str(), value.clone())).collect();
        store.put_many("big", &entries, None).await.unwrap();
    }
}

fn main() {
    let rt = common::runtime();
    let dir = tempfile::tempdir().unwrap();
    let disk = DiskStore::builder(dir.path().join("list.redb"))
        .durable(false)
        .open()
        .unwrap();
    rt.block_on(fill(&disk));
    compare(&rt, "disk", &disk);
    drop(disk);

    if let Some(bin) = common::server_url(GROUP, "KV_REDIS_SERVER_BIN") {
        let server = common::server::Server::redis(bin, &[]);
        let url = server.redis_url();
        let plain = rt
            .block_on(RedisStore::connect(&url))
            .unwrap()
            .with_namespace("list")
            .unwrap();
        let indexed = plain.clone().with_index();
        rt.block_on(fill(&indexed));
        compare(&rt, "redis (SCAN)", &plain);
        compare(&rt, "redis (index)", &indexed);
    }
}
