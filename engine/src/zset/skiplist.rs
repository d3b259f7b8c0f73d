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
//! header to reach it. Spans are stored as `u32` (a node id is a `u32`, so
//! no list can hold more than `u32::MAX - 1` nodes); every rank computation
//! is done in `u64` (compare redis#9249, where rank arithmetic in a narrower
//! type overflowed). A null forward link's span is the number of nodes
//! after its owner, as in Redis. A level-0 link skips exactly one node, so
//! its span is not stored: it is 1, or 0 for a null link (no node after it).
//!
//! # Node ownership
//!
//! A node is a `u32` id, an index into the parallel arrays `hot` and
//! `cold`. Id 0 is the header: it holds no element, has [`MAX_LEVEL`]
//! levels, and is never freed, so id 0 doubles as the null level-0 link (no
//! link ever points at the header). A freed id is pushed on a free list
//! (threaded through its `hot.next`), its member is dropped, and no link
//! refers to it until [`SkipList::insert`] hands it out again. The owner of
//! a skiplist (the `ZSet` index) may hold ids of live nodes only;
//! [`SkipList::update_score`] keeps a node's id stable, so such references
//! stay valid across score updates.
//!
//! # Layout: hot, links, cold
//!
//! At 1M members a search visits ~30 nodes, most of them in the lowest
//! levels, at random places; what decides its speed is how many of those
//! visits miss the CPU caches (on the bench VM a miss to DRAM costs
//! ~140 ns and only ~8 MB of last-level cache is effectively ours). So a
//! node is split by who reads it (structure of arrays), and each step of a
//! search reads as little, as densely packed, as possible:
//!
//! - `hot[id]` (16 bytes): the score and the level-0 links (forward and
//!   backward). A level-0 step reads only this.
//! - `links`: the levels above 0 of the nodes that have them (a quarter of
//!   them with p = 1/4), as one contiguous block per node in one arena of
//!   16-byte units: a block header (the node's id and height) then one
//!   [`Link`] per level `1..height`. A link holds the forward node's
//!   *block* (not its id), the span, and a copy of the forward node's
//!   score: a step at level >= 1 compares against the copy and moves to the
//!   next block without reading `hot` or `cold` at all, so one visited node
//!   is one cache line of a ~9 B/member array, and the step that ends a
//!   level reads nothing new. The copy is written wherever a link is set
//!   and rewritten when a tall node's score changes in place. Blocks of
//!   height 2 and taller blocks are carved from separate 4 KiB chunks, so
//!   the blocks that levels >= 2 walk (~3 MB at 1M members) sit together
//!   instead of among the short ones (measured: ~5 % off `ZADD` updates and
//!   `ZRANK`). Freed blocks go on a free list per height and are reused
//!   whole.
//! - `cold[id]` (32 bytes): tag, block index, height and the member (inline
//!   up to [`INLINE_MEMBER`] bytes, else an index into `long`). A search
//!   reads a member only when scores are equal.
//!
//! At 1M members `hot` is 16 MB, so level-0 steps still miss the cache;
//! copying the successor's score into `hot` as well (24 bytes) was
//! measured to trade faster inserts for slower ranks at +8 B/member, and
//! was left out.
//!
//! The header's block is block 0, so block 0 doubles as the null link at
//! levels >= 1. Arrays grow by doubling and, once a few megabytes, ask for
//! transparent huge pages (the `huge_pages` module): searches touch random
//! places, so they also miss the TLB. Ids and blocks stay stable when they
//! grow.

use super::range::{LexRange, ScoreRange};
use super::Removed;

/// Maximum number of levels of a node (Redis `ZSKIPLIST_MAXLEVEL`).
pub(crate) const MAX_LEVEL: usize = 32;

/// Id of the header node, also the null level-0 link.
const NIL: u32 = 0;

/// Block of the header, also the null link at levels >= 1.
const HEADER_BLOCK: u32 = 0;

/// Longest member stored inline in `cold`.
pub(crate) const INLINE_MEMBER: usize = 18;

/// Link units per chunk of the `links` arena (4 KiB).
const CHUNK_UNITS: u32 = 256;

/// `Cold::len` of a member kept in `long`.
const LONG: u8 = u8::MAX;

/// What a level-0 step reads: one node's score and level-0 links.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(16))]
struct Hot {
    /// The element's score (never NaN).
    score: f64,
    /// Next node at level 0, `NIL` for the last. For a freed id: the next
    /// free id (`NIL` ends the free list).
    next: u32,
    /// Previous node at level 0, `NIL` for the first.
    prev: u32,
}

/// One forward link at a level >= 1, or (first unit of a block) the
/// block's header.
#[derive(Debug, Clone, Copy, Default)]
#[repr(C, align(16))]
struct Link {
    /// Link: the forward node's block, `HEADER_BLOCK` for none. Header
    /// unit: the node's id; for a freed block, the next free block of its
    /// height (`HEADER_BLOCK` ends the list).
    to: u32,
    /// Link: the span. Header unit: the node's height.
    span: u32,
    /// Link: the forward node's score (a copy of its `hot` score; 0 when
    /// null). Header unit: unused.
    score: f64,
}

