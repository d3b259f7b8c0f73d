//! Compaction: merge throughput beside a raw sequential write of the same
//! bytes, and put latency (Fsync::Always) while a merge runs vs idle.
//! With `--peers` (cargo features `peers` / `peers-rocksdb`), RocksDB's and
//! fjall's full compaction of the same data in the same rounds (`peers.rs`).

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use kv_engine::{Db, Fsync};

use crate::durability::random_value;
use crate::open::{fill_sized, key, opts};
use crate::summarize;

#[cfg(any(feature = "peers", feature = "peers-rocksdb"))]
mod peers;

/// Options of `kv-bench compaction`.
#[derive(clap::Args)]
pub struct Args {
    /// Live keys (each written twice, so half the log is dead).
    #[arg(long, default_value_t = 1_000_000)]
    keys: u64,
    /// Runs; median [min–max].
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Value size in bytes (random, incompressible).
    #[arg(long, default_value_t = 100)]
    value_bytes: usize,
    /// Write merge output through the page cache
    /// (`Options::compaction_direct_io = false`).
    #[arg(long)]
    buffered_merge: bool,
    /// Merge rate limit in MB/s (`Options::compaction_rate_limit_bytes_per_sec`); 0 = none.
    #[arg(long, default_value_t = 0)]
    merge_rate_limit_mb_s: u64,
    /// Merge rate limit while foreground commits run, in MB/s
    /// (`Options::compaction_busy_rate_limit_bytes_per_sec`); 0 = none; default: the library's.
    #[arg(long)]
    merge_busy_rate_limit_mb_s: Option<u64>,
    /// Print each put slower than this during the merge (ms since the merge
    /// started, latency), to see which merge phase the slow ones fall in; 0 = off.
    #[arg(long, default_value_t = 0)]
    trace_slow_puts_us: u64,
    /// Also compact the same data (every key written twice) with the peer
    /// engines compiled in (RocksDB: feature `peers-rocksdb`; fjall: feature
    /// `peers`) in each round, beside libkv's merge and a raw write of the
    /// same bytes.
    #[arg(long)]
    peers: bool,
    /// With `--peers`: RocksDB's `max_subcompactions` (threads one manual
    /// compaction may use; the machine this was written on has 2 cores).
    #[arg(long, default_value_t = 2)]
    rocksdb_subcompactions: u32,
    /// With `--peers`: RocksDB writes flush and compaction output with
    /// O_DIRECT (`use_direct_io_for_flush_and_compaction`), as libkv's merge
    /// does unless `--buffered-merge`.
    #[arg(long)]
    rocksdb_direct_io: bool,
}

fn hist() -> Histogram<u64> {
    Histogram::<u64>::new_with_bounds(1, 600_000_000_000, 3).expect("static histogram bounds are valid")
}

struct Run {
    /// Scan threads of the merge alone, and of the merge during puts.
    alone_threads: u32,
    during_threads: u32,
    /// The merge alone (no other writes).
    alone_mb_s: f64,
    alone_s: f64,
    /// Wall time of the `Db::compact()` call of the merge alone, seconds
    /// (`alone_s` is the summary's own millisecond count).
    alone_wall_s: f64,
    /// CPU time of the process (all threads) during that call, seconds.
    alone_cpu_s: f64,
    alone_input_bytes: u64,
    alone_output_bytes: u64,
    /// Bytes in the merge-alone database's directory when `compact` returned
    /// (segments and hint files), and in its segments alone.
    alone_dir_bytes: u64,
    alone_segment_bytes: u64,
    /// The merge alone without removing its inputs (freeing their blocks):
    /// the rewrite itself.
    rewrite_mb_s: f64,
    removal_s: f64,
    /// The merge while one writer puts.
    merge_mb_s: f64,
    input_mb_s: f64,
    raw_mb_s: f64,
    /// `None` when the file system refuses O_DIRECT (tmpfs).
    direct_mb_s: Option<f64>,
    idle_p99_us: f64,
    during_p99_us: f64,
    idle_p50_us: f64,
    during_p50_us: f64,
    during_max_us: f64,
    merge_s: f64,
}

/// Smallest raw write measured (see `one`).
const RAW_MIN_BYTES: u64 = 1 << 30;

