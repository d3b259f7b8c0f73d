//! The log record: encoding, decoding and checksum verification.
//!
//! Layout (little-endian; see `docs/format.md`):
//!
//! ```text
//! 0   u32  crc32 of bytes 4..end
//! 4   u8   kind (RecordKind)
//! 5   u8   flags (bit 0: value is lz4 block with prepended u32 size)
//! 6   u16  reserved, 0
//! 8   u64  sequence number
//! 16  u64  absolute expiry, Unix ms (0 = none)
//! 24  u32  key length
//! 28  u32  stored value length
//! 32  key, then value
//! ```

use crate::error::{Error, Result};

/// Bytes before the key.
pub const HEADER_LEN: usize = 32;
/// Flag bit: the stored value is lz4-compressed.
pub const FLAG_LZ4: u8 = 1;

/// What a record means. The numbers are part of the file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RecordKind {
    /// A string value for a key (replaces whatever the key held).
    Put = 1,
    /// The key was deleted.
    Delete = 2,
    /// The key expired and was purged.
    ExpireTombstone = 3,
    /// Sorted-set member add/update: value = score (f64 LE, 8 bytes) + member.
    ZAdd = 4,
    /// Sorted-set member removal: value = member.
    ZRem = 5,
    /// Key-level metadata of a non-string key (its expiry), value empty.
    KeyMeta = 6,
    /// Atomic batch: the value is a sequence of complete inner records, all
    /// covered by this record's checksum. Recovery applies all or none.
    Batch = 7,
}

impl RecordKind {
    /// Decodes a kind byte.
    pub fn from_u8(b: u8) -> Option<RecordKind> {
        Some(match b {
            1 => RecordKind::Put,
            2 => RecordKind::Delete,
            3 => RecordKind::ExpireTombstone,
            4 => RecordKind::ZAdd,
            5 => RecordKind::ZRem,
            6 => RecordKind::KeyMeta,
            7 => RecordKind::Batch,
            _ => return None,
        })
    }
}

/// A decoded header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Checksum stored in the record.
    pub crc: u32,
    /// Record kind.
    pub kind: RecordKind,
    /// Flag bits.
    pub flags: u8,
    /// Sequence number.
    pub seq: u64,
    /// Absolute expiry in Unix ms, 0 = none.
    pub expire_at_ms: u64,
    /// Key length in bytes.
    pub key_len: u32,
    /// Stored value length in bytes.
    pub value_len: u32,
}

impl Header {
    /// Total encoded length of the record.
    pub fn record_len(&self) -> u64 {
        HEADER_LEN as u64 + self.key_len as u64 + self.value_len as u64
    }
}

/// Why bytes did not decode as a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Fewer bytes than the header or the lengths it states.
    Truncated,
    /// Every header byte is zero: unwritten (preallocated) space.
    Zero,
    /// Header fields are impossible (unknown kind, reserved bits, lengths past limits).
    BadHeader(&'static str),
    /// The checksum does not match.
    BadChecksum,
}

impl DecodeError {
    /// Human-readable reason.
    pub fn reason(&self) -> String {
        match self {
            DecodeError::Truncated => "record truncated".into(),
            DecodeError::Zero => "zero bytes where a record was expected".into(),
            DecodeError::BadHeader(why) => format!("bad record header: {why}"),
            DecodeError::BadChecksum => "record checksum mismatch".into(),
        }
    }
}

/// Upper bound on any stored key length, independent of options: a corrupt
/// length field is never trusted to size an allocation (nutsdb#273).
const KEY_LEN_CEILING: u32 = crate::options::MAX_KEY_SIZE_BYTES as u32;
/// Upper bound on any stored value length (a batch may hold up to 1 GiB).
const VALUE_LEN_CEILING: u32 = (crate::options::MAX_BATCH_SIZE_BYTES + 1024 * 1024) as u32;

