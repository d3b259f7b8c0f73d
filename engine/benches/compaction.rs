//! Compaction and hint-file benchmark (not a test; `harness = false`).
//!
//! ```text
//! KV_BENCH_KEYS=1000000 KV_BENCH_DIR=/path cargo bench -p kv-engine --bench compaction
//! ```
//!
//! `KV_BENCH_ONLY=merge` (or a comma list of `open`, `merge`, `put`,
//! `disk`) runs only those parts; `KV_BENCH_MERGE_ROUNDS` (default 3) sets
//! how many merge/raw-write pairs part 2 runs.
//!
//! Measures, on the real file system:
//! 1. open time with N keys (16-byte keys, 100-byte values) from hint files
//!    vs a full scan of the same segments (hints removed);
//! 2. merge throughput vs a raw sequential write of the same byte count
//!    (1 MiB writes, one fsync at the end), each merge followed by its own
//!    raw write, over several rounds;
//! 3. put latency (Fsync::Always) while a merge runs vs idle;
//! 4. disk use after overwriting every key 10 times and merging.
//!
//! The page cache is warm for both opens (the files were just written);
//! the difference is the bytes read and the records decoded.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use kv_engine::{Db, Fsync, Options, WriteBatch};

const VALUE_LEN: usize = 100;

fn key(i: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(b"key:\0\0\0\0");
    k[8..].copy_from_slice(&i.to_be_bytes());
    k
}

fn value(i: u64, round: u64) -> [u8; VALUE_LEN] {
    let mut v = [b'v'; VALUE_LEN];
    v[..8].copy_from_slice(&i.to_le_bytes());
    v[8..16].copy_from_slice(&round.to_le_bytes());
    v
}

fn opts(fsync: Fsync) -> Options {
    Options { fsync, auto_compaction: false, active_expiry: false, ..Options::default() }
}

fn fill(db: &Db, n: u64, round: u64) {
    let mut b = WriteBatch::new();
    for i in 0..n {
        b.put(&key(i), &value(i, round));
        if b.len() == 1000 {
            db.write_batch(&b).unwrap();
            b.clear();
        }
    }
    if !b.is_empty() {
        db.write_batch(&b).unwrap();
    }
}

fn files_bytes(dir: &Path, ext: &str) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(ext))
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

fn mb_per_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

/// Drops this directory's files (only) from the page cache, so an open reads
/// them from the disk. The files are clean (synced), so the kernel can drop them.
fn evict(dir: &Path) {
    use std::os::unix::io::AsRawFd;
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if let Ok(f) = std::fs::File::open(e.path()) {
            // SAFETY: plain syscall on a descriptor we own for its duration.
            unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        }
    }
}

fn time_open(dir: &Path, cold: bool) -> (Duration, kv_engine::RecoveryStats, u64) {
    if cold {
        evict(dir);
    }
    let t = Instant::now();
    let db = Db::open(dir, opts(Fsync::No)).unwrap();
    let took = t.elapsed();
    let st = db.stats();
    (took, st.recovery, st.keys)
}