/// What only writes, ranges, ties and replies read.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(32))]
struct Cold {
    /// Caller-supplied tag (the engine stores the member record's location).
    tag: u64,
    /// The node's block in `links`; `HEADER_BLOCK` for a node of height 1.
    block: u32,
    /// Number of levels, `1..=MAX_LEVEL`; 0 for a freed id.
    height: u8,
    /// Member length if inline (`<= INLINE_MEMBER`), else `LONG`.
    len: u8,
    /// Inline member bytes, or for `LONG` the `long` slot (`u32` LE).
    bytes: [u8; INLINE_MEMBER],
}

impl Cold {
    const VACANT: Cold = Cold { tag: 0, block: HEADER_BLOCK, height: 0, len: 0, bytes: [0; INLINE_MEMBER] };
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

/// An element met by a search: its score is at hand, its member is read
/// only if asked for (ties), so score-only searches never touch `cold`.
#[derive(Clone, Copy)]
pub(crate) struct Cand<'a> {
    list: &'a SkipList,
    /// The element's score.
    pub(crate) score: f64,
    /// Its block if met through a link at level >= 1, else `HEADER_BLOCK`.
    block: u32,
    /// Its id if met at level 0.
    id: u32,
}

impl<'a> Cand<'a> {
    /// The element's node id.
    #[inline]
    fn id(&self) -> u32 {
        if self.block != HEADER_BLOCK {
            self.list.block_node(self.block)
        } else {
            self.id
        }
    }

    /// The element's member.
    #[inline]
    pub(crate) fn member(&self) -> &'a [u8] {
        self.list.member(self.id())
    }
}

/// Where a search stopped on each level below the list's level: the last
/// position it reached (a block at levels >= 1, `HEADER_BLOCK` for the
/// header; a node id at level 0) and that position's rank.
struct Path {
    update: [u32; MAX_LEVEL],
    rank: [u64; MAX_LEVEL],
}

