//! The durability matrix: what each fsync policy costs, beside the raw disk.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use kv_engine::{Db, Fsync, Options};

use crate::{parse_list, summarize};

/// Options of `kv-bench durability`.
#[derive(clap::Args)]
pub struct Args {
    /// Directory on the disk under test (default: a temp dir under /tmp... use a real disk!).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// Runs per cell; the median is reported with min–max.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Writer thread counts.
    #[arg(long, default_value = "1,4,16,64")]
    threads: String,
    /// Value sizes in bytes.
    #[arg(long, default_value = "100,4096")]
    values: String,
    /// Policies to measure.
    #[arg(long, default_value = "always,everysec,no")]
    policies: String,
}

const KEY_LEN: usize = 16;
/// libkv record header bytes (see docs/format.md).
const RECORD_HEADER: usize = 32;
const PREALLOC_BYTES: u64 = 1 << 30;

struct Cell {
    ops_per_sec: f64,
    p50_us: f64,
    p99_us: f64,
    p999_us: f64,
    fsyncs: u64,
    group: f64,
}

/// A raw loop: positional writes of `record` bytes into a preallocated file,
/// optionally each followed by fdatasync.
fn raw_loop(dir: &Path, record_len: usize, sync: bool, seconds: f64) -> std::io::Result<Cell> {
    let path = dir.join("raw.bin");
    let f = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path)?;
    f.set_len(PREALLOC_BYTES)?;
    f.sync_all()?;
    let buf = vec![0x5Au8; record_len];
    let mut hist = Histogram::<u64>::new_with_bounds(1, 600_000_000_000, 3).expect("histogram");
    let start = Instant::now();
    let mut off = 0u64;
    let mut n = 0u64;
    while start.elapsed().as_secs_f64() < seconds {
        let t = Instant::now();
        f.write_all_at(&buf, off)?;
        if sync {
            f.sync_data()?;
        }
        hist.saturating_record(t.elapsed().as_nanos() as u64);
        off += record_len as u64;
        if off + record_len as u64 > PREALLOC_BYTES {
            off = 0;
        }
        n += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    drop(f);
    std::fs::remove_file(&path)?;
    Ok(cell(n, secs, &hist, if sync { n } else { 0 }, 1.0))
}

fn cell(n: u64, secs: f64, hist: &Histogram<u64>, fsyncs: u64, group: f64) -> Cell {
    Cell {
        ops_per_sec: n as f64 / secs,
        p50_us: hist.value_at_quantile(0.5) as f64 / 1000.0,
        p99_us: hist.value_at_quantile(0.99) as f64 / 1000.0,
        p999_us: hist.value_at_quantile(0.999) as f64 / 1000.0,
        fsyncs,
        group,
    }
}

/// libkv: `threads` writers putting distinct keys for `seconds`.
fn libkv_run(dir: &Path, fsync: Fsync, threads: usize, value_len: usize, seconds: f64) -> kv_engine::Result<Cell> {
    let db_dir = dir.join(format!("libkv-{fsync:?}-{threads}-{value_len}"));
    let _ = std::fs::remove_dir_all(&db_dir);
    let db = Db::open(&db_dir, Options { fsync, auto_compaction: false, ..Options::default() })?;
    let stop = AtomicBool::new(false);
    let total = AtomicU64::new(0);
    let merged = std::sync::Mutex::new(Histogram::<u64>::new_with_bounds(1, 600_000_000_000, 3).expect("histogram"));
    let value = vec![0x42u8; value_len];
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let (db, stop, total, merged, value) = (&db, &stop, &total, &merged, &value);
            s.spawn(move || {
                let mut hist = Histogram::<u64>::new_with_bounds(1, 600_000_000_000, 3).expect("histogram");
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    // 16-byte key built without allocating, as the raw loop allocates nothing.
                    let mut key = [b'k'; KEY_LEN];
                    key[..4].copy_from_slice(&(t as u32).to_be_bytes());
                    key[8..].copy_from_slice(&i.to_be_bytes());
                    let t0 = Instant::now();
                    db.put(&key, value).expect("put");
                    hist.saturating_record(t0.elapsed().as_nanos() as u64);
                    i += 1;
                }
                total.fetch_add(i, Ordering::Relaxed);
                merged.lock().expect("lock").add(&hist).expect("merge");
            });
        }
        std::thread::sleep(Duration::from_secs_f64(seconds));
        stop.store(true, Ordering::Relaxed);
    });
    let secs = start.elapsed().as_secs_f64();
    let st = db.stats();
    drop(db);
    let _ = std::fs::remove_dir_all(&db_dir);
    let hist = merged.into_inner().expect("lock");
    Ok(cell(total.load(Ordering::Relaxed), secs, &hist, st.fsyncs, st.mean_group_commit))
}

