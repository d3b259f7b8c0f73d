//! Hint files: a compact index of one sealed segment, so that open can
//! rebuild the keydir without reading values.
//!
//! A hint lists every record of its segment (kind, flags, key, offset,
//! encoded length, sequence number, expiry; plus the stored value for the
//! small non-`Put` kinds, whose replay needs it). Entries are not in file
//! order but in the order the keydir's hash tables place their keys
//! ([`keydir::bulk_order_key`] under the hash seed the hint records), so that
//! open inserts into each table in one sequential sweep instead of taking a
//! cache miss per key: at 10M keys that is most of the open time. Entries of
//! one key keep their file order (the sort is stable and a key has one
//! hash), and keys never interact during replay, so the rebuilt keydir is
//! the one a scan builds.
//!
//! A hint is trusted only when its own checksum matches *and* it is tied to
//! the segment file on disk: same id, same replay order, same length, same
//! crc32 of the segment's last bytes (rosedb#258: a stale or empty hint is
//! never trusted), and its entries tile the segment exactly. Anything else
//! makes open fall back to scanning the segment, which yields the identical
//! keydir (bitcask#212/#171).
//!
//! Layout (little-endian; see `docs/format.md`):
//!
//! ```text
//! 0   [u8; 8] magic b"LIBKVHNT"
//! 8   u32     format version (3)
//! 12  u32     segment id
//! 16  u64     segment replay order
//! 24  u64     segment length in bytes
//! 32  u32     crc32 of the segment's last min(4096, length - 32) bytes
//! 36  u32     number of entries
//! 40  u32     number of Put entries (sizes the keydir before replay)
//! 44  u32     order bits: log2 of the table buckets the order targets
//! 48  u64     keydir hash seed the entries are ordered by
//! 56  entries, each:
//!       u8  kind   u8 flags   u16 reserved (0)
//!       u32 key length   u32 encoded record length   u32 inline value length
//!       u32 record offset in the segment
//!       u64 sequence number   u64 expiry (Unix ms, 0 = none)
//!       key, inline value (empty for Put)
//! end-4  u32  crc32 of every preceding byte of the hint file
//! ```

use std::path::Path;

use crate::keydir::{self, Entry, KeyHasher, Loc, ValueKind};
use crate::record::{self, Header, RecordKind, RecordRef};
use crate::recovery::Replayer;
use crate::segment;
use crate::storage::{ReadFile, Storage};

/// Magic bytes at the start of every hint file.
pub const HINT_MAGIC: [u8; 8] = *b"LIBKVHNT";
/// Hint format version this build writes and reads.
pub const HINT_VERSION: u32 = 3;
/// Bytes before the first entry.
pub const HINT_HEADER_LEN: usize = 56;
/// Bytes of an entry before its key.
pub const ENTRY_HEADER_LEN: usize = 36;
/// How many trailing segment bytes the tie checksum covers.
pub const TAIL_CRC_SPAN_BYTES: u64 = 4096;

/// The entries of one keydir shard, in the order they were added.
#[derive(Default)]
struct ShardEntries {
    /// Encoded entries.
    buf: Vec<u8>,
    /// (table bucket, start of the entry in `buf`), one per entry.
    order: Vec<(u32, u32)>,
}

/// Builds the hint of one segment while its records are written.
///
/// Entries are kept per keydir shard (the major part of the hint's order),
/// so ordering them sorts and gathers one shard at a time: a shard's
/// entries fit in cache, where one sort over the whole hint made every
/// gathered entry a cache miss (a tenth of a 100-byte merge's time).
pub(crate) struct HintBuilder {
    header: Vec<u8>,
    shards: Vec<ShardEntries>,
    hasher: KeyHasher,
    bucket_mask: u64,
    entries: u32,
    puts: u32,
}

impl HintBuilder {
    /// An empty hint for segment `id` with replay `order`, its entries to be
    /// ordered for a keydir hashing with `seed` whose tables have
    /// `2^order_bits` buckets (see [`keydir::bulk_order_key`]).
    pub fn new(id: u32, order: u64, seed: u64, order_bits: u32) -> HintBuilder {
        let order_bits = order_bits.min(32);
        let mut header = Vec::with_capacity(HINT_HEADER_LEN);
        header.extend_from_slice(&HINT_MAGIC);
        header.extend_from_slice(&HINT_VERSION.to_le_bytes());
        header.extend_from_slice(&id.to_le_bytes());
        header.extend_from_slice(&order.to_le_bytes());
        header.resize(44, 0);
        header.extend_from_slice(&order_bits.to_le_bytes());
        header.extend_from_slice(&seed.to_le_bytes());
        debug_assert_eq!(header.len(), HINT_HEADER_LEN);
        HintBuilder {
            header,
            shards: (0..keydir::SHARDS).map(|_| ShardEntries::default()).collect(),
            hasher: KeyHasher::with_seed(seed),
            bucket_mask: (1u64 << order_bits) - 1,
            entries: 0,
            puts: 0,
        }
    }

