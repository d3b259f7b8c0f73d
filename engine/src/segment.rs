//! Segment files: naming and the fixed header at the start of each.
//!
//! Header layout (32 bytes, little-endian; see `docs/format.md`):
//!
//! ```text
//! 0   [u8; 8] magic b"LIBKVSEG"
//! 8   u32     format version (1)
//! 12  u32     segment id (also in the file name)
//! 16  u64     replay order: segments are replayed in ascending order
//! 24  u32     reserved, 0
//! 28  u32     crc32 of bytes 0..28
//! ```
//!
//! The replay order of a segment written by the writer is `id << 16`;
//! compaction output takes orders just above its newest input, so that its
//! records replay before anything written after the merge began.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// Magic bytes at the start of every segment.
pub const MAGIC: [u8; 8] = *b"LIBKVSEG";
/// On-disk format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Length of the segment header.
pub const HEADER_LEN: u64 = 32;
/// Name of the directory lock file.
pub const LOCK_FILE: &str = "LOCK";

/// A decoded segment header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentHeader {
    /// Segment id.
    pub id: u32,
    /// Replay order.
    pub order: u64,
}

impl SegmentHeader {
    /// The 32 header bytes.
    pub fn encode(&self) -> [u8; HEADER_LEN as usize] {
        let mut b = [0u8; HEADER_LEN as usize];
        b[0..8].copy_from_slice(&MAGIC);
        b[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        b[12..16].copy_from_slice(&self.id.to_le_bytes());
        b[16..24].copy_from_slice(&self.order.to_le_bytes());
        let crc = crc32fast::hash(&b[0..28]);
        b[28..32].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes and verifies a header read from `file`.
    pub fn decode(buf: &[u8], file: &Path) -> Result<SegmentHeader> {
        let bad = |why: &str| Error::corruption(file, 0, format!("segment header: {why}"));
        let b = buf.get(..HEADER_LEN as usize).ok_or_else(|| bad("truncated"))?;
        if b[0..8] != MAGIC {
            return Err(bad("bad magic"));
        }
        let crc = u32::from_le_bytes(b[28..32].try_into().expect("4 bytes"));
        if crc32fast::hash(&b[0..28]) != crc {
            return Err(bad("checksum mismatch"));
        }
        let version = u32::from_le_bytes(b[8..12].try_into().expect("4 bytes"));
        if version != FORMAT_VERSION {
            return Err(bad(&format!("format version {version}, this build reads {FORMAT_VERSION}")));
        }
        // docs/format.md: reserved, 0. A header that says otherwise was not
        // written by this version, whatever its checksum says.
        if b[24..28] != [0u8; 4] {
            return Err(bad("reserved bytes are not zero"));
        }
        Ok(SegmentHeader {
            id: u32::from_le_bytes(b[12..16].try_into().expect("4 bytes")),
            order: u64::from_le_bytes(b[16..24].try_into().expect("8 bytes")),
        })
    }
}

/// Replay order of a segment created by the writer with `id`.
pub fn writer_order(id: u32) -> u64 {
    (id as u64) << 16
}

/// File name of segment `id`.
pub fn segment_file_name(id: u32) -> String {
    format!("{id:010}.seg")
}

/// File name of the hint file of segment `id`.
pub fn hint_file_name(id: u32) -> String {
    format!("{id:010}.hint")
}

/// Suffix added to a merged input's segment file name when the merge hands
/// it to the background remover (see `remover`): no longer a segment, it is
/// never read, and open deletes any such file it finds.
pub const TRASH_SUFFIX: &str = ".trash";

/// File name of segment `id` once merged away and awaiting removal:
/// `NNNNNNNNNN.seg.trash`.
pub fn trash_file_name(id: u32) -> String {
    format!("{}{TRASH_SUFFIX}", segment_file_name(id))
}

/// The id of a trash file name (`NNNNNNNNNN.seg.trash`), if it is one.
pub fn parse_trash_file_name(name: &str) -> Option<u32> {
    parse_file_name(name.strip_suffix(TRASH_SUFFIX)?, "seg")
}

/// Parses `NNNNNNNNNN.<ext>` into the id.
pub fn parse_file_name(name: &str, ext: &str) -> Option<u32> {
    let stem = name.strip_suffix(ext)?.strip_suffix('.')?;
    if stem.len() != 10 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok()
}

/// Creates segment `id` durably: the file with its header (preallocated to
/// `preallocate_bytes` when given), its data synced, then the directory.
pub fn create_file(
    storage: &dyn crate::storage::Storage,
    id: u32,
    order: u64,
    preallocate_bytes: Option<u64>,
) -> std::io::Result<std::sync::Arc<dyn crate::storage::WriteFile>> {
    let file = storage.create(&segment_file_name(id))?;
    file.write_all_at(&SegmentHeader { id, order }.encode(), 0)?;
    if let Some(len) = preallocate_bytes {
        file.set_len(len)?;
    }
    file.sync_data()?;
    storage.sync_dir()?;
    Ok(file)
}

/// What kinds of records a segment holds, kept by whoever writes or replays
/// it, so that a merge can tell a segment of string `Put`s only. For such
/// a segment every record the keydir does not point at is dead, so the
/// merge copies the records its liveness list names and never reads the
/// dead ones (`compaction::Merger::copy_listed`).
///
/// Counted as a merge's scan counts: each record outside a batch, each
/// record inside one, and each batch frame.
pub(crate) struct RecordTally {
    records: AtomicU64,
    /// Records (batch frames aside) of any kind but `Put`, or [`UNKNOWN`]
    /// when the segment was not read record by record (loaded from a hint,
    /// or a damaged stretch skipped): the merge then scans it.
    others: AtomicU64,
}

/// [`RecordTally::others`] of a segment whose records were not counted.
const UNKNOWN: u64 = u64::MAX;

impl RecordTally {
    /// A tally of `records` records, `others` of them not `Put`s.
    pub(crate) fn known(records: u64, others: u64) -> RecordTally {
        debug_assert!(others < UNKNOWN);
        RecordTally { records: AtomicU64::new(records), others: AtomicU64::new(others) }
    }

    /// A tally for a segment whose records were not counted.
    pub(crate) fn unknown() -> RecordTally {
        RecordTally { records: AtomicU64::new(0), others: AtomicU64::new(UNKNOWN) }
    }

    /// Counts `records` more records, `others` of them not `Put`s. Only the
    /// writer adds, under its mutex, to the active segment's tally: with no
    /// other thread writing it, a load and a store suffice (no atomic
    /// read-modify-write on every commit).
    pub(crate) fn add(&self, records: u64, others: u64) {
        let r = self.records.load(Ordering::Relaxed);
        self.records.store(r.saturating_add(records), Ordering::Relaxed);
        let o = self.others.load(Ordering::Relaxed);
        // An unknown tally stays unknown.
        if o != UNKNOWN {
            self.others.store(o.saturating_add(others).min(UNKNOWN - 1), Ordering::Relaxed);
        }
    }

    /// The record count when every record is a string `Put` (batch frames
    /// aside); `None` when some is not, or the tally is unknown.
    pub(crate) fn strings_only(&self) -> Option<u64> {
        (self.others.load(Ordering::Relaxed) == 0).then(|| self.records.load(Ordering::Relaxed))
    }

    /// A copy (for the sealed segment that replaces an active one).
    pub(crate) fn snapshot(&self) -> RecordTally {
        RecordTally {
            records: AtomicU64::new(self.records.load(Ordering::Relaxed)),
            others: AtomicU64::new(self.others.load(Ordering::Relaxed)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by fuzzing `record_decode`: a header with non-zero reserved
    /// bytes (24..28) and a checksum computed over them was accepted, so a
    /// decoded header did not re-encode to its bytes.
    #[test]
    fn segment_header_with_nonzero_reserved_bytes_is_rejected() {
        let mut b = SegmentHeader { id: 3, order: writer_order(3) }.encode();
        b[25] = 0x0f;
        let crc = crc32fast::hash(&b[0..28]);
        b[28..32].copy_from_slice(&crc.to_le_bytes());
        let err = SegmentHeader::decode(&b, Path::new("x.seg")).unwrap_err().to_string();
        assert!(err.contains("reserved"), "{err}");
    }

    #[test]
    fn header_round_trip_and_damage() {
        let h = SegmentHeader { id: 42, order: writer_order(42) };
        let b = h.encode();
        assert_eq!(SegmentHeader::decode(&b, Path::new("x")).unwrap(), h);
        for i in 0..b.len() {
            let mut c = b;
            c[i] ^= 0x10;
            assert!(SegmentHeader::decode(&c, Path::new("x")).is_err(), "byte {i}");
        }
    }

    #[test]
    fn file_names() {
        assert_eq!(segment_file_name(7), "0000000007.seg");
        assert_eq!(parse_file_name("0000000007.seg", "seg"), Some(7));
        assert_eq!(parse_file_name("0000000007.hint", "seg"), None);
        assert_eq!(parse_file_name("7.seg", "seg"), None);
    }
}
