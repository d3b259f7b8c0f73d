//! The ordered half of a sorted set: an unrolled skiplist with spans, after
//! Redis' `zskiplist` (`t_zset.c`), whose nodes are *blocks* of up to
//! [`BLOCK_CAP`] elements instead of single elements. On top of it: the
//! `t_zset.c` operations (insert, delete, score update, rank, element by
//! rank, first/last in a score or lex range, range deletion).
//!
//! Elements are ordered by `(score, member)`: scores compare as `f64` (NaN is
//! never stored), ties compare member bytes like `memcmp` with the shorter
//! prefix first (which is exactly `<[u8] as Ord>`).
//!
//! # Why blocks
//!
//! At 1M members a one-element-per-node skiplist search visits ~30 nodes
//! at random places, and the lowest levels miss the CPU caches: on the bench
//! VM a miss to DRAM costs ~140 ns and only ~8 MB of last-level cache is
//! effectively ours, so even a skiplist split into hot and cold arrays paid
//! 6-8 dependent misses per search. With ~28 elements per block a 1M-member
//! list has ~36k blocks, and the skiplist structure over them (the `nodes`
//! array, 32 bytes per block, and the upper-level links, ~8 bytes per
//! block) is ~1.4 MB, which mostly stays in the caches. A search descends
//! the levels in those arrays alone (every link carries a copy of the first
//! key of the block it leads to), then reads one block body (its score
//! array is a few adjacent cache lines, loaded in parallel) and the
//! element's `cold` entry only when scores are equal. Measured at 1M
//! members (bench VM, `kv-bench zset`, p50): ZRANK ~0.9 us, ZADD of a new
//! member ~0.8 us and of an existing one ~1.35 us, against 2.6, 2.1 and
//! 4.6 with one element per node (and with the planned changes below,
//! 0.7-0.8, 0.56-0.59 and 0.91-0.98 us). With the same (`hashbrown`) member index, the
//! order-statistic B+tree this replaced was 0.1-0.2 us faster on each: its
//! 16-way inner nodes cost fewer dependent cache misses than the ~2-3
//! level-0 steps of a skiplist with `p = 1/4` (about a quarter of a search
//! in a profile).
//!
//! # Ownership
//!
//! An element is a `u32` id, an index into `cold` (score, tag, member). Ids
//! are stable for the element's lifetime, whatever the list does with its
//! entry (splits, merges and rebalancing move entries between blocks, not
//! ids); the owner (the `ZSet` index) may hold ids of live elements only. A
//! freed id is pushed on a free list (threaded through `Cold::tag`), its
//! member is dropped, and no entry refers to it until [`SkipList::insert`]
//! hands it out again. [`SkipList::update_score`] keeps the id.
//!
//! Blocks are owned by the list alone: block `b` is `nodes[b]` (links,
//! first element, length, height) plus `blocks[b]` (its entries). Index 0
//! is the header. A block emptied or merged away is unlinked from every
//! level it is on and pushed on a free list (threaded through
//! `Node::next`); it keeps its height and upper-level link slots, and is
//! reused by the next split (heights are drawn independently of contents,
//! so a reused height is as random as a fresh one). Nothing outside this
//! module holds a block index; a [`Pos`] is invalidated by any mutation.
//!
//! # Layout
//!
//! - `cold[id]` (32 bytes, one half cache line): tag, score, and the member
//!   inline up to [`INLINE_MEMBER`] bytes, else an index into `long`.
//! - `blocks[b]` (512 bytes, cache-line aligned): entries `0..len` as
//!   parallel arrays of scores and ids, in order.
//! - `nodes[b]` (32 bytes): length, height, the level-0 links `next`/`prev`
//!   (a doubly linked list of all blocks; the header's `prev` is the last
//!   block), and a copy of the first score and id of block `next`, so a
//!   level-0 step that stops reads no further node.
//! - `links[nodes[b].upper + i - 1]` (24 bytes), for levels `1 <= i <
//!   height`: the forward link at level `i`, its span, and copies of the
//!   first score and id and of `upper` of the block it leads to, so the
//!   descent above level 0 reads links only. A block's upper links are
//!   adjacent: a descent through one block reads one or two lines.
//!
//! Every copy of a block's first element (in its level-0 predecessor's
//! node and in the links to it) is rewritten whenever that element
//! changes; the invariant check compares them all.
//!
//! # Planned changes
//!
//! The engine decides a `ZADD` (reading the set) before it appends the
//! record and changes the set after. [`SkipList::plan_update`] and
//! [`SkipList::plan_insert`] do the descents in the first step, into an
//! [`UpdatePlan`], and ask for the blocks they end in, so those misses
//! overlap the append; [`SkipList::update_planned`] and
//! [`SkipList::insert_planned`] then start from the plan. A plan records
//! the list's `version`, which every insert, removal and score change
//! bumps: a plan made before any other change is re-done (an update) or
//! not used (an insert), never applied stale.
//!
//! # Skiplist rules (as in `zskiplist`, counted in elements)
//!
//! Every block has a random height `1..=MAX_LEVEL` (`P(height > k) =
//! 4^-k`, Redis' `ZSKIPLIST_P` and `ZSKIPLIST_MAXLEVEL`); level 0 links
//! every block. The header (node 0) has every level; `level` is the number
//! of levels in use (the highest block height, at least 1), and the
//! header's links at levels `>= level` are dead. Let `before(b)` be the
//! number of elements in the blocks before `b` (0 for the header, `len`
//! past the end). The span of the link from `x` to `y` at a level `>= 1`
//! is `before(y) - before(x)`, the number of elements it skips; a null
//! link's span is `len - before(x)`, as if it led to a past-the-end node
//! with `before == len` (Redis' rule: a null span counts what lies after
//! `x`, and it is what an insert splits when it links a new node there).
//! At level 0 the span is the block's length. So the spans along any level
//! sum to `before(b)` at each block `b`, and the 1-based rank of entry
//! `slot` of `b` is `before(b) + slot + 1`. (`before` plays the role of
//! Redis' node rank: the header is 0 in both, but the first block is 0
//! here, not 1, because a block's own elements are counted by slot.) Ranks
//! are summed in `u64` (redis#9249); a span is `u32` (a list holds at most
//! `u32::MAX - 1` elements, the id space).
//!
//! A search compares the key with the *first* element of each next block,
//! then scans one block; the first block is always entered (every key
//! belongs in it or after it), so a search always ends in a block.
//!
//! # Balance
//!
//! A full block splits in two halves (the new block is linked in after it
//! at each of its levels, spans adjusted), except that appending at the
//! very end keeps the full block full, so ascending inserts fill blocks.
//! After a delete, a block under a quarter full merges with its next
//! neighbour (the last block: with its previous one) if both fit in one
//! block, and else takes entries from it until both are about even. So
//! every block but the last holds at least [`BLOCK_CAP`]` / 4` entries; an
//! empty list is one empty block.
//!
//! `cold` and `blocks` grow by doubling and, once a few megabytes, ask for
//! transparent huge pages (the `huge_pages` module): searches touch random
//! blocks, so they would also miss the TLB.

use super::range::{LexRange, ScoreRange};
use super::Removed;
use crate::prefetch::prefetch;

/// Longest member stored inline in `cold`.
pub(crate) const INLINE_MEMBER: usize = 15;

/// Entries per block.
pub(crate) const BLOCK_CAP: usize = 40;

/// A block (but the last) below this many entries is merged or refilled.
const MIN_FILL: usize = BLOCK_CAP / 4;

/// Levels at most (Redis' `ZSKIPLIST_MAXLEVEL`).
pub(crate) const MAX_LEVEL: usize = 32;

/// `Cold::len` of a member kept in `long`.
const LONG: u8 = u8::MAX;

