//! Writer and verifier for `scripts/crash-loop.sh`, which kills the writer
//! with SIGKILL at random moments, over and over, on the same directory.
//!
//! ```text
//! crash_writer write  <db-dir> <log-dir> <cycle>   # runs until killed
//! crash_writer verify <db-dir> <log-dir>           # exit 1 on a lost write
//! ```
//!
//! The writer runs `THREADS` threads under `Fsync::Always`. Thread `t` only
//! touches its own keys `t{t}-k{i}`, so each key's history is ordered by that
//! thread's log. Before each operation the thread appends `I <n> <ops>` to
//! `ack-<t>.log`, and after it is acknowledged `A <n>` (each line one
//! unbuffered `write(2)`, which survives SIGKILL in the page cache). Ops are
//! puts, deletes, puts with a TTL (short ones expire across restarts, long
//! ones must survive) and atomic batches mixing them.
//!
//! The verifier folds the acknowledged ops into the model kept in
//! `model.txt`; the one op per thread that may be in flight (an `I` without
//! its `A`) may or may not have landed, but atomically: each thread's keys
//! must match the model either without it or with all of it. A key with a
//! TTL must be present before its expiry and absent after (in between the
//! two clock readings around the check, either). The outcome found becomes
//! the model for the next cycle.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use kv_engine::{Clock, Db, Fsync, Options, SystemClock, WriteBatch};

/// Writer threads.
const THREADS: u32 = 4;
/// Keys per thread.
const KEYS_PER_THREAD: u32 = 40;

/// One operation of a logged step.
#[derive(Clone, Debug, PartialEq)]
enum Op {
    /// Put value number `vid`, expiring at `expire_at_ms` (0 = never).
    Put { key: u32, vid: u64, expire_at_ms: u64 },
    /// Delete.
    Delete { key: u32 },
}

/// Expected state of one key: value number and expiry, or absent.
type State = Option<(u64, u64)>;
/// Expected state of every key of every thread: (thread, key) → state.
type Model = BTreeMap<(u32, u32), (u64, u64)>;

fn key_name(t: u32, k: u32) -> String {
    format!("t{t}-k{k}")
}

/// The value stored for value number `vid` of a key; lengths vary from a few
/// bytes to past the 512-byte compression threshold.
fn value_for(t: u32, k: u32, vid: u64) -> Vec<u8> {
    let mut v = format!("{}:{vid}:", key_name(t, k)).into_bytes();
    let filler = (vid.wrapping_mul(2_654_435_761) % 900) as usize;
    v.extend((0..filler).map(|i| b"abcdefghij"[(i + vid as usize) % 10]));
    v
}

fn encode_ops(ops: &[Op]) -> String {
    let parts: Vec<String> = ops
        .iter()
        .map(|op| match op {
            Op::Put { key, vid, expire_at_ms } => format!("P{key}:{vid}:{expire_at_ms}"),
            Op::Delete { key } => format!("D{key}"),
        })
        .collect();
    parts.join(",")
}

fn parse_ops(s: &str) -> Option<Vec<Op>> {
    s.split(',')
        .map(|p| {
            if let Some(rest) = p.strip_prefix('P') {
                let mut it = rest.split(':');
                let key = it.next()?.parse().ok()?;
                let vid = it.next()?.parse().ok()?;
                let expire_at_ms = it.next()?.parse().ok()?;
                Some(Op::Put { key, vid, expire_at_ms })
            } else {
                Some(Op::Delete { key: p.strip_prefix('D')?.parse().ok()? })
            }
        })
        .collect()
}

