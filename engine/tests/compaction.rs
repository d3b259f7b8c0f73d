//! Compaction (merge) and hint files: concurrency, tombstones, expiry,
//! crash safety at every step, hint fallback, space reclaim. Every test name
//! contains `compact` so `cargo test -p kv-engine compact` selects them.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

use common::{open_sim, small_opts};
use kv_engine::storage::Fault;
use kv_engine::{CompactionSummary, Db, Fsync, ManualClock, Options, SimStorage, Storage, WriteBatch};

type Model = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

fn key(i: u32) -> Vec<u8> {
    format!("key-{i:05}").into_bytes()
}

fn val(i: u32, round: u32) -> Vec<u8> {
    format!("value-{i}-{round}-").repeat(3).into_bytes()
}

/// Every key of the model reads back as modelled, and nothing else exists.
fn assert_matches(db: &Db, model: &Model, what: &str) {
    for (k, v) in model {
        assert_eq!(db.get(k).unwrap(), *v, "{what}: key {}", String::from_utf8_lossy(k));
    }
    let keys: Vec<Vec<u8>> = db.keys().unwrap().collect();
    let unique: HashSet<&Vec<u8>> = keys.iter().collect();
    assert_eq!(unique.len(), keys.len(), "{what}: duplicate keys from the iterator");
    let live: HashSet<&Vec<u8>> = model.iter().filter(|(_, v)| v.is_some()).map(|(k, _)| k).collect();
    assert_eq!(unique, live, "{what}: key sets differ");
}

/// Writes filler until the active segment rotates; returns the id of the
/// segment that was active when called (now sealed).
fn rotate(db: &Db, tag: &str) -> u32 {
    let active = |db: &Db| db.stats().segments.iter().find(|s| s.active).map(|s| s.id).unwrap();
    let before = active(db);
    let mut i = 0u32;
    while active(db) == before {
        db.put(format!("filler-{tag}-{i}").as_bytes(), &[b'f'; 200]).unwrap();
        i += 1;
    }
    before
}

fn file_names_ok(names: &[String]) {
    let segs: HashSet<&str> = names.iter().filter_map(|n| n.strip_suffix(".seg")).collect();
    for n in names {
        assert!(!n.ends_with(".tmp"), "leftover temporary file {n}");
        assert!(!n.ends_with(".trash"), "leftover merged input {n}");
        assert!(!n.starts_with("MERGE-"), "leftover merge marker {n}");
        if let Some(stem) = n.strip_suffix(".hint") {
            assert!(segs.contains(stem), "hint {n} without its segment");
        }
    }
}

#[test]
fn compact_basic_reclaims_and_reopens_from_hints() {
    let sim = SimStorage::new();
    let mut model = Model::new();
    {
        let db = open_sim(&sim, small_opts(Fsync::No)).unwrap();
        for round in 0..4 {
            for i in 0..300 {
                db.put(&key(i), &val(i, round)).unwrap();
                model.insert(key(i), Some(val(i, round)));
            }
        }
        for i in (0..300).step_by(4) {
            db.delete(&key(i)).unwrap();
            model.insert(key(i), None);
        }
        let before = db.stats();
        let s = db.compact().unwrap();
        assert!(!s.input_segments.is_empty() && !s.output_segments.is_empty());
        assert!(s.reclaimed_bytes() > 0);
        assert!(s.removal_ms <= s.duration_ms, "{s:?}");
        let after = db.stats();
        assert!(after.disk_bytes < before.disk_bytes / 2, "{} vs {}", after.disk_bytes, before.disk_bytes);
        assert_eq!(after.merges, 1);
        assert_eq!(after.merge_reclaimed_bytes, s.reclaimed_bytes());
        assert_matches(&db, &model, "after compact");
        // Every input is removed in the background, and counted.
        db.wait_for_removals().unwrap();
        let st = db.stats();
        assert_eq!((st.trash_removals, st.trash_removal_failures), (s.input_segments.len() as u64, 0));
        assert_eq!(st.trash_bytes_pending, 0);
    }
    let db = open_sim(&sim, small_opts(Fsync::No)).unwrap();
    assert_matches(&db, &model, "after reopen");
    let r = db.stats().recovery;
    assert!(r.segments_from_hints >= 1, "{r:?}");
    file_names_ok(&sim.file_names());
}

/// Two writer threads, each owning the keys congruent to its number mod 2,
/// run `op(db, key_index, x, round)` (which updates the thread's exact model)
/// while four merges run; then the database must match the model after the
/// merges, after a quiet merge and after a reopen.
fn concurrent_merges_match_model(seed: u32, op: fn(&Db, u32, u32, u32, &mut Model)) {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options { compaction_rate_limit_bytes_per_sec: 4 << 20, ..small_opts(Fsync::No) };
    let db = Arc::new(Db::open(dir.path(), opts.clone()).unwrap());
    for i in 0..2000 {
        db.put(&key(i), &val(i, 0)).unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..2u32)
        .map(|t| {
            let (db, stop) = (db.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut model = Model::new();
                let mut round = 1u32;
                let mut x = seed ^ t;
                while !stop.load(Ordering::Relaxed) || round < 3000 {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    op(&db, (x % 1000) * 2 + t, x, round, &mut model);
                    round += 1;
                }
                model
            })
        })
        .collect();
    let mut merges_with_input = 0;
    for _ in 0..4 {
        let s = db.compact().unwrap();
        merges_with_input += !s.input_segments.is_empty() as u32;
    }
    stop.store(true, Ordering::Relaxed);
    let mut model = Model::new();
    for i in 0..2000 {
        model.insert(key(i), Some(val(i, 0)));
    }
    for w in writers {
        model.extend(w.join().unwrap());
    }
    assert!(merges_with_input >= 2);
    let filler: Vec<Vec<u8>> = db.keys().unwrap().filter(|k| k.starts_with(b"filler")).collect();
    assert!(filler.is_empty());
    assert_matches(&db, &model, "after concurrent merges");
    db.compact().unwrap();
    assert_matches(&db, &model, "after a quiet merge");
    drop(db);
    let db = Db::open(dir.path(), opts).unwrap();
    assert_matches(&db, &model, "after reopen");
    assert!(db.stats().recovery.segments_from_hints >= 1);
}

#[test]
fn compact_concurrent_writes_and_deletes_match_model() {
    concurrent_merges_match_model(0x9E37_79B9, |db, i, x, round, model| {
        if x.is_multiple_of(4) {
            db.delete(&key(i)).unwrap();
            model.insert(key(i), None);
        } else {
            db.put(&key(i), &val(i, round)).unwrap();
            model.insert(key(i), Some(val(i, round)));
        }
    });
}

/// Writers that add and remove TTLs (which moves a key to another keydir
/// slot) and delete keys while merges run: the merge's slot-based index
/// switch must fall back to a lookup by key for moved slots and never
/// point a key at a stale copy.
#[test]
fn compact_concurrent_ttl_changes_move_keydir_slots_during_merge() {
    use kv_engine::ExpireCondition;
    concurrent_merges_match_model(0x85EB_CA6B, |db, i, x, round, model| match x % 8 {
        0 => {
            db.delete(&key(i)).unwrap();
            model.insert(key(i), None);
        }
        1 | 2 => {
            db.pexpire(&key(i), 3_600_000, ExpireCondition::None).unwrap();
        }
        3 | 4 => {
            db.persist(&key(i)).unwrap();
        }
        _ => {
            db.put(&key(i), &val(i, round)).unwrap();
            model.insert(key(i), Some(val(i, round)));
        }
    });
}

/// Options under which a merge of ~5 MB of live data runs for seconds
/// (1 MiB/s), in 1 MiB segments.
fn slow_merge_opts() -> Options {
    Options { compaction_rate_limit_bytes_per_sec: 1 << 20, max_segment_size_bytes: 1 << 20, ..small_opts(Fsync::No) }
}

/// Puts and deletes long keys until `done`, which makes the keydir rebuild
/// its shard arenas (invalidating the slots a merge noted); returns how many.
fn spawn_arena_churn(db: &Arc<Db>, done: &Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    let (db, done) = (db.clone(), done.clone());
    std::thread::spawn(move || {
        let mut j = 0u64;
        while !done.load(Ordering::Relaxed) {
            // Long keys: a dead entry is ~1 KiB, so ~64 deletes in a shard
            // reach the 64 KiB that triggers its rebuild.
            let k = format!("churn-{j}-{}", "x".repeat(1000)).into_bytes();
            db.put(&k, b"x").unwrap();
            db.delete(&k).unwrap();
            j += 1;
        }
        j
    })
}

