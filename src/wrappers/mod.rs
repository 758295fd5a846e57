//! Wrappers: stores around a store, each doing one job and forwarding the rest.
//!
//! Every wrapper implements [`KvStore`](crate::KvStore) and each capability trait
//! exactly when its inner store does (translating names where it changes them).
//! Compose them like iterator adapters through [`KvStoreExt`](crate::KvStoreExt):
//!
//! ```
//! use std::time::Duration;
//! use kv_store_adapter::{KvStoreExt, stores::MemoryStore};
//!
//! # fn main() -> kv_store_adapter::Result<()> {
//! let store = MemoryStore::new()
//!     .clamp_ttl(Duration::from_secs(1), Duration::from_secs(3600), None)?
//!     .prefix_keys("tenant-a")?
//!     .with_stats();
//! # Ok(()) }
//! ```

mod clamp_ttl;
mod coalesce;
#[cfg(feature = "compress")]
pub(crate) mod compress;
mod default_value;
#[cfg(feature = "encrypt")]
pub(crate) mod encrypt;
mod fallback;
mod limit_size;
mod logged;
mod passthrough_cache;
pub(crate) mod prefix;
mod read_only;
mod retry;
mod route;
pub(crate) mod single_collection;
mod stats;
mod strict;
mod timeout;

pub use clamp_ttl::ClampTtl;
pub use coalesce::{Coalesce, DEFAULT_GATHER_TICKS, DEFAULT_MAX_BATCH, DEFAULT_MAX_IN_FLIGHT};
#[cfg(feature = "compress")]
#[cfg_attr(docsrs, doc(cfg(feature = "compress")))]
pub use compress::Compress;
pub use default_value::DefaultValue;
#[cfg(feature = "encrypt")]
#[cfg_attr(docsrs, doc(cfg(feature = "encrypt")))]
pub use encrypt::{Encrypt, EncryptionKey};
pub use fallback::Fallback;
pub use limit_size::LimitSize;
pub use logged::Logged;
pub use passthrough_cache::PassthroughCache;
pub use prefix::{PrefixCollections, PrefixKeys};
pub use read_only::ReadOnly;
pub use retry::{Retry, RetryPolicy};
pub use route::{Route, RouteMap};
pub use single_collection::SingleCollection;
pub use stats::{CollectionStats, DEFAULT_MAX_COLLECTIONS, Latency, Operation, Stats};
pub use strict::Strict;
pub use timeout::Timeout;