fn options() -> Options {
    Options {
        fsync: Fsync::Always,
        max_segment_size_bytes: 64 * 1024,
        compression_threshold_bytes: 512,
        ..Options::default()
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn write(dir: &Path, log_dir: &Path, cycle: u64) -> Result<(), String> {
    let db = Db::open(dir, options()).map_err(|e| format!("open: {e}"))?;
    let clock = SystemClock;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let db = &db;
                s.spawn(move || -> Result<(), String> {
                    let path = log_dir.join(format!("ack-{t}.log"));
                    let mut log = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&path)
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                    let mut rng = Rng((cycle << 8 | t as u64) * 0x9E37_79B9_7F4A_7C15 | 1);
                    for n in 0u64.. {
                        let vid = cycle << 32 | (t as u64) << 28 | n;
                        let now = clock.now_ms();
                        let one = |rng: &mut Rng, i: u64| {
                            let key = rng.below(KEYS_PER_THREAD as u64) as u32;
                            match rng.below(10) {
                                0..=4 => Op::Put { key, vid: vid * 8 + i, expire_at_ms: 0 },
                                5 | 6 => Op::Delete { key },
                                // Short TTLs expire around the next check; long ones must survive it.
                                7 | 8 => Op::Put { key, vid: vid * 8 + i, expire_at_ms: now + rng.below(3_000) },
                                _ => Op::Put { key, vid: vid * 8 + i, expire_at_ms: now + 3_600_000 },
                            }
                        };
                        let ops: Vec<Op> = if rng.below(5) == 0 {
                            (0..2 + rng.below(4)).map(|i| one(&mut rng, i)).collect()
                        } else {
                            vec![one(&mut rng, 0)]
                        };
                        log.write_all(format!("I {n} {}\n", encode_ops(&ops)).as_bytes())
                            .map_err(|e| format!("log: {e}"))?;
                        let result = match ops.as_slice() {
                            [Op::Put { key, vid, expire_at_ms: 0 }] => {
                                db.put(key_name(t, *key).as_bytes(), &value_for(t, *key, *vid))
                            }
                            [Op::Delete { key }] => db.delete(key_name(t, *key).as_bytes()).map(|_| ()),
                            _ => {
                                let mut b = WriteBatch::new();
                                for op in &ops {
                                    match op {
                                        Op::Put { key, vid, expire_at_ms } => b.put_with_expiry(
                                            key_name(t, *key).as_bytes(),
                                            &value_for(t, *key, *vid),
                                            *expire_at_ms,
                                        ),
                                        Op::Delete { key } => b.delete(key_name(t, *key).as_bytes()),
                                    };
                                }
                                db.write_batch(&b)
                            }
                        };
                        result.map_err(|e| format!("thread {t} op {n}: {e}"))?;
                        log.write_all(format!("A {n}\n").as_bytes()).map_err(|e| format!("log: {e}"))?;
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join().map_err(|_| "writer thread panicked".to_string())??;
        }
        Ok(())
    })
}

fn apply(model: &mut Model, t: u32, ops: &[Op]) {
    for op in ops {
        match *op {
            Op::Put { key, vid, expire_at_ms } => {
                model.insert((t, key), (vid, expire_at_ms));
            }
            Op::Delete { key } => {
                model.remove(&(t, key));
            }
        }
    }
}

fn load_model(path: &Path) -> Result<(Model, u64), String> {
    let mut model = Model::new();
    let mut acked_total = 0;
    let Ok(text) = std::fs::read_to_string(path) else { return Ok((model, 0)) };
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        match f.as_slice() {
            ["acked", n] => acked_total = n.parse().map_err(|_| "bad model")?,
            [t, k, vid, exp] => {
                let p = |s: &str| s.parse::<u64>().map_err(|_| format!("bad model line {line:?}"));
                model.insert((p(t)? as u32, p(k)? as u32), (p(vid)?, p(exp)?));
            }
            _ => return Err(format!("bad model line {line:?}")),
        }
    }
    Ok((model, acked_total))
}

fn save_model(path: &Path, model: &Model, acked_total: u64) -> Result<(), String> {
    let mut text = format!("acked {acked_total}\n");
    for ((t, k), (vid, exp)) in model {
        text.push_str(&format!("{t} {k} {vid} {exp}\n"));
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, path).map_err(|e| e.to_string())
}

/// Whether what the database shows for one key is allowed by `want`, given
/// clock readings before and after the read.
fn allowed(got: &Option<Vec<u8>>, want: State, value: impl Fn(u64) -> Vec<u8>, before: u64, after: u64) -> bool {
    match want {
        None => got.is_none(),
        Some((vid, exp)) => {
            let matches = got.as_deref() == Some(value(vid).as_slice());
            if exp != 0 && exp <= before {
                got.is_none()
            } else if exp == 0 || exp > after {
                matches
            } else {
                got.is_none() || matches
            }
        }
    }
}

