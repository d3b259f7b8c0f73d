//! Power-cut and fault-injection tests through the simulated storage.
//!
//! Each test runs a small workload with a fault armed at mutating operation
//! `n`, for every `n` the workload reaches, then reboots the simulated disk
//! (dropping unsynced bytes, optionally tearing them) and checks the
//! reopened database against a model of what was acknowledged.

mod common;

use std::collections::BTreeMap;

use common::{open_sim, small_opts};
use kv_engine::storage::Fault;
use kv_engine::{Db, Error, Fsync, SimStorage, WriteBatch};

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

/// One step of the workload.
enum Op {
    Put(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
    Batch(Vec<(Vec<u8>, Option<Vec<u8>>)>),
}

fn workload() -> Vec<Op> {
    let mut ops = Vec::new();
    for i in 0..60u32 {
        let key = format!("k{}", i % 23).into_bytes();
        // Values long enough that the 16 KiB segments rotate a few times.
        let value = format!("value-{i}-{}", "x".repeat(300)).into_bytes();
        match i % 7 {
            3 => ops.push(Op::Delete(key)),
            5 => ops.push(Op::Batch(vec![
                (key.clone(), Some(value.clone())),
                (format!("b{i}").into_bytes(), Some(b"batched".to_vec())),
                (format!("k{}", (i + 1) % 23).into_bytes(), None),
            ])),
            _ => ops.push(Op::Put(key, value)),
        }
    }
    ops
}

fn apply_model(model: &mut Model, op: &Op) {
    match op {
        Op::Put(k, v) => {
            model.insert(k.clone(), v.clone());
        }
        Op::Delete(k) => {
            model.remove(k);
        }
        Op::Batch(items) => {
            for (k, v) in items {
                match v {
                    Some(v) => model.insert(k.clone(), v.clone()),
                    None => model.remove(k),
                };
            }
        }
    }
}

fn run_op(db: &Db, op: &Op) -> kv_engine::Result<()> {
    match op {
        Op::Put(k, v) => db.put(k, v),
        Op::Delete(k) => db.delete(k).map(|_| ()),
        Op::Batch(items) => {
            let mut b = WriteBatch::new();
            for (k, v) in items {
                match v {
                    Some(v) => b.put(k, v),
                    None => b.delete(k),
                };
            }
            db.write_batch(&b)
        }
    }
}

fn snapshot(db: &Db) -> Model {
    db.scan_prefix(b"").unwrap().into_iter().collect()
}

/// Model states after 0, 1, 2, ... operations.
fn prefixes(ops: &[Op]) -> Vec<Model> {
    let mut states = vec![Model::new()];
    let mut m = Model::new();
    for op in ops {
        apply_model(&mut m, op);
        states.push(m.clone());
    }
    states
}

/// Whether `got` equals the model after k operations for some k in `lo..=hi`.
/// (States can repeat, e.g. after deleting a missing key, so search a range.)
fn is_prefix_state(states: &[Model], got: &Model, lo: usize, hi: usize) -> bool {
    states.iter().enumerate().any(|(k, s)| k >= lo && k <= hi && s == got)
}

/// Runs the workload with a crash at op `n`; returns the number of
/// acknowledged operations, or `None` if the workload finished before `n`.
fn crash_run(sim: &SimStorage, fsync: Fsync, n: u64, ops: &[Op]) -> Option<usize> {
    sim.set_fault(Some(Fault::CrashAt { op: n }));
    let Ok(db) = open_sim(sim, small_opts(fsync)) else { return Some(0) };
    let mut acked = 0;
    for op in ops {
        if run_op(&db, op).is_err() {
            break;
        }
        acked += 1;
    }
    let crashed = sim.crashed();
    drop(db);
    if !crashed && acked == ops.len() {
        return None;
    }
    Some(acked)
}

fn power_cut_at_every_point(fsync: Fsync, torn: bool) {
    let ops = workload();
    let states = prefixes(&ops);
    let mut points = 0;
    for n in 0.. {
        let sim = SimStorage::new();
        let Some(acked) = crash_run(&sim, fsync, n, &ops) else { break };
        points += 1;
        let rebooted = sim.power_cut(torn.then_some(n * 7919 + 1));
        let db = open_sim(&rebooted, small_opts(fsync)).unwrap_or_else(|e| panic!("open after cut at op {n}: {e}"));
        let got = snapshot(&db);
        // The log is append-only and a torn tail is cut: what survives is
        // always the state after some prefix of the operations, never more
        // than was attempted; under Always, that prefix includes every
        // acknowledged operation.
        let lowest = if fsync == Fsync::Always { acked } else { 0 };
        assert!(
            is_prefix_state(&states, &got, lowest, acked + 1),
            "cut at op {n} ({fsync:?}): recovered state is not the state after {lowest}..={} operations",
            acked + 1
        );
    }
    assert!(points > 50, "workload reached only {points} crash points");
}

#[test]
fn power_cut_at_every_point_always_loses_nothing_acknowledged() {
    power_cut_at_every_point(Fsync::Always, false);
}

#[test]
fn power_cut_with_torn_tails_always_loses_nothing_acknowledged() {
    power_cut_at_every_point(Fsync::Always, true);
}

#[test]
fn power_cut_at_every_point_everysec_recovers_a_prefix() {
    power_cut_at_every_point(Fsync::EverySec, true);
}

#[test]
fn power_cut_at_every_point_no_fsync_recovers_a_prefix() {
    power_cut_at_every_point(Fsync::No, true);
}

#[test]
fn power_cut_during_recovery_is_survivable() {
    // sled#851, redb#1290: crash recovery itself, at every one of its writes.
    let ops = workload();
    let states = prefixes(&ops);
    for n in (5..400).step_by(13) {
        let sim = SimStorage::new();
        let Some(acked) = crash_run(&sim, Fsync::Always, n, &ops) else { break };
        let mut disk = sim.power_cut(Some(n));
        for m in 0.. {
            disk.set_fault(Some(Fault::CrashAt { op: disk.op_count() + m }));
            let opened = open_sim(&disk, small_opts(Fsync::Always));
            let done = opened.is_ok();
            drop(opened);
            disk = disk.power_cut(Some(m));
            if done {
                break;
            }
        }
        let db = open_sim(&disk, small_opts(Fsync::Always)).unwrap();
        let got = snapshot(&db);
        assert!(
            is_prefix_state(&states, &got, acked, acked + 1),
            "crash at {n} then during recovery lost acknowledged writes"
        );
    }
}

#[test]
fn power_cut_with_concurrent_group_commit_loses_nothing_acknowledged() {
    for n in [40u64, 90, 150, 230, 330] {
        let sim = SimStorage::new();
        sim.set_fault(Some(Fault::CrashAt { op: n }));
        let db = open_sim(&sim, small_opts(Fsync::Always)).unwrap();
        let acked = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for t in 0..8 {
                let (db, acked) = (&db, &acked);
                s.spawn(move || {
                    for i in 0..100 {
                        let key = format!("t{t}-{i}");
                        if db.put(key.as_bytes(), key.as_bytes()).is_err() {
                            return;
                        }
                        acked.lock().unwrap().push(key);
                    }
                });
            }
        });
        drop(db);
        let rebooted = sim.power_cut(Some(n));
        let db = open_sim(&rebooted, small_opts(Fsync::Always)).unwrap();
        let acked = acked.into_inner().unwrap();
        assert!(!acked.is_empty());
        for key in acked {
            assert_eq!(db.get(key.as_bytes()).unwrap().as_deref(), Some(key.as_bytes()), "cut at {n}: lost {key}");
        }
    }
}

