//! Hint files: a compact index of one sealed segment, so that open can
//! rebuild the keydir without reading values.
//!
//! A hint lists every record of its segment in file order (kind, flags, key,
//! encoded length, sequence number, expiry; plus the stored value for the
//! small non-`Put` kinds, whose replay needs it). Record offsets are not
//! stored: the records are contiguous from the segment header to the end of
//! the segment, and the loader checks that the lengths add up exactly.
//!
//! A hint is trusted only when its own checksum matches *and* it is tied to
//! the segment file on disk: same id, same replay order, same length, same
//! crc32 of the segment's last bytes (rosedb#258: a stale or empty hint is
//! never trusted). Anything else makes open fall back to scanning the
//! segment, which yields the identical keydir (bitcask#212/#171).
//!
//! Layout (little-endian; see `docs/format.md`):
//!
//! ```text
//! 0   [u8; 8] magic b"LIBKVHNT"
//! 8   u32     format version (1)
//! 12  u32     segment id
//! 16  u64     segment replay order
//! 24  u64     segment length in bytes
//! 32  u32     crc32 of the segment's last min(4096, length - 32) bytes
//! 36  u32     number of entries
//! 40  u32     number of Put entries (sizes the keydir before replay)
//! 44  entries, each:
//!       u8  kind   u8 flags   u16 reserved (0)
//!       u32 key length   u32 encoded record length   u32 inline value length
//!       u64 sequence number   u64 expiry (Unix ms, 0 = none)
//!       key, inline value (empty for Put)
//! end-4  u32  crc32 of every preceding byte of the hint file
//! ```

use std::path::Path;

use crate::keydir::Loc;
use crate::record::{self, Header, RecordKind, RecordRef};
use crate::recovery::Replayer;
use crate::segment;
use crate::storage::{ReadFile, Storage};

/// Magic bytes at the start of every hint file.
pub const HINT_MAGIC: [u8; 8] = *b"LIBKVHNT";
/// Hint format version this build writes and reads.
pub const HINT_VERSION: u32 = 2;
/// Bytes before the first entry.
pub const HINT_HEADER_LEN: usize = 44;
/// Bytes of an entry before its key.
pub const ENTRY_HEADER_LEN: usize = 32;
/// How many trailing segment bytes the tie checksum covers.
pub const TAIL_CRC_SPAN_BYTES: u64 = 4096;

/// Builds the hint of one segment while its records are written.
pub(crate) struct HintBuilder {
    buf: Vec<u8>,
    entries: u32,
    puts: u32,
}

impl HintBuilder {
    /// An empty hint for segment `id` with replay `order`.
    pub fn new(id: u32, order: u64) -> HintBuilder {
        let mut buf = Vec::with_capacity(64 * 1024);
        buf.extend_from_slice(&HINT_MAGIC);
        buf.extend_from_slice(&HINT_VERSION.to_le_bytes());
        buf.extend_from_slice(&id.to_le_bytes());
        buf.extend_from_slice(&order.to_le_bytes());
        buf.resize(HINT_HEADER_LEN, 0);
        HintBuilder { buf, entries: 0, puts: 0 }
    }

