//! Read throughput and memory per key.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use kv_engine::keydir::{Entry, KeyDir, Loc, ValueKind};

use crate::durability::random_value;
use crate::engines::{self, Engine, Policy};
use crate::{alloc, parse_list, summarize, Rng};

/// Options of `kv-bench get`.
#[derive(clap::Args)]
pub struct GetArgs {
    /// Key counts loaded (16 B keys, 100 B random values, the same for every engine).
    #[arg(long, default_value = "1000000")]
    keys: String,
    /// Reader thread counts.
    #[arg(long, default_value = "1,2,4")]
    threads: String,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Runs per cell; the median is reported with min–max.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Engines: `all` or a comma list (see `durability --help`).
    #[arg(long, default_value = "libkv")]
    engines: String,
}

fn key(i: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(b"key:\0\0\0\0");
    k[8..].copy_from_slice(&i.to_be_bytes());
    k
}

/// One timed window of random gets; (gets/s, p50 µs, p99 µs).
fn read_window(db: &dyn Engine, threads: usize, n: u64, seconds: f64, seed: u64) -> Result<(f64, f64, f64), String> {
    let stop = AtomicBool::new(false);
    let total = AtomicU64::new(0);
    let merged = std::sync::Mutex::new(Histogram::<u64>::new_with_bounds(1, 600_000_000_000, 3).expect("histogram"));
    let failure = std::sync::Mutex::new(None::<String>);
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let (stop, total, merged, failure) = (&stop, &total, &merged, &failure);
            s.spawn(move || {
                let mut rng = Rng(seed ^ ((t as u64 + 1) * 0x9E37_79B9));
                let mut hist = Histogram::<u64>::new_with_bounds(1, 600_000_000_000, 3).expect("histogram");
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let k = key(rng.next() % n);
                    let t0 = Instant::now();
                    let found = db.get(t, &k);
                    hist.saturating_record(t0.elapsed().as_nanos() as u64);
                    match found {
                        Ok(Some(_)) => i += 1,
                        Ok(None) => {
                            *failure.lock().unwrap_or_else(|p| p.into_inner()) = Some("a loaded key is missing".into());
                            stop.store(true, Ordering::Relaxed);
                        }
                        Err(e) => {
                            *failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                            stop.store(true, Ordering::Relaxed);
                        }
                    }
                }
                total.fetch_add(i, Ordering::Relaxed);
                let _ = merged.lock().unwrap_or_else(|p| p.into_inner()).add(&hist);
            });
        }
        let deadline = start + Duration::from_secs_f64(seconds);
        while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(10));
        }
        stop.store(true, Ordering::Relaxed);
    });
    if let Some(e) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let secs = start.elapsed().as_secs_f64();
    let h = merged.into_inner().unwrap_or_else(|p| p.into_inner());
    Ok((
        total.load(Ordering::Relaxed) as f64 / secs,
        h.value_at_quantile(0.5) as f64 / 1000.0,
        h.value_at_quantile(0.99) as f64 / 1000.0,
    ))
}

