//! Writer and verifier for `scripts/crash-loop.sh`, which kills the writer
//! with SIGKILL at random moments, over and over, on the same directory.
//!
//! ```text
//! crash_writer write  <db-dir> <log-dir> <cycle>   # runs until killed
//! crash_writer verify <db-dir> <log-dir>           # exit 1 on a lost write
//! ```
//!
//! The writer runs `THREADS` threads under `Fsync::Always`, and compaction
//! in a loop beside them; every other merge pauses the writers first (a
//! merge that starts while commits run uses one thread, a quiet one two),
//! so kills land in both kinds. Thread `t` only
//! touches its own string keys `t{t}-k{i}` and sorted-set keys `t{t}-z{i}`,
//! so each key's history is ordered by that thread's log. Before each operation the thread appends `I <n> <ops>` to
//! `ack-<t>.log`, and after it is acknowledged `A <n>` (each line one
//! unbuffered `write(2)`, which survives SIGKILL in the page cache). Ops are
//! puts, `SET .. PXAT` with a TTL (short ones expire across restarts, long
//! ones must survive), `PEXPIREAT` (its reply is logged with the ack and
//! checked against the model), deletes, `ZADD`/`ZREM` on sorted sets, and
//! atomic batches of puts (with and without expiry) and deletes.
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

use kv_engine::{Clock, Db, ExpireCondition, Expiry, Fsync, Options, SetOptions, SystemClock, WriteBatch};

/// Writer threads.
const THREADS: u32 = 4;
/// String keys per thread.
const KEYS_PER_THREAD: u32 = 40;
/// Sorted-set keys per thread (numbered after the string keys).
const ZSETS_PER_THREAD: u32 = 4;
/// All keys of a thread: string keys, then sorted sets.
const ALL_KEYS: u32 = KEYS_PER_THREAD + ZSETS_PER_THREAD;

/// One operation of a logged step.
#[derive(Clone, Debug, PartialEq)]
enum Op {
    /// Put value number `vid`, expiring at `expire_at_ms` (0 = never).
    Put { key: u32, vid: u64, expire_at_ms: u64 },
    /// Delete (string or sorted set).
    Delete { key: u32 },
    /// `PEXPIREAT` on a string key.
    Expire { key: u32, expire_at_ms: u64 },
    /// `ZADD` of one member to sorted-set key `key`.
    ZAdd { key: u32, member: u32, score: i32 },
    /// `ZREM` of one member.
    ZRem { key: u32, member: u32 },
}

/// Expected state of one key.
#[derive(Clone, Debug, PartialEq)]
enum Value {
    /// A string: value number and expiry (0 = none).
    Str(u64, u64),
    /// A sorted set: member → score.
    Z(BTreeMap<u32, i32>),
}

/// Expected state of every key of every thread: (thread, key) → value.
type Model = BTreeMap<(u32, u32), Value>;

fn key_name(t: u32, k: u32) -> String {
    if k < KEYS_PER_THREAD {
        format!("t{t}-k{k}")
    } else {
        format!("t{t}-z{}", k - KEYS_PER_THREAD)
    }
}

fn member_name(m: u32) -> String {
    format!("m{m}")
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
            Op::Expire { key, expire_at_ms } => format!("E{key}:{expire_at_ms}"),
            Op::ZAdd { key, member, score } => format!("Z{key}:{member}:{score}"),
            Op::ZRem { key, member } => format!("R{key}:{member}"),
        })
        .collect();
    parts.join(",")
}

