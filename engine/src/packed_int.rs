//! Little-endian integers stored in the fewest whole bytes, their widths
//! kept elsewhere (hint files, format v4, keep them in a control byte).
//!
//! Unlike LEB128, a field's position does not depend on decoding the field
//! before it byte by byte: once the widths are known every field is one
//! load and a mask (hint replay decodes tens of millions of entries, and
//! the byte-at-a-time chain of LEB128 made open a half slower). Decoding is
//! bounds-checked, and a width larger than the value needs is rejected
//! ([`is_minimal`]), so each value has one accepted encoding.

/// Bytes `v` needs: 1 for 0..=255, up to 8.
#[inline]
pub fn width(v: u64) -> usize {
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(8)
}

/// Appends the low `w` bytes of `v` (`w` in 1..=8), little-endian.
#[inline]
pub fn put(out: &mut Vec<u8>, v: u64, w: usize) {
    debug_assert!((1..=8).contains(&w) && width(v) <= w);
    out.extend_from_slice(&v.to_le_bytes()[..w]);
}

/// Reads the `w`-byte (1..=8) little-endian integer at `p` of `buf`.
/// `None` when `buf` ends before it (or `w` is out of range).
#[inline(always)]
pub fn get(buf: &[u8], p: usize, w: usize) -> Option<u64> {
    if !(1..=8).contains(&w) {
        return None;
    }
    let end = p.checked_add(w)?;
    // Fast path: eight bytes readable, one load and a mask.
    if let Some(chunk) = p.checked_add(8).and_then(|e8| buf.get(p..e8)) {
        let x = u64::from_le_bytes(chunk.try_into().ok()?);
        return Some(x & (u64::MAX >> (64 - 8 * w)));
    }
    let bytes = buf.get(p..end)?;
    Some(bytes.iter().rev().fold(0u64, |v, &b| v << 8 | b as u64))
}

/// Whether `w` bytes is the fewest that hold `v` (a wider encoding is
/// rejected, so that every value has one).
#[inline(always)]
pub fn is_minimal(v: u64, w: usize) -> bool {
    w == 1 || (w <= 8 && v >> (8 * (w - 1)) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_int_round_trips_at_every_width_boundary() {
        for bits in 0..64 {
            let p = 1u64 << bits;
            for v in [p - 1, p, p | 1] {
                let w = width(v);
                let mut b = Vec::new();
                put(&mut b, v, w);
                assert_eq!(b.len(), w);
                assert!(is_minimal(v, w), "{v}");
                assert!(w == 8 || !is_minimal(v, w + 1), "{v} one byte wider");
                // Alone (slow path) and followed by other bytes (fast path).
                assert_eq!(get(&b, 0, w), Some(v), "{v}");
                let mut padded = b.clone();
                padded.extend_from_slice(&[0xff; 8]);
                assert_eq!(get(&padded, 0, w), Some(v), "{v} padded");
                assert_eq!(get(&b, 1, w), None, "{v} past the end");
                assert_eq!(get(&b[..w - 1], 0, w), None, "{v} truncated");
            }
        }
        assert_eq!((width(0), width(255), width(256), width(u64::MAX)), (1, 1, 2, 8));
        assert_eq!(width(u32::MAX as u64), 4);
        assert_eq!(width(u32::MAX as u64 + 1), 5);
    }

    #[test]
    fn packed_int_rejects_bad_widths_and_positions() {
        let b = [1u8; 16];
        assert_eq!(get(&b, 0, 0), None);
        assert_eq!(get(&b, 0, 9), None);
        assert_eq!(get(&b, usize::MAX, 1), None);
        assert_eq!(get(&b, usize::MAX - 3, 8), None);
        assert!(!is_minimal(0, 2));
        assert!(!is_minimal(255, 2));
        assert!(is_minimal(256, 2));
        assert!(!is_minimal(u64::MAX, 9));
    }
}
