//! The ordered half of a sorted set: a skiplist with per-link spans, after
//! Redis `t_zset.c` (`zslInsert`, `zslDelete`, `zslUpdateScore`,
//! `zslGetRank`, `zslGetElementByRank`, `zsl{First,Last}InRange`, the lex
//! variants and the `zslDeleteRangeBy*` family).
//!
//! Elements are ordered by `(score, member)`: scores compare as `f64` (NaN is
//! never stored), ties compare member bytes like `memcmp` with the shorter
//! prefix first (which is exactly `<[u8] as Ord>`).
//!
//! Every forward link carries a `span`: the number of level-0 steps it skips.
//! The 1-based rank of a node is the sum of the spans followed from the
//! header to reach it. Spans are stored as `u32` (an arena index is a `u32`,
//! so no list can hold more than `u32::MAX - 1` nodes); every rank
//! computation is done in `u64` (compare redis#9249, where rank arithmetic in
//! a narrower type overflowed). A null forward link's span is the number of
//! nodes after its owner, as in Redis.
//!
//! # Node ownership
//!
//! Nodes live in `nodes: Vec<Node>` and are referred to by `u32` indices.
//! Index 0 is the header: it holds no element, has [`MAX_LEVEL`] levels, and
//! is never freed, so index 0 doubles as the null link (no forward link and
//! no backward link ever points at the header). A freed index is pushed on a
//! free list (threaded through the `backward` field of the freed nodes), its
//! data is dropped, and no link refers to it until [`SkipList::insert`]
//! hands it out again. The owner of a skiplist (the `ZSet` index) may hold
//! indices of live nodes only; [`SkipList::update_score`] keeps a node's
//! index stable, so such references stay valid across score updates.
//!
//! # Node layout
//!
//! The arena grows by doubling and, once it is a few megabytes, asks for
//! transparent huge pages (the `huge_pages` module): searches touch random
//! nodes, so they also miss the TLB. Indices stay stable when it grows.
//!
//! A node is one 64-byte, 64-byte-aligned slot of the arena, so each step
//! of a search touches one cache line. The two lowest levels (forward index
//! and span, `u32` each) live inline: 94% of nodes have at most two levels
//! (p = 1/4). A node of at most two levels whose member has at most
//! [`INLINE_MEMBER`] bytes keeps the member inline too, so a lookup that
//! compares members reads no other memory. Any other node keeps its higher
//! levels and its member in one boxed byte slice: `height - 2` levels of 8
//! bytes each (little-endian `u32` forward, span), then the member.

use super::range::{LexRange, ScoreRange};
use super::Removed;

/// Maximum number of levels of a node (Redis `ZSKIPLIST_MAXLEVEL`).
pub(crate) const MAX_LEVEL: usize = 32;

/// Index of the header node, also the null link.
const NIL: u32 = 0;

/// Bytes taken by one level (forward `u32` + span `u32`) in a node's boxed part.
const LEVEL_BYTES: usize = 8;

/// Levels stored inline in [`Node`].
const INLINE_LEVELS: usize = 2;

/// Longest member stored inline in a node (of at most `INLINE_LEVELS` levels).
pub(crate) const INLINE_MEMBER: usize = 22;

/// Bytes of a node's boxed part taken by the levels of a node of `height` levels.
#[inline]
fn heap_level_bytes(height: usize) -> usize {
    height.saturating_sub(INLINE_LEVELS) * LEVEL_BYTES
}

/// Where a node keeps its member (and, for a tall node, its higher levels).
#[derive(Debug)]
enum Payload {
    /// The member bytes `bytes[..len]`; the node has at most `INLINE_LEVELS` levels.
    Inline { len: u8, bytes: [u8; INLINE_MEMBER] },
    /// Levels from `INLINE_LEVELS` up (`LEVEL_BYTES` each), then the member bytes.
    Boxed(Box<[u8]>),
}

/// One skiplist node (or the header, or a freed slot): one cache line.
#[derive(Debug)]
#[repr(align(64))]
struct Node {
    /// Forward index and span of levels 0 and 1: `[fwd0, span0, fwd1, span1]`.
    inline: [u32; 2 * INLINE_LEVELS],
    /// The element's score (never NaN).
    score: f64,
    /// Caller-supplied tag (the engine stores the member record's location).
    tag: u64,
    /// Previous node at level 0, `NIL` for the first node. For a freed slot:
    /// the next free slot (`NIL` ends the free list).
    backward: u32,
    /// Number of levels, `1..=MAX_LEVEL`; 0 for a freed slot.
    height: u8,
    /// The member, and the levels above `INLINE_LEVELS`.
    payload: Payload,
}

#[inline]
fn read_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

