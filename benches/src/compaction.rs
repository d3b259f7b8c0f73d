//! Compaction: merge throughput beside a raw sequential write of the same
//! bytes, and put latency (Fsync::Always) while a merge runs vs idle.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use kv_engine::{Db, Fsync};

use crate::durability::random_value;
use crate::open::{fill, key, opts};
use crate::summarize;

/// Options of `kv-bench compaction`.
#[derive(clap::Args)]
pub struct Args {
    /// Live keys (each written twice, so half the log is dead).
    #[arg(long, default_value_t = 1_000_000)]
    keys: u64,
    /// Runs; median [min–max].
    #[arg(long, default_value_t = 3)]
    runs: usize,
}

fn hist() -> Histogram<u64> {
    Histogram::<u64>::new_with_bounds(1, 600_000_000_000, 3).expect("static histogram bounds are valid")
}

struct Run {
    merge_mb_s: f64,
    raw_mb_s: f64,
    idle_p99_us: f64,
    during_p99_us: f64,
    idle_p50_us: f64,
    during_p50_us: f64,
    during_max_us: f64,
    merge_s: f64,
}

fn puts_until(db: &Db, stop: &dyn Fn() -> bool, offset: u64, value: &[u8]) -> Result<Histogram<u64>, String> {
    let mut h = hist();
    let mut i = 0;
    while !stop() {
        let t = Instant::now();
        db.put(&key(offset + i), value).map_err(|e| e.to_string())?;
        h.saturating_record(t.elapsed().as_nanos() as u64);
        i += 1;
    }
    Ok(h)
}

fn one(n: u64) -> Result<Run, String> {
    let root = tempfile::tempdir_in(".").map_err(|e| e.to_string())?;
    let dir = root.path().join("db");
    let db = Db::open(&dir, opts(Fsync::Always)).map_err(|e| e.to_string())?;
    fill(&db, n, 0)?;
    fill(&db, n, 1)?;
    let value = random_value(100, 99);
    let idle_until = Instant::now() + Duration::from_secs(2);
    let idle = puts_until(&db, &|| Instant::now() >= idle_until, 10 * n, &value)?;
    let done = AtomicBool::new(false);
    let (summary, during) = std::thread::scope(|s| {
        let merger = s.spawn(|| {
            let r = db.compact();
            done.store(true, Ordering::SeqCst);
            r
        });
        let during = puts_until(&db, &|| done.load(Ordering::SeqCst), 20 * n, &value);
        (merger.join().map_err(|_| "merge thread panicked".to_string()), during)
    });
    let summary = summary?.map_err(|e| e.to_string())?;
    let during = during?;
    let merge_s = (summary.duration_ms.max(1)) as f64 / 1000.0;
    drop(db);
    // The same bytes written sequentially in 1 MiB chunks, one fsync at the end.
    let raw = root.path().join("raw.bin");
    let chunk = random_value(1 << 20, 7);
    let t = Instant::now();
    let mut f = std::fs::File::create(&raw).map_err(|e| e.to_string())?;
    let mut left = summary.output_bytes;
    while left > 0 {
        let k = left.min(chunk.len() as u64) as usize;
        f.write_all(&chunk[..k]).map_err(|e| e.to_string())?;
        left -= k as u64;
    }
    f.sync_all().map_err(|e| e.to_string())?;
    let raw_s = t.elapsed().as_secs_f64();
    let us = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    Ok(Run {
        merge_mb_s: summary.output_bytes as f64 / 1e6 / merge_s,
        raw_mb_s: summary.output_bytes as f64 / 1e6 / raw_s,
        idle_p50_us: us(&idle, 0.5),
        idle_p99_us: us(&idle, 0.99),
        during_p50_us: us(&during, 0.5),
        during_p99_us: us(&during, 0.99),
        during_max_us: during.max() as f64 / 1000.0,
        merge_s,
    })
}

/// Runs the compaction benchmark.
pub fn run(a: &Args) -> Result<(), String> {
    let runs: Vec<Run> = (0..a.runs.max(1)).map(|_| one(a.keys)).collect::<Result<_, _>>()?;
    let f = |g: &dyn Fn(&Run) -> f64, prec: usize| {
        let (m, lo, hi) = summarize(runs.iter().map(g).collect());
        format!("{m:.prec$} [{lo:.prec$}–{hi:.prec$}]")
    };
    println!(
        "## Compaction\n\n{} live keys (16 B keys, 100 B values), each written twice (half the log dead), then \
         `Db::compact()`. Merge MB/s = output bytes / merge time; raw = the same byte count written sequentially \
         in 1 MiB chunks + one fsync, same run. Put latency: one writer, `Fsync::Always`, 2 s idle, then during \
         the merge. Median [min–max] over {} runs.\n",
        a.keys,
        runs.len()
    );
    println!("| metric | value |");
    println!("|---|---|");
    println!("| merge time s | {} |", f(&|r| r.merge_s, 2));
    println!("| merge output MB/s | {} |", f(&|r| r.merge_mb_s, 1));
    println!("| raw sequential write MB/s | {} |", f(&|r| r.raw_mb_s, 1));
    println!("| merge ÷ raw | {} |", f(&|r| r.merge_mb_s / r.raw_mb_s, 2));
    println!("| put p50 µs idle | {} |", f(&|r| r.idle_p50_us, 0));
    println!("| put p50 µs during merge | {} |", f(&|r| r.during_p50_us, 0));
    println!("| put p99 µs idle | {} |", f(&|r| r.idle_p99_us, 0));
    println!("| put p99 µs during merge | {} |", f(&|r| r.during_p99_us, 0));
    println!("| put max µs during merge | {} |", f(&|r| r.during_max_us, 0));
    println!();
    Ok(())
}
