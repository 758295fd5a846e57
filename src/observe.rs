//! Observability: a `tracing` span for every operation, and (feature `metrics`)
//! counters and latency histograms through the `metrics` facade.
//!
//! Every checked call — `get`, `put`, `delete`, `ttl`, their batch forms, `keys` and
//! `destroy_collection`, on any store or wrapper stack — runs inside one span named
//! `kv` at the `DEBUG` level, with fields after OpenTelemetry's database conventions:
//!
//! | field | value |
//! |---|---|
//! | `db.system.name` | `memory`, `redb`, `redis`, `memcached`, `mongodb`, `elasticsearch`, … (`other` for a store this crate does not know) |
//! | `db.operation.name` | `get`, `put`, `delete`, `ttl`, `get_many`, …, `keys`, `destroy_collection` |
//! | `db.collection.name` | the collection |
//! | `db.operation.batch.size` | the number of keys of a batch |
//! | `kv.store` | the store's type, e.g. `Stats<PrefixKeys<RedisStore>>` |
//! | `kv.outcome` | `hit`, `miss`, `ok` or `error` |
//! | `error.type` | the [`ErrorKind`](crate::ErrorKind) of a failure |
//! | `kv.key` | the key, only after [`record_keys(true)`](record_keys) |
//!
//! When no subscriber wants `DEBUG` spans from anywhere (and without the `metrics`
//! feature), a call pays one relaxed atomic load and runs as if this module did not
//! exist. Values never appear.
//!
//! With the `metrics` feature, each call also records, through whatever recorder the
//! application installed (Prometheus, OpenTelemetry, StatsD, …):
//!
//! - `kv_store_operations_total` (counter) and
//! - `kv_store_operation_duration_seconds` (histogram),
//!
//! labelled `system`, `operation` and `outcome` — a bounded set. Install the recorder
//! before the first call: each thread registers its handles with the recorder it
//! finds then, and keeps them. A `collection` label
//! is added only after [`label_collections`] allows it, for at most that many distinct
//! collections (the rest are labelled `other`), so label cardinality stays bounded.
//!
//! ```
//! use kv_store_adapter::observe;
//! observe::record_keys(false); // the default: keys stay out of spans
//! observe::label_collections(0); // the default: no collection label on metrics
//! ```

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing::Instrument;
use tracing::field::Empty;

use crate::Result;

static RECORD_KEYS: AtomicBool = AtomicBool::new(false);

/// Whether spans carry the key (`kv.key`) of single-key calls: off by default, since
/// keys can be personal data (a user id, an e-mail address).
pub fn record_keys(on: bool) {
    RECORD_KEYS.store(on, Ordering::Relaxed);
}

/// Lets metrics carry a `collection` label for the first `max` distinct collections
/// they see (later ones are labelled `other`); 0, the default, leaves the label out.
/// Without the `metrics` feature it has no effect.
pub fn label_collections(max: usize) {
    #[cfg(feature = "metrics")]
    metered::set_max_collections(max);
    #[cfg(not(feature = "metrics"))]
    let _ = max;
}

/// What a call's result says: a hit or a miss, or just done.
pub(crate) trait Outcome {
    fn outcome(&self) -> &'static str;
}

impl<T> Outcome for Option<T> {
    fn outcome(&self) -> &'static str {
        if self.is_some() { "hit" } else { "miss" }
    }
}

impl Outcome for bool {
    fn outcome(&self) -> &'static str {
        if *self { "hit" } else { "miss" }
    }
}

macro_rules! done {
    ($($t:ty),*) => {$(
        impl Outcome for $t {
            fn outcome(&self) -> &'static str {
                "ok"
            }
        }
    )*};
}
done!((), usize, Vec<String>, crate::listing::Page);

impl<T> Outcome for Vec<Option<T>> {
    fn outcome(&self) -> &'static str {
        "ok"
    }
}

/// One call, as the span and the metrics see it.
pub(crate) struct Call<'c, 'k> {
    /// `std::any::type_name` of the store called.
    pub store: &'static str,
    pub operation: &'static str,
    pub collection: &'c str,
    pub key: Option<&'k str>,
    pub batch: Option<usize>,
}

/// Whether any call needs observing: a subscriber wants `DEBUG` spans from somewhere
/// (one relaxed load of tracing's global level), or metrics are compiled in. When not,
/// a checked call runs exactly as it would without this module.
#[inline(always)]
pub(crate) fn active() -> bool {
    cfg!(feature = "metrics") || tracing::level_enabled!(tracing::Level::DEBUG)
}

