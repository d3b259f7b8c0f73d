//! The keydir: the in-memory hash index from key to the location of its
//! newest record.
//!
//! Memory is the design constraint (target ≤ key length + 32 bytes per key on
//! 64-bit). Each of [`SHARDS`] shards holds:
//!
//! - an **arena** of entries packed back to back in chunks (no per-key heap
//!   allocation): `flags u8 | key_len varint | seg u32 | off u32 | len u32 |
//!   [expire_at_ms u64 if flagged] | key`; 14 bytes + key for a key without a
//!   TTL, 22 bytes + key with one (the expiry lives only in entries that have
//!   it, as Redis keeps its `expires` dict apart);
//! - a `hashbrown::HashTable<u32>` of arena offsets (4 bytes + 1 control byte
//!   per slot), which hashes and compares through the arena.
//!
//! Replacing an entry with one of the same size rewrites it in place; other
//! changes append a new entry and leave the old one dead. A shard rebuilds
//! its arena when dead bytes outgrow live ones, so garbage stays bounded.
//! Sharding also spreads reader/writer lock contention.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use parking_lot::RwLock;

/// Number of shards (a power of two).
pub const SHARDS: usize = 64;
/// Largest chunk of an arena; offsets are `chunk << CHUNK_BITS | pos`.
const CHUNK_BITS: u32 = 18;
const CHUNK_MAX: usize = 1 << CHUNK_BITS;
/// First chunk size: small databases stay small.
const CHUNK_MIN: usize = 4096;
/// Most chunks per shard: offsets are u32, so 4 GiB of entries per shard.
const MAX_CHUNKS: usize = 1 << (32 - CHUNK_BITS);

const FLAG_DEAD: u8 = 1;
const FLAG_TTL: u8 = 2;
const KIND_SHIFT: u32 = 2;

/// Where a record lives: segment id, byte offset and encoded length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Loc {
    /// Segment id.
    pub seg: u32,
    /// Byte offset of the record in the segment.
    pub off: u32,
    /// Encoded record length in bytes.
    pub len: u32,
}

/// The type of value a key holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueKind {
    /// A string; `loc` is its `Put` record.
    String,
    /// A sorted set; its members live in the sorted-set map, `loc` is unused.
    ZSet,
}

impl ValueKind {
    fn to_bits(self) -> u8 {
        match self {
            ValueKind::String => 0,
            ValueKind::ZSet => 1,
        }
    }
    fn from_bits(b: u8) -> ValueKind {
        if b & 1 == 1 {
            ValueKind::ZSet
        } else {
            ValueKind::String
        }
    }
}

/// What the keydir knows about one key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Location of the newest record (strings).
    pub loc: Loc,
    /// Value type.
    pub kind: ValueKind,
    /// Absolute expiry in Unix ms; 0 = none.
    pub expire_at_ms: u64,
}

impl Entry {
    /// Whether the key is logically gone at `now_ms`.
    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expire_at_ms != 0 && self.expire_at_ms <= now_ms
    }
}

fn varint_len(v: usize) -> usize {
    match v {
        0..=0x7f => 1,
        0x80..=0x3fff => 2,
        _ => 3,
    }
}

fn entry_size(key_len: usize, has_ttl: bool) -> usize {
    1 + varint_len(key_len) + 12 + if has_ttl { 8 } else { 0 } + key_len
}

#[derive(Default)]
struct Arena {
    chunks: Vec<Vec<u8>>,
}

impl Arena {
    fn slice(&self, off: u32) -> &[u8] {
        let chunk = (off >> CHUNK_BITS) as usize;
        let pos = (off as usize) & (CHUNK_MAX - 1);
        &self.chunks[chunk][pos..]
    }

    fn slice_mut(&mut self, off: u32) -> &mut [u8] {
        let chunk = (off >> CHUNK_BITS) as usize;
        let pos = (off as usize) & (CHUNK_MAX - 1);
        &mut self.chunks[chunk][pos..]
    }

    /// Parses the entry at `off`: (flags, key range start, key len).
    fn header(&self, off: u32) -> (u8, usize, usize) {
        let s = self.slice(off);
        let flags = s[0];
        let mut key_len = 0usize;
        let mut i = 1;
        loop {
            let b = s[i];
            key_len |= ((b & 0x7f) as usize) << (7 * (i - 1));
            i += 1;
            if b & 0x80 == 0 {
                break;
            }
        }
        let key_start = i + 12 + if flags & FLAG_TTL != 0 { 8 } else { 0 };
        (flags, key_start, key_len)
    }

    fn key(&self, off: u32) -> &[u8] {
        let (_, start, len) = self.header(off);
        &self.slice(off)[start..start + len]
    }

    fn size(&self, off: u32) -> usize {
        let (_, start, len) = self.header(off);
        start + len
    }

    fn entry(&self, off: u32) -> Entry {
        let (flags, key_start, _) = self.header(off);
        let s = self.slice(off);
        let f = key_start - 12 - if flags & FLAG_TTL != 0 { 8 } else { 0 };
        let u32_at = |i: usize| u32::from_le_bytes(s[i..i + 4].try_into().expect("4 bytes"));
        let loc = Loc { seg: u32_at(f), off: u32_at(f + 4), len: u32_at(f + 8) };
        let expire_at_ms =
            if flags & FLAG_TTL != 0 { u64::from_le_bytes(s[f + 12..f + 20].try_into().expect("8 bytes")) } else { 0 };
        Entry { loc, kind: ValueKind::from_bits(flags >> KIND_SHIFT), expire_at_ms }
    }

    fn is_dead(&self, off: u32) -> bool {
        self.slice(off)[0] & FLAG_DEAD != 0
    }

    fn mark_dead(&mut self, off: u32) {
        self.slice_mut(off)[0] |= FLAG_DEAD;
    }