/// Deletes of other keys during a slow merge make the keydir rebuild its
/// shard arenas, which invalidates the slots the merge's liveness walk
/// noted. Keys nobody touched must still be switched to their copies (by
/// key, as the slot no longer proves anything), or they would point into
/// deleted segments.
#[test]
fn compact_keydir_rebuild_during_merge_keeps_untouched_keys() {
    let dir = tempfile::tempdir().unwrap();
    let opts = slow_merge_opts();
    let db = Arc::new(Db::open(dir.path(), opts.clone()).unwrap());
    let stable = |i: u32| format!("stable-{i:06}").into_bytes();
    let value = |i: u32| format!("{i:08}").repeat(25).into_bytes();
    for i in 0..20_000 {
        db.put(&stable(i), &value(i)).unwrap();
    }
    let done = Arc::new(AtomicBool::new(false));
    let churn = spawn_arena_churn(&db, &done);
    let s = db.compact().unwrap();
    done.store(true, Ordering::Relaxed);
    let churned = churn.join().unwrap();
    assert!(s.records_copied >= 20_000, "{s:?}");
    // Fewer deletes and this test proves nothing (checked by making the
    // merge treat a stale slot as a superseded one: the test then fails).
    assert!(churned > 64 * 200, "only {churned} deletes during the merge");
    let check = |db: &Db, what: &str| {
        for i in 0..20_000 {
            assert_eq!(db.get(&stable(i)).unwrap(), Some(value(i)), "{what}: stable key {i}");
        }
    };
    check(&db, "after the merge");
    drop(db);
    let db = Db::open(dir.path(), opts).unwrap();
    check(&db, "after reopen");
}

/// A merge of string `Put`s only (which copies in keydir order) while, once
/// it has started, a writer overwrites, deletes and re-expires keys (which
/// moves keys to other keydir slots) and another churns long keys (which
/// makes shards rebuild their arenas, invalidating every slot the merge
/// noted): every key must read as the writers left it, after the merge and
/// after a reopen; untouched keys must have been switched to their copies
/// by key where the slot proved nothing.
#[test]
fn compact_keydir_order_merge_with_writes_slot_moves_and_arena_rebuilds() {
    use kv_engine::ExpireCondition;
    let dir = tempfile::tempdir().unwrap();
    let opts = slow_merge_opts();
    let db = Arc::new(Db::open(dir.path(), opts.clone()).unwrap());
    let value = |i: u32, round: u32| format!("{i:08}-{round}").repeat(20).into_bytes();
    for round in 0..2 {
        for i in 0..20_000 {
            db.put(&key(i), &value(i, round)).unwrap();
        }
    }
    let active = |db: &Db| db.stats().segments.iter().find(|s| s.active).map(|s| s.id);
    let before = active(&db);
    let merge = {
        let db = db.clone();
        std::thread::spawn(move || db.compact().unwrap())
    };
    // The merge rotates the active segment before it picks its inputs:
    // writes from then on go to a segment it does not take.
    let waited = std::time::Instant::now();
    while active(&db) == before {
        assert!(waited.elapsed() < std::time::Duration::from_secs(30), "the merge did not start");
        std::thread::yield_now();
    }
    // It plans right after (a write would have to fill a whole 1 MiB
    // segment before that to land in an input).
    std::thread::sleep(std::time::Duration::from_millis(20));
    let done = Arc::new(AtomicBool::new(false));
    let churn = spawn_arena_churn(&db, &done);
    let mut model = Model::new();
    for i in 0..20_000 {
        model.insert(key(i), Some(value(i, 1)));
    }
    let mut x = 0x2545_F491u32;
    let mut round = 2;
    while !merge.is_finished() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let i = x % 20_000;
        match x % 8 {
            0 => {
                db.delete(&key(i)).unwrap();
                model.insert(key(i), None);
            }
            1 | 2 => {
                db.pexpire(&key(i), 3_600_000, ExpireCondition::None).unwrap();
            }
            3 => {
                db.persist(&key(i)).unwrap();
            }
            _ => {
                db.put(&key(i), &value(i, round)).unwrap();
                model.insert(key(i), Some(value(i, round)));
            }
        }
        round += 1;
    }
    let s = merge.join().unwrap();
    done.store(true, Ordering::Relaxed);
    let churned = churn.join().unwrap();
    assert_eq!(s.inputs_copied_from_index as usize, s.input_segments.len(), "not a keydir-order merge: {s:?}");
    // Keys written before their shard was walked are no longer in the
    // inputs: the walk is done shard by shard as the copy goes.
    assert!(s.records_copied >= 5_000, "{s:?}");
    assert_eq!(s.records_copied + s.records_dropped, 40_000, "{s:?}");
    assert!(churned > 64 * 200, "only {churned} churn deletes during the merge");
    assert!(round > 1_000, "only {round} writes during the merge");
    assert_matches(&db, &model, "after the merge");
    drop(db);
    let db = Db::open(dir.path(), opts).unwrap();
    assert_matches(&db, &model, "after reopen");
}

#[test]
fn compact_deletes_and_expiry_across_merges() {
    let sim = SimStorage::new();
    let clock = Arc::new(ManualClock::new(1_000_000));
    let opts = Options { clock: clock.clone(), ..small_opts(Fsync::No) };
    let mut model = Model::new();
    {
        let db = open_sim(&sim, opts.clone()).unwrap();
        for i in 0..200 {
            let mut b = WriteBatch::new();
            if i % 3 == 0 {
                b.put_with_expiry(&key(i), &val(i, 0), 1_000_000 + 10_000 + i as u64);
            } else {
                b.put(&key(i), &val(i, 0));
            }
            db.write_batch(&b).unwrap();
            model.insert(key(i), Some(val(i, 0)));
        }
        for i in (0..200).step_by(5) {
            db.delete(&key(i)).unwrap();
            model.insert(key(i), None);
        }
        db.compact().unwrap();
        assert_matches(&db, &model, "first merge, nothing expired yet");
        clock.advance_ms(10_000 + 100);
        for i in (0..100).step_by(3) {
            model.insert(key(i), None);
        }
        // Keys 102, 105, ... expire later.
        assert_matches(&db, &model, "after the clock moved");
        let s = db.compact().unwrap();
        assert!(s.records_dropped > 0);
        assert_matches(&db, &model, "second merge dropped the expired");
        for i in (1..200).step_by(7) {
            db.delete(&key(i)).unwrap();
            model.insert(key(i), None);
        }
        db.compact().unwrap();
        assert_matches(&db, &model, "third merge");
    }
    let db = open_sim(&sim, opts.clone()).unwrap();
    assert_matches(&db, &model, "reopen");
    // Moving the clock back never resurrects a key a merge dropped as expired.
    clock.set_ms(1_000_000);
    for i in (0..100).step_by(3) {
        if i % 5 != 0 && i % 7 != 1 {
            assert_eq!(db.get(&key(i)).unwrap(), None, "key {i} came back after the clock went back");
        }
    }
}

/// basho/bitcask#82: a partial merge must not drop a tombstone while an
/// older segment outside the merge still holds the key.
#[test]
fn compact_tombstone_not_resurrected_after_partial_merge() {
    let sim = SimStorage::new();
    {
        let db = open_sim(&sim, small_opts(Fsync::No)).unwrap();
        db.put(b"k", b"old value").unwrap();
        let old_seg = rotate(&db, "a");
        assert!(db.delete(b"k").unwrap());
        let delete_seg = rotate(&db, "b");
        assert_ne!(old_seg, delete_seg);
        let s = db.compact_segments(&[delete_seg]).unwrap();
        assert_eq!(s.input_segments, vec![delete_seg]);
        assert!(s.tombstones_kept >= 1, "{s:?}");
        assert_eq!(db.get(b"k").unwrap(), None);
        // Merging the merge output again alone still keeps it.
        let out = s.output_segments.clone();
        db.compact_segments(&out).unwrap();
        assert_eq!(db.get(b"k").unwrap(), None);
    }
    let db = open_sim(&sim, small_opts(Fsync::No)).unwrap();
    assert_eq!(db.get(b"k").unwrap(), None, "deleted key resurrected by a partial merge");
    // A full merge may now drop the tombstone and the old value together.
    db.compact().unwrap();
    drop(db);
    let db = open_sim(&sim, small_opts(Fsync::No)).unwrap();
    assert_eq!(db.get(b"k").unwrap(), None);
}

