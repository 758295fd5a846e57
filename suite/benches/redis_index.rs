//! `RedisStore::with_index` at scale, on a private redis-server (KV_REDIS_SERVER_BIN,
//! from scripts/servers.sh) holding 1,000,000 keys of another application: listing a
//! small collection and the collections, against the raw client's SCAN (the only way
//! to list without an index, and what the store without the index does); and what the
//! index costs a write, against the raw SET / MSET of the same entries, beside the
//! floors under any index (the raw SET with one ZADD, in a MULTI and pipelined; the raw
//! MSET with one ZADD of its members, in a MULTI). Same run, interleaved.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::Pair;
use kv_store_adapter::KvStore;
use kv_store_adapter::stores::RedisStore;
use redis::aio::ConnectionManager;

const FOREIGN: usize = 1_000_000;
const GROUP: &str = "redis-index";

/// The raw client's listing of a collection: SCAN to the end with the store's pattern.
async fn raw_scan(conn: &ConnectionManager, pattern: &[u8]) -> usize {
    let mut cursor = 0u64;
    let mut found = 0;
    loop {
        let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn.clone())
            .await
            .unwrap();
        found += keys.len();
        if next == 0 {
            return found;
        }
        cursor = next;
    }
}

fn framed(value: &[u8]) -> Vec<u8> {
    let mut out = vec![2];
    out.extend_from_slice(&kv_store_adapter::Version::unique().to_bytes());
    out.extend_from_slice(value);
    out
}

