//! Crash cost per policy, measured: acknowledged writes lost after kill -9
//! of a writer process, and after a simulated power cut.
//!
//! kill -9: `kv-bench crash-child` writes with N threads and prints one line
//! per acknowledged put on a pipe; the parent SIGKILLs it, reopens the
//! directory and counts acknowledged keys that are missing or wrong.
//!
//! Power cut: a writer runs against `SimStorage` for N ms, then
//! `power_cut(Some(seed))` keeps only synced bytes plus a random prefix of
//! the unsynced ones (partial write-back); the database is reopened on what
//! survived and the acknowledged keys are checked.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kv_engine::{Db, Options, SimStorage};

use crate::durability::{key, random_value};
use crate::engines::{parse_policies, Policy};
use crate::summarize;

/// Options of `kv-bench crash`.
#[derive(clap::Args)]
pub struct Args {
    /// Policies to measure.
    #[arg(long, default_value = "always,everysec,no")]
    policies: String,
    /// Writer threads (in the child, and against the simulated disk).
    #[arg(long, default_value_t = 4)]
    threads: usize,
    /// Value size in bytes.
    #[arg(long, default_value_t = 100)]
    value_bytes: usize,
    /// kill -9 runs per policy.
    #[arg(long, default_value_t = 3)]
    kill_runs: usize,
    /// Milliseconds the child writes (after its first ack) before SIGKILL.
    #[arg(long, default_value_t = 1500)]
    kill_after_ms: u64,
    /// Power-cut runs per policy (each with its own torn-write seed).
    #[arg(long, default_value_t = 3)]
    power_runs: usize,
    /// Milliseconds the writers run on the simulated disk before the cut.
    #[arg(long, default_value_t = 2500)]
    power_ms: u64,
    /// Directory for the kill -9 databases (default: a temp dir here).
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// Options of the hidden `kv-bench crash-child`.
#[derive(clap::Args)]
pub struct ChildArgs {
    /// Database directory.
    #[arg(long)]
    dir: PathBuf,
    /// Policy.
    #[arg(long)]
    policy: String,
    /// Writer threads.
    #[arg(long)]
    threads: usize,
    /// Value size in bytes.
    #[arg(long)]
    value_bytes: usize,
}

/// The value stored under write `i` of thread `t`: random bytes with the key
/// in front, so a value belonging to another key is detected.
fn value_for(base: &[u8], k: &[u8; 16]) -> Vec<u8> {
    let mut v = base.to_vec();
    let n = v.len().min(k.len());
    v[..n].copy_from_slice(&k[..n]);
    v
}

fn opts(policy: Policy) -> Options {
    Options { fsync: policy.fsync(), auto_compaction: false, ..Options::default() }
}

/// The child: writes until killed, one line `t i` per acknowledged put.
pub fn run_child(a: &ChildArgs) -> Result<(), String> {
    let policy = Policy::parse(&a.policy)?;
    let db = Db::open(&a.dir, opts(policy)).map_err(|e| e.to_string())?;
    let base = random_value(a.value_bytes, 0xC0FFEE ^ a.value_bytes as u64);
    let out = std::sync::Mutex::new(std::io::stdout());
    std::thread::scope(|s| {
        for t in 0..a.threads {
            let (db, out, base) = (&db, &out, &base);
            s.spawn(move || {
                for i in 0u64.. {
                    let k = key(b"kill", t, i);
                    if db.put(&k, &value_for(base, &k)).is_err() {
                        return;
                    }
                    let mut o = out.lock().unwrap_or_else(|p| p.into_inner());
                    // A line reaches the pipe only after the put returned.
                    if writeln!(o, "{t} {i}").and_then(|_| o.flush()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    Ok(())
}

struct Outcome {
    acked: u64,
    lost: u64,
    /// Age at the crash of the oldest lost acknowledged write, ms.
    oldest_lost_ms: f64,
    /// Present after reopen but never acknowledged (in flight at the crash).
    unacked_present: u64,
}

fn kill9_once(dir: &Path, policy: Policy, a: &Args) -> Result<Outcome, String> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .args(["crash-child", "--policy", policy.name()])
        .arg("--dir")
        .arg(dir)
        .args(["--threads", &a.threads.to_string(), "--value-bytes", &a.value_bytes.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let stdout = child.stdout.take().ok_or("child has no stdout")?;
    let (first_tx, first_rx) = std::sync::mpsc::channel::<()>();
    let reader = std::thread::spawn(move || {
        let mut acks = Vec::new();
        let mut r = BufReader::new(stdout);
        let mut line = Vec::new();
        loop {
            line.clear();
            match r.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                // A line cut by the kill has no newline: not an ack.
                Ok(_) if line.last() != Some(&b'\n') => break,
                Ok(_) => {
                    let s = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
                    let mut it = s.split(' ').filter_map(|p| p.parse::<u64>().ok());
                    if let (Some(t), Some(i)) = (it.next(), it.next()) {
                        if acks.is_empty() {
                            let _ = first_tx.send(());
                        }
                        acks.push((t as usize, i));
                    }
                }
            }
        }
        acks
    });
    if first_rx.recv_timeout(Duration::from_secs(30)).is_err() {
        let _ = child.kill();
        let _ = child.wait();
        return Err("crash child acknowledged nothing within 30 s".into());
    }
    std::thread::sleep(Duration::from_millis(a.kill_after_ms));
    child.kill().map_err(|e| e.to_string())?; // SIGKILL
    let _ = child.wait();
    let acks = reader.join().map_err(|_| "reader panicked")?;
    let db = Db::open(dir, opts(policy)).map_err(|e| format!("reopen after kill -9: {e}"))?;
    let base = random_value(a.value_bytes, 0xC0FFEE ^ a.value_bytes as u64);
    let mut lost = 0;
    for &(t, i) in &acks {
        let k = key(b"kill", t, i);
        if db.get(&k).map_err(|e| e.to_string())? != Some(value_for(&base, &k)) {
            lost += 1;
        }
    }
    let present = db.len().map_err(|e| e.to_string())?;
    drop(db);
    let _ = std::fs::remove_dir_all(dir);
    Ok(Outcome {
        acked: acks.len() as u64,
        lost,
        oldest_lost_ms: 0.0,
        unacked_present: present.saturating_sub(acks.len() as u64 - lost),
    })
}

fn power_once(policy: Policy, seed: u64, a: &Args) -> Result<Outcome, String> {
    let disk = SimStorage::new();
    // Preallocation only costs memory on the simulated disk; segment size,
    // policy and every other option are the defaults.
    let o = Options { preallocate: false, ..opts(policy) };
    let db = Db::open_with_storage(Arc::new(disk.clone()), o.clone()).map_err(|e| e.to_string())?;
    let base = random_value(a.value_bytes, 0xC0FFEE ^ a.value_bytes as u64);
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    let mut cut_at = start;
    let mut survivor = None;
    let acks: Vec<Vec<(u64, Duration)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..a.threads)
            .map(|t| {
                let (db, base, stop) = (&db, &base, &stop);
                s.spawn(move || {
                    let mut acked = Vec::new();
                    for i in 0u64.. {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let k = key(b"powr", t, i);
                        if db.put(&k, &value_for(base, &k)).is_err() {
                            break; // the disk is gone
                        }
                        acked.push((i, start.elapsed()));
                    }
                    acked
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(a.power_ms));
        // The cut takes effect when power_cut takes the disk's lock, before it
        // copies the surviving bytes; time it from there.
        cut_at = Instant::now();
        survivor = Some(disk.power_cut(Some(seed)));
        stop.store(true, Ordering::Relaxed);
        handles.into_iter().map(|h| h.join().unwrap_or_default()).collect()
    });
    drop(db); // its storage now fails every call; close errors are expected
    let cut_ms = cut_at.duration_since(start);
    let after = survivor.ok_or("no power cut happened")?;
    let db = Db::open_with_storage(Arc::new(after), o).map_err(|e| format!("reopen after power cut: {e}"))?;
    let (mut acked, mut lost, mut oldest) = (0u64, 0u64, Duration::ZERO);
    for (t, list) in acks.iter().enumerate() {
        for &(i, at) in list {
            acked += 1;
            let k = key(b"powr", t, i);
            if db.get(&k).map_err(|e| e.to_string())? != Some(value_for(&base, &k)) {
                lost += 1;
                oldest = oldest.max(cut_ms.saturating_sub(at));
            }
        }
    }
    let present = db.len().map_err(|e| e.to_string())?;
    Ok(Outcome {
        acked,
        lost,
        oldest_lost_ms: oldest.as_secs_f64() * 1000.0,
        unacked_present: present.saturating_sub(acked - lost),
    })
}

fn expected(scenario: &str, p: Policy) -> &'static str {
    match (scenario, p) {
        ("kill -9", _) => "0 (writes reach the page cache before the ack)",
        (_, Policy::Always) => "0",
        (_, Policy::EverySec) => "≤ ~1 s of writes (≤ 2 s under load)",
        (_, Policy::No) => "unbounded (all since the last rotation/close)",
    }
}

fn row(scenario: &str, p: Policy, outs: &[Outcome]) {
    let (acked, _, _) = summarize(outs.iter().map(|o| o.acked as f64).collect());
    let (lost, lo, hi) = summarize(outs.iter().map(|o| o.lost as f64).collect());
    let (age, alo, ahi) = summarize(outs.iter().map(|o| o.oldest_lost_ms).collect());
    let (unacked, _, _) = summarize(outs.iter().map(|o| o.unacked_present as f64).collect());
    let pct = if acked > 0.0 { 100.0 * lost / acked } else { 0.0 };
    println!(
        "| {scenario} | {} | {} | {acked:.0} | {lost:.0} [{lo:.0}–{hi:.0}] ({pct:.1}%) | {age:.0} [{alo:.0}–{ahi:.0}] | {unacked:.0} | {} |",
        p.name(),
        outs.len(),
        expected(scenario, p)
    );
}

/// Runs both crash scenarios for every policy and prints a markdown table.
pub fn run(a: &Args) -> Result<(), String> {
    let policies = parse_policies(&a.policies)?;
    let tmp;
    let dir = match &a.dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir_in(".").map_err(|e| e.to_string())?;
            tmp.path().to_path_buf()
        }
    };
    println!(
        "## Crash cost (libkv)\n\n{} writer threads, {} B values. kill -9: child process SIGKILLed {} ms after its \
         first ack, {} runs. Power cut: `SimStorage::power_cut(Some(seed))` after {} ms of writes (synced bytes \
         survive, plus a random prefix of unsynced ones), {} runs with different seeds. Median [min–max].\n",
        a.threads, a.value_bytes, a.kill_after_ms, a.kill_runs, a.power_ms, a.power_runs
    );
    println!(
        "| scenario | policy | runs | acked writes | acked but lost | oldest lost ack, ms before crash | unacked writes present | expected loss |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for &p in &policies {
        let outs: Vec<Outcome> = (0..a.kill_runs)
            .map(|r| kill9_once(&dir.join(format!("kill-{}-{r}", p.name())), p, a))
            .collect::<Result<_, _>>()?;
        row("kill -9", p, &outs);
    }
    for &p in &policies {
        let outs: Vec<Outcome> =
            (0..a.power_runs).map(|r| power_once(p, 0x5EED_0000 + r as u64, a)).collect::<Result<_, _>>()?;
        row("power cut (sim)", p, &outs);
    }
    println!(
        "\n\"unacked writes present\": puts in flight at the crash that survived anyway (allowed). A power cut under \
         `no` loses what the OS had not written back; on the simulated disk nothing is written back except the \
         random torn prefix, so this is the worst case.\n"
    );
    Ok(())
}
