//! Two versions of this crate in one process (`old` and `new`, see ../compare-versions.sh):
//! the same MemoryStore workloads in alternating blocks, reporting the median time per
//! operation of each and the median of the per-round ratios. Run with no arguments for
//! the table (an optional round count), or `old|new <workload> <n>` to run one side
//! alone (for callgrind).
use bytes::Bytes;
use std::hint::black_box;
use std::time::{Duration, Instant};

const KEYS: usize = 1000;

macro_rules! workloads {
    ($krate:ident, $m:ident) => {
        pub mod $m {
            use super::*;
            use ::$krate::KvStore;
            pub struct W { pub store: ::$krate::stores::MemoryStore, pub keys: Vec<String>, pub missing: Vec<String> }
            impl W {
                pub async fn new() -> Self {
                    let store = ::$krate::stores::MemoryStore::with_max_entries(100_000);
                    let keys: Vec<String> = (0..KEYS).map(|i| format!("key-{i}")).collect();
                    let missing: Vec<String> = (0..KEYS).map(|i| format!("nokey-{i}")).collect();
                    for k in &keys { store.put("c", k, Bytes::from_static(b"value-value-value"), None).await.unwrap(); }
                    W { store, keys, missing }
                }
                pub async fn run(&self, what: &str, n: usize) {
                    let s = &self.store;
                    match what {
                        "get hit" => for i in 0..n { black_box(s.get("c", &self.keys[i % KEYS]).await.unwrap()); },
                        "get miss" => for i in 0..n { black_box(s.get("c", &self.missing[i % KEYS]).await.unwrap()); },
                        "ttl hit" => for i in 0..n { black_box(s.ttl("c", &self.keys[i % KEYS]).await.unwrap()); },
                        "put" => for i in 0..n { s.put("c", &self.keys[i % KEYS], Bytes::from_static(b"v2"), None).await.unwrap(); },
                        "put ttl" => for i in 0..n { s.put("c", &self.keys[i % KEYS], Bytes::from_static(b"v2"), Some(Duration::from_secs(600))).await.unwrap(); },
                        "delete+put" => for i in 0..n { let k = &self.keys[i % KEYS]; black_box(s.delete("c", k).await.unwrap()); s.put("c", k, Bytes::from_static(b"v"), None).await.unwrap(); },
                        "get_many 100" => { let refs: Vec<&str> = self.keys[..100].iter().map(|s| s.as_str()).collect(); for _ in 0..n / 100 { black_box(s.get_many("c", &refs).await.unwrap()); } },
                        "put_many 100" => { let pairs: Vec<(&str, Bytes)> = self.keys[..100].iter().map(|k| (k.as_str(), Bytes::from_static(b"v"))).collect(); for _ in 0..n / 100 { s.put_many("c", &pairs, None).await.unwrap(); } },
                        "delete_many 100" => { let refs: Vec<&str> = self.missing[..100].iter().map(|s| s.as_str()).collect(); for _ in 0..n / 100 { black_box(s.delete_many("c", &refs).await.unwrap()); } },
                        _ => unreachable!(),
                    }
                }
            }
        }
    };
}
workloads!(old, v01);
workloads!(new, v02);

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (o, n_) = rt.block_on(async { (v01::W::new().await, v02::W::new().await) });
    let args: Vec<String> = std::env::args().collect();
    if args.len() > 3 {
        let n: usize = args[3].parse().unwrap();
        if args[1] == "old" { rt.block_on(o.run(&args[2], n)) } else { rt.block_on(n_.run(&args[2], n)) }
        return;
    }
    let rounds: usize = args.get(1).map(|s| s.parse().unwrap()).unwrap_or(101);
    let block = 20_000;
    let only = args.get(2);
    println!("{:<18} {:>10} {:>10} {:>14}", "workload", "old ns/op", "new ns/op", "new / old time");
    for what in ["get hit", "get miss", "ttl hit", "put", "put ttl", "delete+put", "get_many 100", "put_many 100", "delete_many 100"] {
        if only.is_some_and(|o| !what.starts_with(o.as_str())) {
            continue;
        }
        let (mut ratios, mut ot, mut nt) = (Vec::new(), Vec::new(), Vec::new());
        for r in 0..rounds {
            let time = |f: &dyn Fn() -> ()| { let t = Instant::now(); f(); t.elapsed() };
            let (a, b) = if r % 2 == 0 {
                let a = time(&|| rt.block_on(o.run(what, block)));
                let b = time(&|| rt.block_on(n_.run(what, block)));
                (a, b)
            } else {
                let b = time(&|| rt.block_on(n_.run(what, block)));
                let a = time(&|| rt.block_on(o.run(what, block)));
                (a, b)
            };
            ratios.push(b.as_secs_f64() / a.as_secs_f64());
            ot.push(a.as_nanos() as f64 / block as f64);
            nt.push(b.as_nanos() as f64 / block as f64);
        }
        let med = |v: &mut Vec<f64>| { v.sort_by(|a, b| a.partial_cmp(b).unwrap()); v[v.len() / 2] };
        println!("{:<18} {:>10.1} {:>10.1} {:>14.3}", what, med(&mut ot), med(&mut nt), med(&mut ratios));
    }
}
