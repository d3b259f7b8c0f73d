//! The member index of a sorted set: member bytes to element id, for
//! `O(1)` `ZSCORE` and to find the element a `ZADD`/`ZREM`/`ZRANK` names.
//!
//! An open-addressing table with linear probing whose slots are `u64`:
//! the high 32 bits of the member's hash (the *tag*) and the element id.
//! The members themselves stay in the skiplist's `cold` array (stored
//! once); a probe compares tags, and member bytes only on a tag match.
//!
//! # Why not `hashbrown`
//!
//! `hashbrown` keeps control bytes and buckets in separate regions, so at
//! 1M members a lookup paid three dependent cache misses (control group,
//! then the bucket holding the id, then the member in `cold`), a third of
//! the time each (profiled on the bench VM, where a miss costs ~140 ns).
//! Here the tag and the id share the slot the probe starts at: two misses.
//! The price is memory: 8 bytes per slot at most 3/4 full (11-21 bytes per
//! member, against 6-11).
//!
//! A slot's home is `tag & mask`, so neither growth nor deletion
//! (backward shift, no tombstones) needs a member's hash again.

/// A free slot (no element has id `u32::MAX`).
const EMPTY: u64 = u64::MAX;

/// Slots of the first allocation.
const MIN_SLOTS: usize = 16;

/// Member hash → element id. Members are unique; the caller hashes them
/// and compares member bytes by id.
#[derive(Debug, Default, Clone)]
pub(crate) struct MemberIndex {
    /// `EMPTY` or `tag << 32 | id`; the length is 0 or a power of two.
    slots: Vec<u64>,
    len: usize,
}

/// The tag of `hash`.
#[inline(always)]
fn tag_of(hash: u64) -> u32 {
    (hash >> 32) as u32
}

