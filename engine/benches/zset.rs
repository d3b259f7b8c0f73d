//! Sorted-set benchmark (not a test): latency of ZADD, ZSCORE, ZRANK and
//! ZREVRANGE 0 9 WITHSCORES on a 1M-member set with `Fsync::No`, memory per
//! member from a counting global allocator, and, if `redis-server` is on the
//! PATH, redis-server's `used_memory` for the same members.
//!
//! Run: `cargo bench -p kv-engine --bench zset` (release profile).
//! `ZSET_BENCH_MEMBERS` overrides the member count (default 1,000,000).

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kv_engine::{Db, Fsync, Options};

/// Counts live heap bytes so memory per member can be measured exactly.
struct Counting;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: defers every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
            LIVE_BYTES.fetch_add(new_size, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn member(i: u64) -> Vec<u8> {
    format!("member:{i:07}").into_bytes()
}

/// Percentiles of per-operation latencies.
fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q) as usize].as_nanos();
    println!(
        "{name:<34} n={:>8}  p50={:>6} ns  p90={:>6} ns  p99={:>7} ns  max={:>9} ns",
        samples.len(),
        at(0.5),
        at(0.9),
        at(0.99),
        samples.last().map_or(0, |d| d.as_nanos())
    );
}

/// Times `f(i)` for `i` in `0..n` into `out` (allocated by the caller, so
/// the sample buffer is not counted as sorted-set memory).
fn timed_into(out: &mut Vec<Duration>, n: usize, mut f: impl FnMut(usize)) {
    out.clear();
    out.reserve(n);
    for i in 0..n {
        let t = Instant::now();
        f(i);
        out.push(t.elapsed());
    }
}

fn timed(n: usize, f: impl FnMut(usize)) -> Vec<Duration> {
    let mut out = Vec::new();
    timed_into(&mut out, n, f);
    out
}

fn main() {
    let n: u64 = std::env::var("ZSET_BENCH_MEMBERS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = Options { fsync: Fsync::No, auto_compaction: false, active_expiry: false, ..Options::default() };
    let db = Db::open(dir.path(), opts).expect("open");
    let mut rng = fastrand::Rng::with_seed(42);
    let scores: Vec<f64> = (0..n).map(|_| rng.f64() * 1e6).collect();
    let key = b"bench:zset";

    // Members and the sample buffer exist before the memory window opens and
    // outside the timed region: only the ZADD itself is measured.
    let new_members: Vec<Vec<u8>> = (0..n).map(member).collect();
    let mut adds = Vec::with_capacity(n as usize);

    println!("sorted-set benchmark: {n} members, Fsync::No, release build");
    let live_before = LIVE_BYTES.load(Ordering::Relaxed);
    let t0 = Instant::now();
    timed_into(&mut adds, n as usize, |i| {
        db.zadd(key, &[(scores[i], &new_members[i])]).expect("zadd");
    });
    let build = t0.elapsed();
    let live_after = LIVE_BYTES.load(Ordering::Relaxed);
    report("ZADD new member (growing to n)", adds);
    println!("  build: {:.2} s, {:.0} ops/s", build.as_secs_f64(), n as f64 / build.as_secs_f64());

    let q = 200_000usize;
    let picks: Vec<u64> = (0..q).map(|_| rng.u64(..n)).collect();
    let members: Vec<Vec<u8>> = picks.iter().map(|&i| member(i)).collect();
    report(
        "ZADD update existing (at n)",
        timed(q, |i| {
            db.zadd(key, &[(rng.f64() * 1e6, &members[i])]).expect("zadd");
        }),
    );
    report(
        "ZSCORE",
        timed(q, |i| {
            std::hint::black_box(db.zscore(key, &members[i]).expect("zscore"));
        }),
    );
    report(
        "ZRANK",
        timed(q, |i| {
            std::hint::black_box(db.zrank(key, &members[i]).expect("zrank"));
        }),
    );
    report(
        "ZREVRANGE 0 9 WITHSCORES",
        timed(q, |_| {
            std::hint::black_box(db.zrevrange(key, 0, 9).expect("zrevrange"));
        }),
    );

    let grown = live_after.saturating_sub(live_before);
    println!(
        "memory: {:.1} B/member heap growth over {n} ZADDs (counting allocator; member length 14); \
         zset_heap_bytes() estimate {:.1} B/member",
        grown as f64 / n as f64,
        db.zset_heap_bytes() as f64 / n as f64
    );
    drop(db);

    match redis_used_memory(n, &scores) {
        Ok(Some(bytes)) => println!("redis-server used_memory delta: {:.1} B/member", bytes as f64 / n as f64),
        Ok(None) => println!("redis-server not found on PATH: comparison skipped"),
        Err(e) => println!("redis-server comparison failed: {e}"),
    }
}

/// Starts a throwaway redis-server, loads the same members, and returns the
/// growth of `INFO memory` `used_memory`; `None` if redis-server is missing.
fn redis_used_memory(n: u64, scores: &[f64]) -> std::io::Result<Option<i64>> {
    let port = 26_379u16;
    let child = std::process::Command::new("redis-server")
        .args(["--port", &port.to_string(), "--save", "", "--appendonly", "no", "--daemonize", "no"])
        .stdout(std::process::Stdio::null())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let result = (|| {
        let mut conn = None;
        for _ in 0..100 {
            if let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                conn = Some(s);
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let stream = conn.ok_or_else(|| std::io::Error::other("redis-server did not start"))?;
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut w = std::io::BufWriter::new(stream);
        let used = |w: &mut std::io::BufWriter<std::net::TcpStream>, r: &mut BufReader<std::net::TcpStream>| {
            send(w, &[b"INFO".to_vec(), b"memory".to_vec()])?;
            w.flush()?;
            let text = read_bulk(r)?;
            text.lines()
                .find_map(|l| l.strip_prefix("used_memory:").and_then(|v| v.trim().parse::<i64>().ok()))
                .ok_or_else(|| std::io::Error::other("no used_memory"))
        };
        let before = used(&mut w, &mut reader)?;
        let chunk = 1000u64;
        let mut start = 0;
        while start < n {
            let end = (start + chunk).min(n);
            let mut args = vec![b"ZADD".to_vec(), b"bench:zset".to_vec()];
            for i in start..end {
                args.push(format!("{}", scores[i as usize]).into_bytes());
                args.push(member(i));
            }
            send(&mut w, &args)?;
            w.flush()?;
            let mut line = String::new();
            reader.read_line(&mut line)?;
            if !line.starts_with(':') {
                return Err(std::io::Error::other(format!("ZADD failed: {line}")));
            }
            start = end;
        }
        let after = used(&mut w, &mut reader)?;
        Ok(Some(after - before))
    })();
    let _ = child.kill();
    let _ = child.wait();
    result
}

fn send(w: &mut impl Write, args: &[Vec<u8>]) -> std::io::Result<()> {
    write!(w, "*{}\r\n", args.len())?;
    for a in args {
        write!(w, "${}\r\n", a.len())?;
        w.write_all(a)?;
        w.write_all(b"\r\n")?;
    }
    Ok(())
}

fn read_bulk(r: &mut BufReader<std::net::TcpStream>) -> std::io::Result<String> {
    let mut line = String::new();
    r.read_line(&mut line)?;
    let len: usize = line
        .strip_prefix('$')
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("unexpected reply {line}")))?;
    let mut buf = vec![0u8; len + 2];
    r.read_exact(&mut buf)?;
    buf.truncate(len);
    String::from_utf8(buf).map_err(std::io::Error::other)
}