/// Runs the matrix and prints a markdown table.
pub fn run(a: &Args) -> Result<(), String> {
    let tmp;
    let dir = match &a.dir {
        Some(d) => {
            std::fs::create_dir_all(d).map_err(|e| e.to_string())?;
            d.clone()
        }
        None => {
            tmp = tempfile::tempdir_in(".").map_err(|e| e.to_string())?;
            tmp.path().to_path_buf()
        }
    };
    let threads = parse_list(&a.threads)?;
    let values = parse_list(&a.values)?;
    let policies: Vec<Fsync> =
        a.policies.split(',').map(|p| Fsync::parse(p).map_err(|e| e.to_string())).collect::<Result<_, _>>()?;
    println!("# kv-bench durability ({} s per cell, median of {} runs, min–max in brackets)\n", a.seconds, a.runs);
    println!(
        "| engine | policy | threads | value B | ops/s | × raw | p50 µs | p99 µs | p99.9 µs | fsyncs | writes/fsync |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for &value_len in &values {
        let record_len = RECORD_HEADER + KEY_LEN + value_len;
        let mut raw = Vec::new();
        for sync in [true, false] {
            let runs: Vec<Cell> = (0..a.runs)
                .map(|_| raw_loop(&dir, record_len, sync, a.seconds))
                .collect::<Result<_, _>>()
                .map_err(|e| e.to_string())?;
            let (med, lo, hi) = summarize(runs.iter().map(|c| c.ops_per_sec).collect());
            let c = &runs[0];
            let name = if sync { "raw write+fdatasync" } else { "raw write" };
            println!(
                "| {name} | - | 1 | {value_len} | {med:.0} [{lo:.0}–{hi:.0}] | 1.00 | {:.1} | {:.1} | {:.1} | {} | - |",
                c.p50_us, c.p99_us, c.p999_us, c.fsyncs
            );
            raw.push(med);
        }
        for &fsync in &policies {
            let limit = if fsync == Fsync::Always { raw[0] } else { raw[1] };
            for &t in &threads {
                let runs: Vec<Cell> = (0..a.runs)
                    .map(|_| libkv_run(&dir, fsync, t, value_len, a.seconds))
                    .collect::<Result<_, _>>()
                    .map_err(|e| e.to_string())?;
                let (med, lo, hi) = summarize(runs.iter().map(|c| c.ops_per_sec).collect());
                let c = runs
                    .iter()
                    .min_by(|x, y| (x.ops_per_sec - med).abs().total_cmp(&(y.ops_per_sec - med).abs()))
                    .expect("runs");
                println!(
                    "| libkv | {} | {t} | {value_len} | {med:.0} [{lo:.0}–{hi:.0}] | {:.2} | {:.1} | {:.1} | {:.1} | {} | {:.1} |",
                    format!("{fsync:?}").to_lowercase(),
                    med / limit,
                    c.p50_us,
                    c.p99_us,
                    c.p999_us,
                    c.fsyncs,
                    c.group
                );
            }
        }
    }
    println!(
        "\n× raw: libkv `always` against the raw write+fdatasync loop, `everysec`/`no` against the raw write loop."
    );
    Ok(())
}
