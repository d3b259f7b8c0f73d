//! The in-memory sorted set behind the Redis `Z*` commands.
//!
//! A [`ZSet`] is a pure in-memory structure, with no persistence: the engine
//! writes its member records to the log itself and keeps in each element a
//! caller-supplied `tag: u64` (the packed log location of the member's
//! record) to decide liveness during compaction.
//!
//! A `ZSet` pairs the unrolled skiplist with spans of the `skiplist` module
//! (order, ranks, ranges: Redis' `zskiplist` whose nodes are blocks of up
//! to 40 elements, see there why) with a hash index from member bytes to
//! element id (`O(1)` `ZSCORE`). The index (`index` module) is an
//! open-addressing table of `(hash tag, element id)` slots that hashes the
//! member bytes stored in the list, so each member is stored once.
//!
//! Command semantics follow Redis 7 (`t_zset.c`): see [`ZSet::range_by_rank`],
//! [`ZSet::range_by_score`], [`ZSet::range_by_lex`], [`ZSet::plan_add`], the
//! set algebra in [`union`], [`inter`], [`diff`], the range bounds in
//! [`ScoreRange`] and [`LexRange`], and score text in [`format_score`] and
//! [`parse_score`].
//!
//! # Memory
//!
//! Per member, with `m` the member length (see the `skiplist` module for
//! the layout):
//!
//! - 32 bytes of `cold` (tag, score, the member itself when `m <= 15`);
//! - an 8-byte entry (score, id) in a 512-byte block of 40 entries, ~70 %
//!   full after random inserts (~18 bytes), full after ascending ones
//!   (~13), plus the block's 32-byte node and its upper-level links
//!   (~1.2 bytes);
//! - only for `m > 15`: a 16-byte slot in `long` and a heap block of `m`
//!   bytes;
//! - an 8-byte slot in the member index, which is 37-75 % full: 11-21
//!   bytes;
//! - up to 2x growth slack of `cold` and of the block array.
//!
//! That is about 62-72 bytes for a member of up to 15 bytes plus slack
//! (measured: 86.4 B/member heap growth with 14-byte members at 1M, where
//! the block array is at ~55 % of its capacity), and ~80 + m
//! for longer members, against ~90 + m for redis-server's skiplist encoding
//! (a 40-56-byte `zskiplistNode`, a 24-byte `dictEntry`, ~12 bytes of dict
//! buckets and an sds header; the bench measures 109.8 B/member).
//!
//! Arrays over 4 MiB ask for transparent huge pages (`huge_pages`). The
//! heap figures above are unchanged (they count capacity), but with huge
//! pages unused capacity is more likely to be resident.
//!
//! # Calling conventions
//!
//! Ranges are always given as `(min, max)`; for `ZREVRANGEBYSCORE key max
//! min` and `ZRANGE ... REV` the engine swaps the arguments before parsing.
//! Mutations follow plan → log → apply: [`ZSet::plan_add`] decides, the
//! engine writes its record, then [`ZSet::insert`] applies with the record's
//! location as tag. Removing operations return [`Removed`] (member, score,
//! tag) so the engine can write tombstones and account dead bytes.

mod add;
mod algebra;
mod commands;
mod huge_pages;
mod index;

pub(crate) use commands::stage_zset_expiry;
mod range;
mod score;
mod skiplist;
pub(crate) mod store;

pub use commands::{ZAddReply, ZRangeArgs, ZRangeBy, ZRangeKind, ZRANDMEMBER_MAX_REPEATS};

use std::hash::BuildHasher;

use index::MemberIndex;

pub use add::{plan_add_to, AddPlan, ZAddFlags, ERR_NAN_SCORE};
pub use algebra::{diff, inter, union, Aggregate};
pub use range::{LexBound, LexRange, ScoreRange, ERR_LEX_RANGE, ERR_SCORE_RANGE};
pub use score::{format_score, parse_score};

pub(crate) use skiplist::UpdatePlan;
use skiplist::{Pos, SkipList};

/// An element taken out of a set by a removing operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Removed {
    /// The member bytes.
    pub member: Vec<u8>,
    /// Its score.
    pub score: f64,
    /// Its tag (the engine's record location).
    pub tag: u64,
}

/// A sorted set: unique byte-string members ordered by `(score, member)`.
#[derive(Debug, Default)]
pub struct ZSet {
    list: SkipList,
    index: MemberIndex,
    hasher: hashbrown::DefaultHashBuilder,
}

impl ZSet {
    /// An empty set.
    pub fn new() -> ZSet {
        ZSet::default()
    }

    /// An empty set whose skiplist block heights are drawn from `seed`
    /// (for reproducible tests).
    pub fn with_seed(seed: u64) -> ZSet {
        ZSet { list: SkipList::with_seed(seed), ..ZSet::default() }
    }

    /// Number of members (`ZCARD`).
    pub fn len(&self) -> u64 {
        self.list.len()
    }

    /// Whether the set has no members.
    pub fn is_empty(&self) -> bool {
        self.list.len() == 0
    }

    /// Approximate heap bytes used by the set (arena, member bytes, levels,
    /// hash index).
    pub fn heap_bytes(&self) -> usize {
        self.list.heap_bytes() + self.index.heap_bytes()
    }

    fn lookup(&self, member: &[u8]) -> Option<u32> {
        let hash = self.hasher.hash_one(member);
        self.index.find(hash, |i| self.list.member(i) == member)
    }