/// The body of a checked call: run as is when nothing observes, else inside
/// [`observed`] (its span and metrics). `$body` is a block giving the call's `Result`.
macro_rules! checked {
    ($store:expr, $operation:literal, $collection:expr, $key:expr, $batch:expr, $body:block) => {{
        // The operation's name as a type, so naming it in an error costs the call's
        // future no bytes.
        struct Op;
        impl $crate::observe::OpName for Op {
            const NAME: &'static str = $operation;
        }
        $crate::observe::InCall::<_, _, Op>::new($store, $collection, async move {
            if !$crate::observe::active() {
                return $body;
            }
            let call = $crate::observe::Call {
                store: $store.observed_name(),
                operation: $operation,
                collection: $collection,
                key: $key,
                batch: $batch,
            };
            // Boxed, so the observed path adds a pointer, not its span and state, to
            // the size of every call's future (moved whenever it is pinned or spawned),
            // and out of line, so its code stays out of the fast path's.
            $crate::observe::Cold($crate::observe::start_observed(
                call,
                Ok(async move { $body }),
            ))
            .await
        })
    }};
}
pub(crate) use checked;

/// A single-key checked call, built without an `async` block around the store's
/// future: `$start` is the name check's `Result` of the store's future (creating that
/// future does no work: a store's futures are lazy), `$map` turns its answer into the
/// call's. A nested `async` block cost a memory hit ~5% of its instructions (moving
/// the store's future and its answer in and out of the outer state machine).
macro_rules! direct {
    ($store:expr, $operation:literal, $collection:expr, $key:expr, $start:expr, $map:expr) => {{
        struct Op;
        impl $crate::observe::OpName for Op {
            const NAME: &'static str = $operation;
        }
        let store = $store;
        let collection: &str = $collection;
        let body = $crate::observe::direct_body($start, $map, || $crate::observe::Call {
            store: store.observed_name(),
            operation: $operation,
            collection,
            key: $key,
            batch: None,
        });
        $crate::observe::InCall::<_, _, Op>::new(store, collection, body)
    }};
}
pub(crate) use direct;

