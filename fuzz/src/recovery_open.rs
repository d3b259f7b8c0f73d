//! `recovery_open`: arbitrary bytes as segment files in a [`SimStorage`],
//! opened in Strict and Salvage modes.
//!
//! Input: one flag byte, then files as `[id: u8][len: u16 LE][len bytes]`
//! (the last one may be short). Flags: bit 0 repairs each segment header
//! (magic, version, id, checksum; the replay order is kept), bit 1 recomputes
//! the checksum of every record whose header parses (so mutations of lengths,
//! kinds, sequence numbers and expiries get past the checksum), bit 2 picks
//! the clock, bit 3 preallocation.
//!
//! Checks, for every input: no panic; open fails only with a non-I/O error;
//! every listed key reads back as bytes or an error; `len` agrees with the
//! listing; Strict succeeding implies Salvage succeeds with the same
//! contents; and a power cut right after a successful open, then a reopen,
//! yields the same contents (every repair recovery makes is durable and
//! idempotent). When the files are well formed (valid headers, records
//! packed to the end, string kinds only) the opened contents must equal an
//! independent replay of the records.

use std::collections::BTreeMap;
use std::sync::Arc;

use kv_engine::record::{self, RecordKind};
use kv_engine::segment::{self, SegmentHeader};
use kv_engine::{Db, Error, Fsync, ManualClock, Options, RecoveryMode, SimStorage};

use super::bytes::Cursor;

/// Most files taken from one input.
const MAX_FILES: usize = 8;

/// What a key read back as.
type Contents = BTreeMap<Vec<u8>, Result<Vec<u8>, String>>;

/// One decoded input.
struct Input {
    flags: u8,
    files: Vec<(u32, Vec<u8>)>,
}

fn parse(data: &[u8]) -> Input {
    let mut c = Cursor::new(data);
    let flags = c.u8();
    let mut files = Vec::new();
    while !c.is_empty() && files.len() < MAX_FILES {
        let id = match c.u8() {
            255 => u32::MAX,
            b => b as u32,
        };
        let len = c.u16() as usize;
        let mut bytes = c.take(len).to_vec();
        if flags & 1 != 0 {
            repair_header(id, &mut bytes);
        }
        if flags & 2 != 0 {
            repair_records(&mut bytes, segment::HEADER_LEN as usize, true);
        }
        files.push((id, bytes));
    }
    Input { flags, files }
}

/// Encodes files in the input format (used to build the seed corpus).
pub fn encode_input(flags: u8, files: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut out = vec![flags];
    for (id, bytes) in files {
        out.push(*id);
        out.extend_from_slice(&(bytes.len().min(u16::MAX as usize) as u16).to_le_bytes());
        out.extend_from_slice(&bytes[..bytes.len().min(u16::MAX as usize)]);
    }
    out
}

fn repair_header(id: u32, bytes: &mut Vec<u8>) {
    let n = segment::HEADER_LEN as usize;
    if bytes.len() < n {
        bytes.resize(n, 0);
    }
    let order = u64::from_le_bytes(bytes[16..24].try_into().expect("8 bytes"));
    bytes[..n].copy_from_slice(&SegmentHeader { id, order }.encode());
}

/// Recomputes the checksums of the records packed from `start` (and, one
/// level down, of a batch's inner records) while their headers parse.
fn repair_records(bytes: &mut [u8], start: usize, outer: bool) {
    let mut off = start;
    while off < bytes.len() {
        let Ok(h) = record::decode_header(&bytes[off..]) else { return };
        let end = match usize::try_from(h.record_len()).ok().and_then(|l| off.checked_add(l)) {
            Some(end) if end <= bytes.len() => end,
            _ => return,
        };
        if outer && h.kind == RecordKind::Batch {
            let body = off + record::HEADER_LEN + h.key_len as usize;
            repair_records(&mut bytes[body..end], 0, false);
        }
        let crc = crc32(&bytes[off + 4..end]);
        bytes[off..off + 4].copy_from_slice(&crc.to_le_bytes());
        off = end;
    }
}

/// crc32 (IEEE), bitwise: the same checksum as the record format, without
/// adding a dependency to the replay test (inputs are small).
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

fn sim_with(files: &[(u32, Vec<u8>)]) -> SimStorage {
    let sim = SimStorage::new();
    for (id, bytes) in files {
        sim.write_file(&segment::segment_file_name(*id), bytes);
    }
    sim
}

