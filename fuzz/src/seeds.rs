//! Seed inputs for each target, built with the engine itself so that the
//! fuzzers start from well-formed files. `engine/tests/fuzz_replay.rs`
//! writes them into `fuzz/corpus/<target>/` when `KV_FUZZ_WRITE_SEEDS=1`;
//! the committed corpus is these seeds plus what the fuzzers found, minimized.

use std::sync::Arc;

use kv_engine::record::{self, RecordKind};
use kv_engine::segment::{self, SegmentHeader};
use kv_engine::{Db, Fsync, ManualClock, Options, SimStorage, WriteBatch};

/// Seeds of `record_decode`.
pub fn record_decode() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let kinds = [
        RecordKind::Put,
        RecordKind::Delete,
        RecordKind::ExpireTombstone,
        RecordKind::ZAdd,
        RecordKind::ZRem,
        RecordKind::KeyMeta,
    ];
    for (i, kind) in kinds.into_iter().enumerate() {
        let mut b = Vec::new();
        record::encode(&mut b, kind, i as u64 + 1, 1_700_000_000_000 * (i as u64 % 2), b"key", b"value", 4096);
        out.push(b);
    }
    let mut b = Vec::new();
    record::encode(&mut b, RecordKind::Put, 9, 0, b"big", &b"abcdefgh".repeat(200), 64);
    out.push(b);
    let mut inner = Vec::new();
    record::encode(&mut inner, RecordKind::Put, 10, 0, b"a", b"1", 4096);
    record::encode(&mut inner, RecordKind::Delete, 11, 0, b"b", b"", 4096);
    record::encode(&mut inner, RecordKind::Put, 12, 0, b"c", &b"xy".repeat(100), 16);
    let mut b = Vec::new();
    record::encode_batch(&mut b, 13, &inner);
    out.push(b);
    out.push(SegmentHeader { id: 3, order: segment::writer_order(3) }.encode().to_vec());
    out
}

fn sim_files(sim: &SimStorage) -> Vec<(u8, Vec<u8>)> {
    sim.file_names()
        .iter()
        .filter_map(|n| Some((segment::parse_file_name(n, "seg")? as u8, sim.read_file(n)?)))
        .collect()
}

fn workload(db: &Db, round: u64, zsets: bool) {
    for i in 0..12u64 {
        let k = format!("k{}", (i * 7 + round) % 9);
        match i % 5 {
            0 => {
                db.delete(k.as_bytes()).expect("delete");
            }
            1 => {
                let mut b = WriteBatch::new();
                b.put(k.as_bytes(), b"batched").delete(b"k3").put_with_expiry(b"ttl", b"t", 1_700_000_000_500);
                db.write_batch(&b).expect("batch");
            }
            2 => db.put(k.as_bytes(), &b"compressible-".repeat(10)).expect("put"),
            3 if zsets => {
                // Sorted-set records (ZAdd, ZRem, KeyMeta) in the seeds too.
                let z = format!("z{}", i % 2);
                db.zadd(z.as_bytes(), &[(i as f64, b"a".as_slice()), (-1.5, format!("m{round}").as_bytes())])
                    .expect("zadd");
                db.zrem(z.as_bytes(), &[b"a".as_slice()]).expect("zrem");
                db.zset_expire_at(z.as_bytes(), 1_700_000_900_000).expect("zset expiry");
            }
            _ => db.put(k.as_bytes(), format!("v{round}-{i}").as_bytes()).expect("put"),
        }
    }
}

/// Seeds of `recovery_open`.
pub fn recovery_open() -> Vec<Vec<u8>> {
    use super::recovery_open::encode_input;
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let opts = || Options {
        fsync: Fsync::Always,
        max_segment_size_bytes: 4096,
        preallocate: false,
        compression_threshold_bytes: 64,
        auto_compaction: false,
        active_expiry: false,
        clock: clock.clone(),
        ..Options::default()
    };
    let mut out = Vec::new();
    // A cleanly closed database of a few segments.
    let sim = SimStorage::new();
    for round in 0..3 {
        let db = Db::open_with_storage(Arc::new(sim.clone()), opts()).expect("open");
        workload(&db, round, true);
        db.close().expect("close");
    }
    let files = sim_files(&sim);
    out.push(encode_input(0, &files));
    out.push(encode_input(4, &files));
    out.push(encode_input(3, &files));
    // One small segment, repaired on input.
    out.push(encode_input(3, &files[..1]));
    // A torn tail: power cut mid-append, unsynced bytes kept in part.
    let sim = SimStorage::new();
    let db = Db::open_with_storage(Arc::new(sim.clone()), Options { fsync: Fsync::No, ..opts() }).expect("open");
    workload(&db, 7, true);
    let torn = sim.power_cut(Some(5));
    drop(db);
    out.push(encode_input(0, &sim_files(&torn)));
    // Damage in the middle of the first segment.
    let mut damaged = files.clone();
    if let Some((_, bytes)) = damaged.first_mut() {
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x40;
    }
    out.push(encode_input(0, &damaged));
    // Strings only: the independent replay oracle of `recovery_open` applies.
    let sim = SimStorage::new();
    let db = Db::open_with_storage(Arc::new(sim.clone()), opts()).expect("open");
    workload(&db, 1, false);
    db.close().expect("close");
    out.push(encode_input(0, &sim_files(&sim)));
    out
}

/// Seeds of `ops_model`: pseudo-random programs (every byte string is one).
pub fn ops_model() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    for (flags, len) in [(0u8, 64usize), (1, 200), (2, 400), (4, 400), (7, 800), (5, 1200)] {
        let mut b = vec![flags];
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b.push(x as u8);
        }
        out.push(b);
    }
    out
}

/// Seeds of `hint_decode`: each genuine hint file, plus an empty one and one
/// with the whole-file checksum repair flag.
pub fn hint_decode() -> Vec<Vec<u8>> {
    let mut out = super::hint_decode::genuine_inputs();
    out.push(vec![0]);
    if let Some(first) = out.first() {
        let mut repaired = first.clone();
        repaired[0] |= 1;
        if let Some(b) = repaired.get_mut(60) {
            *b ^= 1;
        }
        out.push(repaired);
    }
    out
}

/// Seeds of `zset_model`: pseudo-random programs.
pub fn zset_model() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for (flags, len) in [(0u8, 100usize), (1, 300), (2, 600), (3, 900)] {
        let mut b = vec![flags];
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b.push(x as u8);
        }
        out.push(b);
    }
    out
}