    /// Adds the record `rec` (the next one in the segment, in file order).
    pub fn add(&mut self, rec: &RecordRef<'_>) {
        let h = &rec.header;
        // Put values are what the hint exists to skip; the other kinds are
        // small and their replay may need the value (sorted-set members).
        let inline: &[u8] = if h.kind == RecordKind::Put { &[] } else { rec.stored_value };
        self.buf.push(h.kind as u8);
        self.buf.push(h.flags);
        self.buf.extend_from_slice(&[0u8; 2]);
        self.buf.extend_from_slice(&h.key_len.to_le_bytes());
        self.buf.extend_from_slice(&(rec.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(&(inline.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(&h.seq.to_le_bytes());
        self.buf.extend_from_slice(&h.expire_at_ms.to_le_bytes());
        self.buf.extend_from_slice(rec.key);
        self.buf.extend_from_slice(inline);
        self.entries += 1;
        self.puts += (h.kind == RecordKind::Put) as u32;
    }

    /// The finished hint file bytes for a segment of `seg_len` bytes whose
    /// trailing bytes checksum to `tail_crc` (see [`tail_crc`]).
    pub fn finish(mut self, seg_len: u64, tail_crc: u32) -> Vec<u8> {
        self.buf[24..32].copy_from_slice(&seg_len.to_le_bytes());
        self.buf[32..36].copy_from_slice(&tail_crc.to_le_bytes());
        self.buf[36..40].copy_from_slice(&self.entries.to_le_bytes());
        self.buf[40..44].copy_from_slice(&self.puts.to_le_bytes());
        let crc = crc32fast::hash(&self.buf);
        self.buf.extend_from_slice(&crc.to_le_bytes());
        self.buf
    }
}

/// The byte range of a segment of `seg_len` bytes covered by the tie checksum.
pub fn tail_range(seg_len: u64) -> (u64, u64) {
    let start = seg_len.saturating_sub(TAIL_CRC_SPAN_BYTES).max(segment::HEADER_LEN.min(seg_len));
    (start, seg_len)
}

/// crc32 of the trailing bytes of the segment read through `file`.
pub fn tail_crc(file: &dyn ReadFile, seg_len: u64) -> std::io::Result<u32> {
    let (start, end) = tail_range(seg_len);
    let mut buf = vec![0u8; (end - start) as usize];
    file.read_exact_at(&mut buf, start)?;
    Ok(crc32fast::hash(&buf))
}

/// One decoded hint entry.
struct HintEntry<'a> {
    kind: RecordKind,
    flags: u8,
    key: &'a [u8],
    len: u32,
    inline: &'a [u8],
    seq: u64,
    expire_at_ms: u64,
}

/// Parses the entry at `pos` of a checksum-verified hint body, whose record
/// starts at offset `off` of the segment (`seg_len` bytes). Returns the
/// entry, its location and the position of the next entry, or `None` when
/// malformed.
fn parse_entry(body: &[u8], pos: usize, off: u64, seg_len: u64) -> Option<(HintEntry<'_>, Loc, usize)> {
    let h = body.get(pos..pos + ENTRY_HEADER_LEN)?;
    let u32_at = |i: usize| u32::from_le_bytes(h[i..i + 4].try_into().expect("4 bytes"));
    let u64_at = |i: usize| u64::from_le_bytes(h[i..i + 8].try_into().expect("8 bytes"));
    let kind = RecordKind::from_u8(h[0])?;
    // Merge output never holds a batch: its inner records are written singly.
    if kind == RecordKind::Batch || h[1] & !record::FLAG_LZ4 != 0 || h[2] != 0 || h[3] != 0 {
        return None;
    }
    let (key_len, len, inline_len) = (u32_at(4) as usize, u32_at(8), u32_at(12) as usize);
    let value_len = (len as usize).checked_sub(record::HEADER_LEN + key_len)?;
    if (kind == RecordKind::Put && inline_len != 0) || (kind != RecordKind::Put && inline_len != value_len) {
        return None;
    }
    let key_start = pos + ENTRY_HEADER_LEN;
    let key = body.get(key_start..key_start + key_len)?;
    let inline = body.get(key_start + key_len..key_start + key_len + inline_len)?;
    let end = off.checked_add(len as u64)?;
    if end > seg_len || off > u32::MAX as u64 {
        return None;
    }
    let loc = Loc { seg: 0, off: off as u32, len };
    let e = HintEntry { kind, flags: h[1], key, len, inline, seq: u64_at(16), expire_at_ms: u64_at(24) };
    Some((e, loc, key_start + key_len + inline_len))
}

/// Iterates the entries of a checksum-verified hint body, checking each
/// against the segment (`seg_len`). Yields `None` for a malformed entry.
/// Each item also carries the entry's position in `body`.
fn entries(body: &[u8], count: u32, seg_len: u64) -> impl Iterator<Item = Option<(HintEntry<'_>, Loc, usize)>> + '_ {
    let mut pos = HINT_HEADER_LEN;
    let mut off = segment::HEADER_LEN;
    let mut left = count;
    std::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        left -= 1;
        match parse_entry(body, pos, off, seg_len) {
            Some((e, loc, next)) => {
                let at = pos;
                pos = next;
                off += e.len as u64;
                Some(Some((e, loc, at)))
            }
            None => {
                left = 0;
                Some(None)
            }
        }
    })
}

/// Checks that `hint` is a complete, intact hint of the segment `id` with
/// `order` whose file is `seg` (`seg_len` bytes). Returns the entry count.
pub(crate) fn validate(hint: &[u8], id: u32, order: u64, seg: &dyn ReadFile, seg_len: u64) -> Option<u32> {
    if hint.len() < HINT_HEADER_LEN + 4 || hint[0..8] != HINT_MAGIC {
        return None;
    }
    let (body, crc) = hint.split_at(hint.len() - 4);
    if crc32fast::hash(body) != u32::from_le_bytes(crc.try_into().ok()?) {
        return None;
    }
    let u32_at = |i: usize| u32::from_le_bytes(body[i..i + 4].try_into().expect("4 bytes"));
    let u64_at = |i: usize| u64::from_le_bytes(body[i..i + 8].try_into().expect("8 bytes"));
    if u32_at(8) != HINT_VERSION || u32_at(12) != id || u64_at(16) != order || u64_at(24) != seg_len {
        return None;
    }
    if tail_crc(seg, seg_len).ok()? != u32_at(32) {
        return None;
    }
    let count = u32_at(36);
    // Every entry well formed, the records exactly tiling the segment, and
    // nothing after the last entry.
    let mut end = segment::HEADER_LEN;
    let mut consumed = HINT_HEADER_LEN;
    for item in entries(body, count, seg_len) {
        let (e, loc, _) = item?;
        end = loc.off as u64 + e.len as u64;
        consumed += ENTRY_HEADER_LEN + e.key.len() + e.inline.len();
    }
    (end == seg_len && consumed == body.len()).then_some(count)
}

/// The number of `Put` entries the hint of segment `id` claims, read from
/// its header without validating the file: only used to size the keydir
/// before replay, and capped by what the file could hold, so a damaged
/// count cannot cause a huge allocation.
pub(crate) fn put_count_estimate(storage: &dyn Storage, id: u32) -> u64 {
    let Ok(file) = storage.open_read(&segment::hint_file_name(id)) else { return 0 };
    let Ok(len) = file.len_bytes() else { return 0 };
    let mut h = [0u8; HINT_HEADER_LEN];
    if len < HINT_HEADER_LEN as u64 || file.read_exact_at(&mut h, 0).is_err() || h[0..8] != HINT_MAGIC {
        return 0;
    }
    if u32::from_le_bytes(h[8..12].try_into().expect("4 bytes")) != HINT_VERSION {
        return 0;
    }
    let puts = u32::from_le_bytes(h[40..44].try_into().expect("4 bytes")) as u64;
    puts.min(len / (ENTRY_HEADER_LEN as u64 + 1))
}

/// Replays segment `id` (replay `order`, file `seg` of `seg_len` bytes) from
/// its hint file into `rp`, if a trustworthy hint exists. Returns whether it
/// did; on `false` nothing was applied and the caller scans the segment. An
/// untrustworthy hint file is removed (it is derived data).
pub(crate) fn replay(
    storage: &dyn Storage,
    id: u32,
    order: u64,
    seg: &dyn ReadFile,
    seg_len: u64,
    rp: &mut Replayer,
    removed: &mut u64,
) -> crate::Result<bool> {
    let name = segment::hint_file_name(id);
    let file = match storage.open_read(&name) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    let len = file.len_bytes()?;
    let owned;
    let hint: &[u8] = match file.as_slice() {
        Some(s) => s,
        None => {
            let mut buf = vec![0u8; len as usize];
            file.read_exact_at(&mut buf, 0)?;
            owned = buf;
            &owned
        }
    };
    let Some(count) = validate(hint, id, order, seg, seg_len) else {
        drop(file);
        storage.remove(&name)?;
        storage.sync_dir()?;
        *removed += 1;
        return Ok(false);
    };
    let path = storage.path().join(segment::segment_file_name(id));
    let body = &hint[..hint.len() - 4];
    for (e, mut loc, _) in entries(body, count, seg_len).flatten() {
        loc.seg = id;
        let header = Header {
            crc: 0,
            kind: e.kind,
            flags: e.flags,
            seq: e.seq,
            expire_at_ms: e.expire_at_ms,
            key_len: e.key.len() as u32,
            value_len: e.len - record::HEADER_LEN as u32 - e.key.len() as u32,
        };
        // A Put from a hint carries no value bytes; replay never reads them.
        let rec = RecordRef { header, key: e.key, stored_value: e.inline };
        rp.apply(&rec, loc, Path::new(&path))?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::SimStorage;

    fn segment_with_records(sim: &SimStorage, id: u32, order: u64) -> (Vec<u8>, Vec<u8>) {
        let mut seg = segment::SegmentHeader { id, order }.encode().to_vec();
        let mut hint = HintBuilder::new(id, order);
        for i in 0..50u32 {
            let start = seg.len();
            let kind = if i % 7 == 3 { RecordKind::Delete } else { RecordKind::Put };
            let value = if kind == RecordKind::Put { format!("value-{i}") } else { String::new() };
            record::encode(&mut seg, kind, i as u64 + 1, 0, format!("k{}", i % 20).as_bytes(), value.as_bytes(), 4096);
            hint.add(&record::decode(&seg[start..]).unwrap());
        }
        let f = sim.create(&segment::segment_file_name(id)).unwrap();
        f.write_all_at(&seg, 0).unwrap();
        let tail = tail_crc(f.as_ref(), seg.len() as u64).unwrap();
        (seg.clone(), hint.finish(seg.len() as u64, tail))
    }

    fn replayer() -> Replayer {
        Replayer {
            keydir: crate::keydir::KeyDir::new(),
            dead: Default::default(),
            now_ms: 0,
            max_seq: 0,
            records: 0,
            zsets: Default::default(),
        }
    }

    #[test]
    fn hint_validates_and_every_bit_flip_is_rejected() {
        let sim = SimStorage::new();
        let (seg, hint) = segment_with_records(&sim, 3, 3 << 16);
        let f = sim.open_read(&segment::segment_file_name(3)).unwrap();
        let len = seg.len() as u64;
        assert_eq!(validate(&hint, 3, 3 << 16, f.as_ref(), len), Some(50));
        assert_eq!(validate(&hint, 4, 3 << 16, f.as_ref(), len), None, "other id");
        assert_eq!(validate(&hint, 3, 3 << 16, f.as_ref(), len - 1), None, "other length");
        for cut in 0..hint.len() {
            assert_eq!(validate(&hint[..cut], 3, 3 << 16, f.as_ref(), len), None, "truncated at {cut}");
        }
        for bit in (0..hint.len() * 8).step_by(3) {
            let mut h = hint.clone();
            h[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(validate(&h, 3, 3 << 16, f.as_ref(), len), None, "bit {bit}");
        }
    }

    #[test]
    fn hint_replay_equals_scan() {
        let sim = SimStorage::new();
        let (seg, hint) = segment_with_records(&sim, 3, 3 << 16);
        sim.write_file(&segment::hint_file_name(3), &hint);
        let f = sim.open_read(&segment::segment_file_name(3)).unwrap();
        let mut from_hint = replayer();
        let mut removed = 0;
        assert!(replay(&sim, 3, 3 << 16, f.as_ref(), seg.len() as u64, &mut from_hint, &mut removed).unwrap());
        let mut scanned = replayer();
        let mut off = segment::HEADER_LEN as usize;
        while off < seg.len() {
            let rec = record::decode(&seg[off..]).unwrap();
            let loc = Loc { seg: 3, off: off as u32, len: rec.len() as u32 };
            scanned.apply(&rec, loc, Path::new("x")).unwrap();
            off += rec.len() as usize;
        }
        assert_eq!(from_hint.max_seq, scanned.max_seq);
        assert_eq!(from_hint.dead, scanned.dead);
        assert_eq!(from_hint.keydir.len(), scanned.keydir.len());
        for i in 0..20 {
            let k = format!("k{i}");
            assert_eq!(from_hint.keydir.get(k.as_bytes()), scanned.keydir.get(k.as_bytes()), "{k}");
        }
    }
}
