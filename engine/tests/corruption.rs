//! Damaged files: truncation and bit flips at every offset class give a
//! `Corruption` error naming file and offset, or a documented salvage —
//! never a panic and never a wrong value.

mod common;

use std::collections::BTreeMap;

use common::{open_sim, small_opts};
use kv_engine::{Error, Fsync, Options, RecoveryMode, SimStorage};

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

/// A database of three or more segments; returns the disk and the model
/// state after each write (the last one is what it holds).
fn build_history() -> (SimStorage, Vec<Model>) {
    let sim = SimStorage::new();
    let mut model = BTreeMap::new();
    let mut states = vec![model.clone()];
    let db = open_sim(&sim, small_opts(Fsync::No)).unwrap();
    for i in 0..150u32 {
        let k = format!("key-{}", i % 90).into_bytes();
        let v = format!("value-{i}-{}", "v".repeat(200)).into_bytes();
        db.put(&k, &v).unwrap();
        model.insert(k, v);
        states.push(model.clone());
    }
    db.close().unwrap();
    (sim, states)
}

fn build() -> (SimStorage, Model) {
    let (sim, mut states) = build_history();
    let last = states.pop().unwrap_or_default();
    (sim, last)
}

fn snapshot(db: &kv_engine::Db) -> Model {
    db.scan_prefix(b"").unwrap().into_iter().collect()
}

fn segments(sim: &SimStorage) -> Vec<String> {
    sim.file_names().into_iter().filter(|n| n.ends_with(".seg")).collect()
}

fn salvage() -> Options {
    Options { recovery: RecoveryMode::Salvage, ..small_opts(Fsync::No) }
}

/// Offsets worth damaging in a segment: each header field, each record-header
/// field of the first two records, keys and values.
fn offset_classes(len: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..32).step_by(3).collect(); // segment header
    for rec in [32usize, 32 + 32 + 6 + 211] {
        for field in [0, 4, 5, 6, 8, 16, 24, 28, 33, 40, 100, 240] {
            v.push(rec + field);
        }
    }
    v.push(len - 1);
    v.into_iter().filter(|&o| o < len).collect()
}

/// Every value the database returns must be the one written.
fn assert_no_wrong_value(db: &kv_engine::Db, model: &BTreeMap<Vec<u8>, Vec<u8>>) {
    for (k, v) in model {
        match db.get(k) {
            Ok(Some(got)) => assert_eq!(&got, v, "wrong value for {:?}", String::from_utf8_lossy(k)),
            Ok(None) | Err(Error::Corruption { .. }) => {}
            Err(e) => panic!("unexpected error {e}"),
        }
    }
}

#[test]
fn bit_flip_in_a_sealed_segment_is_corruption_with_file_and_offset() {
    let (sim, model) = build();
    let segs = segments(&sim);
    assert!(segs.len() >= 3, "need sealed segments: {segs:?}");
    let target = &segs[0];
    let clean = sim.read_file(target).unwrap();
    for off in offset_classes(clean.len()) {
        for bit in [0u8, 5] {
            let mut bad = clean.clone();
            bad[off] ^= 1 << bit;
            sim.write_file(target, &bad);
            match open_sim(&sim, small_opts(Fsync::No)) {
                Err(Error::Corruption { file, offset, .. }) => {
                    assert!(file.ends_with(target), "error names {file:?}");
                    assert!(offset as usize <= off, "offset {offset} is past the damage at {off}");
                }
                Ok(_) => panic!("flip at {off} bit {bit} went unnoticed"),
                Err(e) => panic!("flip at {off}: unexpected error {e}"),
            }
            // Salvage opens (unless the segment header itself is gone) and never lies.
            if off >= 32 {
                let db = open_sim(&sim, salvage()).unwrap_or_else(|e| panic!("salvage at {off}: {e}"));
                assert_no_wrong_value(&db, &model);
                assert!(db.stats().recovery.salvaged_bytes_skipped > 0);
            }
        }
    }
    sim.write_file(target, &clean);
    let db = open_sim(&sim, small_opts(Fsync::No)).unwrap();
    assert_no_wrong_value(&db, &model);
    assert_eq!(db.len().unwrap(), model.len() as u64);
}

