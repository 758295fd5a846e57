//! One tenant's collections among many: `PrefixCollections::collections(10)` of a prefix
//! whose ten names sort after thousands of another prefix's, through the stores' own
//! `collections_page_with_prefix` (they start at the prefix) against the walk
//! `PrefixCollections` did before (pages of every name from the first, the other names
//! left out, ending past the prefix's), and on
//! Redis against the raw client reading the same ten names of a sorted set of the same
//! names (`ZRANGE … BYLEX`). Redis with the key index on a private redis-server
//! (KV_REDIS_SERVER_BIN); MongoDB and Elasticsearch on the test servers
//! (KV_MONGO_URL, KV_ELASTICSEARCH_URL), each when set. Interleaved medians, same run.

mod common;

use std::time::{Duration, Instant};

use kv_store_adapter::testkit::b;
use kv_store_adapter::wrappers::PrefixCollections;
use kv_store_adapter::{Cursor, EnumerateCollections, KvStore, ListOptions, Page, Result};
use tokio::runtime::Runtime;

const GROUP: &str = "prefix-listing";
const ROUNDS: usize = 21;

/// A store listing a prefix's collections as `PrefixCollections` did before the stores
/// started at a prefix: pages of every name from the first, the prefix's kept, ending at
/// the first page in name order that passes them.
#[derive(Clone)]
struct DefaultWalk<S>(S);

impl<S: kv_store_adapter::Store> kv_store_adapter::Store for DefaultWalk<S> {
    kv_store_adapter::forward_methods!(0; get_opts, put_opts, delete_opts, get_many_opts,
        put_many_opts, delete_many_opts);
}

impl<S: EnumerateCollections> EnumerateCollections for DefaultWalk<S> {
    async fn collections_opts(&self, opts: ListOptions) -> Result<Vec<String>> {
        self.0.collections_opts(opts).await
    }
    async fn collections_page_with_prefix(
        &self,
        prefix: &str,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page> {
        let mut page = self.0.collections_page(cursor, limit).await?;
        let passed = |name: &String| name.as_str() > prefix && !name.starts_with(prefix);
        if page.in_order && page.names.last().is_some_and(passed) {
            page.next = None;
        }
        page.names.retain(|name| name.starts_with(prefix));
        Ok(page)
    }
    fn collections_walk_page(&self) -> usize {
        self.0.collections_walk_page()
    }
}

/// The names written: `others` of tenant `aaa`, then ten of tenant `zzz`.
fn names(others: usize) -> Vec<String> {
    let mut names: Vec<String> = (0..others).map(|i| format!("aaa\u{1f}c{i:06}")).collect();
    names.extend((0..10).map(|i| format!("zzz\u{1f}c{i:02}")));
    names
}

async fn fill<S: KvStore + Clone + Send + Sync + 'static>(store: &S, names: &[String]) {
    for chunk in names.chunks(250) {
        let mut puts = tokio::task::JoinSet::new();
        for name in chunk {
            let (store, name) = (store.clone(), name.clone());
            puts.spawn(async move { store.put(&name, "k", b("v"), None).await.unwrap() });
        }
        puts.join_all().await;
    }
}

/// Times `rounds` of `call` (one listing each), answering the time of one.
fn timed<F, Fut>(rt: &Runtime, mut call: F) -> impl FnMut() -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    move || {
        let start = Instant::now();
        let found = rt.block_on(call());
        assert_eq!(found, 10, "the tenant's ten names");
        start.elapsed()
    }
}

fn row(workload: &str, ratio: f64, ours: Duration, other: Duration, target: f64) {
    let result = if ratio >= target { "pass" } else { "FAIL" };
    println!(
        "{GROUP}: {workload}: ours {:.3} ms, other {:.3} ms, interleaved ratio {ratio:.3} \
         (target >= {target}): {result}",
        ours.as_secs_f64() * 1e3,
        other.as_secs_f64() * 1e3,
    );
    common::record(&[
        GROUP.into(),
        workload.into(),
        format!("{:.6}", ours.as_secs_f64()),
        format!("{:.6}", other.as_secs_f64()),
        format!("{ratio:.3}"),
        format!("{target:.2}"),
        result.into(),
    ]);
}

/// Times `ours` and `other` (one listing each) interleaved, and prints the row.
fn compare(
    workload: &str,
    target: f64,
    mut ours: impl FnMut() -> Duration,
    mut other: impl FnMut() -> Duration,
) {
    let (mut t_ours, mut t_other) = (Vec::new(), Vec::new());
    let ratio = common::interleaved(
        ROUNDS,
        || {
            let t = ours();
            t_ours.push(t.as_secs_f64());
            t
        },
        || {
            let t = other();
            t_other.push(t.as_secs_f64());
            t
        },
    );
    row(
        workload,
        ratio,
        Duration::from_secs_f64(common::median(t_ours)),
        Duration::from_secs_f64(common::median(t_other)),
        target,
    );
}

