//! `zset_model`: sorted-set commands against a `BTreeMap` model, across
//! reopen, power cut (handle still open, `Fsync::Always`), compaction and
//! time jumps (sorted-set expiry through a [`ManualClock`]).
//!
//! Commands: ZADD (several pairs, scores from a set that includes -0, ±inf
//! and NaN), ZINCRBY (incl. inf + -inf = NaN), ZREM, ZPOPMIN/ZPOPMAX,
//! ZREMRANGEBYRANK, expiry, DEL, and SET over a sorted-set key (any type is
//! replaced). Every reply is checked; after reopen, power cut and compaction
//! every key's full contents (ZRANGE 0 -1 WITHSCORES) are compared.
//!
//! Input: one option byte (bit 0 preallocation, bit 1 4 KiB segments), then ops.

use std::collections::BTreeMap;
use std::sync::Arc;

use kv_engine::{Db, Error, Fsync, ManualClock, Options, SimStorage};

use super::bytes::Cursor;

const MAX_OPS: usize = 300;
const START_MS: u64 = 1_000_000;
const SCORES: [f64; 10] = [0.0, -0.0, 1.0, -1.5, 2.5, 1e300, f64::INFINITY, f64::NEG_INFINITY, 7.0, f64::NAN];

/// A sorted set: member → score, plus its expiry (0 = none).
#[derive(Clone, Debug, Default)]
struct ZModel {
    members: BTreeMap<Vec<u8>, f64>,
    expire_at_ms: u64,
}

/// Key → value: a sorted set or a string.
#[derive(Clone, Debug)]
enum Value {
    Z(ZModel),
    S(Vec<u8>),
}

type Model = BTreeMap<Vec<u8>, Value>;

fn key(c: &mut Cursor<'_>) -> Vec<u8> {
    format!("z{}", c.u8() % 4).into_bytes()
}

fn member(c: &mut Cursor<'_>) -> Vec<u8> {
    let m = c.u8();
    // A few long members cross the compression threshold and rotate segments.
    if m >= 250 {
        format!("m{m}-{}", "x".repeat(m as usize * 20)).into_bytes()
    } else {
        format!("m{}", m % 10).into_bytes()
    }
}

fn score(c: &mut Cursor<'_>) -> f64 {
    SCORES[c.u8() as usize % SCORES.len()]
}

/// Members in Redis order: by score, then by member bytes.
fn sorted(z: &ZModel) -> Vec<(Vec<u8>, f64)> {
    let mut v: Vec<(Vec<u8>, f64)> = z.members.iter().map(|(m, s)| (m.clone(), *s)).collect();
    v.sort_by(|a, b| a.1.partial_cmp(&b.1).expect("no NaN in the model").then_with(|| a.0.cmp(&b.0)));
    v
}

/// Drops expired sets, as the engine does lazily.
fn expire(model: &mut Model, now_ms: u64) {
    model.retain(|_, v| !matches!(v, Value::Z(z) if z.expire_at_ms != 0 && z.expire_at_ms <= now_ms));
}

fn options(flags: u8, clock: &Arc<ManualClock>) -> Options {
    Options {
        fsync: Fsync::Always,
        max_segment_size_bytes: if flags & 2 != 0 { 4096 } else { 16 * 1024 },
        preallocate: flags & 1 != 0,
        auto_compaction: false,
        active_expiry: false,
        clock: clock.clone(),
        // From the input: a merge lays records out by hash, and a crash
        // the fuzzer finds must replay the same way.
        hash_seed: Some(u64::from(flags).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
        ..Options::default()
    }
}

fn open(sim: &SimStorage, flags: u8, clock: &Arc<ManualClock>) -> Db {
    Db::open_with_storage(Arc::new(sim.clone()), options(flags, clock)).unwrap_or_else(|e| panic!("open failed: {e}"))
}

fn same_scores(a: &[(Vec<u8>, f64)], b: &[(Vec<u8>, f64)]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.0 == y.0 && x.1 == y.1)
}