/// Runs the workload with a failing operation `n`; checks poisoning and
/// that a reopen (no power cut) holds every acknowledged write.
fn fault_at_every_point(make: impl Fn(u64) -> Fault) {
    let ops = workload();
    let states = prefixes(&ops);
    for n in 0.. {
        let sim = SimStorage::new();
        sim.set_fault(Some(make(n)));
        let (acked, failed) = match open_sim(&sim, small_opts(Fsync::Always)) {
            Err(_) => (0, true),
            Ok(db) => {
                let mut acked = 0;
                let mut failed = false;
                for op in &ops {
                    match run_op(&db, op) {
                        Ok(()) => acked += 1,
                        Err(e) => {
                            failed = true;
                            assert!(matches!(e, Error::Io(_) | Error::Poisoned(_)), "op {n}: unexpected {e}");
                            // Poisoned: every later write refuses, reads still work.
                            assert!(matches!(db.put(b"after", b"x"), Err(Error::Poisoned(_))), "op {n}: not poisoned");
                            db.get(b"k1").expect("reads keep working when poisoned");
                            assert!(db.stats().poisoned);
                            assert!(matches!(db.sync(), Err(Error::Poisoned(_))), "a later sync must not succeed");
                            assert!(db.close().is_err(), "close after a failed write must not look clean");
                            break;
                        }
                    }
                }
                (acked, failed)
            }
        };
        if !failed {
            break;
        }
        sim.set_fault(None);
        let db = open_sim(&sim, small_opts(Fsync::Always)).unwrap_or_else(|e| panic!("reopen after fault {n}: {e}"));
        let got = snapshot(&db);
        assert!(is_prefix_state(&states, &got, acked, acked + 1), "fault {n}: state after reopen is wrong");
    }
}

#[test]
fn eio_at_every_point_poisons_and_loses_nothing() {
    fault_at_every_point(|op| Fault::FailAt { op, errno: libc::EIO });
}

#[test]
fn enospc_at_every_point_poisons_and_loses_nothing() {
    fault_at_every_point(|op| Fault::FailAt { op, errno: libc::ENOSPC });
}

#[test]
fn short_write_at_every_point_poisons_and_loses_nothing() {
    fault_at_every_point(|op| Fault::ShortWriteAt { op });
}