    /// Overwrites the entry's value fields; the caller checked the TTL flag matches.
    fn overwrite(&mut self, off: u32, e: &Entry) {
        let (flags, key_start, _) = self.header(off);
        debug_assert_eq!(flags & FLAG_TTL != 0, e.expire_at_ms != 0);
        let f = key_start - 12 - if e.expire_at_ms != 0 { 8 } else { 0 };
        let s = self.slice_mut(off);
        s[0] = (flags & FLAG_TTL) | (e.kind.to_bits() << KIND_SHIFT);
        write_fields(&mut s[f..], e);
    }

    /// Appends an entry; `None` when the shard's 4 GiB of offsets is used up.
    fn push(&mut self, key: &[u8], e: &Entry) -> Option<u32> {
        let size = entry_size(key.len(), e.expire_at_ms != 0);
        let need_new = match self.chunks.last() {
            Some(c) => c.capacity() - c.len() < size,
            None => true,
        };
        if need_new {
            if self.chunks.len() >= MAX_CHUNKS {
                return None;
            }
            let grow = self.chunks.last().map_or(CHUNK_MIN, |c| (c.capacity() * 2).min(CHUNK_MAX));
            self.chunks.push(Vec::with_capacity(grow.max(size)));
        }
        let chunk_idx = self.chunks.len() - 1;
        let chunk = &mut self.chunks[chunk_idx];
        let pos = chunk.len();
        let flags = (if e.expire_at_ms != 0 { FLAG_TTL } else { 0 }) | (e.kind.to_bits() << KIND_SHIFT);
        chunk.push(flags);
        let mut v = key.len();
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                chunk.push(b);
                break;
            }
            chunk.push(b | 0x80);
        }
        let f = chunk.len();
        chunk.resize(f + 12 + if e.expire_at_ms != 0 { 8 } else { 0 }, 0);
        write_fields(&mut chunk[f..], e);
        chunk.extend_from_slice(key);
        Some(((chunk_idx as u32) << CHUNK_BITS) | pos as u32)
    }

    /// Offsets of every entry, dead or alive, in arena order.
    fn offsets(&self) -> impl Iterator<Item = u32> + '_ {
        self.chunks.iter().enumerate().flat_map(move |(ci, chunk)| {
            let mut pos = 0usize;
            std::iter::from_fn(move || {
                if pos >= chunk.len() {
                    return None;
                }
                let off = ((ci as u32) << CHUNK_BITS) | pos as u32;
                pos += self.size(off);
                Some(off)
            })
        })
    }

    /// Walks entries from `cursor` front to back, advancing it. `visit(off,
    /// flags, key_start, key_len)` sees each entry and returns false to stop
    /// before it (the cursor stays on it). Returns true when the walk
    /// reached the end of the arena.
    fn walk_from(&self, cursor: &mut ArenaCursor, mut visit: impl FnMut(u32, u8, usize, usize) -> bool) -> bool {
        loop {
            let ci = cursor.chunk as usize;
            let Some(chunk) = self.chunks.get(ci) else { return true };
            if cursor.pos as usize >= chunk.len() {
                if ci + 1 < self.chunks.len() {
                    cursor.chunk += 1;
                    cursor.pos = 0;
                    continue;
                }
                return true;
            }
            let off = (cursor.chunk << CHUNK_BITS) | cursor.pos;
            let (flags, key_start, key_len) = self.header(off);
            if !visit(off, flags, key_start, key_len) {
                return false;
            }
            cursor.pos += (key_start + key_len) as u32;
        }
    }

    fn capacity_bytes(&self) -> usize {
        self.chunks.iter().map(|c| c.capacity()).sum::<usize>() + self.chunks.capacity() * 24
    }
}

fn write_fields(s: &mut [u8], e: &Entry) {
    s[0..4].copy_from_slice(&e.loc.seg.to_le_bytes());
    s[4..8].copy_from_slice(&e.loc.off.to_le_bytes());
    s[8..12].copy_from_slice(&e.loc.len.to_le_bytes());
    if e.expire_at_ms != 0 {
        s[12..20].copy_from_slice(&e.expire_at_ms.to_le_bytes());
    }
}

#[derive(Default)]
struct Shard {
    table: HashTable<u32>,
    arena: Arena,
    live_bytes: usize,
    dead_bytes: usize,
    ttl_entries: usize,
    /// Bumped whenever the arena is rebuilt or cleared, which invalidates
    /// arena offsets held by an [`ArenaCursor`].
    generation: u64,
}

/// A position in one shard's arena, for walks that release the shard lock
/// between steps (the active expiry cycle). It is only trusted while the
/// shard's generation is unchanged; otherwise the walk restarts at the
/// shard's beginning. Within a generation the arena only grows, so a saved
/// position stays on an entry boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArenaCursor {
    generation: u64,
    chunk: u32,
    pos: u32,
}

impl Default for ArenaCursor {
    /// A cursor at the start of whatever shard it is used on.
    fn default() -> Self {
        ArenaCursor { generation: u64::MAX, chunk: 0, pos: 0 }
    }
}

/// What one [`KeyDir::sample_ttl_keys`] step saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TtlSample {
    /// Live keys with a TTL that were looked at.
    pub sampled: usize,
    /// Of those, expired ones (their keys were pushed to the output).
    pub expired: usize,
    /// The cursor reached the end of the shard.
    pub at_end: bool,
}

/// Where a live entry sat in the keydir when [`KeyDir::string_locs`] saw
/// it: its shard and arena offset. Within one shard generation an arena
/// offset always belongs to the same key, so [`KeyDir::update_locs_at`] can
/// switch the entry's location without hashing or probing for the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    shard: u32,
    off: u32,
}

/// The sort key of slot order (by shard, then arena offset).
#[inline]
pub(crate) fn slot_key(slot: &Slot) -> u64 {
    ((slot.shard as u64) << 32) | slot.off as u64
}

/// What [`KeyDir::update_locs_at`] did with one item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotUpdate {
    /// The entry pointed at the expected location and now points at the new one.
    Moved,
    /// The entry has moved on (a newer write won); nothing changed.
    Superseded,
    /// The slot no longer proves anything (its shard was rebuilt, or the
    /// entry moved to another slot): the caller must retry by key
    /// ([`KeyDir::update_locs_if`]).
    Unknown,
}

