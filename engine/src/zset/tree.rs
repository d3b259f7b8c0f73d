//! The ordered half of a sorted set: an order-statistic B+tree of
//! `(score, id)` entries, with the Redis `t_zset.c` skiplist operations
//! (insert, delete, score update, rank, element by rank, first/last in a
//! score or lex range, range deletion) on top.
//!
//! Elements are ordered by `(score, member)`: scores compare as `f64` (NaN is
//! never stored), ties compare member bytes like `memcmp` with the shorter
//! prefix first (which is exactly `<[u8] as Ord>`).
//!
//! # Why a B+tree
//!
//! At 1M members a skiplist search visits ~30 nodes at random places, and
//! the lowest levels miss the CPU caches: on the bench VM a miss to DRAM
//! costs ~140 ns and only ~8 MB of last-level cache is effectively ours, so
//! even a skiplist split into hot and cold arrays (16 bytes per node on the
//! search path) paid 6-8 dependent misses per search. Here the inner nodes
//! of a 1M-member tree take ~1.5 MB and stay cached; a search reads one
//! leaf (its score array is a few adjacent cache lines, loaded in
//! parallel) and the element's `cold` entry only when scores are equal.
//!
//! # Element ownership
//!
//! An element is a `u32` id, an index into `cold` (score, tag, member). Ids
//! are stable for the element's lifetime, whatever the tree does with its
//! entry (splits and merges move entries, not ids); the owner (the `ZSet`
//! index) may hold ids of live elements only. A freed id is pushed on a free
//! list (threaded through `Cold::tag`), its member is dropped, and no entry
//! refers to it until [`OrderTree::insert`] hands it out again.
//! [`OrderTree::update_score`] keeps the id.
//!
//! # Layout
//!
//! - `cold[id]` (32 bytes, one half cache line): tag, score, and the member
//!   inline up to [`INLINE_MEMBER`] bytes, else an index into `long`.
//! - Leaves (512 bytes, cache-line aligned) hold up to [`LEAF_CAP`] entries
//!   as parallel arrays of scores and ids, and are linked both ways in
//!   order, for iteration. A position in the order is a [`Pos`] (leaf,
//!   slot); positions are invalidated by any mutation.
//! - Inner nodes hold up to [`INNER_CAP`] children with their element
//!   counts (ranks are sums of counts) and, for each child but the first,
//!   a separator: the `(score, id)` of the minimum of that child's subtree.
//!   Separators are kept exact: deleting a subtree's minimum rewrites the
//!   separator that names it, so a separator's id is always live and ties
//!   at separators compare real members.
//!
//! A full node splits in two; a node (leaf or inner) that falls below a
//! quarter merges with a sibling when they fit in one, which keeps the
//! depth logarithmic under any insert/delete pattern; an empty node is
//! removed, and a root with one child gives way to it. Freed nodes and ids
//! are reused, not returned to the allocator (as with any arena). Appending at the very end splits a leaf
//! unevenly (the full leaf stays full), so ascending inserts fill leaves.
//! Counts are `u32` (no tree holds more than `u32::MAX - 1` elements, the
//! id space); rank arithmetic is done in `u64` (compare redis#9249).
//!
//! Leaves and `cold` grow by doubling and, once a few megabytes, ask for
//! transparent huge pages (the `huge_pages` module): searches touch random
//! leaves, so they would also miss the TLB.

use super::range::{LexRange, ScoreRange};
use super::Removed;

/// Longest member stored inline in `cold`.
pub(crate) const INLINE_MEMBER: usize = 15;

/// Entries per leaf.
pub(crate) const LEAF_CAP: usize = 40;

/// Children per inner node.
pub(crate) const INNER_CAP: usize = 16;

/// Inner levels at most. A node below a quarter full merges with an
/// adjacent sibling unless that one is over three quarters full, so each
/// level has at least twice as many nodes as the one above: a tree of
/// `u32::MAX` elements (at most `2^31` leaves) is at most ~32 levels deep.
const MAX_DEPTH: usize = 40;

/// `Cold::len` of a member kept in `long`.
const LONG: u8 = u8::MAX;

/// `Cold::len` of a freed id.
const VACANT: u8 = u8::MAX - 1;

/// No leaf / no id.
const NONE: u32 = u32::MAX;

/// One element's data.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(32))]
struct Cold {
    /// Caller-supplied tag (the engine stores the member record's
    /// location). For a freed id: the next free id (`NONE` ends the list).
    tag: u64,
    /// The element's score (never NaN).
    score: f64,
    /// Member length if inline (`<= INLINE_MEMBER`), `LONG`, or `VACANT`.
    len: u8,
    /// Inline member bytes, or for `LONG` the `long` slot (`u32` LE).
    bytes: [u8; INLINE_MEMBER],
}

/// A leaf: entries `0..len` in order.
#[derive(Debug, Clone)]
#[repr(C, align(64))]
struct Leaf {
    len: u32,
    /// Neighbouring leaves in order, `NONE` at the ends. For a freed leaf,
    /// `next` is the next free leaf.
    prev: u32,
    next: u32,
    scores: [f64; LEAF_CAP],
    ids: [u32; LEAF_CAP],
}

impl Leaf {
    const EMPTY: Leaf = Leaf { len: 0, prev: NONE, next: NONE, scores: [0.0; LEAF_CAP], ids: [NONE; LEAF_CAP] };

    /// Inserts `(score, id)` at `slot`; the leaf must have room.
    fn insert(&mut self, slot: usize, score: f64, id: u32) {
        let len = self.len as usize;
        self.scores.copy_within(slot..len, slot + 1);
        self.ids.copy_within(slot..len, slot + 1);
        self.scores[slot] = score;
        self.ids[slot] = id;
        self.len += 1;
    }

    /// Removes the entry at `slot`.
    fn remove(&mut self, slot: usize) {
        let len = self.len as usize;
        self.scores.copy_within(slot + 1..len, slot);
        self.ids.copy_within(slot + 1..len, slot);
        self.len -= 1;
    }
}

/// An inner node: children `0..len`, in order.
#[derive(Debug, Clone)]
#[repr(C, align(64))]
struct Inner {
    len: u32,
    /// Child nodes (leaves if this node is on the lowest inner level).
    /// For a freed node, `children[0]` is the next free node.
    children: [u32; INNER_CAP],
    /// Number of elements under each child.
    counts: [u32; INNER_CAP],
    /// `sep_scores[i]`, `sep_ids[i]`: the minimum of child `i`'s subtree
    /// (`i >= 1`; index 0 is unused).
    sep_scores: [f64; INNER_CAP],
    sep_ids: [u32; INNER_CAP],
}

impl Inner {
    const EMPTY: Inner = Inner {
        len: 0,
        children: [NONE; INNER_CAP],
        counts: [0; INNER_CAP],
        sep_scores: [0.0; INNER_CAP],
        sep_ids: [NONE; INNER_CAP],
    };

    /// Number of elements under this node.
    fn total(&self) -> u32 {
        self.counts[..self.len as usize].iter().sum()
    }