/// `Cold::len` of a freed id.
const VACANT: u8 = u8::MAX - 1;

/// No block / no id.
const NONE: u32 = u32::MAX;

/// The header's node index.
const HEAD: u32 = 0;

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

/// A block's place in the skiplist (the part a descent reads).
#[derive(Debug, Clone, Copy)]
#[repr(C, align(32))]
struct Node {
    /// Score and id of entry 0 of block `next` (unspecified if `next` is
    /// `NONE` or empty): the key a level-0 step compares, kept here so a
    /// step that stops reads no further node.
    next_score: f64,
    next_id: u32,
    /// Next block at level 0 (`NONE` after the last). For a freed block:
    /// the next free block.
    next: u32,
    /// Previous block at level 0 (`HEAD` before the first). The header's
    /// `prev` is the last block.
    prev: u32,
    /// Index in `links` of this block's level-1 link (`NONE` if height 1).
    upper: u32,
    /// Number of entries.
    len: u8,
    /// Number of levels the block is on, `1..=MAX_LEVEL`.
    height: u8,
}

impl Node {
    const EMPTY: Node = Node { next_score: 0.0, next_id: NONE, next: NONE, prev: HEAD, upper: NONE, len: 0, height: 1 };
}

/// A forward link at a level `>= 1`, the number of elements it skips, and
/// copies of what a descent needs of the block it leads to (its first
/// element and where its own links are), so that the descent above level 0
/// reads links only.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
struct Link {
    /// Score and id of entry 0 of block `next` (unspecified if `next == NONE`).
    key_score: f64,
    key_id: u32,
    next: u32,
    span: u32,
    /// `nodes[next].upper`.
    next_upper: u32,
}

impl Link {
    const NULL: Link = Link { key_score: 0.0, key_id: NONE, next: NONE, span: 0, next_upper: NONE };
}

/// A block's entries (`0..Node::len` are live).
#[derive(Debug, Clone)]
#[repr(C, align(64))]
struct Block {
    scores: [f64; BLOCK_CAP],
    ids: [u32; BLOCK_CAP],
}

impl Block {
    const EMPTY: Block = Block { scores: [0.0; BLOCK_CAP], ids: [NONE; BLOCK_CAP] };

    /// Inserts `(score, id)` at `slot` of `len` entries; there must be room.
    fn insert(&mut self, len: usize, slot: usize, score: f64, id: u32) {
        self.scores.copy_within(slot..len, slot + 1);
        self.ids.copy_within(slot..len, slot + 1);
        self.scores[slot] = score;
        self.ids[slot] = id;
    }

    /// Removes the entry at `slot` of `len` entries.
    fn remove(&mut self, len: usize, slot: usize) {
        self.scores.copy_within(slot + 1..len, slot);
        self.ids.copy_within(slot + 1..len, slot);
    }
}

/// A position in the order: entry `slot` of block `block`. Any mutation of
/// the list invalidates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pos {
    block: u32,
    slot: u32,
}

/// Where a descent went (Redis' `update[]` and `rank[]`).
#[derive(Debug, Clone)]
struct Descent {
    /// At each level `i < level`: the last node on level `i` at or before
    /// `block` (the header if none).
    update: [u32; MAX_LEVEL],
    /// `before(update[i])`.
    before: [u64; MAX_LEVEL],
    /// The block the descent ended in (`update[0]`).
    block: u32,
    /// Number of entries of `block` on which the predicate holds.
    slot: u32,
}

/// Cache lines of a block's scores.
const SCORE_LINES: std::ops::Range<usize> = 0..(8 * BLOCK_CAP).div_ceil(64);

/// Cache lines of a block's ids.
const ID_LINES: std::ops::Range<usize> = (8 * BLOCK_CAP) / 64..(12 * BLOCK_CAP).div_ceil(64);