/// The shard generations a [`KeyDir::string_locs`] walk saw; its slots are
/// valid while these are unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotGenerations(pub(crate) [u64; SHARDS]);

impl SlotGenerations {
    /// These generations, with those of shards `shards` taken from `other`
    /// (the walk of those shards).
    pub fn combine(mut self, other: &SlotGenerations, shards: std::ops::Range<usize>) -> SlotGenerations {
        for s in shards.start..shards.end.min(SHARDS) {
            self.0[s] = other.0[s];
        }
        self
    }
}

/// Entries a [`KeyDir::string_locs`] walk looks at per acquisition of a
/// shard's read lock, so a writer waits microseconds, not milliseconds.
const WALK_ENTRIES_PER_LOCK: usize = 4096;

/// The same for [`KeyDir::string_entries_of_shard`], which also hashes each
/// key under the lock (a quarter as many: about as long a hold).
const HASHING_WALK_ENTRIES_PER_LOCK: usize = WALK_ENTRIES_PER_LOCK / 4;

/// The sharded key → [`Entry`] index. All methods take `&self`.
pub struct KeyDir {
    shards: Box<[RwLock<Shard>]>,
    hasher: KeyHasher,
    seed: u64,
}

/// The keydir's key hash: foldhash with a per-database 64-bit seed.
///
/// The seed is persisted in hint files (and taken back from them at open)
/// so that hint entries can be written in the order the keydir's tables
/// will place them (see [`bulk_order_key`]): a bulk load then sweeps each
/// table sequentially instead of missing the cache on every insert.
/// Correctness never depends on the hash being stable across versions or
/// processes: a hint written with another seed or hash loads in a worse
/// order, not wrongly.
pub type KeyHasher = foldhash::fast::FixedState;

/// A fresh random seed for a database that has no hint files yet.
pub fn random_seed() -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    // std's RandomState draws its keys from the OS once per process and
    // increments them per instance; hashing a counter mixes them.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write(b"kv_seed");
    h.finish()
}

/// Sort key that lists hashes in the order a bulk load into a keydir whose
/// shard tables have `2^order_bits` buckets visits them: by shard, then by
/// bucket (hashbrown takes a bucket from the hash's low bits). Entries a
/// table of another size receives in this order still arrive as a few
/// sequential sweeps.
pub fn bulk_order_key(hash: u64, order_bits: u32) -> u64 {
    let bucket = hash & ((1u64 << order_bits.min(32)) - 1);
    ((KeyDir::shard_of(hash) as u64) << 32) | bucket
}

/// log2 of the buckets per shard table after [`KeyDir::reserve`] for
/// `total_keys` keys (hashbrown's sizing: 7/8 load, power-of-two buckets).
pub fn bulk_order_bits(total_keys: u64) -> u32 {
    let per_shard = reserve_per_shard(total_keys as usize);
    let buckets = if per_shard < 8 { 8 } else { (per_shard.saturating_mul(8) / 7).next_power_of_two() };
    buckets.trailing_zeros().min(32)
}

/// Keys per shard that [`KeyDir::reserve`] makes room for.
fn reserve_per_shard(additional: usize) -> usize {
    // Keys spread evenly over shards; 1/8 slack for the imbalance.
    additional / SHARDS + additional / SHARDS / 8 + 1
}

impl Default for KeyDir {
    fn default() -> Self {
        KeyDir::new()
    }
}

/// Exclusive access to a contiguous range of a keydir's shards (see
/// [`KeyDir::split_halves`]).
pub(crate) struct ShardsMut<'a> {
    shards: &'a mut [RwLock<Shard>],
    first: usize,
    hasher: &'a KeyHasher,
}

impl ShardsMut<'_> {
    /// Whether `hash` belongs to these shards.
    pub(crate) fn owns(&self, hash: u64) -> bool {
        (self.first..self.first + self.shards.len()).contains(&KeyDir::shard_of(hash))
    }

    /// The keydir's hash of `key`.
    pub(crate) fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// [`KeyDir::insert`] for a key whose `hash` these shards own.
    pub(crate) fn insert(&mut self, hash: u64, key: &[u8], e: Entry) -> Result<Option<Entry>, ShardFull> {
        debug_assert!(self.owns(hash));
        let shard = self.shards[KeyDir::shard_of(hash) - self.first].get_mut();
        KeyDir::insert_in(shard, self.hasher, hash, key, e)
    }

    /// [`KeyDir::remove`] for a key whose `hash` these shards own.
    pub(crate) fn remove(&mut self, hash: u64, key: &[u8]) -> Option<Entry> {
        debug_assert!(self.owns(hash));
        let shard = self.shards[KeyDir::shard_of(hash) - self.first].get_mut();
        KeyDir::remove_in(shard, self.hasher, hash, key)
    }
}

/// Error from [`KeyDir::insert`] when a shard's arena is full (4 GiB of entries).
#[derive(Debug)]
pub struct ShardFull;

impl KeyDir {
    /// An empty keydir with a random hash seed.
    pub fn new() -> KeyDir {
        KeyDir::with_seed(random_seed())
    }

    /// An empty keydir hashing with `seed` (taken from hint files at open).
    pub fn with_seed(seed: u64) -> KeyDir {
        KeyDir {
            shards: (0..SHARDS).map(|_| RwLock::new(Shard::default())).collect(),
            hasher: KeyHasher::with_seed(seed),
            seed,
        }
    }

    /// The hash seed (persisted in hint files).
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The hash of `key` used by this keydir (hint files sort by it).
    pub fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Shard of a hash. Uses bits 32..38: hashbrown takes the bucket index from
    /// the low bits and its control byte from the top 7, so these are free.
    fn shard_of(hash: u64) -> usize {
        ((hash >> 32) as usize) & (SHARDS - 1)
    }