fn parse_ops(s: &str) -> Option<Vec<Op>> {
    s.split(',')
        .map(|p| {
            let (tag, rest) = p.split_at_checked(1)?;
            let f: Vec<&str> = rest.split(':').collect();
            let n = |i: usize| f.get(i)?.parse::<u64>().ok();
            Some(match (tag, f.len()) {
                ("P", 3) => Op::Put { key: n(0)? as u32, vid: n(1)?, expire_at_ms: n(2)? },
                ("D", 1) => Op::Delete { key: n(0)? as u32 },
                ("E", 2) => Op::Expire { key: n(0)? as u32, expire_at_ms: n(1)? },
                ("Z", 3) => Op::ZAdd { key: n(0)? as u32, member: n(1)? as u32, score: f[2].parse().ok()? },
                ("R", 2) => Op::ZRem { key: n(0)? as u32, member: n(1)? as u32 },
                _ => return None,
            })
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
    // Writers hold it shared per operation; a quiet merge holds it alone.
    let gate = std::sync::RwLock::new(());
    std::thread::scope(|s| {
        // Compaction runs beside the writers, so kills also land mid-merge
        // (and the directory stays small over thousands of cycles). A failed
        // merge ends the process, which the script reports.
        s.spawn(|| {
            let mut rng = Rng(cycle.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1);
            loop {
                std::thread::sleep(std::time::Duration::from_millis(20 + rng.below(80)));
                // Quiet: no commit for longer than the merge's 20 ms window.
                let quiet = (rng.below(2) == 0).then(|| {
                    let g = gate.write().unwrap_or_else(|e| e.into_inner());
                    std::thread::sleep(std::time::Duration::from_millis(25));
                    g
                });
                let merged = db.compact();
                drop(quiet);
                if let Err(e) = merged {
                    eprintln!("crash_writer: compaction failed: {e}");
                    std::process::exit(2);
                }
            }
        });
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (db, gate) = (&db, &gate);
                s.spawn(move || -> Result<(), String> {
                    let path = log_dir.join(format!("ack-{t}.log"));
                    let mut log = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&path)
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                    let mut rng = Rng(((cycle << 8 | t as u64) * 0x9E37_79B9_7F4A_7C15) | 1);
                    for n in 0u64.. {
                        let vid = cycle << 32 | (t as u64) << 28 | n;
                        let now = clock.now_ms();
                        // String ops only: these are what a batch may hold.
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
                        let zkey = |rng: &mut Rng| KEYS_PER_THREAD + rng.below(ZSETS_PER_THREAD as u64) as u32;
                        let ops: Vec<Op> = match rng.below(20) {
                            0..=3 => (0..2 + rng.below(4)).map(|i| one(&mut rng, i)).collect(),
                            4..=6 => vec![Op::ZAdd {
                                key: zkey(&mut rng),
                                member: rng.below(12) as u32,
                                score: rng.below(100) as i32 - 50,
                            }],
                            7 => vec![Op::ZRem { key: zkey(&mut rng), member: rng.below(12) as u32 }],
                            8 => vec![Op::Delete { key: zkey(&mut rng) }],
                            9 => vec![Op::Expire {
                                key: rng.below(KEYS_PER_THREAD as u64) as u32,
                                expire_at_ms: now + rng.below(4_000),
                            }],
                            _ => vec![one(&mut rng, 0)],
                        };
                        log.write_all(format!("I {n} {}\n", encode_ops(&ops)).as_bytes())
                            .map_err(|e| format!("log: {e}"))?;
                        let name = |k: &u32| key_name(t, *k).into_bytes();
                        let mut reply = String::new();
                        let open_gate = gate.read().unwrap_or_else(|e| e.into_inner());
                        let result = match ops.as_slice() {
                            [Op::Put { key, vid, expire_at_ms: 0 }] => db.put(&name(key), &value_for(t, *key, *vid)),
                            [Op::Put { key, vid, expire_at_ms }] => {
                                let o = SetOptions {
                                    expiry: Some(Expiry::PxAt(*expire_at_ms as i64)),
                                    ..SetOptions::new()
                                };
                                db.set(&name(key), &value_for(t, *key, *vid), &o).map(|_| ())
                            }
                            [Op::Delete { key }] => db.delete(&name(key)).map(|_| ()),
                            [Op::Expire { key, expire_at_ms }] => {
                                db.pexpireat(&name(key), *expire_at_ms as i64, ExpireCondition::None).map(|hit| {
                                    reply = format!(" {}", u8::from(hit));
                                })
                            }
                            [Op::ZAdd { key, member, score }] => {
                                db.zadd(&name(key), &[(*score as f64, member_name(*member).as_bytes())]).map(|_| ())
                            }
                            [Op::ZRem { key, member }] => {
                                db.zrem(&name(key), &[member_name(*member).as_bytes()]).map(|_| ())
                            }
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
                                        _ => unreachable!("batches hold string ops only"),
                                    };
                                }
                                db.write_batch(&b)
                            }
                        };
                        drop(open_gate);
                        result.map_err(|e| format!("thread {t} op {n}: {e}"))?;
                        log.write_all(format!("A {n}{reply}\n").as_bytes()).map_err(|e| format!("log: {e}"))?;
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

/// Applies `ops` of thread `t` to the model. `reply` is the logged reply of
/// a `PEXPIREAT` (`None` for an op in flight: it applies if the key exists).
fn apply(model: &mut Model, t: u32, ops: &[Op], reply: Option<bool>) -> Result<(), String> {
    for op in ops {
        match *op {
            Op::Put { key, vid, expire_at_ms } => {
                model.insert((t, key), Value::Str(vid, expire_at_ms));
            }
            Op::Delete { key } => {
                model.remove(&(t, key));
            }
            Op::Expire { key, expire_at_ms } => match (model.get_mut(&(t, key)), reply) {
                (Some(Value::Str(_, exp)), None | Some(true)) => *exp = expire_at_ms,
                (_, None | Some(false)) => {}
                (other, Some(true)) => {
                    return Err(format!("PEXPIREAT {} replied 1 but the model holds {other:?}", key_name(t, key)))
                }
            },
            Op::ZAdd { key, member, score } => {
                // A sorted-set key never holds a string here.
                let entry = model.entry((t, key)).or_insert_with(|| Value::Z(BTreeMap::new()));
                if let Value::Z(z) = entry {
                    z.insert(member, score);
                }
            }
            Op::ZRem { key, member } => {
                if let Some(Value::Z(z)) = model.get_mut(&(t, key)) {
                    z.remove(&member);
                    if z.is_empty() {
                        model.remove(&(t, key));
                    }
                }
            }
        }
    }
    Ok(())
}

fn load_model(path: &Path) -> Result<(Model, u64), String> {
    let mut model = Model::new();
    let mut acked_total = 0;
    let Ok(text) = std::fs::read_to_string(path) else { return Ok((model, 0)) };
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        match f.as_slice() {
            ["acked", n] => acked_total = n.parse().map_err(|_| "bad model")?,
            ["s", t, k, vid, exp] => {
                let p = |s: &str| s.parse::<u64>().map_err(|_| format!("bad model line {line:?}"));
                model.insert((p(t)? as u32, p(k)? as u32), Value::Str(p(vid)?, p(exp)?));
            }
            ["z", t, k, members @ ..] => {
                let p = |s: &str| s.parse::<i64>().map_err(|_| format!("bad model line {line:?}"));
                let mut z = BTreeMap::new();
                for m in members {
                    let (m, s) = m.split_once('=').ok_or_else(|| format!("bad model line {line:?}"))?;
                    z.insert(p(m)? as u32, p(s)? as i32);
                }
                model.insert((p(t)? as u32, p(k)? as u32), Value::Z(z));
            }
            _ => return Err(format!("bad model line {line:?}")),
        }
    }
    Ok((model, acked_total))
}

fn save_model(path: &Path, model: &Model, acked_total: u64) -> Result<(), String> {
    let mut text = format!("acked {acked_total}\n");
    for ((t, k), v) in model {
        match v {
            Value::Str(vid, exp) => text.push_str(&format!("s {t} {k} {vid} {exp}\n")),
            Value::Z(z) => {
                let members: Vec<String> = z.iter().map(|(m, s)| format!("{m}={s}")).collect();
                text.push_str(&format!("z {t} {k} {}\n", members.join(" ")));
            }
        }
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, path).map_err(|e| e.to_string())
}

/// What the database shows for one key.
#[derive(Debug)]
enum Seen {
    /// A string key's value, if any, and its `PEXPIRETIME` read just
    /// before (-2 missing, -1 none). Reading the expiry makes the outcome of
    /// an in-flight `PEXPIREAT` observable: the value alone cannot tell.
    Str(Option<Vec<u8>>, i64),
    /// A sorted-set key's members in order (empty = absent).
    Z(Vec<(Vec<u8>, f64)>),
}

/// Whether what the database shows for one key is allowed by `want`, given
/// clock readings before and after the read.
fn allowed(seen: &Seen, want: Option<&Value>, value: impl Fn(u64) -> Vec<u8>, before: u64, after: u64) -> bool {
    let got = match seen {
        Seen::Z(members) => {
            let mut expected: Vec<(Vec<u8>, f64)> = match want {
                Some(Value::Z(z)) => z.iter().map(|(m, s)| (member_name(*m).into_bytes(), *s as f64)).collect(),
                _ => Vec::new(),
            };
            expected.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
            return *members == expected;
        }
        Seen::Str(got, expire_time) => (got, *expire_time),
    };
    let (got, expire_time) = got;
    match want {
        None => got.is_none(),
        Some(Value::Z(_)) => false,
        Some(&Value::Str(vid, exp)) => {
            // The expiry read must be the model's; -2 (gone) only if it
            // expired during the reads.
            let want_time = if exp == 0 { -1 } else { exp as i64 };
            let same_expiry = expire_time == want_time || (expire_time == -2 && exp != 0 && exp <= after);
            let matches = got.as_deref() == Some(value(vid).as_slice()) && same_expiry;
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
                (Some("A"), Some(n), reply) => match intent.take() {
                    Some((m, ops)) if m == n => {
                        apply(&mut model, t, &ops, reply.map(|r| r == "1"))
                            .map_err(|e| format!("thread {t} op {n}: {e}"))?;
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
        let got: Vec<Seen> = (0..ALL_KEYS)
            .map(|k| {
                let name = key_name(t, k);
                let r = if k < KEYS_PER_THREAD {
                    db.pexpiretime(name.as_bytes()).and_then(|t| db.get(name.as_bytes()).map(|v| Seen::Str(v, t)))
                } else {
                    db.zrange_by_rank(name.as_bytes(), 0, -1).map(Seen::Z)
                };
                r.map_err(|e| format!("read {name}: {e}"))
            })
            .collect::<Result<_, _>>()?;
        let after = clock.now_ms();
        let fits = |m: &Model| {
            (0..ALL_KEYS).all(|k| allowed(&got[k as usize], m.get(&(t, k)), |vid| value_for(t, k, vid), before, after))
        };
        let mut with = model.clone();
        if let Some(ops) = pending.get(&t) {
            apply(&mut with, t, ops, None)?;
        }
        if pending.contains_key(&t) && fits(&with) {
            model = with;
            landed += 1;
        } else if !fits(&model) {
            let bad: Vec<String> = (0..ALL_KEYS)
                .filter(|&k| !allowed(&got[k as usize], model.get(&(t, k)), |vid| value_for(t, k, vid), before, after))
                .map(|k| {
                    let seen = match &got[k as usize] {
                        Seen::Str(v, t) => {
                            format!(
                                "{:?} expiring {t}",
                                v.as_ref().map(|v| String::from_utf8_lossy(&v[..v.len().min(40)]).into_owned())
                            )
                        }
                        Seen::Z(z) => format!("{z:?}"),
                    };
                    format!("{}: expected {:?}, got {seen}", key_name(t, k), model.get(&(t, k)))
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
        let known = (0..THREADS).any(|t| (0..ALL_KEYS).any(|k| key_name(t, k) == name));
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
