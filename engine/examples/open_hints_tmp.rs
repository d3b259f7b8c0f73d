//! Temporary: times opening a 10M-key database from hints (warm).
use kv_engine::{Db, Fsync, Options, WriteBatch};
use std::time::Instant;
fn opts() -> Options {
    Options { fsync: Fsync::No, auto_compaction: false, active_expiry: false, ..Options::default() }
}
fn main() {
    let mut a = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(a.next().unwrap());
    let runs: usize = a.next().unwrap().parse().unwrap();
    if !dir.exists() {
        let db = Db::open(&dir, opts()).unwrap();
        let mut b = WriteBatch::new();
        for i in 0..10_000_000u64 {
            let mut k = [0u8; 16];
            k[..8].copy_from_slice(b"key:\0\0\0\0");
            k[8..].copy_from_slice(&i.to_be_bytes());
            b.put(&k, &[7u8; 100]);
            if b.len() == 1000 {
                db.write_batch(&b).unwrap();
                b.clear();
            }
        }
        db.compact().unwrap();
    }
    let mut t = Vec::new();
    for _ in 0..runs {
        let s = Instant::now();
        let db = Db::open(&dir, opts()).unwrap();
        t.push(s.elapsed().as_secs_f64());
        assert!(db.stats().recovery.segments_from_hints > 0);
        drop(db);
    }
    t.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!("median {:.3} min {:.3} all {:?}", t[t.len() / 2], t[0], t);
}