    /// Looks a key up.
    pub fn get(&self, key: &[u8]) -> Option<Entry> {
        let hash = self.hash(key);
        let shard = self.shards[Self::shard_of(hash)].read();
        let off = *shard.table.find(hash, |&o| shard.arena.key(o) == key)?;
        Some(shard.arena.entry(off))
    }

    /// Inserts or replaces; returns the previous entry.
    pub fn insert(&self, key: &[u8], e: Entry) -> Result<Option<Entry>, ShardFull> {
        let hash = self.hash(key);
        let mut guard = self.shards[Self::shard_of(hash)].write();
        Self::insert_in(&mut guard, &self.hasher, hash, key, e)
    }

    /// [`KeyDir::insert`] through exclusive access, for recovery's bulk load:
    /// no lock is taken. A lock's atomic release waits for the table's
    /// cache-missing stores to drain, which serialised the misses of
    /// consecutive inserts and made this the slowest step of open.
    pub fn insert_exclusive(&mut self, key: &[u8], e: Entry) -> Result<Option<Entry>, ShardFull> {
        let hash = self.hash(key);
        let shard = self.shards[Self::shard_of(hash)].get_mut();
        Self::insert_in(shard, &self.hasher, hash, key, e)
    }

    fn insert_in(
        shard: &mut Shard,
        hasher: &KeyHasher,
        hash: u64,
        key: &[u8],
        e: Entry,
    ) -> Result<Option<Entry>, ShardFull> {
        // One probe for both cases; the table reserves room up front.
        let slot = {
            let arena = &shard.arena;
            shard.table.entry(hash, |&o| arena.key(o) == key, |&o| hasher.hash_one(arena.key(o)))
        };
        match slot {
            hashbrown::hash_table::Entry::Occupied(mut occupied) => {
                let old_off = *occupied.get();
                let arena = &mut shard.arena;
                let old = arena.entry(old_off);
                if (old.expire_at_ms != 0) == (e.expire_at_ms != 0) {
                    arena.overwrite(old_off, &e);
                    return Ok(Some(old));
                }
                let new_off = arena.push(key, &e).ok_or(ShardFull)?;
                *occupied.get_mut() = new_off;
                let old_size = arena.size(old_off);
                arena.mark_dead(old_off);
                shard.dead_bytes += old_size;
                shard.live_bytes = shard.live_bytes + entry_size(key.len(), e.expire_at_ms != 0) - old_size;
                if e.expire_at_ms != 0 {
                    shard.ttl_entries += 1;
                } else {
                    shard.ttl_entries -= 1;
                }
                Self::maybe_rebuild(shard, hasher);
                Ok(Some(old))
            }
            hashbrown::hash_table::Entry::Vacant(vacant) => {
                let off = shard.arena.push(key, &e).ok_or(ShardFull)?;
                vacant.insert(off);
                shard.live_bytes += entry_size(key.len(), e.expire_at_ms != 0);
                if e.expire_at_ms != 0 {
                    shard.ttl_entries += 1;
                }
                Ok(None)
            }
        }
    }

    /// Removes a key; returns its entry.
    pub fn remove(&self, key: &[u8]) -> Option<Entry> {
        let hash = self.hash(key);
        let mut guard = self.shards[Self::shard_of(hash)].write();
        Self::remove_in(&mut guard, &self.hasher, hash, key)
    }

    /// [`KeyDir::remove`] through exclusive access (recovery; no lock).
    pub fn remove_exclusive(&mut self, key: &[u8]) -> Option<Entry> {
        let hash = self.hash(key);
        let shard = self.shards[Self::shard_of(hash)].get_mut();
        Self::remove_in(shard, &self.hasher, hash, key)
    }

    /// The shard of `hash` (recovery's parallel hint replay splits work by it).
    pub(crate) fn shard_index(hash: u64) -> usize {
        Self::shard_of(hash)
    }

    /// Two exclusive views: shards `0..SHARDS / 2` and the rest, so two
    /// threads can load disjoint keys at once (recovery).
    pub(crate) fn split_halves(&mut self) -> (ShardsMut<'_>, ShardsMut<'_>) {
        let (lo, hi) = self.shards.split_at_mut(SHARDS / 2);
        let hasher = &self.hasher;
        (ShardsMut { shards: lo, first: 0, hasher }, ShardsMut { shards: hi, first: SHARDS / 2, hasher })
    }

    /// [`KeyDir::get`] through exclusive access (recovery; no lock).
    pub fn get_exclusive(&mut self, key: &[u8]) -> Option<Entry> {
        let hash = self.hash(key);
        let shard = self.shards[Self::shard_of(hash)].get_mut();
        let off = *shard.table.find(hash, |&o| shard.arena.key(o) == key)?;
        Some(shard.arena.entry(off))
    }

    fn remove_in(shard: &mut Shard, hasher: &KeyHasher, hash: u64, key: &[u8]) -> Option<Entry> {
        let arena = &shard.arena;
        let found = shard.table.find_entry(hash, |&o| arena.key(o) == key).ok()?;
        let (off, _) = found.remove();
        let old = shard.arena.entry(off);
        let size = shard.arena.size(off);
        shard.arena.mark_dead(off);
        shard.live_bytes -= size;
        shard.dead_bytes += size;
        if old.expire_at_ms != 0 {
            shard.ttl_entries -= 1;
        }
        Self::maybe_rebuild(shard, hasher);
        Some(old)
    }

    /// Moves a string key to `new` only if it still points at `expected`
    /// (a write during compaction wins). Returns whether it moved.
    pub fn update_loc_if(&self, key: &[u8], expected: Loc, new: Loc) -> bool {
        self.update_loc_if_kind(key, ValueKind::String, expected, new)
    }

    /// Most items of one [`KeyDir::update_locs_if`] call.
    pub const BATCH_MAX: usize = 1 << 20;

    /// Most items a batched call handles per acquisition of a shard lock,
    /// so a lock is held for tens of microseconds, not milliseconds.
    pub const BATCH_ITEMS_PER_LOCK: usize = 1024;