    /// The score of `member` (`ZSCORE`).
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.lookup(member).map(|i| self.list.score(i))
    }

    /// Hints the CPU to load the index slot of `member`, so that a lookup
    /// a little later (once the caller has done other work) does not wait
    /// for it. No effect on results.
    pub(crate) fn prefetch_member(&self, member: &[u8]) {
        self.index.prefetch(self.hasher.hash_one(member));
    }

    /// [`ZSet::score`] for a `ZADD` about to set `member`'s score to
    /// `score` (with `incr`: to add `score` to it, as `ZINCRBY`), which
    /// also plans that change into `plan` (and says whether it did): when
    /// `member` exists with another score, the descents to its old and new
    /// places, so that their blocks (at 1M members each a likely ~140 ns
    /// miss, like the index slot and the element) load while the engine
    /// appends the record, and so that [`ZSet::upsert_planned`] need not
    /// descend again; for a new member, the descent to its place. A flag
    /// that makes `ZADD` skip the member leaves the plan unused.
    pub(crate) fn score_planning(
        &self,
        member: &[u8],
        score: f64,
        incr: bool,
        plan: &mut UpdatePlan,
    ) -> (Option<f64>, bool) {
        let hash = self.hasher.hash_one(member);
        // The element the index most likely names loads while the descent
        // to the new place runs (its key is known up front unless `incr`).
        if let Some(id) = self.index.first_candidate(hash) {
            self.list.prefetch_element(id);
        }
        if !incr {
            self.list.descend_to(score, member, plan);
        }
        let Some(id) = self.index.find(hash, |i| self.list.member(i) == member) else {
            // A new member starts at `score`, with or without `incr`.
            if incr {
                self.list.descend_to(score, member, plan);
            }
            self.list.plan_insert(score, hash, plan);
            return (None, true);
        };
        let cur = self.list.score(id);
        let new = if incr { cur + score } else { score };
        if new == cur || new.is_nan() {
            return (Some(cur), false);
        }
        self.list.plan_update(id, new, plan, !incr);
        (Some(cur), true)
    }

    /// [`ZSet::upsert`], skipping the descents when `plan` (from
    /// [`ZSet::score_planning`]) moves this member to `score`.
    ///
    /// # Panics
    ///
    /// If `score` is NaN.
    pub(crate) fn upsert_planned(
        &mut self,
        member: &[u8],
        score: f64,
        tag: u64,
        plan: Option<&mut UpdatePlan>,
    ) -> Option<(f64, u64)> {
        let Some(plan) = plan else { return self.upsert(member, score, tag) };
        assert!(!score.is_nan(), "NaN score in a sorted set");
        // A current plan skips the index lookup too: nothing changed since
        // the plan's own lookup.
        if let Some(i) = plan.current_update(&self.list, score) {
            if self.list.member(i) == member && self.list.score(i) != score {
                let old = (self.list.score(i), self.list.tag(i));
                self.list.update_planned(plan);
                self.list.set_tag(i, tag);
                return Some(old);
            }
        } else {
            let hash = self.hasher.hash_one(member);
            if plan.is_current_insert(&self.list, hash, score) {
                let i = self.list.insert_planned(plan, member, tag);
                self.index.insert(hash, i);
                return None;
            }
        }
        self.upsert(member, score, tag)
    }

    /// Whether `member` is in the set.
    pub fn contains(&self, member: &[u8]) -> bool {
        self.lookup(member).is_some()
    }

    /// The tag of `member`.
    pub fn tag(&self, member: &[u8]) -> Option<u64> {
        self.lookup(member).map(|i| self.list.tag(i))
    }

    /// Replaces the tag of `member`; `false` if it is not in the set.
    pub fn set_tag(&mut self, member: &[u8], tag: u64) -> bool {
        match self.lookup(member) {
            Some(i) => {
                self.list.set_tag(i, tag);
                true
            }
            None => false,
        }
    }

    /// Inserts `member` or updates its score and tag; returns the old score.
    /// An update moves the element only if its order changes
    /// (`zslUpdateScore`); an equal score (`-0.0 == 0.0`) keeps the stored one.
    ///
    /// # Panics
    ///
    /// If `score` is NaN (reject it with [`ZSet::plan_add`] first).
    pub fn insert(&mut self, member: &[u8], score: f64, tag: u64) -> Option<f64> {
        self.upsert(member, score, tag).map(|(old, _)| old)
    }

    /// [`ZSet::insert`] returning the old score and tag, with one hash probe.
    ///
    /// # Panics
    ///
    /// If `score` is NaN.
    pub(crate) fn upsert(&mut self, member: &[u8], score: f64, tag: u64) -> Option<(f64, u64)> {
        assert!(!score.is_nan(), "NaN score in a sorted set");
        let hash = self.hasher.hash_one(member);
        let list = &self.list;
        match self.index.find(hash, |i| list.member(i) == member) {
            Some(i) => {
                let old = (self.list.score(i), self.list.tag(i));
                if old.0 != score {
                    self.list.update_score(i, score);
                }
                self.list.set_tag(i, tag);
                Some(old)
            }
            None => {
                // (The probe's cache lines are still loaded.)
                let i = self.list.insert(score, member, tag);
                self.index.insert(hash, i);
                None
            }
        }
    }

    /// Removes `member` (`ZREM`); returns its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let hash = self.hasher.hash_one(member);
        let list = &self.list;
        let idx = self.index.remove(hash, |i| list.member(i) == member)?;
        Some(self.list.delete(idx).score)
    }

    /// Drops removed nodes from the hash index (their slots are already freed;
    /// entries are matched by node index).
    fn unindex(&mut self, removed: Vec<(u32, Removed)>) -> Vec<Removed> {
        removed
            .into_iter()
            .map(|(idx, r)| {
                let hash = self.hasher.hash_one(r.member.as_slice());
                let found = self.index.remove(hash, |i| i == idx);
                debug_assert_eq!(found, Some(idx), "removed element missing from the index");
                r
            })
            .collect()
    }

    /// The 0-based rank of `member` and its score (`ZRANK`/`ZREVRANK ...
    /// WITHSCORE`); `rev` counts from the highest score.
    pub fn rank(&self, member: &[u8], rev: bool) -> Option<(u64, f64)> {
        let i = self.lookup(member)?;
        let r = self.list.rank(i);
        let r = if rev { self.len() - r } else { r - 1 };
        Some((r, self.list.score(i)))
    }

    /// All elements in order as `(member, score, tag)`.
    pub fn iter(&self) -> Iter<'_> {
        Iter { list: &self.list, next: self.list.first(), left: self.len() }
    }

    /// Collects up to `n` elements walking from `start` (forward or `rev`)
    /// while `keep` holds; `n < 0` means no limit.
    fn collect_run(&self, start: Option<Pos>, rev: bool, n: i64, keep: impl Fn(u32) -> bool) -> Vec<(Vec<u8>, f64)> {
        let mut out = Vec::new();
        let mut x = start;
        let mut left = n;
        while let Some(p) = x {
            let i = self.list.id_at(p);
            if left == 0 || !keep(i) {
                break;
            }
            out.push((self.list.member(i).to_vec(), self.list.score(i)));
            left = left.saturating_sub(1);
            x = if rev { self.list.prev(p) } else { self.list.next(p) };
        }
        out
    }

    /// Redis's sanitising of `start`/`stop` indices: negative counts from the
    /// end, clamped to the set; `None` for an empty selection.
    fn rank_span(&self, start: i64, stop: i64) -> Option<(u64, u64)> {
        let llen = i64::try_from(self.len()).unwrap_or(i64::MAX);
        let (mut s, mut e) = (start, stop);
        if s < 0 {
            s += llen;
        }
        if e < 0 {
            e += llen;
        }
        if s < 0 {
            s = 0;
        }
        if s > e || s >= llen {
            return None;
        }
        if e >= llen {
            e = llen - 1;
        }
        Some((s as u64, e as u64))
    }

    /// `ZRANGE start stop [REV]`: elements at 0-based ranks `start..=stop`,
    /// negative indices counting from the end (-1 is the last), out-of-range
    /// indices clamped. With `rev`, ranks count from the highest score and
    /// elements come highest first.
    pub fn range_by_rank(&self, start: i64, stop: i64, rev: bool) -> Vec<(Vec<u8>, f64)> {
        let Some((s, e)) = self.rank_span(start, stop) else { return Vec::new() };
        let n = (e - s + 1) as i64;
        let first = if rev { self.list.by_rank(self.len() - s) } else { self.list.by_rank(s + 1) };
        self.collect_run(first, rev, n, |_| true)
    }

    /// Starting position of a `LIMIT offset count` walk: `first` (with its
    /// 1-based rank) moved `offset` steps in walk direction, using ranks.
    fn skip(&self, first: Option<(Pos, u64)>, rev: bool, offset: i64) -> Option<Pos> {
        let (x, rank) = first?;
        if offset == 0 {
            return Some(x);
        }
        let offset = offset as u64;
        if rev {
            rank.checked_sub(offset).and_then(|r| self.list.by_rank(r))
        } else {
            rank.checked_add(offset).and_then(|r| self.list.by_rank(r))
        }
    }

    /// `ZRANGE min max BYSCORE [REV] [LIMIT offset count]`. `range` is always
    /// `(min, max)`: for `REV` forms (`ZREVRANGEBYSCORE key max min`) the
    /// caller swaps the arguments. With `rev` the walk starts at the highest
    /// score in range. Like Redis, a negative
    /// `count` means no limit and a negative `offset` yields nothing.
    pub fn range_by_score(&self, range: &ScoreRange, rev: bool, offset: i64, count: i64) -> Vec<(Vec<u8>, f64)> {
        if offset < 0 || (offset > 0 && offset as u64 >= self.len()) {
            return Vec::new();
        }
        let first = if rev { self.list.last_in_range(range) } else { self.list.first_in_range(range) };
        let start = self.skip(first, rev, offset);
        let keep = |i| {
            let s = self.list.score(i);
            if rev {
                range.gte_min(s)
            } else {
                range.lte_max(s)
            }
        };
        self.collect_run(start, rev, count, keep)
    }

    /// `ZRANGE min max BYLEX [REV] [LIMIT offset count]`; member comparison
    /// only (meaningful when all scores are equal, as in Redis). `range` and
    /// `LIMIT` as in [`ZSet::range_by_score`].
    pub fn range_by_lex(&self, range: &LexRange, rev: bool, offset: i64, count: i64) -> Vec<(Vec<u8>, f64)> {
        if offset < 0 || (offset > 0 && offset as u64 >= self.len()) {
            return Vec::new();
        }
        let first = if rev { self.list.last_in_lex_range(range) } else { self.list.first_in_lex_range(range) };
        let start = self.skip(first, rev, offset);
        let keep = |i| {
            let m = self.list.member(i);
            if rev {
                range.gte_min(m)
            } else {
                range.lte_max(m)
            }
        };
        self.collect_run(start, rev, count, keep)
    }

    /// `ZCOUNT`: members with a score in `range`, in `O(log n)`.
    pub fn count(&self, range: &ScoreRange) -> u64 {
        match (self.list.first_in_range(range), self.list.last_in_range(range)) {
            (Some((_, a)), Some((_, b))) if b >= a => b - a + 1,
            _ => 0,
        }
    }

    /// `ZLEXCOUNT`: members in lex `range`, in `O(log n)`.
    pub fn lex_count(&self, range: &LexRange) -> u64 {
        match (self.list.first_in_lex_range(range), self.list.last_in_lex_range(range)) {
            (Some((_, a)), Some((_, b))) if b >= a => b - a + 1,
            _ => 0,
        }
    }

    /// `ZPOPMIN`/`ZPOPMAX count`: removes up to `count` lowest (or, with
    /// `max`, highest) elements, returned in pop order.
    pub fn pop(&mut self, count: u64, max: bool) -> Vec<Removed> {
        let n = count.min(self.len());
        if n == 0 {
            return Vec::new();
        }
        let removed = if max {
            let len = self.len();
            self.list.delete_range_by_rank(len - n + 1, len)
        } else {
            self.list.delete_range_by_rank(1, n)
        };
        let mut out = self.unindex(removed);
        if max {
            out.reverse();
        }
        out
    }

    /// `ZREMRANGEBYRANK start stop` (indices as in [`ZSet::range_by_rank`]);
    /// returns the removed elements in order.
    pub fn remove_range_by_rank(&mut self, start: i64, stop: i64) -> Vec<Removed> {
        let Some((s, e)) = self.rank_span(start, stop) else { return Vec::new() };
        let removed = self.list.delete_range_by_rank(s + 1, e + 1);
        self.unindex(removed)
    }

    /// `ZREMRANGEBYSCORE`; returns the removed elements in order.
    pub fn remove_range_by_score(&mut self, range: &ScoreRange) -> Vec<Removed> {
        let removed = self.list.delete_range_by_score(range);
        self.unindex(removed)
    }

    /// `ZREMRANGEBYLEX`; returns the removed elements in order.
    pub fn remove_range_by_lex(&mut self, range: &LexRange) -> Vec<Removed> {
        let removed = self.list.delete_range_by_lex(range);
        self.unindex(removed)
    }

    /// `ZRANDMEMBER key count`: a positive `count` returns
    /// `min(count, len)` distinct members in random order; a negative one
    /// returns exactly `|count|` members drawn independently (repeats
    /// possible); 0 or an empty set returns nothing. The engine must bound
    /// `|count|` (Redis rejects `i64::MIN` and, `WITHSCORES`, over
    /// `i64::MAX / 2`) since the result is materialised.
    pub fn random_members(&self, count: i64) -> Vec<(Vec<u8>, f64)> {
        self.random_members_with(&mut fastrand::Rng::new(), count)
    }

    /// [`ZSet::random_members`] drawing from `rng`.
    pub fn random_members_with(&self, rng: &mut fastrand::Rng, count: i64) -> Vec<(Vec<u8>, f64)> {
        let len = self.len();
        if count == 0 || len == 0 {
            return Vec::new();
        }
        let entry = |i: u32| (self.list.member(i).to_vec(), self.list.score(i));
        let at = |r: u64| entry(self.list.id_at(self.list.by_rank(r + 1).expect("rank below len")));
        if count < 0 {
            let n = count.unsigned_abs();
            return (0..n).map(|_| at(rng.u64(..len))).collect();
        }
        let n = (count as u64).min(len);
        if n * 2 >= len {
            // Most of the set: shuffle it all and keep a prefix.
            let mut all: Vec<_> = self.iter().map(|(m, s, _)| (m.to_vec(), s)).collect();
            rng.shuffle(&mut all);
            all.truncate(n as usize);
            return all;
        }
        // Floyd's sampling of n distinct ranks, then shuffled.
        let mut picked = hashbrown::HashSet::with_capacity(n as usize);
        let mut ranks = Vec::with_capacity(n as usize);
        for j in (len - n)..len {
            let t = rng.u64(..=j);
            let r = if picked.insert(t) { t } else { j };
            if r == j {
                picked.insert(j);
            }
            ranks.push(r);
        }
        rng.shuffle(&mut ranks);
        ranks.into_iter().map(at).collect()
    }

    /// Checks the skiplist invariants and that the hash index maps exactly
    /// the live members to their nodes. For tests; panics on a violation.
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        self.list.check_invariants();
        assert_eq!(self.index.len() as u64, self.len(), "index size");
        self.index.check();
        for i in self.index.ids() {
            let m = self.list.member(i);
            assert_eq!(self.lookup(m), Some(i), "index entry for node {i}");
        }
        let mut n = 0u64;
        for (m, s, t) in self.iter() {
            let i = self.lookup(m).expect("member missing from the index");
            assert_eq!((self.list.score(i), self.list.tag(i)), (s, t));
            n += 1;
        }
        assert_eq!(n, self.len());
    }
}