pin_project_lite::pin_project! {
    /// The body of a [`direct!`] call: its check failed, or the store's future runs
    /// as is (nothing observes), or inside [`observed`], boxed so that the observed
    /// path adds a pointer, not its span and state, to the call's future.
    #[doc(hidden)]
    #[project = DirectProj]
    pub enum Direct<F, O, M> {
        Failed { err: Option<crate::Error> },
        Fast { #[pin] fut: F, map: M },
        Observed { fut: std::pin::Pin<Box<O>>, map: M },
    }
}

/// Starts a [`direct!`] call's body.
#[inline(always)]
pub(crate) fn direct_body<'c, 'k, F, M, T, U>(
    start: Result<F>,
    map: M,
    call: impl FnOnce() -> Call<'c, 'k>,
) -> Direct<F, impl Future<Output = Result<T>>, M>
where
    F: Future<Output = Result<T>>,
    M: Fn(T) -> U,
    T: Outcome,
{
    match start {
        _ if active() => Direct::Observed {
            fut: start_observed(call(), start),
            map,
        },
        Err(e) => Direct::Failed { err: Some(e) },
        Ok(fut) => Direct::Fast { fut, map },
    }
}

/// The observed path, kept out of line (and the span's code out of the fast path's
/// instructions: inlined, it made a memory get's code six times larger).
#[cold]
#[inline(never)]
pub(crate) fn start_observed<T: Outcome>(
    call: Call<'_, '_>,
    start: Result<impl Future<Output = Result<T>>>,
) -> std::pin::Pin<Box<impl Future<Output = Result<T>>>> {
    Box::pin(observed(call, async move { start?.await }))
}

/// A future polled out of line: the observed path of a call.
pub(crate) struct Cold<O>(pub(crate) std::pin::Pin<Box<O>>);

impl<O: Future> Future for Cold<O> {
    type Output = O::Output;

    #[inline(always)]
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<O::Output> {
        poll_observed(self.0.as_mut(), cx)
    }
}

#[cold]
#[inline(never)]
fn poll_observed<O: Future>(
    fut: std::pin::Pin<&mut O>,
    cx: &mut std::task::Context<'_>,
) -> std::task::Poll<O::Output> {
    fut.poll(cx)
}

impl<F, O, M, T, U> Future for Direct<F, O, M>
where
    F: Future<Output = Result<T>>,
    O: Future<Output = Result<T>>,
    M: Fn(T) -> U,
{
    type Output = Result<U>;

    #[inline(always)]
    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<U>> {
        use std::task::Poll;
        let (answer, map) = match self.project() {
            DirectProj::Failed { err } => {
                return Poll::Ready(Err(err.take().expect("polled after completion")));
            }
            DirectProj::Fast { fut, map } => (std::task::ready!(fut.poll(cx)), map),
            DirectProj::Observed { fut, map } => {
                (std::task::ready!(poll_observed(fut.as_mut(), cx)), map)
            }
        };
        Poll::Ready(answer.map(map))
    }
}

/// An operation's name, carried as a type by [`InCall`].
#[doc(hidden)]
pub trait OpName {
    const NAME: &'static str;
}

pin_project_lite::pin_project! {
    /// A checked call's future: says, on an error, which call of which store it was.
    /// Adds a store reference and the collection (24 bytes) to the call's future, and
    /// nothing to its fast path.
    #[doc(hidden)]
    pub struct InCall<'s, 'c, S: ?Sized, F, O> {
        #[pin]
        fut: F,
        store: &'s S,
        collection: &'c str,
        op: std::marker::PhantomData<fn() -> O>,
    }
}

impl<'s, 'c, S: ?Sized, F, O> InCall<'s, 'c, S, F, O> {
    #[inline(always)]
    pub fn new(store: &'s S, collection: &'c str, fut: F) -> Self {
        Self {
            fut,
            store,
            collection,
            op: std::marker::PhantomData,
        }
    }
}

impl<S, F, O, T> Future for InCall<'_, '_, S, F, O>
where
    S: crate::Store + ?Sized,
    F: Future<Output = Result<T>>,
    O: OpName,
{
    type Output = Result<T>;

    #[inline(always)]
    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<T>> {
        let this = self.project();
        match this.fut.poll(cx) {
            std::task::Poll::Ready(Err(mut e)) => {
                e.set_call(this.store.observed_name(), O::NAME, this.collection);
                std::task::Poll::Ready(Err(e))
            }
            other => other,
        }
    }
}

/// Runs `fut`, the call `call` describes, inside its span, and records its outcome.
pub(crate) async fn observed<T: Outcome>(
    call: Call<'_, '_>,
    fut: impl Future<Output = Result<T>>,
) -> Result<T> {
    let span = tracing::debug_span!(
        "kv",
        db.system.name = Empty,
        db.operation.name = call.operation,
        db.collection.name = call.collection,
        db.operation.batch.size = call.batch,
        kv.store = Empty,
        kv.outcome = Empty,
        kv.key = Empty,
        error.type = Empty,
    );
    #[cfg(feature = "metrics")]
    let started = std::time::Instant::now();
    let result = if span.is_disabled() {
        fut.await
    } else {
        span.record("db.system.name", system(call.store));
        span.record("kv.store", short_name(call.store).as_str());
        if let Some(key) = call.key.filter(|_| RECORD_KEYS.load(Ordering::Relaxed)) {
            span.record("kv.key", key);
        }
        fut.instrument(span.clone()).await
    };
    let outcome = match &result {
        Ok(value) => value.outcome(),
        Err(_) => "error",
    };
    if !span.is_disabled() {
        span.record("kv.outcome", outcome);
        if let Err(e) = &result {
            span.record("error.type", tracing::field::debug(e.kind()));
        }
    }
    #[cfg(feature = "metrics")]
    metered::record(&call, outcome, started.elapsed());
    result
}

/// The backend system of a store type: the first store this crate knows found in it
/// (a wrapper stack has one; a router or fallback, the first listed here).
pub(crate) fn system(type_name: &str) -> &'static str {
    const KNOWN: [(&str, &str); 9] = [
        ("::RedisStore", "redis"),
        ("::MemcachedStore", "memcached"),
        ("::MongoStore", "mongodb"),
        ("::ElasticsearchStore", "elasticsearch"),
        ("::MultiDiskStore", "redb"),
        ("::DiskStore", "redb"),
        ("::MemoryStore", "memory"),
        ("::SimpleStore", "simple"),
        ("::NullStore", "null"),
    ];
    KNOWN
        .iter()
        .find(|(needle, _)| type_name.contains(needle))
        .map_or("other", |(_, system)| system)
}