fn verify(dir: &Path, log_dir: &Path) -> Result<String, String> {
    let model_path = log_dir.join("model.txt");
    let (mut model, mut acked_total) = load_model(&model_path)?;
    let mut pending: BTreeMap<u32, Vec<Op>> = BTreeMap::new();
    let mut acked_now = 0u64;
    for t in 0..THREADS {
        let path = log_dir.join(format!("ack-{t}.log"));
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        let mut intent: Option<(u64, Vec<Op>)> = None;
        // A line without its newline was cut by the kill: an unfinished intent
        // means the op never started; an unfinished ack leaves it in flight.
        let complete = text.rsplit_once('\n').map_or("", |(done, _)| done);
        for line in complete.lines() {
            let mut f = line.splitn(3, ' ');
            match (f.next(), f.next().and_then(|n| n.parse::<u64>().ok()), f.next()) {
                (Some("I"), Some(n), Some(ops)) => {
                    if intent.is_some() {
                        return Err(format!("thread {t}: two intents without an ack before op {n}"));
                    }
                    intent = Some((n, parse_ops(ops).ok_or_else(|| format!("bad ops {ops:?}"))?));
                }
                (Some("A"), Some(n), None) => match intent.take() {
                    Some((m, ops)) if m == n => {
                        apply(&mut model, t, &ops);
                        acked_now += 1;
                    }
                    _ => return Err(format!("thread {t}: ack {n} without its intent")),
                },
                _ => return Err(format!("thread {t}: bad log line {line:?}")),
            }
        }
        if let Some((_, ops)) = intent {
            pending.insert(t, ops);
        }
    }
    acked_total += acked_now;

    let db = Db::open(dir, Options { recovery: kv_engine::RecoveryMode::Strict, ..options() })
        .map_err(|e| format!("reopen after kill: {e}"))?;
    let clock = SystemClock;
    let mut landed = 0;
    for t in 0..THREADS {
        let before = clock.now_ms();
        let got: Vec<Option<Vec<u8>>> = (0..KEYS_PER_THREAD)
            .map(|k| db.get(key_name(t, k).as_bytes()).map_err(|e| format!("get {}: {e}", key_name(t, k))))
            .collect::<Result<_, _>>()?;
        let after = clock.now_ms();
        let fits = |m: &Model| {
            (0..KEYS_PER_THREAD)
                .all(|k| allowed(&got[k as usize], m.get(&(t, k)).copied(), |vid| value_for(t, k, vid), before, after))
        };
        let mut with = model.clone();
        if let Some(ops) = pending.get(&t) {
            apply(&mut with, t, ops);
        }
        if pending.contains_key(&t) && fits(&with) {
            model = with;
            landed += 1;
        } else if !fits(&model) {
            let bad: Vec<String> = (0..KEYS_PER_THREAD)
                .filter(|&k| {
                    !allowed(&got[k as usize], model.get(&(t, k)).copied(), |vid| value_for(t, k, vid), before, after)
                })
                .map(|k| {
                    format!(
                        "{}: expected {:?}, got {:?}",
                        key_name(t, k),
                        model.get(&(t, k)),
                        got[k as usize].as_ref().map(|v| String::from_utf8_lossy(&v[..v.len().min(40)]).into_owned())
                    )
                })
                .collect();
            return Err(format!(
                "thread {t}: acknowledged state lost (in flight: {:?}); now={before}..{after}\n  {}",
                pending.get(&t),
                bad.join("\n  ")
            ));
        }
    }
    for key in db.keys().map_err(|e| e.to_string())? {
        let name = String::from_utf8_lossy(&key);
        let known = name
            .strip_prefix('t')
            .and_then(|r| r.split_once("-k"))
            .and_then(|(t, k)| Some((t.parse::<u32>().ok()?, k.parse::<u32>().ok()?)))
            .is_some_and(|(t, k)| t < THREADS && k < KEYS_PER_THREAD);
        if !known {
            return Err(format!("unknown key {name:?} in the database"));
        }
    }
    let stats = db.stats();
    db.close().map_err(|e| format!("close: {e}"))?;
    // The model now holds the outcome; start the next cycle's logs afresh.
    save_model(&model_path, &model, acked_total)?;
    for t in 0..THREADS {
        let _ = std::fs::remove_file(log_dir.join(format!("ack-{t}.log")));
    }
    Ok(format!(
        "acked {acked_now} (total {acked_total}), in flight {} (landed {landed}), keys {}, segments {}, torn tail {} B",
        pending.len(),
        stats.keys,
        stats.segments.len(),
        stats.recovery.torn_tail_bytes_truncated
    ))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [_, "write", dir, log_dir, cycle] => match cycle.parse() {
            Ok(cycle) => write(Path::new(dir), Path::new(log_dir), cycle).map(|()| String::new()),
            Err(_) => Err(format!("bad cycle {cycle:?}")),
        },
        [_, "verify", dir, log_dir] => verify(Path::new(dir), &PathBuf::from(log_dir)),
        _ => Err("usage: crash_writer write <db-dir> <log-dir> <cycle> | verify <db-dir> <log-dir>".into()),
    };
    match result {
        Ok(msg) => {
            if !msg.is_empty() {
                println!("{msg}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("crash_writer: {e}");
            ExitCode::FAILURE
        }
    }
}