/// Hints the CPU to load cache lines `lines` of `block` (a search reads
/// the score lines, an insert or removal also moves ids); no effect on
/// results.
#[inline(always)]
fn prefetch_block(block: &Block, lines: std::ops::Range<usize>) {
    #[cfg(target_arch = "x86_64")]
    {
        let base = (block as *const Block).cast::<u8>();
        for line in lines {
            // SAFETY: SSE is part of the x86_64 baseline, so the instruction
            // exists; a prefetch never faults and reads nothing observable,
            // and the callers' lines are inside the live, 64-byte-aligned
            // `block` (scores and ids end before its 512 bytes do).
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(base.add(64 * line).cast());
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (block, lines);
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

/// An unrolled skiplist with spans of `(score, member, tag)` ordered by
/// `(score, member)`.
///
/// Members must be unique; the caller (the `ZSet`) guarantees it.
#[derive(Debug)]
pub(crate) struct SkipList {
    cold: Vec<Cold>,
    /// Members longer than `INLINE_MEMBER`; a freed slot is empty.
    long: Vec<Box<[u8]>>,
    /// Free slots of `long`.
    long_free: Vec<u32>,
    /// Bytes held by the members in `long`.
    long_bytes: usize,
    /// Head of the free list of ids.
    free: u32,
    /// Node 0 is the header; the others are blocks, live or free.
    nodes: Vec<Node>,
    /// Entries of block `b` (`blocks[0]` is unused).
    blocks: Vec<Block>,
    /// Upper-level links: the header's `MAX_LEVEL - 1` first, then each
    /// block's `height - 1`.
    links: Vec<Link>,
    /// Head of the free list of blocks.
    free_block: u32,
    /// Levels in use, `1..=MAX_LEVEL`.
    level: usize,
    /// Number of elements.
    len: u32,
    /// Draws block heights.
    rng: fastrand::Rng,
    /// Changes with every change of the list but a tag's, so that an
    /// [`UpdatePlan`] made before a change is recognised as stale. Starts
    /// at a value no other list starts at (see [`first_version`]).
    version: u64,
}

/// The first version of a new list: unique per list (each gets 2^32
/// versions before it could reach the next one's), so a plan made on
/// another list, or on a list since dropped, never matches.
fn first_version() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) << 32
}

/// A score update or an insert found but not made yet
/// ([`SkipList::plan_update`], [`SkipList::plan_insert`]): the descents to
/// the element's new place and, for an update, its old one, made while the
/// engine plans its log record, with their blocks already asked for.
/// Applying it after the append skips the descents; a plan made stale by
/// any change of the list since is re-done.
#[derive(Debug, Clone)]
pub(crate) struct UpdatePlan {
    /// The element moved, `NONE` for an insert.
    id: u32,
    score: f64,
    /// The caller's tag for what it planned (the sorted set puts the
    /// member's hash there).
    owner: u64,
    /// The list's version when planned.
    version: u64,
    /// Descent by the new key (blocks only, `slot` unset).
    to: Descent,
    /// For an update: the descent by the old key (blocks only).
    from: Descent,
}

impl UpdatePlan {
    /// A plan that is current for no list (a buffer to plan into).
    pub(crate) fn new() -> UpdatePlan {
        let d = Descent { update: [HEAD; MAX_LEVEL], before: [0; MAX_LEVEL], block: HEAD, slot: 0 };
        // Versions start at 2^32 (see `first_version`): 0 matches no list.
        UpdatePlan { id: NONE, score: 0.0, owner: 0, version: 0, to: d.clone(), from: d }
    }

    /// The element this plan moves, if it is a current update plan of
    /// `list` to `score`. Current: nothing changed in the list since, so
    /// the id still names the element it named (ids change hands only
    /// through inserts and deletes) and the descents are valid.
    pub(crate) fn current_update(&self, list: &SkipList, score: f64) -> Option<u32> {
        (self.version == list.version && self.id != NONE && self.score.to_bits() == score.to_bits()).then_some(self.id)
    }

    /// Whether this is a current insert plan of `list` (see
    /// [`UpdatePlan::current_update`]) of the element the caller tagged
    /// `owner`, at `score`: the element is still absent.
    pub(crate) fn is_current_insert(&self, list: &SkipList, owner: u64, score: f64) -> bool {
        self.version == list.version
            && self.id == NONE
            && self.owner == owner
            && self.score.to_bits() == score.to_bits()
    }
}

impl Default for SkipList {
    fn default() -> Self {
        SkipList::with_seed(fastrand::u64(..))
    }
}

impl SkipList {
    /// An empty list whose block heights are drawn from `seed`.
    pub(crate) fn with_seed(seed: u64) -> SkipList {
        let mut list = SkipList {
            cold: Vec::new(),
            long: Vec::new(),
            long_free: Vec::new(),
            long_bytes: 0,
            free: NONE,
            nodes: Vec::new(),
            blocks: Vec::new(),
            links: Vec::new(),
            free_block: NONE,
            level: 1,
            len: 0,
            rng: fastrand::Rng::with_seed(seed),
            version: first_version(),
        };
        list.reset_blocks();
        list
    }

    /// Back to the header and one empty block of height 1, dropping the
    /// block arrays (ids in `cold` are not the blocks').
    fn reset_blocks(&mut self) {
        let header = Node { next: 1, prev: 1, upper: 0, height: MAX_LEVEL as u8, ..Node::EMPTY };
        self.nodes = vec![header, Node::EMPTY];
        self.blocks = vec![Block::EMPTY, Block::EMPTY];
        self.links = vec![Link::NULL; MAX_LEVEL - 1];
        self.free_block = NONE;
        self.level = 1;
    }

    /// Number of elements.
    #[inline]
    pub(crate) fn len(&self) -> u64 {
        u64::from(self.len)
    }

    /// Approximate heap bytes owned by the list.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.cold.capacity() * std::mem::size_of::<Cold>()
            + self.blocks.capacity() * std::mem::size_of::<Block>()
            + self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.links.capacity() * std::mem::size_of::<Link>()
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
        self.blocks[p.block as usize].ids[p.slot as usize]
    }

    /// Number of entries of block `b`.
    #[inline(always)]
    fn count(&self, b: u32) -> usize {
        usize::from(self.nodes[b as usize].len)
    }

    /// The link of node `x` at level `i >= 1` (`i < height(x)`).
    #[inline(always)]
    fn link(&self, x: u32, i: usize) -> Link {
        self.links[self.nodes[x as usize].upper as usize + i - 1]
    }

    #[inline(always)]
    fn link_mut(&mut self, x: u32, i: usize) -> &mut Link {
        let at = self.nodes[x as usize].upper as usize + i - 1;
        &mut self.links[at]
    }

    /// Score and id of entry 0 of block `b` (non-empty).
    #[inline]
    fn first_key(&self, b: u32) -> (f64, u32) {
        (self.blocks[b as usize].scores[0], self.blocks[b as usize].ids[0])
    }

    /// Copies entry 0 of block `b` (non-empty, linked at level 0) into its
    /// level-0 predecessor's node (only; see [`SkipList::set_first`]).
    #[inline]
    fn sync_first(&mut self, b: u32) {
        let (key, prev) = (self.first_key(b), self.nodes[b as usize].prev);
        let n = &mut self.nodes[prev as usize];
        (n.next_score, n.next_id) = key;
    }

    /// After entry 0 of block `b` (non-empty, at `before_b`) changed:
    /// copies it into the node and links that lead to `b` (`b` must be
    /// linked, and no other block empty).
    fn set_first(&mut self, b: u32, before_b: u64) {
        self.sync_first(b);
        if self.nodes[b as usize].height > 1 {
            let preds = self.preds(before_b);
            self.copy_key(b, &preds);
        }
    }

    /// Copies block `b`'s first element into its predecessors' links
    /// (`preds` from [`SkipList::preds`]).
    fn copy_key(&mut self, b: u32, preds: &[u32; MAX_LEVEL]) {
        let key = self.first_key(b);
        for (i, &p) in preds.iter().enumerate().take(usize::from(self.nodes[b as usize].height)).skip(1) {
            let l = self.link_mut(p, i);
            (l.key_score, l.key_id) = key;
        }
    }

    /// A link to block `b` (span 0).
    fn link_to(&self, b: u32) -> Link {
        let (key_score, key_id) = self.first_key(b);
        Link { key_score, key_id, next: b, span: 0, next_upper: self.nodes[b as usize].upper }
    }

    /// First position, if any.
    pub(crate) fn first(&self) -> Option<Pos> {
        (self.len > 0).then_some(Pos { block: self.nodes[HEAD as usize].next, slot: 0 })
    }

    /// Last position, if any.
    #[cfg(test)]
    pub(crate) fn last(&self) -> Option<Pos> {
        let last = self.nodes[HEAD as usize].prev;
        (self.len > 0).then(|| Pos { block: last, slot: self.count(last) as u32 - 1 })
    }

    /// The position after `p`, if any.
    pub(crate) fn next(&self, p: Pos) -> Option<Pos> {
        let node = &self.nodes[p.block as usize];
        if p.slot + 1 < u32::from(node.len) {
            Some(Pos { block: p.block, slot: p.slot + 1 })
        } else {
            (node.next != NONE).then_some(Pos { block: node.next, slot: 0 })
        }
    }

    /// The position before `p`, if any.
    pub(crate) fn prev(&self, p: Pos) -> Option<Pos> {
        if p.slot > 0 {
            return Some(Pos { block: p.block, slot: p.slot - 1 });
        }
        let prev = self.nodes[p.block as usize].prev;
        (prev != HEAD).then(|| Pos { block: prev, slot: self.count(prev) as u32 - 1 })
    }

    /// `(block, slot)` if it holds an entry, else the first entry after it.
    fn normalize(&self, block: u32, slot: u32) -> Option<Pos> {
        let n = &self.nodes[block as usize];
        if slot < u32::from(n.len) {
            Some(Pos { block, slot })
        } else {
            (n.next != NONE).then_some(Pos { block: n.next, slot: 0 })
        }
    }

    /// Whether entry `(score, id)` orders strictly before `(key_score, key_member)`.
    #[inline(always)]
    fn entry_before(&self, score: f64, id: u32, key_score: f64, key_member: &[u8]) -> bool {
        score < key_score || (score == key_score && self.member(id) < key_member)
    }

    /// Descends to the block where `go_on(score, id)` stops holding (it
    /// must hold on a prefix of the order): `slot` is the number of entries
    /// of that block on which it holds, so `before[0] + slot` is the number
    /// of elements on which it holds.
    #[inline(always)]
    fn descend(&self, go_on: impl Fn(f64, u32) -> bool) -> Descent {
        self.descend_by(&go_on, &go_on)
    }

    /// [`SkipList::descend`] choosing blocks with `block_go` (applied to
    /// their first elements) and slots with `go_on`.
    #[inline(always)]
    fn descend_by(&self, block_go: impl Fn(f64, u32) -> bool, go_on: impl Fn(f64, u32) -> bool) -> Descent {
        let mut d = self.descend_blocks(block_go);
        self.scan_slot(&mut d, go_on);
        d
    }

    /// Sets `d.slot` to the number of entries of `d.block` on which `go_on`
    /// holds (it must hold on a prefix).
    #[inline(always)]
    fn scan_slot(&self, d: &mut Descent, go_on: impl Fn(f64, u32) -> bool) {
        let (block, len) = (&self.blocks[d.block as usize], self.count(d.block));
        let mut slot = 0;
        while slot < len && go_on(block.scores[slot], block.ids[slot]) {
            slot += 1;
        }
        d.slot = slot as u32;
    }

    /// The part of [`SkipList::descend_by`] that reads nodes and links
    /// only: `slot` is left 0.
    #[inline(always)]
    fn descend_blocks(&self, block_go: impl Fn(f64, u32) -> bool) -> Descent {
        let mut d = Descent { update: [HEAD; MAX_LEVEL], before: [0; MAX_LEVEL], block: HEAD, slot: 0 };
        let first = self.nodes[HEAD as usize].next;
        let (mut x, mut upper, mut before) = (HEAD, self.nodes[HEAD as usize].upper as usize, 0u64);
        for i in (1..self.level).rev() {
            loop {
                let l = self.links[upper + i - 1];
                if l.next == NONE || !(l.next == first || block_go(l.key_score, l.key_id)) {
                    break;
                }
                before += u64::from(l.span);
                (x, upper) = (l.next, l.next_upper as usize);
                // The walk at level 0 starts at the last block reached
                // above it: start loading its node now.
                prefetch(&self.nodes[x as usize]);
            }
            d.update[i] = x;
            d.before[i] = before;
        }
        // (Every key belongs in the first block or after it.)
        loop {
            let n = &self.nodes[x as usize];
            if n.next == NONE || !(n.next == first || block_go(n.next_score, n.next_id)) {
                break;
            }
            before += u64::from(n.len);
            x = n.next;
        }
        d.update[0] = x;
        d.before[0] = before;
        d.block = x;
        d
    }

    /// The last node on each level `1 <= i < level` whose `before` is less
    /// than `target` (the predecessors of the block at `before == target`
    /// when all other blocks are non-empty). Spans only, no key reads.
    fn preds(&self, target: u64) -> [u32; MAX_LEVEL] {
        self.descend_spans(target).0
    }

    /// The descent by spans above level 0 to `target` elements: on each
    /// level the last node whose `before` is less than `target`, and the
    /// last of them (the lowest) with its `before`.
    fn descend_spans(&self, target: u64) -> ([u32; MAX_LEVEL], u32, u64) {
        let mut p = [HEAD; MAX_LEVEL];
        let (mut x, mut upper, mut before) = (HEAD, self.nodes[HEAD as usize].upper as usize, 0u64);
        for i in (1..self.level).rev() {
            loop {
                let l = self.links[upper + i - 1];
                if l.next == NONE || before + u64::from(l.span) >= target {
                    break;
                }
                before += u64::from(l.span);
                (x, upper) = (l.next, l.next_upper as usize);
            }
            p[i] = x;
        }
        (p, x, before)
    }

    /// The descent to live element `id`'s entry: into the last block whose
    /// first element is not after it (the element may be that first one),
    /// then to the slot after the entries before it.
    fn find(&self, id: u32) -> Descent {
        self.find_to(id, false)
    }

    /// [`SkipList::find`]; with `to_remove`, the block's id lines (which a
    /// removal moves) load in parallel with the slot search.
    fn find_to(&self, id: u32, to_remove: bool) -> Descent {
        let mut d = self.descend_blocks(self.toward(id));
        self.find_slot(&mut d, id, to_remove);
        d
    }

    /// Ends [`SkipList::find_to`]: sets `d.slot` (of the block a descent
    /// toward live element `id` ended in) to `id`'s slot.
    #[inline(always)]
    fn find_slot(&self, d: &mut Descent, id: u32, to_remove: bool) {
        let (score, member) = (self.score(id), self.member(id));
        if to_remove {
            prefetch_block(&self.blocks[d.block as usize], ID_LINES);
        }
        self.scan_slot(d, |s, i| self.entry_before(s, i, score, member));
        debug_assert_eq!(self.blocks[d.block as usize].ids[d.slot as usize], id, "element not at its ordered position");
    }

    /// Hints the CPU to load element `id`'s `cold` entry (score, member).
    pub(crate) fn prefetch_element(&self, id: u32) {
        if let Some(c) = self.cold.get(id as usize) {
            prefetch(c);
        }
    }

    /// The `block_go` of a descent to live element `id`'s block: the one
    /// whose first element it is, or else the last one starting before it.
    #[inline(always)]
    fn toward(&self, id: u32) -> impl Fn(f64, u32) -> bool + '_ {
        let (score, member) = (self.score(id), self.member(id));
        move |s, i| s < score || (s == score && (i == id || self.member(i) < member))
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

    /// Frees element `id` (no longer in the list), handing back its contents.
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

    /// A random height: `P(height > k) = 4^-k`, at most `MAX_LEVEL`.
    fn random_height(&mut self) -> usize {
        1 + (self.rng.u64(..).trailing_zeros() as usize / 2).min(MAX_LEVEL - 1)
    }

    /// An unlinked empty block: a freed one (with its height and link
    /// slots) or a new one of random height.
    fn new_block(&mut self) -> u32 {
        if self.free_block != NONE {
            let b = self.free_block;
            let n = &mut self.nodes[b as usize];
            self.free_block = n.next;
            (n.next, n.prev, n.len) = (NONE, HEAD, 0);
            return b;
        }
        let b = u32::try_from(self.nodes.len()).ok().filter(|&b| b != NONE).expect("sorted set too large");
        let height = self.random_height();
        let mut node = Node { height: height as u8, ..Node::EMPTY };
        if height > 1 {
            node.upper = u32::try_from(self.links.len()).expect("sorted set too large");
            self.links.resize(self.links.len() + height - 1, Link::NULL);
        }
        push_huge(&mut self.nodes, node);
        push_huge(&mut self.blocks, Block::EMPTY);
        b
    }

    /// Mutable references to two distinct blocks.
    fn two_blocks(&mut self, a: u32, b: u32) -> (&mut Block, &mut Block) {
        debug_assert_ne!(a, b);
        if a < b {
            let (lo, hi) = self.blocks.split_at_mut(b as usize);
            (&mut lo[a as usize], &mut hi[0])
        } else {
            let (lo, hi) = self.blocks.split_at_mut(a as usize);
            (&mut hi[0], &mut lo[b as usize])
        }
    }

    /// Inserts an element that is not yet present; returns its id.
    ///
    /// # Panics
    ///
    /// If `score` is NaN, or if the list already holds `u32::MAX - 1` elements.
    pub(crate) fn insert(&mut self, score: f64, member: &[u8], tag: u64) -> u32 {
        assert!(!score.is_nan(), "NaN score in a sorted set");
        let mut d = self.descend_blocks(|s, i| self.entry_before(s, i, score, member));
        self.insert_from(&mut d, score, member, tag)
    }

    /// Ends an insert of new element `(score, member)` whose descent by
    /// that key (blocks only) is `d`: finds the slot, takes an id, adds
    /// the entry.
    #[inline]
    fn insert_from(&mut self, d: &mut Descent, score: f64, member: &[u8], tag: u64) -> u32 {
        prefetch_block(&self.blocks[d.block as usize], ID_LINES);
        self.scan_slot(d, |s, i| self.entry_before(s, i, score, member));
        let id = self.alloc(member, score, tag);
        self.insert_at(d, score, id);
        id
    }

    /// Adds entry `(score, id)` where descent `d` (by its key) ended
    /// (`zslInsert`).
    fn insert_at(&mut self, d: &mut Descent, score: f64, id: u32) {
        self.version = self.version.wrapping_add(1);
        self.len += 1;
        // The new element is skipped by the link over its place at every
        // level (at the levels of `d.block`, that block's own links).
        for i in 1..self.level {
            self.link_mut(d.update[i], i).span += 1;
        }
        let (t, slot) = (d.block, d.slot as usize);
        let len = self.count(t);
        if len < BLOCK_CAP {
            self.blocks[t as usize].insert(len, slot, score, id);
            self.nodes[t as usize].len += 1;
            if slot == 0 {
                self.set_first(t, d.before[0]);
            }
            return;
        }
        // Split: appending at the very end keeps the full block full.
        let mid = if slot == BLOCK_CAP && self.nodes[t as usize].next == NONE { BLOCK_CAP } else { BLOCK_CAP / 2 };
        let r = self.new_block();
        let moved = BLOCK_CAP - mid;
        let (left, right) = self.two_blocks(t, r);
        right.scores[..moved].copy_from_slice(&left.scores[mid..]);
        right.ids[..moved].copy_from_slice(&left.ids[mid..]);
        if slot <= mid && mid < BLOCK_CAP {
            left.insert(mid, slot, score, id);
            (self.nodes[t as usize].len, self.nodes[r as usize].len) = (mid as u8 + 1, moved as u8);
        } else {
            right.insert(moved, slot - mid, score, id);
            (self.nodes[t as usize].len, self.nodes[r as usize].len) = (mid as u8, moved as u8 + 1);
        }
        let t_node = self.nodes[t as usize];
        let r_node = &mut self.nodes[r as usize];
        (r_node.prev, r_node.next, r_node.next_score, r_node.next_id) =
            (t, t_node.next, t_node.next_score, t_node.next_id);
        self.nodes[t as usize].next = r;
        self.nodes[if t_node.next == NONE { HEAD } else { t_node.next } as usize].prev = r;
        self.sync_first(r);
        let height = usize::from(self.nodes[r as usize].height);
        if height > self.level {
            for i in self.level..height {
                (d.update[i], d.before[i]) = (HEAD, 0);
                *self.link_mut(HEAD, i) = Link { span: self.len, ..Link::NULL };
            }
            self.level = height;
        }
        let before_r = d.before[0] + self.count(t) as u64;
        for i in 1..height {
            let x = d.update[i];
            let l = self.link(x, i);
            // Both are at most `len`, a `u32`.
            let to_r = (before_r - d.before[i]) as u32;
            *self.link_mut(r, i) = Link { span: l.span - to_r, ..l };
            *self.link_mut(x, i) = Link { span: to_r, ..self.link_to(r) };
        }
        if slot == 0 {
            // (Only the first block gains a new first element.)
            self.set_first(t, d.before[0]);
        }
    }

    /// Removes the entry where descent `d` ended (it must hold one); the
    /// element's id stays allocated (`zslDeleteNode`).
    fn remove_at(&mut self, d: &Descent) {
        self.version = self.version.wrapping_add(1);
        self.len -= 1;
        for i in 1..self.level {
            self.link_mut(d.update[i], i).span -= 1;
        }
        let (t, slot) = (d.block, d.slot as usize);
        let len = self.count(t);
        self.blocks[t as usize].remove(len, slot);
        self.nodes[t as usize].len -= 1;
        if self.len == 0 {
            self.reset_blocks();
            return;
        }
        let len = len - 1;
        if len == 0 {
            let preds = self.preds(d.before[0]);
            self.unlink(t, &preds);
            return;
        }
        if slot == 0 {
            self.set_first(t, d.before[0]);
        }
        if len < MIN_FILL {
            self.rebalance(t, d.before[0]);
        }
    }

    /// Unlinks empty block `b` from every level it is on (`preds`: its
    /// predecessors, from [`SkipList::preds`]) and frees it.
    fn unlink(&mut self, b: u32, preds: &[u32; MAX_LEVEL]) {
        debug_assert_eq!(self.count(b), 0);
        for (i, &p) in preds.iter().enumerate().take(usize::from(self.nodes[b as usize].height)).skip(1) {
            let l = self.link(b, i);
            let pl = self.link_mut(p, i);
            *pl = Link { span: pl.span + l.span, ..l };
        }
        let n = self.nodes[b as usize];
        let p = &mut self.nodes[n.prev as usize];
        (p.next, p.next_score, p.next_id) = (n.next, n.next_score, n.next_id);
        self.nodes[if n.next == NONE { HEAD } else { n.next } as usize].prev = n.prev;
        self.nodes[b as usize].next = self.free_block;
        self.free_block = b;
        while self.level > 1 && self.link(HEAD, self.level - 1).next == NONE {
            self.level -= 1;
        }
    }

    /// After a delete left block `t` (`before(t) == before_t`) with
    /// `1..MIN_FILL` entries: merges it with its next neighbour (the last
    /// block: its previous one) if they fit in one block, else moves
    /// entries from that neighbour until both are about even.
    fn rebalance(&mut self, t: u32, before_t: u64) {
        let len = self.count(t);
        let next = self.nodes[t as usize].next;
        if next != NONE {
            let before_next = before_t + len as u64;
            let next_len = self.count(next);
            if len + next_len <= BLOCK_CAP {
                self.absorb_next(t, before_next);
            } else {
                self.shift_left(t, (next_len - len) / 2, before_next);
            }
            return;
        }
        let prev = self.nodes[t as usize].prev;
        if prev == HEAD {
            return;
        }
        let prev_len = self.count(prev);
        if prev_len + len <= BLOCK_CAP {
            self.absorb_next(prev, before_t);
        } else {
            self.shift_right(prev, (prev_len - len) / 2, before_t);
        }
    }

    /// Moves all entries of the block after `into` (at `before_from`, both
    /// non-empty) to the end of `into`, then unlinks it.
    fn absorb_next(&mut self, into: u32, before_from: u64) {
        let from = self.nodes[into as usize].next;
        let preds = self.preds(before_from);
        let (at, n) = (self.count(into), self.count(from));
        let (dst, src) = self.two_blocks(into, from);
        dst.scores[at..at + n].copy_from_slice(&src.scores[..n]);
        dst.ids[at..at + n].copy_from_slice(&src.ids[..n]);
        self.nodes[into as usize].len += n as u8;
        self.nodes[from as usize].len = 0;
        // The moved elements stay before everything after `from`, so the
        // links skipping `from` keep their spans; the links into and out of
        // `from` join (see `unlink`).
        self.unlink(from, &preds);
    }

    /// Moves the first `k` entries of the block after `t` (at
    /// `before_next`) to the end of `t`.
    fn shift_left(&mut self, t: u32, k: usize, before_next: u64) {
        let next = self.nodes[t as usize].next;
        let preds = self.preds(before_next);
        let (at, n) = (self.count(t), self.count(next));
        let (dst, src) = self.two_blocks(t, next);
        dst.scores[at..at + k].copy_from_slice(&src.scores[..k]);
        dst.ids[at..at + k].copy_from_slice(&src.ids[..k]);
        src.scores.copy_within(k..n, 0);
        src.ids.copy_within(k..n, 0);
        self.nodes[t as usize].len += k as u8;
        self.nodes[next as usize].len -= k as u8;
        self.sync_first(next);
        self.copy_key(next, &preds);
        // `before(next)` grew by `k`.
        for (i, &p) in preds.iter().enumerate().take(usize::from(self.nodes[next as usize].height)).skip(1) {
            self.link_mut(p, i).span += k as u32;
            self.link_mut(next, i).span -= k as u32;
        }
    }

    /// Moves the last `k` entries of `prev` to the front of the block `t`
    /// after it (at `before_t`).
    fn shift_right(&mut self, prev: u32, k: usize, before_t: u64) {
        let t = self.nodes[prev as usize].next;
        let preds = self.preds(before_t);
        let (p_len, n) = (self.count(prev), self.count(t));
        let (src, dst) = self.two_blocks(prev, t);
        dst.scores.copy_within(0..n, k);
        dst.ids.copy_within(0..n, k);
        dst.scores[..k].copy_from_slice(&src.scores[p_len - k..p_len]);
        dst.ids[..k].copy_from_slice(&src.ids[p_len - k..p_len]);
        self.nodes[prev as usize].len -= k as u8;
        self.nodes[t as usize].len += k as u8;
        self.sync_first(t);
        self.copy_key(t, &preds);
        // `before(t)` shrank by `k`.
        for (i, &p) in preds.iter().enumerate().take(usize::from(self.nodes[t as usize].height)).skip(1) {
            self.link_mut(p, i).span -= k as u32;
            self.link_mut(t, i).span += k as u32;
        }
    }

    /// Deletes live element `id` and frees it.
    pub(crate) fn delete(&mut self, id: u32) -> Removed {
        let d = self.find_to(id, true);
        self.remove_at(&d);
        self.release(id)
    }

    /// Changes the score of live element `id` (`zslUpdateScore`). The
    /// element keeps its id; its entry only moves when its position would
    /// change.
    pub(crate) fn update_score(&mut self, id: u32, score: f64) {
        let mut plan = UpdatePlan::new();
        self.plan_update(id, score, &mut plan, false);
        self.update_planned(&mut plan);
    }

    /// Plans [`SkipList::update_score`] of live element `id` to `score`
    /// into `plan`, without changing the list: descends to both places and
    /// asks for both blocks (likely cache misses, and independent). With
    /// `to_made`, `plan` already holds the descent by the new key
    /// ([`SkipList::descend_to`]). Plans are filled in place: a plan is
    /// two descents (~800 bytes), and moving it between the engine's
    /// stages cost ~8 % of a ZADD in copies.
    #[inline]
    pub(crate) fn plan_update(&self, id: u32, score: f64, plan: &mut UpdatePlan, to_made: bool) {
        assert!(!score.is_nan(), "NaN score in a sorted set");
        if !to_made {
            self.descend_to(score, self.member(id), plan);
        }
        plan.from = self.descend_blocks(self.toward(id));
        prefetch_block(&self.blocks[plan.from.block as usize], 0..SCORE_LINES.end.max(ID_LINES.end));
        (plan.id, plan.score, plan.owner, plan.version) = (id, score, 0, self.version);
    }

    /// Makes `plan`, which holds the descent by `(score, member)`
    /// ([`SkipList::descend_to`]), plan the insert of that new element;
    /// `owner` tags what the caller planned (see
    /// [`UpdatePlan::is_current_insert`]).
    #[inline]
    pub(crate) fn plan_insert(&self, score: f64, owner: u64, plan: &mut UpdatePlan) {
        (plan.id, plan.score, plan.owner, plan.version) = (NONE, score, owner, self.version);
    }

    /// Sets `plan.to` to the descent (blocks only) by key `(score,
    /// member)`, and asks for the block it ends in.
    #[inline]
    pub(crate) fn descend_to(&self, score: f64, member: &[u8], plan: &mut UpdatePlan) {
        plan.to = self.descend_blocks(|s, i| self.entry_before(s, i, score, member));
        prefetch_block(&self.blocks[plan.to.block as usize], 0..SCORE_LINES.end.max(ID_LINES.end));
    }

    /// [`SkipList::insert`] of `member` as `plan` (a current insert plan
    /// for it, see [`UpdatePlan::is_current_insert`]) describes.
    pub(crate) fn insert_planned(&mut self, plan: &mut UpdatePlan, member: &[u8], tag: u64) -> u32 {
        if plan.version != self.version || plan.id != NONE {
            debug_assert!(false, "a stale or update plan applied as an insert");
            return self.insert(plan.score, member, tag);
        }
        assert!(!plan.score.is_nan(), "NaN score in a sorted set");
        self.insert_from(&mut plan.to, plan.score, member, tag)
    }

    /// Makes the score update `plan` describes (`zslUpdateScore`); re-plans
    /// first if the list changed since it was made. The element keeps its
    /// id; its entry only moves when its position would change.
    pub(crate) fn update_planned(&mut self, plan: &mut UpdatePlan) {
        debug_assert_ne!(plan.id, NONE, "an insert plan applied as an update");
        if plan.version != self.version {
            self.plan_update(plan.id, plan.score, plan, false);
        }
        let (id, score) = (plan.id, plan.score);
        let UpdatePlan { to, from: d, .. } = plan;
        self.find_slot(d, id, true);
        let pos = Pos { block: d.block, slot: d.slot };
        let score_at = |p: Pos| self.blocks[p.block as usize].scores[p.slot as usize];
        let prev_ok = self.prev(pos).is_none_or(|p| score_at(p) < score);
        let next_ok = self.next(pos).is_none_or(|p| score_at(p) > score);
        if prev_ok && next_ok {
            // The order stays, but a block's first key may change, which
            // another plan's descent may have compared.
            self.version = self.version.wrapping_add(1);
            self.blocks[d.block as usize].scores[d.slot as usize] = score;
            self.cold[id as usize].score = score;
            if d.slot == 0 {
                self.set_first(d.block, d.before[0]);
            }
            return;
        }
        // Unless the removal merges or refills blocks, the blocks and links
        // stay, so the descent to the new place stays valid once `before`
        // of the nodes after the old place is one less. (If the removed
        // entry was its block's first, the new key may now sort before
        // that block's new first one; slot 0 there is still its place.)
        let keeps_blocks = self.count(d.block) > MIN_FILL;
        self.remove_at(d);
        self.cold[id as usize].score = score;
        let member = self.member(id);
        if keeps_blocks {
            let removed_from = d.before[0];
            for b in &mut to.before[..self.level] {
                if *b > removed_from {
                    *b -= 1;
                }
            }
            self.scan_slot(to, |s, i| self.entry_before(s, i, score, member));
        } else {
            *to = self.descend(|s, i| self.entry_before(s, i, score, member));
        }
        self.insert_at(to, score, id);
    }

    /// 1-based rank of live element `id` (`zslGetRank`). The descent
    /// compares score and member, which tells equal scores apart
    /// (redis#3081).
    pub(crate) fn rank(&self, id: u32) -> u64 {
        let d = self.find(id);
        d.before[0] + u64::from(d.slot) + 1
    }

    /// The position of 1-based `rank` (`zslGetElementByRank`), if any.
    pub(crate) fn by_rank(&self, rank: u64) -> Option<Pos> {
        if rank == 0 || rank > self.len() {
            return None;
        }
        // Enter a node while its first element's rank, `before + 1`, is at
        // most `rank`.
        let (_, mut x, mut before) = self.descend_spans(rank);
        loop {
            let (next, len) = (self.nodes[x as usize].next, u64::from(self.nodes[x as usize].len));
            if next == NONE || before + len >= rank {
                break;
            }
            before += len;
            x = next;
        }
        Some(Pos { block: x, slot: (rank - 1 - before) as u32 })
    }

    /// The first element on which `go_on` fails (it must hold on a prefix
    /// of the order), with its 1-based rank.
    fn first_not(&self, go_on: impl Fn(f64, u32) -> bool) -> Option<(Pos, u64)> {
        let d = self.descend(go_on);
        self.normalize(d.block, d.slot).map(|p| (p, d.before[0] + u64::from(d.slot) + 1))
    }

    /// The last element on which `go_on` holds (it must hold on a prefix of
    /// the order), with its 1-based rank.
    fn last_where(&self, go_on: impl Fn(f64, u32) -> bool) -> Option<(Pos, u64)> {
        let d = self.descend(go_on);
        let rank = d.before[0] + u64::from(d.slot);
        if rank == 0 {
            return None;
        }
        let p = if d.slot > 0 {
            Some(Pos { block: d.block, slot: d.slot - 1 })
        } else {
            self.prev(Pos { block: d.block, slot: 0 })
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
        let head = &self.nodes[HEAD as usize];
        assert_eq!((head.upper, usize::from(head.height)), (0, MAX_LEVEL), "header shape");
        assert!((1..=MAX_LEVEL).contains(&self.level), "level {}", self.level);
        // Level 0: the blocks in order, back links, lengths, first copies.
        let mut blocks = Vec::new();
        let mut before = Vec::new();
        let mut order = Vec::new();
        let mut b = head.next;
        let mut prev = HEAD;
        while b != NONE {
            assert!(b != HEAD && (b as usize) < self.nodes.len(), "bad block index {b}");
            assert!(blocks.len() < self.nodes.len(), "level 0 cycles");
            let n = &self.nodes[b as usize];
            assert_eq!(n.prev, prev, "prev of block {b}");
            let len = usize::from(n.len);
            assert!(len <= BLOCK_CAP, "block {b} overfull");
            assert!((1..=self.level).contains(&usize::from(n.height)), "height of block {b}: {}", n.height);
            assert_eq!(n.upper == NONE, n.height == 1, "upper links of block {b}");
            if len > 0 {
                let (body, p) = (&self.blocks[b as usize], &self.nodes[n.prev as usize]);
                assert_eq!(
                    (p.next_score.to_bits(), p.next_id),
                    (body.scores[0].to_bits(), body.ids[0]),
                    "copy of block {b}'s first element in its predecessor"
                );
            }
            before.push(order.len() as u64);
            for i in 0..len {
                order.push((self.blocks[b as usize].scores[i], self.blocks[b as usize].ids[i]));
            }
            blocks.push(b);
            prev = b;
            b = n.next;
        }
        assert_eq!(head.prev, prev, "header's prev is the last block");
        assert_eq!(order.len() as u64, self.len(), "counts add up to the length");
        if self.len == 0 {
            assert_eq!((blocks.len(), self.count(blocks[0]), self.level), (1, 0, 1), "empty list shape");
        }
        for (k, &b) in blocks.iter().enumerate() {
            let len = self.count(b);
            assert!(len > 0 || self.len == 0, "empty block {b} in a non-empty list");
            assert!(len >= MIN_FILL || k + 1 == blocks.len(), "block {b} ({k} of {}) has {len} entries", blocks.len());
        }
        let top = blocks.iter().map(|&b| usize::from(self.nodes[b as usize].height)).max().unwrap_or(1);
        assert_eq!(self.level, top.max(1), "level is the highest block's height");
        // Levels 1..level: exactly the blocks that tall, in order; the spans
        // sum to `before` of each; a null link spans to the end.
        for i in 1..self.level {
            let want: Vec<(u32, u64)> = blocks
                .iter()
                .zip(&before)
                .filter(|(&b, _)| usize::from(self.nodes[b as usize].height) > i)
                .map(|(&b, &n)| (b, n))
                .collect();
            let mut got = Vec::new();
            let (mut x, mut sum) = (HEAD, 0u64);
            loop {
                let l = self.link(x, i);
                if l.next == NONE {
                    assert_eq!(sum + u64::from(l.span), self.len(), "null span of {x} at level {i}");
                    break;
                }
                sum += u64::from(l.span);
                got.push((l.next, sum));
                let ((score, id), upper) = (self.first_key(l.next), self.nodes[l.next as usize].upper);
                assert_eq!(
                    (l.key_score.to_bits(), l.key_id, l.next_upper),
                    (score.to_bits(), id, upper),
                    "copy of block {}'s key and links in the link from {x} at level {i}",
                    l.next
                );
                assert!(got.len() <= want.len(), "level {i} has too many nodes");
                x = l.next;
            }
            assert_eq!(got, want, "level {i}: nodes and span sums");
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
            assert!(live.insert(id), "element {id} in the list twice");
            let c = &self.cold[id as usize];
            assert_ne!(c.len, VACANT, "freed id {id} in the list");
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
        // Free ids and blocks account for the rest; every block's upper
        // links are its own.
        let mut free = 0usize;
        let mut f = self.free;
        while f != NONE {
            assert_eq!(self.cold[f as usize].len, VACANT, "free id {f} looks live");
            free += 1;
            assert!(free <= self.cold.len(), "free id list cycles");
            f = self.cold[f as usize].tag as u32;
        }
        assert_eq!(free + live.len(), self.cold.len(), "ids leaked");
        let mut all = blocks.clone();
        let mut f = self.free_block;
        while f != NONE {
            assert!(!blocks.contains(&f), "free block {f} is linked");
            all.push(f);
            assert!(all.len() < self.nodes.len(), "free block list cycles");
            f = self.nodes[f as usize].next;
        }
        assert_eq!(all.len() + 1, self.nodes.len(), "blocks leaked");
        assert_eq!(self.blocks.len(), self.nodes.len(), "block bodies");
        let mut slots: Vec<(usize, usize)> = vec![(0, MAX_LEVEL - 1)];
        for &b in &all {
            let n = &self.nodes[b as usize];
            if n.height > 1 {
                slots.push((n.upper as usize, usize::from(n.height) - 1));
            }
        }
        slots.sort_unstable();
        let mut end = 0;
        for (at, n) in slots {
            assert_eq!(at, end, "upper link slots overlap or leak");
            end = at + n;
        }
        assert_eq!(end, self.links.len(), "upper link slots leaked");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list_members(t: &SkipList) -> Vec<(Vec<u8>, f64)> {
        let mut out = Vec::new();
        let mut p = t.first();
        while let Some(q) = p {
            let id = t.id_at(q);
            out.push((t.member(id).to_vec(), t.score(id)));
            p = t.next(q);
        }
        out
    }

    /// Checks the invariants and ranks of `t`, and that it holds exactly
    /// the elements `ids`, sorted by `(score, member)`.
    fn assert_matches_sorted_model(t: &SkipList, ids: &[u32]) {
        t.check_invariants();
        assert_ranks_by_walk(t);
        let mut want: Vec<(Vec<u8>, f64)> = ids.iter().map(|&i| (t.member(i).to_vec(), t.score(i))).collect();
        want.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        assert_eq!(list_members(t), want);
    }

    /// Live blocks, walking level 0.
    fn live_blocks(t: &SkipList) -> usize {
        let mut n = 0;
        let mut b = t.nodes[HEAD as usize].next;
        while b != NONE {
            n += 1;
            b = t.nodes[b as usize].next;
        }
        n
    }

    /// Checks `rank`, `by_rank` and backward iteration against a forward walk.
    fn assert_ranks_by_walk(t: &SkipList) {
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
    fn zset_skiplist_insert_delete_rank() {
        let mut t = SkipList::with_seed(1);
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
        assert!(t.level >= 2, "level {}", t.level);
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
    #[should_panic(expected = "level 1")]
    fn zset_skiplist_invariant_check_catches_a_wrong_span() {
        // The checker must be able to fail: one span off by one.
        let mut t = SkipList::with_seed(2);
        for i in 0..5000u32 {
            t.insert(f64::from(i), &i.to_be_bytes(), 0);
        }
        t.check_invariants();
        assert!(t.level >= 2);
        let x = t.link(HEAD, 1).next;
        t.link_mut(x, 1).span += 1;
        t.check_invariants();
    }

    #[test]
    fn zset_skiplist_heights_are_geometric() {
        let mut t = SkipList::with_seed(3);
        let n = 100_000usize;
        let mut at_least = [0usize; 4];
        for _ in 0..n {
            let h = t.random_height();
            assert!((1..=MAX_LEVEL).contains(&h));
            for (k, c) in at_least.iter_mut().enumerate() {
                *c += usize::from(h > k);
            }
        }
        // P(height > k) = 4^-k.
        assert_eq!(at_least[0], n);
        assert!((23_500..26_500).contains(&at_least[1]), "{at_least:?}");
        assert!((5_600..6_900).contains(&at_least[2]), "{at_least:?}");
        assert!((1_300..1_850).contains(&at_least[3]), "{at_least:?}");
    }

    #[test]
    fn zset_skiplist_shrinks_to_empty_and_regrows() {
        // Deleting in every order (front, back, random) merges, refills and
        // unlinks blocks and lowers the level, down to empty.
        for order in 0..3u64 {
            let mut t = SkipList::with_seed(order);
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
            assert_eq!((t.len(), t.level, t.nodes.len(), t.links.len()), (0, 1, 2, MAX_LEVEL - 1));
            assert!(t.first().is_none() && t.last().is_none());
            t.insert(1.0, b"x", 0);
            t.check_invariants();
            assert_ranks_by_walk(&t);
        }
    }

    #[test]
    fn zset_skiplist_thinning_leaves_no_near_empty_blocks() {
        // Grow, then keep one element in every few hundred in order, many
        // times over: without merging or refilling underfull blocks, each
        // survivor would keep a block of its own (the regression the
        // B+tree's inner-node merging fixed, in skiplist form).
        let mut t = SkipList::with_seed(12);
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
            let blocks = live_blocks(&t) as u64;
            assert!(blocks <= t.len() / MIN_FILL as u64 + 1, "{blocks} blocks for {} elements", t.len());
            // The freed blocks are reused by the next round.
            assert!(t.nodes.len() < 2000, "{} block slots after round {round}", t.nodes.len());
        }
        assert_ranks_by_walk(&t);
    }

    #[test]
    fn zset_skiplist_ascending_inserts_fill_blocks() {
        let mut t = SkipList::with_seed(4);
        for i in 0..(BLOCK_CAP as u32 * 100) {
            t.insert(f64::from(i), &i.to_be_bytes(), 0);
        }
        t.check_invariants();
        assert_eq!(live_blocks(&t), 100, "appending leaves every block full");
        let mut t = SkipList::with_seed(5);
        for i in 0..(BLOCK_CAP as u32 * 100) {
            t.insert(-f64::from(i), &i.to_be_bytes(), 0);
        }
        t.check_invariants();
        assert!(live_blocks(&t) <= 200, "descending inserts leave blocks at least half full");
    }

    #[test]
    fn zset_skiplist_plans_applied_late_match_a_sorted_model() {
        // Update and insert plans, applied right away (current) or after
        // another change of the list (stale: re-planned), in lists large
        // enough for splits, merges and several levels.
        for seed in 0..4u64 {
            let mut t = SkipList::with_seed(seed);
            let mut rng = fastrand::Rng::with_seed(seed + 7);
            let mut ids: Vec<u32> = Vec::new();
            let mut next_name = 0u32;
            let mut plan = UpdatePlan::new();
            for step in 0..4000 {
                let score = f64::from(rng.u8(..20));
                let other_change = rng.bool();
                if ids.is_empty() || rng.u8(..3) == 0 {
                    let member = format!("m{next_name}");
                    next_name += 1;
                    t.descend_to(score, member.as_bytes(), &mut plan);
                    t.plan_insert(score, 42, &mut plan);
                    assert!(plan.is_current_insert(&t, 42, score));
                    if other_change {
                        let extra = format!("x{next_name}");
                        next_name += 1;
                        ids.push(t.insert(f64::from(rng.u8(..20)), extra.as_bytes(), 0));
                        assert!(!plan.is_current_insert(&t, 42, score), "an insert leaves the plan current");
                        // A stale insert plan is not used: insert afresh.
                        ids.push(t.insert(score, member.as_bytes(), 0));
                    } else {
                        ids.push(t.insert_planned(&mut plan, member.as_bytes(), 0));
                    }
                } else {
                    let id = ids[rng.usize(..ids.len())];
                    if t.score(id) == score {
                        continue;
                    }
                    t.plan_update(id, score, &mut plan, false);
                    assert_eq!(plan.current_update(&t, score), Some(id));
                    if other_change && ids.len() > 1 {
                        let k = rng.usize(..ids.len());
                        if ids[k] != id {
                            let gone = ids.swap_remove(k);
                            t.delete(gone);
                            assert_eq!(plan.current_update(&t, score), None, "a delete leaves the plan current");
                        }
                    }
                    t.update_planned(&mut plan);
                    assert_eq!(t.score(id), score);
                }
                if step % 199 == 0 {
                    t.check_invariants();
                    assert_ranks_by_walk(&t);
                }
            }
            assert_matches_sorted_model(&t, &ids);
        }
    }

    #[test]
    fn zset_skiplist_moves_match_a_sorted_model() {
        // Score updates over few distinct scores, so moves land among equal
        // scores, next to their old place (in place), at both ends, across
        // blocks, and at blocks' first entries.
        for seed in 0..6u64 {
            let mut t = SkipList::with_seed(seed);
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
            assert_matches_sorted_model(&t, &ids);
        }
    }

    #[test]
    fn zset_skiplist_is_compact() {
        // The per-member memory estimate in the `zset` module docs relies on this.
        assert_eq!(std::mem::size_of::<Cold>(), 32);
        assert_eq!(std::mem::align_of::<Cold>(), 32); // never straddles a cache line
        assert_eq!(std::mem::size_of::<Block>(), 512);
        assert_eq!(std::mem::size_of::<Node>(), 32);
        assert_eq!(std::mem::size_of::<Link>(), 24);
        let mut t = SkipList::with_seed(9);
        let mut rng = fastrand::Rng::with_seed(9);
        let n = 50_000u32;
        for i in 0..n {
            t.insert(rng.f64(), &i.to_le_bytes(), 0);
        }
        // Random inserts leave blocks ~70 % full.
        let per_block = f64::from(n) / live_blocks(&t) as f64;
        assert!(per_block > 0.6 * BLOCK_CAP as f64, "{per_block} entries per block");
        // About a third of a link per block above level 0.
        assert!(t.links.len() < t.nodes.len() / 2 + MAX_LEVEL, "{} links for {} blocks", t.links.len(), t.nodes.len());
        t.check_invariants();
    }

    #[test]
    fn zset_skiplist_members_inline_and_long() {
        // Members around the inline limit, with equal scores so ties
        // compare the member bytes wherever they live.
        let mut t = SkipList::with_seed(6);
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
    fn zset_skiplist_update_score_keeps_id() {
        let mut t = SkipList::with_seed(7);
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
    fn zset_skiplist_delete_ranges() {
        let mut t = SkipList::with_seed(8);
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

    #[test]
    fn zset_skiplist_tall_blocks_and_reuse() {
        // Many seeds, so some blocks are tall and the level rises and
        // falls; random inserts and deletes over a small key space reuse
        // freed blocks (with their heights) and ids.
        for seed in 0..8u64 {
            let mut t = SkipList::with_seed(seed);
            let mut rng = fastrand::Rng::with_seed(seed);
            let mut live: Vec<u32> = Vec::new();
            for step in 0..6000u32 {
                if live.is_empty() || rng.u8(..3) > 0 {
                    live.push(t.insert(f64::from(rng.u16(..500)), &step.to_be_bytes(), 0));
                } else {
                    let k = rng.usize(..live.len());
                    t.delete(live.swap_remove(k));
                }
                if step % 499 == 0 {
                    t.check_invariants();
                }
                if step == 3000 {
                    // Drain most, so blocks are freed and then reused.
                    while live.len() > 5 {
                        t.delete(live.pop().expect("live"));
                    }
                    t.check_invariants();
                }
            }
            t.check_invariants();
            assert_ranks_by_walk(&t);
            let slots = t.nodes.len();
            assert!(slots <= 2 * (t.len() as usize / MIN_FILL + 2), "{slots} block slots for {} elements", t.len());
        }
    }
}
