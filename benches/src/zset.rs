//! Sorted-set operations: libkv (embedded) against redis-server (loopback),
//! one client, the same members and scores, the same policy.

use std::time::Instant;

use hdrhistogram::Histogram;
use kv_engine::{Db, Options};

use crate::engines::redis::{Redis, Reply};
use crate::engines::Policy;
use crate::{summarize, Rng};

/// Options of `kv-bench zset`.
#[derive(clap::Args)]
pub struct Args {
    /// Members in the set.
    #[arg(long, default_value_t = 1_000_000)]
    members: u64,
    /// Operations timed per read command.
    #[arg(long, default_value_t = 100_000)]
    ops: u64,
    /// Policy for both engines.
    #[arg(long, default_value = "no")]
    policy: String,
    /// Runs; median [min–max].
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Skip redis-server.
    #[arg(long)]
    no_redis: bool,
}

const KEY: &[u8] = b"bench:zset";
const OPS: [&str; 5] = ["ZADD new", "ZADD update", "ZSCORE", "ZRANK", "ZREVRANGE 0 9 WITHSCORES"];

fn member(i: u64) -> Vec<u8> {
    format!("member:{i:07}").into_bytes()
}

/// What a sorted-set implementation must do for this benchmark.
trait ZEngine {
    fn op(&self, op: usize, member: &[u8], score: f64) -> Result<(), String>;
}

impl ZEngine for Db {
    fn op(&self, op: usize, m: &[u8], score: f64) -> Result<(), String> {
        let r = match op {
            0 | 1 => self.zadd(KEY, &[(score, m)]).map(|_| ()),
            2 => self.zscore(KEY, m).map(|_| ()),
            3 => self.zrank(KEY, m).map(|_| ()),
            _ => self.zrevrange(KEY, 0, 9).map(|_| ()),
        };
        r.map_err(|e| e.to_string())
    }
}

impl ZEngine for Redis {
    fn op(&self, op: usize, m: &[u8], score: f64) -> Result<(), String> {
        let s = format!("{score}");
        let r = match op {
            0 | 1 => self.command(0, &[b"ZADD", KEY, s.as_bytes(), m]),
            2 => self.command(0, &[b"ZSCORE", KEY, m]),
            3 => self.command(0, &[b"ZRANK", KEY, m]),
            _ => self.command(0, &[b"ZREVRANGE", KEY, b"0", b"9", b"WITHSCORES"]),
        }?;
        match r {
            Reply::Array(v) if op == 4 && v.len() != 20 => Err("ZREVRANGE returned the wrong count".into()),
            _ => Ok(()),
        }
    }
}

/// (ops/s, p50 µs, p99 µs) per op.
fn measure(z: &dyn ZEngine, a: &Args, scores: &[f64]) -> Result<Vec<(f64, f64, f64)>, String> {
    let mut out = Vec::new();
    let mut rng = Rng(0xBEEF);
    for op in 0..OPS.len() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 600_000_000_000, 3).expect("histogram");
        let count = if op == 0 { a.members } else { a.ops };
        let start = Instant::now();
        for i in 0..count {
            let idx = if op == 0 { i } else { rng.next() % a.members };
            let score = if op == 1 { (rng.next() % 1_000_000) as f64 } else { scores[idx as usize] };
            let m = member(idx);
            let t = Instant::now();
            z.op(op, &m, score)?;
            h.saturating_record(t.elapsed().as_nanos() as u64);
        }
        let secs = start.elapsed().as_secs_f64();
        out.push((
            count as f64 / secs,
            h.value_at_quantile(0.5) as f64 / 1000.0,
            h.value_at_quantile(0.99) as f64 / 1000.0,
        ));
    }
    Ok(out)
}

/// Runs the sorted-set comparison.
pub fn run(a: &Args) -> Result<(), String> {
    let policy = Policy::parse(&a.policy)?;
    let mut rng = Rng(42);
    let scores: Vec<f64> = (0..a.members).map(|_| (rng.next() % 1_000_000_000) as f64 / 1000.0).collect();
    let mut libkv = Vec::new();
    let mut redis = Vec::new();
    for _ in 0..a.runs.max(1) {
        let dir = tempfile::tempdir_in(".").map_err(|e| e.to_string())?;
        let opts =
            Options { fsync: policy.fsync(), auto_compaction: false, active_expiry: false, ..Options::default() };
        let db = Db::open(dir.path().join("libkv"), opts).map_err(|e| e.to_string())?;
        libkv.push(measure(&db, a, &scores)?);
        drop(db);
        if !a.no_redis {
            match Redis::open(&dir.path().join("redis"), policy, 1) {
                Ok(Some(r)) => redis.push(measure(&r, a, &scores)?),
                Ok(None) => {}
                Err(e) => println!("redis-server comparison skipped: {e}"),
            }
        }
    }
    println!(
        "## Sorted sets vs redis-server\n\nOne set of {} members (`member:NNNNNNN`, random scores), one client \
         thread, policy `{}` for both (redis: appendonly yes, appendfsync {}). \"ZADD new\" builds the set; the \
         others run {} times on random members. libkv is called in-process, redis-server over loopback TCP (one \
         request in flight): redis' figures include a network round trip. Median [min–max] over {} runs.\n",
        a.members,
        policy.name(),
        policy.name(),
        a.ops,
        libkv.len()
    );
    println!("| op | libkv ops/s | libkv p50 µs | libkv p99 µs | redis ops/s | redis p50 µs | redis p99 µs | libkv ÷ redis |");
    println!("|---|---|---|---|---|---|---|---|");
    let cell = |runs: &Vec<Vec<(f64, f64, f64)>>, op: usize| {
        if runs.is_empty() {
            return (None, "-".to_string(), "-".to_string(), "-".to_string());
        }
        let (m, lo, hi) = summarize(runs.iter().map(|r| r[op].0).collect());
        let (p50, _, _) = summarize(runs.iter().map(|r| r[op].1).collect());
        let (p99, _, _) = summarize(runs.iter().map(|r| r[op].2).collect());
        (Some(m), format!("{m:.0} [{lo:.0}–{hi:.0}]"), format!("{p50:.1}"), format!("{p99:.1}"))
    };
    for (op, name) in OPS.iter().enumerate() {
        let (lm, l, l50, l99) = cell(&libkv, op);
        let (rm, r, r50, r99) = cell(&redis, op);
        let ratio = match (lm, rm) {
            (Some(x), Some(y)) => format!("{:.2}", x / y),
            _ => "-".into(),
        };
        println!("| {name} | {l} | {l50} | {l99} | {r} | {r50} | {r99} | {ratio} |");
    }
    println!();
    Ok(())
}