/// A partial merge scanned by two threads: the first half of its inputs
/// deletes some keys and rewrites others, the second half puts the deleted
/// ones back and deletes the rewritten ones, and an older segment outside
/// the merge holds the original values. The halves' outputs must replay
/// in the inputs' order, or kept tombstones and re-puts swap places and
/// values come back (or vanish) after a reopen.
#[test]
fn compact_two_thread_partial_merge_keeps_replay_order_across_halves() {
    let sim = SimStorage::new();
    let opts = small_opts(Fsync::No);
    let k = |i: u32| format!("order-{i:03}").into_bytes();
    let mut model = Model::new();
    {
        let db = open_sim(&sim, opts.clone()).unwrap();
        for i in 0..100 {
            db.put(&k(i), b"original").unwrap();
        }
        let outside = rotate(&db, "outside");
        let mut merged = Vec::new();
        for i in 0..100 {
            if i < 50 {
                assert!(db.delete(&k(i)).unwrap());
            } else {
                db.put(&k(i), b"first half").unwrap();
            }
        }
        for t in 0..3 {
            merged.push(rotate(&db, &format!("first-{t}")));
        }
        for i in 0..100 {
            if i < 50 {
                db.put(&k(i), b"second half").unwrap();
                model.insert(k(i), Some(b"second half".to_vec()));
            } else {
                assert!(db.delete(&k(i)).unwrap());
                model.insert(k(i), None);
            }
        }
        for t in 0..3 {
            merged.push(rotate(&db, &format!("second-{t}")));
        }
        assert!(!merged.contains(&outside));
        let s = db.compact_segments(&merged).unwrap();
        assert_eq!(s.scan_threads, 2, "{s:?}");
        assert!(s.tombstones_kept >= 100, "{s:?}");
        for (key, v) in &model {
            assert_eq!(db.get(key).unwrap(), *v);
        }
    }
    let check = |db: &Db, what: &str| {
        for (key, v) in &model {
            assert_eq!(db.get(key).unwrap(), *v, "{what}: {}", String::from_utf8_lossy(key));
        }
    };
    let db = open_sim(&sim, opts.clone()).unwrap();
    check(&db, "after reopen");
    // A full merge (two threads again) drops the tombstones and the originals.
    let s = db.compact().unwrap();
    assert_eq!(s.scan_threads, 2, "{s:?}");
    check(&db, "after a full merge");
    drop(db);
    let db = open_sim(&sim, opts).unwrap();
    check(&db, "after a full merge and reopen");
}

/// nutsdb#465 across a partial merge: an expired value in the merged
/// segment must leave an expiry tombstone, or the older value outside the
/// merge comes back.
#[test]
fn compact_expiry_tombstone_not_resurrected_after_partial_merge() {
    let sim = SimStorage::new();
    let clock = Arc::new(ManualClock::new(5_000));
    let opts = Options { clock: clock.clone(), ..small_opts(Fsync::No) };
    {
        let db = open_sim(&sim, opts.clone()).unwrap();
        db.put(b"k", b"v1 no ttl").unwrap();
        rotate(&db, "a");
        let mut b = WriteBatch::new();
        b.put_with_expiry(b"k", b"v2 short ttl", 6_000);
        db.write_batch(&b).unwrap();
        let ttl_seg = rotate(&db, "b");
        clock.set_ms(7_000);
        // No read before the merge: a read would purge the key lazily (with
        // its own tombstone), and the merge must be the one that leaves it.
        let s = db.compact_segments(&[ttl_seg]).unwrap();
        assert!(s.tombstones_kept >= 1, "{s:?}");
        assert_eq!(db.get(b"k").unwrap(), None);
    }
    // Even with the clock back before the expiry, v1 must not return.
    clock.set_ms(5_500);
    let db = open_sim(&sim, opts).unwrap();
    assert_eq!(db.get(b"k").unwrap(), None, "v1 came back after the expired v2 was merged away");
}

#[test]
fn compact_segments_rejects_split_or_unknown_bands() {
    let sim = SimStorage::new();
    let db = open_sim(&sim, small_opts(Fsync::No)).unwrap();
    let a = rotate(&db, "a");
    let b = rotate(&db, "b");
    let c = rotate(&db, "c");
    assert!(db.compact_segments(&[a, c]).is_err(), "not contiguous");
    assert!(db.compact_segments(&[9999]).is_err(), "unknown");
    let active = db.stats().segments.iter().find(|s| s.active).unwrap().id;
    assert!(db.compact_segments(&[active]).is_err(), "active");
    let s = db.compact_segments(&[a, b]).unwrap();
    assert!(s.output_segments.len() >= 2, "test needs a multi-segment band: {s:?}");
    // Half of a merge's band is not a band.
    assert!(db.compact_segments(&s.output_segments[..1]).is_err());
    db.compact_segments(&s.output_segments).unwrap();
}

/// rosedb#258: put 10 → merge → delete all → merge (empty result) → reopen.
#[test]
fn compact_rosedb258_delete_all_then_merge_again() {
    let sim = SimStorage::new();
    {
        let db = open_sim(&sim, small_opts(Fsync::Always)).unwrap();
        for i in 0..10 {
            db.put(&key(i), &val(i, 0)).unwrap();
        }
        db.compact().unwrap();
        for i in 0..10 {
            assert!(db.delete(&key(i)).unwrap());
        }
        let s = db.compact().unwrap();
        assert!(s.output_segments.is_empty(), "nothing is live: {s:?}");
        assert_eq!(db.len().unwrap(), 0);
    }
    let db = open_sim(&sim, small_opts(Fsync::Always)).unwrap();
    for i in 0..10 {
        assert_eq!(db.get(&key(i)).unwrap(), None, "key {i} returned");
    }
    assert_eq!(db.len().unwrap(), 0);
    file_names_ok(&sim.file_names());
}

/// A segment of string `Put`s only (single or batched, some expired) is
/// merged from the index's list of its live records, without reading the
/// dead ones: every record is still accounted for, as a scan counts them
/// (a batch's frame and each record in it), and the data is the model's.
/// A segment holding a tombstone is scanned; after a reopen, writer
/// segments are counted record by record again and merge outputs loaded
/// from hints are scanned.
#[test]
fn compact_inputs_of_puts_only_are_copied_from_the_index() {
    let sim = SimStorage::new();
    let clock = Arc::new(ManualClock::new(1_000_000));
    let opts = Options { clock: clock.clone(), max_segment_size_bytes: 1 << 20, ..small_opts(Fsync::No) };
    let mut model = Model::new();
    {
        let db = open_sim(&sim, opts.clone()).unwrap();
        let mut records = 0u64;
        for round in 0..3 {
            for i in 0..300 {
                db.put(&key(i), &val(i, round)).unwrap();
                model.insert(key(i), Some(val(i, round)));
                records += 1;
            }
        }
        let mut b = WriteBatch::new();
        for i in 0..40 {
            b.put(&key(i), &val(i, 7));
            model.insert(key(i), Some(val(i, 7)));
        }
        db.write_batch(&b).unwrap();
        records += 41;
        for i in 300..310 {
            db.set(&key(i), &val(i, 0), &kv_engine::SetOptions::new().px(10)).unwrap();
            records += 1;
        }
        // Expired, never read (a read would purge them with a tombstone).
        clock.advance_ms(20);
        let s = db.compact().unwrap();
        assert_eq!((s.input_segments.len(), s.inputs_copied_from_index), (1, 1), "{s:?}");
        assert_eq!(s.records_copied, 300, "{s:?}");
        assert_eq!(s.records_copied + s.records_dropped, records, "{s:?}");
        assert_eq!(s.tombstones_kept, 0, "{s:?}");
        assert_matches(&db, &model, "after a merge from the list");
        assert_eq!(db.len().unwrap(), 300);

        // A tombstone makes its segment scanned; the merge output, counted
        // as it was written, is still copied from the list.
        for i in (0..300).step_by(3) {
            db.delete(&key(i)).unwrap();
            model.insert(key(i), None);
        }
        let s = db.compact().unwrap();
        assert_eq!((s.input_segments.len(), s.inputs_copied_from_index), (2, 1), "{s:?}");
        assert_eq!(s.records_copied, 200, "{s:?}");
        assert_eq!(s.records_copied + s.records_dropped, 300 + 100, "{s:?}");
        assert_matches(&db, &model, "after a merge of a listed and a scanned input");
        for i in 1000..1100 {
            db.put(&key(i), &val(i, 0)).unwrap();
            model.insert(key(i), Some(val(i, 0)));
        }
    }
    // Open counts the records of the segments it scans: one of puts only,
    // then (next session) one with a tombstone.
    {
        let db = open_sim(&sim, opts.clone()).unwrap();
        assert!(db.delete(&key(1)).unwrap());
        model.insert(key(1), None);
    }
    let db = open_sim(&sim, opts).unwrap();
    assert_matches(&db, &model, "after reopen");
    for i in 2000..2100 {
        db.put(&key(i), &val(i, 0)).unwrap();
        model.insert(key(i), Some(val(i, 0)));
    }
    let s = db.compact().unwrap();
    // The output loaded from its hint and the segment with the tombstone
    // are scanned; the segment of puts and the new writer segment are listed.
    assert_eq!((s.input_segments.len(), s.inputs_copied_from_index), (4, 2), "{s:?}");
    assert_eq!((s.records_copied, s.records_dropped), (399, 2), "{s:?}");
    assert_matches(&db, &model, "after a merge following a reopen");
    drop(db);
    let db = open_sim(&sim, small_opts(Fsync::No)).unwrap();
    assert_matches(&db, &model, "after the last reopen");
}