    /// Removes child `c` (with its count and separator).
    fn remove(&mut self, c: usize) {
        let len = self.len as usize;
        self.children.copy_within(c + 1..len, c);
        self.counts.copy_within(c + 1..len, c);
        self.sep_scores.copy_within(c + 1..len, c);
        self.sep_ids.copy_within(c + 1..len, c);
        self.len -= 1;
    }
}

/// A position in the order: entry `slot` of leaf `leaf`. Any mutation of
/// the tree invalidates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pos {
    leaf: u32,
    slot: u32,
}

/// Where a descent went: the child taken at each inner level, the leaf and
/// slot it ended at, and the number of elements before that leaf.
struct Descent {
    /// `(inner node, child index)` from the root down, `depth` of them.
    path: [(u32, u32); MAX_DEPTH],
    leaf: u32,
    slot: u32,
    before: u64,
}

/// Hints the CPU to load the cache lines of leaf `leaf` that a search
/// reads (header and scores); no effect on results.
#[inline(always)]
fn prefetch_leaf(leaf: &Leaf) {
    #[cfg(target_arch = "x86_64")]
    {
        let base = (leaf as *const Leaf).cast::<u8>();
        for line in 0..(16 + 8 * LEAF_CAP).div_ceil(64) {
            // SAFETY: SSE is part of the x86_64 baseline, so the instruction
            // exists; a prefetch never faults and reads nothing observable,
            // and every address is inside the live, 64-byte-aligned `leaf`
            // (the score lines end before its 512 bytes do).
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(base.add(64 * line).cast());
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = leaf;
}

/// Pushes `item`, growing `v` by doubling and asking for huge pages (see
/// the `huge_pages` module) before the new block is first touched (`Vec`'s
/// own growth would copy into it first).
fn push_huge<T>(v: &mut Vec<T>, item: T) {
    if v.len() == v.capacity() {
        let new_cap = (v.capacity() * 2).max(4);
        let mut grown: Vec<T> = Vec::with_capacity(new_cap);
        super::huge_pages::advise(grown.as_ptr().cast(), new_cap * std::mem::size_of::<T>());
        grown.append(v);
        *v = grown;
    }
    v.push(item);
}

/// An order-statistic B+tree of `(score, member, tag)` ordered by
/// `(score, member)`.
///
/// Members must be unique; the caller (the `ZSet`) guarantees it.
#[derive(Debug)]
pub(crate) struct OrderTree {
    cold: Vec<Cold>,
    /// Members longer than `INLINE_MEMBER`; a freed slot is empty.
    long: Vec<Box<[u8]>>,
    /// Free slots of `long`.
    long_free: Vec<u32>,
    /// Bytes held by the members in `long`.
    long_bytes: usize,
    /// Head of the free list of ids.
    free: u32,
    leaves: Vec<Leaf>,
    /// Head of the free list of leaves (threaded through `Leaf::next`).
    free_leaf: u32,
    inners: Vec<Inner>,
    /// Head of the free list of inner nodes (through `children[0]`).
    free_inner: u32,
    /// The root: an inner node if `depth > 0`, else a leaf.
    root: u32,
    /// Number of inner levels.
    depth: usize,
    first_leaf: u32,
    last_leaf: u32,
    /// Number of elements.
    len: u32,
}

impl Default for OrderTree {
    fn default() -> Self {
        OrderTree::new()
    }
}

impl OrderTree {
    /// An empty tree.
    pub(crate) fn new() -> OrderTree {
        OrderTree {
            cold: Vec::new(),
            long: Vec::new(),
            long_free: Vec::new(),
            long_bytes: 0,
            free: NONE,
            leaves: vec![Leaf::EMPTY],
            free_leaf: NONE,
            inners: Vec::new(),
            free_inner: NONE,
            root: 0,
            depth: 0,
            first_leaf: 0,
            last_leaf: 0,
            len: 0,
        }
    }

    /// Number of elements.
    #[inline]
    pub(crate) fn len(&self) -> u64 {
        u64::from(self.len)
    }

    /// Approximate heap bytes owned by the tree.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.cold.capacity() * std::mem::size_of::<Cold>()
            + self.leaves.capacity() * std::mem::size_of::<Leaf>()
            + self.inners.capacity() * std::mem::size_of::<Inner>()
            + self.long.capacity() * std::mem::size_of::<Box<[u8]>>()
            + self.long_free.capacity() * 4
            + self.long_bytes
    }

    /// Member bytes of live element `id`.
    #[inline]
    pub(crate) fn member(&self, id: u32) -> &[u8] {
        let c = &self.cold[id as usize];
        if c.len == LONG {
            let slot = u32::from_le_bytes([c.bytes[0], c.bytes[1], c.bytes[2], c.bytes[3]]);
            &self.long[slot as usize]
        } else {
            &c.bytes[..usize::from(c.len)]
        }
    }

    /// Score of live element `id`.
    #[inline]
    pub(crate) fn score(&self, id: u32) -> f64 {
        self.cold[id as usize].score
    }

    /// Tag of live element `id`.
    #[inline]
    pub(crate) fn tag(&self, id: u32) -> u64 {
        self.cold[id as usize].tag
    }

    /// Replaces the tag of live element `id`.
    #[inline]
    pub(crate) fn set_tag(&mut self, id: u32, tag: u64) {
        self.cold[id as usize].tag = tag;
    }

    /// The element at `p`.
    #[inline]
    pub(crate) fn id_at(&self, p: Pos) -> u32 {
        self.leaves[p.leaf as usize].ids[p.slot as usize]
    }

    /// First position, if any.
    pub(crate) fn first(&self) -> Option<Pos> {
        (self.len > 0).then_some(Pos { leaf: self.first_leaf, slot: 0 })
    }

    /// Last position, if any.
    #[cfg(test)]
    pub(crate) fn last(&self) -> Option<Pos> {
        (self.len > 0).then(|| Pos { leaf: self.last_leaf, slot: self.leaves[self.last_leaf as usize].len - 1 })
    }

    /// The position after `p`, if any.
    pub(crate) fn next(&self, p: Pos) -> Option<Pos> {
        let leaf = &self.leaves[p.leaf as usize];
        if p.slot + 1 < leaf.len {
            Some(Pos { leaf: p.leaf, slot: p.slot + 1 })
        } else {
            (leaf.next != NONE).then_some(Pos { leaf: leaf.next, slot: 0 })
        }
    }

    /// The position before `p`, if any.
    pub(crate) fn prev(&self, p: Pos) -> Option<Pos> {
        if p.slot > 0 {
            return Some(Pos { leaf: p.leaf, slot: p.slot - 1 });
        }
        let prev = self.leaves[p.leaf as usize].prev;
        (prev != NONE).then(|| Pos { leaf: prev, slot: self.leaves[prev as usize].len - 1 })
    }

    /// `(leaf, slot)` if it holds an entry, else the first entry after it.
    fn normalize(&self, leaf: u32, slot: u32) -> Option<Pos> {
        let l = &self.leaves[leaf as usize];
        if slot < l.len {
            Some(Pos { leaf, slot })
        } else {
            (l.next != NONE).then_some(Pos { leaf: l.next, slot: 0 })
        }
    }

    /// Whether entry `(score, id)` orders strictly before `(key_score, key_member)`.
    #[inline(always)]
    fn entry_before(&self, score: f64, id: u32, key_score: f64, key_member: &[u8]) -> bool {
        score < key_score || (score == key_score && self.member(id) < key_member)
    }

    /// Descends from the root to the leaf where `go_on(score, id)` stops
    /// holding (it must hold on a prefix of the order): `slot` is the
    /// number of entries of that leaf on which it holds, so `before + slot`
    /// is the number of elements on which it holds.
    #[inline(always)]
    fn descend(&self, go_on: impl Fn(f64, u32) -> bool) -> Descent {
        self.descend_by(&go_on, &go_on)
    }

    /// [`OrderTree::descend`] choosing children with `sep_go` (applied to
    /// the children's minima) and leaf slots with `go_on`.
    #[inline(always)]
    fn descend_by(&self, sep_go: impl Fn(f64, u32) -> bool, go_on: impl Fn(f64, u32) -> bool) -> Descent {
        let mut d = Descent { path: [(NONE, 0); MAX_DEPTH], leaf: NONE, slot: 0, before: 0 };
        let mut node = self.root;
        for level in 0..self.depth {
            let inner = &self.inners[node as usize];
            let mut c = 0;
            for i in 1..inner.len as usize {
                if sep_go(inner.sep_scores[i], inner.sep_ids[i]) {
                    c = i;
                } else {
                    break;
                }
            }
            d.before += inner.counts[..c].iter().map(|&n| u64::from(n)).sum::<u64>();
            d.path[level] = (node, c as u32);
            node = inner.children[c];
        }
        let leaf = &self.leaves[node as usize];
        let mut slot = 0;
        while slot < leaf.len as usize && go_on(leaf.scores[slot], leaf.ids[slot]) {
            slot += 1;
        }
        d.leaf = node;
        d.slot = slot as u32;
        d
    }

    /// The leaf where [`OrderTree::descend`] with `go_on` would end,
    /// reading inner nodes only.
    fn leaf_for(&self, go_on: impl Fn(f64, u32) -> bool) -> u32 {
        let mut node = self.root;
        for _ in 0..self.depth {
            let inner = &self.inners[node as usize];
            let c = (1..inner.len as usize)
                .take_while(|&i| go_on(inner.sep_scores[i], inner.sep_ids[i]))
                .last()
                .unwrap_or(0);
            node = inner.children[c];
        }
        node
    }

    /// Asks the CPU to load the leaf where `(score, member)` would go (a
    /// hint for an insert or move coming soon; no effect on results).
    fn prefetch_position(&self, score: f64, member: &[u8]) {
        prefetch_leaf(&self.leaves[self.leaf_for(|s, i| self.entry_before(s, i, score, member)) as usize]);
    }

    /// The descent to live element `id`'s entry: into the last child whose
    /// minimum is not after it (the element may be that minimum), then to
    /// the slot after the entries before it.
    fn find(&self, id: u32) -> Descent {
        let (score, member) = (self.score(id), self.member(id));
        let d = self.descend_by(
            |s, i| s < score || (s == score && (i == id || self.member(i) < member)),
            |s, i| self.entry_before(s, i, score, member),
        );
        debug_assert_eq!(self.leaves[d.leaf as usize].ids[d.slot as usize], id, "element not at its ordered position");
        d
    }

    /// Takes an id for a new element, reusing a freed one when possible.
    fn alloc(&mut self, member: &[u8], score: f64, tag: u64) -> u32 {
        let mut cold = Cold { tag, score, len: 0, bytes: [0; INLINE_MEMBER] };
        if member.len() <= INLINE_MEMBER {
            cold.len = member.len() as u8;
            cold.bytes[..member.len()].copy_from_slice(member);
        } else {
            let boxed: Box<[u8]> = member.into();
            self.long_bytes += boxed.len();
            let slot = match self.long_free.pop() {
                Some(s) => {
                    self.long[s as usize] = boxed;
                    s
                }
                None => {
                    self.long.push(boxed);
                    (self.long.len() - 1) as u32
                }
            };
            cold.len = LONG;
            cold.bytes[..4].copy_from_slice(&slot.to_le_bytes());
        }
        if self.free != NONE {
            let id = self.free;
            self.free = self.cold[id as usize].tag as u32;
            self.cold[id as usize] = cold;
            id
        } else {
            let id = u32::try_from(self.cold.len()).ok().filter(|&i| i != NONE).expect("sorted set too large");
            push_huge(&mut self.cold, cold);
            id
        }
    }

    /// Frees element `id` (no longer in the tree), handing back its contents.
    fn release(&mut self, id: u32) -> Removed {
        let vacant = Cold { tag: u64::from(self.free), score: 0.0, len: VACANT, bytes: [0; INLINE_MEMBER] };
        let c = std::mem::replace(&mut self.cold[id as usize], vacant);
        self.free = id;
        let member = if c.len == LONG {
            let slot = u32::from_le_bytes([c.bytes[0], c.bytes[1], c.bytes[2], c.bytes[3]]);
            let m = std::mem::take(&mut self.long[slot as usize]);
            self.long_bytes -= m.len();
            self.long_free.push(slot);
            m.into_vec()
        } else {
            c.bytes[..usize::from(c.len)].to_vec()
        };
        Removed { member, score: c.score, tag: c.tag }
    }

    fn new_leaf(&mut self) -> u32 {
        if self.free_leaf != NONE {
            let l = self.free_leaf;
            self.free_leaf = self.leaves[l as usize].next;
            self.leaves[l as usize] = Leaf::EMPTY;
            return l;
        }
        let l = u32::try_from(self.leaves.len()).expect("sorted set too large");
        push_huge(&mut self.leaves, Leaf::EMPTY);
        l
    }

    fn free_leaf(&mut self, l: u32) {
        let (prev, next) = (self.leaves[l as usize].prev, self.leaves[l as usize].next);
        if prev != NONE {
            self.leaves[prev as usize].next = next;
        } else {
            self.first_leaf = next;
        }
        if next != NONE {
            self.leaves[next as usize].prev = prev;
        } else {
            self.last_leaf = prev;
        }
        self.leaves[l as usize] = Leaf { next: self.free_leaf, ..Leaf::EMPTY };
        self.free_leaf = l;
    }

    fn new_inner(&mut self) -> u32 {
        if self.free_inner != NONE {
            let n = self.free_inner;
            self.free_inner = self.inners[n as usize].children[0];
            self.inners[n as usize] = Inner::EMPTY;
            return n;
        }
        let n = u32::try_from(self.inners.len()).expect("sorted set too large");
        self.inners.push(Inner::EMPTY);
        n
    }

    fn free_inner(&mut self, n: u32) {
        self.inners[n as usize] = Inner::EMPTY;
        self.inners[n as usize].children[0] = self.free_inner;
        self.free_inner = n;
    }

    /// Inserts an element that is not yet present; returns its id.
    ///
    /// # Panics
    ///
    /// If `score` is NaN, or if the tree already holds `u32::MAX - 1` elements.
    pub(crate) fn insert(&mut self, score: f64, member: &[u8], tag: u64) -> u32 {
        assert!(!score.is_nan(), "NaN score in a sorted set");
        let d = self.descend(|s, i| self.entry_before(s, i, score, member));
        let id = self.alloc(member, score, tag);
        self.insert_at(&d, score, id);
        id
    }

    /// Adds entry `(score, id)` where descent `d` (by its key) ended.
    fn insert_at(&mut self, d: &Descent, score: f64, id: u32) {
        for &(node, c) in &d.path[..self.depth] {
            self.inners[node as usize].counts[c as usize] += 1;
        }
        self.len += 1;
        let (leaf, slot) = (d.leaf, d.slot as usize);
        if (self.leaves[leaf as usize].len as usize) < LEAF_CAP {
            self.leaves[leaf as usize].insert(slot, score, id);
            return;
        }
        // Split: appending at the very end keeps the full leaf full.
        let mid = if slot == LEAF_CAP && self.leaves[leaf as usize].next == NONE { LEAF_CAP } else { LEAF_CAP / 2 };
        let right = self.new_leaf();
        let (l, r) = if leaf < right {
            let (a, b) = self.leaves.split_at_mut(right as usize);
            (&mut a[leaf as usize], &mut b[0])
        } else {
            let (a, b) = self.leaves.split_at_mut(leaf as usize);
            (&mut b[0], &mut a[right as usize])
        };
        let moved = LEAF_CAP - mid;
        r.scores[..moved].copy_from_slice(&l.scores[mid..]);
        r.ids[..moved].copy_from_slice(&l.ids[mid..]);
        r.len = moved as u32;
        l.len = mid as u32;
        (r.prev, r.next) = (leaf, l.next);
        l.next = right;
        if r.next != NONE {
            let n = r.next;
            self.leaves[n as usize].prev = right;
        } else {
            self.last_leaf = right;
        }
        if slot <= mid && mid < LEAF_CAP {
            self.leaves[leaf as usize].insert(slot, score, id);
        } else {
            self.leaves[right as usize].insert(slot - mid, score, id);
        }
        let (lc, rc) = (self.leaves[leaf as usize].len, self.leaves[right as usize].len);
        let sep = (self.leaves[right as usize].scores[0], self.leaves[right as usize].ids[0]);
        self.add_child(&d.path, self.depth, lc, right, rc, sep);
    }

    /// After child `path[level - 1].1` of `path[level - 1].0` split, with
    /// `left_count` elements left in it: adds `right` (`right_count`
    /// elements, minimum `sep`) just after it, splitting upwards as needed
    /// (`level == 0`: the root split).
    fn add_child(
        &mut self,
        path: &[(u32, u32); MAX_DEPTH],
        level: usize,
        left_count: u32,
        right: u32,
        right_count: u32,
        sep: (f64, u32),
    ) {
        if level == 0 {
            let root = self.new_inner();
            let r = &mut self.inners[root as usize];
            r.len = 2;
            r.children[..2].copy_from_slice(&[self.root, right]);
            r.counts[..2].copy_from_slice(&[left_count, right_count]);
            (r.sep_scores[1], r.sep_ids[1]) = sep;
            self.root = root;
            self.depth += 1;
            assert!(self.depth < MAX_DEPTH, "sorted set tree too deep");
            return;
        }
        let (node, c) = path[level - 1];
        let c = c as usize;
        let n = &mut self.inners[node as usize];
        n.counts[c] = left_count;
        let len = n.len as usize;
        if len < INNER_CAP {
            n.children.copy_within(c + 1..len, c + 2);
            n.counts.copy_within(c + 1..len, c + 2);
            n.sep_scores.copy_within(c + 1..len, c + 2);
            n.sep_ids.copy_within(c + 1..len, c + 2);
            n.children[c + 1] = right;
            n.counts[c + 1] = right_count;
            (n.sep_scores[c + 1], n.sep_ids[c + 1]) = sep;
            n.len += 1;
            return;
        }
        // Split this node: gather its INNER_CAP + 1 children, keep the
        // lower half, move the upper half to a new node.
        let mut children = [0u32; INNER_CAP + 1];
        let mut counts = [0u32; INNER_CAP + 1];
        let mut seps = [(0.0f64, NONE); INNER_CAP + 1];
        for i in 0..INNER_CAP {
            let j = if i > c { i + 1 } else { i };
            children[j] = n.children[i];
            counts[j] = n.counts[i];
            seps[j] = (n.sep_scores[i], n.sep_ids[i]);
        }
        children[c + 1] = right;
        counts[c + 1] = right_count;
        seps[c + 1] = sep;
        let keep = INNER_CAP / 2;
        n.len = keep as u32;
        n.children[..keep].copy_from_slice(&children[..keep]);
        n.counts[..keep].copy_from_slice(&counts[..keep]);
        for (i, &(s, id)) in seps[..keep].iter().enumerate() {
            (n.sep_scores[i], n.sep_ids[i]) = (s, id);
        }
        let left_total = n.total();
        let q = self.new_inner();
        let m = &mut self.inners[q as usize];
        let moved = INNER_CAP + 1 - keep;
        m.len = moved as u32;
        m.children[..moved].copy_from_slice(&children[keep..]);
        m.counts[..moved].copy_from_slice(&counts[keep..]);
        for (i, &(s, id)) in seps[keep..].iter().enumerate() {
            (m.sep_scores[i], m.sep_ids[i]) = (s, id);
        }
        let right_total = m.total();
        let up = seps[keep];
        self.add_child(path, level - 1, left_total, q, right_total, up);
    }

    /// Removes the entry where descent `d` ended (it must hold one); the
    /// element's id stays allocated.
    fn remove_at(&mut self, d: &Descent) {
        for &(node, c) in &d.path[..self.depth] {
            self.inners[node as usize].counts[c as usize] -= 1;
        }
        self.len -= 1;
        let (leaf, slot) = (d.leaf, d.slot as usize);
        self.leaves[leaf as usize].remove(slot);
        if self.len == 0 {
            // Back to one empty root leaf; ids (`cold`) are not the tree's.
            self.leaves = vec![Leaf::EMPTY];
            self.inners = Vec::new();
            (self.free_leaf, self.free_inner) = (NONE, NONE);
            (self.root, self.depth, self.first_leaf, self.last_leaf) = (0, 0, 0, 0);
            return;
        }
        let l = &self.leaves[leaf as usize];
        if slot == 0 {
            // The removed entry was the minimum of every subtree this leaf
            // starts; the separator naming it (at the lowest level where
            // the path does not take the first child) now names the
            // successor, which is the new minimum of that subtree (or the
            // subtree is empty and about to go, separator and all).
            let succ = if l.len > 0 {
                Some((l.scores[0], l.ids[0]))
            } else {
                (l.next != NONE).then(|| (self.leaves[l.next as usize].scores[0], self.leaves[l.next as usize].ids[0]))
            };
            if let (Some((s, id)), Some(&(node, c))) = (succ, d.path[..self.depth].iter().rev().find(|p| p.1 > 0)) {
                let n = &mut self.inners[node as usize];
                (n.sep_scores[c as usize], n.sep_ids[c as usize]) = (s, id);
            }
        }
        if self.depth == 0 {
            return;
        }
        let len = self.leaves[leaf as usize].len as usize;
        if len == 0 {
            self.free_leaf(leaf);
            self.remove_child(&d.path, self.depth - 1);
        } else if len < LEAF_CAP / 4 {
            self.merge_leaf(&d.path, leaf);
        }
        for level in (1..self.depth).rev() {
            let node = d.path[level].0 as usize;
            // (A node freed above has no children.)
            let len = self.inners[node].len as usize;
            if len > 0 && len < INNER_CAP / 4 {
                self.merge_inner(&d.path, level);
            }
        }
        while self.depth > 0 && self.inners[self.root as usize].len == 1 {
            let old = self.root;
            self.root = self.inners[old as usize].children[0];
            self.free_inner(old);
            self.depth -= 1;
        }
    }

    /// Removes child `path[level].1` (already freed) from `path[level].0`,
    /// and the node itself if that leaves it empty.
    fn remove_child(&mut self, path: &[(u32, u32); MAX_DEPTH], level: usize) {
        let (node, c) = path[level];
        self.inners[node as usize].remove(c as usize);
        if self.inners[node as usize].len == 0 && level > 0 {
            self.free_inner(node);
            self.remove_child(path, level - 1);
        }
    }

    /// Merges underfull `leaf` (child `path[depth - 1].1`) with a sibling
    /// under the same parent if both fit in one leaf.
    fn merge_leaf(&mut self, path: &[(u32, u32); MAX_DEPTH], leaf: u32) {
        let (parent, c) = path[self.depth - 1];
        let (parent, c) = (parent as usize, c as usize);
        let plen = self.inners[parent].len as usize;
        let len = self.leaves[leaf as usize].len as usize;
        // (into, from, child index of `from`)
        let pair = if c > 0 && self.leaves[self.inners[parent].children[c - 1] as usize].len as usize + len <= LEAF_CAP
        {
            (self.inners[parent].children[c - 1], leaf, c)
        } else if c + 1 < plen
            && self.leaves[self.inners[parent].children[c + 1] as usize].len as usize + len <= LEAF_CAP
        {
            (leaf, self.inners[parent].children[c + 1], c + 1)
        } else {
            return;
        };
        let (into, from, fc) = pair;
        let src = self.leaves[from as usize].clone();
        let dst = &mut self.leaves[into as usize];
        let (at, n) = (dst.len as usize, src.len as usize);
        dst.scores[at..at + n].copy_from_slice(&src.scores[..n]);
        dst.ids[at..at + n].copy_from_slice(&src.ids[..n]);
        dst.len += src.len;
        self.free_leaf(from);
        let p = &mut self.inners[parent];
        p.counts[fc - 1] += p.counts[fc];
        p.remove(fc);
    }

    /// Merges underfull inner node `path[level].0` (`level >= 1`) with a
    /// sibling under the same parent if both fit in one node.
    fn merge_inner(&mut self, path: &[(u32, u32); MAX_DEPTH], level: usize) {
        let node = path[level].0;
        let (parent, c) = path[level - 1];
        let (parent, c) = (parent as usize, c as usize);
        let plen = self.inners[parent].len as usize;
        let len = self.inners[node as usize].len as usize;
        let sibling_len = |i: usize| self.inners[self.inners[parent].children[i] as usize].len as usize;
        let (into, from, fc) = if c > 0 && sibling_len(c - 1) + len <= INNER_CAP {
            (self.inners[parent].children[c - 1], node, c)
        } else if c + 1 < plen && sibling_len(c + 1) + len <= INNER_CAP {
            (node, self.inners[parent].children[c + 1], c + 1)
        } else {
            return;
        };
        // `from`'s first child's minimum is `from`'s, the parent's separator.
        let first_sep = (self.inners[parent].sep_scores[fc], self.inners[parent].sep_ids[fc]);
        let src = self.inners[from as usize].clone();
        let dst = &mut self.inners[into as usize];
        let (at, n) = (dst.len as usize, src.len as usize);
        dst.children[at..at + n].copy_from_slice(&src.children[..n]);
        dst.counts[at..at + n].copy_from_slice(&src.counts[..n]);
        dst.sep_scores[at..at + n].copy_from_slice(&src.sep_scores[..n]);
        dst.sep_ids[at..at + n].copy_from_slice(&src.sep_ids[..n]);
        (dst.sep_scores[at], dst.sep_ids[at]) = first_sep;
        dst.len += src.len;
        self.free_inner(from);
        let p = &mut self.inners[parent];
        p.counts[fc - 1] += p.counts[fc];
        p.remove(fc);
    }

    /// Deletes live element `id` and frees it.
    pub(crate) fn delete(&mut self, id: u32) -> Removed {
        let d = self.find(id);
        self.remove_at(&d);
        self.release(id)
    }

    /// Changes the score of live element `id` (`zslUpdateScore`). The
    /// element keeps its id; its entry only moves when its position would
    /// change.
    pub(crate) fn update_score(&mut self, id: u32, score: f64) {
        assert!(!score.is_nan(), "NaN score in a sorted set");
        // The leaves of the old and the new position are both likely cache
        // misses, and independent: ask for the new one (reached through
        // inner nodes only, which stay cached) before reading the old
        // (measured: ~7 % off a 1M-member update in process; issuing both
        // earlier, at the command's plan step, measured no better).
        self.prefetch_position(score, self.member(id));
        let d = self.find(id);
        let pos = Pos { leaf: d.leaf, slot: d.slot };
        let prev_ok = self.prev(pos).is_none_or(|p| self.leaves[p.leaf as usize].scores[p.slot as usize] < score);
        let next_ok = self.next(pos).is_none_or(|p| self.leaves[p.leaf as usize].scores[p.slot as usize] > score);
        if prev_ok && next_ok {
            self.leaves[d.leaf as usize].scores[d.slot as usize] = score;
            self.cold[id as usize].score = score;
            if d.slot == 0 {
                if let Some(&(node, c)) = d.path[..self.depth].iter().rev().find(|p| p.1 > 0) {
                    self.inners[node as usize].sep_scores[c as usize] = score;
                }
            }
            return;
        }
        self.remove_at(&d);
        self.cold[id as usize].score = score;
        let member = self.member(id);
        let d = self.descend(|s, i| self.entry_before(s, i, score, member));
        self.insert_at(&d, score, id);
    }

    /// 1-based rank of live element `id` (`zslGetRank`). The descent
    /// compares score and member, which tells equal scores apart
    /// (redis#3081).
    pub(crate) fn rank(&self, id: u32) -> u64 {
        let d = self.find(id);
        d.before + u64::from(d.slot) + 1
    }

    /// The position of 1-based `rank` (`zslGetElementByRank`), if any.
    pub(crate) fn by_rank(&self, rank: u64) -> Option<Pos> {
        if rank == 0 || rank > self.len() {
            return None;
        }
        let mut left = rank;
        let mut node = self.root;
        for _ in 0..self.depth {
            let inner = &self.inners[node as usize];
            let mut c = 0;
            while left > u64::from(inner.counts[c]) {
                left -= u64::from(inner.counts[c]);
                c += 1;
            }
            node = inner.children[c];
        }
        Some(Pos { leaf: node, slot: (left - 1) as u32 })
    }

    /// The first element on which `go_on` fails (it must hold on a prefix
    /// of the order), with its 1-based rank.
    fn first_not(&self, go_on: impl Fn(f64, u32) -> bool) -> Option<(Pos, u64)> {
        let d = self.descend(go_on);
        self.normalize(d.leaf, d.slot).map(|p| (p, d.before + u64::from(d.slot) + 1))
    }

    /// The last element on which `go_on` holds (it must hold on a prefix of
    /// the order), with its 1-based rank.
    fn last_where(&self, go_on: impl Fn(f64, u32) -> bool) -> Option<(Pos, u64)> {
        let d = self.descend(go_on);
        let rank = d.before + u64::from(d.slot);
        if rank == 0 {
            return None;
        }
        let p = if d.slot > 0 {
            Some(Pos { leaf: d.leaf, slot: d.slot - 1 })
        } else {
            self.prev(Pos { leaf: d.leaf, slot: 0 })
        };
        p.map(|p| (p, rank))
    }

    /// First element in `range` with its 1-based rank (`zslFirstInRange`).
    pub(crate) fn first_in_range(&self, range: &ScoreRange) -> Option<(Pos, u64)> {
        if range.is_empty() {
            return None;
        }
        let (p, rank) = self.first_not(|s, _| !range.gte_min(s))?;
        range.lte_max(self.score(self.id_at(p))).then_some((p, rank))
    }

    /// Last element in `range` with its 1-based rank (`zslLastInRange`).
    pub(crate) fn last_in_range(&self, range: &ScoreRange) -> Option<(Pos, u64)> {
        if range.is_empty() {
            return None;
        }
        let (p, rank) = self.last_where(|s, _| range.lte_max(s))?;
        range.gte_min(self.score(self.id_at(p))).then_some((p, rank))
    }

    /// First element in lex `range` with its 1-based rank (`zslFirstInLexRange`).
    pub(crate) fn first_in_lex_range(&self, range: &LexRange) -> Option<(Pos, u64)> {
        if range.is_empty() {
            return None;
        }
        let (p, rank) = self.first_not(|_, id| !range.gte_min(self.member(id)))?;
        range.lte_max(self.member(self.id_at(p))).then_some((p, rank))
    }

    /// Last element in lex `range` with its 1-based rank (`zslLastInLexRange`).
    pub(crate) fn last_in_lex_range(&self, range: &LexRange) -> Option<(Pos, u64)> {
        if range.is_empty() {
            return None;
        }
        let (p, rank) = self.last_where(|_, id| range.lte_max(self.member(id)))?;
        range.gte_min(self.member(self.id_at(p))).then_some((p, rank))
    }

    /// Deletes the run of elements from `start` on while `keep_going(id, i)`
    /// holds for the `i`-th of them (`zslDeleteRangeBy*`); returns
    /// `(id, contents)` of each, in order.
    fn delete_run(
        &mut self,
        start: Option<Pos>,
        mut keep_going: impl FnMut(&Self, u32, u64) -> bool,
    ) -> Vec<(u32, Removed)> {
        let mut ids = Vec::new();
        let mut p = start;
        while let Some(q) = p {
            let id = self.id_at(q);
            if !keep_going(self, id, ids.len() as u64) {
                break;
            }
            ids.push(id);
            p = self.next(q);
        }
        ids.into_iter().map(|id| (id, self.delete(id))).collect()
    }

    /// Deletes every element in `range` (`zslDeleteRangeByScore`).
    pub(crate) fn delete_range_by_score(&mut self, range: &ScoreRange) -> Vec<(u32, Removed)> {
        let start = self.first_in_range(range).map(|(p, _)| p);
        self.delete_run(start, |t, id, _| range.lte_max(t.score(id)))
    }

    /// Deletes every element in lex `range` (`zslDeleteRangeByLex`).
    pub(crate) fn delete_range_by_lex(&mut self, range: &LexRange) -> Vec<(u32, Removed)> {
        let start = self.first_in_lex_range(range).map(|(p, _)| p);
        self.delete_run(start, |t, id, _| range.lte_max(t.member(id)))
    }

    /// Deletes the elements of 1-based ranks `start..=end`
    /// (`zslDeleteRangeByRank`).
    pub(crate) fn delete_range_by_rank(&mut self, start: u64, end: u64) -> Vec<(u32, Removed)> {
        if start == 0 || start > end {
            return Vec::new();
        }
        let n = end - start + 1;
        self.delete_run(self.by_rank(start), |_, _, i| i < n)
    }

    /// Checks every structural invariant; panics with a description on the
    /// first violation. `O(n)`; for tests and debugging.
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        // In-order walk of the tree: counts, separators, depth, leaf order.
        let mut order = Vec::new();
        let mut leaves = Vec::new();
        let mut inners = 0usize;
        self.check_node(self.root, 0, &mut order, &mut leaves, &mut inners);
        assert_eq!(order.len() as u64, self.len(), "length");
        if self.len == 0 {
            assert_eq!((self.depth, self.leaves[self.root as usize].len), (0, 0), "empty tree shape");
        }
        if self.depth > 0 {
            assert!(self.inners[self.root as usize].len >= 2, "inner root with one child");
        }
        // The leaf list is the in-order sequence of leaves.
        assert_eq!(self.first_leaf, leaves[0], "first leaf");
        assert_eq!(self.last_leaf, *leaves.last().expect("a leaf"), "last leaf");
        for (k, &l) in leaves.iter().enumerate() {
            let leaf = &self.leaves[l as usize];
            assert_eq!(leaf.prev, if k == 0 { NONE } else { leaves[k - 1] }, "prev of leaf {l}");
            assert_eq!(leaf.next, leaves.get(k + 1).copied().unwrap_or(NONE), "next of leaf {l}");
        }
        // Order, and each entry's score equals its element's.
        for w in order.windows(2) {
            let ((s0, a), (s1, b)) = (w[0], w[1]);
            assert!(s0 < s1 || (s0 == s1 && self.member(a) < self.member(b)), "elements {a} and {b} out of order");
        }
        let mut live = std::collections::HashSet::new();
        let (mut long, mut long_bytes) = (0usize, 0usize);
        for &(s, id) in &order {
            assert!(!s.is_nan(), "element {id} has a NaN score");
            assert_eq!(s.to_bits(), self.score(id).to_bits(), "entry score of element {id}");
            assert!(live.insert(id), "element {id} in the tree twice");
            let c = &self.cold[id as usize];
            assert_ne!(c.len, VACANT, "freed id {id} in the tree");
            if c.len == LONG {
                assert!(self.member(id).len() > INLINE_MEMBER, "short member of {id} kept out of line");
                long += 1;
                long_bytes += self.member(id).len();
            } else {
                assert!(usize::from(c.len) <= INLINE_MEMBER, "element {id} member length {}", c.len);
            }
        }
        assert_eq!(long + self.long_free.len(), self.long.len(), "long member slots leaked");
        assert_eq!(long_bytes, self.long_bytes, "long member byte count");
        for &s in &self.long_free {
            assert!(self.long[s as usize].is_empty(), "free long slot {s} holds a member");
        }
        // Free ids, leaves and inner nodes account for the rest.
        let mut free = 0usize;
        let mut f = self.free;
        while f != NONE {
            assert_eq!(self.cold[f as usize].len, VACANT, "free id {f} looks live");
            free += 1;
            assert!(free <= self.cold.len(), "free id list cycles");
            f = self.cold[f as usize].tag as u32;
        }
        assert_eq!(free + live.len(), self.cold.len(), "ids leaked");
        let mut free = 0usize;
        let mut f = self.free_leaf;
        while f != NONE {
            assert!(!leaves.contains(&f), "free leaf {f} is in the tree");
            free += 1;
            assert!(free <= self.leaves.len(), "free leaf list cycles");
            f = self.leaves[f as usize].next;
        }
        assert_eq!(free + leaves.len(), self.leaves.len(), "leaves leaked");
        let mut free = 0usize;
        let mut f = self.free_inner;
        while f != NONE {
            free += 1;
            assert!(free <= self.inners.len(), "free inner list cycles");
            f = self.inners[f as usize].children[0];
        }
        assert_eq!(free + inners, self.inners.len(), "inner nodes leaked");
    }

    /// Walks the subtree of `node` at inner level `level` (`== depth`: a
    /// leaf) in order; returns its element count and minimum.
    #[cfg(test)]
    fn check_node(
        &self,
        node: u32,
        level: usize,
        order: &mut Vec<(f64, u32)>,
        leaves: &mut Vec<u32>,
        inners: &mut usize,
    ) -> (u32, Option<(f64, u32)>) {
        if level == self.depth {
            let leaf = &self.leaves[node as usize];
            assert!(leaf.len as usize <= LEAF_CAP, "leaf {node} overfull");
            assert!(leaf.len > 0 || self.depth == 0, "empty leaf {node} below the root");
            leaves.push(node);
            for i in 0..leaf.len as usize {
                order.push((leaf.scores[i], leaf.ids[i]));
            }
            return (leaf.len, (leaf.len > 0).then(|| (leaf.scores[0], leaf.ids[0])));
        }
        *inners += 1;
        let inner = &self.inners[node as usize];
        assert!((1..=INNER_CAP).contains(&(inner.len as usize)), "inner {node} has {} children", inner.len);
        let mut total = 0u32;
        let mut min = None;
        for c in 0..inner.len as usize {
            let (n, m) = self.check_node(inner.children[c], level + 1, order, leaves, inners);
            assert_eq!(inner.counts[c], n, "count of child {c} of inner {node}");
            let m = m.expect("a non-empty child");
            if c == 0 {
                min = Some(m);
            } else {
                assert_eq!(
                    (inner.sep_scores[c].to_bits(), inner.sep_ids[c]),
                    (m.0.to_bits(), m.1),
                    "separator {c} of inner {node}"
                );
            }
            total += n;
        }
        (total, min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list_members(t: &OrderTree) -> Vec<(Vec<u8>, f64)> {
        let mut out = Vec::new();
        let mut p = t.first();
        while let Some(q) = p {
            let id = t.id_at(q);
            out.push((t.member(id).to_vec(), t.score(id)));
            p = t.next(q);
        }
        out
    }

    /// Checks `rank`, `by_rank` and backward iteration against a forward walk.
    fn assert_ranks_by_walk(t: &OrderTree) {
        let mut p = t.first();
        let mut want = 0u64;
        let mut fwd = Vec::new();
        while let Some(q) = p {
            want += 1;
            let id = t.id_at(q);
            assert_eq!(t.rank(id), want, "rank of element {id}");
            assert_eq!(t.by_rank(want), Some(q), "position of rank {want}");
            fwd.push(q);
            p = t.next(q);
        }
        assert_eq!(want, t.len());
        let mut back = Vec::new();
        let mut p = t.last();
        while let Some(q) = p {
            back.push(q);
            p = t.prev(q);
        }
        back.reverse();
        assert_eq!(back, fwd, "backward walk");
    }

    #[test]
    fn zset_tree_insert_delete_rank() {
        let mut t = OrderTree::new();
        let mut ids = Vec::new();
        for i in 0..2000u32 {
            let score = f64::from(i % 17);
            let member = format!("m{}", i.wrapping_mul(2_654_435_761));
            ids.push((t.insert(score, member.as_bytes(), u64::from(i)), member));
            if i % 97 == 0 {
                t.check_invariants();
            }
        }
        t.check_invariants();
        assert!(t.depth >= 2, "depth {}", t.depth);
        assert_ranks_by_walk(&t);
        assert_eq!(t.by_rank(0), None);
        assert_eq!(t.by_rank(2001), None);
        for (k, (id, m)) in ids.iter().enumerate() {
            if k % 3 == 0 {
                assert_eq!(t.delete(*id).member, m.as_bytes());
                if k % 51 == 0 {
                    t.check_invariants();
                }
            }
        }
        t.check_invariants();
        assert_ranks_by_walk(&t);
        assert_eq!(t.len(), 2000 - 667);
        // Freed ids are reused.
        let before = t.cold.len();
        t.insert(1.0, b"again", 0);
        assert_eq!(t.cold.len(), before);
        t.check_invariants();
    }

    #[test]
    fn zset_tree_shrinks_to_empty_and_regrows() {
        // Deleting in every order (front, back, random) removes leaves and
        // inner nodes, merges leaves and collapses the root, down to empty.
        for order in 0..3u64 {
            let mut t = OrderTree::new();
            let mut ids: Vec<u32> = (0..3000u32).map(|i| t.insert(f64::from(i), &i.to_be_bytes(), 0)).collect();
            match order {
                0 => {}
                1 => ids.reverse(),
                _ => fastrand::Rng::with_seed(order).shuffle(&mut ids),
            }
            for (k, id) in ids.into_iter().enumerate() {
                t.delete(id);
                if k % 211 == 0 {
                    t.check_invariants();
                    assert_ranks_by_walk(&t);
                }
            }
            t.check_invariants();
            assert_eq!((t.len(), t.depth, t.leaves.len(), t.inners.len()), (0, 0, 1, 0));
            assert!(t.first().is_none() && t.last().is_none());
            t.insert(1.0, b"x", 0);
            t.check_invariants();
            assert_ranks_by_walk(&t);
        }
    }

    #[test]
    fn zset_tree_thinning_merges_inner_nodes() {
        // Grow, then keep one element in every few hundred in order (one
        // per lowest inner node, so leaves cannot merge: they have
        // different parents), many times over: without merging inner
        // nodes, such thin chains would pile up levels.
        let mut t = OrderTree::new();
        let mut rng = fastrand::Rng::with_seed(12);
        for round in 0..12u32 {
            for i in 0..20_000u32 {
                t.insert(rng.f64(), format!("{round}:{i}").as_bytes(), 0);
            }
            let mut ids = Vec::new();
            let mut p = t.first();
            while let Some(q) = p {
                ids.push(t.id_at(q));
                p = t.next(q);
            }
            for (k, id) in ids.into_iter().enumerate() {
                if k % 300 != 0 {
                    t.delete(id);
                }
            }
            t.check_invariants();
            // ~67 elements: two leaves' worth; without inner merges the
            // thinned tree kept depth 3.
            assert!(t.len() < (LEAF_CAP * INNER_CAP) as u64);
            assert!(t.depth <= 2, "depth {} with {} elements after round {round}", t.depth, t.len());
        }
        assert_ranks_by_walk(&t);
    }

    #[test]
    fn zset_tree_ascending_inserts_fill_leaves() {
        let mut t = OrderTree::new();
        for i in 0..(LEAF_CAP as u32 * 100) {
            t.insert(f64::from(i), &i.to_be_bytes(), 0);
        }
        t.check_invariants();
        assert_eq!(t.leaves.len(), 100, "appending leaves every leaf full");
        let mut t = OrderTree::new();
        for i in 0..(LEAF_CAP as u32 * 100) {
            t.insert(-f64::from(i), &i.to_be_bytes(), 0);
        }
        t.check_invariants();
        assert!(t.leaves.len() <= 200, "descending inserts leave leaves at least half full");
    }

    #[test]
    fn zset_tree_moves_match_a_sorted_model() {
        // Score updates over few distinct scores, so moves land among equal
        // scores, next to their old place (in place), at both ends, across
        // leaves, and at separators.
        for seed in 0..6u64 {
            let mut t = OrderTree::new();
            let mut rng = fastrand::Rng::with_seed(seed + 100);
            let n = [1usize, 2, 3, 40, 700, 3000][seed as usize];
            let mut ids = Vec::new();
            for i in 0..n {
                ids.push(t.insert(f64::from(rng.u8(..9)), format!("k{i}").as_bytes(), i as u64));
            }
            for step in 0..3000 {
                let id = ids[rng.usize(..ids.len())];
                let score = match rng.u8(..5) {
                    0 => -1.0 - f64::from(rng.u8(..2)),
                    1 => 10.0 + f64::from(rng.u8(..2)),
                    2 => t.score(id) + 0.001,
                    _ => f64::from(rng.u8(..9)),
                };
                t.update_score(id, score);
                assert_eq!(t.score(id), score);
                if step % 97 == 0 || n <= 40 {
                    t.check_invariants();
                    assert_ranks_by_walk(&t);
                }
            }
            t.check_invariants();
            assert_ranks_by_walk(&t);
            let mut want: Vec<(Vec<u8>, f64)> = ids.iter().map(|&i| (t.member(i).to_vec(), t.score(i))).collect();
            want.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
            assert_eq!(list_members(&t), want);
        }
    }

    #[test]
    fn zset_tree_is_compact() {
        // The per-member memory estimate in the `zset` module docs relies on this.
        assert_eq!(std::mem::size_of::<Cold>(), 32);
        assert_eq!(std::mem::align_of::<Cold>(), 32); // never straddles a cache line
        assert_eq!(std::mem::size_of::<Leaf>(), 512);
        assert_eq!(std::mem::size_of::<Inner>(), 384);
        let mut t = OrderTree::new();
        let mut rng = fastrand::Rng::with_seed(9);
        let n = 50_000u32;
        for i in 0..n {
            t.insert(rng.f64(), &i.to_le_bytes(), 0);
        }
        // Random inserts leave leaves ~70 % full.
        let per_leaf = f64::from(n) / (t.leaves.len() - 1) as f64;
        assert!(per_leaf > 0.6 * LEAF_CAP as f64, "{per_leaf} entries per leaf");
        assert!(t.inners.len() * 8 < t.leaves.len(), "{} inner nodes for {} leaves", t.inners.len(), t.leaves.len());
        t.check_invariants();
    }

    #[test]
    fn zset_tree_members_inline_and_long() {
        // Members around the inline limit, with equal scores so ties
        // compare the member bytes wherever they live.
        let mut t = OrderTree::new();
        let mut want = Vec::new();
        for i in 0..2000u32 {
            let len = (i as usize * 7) % (INLINE_MEMBER + 12);
            let mut m = vec![b'a' + (i % 26) as u8; len];
            m.extend_from_slice(&i.to_be_bytes());
            let id = t.insert(f64::from(i % 3), &m, u64::from(i));
            assert_eq!(t.member(id), m.as_slice());
            want.push((m, f64::from(i % 3)));
        }
        t.check_invariants();
        let long = t.cold.iter().filter(|c| c.len == LONG).count();
        assert!(long > 500 && long < 1500, "long {long}");
        want.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        assert_eq!(list_members(&t), want);
        while let Some(p) = t.first() {
            let r = t.delete(t.id_at(p));
            assert_eq!(r.member, want.remove(0).0);
        }
        t.check_invariants();
        assert_eq!(t.long_bytes, 0);
        assert_eq!(t.long_free.len(), t.long.len());
        let slots = t.long.len();
        t.insert(0.0, &[b'x'; 40], 0);
        assert_eq!(t.long.len(), slots, "freed long slots are reused");
        t.check_invariants();
    }

    #[test]
    fn zset_tree_update_score_keeps_id() {
        let mut t = OrderTree::new();
        let a = t.insert(1.0, b"a", 0);
        let b = t.insert(2.0, b"b", 0);
        let c = t.insert(3.0, b"c", 0);
        t.update_score(a, 2.5); // moves after b
        t.check_invariants();
        assert_eq!(list_members(&t).iter().map(|e| e.0.clone()).collect::<Vec<_>>(), [b"b", b"a", b"c"]);
        t.update_score(c, 0.0);
        t.check_invariants();
        assert_eq!(t.rank(c), 1);
        assert_eq!(t.rank(b), 2);
        t.update_score(b, 2.1); // stays in place
        t.check_invariants();
        assert_eq!(t.score(b), 2.1);
        assert_eq!(t.rank(a), 3);
    }

    #[test]
    fn zset_tree_delete_ranges() {
        let mut t = OrderTree::new();
        for i in 0..1000u32 {
            t.insert(f64::from(i), format!("{i:04}").as_bytes(), 0);
        }
        let gone = t.delete_range_by_rank(11, 20);
        t.check_invariants();
        assert_eq!(gone.len(), 10);
        assert_eq!(gone[0].1.member, b"0010");
        let r = ScoreRange { min: 50.0, max: 600.0, min_exclusive: true, max_exclusive: false };
        let gone = t.delete_range_by_score(&r);
        t.check_invariants();
        assert_ranks_by_walk(&t);
        assert_eq!(gone.len(), 550);
        assert_eq!(gone[0].1.score, 51.0);
        assert_eq!(t.len(), 440);
    }
}
