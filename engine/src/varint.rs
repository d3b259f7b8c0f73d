//! Unsigned LEB128 varints, as hint files (format v4) store their numbers.
//!
//! Seven bits per byte, least significant group first, the high bit set on
//! every byte but the last. Decoding is bounds-checked and strict: it
//! rejects a truncated number, one that overflows `u64`, and an overlong
//! encoding (a final zero byte after the first), so every value has exactly
//! one accepted encoding and a decoded entry re-encodes to the same bytes.

/// Appends the encoding of `v` to `out`.
#[inline]
pub fn put(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Bytes [`put`] appends for `v`.
#[inline]
pub fn len(v: u64) -> usize {
    // 1 for 0..=127, then one more per 7 bits.
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Decodes the varint at `*pos` of `buf`, advancing `*pos` past it.
/// `None` (and `*pos` unspecified) when it is truncated, overflows `u64`
/// or is overlong.
#[inline(always)]
pub fn get(buf: &[u8], pos: &mut usize) -> Option<u64> {
    // Fast path, when 8 bytes are readable and the number ends within them
    // (anything below 2^56): find the end from the high bits and gather the
    // 7-bit groups with shifts, without a branch per byte (hint replay
    // decodes five varints per entry, of mixed lengths).
    if let Some(chunk) = pos.checked_add(8).and_then(|end| buf.get(*pos..end)) {
        let word = u64::from_le_bytes(chunk.try_into().ok()?);
        let stops = !word & 0x8080_8080_8080_8080;
        if stops != 0 {
            // Bytes used: 1..=8.
            let n = (stops.trailing_zeros() / 8 + 1) as usize;
            let x = word & (u64::MAX >> (64 - 8 * n));
            // A last byte of 0 after the first: an overlong encoding.
            if n > 1 && x >> (8 * (n - 1)) == 0 {
                return None;
            }
            let x = x & 0x7f7f_7f7f_7f7f_7f7f;
            let x = ((x & 0x7f00_7f00_7f00_7f00) >> 1) | (x & 0x007f_007f_007f_007f);
            let x = ((x & 0x3fff_0000_3fff_0000) >> 2) | (x & 0x0000_3fff_0000_3fff);
            let x = ((x & 0x0fff_ffff_0000_0000) >> 4) | (x & 0x0000_0000_0fff_ffff);
            *pos += n;
            return Some(x);
        }
    }
    get_slow(buf, pos)
}

/// [`get`] one byte at a time (near the end of `buf`, or past 56 bits).
fn get_slow(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let first = *buf.get(*pos)?;
    *pos += 1;
    if first < 0x80 {
        return Some(first as u64);
    }
    let mut v = (first & 0x7f) as u64;
    let mut shift = 7u32;
    loop {
        let b = *buf.get(*pos)?;
        *pos += 1;
        // The tenth byte holds bit 63 only.
        if shift == 63 && b > 1 {
            return None;
        }
        v |= ((b & 0x7f) as u64) << shift;
        if b < 0x80 {
            // A last byte of 0 adds nothing: an overlong encoding.
            return (b != 0).then_some(v);
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

/// [`get`] for a number that must fit in a `u32`.
#[inline(always)]
pub fn get_u32(buf: &[u8], pos: &mut usize) -> Option<u32> {
    get(buf, pos).and_then(|v| u32::try_from(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(v: u64) {
        let mut b = Vec::new();
        put(&mut b, v);
        assert_eq!(b.len(), len(v), "{v}");
        let mut pos = 0;
        assert_eq!(get(&b, &mut pos), Some(v), "{v}");
        assert_eq!(pos, b.len());
        for cut in 0..b.len() {
            assert_eq!(get(&b[..cut], &mut 0), None, "{v} truncated at {cut}");
        }
    }

    #[test]
    fn varint_round_trips_at_every_length_boundary() {
        for bits in 0..64 {
            let p = 1u64 << bits;
            for v in [p - 1, p, p + 1] {
                round_trip(v);
            }
        }
        round_trip(u64::MAX);
        assert_eq!(len(u64::MAX), 10);
        assert_eq!(len(0), 1);
        assert_eq!(len(127), 1);
        assert_eq!(len(128), 2);
    }

    /// The word-at-a-time path and the byte-at-a-time path agree on every
    /// length, with and without padding after the number, and on bad input.
    #[test]
    fn varint_fast_and_slow_paths_agree() {
        let mut inputs: Vec<Vec<u8>> = Vec::new();
        for bits in 0..64 {
            for v in [(1u64 << bits) - 1, 1u64 << bits] {
                let mut b = Vec::new();
                put(&mut b, v);
                inputs.push(b);
            }
        }
        // Overlong forms of every length up to 10 bytes.
        for n in 2..=11 {
            let mut b = vec![0x80u8; n - 1];
            b.push(0);
            inputs.push(b);
            let mut b = vec![0xffu8; n - 1];
            b.push(0);
            inputs.push(b);
        }
        for input in inputs {
            for pad in [0usize, 3, 16] {
                let mut b = input.clone();
                b.extend(std::iter::repeat_n(0xaa, pad));
                let (mut p1, mut p2) = (0, 0);
                let fast = get(&b, &mut p1);
                let slow = get_slow(&b, &mut p2);
                assert_eq!(fast, slow, "{input:x?} pad {pad}");
                if fast.is_some() {
                    assert_eq!(p1, p2, "{input:x?} pad {pad}");
                    assert_eq!(p1, input.len());
                }
            }
        }
    }

    #[test]
    fn varint_rejects_overlong_encodings() {
        // 0 as two bytes, 1 as three, 127 as two.
        for bad in [&[0x80u8, 0x00][..], &[0x81, 0x80, 0x00], &[0xff, 0x00]] {
            assert_eq!(get(bad, &mut 0), None, "{bad:x?}");
        }
        // u64::MAX padded to eleven bytes.
        let mut b = vec![0xff; 9];
        b.extend_from_slice(&[0x81, 0x00]);
        assert_eq!(get(&b, &mut 0), None);
    }

    #[test]
    fn varint_rejects_overflow() {
        // Ten bytes whose last carries more than bit 63.
        let mut b = vec![0xff; 9];
        b.push(0x02);
        assert_eq!(get(&b, &mut 0), None);
        // Eleven bytes, continuation on the tenth.
        let mut b = vec![0xff; 10];
        b.push(0x01);
        assert_eq!(get(&b, &mut 0), None);
        // u32: 2^32 does not fit; u32::MAX does.
        let mut b = Vec::new();
        put(&mut b, u32::MAX as u64 + 1);
        assert_eq!(get_u32(&b, &mut 0), None);
        let mut b = Vec::new();
        put(&mut b, u32::MAX as u64);
        assert_eq!(get_u32(&b, &mut 0), Some(u32::MAX));
    }

    #[test]
    fn varint_decodes_in_sequence_and_stops_at_the_end() {
        let mut b = Vec::new();
        for v in [0, 300, u64::MAX, 1] {
            put(&mut b, v);
        }
        let mut pos = 0;
        let got: Vec<u64> = std::iter::from_fn(|| get(&b, &mut pos)).collect();
        assert_eq!(got, vec![0, 300, u64::MAX, 1]);
        assert_eq!(pos, b.len(), "the failed read at the end consumed nothing");
    }
}