fn bench_open(root: &Path, n: u64) {
    let dir = root.join("open");
    {
        let db = Db::open(&dir, opts(Fsync::No)).unwrap();
        let t = Instant::now();
        fill(&db, n, 0);
        println!("load: {n} keys in {:.2?}", t.elapsed());
        let s = db.compact().unwrap();
        println!("merge for hints: {} outputs, {:.2?}", s.output_segments.len(), Duration::from_millis(s.duration_ms));
    }
    println!(
        "disk: {:.1} MB segments, {:.1} MB hints",
        files_bytes(&dir, ".seg") as f64 / 1e6,
        files_bytes(&dir, ".hint") as f64 / 1e6
    );
    for cold in [false, true] {
        open_pair(root, &dir, n, cold);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn open_pair(root: &Path, dir: &Path, n: u64, cold: bool) {
    let mut with_hints = Vec::new();
    for _ in 0..3 {
        let (d, r, keys) = time_open(dir, cold);
        assert_eq!(keys, n);
        assert!(r.segments_from_hints > 0);
        with_hints.push(d);
    }
    // Hide the hints (keep a copy) and open again: full scan.
    let hidden = root.join("hidden-hints");
    std::fs::create_dir_all(&hidden).unwrap();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.file_name().to_string_lossy().ends_with(".hint") {
            std::fs::copy(e.path(), hidden.join(e.file_name())).unwrap();
        }
    }
    let mut scans = Vec::new();
    for _ in 0..3 {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            if e.file_name().to_string_lossy().ends_with(".hint") {
                std::fs::remove_file(e.path()).unwrap();
            }
        }
        let (d, r, keys) = time_open(dir, cold);
        assert_eq!(keys, n);
        assert_eq!(r.segments_from_hints, 0);
        scans.push(d);
    }
    with_hints.sort();
    scans.sort();
    let (h, s) = (with_hints[1], scans[1]);
    let cache = if cold { "cold cache" } else { "warm cache" };
    println!(
        "open {n} keys ({cache}): hints {h:.2?} (runs {with_hints:.2?}), full scan {s:.2?} (runs {scans:.2?}), speed-up {:.1}x",
        s.as_secs_f64() / h.as_secs_f64()
    );
    // Put the hints back for the next pair.
    for e in std::fs::read_dir(&hidden).unwrap().flatten() {
        std::fs::rename(e.path(), dir.join(e.file_name())).unwrap();
    }
    let _ = std::fs::remove_dir_all(&hidden);
}

/// Merge rounds (each on a fresh database, each followed by its own raw
/// write): the host's disk and CPU vary by tens of percent from one minute
/// to the next, so one pair proves little.
fn merge_rounds() -> usize {
    std::env::var("KV_BENCH_MERGE_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3).max(1)
}

fn bench_merge_throughput(root: &Path, n: u64) {
    let mut ratios = Vec::new();
    for round in 0..merge_rounds() {
        let dir = root.join(format!("merge-{round}"));
        let db = Db::open(&dir, opts(Fsync::No)).unwrap();
        fill(&db, n, 0);
        fill(&db, n, 1);
        let s = db.compact().unwrap();
        // The inputs' blocks are freed by the background remover after the
        // merge returns; waiting here keeps that I/O out of the raw write.
        let t = Instant::now();
        db.wait_for_removals().unwrap();
        let background = t.elapsed();
        let d = Duration::from_millis(s.duration_ms.max(1));
        println!(
            "merge: {:.1} MB in -> {:.1} MB out in {d:.2?} ({} ms retiring the inputs, then {background:.2?} until the \
             background remover was done; {} of {} inputs copied from the index's list): {:.1} MB/s written, {:.1} \
             MB/s read",
            s.input_bytes as f64 / 1e6,
            s.output_bytes as f64 / 1e6,
            s.removal_ms,
            s.inputs_copied_from_index,
            s.input_segments.len(),
            mb_per_s(s.output_bytes, d),
            mb_per_s(s.input_bytes, d)
        );
        drop(db);
        // Raw sequential write of the same byte count, fsync at the end.
        let raw = dir.join("raw.bin");
        let chunk = vec![0xA5u8; 1 << 20];
        let t = Instant::now();
        let mut f = std::fs::File::create(&raw).unwrap();
        let mut left = s.output_bytes;
        while left > 0 {
            let k = left.min(chunk.len() as u64) as usize;
            f.write_all(&chunk[..k]).unwrap();
            left -= k as u64;
        }
        f.sync_all().unwrap();
        let rd = t.elapsed();
        let ratio = mb_per_s(s.output_bytes, d) / mb_per_s(s.output_bytes, rd);
        println!(
            "raw sequential write: {:.1} MB in {rd:.2?}: {:.1} MB/s (merge/raw = {ratio:.2})",
            s.output_bytes as f64 / 1e6,
            mb_per_s(s.output_bytes, rd),
        );
        ratios.push(ratio);
        let _ = std::fs::remove_dir_all(&dir);
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "merge/raw over {} rounds: median {:.2}, range {:.2}-{:.2}",
        ratios.len(),
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1]
    );
}