/// Ours against the old walk over the same store, interleaved.
fn against_the_default<S>(rt: &Runtime, label: &str, store: S, others: usize)
where
    S: KvStore + EnumerateCollections + Clone + Send + Sync + 'static,
{
    let ours = PrefixCollections::new(store.clone(), "zzz").unwrap();
    let walk = PrefixCollections::new(DefaultWalk(store), "zzz").unwrap();
    compare(
        &format!("{label}: collections(10) of a prefix after {others} others, vs the old walk"),
        10.0,
        timed(rt, || async { ours.collections(10).await.unwrap().len() }),
        timed(rt, || async { walk.collections(10).await.unwrap().len() }),
    );
}

fn redis(rt: &Runtime) {
    use kv_store_adapter::stores::RedisStore;
    const OTHERS: usize = 20_000;
    let Some(bin) = common::server_url(GROUP, "KV_REDIS_SERVER_BIN") else {
        return;
    };
    let server = common::server::Server::redis(bin, &[]);
    let url = server.redis_url();
    let names = names(OTHERS);
    let (store, conn) = rt.block_on(async {
        let store = RedisStore::connect(&url)
            .await
            .unwrap()
            .with_namespace("bench")
            .unwrap()
            .with_index();
        fill(&store, &names).await;
        let conn = redis::Client::open(url.as_str())
            .unwrap()
            .get_connection_manager()
            .await
            .unwrap();
        // The raw client's own sorted set of the same names.
        for chunk in names.chunks(1_000) {
            let mut zadd = redis::cmd("ZADD");
            zadd.arg("raw:names");
            for name in chunk {
                zadd.arg(0).arg(name);
            }
            zadd.query_async::<()>(&mut conn.clone()).await.unwrap();
        }
        (store, conn)
    });
    let ours = PrefixCollections::new(store.clone(), "zzz").unwrap();
    let raw = || async {
        let names: Vec<String> = redis::cmd("ZRANGE")
            .arg("raw:names")
            .arg("[zzz\u{1f}")
            .arg("(zzz\u{20}")
            .arg("BYLEX")
            .arg("LIMIT")
            .arg(0)
            .arg(10)
            .query_async(&mut conn.clone())
            .await
            .unwrap();
        names.len()
    };
    // Ours also looks, in a second round trip (one pipeline of scripts), that each
    // listed collection still has a live entry — another process may have emptied it,
    // or its entries expired: two round trips to the raw client's one, so at most 0.5.
    compare(
        &format!(
            "redis (index): collections(10) of a prefix after {OTHERS} others, vs raw ZRANGE BYLEX"
        ),
        0.25,
        timed(rt, || async { ours.collections(10).await.unwrap().len() }),
        timed(rt, raw),
    );
    against_the_default(rt, "redis (index)", store, OTHERS);
}

#[cfg(feature = "mongodb")]
fn mongodb(rt: &Runtime) {
    use kv_store_adapter::stores::MongoStore;
    const OTHERS: usize = 5_000;
    let Some(url) = common::server_url(GROUP, "KV_MONGO_URL") else {
        return;
    };
    let store = rt.block_on(async {
        let store = MongoStore::connect(&url, "kvbench")
            .await
            .unwrap()
            .with_namespace(&kv_store_adapter::testkit::unique_namespace())
            .unwrap();
        fill(&store, &names(OTHERS)).await;
        store
    });
    against_the_default(rt, "mongodb", store.clone(), OTHERS);
    rt.block_on(kv_store_adapter::KvStore::destroy(&store))
        .unwrap();
}

#[cfg(feature = "elasticsearch")]
fn elasticsearch(rt: &Runtime) {
    use kv_store_adapter::stores::ElasticsearchStore;
    const OTHERS: usize = 5_000;
    let Some(url) = common::server_url(GROUP, "KV_ELASTICSEARCH_URL") else {
        return;
    };
    let store = rt.block_on(async {
        let store = ElasticsearchStore::connect(&url)
            .await
            .unwrap()
            .with_namespace("bench_prefix")
            .unwrap();
        store.destroy().await.unwrap();
        fill(&store, &names(OTHERS)).await;
        store
    });
    against_the_default(rt, "elasticsearch", store.clone(), OTHERS);
    rt.block_on(store.destroy()).unwrap();
}

fn main() {
    let rt = common::runtime();
    redis(&rt);
    #[cfg(feature = "mongodb")]
    mongodb(&rt);
    #[cfg(feature = "elasticsearch")]
    elasticsearch(&rt);
}
