//! kv-store-adapter beside its peers: openkeyv 0.4, OpenDAL 0.58 and the raw clients,
//! doing the same workloads in one process and one run, on one thread (a current-thread
//! tokio runtime, the same for every side).
//!
//! Every side stores the same ~75-byte JSON document per key and decodes it on a read,
//! as an application would. Each workload runs on every side in turn, for `ROUNDS`
//! rounds with the order rotating; the report gives each side's median throughput and
//! this crate's ratio to it (above 1: this crate is faster).
//!
//! ```sh
//! peers/run.sh              # starts a private redis-server, runs everything
//! ```

use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

mod sides;

/// One key-value API under test. Batches default to a loop of single calls, which is
/// what a user of a side without native batches writes.
pub trait Side {
    fn name(&self) -> String;
    fn put(&self, key: &str, value: &Json) -> impl Future<Output = ()>;
    fn get(&self, key: &str) -> impl Future<Output = Option<Json>>;
    fn delete(&self, key: &str) -> impl Future<Output = ()>;
    /// Whether the batch calls below are the API's own (`false`: a loop).
    fn native_batches(&self) -> bool {
        false
    }
    fn put_many(&self, keys: &[String], values: &[Json]) -> impl Future<Output = ()> {
        async move {
            for (k, v) in keys.iter().zip(values) {
                self.put(k, v).await;
            }
        }
    }
    fn get_many(&self, keys: &[String]) -> impl Future<Output = usize> {
        async move {
            let mut found = 0;
            for k in keys {
                found += usize::from(self.get(k).await.is_some());
            }
            found
        }
    }
    fn delete_many(&self, keys: &[String]) -> impl Future<Output = ()> {
        async move {
            for k in keys {
                self.delete(k).await;
            }
        }
    }
}

/// The document stored under key `i`.
pub fn document(i: usize) -> Json {
    json!({ "id": i, "name": format!("user-{i:06}"), "email": format!("u{i:06}@example.com"), "ok": true })
}

const ROUNDS: usize = 11;
const BATCH: usize = 100;
const IN_FLIGHT: usize = 64;

/// The workloads, in the order each round runs them (each leaves what the next needs).
const WORKLOADS: [&str; 8] = [
    "put",
    "get hit",
    "get miss",
    "get, 64 in flight",
    "get_many x100",
    "delete",
    "put_many x100",
    "delete_many x100",
];

/// Runs workload `w` on `side` over `n` keys; answers operations per second.
async fn run<S: Side>(side: &S, w: &str, keys: &[String], docs: &[Json]) -> f64 {
    let missing: Vec<String> = keys.iter().map(|k| format!("{k}-missing")).collect();
    let start = Instant::now();
    match w {
        "put" => {
            for (k, v) in keys.iter().zip(docs) {
                side.put(k, v).await;
            }
        }
        "get hit" => {
            for k in keys {
                assert!(
                    side.get(k).await.is_some(),
                    "{}: {k} is missing",
                    side.name()
                );
            }
        }
        "get miss" => {
            for k in &missing {
                assert!(side.get(k).await.is_none());
            }
        }
        "get, 64 in flight" => {
            for chunk in keys.chunks(IN_FLIGHT) {
                let reads = futures::future::join_all(chunk.iter().map(|k| side.get(k))).await;
                assert!(reads.iter().all(Option::is_some));
            }
        }
        "get_many x100" => {
            for chunk in keys.chunks(BATCH) {
                assert_eq!(side.get_many(chunk).await, chunk.len());
            }
        }
        "delete" => {
            for k in keys {
                side.delete(k).await;
            }
        }
        "put_many x100" => {
            for (ks, vs) in keys.chunks(BATCH).zip(docs.chunks(BATCH)) {
                side.put_many(ks, vs).await;
            }
        }
        "delete_many x100" => {
            for chunk in keys.chunks(BATCH) {
                side.delete_many(chunk).await;
            }
        }
        _ => unreachable!("{w}"),
    }
    keys.len() as f64 / start.elapsed().as_secs_f64()
}

/// A group: the sides of one backend, ours first.
pub struct Group {
    pub title: &'static str,
    pub keys: usize,
    pub sides: Vec<sides::Any>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

async fn measure(group: &Group) -> Vec<(String, Vec<f64>)> {
    let keys: Vec<String> = (0..group.keys).map(|i| format!("key:{i:06}")).collect();
    let docs: Vec<Json> = (0..group.keys).map(document).collect();
    // ops/s per side, per workload, per round.
    let mut samples = vec![vec![Vec::new(); WORKLOADS.len()]; group.sides.len()];
    for round in 0..ROUNDS {
        // Rotate which side goes first, so none always meets a warm or cold machine.
        let order: Vec<usize> = (0..group.sides.len())
            .map(|i| (i + round) % group.sides.len())
            .collect();
        for &s in &order {
            let side = &group.sides[s];
            for (w, workload) in WORKLOADS.iter().enumerate() {
                let ops = side.run(workload, &keys, &docs).await;
                samples[s][w].push(ops);
            }
        }
    }
    group
        .sides
        .iter()
        .zip(samples)
        .map(|(side, per_workload)| (side.label(), per_workload.into_iter().map(median).collect()))
        .collect()
}

fn report(group: &Group, results: &[(String, Vec<f64>)]) {
    println!(
        "\n## {} ({} keys, median of {ROUNDS} rounds)\n",
        group.title, group.keys
    );
    print!("| workload |");
    for (name, _) in results {
        print!(" {name} |");
    }
    for (name, _) in &results[1..] {
        print!(" ours ÷ {name} |");
    }
    println!();
    println!("|---|{}", "---|".repeat(results.len() * 2 - 1));
    for (w, workload) in WORKLOADS.iter().enumerate() {
        print!("| {workload} |");
        for (_, ops) in results {
            print!(" {:.0} |", ops[w]);
        }
        let ours = results[0].1[w];
        for (_, ops) in &results[1..] {
            print!(" {:.2} |", ours / ops[w]);
        }
        println!();
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let only = std::env::args().nth(1);
    let redis_url = std::env::var("PEERS_REDIS_URL").ok();
    let started = Instant::now();
    println!("# kv-store-adapter beside its peers\n");
    println!(
        "One process, one current-thread runtime; each value a ~75-byte JSON document, \
         encoded on put and decoded on get by every side. Batches marked (loop) are \
         single calls in a loop: that side has no batch call."
    );
    for group in rt.block_on(sides::groups(redis_url.as_deref())) {
        if only
            .as_deref()
            .is_some_and(|o| !group.title.to_lowercase().starts_with(o))
        {
            continue;
        }
        let results = rt.block_on(measure(&group));
        report(&group, &results);
    }
    println!(
        "\n(all groups in {:.0} s)",
        started
            .elapsed()
            .as_secs_f64()
            .max(Duration::ZERO.as_secs_f64())
    );
}