fn check_all(db: &Db, model: &Model, when: &str) {
    for k in 0..4 {
        let k = format!("z{k}").into_bytes();
        match model.get(&k) {
            Some(Value::Z(z)) => {
                let got = db.zrange_by_rank(&k, 0, -1).unwrap_or_else(|e| panic!("{when}: zrange {k:?}: {e}"));
                assert!(same_scores(&got, &sorted(z)), "{when}: {k:?} is {got:?}, model {:?}", sorted(z));
                assert_eq!(db.zcard(&k).expect("zcard"), z.members.len() as u64, "{when}: zcard");
            }
            Some(Value::S(v)) => {
                assert_eq!(db.get(&k).expect("get").as_ref(), Some(v), "{when}: string {k:?}");
                assert!(matches!(db.zcard(&k), Err(Error::WrongType)), "{when}: zcard of a string");
            }
            None => {
                assert!(!db.exists(&k).expect("exists"), "{when}: {k:?} should not exist");
                assert_eq!(db.zcard(&k).expect("zcard"), 0, "{when}: zcard of a missing key");
            }
        }
    }
    assert_eq!(db.len().expect("len"), model.len() as u64, "{when}: len");
}

/// The live set at `k`, or `Err(WrongType)` when it holds a string.
fn zset_of<'m>(model: &'m mut Model, k: &[u8]) -> Result<Option<&'m mut ZModel>, ()> {
    match model.get_mut(k) {
        None => Ok(None),
        Some(Value::Z(z)) => Ok(Some(z)),
        Some(Value::S(_)) => Err(()),
    }
}