/// A live record the merge copies without scanning (from the list, or in
/// keydir order) is still checked: a damaged one stops the merge with a
/// corruption error naming its segment, and nothing is lost or left over;
/// repaired, the merge goes through. `with_delete`: an older segment holds a
/// tombstone, so the merge takes the list path instead of keydir order.
fn damaged_live_record_stops_the_merge(with_delete: bool) {
    let sim = SimStorage::new();
    let db = open_sim(&sim, small_opts(Fsync::No)).unwrap();
    let mut model = Model::new();
    if with_delete {
        db.put(b"gone", b"x").unwrap();
        db.delete(b"gone").unwrap();
        model.insert(b"gone".to_vec(), None);
    }
    for round in 0..2 {
        for i in 0..300 {
            db.put(&key(i), &val(i, round)).unwrap();
            model.insert(key(i), Some(val(i, round)));
        }
    }
    db.sync().unwrap();
    // Damage the newest value of key 150 in its (sealed) segment file.
    let needle = val(150, 1);
    let (name, at) = sim
        .file_names()
        .into_iter()
        .filter(|n| n.ends_with(".seg"))
        .find_map(|n| {
            let bytes = sim.read_file(&n)?;
            let at = bytes.windows(needle.len()).position(|w| w == needle.as_slice())?;
            Some((n, at))
        })
        .unwrap();
    let clean = sim.read_file(&name).unwrap();
    let mut bad = clean.clone();
    bad[at + 3] ^= 0x10;
    sim.write_file(&name, &bad);
    let before = sim.file_names();
    match db.compact() {
        Err(kv_engine::Error::Corruption { file, .. }) => assert!(file.ends_with(&name), "error names {file:?}"),
        other => panic!("merge over a damaged live record: {other:?}"),
    }
    // (The merge's first step rotated the active segment: a new one exists.)
    let after = sim.file_names();
    assert!(before.iter().all(|n| after.contains(n)), "inputs removed: {before:?} -> {after:?}");
    assert!(after.iter().all(|n| n.ends_with(".seg") && !n.contains("tmp")), "left over: {after:?}");
    sim.write_file(&name, &clean);
    let s = db.compact().unwrap();
    assert_eq!(s.inputs_copied_from_index as usize == s.input_segments.len(), !with_delete, "{s:?}");
    assert_matches(&db, &model, "after the repaired merge");
}

#[test]
fn compact_in_keydir_order_refuses_a_damaged_live_record() {
    damaged_live_record_stops_the_merge(false);
}

#[test]
fn compact_from_the_list_refuses_a_damaged_live_record() {
    damaged_live_record_stops_the_merge(true);
}

/// Copies from the list are switched in the index by naming the list's
/// records again, stretch by stretch; an expired record the merge drops
/// (no copy) must end a stretch, or the next key's copy is credited to the
/// expired key and every later key of the stretch is switched one record
/// off. Expiring keys sit between live ones, in inputs split between two
/// mergers.
#[test]
fn compact_from_the_list_switches_every_key_past_dropped_expired_records() {
    let sim = SimStorage::new();
    let clock = Arc::new(ManualClock::new(1_000_000));
    let opts = Options {
        clock: clock.clone(),
        max_segment_size_bytes: 256 * 1024,
        compaction_threads: 2,
        ..small_opts(Fsync::No)
    };
    let mut model = Model::new();
    let db = open_sim(&sim, opts.clone()).unwrap();
    for round in 0..2 {
        for i in 0..12_000u32 {
            if i % 7 == 3 {
                // Expires before the merge, never read (a read would purge it).
                db.set(&key(i), &val(i, round), &kv_engine::SetOptions::new().px(10)).unwrap();
                model.insert(key(i), None);
            } else {
                db.put(&key(i), &val(i, round)).unwrap();
                model.insert(key(i), Some(val(i, round)));
            }
        }
    }
    clock.advance_ms(20);
    let s = db.compact().unwrap();
    assert_eq!(s.scan_threads, 2, "{s:?}");
    assert_eq!(s.inputs_copied_from_index as usize, s.input_segments.len(), "{s:?}");
    assert_eq!(s.records_copied as usize, model.values().filter(|v| v.is_some()).count(), "{s:?}");
    assert_matches(&db, &model, "after a merge from the list");
    drop(db);
    let db = open_sim(&sim, opts).unwrap();
    assert_matches(&db, &model, "after reopen");
}

/// rosedb#242: merge twice with no writes in between, then reopen.
#[test]
fn compact_rosedb242_merge_twice_without_writes() {
    let sim = SimStorage::new();
    let mut model = Model::new();
    {
        let db = open_sim(&sim, small_opts(Fsync::No)).unwrap();
        for i in 0..500 {
            db.put(&key(i), &val(i, 1)).unwrap();
            model.insert(key(i), Some(val(i, 1)));
        }
        db.compact().unwrap();
        let s = db.compact().unwrap();
        // A second merge of live data copies every record and drops none;
        // only the packing into segments may differ (the two merge threads
        // each leave a partly filled last output), so the size changes by
        // at most a segment header per input.
        assert_eq!((s.records_copied, s.records_dropped), (500, 0), "{s:?}");
        let headers = 32 * s.input_segments.len().max(s.output_segments.len()) as u64;
        assert!(s.input_bytes.abs_diff(s.output_bytes) < headers, "{s:?}");
        db.compact().unwrap();
        assert_matches(&db, &model, "after repeated merges");
    }
    let db = open_sim(&sim, small_opts(Fsync::No)).unwrap();
    assert_matches(&db, &model, "after reopen");
    // Only the (empty) active segment of the last session is scanned.
    let r = db.stats().recovery;
    assert!(r.segments_from_hints >= 1 && r.segments_scanned <= 1, "{r:?}");
}

/// bitcask#148: a delete racing a merge wins, also after reopen.
#[test]
fn compact_bitcask148_delete_racing_merge_wins() {
    let dir = tempfile::tempdir().unwrap();
    // Throttled so that the deletes land while the merge is in flight.
    let opts = Options { compaction_rate_limit_bytes_per_sec: 256 * 1024, ..small_opts(Fsync::No) };
    let mut model = Model::new();
    {
        let db = Arc::new(Db::open(dir.path(), opts.clone()).unwrap());
        for i in 0..3000 {
            db.put(&key(i), &val(i, 0)).unwrap();
            model.insert(key(i), Some(val(i, 0)));
        }
        let merger = {
            let db = db.clone();
            std::thread::spawn(move || db.compact().unwrap())
        };
        for i in (0..3000).step_by(2) {
            db.delete(&key(i)).unwrap();
            model.insert(key(i), None);
        }
        let s = merger.join().unwrap();
        assert!(s.records_copied > 0);
        assert_matches(&db, &model, "after the racing deletes");
    }
    let db = Db::open(dir.path(), opts).unwrap();
    assert_matches(&db, &model, "after reopen");
}

