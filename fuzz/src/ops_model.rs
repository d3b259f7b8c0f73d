//! `ops_model`: a program of put / delete / batch / expiring put / get /
//! time jump / reopen / power cut / compaction, run against a `BTreeMap` model.
//!
//! The database runs with `Fsync::Always`, so an acknowledged write must
//! survive a power cut taken while the handle is still open (the unsynced
//! tail, torn at a fuzzer-chosen length, is all that may be lost — and it
//! holds nothing acknowledged). Time only moves forward, through a
//! [`ManualClock`]. Invalid keys must be rejected without changing anything.
//!
//! Input: one option byte (bit 0 preallocation, bit 1 compress values from
//! 64 bytes, bit 2 4 KiB segments so that rotation is frequent), then ops.

use std::collections::BTreeMap;
use std::sync::Arc;

use kv_engine::{Db, Error, Fsync, ManualClock, Options, SimStorage, WriteBatch};

use super::bytes::Cursor;

/// Longest program run from one input.
const MAX_OPS: usize = 400;
/// Key index that maps to the empty (invalid) key.
const EMPTY_KEY: u8 = 40;
/// Start of the manual clock.
const START_MS: u64 = 1_000_000;

/// key → (value, absolute expiry ms or 0).
type Model = BTreeMap<Vec<u8>, (Vec<u8>, u64)>;

fn key(k: u8) -> Vec<u8> {
    let k = k % (EMPTY_KEY + 1);
    if k == EMPTY_KEY {
        Vec::new()
    } else {
        format!("key{k}").into_bytes()
    }
}

/// A value of fuzzer-chosen length; some compressible, some not.
fn value(c: &mut Cursor<'_>) -> Vec<u8> {
    let seed = c.u8();
    let len = (c.u16() % 6000) as usize;
    if seed & 1 == 0 {
        (0..len).map(|i| b"abcdefgh"[(i + seed as usize) % 8]).collect()
    } else {
        let mut x = seed as u32 | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    }
}

fn live(model: &Model, now_ms: u64) -> BTreeMap<Vec<u8>, Vec<u8>> {
    model.iter().filter(|(_, (_, exp))| *exp == 0 || *exp > now_ms).map(|(k, (v, _))| (k.clone(), v.clone())).collect()
}

fn options(flags: u8, clock: &Arc<ManualClock>) -> Options {
    Options {
        fsync: Fsync::Always,
        max_segment_size_bytes: if flags & 4 != 0 { 4096 } else { 16 * 1024 },
        preallocate: flags & 1 != 0,
        compression_threshold_bytes: if flags & 2 != 0 { 64 } else { 4096 },
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

/// The whole database equals the live model.
fn check_all(db: &Db, model: &Model, now_ms: u64, when: &str) {
    let want = live(model, now_ms);
    let mut keys: Vec<Vec<u8>> = db.keys().expect("keys").collect();
    keys.sort();
    assert_eq!(keys, want.keys().cloned().collect::<Vec<_>>(), "{when}: key set differs");
    for (k, v) in &want {
        assert_eq!(db.get(k).expect("get").as_ref(), Some(v), "{when}: value of {k:?} differs");
    }
    assert_eq!(db.len().expect("len"), want.len() as u64, "{when}: len differs");
}

fn is_bad_key(e: &Error) -> bool {
    matches!(e, Error::KeyTooLarge { size_bytes: 0, .. })
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
        let now = clock.now_ms_value();
        match c.u8() % 11 {
            0..=2 => {
                let k = key(c.u8());
                let v = value(&mut c);
                match db.put(&k, &v) {
                    Ok(()) => {
                        model.insert(k, (v, 0));
                    }
                    Err(e) => assert!(k.is_empty() && is_bad_key(&e), "put {k:?} failed: {e}"),
                }
            }
            3 => {
                let k = key(c.u8());
                match db.delete(&k) {
                    Ok(existed) => {
                        let was = model.remove(&k).is_some_and(|(_, exp)| exp == 0 || exp > now);
                        assert_eq!(existed, was, "delete {k:?} reported existed={existed}");
                    }
                    Err(e) => assert!(k.is_empty() && is_bad_key(&e), "delete {k:?} failed: {e}"),
                }
            }
            4 | 5 => {
                // A batch; op 5 is a one-item batch with an expiry.
                let n = if c.u8() & 1 == 0 || c.is_empty() { 1 } else { 1 + c.u8() as usize % 6 };
                let mut b = WriteBatch::new();
                let mut next = model.clone();
                let mut bad = false;
                for _ in 0..n {
                    let k = key(c.u8());
                    bad |= k.is_empty();
                    match c.u8() % 3 {
                        0 => {
                            b.delete(&k);
                            next.remove(&k);
                        }
                        1 => {
                            let v = value(&mut c);
                            b.put(&k, &v);
                            next.insert(k, (v, 0));
                        }
                        _ => {
                            let v = value(&mut c);
                            // From already expired to a minute ahead.
                            let exp = (now + c.u16() as u64).saturating_sub(1_000).max(1);
                            b.put_with_expiry(&k, &v, exp);
                            next.insert(k, (v, exp));
                        }
                    }
                }
                match db.write_batch(&b) {
                    Ok(()) => {
                        assert!(!bad, "a batch with an empty key was accepted");
                        model = next;
                    }
                    Err(e) => assert!(bad && is_bad_key(&e), "batch failed: {e}"),
                }
            }
            6 => clock.advance_ms(c.u16() as u64 * 4),
            7 => {
                drop(db);
                db = open(&sim, flags, &clock);
                check_all(&db, &model, now, "after reopen");
            }
            8 => {
                // Power cut with the handle still open: no close, no final sync.
                let rebooted = sim.power_cut(Some(c.u8() as u64));
                drop(db);
                sim = rebooted;
                db = open(&sim, flags, &clock);
                check_all(&db, &model, now, "after power cut");
            }
            9 => {
                db.compact().unwrap_or_else(|e| panic!("compact: {e}"));
                check_all(&db, &model, now, "after compaction");
            }
            _ => {
                let k = key(c.u8());
                let want = live(&model, now).get(&k).cloned();
                match db.get(&k) {
                    Ok(got) => assert_eq!(got, want, "get {k:?}"),
                    Err(e) => assert!(k.is_empty() && is_bad_key(&e), "get {k:?} failed: {e}"),
                }
                if !k.is_empty() {
                    assert_eq!(db.exists(&k).expect("exists"), want.is_some(), "exists {k:?}");
                }
            }
        }
    }
    let now = clock.now_ms_value();
    check_all(&db, &model, now, "at the end");
}

/// Reading the manual clock without importing the trait at every call.
trait NowMs {
    fn now_ms_value(&self) -> u64;
}

impl NowMs for ManualClock {
    fn now_ms_value(&self) -> u64 {
        kv_engine::Clock::now_ms(self)
    }
}