fn options(flags: u8, clock: &Arc<ManualClock>, mode: RecoveryMode) -> Options {
    Options {
        fsync: Fsync::Always,
        max_segment_size_bytes: 16 * 1024,
        preallocate: flags & 8 != 0,
        auto_compaction: false,
        active_expiry: false,
        recovery: mode,
        clock: clock.clone(),
        // From the input: a merge lays records out by hash, and a crash
        // the fuzzer finds must replay the same way.
        hash_seed: Some(u64::from(flags).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
        ..Options::default()
    }
}

/// Everything readable through the public API. Panics only on API
/// inconsistency.
fn contents(db: &Db) -> Contents {
    let mut out = Contents::new();
    for key in db.keys().expect("open handle lists keys") {
        let v = match db.get(&key) {
            Ok(Some(v)) => Ok(v),
            Ok(None) => panic!("listed key {key:?} reads as missing"),
            Err(e) => Err(e.to_string()),
        };
        assert!(out.insert(key, v).is_none(), "key listed twice");
    }
    assert_eq!(db.len().expect("len"), out.len() as u64, "len disagrees with the key listing");
    let _ = db.stats();
    out
}

/// Opens the files in `mode`; on success also checks that a power cut right
/// after open and a reopen give the same contents.
fn open_and_check(input: &Input, clock: &Arc<ManualClock>, mode: RecoveryMode) -> Option<Contents> {
    let sim = sim_with(&input.files);
    let db = match Db::open_with_storage(Arc::new(sim.clone()), options(input.flags, clock, mode)) {
        Ok(db) => db,
        Err(Error::Io(e)) => panic!("{mode:?} open failed with an I/O error on a healthy disk: {e}"),
        Err(_) => return None,
    };
    let first = contents(&db);
    let rebooted = sim.power_cut(None);
    drop(db);
    let db = Db::open_with_storage(Arc::new(rebooted), options(input.flags, clock, mode))
        .unwrap_or_else(|e| panic!("{mode:?} reopen after a successful open failed: {e}"));
    assert_eq!(contents(&db), first, "{mode:?}: contents changed across a power cut after open");
    Some(first)
}

/// Target body.
pub fn run(data: &[u8]) {
    let input = parse(data);
    let now_ms = if input.flags & 4 != 0 { 1_000 } else { 1_700_000_000_000 };
    let clock = Arc::new(ManualClock::new(now_ms));
    let strict = open_and_check(&input, &clock, RecoveryMode::Strict);
    let salvage = open_and_check(&input, &clock, RecoveryMode::Salvage);
    if let Some(strict) = &strict {
        assert_eq!(salvage.as_ref(), Some(strict), "Strict opened but Salvage disagrees");
    }
    if let Some(expected) = oracle(&input.files, now_ms) {
        assert_eq!(strict.as_ref(), Some(&expected), "well-formed files did not open to their replay");
    }
}

/// The contents a correct recovery must produce, for well-formed files only.
fn oracle(files: &[(u32, Vec<u8>)], now_ms: u64) -> Option<Contents> {
    let mut by_id = BTreeMap::new();
    for (id, bytes) in files {
        by_id.insert(*id, bytes); // a later file of the same name replaces it
    }
    let mut segs = Vec::new();
    for (&id, bytes) in &by_id {
        if id == u32::MAX {
            return None; // no id left for the new active segment
        }
        let h = SegmentHeader::decode(bytes, std::path::Path::new("oracle")).ok()?;
        if h.id != id {
            return None;
        }
        segs.push((h.order, id, bytes.as_slice()));
    }
    segs.sort_by_key(|&(order, id, _)| (order, id));
    let mut state: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    for (_, _, bytes) in segs {
        let mut off = segment::HEADER_LEN as usize;
        while off < bytes.len() {
            let rec = record::decode(&bytes[off..]).ok()?;
            off += rec.len() as usize;
            if rec.header.kind == RecordKind::Batch {
                let body = rec.stored_value;
                let mut pos = 0;
                while pos < body.len() {
                    let inner = record::decode(&body[pos..]).ok()?;
                    pos += inner.len() as usize;
                    replay(&mut state, &inner, now_ms)?;
                }
            } else {
                replay(&mut state, &rec, now_ms)?;
            }
        }
    }
    Some(state.into_iter().map(|(k, v)| (k, Ok(v))).collect())
}

fn replay(state: &mut BTreeMap<Vec<u8>, Vec<u8>>, rec: &record::RecordRef<'_>, now_ms: u64) -> Option<()> {
    if rec.key.is_empty() {
        return None; // stored, but not readable through the API
    }
    match rec.header.kind {
        RecordKind::Put => {
            let exp = rec.header.expire_at_ms;
            if exp != 0 && exp <= now_ms {
                state.remove(rec.key);
            } else {
                state.insert(rec.key.to_vec(), rec.value(kv_engine::options::MAX_VALUE_SIZE_BYTES).ok()?);
            }
        }
        RecordKind::Delete | RecordKind::ExpireTombstone => {
            state.remove(rec.key);
        }
        // Sorted sets and nested batches: no independent model here.
        _ => return None,
    }
    Some(())
}

/// Whether `data` is well formed enough for the independent replay oracle to
/// apply (so a test can check that the seeds exercise it).
pub fn oracle_applies(data: &[u8]) -> bool {
    let input = parse(data);
    oracle(&input.files, 0).is_some()
}
