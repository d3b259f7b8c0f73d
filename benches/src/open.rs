//! Open time: rebuilding the keydir from hint files vs scanning every
//! segment, with a warm and a cold page cache.

use std::path::Path;
use std::time::Instant;

use kv_engine::{Db, Fsync, Options, WriteBatch};

use crate::durability::random_value;
use crate::{parse_list, summarize};

/// Options of `kv-bench open`.
#[derive(clap::Args)]
pub struct Args {
    /// Key counts (16 B keys, 100 B random values).
    #[arg(long, default_value = "1000000")]
    keys: String,
    /// Opens per variant; median [min–max].
    #[arg(long, default_value_t = 3)]
    runs: usize,
}

pub(crate) fn opts(fsync: Fsync) -> Options {
    Options { fsync, auto_compaction: false, active_expiry: false, ..Options::default() }
}

/// The 16-byte key `i`, shared by the maintenance benchmarks.
pub(crate) fn key(i: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(b"key:\0\0\0\0");
    k[8..].copy_from_slice(&i.to_be_bytes());
    k
}

/// Puts keys `0..n` with 100 B values in batches of 1000.
pub(crate) fn fill(db: &Db, n: u64, round: u64) -> Result<(), String> {
    fill_sized(db, n, round, 100)
}

/// [`fill`] with `value_bytes`-byte values.
pub(crate) fn fill_sized(db: &Db, n: u64, round: u64, value_bytes: usize) -> Result<(), String> {
    let value = fill_value(value_bytes, round);
    let mut b = WriteBatch::new();
    for i in 0..n {
        b.put(&key(i), &value);
        if b.len() == 1000 {
            db.write_batch(&b).map_err(|e| e.to_string())?;
            b.clear();
        }
    }
    if !b.is_empty() {
        db.write_batch(&b).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The value every key gets in fill round `round` of [`fill_sized`] (random,
/// incompressible within the value; the same for every key of the round), so
/// peers can be filled with the same bytes.
pub(crate) fn fill_value(value_bytes: usize, round: u64) -> Vec<u8> {
    random_value(value_bytes, 0xC0FFEE ^ round)
}

/// Drops this directory's (synced, clean) files from the page cache.
fn evict(dir: &Path) -> Result<(), String> {
    use std::os::unix::io::AsRawFd;
    for e in std::fs::read_dir(dir).map_err(|e| e.to_string())?.flatten() {
        if let Ok(f) = std::fs::File::open(e.path()) {
            // SAFETY: a plain advisory syscall on a descriptor owned for the call.
            unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        }
    }
    Ok(())
}

/// Opens `dir` once; (seconds, segments loaded from hints, keys).
fn time_open(dir: &Path, cold: bool) -> Result<(f64, u64, u64), String> {
    if cold {
        evict(dir)?;
    }
    let t = Instant::now();
    let db = Db::open(dir, opts(Fsync::No)).map_err(|e| e.to_string())?;
    let secs = t.elapsed().as_secs_f64();
    let st = db.stats();
    Ok((secs, st.recovery.segments_from_hints, st.keys))
}

fn set_hints(dir: &Path, stash: &Path, present: bool) -> Result<(), String> {
    let (from, to) = if present { (stash, dir) } else { (dir, stash) };
    std::fs::create_dir_all(stash).map_err(|e| e.to_string())?;
    for e in std::fs::read_dir(from).map_err(|e| e.to_string())?.flatten() {
        if e.file_name().to_string_lossy().ends_with(".hint") {
            std::fs::rename(e.path(), to.join(e.file_name())).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// Measures open time with and without hints.
pub fn run(a: &Args) -> Result<(), String> {
    println!(
        "## Open time\n\nN keys (16 B keys, 100 B values) loaded, then `Db::compact()` so every segment has a hint \
         file. Each open is timed {} times per variant; median [min–max]. Cold: the directory's files are dropped \
         from the page cache (posix_fadvise DONTNEED) before each open.\n",
        a.runs
    );
    println!("| keys | cache | with hints s | full scan s | scan ÷ hints |");
    println!("|---|---|---|---|---|");
    for n in parse_list(&a.keys)? {
        let n = n as u64;
        let root = tempfile::tempdir_in(".").map_err(|e| e.to_string())?;
        let dir = root.path().join("db");
        let stash = root.path().join("stash");
        {
            let db = Db::open(&dir, opts(Fsync::No)).map_err(|e| e.to_string())?;
            fill(&db, n, 0)?;
            db.compact().map_err(|e| e.to_string())?;
        }
        for cold in [false, true] {
            let mut hinted = Vec::new();
            for _ in 0..a.runs.max(1) {
                let (s, from_hints, keys) = time_open(&dir, cold)?;
                if keys != n || from_hints == 0 {
                    return Err(format!("open with hints: {keys} keys, {from_hints} segments from hints"));
                }
                hinted.push(s);
            }
            set_hints(&dir, &stash, false)?;
            let mut scanned = Vec::new();
            for _ in 0..a.runs.max(1) {
                let (s, from_hints, keys) = time_open(&dir, cold)?;
                if keys != n || from_hints != 0 {
                    return Err(format!("open without hints: {keys} keys, {from_hints} segments from hints"));
                }
                scanned.push(s);
                // An open without hints may write fresh ones; keep it a scan.
                set_hints(&dir, &stash.join("again"), false)?;
            }
            set_hints(&dir, &stash, true)?;
            let (h, hlo, hhi) = summarize(hinted);
            let (s, slo, shi) = summarize(scanned);
            println!(
                "| {n} | {} | {h:.3} [{hlo:.3}–{hhi:.3}] | {s:.3} [{slo:.3}–{shi:.3}] | {:.1} |",
                if cold { "cold" } else { "warm" },
                s / h
            );
        }
    }
    println!();
    Ok(())
}
