//! A real server that stops answering (SIGSTOP: its sockets stay open, nothing
//! replies) under 16 concurrent calls of every kind, enumeration and destroy included:
//! each call must end with a typed timeout error within the store's operation timeout
//! plus 1 s, and once the server is resumed (SIGCONT) calls must succeed through the
//! same store value, with no manual reconnect.
//!
//! Each test starts a private server (the binaries named by scripts/servers.sh), so
//! stopping it disturbs no other test. The stores are opened with a 2 s operation
//! timeout so the test is quick; the defaults (5 s) are the same code path.
#![cfg(feature = "full")]

use std::time::{Duration, Instant};

use bytes::Bytes;
use kv_store_adapter::stores::{
    ElasticsearchOptions, ElasticsearchStore, MemcachedStore, MongoStore, RedisClusterStore,
    RedisStore, Timeouts,
};
use kv_store_adapter::testkit::server_url;
use kv_store_adapter::{
    BoxStore, DestroyCollection, DestroyStore, EnumerateCollections, EnumerateKeys, ErrorKind,
    KvStore,
};

#[path = "support/server.rs"]
mod server;
use server::Server;

const OPERATION: Duration = Duration::from_secs(2);
const SLACK: Duration = Duration::from_secs(1);

fn timeouts() -> Timeouts {
    Timeouts::default()
        .connect(Duration::from_secs(2))
        .operation(OPERATION)
}

/// Call number `i` of the 16, each kind of call in turn.
async fn call(store: &BoxStore, i: usize) -> (&'static str, kv_store_adapter::Result<()>) {
    let key = format!("k{i}");
    match i % 8 {
        0 => ("get", store.get("c", &key).await.map(drop)),
        1 => (
            "put",
            store.put("c", &key, Bytes::from_static(b"v"), None).await,
        ),
        2 => ("get_many", store.get_many("c", &["a", "b"]).await.map(drop)),
        3 => (
            "put_many",
            store.put_many("c", &[("a", Bytes::new())], None).await,
        ),
        4 => ("delete", store.delete("c", &key).await.map(drop)),
        5 if store.has_keys() => ("keys", store.keys("c", 10).await.map(drop)),
        5 => ("ttl", store.ttl("c", &key).await.map(drop)),
        6 if store.has_collections() => ("collections", store.collections(10).await.map(drop)),
        6 => ("ttl_many", store.ttl_many("c", &["a"]).await.map(drop)),
        _ if store.has_destroy_collection() && i % 16 == 7 => {
            ("destroy_collection", store.destroy_collection("c").await)
        }
        _ => ("destroy", store.destroy().await),
    }
}

/// `call` until it succeeds, retrying timeouts (a server just started, or just
/// resumed, on a loaded machine may take longer than [`OPERATION`] for its first
/// calls: preparing an index, answering what queued up) until `deadline`.
async fn until_it_answers<F: std::future::Future<Output = kv_store_adapter::Result<()>>>(
    what: &str,
    deadline: Instant,
    mut call: impl FnMut() -> F,
) {
    loop {
        match call().await {
            Ok(()) => return,
            Err(e) if e.kind() == ErrorKind::Timeout && Instant::now() < deadline => {}
            Err(e) => panic!("{what}: {e:?}"),
        }
    }
}

async fn survives_a_stall(server: &impl Stall, store: BoxStore) {
    let deadline = Instant::now() + Duration::from_secs(60);
    until_it_answers("the first put", deadline, || {
        store.put("c", "warm", Bytes::from_static(b"v"), None)
    })
    .await;
    server.stop();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..16 {
        let store = store.clone();
        tasks.spawn(async move {
            let start = Instant::now();
            let (what, result) = call(&store, i).await;
            (what, result, start.elapsed())
        });
    }
    while let Some(done) = tasks.join_next().await {
        let (what, result, took) = done.expect("no call panicked");
        let Err(e) = result else {
            panic!("{what} succeeded: the server is stopped, no call can");
        };
        assert_eq!(e.kind(), ErrorKind::Timeout, "{what}: {e:?}");
        assert!(took <= OPERATION + SLACK, "{what} took {took:?}");
    }
    server.resume();
    // The first calls after the resume may meet replies queued while stopped; within
    // a few seconds everything works through the same store.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ok = store
            .put("c", "after", Bytes::from_static(b"v"), None)
            .await
            .is_ok()
            && store.get("c", "after").await.is_ok_and(|v| v.is_some());
        if ok {
            break;
        }
        assert!(Instant::now() < deadline, "no recovery after SIGCONT");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    for i in 0..16 {
        until_it_answers("a call after the resume", deadline, || async {
            call(&store, i).await.1
        })
        .await;
    }
}