/// Parses and sanity-checks a header without verifying the checksum.
pub fn decode_header(buf: &[u8]) -> Result<Header, DecodeError> {
    let h = buf.get(..HEADER_LEN).ok_or(DecodeError::Truncated)?;
    if h.iter().all(|&b| b == 0) {
        return Err(DecodeError::Zero);
    }
    let u32_at = |i: usize| u32::from_le_bytes(h[i..i + 4].try_into().expect("4 bytes"));
    let u64_at = |i: usize| u64::from_le_bytes(h[i..i + 8].try_into().expect("8 bytes"));
    let kind = RecordKind::from_u8(h[4]).ok_or(DecodeError::BadHeader("unknown kind"))?;
    let flags = h[5];
    if flags & !FLAG_LZ4 != 0 || h[6] != 0 || h[7] != 0 {
        return Err(DecodeError::BadHeader("reserved bits set"));
    }
    let key_len = u32_at(24);
    let value_len = u32_at(28);
    if key_len > KEY_LEN_CEILING {
        return Err(DecodeError::BadHeader("key length past limit"));
    }
    if value_len > VALUE_LEN_CEILING {
        return Err(DecodeError::BadHeader("value length past limit"));
    }
    Ok(Header { crc: u32_at(0), kind, flags, seq: u64_at(8), expire_at_ms: u64_at(16), key_len, value_len })
}

/// A record borrowed from a buffer, checksum verified.
#[derive(Debug, Clone, Copy)]
pub struct RecordRef<'a> {
    /// Its header.
    pub header: Header,
    /// Key bytes.
    pub key: &'a [u8],
    /// Stored value bytes (possibly compressed; see [`RecordRef::value`]).
    pub stored_value: &'a [u8],
}

impl RecordRef<'_> {
    /// Total encoded length.
    pub fn len(&self) -> u64 {
        self.header.record_len()
    }

    /// True for a record with neither key nor value (never produced).
    pub fn is_empty(&self) -> bool {
        self.len() == HEADER_LEN as u64
    }

    /// The value, decompressed if needed. `max_len` bounds the decompressed
    /// size so that a corrupt size prefix cannot force a huge allocation.
    pub fn value(&self, max_len: usize) -> Result<Vec<u8>, DecodeError> {
        if self.header.flags & FLAG_LZ4 == 0 {
            return Ok(self.stored_value.to_vec());
        }
        let size_prefix = self.stored_value.get(..4).ok_or(DecodeError::BadHeader("short compressed value"))?;
        let size = u32::from_le_bytes(size_prefix.try_into().expect("4 bytes")) as usize;
        if size > max_len {
            return Err(DecodeError::BadHeader("decompressed size past limit"));
        }
        let v = lz4_flex::block::decompress_size_prepended(self.stored_value)
            .map_err(|_| DecodeError::BadHeader("lz4 data does not decompress"))?;
        // lz4_flex returns what the block decodes to, which a damaged (or
        // crafted, checksum-valid) block can make shorter than its prefix.
        if v.len() != size {
            return Err(DecodeError::BadHeader("lz4 data decompresses to a length other than its size prefix"));
        }
        Ok(v)
    }
}

/// Decodes the record at the start of `buf` and verifies its checksum.
pub fn decode(buf: &[u8]) -> Result<RecordRef<'_>, DecodeError> {
    let header = decode_header(buf)?;
    let total = header.record_len();
    if (buf.len() as u64) < total {
        return Err(DecodeError::Truncated);
    }
    let body = &buf[4..total as usize];
    if crc32fast::hash(body) != header.crc {
        return Err(DecodeError::BadChecksum);
    }
    let key_end = HEADER_LEN + header.key_len as usize;
    Ok(RecordRef { header, key: &buf[HEADER_LEN..key_end], stored_value: &buf[key_end..total as usize] })
}

/// Appends one encoded record to `out`. Compresses `value` when it is at
/// least `compress_threshold` bytes long and compression makes it smaller.
/// Returns the encoded length.
pub fn encode(
    out: &mut Vec<u8>,
    kind: RecordKind,
    seq: u64,
    expire_at_ms: u64,
    key: &[u8],
    value: &[u8],
    compress_threshold: usize,
) -> usize {
    let start = out.len();
    let mut flags = 0u8;
    let compressed;
    let stored: &[u8] = if value.len() >= compress_threshold {
        compressed = lz4_flex::block::compress_prepend_size(value);
        if compressed.len() < value.len() {
            flags |= FLAG_LZ4;
            &compressed
        } else {
            value
        }
    } else {
        value
    };
    debug_assert!(key.len() <= u32::MAX as usize && stored.len() <= u32::MAX as usize);
    out.extend_from_slice(&[0u8; 4]);
    out.push(kind as u8);
    out.push(flags);
    out.extend_from_slice(&[0u8; 2]);
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&expire_at_ms.to_le_bytes());
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    out.extend_from_slice(&(stored.len() as u32).to_le_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(stored);
    let crc = crc32fast::hash(&out[start + 4..]);
    out[start..start + 4].copy_from_slice(&crc.to_le_bytes());
    out.len() - start
}

