//! Shared by the benchmarks: criterion settings and the ratio table printed after a run.

use std::path::PathBuf;
use std::time::Duration;

use criterion::Criterion;

#[allow(dead_code)]
pub mod workloads;

/// Short but stable settings: the suite runs on a 2-core shared machine.
#[allow(dead_code)]
pub fn criterion() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(40)
        .configure_from_args()
}

/// The runtime the async benchmarks use: two workers, as many as this machine's cores.
#[allow(dead_code)]
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A server's URL from `var`; without it, says that `group` is skipped.
#[allow(dead_code)]
pub fn server_url(group: &str, var: &str) -> Option<String> {
    let url = std::env::var(var).ok();
    if url.is_none() {
        println!("{group} benchmark skipped: {var} is not set (run scripts/servers.sh)");
    }
    url
}

/// One line of the report: this library's benchmark against the raw client's.
#[derive(Default)]
pub struct Pair {
    pub workload: &'static str,
    pub ours: &'static str,
    pub raw: &'static str,
    /// The lowest acceptable ratio of our throughput to the raw client's.
    pub target: f64,
    /// The same ratio measured interleaved (see [`interleaved`]); when present it
    /// decides pass or fail, being far less sensitive to a noisy neighbour.
    pub interleaved: Option<f64>,
    /// Operations per benchmark iteration (keys of a batch, gets of an in-flight
    /// round); 0 counts as 1.
    pub per_iter: f64,
    /// The same for the raw side, when it differs; 0 means `per_iter`.
    pub raw_per_iter: f64,
}

/// Runs `ours` and `raw` alternately, `rounds` times each (each call times one block of
/// operations), and answers the median over rounds of raw time / our time: our
/// throughput as a fraction of the raw client's. Alternating blocks of a few
/// milliseconds see the same machine conditions, which separate criterion runs seconds
/// apart do not; each round's two blocks are compared with each other (paired), and
/// which side goes first alternates, so neither side always runs on a cache or CPU
/// state the other one left behind.
#[allow(dead_code)]
pub fn interleaved(
    rounds: usize,
    ours: impl FnMut() -> Duration,
    raw: impl FnMut() -> Duration,
) -> f64 {
    median(interleaved_ratios(rounds, ours, raw))
}

/// Each round's ratio of [`interleaved`], to pool rounds measured on several set-ups.
#[allow(dead_code)]
pub fn interleaved_ratios(
    rounds: usize,
    mut ours: impl FnMut() -> Duration,
    mut raw: impl FnMut() -> Duration,
) -> Vec<f64> {
    (0..rounds)
        .map(|round| {
            let (a, b) = if round % 2 == 0 {
                let a = ours();
                (a, raw())
            } else {
                let b = raw();
                (ours(), b)
            };
            b.as_secs_f64() / a.as_secs_f64()
        })
        .collect()
}

/// [`interleaved`] for several sides against one raw side: each round times every
/// side once, the order turning by one each round, and each side's ratio is the raw
/// side's time of that round over its own. Answers each side's median, in order: sides
/// measured in one rhythm of a noisy machine, where separate runs land in different ones.
#[allow(dead_code)]
pub fn interleaved_sides(
    rounds: usize,
    mut raw: impl FnMut() -> Duration,
    sides: &mut [&mut dyn FnMut() -> Duration],
) -> Vec<f64> {
    let n = sides.len() + 1;
    let mut ratios = vec![Vec::with_capacity(rounds); sides.len()];
    for round in 0..rounds {
        let mut times = vec![Duration::ZERO; n];
        for turn in 0..n {
            let i = (round + turn) % n;
            times[i] = if i == 0 { raw() } else { sides[i - 1]() };
        }
        for (side, ratio) in ratios.iter_mut().enumerate() {
            ratio.push(times[0].as_secs_f64() / times[side + 1].as_secs_f64());
        }
    }
    ratios.into_iter().map(median).collect()
}

