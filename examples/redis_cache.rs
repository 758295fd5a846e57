//! A read-through cache: a bounded in-process MemoryStore in front of Redis, TTLs
//! clamped to a range the application chooses, and statistics on both layers.
//!
//! ```text
//! cargo run --example redis_cache --features redis            # Redis on 127.0.0.1:6379
//! KV_REDIS_URL=redis://:pw@host:6379/0 cargo run --example redis_cache --features redis
//! ```

use std::time::{Duration, Instant};

use bytes::Bytes;
use kv_store_adapter::stores::{MemoryStore, RedisStore};
use kv_store_adapter::wrappers::PassthroughCache;
use kv_store_adapter::{KvStore, KvStoreExt, Result};

#[tokio::main]
async fn main() -> Result<()> {
    let url = std::env::var("KV_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
    // Each run its own namespace, so the example never meets other data.
    let namespace = format!("example-{}", std::process::id());

    // Redis is the truth; every write goes there, with a TTL between 1 s and 1 h
    // (a put without one lives an hour).
    let hour = Duration::from_secs(3600);
    let redis = RedisStore::connect(&url)
        .await?
        .with_namespace(&namespace)?
        .clamp_ttl(Duration::from_secs(1), hour, Some(hour))?
        .with_stats();

    // A bounded local cache (10,000 entries) keeps what was read for up to 30 s, never
    // past the entry's own expiry; a write through the stack invalidates it at once.
    let local = MemoryStore::new().with_stats();
    let store = PassthroughCache::new(redis, local, Duration::from_secs(30), hour).with_stats();

    store
        .put(
            "profiles",
            "ada",
            Bytes::from_static(b"{\"name\":\"Ada\"}"),
            None,
        )
        .await?;
    let started = Instant::now();
    for _ in 0..1_000 {
        let profile = store.get("profiles", "ada").await?;
        assert!(profile.is_some());
    }
    println!("1,000 reads in {:?}", started.elapsed());

    // A write through the stack is visible to the next read at once.
    store
        .put(
            "profiles",
            "ada",
            Bytes::from_static(b"{\"name\":\"Ada L.\"}"),
            None,
        )
        .await?;
    assert_eq!(
        store.get("profiles", "ada").await?,
        Some(Bytes::from_static(b"{\"name\":\"Ada L.\"}"))
    );
    let ttl = store
        .ttl("profiles", "ada")
        .await?
        .expect("just written")
        .expires_in;
    println!("TTL given by the clamp: {ttl:?}");
    assert!(ttl.is_some_and(|ttl| ttl <= hour));

    let total = store.total();
    // The cache fills itself with `ttl` reads (value and expiry in one round trip).
    let redis = store.inner().primary().total();
    let redis_reads = redis.get_hits + redis.get_misses + redis.ttl_hits + redis.ttl_misses;
    println!(
        "calls: {} gets ({} hits); Redis saw {redis_reads} reads: the cache answered the rest",
        total.get_hits + total.get_misses,
        total.get_hits,
    );
    assert!((1..10).contains(&redis_reads));

    store.delete("profiles", "ada").await?;
    assert_eq!(store.get("profiles", "ada").await?, None);
    Ok(())
}
