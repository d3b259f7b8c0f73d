//! Profiling driver (not a test): builds a 1M-member set, then runs ZADD
//! updates of random members for `perf record`.
//! Run: `cargo run --release -p kv-engine --example zadd_profile [UPDATES]`.
use kv_engine::{Db, Fsync, Options};
use std::time::Instant;

fn main() {
    let updates: usize = std::env::args().nth(1).and_then(|v| v.parse().ok()).unwrap_or(3_000_000);
    let n: u64 = std::env::args().nth(2).and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = Options { fsync: Fsync::No, auto_compaction: false, active_expiry: false, ..Options::default() };
    let db = Db::open(dir.path(), opts).expect("open");
    let mut rng = fastrand::Rng::with_seed(42);
    let members: Vec<Vec<u8>> = (0..n).map(|i| format!("member:{i:07}").into_bytes()).collect();
    for m in &members {
        db.zadd(b"bench:zset", &[(rng.f64() * 1e6, m)]).expect("zadd");
    }
    // As the bench: the picked members are fresh, adjacent allocations.
    let picks: Vec<Vec<u8>> = (0..updates).map(|_| members[rng.usize(..n as usize)].clone()).collect();
    let t = Instant::now();
    for m in &picks {
        db.zadd(b"bench:zset", &[(rng.f64() * 1e6, m)]).expect("zadd");
    }
    println!("{:.0} ns/update", t.elapsed().as_nanos() as f64 / updates as f64);
}