impl MemberIndex {
    /// Number of entries.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<u64>()
    }

    /// The slot holding the entry with hash `hash` for which `is(id)`
    /// holds, if any.
    #[inline(always)]
    fn find_slot(&self, hash: u64, is: impl Fn(u32) -> bool) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let tag = tag_of(hash);
        let mut i = tag as usize & mask;
        // Terminates: the table is never full (at most 3/4).
        loop {
            let e = self.slots[i];
            if e == EMPTY {
                return None;
            }
            if (e >> 32) as u32 == tag && is(e as u32) {
                return Some(i);
            }
            i = (i + 1) & mask;
        }
    }

    /// Hints the CPU to load the slot a probe for `hash` starts at; no
    /// effect on results.
    #[inline(always)]
    pub(crate) fn prefetch(&self, hash: u64) {
        if !self.slots.is_empty() {
            crate::prefetch::prefetch(&self.slots[tag_of(hash) as usize & (self.slots.len() - 1)]);
        }
    }

    /// The id in the first slot from `hash`'s home whose tag matches, if
    /// any: most likely the entry a [`MemberIndex::find`] will confirm, so
    /// a caller can start loading that element early.
    #[inline]
    pub(crate) fn first_candidate(&self, hash: u64) -> Option<u32> {
        self.find_slot(hash, |_| true).map(|i| self.slots[i] as u32)
    }

    /// The id of the entry with hash `hash` for which `is(id)` holds.
    #[inline]
    pub(crate) fn find(&self, hash: u64, is: impl Fn(u32) -> bool) -> Option<u32> {
        self.find_slot(hash, is).map(|i| self.slots[i] as u32)
    }

    /// Adds `id` with hash `hash`; the caller guarantees its member is not
    /// in the index yet.
    pub(crate) fn insert(&mut self, hash: u64, id: u32) {
        debug_assert_ne!(id, u32::MAX);
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        self.place(u64::from(tag_of(hash)) << 32 | u64::from(id));
        self.len += 1;
    }

    /// Puts entry `e` in the first free slot from its home.
    #[inline]
    fn place(&mut self, e: u64) {
        let mask = self.slots.len() - 1;
        let mut i = (e >> 32) as usize & mask;
        while self.slots[i] != EMPTY {
            i = (i + 1) & mask;
        }
        self.slots[i] = e;
    }

    /// Doubles the table (or makes the first one).
    fn grow(&mut self) {
        let new_len = (self.slots.len() * 2).max(MIN_SLOTS);
        let old = std::mem::replace(&mut self.slots, vec![EMPTY; new_len]);
        for e in old {
            if e != EMPTY {
                self.place(e);
            }
        }
    }

    /// Removes the entry with hash `hash` for which `is(id)` holds; returns
    /// its id.
    pub(crate) fn remove(&mut self, hash: u64, is: impl Fn(u32) -> bool) -> Option<u32> {
        let mut hole = self.find_slot(hash, is)?;
        let id = self.slots[hole] as u32;
        self.len -= 1;
        // Backward shift: move later entries of the run into the hole when
        // their home is not after it, so every entry stays reachable from
        // its home without tombstones.
        let mask = self.slots.len() - 1;
        let mut j = hole;
        loop {
            j = (j + 1) & mask;
            let e = self.slots[j];
            if e == EMPTY {
                break;
            }
            let home = (e >> 32) as usize & mask;
            // Whether `home` lies cyclically in `(hole, j]`: then `e` must stay.
            let stays = if hole <= j { hole < home && home <= j } else { hole < home || home <= j };
            if !stays {
                self.slots[hole] = e;
                hole = j;
            }
        }
        self.slots[hole] = EMPTY;
        Some(id)
    }

    /// All ids, in slot order.
    #[cfg(test)]
    pub(crate) fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.slots.iter().filter(|&&e| e != EMPTY).map(|&e| e as u32)
    }

    /// Checks that every entry is reachable from its home and the count;
    /// for tests.
    #[cfg(test)]
    pub(crate) fn check(&self) {
        let mut n = 0;
        for (i, &e) in self.slots.iter().enumerate() {
            if e == EMPTY {
                continue;
            }
            n += 1;
            let mask = self.slots.len() - 1;
            let mut k = (e >> 32) as usize & mask;
            while k != i {
                assert_ne!(self.slots[k], EMPTY, "slot {i} unreachable from its home");
                k = (k + 1) & mask;
            }
        }
        assert_eq!(n, self.len, "entry count");
        assert!(self.len * 4 <= self.slots.len() * 3, "over 3/4 full");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zset_index_matches_a_model_under_collisions() {
        // Few distinct tags and home slots, so runs are long, wrap around
        // the end, and deletions shift entries back across the wrap.
        let mut rng = fastrand::Rng::with_seed(3);
        let mut idx = MemberIndex::default();
        let mut model: std::collections::HashMap<u32, u64> = std::collections::HashMap::new();
        // Tags near `u32::MAX`: every run starts at the last slots and wraps.
        let hash = |k: u32| u64::from(u32::MAX - k % 7) << 32 | u64::from(k);
        for step in 0..20_000u32 {
            let k = rng.u32(..600);
            match model.get(&k) {
                Some(_) if rng.bool() => {
                    assert_eq!(idx.remove(hash(k), |id| id == k), Some(k));
                    model.remove(&k);
                }
                Some(_) => assert_eq!(idx.find(hash(k), |id| id == k), Some(k)),
                None => {
                    assert_eq!(idx.find(hash(k), |id| id == k), None);
                    assert_eq!(idx.remove(hash(k), |id| id == k), None);
                    idx.insert(hash(k), k);
                    model.insert(k, hash(k));
                }
            }
            if step % 500 == 0 {
                idx.check();
                for (&k, &h) in &model {
                    assert_eq!(idx.find(h, |id| id == k), Some(k));
                }
            }
        }
        idx.check();
        let mut ids: Vec<u32> = idx.ids().collect();
        ids.sort_unstable();
        let mut want: Vec<u32> = model.keys().copied().collect();
        want.sort_unstable();
        assert_eq!(ids, want);
        for k in want {
            assert_eq!(idx.remove(hash(k), |id| id == k), Some(k));
        }
        assert_eq!(idx.len(), 0);
        idx.check();
    }

    #[test]
    fn zset_index_equal_tags_compare_ids() {
        // Entries with one tag are told apart by the caller's comparison.
        let mut idx = MemberIndex::default();
        let h = 42u64 << 32;
        for id in 0..100 {
            idx.insert(h, id);
        }
        idx.check();
        assert_eq!(idx.find(h, |id| id == 77), Some(77));
        assert_eq!(idx.find(h + 1, |id| id == 77), Some(77), "only the tag half of the hash counts");
        assert_eq!(idx.find(43u64 << 32, |id| id == 77), None);
        assert_eq!(idx.remove(h, |id| id == 5), Some(5));
        assert_eq!(idx.find(h, |id| id == 5), None);
        idx.check();
    }
}
