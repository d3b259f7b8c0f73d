//! A stable least-significant-digit radix sort by a `u64` key, for the
//! merge's large sorts (the liveness list, the index switch's slot order, a
//! hint's bucket order). Each holds about one item per live record, and a
//! comparison sort of a million items took about a quarter of a 100-byte
//! merge's CPU; radix passes are linear, and passes over digits every key
//! shares (high bits of small keys) are skipped.

/// Bits per digit: 2048 counters stay in L1, and 6 passes cover 64 bits.
const DIGIT_BITS: u32 = 11;
const BUCKETS: usize = 1 << DIGIT_BITS;
const DIGITS: usize = 64_usize.div_ceil(DIGIT_BITS as usize);

/// Below this many items a comparison sort is faster than the passes' setup.
const SMALL_ITEMS: usize = 512;

#[inline]
fn digit(key: u64, d: usize) -> usize {
    ((key >> (d as u32 * DIGIT_BITS)) as usize) & (BUCKETS - 1)
}

/// Sorts `v` by `key`, keeping the order of items with equal keys (stable).
/// `scratch` is working space (its contents are replaced; reuse it across
/// calls to avoid an allocation per sort).
pub(crate) fn sort_by_u64_key<T: Copy, F: Fn(&T) -> u64>(v: &mut [T], scratch: &mut Vec<T>, key: F) {
    if v.len() < SMALL_ITEMS {
        v.sort_by_key(|x| key(x));
        return;
    }
    // One pass counts every digit.
    let mut counts = vec![[0u32; BUCKETS]; DIGITS];
    for x in v.iter() {
        let k = key(x);
        for (d, c) in counts.iter_mut().enumerate() {
            c[digit(k, d)] += 1;
        }
    }
    let len = v.len();
    scratch.clear();
    scratch.extend_from_slice(v);
    // `src` holds the data, `dst` is overwritten by each pass.
    let (mut src, mut dst): (&mut [T], &mut [T]) = (v, scratch.as_mut_slice());
    let mut swapped = false;
    for (d, c) in counts.iter().enumerate() {
        // Every key has the same digit here: the pass would not move anything.
        if c.iter().any(|&n| n as usize == len) {
            continue;
        }
        let mut next = [0usize; BUCKETS];
        let mut at = 0usize;
        for (b, &n) in c.iter().enumerate() {
            next[b] = at;
            at += n as usize;
        }
        for x in src.iter() {
            let b = digit(key(x), d);
            dst[next[b]] = *x;
            next[b] += 1;
        }
        std::mem::swap(&mut src, &mut dst);
        swapped = !swapped;
    }
    if swapped {
        // The sorted items are in the scratch vector: copy them back.
        dst.copy_from_slice(src);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(items: Vec<(u64, u32)>) {
        let mut expected = items.clone();
        expected.sort_by_key(|x| x.0); // stable: ties keep their order
        let mut got = items;
        let mut scratch = Vec::new();
        sort_by_u64_key(&mut got, &mut scratch, |x| x.0);
        assert_eq!(got, expected);
    }

    /// Ties keep their order; every digit position moves (wide keys) or is
    /// skipped (narrow keys), at sizes on both sides of the small-sort cutoff.
    #[test]
    fn radix_sort_is_a_stable_sort_by_key() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for &n in &[0usize, 1, 5, SMALL_ITEMS - 1, SMALL_ITEMS, 10_000, 100_000] {
            for shift in [0u32, 20, 40, 53, 63] {
                let items: Vec<(u64, u32)> = (0..n).map(|i| (next() >> shift, i as u32)).collect();
                check(items);
            }
            // Many ties, and keys with only high bits set.
            let items: Vec<(u64, u32)> = (0..n).map(|i| ((next() % 7) << 58, i as u32)).collect();
            check(items);
        }
    }

    proptest! {
        #[test]
        fn radix_sort_matches_a_stable_comparison_sort(
            keys in proptest::collection::vec(any::<u64>(), SMALL_ITEMS..SMALL_ITEMS * 3),
            mask in any::<u64>(),
        ) {
            check(keys.into_iter().enumerate().map(|(i, k)| (k & mask, i as u32)).collect());
        }
    }
}
