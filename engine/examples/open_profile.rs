//! Times open with and without hint files (a profiling aid: `perf record`
//! this example). Usage: open_profile DIR KEYS
use std::time::Instant;

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
        let t = Instant::now();
        db.compact()?;
        println!("loaded {n} keys and compacted in {:.2?}", t.elapsed());
    }
    for _ in 0..3 {
        let t = Instant::now();
        let db = Db::open(&dir, opts())?;
        let r = db.stats().recovery;
        println!("open: {:.3?} (hints {}, scanned {})", t.elapsed(), r.segments_from_hints, r.segments_scanned);
    }
    Ok(())
}