/// `a::b::Stats<c::d::MemoryStore>` → `Stats<MemoryStore>`.
pub(crate) fn short_name(type_name: &str) -> String {
    let mut out = String::with_capacity(type_name.len());
    let mut word = String::new();
    for c in type_name.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            word.push(c);
        } else {
            out.push_str(word.rsplit("::").next().unwrap_or_default());
            word.clear();
            out.push(c);
        }
    }
    out.push_str(word.rsplit("::").next().unwrap_or_default());
    out
}

#[cfg(feature = "metrics")]
mod metered {
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Mutex, OnceLock};
    use std::time::Duration;

    use metrics::{Counter, Histogram};

    use super::Call;

    static MAX_COLLECTIONS: AtomicUsize = AtomicUsize::new(0);

    pub(super) fn set_max_collections(max: usize) {
        MAX_COLLECTIONS.store(max, Ordering::Relaxed);
    }

    thread_local! {
        /// Per store type (its name's address), its system: computed once per type
        /// and thread, not per call, with no lock shared between threads.
        static SYSTEMS: RefCell<HashMap<usize, &'static str>> = RefCell::default();
    }

    fn system_of(store: &'static str) -> &'static str {
        SYSTEMS.with(|map| {
            *map.borrow_mut()
                .entry(store.as_ptr() as usize)
                .or_insert_with(|| super::system(store))
        })
    }

    /// The collection label: the name for the first `MAX_COLLECTIONS` seen, else
    /// `other`.
    fn collection_label(collection: &str, max: usize) -> String {
        static SEEN: OnceLock<Mutex<std::collections::HashSet<String>>> = OnceLock::new();
        let seen = SEEN.get_or_init(Mutex::default);
        let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.contains(collection) {
            return collection.to_owned();
        }
        if seen.len() < max {
            seen.insert(collection.to_owned());
            return collection.to_owned();
        }
        "other".to_owned()
    }

    /// The handles of one thread, by the addresses of (store type, operation, outcome).
    type Handles = HashMap<(usize, usize, usize), (Counter, Histogram), foldhash::fast::FixedState>;

    thread_local! {
        /// The counter and histogram of each (store type, operation, outcome), by
        /// address: registered with the recorder once per thread, so a call pays no
        /// label allocation and no hashing of label strings.
        static HANDLES: RefCell<Handles> = RefCell::default();
    }

    pub(super) fn record(call: &Call<'_, '_>, outcome: &'static str, took: Duration) {
        let max = MAX_COLLECTIONS.load(Ordering::Relaxed);
        if max == 0 {
            let id = (
                call.store.as_ptr() as usize,
                call.operation.as_ptr() as usize,
                outcome.as_ptr() as usize,
            );
            HANDLES.with(|handles| {
                let mut handles = handles.borrow_mut();
                let (counter, histogram) = handles.entry(id).or_insert_with(|| {
                    let labels = [
                        ("system", system_of(call.store)),
                        ("operation", call.operation),
                        ("outcome", outcome),
                    ];
                    (
                        metrics::counter!("kv_store_operations_total", &labels),
                        metrics::histogram!("kv_store_operation_duration_seconds", &labels),
                    )
                });
                counter.increment(1);
                histogram.record(took.as_secs_f64());
            });
        } else {
            let collection = collection_label(call.collection, max);
            let labels = [
                ("system", system_of(call.store).to_owned()),
                ("operation", call.operation.to_owned()),
                ("outcome", outcome.to_owned()),
                ("collection", collection),
            ];
            metrics::counter!("kv_store_operations_total", &labels).increment(1);
            metrics::histogram!("kv_store_operation_duration_seconds", &labels)
                .record(took.as_secs_f64());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_map_to_systems_and_short_names() {
        let name = "kv_store_adapter::wrappers::stats::Stats<kv_store_adapter::wrappers::prefix::PrefixKeys<kv_store_adapter::stores::redis::RedisStore>>";
        assert_eq!(system(name), "redis");
        assert_eq!(short_name(name), "Stats<PrefixKeys<RedisStore>>");
        assert_eq!(system("my_crate::MapStore"), "other");
        assert_eq!(
            system("kv_store_adapter::stores::multi_disk::MultiDiskStore"),
            "redb"
        );
        assert_eq!(short_name("&alloc::sync::Arc<a::B>"), "&Arc<B>");
    }
}
