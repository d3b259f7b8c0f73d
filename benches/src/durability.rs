//! The durability matrix: what each fsync policy costs, beside the raw disk
//! and the peer engines, on the same keys and values.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::engines::{self, Engine, Policy};
use crate::{charts, parse_list, summarize, Rng};

/// Options of `kv-bench durability`.
#[derive(clap::Args)]
pub struct Args {
    /// Directory on the disk under test (default: a temp dir in the current directory).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// Seconds of warm-up writes (not measured) before each measurement.
    #[arg(long, default_value_t = 0.5)]
    warmup_seconds: f64,
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
    /// Engines: `all` or a comma list (libkv, redis, and with `--features peers`
    /// redb, fjall, sled, lmdb; with `peers-rocksdb` rocksdb).
    #[arg(long, default_value = "libkv,redis")]
    engines: String,
    /// Where to write the PNG charts (none if absent).
    #[arg(long)]
    charts: Option<PathBuf>,
    /// Thread count whose latency CDF is charted.
    #[arg(long, default_value_t = 16)]
    cdf_threads: usize,
}

const KEY_LEN: usize = 16;
/// libkv record header bytes (see docs/format.md).
const RECORD_HEADER: usize = 32;
const PREALLOC_BYTES: u64 = 1 << 30;

fn new_hist() -> Histogram<u64> {
    Histogram::<u64>::new_with_bounds(1, 600_000_000_000, 3).expect("static histogram bounds are valid")
}

/// One measured run.
struct Cell {
    ops_per_sec: f64,
    hist: Histogram<u64>,
    fsyncs: Option<u64>,
    group: Option<f64>,
    /// Ops/s of the matching raw loop measured just before this run (paired,
    /// so a change of load between cells does not skew the ratio).
    raw_pair: f64,
}

impl Cell {
    fn us(&self, q: f64) -> f64 {
        self.hist.value_at_quantile(q) as f64 / 1000.0
    }
}

/// A raw loop: positional writes of `record` bytes into a preallocated file,
/// optionally each followed by fdatasync.
fn raw_loop(dir: &Path, record_len: usize, sync: bool, seconds: f64) -> std::io::Result<Cell> {
    let path = dir.join("raw.bin");
    let f = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path)?;
    f.set_len(PREALLOC_BYTES)?;
    f.sync_all()?;
    let buf = vec![0x5Au8; record_len];
    let mut hist = new_hist();
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
    let ops_per_sec = n as f64 / secs;
    Ok(Cell { ops_per_sec, hist, fsyncs: Some(if sync { n } else { 0 }), group: Some(1.0), raw_pair: ops_per_sec })
}

/// The 16-byte key of write `i` of thread `t`; `tag` separates warm-up keys.
pub fn key(tag: &[u8; 4], t: usize, i: u64) -> [u8; KEY_LEN] {
    let mut key = [0u8; KEY_LEN];
    key[..4].copy_from_slice(&(t as u32).to_be_bytes());
    key[4..8].copy_from_slice(tag);
    key[8..].copy_from_slice(&i.to_be_bytes());
    key
}

/// Incompressible bytes, the same for every engine (libkv compresses values
/// ≥ 4 KiB with lz4 when that helps; a constant value would flatter it).
pub fn random_value(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed | 1);
    (0..len).map(|_| (rng.next() >> 56) as u8).collect()
}

