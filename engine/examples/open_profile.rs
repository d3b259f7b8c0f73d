//! Times open with and without hint files (a profiling aid: `perf record`
//! this example). Usage: open_profile DIR KEYS
use std::time::Instant;

mod common;

use common::cpu_ms;
use kv_engine::{Db, Fsync, Options};

fn main() -> kv_engine::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| "open-profile-db".into());
    let n: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let opts = || Options { fsync: Fsync::No, auto_compaction: false, active_expiry: false, ..Options::default() };
    if !std::path::Path::new(&dir).exists() {
        let db = Db::open(&dir, opts())?;
        let v = [7u8; 100];
        for i in 0..n {
            let mut k = *b"key:\0\0\0\0\0\0\0\0\0\0\0\0";
            k[8..].copy_from_slice(&i.to_be_bytes());
            db.put(&k, &v)?;
        }
        db.sync()?;
        let cpu0 = cpu_ms();
        let t = Instant::now();
        let s = db.compact()?;
        println!("compaction CPU {} ms", cpu_ms() - cpu0);
        let secs = t.elapsed().as_secs_f64();
        println!(
            "compacted {} MB of input in {secs:.2} s: {:.0} MB/s written",
            s.input_bytes / 1_000_000,
            s.output_bytes as f64 / 1e6 / secs
        );
    }
    if std::env::var_os("COMPACT_AGAIN").is_some() {
        let db = Db::open(&dir, opts())?;
        let cpu0 = cpu_ms();
        let t = Instant::now();
        let s = db.compact()?;
        let secs = t.elapsed().as_secs_f64();
        println!(
            "re-compacted {} MB in {secs:.2} s ({} ms CPU): {:.0} MB/s written",
            s.input_bytes / 1_000_000,
            cpu_ms() - cpu0,
            s.output_bytes as f64 / 1e6 / secs
        );
        return Ok(());
    }
    for _ in 0..3 {
        if std::env::var_os("COLD").is_some() {
            evict(std::path::Path::new(&dir));
        }
        let t = Instant::now();
        let db = Db::open(&dir, opts())?;
        let r = db.stats().recovery;
        println!("open: {:.3?} (hints {}, scanned {})", t.elapsed(), r.segments_from_hints, r.segments_scanned);
    }
    Ok(())
}

/// Drops the directory's (clean) files from the page cache.
fn evict(dir: &std::path::Path) {
    use std::os::unix::io::AsRawFd;
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if let Ok(f) = std::fs::File::open(e.path()) {
            // SAFETY: an advisory syscall on a descriptor owned for the call.
            unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        }
    }
}