    /// Adds the record `rec`, written at offset `off` of the segment.
    pub fn add(&mut self, rec: &RecordRef<'_>, off: u64) {
        use std::hash::BuildHasher as _;
        let h = &rec.header;
        // Put values are what the hint exists to skip; the other kinds are
        // small and their replay may need the value (sorted-set members).
        let inline: &[u8] = if h.kind == RecordKind::Put { &[] } else { rec.stored_value };
        let order_key = keydir::bulk_order_key(self.hasher.hash_one(rec.key), 32);
        let shard = &mut self.shards[(order_key >> 32) as usize % keydir::SHARDS];
        let start = shard.buf.len() as u32;
        let b = &mut shard.buf;
        b.push(h.kind as u8);
        b.push(h.flags);
        b.extend_from_slice(&[0u8; 2]);
        b.extend_from_slice(&h.key_len.to_le_bytes());
        b.extend_from_slice(&(rec.len() as u32).to_le_bytes());
        b.extend_from_slice(&(inline.len() as u32).to_le_bytes());
        // Segments are at most u32::MAX bytes (record offsets are u32).
        b.extend_from_slice(&(off as u32).to_le_bytes());
        b.extend_from_slice(&h.seq.to_le_bytes());
        b.extend_from_slice(&h.expire_at_ms.to_le_bytes());
        b.extend_from_slice(rec.key);
        b.extend_from_slice(inline);
        shard.order.push(((order_key & self.bucket_mask) as u32, start));
        self.entries += 1;
        self.puts += (h.kind == RecordKind::Put) as u32;
    }

    /// Hands the finished hint file's bytes, in order and in pieces, to
    /// `emit`, for a segment of `seg_len` bytes whose trailing bytes
    /// checksum to `tail_crc` (see [`tail_crc`]). Stops at `emit`'s first
    /// error.
    pub fn write<E>(
        mut self,
        seg_len: u64,
        tail_crc: u32,
        emit: &mut dyn FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut header = std::mem::take(&mut self.header);
        header[24..32].copy_from_slice(&seg_len.to_le_bytes());
        header[32..36].copy_from_slice(&tail_crc.to_le_bytes());
        header[36..40].copy_from_slice(&self.entries.to_le_bytes());
        header[40..44].copy_from_slice(&self.puts.to_le_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(&header);
        emit(&header)?;
        let mut scratch = Vec::new();
        let mut piece = Vec::with_capacity(64 * 1024);
        for shard in &mut self.shards {
            // Ties keep insertion (file) order: a key's entries replay in
            // order (the sort is stable and entries were added in file order).
            crate::radix::sort_by_u64_key(&mut shard.order, &mut scratch, |&(bucket, _)| bucket as u64);
            for &(_, start) in &shard.order {
                let s = start as usize;
                let fixed = &shard.buf[s..s + ENTRY_HEADER_LEN];
                let key_len = u32::from_le_bytes(fixed[4..8].try_into().expect("4 bytes")) as usize;
                let inline_len = u32::from_le_bytes(fixed[12..16].try_into().expect("4 bytes")) as usize;
                piece.extend_from_slice(&shard.buf[s..s + ENTRY_HEADER_LEN + key_len + inline_len]);
                if piece.len() >= 64 * 1024 {
                    crc.update(&piece);
                    emit(&piece)?;
                    piece.clear();
                }
            }
            // The shard's memory goes back as soon as it is written.
            *shard = ShardEntries::default();
        }
        crc.update(&piece);
        piece.extend_from_slice(&crc.finalize().to_le_bytes());
        emit(&piece)
    }

    /// The finished hint file bytes (see [`HintBuilder::write`]).
    #[cfg(test)]
    pub fn finish(self, seg_len: u64, tail_crc: u32) -> Vec<u8> {
        let mut out = Vec::new();
        let written: Result<(), std::convert::Infallible> = self.write(seg_len, tail_crc, &mut |b| {
            out.extend_from_slice(b);
            Ok(())
        });
        match written {
            Ok(()) => out,
            Err(never) => match never {},
        }
    }
}

/// The byte range of a segment of `seg_len` bytes covered by the tie checksum.
pub fn tail_range(seg_len: u64) -> (u64, u64) {
    let start = seg_len.saturating_sub(TAIL_CRC_SPAN_BYTES).max(segment::HEADER_LEN.min(seg_len));
    (start, seg_len)
}

/// crc32 of the trailing bytes of the segment read through `file`.
pub fn tail_crc(file: &dyn ReadFile, seg_len: u64) -> std::io::Result<u32> {
    let (start, end) = tail_range(seg_len);
    let mut buf = vec![0u8; (end - start) as usize];
    file.read_exact_at(&mut buf, start)?;
    Ok(crc32fast::hash(&buf))
}

/// One decoded hint entry.
struct HintEntry<'a> {
    kind: RecordKind,
    flags: u8,
    key: &'a [u8],
    len: u32,
    inline: &'a [u8],
    seq: u64,
    expire_at_ms: u64,
}

