//! `hint_decode`: arbitrary bytes in place of one hint file of a compacted
//! database, then open.
//!
//! The genuine hints (the seeds `seed-NN`) are format v5: variable-length
//! entries whose integers take 1..=4 (or 8) bytes as a widths byte says,
//! keys prefix-compressed against the previous entry's (a `shared` byte,
//! restarting at the first entry and at the split), a base sequence number
//! and a split position in the header. The corpus also keeps hints this
//! database had in formats v4 (`v4-seed-NN`) and v3 (`v3-seed-NN`, and the
//! inputs found from them), so the older decoders, which open still runs on
//! databases written by earlier builds, stay fuzzed.
//!
//! The base database (strings, TTLs, deletes, sorted sets; compacted, so its
//! merge outputs carry hint files) is built once. Input: one flag byte (bit 0
//! recomputes the hint's trailing whole-file checksum so that mutations reach
//! the entry checks; bits 1..=3 pick which hint file to replace), then the
//! hint bytes.
//!
//! Checks: no panic; a hint the engine rejects (it removes the file) never
//! makes open fail and never changes what the database holds — open equals
//! the scan of the segments without any hint; the genuine hint bytes give
//! that same content; and a power cut right after open, then a reopen, gives
//! the same content again. A hint that passes its checksum and its tie to
//! the segment but lies about keys is trusted by design (hint files are
//! derived data the engine wrote), so for those only the API's internal
//! consistency is checked.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use kv_engine::{Db, Error, Fsync, ManualClock, Options, SimStorage};

use super::bytes::Cursor;

const NOW_MS: u64 = 1_700_000_000_000;

/// What one key reads back as: a string, a sorted set, or an error message.
type Contents = BTreeMap<Vec<u8>, Result<Vec<u8>, String>>;

struct Base {
    /// Every file of the compacted database.
    files: Vec<(String, Vec<u8>)>,
    /// Names of its hint files.
    hints: Vec<String>,
    /// Its contents opened without any hint file (pure scan).
    scanned: Contents,
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(NOW_MS))
}

fn options(clock: &Arc<ManualClock>) -> Options {
    Options {
        fsync: Fsync::Always,
        max_segment_size_bytes: 4096,
        compression_threshold_bytes: 64,
        auto_compaction: false,
        active_expiry: false,
        clock: clock.clone(),
        ..Options::default()
    }
}

fn sim_with(files: &[(String, Vec<u8>)]) -> SimStorage {
    let sim = SimStorage::new();
    for (name, bytes) in files {
        sim.write_file(name, bytes);
    }
    sim
}

/// Everything readable; sorted sets as their rendered ZRANGE 0 -1 WITHSCORES.
fn contents(db: &Db) -> Contents {
    let mut out = Contents::new();
    for key in db.keys().expect("keys") {
        let v = match db.get(&key) {
            Ok(Some(v)) => Ok(v),
            Ok(None) => panic!("listed key {key:?} reads as missing"),
            Err(Error::WrongType) => match db.zrange_by_rank(&key, 0, -1) {
                Ok(z) => {
                    assert!(!z.is_empty(), "listed sorted set {key:?} is empty");
                    Ok(format!("{z:?}").into_bytes())
                }
                Err(e) => Err(e.to_string()),
            },
            Err(e) => Err(e.to_string()),
        };
        assert!(out.insert(key, v).is_none(), "key listed twice");
    }
    assert_eq!(db.len().expect("len"), out.len() as u64, "len disagrees with the key listing");
    out
}

fn build_base() -> Base {
    let clock = clock();
    let sim = SimStorage::new();
    let db = Db::open_with_storage(Arc::new(sim.clone()), options(&clock)).expect("open");
    for i in 0..60u32 {
        let k = format!("k{}", i % 17);
        match i % 6 {
            0 => {
                db.delete(k.as_bytes()).expect("delete");
            }
            1 => {
                let mut b = kv_engine::WriteBatch::new();
                b.put_with_expiry(k.as_bytes(), b"ttl", NOW_MS + 1_000 * i as u64);
                db.write_batch(&b).expect("batch");
            }
            2 => {
                let member = format!("m{}", i % 5);
                db.zadd(format!("z{}", i % 3).as_bytes(), &[(i as f64 / 2.0, member.as_bytes())]).expect("zadd");
            }
            3 => {
                db.zrem(format!("z{}", i % 3).as_bytes(), &[b"m1".as_slice()]).expect("zrem");
            }
            _ => db.put(k.as_bytes(), &format!("value-{i}-").repeat(i as usize % 20).into_bytes()).expect("put"),
        }
    }
    db.compact().expect("compact");
    db.put(b"after", b"compaction").expect("put");
    db.close().expect("close");
    let files: Vec<(String, Vec<u8>)> =
        sim.file_names().into_iter().filter_map(|n| Some((n.clone(), sim.read_file(&n)?))).collect();
    let hints: Vec<String> = files.iter().map(|(n, _)| n.clone()).filter(|n| n.ends_with(".hint")).collect();
    assert!(!hints.is_empty(), "compaction wrote no hint file");
    let without: Vec<(String, Vec<u8>)> = files.iter().filter(|(n, _)| !n.ends_with(".hint")).cloned().collect();
    let db = Db::open_with_storage(Arc::new(sim_with(&without)), options(&clock)).expect("open by scan");
    let scanned = contents(&db);
    Base { files, hints, scanned }
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(build_base)
}

/// The genuine hint files, for seeding the corpus: `(flag byte, bytes)`.
pub fn genuine_inputs() -> Vec<Vec<u8>> {
    let b = base();
    b.hints
        .iter()
        .enumerate()
        .filter_map(|(i, name)| {
            let (_, bytes) = b.files.iter().find(|(n, _)| n == name)?;
            let mut input = vec![((i as u8) % 8) << 1];
            input.extend_from_slice(bytes);
            Some(input)
        })
        .collect()
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

/// Target body.
pub fn run(data: &[u8]) {
    let base = base();
    let mut c = Cursor::new(data);
    let flags = c.u8();
    let mut hint = c.rest().to_vec();
    if flags & 1 != 0 && hint.len() >= 4 {
        let n = hint.len() - 4;
        let crc = crc32(&hint[..n]);
        hint[n..].copy_from_slice(&crc.to_le_bytes());
    }
    let name = &base.hints[(flags as usize >> 1) % base.hints.len()];
    let genuine = base.files.iter().any(|(n, b)| n == name && *b == hint);
    let files: Vec<(String, Vec<u8>)> = base
        .files
        .iter()
        .map(|(n, b)| if n == name { (n.clone(), hint.clone()) } else { (n.clone(), b.clone()) })
        .collect();
    let sim = sim_with(&files);
    let clock = clock();
    let opened = Db::open_with_storage(Arc::new(sim.clone()), options(&clock));
    let rejected = !sim.file_names().contains(name);
    let db = match opened {
        Ok(db) => db,
        Err(e) => {
            assert!(!rejected && !genuine, "open failed although the hint was rejected or genuine: {e}");
            return;
        }
    };
    let got = contents(&db);
    if rejected || genuine {
        assert_eq!(got, base.scanned, "hint (rejected={rejected}, genuine={genuine}) changed the contents");
    }
    let rebooted = sim.power_cut(None);
    drop(db);
    let db = Db::open_with_storage(Arc::new(rebooted), options(&clock))
        .unwrap_or_else(|e| panic!("reopen after a successful open failed: {e}"));
    assert_eq!(contents(&db), got, "contents changed across a power cut after open");
}