    /// The batch's items grouped by shard, each group in the order its
    /// table places them (bucket order): a large batch then walks each
    /// table, and an arena built in the same order, front to back instead
    /// of taking a cache miss per item.
    fn batch_order(&self, hashes: &[u64]) -> (Vec<u32>, [usize; SHARDS + 1]) {
        let mut bounds = [0usize; SHARDS + 1];
        for &h in hashes {
            bounds[Self::shard_of(h) + 1] += 1;
        }
        for i in 0..SHARDS {
            bounds[i + 1] += bounds[i];
        }
        let mut next = bounds;
        let mut order = vec![0u32; hashes.len()];
        for (i, &h) in hashes.iter().enumerate() {
            let s = Self::shard_of(h);
            order[next[s]] = i as u32;
            next[s] += 1;
        }
        for s in 0..SHARDS {
            let group = &mut order[bounds[s]..bounds[s + 1]];
            if group.len() < 2 * Self::BATCH_ITEMS_PER_LOCK / 16 {
                continue; // too sparse for the order to help
            }
            // The bucket count may change before the probes; it only
            // steers the order.
            let cap = self.shards[s].read().table.capacity();
            let mask = ((cap.saturating_mul(8) / 7).max(1).next_power_of_two() - 1) as u64;
            group.sort_unstable_by_key(|&i| ((hashes[i as usize] & mask) << 32) | i as u64);
        }
        (order, bounds)
    }

    /// [`KeyDir::update_loc_if`] for many string keys `(key, expected,
    /// new)` (at most [`KeyDir::BATCH_MAX`]), in table order, taking each
    /// shard's write lock once per [`KeyDir::BATCH_ITEMS_PER_LOCK`] items.
    /// `moved[i]` says whether `items[i]` moved.
    pub fn update_locs_if(&self, items: &[(&[u8], Loc, Loc)], moved: &mut Vec<bool>) {
        debug_assert!(items.len() <= Self::BATCH_MAX);
        moved.clear();
        moved.resize(items.len(), false);
        let hashes: Vec<u64> = items.iter().map(|(k, _, _)| self.hash(k)).collect();
        let (order, bounds) = self.batch_order(&hashes);
        for s in 0..SHARDS {
            for part in order[bounds[s]..bounds[s + 1]].chunks(Self::BATCH_ITEMS_PER_LOCK) {
                let mut guard = self.shards[s].write();
                let shard = &mut *guard;
                for &i in part {
                    let (key, expected, new) = items[i as usize];
                    moved[i as usize] =
                        Self::switch_loc(shard, hashes[i as usize], key, ValueKind::String, expected, new);
                }
            }
        }
    }

    /// Walks every shard's arena front to back and pushes the location and
    /// slot of each live string entry whose segment `wanted` accepts
    /// (compaction: which records of its input segments are live, without
    /// a hash probe per record). The read lock is taken per
    /// `WALK_ENTRIES_PER_LOCK` entries; a shard rebuilt meanwhile is walked
    /// again. An entry that moves to another slot during the walk may be
    /// reported twice; [`KeyDir::update_locs_at`] tells such slots apart.
    pub fn string_locs(&self, wanted: &dyn Fn(u32) -> bool, out: &mut Vec<(Loc, Slot)>) -> SlotGenerations {
        self.string_locs_in(0..SHARDS, &|loc, slot| wanted(loc.seg).then_some((loc, slot)), out)
    }

    /// The live string entries of shard `shard`, as [`KeyDir::string_locs`]
    /// walks them, pushing `pick(loc, slot, hash)` for each one it accepts:
    /// with its key's hash (a merge orders a shard's entries by table
    /// bucket, as hint files are). Returns
    /// the shard's generation the walk saw (its slots' validity).
    pub fn string_entries_of_shard<T>(
        &self,
        shard: usize,
        pick: &dyn Fn(Loc, Slot, u64) -> Option<T>,
        out: &mut Vec<T>,
    ) -> u64 {
        self.walk_strings(shard, HASHING_WALK_ENTRIES_PER_LOCK, out, |arena, off, key| {
            pick(arena.entry(off).loc, Slot { shard: shard as u32, off }, self.hasher.hash_one(key))
        })
    }

    /// Walks shard `shard`'s arena front to back, the read lock taken per
    /// `entries_per_lock` entries, pushing `pick(arena, offset, key)`
    /// for each live string entry it accepts; a shard rebuilt meanwhile is
    /// walked again (what it pushed is dropped first). Returns the
    /// generation walked (0 for no such shard).
    fn walk_strings<T>(
        &self,
        shard: usize,
        entries_per_lock: usize,
        out: &mut Vec<T>,
        mut pick: impl FnMut(&Arena, u32, &[u8]) -> Option<T>,
    ) -> u64 {
        let Some(lock) = self.shards.get(shard) else { return 0 };
        let start = out.len();
        let mut at: Option<ArenaCursor> = None;
        loop {
            let guard = lock.read();
            let cursor = match &mut at {
                Some(c) if c.generation == guard.generation => c,
                _ => {
                    // First step, or the arena was rebuilt: start over.
                    out.truncate(start);
                    at.insert(ArenaCursor { generation: guard.generation, chunk: 0, pos: 0 })
                }
            };
            let arena = &guard.arena;
            let mut looked = 0usize;
            let at_end = arena.walk_from(cursor, |off, flags, key_start, key_len| {
                if looked >= entries_per_lock {
                    return false;
                }
                looked += 1;
                if flags & FLAG_DEAD == 0 && ValueKind::from_bits(flags >> KIND_SHIFT) == ValueKind::String {
                    if let Some(item) = pick(arena, off, &arena.slice(off)[key_start..key_start + key_len]) {
                        out.push(item);
                    }
                }
                true
            });
            if at_end {
                return cursor.generation;
            }
        }
    }