/// Writes `bytes` sequentially to `path` in 1 MiB chunks, then fdatasync;
/// MB/s. With `direct`, through O_DIRECT (aligned buffer, no page cache).
fn raw_write_mb_s(path: &std::path::Path, bytes: u64, direct: bool) -> Result<f64, String> {
    use std::os::unix::fs::OpenOptionsExt;
    const CHUNK: usize = 1 << 20;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    if direct {
        opts.custom_flags(libc::O_DIRECT);
    }
    let mut f = opts.open(path).map_err(|e| e.to_string())?;
    // O_DIRECT needs a block-aligned buffer: take an aligned window of a
    // larger allocation.
    let backing = random_value(CHUNK + 4096, 7);
    let skew = backing.as_ptr().align_offset(4096);
    let chunk = &backing[skew..skew + CHUNK];
    let t = Instant::now();
    let mut left = bytes.div_ceil(CHUNK as u64) * CHUNK as u64;
    while left > 0 {
        f.write_all(chunk).map_err(|e| e.to_string())?;
        left -= CHUNK as u64;
    }
    f.sync_data().map_err(|e| e.to_string())?;
    let secs = t.elapsed().as_secs_f64();
    drop(f);
    let _ = std::fs::remove_file(path);
    Ok(bytes.div_ceil(CHUNK as u64) as f64 * CHUNK as f64 / 1e6 / secs)
}

/// (ms since the loop started, µs) of each put slower than the threshold.
type SlowPuts = Vec<(f64, u64)>;

/// Puts until `stop`; the latency histogram, and the puts slower than
/// `slow_us` (0: none).
fn puts_until(
    db: &Db,
    stop: &dyn Fn() -> bool,
    offset: u64,
    value: &[u8],
    slow_us: u64,
) -> Result<(Histogram<u64>, SlowPuts), String> {
    let mut h = hist();
    let mut slow = Vec::new();
    let mut i = 0;
    let start = Instant::now();
    while !stop() {
        let t = Instant::now();
        db.put(&key(offset + i), value).map_err(|e| e.to_string())?;
        let ns = t.elapsed().as_nanos() as u64;
        h.saturating_record(ns);
        if slow_us > 0 && ns >= slow_us * 1000 {
            slow.push(((t - start).as_secs_f64() * 1000.0, ns / 1000));
        }
        i += 1;
    }
    Ok((h, slow))
}

fn one(a: &Args) -> Result<Run, String> {
    let (n, value_bytes) = (a.keys, a.value_bytes);
    let root = tempfile::tempdir_in(".").map_err(|e| e.to_string())?;
    let dir = root.path().join("db");
    let o = kv_engine::Options {
        compaction_direct_io: !a.buffered_merge,
        compaction_rate_limit_bytes_per_sec: a.merge_rate_limit_mb_s * 1_000_000,
        compaction_busy_rate_limit_bytes_per_sec: a
            .merge_busy_rate_limit_mb_s
            .map_or(kv_engine::Options::default().compaction_busy_rate_limit_bytes_per_sec, |m| m * 1_000_000),
        ..opts(Fsync::Always)
    };
    // The merge on its own, in a database of its own (its inputs freshly
    // written, as in the second one).
    let (alone, alone_wall_s, alone_cpu_s) = {
        let db = Db::open(root.path().join("alone"), o.clone()).map_err(|e| e.to_string())?;
        fill_sized(&db, n, 0, value_bytes)?;
        fill_sized(&db, n, 1, value_bytes)?;
        // No commit for longer than the merge's 20 ms "foreground busy"
        // window: this merge runs on a quiet database (two scan threads).
        std::thread::sleep(Duration::from_millis(50));
        sync_all();
        let (t, cpu0) = (Instant::now(), process_cpu_s());
        let summary = db.compact().map_err(|e| e.to_string())?;
        (summary, t.elapsed().as_secs_f64(), process_cpu_s() - cpu0)
    };
    let alone_dir_bytes = dir_bytes(&root.path().join("alone"), "");
    let alone_segment_bytes = dir_bytes(&root.path().join("alone"), ".seg");
    let alone_s = (alone.duration_ms.max(1)) as f64 / 1000.0;
    let db = Db::open(&dir, o).map_err(|e| e.to_string())?;
    fill_sized(&db, n, 0, value_bytes)?;
    fill_sized(&db, n, 1, value_bytes)?;
    let value = random_value(value_bytes, 99);
    let idle_until = Instant::now() + Duration::from_secs(2);
    let (idle, _) = puts_until(&db, &|| Instant::now() >= idle_until, 10 * n, &value, 0)?;
    let done = AtomicBool::new(false);
    let (summary, during) = std::thread::scope(|s| {
        let merger = s.spawn(|| {
            // The puts are timed until the inputs are removed too: the
            // background remover's truncations and discards run beside them.
            let r = db.compact().and_then(|s| db.wait_for_removals().map(|()| s));
            done.store(true, Ordering::SeqCst);
            r
        });
        let during = puts_until(&db, &|| done.load(Ordering::SeqCst), 20 * n, &value, a.trace_slow_puts_us);
        (merger.join().map_err(|_| "merge thread panicked".to_string()), during)
    });
    let summary = summary?.map_err(|e| e.to_string())?;
    let (during, slow) = during?;
    if a.trace_slow_puts_us > 0 {
        println!("slow puts during a {} ms merge (ms since its start: µs):", summary.duration_ms);
        let cells: Vec<String> = slow.iter().map(|(at, us)| format!("{at:.1}:{us}")).collect();
        println!("{}", cells.join(" "));
    }
    let merge_s = (summary.duration_ms.max(1)) as f64 / 1000.0;
    drop(db);
    // The disk's sequential write bandwidth, measured beside the merge on the
    // same file system: at least 1 GiB (less would only measure copying into
    // the page cache), in 1 MiB writes. Buffered + one fdatasync is the path
    // every libkv write takes; O_DIRECT is the device's own ceiling.
    let raw_bytes = summary.output_bytes.max(alone.output_bytes).max(RAW_MIN_BYTES);
    let raw_mb_s = raw_write_mb_s(&root.path().join("raw.bin"), raw_bytes, false)?;
    let direct_mb_s = raw_write_mb_s(&root.path().join("raw-direct.bin"), raw_bytes, true).ok();
    let us = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    Ok(Run {
        alone_threads: alone.scan_threads,
        during_threads: summary.scan_threads,
        alone_mb_s: alone.output_bytes as f64 / 1e6 / alone_s,
        alone_s,
        alone_wall_s,
        alone_cpu_s,
        alone_input_bytes: alone.input_bytes,
        alone_output_bytes: alone.output_bytes,
        alone_dir_bytes,
        alone_segment_bytes,
        rewrite_mb_s: alone.output_bytes as f64
            / 1e6
            / (alone.duration_ms.saturating_sub(alone.removal_ms).max(1) as f64 / 1000.0),
        removal_s: alone.removal_ms as f64 / 1000.0,
        merge_mb_s: summary.output_bytes as f64 / 1e6 / merge_s,
        input_mb_s: summary.input_bytes as f64 / 1e6 / merge_s,
        raw_mb_s,
        direct_mb_s,
        idle_p50_us: us(&idle, 0.5),
        idle_p99_us: us(&idle, 0.99),
        during_p50_us: us(&during, 0.5),
        during_p99_us: us(&during, 0.99),
        during_max_us: during.max() as f64 / 1000.0,
        merge_s,
    })
}