#[test]
fn truncating_a_sealed_segment_is_corruption() {
    let (sim, _) = build();
    let segs = segments(&sim);
    let clean = sim.read_file(&segs[0]).unwrap();
    for cut in [clean.len() - 1, clean.len() - 100, 40, 64] {
        sim.write_file(&segs[0], &clean[..cut]);
        assert!(
            matches!(open_sim(&sim, small_opts(Fsync::No)), Err(Error::Corruption { .. })),
            "truncation to {cut} unnoticed"
        );
    }
}

#[test]
fn torn_tail_of_newest_segment_at_any_length_is_truncated() {
    // nutsdb#569, redis#5177: a torn or zero-filled tail of any length.
    // Cutting the newest segment loses its last writes, so older values of
    // those keys come back: what survives must be a prefix of the history.
    let (sim, states) = build_history();
    let segs = segments(&sim);
    let newest = segs.last().unwrap().clone();
    let clean = sim.read_file(&newest).unwrap();
    for cut in (33..clean.len()).step_by(37).chain([clean.len() - 1]) {
        let disk = sim.power_cut(None);
        disk.write_file(&newest, &clean[..cut]);
        let db = open_sim(&disk, small_opts(Fsync::No)).unwrap_or_else(|e| panic!("cut {cut}: {e}"));
        assert!(states.contains(&snapshot(&db)), "cut {cut}: state is not a prefix of the history");
        drop(db);
        // Zero fill after the cut, as a crash on a preallocated file leaves.
        let disk = sim.power_cut(None);
        let mut zeroed = clean[..cut].to_vec();
        zeroed.resize(clean.len() + 5000, 0);
        disk.write_file(&newest, &zeroed);
        let db = open_sim(&disk, small_opts(Fsync::No)).unwrap();
        assert!(states.contains(&snapshot(&db)), "cut {cut} + zeros: state is not a prefix of the history");
        let st = db.stats().recovery;
        assert!(st.zero_tail_bytes_trimmed >= 5000, "{st:?}");
    }
}

#[test]
fn garbage_tail_of_newest_segment_is_truncated_and_counted() {
    let (sim, model) = build();
    let newest = segments(&sim).last().unwrap().clone();
    let mut data = sim.read_file(&newest).unwrap();
    data.extend_from_slice(&[0xAB; 77]);
    sim.write_file(&newest, &data);
    let db = open_sim(&sim, small_opts(Fsync::No)).unwrap();
    assert_eq!(db.stats().recovery.torn_tail_bytes_truncated, 77);
    assert_no_wrong_value(&db, &model);
    assert_eq!(db.len().unwrap(), model.len() as u64);
}

#[test]
fn bad_record_followed_by_valid_ones_in_newest_segment_is_corruption() {
    let (sim, _) = build();
    let newest = segments(&sim).last().unwrap().clone();
    let mut data = sim.read_file(&newest).unwrap();
    data[40] ^= 0xFF; // inside the first record's header; valid records follow
    sim.write_file(&newest, &data);
    assert!(matches!(open_sim(&sim, small_opts(Fsync::No)), Err(Error::Corruption { .. })));
}

#[test]
fn empty_newest_segment_left_by_a_crash_is_removed() {
    // bitcask#136: a 0-byte (or header-less) newest segment.
    let (sim, model) = build();
    sim.write_file("0000009999.seg", b"");
    let db = open_sim(&sim, small_opts(Fsync::No)).unwrap();
    assert_no_wrong_value(&db, &model);
    assert_eq!(db.len().unwrap(), model.len() as u64);
    db.put(b"new", b"write goes to a fresh segment").unwrap();
    drop(db);
    assert!(!sim.file_names().contains(&"0000009999.seg".to_string()));
    let db = open_sim(&sim, small_opts(Fsync::No)).unwrap();
    assert_eq!(db.get(b"new").unwrap().unwrap(), b"write goes to a fresh segment");
}