fn main() {
    let Some(bin) = common::server_url(GROUP, "KV_REDIS_SERVER_BIN") else {
        return;
    };
    let server = common::server::Server::redis(bin, &[]);
    let url = server.redis_url();
    let rt = common::runtime();
    let (plain, conn) = rt.block_on(async {
        let store = RedisStore::connect(&url).await.unwrap();
        let conn = redis::Client::open(url.as_str())
            .unwrap()
            .get_connection_manager()
            .await
            .unwrap();
        (store.with_namespace("bench").unwrap(), conn)
    });
    let indexed = plain.clone().with_index();
    let value = Bytes::from(vec![b'v'; 100]);
    rt.block_on(async {
        // Another application's million keys.
        for start in (0..FOREIGN).step_by(10_000) {
            let mut cmd = redis::cmd("MSET");
            for i in start..start + 10_000 {
                cmd.arg(format!("other:{i}")).arg(&value[..]);
            }
            cmd.query_async::<()>(&mut conn.clone()).await.unwrap();
        }
        // Ours: ten small collections of 20 keys.
        for c in 0..10 {
            for k in 0..20 {
                let collection = format!("small{c}");
                let key = format!("k{k}");
                indexed
                    .put(&collection, &key, value.clone(), None)
                    .await
                    .unwrap();
            }
        }
    });
    let pattern = {
        let head = indexed.redis_key("small0", "");
        let mut p: Vec<u8> = Vec::new();
        for b in head {
            if b"*?[]\\".contains(&b) {
                p.push(b'\\');
            }
            p.push(b);
        }
        p.push(b'*');
        p
    };
    let namespace_pattern = b"bench:{*".to_vec();

    let mut c = common::criterion()
        .sample_size(10)
        .measurement_time(Duration::from_secs(3));
    let mut group = c.benchmark_group(GROUP);
    group.bench_function("keys indexed", |b| {
        b.to_async(&rt)
            .iter(|| async { indexed.keys("small0", 10).await.unwrap() })
    });
    group.bench_function("keys scan (store without index)", |b| {
        b.to_async(&rt)
            .iter(|| async { plain.keys("small0", 10).await.unwrap() })
    });
    group.bench_function("keys raw scan", |b| {
        b.to_async(&rt).iter(|| raw_scan(&conn, &pattern))
    });
    group.bench_function("collections indexed", |b| {
        b.to_async(&rt)
            .iter(|| async { indexed.collections(10).await.unwrap() })
    });
    group.bench_function("collections raw scan", |b| {
        b.to_async(&rt).iter(|| raw_scan(&conn, &namespace_pattern))
    });
    group.finish();

    // Writes: sequential puts and batches of 100, indexed vs the raw SET / MSET of the
    // same keys and stored form.
    let names: Vec<String> = (0..100).map(|i| format!("w{i}")).collect();
    let keys: Vec<&str> = names.iter().map(String::as_str).collect();
    let entries: Vec<(&str, Bytes)> = keys.iter().map(|k| (*k, value.clone())).collect();
    let put_ours = || {
        rt.block_on(async {
            let start = Instant::now();
            for k in &keys {
                indexed.put("writes", k, value.clone(), None).await.unwrap();
            }
            start.elapsed()
        })
    };
    let put_raw = || {
        rt.block_on(async {
            let start = Instant::now();
            for k in &keys {
                redis::cmd("SET")
                    .arg(indexed.redis_key("writes", k))
                    .arg(framed(&value))
                    .query_async::<()>(&mut conn.clone())
                    .await
                    .unwrap();
            }
            start.elapsed()
        })
    };
    // The floors under any index, measured in the same rounds: the raw client's SET beside
    // one ZADD to a sorted set, in a MULTI (the least an index that another process
    // never sees out of step with the data costs) and merely pipelined (the least any
    // index costs, kept in step or not).
    let idx = [indexed.redis_key("floor", ""), vec![0xFF]].concat();
    let set_zadd = |atomic: bool| {
        rt.block_on(async {
            let start = Instant::now();
            for k in &keys {
                let mut pipe = redis::pipe();
                if atomic {
                    pipe.atomic();
                }
                pipe.cmd("SET")
                    .arg(indexed.redis_key("floor", k))
                    .arg(framed(&value))
                    .ignore();
                pipe.cmd("ZADD").arg(&idx).arg("inf").arg(*k);
                pipe.query_async::<(usize,)>(&mut conn.clone())
                    .await
                    .unwrap();
            }
            start.elapsed()
        })
    };
    // And the store's own transaction, sent by the raw client: what this design of the
    // index costs at least (the entry, its member, the index kept persistent, the
    // collection's name registered).
    let design_idx = [indexed.redis_key("design", ""), vec![0xFF]].concat();
    let design = || {
        rt.block_on(async {
            let start = Instant::now();
            for k in &keys {
                let mut pipe = redis::pipe();
                pipe.atomic();
                pipe.cmd("MSET")
                    .arg(indexed.redis_key("design", k))
                    .arg(framed(&value))
                    .ignore();
                pipe.cmd("ZADD")
                    .arg(&design_idx)
                    .arg("inf")
                    .arg(*k)
                    .ignore();
                pipe.cmd("PERSIST").arg(&design_idx).ignore();
                pipe.cmd("ZADD")
                    .arg(&b"bench:{\xff}"[..])
                    .arg(0)
                    .arg("design");
                pipe.query_async::<(usize,)>(&mut conn.clone())
                    .await
                    .unwrap();
            }
            start.elapsed()
        })
    };
    let (mut put_ours, mut multi, mut pipelined, mut design) =
        (put_ours, || set_zadd(true), || set_zadd(false), design);
    let ratios = common::interleaved_sides(
        101,
        put_raw,
        &mut [&mut put_ours, &mut multi, &mut pipelined, &mut design],
    );
    let (put_ratio, floor_multi, floor_pipelined, floor_design) =
        (ratios[0], ratios[1], ratios[2], ratios[3]);
    // With a TTL the put stays a script (the members' scores come from the server's
    // clock), against the raw `SET … PX`.
    let ttl = Duration::from_secs(600);
    let ttl_ours = || {
        rt.block_on(async {
            let start = Instant::now();
            for k in &keys {
                indexed
                    .put("expiring", k, value.clone(), Some(ttl))
                    .await
                    .unwrap();
            }
            start.elapsed()
        })
    };
    let ttl_raw = || {
        rt.block_on(async {
            let start = Instant::now();
            for k in &keys {
                redis::cmd("SET")
                    .arg(indexed.redis_key("expiring", k))
                    .arg(framed(&value))
                    .arg("PX")
                    .arg(600_000)
                    .query_async::<()>(&mut conn.clone())
                    .await
                    .unwrap();
            }
            start.elapsed()
        })
    };
    let ttl_ratio = common::interleaved(41, ttl_ours, ttl_raw);
    let many_ours = || {
        rt.block_on(async {
            let start = Instant::now();
            for _ in 0..20 {
                indexed.put_many("writes", &entries, None).await.unwrap();
            }
            start.elapsed()
        })
    };
    let many_raw = || {
        rt.block_on(async {
            let start = Instant::now();
            for _ in 0..20 {
                let mut cmd = redis::cmd("MSET");
                for k in &keys {
                    cmd.arg(indexed.redis_key("writes", k)).arg(framed(&value));
                }
                cmd.query_async::<()>(&mut conn.clone()).await.unwrap();
            }
            start.elapsed()
        })
    };
    // The batch's floor, in the same rounds: the raw client's MSET beside one ZADD of
    // the hundred members, in a MULTI.
    let many_floor = || {
        rt.block_on(async {
            let start = Instant::now();
            for _ in 0..20 {
                let mut pipe = redis::pipe();
                pipe.atomic();
                let mset = pipe.cmd("MSET");
                for k in &keys {
                    mset.arg(indexed.redis_key("floor", k)).arg(framed(&value));
                }
                mset.ignore();
                let zadd = pipe.cmd("ZADD").arg(&idx);
                for k in &keys {
                    zadd.arg("inf").arg(*k);
                }
                pipe.query_async::<(usize,)>(&mut conn.clone())
                    .await
                    .unwrap();
            }
            start.elapsed()
        })
    };
    let (mut many_ours, mut many_floor) = (many_ours, many_floor);
    let ratios = common::interleaved_sides(41, many_raw, &mut [&mut many_ours, &mut many_floor]);
    let (many_ratio, floor_many) = (ratios[0], ratios[1]);
    let mut group = c.benchmark_group(GROUP);
    group.bench_function("put indexed", |b| {
        b.to_async(&rt).iter(|| async {
            indexed
                .put("writes", "w0", value.clone(), None)
                .await
                .unwrap()
        })
    });
    group.bench_function("put raw SET", |b| {
        b.to_async(&rt).iter(|| async {
            redis::cmd("SET")
                .arg(indexed.redis_key("writes", "w0"))
                .arg(framed(&value))
                .query_async::<()>(&mut conn.clone())
                .await
                .unwrap()
        })
    });
    group.bench_function("put with TTL indexed", |b| {
        b.to_async(&rt).iter(|| async {
            indexed
                .put("expiring", "w0", value.clone(), Some(ttl))
                .await
                .unwrap()
        })
    });
    group.bench_function("put with TTL raw SET PX", |b| {
        b.to_async(&rt).iter(|| async {
            redis::cmd("SET")
                .arg(indexed.redis_key("expiring", "w0"))
                .arg(framed(&value))
                .arg("PX")
                .arg(600_000)
                .query_async::<()>(&mut conn.clone())
                .await
                .unwrap()
        })
    });
    group.bench_function("put_many x100 indexed", |b| {
        b.to_async(&rt)
            .iter(|| async { indexed.put_many("writes", &entries, None).await.unwrap() })
    });
    group.bench_function("put_many x100 raw MSET", |b| {
        b.to_async(&rt).iter(|| async {
            let mut cmd = redis::cmd("MSET");
            for k in &keys {
                cmd.arg(indexed.redis_key("writes", k)).arg(framed(&value));
            }
            cmd.query_async::<()>(&mut conn.clone()).await.unwrap()
        })
    });
    group.finish();

    common::report(
        GROUP,
        &[
            Pair {
                workload: "keys(small, 10), 1M-key db, vs raw SCAN",
                ours: "keys indexed",
                raw: "keys raw scan",
                target: 10.0,
                ..Pair::default()
            },
            Pair {
                workload: "collections(10), 1M-key db, vs raw SCAN",
                ours: "collections indexed",
                raw: "collections raw scan",
                target: 10.0,
                ..Pair::default()
            },
            Pair {
                workload: "put, indexed, vs raw SET",
                ours: "put indexed",
                raw: "put raw SET",
                target: 0.9,
                interleaved: Some(put_ratio),
                ..Pair::default()
            },
            Pair {
                workload: "put with TTL, indexed (a script), vs raw SET PX",
                ours: "put with TTL indexed",
                raw: "put with TTL raw SET PX",
                target: 0.6,
                interleaved: Some(ttl_ratio),
                ..Pair::default()
            },
            Pair {
                workload: "put_many x100, indexed, vs raw MSET",
                ours: "put_many x100 indexed",
                raw: "put_many x100 raw MSET",
                target: 0.9,
                interleaved: Some(many_ratio),
                per_iter: 100.0,
                ..Pair::default()
            },
        ],
    );
    // The absolute bound of the issue: listing a small collection in a million-key
    // database within 5 ms.
    for (id, what) in [
        ("keys indexed", "keys(small, 10)"),
        (
            "keys scan (store without index)",
            "keys(small, 10) without index",
        ),
        ("collections indexed", "collections(10)"),
    ] {
        if let Some(ns) = common::median_ns(GROUP, id) {
            let ms = ns / 1e6;
            let verdict = if ms <= 5.0 { "pass" } else { "over 5 ms" };
            println!("{GROUP}: {what} in a {FOREIGN}-key db: median {ms:.3} ms ({verdict})");
        }
    }
    println!(
        "{GROUP}: floors, raw client vs raw SET (interleaved, same run): \
         MULTI of SET + ZADD {floor_multi:.3}, SET + ZADD pipelined {floor_pipelined:.3}, \
         the store's own MULTI (MSET, ZADD, PERSIST, ZADD of the name) {floor_design:.3}; \
         the indexed put {put_ratio:.3}"
    );
    println!(
        "{GROUP}: batch floor, raw client vs raw MSET (interleaved, same run): \
         MULTI of MSET + ZADD of 100 {floor_many:.3}; the indexed put_many x100 {many_ratio:.3}"
    );
    c.final_summary();
}