/// Parses the entry at `pos` of a checksum-verified hint body against its
/// segment (`seg_len` bytes). Returns the entry, its location (segment id
/// left 0) and the position of the next entry, or `None` when malformed.
fn parse_entry(body: &[u8], pos: usize, seg_len: u64) -> Option<(HintEntry<'_>, Loc, usize)> {
    let h = body.get(pos..pos + ENTRY_HEADER_LEN)?;
    let u32_at = |i: usize| u32::from_le_bytes(h[i..i + 4].try_into().expect("4 bytes"));
    let u64_at = |i: usize| u64::from_le_bytes(h[i..i + 8].try_into().expect("8 bytes"));
    let kind = RecordKind::from_u8(h[0])?;
    // Merge output never holds a batch: its inner records are written singly.
    if kind == RecordKind::Batch || h[1] & !record::FLAG_LZ4 != 0 || h[2] != 0 || h[3] != 0 {
        return None;
    }
    let (key_len, len, inline_len) = (u32_at(4) as usize, u32_at(8), u32_at(12) as usize);
    let off = u32_at(16) as u64;
    let value_len = (len as usize).checked_sub(record::HEADER_LEN + key_len)?;
    if (kind == RecordKind::Put && inline_len != 0) || (kind != RecordKind::Put && inline_len != value_len) {
        return None;
    }
    let key_start = pos + ENTRY_HEADER_LEN;
    let key = body.get(key_start..key_start + key_len)?;
    let inline = body.get(key_start + key_len..key_start + key_len + inline_len)?;
    if off < segment::HEADER_LEN || off + len as u64 > seg_len {
        return None;
    }
    let loc = Loc { seg: 0, off: off as u32, len };
    let e = HintEntry { kind, flags: h[1], key, len, inline, seq: u64_at(20), expire_at_ms: u64_at(28) };
    Some((e, loc, key_start + key_len + inline_len))
}

/// Iterates the entries of a checksum-verified hint body, checking each
/// against the segment (`seg_len`). Yields `None` for a malformed entry.
/// Each item also carries the position after the entry in `body`.
fn entries(body: &[u8], count: u32, seg_len: u64) -> impl Iterator<Item = Option<(HintEntry<'_>, Loc, usize)>> + '_ {
    let mut pos = HINT_HEADER_LEN;
    let mut left = count;
    std::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        left -= 1;
        match parse_entry(body, pos, seg_len) {
            Some((e, loc, next)) => {
                pos = next;
                Some(Some((e, loc, next)))
            }
            None => {
                left = 0;
                Some(None)
            }
        }
    })
}

/// A 64-bit mix (splitmix64's finaliser) for the tiling check.
fn mix(x: u64, salt: u64) -> u64 {
    let mut z = x ^ salt;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Checks that `hint` is a complete, intact hint of the segment `id` with
/// `order` whose file is `seg` (`seg_len` bytes). Returns the entry count.
pub(crate) fn validate(hint: &[u8], id: u32, order: u64, seg: &dyn ReadFile, seg_len: u64) -> Option<u32> {
    validate_for_replay(hint, id, order, seg, seg_len, None).map(|v| v.count)
}

/// What validation learnt about a hint, for replay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Validated {
    /// Entry count.
    pub count: u32,
    /// Set when every entry is a string kind (`Put`, `Delete`,
    /// `ExpireTombstone`) and the entries are in shard order under the
    /// keydir's seed: the byte offset of the first entry whose key belongs
    /// to the upper half of the shards. Replay may then load the two halves
    /// in two threads.
    pub split_at: Option<usize>,
}

/// [`validate`], also finding the parallel-replay split point for a keydir
/// hashing with `keydir_seed` (`None`: do not look for one).
pub(crate) fn validate_for_replay(
    hint: &[u8],
    id: u32,
    order: u64,
    seg: &dyn ReadFile,
    seg_len: u64,
    keydir_seed: Option<u64>,
) -> Option<Validated> {
    if hint.len() < HINT_HEADER_LEN + 4 || hint[0..8] != HINT_MAGIC {
        return None;
    }
    let (body, crc) = hint.split_at(hint.len() - 4);
    if crc32fast::hash(body) != u32::from_le_bytes(crc.try_into().ok()?) {
        return None;
    }
    let u32_at = |i: usize| u32::from_le_bytes(body[i..i + 4].try_into().expect("4 bytes"));
    let u64_at = |i: usize| u64::from_le_bytes(body[i..i + 8].try_into().expect("8 bytes"));
    if u32_at(8) != HINT_VERSION || u32_at(12) != id || u64_at(16) != order || u64_at(24) != seg_len {
        return None;
    }
    if tail_crc(seg, seg_len).ok()? != u32_at(32) {
        return None;
    }
    let count = u32_at(36);
    // The records must tile the segment exactly. Entries are in hash order,
    // so instead of sorting offsets this compares two multisets: the record
    // starts plus the segment end, and the record ends plus the first
    // record's offset. They are equal exactly when the records chain from
    // the header to the end (ends only grow, so no cycle can balance them);
    // two independent 64-bit mixed sums compare them.
    let (mut starts, mut ends) = ([0u64; 2], [0u64; 2]);
    let salts = [0x9e37_79b9_7f4a_7c15, 0xd1b5_4a32_d192_ed03];
    let mut consumed = HINT_HEADER_LEN;
    // The split search: only for a hint ordered under the keydir's seed.
    let hint_seed = u64_at(48);
    let mut split = keydir_seed.filter(|&k| k == hint_seed).map(|k| (KeyHasher::with_seed(k), 0usize, None));
    for item in entries(body, count, seg_len) {
        let (e, loc, next) = item?;
        if let Some((hasher, last_shard, first_upper)) = &mut split {
            use std::hash::BuildHasher as _;
            let shard = keydir::KeyDir::shard_index(hasher.hash_one(e.key));
            let string_kind = matches!(e.kind, RecordKind::Put | RecordKind::Delete | RecordKind::ExpireTombstone);
            if !string_kind || shard < *last_shard {
                split = None;
            } else {
                *last_shard = shard;
                if shard >= keydir::SHARDS / 2 && first_upper.is_none() {
                    *first_upper = Some(consumed);
                }
            }
        }
        consumed = next;
        let end = loc.off as u64 + loc.len as u64;
        for i in 0..2 {
            starts[i] = starts[i].wrapping_add(mix(loc.off as u64, salts[i]));
            ends[i] = ends[i].wrapping_add(mix(end, salts[i]));
        }
    }
    for i in 0..2 {
        starts[i] = starts[i].wrapping_add(mix(seg_len, salts[i]));
        ends[i] = ends[i].wrapping_add(mix(segment::HEADER_LEN, salts[i]));
    }
    let split_at = split.map(|(_, _, first_upper)| first_upper.unwrap_or(consumed));
    (starts == ends && consumed == body.len()).then_some(Validated { count, split_at })
}