#[test]
fn bit_flip_seen_by_a_read_is_corruption_not_a_wrong_value() {
    let (sim, model) = build();
    let db = open_sim(&sim, small_opts(Fsync::No)).unwrap();
    let first = segments(&sim)[0].clone();
    let mut data = sim.read_file(&first).unwrap();
    for b in data.iter_mut().skip(32) {
        *b ^= 0x01;
    }
    sim.write_file(&first, &data);
    let mut corrupt = 0;
    for (k, v) in &model {
        match db.get(k) {
            Ok(Some(got)) => assert_eq!(&got, v),
            Err(Error::Corruption { .. }) => corrupt += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(corrupt > 0, "the damaged segment was never read");
}

/// Segment `id` (writer order) holding `records` as encoded bytes.
fn segment_bytes(id: u32, records: &[u8]) -> Vec<u8> {
    use kv_engine::segment::{writer_order, SegmentHeader};
    let mut out = SegmentHeader { id, order: writer_order(id) }.encode().to_vec();
    out.extend_from_slice(records);
    out
}

/// A batch of string puts whose checksum is damaged, as a crash leaves a
/// batch whose head was not stored: its inner records still verify.
/// `cut_bytes` drops that many bytes off its end (an append cut short).
fn damaged_batch(out: &mut Vec<u8>, seq: u64, puts: &[(&[u8], &[u8])], cut_bytes: usize) {
    use kv_engine::record::{self, RecordKind};
    let mut inner = Vec::new();
    for (i, (k, v)) in puts.iter().enumerate() {
        record::encode(&mut inner, RecordKind::Put, seq + 1 + i as u64, 0, k, v, usize::MAX);
    }
    let start = out.len();
    record::encode_batch(out, seq, &inner);
    out[start] ^= 0xFF;
    out.truncate(out.len() - cut_bytes);
}

/// Contents after a Salvage open, and after a power cut right after it and
/// a reopen: recovery's repairs must be durable and decide the same again.
fn salvage_open_twice(sim: &SimStorage) -> (Model, Model) {
    let db = open_sim(sim, salvage()).unwrap();
    let first = snapshot(&db);
    let rebooted = sim.power_cut(None);
    drop(db);
    let db = open_sim(&rebooted, salvage()).unwrap();
    (first, snapshot(&db))
}

/// Found by the recovery_open fuzzer: in the newest segment a damaged batch
/// was salvaged (skipped, its inner records replayed) because valid records
/// followed it, but those records were the inner records of a later torn
/// batch that the same open truncated away. After a power cut the reopen saw
/// the first batch as the torn tail and cut it too: its keys vanished.
#[test]
fn salvage_skip_decided_by_a_truncated_torn_tail_survives_power_cut_after_open() {
    use kv_engine::record::{self, RecordKind};
    let mut recs = Vec::new();
    record::encode(&mut recs, RecordKind::Put, 1, 0, b"a", b"1", usize::MAX);
    damaged_batch(&mut recs, 2, &[(b"b", b"2"), (b"c", b"3")], 0);
    damaged_batch(&mut recs, 5, &[(b"d", b"4"), (b"e", b"5")], 3);
    let sim = SimStorage::new();
    sim.write_file(&kv_engine::segment::segment_file_name(1), &segment_bytes(1, &recs));

    let (first, reopened) = salvage_open_twice(&sim);
    assert_eq!(reopened, first, "contents changed across a power cut after open");
    // Once the second batch is cut, the first is the torn tail.
    let a_only: Model = [(b"a".to_vec(), b"1".to_vec())].into();
    assert_eq!(first, a_only);
}

/// Same class: a newest segment whose only records are the inner records of
/// a torn batch at its start is cut back to its header and removed, so the
/// torn-tail allowance belongs to the segment before it already on this
/// open, not only on the next one (where a damaged batch at its end would
/// be read as torn instead of salvaged).
#[test]
fn newest_segment_holding_only_a_torn_batch_does_not_take_the_torn_tail_allowance() {
    use kv_engine::record::{self, RecordKind};
    let mut older = Vec::new();
    record::encode(&mut older, RecordKind::Put, 1, 0, b"a", b"1", usize::MAX);
    damaged_batch(&mut older, 2, &[(b"b", b"2"), (b"c", b"3")], 0);
    let mut newest = Vec::new();
    damaged_batch(&mut newest, 5, &[(b"d", b"4"), (b"e", b"5")], 3);
    let sim = SimStorage::new();
    sim.write_file(&kv_engine::segment::segment_file_name(1), &segment_bytes(1, &older));
    sim.write_file(&kv_engine::segment::segment_file_name(2), &segment_bytes(2, &newest));

    let (first, reopened) = salvage_open_twice(&sim);
    assert_eq!(reopened, first, "contents changed across a power cut after open");
    let a_only: Model = [(b"a".to_vec(), b"1".to_vec())].into();
    assert_eq!(first, a_only);
}
