//! TTL expiry storm: GET latency on persistent keys while idle, then while
//! as many other keys (set with `SET ... PX`) expire at the same instant and
//! the active expiry cycle purges them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use kv_engine::{Db, Fsync, ManualClock, Options, SetOptions};

use crate::durability::random_value;
use crate::{summarize, Rng};

/// Options of `kv-bench ttl`.
#[derive(clap::Args)]
pub struct Args {
    /// Persistent keys read, and as many volatile keys expiring together.
    #[arg(long, default_value_t = 1_000_000)]
    keys: u64,
    /// Runs; median [min–max].
    #[arg(long, default_value_t = 3)]
    runs: usize,
}

const T0_MS: u64 = 1_767_225_600_000;

fn k(prefix: &str, i: u64) -> Vec<u8> {
    format!("{prefix}:{i:08}").into_bytes()
}

fn reads_until(db: &Db, n: u64, stop: &dyn Fn() -> bool) -> Result<Histogram<u64>, String> {
    let mut h = Histogram::<u64>::new_with_bounds(1, 600_000_000_000, 3).expect("histogram");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    while !stop() {
        for _ in 0..256 {
            let key = k("persist", rng.next() % n);
            let t = Instant::now();
            let v = db.get(&key).map_err(|e| e.to_string())?;
            h.saturating_record(t.elapsed().as_nanos() as u64);
            if v.is_none() {
                return Err("a persistent key is missing".into());
            }
        }
    }
    Ok(h)
}

struct Run {
    idle_p99_us: f64,
    storm_p50_us: f64,
    storm_p99_us: f64,
    storm_max_us: f64,
    idle_p50_us: f64,
    purge_s: f64,
    purged_per_s: f64,
}

fn one(n: u64) -> Result<Run, String> {
    let dir = tempfile::tempdir_in(".").map_err(|e| e.to_string())?;
    let clock = Arc::new(ManualClock::new(T0_MS));
    let opts = Options { clock: clock.clone(), fsync: Fsync::No, auto_compaction: false, ..Options::default() };
    let db = Db::open(dir.path(), opts).map_err(|e| e.to_string())?;
    let value = random_value(16, 3);
    let px = SetOptions::new().px(60_000);
    for i in 0..n {
        db.put(&k("persist", i), &value).map_err(|e| e.to_string())?;
        db.set(&k("volatile", i), &value, &px).map_err(|e| e.to_string())?;
    }
    let warm = Instant::now() + Duration::from_secs(1);
    reads_until(&db, n, &|| Instant::now() >= warm)?;
    let idle_end = Instant::now() + Duration::from_secs(2);
    let idle = reads_until(&db, n, &|| Instant::now() >= idle_end)?;
    let start = Instant::now();
    clock.advance_ms(60_000);
    let done = AtomicBool::new(false);
    let (storm, purge) = std::thread::scope(|s| {
        let watcher = s.spawn(|| {
            let deadline = Instant::now() + Duration::from_secs(600);
            while db.stats().expired_keys_active < n && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            done.store(true, Ordering::SeqCst);
            start.elapsed()
        });
        let h = reads_until(&db, n, &|| done.load(Ordering::SeqCst));
        (h, watcher.join().unwrap_or_default())
    });
    let storm = storm?;
    let purged = db.stats().expired_keys_active;
    let us = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    Ok(Run {
        idle_p50_us: us(&idle, 0.5),
        idle_p99_us: us(&idle, 0.99),
        storm_p50_us: us(&storm, 0.5),
        storm_p99_us: us(&storm, 0.99),
        storm_max_us: storm.max() as f64 / 1000.0,
        purge_s: purge.as_secs_f64(),
        purged_per_s: purged as f64 / purge.as_secs_f64(),
    })
}

/// Runs the expiry storm.
pub fn run(a: &Args) -> Result<(), String> {
    let runs: Vec<Run> = (0..a.runs.max(1)).map(|_| one(a.keys)).collect::<Result<_, _>>()?;
    let f = |g: &dyn Fn(&Run) -> f64, prec: usize| {
        let (m, lo, hi) = summarize(runs.iter().map(g).collect());
        format!("{m:.prec$} [{lo:.prec$}–{hi:.prec$}]")
    };
    println!(
        "## TTL expiry storm\n\n{n} persistent keys and {n} keys set with `SET k v PX 60000` (`Fsync::No`, \
         manual clock); the clock jumps 60 s so all {n} expire at once and the background active cycle (every \
         100 ms, 25 ms budget, Redis' defaults) purges them, writing a tombstone each. One thread GETs random \
         persistent keys throughout. Median [min–max] over {} runs.\n",
        runs.len(),
        n = a.keys
    );
    println!("| metric | value |");
    println!("|---|---|");
    println!("| GET p50 µs idle | {} |", f(&|r| r.idle_p50_us, 2));
    println!("| GET p99 µs idle | {} |", f(&|r| r.idle_p99_us, 2));
    println!("| GET p50 µs during storm | {} |", f(&|r| r.storm_p50_us, 2));
    println!("| GET p99 µs during storm | {} |", f(&|r| r.storm_p99_us, 2));
    println!("| GET max µs during storm | {} |", f(&|r| r.storm_max_us, 0));
    println!("| time to purge all s | {} |", f(&|r| r.purge_s, 2));
    println!("| keys purged / s | {} |", f(&|r| r.purged_per_s, 0));
    println!();
    Ok(())
}