/// Target body.
pub fn run(data: &[u8]) {
    let mut c = Cursor::new(data);
    let flags = c.u8();
    let clock = Arc::new(ManualClock::new(START_MS));
    let mut sim = SimStorage::new();
    let mut db = open(&sim, flags, &clock);
    let mut model = Model::new();
    for _ in 0..MAX_OPS {
        if c.is_empty() {
            break;
        }
        let now = kv_engine::Clock::now_ms(clock.as_ref());
        expire(&mut model, now);
        let op = c.u8() % 13;
        let k = key(&mut c);
        match op {
            0..=2 => {
                let n = 1 + c.u8() as usize % 4;
                let pairs: Vec<(f64, Vec<u8>)> = (0..n).map(|_| (score(&mut c), member(&mut c))).collect();
                let refs: Vec<(f64, &[u8])> = pairs.iter().map(|(s, m)| (*s, m.as_slice())).collect();
                let got = db.zadd(&k, &refs);
                if pairs.iter().any(|(s, _)| s.is_nan()) {
                    assert!(matches!(got, Err(Error::NotFloat)), "zadd with NaN: {got:?}");
                    continue;
                }
                match zset_of(&mut model, &k) {
                    Err(()) => assert!(matches!(got, Err(Error::WrongType)), "zadd on a string: {got:?}"),
                    Ok(existing) => {
                        let mut z = existing.cloned().unwrap_or_default();
                        let mut added = 0;
                        for (s, m) in pairs {
                            added += u64::from(z.members.insert(m, s).is_none());
                        }
                        assert_eq!(got.expect("zadd"), added, "zadd reply");
                        model.insert(k, Value::Z(z));
                    }
                }
            }
            3 => {
                let (inc, m) = (score(&mut c), member(&mut c));
                let got = db.zincrby(&k, inc, &m);
                if inc.is_nan() {
                    // Arguments are parsed before the key is looked at (as in Redis).
                    assert!(matches!(got, Err(Error::NotFloat)), "zincrby by NaN: {got:?}");
                    continue;
                }
                match zset_of(&mut model, &k) {
                    Err(()) => assert!(matches!(got, Err(Error::WrongType)), "zincrby on a string: {got:?}"),
                    Ok(existing) => {
                        let old = existing.as_ref().and_then(|z| z.members.get(&m).copied()).unwrap_or(0.0);
                        let new = old + inc;
                        if new.is_nan() {
                            assert!(got.is_err(), "zincrby to NaN accepted: {got:?}");
                        } else {
                            assert_eq!(got.expect("zincrby"), new, "zincrby reply");
                            let mut z = existing.cloned().unwrap_or_default();
                            z.members.insert(m, new);
                            model.insert(k, Value::Z(z));
                        }
                    }
                }
            }
            4 | 5 => {
                let n = 1 + c.u8() as usize % 3;
                let ms: Vec<Vec<u8>> = (0..n).map(|_| member(&mut c)).collect();
                let refs: Vec<&[u8]> = ms.iter().map(|m| m.as_slice()).collect();
                let got = db.zrem(&k, &refs);
                match zset_of(&mut model, &k) {
                    Err(()) => assert!(matches!(got, Err(Error::WrongType)), "zrem on a string: {got:?}"),
                    Ok(None) => assert_eq!(got.expect("zrem"), 0),
                    Ok(Some(z)) => {
                        let removed = ms.iter().filter(|m| z.members.remove(*m).is_some()).count() as u64;
                        assert_eq!(got.expect("zrem"), removed, "zrem reply");
                        if z.members.is_empty() {
                            model.remove(&k);
                        }
                    }
                }
            }
            6 => {
                let (count, max) = (c.u8() as u64 % 4, c.u8() % 2 == 1);
                let got = if max { db.zpopmax(&k, count) } else { db.zpopmin(&k, count) };
                match zset_of(&mut model, &k) {
                    Err(()) => assert!(matches!(got, Err(Error::WrongType)), "zpop on a string: {got:?}"),
                    Ok(None) => assert!(got.expect("zpop").is_empty()),
                    Ok(Some(z)) => {
                        let mut order = sorted(z);
                        if max {
                            order.reverse();
                        }
                        order.truncate(count as usize);
                        let got = got.expect("zpop");
                        assert!(same_scores(&got, &order), "zpop: got {got:?}, model {order:?}");
                        for (m, _) in &order {
                            z.members.remove(m);
                        }
                        if z.members.is_empty() {
                            model.remove(&k);
                        }
                    }
                }
            }
            7 => {
                let (start, stop) = (c.u8() as i8 as i64 % 6, c.u8() as i8 as i64 % 6);
                let got = db.zremrangebyrank(&k, start, stop);
                match zset_of(&mut model, &k) {
                    Err(()) => assert!(matches!(got, Err(Error::WrongType)), "zremrangebyrank on a string"),
                    Ok(None) => assert_eq!(got.expect("zremrangebyrank"), 0),
                    Ok(Some(z)) => {
                        let order = sorted(z);
                        let len = order.len() as i64;
                        // Redis: negative indexes count from the end; only
                        // the start is clamped to 0.
                        let s = if start < 0 { (len + start).max(0) } else { start };
                        let e = if stop < 0 { len + stop } else { stop.min(len - 1) };
                        let picked: Vec<Vec<u8>> = if s > e {
                            Vec::new()
                        } else {
                            order[s as usize..=e as usize].iter().map(|x| x.0.clone()).collect()
                        };
                        assert_eq!(got.expect("zremrangebyrank"), picked.len() as u64, "zremrangebyrank reply");
                        for m in picked {
                            z.members.remove(&m);
                        }
                        if z.members.is_empty() {
                            model.remove(&k);
                        }
                    }
                }
            }
            8 => {
                // Expiry: 0 = persist, in the past = delete, else in the future.
                let at = match c.u8() % 3 {
                    0 => 0,
                    1 => now.saturating_sub(c.u16() as u64),
                    _ => now + 1 + c.u16() as u64,
                };
                let got = db.zset_expire_at(&k, at);
                match zset_of(&mut model, &k) {
                    Err(()) => assert!(matches!(got, Err(Error::WrongType)), "expire of a string via zset: {got:?}"),
                    Ok(None) => assert!(!got.expect("zset_expire_at")),
                    Ok(Some(z)) => {
                        assert!(got.expect("zset_expire_at"));
                        if at != 0 && at <= now {
                            model.remove(&k);
                        } else {
                            z.expire_at_ms = at;
                        }
                    }
                }
            }
            9 => {
                let existed = db.delete(&k).expect("delete");
                assert_eq!(existed, model.remove(&k).is_some(), "delete reply");
            }
            10 => {
                let v = format!("s{}", c.u8()).into_bytes();
                db.put(&k, &v).expect("put");
                model.insert(k, Value::S(v));
            }
            11 => clock.advance_ms(c.u16() as u64),
            _ => {
                match c.u8() % 3 {
                    0 => {
                        drop(db);
                        db = open(&sim, flags, &clock);
                    }
                    1 => {
                        let rebooted = sim.power_cut(Some(c.u8() as u64));
                        drop(db);
                        sim = rebooted;
                        db = open(&sim, flags, &clock);
                    }
                    _ => {
                        db.compact().unwrap_or_else(|e| panic!("compact: {e}"));
                    }
                }
                let now = kv_engine::Clock::now_ms(clock.as_ref());
                expire(&mut model, now);
                check_all(&db, &model, "after reopen/power cut/compaction");
            }
        }
    }
    let now = kv_engine::Clock::now_ms(clock.as_ref());
    expire(&mut model, now);
    check_all(&db, &model, "at the end");
}