/// bitcask#174: an iterator running across a merge returns every key live
/// at its start exactly once.
#[test]
fn compact_bitcask174_iterator_during_merge_sees_each_key_once() {
    let sim = SimStorage::new();
    let db = open_sim(&sim, small_opts(Fsync::No)).unwrap();
    let mut expected = HashSet::new();
    for round in 0..3 {
        for i in 0..1500 {
            db.put(&key(i), &val(i, round)).unwrap();
            expected.insert(key(i));
        }
    }
    let mut it = db.keys().unwrap();
    let mut seen = Vec::new();
    seen.extend(it.by_ref().take(500));
    db.compact().unwrap();
    seen.extend(it.by_ref().take(500));
    db.compact().unwrap();
    seen.extend(it);
    let unique: HashSet<Vec<u8>> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "a key was returned twice");
    assert_eq!(unique, expected);
}

/// Builds the same database deterministically: overwrites, deletes, a batch,
/// several rotations. Returns the handle and the model of acknowledged data.
fn build_for_crash(sim: &SimStorage, keys: u32) -> (Db, Model) {
    let db = open_sim(sim, crash_opts()).unwrap();
    let mut model = Model::new();
    for round in 0..2 {
        for i in 0..keys {
            db.put(&key(i), &val(i, round)).unwrap();
            model.insert(key(i), Some(val(i, round)));
        }
    }
    for i in (0..keys).step_by(5) {
        db.delete(&key(i)).unwrap();
        model.insert(key(i), None);
    }
    let mut b = WriteBatch::new();
    b.put(&key(100), b"batch-a").put(&key(101), b"batch-b").delete(&key(1));
    db.write_batch(&b).unwrap();
    model.insert(key(100), Some(b"batch-a".to_vec()));
    model.insert(key(101), Some(b"batch-b".to_vec()));
    model.insert(key(1), None);
    // A merge that starts within 20 ms of an `always` commit runs on one
    // thread (foreground commits are running): let that window pass, so
    // the merges of these tests run as they would on a quiet database.
    std::thread::sleep(std::time::Duration::from_millis(25));
    (db, model)
}

/// Builds a database of string `Put`s only (overwrites, a batch of puts,
/// keys with a TTL that has passed), whose merge copies in keydir order.
fn build_puts_only(sim: &SimStorage, keys: u32) -> (Db, Model) {
    let db = open_sim(sim, crash_opts()).unwrap();
    let mut model = Model::new();
    for round in 0..2 {
        for i in 0..keys {
            if round == 1 && i % 9 == 4 {
                // Expired long before the merge, never read (the first
                // round's value is not expired, so nothing purges it).
                db.set(&key(i), &val(i, round), &kv_engine::SetOptions::new().px(1)).unwrap();
                model.insert(key(i), None);
            } else {
                db.put(&key(i), &val(i, round)).unwrap();
                model.insert(key(i), Some(val(i, round)));
            }
        }
    }
    let mut b = WriteBatch::new();
    b.put(&key(100), b"batch-a").put(&key(101), b"batch-b");
    db.write_batch(&b).unwrap();
    model.insert(key(100), Some(b"batch-a".to_vec()));
    model.insert(key(101), Some(b"batch-b".to_vec()));
    std::thread::sleep(std::time::Duration::from_millis(25));
    (db, model)
}

/// A database builder for the crash tests.
type Build = fn(&SimStorage, u32) -> (Db, Model);

/// The storage operations of one merge of `build(_, keys)`: the op count
/// when the merge starts, how many it takes, and its summary (the runs are
/// deterministic, so each fault test replays them by index).
fn probe_merge_ops(build: Build, keys: u32) -> (u64, u64, CompactionSummary) {
    let probe = SimStorage::new();
    let (db, _) = build(&probe, keys);
    let base = probe.op_count();
    let s = db.compact().unwrap();
    // The background remover's operations are part of the merge's: waiting
    // makes them come before anything else, so the runs stay deterministic.
    db.wait_for_removals().unwrap();
    (base, probe.op_count() - base, s)
}

fn crash_opts() -> Options {
    // A fixed hash seed: a merge in keydir order lays its outputs out by
    // hash, and the fault tests replay its storage operations by index.
    Options { max_segment_size_bytes: 4096, hash_seed: Some(0x5EED_0FC0_FFEE), ..small_opts(Fsync::Always) }
}

/// Power is cut before every single storage operation of a merge of the
/// database `build(_, keys)` builds (including the retiring of its
/// inputs and the background remover's work, which the test waits for) and
/// of a write after it; each time, reopening yields exactly the
/// acknowledged data, without duplicates or resurrections, and no leftover
/// merge files or trash, even when the cut left trash behind. `scan_threads`:
/// the threads the merge must use.
fn power_cut_at_every_step(build: Build, keys: u32, scan_threads: u32) {
    let probe = SimStorage::new();
    let (db, _) = build(&probe, keys);
    let base = probe.op_count();
    let s = db.compact().unwrap();
    assert!(s.input_segments.len() >= 2 && !s.output_segments.is_empty(), "{s:?}");
    assert_eq!(s.scan_threads, scan_threads, "{s:?}");
    assert!(s.removal_queued_bytes > 0, "{s:?}");
    db.wait_for_removals().unwrap();
    db.put(b"after", b"1").unwrap();
    let total = probe.op_count() - base;
    drop(db);

    // Cuts that hit the remover (the merge had returned), and cuts that
    // left trash on the disk.
    let (mut in_remover, mut trash_left) = (0, 0);
    for n in 0..=total {
        let sim = SimStorage::new();
        let (db, mut model) = build(&sim, keys);
        assert_eq!(sim.op_count(), base);
        sim.set_fault(Some(Fault::CrashAt { op: base + n }));
        let merged = db.compact();
        let removed = db.wait_for_removals();
        if merged.is_ok() && removed.is_err() {
            in_remover += 1;
            assert!(!db.stats().poisoned, "crash point {n}: a failed removal poisoned the handle");
        }
        let after_acked = db.put(b"after", b"1").is_ok();
        assert_eq!(merged.is_ok() && removed.is_ok() && after_acked, n == total, "crash point {n}");
        drop(db);
        let rebooted = sim.power_cut(Some(n * 7919 + 1));
        let what = format!("power cut before op {n} of {total}");
        let trash = rebooted.file_names().iter().filter(|f| f.ends_with(".seg.trash")).count() as u64;
        trash_left += (trash > 0) as u32;
        {
            let db = open_sim(&rebooted, crash_opts()).unwrap_or_else(|e| panic!("{what}: open failed: {e}"));
            assert_eq!(db.stats().recovery.trash_files_removed, trash, "{what}");
            let after = db.get(b"after").unwrap();
            if after_acked {
                assert_eq!(after.as_deref(), Some(&b"1"[..]), "{what}");
            }
            // An unacknowledged write may or may not have survived.
            model.insert(b"after".to_vec(), after);
            assert_matches(&db, &model, &what);
        }
        let db = open_sim(&rebooted, crash_opts()).unwrap();
        assert_matches(&db, &model, &format!("{what}, second open"));
        file_names_ok(&rebooted.file_names());
    }
    assert!(in_remover > 0, "no cut hit the background remover");
    assert!(trash_left > 0, "no cut left trash for open to remove");
}

#[test]
fn compact_power_cut_at_every_step_keeps_exactly_acknowledged_data() {
    power_cut_at_every_step(build_for_crash, 40, 1);
}

/// The same with a merge whose inputs are scanned by two threads: their
/// storage operations interleave differently from run to run, and a cut
/// may stop one half mid-write while the other has sealed its outputs.
#[test]
fn compact_power_cut_at_every_step_of_a_two_thread_merge() {
    power_cut_at_every_step(build_for_crash, 160, 2);
}

/// The same for a merge of string `Put`s only, which copies in keydir
/// order (its records out of file order, its hints encoded as they come)
/// on two threads, half of the keydir's shards each.
#[test]
fn compact_power_cut_at_every_step_of_a_keydir_order_merge() {
    let (_, _, s) = probe_merge_ops(build_puts_only, 160);
    assert_eq!(s.inputs_copied_from_index as usize, s.input_segments.len(), "{s:?}");
    power_cut_at_every_step(build_puts_only, 160, 2);
}