/// What the header of segment `id`'s hint file claims, read without
/// validating the file: used to size the keydir and pick its hash seed
/// before replay. `None` when there is no readable v3 hint header.
pub(crate) struct HintHeaderInfo {
    /// Put entries, capped by what the file could hold, so a damaged count
    /// cannot cause a huge allocation.
    pub puts: u64,
    /// The keydir hash seed the entries are ordered by.
    pub seed: u64,
}

/// Reads the header of segment `id`'s hint file (see [`HintHeaderInfo`]).
pub(crate) fn header_info(storage: &dyn Storage, id: u32) -> Option<HintHeaderInfo> {
    let file = storage.open_read(&segment::hint_file_name(id)).ok()?;
    // Open reads every hint soon after this: let the OS read them ahead
    // while earlier ones are replayed (a cold open waits on the disk less).
    file.advise_will_read();
    let len = file.len_bytes().ok()?;
    let mut h = [0u8; HINT_HEADER_LEN];
    if len < HINT_HEADER_LEN as u64 || file.read_exact_at(&mut h, 0).is_err() || h[0..8] != HINT_MAGIC {
        return None;
    }
    if u32::from_le_bytes(h[8..12].try_into().expect("4 bytes")) != HINT_VERSION {
        return None;
    }
    let puts = u32::from_le_bytes(h[40..44].try_into().expect("4 bytes")) as u64;
    let seed = u64::from_le_bytes(h[48..56].try_into().expect("8 bytes"));
    Some(HintHeaderInfo { puts: puts.min(len / (ENTRY_HEADER_LEN as u64 + 1)), seed })
}

/// The outcome of [`check`] for one segment's hint file.
pub(crate) enum Checked {
    /// No hint file.
    Missing,
    /// A hint file that is not trustworthy: remove it and scan the segment.
    Invalid,
    /// A validated hint: its bytes and entry count.
    Valid {
        /// The hint file (its bytes: [`hint_bytes`]).
        file: std::sync::Arc<dyn ReadFile>,
        /// Owned bytes when the file is not mapped.
        owned: Option<Vec<u8>>,
        /// What validation found.
        v: Validated,
    },
}

fn hint_bytes<'a>(file: &'a dyn ReadFile, owned: &'a Option<Vec<u8>>) -> &'a [u8] {
    owned.as_deref().or_else(|| file.as_slice()).unwrap_or(&[])
}

/// Reads and validates the hint of segment `id` (replay `order`, file `seg`
/// of `seg_len` bytes). Only reads: recovery runs it a file ahead in a
/// second thread, so reading and checking a hint overlap replaying the
/// previous one. `keydir_seed` is the seed of the keydir it will load into
/// (see [`Validated::split_at`]).
pub(crate) fn check(
    storage: &dyn Storage,
    id: u32,
    order: u64,
    seg: &dyn ReadFile,
    seg_len: u64,
    keydir_seed: u64,
) -> crate::Result<Checked> {
    let file = match storage.open_read_whole(&segment::hint_file_name(id)) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Checked::Missing),
        Err(e) => return Err(e.into()),
    };
    let owned = match file.as_slice() {
        Some(_) => None,
        None => {
            let mut buf = vec![0u8; file.len_bytes()? as usize];
            file.read_exact_at(&mut buf, 0)?;
            Some(buf)
        }
    };
    match validate_for_replay(hint_bytes(file.as_ref(), &owned), id, order, seg, seg_len, Some(keydir_seed)) {
        Some(v) => Ok(Checked::Valid { file, owned, v }),
        None => Ok(Checked::Invalid),
    }
}

/// Applies a [`check`] outcome for segment `id` (`seg_len` bytes) to `rp`.
/// Returns whether the hint was replayed; on `false` nothing was applied
/// and the caller scans the segment. An untrustworthy hint file is removed
/// (it is derived data) and counted in `removed`.
pub(crate) fn apply_checked(
    storage: &dyn Storage,
    id: u32,
    seg_len: u64,
    checked: Checked,
    rp: &mut Replayer,
    removed: &mut u64,
) -> crate::Result<bool> {
    let (file, owned, v) = match checked {
        Checked::Missing => return Ok(false),
        Checked::Invalid => {
            storage.remove(&segment::hint_file_name(id))?;
            storage.sync_dir()?;
            *removed += 1;
            return Ok(false);
        }
        Checked::Valid { file, owned, v } => (file, owned, v),
    };
    let hint = hint_bytes(file.as_ref(), &owned);
    let path = storage.path().join(segment::segment_file_name(id));
    let body = &hint[..hint.len() - 4];
    if let Some(split_at) = v.split_at.filter(|_| v.count >= PARALLEL_REPLAY_MIN_ENTRIES) {
        apply_halves(body, split_at, id, seg_len, rp);
        return Ok(true);
    }
    for (e, loc, _) in entries(body, v.count, seg_len).flatten() {
        rp.apply(&record_of(&e), Loc { seg: id, ..loc }, Path::new(&path))?;
    }
    Ok(true)
}

