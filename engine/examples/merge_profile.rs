//! Times one merge of a log where every key was written twice (a profiling
//! aid: `perf record` this example). Usage: merge_profile DIR KEYS VALUE_BYTES [SCAN_THREADS]
use std::time::Instant;

mod common;

use common::{cpu_ms, usage};
use kv_engine::{Db, Fsync, Options};

fn main() -> kv_engine::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| "merge-profile-db".into());
    let n: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let value_bytes: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100);
    let threads: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(Options::default().compaction_threads);
    let opts = Options {
        fsync: Fsync::No,
        auto_compaction: false,
        active_expiry: false,
        compaction_threads: threads,
        // KV_DIRECT_IO=0 writes the merge output through the page cache.
        compaction_direct_io: std::env::var("KV_DIRECT_IO").map_or(true, |v| v != "0"),
        ..Options::default()
    };
    let _ = std::fs::remove_dir_all(&dir);
    let db = Db::open(&dir, opts)?;
    // Incompressible values (xorshift), so the merge copies what a real
    // workload of random bytes would.
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut v = vec![0u8; value_bytes];
    for round in 0..2u64 {
        for i in 0..n {
            for b in v.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            let mut k = *b"key:\0\0\0\0\0\0\0\0\0\0\0\0";
            k[8..].copy_from_slice(&(i ^ (round << 63)).to_be_bytes());
            k[8] &= 0x7f;
            db.put(&k, &v)?;
        }
    }
    db.sync()?;
    let cpu0 = cpu_ms();
    let u0 = usage();
    let t = Instant::now();
    // On its own named thread, so `perf report --comm merger` shows the merge alone.
    let s = std::thread::scope(|scope| {
        let merger = std::thread::Builder::new().name("merger".into()).spawn_scoped(scope, || db.compact())?;
        merger.join().map_err(|_| kv_engine::Error::Internal("merge thread panicked".into()))?
    })?;
    let secs = t.elapsed().as_secs_f64();
    let cpu_merge = cpu_ms() - cpu0;
    let u1 = usage();
    println!("merge: user {} ms, system {} ms, minor faults {}", u1.0 - u0.0, u1.1 - u0.1, u1.2 - u0.2);
    // The background remover frees the inputs after the merge returned.
    let t = Instant::now();
    db.wait_for_removals()?;
    let background_ms = t.elapsed().as_millis();
    println!(
        "merged {} MB of input ({} segments, {} copied from the index's list, {} scan threads) into {} MB in \
         {secs:.3} s (merge {} ms of which {} ms retiring the inputs, {} ms CPU; then {background_ms} ms until the \
         background remover was done): {:.0} MB/s written, {:.0} MB/s read",
        s.input_bytes / 1_000_000,
        s.input_segments.len(),
        s.inputs_copied_from_index,
        s.scan_threads,
        s.output_bytes / 1_000_000,
        s.duration_ms,
        s.removal_ms,
        cpu_merge,
        s.output_bytes as f64 / 1e6 / secs,
        s.input_bytes as f64 / 1e6 / secs
    );
    Ok(())
}