/// One storage operation of a two-thread merge fails (ENOSPC), at every
/// operation in turn: the merge reports the error (the other half stops
/// early) and loses nothing; a merge that failed before its commit point
/// leaves no files behind and can simply run again; in every case a reopen
/// holds exactly the data.
#[test]
fn compact_two_thread_merge_fails_cleanly_at_every_operation() {
    fails_cleanly_at_every_operation(build_for_crash);
}

/// The same for a two-thread merge in keydir order.
#[test]
fn compact_keydir_order_merge_fails_cleanly_at_every_operation() {
    fails_cleanly_at_every_operation(build_puts_only);
}

fn fails_cleanly_at_every_operation(build: Build) {
    let (base, total, s) = probe_merge_ops(build, 160);
    assert_eq!(s.scan_threads, 2, "{s:?}");
    let mut failures = 0;
    for n in 0..total {
        let sim = SimStorage::new();
        let (db, model) = build(&sim, 160);
        sim.set_fault(Some(Fault::FailAt { op: base + n, errno: libc::ENOSPC }));
        let what = format!("ENOSPC at op {n} of {total}");
        let merged = db.compact();
        // A failed removal leaves trash, not an error of the merge: the
        // reopen below removes it (`file_names_ok`).
        let _ = db.wait_for_removals();
        if merged.is_err() {
            failures += 1;
            sim.set_fault(None);
            if !db.stats().poisoned {
                // Failed before its commit point: nothing of it remains,
                // and the next merge does the work.
                assert!(!sim.file_names().iter().any(|f| f.ends_with(".tmp") || f.starts_with("MERGE-")), "{what}");
                db.compact().unwrap_or_else(|e| panic!("{what}: merge again: {e}"));
            }
        }
        assert_matches(&db, &model, &what);
        drop(db);
        sim.set_fault(None);
        let db = open_sim(&sim, crash_opts()).unwrap_or_else(|e| panic!("{what}: reopen: {e}"));
        assert_matches(&db, &model, &format!("{what}, reopened"));
        file_names_ok(&sim.file_names());
    }
    assert!(failures > 0);
}

/// A merged input that no reader holds is truncated in steps before it is
/// removed: freeing a whole 256 MiB input at once stalled an `always`
/// writer's fdatasync for 20-33 ms. The background remover does it, after
/// the merge has retired the input to `N.seg.trash`: a failure midway
/// leaves that file part shrunk, counted, reported by the wait, without
/// poisoning the handle, and the next open removes it.
#[test]
fn compact_removes_unshared_inputs_in_steps_not_at_once() {
    let (base, total, _) = probe_merge_ops(build_for_crash, 160);
    let mut part_shrunk = 0;
    for n in 0..total {
        let sim = SimStorage::new();
        let (db, model) = build_for_crash(&sim, 160);
        // The active segment is left out: the merge seals it, trimming its
        // preallocated tail, which is no removal.
        let active = db.stats().segments.iter().find(|s| s.active).map(|s| format!("{:010}.seg", s.id));
        let sealed: Vec<(String, usize)> = sim
            .file_names()
            .into_iter()
            .filter(|f| f.ends_with(".seg") && Some(f) != active.as_ref())
            .filter_map(|f| Some((f.clone(), sim.read_file(&f)?.len())))
            .collect();
        sim.set_fault(Some(Fault::FailAt { op: base + n, errno: libc::EIO }));
        let merged = db.compact();
        let removed = db.wait_for_removals();
        sim.set_fault(None);
        // Under its segment name or, once retired, as trash.
        let len_now = |f: &str| sim.read_file(f).or_else(|| sim.read_file(&format!("{f}.trash"))).map(|b| b.len());
        let part = sealed.iter().any(|(f, len)| len_now(f).is_some_and(|l| l > 0 && l < *len));
        if part {
            part_shrunk += 1;
            let what = format!("EIO at op {n} of {total}, an input part shrunk");
            assert!(merged.is_ok(), "{what}: only the remover shrinks, after the merge");
            let why = removed.expect_err(&what).to_string();
            assert!(why.contains(".seg.trash"), "{what}: {why}");
            let st = db.stats();
            assert!(!st.poisoned, "{what}: a failed removal poisoned the handle");
            assert_eq!(st.trash_removal_failures, 1, "{what}");
            assert_eq!(st.trash_bytes_pending, 0, "{what}: nothing is left queued");
            db.put(b"still", b"writable").unwrap_or_else(|e| panic!("{what}: {e}"));
            drop(db);
            let mut model = model.clone();
            model.insert(b"still".to_vec(), Some(b"writable".to_vec()));
            let db = open_sim(&sim, crash_opts()).unwrap_or_else(|e| panic!("{what}: reopen: {e}"));
            assert_eq!(db.stats().recovery.trash_files_removed, 1, "{what}");
            assert_matches(&db, &model, &what);
            assert!(
                sealed.iter().all(|(f, len)| len_now(f).is_none_or(|l| l >= *len)),
                "{what}: a part-shrunk input survived the reopen"
            );
            file_names_ok(&sim.file_names());
        }
    }
    assert!(part_shrunk > 0, "no failure left an input part shrunk: inputs are not removed in steps");
}

/// A crash while open is finishing a committed merge is survived by opening
/// again (sled#851 applied to the merge).
#[test]
fn compact_power_cut_during_open_that_finishes_a_merge() {
    // Find the op index at which the merge's commit point has passed: the
    // marker exists after the cut.
    let (base, total, _) = probe_merge_ops(build_for_crash, 40);
    let mut tested = 0;
    for n in 0..total {
        let sim = SimStorage::new();
        let (db, model) = build_for_crash(&sim, 40);
        sim.set_fault(Some(Fault::CrashAt { op: base + n }));
        let _ = db.compact();
        drop(db);
        let rebooted = sim.power_cut(None);
        if !rebooted.file_names().iter().any(|f| f.starts_with("MERGE-") && !f.ends_with(".tmp")) {
            continue;
        }
        tested += 1;
        // Now cut power at every step of the open that finishes the merge.
        let mut k = 0;
        loop {
            let disk = rebooted.power_cut(None);
            let start = disk.op_count();
            disk.set_fault(Some(Fault::CrashAt { op: start + k }));
            let opened = open_sim(&disk, crash_opts());
            let done = opened.is_ok() && !disk.crashed();
            drop(opened);
            let again = disk.power_cut(Some(k + 1));
            let db = open_sim(&again, crash_opts()).unwrap();
            assert_matches(&db, &model, &format!("merge crash {n}, open crash {k}"));
            drop(db);
            file_names_ok(&again.file_names());
            if done {
                break;
            }
            k += 1;
        }
    }
    assert!(tested > 0, "no crash point left a committed merge behind");
}

/// Every (key, value), total dead bytes, and (id, size, dead) per sealed segment.
type Snapshot = (Vec<(Vec<u8>, Vec<u8>)>, u64, Vec<(u32, u64, u64)>);

fn snapshot(db: &Db) -> Snapshot {
    let data = db.scan_prefix(b"").unwrap();
    let st = db.stats();
    let segs = st.segments.iter().filter(|s| !s.active).map(|s| (s.id, s.size_bytes, s.dead_bytes)).collect();
    (data, st.dead_bytes, segs)
}

/// bitcask#212/#171, rosedb#258: a missing, truncated, bit-flipped, empty
/// or stale hint is never trusted; open scans the segment and the index
/// comes out identical.
#[test]
fn compact_hint_fallback_on_missing_corrupt_or_stale_hint() {
    let build = |sim: &SimStorage, salt: u32| {
        // One scanning thread: two take output ids in a racy order, and the
        // stale-hint case needs the same ids in both databases.
        let db = open_sim(sim, Options { compaction_threads: 1, ..small_opts(Fsync::No) }).unwrap();
        for round in 0..3 {
            for i in 0..400 {
                db.put(&key(i), &val(i + salt, round)).unwrap();
            }
        }
        for i in (0..400).step_by(3) {
            db.delete(&key(i)).unwrap();
        }
        db.compact().unwrap()
    };
    let sim = SimStorage::new();
    let summary = build(&sim, 0);
    let reference = {
        let db = open_sim(&sim, small_opts(Fsync::No)).unwrap();
        assert_eq!(db.stats().recovery.segments_from_hints, summary.output_segments.len() as u64);
        snapshot(&db)
    };
    let victim = format!("{:010}.hint", summary.output_segments[0]);
    let good = sim.read_file(&victim).unwrap();
    // The same database built with other values: same ids, different bytes.
    let other = SimStorage::new();
    let other_summary = build(&other, 7);
    assert_eq!(other_summary.output_segments, summary.output_segments);
    let stale = other.read_file(&victim).unwrap();
    let wrong_id = sim.read_file(&format!("{:010}.hint", summary.output_segments[1])).unwrap();

    let mut flipped = good.clone();
    flipped[good.len() / 2] ^= 0x04;
    let cases: Vec<(&str, Option<Vec<u8>>)> = vec![
        ("missing", None),
        ("empty", Some(Vec::new())),
        ("truncated", Some(good[..good.len() - 9].to_vec())),
        ("bit-flipped", Some(flipped)),
        ("stale (other database, same id)", Some(stale)),
        ("another segment's hint", Some(wrong_id)),
    ];
    for (what, bytes) in cases {
        // A fresh copy of the durable disk for each case.
        let sim_case = sim.power_cut(None);
        match bytes {
            None => sim_case.remove(&victim).unwrap(),
            Some(b) => sim_case.write_file(&victim, &b),
        }
        let db = open_sim(&sim_case, small_opts(Fsync::No)).unwrap();
        let r = db.stats().recovery;
        assert_eq!(r.segments_from_hints, summary.output_segments.len() as u64 - 1, "{what}: {r:?}");
        assert_eq!(snapshot(&db), reference, "{what}: index differs from the hint-built one");
    }
}