fn put_latencies(db: &Db, count: u64, offset: u64) -> Histogram<u64> {
    let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    for i in 0..count {
        let t = Instant::now();
        db.put(&key(offset + i), &value(i, 9)).unwrap();
        h.record(t.elapsed().as_micros().max(1) as u64).unwrap();
    }
    h
}

fn bench_put_during_merge(root: &Path, n: u64) {
    let dir = root.join("latency");
    let db = Arc::new(Db::open(&dir, opts(Fsync::Always)).unwrap());
    fill(&db, n, 0);
    fill(&db, n, 1);
    let idle = put_latencies(&db, 3000, 10 * n);
    let running = Arc::new(AtomicBool::new(true));
    let merger = {
        let (db, running) = (db.clone(), running.clone());
        std::thread::spawn(move || {
            let s = db.compact().unwrap();
            // Puts are timed until the inputs are removed too: the background
            // remover's truncations and discards run beside them.
            db.wait_for_removals().unwrap();
            running.store(false, Ordering::Relaxed);
            s
        })
    };
    let mut during = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    let mut i = 0;
    while running.load(Ordering::Relaxed) {
        during.add(put_latencies(&db, 100, 11 * n + i)).unwrap();
        i += 100;
    }
    let s = merger.join().unwrap();
    let show = |h: &Histogram<u64>| {
        format!(
            "n={} p50={}us p99={}us p99.9={}us max={}us",
            h.len(),
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.99),
            h.value_at_quantile(0.999),
            h.max()
        )
    };
    println!("put (fsync always) idle:         {}", show(&idle));
    println!("put (fsync always) during merge and input removal: {} (merge took {} ms)", show(&during), s.duration_ms);
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

fn bench_disk_use(root: &Path, n: u64) {
    let dir = root.join("disk");
    let o = Options { preallocate: false, ..opts(Fsync::No) };
    let db = Db::open(&dir, o).unwrap();
    for round in 0..10 {
        fill(&db, n, round);
    }
    let before = files_bytes(&dir, ".seg");
    db.compact().unwrap();
    let segs = files_bytes(&dir, ".seg");
    let hints = files_bytes(&dir, ".hint");
    let live = n * (32 + 16 + VALUE_LEN as u64);
    println!(
        "disk after 10x overwrite of {n} keys: {:.1} MB before merge, {:.1} MB segments + {:.1} MB hints after; live data {:.1} MB; segments/live = {:.3}, (segments+hints)/live = {:.3}",
        before as f64 / 1e6,
        segs as f64 / 1e6,
        hints as f64 / 1e6,
        live as f64 / 1e6,
        segs as f64 / live as f64,
        (segs + hints) as f64 / live as f64
    );
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let n: u64 = std::env::var("KV_BENCH_KEYS").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let base = std::env::var("KV_BENCH_DIR").map(std::path::PathBuf::from).unwrap_or_else(|_| std::env::temp_dir());
    let root = tempfile::tempdir_in(base).unwrap();
    println!("compaction benchmark, N = {n}, dir {}", root.path().display());
    // KV_BENCH_ONLY=merge,disk (a comma list of open, merge, put, disk) runs those parts only.
    let only = std::env::var("KV_BENCH_ONLY").unwrap_or_default();
    let runs = |part: &str| only.is_empty() || only.split(',').any(|p| p.trim() == part);
    if runs("open") {
        bench_open(root.path(), n);
    }
    if runs("merge") {
        bench_merge_throughput(root.path(), n);
    }
    if runs("put") {
        bench_put_during_merge(root.path(), (n / 4).max(1000));
    }
    if runs("disk") {
        bench_disk_use(root.path(), (n / 10).max(1000));
    }
}
