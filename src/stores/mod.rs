//! The stores: embedded ones here, server backends behind their Cargo features.

use std::time::{Duration, Instant};

use bytes::Bytes;

#[cfg(feature = "disk")]
pub(crate) mod disk;
#[cfg(feature = "elasticsearch")]
pub(crate) mod elasticsearch;
#[cfg(feature = "disk")]
mod group_commit;
#[cfg(feature = "memcached")]
pub(crate) mod memcached;
#[cfg(feature = "memory")]
pub(crate) mod memory;
#[cfg(feature = "mongodb")]
pub(crate) mod mongodb;
#[cfg(feature = "disk")]
mod multi_disk;
mod null;
#[cfg(feature = "redis")]
pub(crate) mod redis;
#[cfg(feature = "redis")]
mod redis_cluster;
mod simple;
#[cfg(feature = "valkey")]
mod valkey;

#[cfg(feature = "disk")]
pub use disk::{DiskStore, DiskStoreBuilder};
#[cfg(feature = "elasticsearch")]
pub use elasticsearch::{ElasticsearchOptions, ElasticsearchStore, Refresh};
#[cfg(feature = "memcached")]
pub use memcached::MemcachedStore;
#[cfg(feature = "memory")]
pub use memory::MemoryStore;
#[cfg(feature = "mongodb")]
pub use mongodb::MongoStore;
#[cfg(feature = "disk")]
pub use multi_disk::MultiDiskStore;
pub use null::NullStore;
#[cfg(feature = "redis")]
pub use redis::{RedisConnection, RedisOptions, RedisStore};
#[cfg(feature = "redis")]
pub use redis_cluster::RedisClusterStore;
pub use simple::{SimpleEntry, SimpleStore};
#[cfg(feature = "valkey")]
pub use valkey::ValkeyStore;

/// A value with its deadline on the monotonic clock, as the in-process stores keep it.
#[derive(Debug, Clone)]
struct Entry {
    value: Bytes,
    expires_at: Option<Instant>,
}

impl Entry {
    fn new(value: Bytes, ttl: Option<Duration>) -> Self {
        // `ttl` was checked against `MAX_TTL`, so the addition cannot overflow in
        // practice; should it, the entry simply never expires.
        let expires_at = ttl.and_then(|ttl| Instant::now().checked_add(ttl));
        Self { value, expires_at }
    }

    /// `None` once expired, else the remaining time (`Some(None)`: never expires).
    fn remaining(&self, now: Instant) -> Option<Option<Duration>> {
        match self.expires_at {
            None => Some(None),
            Some(at) if at > now => Some(Some(at - now)),
            Some(_) => None,
        }
    }

    fn is_live(&self, now: Instant) -> bool {
        self.remaining(now).is_some()
    }
}
