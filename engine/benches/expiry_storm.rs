//! Expiry storm: GET latency on 1M persistent keys while idle, then while
//! 1M other keys expire at the same instant and the active expiry cycle
//! purges them (writing a tombstone for each).
//!
//! Run: `cargo bench -p kv-engine --bench expiry_storm` (release build).
//! Sizes can be lowered with `EXPIRY_STORM_KEYS=100000`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use kv_engine::{Db, Fsync, ManualClock, Options, WriteBatch};

const T0_MS: u64 = 1_767_225_600_000;

/// Small xorshift so the reader's key choice costs nothing and needs no crate.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// GETs random persistent keys until `stop`, recording each latency in ns.
fn measure(db: &Db, keys: u64, stop: &dyn Fn() -> bool) -> Histogram<u64> {
    let mut h = Histogram::<u64>::new_with_bounds(1, 10_000_000_000, 3).expect("histogram bounds");
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    while !stop() {
        for _ in 0..256 {
            let k = format!("persist:{:08}", next(&mut rng) % keys);
            let t = Instant::now();
            let v = db.get(k.as_bytes()).expect("get");
            let ns = t.elapsed().as_nanos() as u64;
            assert!(v.is_some());
            h.saturating_record(ns.max(1));
        }
    }
    h
}

fn report(name: &str, h: &Histogram<u64>) {
    println!(
        "{name:<28} gets={:>9} p50={:>6} ns p99={:>7} ns p99.9={:>8} ns max={:>9} ns",
        h.len(),
        h.value_at_quantile(0.50),
        h.value_at_quantile(0.99),
        h.value_at_quantile(0.999),
        h.max()
    );
}

fn main() {
    let keys: u64 = std::env::var("EXPIRY_STORM_KEYS").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(T0_MS));
    let opts = Options {
        clock: clock.clone(),
        // Loading 2M keys durably is not what is measured; purges never wait
        // for fsync under any policy.
        fsync: Fsync::No,
        auto_compaction: false,
        ..Options::default()
    };
    let db = Db::open(dir.path(), opts.clone()).expect("open");
    let load = Instant::now();
    for start in (0..keys).step_by(10_000) {
        let mut b = WriteBatch::new();
        for i in start..(start + 10_000).min(keys) {
            b.put(format!("persist:{i:08}").as_bytes(), b"value-0123456789");
            b.put_with_expiry(format!("volatile:{i:08}").as_bytes(), b"value-0123456789", T0_MS + 60_000);
        }
        db.write_batch(&b).expect("load");
    }
    println!("loaded {} keys ({keys} expiring together) in {:?}", 2 * keys, load.elapsed());
    println!("active expiry: every {} ms, budget {} ms", opts.active_expiry_interval_ms, opts.active_expiry_budget_ms);

    // Warm-up: fault in the mapped segments and the keydir before measuring.
    let warm_until = Instant::now() + Duration::from_secs(2);
    let _ = measure(&db, keys, &|| Instant::now() >= warm_until);
    let idle_until = Instant::now() + Duration::from_secs(3);
    let idle = measure(&db, keys, &|| Instant::now() >= idle_until);

    // Storm: every volatile key expires now; the background cycle purges them.
    let storm_start = Instant::now();
    clock.advance_ms(60_000);
    let done = AtomicBool::new(false);
    let storm = std::thread::scope(|s| {
        let watcher = s.spawn(|| {
            while db.stats().expired_keys_active < keys {
                std::thread::sleep(Duration::from_millis(20));
            }
            done.store(true, Ordering::SeqCst);
            storm_start.elapsed()
        });
        let h = measure(&db, keys, &|| done.load(Ordering::SeqCst));
        (h, watcher.join().expect("watcher"))
    });
    let (storm_hist, purge_time) = storm;
    let s = db.stats();
    report("idle", &idle);
    report("during expiry storm", &storm_hist);
    println!(
        "purged {} keys actively in {:.2?} ({:.0} keys/s), lazy {}, live keys now {}",
        s.expired_keys_active,
        purge_time,
        s.expired_keys_active as f64 / purge_time.as_secs_f64(),
        s.expired_keys_lazy,
        s.keys
    );
}