#[test]
fn compact_reclaims_disk_space_after_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options { preallocate: false, max_segment_size_bytes: 64 * 1024, ..small_opts(Fsync::No) };
    let db = Db::open(dir.path(), opts).unwrap();
    let n = 2000u32;
    let value = |i: u32, r: u32| format!("{i:08}-{r:02}-").repeat(7).into_bytes();
    for r in 0..10 {
        for i in 0..n {
            db.put(&key(i), &value(i, r)).unwrap();
        }
    }
    let s = db.compact().unwrap();
    assert!(s.removal_queued_bytes > 0, "{s:?}");
    // The inputs' space comes back once the remover is done with them.
    db.wait_for_removals().unwrap();
    assert_eq!(db.stats().trash_bytes_pending, 0);
    let live_bytes: u64 = (0..n).map(|i| 32 + key(i).len() as u64 + value(i, 9).len() as u64).sum();
    // Segments and trash alike: all of it is disk in use.
    let seg_bytes: u64 = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().contains(".seg"))
        .map(|e| e.metadata().unwrap().len())
        .sum();
    assert!(seg_bytes as f64 <= 1.1 * live_bytes as f64, "{seg_bytes} on disk for {live_bytes} live bytes");
    assert_eq!(db.stats().disk_bytes, seg_bytes);
    for i in (0..n).step_by(97) {
        assert_eq!(db.get(&key(i)).unwrap().unwrap(), value(i, 9));
    }
}

/// bitcask#249: once merged, the input files are no longer mapped (when
/// `compact` returns: the merge held the last mapping), and once the
/// remover is done, neither open nor on disk.
#[test]
fn compact_deleted_segments_are_not_kept_open() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), small_opts(Fsync::No)).unwrap();
    for r in 0..3 {
        for i in 0..800 {
            db.put(&key(i), &val(i, r)).unwrap();
        }
    }
    let _ = db.get(&key(3)).unwrap();
    let s = db.compact().unwrap();
    assert!(s.input_segments.len() > 2);
    let canon = std::fs::canonicalize(dir.path()).unwrap();
    let root = canon.to_string_lossy().to_string();
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let held: Vec<&str> =
        maps.lines().filter(|l| l.contains(&root) && (l.contains("(deleted)") || l.contains(".trash"))).collect();
    assert!(held.is_empty(), "merged segments still mapped: {held:?}");
    db.wait_for_removals().unwrap();
    let names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    file_names_ok(&names);
    for &id in &s.input_segments {
        assert!(!names.contains(&format!("{id:010}.seg")), "input {id} still on disk: {names:?}");
    }
    for fd in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        if let Ok(target) = std::fs::read_link(fd.path()) {
            let t = target.to_string_lossy();
            assert!(!(t.contains(&root) && t.contains("(deleted)")), "deleted file still open: {t}");
        }
    }
}

/// The busy-rate limit of the paced-merge test.
const PACED_RATE_BYTES_PER_SEC: u64 = 2_000_000;

/// While `Fsync::Always` commits run, the merge's writes are paced to
/// `compaction_busy_rate_limit_bytes_per_sec` (a merge of ~2 MB at 2 MB/s
/// takes at least about a second), it runs on one thread, and the data
/// comes through intact.
///
/// The merge counts as beside commits only while one waits for its fsync or
/// ended less than 20 ms ago (the busy hold); a writer thread preempted for
/// longer between two commits (a loaded machine) leaves the merge unpaced
/// meanwhile, as the Go binding's test of the same showed (1 of 15 runs
/// under load). So the writer measures its longest time between one `put`'s
/// return and the next one's call; an attempt where that reached half the
/// hold (the other half is for the library's own steps around the fsync
/// wait, and the floor is half the paced duration) proves nothing about
/// pacing and is run again.
#[test]
fn compact_paced_while_always_commits_run_keeps_data() {
    const BUSY_HOLD: std::time::Duration = std::time::Duration::from_millis(20);
    const ATTEMPTS: u32 = 10;
    for attempt in 1..=ATTEMPTS {
        let (summary, max_span) = paced_merge_beside_always_commits();
        if max_span >= BUSY_HOLD / 2 {
            eprintln!("attempt {attempt}: the writer stalled ({max_span:?} between commits): again");
            continue;
        }
        let floor_ms = summary.output_bytes * 1000 / PACED_RATE_BYTES_PER_SEC / 2;
        assert!(summary.output_bytes > 1_000_000, "{summary:?}");
        // Started beside running commits: one thread (two when quiet, as the
        // two-thread tests show for the same amount of input).
        assert_eq!(summary.scan_threads, 1, "{summary:?}");
        assert!(
            summary.duration_ms >= floor_ms,
            "merge of {} bytes took {} ms: not paced (writer's longest span {max_span:?})",
            summary.output_bytes,
            summary.duration_ms
        );
        return;
    }
    eprintln!("the writer stalled for 10 ms or more in each of {ATTEMPTS} attempts: pacing not judged");
}

/// One merge of ~2 MB beside a writer committing under `Fsync::Always`,
/// the data checked after it and after a reopen: the merge's summary and
/// the writer's longest time from one `put`'s return to the next one's
/// call.
fn paced_merge_beside_always_commits() -> (CompactionSummary, std::time::Duration) {
    let dir = tempfile::tempdir().unwrap();
    let rate_bytes_per_sec = PACED_RATE_BYTES_PER_SEC;
    let opts = Options {
        compaction_busy_rate_limit_bytes_per_sec: rate_bytes_per_sec,
        max_segment_size_bytes: 1 << 20,
        ..small_opts(Fsync::Always)
    };
    let db = Db::open(dir.path(), opts.clone()).unwrap();
    let mut model = Model::new();
    {
        // The fill goes in batches: 8000 single fsyncs would be slow.
        for round in 0..2u32 {
            for chunk in (0..4000u32).collect::<Vec<_>>().chunks(500) {
                let mut b = WriteBatch::new();
                for &i in chunk {
                    let v = val(i, round).repeat(8);
                    b.put(&key(i), &v);
                    model.insert(key(i), Some(v));
                }
                db.write_batch(&b).unwrap();
            }
        }
    }
    rotate(&db, "pace");
    let stop = AtomicBool::new(false);
    let commits = AtomicU32::new(0);
    let (summary, (fg, max_span)) = std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut fg = Model::new();
            let mut i = 0u32;
            let mut max_span = std::time::Duration::ZERO;
            let mut returned: Option<std::time::Instant> = None;
            while !stop.load(Ordering::Relaxed) {
                let k = format!("fg-{i}").into_bytes();
                if let Some(r) = returned {
                    max_span = max_span.max(r.elapsed());
                }
                db.put(&k, b"during the merge").unwrap();
                returned = Some(std::time::Instant::now());
                fg.insert(k, Some(b"during the merge".to_vec()));
                i += 1;
                commits.store(i, Ordering::Relaxed);
            }
            (fg, max_span)
        });
        // The merge starts once the writer commits: on a loaded machine the
        // thread could start late, and the merge then saw no commits and
        // took two threads (this test failed so once in a full parallel run).
        while commits.load(Ordering::Relaxed) < 2 {
            std::thread::yield_now();
        }
        let summary = db.compact().unwrap();
        stop.store(true, Ordering::Relaxed);
        (summary, writer.join().unwrap())
    });
    model.extend(fg);
    let filler: Vec<Vec<u8>> = db.keys().unwrap().filter(|k| k.starts_with(b"filler")).collect();
    for k in filler {
        model.insert(k.clone(), db.get(&k).unwrap());
    }
    assert_matches(&db, &model, "after a paced merge");
    drop(db);
    let db = Db::open(dir.path(), opts).unwrap();
    assert_matches(&db, &model, "after reopen");
    (summary, max_span)
}

