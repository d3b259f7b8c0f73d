//! Read throughput and memory per key.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use kv_engine::keydir::{Entry, KeyDir, Loc, ValueKind};
use kv_engine::{Db, Fsync, Options};

use crate::{alloc, parse_list, Rng};

/// Options of `kv-bench get`.
#[derive(clap::Args)]
pub struct GetArgs {
    /// Keys loaded (16-byte keys, 100-byte values).
    #[arg(long, default_value_t = 1_000_000)]
    keys: u64,
    /// Reader thread counts.
    #[arg(long, default_value = "1,2,4")]
    threads: String,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
}

fn key(i: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(b"key:\0\0\0\0");
    k[8..].copy_from_slice(&i.to_be_bytes());
    k
}

/// Loads keys, reopens (sealed segments are then memory-mapped) and reads.
pub fn run_get(a: &GetArgs) -> Result<(), String> {
    let dir = tempfile::tempdir_in(".").map_err(|e| e.to_string())?;
    let opts = || Options { fsync: Fsync::No, auto_compaction: false, ..Options::default() };
    {
        let db = Db::open(dir.path(), opts()).map_err(|e| e.to_string())?;
        let value = [7u8; 100];
        for i in 0..a.keys {
            db.put(&key(i), &value).map_err(|e| e.to_string())?;
        }
    }
    let t = Instant::now();
    let db = Db::open(dir.path(), opts()).map_err(|e| e.to_string())?;
    println!(
        "# kv-bench get: {} keys (16 B keys, 100 B values), reopened in {:.2} s\n",
        a.keys,
        t.elapsed().as_secs_f64()
    );
    println!("| threads | gets/s | p50 µs | p99 µs |");
    println!("|---|---|---|---|");
    for threads in parse_list(&a.threads)? {
        let stop = AtomicBool::new(false);
        let total = AtomicU64::new(0);
        let merged =
            std::sync::Mutex::new(Histogram::<u64>::new_with_bounds(1, 600_000_000_000, 3).expect("histogram"));
        let start = Instant::now();
        std::thread::scope(|s| {
            for t in 0..threads {
                let (db, stop, total, merged, n) = (&db, &stop, &total, &merged, a.keys);
                s.spawn(move || {
                    let mut rng = Rng(0x1234_5678_9ABC_DEF1 ^ ((t as u64 + 1) * 0x9E37_79B9));
                    let mut hist = Histogram::<u64>::new_with_bounds(1, 600_000_000_000, 3).expect("histogram");
                    let mut i = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let k = key(rng.next() % n);
                        let t0 = Instant::now();
                        let v = db.get(&k).expect("get");
                        hist.saturating_record(t0.elapsed().as_nanos() as u64);
                        assert!(v.is_some());
                        i += 1;
                    }
                    total.fetch_add(i, Ordering::Relaxed);
                    merged.lock().expect("lock").add(&hist).expect("merge");
                });
            }
            std::thread::sleep(Duration::from_secs_f64(a.seconds));
            stop.store(true, Ordering::Relaxed);
        });
        let secs = start.elapsed().as_secs_f64();
        let h = merged.into_inner().expect("lock");
        println!(
            "| {threads} | {:.0} | {:.2} | {:.2} |",
            total.load(Ordering::Relaxed) as f64 / secs,
            h.value_at_quantile(0.5) as f64 / 1000.0,
            h.value_at_quantile(0.99) as f64 / 1000.0
        );
    }
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