/// A skiplist of `(score, member, tag)` ordered by `(score, member)`.
///
/// Members must be unique; the caller (the `ZSet`) guarantees it.
#[derive(Debug)]
pub(crate) struct SkipList {
    hot: Vec<Hot>,
    cold: Vec<Cold>,
    links: Vec<Link>,
    /// Members longer than `INLINE_MEMBER`; a freed slot is empty.
    long: Vec<Box<[u8]>>,
    /// Free slots of `long`.
    long_free: Vec<u32>,
    /// Bytes held by the members in `long`.
    long_bytes: usize,
    /// Head of the free list of ids, `NIL` when empty.
    free: u32,
    /// Per height, head of the free list of blocks, `HEADER_BLOCK` when empty.
    free_blocks: [u32; MAX_LEVEL + 1],
    /// New blocks of height 2 (class 0) and taller (class 1) are carved
    /// from separate chunks of `links`, so the blocks that levels >= 2 walk
    /// through sit together (a few MB at 1M members) instead of spread
    /// among the short ones: per class, the next free unit and the end of
    /// its current chunk.
    chunk: [(u32, u32); 2],
    /// Units left unused at the ends of full chunks.
    chunk_slack: usize,
    /// Last node, `NIL` when empty.
    tail: u32,
    /// Number of elements.
    len: u32,
    /// Number of levels in use (at least 1).
    level: usize,
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
        let mut links = vec![Link::default(); MAX_LEVEL];
        links[0] = Link { to: NIL, span: MAX_LEVEL as u32, score: 0.0 };
        SkipList {
            hot: vec![Hot { score: 0.0, next: NIL, prev: NIL }],
            cold: vec![Cold { block: HEADER_BLOCK, height: MAX_LEVEL as u8, ..Cold::VACANT }],
            links,
            long: Vec::new(),
            long_free: Vec::new(),
            long_bytes: 0,
            free: NIL,
            free_blocks: [HEADER_BLOCK; MAX_LEVEL + 1],
            chunk: [(0, 0); 2],
            chunk_slack: 0,
            tail: NIL,
            len: 0,
            level: 1,
            rng,
        }
    }

    /// Number of elements.
    #[inline]
    pub(crate) fn len(&self) -> u64 {
        u64::from(self.len)
    }

    /// Approximate heap bytes owned by the list.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.hot.capacity() * std::mem::size_of::<Hot>()
            + self.cold.capacity() * std::mem::size_of::<Cold>()
            + self.links.capacity() * std::mem::size_of::<Link>()
            + self.long.capacity() * std::mem::size_of::<Box<[u8]>>()
            + self.long_free.capacity() * 4
            + self.long_bytes
    }

    /// The node whose block is `b`.
    #[inline]
    fn block_node(&self, b: u32) -> u32 {
        self.links[b as usize].to
    }

    /// Level-`i` link (`i >= 1`) of block `b`.
    #[inline]
    fn link(&self, b: u32, i: usize) -> Link {
        self.links[b as usize + i]
    }

    #[inline]
    fn link_mut(&mut self, b: u32, i: usize) -> &mut Link {
        &mut self.links[b as usize + i]
    }

    #[inline]
    fn height(&self, idx: u32) -> usize {
        usize::from(self.cold[idx as usize].height)
    }

    /// Member bytes of live node `idx`.
    #[inline]
    pub(crate) fn member(&self, idx: u32) -> &[u8] {
        let c = &self.cold[idx as usize];
        if c.len == LONG {
            let slot = u32::from_le_bytes([c.bytes[0], c.bytes[1], c.bytes[2], c.bytes[3]]);
            &self.long[slot as usize]
        } else {
            &c.bytes[..usize::from(c.len)]
        }
    }

    /// Score of live node `idx`.
    #[inline]
    pub(crate) fn score(&self, idx: u32) -> f64 {
        self.hot[idx as usize].score
    }

    /// Tag of live node `idx`.
    #[inline]
    pub(crate) fn tag(&self, idx: u32) -> u64 {
        self.cold[idx as usize].tag
    }

    /// Replaces the tag of live node `idx`.
    #[inline]
    pub(crate) fn set_tag(&mut self, idx: u32, tag: u64) {
        self.cold[idx as usize].tag = tag;
    }

    /// First node, if any.
    #[inline]
    pub(crate) fn first(&self) -> Option<u32> {
        self.next(NIL)
    }

    /// Last node, if any.
    #[inline]
    pub(crate) fn last(&self) -> Option<u32> {
        Some(self.tail).filter(|&i| i != NIL)
    }

    /// The node after `idx`, if any.
    #[inline]
    pub(crate) fn next(&self, idx: u32) -> Option<u32> {
        Some(self.hot[idx as usize].next).filter(|&i| i != NIL)
    }

    /// The node before `idx`, if any.
    #[inline]
    pub(crate) fn prev(&self, idx: u32) -> Option<u32> {
        Some(self.hot[idx as usize].prev).filter(|&i| i != NIL)
    }

    /// Whether `(score, member)` orders strictly before `(c.score, c.member)`.
    #[inline(always)]
    fn key_before(score: f64, member: &[u8], c: &Cand<'_>) -> bool {
        score < c.score || (score == c.score && member < c.member())
    }

    /// Whether `c` orders strictly before `(score, member)`.
    #[inline(always)]
    fn cand_before(c: &Cand<'_>, score: f64, member: &[u8]) -> bool {
        c.score < score || (c.score == score && c.member() < member)
    }

    /// Redis `zslRandomLevel`: 1 + a geometric variable with p = 1/4.
    fn random_level(&mut self) -> usize {
        let mut level = 1;
        while level < MAX_LEVEL && self.rng.u32(..) < u32::MAX / 4 {
            level += 1;
        }
        level
    }

    /// Takes a block of `height` units for node `idx` (`height >= 2`),
    /// reusing a freed one of that height when possible; its links are null.
    fn alloc_block(&mut self, height: usize, idx: u32) -> u32 {
        let header = Link { to: idx, span: height as u32, score: 0.0 };
        let b = self.free_blocks[height];
        if b != HEADER_BLOCK {
            self.free_blocks[height] = self.links[b as usize].to;
            self.links[b as usize] = header;
            for i in 1..height {
                *self.link_mut(b, i) = Link::default();
            }
            return b;
        }
        let class = usize::from(height > 2);
        let (next, end) = self.chunk[class];
        let b = if next + height as u32 <= end {
            next
        } else {
            self.chunk_slack += (end - next) as usize;
            let start = u32::try_from(self.links.len()).ok().filter(|b| b.checked_add(CHUNK_UNITS).is_some());
            let start = start.expect("sorted set too large");
            for _ in 0..CHUNK_UNITS {
                push_huge(&mut self.links, Link::default());
            }
            self.chunk[class].1 = start + CHUNK_UNITS;
            start
        };
        self.chunk[class].0 = b + height as u32;
        self.links[b as usize] = header;
        b
    }

    /// Takes an id for a new node, reusing a freed one when possible.
    fn alloc(&mut self, height: usize, member: &[u8], score: f64, tag: u64) -> u32 {
        let hot = Hot { score, next: NIL, prev: NIL };
        let mut cold = Cold { tag, block: HEADER_BLOCK, height: height as u8, ..Cold::VACANT };
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
        let idx = if self.free != NIL {
            let idx = self.free;
            self.free = self.hot[idx as usize].next;
            self.hot[idx as usize] = hot;
            self.cold[idx as usize] = cold;
            idx
        } else {
            let idx = u32::try_from(self.hot.len()).ok().filter(|&i| i != u32::MAX).expect("sorted set too large");
            push_huge(&mut self.hot, hot);
            push_huge(&mut self.cold, cold);
            idx
        };
        if height > 1 {
            let b = self.alloc_block(height, idx);
            self.cold[idx as usize].block = b;
        }
        idx
    }

    /// Returns an unlinked node's id (and block) to the free lists, handing
    /// back its contents.
    fn release(&mut self, idx: u32) -> Removed {
        let c = std::mem::replace(&mut self.cold[idx as usize], Cold::VACANT);
        let member = if c.len == LONG {
            let slot = u32::from_le_bytes([c.bytes[0], c.bytes[1], c.bytes[2], c.bytes[3]]);
            let m = std::mem::take(&mut self.long[slot as usize]);
            self.long_bytes -= m.len();
            self.long_free.push(slot);
            m.into_vec()
        } else {
            c.bytes[..usize::from(c.len)].to_vec()
        };
        let h = usize::from(c.height);
        if h > 1 {
            self.links[c.block as usize] = Link { to: self.free_blocks[h], span: 0, score: 0.0 };
            self.free_blocks[h] = c.block;
        }
        let score = self.hot[idx as usize].score;
        self.hot[idx as usize] = Hot { score: 0.0, next: self.free, prev: NIL };
        self.free = idx;
        Removed { member, score, tag: c.tag }
    }

    /// Walks from the header down to level `to_level` (0 or 1), moving
    /// forward on each level while `go_on(next element, its rank)` holds
    /// (it must hold on a prefix of the list). Records where the walk
    /// stopped on each level it walked.
    #[inline(always)]
    fn descend(&self, to_level: usize, mut go_on: impl FnMut(&Cand<'_>, u64) -> bool) -> Path {
        let mut path = Path { update: [HEADER_BLOCK; MAX_LEVEL], rank: [0; MAX_LEVEL] };
        let mut b = HEADER_BLOCK;
        let mut rank = 0u64;
        for i in (1..self.level).rev() {
            loop {
                let l = self.link(b, i);
                let c = Cand { list: self, score: l.score, block: l.to, id: NIL };
                if l.to != HEADER_BLOCK && go_on(&c, rank + u64::from(l.span)) {
                    rank += u64::from(l.span);
                    b = l.to;
                } else {
                    break;
                }
            }
            path.update[i] = b;
            path.rank[i] = rank;
        }
        if to_level == 0 {
            let mut x = self.block_node(b);
            loop {
                let f = self.hot[x as usize].next;
                if f == NIL {
                    break;
                }
                let c = Cand { list: self, score: self.hot[f as usize].score, block: HEADER_BLOCK, id: f };
                if go_on(&c, rank + 1) {
                    rank += 1;
                    x = f;
                } else {
                    break;
                }
            }
            path.update[0] = x;
            path.rank[0] = rank;
        }
        path
    }

    /// Inserts an element that is not yet present; returns its node id.
    ///
    /// # Panics
    ///
    /// If `score` is NaN, or if the list already holds `u32::MAX - 1` nodes.
    pub(crate) fn insert(&mut self, score: f64, member: &[u8], tag: u64) -> u32 {
        let height = self.random_level();
        self.insert_at_height(score, member, tag, height)
    }

    /// [`SkipList::insert`] with a node of `height` levels.
    fn insert_at_height(&mut self, score: f64, member: &[u8], tag: u64, height: usize) -> u32 {
        assert!(!score.is_nan(), "NaN score in a sorted set");
        let path = self.descend(0, |c, _| Self::cand_before(c, score, member));
        let idx = self.alloc(height, member, score, tag);
        self.splice(idx, path);
        idx
    }

    /// Links allocated node `idx` after `path.update[i]` at each level,
    /// given those predecessors (at the list's levels) and their ranks.
    fn splice(&mut self, idx: u32, mut path: Path) {
        let height = self.height(idx);
        let score = self.hot[idx as usize].score;
        if height > self.level {
            let len = self.len;
            for i in self.level..height {
                path.rank[i] = 0;
                path.update[i] = HEADER_BLOCK;
                *self.link_mut(HEADER_BLOCK, i) = Link { to: HEADER_BLOCK, span: len, score: 0.0 };
            }
            self.level = height;
        }
        let nb = self.cold[idx as usize].block;
        for i in 1..height {
            let u = path.update[i];
            let ul = self.link(u, i);
            let skipped = path.rank[0] - path.rank[i];
            *self.link_mut(nb, i) = Link { to: ul.to, span: (u64::from(ul.span) - skipped) as u32, score: ul.score };
            *self.link_mut(u, i) = Link { to: nb, span: (skipped + 1) as u32, score };
        }
        for i in height.max(1)..self.level {
            self.link_mut(path.update[i], i).span += 1;
        }
        let u0 = path.update[0];
        let f0 = self.hot[u0 as usize].next;
        self.hot[idx as usize].next = f0;
        self.hot[idx as usize].prev = u0;
        self.hot[u0 as usize].next = idx;
        if f0 != NIL {
            self.hot[f0 as usize].prev = idx;
        } else {
            self.tail = idx;
        }
        self.len += 1;
    }

    /// For live node `idx`, the last block before it on every level >= 1.
    fn find_update(&self, idx: u32) -> Path {
        let (score, member) = (self.score(idx), self.member(idx));
        self.descend(1, |c, _| Self::cand_before(c, score, member))
    }

    /// Unlinks node `idx` given its predecessors on levels >= 1
    /// (`zslDeleteNode`); its level-0 neighbours come from its own links.
    fn unlink(&mut self, idx: u32, update: &[u32; MAX_LEVEL]) {
        let (height, nb) = (self.height(idx), self.cold[idx as usize].block);
        for (i, &u) in update.iter().enumerate().take(self.level).skip(1) {
            if i < height {
                debug_assert_eq!(self.link(u, i).to, nb, "predecessor at level {i} does not link to the node");
                let x = self.link(nb, i);
                let ul = self.link_mut(u, i);
                *ul = Link { to: x.to, span: ul.span + x.span - 1, score: x.score };
            } else {
                self.link_mut(u, i).span -= 1;
            }
        }
        let Hot { next, prev, .. } = self.hot[idx as usize];
        self.hot[prev as usize].next = next;
        if next != NIL {
            self.hot[next as usize].prev = prev;
        } else {
            self.tail = prev;
        }
        while self.level > 1 && self.link(HEADER_BLOCK, self.level - 1).to == HEADER_BLOCK {
            self.level -= 1;
        }
        self.len -= 1;
    }

    /// Deletes live node `idx` and frees its id.
    pub(crate) fn delete(&mut self, idx: u32) -> Removed {
        let path = self.find_update(idx);
        self.unlink(idx, &path.update);
        self.release(idx)
    }

    /// Changes the score of live node `idx` (`zslUpdateScore`). The node keeps
    /// its id; it is only moved when its position would change.
    pub(crate) fn update_score(&mut self, idx: u32, score: f64) {
        assert!(!score.is_nan(), "NaN score in a sorted set");
        let Hot { next, prev, .. } = self.hot[idx as usize];
        if (prev == NIL || self.score(prev) < score) && (next == NIL || self.score(next) > score) {
            let height = self.height(idx);
            if height > 1 {
                // The links into a tall node hold copies of its score.
                let path = self.find_update(idx);
                for i in 1..height {
                    self.link_mut(path.update[i], i).score = score;
                }
            }
            self.hot[idx as usize].score = score;
            return;
        }
        let (old_update, new_path) = self.find_move(idx, score);
        self.unlink(idx, &old_update);
        self.hot[idx as usize].score = score;
        self.splice(idx, new_path);
    }

    /// For moving live node `idx` to `score`: its predecessors on every
    /// level >= 1, and the path where it is to be linked, as it will be
    /// once it is unlinked.
    ///
    /// Both searches run in one loop, a step of each per turn: each step is
    /// a likely cache miss that depends only on its own search's previous
    /// step, so the CPU overlaps the two chains instead of waiting for two
    /// descents in a row. The second search runs on the list that still
    /// holds `idx`: it looks through `idx` (a link to `idx` counts as a
    /// link to `idx`'s successor), and its ranks, which count `idx` once it
    /// has passed it, are corrected as it goes.
    fn find_move(&self, idx: u32, score: f64) -> ([u32; MAX_LEVEL], Path) {
        let (old_score, member) = (self.score(idx), self.member(idx));
        let nb = self.cold[idx as usize].block;
        let mut old_update = [HEADER_BLOCK; MAX_LEVEL];
        let mut path = Path { update: [HEADER_BLOCK; MAX_LEVEL], rank: [0; MAX_LEVEL] };
        // Search A (levels >= 1 only): the predecessors of `idx`.
        let (mut xa, mut ia, mut a_done) = (HEADER_BLOCK, self.level - 1, self.level == 1);
        // Search B: at block `xb` on level `ib >= 1`, then at node `x0` on
        // level 0; `passed` once its position lies after `idx`.
        let (mut xb, mut ib, mut x0, mut rank, mut passed) = (HEADER_BLOCK, self.level - 1, NIL, 0u64, false);
        let mut b_done = false;
        if self.level == 1 {
            ib = 0;
            x0 = NIL;
        }
        while !(a_done && b_done) {
            if !a_done {
                let l = self.link(xa, ia);
                let c = Cand { list: self, score: l.score, block: l.to, id: NIL };
                if l.to != HEADER_BLOCK && l.to != nb && Self::cand_before(&c, old_score, member) {
                    xa = l.to;
                } else {
                    old_update[ia] = xa;
                    a_done = ia == 1;
                    ia -= 1;
                }
            }
            if !b_done {
                if ib >= 1 {
                    let mut l = self.link(xb, ib);
                    if l.to == nb && nb != HEADER_BLOCK {
                        let through = self.link(nb, ib);
                        l = Link { to: through.to, span: l.span + through.span, score: through.score };
                    }
                    let c = Cand { list: self, score: l.score, block: l.to, id: NIL };
                    if l.to != HEADER_BLOCK && Self::cand_before(&c, score, member) {
                        rank += u64::from(l.span);
                        passed = passed || Self::key_before(old_score, member, &c);
                        xb = l.to;
                    } else {
                        path.update[ib] = xb;
                        path.rank[ib] = rank - u64::from(passed);
                        ib -= 1;
                        if ib == 0 {
                            x0 = self.block_node(xb);
                        }
                    }
                } else {
                    let (mut f, mut span) = (self.hot[x0 as usize].next, 1);
                    if f == idx {
                        (f, span) = (self.hot[idx as usize].next, 2);
                    }
                    let c = Cand { list: self, score: self.score(f), block: HEADER_BLOCK, id: f };
                    if f != NIL && Self::cand_before(&c, score, member) {
                        rank += span;
                        passed = passed || Self::key_before(old_score, member, &c);
                        x0 = f;
                    } else {
                        path.update[0] = x0;
                        path.rank[0] = rank - u64::from(passed);
                        b_done = true;
                    }
                }
            }
        }
        (old_update, path)
    }

    /// 1-based rank of live node `idx` (`zslGetRank`): a walk from the
    /// header comparing `(score, member)` down to level 1, which stops as
    /// soon as a link leads to `idx`, at `x` otherwise; `idx` then lies
    /// within `x`'s level-1 gap, a few level-0 steps after `x`. Those steps
    /// are taken backwards from `idx` (whose links the caller has just
    /// read), interleaved with the walk from the header: the two chains of
    /// likely cache misses overlap instead of running one after the other.
    /// Comparing both score and member tells equal scores apart
    /// (redis#3081).
    pub(crate) fn rank(&self, idx: u32) -> u64 {
        const TRAIL: usize = 4;
        let (score, member, nb) = (self.score(idx), self.member(idx), self.cold[idx as usize].block);
        // Backward walk: `trail[d]` is the node `d` steps before `idx`.
        let mut trail = [NIL; TRAIL];
        let mut back = 0usize;
        trail[0] = idx;
        let mut b = HEADER_BLOCK;
        let mut rank = 0u64;
        for i in (1..self.level).rev() {
            loop {
                if back + 1 < TRAIL && trail[back] != NIL {
                    trail[back + 1] = self.hot[trail[back] as usize].prev;
                    back += 1;
                }
                let l = self.link(b, i);
                if l.to == HEADER_BLOCK {
                    break;
                }
                if l.to == nb {
                    return rank + u64::from(l.span);
                }
                let c = Cand { list: self, score: l.score, block: l.to, id: NIL };
                if Self::cand_before(&c, score, member) {
                    rank += u64::from(l.span);
                    b = l.to;
                } else {
                    break;
                }
            }
        }
        let x = self.block_node(b);
        if let Some(d) = trail[1..=back].iter().position(|&y| y == x) {
            return rank + d as u64 + 1;
        }
        // A long gap: go on forward from `x`.
        let mut x = x;
        loop {
            x = self.hot[x as usize].next;
            rank += 1;
            if x == idx || x == NIL {
                debug_assert_ne!(x, NIL, "rank of a node that is not in the list");
                return rank;
            }
        }
    }

    /// The node at 1-based `rank` (`zslGetElementByRank`), if any.
    pub(crate) fn by_rank(&self, rank: u64) -> Option<u32> {
        if rank == 0 || rank > self.len() {
            return None;
        }
        let path = self.descend(0, |_, r| r <= rank);
        debug_assert_eq!(path.rank[0], rank);
        Some(path.update[0])
    }

    /// Finds the last node at which `go_on` holds walking from the header
    /// (`go_on` must hold on a prefix of the list). Returns it (`NIL` for
    /// none) with its rank, and the predecessors at every level.
    fn seek(&self, mut go_on: impl FnMut(&Cand<'_>) -> bool) -> (u32, u64, Path) {
        let path = self.descend(0, |c, _| go_on(c));
        (path.update[0], path.rank[0], path)
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
        let (x, rank, _) = self.seek(|c| !range.gte_min(c.score));
        let x = self.hot[x as usize].next;
        (x != NIL && range.lte_max(self.score(x))).then_some((x, rank + 1))
    }

    /// Last element in `range` with its 1-based rank (`zslLastInRange`).
    pub(crate) fn last_in_range(&self, range: &ScoreRange) -> Option<(u32, u64)> {
        if !self.score_range_overlaps(range) {
            return None;
        }
        let (x, rank, _) = self.seek(|c| range.lte_max(c.score));
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
        let (x, rank, _) = self.seek(|c| !range.gte_min(c.member()));
        let x = self.hot[x as usize].next;
        (x != NIL && range.lte_max(self.member(x))).then_some((x, rank + 1))
    }

    /// Last element in lex `range` with its 1-based rank (`zslLastInLexRange`).
    pub(crate) fn last_in_lex_range(&self, range: &LexRange) -> Option<(u32, u64)> {
        if !self.lex_range_overlaps(range) {
            return None;
        }
        let (x, rank, _) = self.seek(|c| range.lte_max(c.member()));
        (x != NIL && range.gte_min(self.member(x))).then_some((x, rank))
    }

    /// Deletes the run of nodes starting after `path.update[0]` while
    /// `keep_going(id, i)` holds for the `i`-th of them
    /// (`zslDeleteRangeBy*`); returns `(id, contents)` of each.
    fn delete_run(&mut self, path: &Path, mut keep_going: impl FnMut(&Self, u32, u64) -> bool) -> Vec<(u32, Removed)> {
        let mut out = Vec::new();
        let mut x = self.hot[path.update[0] as usize].next;
        let mut i = 0u64;
        while x != NIL && keep_going(self, x, i) {
            let next = self.hot[x as usize].next;
            self.unlink(x, &path.update);
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
        let (_, _, path) = self.seek(|c| !range.gte_min(c.score));
        self.delete_run(&path, |l, x, _| range.lte_max(l.score(x)))
    }

    /// Deletes every element in lex `range` (`zslDeleteRangeByLex`).
    pub(crate) fn delete_range_by_lex(&mut self, range: &LexRange) -> Vec<(u32, Removed)> {
        if !self.lex_range_overlaps(range) {
            return Vec::new();
        }
        let (_, _, path) = self.seek(|c| !range.gte_min(c.member()));
        self.delete_run(&path, |l, x, _| range.lte_max(l.member(x)))
    }

    /// Deletes the elements of 1-based ranks `start..=end`
    /// (`zslDeleteRangeByRank`).
    pub(crate) fn delete_range_by_rank(&mut self, start: u64, end: u64) -> Vec<(u32, Removed)> {
        if start == 0 || start > end {
            return Vec::new();
        }
        let path = self.descend(0, |_, r| r < start);
        let n = end - start + 1;
        self.delete_run(&path, |_, _, i| i < n)
    }

    /// Checks every structural invariant; panics with a description on the
    /// first violation. `O(n * levels)`; for tests and debugging.
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        assert_eq!(self.hot.len(), self.cold.len(), "hot and cold arrays differ in length");
        assert_eq!(self.height(NIL), MAX_LEVEL, "header height");
        assert_eq!(self.cold[0].block, HEADER_BLOCK, "header block");
        assert_eq!(self.links[0].to, NIL, "header block names another node");
        assert_eq!(self.links[0].span as usize, MAX_LEVEL, "header block height");
        assert!((1..=MAX_LEVEL).contains(&self.level), "level {} out of range", self.level);
        // Level 0 walk: ordering, backward links, ranks, count, tail, and
        // each node's block and member storage.
        let mut rank_of = std::collections::HashMap::new();
        let mut block_of = std::collections::HashMap::new();
        let mut prev = NIL;
        let mut x = self.hot[0].next;
        let mut rank = 0u64;
        let mut max_height = 1;
        let mut long = 0usize;
        let mut long_bytes = 0usize;
        let mut block_units = MAX_LEVEL;
        while x != NIL {
            rank += 1;
            let (h, c) = (self.hot[x as usize], self.cold[x as usize]);
            let height = usize::from(c.height);
            assert!((1..=MAX_LEVEL).contains(&height), "node {x} height {height}");
            assert!(!h.score.is_nan(), "node {x} has a NaN score");
            assert_eq!(h.prev, prev, "backward link of node {x}");
            if prev != NIL {
                let (ps, s) = (self.score(prev), h.score);
                assert!(ps < s || (ps == s && self.member(prev) < self.member(x)), "nodes {prev} and {x} out of order");
            }
            assert!(rank_of.insert(x, rank).is_none(), "node {x} reached twice");
            max_height = max_height.max(height);
            if height > 1 {
                assert_ne!(c.block, HEADER_BLOCK, "tall node {x} has no block");
                assert_eq!(self.links[c.block as usize].to, x, "block of node {x} names another node");
                assert_eq!(self.links[c.block as usize].span as usize, height, "block height of node {x}");
                assert!(block_of.insert(c.block, x).is_none(), "block {} shared", c.block);
                block_units += height;
            } else {
                assert_eq!(c.block, HEADER_BLOCK, "node {x} of height 1 has a block");
            }
            if c.len == LONG {
                assert!(self.member(x).len() > INLINE_MEMBER, "short member of node {x} kept out of line");
                long += 1;
                long_bytes += self.member(x).len();
            } else {
                assert!(usize::from(c.len) <= INLINE_MEMBER, "node {x} member length {}", c.len);
            }
            prev = x;
            x = h.next;
        }
        assert_eq!(rank, self.len(), "length");
        assert_eq!(self.tail, prev, "tail");
        assert_eq!(long + self.long_free.len(), self.long.len(), "long member slots leaked");
        assert_eq!(long_bytes, self.long_bytes, "long member byte count");
        for &s in &self.long_free {
            assert!(self.long[s as usize].is_empty(), "free long slot {s} holds a member");
        }
        assert!(self.level >= max_height, "level {} below tallest node {max_height}", self.level);
        if self.level > 1 {
            assert_ne!(self.link(HEADER_BLOCK, self.level - 1).to, HEADER_BLOCK, "top level {} is empty", self.level);
        }
        // Every level >= 1: links go forward in rank, spans equal rank
        // distances, score copies match, and exactly the nodes taller than
        // the level are linked on it.
        for i in 1..self.level {
            let (mut b, mut b_rank, mut seen) = (HEADER_BLOCK, 0u64, 0usize);
            loop {
                let l = self.link(b, i);
                let span = u64::from(l.span);
                if l.to == HEADER_BLOCK {
                    assert_eq!(b_rank + span, self.len(), "span of null link at level {i} from block {b}");
                    break;
                }
                let f = *block_of
                    .get(&l.to)
                    .unwrap_or_else(|| panic!("level {i} link to a block {} of no live node", l.to));
                assert!(self.height(f) > i, "node {f} linked at level {i} above its height");
                assert_eq!(l.score.to_bits(), self.score(f).to_bits(), "score copy in the level {i} link to node {f}");
                let f_rank = rank_of[&f];
                assert!(f_rank > b_rank, "level {i} link to {f} goes backwards");
                assert_eq!(b_rank + span, f_rank, "span of level {i} link to node {f}");
                (b, b_rank) = (l.to, f_rank);
                seen += 1;
            }
            let want = block_of.values().filter(|&&n| self.height(n) > i).count();
            assert_eq!(seen, want, "nodes linked at level {i}");
        }
        for i in self.level..MAX_LEVEL {
            assert_eq!(self.link(HEADER_BLOCK, i).to, HEADER_BLOCK, "header link above the list level {i}");
        }
        // Free ids: freed only, and together with live nodes they account
        // for every id.
        let mut free = 0usize;
        let mut f = self.free;
        while f != NIL {
            assert_eq!(self.cold[f as usize].height, 0, "free id {f} looks live");
            assert!(!rank_of.contains_key(&f), "free id {f} is linked");
            free += 1;
            assert!(free < self.hot.len(), "free list cycles");
            f = self.hot[f as usize].next;
        }
        assert_eq!(free + rank_of.len() + 1, self.hot.len(), "ids leaked");
        // Free blocks: of the height of their list, and together with live
        // blocks they account for every unit.
        for (h, &head) in self.free_blocks.iter().enumerate() {
            let mut b = head;
            let mut n = 0usize;
            while b != HEADER_BLOCK {
                assert!(h >= 2, "free block list of height {h}");
                assert!(!block_of.contains_key(&b), "free block {b} is live");
                block_units += h;
                n += 1;
                assert!(n <= self.links.len(), "free block list cycles");
                b = self.links[b as usize].to;
            }
        }
        let unused: usize = self.chunk.iter().map(|&(next, end)| (end - next) as usize).sum();
        assert_eq!(block_units + self.chunk_slack + unused, self.links.len(), "link units leaked");
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
        let before = sl.hot.len();
        sl.insert(1.0, b"again", 0);
        assert_eq!(sl.hot.len(), before);
        sl.check_invariants();
    }

    /// Checks `rank` and `by_rank` against a level-0 walk.
    fn assert_ranks_by_walk(sl: &SkipList) {
        let mut x = sl.first();
        let mut want = 0u64;
        while let Some(i) = x {
            want += 1;
            assert_eq!(sl.rank(i), want, "rank of node {i} (height {})", sl.height(i));
            assert_eq!(sl.by_rank(want), Some(i), "node at rank {want}");
            x = sl.next(i);
        }
    }

    #[test]
    fn zset_skiplist_ranks_at_every_size() {
        // Sizes from one node (a single level) to enough for ~8 levels; equal scores so ties compare members; then
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
        assert_eq!(std::mem::size_of::<Hot>(), 16);
        assert_eq!(std::mem::size_of::<Link>(), 16);
        assert_eq!(std::mem::size_of::<Cold>(), 32);
        assert_eq!(std::mem::align_of::<Cold>(), 32); // never straddles a cache line
        let mut sl = SkipList::with_rng(fastrand::Rng::with_seed(9));
        let n = 20_000u32;
        let mut levels = 0usize;
        for i in 0..n {
            let idx = sl.insert(f64::from(i), &i.to_le_bytes(), 0);
            levels += sl.height(idx);
        }
        // p = 1/4 gives 4/3 levels per node on average, so blocks take
        // (header + levels above 0) ~ 1/4 + 1/3 units per node.
        let avg = levels as f64 / f64::from(n);
        assert!((1.25..1.42).contains(&avg), "average height {avg}");
        let units = sl.links.len() as f64 / f64::from(n);
        assert!((0.5..0.7).contains(&units), "link units per node {units}");
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
            match sl.cold[i as usize].len {
                LONG => boxed += 1,
                _ => inline += 1,
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
        assert_eq!(sl.long_bytes, 0);
        assert_eq!(sl.long_free.len(), sl.long.len());
        // Freed long slots are reused.
        let slots = sl.long.len();
        sl.insert(0.0, &[b'x'; 40], 0);
        assert_eq!(sl.long.len(), slots);
        sl.check_invariants();
    }

    #[test]
    fn zset_skiplist_tall_nodes_score_copies_and_reuse() {
        let mut sl = SkipList::with_rng(fastrand::Rng::with_seed(4));
        let ids: Vec<u32> =
            (0..400u32).map(|i| sl.insert(f64::from(i) * 10.0, format!("n{i}").as_bytes(), 0)).collect();
        assert!(ids.iter().filter(|&&i| sl.height(i) > 2).count() > 10, "too few tall nodes");
        // Each score moves within its gap: updated in place, so the links'
        // copies of the scores of tall nodes must follow (checked by
        // `check_invariants`).
        for (i, &id) in ids.iter().enumerate() {
            sl.update_score(id, i as f64 * 10.0 + 3.0);
        }
        sl.check_invariants();
        assert_ranks_by_walk(&sl);
        // A freed block is reused by the next node of its height, and a
        // freed id by the next node.
        let tall = sl.insert_at_height(4005.0, b"tall", 0, 5);
        let block = sl.cold[tall as usize].block;
        let links = sl.links.len();
        sl.delete(tall);
        sl.check_invariants();
        let again = sl.insert_at_height(1e9, b"again", 0, 5);
        assert_eq!((again, sl.cold[again as usize].block, sl.links.len()), (tall, block, links));
        sl.check_invariants();
        // A node taller than the list raises its level; deleting it lowers it.
        let level = sl.level;
        let top = sl.insert_at_height(-1.0, b"top", 0, MAX_LEVEL);
        assert_eq!(sl.level, MAX_LEVEL);
        sl.check_invariants();
        assert_eq!(sl.rank(top), 1);
        sl.update_score(top, 5e9);
        sl.check_invariants();
        assert_eq!(sl.rank(top), sl.len());
        sl.delete(top);
        assert_eq!(sl.level, level);
        sl.check_invariants();
        assert_ranks_by_walk(&sl);
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