/// Wraps already-encoded inner records into one atomic [`RecordKind::Batch`]
/// record appended to `out`. Returns the offset of the first inner record
/// relative to the start of the batch record.
pub fn encode_batch(out: &mut Vec<u8>, seq: u64, inner: &[u8]) -> usize {
    encode(out, RecordKind::Batch, seq, 0, &[], inner, usize::MAX);
    HEADER_LEN
}

/// Converts a decode error at `offset` of `file` into [`Error::Corruption`].
pub fn corruption(file: &std::path::Path, offset: u64, e: &DecodeError) -> Error {
    Error::corruption(file, offset, e.reason())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_plain_and_compressed() {
        let mut buf = Vec::new();
        let n = encode(&mut buf, RecordKind::Put, 7, 99, b"key", b"value", 4096);
        assert_eq!(n, buf.len());
        let r = decode(&buf).unwrap();
        assert_eq!((r.header.kind, r.header.seq, r.header.expire_at_ms), (RecordKind::Put, 7, 99));
        assert_eq!((r.key, r.value(1 << 20).unwrap().as_slice()), (&b"key"[..], &b"value"[..]));

        let big = vec![b'x'; 10_000];
        buf.clear();
        encode(&mut buf, RecordKind::Put, 8, 0, b"k", &big, 4096);
        let r = decode(&buf).unwrap();
        assert_eq!(r.header.flags & FLAG_LZ4, FLAG_LZ4);
        assert!(buf.len() < 1000);
        assert_eq!(r.value(1 << 20).unwrap(), big);
        assert!(r.value(100).is_err(), "decompressed size is bounded");
    }

    /// Found by fuzzing `record_decode`: a checksum-valid LZ4 record whose
    /// size prefix claims more bytes than its block decodes to was returned
    /// as a shorter value instead of being refused.
    #[test]
    fn record_lz4_block_shorter_than_its_size_prefix_is_rejected() {
        let big = vec![b'x'; 10_000];
        let mut buf = Vec::new();
        encode(&mut buf, RecordKind::Put, 8, 0, b"k", &big, 4096);
        let at = HEADER_LEN + 1;
        for claimed in [10_008u32, 9_999] {
            let mut b = buf.clone();
            b[at..at + 4].copy_from_slice(&claimed.to_le_bytes());
            let crc = crc32fast::hash(&b[4..]);
            b[..4].copy_from_slice(&crc.to_le_bytes());
            let r = decode(&b).expect("checksum re-computed");
            assert!(r.value(1 << 20).is_err(), "size prefix {claimed} accepted");
        }
    }

    #[test]
    fn every_single_bit_flip_is_detected() {
        let mut buf = Vec::new();
        encode(&mut buf, RecordKind::Put, 1, 0, b"some-key", b"some-value", 4096);
        for i in 0..buf.len() * 8 {
            let mut b = buf.clone();
            b[i / 8] ^= 1 << (i % 8);
            assert!(decode(&b).is_err(), "flip of bit {i} went unnoticed");
        }
    }

    #[test]
    fn truncation_and_zero_fill_are_distinguished() {
        let mut buf = Vec::new();
        encode(&mut buf, RecordKind::Delete, 1, 0, b"k", b"", 4096);
        for len in 0..buf.len() {
            assert!(decode(&buf[..len]).is_err());
        }
        assert_eq!(decode(&[0u8; 64]).unwrap_err(), DecodeError::Zero);
    }

    #[test]
    fn corrupt_length_is_rejected_before_allocation() {
        let mut buf = Vec::new();
        encode(&mut buf, RecordKind::Put, 1, 0, b"k", b"v", 4096);
        buf[28..32].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(decode(&buf), Err(DecodeError::BadHeader(_))));
    }
}