    /// [`KeyDir::string_locs`] over the shards `shards` only (two threads
    /// walk two halves), pushing `pick(loc, slot)` for each entry it
    /// accepts (the caller's item, built in the same pass); the other
    /// shards' generations are left 0 (see [`SlotGenerations::combine`]).
    pub fn string_locs_in<T>(
        &self,
        shards: std::ops::Range<usize>,
        pick: &dyn Fn(Loc, Slot) -> Option<T>,
        out: &mut Vec<T>,
    ) -> SlotGenerations {
        let mut generations = [0u64; SHARDS];
        for (s, g) in generations.iter_mut().enumerate().take(shards.end).skip(shards.start) {
            *g = self.walk_strings(s, WALK_ENTRIES_PER_LOCK, out, |arena, off, _| {
                pick(arena.entry(off).loc, Slot { shard: s as u32, off })
            });
        }
        SlotGenerations(generations)
    }

    /// For each `(slot, expected, new)` from a [`KeyDir::string_locs`] walk
    /// that produced `generations`: if the string entry in `slot` still
    /// points at `expected`, points it at `new`. `result[i]` says what
    /// happened to `items[i]`. Items are visited shard by shard in arena
    /// order (the order is changed), with each shard's write lock taken per
    /// [`KeyDir::BATCH_ITEMS_PER_LOCK`] items. `scratch` is working space
    /// for the sort (reused across calls).
    pub fn update_locs_at(
        &self,
        generations: &SlotGenerations,
        items: &mut [(Slot, Loc, Loc)],
        scratch: &mut Vec<(Slot, Loc, Loc)>,
        result: &mut Vec<SlotUpdate>,
    ) {
        // Already in slot order (a merge in keydir order sorts each shard's
        // moves while they are in cache): no pass over them.
        if !items.windows(2).all(|w| (w[0].0.shard, w[0].0.off) <= (w[1].0.shard, w[1].0.off)) {
            crate::radix::sort_by_u64_key(items, scratch, |(slot, _, _)| slot_key(slot));
        }
        result.clear();
        result.resize(items.len(), SlotUpdate::Unknown);
        let mut i = 0;
        while i < items.len() {
            let s = items[i].0.shard as usize;
            let mut end = i;
            while end < items.len() && items[end].0.shard as usize == s && end - i < Self::BATCH_ITEMS_PER_LOCK {
                end += 1;
            }
            let Some(lock) = self.shards.get(s) else {
                i = end;
                continue;
            };
            let mut guard = lock.write();
            if guard.generation == generations.0[s] {
                let arena = &mut guard.arena;
                for (k, &(slot, expected, new)) in items[i..end].iter().enumerate() {
                    let (flags, _, _) = arena.header(slot.off);
                    if flags & FLAG_DEAD != 0 || ValueKind::from_bits(flags >> KIND_SHIFT) != ValueKind::String {
                        continue; // Unknown: the key may live in another slot now.
                    }
                    let mut e = arena.entry(slot.off);
                    result[i + k] = if e.loc == expected {
                        e.loc = new;
                        arena.overwrite(slot.off, &e);
                        SlotUpdate::Moved
                    } else {
                        SlotUpdate::Superseded
                    };
                }
            }
            i = end;
        }
    }

    /// Like [`KeyDir::update_loc_if`] for a key of `kind` (a sorted set's
    /// `KeyMeta` location).
    pub fn update_loc_if_kind(&self, key: &[u8], kind: ValueKind, expected: Loc, new: Loc) -> bool {
        let hash = self.hash(key);
        let mut guard = self.shards[Self::shard_of(hash)].write();
        Self::switch_loc(&mut guard, hash, key, kind, expected, new)
    }

    /// In `shard` (write-locked by the caller), points `key` (hashing to
    /// `hash`) at `new` if its entry is of `kind` and points at `expected`.
    fn switch_loc(shard: &mut Shard, hash: u64, key: &[u8], kind: ValueKind, expected: Loc, new: Loc) -> bool {
        let arena = &mut shard.arena;
        let Some(&off) = shard.table.find(hash, |&o| arena.key(o) == key) else { return false };
        let mut e = arena.entry(off);
        if e.kind != kind || e.loc != expected {
            return false;
        }
        e.loc = new;
        arena.overwrite(off, &e);
        true
    }

    /// Removes a string key only if it still points at `expected` (compaction
    /// purging an expired record it dropped; a newer write wins). Returns the
    /// removed entry.
    pub fn remove_if(&self, key: &[u8], expected: Loc) -> Option<Entry> {
        let hash = self.hash(key);
        let mut guard = self.shards[Self::shard_of(hash)].write();
        let shard = &mut *guard;
        let arena = &shard.arena;
        let found = shard.table.find_entry(hash, |&o| arena.key(o) == key).ok()?;
        let old = arena.entry(*found.get());
        if old.kind != ValueKind::String || old.loc != expected {
            return None;
        }
        let (off, _) = found.remove();
        let size = shard.arena.size(off);
        shard.arena.mark_dead(off);
        shard.live_bytes -= size;
        shard.dead_bytes += size;
        if old.expire_at_ms != 0 {
            shard.ttl_entries -= 1;
        }
        Self::maybe_rebuild(shard, &self.hasher);
        Some(old)
    }

    /// Rebuilds a shard's arena when dead entries outweigh live ones.
    fn maybe_rebuild(shard: &mut Shard, hasher: &KeyHasher) {
        if shard.dead_bytes < 64 * 1024 || shard.dead_bytes < shard.live_bytes {
            return;
        }
        let mut arena = Arena::default();
        let mut table = HashTable::with_capacity(shard.table.len());
        for off in shard.arena.offsets() {
            if shard.arena.is_dead(off) {
                continue;
            }
            let key = shard.arena.key(off);
            let e = shard.arena.entry(off);
            // Cannot fail: the live entries fitted before and take no more room now.
            let Some(new_off) = arena.push(key, &e) else { return };
            table.insert_unique(hasher.hash_one(key), new_off, |&o| hasher.hash_one(arena.key(o)));
        }
        shard.arena = arena;
        shard.table = table;
        shard.dead_bytes = 0;
        shard.generation += 1;
    }