#[inline]
fn write_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Hints the CPU to load `node`'s cache line (no effect on results).
#[inline(always)]
fn prefetch(node: Option<&Node>) {
    #[cfg(target_arch = "x86_64")]
    if let Some(n) = node {
        // SAFETY: SSE is part of the x86_64 baseline, so the instruction
        // exists; a prefetch never faults and reads nothing observable, and
        // the address is that of a live arena slot anyway.
        unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>((n as *const Node).cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = node;
}

impl Node {
    /// A node of `height` levels holding `member`, all links null.
    fn new(height: usize, member: &[u8], score: f64, tag: u64) -> Node {
        let payload = if height <= INLINE_LEVELS && member.len() <= INLINE_MEMBER {
            let mut bytes = [0u8; INLINE_MEMBER];
            bytes[..member.len()].copy_from_slice(member);
            Payload::Inline { len: member.len() as u8, bytes }
        } else {
            let mut data = vec![0u8; heap_level_bytes(height) + member.len()].into_boxed_slice();
            data[heap_level_bytes(height)..].copy_from_slice(member);
            Payload::Boxed(data)
        };
        Node { inline: [0; 2 * INLINE_LEVELS], score, tag, backward: NIL, height: height as u8, payload }
    }

    /// A freed slot whose free-list successor is `next_free`.
    fn vacant(next_free: u32) -> Node {
        let payload = Payload::Inline { len: 0, bytes: [0; INLINE_MEMBER] };
        Node { inline: [0; 2 * INLINE_LEVELS], score: 0.0, tag: 0, backward: next_free, height: 0, payload }
    }

    /// Heap bytes owned by the node beyond its arena slot.
    #[inline]
    fn boxed_bytes(&self) -> usize {
        match &self.payload {
            Payload::Inline { .. } => 0,
            Payload::Boxed(b) => b.len(),
        }
    }

    /// The boxed part; only nodes taller than `INLINE_LEVELS` read levels from it.
    #[inline]
    fn boxed(&self) -> &[u8] {
        match &self.payload {
            Payload::Boxed(b) => b,
            Payload::Inline { .. } => &[],
        }
    }

    #[inline]
    fn boxed_mut(&mut self) -> &mut [u8] {
        match &mut self.payload {
            Payload::Boxed(b) => b,
            Payload::Inline { .. } => &mut [],
        }
    }

    #[inline]
    fn forward(&self, level: usize) -> u32 {
        if level < INLINE_LEVELS {
            return self.inline[2 * level];
        }
        read_u32(self.boxed(), (level - INLINE_LEVELS) * LEVEL_BYTES)
    }

    #[inline]
    fn span(&self, level: usize) -> u32 {
        if level < INLINE_LEVELS {
            return self.inline[2 * level + 1];
        }
        read_u32(self.boxed(), (level - INLINE_LEVELS) * LEVEL_BYTES + 4)
    }

    #[inline]
    fn set_forward(&mut self, level: usize, to: u32) {
        if level < INLINE_LEVELS {
            self.inline[2 * level] = to;
            return;
        }
        write_u32(self.boxed_mut(), (level - INLINE_LEVELS) * LEVEL_BYTES, to);
    }

    #[inline]
    fn set_span(&mut self, level: usize, span: u32) {
        if level < INLINE_LEVELS {
            self.inline[2 * level + 1] = span;
            return;
        }
        write_u32(self.boxed_mut(), (level - INLINE_LEVELS) * LEVEL_BYTES + 4, span);
    }

    #[inline]
    fn member(&self) -> &[u8] {
        match &self.payload {
            Payload::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Payload::Boxed(b) => &b[heap_level_bytes(self.height as usize)..],
        }
    }
}

/// A skiplist of `(score, member, tag)` ordered by `(score, member)`.
///
/// Members must be unique; the caller (the `ZSet`) guarantees it.
#[derive(Debug)]
pub(crate) struct SkipList {
    nodes: Vec<Node>,
    /// Head of the free list of slots, `NIL` when empty.
    free: u32,
    /// Last node, `NIL` when empty.
    tail: u32,
    /// Number of elements.
    len: u32,
    /// Number of levels in use (at least 1).
    level: usize,
    /// Bytes of the boxed parts of live nodes and the header (for memory
    /// accounting).
    boxed_bytes: usize,
    rng: fastrand::Rng,
}

impl Default for SkipList {
    fn default() -> Self {
        SkipList::new()
    }
}

impl SkipList {
    /// An empty skiplist.
    pub(crate) fn new() -> SkipList {
        SkipList::with_rng(fastrand::Rng::new())
    }

    /// An empty skiplist drawing node levels from `rng` (for deterministic tests).
    pub(crate) fn with_rng(rng: fastrand::Rng) -> SkipList {
        let header = Node::new(MAX_LEVEL, &[], 0.0, 0);
        let boxed_bytes = header.boxed_bytes();
        SkipList { nodes: vec![header], free: NIL, tail: NIL, len: 0, level: 1, boxed_bytes, rng }
    }

    /// Number of elements.
    #[inline]
    pub(crate) fn len(&self) -> u64 {
        u64::from(self.len)
    }

    /// Approximate heap bytes owned by the list.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>() + self.boxed_bytes
    }

    #[inline]
    fn node(&self, idx: u32) -> &Node {
        &self.nodes[idx as usize]
    }

    #[inline]
    fn node_mut(&mut self, idx: u32) -> &mut Node {
        &mut self.nodes[idx as usize]
    }

    /// Member bytes of live node `idx`.
    #[inline]
    pub(crate) fn member(&self, idx: u32) -> &[u8] {
        self.node(idx).member()
    }

    /// Score of live node `idx`.
    #[inline]
    pub(crate) fn score(&self, idx: u32) -> f64 {
        self.node(idx).score
    }

    /// Tag of live node `idx`.
    #[inline]
    pub(crate) fn tag(&self, idx: u32) -> u64 {
        self.node(idx).tag
    }

    /// Replaces the tag of live node `idx`.
    #[inline]
    pub(crate) fn set_tag(&mut self, idx: u32, tag: u64) {
        self.node_mut(idx).tag = tag;
    }

    /// First node, if any.
    #[inline]
    pub(crate) fn first(&self) -> Option<u32> {
        Some(self.node(NIL).forward(0)).filter(|&i| i != NIL)
    }

    /// Last node, if any.
    #[inline]
    pub(crate) fn last(&self) -> Option<u32> {
        Some(self.tail).filter(|&i| i != NIL)
    }

    /// The node after `idx`, if any.
    #[inline]
    pub(crate) fn next(&self, idx: u32) -> Option<u32> {
        Some(self.node(idx).forward(0)).filter(|&i| i != NIL)
    }

    /// The node before `idx`, if any.
    #[inline]
    pub(crate) fn prev(&self, idx: u32) -> Option<u32> {
        Some(self.node(idx).backward).filter(|&i| i != NIL)
    }

    /// `x`'s forward link at level `i`, after asking the CPU to fetch the
    /// node where the search continues if it stops at `x` on this level
    /// (`x`'s link one level down). Both candidates then load in parallel,
    /// instead of the level below starting a second cache miss only once
    /// this level's comparison has failed. For searches that compare node
    /// contents; walks by rank decide from spans held in `x` and skip it
    /// (measured: it only slowed `ZREVRANGE 0 9`, whose path is cached).
    #[inline(always)]
    fn step(&self, x: u32, i: usize) -> u32 {
        let n = self.node(x);
        if i > 0 {
            prefetch(self.nodes.get(n.forward(i - 1) as usize));
        }
        n.forward(i)
    }

    /// Whether node `a` orders strictly before node `b`.
    #[inline]
    fn before(&self, a: u32, b: u32) -> bool {
        let (na, nb) = (self.node(a), self.node(b));
        na.score < nb.score || (na.score == nb.score && na.member() < nb.member())
    }

    /// Redis `zslRandomLevel`: 1 + a geometric variable with p = 1/4.
    fn random_level(&mut self) -> usize {
        let mut level = 1;
        while level < MAX_LEVEL && self.rng.u32(..) < u32::MAX / 4 {
            level += 1;
        }
        level
    }

    /// Takes a slot for a new node, reusing a freed one when possible.
    fn alloc(&mut self, height: usize, member: &[u8], score: f64, tag: u64) -> u32 {
        let node = Node::new(height, member, score, tag);
        self.boxed_bytes += node.boxed_bytes();
        if self.free != NIL {
            let idx = self.free;
            self.free = self.node(idx).backward;
            *self.node_mut(idx) = node;
            idx
        } else {
            let idx = u32::try_from(self.nodes.len()).ok().filter(|&i| i != u32::MAX).expect("sorted set too large");
            if self.nodes.len() == self.nodes.capacity() {
                self.grow();
            }
            self.nodes.push(node);
            idx
        }
    }

    /// Doubles the arena's capacity (as `Vec` would), asking for huge pages
    /// (see the `huge_pages` module) before the new block is first touched
    /// (`Vec`'s own growth would copy into it first).
    fn grow(&mut self) {
        let new_cap = (self.nodes.capacity() * 2).max(4);
        let mut nodes: Vec<Node> = Vec::with_capacity(new_cap);
        super::huge_pages::advise(nodes.as_ptr().cast(), new_cap * std::mem::size_of::<Node>());
        nodes.append(&mut self.nodes);
        self.nodes = nodes;
    }

    /// Returns an unlinked slot to the free list, handing back its contents.
    fn release(&mut self, idx: u32) -> Removed {
        let free = self.free;
        let node = std::mem::replace(self.node_mut(idx), Node::vacant(free));
        self.free = idx;
        self.boxed_bytes -= node.boxed_bytes();
        Removed { member: node.member().to_vec(), score: node.score, tag: node.tag }
    }

    /// Inserts an element that is not yet present; returns its node index.
    ///
    /// # Panics
    ///
    /// If `score` is NaN, or if the list already holds `u32::MAX - 1` nodes.
    pub(crate) fn insert(&mut self, score: f64, member: &[u8], tag: u64) -> u32 {
        assert!(!score.is_nan(), "NaN score in a sorted set");
        let height = self.random_level();
        let idx = self.alloc(height, member, score, tag);
        self.link(idx);
        idx
    }

    /// Links allocated node `idx` at its ordered position (`zslInsert`).
    fn link(&mut self, idx: u32) {
        let mut update = [NIL; MAX_LEVEL];
        let mut rank = [0u64; MAX_LEVEL];
        let mut x = NIL;
        for i in (0..self.level).rev() {
            rank[i] = if i == self.level - 1 { 0 } else { rank[i + 1] };
            loop {
                let f = self.step(x, i);
                if f != NIL && self.before(f, idx) {
                    rank[i] += u64::from(self.node(x).span(i));
                    x = f;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        self.splice(idx, update, rank);
    }

    /// Links allocated node `idx` after `update[i]` at each level, given
    /// those predecessors (at the list's levels) and their ranks.
    fn splice(&mut self, idx: u32, mut update: [u32; MAX_LEVEL], mut rank: [u64; MAX_LEVEL]) {
        let height = self.node(idx).height as usize;
        if height > self.level {
            let len = self.len;
            for i in self.level..height {
                rank[i] = 0;
                update[i] = NIL;
                self.node_mut(NIL).set_span(i, len);
            }
            self.level = height;
        }
        for i in 0..height {
            let u = update[i];
            let (u_fwd, u_span) = (self.node(u).forward(i), u64::from(self.node(u).span(i)));
            let skipped = rank[0] - rank[i];
            let n = self.node_mut(idx);
            n.set_forward(i, u_fwd);
            n.set_span(i, (u_span - skipped) as u32);
            let un = self.node_mut(u);
            un.set_forward(i, idx);
            un.set_span(i, (skipped + 1) as u32);
        }
        for (i, &u) in update.iter().enumerate().take(self.level).skip(height) {
            let s = self.node(u).span(i);
            self.node_mut(u).set_span(i, s + 1);
        }
        self.node_mut(idx).backward = update[0];
        let f0 = self.node(idx).forward(0);
        if f0 != NIL {
            self.node_mut(f0).backward = idx;
        } else {
            self.tail = idx;
        }
        self.len += 1;
    }

    /// For live node `idx`, the last node before it at every level.
    fn find_update(&self, idx: u32) -> [u32; MAX_LEVEL] {
        let mut update = [NIL; MAX_LEVEL];
        let mut x = NIL;
        for i in (0..self.level).rev() {
            loop {
                let f = self.step(x, i);
                if f != NIL && self.before(f, idx) {
                    x = f;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        debug_assert_eq!(self.node(x).forward(0), idx, "node not found at its ordered position");
        update
    }

    /// Unlinks node `idx` given its predecessors (`zslDeleteNode`).
    fn unlink(&mut self, idx: u32, update: &[u32; MAX_LEVEL]) {
        for (i, &u) in update.iter().enumerate().take(self.level) {
            let (u_fwd, u_span) = (self.node(u).forward(i), self.node(u).span(i));
            if u_fwd == idx {
                let (x_fwd, x_span) = (self.node(idx).forward(i), self.node(idx).span(i));
                let un = self.node_mut(u);
                un.set_span(i, u_span + x_span - 1);
                un.set_forward(i, x_fwd);
            } else {
                self.node_mut(u).set_span(i, u_span - 1);
            }
        }
        let (f0, back) = (self.node(idx).forward(0), self.node(idx).backward);
        if f0 != NIL {
            self.node_mut(f0).backward = back;
        } else {
            self.tail = back;
        }
        while self.level > 1 && self.node(NIL).forward(self.level - 1) == NIL {
            self.level -= 1;
        }
        self.len -= 1;
    }

    /// Deletes live node `idx` and frees its slot.
    pub(crate) fn delete(&mut self, idx: u32) -> Removed {
        let update = self.find_update(idx);
        self.unlink(idx, &update);
        self.release(idx)
    }

    /// Changes the score of live node `idx` (`zslUpdateScore`). The node keeps
    /// its index; it is only moved when its position would change.
    pub(crate) fn update_score(&mut self, idx: u32, score: f64) {
        assert!(!score.is_nan(), "NaN score in a sorted set");
        let (back, f0) = (self.node(idx).backward, self.node(idx).forward(0));
        if (back == NIL || self.score(back) < score) && (f0 == NIL || self.score(f0) > score) {
            self.node_mut(idx).score = score;
            return;
        }
        let (old_update, new_update, new_rank) = self.find_move(idx, score);
        self.unlink(idx, &old_update);
        self.node_mut(idx).score = score;
        self.splice(idx, new_update, new_rank);
    }

    /// For moving live node `idx` to `score`: its predecessors at every
    /// level, and the predecessors and ranks where it is to be linked, as
    /// they will be once it is unlinked.
    ///
    /// Both searches run in one loop, a step of each per turn: each step is
    /// a likely cache miss that depends only on its own search's previous
    /// step, so the CPU overlaps the two chains instead of waiting for two
    /// descents in a row (measured in the `zset` bench). The second search
    /// runs on the list that still holds `idx`: it looks through `idx`
    /// (a link to `idx` counts as a link to `idx`'s successor), and its
    /// ranks, which count `idx` when it lies before, are corrected at the
    /// end.
    fn find_move(&self, idx: u32, score: f64) -> ([u32; MAX_LEVEL], [u32; MAX_LEVEL], [u64; MAX_LEVEL]) {
        let member = self.member(idx);
        let goes_before = |f: u32| {
            let n = self.node(f);
            n.score < score || (n.score == score && n.member() < member)
        };
        let mut old_update = [NIL; MAX_LEVEL];
        let (mut new_update, mut new_rank) = ([NIL; MAX_LEVEL], [0u64; MAX_LEVEL]);
        let (mut xa, mut ia, mut a_done) = (NIL, self.level - 1, false);
        let (mut xb, mut ib, mut b_done, mut rank_b) = (NIL, self.level - 1, false, 0u64);
        while !(a_done && b_done) {
            if !a_done {
                let f = self.step(xa, ia);
                if f != NIL && self.before(f, idx) {
                    xa = f;
                } else {
                    old_update[ia] = xa;
                    a_done = ia == 0;
                    ia = ia.saturating_sub(1);
                }
            }
            if !b_done {
                let mut f = self.step(xb, ib);
                let mut span = u64::from(self.node(xb).span(ib));
                if f == idx {
                    span += u64::from(self.node(idx).span(ib));
                    f = self.node(idx).forward(ib);
                }
                if f != NIL && goes_before(f) {
                    rank_b += span;
                    xb = f;
                } else {
                    new_update[ib] = xb;
                    new_rank[ib] = rank_b;
                    b_done = ib == 0;
                    ib = ib.saturating_sub(1);
                }
            }
        }
        debug_assert_eq!(self.node(old_update[0]).forward(0), idx, "node not found at its ordered position");
        for i in 0..self.level {
            if new_update[i] != NIL && self.before(idx, new_update[i]) {
                new_rank[i] -= 1;
            }
        }
        (old_update, new_update, new_rank)
    }

    /// 1-based rank of live node `idx` (`zslGetRank`): see
    /// `SkipList::rank_meeting_at`. The many nodes of the lowest levels
    /// are the ones that miss the cache; meeting at a third of the levels
    /// splits those misses between the two walks (at 1M members, meeting
    /// levels 2 to 5 measured alike within noise).
    pub(crate) fn rank(&self, idx: u32) -> u64 {
        self.rank_meeting_at(idx, self.level / 3)
    }

    /// 1-based rank of live node `idx`, from two independent walks that
    /// meet on level `k` (clamped to the list's top level) at `s`, the
    /// first node from `idx` on (`idx` included) taller than `k`, or the
    /// end of the list:
    ///
    /// - from the header down to level `k`, comparing `(score, member)`, to
    ///   `p`, the last node before `idx` at level `k`, whose level-`k` link
    ///   leads to `s`;
    /// - from `idx` forward, always along the current node's top link, to
    ///   `s`. A top link never skips a node as tall as its owner, so this
    ///   walk reaches `s` without comparing anything.
    ///
    /// Then `rank(idx) = rank(p) + span(p, k) - (rank(s) - rank(idx))`,
    /// where the end of the list has rank `len` (a null link's span counts
    /// the nodes after its owner). The walks are interleaved step by step:
    /// each step is a likely cache miss that depends only on its own
    /// walk's previous one, so the CPU overlaps the two chains instead of
    /// waiting for one descent of every level (measured in the `zset`
    /// bench). Comparing both score and member tells equal scores apart
    /// (redis#3081).
    fn rank_meeting_at(&self, idx: u32, k: usize) -> u64 {
        let k = k.min(self.level - 1);
        // Top-down walk: at `x` on level `i`.
        let (mut x, mut i, mut rank_x) = (NIL, self.level - 1, 0u64);
        let mut top_done = false;
        // Bottom-up walk: at `y`, `dist` = rank(y) - rank(idx).
        let (mut y, mut dist) = (idx, 0u64);
        let mut bottom_done = self.node(idx).height as usize > k;
        while !(top_done && bottom_done) {
            if !top_done {
                let f = self.step(x, i);
                if f != NIL && self.before(f, idx) {
                    rank_x += u64::from(self.node(x).span(i));
                    x = f;
                } else if i == k {
                    top_done = true;
                } else {
                    i -= 1;
                }
            }
            if !bottom_done {
                let n = self.node(y);
                let top = n.height as usize - 1;
                dist += u64::from(n.span(top));
                y = n.forward(top);
                bottom_done = y == NIL || self.node(y).height as usize > k;
            }
        }
        debug_assert_eq!(self.node(x).forward(k), y, "walks met at different nodes");
        let rank_s = rank_x + u64::from(self.node(x).span(k));
        debug_assert!(rank_s > dist, "rank of a node that is not in the list");
        rank_s - dist
    }

    /// The node at 1-based `rank` (`zslGetElementByRank`), if any.
    pub(crate) fn by_rank(&self, rank: u64) -> Option<u32> {
        let mut traversed = 0u64;
        let mut x = NIL;
        for i in (0..self.level).rev() {
            loop {
                let f = self.node(x).forward(i);
                let span = u64::from(self.node(x).span(i));
                if f != NIL && traversed + span <= rank {
                    traversed += span;
                    x = f;
                } else {
                    break;
                }
            }
            if traversed == rank {
                return Some(x).filter(|&i| i != NIL);
            }
        }
        None
    }

    /// Finds the last node at which `go_on` holds walking from the header
    /// (`go_on` must hold on a prefix of the list). Returns it (`NIL` for
    /// none) with its rank, and the predecessors at every level.
    fn seek(&self, mut go_on: impl FnMut(&Node) -> bool) -> (u32, u64, [u32; MAX_LEVEL]) {
        let mut update = [NIL; MAX_LEVEL];
        let mut rank = 0u64;
        let mut x = NIL;
        for i in (0..self.level).rev() {
            loop {
                let f = self.step(x, i);
                if f != NIL && go_on(self.node(f)) {
                    rank += u64::from(self.node(x).span(i));
                    x = f;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        (x, rank, update)
    }

    /// Whether some element may fall in `range` (`zslIsInRange`).
    fn score_range_overlaps(&self, range: &ScoreRange) -> bool {
        if range.is_empty() {
            return false;
        }
        match (self.first(), self.last()) {
            (Some(first), Some(last)) => range.gte_min(self.score(last)) && range.lte_max(self.score(first)),
            _ => false,
        }
    }

    /// First element in `range` with its 1-based rank (`zslFirstInRange`).
    pub(crate) fn first_in_range(&self, range: &ScoreRange) -> Option<(u32, u64)> {
        if !self.score_range_overlaps(range) {
            return None;
        }
        let (x, rank, _) = self.seek(|n| !range.gte_min(n.score));
        let x = self.node(x).forward(0);
        (x != NIL && range.lte_max(self.score(x))).then_some((x, rank + 1))
    }

    /// Last element in `range` with its 1-based rank (`zslLastInRange`).
    pub(crate) fn last_in_range(&self, range: &ScoreRange) -> Option<(u32, u64)> {
        if !self.score_range_overlaps(range) {
            return None;
        }
        let (x, rank, _) = self.seek(|n| range.lte_max(n.score));
        (x != NIL && range.gte_min(self.score(x))).then_some((x, rank))
    }

    /// Whether some element may fall in `range` (`zslIsInLexRange`).
    fn lex_range_overlaps(&self, range: &LexRange) -> bool {
        if range.is_empty() {
            return false;
        }
        match (self.first(), self.last()) {
            (Some(first), Some(last)) => range.gte_min(self.member(last)) && range.lte_max(self.member(first)),
            _ => false,
        }
    }

    /// First element in lex `range` with its 1-based rank (`zslFirstInLexRange`).
    pub(crate) fn first_in_lex_range(&self, range: &LexRange) -> Option<(u32, u64)> {
        if !self.lex_range_overlaps(range) {
            return None;
        }
        let (x, rank, _) = self.seek(|n| !range.gte_min(n.member()));
        let x = self.node(x).forward(0);
        (x != NIL && range.lte_max(self.member(x))).then_some((x, rank + 1))
    }

    /// Last element in lex `range` with its 1-based rank (`zslLastInLexRange`).
    pub(crate) fn last_in_lex_range(&self, range: &LexRange) -> Option<(u32, u64)> {
        if !self.lex_range_overlaps(range) {
            return None;
        }
        let (x, rank, _) = self.seek(|n| range.lte_max(n.member()));
        (x != NIL && range.gte_min(self.member(x))).then_some((x, rank))
    }

    /// Deletes the run of nodes starting after `update[0]` while `keep_going`
    /// holds (`zslDeleteRangeBy*`); returns `(index, contents)` of each.
    fn delete_run(
        &mut self,
        update: &[u32; MAX_LEVEL],
        mut keep_going: impl FnMut(&Node, u64) -> bool,
    ) -> Vec<(u32, Removed)> {
        let mut out = Vec::new();
        let mut x = self.node(update[0]).forward(0);
        let mut i = 0u64;
        while x != NIL && keep_going(self.node(x), i) {
            let next = self.node(x).forward(0);
            self.unlink(x, update);
            out.push((x, self.release(x)));
            x = next;
            i += 1;
        }
        out
    }

    /// Deletes every element in `range` (`zslDeleteRangeByScore`).
    pub(crate) fn delete_range_by_score(&mut self, range: &ScoreRange) -> Vec<(u32, Removed)> {
        if !self.score_range_overlaps(range) {
            return Vec::new();
        }
        let (_, _, update) = self.seek(|n| !range.gte_min(n.score));
        self.delete_run(&update, |n, _| range.lte_max(n.score))
    }

    /// Deletes every element in lex `range` (`zslDeleteRangeByLex`).
    pub(crate) fn delete_range_by_lex(&mut self, range: &LexRange) -> Vec<(u32, Removed)> {
        if !self.lex_range_overlaps(range) {
            return Vec::new();
        }
        let (_, _, update) = self.seek(|n| !range.gte_min(n.member()));
        self.delete_run(&update, |n, _| range.lte_max(n.member()))
    }

    /// Deletes the elements of 1-based ranks `start..=end`
    /// (`zslDeleteRangeByRank`).
    pub(crate) fn delete_range_by_rank(&mut self, start: u64, end: u64) -> Vec<(u32, Removed)> {
        if start == 0 || start > end {
            return Vec::new();
        }
        let mut update = [NIL; MAX_LEVEL];
        let mut traversed = 0u64;
        let mut x = NIL;
        for i in (0..self.level).rev() {
            loop {
                let f = self.node(x).forward(i);
                let span = u64::from(self.node(x).span(i));
                if f != NIL && traversed + span < start {
                    traversed += span;
                    x = f;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        let n = end - start + 1;
        self.delete_run(&update, |_, i| i < n)
    }

    /// Checks every structural invariant; panics with a description on the
    /// first violation. `O(n * levels)`; for tests and debugging.
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        let header = self.node(NIL);
        assert_eq!(header.height as usize, MAX_LEVEL, "header height");
        assert!((1..=MAX_LEVEL).contains(&self.level), "level {} out of range", self.level);
        // Level 0 walk: ordering, backward links, ranks, count, tail.
        let mut rank_of = std::collections::HashMap::new();
        let mut prev = NIL;
        let mut x = header.forward(0);
        let mut rank = 0u64;
        let mut max_height = 1;
        let mut boxed_bytes = header.boxed_bytes();
        while x != NIL {
            rank += 1;
            let n = self.node(x);
            assert!(n.height >= 1 && n.height as usize <= MAX_LEVEL, "node {x} height {}", n.height);
            assert!(!n.score.is_nan(), "node {x} has a NaN score");
            assert_eq!(n.backward, prev, "backward link of node {x}");
            if prev != NIL {
                assert!(self.before(prev, x), "nodes {prev} and {x} out of order");
            }
            assert!(rank_of.insert(x, rank).is_none(), "node {x} reached twice");
            max_height = max_height.max(n.height as usize);
            boxed_bytes += n.boxed_bytes();
            assert_eq!(
                matches!(n.payload, Payload::Inline { .. }),
                n.height as usize <= INLINE_LEVELS && n.member().len() <= INLINE_MEMBER,
                "node {x} stores its member in the wrong place"
            );
            prev = x;
            x = n.forward(0);
        }
        assert_eq!(rank, self.len(), "length");
        assert_eq!(self.tail, prev, "tail");
        assert_eq!(boxed_bytes, self.boxed_bytes, "boxed byte count");
        assert!(self.level >= max_height, "level {} below tallest node {max_height}", self.level);
        if self.level > 1 {
            assert_ne!(header.forward(self.level - 1), NIL, "top level {} is empty", self.level);
        }
        // Every level: links go forward in rank, spans equal rank distances.
        for i in 0..self.level {
            let mut x = NIL;
            let mut x_rank = 0u64;
            loop {
                let n = self.node(x);
                let f = n.forward(i);
                let span = u64::from(n.span(i));
                if f == NIL {
                    assert_eq!(x_rank + span, self.len(), "span of null link at level {i} from {x}");
                    break;
                }
                assert!(self.node(f).height as usize > i, "node {f} linked at level {i} above its height");
                let f_rank = rank_of[&f];
                assert!(f_rank > x_rank, "level {i} link {x}->{f} goes backwards");
                assert_eq!(x_rank + span, f_rank, "span of level {i} link {x}->{f}");
                x = f;
                x_rank = f_rank;
            }
        }
        // Nodes reachable at level i are exactly those taller than i.
        for (&idx, _) in rank_of.iter() {
            let h = self.node(idx).height as usize;
            assert!(h <= self.level, "node {idx} taller than the list level");
        }
        // Free list: freed slots only, and together with live nodes they
        // account for every slot.
        let mut free = 0usize;
        let mut f = self.free;
        while f != NIL {
            let n = self.node(f);
            assert_eq!(n.height, 0, "free slot {f} looks live");
            assert!(!rank_of.contains_key(&f), "free slot {f} is linked");
            free += 1;
            assert!(free < self.nodes.len(), "free list cycles");
            f = n.backward;
        }
        assert_eq!(free + rank_of.len() + 1, self.nodes.len(), "slots leaked");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list_members(sl: &SkipList) -> Vec<(Vec<u8>, f64)> {
        let mut out = Vec::new();
        let mut x = sl.first();
        while let Some(i) = x {
            out.push((sl.member(i).to_vec(), sl.score(i)));
            x = sl.next(i);
        }
        out
    }

    #[test]
    fn zset_skiplist_insert_delete_rank() {
        let mut sl = SkipList::with_rng(fastrand::Rng::with_seed(7));
        let mut ids = Vec::new();
        for i in 0..500u32 {
            let score = f64::from(i % 17);
            let member = format!("m{i}");
            ids.push((sl.insert(score, member.as_bytes(), u64::from(i)), member));
            if i % 50 == 0 {
                sl.check_invariants();
            }
        }
        sl.check_invariants();
        let all = list_members(&sl);
        for (r, (m, _)) in all.iter().enumerate() {
            let idx = ids.iter().find(|(_, mm)| mm.as_bytes() == m.as_slice()).unwrap().0;
            assert_eq!(sl.rank(idx), r as u64 + 1);
            assert_eq!(sl.by_rank(r as u64 + 1), Some(idx));
        }
        assert_eq!(sl.by_rank(0), None);
        assert_eq!(sl.by_rank(501), None);
        for (k, (idx, _)) in ids.iter().enumerate() {
            if k % 3 == 0 {
                sl.delete(*idx);
                sl.check_invariants();
            }
        }
        assert_eq!(sl.len(), 500 - 167);
        // Freed slots are reused.
        let before = sl.nodes.len();
        sl.insert(1.0, b"again", 0);
        assert_eq!(sl.nodes.len(), before);
        sl.check_invariants();
    }

    /// Checks `rank` (two walks meeting halfway) against a level-0 walk.
    fn assert_ranks_by_walk(sl: &SkipList) {
        let mut x = sl.first();
        let mut want = 0u64;
        while let Some(i) = x {
            want += 1;
            assert_eq!(sl.rank(i), want, "rank of node {i} (height {})", sl.node(i).height);
            for k in 0..=sl.level {
                assert_eq!(sl.rank_meeting_at(i, k), want, "rank of node {i} meeting at level {k}");
            }
            x = sl.next(i);
        }
    }

    #[test]
    fn zset_skiplist_rank_walks_meet_at_every_size() {
        // Sizes from one node (a single level: the meeting level is 0) to
        // enough for ~8 levels; equal scores so ties compare members; then
        // deletions that lower the list's level.
        let mut sl = SkipList::with_rng(fastrand::Rng::with_seed(21));
        let mut ids = Vec::new();
        for i in 0..20_000u32 {
            ids.push(sl.insert(f64::from(i % 7), format!("m{}", i.wrapping_mul(2_654_435_761)).as_bytes(), 0));
            if i < 64 || i.is_power_of_two() || i == 19_999 {
                assert_ranks_by_walk(&sl);
            }
        }
        assert!(sl.level >= 6, "level {}", sl.level);
        fastrand::Rng::with_seed(5).shuffle(&mut ids);
        while ids.len() > 1 {
            let keep = ids.len() / 3;
            for idx in ids.drain(keep..) {
                sl.delete(idx);
            }
            sl.check_invariants();
            assert_ranks_by_walk(&sl);
        }
    }

    #[test]
    fn zset_skiplist_moves_match_a_sorted_model() {
        // Score updates that move nodes (both searches of `find_move` in
        // one loop), over few distinct scores so moves land among equal
        // scores, next to their old place, at both ends, and with tall
        // nodes (whose removal may lower the list's level).
        for seed in 0..6u64 {
            let mut sl = SkipList::with_rng(fastrand::Rng::with_seed(seed));
            let mut rng = fastrand::Rng::with_seed(seed + 100);
            let n = [1usize, 2, 3, 40, 700, 3000][seed as usize];
            let mut ids = Vec::new();
            for i in 0..n {
                ids.push(sl.insert(f64::from(rng.u8(..9)), format!("k{i}").as_bytes(), i as u64));
            }
            for step in 0..2000 {
                let idx = ids[rng.usize(..ids.len())];
                let score = match rng.u8(..4) {
                    0 => -1.0 - f64::from(rng.u8(..2)),
                    1 => 10.0 + f64::from(rng.u8(..2)),
                    _ => f64::from(rng.u8(..9)),
                };
                sl.update_score(idx, score);
                assert_eq!(sl.score(idx), score);
                if step % 97 == 0 || n <= 40 {
                    sl.check_invariants();
                    assert_ranks_by_walk(&sl);
                }
            }
            sl.check_invariants();
            assert_ranks_by_walk(&sl);
            let mut want: Vec<(Vec<u8>, f64)> = ids.iter().map(|&i| (sl.member(i).to_vec(), sl.score(i))).collect();
            want.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
            assert_eq!(list_members(&sl), want);
        }
    }

    #[test]
    fn zset_skiplist_node_is_compact() {
        // The per-member memory estimate in the `zset` module docs relies on this.
        assert_eq!(std::mem::size_of::<Node>(), 64); // one cache line
        assert_eq!(std::mem::align_of::<Node>(), 64);
        let mut sl = SkipList::with_rng(fastrand::Rng::with_seed(9));
        let n = 20_000u32;
        let mut levels = 0usize;
        for i in 0..n {
            let idx = sl.insert(f64::from(i), &i.to_le_bytes(), 0);
            levels += sl.node(idx).height as usize;
        }
        // p = 1/4 gives 4/3 levels per node on average.
        let avg = levels as f64 / f64::from(n);
        assert!((1.25..1.42).contains(&avg), "average height {avg}");
        assert!(sl.level <= 12, "level {}", sl.level);
        sl.check_invariants();
    }

    #[test]
    fn zset_skiplist_members_inline_and_boxed() {
        // Members around the inline limit, on short and tall nodes, with
        // equal scores so ties compare the member bytes wherever they live.
        let mut sl = SkipList::with_rng(fastrand::Rng::with_seed(11));
        let mut want = Vec::new();
        for i in 0..2000u32 {
            let len = (i as usize * 7) % (INLINE_MEMBER + 12);
            let mut m = vec![b'a' + (i % 26) as u8; len];
            m.extend_from_slice(&i.to_be_bytes());
            let idx = sl.insert(f64::from(i % 3), &m, u64::from(i));
            assert_eq!(sl.member(idx), m.as_slice());
            want.push((m, f64::from(i % 3)));
        }
        sl.check_invariants();
        let (mut inline, mut boxed) = (0, 0);
        let mut x = sl.first();
        while let Some(i) = x {
            match sl.node(i).payload {
                Payload::Inline { .. } => inline += 1,
                Payload::Boxed(_) => boxed += 1,
            }
            x = sl.next(i);
        }
        assert!(inline > 500 && boxed > 500, "inline {inline} boxed {boxed}");
        want.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        assert_eq!(list_members(&sl), want);
        while let Some(i) = sl.first() {
            let r = sl.delete(i);
            assert_eq!(r.member, want.remove(0).0);
        }
        sl.check_invariants();
        assert_eq!(sl.heap_bytes(), sl.nodes.capacity() * 64 + heap_level_bytes(MAX_LEVEL));
    }

    #[test]
    fn zset_skiplist_update_score_keeps_index() {
        let mut sl = SkipList::with_rng(fastrand::Rng::with_seed(1));
        let a = sl.insert(1.0, b"a", 0);
        let b = sl.insert(2.0, b"b", 0);
        let c = sl.insert(3.0, b"c", 0);
        sl.update_score(a, 2.5); // in place? no: moves after b
        sl.check_invariants();
        assert_eq!(list_members(&sl).iter().map(|e| e.0.clone()).collect::<Vec<_>>(), [b"b", b"a", b"c"]);
        sl.update_score(c, 0.0);
        sl.check_invariants();
        assert_eq!(sl.rank(c), 1);
        assert_eq!(sl.rank(b), 2);
        sl.update_score(b, 2.1); // stays in place
        sl.check_invariants();
        assert_eq!(sl.score(b), 2.1);
        assert_eq!(sl.rank(a), 3);
    }

    #[test]
    fn zset_skiplist_delete_ranges() {
        let mut sl = SkipList::with_rng(fastrand::Rng::with_seed(3));
        for i in 0..100u32 {
            sl.insert(f64::from(i), format!("{i:03}").as_bytes(), 0);
        }
        let gone = sl.delete_range_by_rank(11, 20);
        sl.check_invariants();
        assert_eq!(gone.len(), 10);
        assert_eq!(gone[0].1.member, b"010");
        let r = ScoreRange { min: 50.0, max: 60.0, min_exclusive: true, max_exclusive: false };
        let gone = sl.delete_range_by_score(&r);
        sl.check_invariants();
        assert_eq!(gone.len(), 10);
        assert_eq!(gone[0].1.score, 51.0);
        assert_eq!(sl.len(), 80);
    }
}