/// Apparent size of every file under `path` whose name ends in `suffix`.
fn dir_bytes(path: &std::path::Path, suffix: &str) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path(), suffix),
            Ok(m) if e.file_name().to_string_lossy().ends_with(suffix) => m.len(),
            _ => 0,
        })
        .sum()
}

/// User + system CPU time of this process (every thread), seconds.
fn process_cpu_s() -> f64 {
    // SAFETY: getrusage writes one `rusage` into the zeroed value we own.
    let (rc, u) = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        (libc::getrusage(libc::RUSAGE_SELF, &mut u), u)
    };
    if rc != 0 {
        return f64::NAN;
    }
    let s = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    s(u.ru_utime) + s(u.ru_stime)
}

/// Writes every dirty page of the machine back before a timed compaction,
/// so write-back of earlier, unsynced writes (a peer's journal, another
/// process's files) does not land inside the timed call.
fn sync_all() {
    // SAFETY: sync(2) takes no arguments and touches no memory of ours.
    unsafe { libc::sync() };
}

/// Runs the compaction benchmark.
pub fn run(a: &Args) -> Result<(), String> {
    if a.rocksdb_subcompactions == 0 {
        return Err("--rocksdb-subcompactions must be at least 1".to_string());
    }
    if a.rocksdb_direct_io && !a.peers {
        return Err("--rocksdb-direct-io needs --peers".to_string());
    }
    #[cfg(not(any(feature = "peers", feature = "peers-rocksdb")))]
    if a.peers {
        return Err("--peers: no peer engine is compiled in (build kv-bench with --features peers,peers-rocksdb; \
                    see benches/README.md)"
            .to_string());
    }
    let mut runs = Vec::new();
    #[cfg(any(feature = "peers", feature = "peers-rocksdb"))]
    let mut peer_rounds = Vec::new();
    for _ in 0..a.runs.max(1) {
        let r = one(a)?;
        #[cfg(any(feature = "peers", feature = "peers-rocksdb"))]
        if a.peers {
            peer_rounds.push(peers::round(a, &r)?);
        }
        runs.push(r);
    }
    let f = |g: &dyn Fn(&Run) -> f64, prec: usize| {
        let (m, lo, hi) = summarize(runs.iter().map(g).collect());
        format!("{m:.prec$} [{lo:.prec$}–{hi:.prec$}]")
    };
    println!(
        "## Compaction, {} B values\n\n{} live keys (16 B keys, {} B values), each written twice (half the log dead), then \
         `Db::compact()`: once alone, and once (in a second database filled the same way) while one writer puts. \
         Merge output MB/s = bytes written / merge time (input MB/s: bytes read); the merge time includes \
         removing the inputs (freeing their blocks), also shown apart. Disk \
         sequential write bandwidth, same run and file system, max(merge output, 1 GiB) in 1 MiB writes: \
         buffered + one fdatasync (the path libkv's writes take) and O_DIRECT (the device ceiling). Put \
         latency: one writer, `Fsync::Always`, 2 s idle, then during the merge. Median [min–max] over {} runs. \
         Merge output: {}; rate limit: {}; while foreground commits run: {}.\n",
        a.value_bytes,
        a.keys,
        a.value_bytes,
        runs.len(),
        if a.buffered_merge { "through the page cache" } else { "O_DIRECT (the default)" },
        if a.merge_rate_limit_mb_s == 0 { "none".to_string() } else { format!("{} MB/s", a.merge_rate_limit_mb_s) },
        match a.merge_busy_rate_limit_mb_s {
            None => format!(
                "{} MB/s (the default)",
                kv_engine::Options::default().compaction_busy_rate_limit_bytes_per_sec / 1_000_000
            ),
            Some(0) => "none".to_string(),
            Some(m) => format!("{m} MB/s"),
        },
    );
    println!("| metric | value |");
    println!("|---|---|");
    println!("| merge alone: time s | {} |", f(&|r| r.alone_s, 2));
    println!("| merge alone: output MB/s | {} |", f(&|r| r.alone_mb_s, 1));
    println!("| merge alone: of which removing the inputs, s | {} |", f(&|r| r.removal_s, 2));
    println!(
        "| merge alone: wall time of the `compact` call s / process CPU s ÷ wall s | {} / {} |",
        f(&|r| r.alone_wall_s, 3),
        f(&|r| r.alone_cpu_s / r.alone_wall_s.max(1e-6), 2)
    );
    println!(
        "| merge alone: bytes read / written / segments after / directory after | {} / {} / {} / {} |",
        f(&|r| r.alone_input_bytes as f64, 0),
        f(&|r| r.alone_output_bytes as f64, 0),
        f(&|r| r.alone_segment_bytes as f64, 0),
        f(&|r| r.alone_dir_bytes as f64, 0)
    );
    println!("| merge alone without removing the inputs: output MB/s | {} |", f(&|r| r.rewrite_mb_s, 1));
    println!(
        "| merge alone / during puts: scan threads | {} / {} |",
        f(&|r| r.alone_threads as f64, 0),
        f(&|r| r.during_threads as f64, 0)
    );
    println!("| merge during puts: time s | {} |", f(&|r| r.merge_s, 2));
    println!("| merge during puts: output MB/s | {} |", f(&|r| r.merge_mb_s, 1));
    println!("| merge during puts: input MB/s | {} |", f(&|r| r.input_mb_s, 1));
    println!("| disk sequential write MB/s, buffered + fdatasync | {} |", f(&|r| r.raw_mb_s, 1));
    println!("| merge alone ÷ buffered disk write | {} |", f(&|r| r.alone_mb_s / r.raw_mb_s, 2));
    println!("| merge during puts ÷ buffered disk write | {} |", f(&|r| r.merge_mb_s / r.raw_mb_s, 2));
    if runs.iter().all(|r| r.direct_mb_s.is_some()) {
        let d = |r: &Run| r.direct_mb_s.unwrap_or(f64::NAN);
        println!("| disk sequential write MB/s, O_DIRECT | {} |", f(&d, 1));
        println!("| merge alone ÷ O_DIRECT disk write | {} |", f(&|r| r.alone_mb_s / d(r), 2));
        println!(
            "| merge alone without removing the inputs ÷ O_DIRECT disk write | {} |",
            f(&|r| r.rewrite_mb_s / d(r), 2)
        );
        println!("| merge during puts ÷ O_DIRECT disk write | {} |", f(&|r| r.merge_mb_s / d(r), 2));
    } else {
        println!("| disk sequential write MB/s, O_DIRECT | not supported by this file system |");
    }
    println!("| put p50 µs idle | {} |", f(&|r| r.idle_p50_us, 0));
    println!("| put p50 µs during merge | {} |", f(&|r| r.during_p50_us, 0));
    println!("| put p99 µs idle | {} |", f(&|r| r.idle_p99_us, 0));
    println!("| put p99 µs during merge | {} |", f(&|r| r.during_p99_us, 0));
    println!("| put p99 during merge ÷ idle (per run) | {} |", f(&|r| r.during_p99_us / r.idle_p99_us, 2));
    println!("| put max µs during merge | {} |", f(&|r| r.during_max_us, 0));
    println!();
    #[cfg(any(feature = "peers", feature = "peers-rocksdb"))]
    if a.peers {
        peers::report(a, &runs, &peer_rounds);
    }
    Ok(())
}