    /// Makes room for `additional` more keys spread over the shards, so a
    /// bulk load (recovery from hints) does not rehash while it grows.
    pub fn reserve(&self, additional: usize) {
        let per_shard = reserve_per_shard(additional);
        let hasher = &self.hasher;
        for s in self.shards.iter() {
            let mut guard = s.write();
            let shard = &mut *guard;
            let arena = &shard.arena;
            shard.table.reserve(per_shard, |&o| hasher.hash_one(arena.key(o)));
        }
    }

    /// Number of keys (expired-but-unpurged ones included).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.read().table.len()).sum()
    }

    /// True when no key is present.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of keys carrying a TTL.
    pub fn ttl_len(&self) -> usize {
        self.shards.iter().map(|s| s.read().ttl_entries).sum()
    }

    /// Calls `f` with every live key and entry of shard `shard_idx`, under
    /// that shard's read lock (so `f` must not call back into the keydir).
    pub fn for_each_in_shard(&self, shard_idx: usize, mut f: impl FnMut(&[u8], Entry)) {
        let shard = self.shards[shard_idx].read();
        for &off in shard.table.iter() {
            f(shard.arena.key(off), shard.arena.entry(off));
        }
    }

    /// Walks shard `shard_idx` from `cursor` in arena order, looking at up to
    /// `max_ttl_keys` live keys with a TTL and at most `max_scan` entries in
    /// all (so the read lock is held briefly), and pushes the keys expired at
    /// `now_ms` onto `expired_out`. Used by the active expiry cycle.
    pub fn sample_ttl_keys(
        &self,
        shard_idx: usize,
        cursor: &mut ArenaCursor,
        now_ms: u64,
        max_ttl_keys: usize,
        max_scan: usize,
        expired_out: &mut Vec<Vec<u8>>,
    ) -> TtlSample {
        let mut out = TtlSample::default();
        let Some(lock) = self.shards.get(shard_idx) else {
            out.at_end = true;
            return out;
        };
        let shard = lock.read();
        if cursor.generation != shard.generation {
            *cursor = ArenaCursor { generation: shard.generation, chunk: 0, pos: 0 };
        }
        let arena = &shard.arena;
        let mut scanned = 0usize;
        out.at_end = arena.walk_from(cursor, |off, flags, key_start, key_len| {
            if out.sampled >= max_ttl_keys || scanned >= max_scan {
                return false;
            }
            scanned += 1;
            if flags & FLAG_DEAD == 0 && flags & FLAG_TTL != 0 {
                out.sampled += 1;
                if arena.entry(off).is_expired(now_ms) {
                    out.expired += 1;
                    expired_out.push(arena.slice(off)[key_start..key_start + key_len].to_vec());
                }
            }
            true
        });
        out
    }

    /// Removes every key.
    pub fn clear(&self) {
        for s in self.shards.iter() {
            let mut shard = s.write();
            let generation = shard.generation + 1;
            *shard = Shard { generation, ..Shard::default() };
        }
    }

    /// Heap bytes held by the keydir (tables and arenas).
    pub fn heap_bytes(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                let s = s.read();
                // hashbrown: one u32 slot plus one control byte per bucket.
                s.table.capacity() * 5 + s.arena.capacity_bytes()
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn e(seg: u32, ttl: u64) -> Entry {
        Entry { loc: Loc { seg, off: seg * 10, len: 7 }, kind: ValueKind::String, expire_at_ms: ttl }
    }

    /// The compaction walk finds exactly the live string entries in the
    /// wanted segments, and a slot update moves, refuses (a newer write) or
    /// defers (the slot proves nothing) exactly as it should.
    #[test]
    fn compact_keydir_walk_and_slot_updates() {
        let kd = KeyDir::new();
        let loc = |seg: u32, i: u32| Loc { seg, off: 100 + i, len: 30 };
        let ent = |l: Loc, ttl: u64| Entry { loc: l, kind: ValueKind::String, expire_at_ms: ttl };
        // 20k keys over segments 1..=4, every 10th a sorted set (never reported).
        for i in 0..20_000u32 {
            let key = format!("k{i}").into_bytes();
            let kind = if i % 10 == 0 { ValueKind::ZSet } else { ValueKind::String };
            kd.insert(&key, Entry { kind, ..ent(loc(1 + i % 4, i), 0) }).unwrap();
        }
        let mut found = Vec::new();
        let gens = kd.string_locs(&|seg| seg == 2 || seg == 3, &mut found);
        let want: std::collections::HashSet<Loc> =
            (0..20_000u32).filter(|i| i % 10 != 0 && matches!(1 + i % 4, 2 | 3)).map(|i| loc(1 + i % 4, i)).collect();
        let got: std::collections::HashSet<Loc> = found.iter().map(|(l, _)| *l).collect();
        assert_eq!(got, want);
        assert_eq!(found.len(), want.len(), "no duplicates without concurrent moves");
        let slot_of: HashMap<Loc, Slot> = found.iter().map(|&(l, s)| (l, s)).collect();
        let key_of = |l: Loc| format!("k{}", l.off - 100).into_bytes();
        let mut locs: Vec<Loc> = want.iter().copied().collect();
        locs.sort_by_key(|l| l.off);
        let (a, b, c) = (locs[0], locs[1], locs[2]);
        // a: overwritten in place (same size) -> Superseded.
        kd.insert(&key_of(a), ent(loc(9, 0), 0)).unwrap();
        // b: gains a TTL, same location -> moves to a new slot -> Unknown.
        kd.insert(&key_of(b), ent(b, 5_000)).unwrap();
        // c: removed -> its slot is dead -> Unknown (the by-key retry then finds nothing).
        kd.remove(&key_of(c));
        let to = |l: Loc| Loc { seg: 50, ..l };
        let mut items: Vec<(Slot, Loc, Loc)> = locs.iter().map(|&l| (slot_of[&l], l, to(l))).collect();
        let mut result = Vec::new();
        kd.update_locs_at(&gens, &mut items, &mut Vec::new(), &mut result);
        for (&(_, from, _), r) in items.iter().zip(&result) {
            let expect = if from == a {
                SlotUpdate::Superseded
            } else if from == b || from == c {
                SlotUpdate::Unknown
            } else {
                SlotUpdate::Moved
            };
            assert_eq!(*r, expect, "{from:?}");
            if expect == SlotUpdate::Moved {
                assert_eq!(kd.get(&key_of(from)).map(|e| e.loc), Some(to(from)));
            }
        }
        assert_eq!(kd.get(&key_of(a)).map(|e| e.loc), Some(loc(9, 0)));
        assert_eq!(kd.get(&key_of(b)).map(|e| (e.loc, e.expire_at_ms)), Some((b, 5_000)));
        assert_eq!(kd.get(&key_of(c)), None);
        // A rebuilt or cleared shard (generation changed) proves nothing:
        // the same arena offsets now hold other keys.
        let mut found2 = Vec::new();
        let gens2 = kd.string_locs(&|seg| seg == 50, &mut found2);
        assert!(!found2.is_empty());
        kd.clear();
        for i in (0..20_000u32).rev() {
            kd.insert(format!("k{i}").as_bytes(), ent(loc(50, i), 0)).unwrap();
        }
        let mut items2: Vec<(Slot, Loc, Loc)> = found2.iter().map(|&(l, s)| (s, l, Loc { seg: 60, ..l })).collect();
        kd.update_locs_at(&gens2, &mut items2, &mut Vec::new(), &mut result);
        assert!(result.iter().all(|r| *r == SlotUpdate::Unknown));
        assert!((0..20_000u32).all(|i| kd.get(format!("k{i}").as_bytes()).map(|e| e.loc.seg) == Some(50)));
    }

    /// The batched relocations agree with the one-key calls: present,
    /// missing, zset-kind and stale-location keys, in one batch.
    #[test]
    fn keydir_batched_update_matches_single_key_calls() {
        let kd = KeyDir::new();
        let mut model: HashMap<Vec<u8>, Entry> = HashMap::new();
        for i in 0..3000u32 {
            let key = format!("key-{i}").into_bytes();
            let ent = if i % 7 == 0 { Entry { kind: ValueKind::ZSet, ..e(i, 0) } } else { e(i, (i % 3) as u64 * 500) };
            kd.insert(&key, ent).unwrap();
            model.insert(key, ent);
        }
        // Keys 0..4000: the last 1000 are missing.
        let keys: Vec<Vec<u8>> = (0..4000u32).map(|i| format!("key-{i}").into_bytes()).collect();
        // Relocate: every third key with a stale expected location.
        let items: Vec<(&[u8], Loc, Loc)> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let cur = model.get(k).map_or(Loc::default(), |e| e.loc);
                let expected = if i % 3 == 0 { Loc { seg: 7777, ..cur } } else { cur };
                (k.as_slice(), expected, Loc { seg: 500, off: i as u32, len: 9 })
            })
            .collect();
        let mut moved = Vec::new();
        kd.update_locs_if(&items, &mut moved);
        for (i, ((k, expected, new), ok)) in items.iter().zip(&moved).enumerate() {
            let want = model.get(*k).is_some_and(|e| e.kind == ValueKind::String && e.loc == *expected);
            assert_eq!(*ok, want, "item {i}");
            if want {
                model.get_mut(*k).unwrap().loc = *new;
            }
            assert_eq!(kd.get(k), model.get(*k).copied(), "item {i} after");
        }
        assert!(moved.iter().filter(|&&m| m).count() > 1000);
    }

    #[test]
    fn keydir_matches_a_hashmap_model() {
        let kd = KeyDir::new();
        let mut model: HashMap<Vec<u8>, Entry> = HashMap::new();
        let mut x: u64 = 12345;
        for i in 0..200_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let key = format!("key-{}", x % 5000).into_bytes();
            match x % 5 {
                0 => assert_eq!(kd.remove(&key), model.remove(&key)),
                1 => {
                    let ent = e(i, if x.is_multiple_of(3) { 1000 + i as u64 } else { 0 });
                    assert_eq!(kd.insert(&key, ent).unwrap(), model.insert(key.clone(), ent));
                }
                2 => {
                    let ent = Entry { kind: ValueKind::ZSet, ..e(i, 0) };
                    assert_eq!(kd.insert(&key, ent).unwrap(), model.insert(key.clone(), ent));
                }
                3 => {
                    if let Some(old) = model.get(&key).copied() {
                        let new = Loc { seg: 99, off: i, len: 3 };
                        assert_eq!(kd.update_loc_if(&key, old.loc, new), old.kind == ValueKind::String);
                        if old.kind == ValueKind::String {
                            model.get_mut(&key).unwrap().loc = new;
                        }
                        assert!(!kd.update_loc_if(&key, Loc { seg: 1234, off: 0, len: 0 }, new));
                    }
                }
                _ => assert_eq!(kd.get(&key), model.get(&key).copied()),
            }
        }
        assert_eq!(kd.len(), model.len());
        assert_eq!(kd.ttl_len(), model.values().filter(|e| e.expire_at_ms != 0).count());
        let mut seen = 0;
        for s in 0..SHARDS {
            kd.for_each_in_shard(s, |k, ent| {
                assert_eq!(model.get(k), Some(&ent));
                seen += 1;
            });
        }
        assert_eq!(seen, model.len());
    }

    #[test]
    fn keydir_handles_long_keys() {
        let kd = KeyDir::new();
        let big = vec![7u8; crate::options::MAX_KEY_SIZE_BYTES];
        kd.insert(&big, e(1, 0)).unwrap();
        kd.insert(b"x", e(2, 5)).unwrap();
        assert_eq!(kd.get(&big), Some(e(1, 0)));
        assert_eq!(kd.get(b"x"), Some(e(2, 5)));
        assert_eq!(kd.remove(&big), Some(e(1, 0)));
        assert_eq!(kd.get(&big), None);
    }
}