/// Loads keys into each engine, reopens it (libkv's sealed segments are then
/// memory-mapped; redis-server is not restarted) and reads random keys.
pub fn run_get(a: &GetArgs) -> Result<(), String> {
    let threads = parse_list(&a.threads)?;
    let max_threads = threads.iter().copied().max().unwrap_or(1);
    let value = random_value(100, 0xC0FFEE ^ 100);
    println!(
        "## Random gets\n\n16 B keys, 100 B random values loaded untimed (big batches, no fsync per write), then the \
         engine is reopened (redis-server: not restarted) and read with uniformly random keys; {} s per cell after \
         a 1 s warm-up, median of {} runs [min–max].\n",
        a.seconds, a.runs
    );
    println!("| engine | keys | open s | threads | gets/s | libkv ÷ this | p50 µs | p99 µs |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut names = engines::parse_engines(&a.engines)?;
    names.sort_by_key(|n| *n != "libkv");
    for n in parse_list(&a.keys)? {
        let n = n as u64;
        let mut libkv_by_threads = std::collections::BTreeMap::new();
        for name in &names {
            let dir = tempfile::tempdir_in(".").map_err(|e| e.to_string())?;
            let path = dir.path().join(name);
            let Some(db) = engines::open(name, &path, Policy::No, max_threads)? else { continue };
            db.load(&mut (0..n).map(|i| (key(i).to_vec(), value.clone())))?;
            let (db, open_s) = if *name == "redis" {
                (db, 0.0)
            } else {
                drop(db);
                let t = Instant::now();
                let db = engines::open(name, &path, Policy::No, max_threads)?.ok_or("engine vanished")?;
                (db, t.elapsed().as_secs_f64())
            };
            read_window(db.as_ref(), max_threads, n, 1.0, 7)?;
            for &t in &threads {
                let runs: Vec<(f64, f64, f64)> = (0..a.runs.max(1))
                    .map(|r| read_window(db.as_ref(), t, n, a.seconds, 0x1234_5678_9ABC_DEF1 + r as u64))
                    .collect::<Result<_, _>>()?;
                let (med, lo, hi) = summarize(runs.iter().map(|r| r.0).collect());
                let mid =
                    runs.iter().min_by(|x, y| (x.0 - med).abs().total_cmp(&(y.0 - med).abs())).unwrap_or(&runs[0]);
                let ratio = if *name == "libkv" {
                    libkv_by_threads.insert(t, med);
                    "1.00".to_string()
                } else {
                    libkv_by_threads.get(&t).map_or("-".into(), |l| format!("{:.2}", l / med))
                };
                println!(
                    "| {name} | {n} | {open_s:.2} | {t} | {med:.0} [{lo:.0}–{hi:.0}] | {ratio} | {:.2} | {:.2} |",
                    mid.1, mid.2
                );
            }
        }
    }
    println!("\nredis-server is read over loopback TCP (one request in flight per connection): its figures include a network round trip, the embedded engines' do not.\n");
    Ok(())
}

/// Options of `kv-bench memory`.
#[derive(clap::Args)]
pub struct MemoryArgs {
    /// Key counts to measure.
    #[arg(long, default_value = "1000000,10000000")]
    keys: String,
    /// Key length in bytes.
    #[arg(long, default_value_t = 16)]
    key_len: usize,
}

/// Counts heap bytes of a keydir holding N keys; a fraction carry a TTL.
pub fn run_memory(a: &MemoryArgs) -> Result<(), String> {
    println!("# kv-bench memory: keydir heap per key (counting allocator), {}-byte keys\n", a.key_len);
    println!("| keys | TTL keys | heap bytes | bytes/key | bytes/key − key length |");
    println!("|---|---|---|---|---|");
    for n in parse_list(&a.keys)? {
        for ttl_every in [0usize, 10] {
            let before = alloc::live_bytes();
            let kd = KeyDir::new();
            let mut k = vec![b'k'; a.key_len];
            for i in 0..n {
                let tail = (i as u64).to_be_bytes();
                let l = k.len();
                k[l - 8..].copy_from_slice(&tail);
                let expire_at_ms = if ttl_every != 0 && i % ttl_every == 0 { 1_900_000_000_000 } else { 0 };
                let e = Entry {
                    loc: Loc { seg: (i / 100_000) as u32, off: (i % 100_000) as u32 * 150, len: 150 },
                    kind: ValueKind::String,
                    expire_at_ms,
                };
                kd.insert(&k, e).map_err(|_| "shard full".to_string())?;
            }
            let bytes = alloc::live_bytes() - before;
            let per = bytes as f64 / n as f64;
            println!(
                "| {n} | {} | {bytes} | {per:.1} | {:.1} |",
                100usize.checked_div(ttl_every).map_or("0%".to_string(), |p| format!("{p}%")),
                per - a.key_len as f64
            );
            drop(kd);
        }
    }
    Ok(())
}
