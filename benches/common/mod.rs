//! Shared by the benchmarks: criterion settings and the ratio table printed after a run.

use std::path::PathBuf;
use std::time::Duration;

use criterion::Criterion;

/// Short but stable settings: the suite runs on a 2-core shared machine.
pub fn criterion() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(40)
        .configure_from_args()
}

/// One line of the report: this library's benchmark against the raw client's.
pub struct Pair {
    pub workload: &'static str,
    pub ours: &'static str,
    pub raw: &'static str,
    /// The lowest acceptable ratio of our throughput to the raw client's.
    pub target: f64,
    /// The same ratio measured interleaved (see [`interleaved`]); when present it
    /// decides pass or fail, being far less sensitive to a noisy neighbour.
    pub interleaved: Option<f64>,
}

/// Runs `ours` and `raw` alternately, `rounds` times each (each call times one block of
/// operations), and answers median(raw time) / median(our time): our throughput as a
/// fraction of the raw client's. Alternating blocks of a few milliseconds see the same
/// machine conditions, which separate criterion runs seconds apart do not.
#[allow(dead_code)]
pub fn interleaved(
    rounds: usize,
    mut ours: impl FnMut() -> Duration,
    mut raw: impl FnMut() -> Duration,
) -> f64 {
    let (mut a, mut b) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    for _ in 0..rounds {
        a.push(ours());
        b.push(raw());
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2].as_secs_f64()
    };
    median(&mut b) / median(&mut a)
}

fn criterion_dir() -> PathBuf {
    if let Ok(home) = std::env::var("CRITERION_HOME") {
        return home.into();
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("criterion")
}

/// The median time per iteration, in nanoseconds, of the run that just finished.
fn median_ns(group: &str, id: &str) -> Option<f64> {
    let path = criterion_dir()
        .join(group)
        .join(id)
        .join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["median"]["point_estimate"].as_f64()
}

/// Prints, for each pair measured in this run, both throughputs, their ratio and
/// whether it meets the target.
pub fn report(group: &str, pairs: &[Pair]) {
    println!("\n{group}: this library vs the raw client, same run (medians)");
    println!(
        "{:<36} {:>12} {:>12} {:>7} {:>11} {:>7}  result",
        "workload", "ours op/s", "raw op/s", "ratio", "interleaved", "target"
    );
    for pair in pairs {
        let (Some(ours), Some(raw)) = (median_ns(group, pair.ours), median_ns(group, pair.raw))
        else {
            println!("{:<36} not measured in this run", pair.workload);
            continue;
        };
        let ratio = raw / ours;
        let deciding = pair.interleaved.unwrap_or(ratio);
        let verdict = if deciding >= pair.target {
            "pass"
        } else {
            "FAIL"
        };
        let interleaved = pair
            .interleaved
            .map_or_else(|| "-".to_string(), |r| format!("{r:.3}"));
        println!(
            "{:<36} {:>12.0} {:>12.0} {:>7.3} {:>11} {:>7.2}  {verdict}",
            pair.workload,
            1e9 / ours,
            1e9 / raw,
            ratio,
            interleaved,
            pair.target
        );
    }
}

/// Prints MB/s for benchmarks that each process `bytes` per iteration.
#[allow(dead_code)]
pub fn throughput(group: &str, bytes: f64, ids: &[&str]) {
    for id in ids {
        if let Some(ns) = median_ns(group, id) {
            println!("{group:<10} {id:<12} {:>10.0} MB/s", bytes / ns * 1e3);
        }
    }
}

/// Benchmarks `$s.$ours(i)` against `$s.$raw(i)` (async methods of a setup holding a
/// runtime `rt`) with criterion, then answers their interleaved ratio.
#[allow(unused_macros)]
macro_rules! bench_pair {
    ($g:expr, $s:expr, $ours:ident, $raw:ident) => {{
        let s = $s;
        let mut i = 0usize;
        $g.bench_function(stringify!($ours), |b| {
            b.to_async(&s.rt).iter(|| {
                i += 1;
                s.$ours(i)
            })
        });
        $g.bench_function(stringify!($raw), |b| {
            b.to_async(&s.rt).iter(|| {
                i += 1;
                s.$raw(i)
            })
        });
        let time = |ours: bool| {
            s.rt.block_on(async {
                let start = std::time::Instant::now();
                for i in 0..50 {
                    if ours {
                        s.$ours(i).await
                    } else {
                        s.$raw(i).await
                    }
                }
                start.elapsed()
            })
        };
        common::interleaved(41, || time(true), || time(false))
    }};
}

/// The `main` of a server benchmark: skips (saying so) without the server's URL in
/// `$env`, else builds `Setup::new(url)`, benchmarks each `(label, ours, raw, target)`
/// pair with [`bench_pair!`] and prints the report table.
#[allow(unused_macros)]
macro_rules! server_bench {
    ($group:literal, $env:literal, [$(($label:literal, $ours:ident, $raw:ident, $target:expr)),+ $(,)?]) => {
        fn main() {
            let Ok(url) = std::env::var($env) else {
                println!(concat!($group, " benchmark skipped: ", $env, " is not set (run scripts/servers.sh)"));
                return;
            };
            let setup = Setup::new(&url);
            let mut c = common::criterion().measurement_time(std::time::Duration::from_secs(2));
            let mut g = c.benchmark_group($group);
            let ratios = [$(bench_pair!(g, &setup, $ours, $raw)),+];
            g.finish();
            c.final_summary();
            let rows = [$(($label, stringify!($ours), stringify!($raw), $target)),+];
            let pairs: Vec<common::Pair> = rows
                .into_iter()
                .zip(ratios)
                .map(|((workload, ours, raw, target), ratio)| common::Pair {
                    workload,
                    ours,
                    raw,
                    target,
                    interleaved: Some(ratio),
                })
                .collect();
            common::report($group, &pairs);
        }
    };
}