/// Iterator over a [`ZSet`] in `(score, member)` order.
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    list: &'a SkipList,
    next: Option<Pos>,
    left: u64,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], f64, u64);

    fn next(&mut self) -> Option<Self::Item> {
        let p = self.next?;
        self.next = self.list.next(p);
        let i = self.list.id_at(p);
        self.left -= 1;
        Some((self.list.member(i), self.list.score(i), self.list.tag(i)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::try_from(self.left).unwrap_or(usize::MAX);
        (n, Some(n))
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashMap};

    use proptest::prelude::*;

    use super::*;

    fn zs(pairs: &[(&str, f64)]) -> ZSet {
        let mut z = ZSet::with_seed(11);
        for &(m, s) in pairs {
            z.insert(m.as_bytes(), s, 0);
        }
        z.check_invariants();
        z
    }

    fn names(v: &[(Vec<u8>, f64)]) -> Vec<&str> {
        v.iter().map(|(m, _)| std::str::from_utf8(m).unwrap()).collect()
    }

    fn removed_names(v: &[Removed]) -> Vec<&str> {
        v.iter().map(|r| std::str::from_utf8(&r.member).unwrap()).collect()
    }

    fn sr(min: &str, max: &str) -> ScoreRange {
        ScoreRange::parse(min.as_bytes(), max.as_bytes()).unwrap()
    }

    fn lr(min: &str, max: &str) -> LexRange {
        LexRange::parse(min.as_bytes(), max.as_bytes()).unwrap()
    }

    /// a=1 b=2 c=3 d=4 e=5
    fn abcde() -> ZSet {
        zs(&[("c", 3.0), ("a", 1.0), ("e", 5.0), ("b", 2.0), ("d", 4.0)])
    }

    #[test]
    fn zset_basic_score_tag_remove() {
        let mut z = ZSet::new();
        assert!(z.is_empty());
        assert_eq!(z.insert(b"a", 1.0, 10), None);
        assert_eq!(z.insert(b"a", 2.0, 11), Some(1.0));
        assert_eq!((z.score(b"a"), z.tag(b"a")), (Some(2.0), Some(11)));
        assert!(z.set_tag(b"a", 12));
        assert!(!z.set_tag(b"zz", 12));
        assert_eq!(z.tag(b"a"), Some(12));
        assert_eq!(z.remove(b"a"), Some(2.0));
        assert_eq!(z.remove(b"a"), None);
        assert!(z.is_empty());
        z.check_invariants();
        // Empty and binary members.
        z.insert(b"", 0.0, 0);
        z.insert(b"\x00\xff", 0.0, 0);
        assert_eq!(z.score(b""), Some(0.0));
        assert_eq!(z.rank(b"\x00\xff", false), Some((1, 0.0)));
        z.check_invariants();
    }

    #[test]
    fn zset_ties_order_by_member_bytes() {
        let z = zs(&[("b", 1.0), ("ab", 1.0), ("a", 1.0), ("", 1.0), ("\u{ff}", 0.5)]);
        let all: Vec<_> = z.iter().map(|(m, _, _)| m.to_vec()).collect();
        assert_eq!(all, [&b"\xc3\xbf"[..], b"", b"a", b"ab", b"b"]);
    }

    #[test]
    fn zset_rank_compares_score_and_member_redis_3081() {
        // Equal scores: the rank must find the exact member, not the first
        // node of that score.
        let z = zs(&[("a", 1.0), ("b", 1.0), ("c", 1.0), ("d", 2.0)]);
        assert_eq!(z.rank(b"a", false), Some((0, 1.0)));
        assert_eq!(z.rank(b"b", false), Some((1, 1.0)));
        assert_eq!(z.rank(b"c", false), Some((2, 1.0)));
        assert_eq!(z.rank(b"c", true), Some((1, 1.0)));
        assert_eq!(z.rank(b"x", false), None);
        // After updating scores to collide, ranks still track members.
        let mut z = z;
        z.insert(b"d", 1.0, 0);
        z.insert(b"a", 1.5, 0);
        z.check_invariants();
        assert_eq!(z.rank(b"d", false), Some((2, 1.0)));
        assert_eq!(z.rank(b"a", false), Some((3, 1.5)));
    }

    #[test]
    fn zset_zrange_by_rank_indices() {
        let z = abcde();
        assert_eq!(names(&z.range_by_rank(0, -1, false)), ["a", "b", "c", "d", "e"]);
        assert_eq!(names(&z.range_by_rank(0, 0, false)), ["a"]);
        assert_eq!(names(&z.range_by_rank(-2, -1, false)), ["d", "e"]);
        assert_eq!(names(&z.range_by_rank(-100, 1, false)), ["a", "b"]);
        assert_eq!(names(&z.range_by_rank(3, 100, false)), ["d", "e"]);
        assert!(z.range_by_rank(5, 10, false).is_empty());
        assert!(z.range_by_rank(3, 2, false).is_empty());
        assert!(z.range_by_rank(-1, -2, false).is_empty());
        assert!(z.range_by_rank(0, -100, false).is_empty());
        assert_eq!(names(&z.range_by_rank(0, -1, true)), ["e", "d", "c", "b", "a"]);
        assert_eq!(names(&z.range_by_rank(1, 2, true)), ["d", "c"]);
        assert_eq!(names(&z.range_by_rank(-1, -1, true)), ["a"]);
        assert_eq!(z.range_by_rank(0, 0, false)[0].1, 1.0);
        assert_eq!(names(&z.range_by_rank(i64::MIN, i64::MAX, false)).len(), 5);
        assert!(ZSet::new().range_by_rank(0, -1, false).is_empty());
    }

    #[test]
    fn zset_zrange_by_score_bounds_and_limit() {
        let z = abcde();
        let all = |min, max| names(&z.range_by_score(&sr(min, max), false, 0, -1)).join("");
        assert_eq!(all("-inf", "+inf"), "abcde");
        assert_eq!(all("2", "4"), "bcd");
        assert_eq!(all("(2", "4"), "cd");
        assert_eq!(all("2", "(4"), "bc");
        assert_eq!(all("(2", "(4"), "c");
        assert_eq!(all("(2", "(3"), "");
        assert_eq!(all("(3", "3"), "");
        assert_eq!(all("3", "3"), "c");
        assert_eq!(all("4", "2"), "");
        assert_eq!(all("5.5", "inf"), "");
        assert_eq!(all("-inf", "0.5"), "");
        let lim = |min, max, rev, off, cnt| names(&z.range_by_score(&sr(min, max), rev, off, cnt)).join("");
        assert_eq!(lim("-inf", "+inf", false, 1, 2), "bc");
        assert_eq!(lim("-inf", "+inf", false, 0, 0), "");
        assert_eq!(lim("-inf", "+inf", false, 3, -1), "de");
        assert_eq!(lim("-inf", "+inf", false, 5, -1), "");
        assert_eq!(lim("-inf", "+inf", false, -1, 2), "");
        assert_eq!(lim("(1", "(5", false, 1, 5), "cd");
        assert_eq!(lim("(1", "(5", false, 2, 5), "d");
        assert_eq!(lim("(1", "(5", false, 3, 5), "");
        // REV: min/max stay as given; walk from the top.
        assert_eq!(lim("-inf", "+inf", true, 0, -1), "edcba");
        assert_eq!(lim("(1", "4", true, 0, -1), "dcb");
        assert_eq!(lim("(1", "4", true, 1, 1), "c");
        assert_eq!(lim("(1", "4", true, 2, 10), "b");
        assert_eq!(lim("(1", "4", true, 3, 10), "");
        assert_eq!(lim("2", "(2", true, 0, -1), "");
        // Scores come along.
        assert_eq!(z.range_by_score(&sr("(4", "inf"), false, 0, -1), [(b"e".to_vec(), 5.0)]);
    }

    #[test]
    fn zset_zcount_and_zlexcount() {
        let z = abcde();
        assert_eq!(z.count(&ScoreRange::ALL), 5);
        assert_eq!(z.count(&sr("(1", "3")), 2);
        assert_eq!(z.count(&sr("3", "(3")), 0);
        assert_eq!(z.count(&sr("6", "7")), 0);
        assert_eq!(z.count(&sr("1.5", "1.7")), 0);
        assert_eq!(ZSet::new().count(&ScoreRange::ALL), 0);
        let z = zs(&[("a", 0.0), ("b", 0.0), ("c", 0.0), ("d", 0.0), ("e", 0.0)]);
        assert_eq!(z.lex_count(&LexRange::ALL), 5);
        assert_eq!(z.lex_count(&lr("[b", "(d")), 2);
        assert_eq!(z.lex_count(&lr("(b", "[d")), 2);
        assert_eq!(z.lex_count(&lr("(bb", "(c")), 0);
        assert_eq!(z.lex_count(&lr("+", "-")), 0);
    }

    #[test]
    fn zset_zrange_by_lex() {
        let z = zs(&[
            ("alpha", 0.0),
            ("bar", 0.0),
            ("cool", 0.0),
            ("down", 0.0),
            ("elephant", 0.0),
            ("foo", 0.0),
            ("great", 0.0),
            ("hill", 0.0),
            ("omega", 0.0),
        ]);
        let q = |min, max, rev, off, cnt| names(&z.range_by_lex(&lr(min, max), rev, off, cnt)).join(" ");
        // From the Redis test suite.
        assert_eq!(q("-", "[cool", false, 0, -1), "alpha bar cool");
        assert_eq!(q("[bar", "[down", false, 0, -1), "bar cool down");
        assert_eq!(q("(bar", "+", false, 0, -1), "cool down elephant foo great hill omega");
        assert_eq!(q("(great", "(omega", false, 0, -1), "hill");
        // ZREVRANGEBYLEX takes max before min; the range here is (min, max).
        assert_eq!(q("-", "[cool", true, 0, -1), "cool bar alpha");
        assert_eq!(q("[bar", "[down", true, 0, -1), "down cool bar");
        assert_eq!(q("(bar", "+", true, 0, -1), "omega hill great foo elephant down cool");
        assert_eq!(q("(great", "(omega", true, 0, -1), "hill");
        assert_eq!(q("[cool", "-", false, 0, -1), "");
        assert_eq!(q("[down", "[bar", true, 0, -1), "");
        assert_eq!(q("-", "+", true, 0, -1), "omega hill great foo elephant down cool bar alpha");
        assert_eq!(q("-", "+", false, 0, -1), "alpha bar cool down elephant foo great hill omega");
        assert_eq!(q("-", "+", false, 2, 3), "cool down elephant");
        assert_eq!(q("-", "+", true, 2, 3), "great foo elephant");
        assert_eq!(q("-", "+", false, -1, 3), "");
        assert_eq!(q("-", "[f", false, 0, -1), "alpha bar cool down elephant");
        assert_eq!(q("[e", "(f", false, 0, -1), "elephant");
    }

    #[test]
    fn zset_zpopmin_zpopmax() {
        let mut z = abcde();
        assert_eq!(removed_names(&z.pop(1, false)), ["a"]);
        assert_eq!(removed_names(&z.pop(2, true)), ["e", "d"]);
        z.check_invariants();
        assert!(z.pop(0, false).is_empty());
        let rest = z.pop(10, false);
        assert_eq!(removed_names(&rest), ["b", "c"]);
        assert_eq!(rest[0].score, 2.0);
        assert!(z.is_empty() && z.pop(3, true).is_empty());
        z.check_invariants();
        let mut z = abcde();
        assert_eq!(removed_names(&z.pop(u64::MAX, true)), ["e", "d", "c", "b", "a"]);
        z.check_invariants();
    }

    #[test]
    fn zset_zremrangebyrank_score_lex() {
        let mut z = abcde();
        assert_eq!(removed_names(&z.remove_range_by_rank(1, 2)), ["b", "c"]);
        z.check_invariants();
        assert_eq!(removed_names(&z.remove_range_by_rank(-1, -1)), ["e"]);
        assert!(z.remove_range_by_rank(5, 10).is_empty());
        assert!(z.remove_range_by_rank(1, 0).is_empty());
        assert_eq!(removed_names(&z.remove_range_by_rank(-100, 100)), ["a", "d"]);
        z.check_invariants();
        assert!(z.is_empty());

        let mut z = abcde();
        assert_eq!(removed_names(&z.remove_range_by_score(&sr("(1", "(4"))), ["b", "c"]);
        assert!(z.remove_range_by_score(&sr("(1", "(4")).is_empty());
        assert_eq!(removed_names(&z.remove_range_by_score(&sr("-inf", "+inf"))), ["a", "d", "e"]);
        z.check_invariants();
        assert!(z.score(b"a").is_none());

        let mut z = zs(&[("a", 0.0), ("b", 0.0), ("c", 0.0), ("d", 0.0), ("e", 0.0)]);
        let r = z.remove_range_by_lex(&lr("[b", "(d"));
        assert_eq!(removed_names(&r), ["b", "c"]);
        z.check_invariants();
        assert_eq!(removed_names(&z.remove_range_by_lex(&lr("-", "+"))), ["a", "d", "e"]);
        z.check_invariants();
        // Removed entries carry their tags.
        let mut z = ZSet::new();
        z.insert(b"x", 1.0, 77);
        assert_eq!(z.remove_range_by_rank(0, 0), [Removed { member: b"x".to_vec(), score: 1.0, tag: 77 }]);
    }

    #[test]
    fn zset_zrandmember_counts() {
        let z = abcde();
        let mut rng = fastrand::Rng::with_seed(5);
        assert!(z.random_members_with(&mut rng, 0).is_empty());
        assert!(ZSet::new().random_members_with(&mut rng, 3).is_empty());
        assert!(ZSet::new().random_members_with(&mut rng, -3).is_empty());
        for count in 1..=7i64 {
            for _ in 0..50 {
                let v = z.random_members_with(&mut rng, count);
                assert_eq!(v.len() as i64, count.min(5));
                let distinct: std::collections::HashSet<_> = v.iter().map(|e| e.0.clone()).collect();
                assert_eq!(distinct.len(), v.len(), "positive count returns distinct members");
                for (m, s) in &v {
                    assert_eq!(z.score(m), Some(*s));
                }
            }
        }
        // Negative: exactly |count|, repeats allowed, all members eventually.
        let v = z.random_members_with(&mut rng, -1000);
        assert_eq!(v.len(), 1000);
        let distinct: std::collections::HashSet<_> = v.iter().map(|e| e.0.clone()).collect();
        assert_eq!(distinct.len(), 5);
        // Sparse sampling (Floyd) path on a larger set.
        let mut big = ZSet::new();
        for i in 0..1000 {
            big.insert(format!("m{i}").as_bytes(), f64::from(i), 0);
        }
        let v = big.random_members_with(&mut rng, 100);
        let distinct: std::collections::HashSet<_> = v.iter().map(|e| e.0.clone()).collect();
        assert_eq!(distinct.len(), 100);
        assert_eq!(z.random_members(2).len(), 2);
    }

    #[test]
    fn zset_score_planning_returns_what_score_does() {
        let mut z = ZSet::with_seed(7);
        for i in 0..5000u32 {
            z.insert(format!("m{i}").as_bytes(), f64::from(i % 97), u64::from(i));
        }
        for i in (0..6000u32).step_by(7) {
            let m = format!("m{i}");
            let want = z.score(m.as_bytes());
            for (score, incr) in [(-1.0, false), (50.0, false), (f64::INFINITY, true), (0.0, true), (2.5, true)] {
                let (cur, planned) = z.score_planning(m.as_bytes(), score, incr, &mut UpdatePlan::new());
                assert_eq!(cur, want, "{m} {score} {incr}");
                // A plan unless the score stays: an insert plan for a new
                // member, an update plan for a changed score.
                let stays = want.is_some_and(|w| {
                    let new = if incr { w + score } else { score };
                    new == w || new.is_nan()
                });
                assert_eq!(planned, !stays, "{m} {score} {incr}");
            }
            if let Some(w) = want {
                assert!(!z.score_planning(m.as_bytes(), w, false, &mut UpdatePlan::new()).1);
            }
        }
        assert_eq!(ZSet::new().score_planning(b"x", 1.0, false, &mut UpdatePlan::new()), (None, true));
        z.check_invariants();
    }

    #[test]
    fn zset_update_moves_only_when_needed() {
        let mut z = abcde();
        z.insert(b"c", 3.5, 1); // stays between c and d positions
        z.check_invariants();
        assert_eq!(z.rank(b"c", false), Some((2, 3.5)));
        z.insert(b"c", -1.0, 2);
        z.check_invariants();
        assert_eq!(z.rank(b"c", false), Some((0, -1.0)));
        z.insert(b"c", 10.0, 3);
        z.check_invariants();
        assert_eq!(z.rank(b"c", true), Some((0, 10.0)));
        assert_eq!(z.tag(b"c"), Some(3));
        // -0.0 == 0.0: the stored score is kept.
        z.insert(b"z", 0.0, 0);
        assert_eq!(z.insert(b"z", -0.0, 0), Some(0.0));
        assert!(z.score(b"z").unwrap().is_sign_positive());
    }

    #[test]
    fn zset_many_ops_keep_invariants() {
        let mut z = ZSet::with_seed(99);
        let mut rng = fastrand::Rng::with_seed(99);
        for step in 0..3000 {
            let m = format!("k{}", rng.u32(0..300));
            match rng.u8(0..10) {
                0..=5 => {
                    z.insert(m.as_bytes(), f64::from(rng.i32(-50..50)) / 4.0, step);
                }
                6..=7 => {
                    z.remove(m.as_bytes());
                }
                8 => {
                    let a = i64::from(rng.i32(-20..20));
                    z.remove_range_by_rank(a, a + i64::from(rng.u8(0..4)));
                }
                _ => {
                    z.pop(u64::from(rng.u8(0..3)), rng.bool());
                }
            }
            if step % 97 == 0 {
                z.check_invariants();
            }
        }
        z.check_invariants();
    }

    /// A score with a total order for the model (no NaN; -0 == 0).
    #[derive(Debug, Clone, Copy, PartialEq)]
    struct OrderedScore(f64);
    impl Eq for OrderedScore {}
    impl PartialOrd for OrderedScore {
        fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(other))
        }
    }
    impl Ord for OrderedScore {
        fn cmp(&self, other: &Self) -> std::cmp::Ordering {
            self.0.partial_cmp(&other.0).expect("no NaN in the model")
        }
    }

    #[derive(Default)]
    struct Model {
        order: BTreeSet<(OrderedScore, Vec<u8>)>,
        scores: HashMap<Vec<u8>, f64>,
    }

    impl Model {
        fn insert(&mut self, m: &[u8], s: f64) {
            if let Some(old) = self.scores.insert(m.to_vec(), s) {
                self.order.remove(&(OrderedScore(old), m.to_vec()));
            }
            self.order.insert((OrderedScore(s), m.to_vec()));
        }
        fn remove(&mut self, m: &[u8]) {
            if let Some(old) = self.scores.remove(m) {
                self.order.remove(&(OrderedScore(old), m.to_vec()));
            }
        }
        fn list(&self) -> Vec<(Vec<u8>, f64)> {
            self.order.iter().map(|(s, m)| (m.clone(), s.0)).collect()
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8, i8),
        Remove(u8),
        RemRank(i8, i8),
        RemScore(i8, i8, bool, bool),
        Pop(u8, bool),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0u8..40, -8i8..8).prop_map(|(m, s)| Op::Insert(m, s)),
            2 => (0u8..40).prop_map(Op::Remove),
            1 => (-10i8..10, -10i8..10).prop_map(|(a, b)| Op::RemRank(a, b)),
            1 => (-9i8..9, -9i8..9, any::<bool>(), any::<bool>()).prop_map(|(a, b, x, y)| Op::RemScore(a, b, x, y)),
            1 => (0u8..4, any::<bool>()).prop_map(|(n, max)| Op::Pop(n, max)),
        ]
    }

    fn member(m: u8) -> Vec<u8> {
        // Varying lengths and shared prefixes exercise memcmp tie order;
        // every fourth member is longer than the list keeps inline.
        let mut v = b"m".repeat(usize::from(m % 3));
        if m % 4 == 1 {
            v.extend_from_slice(b"a-member-kept-out-of-line-");
        }
        v.push(b'a' + m / 3);
        v
    }

    fn score_range(a: i8, b: i8, x: bool, y: bool) -> ScoreRange {
        ScoreRange { min: f64::from(a) / 2.0, max: f64::from(b) / 2.0, min_exclusive: x, max_exclusive: y }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 96, .. ProptestConfig::default() })]

        #[test]
        fn zset_model_random_ops(ops in proptest::collection::vec(op(), 1..120), seed in any::<u64>(),
                                 queries in proptest::collection::vec((-12i64..12, -12i64..12, any::<bool>(), any::<bool>()), 8)) {
            let mut z = ZSet::with_seed(seed);
            let mut model = Model::default();
            for op in &ops {
                match *op {
                    Op::Insert(m, s) => {
                        let m = member(m);
                        let s = f64::from(s) / 2.0;
                        prop_assert_eq!(z.insert(&m, s, 0), model.scores.get(&m).copied());
                        model.insert(&m, s);
                    }
                    Op::Remove(m) => {
                        let m = member(m);
                        prop_assert_eq!(z.remove(&m), model.scores.get(&m).copied());
                        model.remove(&m);
                    }
                    Op::RemRank(a, b) => {
                        let want = {
                            let list = model.list();
                            let len = list.len() as i64;
                            let (mut s, mut e) = (i64::from(a), i64::from(b));
                            if s < 0 { s += len; }
                            if e < 0 { e += len; }
                            let s = s.max(0);
                            let e = e.min(len - 1);
                            if s > e { Vec::new() } else { list[s as usize..=e as usize].to_vec() }
                        };
                        let got: Vec<_> = z.remove_range_by_rank(a.into(), b.into()).into_iter().map(|r| (r.member, r.score)).collect();
                        for (m, _) in &want { model.remove(m); }
                        prop_assert_eq!(got, want);
                    }
                    Op::RemScore(a, b, x, y) => {
                        let r = score_range(a, b, x, y);
                        let want: Vec<_> = model.list().into_iter().filter(|e| r.contains(e.1)).collect();
                        let got: Vec<_> = z.remove_range_by_score(&r).into_iter().map(|r| (r.member, r.score)).collect();
                        for (m, _) in &want { model.remove(m); }
                        prop_assert_eq!(got, want);
                    }
                    Op::Pop(n, max) => {
                        let mut list = model.list();
                        if max { list.reverse(); }
                        list.truncate(n.into());
                        let got: Vec<_> = z.pop(n.into(), max).into_iter().map(|r| (r.member, r.score)).collect();
                        for (m, _) in &list { model.remove(m); }
                        prop_assert_eq!(got, list);
                    }
                }
                z.check_invariants();
            }
            let list = model.list();
            prop_assert_eq!(z.len(), list.len() as u64);
            let got: Vec<_> = z.iter().map(|(m, s, _)| (m.to_vec(), s)).collect();
            prop_assert_eq!(&got, &list);
            for (r, (m, s)) in list.iter().enumerate() {
                prop_assert_eq!(z.rank(m, false), Some((r as u64, *s)));
                prop_assert_eq!(z.rank(m, true), Some(((list.len() - 1 - r) as u64, *s)));
                prop_assert_eq!(z.score(m), Some(*s));
            }
            for &(a, b, x, y) in &queries {
                // Ranks.
                let len = list.len() as i64;
                let (mut s, mut e) = (a, b);
                if s < 0 { s += len; }
                if e < 0 { e += len; }
                let s = s.max(0);
                let e = e.min(len - 1);
                let mut want = if s > e { Vec::new() } else { list[s as usize..=e as usize].to_vec() };
                prop_assert_eq!(z.range_by_rank(a, b, false), want.clone());
                let mut rev = list.clone();
                rev.reverse();
                want = if s > e { Vec::new() } else { rev[s as usize..=e as usize].to_vec() };
                prop_assert_eq!(z.range_by_rank(a, b, true), want);
                // Scores, with LIMIT.
                let r = score_range(a as i8 / 2, b as i8 / 2, x, y);
                let inr: Vec<_> = list.iter().filter(|e| r.contains(e.1)).cloned().collect();
                prop_assert_eq!(z.count(&r), inr.len() as u64);
                let (off, cnt) = (a.rem_euclid(4), b.rem_euclid(5) - 1);
                let take = |v: Vec<(Vec<u8>, f64)>| -> Vec<(Vec<u8>, f64)> {
                    let it = v.into_iter().skip(off as usize);
                    if cnt < 0 { it.collect() } else { it.take(cnt as usize).collect() }
                };
                prop_assert_eq!(z.range_by_score(&r, false, off, cnt), take(inr.clone()));
                let mut rinr = inr.clone();
                rinr.reverse();
                prop_assert_eq!(z.range_by_score(&r, true, off, cnt), take(rinr));
            }
        }

        #[test]
        fn zset_model_lex_equal_scores(members in proptest::collection::btree_set(proptest::collection::vec(b'a'..b'e', 0..4), 0..30),
                                       bounds in proptest::collection::vec((0u8..4, proptest::collection::vec(b'a'..b'e', 0..3), 0u8..4, proptest::collection::vec(b'a'..b'e', 0..3)), 8),
                                       off in 0i64..3, cnt in -1i64..4) {
            let mut z = ZSet::new();
            for m in &members {
                z.insert(m, 7.0, 0);
            }
            z.check_invariants();
            let all: Vec<Vec<u8>> = members.iter().cloned().collect();
            let bound = |kind: u8, v: &Vec<u8>| match kind {
                0 => LexBound::NegInf,
                1 => LexBound::PosInf,
                2 => LexBound::Inclusive(v.clone()),
                _ => LexBound::Exclusive(v.clone()),
            };
            for (k1, v1, k2, v2) in &bounds {
                let r = LexRange { min: bound(*k1, v1), max: bound(*k2, v2) };
                let inr: Vec<(Vec<u8>, f64)> = if r.is_empty() {
                    Vec::new()
                } else {
                    all.iter().filter(|m| r.contains(m)).map(|m| (m.clone(), 7.0)).collect()
                };
                prop_assert_eq!(z.lex_count(&r), inr.len() as u64);
                let take = |v: Vec<(Vec<u8>, f64)>| -> Vec<(Vec<u8>, f64)> {
                    let it = v.into_iter().skip(off as usize);
                    if cnt < 0 { it.collect() } else { it.take(cnt as usize).collect() }
                };
                prop_assert_eq!(z.range_by_lex(&r, false, off, cnt), take(inr.clone()));
                let mut rinr = inr.clone();
                rinr.reverse();
                prop_assert_eq!(z.range_by_lex(&r, true, off, cnt), take(rinr));
                let mut z2 = ZSet::new();
                for m in &members { z2.insert(m, 7.0, 0); }
                let got: Vec<_> = z2.remove_range_by_lex(&r).into_iter().map(|x| (x.member, x.score)).collect();
                z2.check_invariants();
                prop_assert_eq!(got, inr.clone());
                prop_assert_eq!(z2.len() as usize, all.len() - inr.len());
            }
        }
    }
}