/// A hint entry as the record replay sees (a `Put` carries no value bytes;
/// replay never reads them).
fn record_of<'a>(e: &HintEntry<'a>) -> RecordRef<'a> {
    let header = Header {
        crc: 0,
        kind: e.kind,
        flags: e.flags,
        seq: e.seq,
        expire_at_ms: e.expire_at_ms,
        key_len: e.key.len() as u32,
        value_len: e.len - record::HEADER_LEN as u32 - e.key.len() as u32,
    };
    RecordRef { header, key: e.key, stored_value: e.inline }
}

/// Hints with fewer entries replay in one thread (a thread costs more).
pub(crate) const PARALLEL_REPLAY_MIN_ENTRIES: u32 = 65_536;

/// What one half of a parallel replay accumulated besides the keydir.
#[derive(Default)]
struct HalfOutcome {
    dead: std::collections::HashMap<u32, u64>,
    max_seq: u64,
    records: u64,
    /// Sorted-set keys a string record replaced: their members are dropped
    /// after both halves finish (the hint holds no sorted-set record, so
    /// nothing in it depends on them).
    dropped_zsets: Vec<Vec<u8>>,
}

/// Replays a validated, string-only hint whose entries are in shard order,
/// in two threads: entries before `split_at` (lower shards) here, the rest
/// in a scoped thread, each into its own half of the keydir. The effect is
/// [`Replayer::apply`]'s for these kinds, entry by entry in file order per
/// key (a key lives in one shard, so in one half).
fn apply_halves(body: &[u8], split_at: usize, id: u32, seg_len: u64, rp: &mut Replayer) {
    let now_ms = rp.now_ms;
    let (mut lo, mut hi) = rp.keydir.split_halves();
    let (a, b) = std::thread::scope(|scope| {
        let upper = scope.spawn(|| replay_half(body, split_at, body.len(), id, seg_len, now_ms, &mut hi));
        let lower = replay_half(body, HINT_HEADER_LEN, split_at, id, seg_len, now_ms, &mut lo);
        // A panic in the upper half is re-raised here, as it would have been
        // had it run in this thread.
        (lower, upper.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
    });
    for half in [a, b] {
        for (seg, bytes) in half.dead {
            *rp.dead.entry(seg).or_default() += bytes;
        }
        rp.max_seq = rp.max_seq.max(half.max_seq);
        rp.records += half.records;
        for key in half.dropped_zsets {
            rp.zsets.dropped(&key, &mut rp.dead);
        }
    }
}

/// One half of [`apply_halves`]: the entries at `from..to` of `body`.
fn replay_half(
    body: &[u8],
    from: usize,
    to: usize,
    id: u32,
    seg_len: u64,
    now_ms: u64,
    kd: &mut crate::keydir::ShardsMut<'_>,
) -> HalfOutcome {
    let mut out = HalfOutcome::default();
    let mut pos = from;
    while pos < to {
        // Validated already: every entry parses.
        let Some((e, loc, next)) = parse_entry(body, pos, seg_len) else { break };
        pos = next;
        let loc = Loc { seg: id, ..loc };
        out.max_seq = out.max_seq.max(e.seq);
        out.records += 1;
        let hash = kd.hash(e.key);
        let live = e.kind == RecordKind::Put && (e.expire_at_ms == 0 || e.expire_at_ms > now_ms);
        let old = if live {
            let new = Entry { loc, kind: ValueKind::String, expire_at_ms: e.expire_at_ms };
            // A full shard (4 GiB of keys) drops the entry, as the
            // sequential replay does.
            kd.insert(hash, e.key, new).ok().flatten()
        } else {
            // A tombstone, or a Put already expired: the key is gone, and
            // so is any older value (nutsdb#465).
            *out.dead.entry(id).or_default() += loc.len as u64;
            kd.remove(hash, e.key)
        };
        if let Some(old) = old {
            *out.dead.entry(old.loc.seg).or_default() += old.loc.len as u64;
            if old.kind == ValueKind::ZSet {
                out.dropped_zsets.push(e.key.to_vec());
            }
        }
    }
    out
}

/// [`check`] then [`apply_checked`], in the calling thread.
#[cfg(test)]
pub(crate) fn replay(
    storage: &dyn Storage,
    id: u32,
    order: u64,
    seg: &dyn ReadFile,
    seg_len: u64,
    rp: &mut Replayer,
    removed: &mut u64,
) -> crate::Result<bool> {
    let checked = check(storage, id, order, seg, seg_len, rp.keydir.seed())?;
    apply_checked(storage, id, seg_len, checked, rp, removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::SimStorage;

    fn segment_with_records(sim: &SimStorage, id: u32, order: u64) -> (Vec<u8>, Vec<u8>) {
        let mut seg = segment::SegmentHeader { id, order }.encode().to_vec();
        let mut hint = HintBuilder::new(id, order, 7, 4);
        for i in 0..50u32 {
            let start = seg.len();
            let kind = if i % 7 == 3 { RecordKind::Delete } else { RecordKind::Put };
            let value = if kind == RecordKind::Put { format!("value-{i}") } else { String::new() };
            record::encode(&mut seg, kind, i as u64 + 1, 0, format!("k{}", i % 20).as_bytes(), value.as_bytes(), 4096);
            hint.add(&record::decode(&seg[start..]).unwrap(), start as u64);
        }
        let f = sim.create(&segment::segment_file_name(id)).unwrap();
        f.write_all_at(&seg, 0).unwrap();
        let tail = tail_crc(f.as_ref(), seg.len() as u64).unwrap();
        (seg.clone(), hint.finish(seg.len() as u64, tail))
    }

    fn replayer() -> Replayer {
        Replayer {
            keydir: crate::keydir::KeyDir::new(),
            dead: Default::default(),
            now_ms: 0,
            max_seq: 0,
            records: 0,
            zsets: Default::default(),
        }
    }

    #[test]
    fn hint_validates_and_every_bit_flip_is_rejected() {
        let sim = SimStorage::new();
        let (seg, hint) = segment_with_records(&sim, 3, 3 << 16);
        let f = sim.open_read(&segment::segment_file_name(3)).unwrap();
        let len = seg.len() as u64;
        assert_eq!(validate(&hint, 3, 3 << 16, f.as_ref(), len), Some(50));
        assert_eq!(validate(&hint, 4, 3 << 16, f.as_ref(), len), None, "other id");
        assert_eq!(validate(&hint, 3, 3 << 16, f.as_ref(), len - 1), None, "other length");
        for cut in 0..hint.len() {
            assert_eq!(validate(&hint[..cut], 3, 3 << 16, f.as_ref(), len), None, "truncated at {cut}");
        }
        for bit in (0..hint.len() * 8).step_by(3) {
            let mut h = hint.clone();
            h[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(validate(&h, 3, 3 << 16, f.as_ref(), len), None, "bit {bit}");
        }
    }

    /// Byte positions of each entry's fixed header in a hint.
    fn entry_positions(hint: &[u8]) -> Vec<usize> {
        let count = u32::from_le_bytes(hint[36..40].try_into().unwrap());
        let mut pos = HINT_HEADER_LEN;
        let mut out = Vec::new();
        for _ in 0..count {
            out.push(pos);
            let key_len = u32::from_le_bytes(hint[pos + 4..pos + 8].try_into().unwrap()) as usize;
            let inline_len = u32::from_le_bytes(hint[pos + 12..pos + 16].try_into().unwrap()) as usize;
            pos += ENTRY_HEADER_LEN + key_len + inline_len;
        }
        out
    }

    fn reseal(hint: &mut [u8]) {
        let n = hint.len() - 4;
        let crc = crc32fast::hash(&hint[..n]);
        hint[n..].copy_from_slice(&crc.to_le_bytes());
    }

    #[test]
    fn hint_entries_are_in_keydir_bulk_order() {
        let sim = SimStorage::new();
        let (_, hint) = segment_with_records(&sim, 3, 3 << 16);
        let hasher = KeyHasher::with_seed(7);
        let keys: Vec<u64> = entry_positions(&hint)
            .into_iter()
            .map(|p| {
                use std::hash::BuildHasher as _;
                let key_len = u32::from_le_bytes(hint[p + 4..p + 8].try_into().unwrap()) as usize;
                let key = &hint[p + ENTRY_HEADER_LEN..p + ENTRY_HEADER_LEN + key_len];
                keydir::bulk_order_key(hasher.hash_one(key), 4)
            })
            .collect();
        assert!(keys.windows(2).all(|w| w[0] <= w[1]), "entries not in bulk order: {keys:?}");
        // Not trivially sorted: the records were written in another order.
        let offsets: Vec<u32> = entry_positions(&hint)
            .into_iter()
            .map(|p| u32::from_le_bytes(hint[p + 16..p + 20].try_into().unwrap()))
            .collect();
        assert!(offsets.windows(2).any(|w| w[0] > w[1]), "hint happens to be in file order");
    }

    /// A hint whose checksum is right but whose records do not tile the
    /// segment (a bug, or a hand-made file) must not be trusted.
    #[test]
    fn hint_with_valid_checksum_but_records_not_tiling_is_rejected() {
        let sim = SimStorage::new();
        let (seg, hint) = segment_with_records(&sim, 3, 3 << 16);
        let f = sim.open_read(&segment::segment_file_name(3)).unwrap();
        let len = seg.len() as u64;
        let positions = entry_positions(&hint);
        for (i, &p) in positions.iter().enumerate() {
            for delta in [1i64, -1, 32, -32, 1000] {
                let mut h = hint.clone();
                let off = u32::from_le_bytes(h[p + 16..p + 20].try_into().unwrap()) as i64 + delta;
                h[p + 16..p + 20].copy_from_slice(&(off.max(0) as u32).to_le_bytes());
                reseal(&mut h);
                assert_eq!(validate(&h, 3, 3 << 16, f.as_ref(), len), None, "entry {i} offset {delta:+}");
            }
        }
        // Two entries swapping offsets (same lengths would still tile; these differ).
        let (a, b) = (positions[0], positions[1]);
        let mut h = hint.clone();
        let (oa, ob) = (h[a + 16..a + 20].to_vec(), h[b + 16..b + 20].to_vec());
        let (la, lb) = (h[a + 8..a + 12].to_vec(), h[b + 8..b + 12].to_vec());
        h[a + 16..a + 20].copy_from_slice(&ob);
        h[b + 16..b + 20].copy_from_slice(&oa);
        reseal(&mut h);
        if la != lb {
            assert_eq!(validate(&h, 3, 3 << 16, f.as_ref(), len), None, "swapped offsets");
        }
        // A duplicated entry (count bumped, bytes repeated) overlaps itself.
        let mut h = hint[..hint.len() - 4].to_vec();
        let entry = hint[a..b].to_vec();
        h.extend_from_slice(&entry);
        let count = u32::from_le_bytes(h[36..40].try_into().unwrap()) + 1;
        h[36..40].copy_from_slice(&count.to_le_bytes());
        h.extend_from_slice(&[0; 4]);
        reseal(&mut h);
        assert_eq!(validate(&h, 3, 3 << 16, f.as_ref(), len), None, "duplicated entry");
    }

    /// Open takes the keydir's hash seed from the hint files, so the entries
    /// a merge wrote arrive in table order on the next open.
    #[test]
    fn open_hashes_with_the_seed_of_the_hint_files() {
        use crate::{Db, Fsync, Options};
        use std::sync::Arc;
        let sim = SimStorage::new();
        let opts = || Options {
            fsync: Fsync::Always,
            max_segment_size_bytes: 4096,
            auto_compaction: false,
            active_expiry: false,
            ..Options::default()
        };
        let db = Db::open_with_storage(Arc::new(sim.clone()), opts()).unwrap();
        for i in 0..300u32 {
            db.put(format!("key{i}").as_bytes(), b"value").unwrap();
        }
        db.compact().unwrap();
        let seed = db.inner.keydir.seed();
        drop(db);
        let ids: Vec<u32> = (0..64).filter(|&id| sim.open_read(&segment::hint_file_name(id)).is_ok()).collect();
        assert!(!ids.is_empty(), "compaction wrote no hint");
        for &id in &ids {
            assert_eq!(header_info(&sim, id).map(|h| h.seed), Some(seed));
        }
        for _ in 0..2 {
            let db = Db::open_with_storage(Arc::new(sim.clone()), opts()).unwrap();
            assert_eq!(db.inner.keydir.seed(), seed);
            assert!(db.stats().recovery.segments_from_hints > 0);
            assert_eq!(db.get(b"key299").unwrap().as_deref(), Some(&b"value"[..]));
        }
    }

    /// The two-thread replay of a large string-only hint builds exactly what
    /// the sequential scan builds: overwrites across segments, tombstones,
    /// expired puts, and a sorted set replaced by a string.
    #[test]
    fn parallel_hint_replay_equals_sequential_scan() {
        let seed = 99;
        let n = PARALLEL_REPLAY_MIN_ENTRIES as u64 + 5_000;
        let now_ms = 1_000_000;
        let sim = SimStorage::new();
        // Segment 1 (scanned in both): older values of some keys and a sorted set "k5".
        let mut old = segment::SegmentHeader { id: 1, order: 1 << 16 }.encode().to_vec();
        for i in (0..n).step_by(3) {
            record::encode(&mut old, RecordKind::Put, i + 1, 0, format!("k{i}").as_bytes(), b"old", 4096);
        }
        let mut zadd = 1.5f64.to_le_bytes().to_vec();
        zadd.extend_from_slice(b"member");
        record::encode(&mut old, RecordKind::ZAdd, n + 1, 0, b"k5", &zadd, 4096);
        // Segment 2 (from its hint in one replayer): puts, deletes, expired and live TTLs.
        let mut seg = segment::SegmentHeader { id: 2, order: 2 << 16 }.encode().to_vec();
        let mut hint = HintBuilder::new(2, 2 << 16, seed, 12);
        for i in 0..n {
            let start = seg.len();
            let key = format!("k{i}");
            let seq = n + 10 + i;
            match i % 11 {
                0 => record::encode(&mut seg, RecordKind::Delete, seq, 0, key.as_bytes(), b"", 4096),
                1 => record::encode(&mut seg, RecordKind::Put, seq, now_ms - 1, key.as_bytes(), b"gone", 4096),
                2 => record::encode(&mut seg, RecordKind::Put, seq, now_ms + 50, key.as_bytes(), b"ttl", 4096),
                _ => record::encode(&mut seg, RecordKind::Put, seq, 0, key.as_bytes(), b"new", 4096),
            };
            hint.add(&record::decode(&seg[start..]).unwrap(), start as u64);
        }
        let f = sim.create(&segment::segment_file_name(2)).unwrap();
        f.write_all_at(&seg, 0).unwrap();
        let tail = tail_crc(f.as_ref(), seg.len() as u64).unwrap();
        sim.write_file(&segment::hint_file_name(2), &hint.finish(seg.len() as u64, tail));

        let scan_into = |rp: &mut Replayer, id: u32, bytes: &[u8]| {
            let mut off = segment::HEADER_LEN as usize;
            while off < bytes.len() {
                let rec = record::decode(&bytes[off..]).unwrap();
                let loc = Loc { seg: id, off: off as u32, len: rec.len() as u32 };
                rp.apply(&rec, loc, Path::new("x")).unwrap();
                off += rec.len() as usize;
            }
        };
        let fresh = || Replayer { keydir: crate::keydir::KeyDir::with_seed(seed), now_ms, ..replayer() };
        let mut parallel = fresh();
        let mut sequential = fresh();
        scan_into(&mut parallel, 1, &old);
        scan_into(&mut sequential, 1, &old);
        assert_eq!(parallel.zsets.store.keys(), vec![b"k5".to_vec()], "segment 1 holds the sorted set");
        scan_into(&mut sequential, 2, &seg);

        let reader = sim.open_read(&segment::segment_file_name(2)).unwrap();
        let checked = check(&sim, 2, 2 << 16, reader.as_ref(), seg.len() as u64, seed).unwrap();
        let Checked::Valid { v, .. } = &checked else { panic!("hint not valid") };
        assert!(v.split_at.is_some(), "a string-only hint in shard order must split");
        let mut removed = 0;
        assert!(apply_checked(&sim, 2, seg.len() as u64, checked, &mut parallel, &mut removed).unwrap());

        assert_eq!(parallel.max_seq, sequential.max_seq);
        assert_eq!(parallel.records, sequential.records);
        assert_eq!(parallel.dead, sequential.dead);
        assert_eq!(parallel.keydir.len(), sequential.keydir.len());
        for i in 0..n {
            let k = format!("k{i}");
            assert_eq!(parallel.keydir.get(k.as_bytes()), sequential.keydir.get(k.as_bytes()), "{k}");
        }
        assert_eq!(parallel.zsets.store.keys(), sequential.zsets.store.keys());
        assert!(sequential.zsets.store.keys().is_empty(), "the string put replaced the sorted set");
    }

    /// A hint holding a sorted-set record, or ordered under another seed,
    /// is replayed in one thread.
    #[test]
    fn hint_with_sorted_set_records_or_another_seed_does_not_split() {
        let sim = SimStorage::new();
        let (seg, _) = segment_with_records(&sim, 3, 3 << 16);
        let f = sim.open_read(&segment::segment_file_name(3)).unwrap();
        let mut hint = HintBuilder::new(3, 3 << 16, 7, 4);
        let mut off = segment::HEADER_LEN as usize;
        while off < seg.len() {
            let rec = record::decode(&seg[off..]).unwrap();
            hint.add(&rec, off as u64);
            off += rec.len() as usize;
        }
        let tail = tail_crc(f.as_ref(), seg.len() as u64).unwrap();
        let bytes = hint.finish(seg.len() as u64, tail);
        let same = validate_for_replay(&bytes, 3, 3 << 16, f.as_ref(), seg.len() as u64, Some(7)).unwrap();
        assert!(same.split_at.is_some());
        let other = validate_for_replay(&bytes, 3, 3 << 16, f.as_ref(), seg.len() as u64, Some(8)).unwrap();
        assert_eq!(other.split_at, None, "ordered under another seed");

        let mut zseg = segment::SegmentHeader { id: 4, order: 4 << 16 }.encode().to_vec();
        let mut zhint = HintBuilder::new(4, 4 << 16, 7, 4);
        let mut zadd = 2.0f64.to_le_bytes().to_vec();
        zadd.extend_from_slice(b"m");
        for (i, kind) in [RecordKind::Put, RecordKind::ZAdd, RecordKind::Put].into_iter().enumerate() {
            let start = zseg.len();
            let value: &[u8] = if kind == RecordKind::ZAdd { &zadd } else { b"v" };
            record::encode(&mut zseg, kind, i as u64 + 1, 0, format!("z{i}").as_bytes(), value, 4096);
            zhint.add(&record::decode(&zseg[start..]).unwrap(), start as u64);
        }
        let zf = sim.create(&segment::segment_file_name(4)).unwrap();
        zf.write_all_at(&zseg, 0).unwrap();
        let ztail = tail_crc(zf.as_ref(), zseg.len() as u64).unwrap();
        let zbytes = zhint.finish(zseg.len() as u64, ztail);
        let z = validate_for_replay(&zbytes, 4, 4 << 16, zf.as_ref(), zseg.len() as u64, Some(7)).unwrap();
        assert_eq!(z.split_at, None, "holds a sorted-set record");
    }

    #[test]
    fn hint_replay_equals_scan() {
        let sim = SimStorage::new();
        let (seg, hint) = segment_with_records(&sim, 3, 3 << 16);
        sim.write_file(&segment::hint_file_name(3), &hint);
        let f = sim.open_read(&segment::segment_file_name(3)).unwrap();
        let mut from_hint = replayer();
        let mut removed = 0;
        assert!(replay(&sim, 3, 3 << 16, f.as_ref(), seg.len() as u64, &mut from_hint, &mut removed).unwrap());
        let mut scanned = replayer();
        let mut off = segment::HEADER_LEN as usize;
        while off < seg.len() {
            let rec = record::decode(&seg[off..]).unwrap();
            let loc = Loc { seg: 3, off: off as u32, len: rec.len() as u32 };
            scanned.apply(&rec, loc, Path::new("x")).unwrap();
            off += rec.len() as usize;
        }
        assert_eq!(from_hint.max_seq, scanned.max_seq);
        assert_eq!(from_hint.dead, scanned.dead);
        assert_eq!(from_hint.keydir.len(), scanned.keydir.len());
        for i in 0..20 {
            let k = format!("k{i}");
            assert_eq!(from_hint.keydir.get(k.as_bytes()), scanned.keydir.get(k.as_bytes()), "{k}");
        }
    }
}
