//! One async key-value interface over many stores, and composable wrappers around any
//! of them.
//!
//! A store keeps opaque byte values ([`Bytes`]) under
//! `(collection, key)`, with an optional TTL. Stores and wrappers implement [`Store`]
//! (three required methods taking a checked [`Key`] and options); callers use
//! [`KvStore`], which every store has and which checks names and TTLs first. What only
//! some stores can do (list keys, destroy a collection, …) is a separate capability
//! trait. Stores and wrappers are concrete generic types with native
//! `async fn` methods whose futures are `Send`: no boxing on the normal path, and
//! [`BoxStore`] as the one escape hatch for stacks chosen at run time.
//!
//! ```
//! use std::time::Duration;
//! use bytes::Bytes;
//! use kv_store_adapter::{KvStore, stores::MemoryStore};
//!
//! # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
//! let store = MemoryStore::new();
//! store.put("users", "ada", Bytes::from_static(b"{}"), Some(Duration::from_secs(60))).await?;
//! assert!(store.get("users", "ada").await?.is_some());
//! # Ok(()) }
//! ```
//!
//! The behaviour every store honours is checked by the conformance suite in
//! [`testkit`] (feature `testkit`), which third-party stores can run too.
#![warn(missing_docs, missing_debug_implementations)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod boxed;
pub mod codec;
mod collection;
mod duration;
mod error;
mod ext;
mod forward;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod layer;
mod listing;
pub mod names;
pub mod observe;
#[cfg(any(
    feature = "compress",
    feature = "encrypt",
    feature = "disk",
    feature = "memory"
))]
mod offload;
mod open;
mod redact;
mod store;
pub mod stores;
#[cfg(feature = "testkit")]
#[cfg_attr(docsrs, doc(cfg(feature = "testkit")))]
pub mod testkit;
mod typed;
mod version;
pub mod wrappers;

pub use boxed::{BoxFuture, BoxStore, BoxStoreBuilder, DynStore};
/// The byte buffer every value is: re-exported, so a store or wrapper needs no
/// `bytes` dependency of its own.
pub use bytes::Bytes;
pub use collection::Collection;
pub use error::{BoxError, Error, ErrorDetail, ErrorKind, Result};
pub use ext::KvStoreExt;
pub use layer::{Layer, LayerFn, Stack, layer_fn};
pub use listing::{Cursor, KeyStream, Page};
pub use open::open;
pub use redact::redact;
pub use store::{
    BatchEntry, ConditionalWrites, Cull, DeleteOptions, DestroyCollection, DestroyStore, Entry,
    EnumerateCollections, EnumerateKeys, GetOptions, Key, KvStore, ListOptions, PutOptions, Store,
};
pub use typed::TypedStore;
pub use version::{Condition, Version, Written};

/// The README's examples, compiled and run as doc tests (they use `MemoryStore` and
/// the test kit).
#[cfg(all(doctest, feature = "memory", feature = "testkit"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
