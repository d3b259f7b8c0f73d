//! Sorted sets across compaction: members survive merges and reopen
//! exactly, and deleted sets, removed members and expiry changes never come
//! back through a partial merge. Names contain both `zset` and `compact`.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::{open_sim, small_opts};
use kv_engine::{Db, Fsync, ManualClock, Options, SimStorage};

/// Writes filler until the active segment rotates; returns the sealed id.
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

fn all(db: &Db, key: &[u8]) -> Vec<(Vec<u8>, f64)> {
    db.zrange_by_rank(key, 0, -1).unwrap()
}

#[test]
fn zset_compact_round_trip_keeps_every_member_exactly() {
    let sim = SimStorage::new();
    let mut model: BTreeMap<Vec<u8>, Vec<(Vec<u8>, f64)>> = BTreeMap::new();
    {
        let db = open_sim(&sim, small_opts(Fsync::No)).unwrap();
        for round in 0..6u32 {
            for set in 0..5u32 {
                let key = format!("lb{set}").into_bytes();
                let pairs: Vec<(f64, Vec<u8>)> =
                    (0..40u32).map(|m| (((m * 7 + round * 13) % 50) as f64, format!("p{m}").into_bytes())).collect();
                let refs: Vec<(f64, &[u8])> = pairs.iter().map(|(s, m)| (*s, m.as_slice())).collect();
                db.zadd(&key, &refs).unwrap();
                let gone: Vec<Vec<u8>> =
                    (0..40u32).filter(|m| m % 6 == round % 6).map(|m| format!("p{m}").into_bytes()).collect();
                let gone_refs: Vec<&[u8]> = gone.iter().map(|g| g.as_slice()).collect();
                db.zrem(&key, &gone_refs).unwrap();
            }
            rotate(&db, &format!("r{round}"));
        }
        db.delete(b"lb3").unwrap();
        for set in 0..5u32 {
            let key = format!("lb{set}").into_bytes();
            model.insert(key.clone(), all(&db, &key));
        }
        let s = db.compact().unwrap();
        assert!(s.reclaimed_bytes() > 0, "{s:?}");
        for (k, v) in &model {
            assert_eq!(&all(&db, k), v, "after compact, before reopen");
        }
    }
    let db = open_sim(&sim, small_opts(Fsync::No)).unwrap();
    assert!(db.stats().recovery.segments_from_hints > 0, "merged output should open from hints");
    for (k, v) in &model {
        assert_eq!(&all(&db, k), v, "after compact and reopen: {}", String::from_utf8_lossy(k));
    }
    assert_eq!(db.zcard(b"lb3").unwrap(), 0, "a deleted set must stay deleted");
    // And once more, merging the merge output.
    db.compact().unwrap();
    drop(db);
    let db = open_sim(&sim, small_opts(Fsync::No)).unwrap();
    for (k, v) in &model {
        assert_eq!(&all(&db, k), v, "after a second compact and reopen");
    }
}

#[test]
fn zset_compact_deleted_set_not_resurrected_after_partial_merge() {
    // bitcask#82 for a whole sorted set: members in an old segment, the DEL
    // in a newer one, and only the newer one merged.
    let sim = SimStorage::new();
    {
        let db = open_sim(&sim, small_opts(Fsync::No)).unwrap();
        db.zadd(b"z", &[(1.0, b"a"), (2.0, b"b")]).unwrap();
        rotate(&db, "a");
        assert!(db.delete(b"z").unwrap());
        let del_seg = rotate(&db, "b");
        db.compact_segments(&[del_seg]).unwrap();
        assert_eq!(db.zcard(b"z").unwrap(), 0);
    }
    let db = open_sim(&sim, small_opts(Fsync::No)).unwrap();
    assert_eq!(db.zcard(b"z").unwrap(), 0, "deleted sorted set resurrected by a partial merge");
    assert!(!db.exists(b"z").unwrap());
}

#[test]
fn zset_compact_removed_member_not_resurrected_after_partial_merge() {
    let sim = SimStorage::new();
    {
        let db = open_sim(&sim, small_opts(Fsync::No)).unwrap();
        db.zadd(b"z", &[(1.0, b"gone"), (2.0, b"kept")]).unwrap();
        rotate(&db, "a");
        assert_eq!(db.zrem(b"z", &[b"gone"]).unwrap(), 1);
        let rem_seg = rotate(&db, "b");
        db.compact_segments(&[rem_seg]).unwrap();
    }
    let db = open_sim(&sim, small_opts(Fsync::No)).unwrap();
    assert_eq!(all(&db, b"z"), vec![(b"kept".to_vec(), 2.0)], "ZREM'd member came back");
}

#[test]
fn zset_compact_keeps_the_newest_expiry_of_a_set() {
    let clock = Arc::new(ManualClock::new(1_000_000));
    let opts = Options { clock: clock.clone(), ..small_opts(Fsync::No) };
    let sim = SimStorage::new();
    {
        let db = open_sim(&sim, opts.clone()).unwrap();
        db.zadd(b"ttl", &[(1.0, b"m")]).unwrap();
        db.zadd(b"persisted", &[(1.0, b"m")]).unwrap();
        assert!(db.expire(b"ttl", 100, Default::default()).unwrap());
        assert!(db.expire(b"persisted", 100, Default::default()).unwrap());
        rotate(&db, "a");
        assert!(db.persist(b"persisted").unwrap());
        db.zadd(b"ttl", &[(2.0, b"later")]).unwrap(); // a ZADD keeps the TTL
        rotate(&db, "b");
        db.compact().unwrap();
        assert_eq!(db.ttl(b"ttl").unwrap(), 100);
        assert_eq!(db.ttl(b"persisted").unwrap(), -1);
    }
    let db = open_sim(&sim, opts.clone()).unwrap();
    assert_eq!(db.ttl(b"ttl").unwrap(), 100, "the TTL of a set survives compaction and reopen");
    assert_eq!(db.ttl(b"persisted").unwrap(), -1, "PERSIST survives compaction and reopen");
    assert_eq!(db.zcard(b"ttl").unwrap(), 2);
    drop(db);
    clock.advance_ms(101_000);
    let db = open_sim(&sim, opts).unwrap();
    assert_eq!(db.zcard(b"ttl").unwrap(), 0, "the set expired");
    db.compact().unwrap();
    drop(db);
    clock.set_ms(1_000_000); // the clock goes back: the expired set stays gone
    let db = open_sim(&sim, Options { clock: clock.clone(), ..small_opts(Fsync::No) }).unwrap();
    assert_eq!(db.zcard(b"ttl").unwrap(), 0, "expired set came back after compaction and a clock jump");
    assert_eq!(db.zcard(b"persisted").unwrap(), 1);
}