/// `threads` writers putting distinct keys into `engine` until `seconds` pass.
fn drive(engine: &dyn Engine, threads: usize, value: &[u8], tag: &[u8; 4], seconds: f64) -> Result<Cell, String> {
    let stop = AtomicBool::new(false);
    let total = AtomicU64::new(0);
    let merged = std::sync::Mutex::new(new_hist());
    let failure = std::sync::Mutex::new(None::<String>);
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let (stop, total, merged, failure) = (&stop, &total, &merged, &failure);
            s.spawn(move || {
                let mut hist = new_hist();
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let k = key(tag, t, i);
                    let t0 = Instant::now();
                    if let Err(e) = engine.put(t, &k, value) {
                        *failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                        stop.store(true, Ordering::Relaxed);
                        break;
                    }
                    hist.saturating_record(t0.elapsed().as_nanos() as u64);
                    i += 1;
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
    let hist = merged.into_inner().unwrap_or_else(|p| p.into_inner());
    Ok(Cell {
        ops_per_sec: total.load(Ordering::Relaxed) as f64 / secs,
        hist,
        fsyncs: None,
        group: None,
        raw_pair: 0.0,
    })
}

/// One run: fresh directory, open, warm up, measure, close.
fn engine_run(
    dir: &Path,
    name: &str,
    policy: Policy,
    threads: usize,
    value: &[u8],
    a: &Args,
) -> Result<Option<(Cell, String)>, String> {
    let db_dir = dir.join(format!("{name}-{}-{threads}-{}", policy.name(), value.len()));
    let _ = std::fs::remove_dir_all(&db_dir);
    // The paired raw limit, measured right before the run on the same disk.
    let sync = policy == Policy::Always;
    let raw_pair = raw_loop(dir, RECORD_HEADER + KEY_LEN + value.len(), sync, if sync { 0.5 } else { 0.2 })
        .map_err(|e| e.to_string())?
        .ops_per_sec;
    let Some(engine) = engines::open(name, &db_dir, policy, threads)? else { return Ok(None) };
    if a.warmup_seconds > 0.0 {
        drive(engine.as_ref(), threads, value, b"warm", a.warmup_seconds)?;
    }
    let before = engine.fsync_stats();
    let mut cell = drive(engine.as_ref(), threads, value, b"meas", a.seconds)?;
    cell.raw_pair = raw_pair;
    if let (Some((f0, _)), Some((f1, _))) = (before, engine.fsync_stats()) {
        let writes = cell.ops_per_sec * a.seconds;
        cell.fsyncs = Some(f1 - f0);
        // Mean writes per fsync over the measured window only (for everysec
        // and no this is just writes ÷ background or rotation syncs).
        cell.group = (f1 > f0).then(|| writes / (f1 - f0) as f64);
    }
    let mode = engine.mode();
    drop(engine);
    let _ = std::fs::remove_dir_all(&db_dir);
    Ok(Some((cell, mode)))
}

/// A latency histogram and its legend label.
type NamedHist = (String, Histogram<u64>);

/// (value bytes, engine, policy): one line of the throughput chart.
type CurveKey = (usize, String, &'static str);

fn fmt_opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or("-".to_string(), |v| v.to_string())
}

/// Runs the matrix, prints markdown tables and draws the charts.
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
    let policies = engines::parse_policies(&a.policies)?;
    let mut names = engines::parse_engines(&a.engines)?;
    // libkv first: the other engines' rows carry a ratio to it.
    names.sort_by_key(|n| *n != "libkv");
    let mut modes: BTreeMap<(String, &'static str), String> = BTreeMap::new();
    let mut skipped: Vec<String> = Vec::new();
    println!(
        "## Durability matrix\n\n{} s per cell after {} s warm-up, median of {} runs, min–max in brackets; \
         {KEY_LEN}-byte keys, random (incompressible) values, identical for every engine. \
         p50/p99.9 are from the run whose throughput is the median; p99 is median [min–max] over runs.\n",
        a.seconds, a.warmup_seconds, a.runs
    );
    println!(
        "| engine | policy | threads | value B | ops/s | × raw (paired) | libkv ÷ this | p50 µs | p99 µs | p99.9 µs | fsyncs | writes/fsync |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    // (engine, policy, value) -> [(threads, median ops/s)] for the charts.
    let mut curves: BTreeMap<CurveKey, Vec<(usize, f64)>> = BTreeMap::new();
    let mut cdfs: BTreeMap<(usize, &'static str), Vec<NamedHist>> = BTreeMap::new();
    // (value bytes, synced) -> median raw ops/s, drawn as reference lines.
    let mut raw_limits: BTreeMap<(usize, bool), f64> = BTreeMap::new();
    for &value_len in &values {
        let value = random_value(value_len, 0xC0FFEE ^ value_len as u64);
        let record_len = RECORD_HEADER + KEY_LEN + value_len;
        for sync in [true, false] {
            let runs: Vec<Cell> = (0..a.runs.max(1))
                .map(|_| raw_loop(&dir, record_len, sync, a.seconds))
                .collect::<Result<_, _>>()
                .map_err(|e| e.to_string())?;
            let (med, lo, hi) = summarize(runs.iter().map(|c| c.ops_per_sec).collect());
            let (p99, p99lo, p99hi) = summarize(runs.iter().map(|c| c.us(0.99)).collect());
            let c = median_run(&runs, med);
            let name = if sync { "raw write+fdatasync" } else { "raw write" };
            raw_limits.insert((value_len, sync), med);
            println!(
                "| {name} | - | 1 | {value_len} | {med:.0} [{lo:.0}–{hi:.0}] | 1.00 | - | {:.1} | {p99:.1} [{p99lo:.1}–{p99hi:.1}] | {:.1} | {} | 1 |",
                c.us(0.5),
                c.us(0.999),
                fmt_opt(c.fsyncs)
            );
        }
        for &policy in &policies {
            for name in &names {
                for &t in &threads {
                    let mut runs = Vec::new();
                    let mut unsupported = false;
                    for _ in 0..a.runs.max(1) {
                        match engine_run(&dir, name, policy, t, &value, a) {
                            Ok(Some((c, mode))) => {
                                modes.insert((name.to_string(), policy.name()), mode);
                                runs.push(c);
                            }
                            Ok(None) => {
                                unsupported = true;
                                break;
                            }
                            Err(e) if *name != "libkv" => {
                                skipped.push(format!("{name} {} {t} threads {value_len} B: {e}", policy.name()));
                                unsupported = true;
                                break;
                            }
                            Err(e) => return Err(e),
                        }
                    }
                    if unsupported || runs.is_empty() {
                        break;
                    }
                    let (med, lo, hi) = summarize(runs.iter().map(|c| c.ops_per_sec).collect());
                    let (p99, p99lo, p99hi) = summarize(runs.iter().map(|c| c.us(0.99)).collect());
                    let (x_raw, x_lo, x_hi) = summarize(runs.iter().map(|c| c.ops_per_sec / c.raw_pair).collect());
                    let c = median_run(&runs, med);
                    let vs_libkv = if *name == "libkv" {
                        "1.00".to_string()
                    } else {
                        curves
                            .get(&(value_len, "libkv".to_string(), policy.name()))
                            .and_then(|v| v.iter().find(|p| p.0 == t))
                            .map_or("-".into(), |p| format!("{:.2}", p.1 / med))
                    };
                    println!(
                        "| {name} | {} | {t} | {value_len} | {med:.0} [{lo:.0}–{hi:.0}] | {x_raw:.2} [{x_lo:.2}–{x_hi:.2}] | {vs_libkv} | {:.1} | {p99:.1} [{p99lo:.1}–{p99hi:.1}] | {:.1} | {} | {} |",
                        policy.name(),
                        c.us(0.5),
                        c.us(0.999),
                        fmt_opt(c.fsyncs),
                        c.group.map_or("-".into(), |g| format!("{g:.1}"))
                    );
                    curves.entry((value_len, name.to_string(), policy.name())).or_default().push((t, med));
                    if t == a.cdf_threads {
                        cdfs.entry((value_len, policy.name()))
                            .or_default()
                            .push((format!("{name} {}", policy.name()), c.hist.clone()));
                    }
                }
            }
        }
    }
    println!(
        "\n× raw (paired): each run's ops/s divided by a raw loop (1 thread, libkv's record size, preallocated file) \
         measured on the same disk just before that run: write+fdatasync (0.5 s) for `always`, plain write (0.2 s) \
         for `everysec`/`no`; median [min–max] of the per-run ratios. The raw rows above each block are the same \
         loops measured once for the whole block. libkv ÷ this > 1 means libkv is faster in that cell; < 1 means \
         it loses. writes/fsync: measured window only; `-` where the engine issued no fsync or does not count them.\n"
    );
    println!("### How each engine implements each policy\n");
    println!("| engine | policy | mode |");
    println!("|---|---|---|");
    for ((n, p), m) in &modes {
        println!("| {n} | {p} | {m} |");
    }
    println!(
        "\nCells with no row: the engine has no comparable setting for that policy (never replaced by a weaker one)."
    );
    for s in &skipped {
        println!("- skipped: {s}");
    }
    if let Some(out) = &a.charts {
        std::fs::create_dir_all(out).map_err(|e| e.to_string())?;
        for &value_len in &values {
            for &policy in &policies {
                let series: Vec<(String, Vec<(usize, f64)>)> = curves
                    .iter()
                    .filter(|((v, _, p), _)| *v == value_len && *p == policy.name())
                    .map(|((_, n, p), pts)| (format!("{n} {p}"), pts.clone()))
                    .collect();
                let limit = match raw_limits.get(&(value_len, policy == Policy::Always)) {
                    Some(&v) if policy == Policy::Always => vec![("raw write+fdatasync, 1 thread".to_string(), v)],
                    Some(&v) => vec![("raw write, 1 thread".to_string(), v)],
                    None => Vec::new(),
                };
                let file = format!("durability-throughput-{}-{value_len}B.png", policy.name());
                charts::throughput_vs_threads(
                    &out.join(&file),
                    &format!("policy {}: acknowledged puts/s vs writer threads, {value_len} B values", policy.name()),
                    &series,
                    &limit,
                )?;
                println!("\n![throughput {} {value_len} B]({file})", policy.name());
                if let Some(c) = cdfs.get(&(value_len, policy.name())) {
                    let file = format!("durability-latency-cdf-{}-{value_len}B.png", policy.name());
                    charts::latency_cdf(
                        &out.join(&file),
                        &format!(
                            "policy {}: put latency CDF, {} threads, {value_len} B values",
                            policy.name(),
                            a.cdf_threads
                        ),
                        c,
                    )?;
                    println!("\n![latency CDF {} {value_len} B]({file})", policy.name());
                }
            }
        }
    }
    Ok(())
}

/// The run whose throughput is closest to the median.
fn median_run(runs: &[Cell], med: f64) -> &Cell {
    runs.iter().min_by(|x, y| (x.ops_per_sec - med).abs().total_cmp(&(y.ops_per_sec - med).abs())).unwrap_or(&runs[0])
}