/// The median of `values` (not empty).
#[allow(dead_code)]
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn criterion_dir() -> PathBuf {
    if let Ok(home) = std::env::var("CRITERION_HOME") {
        return home.into();
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("criterion")
}

/// The median time per iteration, in nanoseconds, of the run that just finished.
pub fn median_ns(group: &str, id: &str) -> Option<f64> {
    let path = criterion_dir()
        .join(group)
        .join(id)
        .join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["median"]["point_estimate"].as_f64()
}

/// The report rows of every benchmark run since `scripts/bench.sh` cleared it.
fn report_file() -> PathBuf {
    criterion_dir().with_file_name("bench-report.tsv")
}

/// Appends one row (tab-separated) to the combined report.
pub fn record(row: &[String]) {
    use std::io::Write;
    let line = row.join("\t") + "\n";
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(report_file());
    if let Ok(mut file) = file {
        let _ = file.write_all(line.as_bytes());
    }
}

/// Prints, for each pair measured in this run, both throughputs, their ratio and
/// whether it meets the target; and records each row for the combined report.
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
        let per_iter = if pair.per_iter > 0.0 {
            pair.per_iter
        } else {
            1.0
        };
        let raw_per_iter = if pair.raw_per_iter > 0.0 {
            pair.raw_per_iter
        } else {
            per_iter
        };
        let (ours_ops, raw_ops) = (per_iter * 1e9 / ours, raw_per_iter * 1e9 / raw);
        let ratio = ours_ops / raw_ops;
        let deciding = pair.interleaved.unwrap_or(ratio);
        let verdict = if deciding >= pair.target {
            "pass"
        } else {
            "FAIL"
        };
        let interleaved = pair
            .interleaved
            .map_or_else(|| "-".to_string(), |r| format!("{r:.3}"));
        let per_iter = if pair.per_iter > 0.0 {
            pair.per_iter
        } else {
            1.0
        };
        let (ours_ops, raw_ops) = (per_iter * 1e9 / ours, per_iter * 1e9 / raw);
        println!(
            "{:<36} {:>12.0} {:>12.0} {:>7.3} {:>11} {:>7.2}  {verdict}",
            pair.workload, ours_ops, raw_ops, ratio, interleaved, pair.target
        );
        record(&[
            group.to_owned(),
            pair.workload.to_owned(),
            format!("{ours_ops:.0}"),
            format!("{raw_ops:.0}"),
            format!("{deciding:.3}"),
            format!("{:.2}", pair.target),
            verdict.to_owned(),
        ]);
    }
}

/// Prints MB/s for benchmarks that each process `bytes` per iteration.
#[allow(dead_code)]
pub fn throughput(group: &str, bytes: f64, ids: &[&str]) {
    for id in ids {
        if let Some(ns) = median_ns(group, id) {
            let mbs = bytes / ns * 1e3;
            println!("{group:<10} {id:<12} {mbs:>10.0} MB/s");
            record(&[
                group.to_owned(),
                format!("{id} (MB/s)"),
                format!("{mbs:.0}"),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
            ]);
        }
    }
}

/// A server process of the bench's own (the tests' helper): benches that fill a
/// database with a million keys use a private redis-server, away from the shared test
/// server.
#[allow(dead_code)]
#[path = "../../tests/support/server.rs"]
pub mod server;

/// The longest gap a 1 ms ticker sees on a one-thread runtime while that thread also
/// runs `work` (median of `rounds`): how long `work` holds up the executor.
#[allow(dead_code)]
pub fn longest_stall<F: std::future::Future<Output = ()>>(
    rounds: usize,
    work: impl Fn() -> F,
) -> f64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut stalls: Vec<f64> = (0..rounds)
        .map(|_| {
            rt.block_on(async {
                let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
                let ticker = {
                    let stop = stop.clone();
                    tokio::spawn(async move {
                        let mut longest = std::time::Duration::ZERO;
                        let mut last = std::time::Instant::now();
                        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                            longest = longest.max(last.elapsed());
                            last = std::time::Instant::now();
                        }
                        longest
                    })
                };
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                work().await;
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                ticker.await.unwrap().as_secs_f64() * 1e3
            })
        })
        .collect();
    stalls.sort_by(f64::total_cmp);
    stalls[stalls.len() / 2]
}

/// Prints and records one stall row of `group`: `ours` and `other` (what `other_is`)
/// in milliseconds, against a bound of 5 ms.
#[allow(dead_code)]
pub fn stall_row(group: &str, what: &str, ours: f64, other: f64, other_is: &str) {
    let target = 5.0;
    let result = if ours <= target { "pass" } else { "FAIL" };
    println!(
        "{group}: longest executor stall of a 1 ms ticker during {what} (median of 11): \
         ours {ours:.2} ms, {other_is} {other:.2} ms (target <= {target} ms): {result}"
    );
    record(&[
        group.into(),
        format!("longest executor stall during {what} (ms)"),
        format!("{ours:.2}"),
        format!("{other:.2}"),
        format!("{:.3}", ours / other.max(1e-9)),
        format!("<= {target} ms"),
        result.into(),
    ]);
}
