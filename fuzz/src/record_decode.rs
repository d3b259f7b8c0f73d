//! `record_decode`: the record and segment-header decoders on arbitrary bytes.
//!
//! Checks: no panic; `decode` agrees with `decode_header`; a decoded record
//! lies inside the input; an uncompressed record re-encodes to exactly the
//! input bytes; a compressed one decompresses within the caller's bound and
//! survives a re-encode round trip; the inner records of a batch decode the
//! same way; a decoded segment header re-encodes to the same 32 bytes.

use std::path::Path;

use kv_engine::record::{self, DecodeError, RecordKind, RecordRef, FLAG_LZ4, HEADER_LEN};
use kv_engine::segment::{self, SegmentHeader};

/// Bound on decompressed values here: large enough for every corpus value,
/// small enough that a lying size prefix cannot exhaust the fuzzer's memory.
const MAX_VALUE_BYTES: usize = 1 << 20;

/// Target body.
pub fn run(data: &[u8]) {
    match record::decode(data) {
        Ok(rec) => {
            let header = record::decode_header(data).expect("decode succeeded, so its header parses");
            assert_eq!(rec.header, header);
            check_record(&rec, data);
            if rec.header.kind == RecordKind::Batch {
                check_batch_body(rec.stored_value);
            }
        }
        Err(e) => {
            if let Err(he) = record::decode_header(data) {
                assert_eq!(e, he, "decode and decode_header disagree on why the header is bad");
            } else {
                assert!(matches!(e, DecodeError::Truncated | DecodeError::BadChecksum), "{e:?}");
            }
        }
    }
    if let Ok(h) = SegmentHeader::decode(data, Path::new("fuzz")) {
        let n = segment::HEADER_LEN as usize;
        assert_eq!(&h.encode()[..], &data[..n], "segment header does not re-encode to its bytes");
    }
}

/// Checks one verified record that starts at `bytes[0]`.
fn check_record(rec: &RecordRef<'_>, bytes: &[u8]) {
    let len = rec.len() as usize;
    assert!(len <= bytes.len());
    assert_eq!(rec.key.len(), rec.header.key_len as usize);
    assert_eq!(rec.stored_value.len(), rec.header.value_len as usize);
    assert_eq!(HEADER_LEN + rec.key.len() + rec.stored_value.len(), len);
    let h = rec.header;
    if h.flags & FLAG_LZ4 == 0 {
        let v = rec.value(0).expect("an uncompressed value needs no bound");
        assert_eq!(v, rec.stored_value);
        let mut out = Vec::new();
        record::encode(&mut out, h.kind, h.seq, h.expire_at_ms, rec.key, &v, usize::MAX);
        assert_eq!(out, &bytes[..len], "record does not re-encode to its bytes");
        return;
    }
    let Ok(v) = rec.value(MAX_VALUE_BYTES) else { return };
    assert!(v.len() <= MAX_VALUE_BYTES, "value() exceeded its bound");
    let prefix = u32::from_le_bytes(rec.stored_value[..4].try_into().expect("4 bytes")) as usize;
    assert_eq!(v.len(), prefix, "decompressed length differs from its size prefix");
    if !v.is_empty() {
        assert!(rec.value(v.len() - 1).is_err(), "value() ignored a bound below the size prefix");
    }
    // Compressed bytes need not be canonical, so compare values, not bytes.
    let mut out = Vec::new();
    record::encode(&mut out, h.kind, h.seq, h.expire_at_ms, rec.key, &v, 0);
    let again = record::decode(&out).expect("a fresh encoding decodes");
    assert_eq!((again.header.kind, again.header.seq, again.header.expire_at_ms), (h.kind, h.seq, h.expire_at_ms));
    assert_eq!(again.key, rec.key);
    assert_eq!(again.value(v.len()).expect("fresh encoding decompresses"), v);
}

/// Walks a batch body as recovery does, checking each inner record.
fn check_batch_body(body: &[u8]) {
    let mut pos = 0usize;
    while pos < body.len() {
        let Ok(inner) = record::decode(&body[pos..]) else { return };
        check_record(&inner, &body[pos..]);
        if inner.header.kind == RecordKind::Batch {
            return;
        }
        pos += inner.len() as usize;
    }
}