#[test]
fn compact_runs_automatically_in_background() {
    let sim = SimStorage::new();
    let opts = Options {
        auto_compaction: true,
        compaction_min_dead_ratio: 0.5,
        compaction_min_dead_bytes: 16 * 1024,
        ..small_opts(Fsync::No)
    };
    let db = open_sim(&sim, opts).unwrap();
    for r in 0..6 {
        for i in 0..300 {
            db.put(&key(i), &val(i, r)).unwrap();
        }
    }
    // The thread checks every 250 ms; the deadline is only for a thread
    // that never merges (10 s was within reach of a loaded machine).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while db.stats().merges == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let st = db.stats();
    assert!(st.merges >= 1, "no automatic merge ran");
    assert!(st.merge_reclaimed_bytes > 0);
    for i in 0..300 {
        assert_eq!(db.get(&key(i)).unwrap().unwrap(), val(i, 5));
    }
}

/// Trash files (`N.seg.trash`) on the disk.
fn trash_names(names: &[String]) -> Vec<String> {
    names.iter().filter(|n| n.ends_with(".seg.trash")).cloned().collect()
}

/// With the remover paused, a merge leaves its inputs as trash (and no
/// marker): `(handle, model, that merge's summary)`.
fn merged_with_removal_pending(sim: &SimStorage) -> (Db, Model, CompactionSummary) {
    let (db, model) = build_for_crash(sim, 40);
    db.pause_removals(true);
    let s = db.compact().unwrap();
    let trash = trash_names(&sim.file_names());
    let expected: Vec<String> = s.input_segments.iter().map(|id| format!("{id:010}.seg.trash")).collect();
    assert_eq!(trash, expected, "{s:?}");
    assert!(!sim.file_names().iter().any(|f| f.starts_with("MERGE-")), "the marker outlived the hand-off");
    let st = db.stats();
    assert_eq!(st.trash_bytes_pending, s.removal_queued_bytes);
    assert_eq!(s.removal_queued_bytes, s.input_bytes, "{s:?}");
    assert!(matches!(db.wait_for_removals(), Err(kv_engine::Error::InvalidArgument(_))));
    (db, model, s)
}

/// The pitfall of keeping a merge's marker until its inputs are gone: a
/// later merge merges that marker's outputs away, and open then fails on
/// "merge output segment missing". Here a second merge runs while the first
/// one's removal is pending, with power cut before each of its operations:
/// every reboot opens to exactly the acknowledged data, with no trash left.
#[test]
fn compact_merge_after_a_merge_whose_removal_is_pending() {
    // Overwrites (acknowledged ones go into the model), then a merge of
    // everything sealed: the first merge's outputs and the new segment.
    let second_merge = |db: &Db, model: &mut Model| -> kv_engine::Result<CompactionSummary> {
        for i in 0..30 {
            db.put(&key(i), b"second round")?;
            model.insert(key(i), Some(b"second round".to_vec()));
        }
        db.compact()
    };
    // The clean run: the second merge takes the first one's outputs.
    let probe = SimStorage::new();
    let (db, mut model, first) = merged_with_removal_pending(&probe);
    let base = probe.op_count();
    let second = second_merge(&db, &mut model).unwrap();
    let total = probe.op_count() - base;
    assert!(first.output_segments.iter().all(|id| second.input_segments.contains(id)), "{first:?} {second:?}");
    assert_eq!(trash_names(&probe.file_names()).len(), first.input_segments.len() + second.input_segments.len());
    db.pause_removals(false);
    db.wait_for_removals().unwrap();
    assert_eq!(db.stats().trash_bytes_pending, 0);
    assert!(trash_names(&probe.file_names()).is_empty());
    assert_matches(&db, &model, "both merges removed");
    drop(db);

    for n in 0..=total {
        let sim = SimStorage::new();
        let (db, mut model, _) = merged_with_removal_pending(&sim);
        assert_eq!(sim.op_count(), base, "the runs are deterministic");
        sim.set_fault(Some(Fault::CrashAt { op: base + n }));
        let merged = second_merge(&db, &mut model).is_ok();
        assert_eq!(merged, n == total, "crash point {n}");
        drop(db);
        let rebooted = sim.power_cut(Some(n + 1));
        let what = format!("power cut before op {n} of {total} of the second merge");
        let trash = trash_names(&rebooted.file_names()).len() as u64;
        assert!(trash > 0, "{what}: the first merge's trash is durable");
        let db = open_sim(&rebooted, crash_opts()).unwrap_or_else(|e| panic!("{what}: open failed: {e}"));
        assert_eq!(db.stats().recovery.trash_files_removed, trash, "{what}");
        // Puts of the cut-short round may or may not have survived.
        let mut model = model.clone();
        for i in 0..30 {
            let got = db.get(&key(i)).unwrap();
            if got.as_deref() == Some(&b"second round"[..]) {
                model.insert(key(i), got);
            }
        }
        assert_matches(&db, &model, &what);
        drop(db);
        file_names_ok(&rebooted.file_names());
    }
}

/// Close finishes the removals still queued (paused or not): a closed
/// database holds no trash.
#[test]
fn compact_close_with_removals_pending_removes_them() {
    let sim = SimStorage::new();
    let (db, model, _) = merged_with_removal_pending(&sim);
    db.close().unwrap();
    file_names_ok(&sim.file_names());
    // Nothing was left for open either.
    let db = open_sim(&sim, crash_opts()).unwrap();
    assert_eq!(db.stats().recovery.trash_files_removed, 0);
    assert_matches(&db, &model, "after close and reopen");
}

/// Open removes trash that a crash left (the disk as the power cut left it
/// while removals were pending), and counts it.
#[test]
fn compact_reopen_removes_trash_left_by_a_crash() {
    let sim = SimStorage::new();
    let (db, model, first) = merged_with_removal_pending(&sim);
    let disk = sim.power_cut(None);
    drop(db);
    assert_eq!(trash_names(&disk.file_names()).len(), first.input_segments.len());
    let db = open_sim(&disk, crash_opts()).unwrap();
    assert_eq!(db.stats().recovery.trash_files_removed, first.input_segments.len() as u64);
    assert_matches(&db, &model, "reopened after a crash with removals pending");
    file_names_ok(&disk.file_names());
}

/// The same on the real file system, and `verify` does not take trash for
/// segments: a copy of the directory taken while removals were pending
/// verifies clean (its segments only) and opens without the trash.
#[test]
fn compact_trash_on_disk_is_ignored_by_verify_and_removed_by_open() {
    let dir = tempfile::tempdir().unwrap();
    let copy = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), small_opts(Fsync::No)).unwrap();
    for r in 0..3 {
        for i in 0..800 {
            db.put(&key(i), &val(i, r)).unwrap();
        }
    }
    db.pause_removals(true);
    let s = db.compact().unwrap();
    let mut trash = 0;
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        trash += name.ends_with(".seg.trash") as u64;
        if name != "LOCK" {
            std::fs::copy(e.path(), copy.path().join(&name)).unwrap();
        }
    }
    assert_eq!(trash, s.input_segments.len() as u64);
    drop(db);
    let report = kv_engine::verify::verify_dir(copy.path()).unwrap();
    assert!(report.is_ok() && report.problems.is_empty(), "{report:?}");
    assert_eq!(report.segments, s.output_segments.len() as u64 + 1, "outputs and the active segment: {report:?}");
    let db = Db::open(copy.path(), small_opts(Fsync::No)).unwrap();
    assert_eq!(db.stats().recovery.trash_files_removed, trash);
    for i in (0..800).step_by(37) {
        assert_eq!(db.get(&key(i)).unwrap(), Some(val(i, 2)));
    }
    let names: Vec<String> = std::fs::read_dir(copy.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    file_names_ok(&names);
}