fn port_args(args: &[&str], port: u16) -> Vec<String> {
    args.iter()
        .map(|a| a.replace("{port}", &port.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stall() {
    let Some(bin) = server_url("KV_REDIS_SERVER_BIN") else {
        return;
    };
    let server = Server::redis(bin, &[]);
    let url = server.redis_url();
    let store = RedisStore::connect_with_timeouts(&url, timeouts())
        .await
        .unwrap();
    let store = BoxStore::builder(store)
        .keys()
        .collections()
        .destroy_collection()
        .destroy();
    survives_a_stall(&server, store.build()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memcached_stall() {
    let Some((server, store)) = private_memcached(4).await else {
        return;
    };
    survives_a_stall(&server, BoxStore::builder(store).destroy().build()).await;
}

/// A private memcached (only this test stops it) and a store of `pool` connections on
/// it; `None` where no memcached binary is named.
async fn private_memcached(pool: usize) -> Option<(Server, MemcachedStore)> {
    let bin = server_url("KV_MEMCACHED_BIN")?;
    let server = Server::memcached(bin, &["-m", "64"]);
    let store = MemcachedStore::connect_with_pool(&server.memcached_url(), pool, timeouts())
        .await
        .unwrap();
    Some((server, store))
}

/// A private memcached holding `k` = `v` in collection `c`, then stopped, and a store
/// of one connection on it.
async fn stopped_memcached_holding_k() -> Option<(Server, MemcachedStore)> {
    let (server, store) = private_memcached(1).await?;
    store
        .put("c", "k", Bytes::from_static(b"v"), None)
        .await
        .unwrap();
    server.stop();
    Some((server, store))
}

/// A memcached connection's writer waits for room in a stalled server's full socket
/// for as long as the server stays stopped: when the store is dropped, the connection's
/// tasks must go with it, not wait there (one task per connection the pool replaced).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_memcached_store_leaves_no_task_waiting_on_a_stalled_server() {
    let tasks = || {
        tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks()
    };
    let before = tasks();
    let Some((server, store)) = stopped_memcached_holding_k().await else {
        return;
    };
    // 32 values of 512 KiB: far more than the socket buffers hold, so the writer is left
    // waiting for room once every call has timed out.
    let value = Bytes::from(vec![7u8; 512 * 1024]);
    let mut puts = tokio::task::JoinSet::new();
    for i in 0..32 {
        let (store, value) = (store.clone(), value.clone());
        puts.spawn(async move { store.put("c", &format!("big{i}"), value, None).await });
    }
    while let Some(result) = puts.join_next().await {
        assert_eq!(result.unwrap().unwrap_err().kind(), ErrorKind::Timeout);
    }
    drop(store);
    let deadline = Instant::now() + Duration::from_secs(5);
    while tasks() > before && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        tasks(),
        before,
        "tasks left running after the store was dropped"
    );
    server.resume();
}

/// A caller that writes on an idle memcached connection reads its own answer; if it
/// gives up while another caller waits on the same connection, the other's answer
/// must still be read (by the connection's reader task) once the server answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memcached_caller_giving_up_its_read_leaves_the_next_one_answered() {
    let Some((server, store)) = stopped_memcached_holding_k().await else {
        return;
    };
    // The first get writes on the idle connection, so it reads for it.
    let first = tokio::spawn({
        let store = store.clone();
        async move { store.get("c", "k").await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = tokio::spawn({
        let store = store.clone();
        async move { store.get("c", "k").await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    first.abort();
    assert!(first.await.unwrap_err().is_cancelled());
    server.resume();
    let started = Instant::now();
    let second = second.await.unwrap();
    assert_eq!(
        second.unwrap().as_deref(),
        Some(&b"v"[..]),
        "the second get was not answered ({:?} after the resume)",
        started.elapsed()
    );
}

/// How many connections `server` has accepted so far, this question's own included.
async fn memcached_connections(server: &Server) -> u64 {
    let address = server
        .memcached_url()
        .trim_start_matches("memcached://")
        .to_owned();
    let mut client = async_memcached::Client::new(format!("tcp://{address}"))
        .await
        .unwrap();
    let stats = client.stats().await.unwrap();
    stats["total_connections"].parse().unwrap()
}

/// Callers crowd onto one pooled memcached connection (one pipeline sends and reads
/// many requests per system call), but not behind a large value on its way, nor more
/// than 64 deep: with the server stopped, a get issued while a small put waits shares
/// the put's connection; a get issued while a 512 KiB put waits goes to another, and so
/// do the gets past the 64th. Once the server is resumed, all are answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memcached_callers_share_a_connection_unless_it_is_deep_or_heavy() {
    for (size, gets, more) in [(100, 1, 0), (512 * 1024, 1, 1), (100, 70, 1)] {
        let Some((server, store)) = private_memcached(4).await else {
            return;
        };
        // The namespace's generation read now and trusted for the test: a put that had
        // to read it again first would wait behind that small request, its value not
        // yet on its way.
        let store = store.with_generation_refresh(Duration::from_secs(3600));
        assert_eq!(store.get("c", "k").await.unwrap(), None);
        let before = memcached_connections(&server).await;
        server.stop();
        let put = tokio::spawn({
            let store = store.clone();
            async move {
                let value = Bytes::from(vec![7u8; size]);
                store.put("c", "big", value, None).await
            }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut got = tokio::task::JoinSet::new();
        for _ in 0..gets {
            let store = store.clone();
            got.spawn(async move { store.get("c", "k").await });
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        server.resume();
        put.await.unwrap().unwrap();
        for get in got.join_all().await {
            assert_eq!(get.unwrap(), None);
        }
        // The store opened its first connection before `before`; this question's own
        // is the one more.
        let opened = memcached_connections(&server).await - before - 1;
        assert_eq!(
            opened, more,
            "connections opened for {gets} gets behind a pending put of {size} bytes"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongo_wire_stall() {
    let Some(bin) = server_url("KV_MONGO_SERVER_BIN") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::mongo(bin, dir.path(), &[]);
    let url = server.mongo_url("");
    let store = MongoStore::connect_with_timeouts(&url, "stalls", timeouts())
        .await
        .unwrap();
    let store = BoxStore::builder(store)
        .keys()
        .collections()
        .destroy_collection()
        .destroy();
    survives_a_stall(&server, store.build()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elasticsearch_stall() {
    let Some(bin) = server_url("KV_SEARCH_SERVER_BIN") else {
        return;
    };
    let server = Server::new(bin, |port| {
        port_args(&["-addr", "127.0.0.1:{port}", "-no-stdin-watch"], port)
    });
    let options = ElasticsearchOptions::new(format!("http://127.0.0.1:{}", server.port))
        .with_timeouts(timeouts());
    let store = ElasticsearchStore::connect_with(&options).await.unwrap();
    survives_a_stall(&server, BoxStore::builder(store).all().build()).await;
}

/// A private three-node Redis Cluster, every node stopped at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_stall() {
    let Some(bin) = server_url("KV_REDIS_SERVER_BIN") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let nodes: Vec<Server> = (0..3)
        .map(|i| {
            let conf = dir.path().join(format!("nodes-{i}.conf"));
            let conf = conf.to_str().unwrap().to_owned();
            let work = dir.path().to_str().unwrap().to_owned();
            Server::redis(
                bin.clone(),
                &[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    &conf,
                    "--cluster-node-timeout",
                    "2000",
                    "--dir",
                    &work,
                ],
            )
        })
        .collect();
    let addresses: Vec<String> = nodes
        .iter()
        .map(|n| format!("127.0.0.1:{}", n.port))
        .collect();
    let created = std::process::Command::new("redis-cli")
        .args(["--cluster", "create"])
        .args(&addresses)
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("redis-cli runs");
    assert!(created.success(), "the cluster was not created");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let info = std::process::Command::new("redis-cli")
            .args(["-p", &nodes[0].port.to_string(), "cluster", "info"])
            .output()
            .expect("redis-cli runs");
        if String::from_utf8_lossy(&info.stdout).contains("cluster_state:ok") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the cluster did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let urls: Vec<String> = addresses.iter().map(|a| format!("redis://{a}/")).collect();
    let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
    let store = RedisClusterStore::connect_cluster_with_timeouts(&urls, timeouts())
        .await
        .unwrap();
    let store = BoxStore::builder(store)
        .keys()
        .collections()
        .destroy_collection()
        .destroy();
    let all = Stopped(&nodes);
    survives_a_stall(&all, store.build()).await;
}

/// Several servers stopped and resumed together.
struct Stopped<'a>(&'a [Server]);

impl Stall for Stopped<'_> {
    fn stop(&self) {
        self.0.iter().for_each(Server::stop);
    }
    fn resume(&self) {
        self.0.iter().for_each(Server::resume);
    }
}

/// What the stall test stops and resumes.
trait Stall {
    fn stop(&self);
    fn resume(&self);
}

impl Stall for Server {
    fn stop(&self) {
        Server::stop(self);
    }
    fn resume(&self) {
        Server::resume(self);
    }
}

/// The capabilities the stall test drives exist on every network store.
#[allow(dead_code)]
fn capabilities<S: DestroyStore + DestroyCollection + EnumerateCollections + EnumerateKeys>() {}
