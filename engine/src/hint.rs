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
//! Layout, format v5 (little-endian; see `docs/format.md`):
//!
//! ```text
//! 0   [u8; 8] magic b"LIBKVHNT"
//! 8   u32     format version (5)
//! 12  u32     segment id
//! 16  u64     segment replay order
//! 24  u64     segment length in bytes
//! 32  u32     crc32 of the segment's last min(4096, length - 32) bytes
//! 36  u32     number of entries
//! 40  u32     number of Put entries (sizes the keydir before replay)
//! 44  u32     order bits: log2 of the table buckets the order targets
//! 48  u64     keydir hash seed the entries are ordered by
//! 56  u64     base sequence number: the smallest in the hint
//! 64  u64     split: file offset of the first entry of the upper half of
//!             the keydir's shards (end of the entries when there is none)
//! 72  entries, each:
//!       u8  tag: kind (bits 0..3), lz4 (bit 3), has expiry (bit 4),
//!           wide sequence delta (bit 5), shares a key prefix (bit 6)
//!       u8  widths - 1 of: sequence delta (bits 0..2; 0 when wide), key
//!           suffix length (2..4), record length L (4..6), offset (6..8)
//!       sequence number - base   (1..=4 bytes, or 8 when wide)
//!       suffix length   record length L   record offset   (1..=4 bytes each)
//!       u8  shared (only when flagged; never 0)
//!       u64 expiry (Unix ms, only when flagged; never 0)
//!       key suffix, inline value (L - 32 - key length bytes; empty for Put)
//! end-4  u32  crc32 of every preceding byte of the hint file
//! ```
//!
//! The integers are little-endian in the fewest bytes that hold them
//! ([`crate::packed_int`]). Keys are prefix-compressed as in LevelDB's
//! blocks: an entry's key is the first `shared` bytes of the previous
//! entry's key followed by its suffix, and `shared` is exactly the two
//! keys' common prefix length capped at 255 (0, the tag bit clear, when
//! there is none), so each entry has one encoding. The first entry and the
//! entry at the split are restart points (their previous key is empty, so
//! `shared` is 0): each half decodes on its own, in its own thread. A
//! decoder rebuilds a key by truncating its scratch copy of the previous
//! key to `shared` bytes and appending the suffix. Format v4 (the same
//! without prefix compression: no bit 6, no `shared`, the whole key) and
//! format v3 (fixed 36-byte entry heads, 56-byte header, no base or split)
//! are still read.

use std::path::Path;

use crate::keydir::{self, Entry, KeyHasher, Loc, ValueKind};
use crate::packed_int;
use crate::record::{self, Header, RecordKind, RecordRef};
use crate::recovery::Replayer;
use crate::segment;
use crate::storage::{ReadFile, Storage};

/// Magic bytes at the start of every hint file.
pub const HINT_MAGIC: [u8; 8] = *b"LIBKVHNT";
/// Hint format version this build writes.
pub const HINT_VERSION: u32 = 5;
/// An older format version this build still reads (v5 without key prefix
/// compression).
pub const HINT_VERSION_V4: u32 = 4;
/// The oldest format version this build still reads.
pub const HINT_VERSION_V3: u32 = 3;
/// Bytes before the first entry (formats v4 and v5).
pub const HINT_HEADER_LEN: usize = 72;
/// Bytes before the first entry in format v3.
pub const HINT_V3_HEADER_LEN: usize = 56;
/// The shortest well-formed hint file of any version read: a header without
/// entries and the trailer.
pub const MIN_HINT_FILE_LEN: usize = HINT_V3_HEADER_LEN + 4;
/// Bytes of a v3 entry before its key.
pub const V3_ENTRY_HEADER_LEN: usize = 36;
/// The fewest bytes a v4 or v5 entry takes (tag, widths, four one-byte
/// integers).
const V4_MIN_ENTRY_LEN: u64 = 6;
/// How many trailing segment bytes the tie checksum covers.
pub const TAIL_CRC_SPAN_BYTES: u64 = 4096;

/// v4 entry tag: the record kind.
const TAG_KIND_MASK: u8 = 0b0000_0111;
/// v4 entry tag: the record's value is lz4-compressed (record flag bit 0).
const TAG_LZ4: u8 = 0b0000_1000;
/// v4 entry tag: an 8-byte expiry follows the offset.
const TAG_EXPIRY: u8 = 0b0001_0000;
/// v4 entry tag: the sequence delta takes 8 bytes (it needs more than 4).
const TAG_WIDE_SEQ: u8 = 0b0010_0000;
/// v5 entry tag: a `shared` byte follows the offset (the key shares a
/// prefix with the previous entry's key).
const TAG_SHARED: u8 = 0b0100_0000;
/// The most key bytes a v5 entry takes from the previous entry's key (what
/// its one `shared` byte holds).
const MAX_SHARED: usize = 255;

/// Length of the common prefix of `a` and `b`, capped at [`MAX_SHARED`]:
/// the `shared` of a v5 entry with key `b` after an entry with key `a`.
#[inline]
fn shared_prefix_len(a: &[u8], b: &[u8]) -> usize {
    // Eight bytes at a time: a merge computes this for every entry, twice
    // for the lower half.
    let n = a.len().min(b.len()).min(MAX_SHARED);
    let mut i = 0;
    while i + 8 <= n {
        let (x, y) = (load_u64(&a[i..i + 8]), load_u64(&b[i..i + 8]));
        if x != y {
            return i + ((x ^ y).trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

/// The little-endian `u64` of an 8-byte slice.
#[inline(always)]
fn load_u64(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(b);
    u64::from_le_bytes(w)
}

/// Bytes the sequence delta `d` takes in a v4 entry, and its width code
/// and tag bit.
#[inline]
fn seq_width(d: u64) -> (usize, u8, u8) {
    match packed_int::width(d) {
        w @ 1..=4 => (w, (w - 1) as u8, 0),
        _ => (8, 0, TAG_WIDE_SEQ),
    }
}

/// The start of a v5 entry for a record with header `h`, `len` bytes long
/// at offset `off`: its tag (without the sequence and shared-prefix bits),
/// its widths byte (without the sequence and suffix bits), and the widths
/// of the length and offset.
fn entry_head(h: &Header, len: u64, off: u64) -> (u8, u8, usize, usize) {
    let mut tag = h.kind as u8 & TAG_KIND_MASK;
    if h.flags & record::FLAG_LZ4 != 0 {
        tag |= TAG_LZ4;
    }
    if h.expire_at_ms != 0 {
        tag |= TAG_EXPIRY;
    }
    // Record lengths and offsets are u32 (segments are at most u32::MAX
    // bytes): 1..=4 bytes each.
    let (wl, wo) = (packed_int::width(len), packed_int::width(off));
    debug_assert!(wl <= 4 && wo <= 4, "a record past the u32 range");
    (tag, ((wl - 1) << 4 | (wo - 1) << 6) as u8, wl, wo)
}

/// The entries of one keydir shard, in the order they were added.
///
/// Each entry in `buf`: u32 length `n` of what follows the key length, u64
/// sequence number, u32 key length, then `n` bytes: tag, widths byte,
/// record length, offset, expiry, whole key, inline value (the tag and
/// widths byte lack the sequence delta's and suffix length's bits). The
/// base sequence is known only once every record is added, and the shared
/// key prefix once the entries are ordered, so those are encoded while the
/// entries are gathered.
#[derive(Default)]
struct ShardEntries {
    /// Staged entries.
    buf: Vec<u8>,
    /// (table bucket, start of the entry in `buf`), one per entry.
    order: Vec<(u32, u32)>,
}

/// How many entries ahead of the one being written a shard's walk in
/// table order asks for: the walk jumps around the staged buffer, a likely
/// cache miss per entry, and the writer walks the lower half twice (sizes
/// for the header's split, then the bytes).
const PREFETCH_AHEAD: usize = 16;

impl ShardEntries {
    /// Asks for the staged entry `PREFETCH_AHEAD` places after the `k`th
    /// in `order` (both cache lines a short entry may span).
    #[inline(always)]
    fn prefetch_ahead(&self, k: usize) {
        if let Some(&(_, ahead)) = self.order.get(k + PREFETCH_AHEAD) {
            let ahead = ahead as usize;
            if let Some(b) = self.buf.get(ahead) {
                crate::prefetch::prefetch(b);
            }
            if let Some(b) = self.buf.get(ahead + 63) {
                crate::prefetch::prefetch(b);
            }
        }
    }
}

/// Bytes before the tag of a staged entry (length, sequence number, key
/// length).
const STAGED_PREFIX_LEN: usize = 16;

/// A staged entry (see [`ShardEntries`]) taken apart.
struct Staged<'a> {
    seq: u64,
    /// Tag and widths byte (without the sequence and suffix bits).
    head: [u8; 2],
    /// Record length and offset, as encoded.
    ints: &'a [u8],
    /// The expiry's 8 bytes, or empty.
    expiry: &'a [u8],
    key: &'a [u8],
    inline: &'a [u8],
}

impl Staged<'_> {
    /// Bytes the v5 entry takes after a key sharing `shared` bytes with
    /// the previous one, its sequence delta taking `ws` bytes.
    fn encoded_len(&self, ws: usize, shared: usize) -> usize {
        let suffix = self.key.len() - shared;
        2 + ws
            + packed_int::width(suffix as u64)
            + self.ints.len()
            + (shared > 0) as usize
            + self.expiry.len()
            + suffix
            + self.inline.len()
    }
}

/// Builds the hint of one segment while its records are written.
///
/// Entries are kept per keydir shard (the major part of the hint's order),
/// so ordering them sorts and gathers one shard at a time: a shard's
/// entries fit in cache, where one sort over the whole hint made every
/// gathered entry a cache miss (a tenth of a 100-byte merge's time).
pub(crate) struct HintBuilder {
    id: u32,
    order: u64,
    seed: u64,
    order_bits: u32,
    shards: Vec<ShardEntries>,
    hasher: KeyHasher,
    bucket_mask: u64,
    entries: u32,
    puts: u32,
    min_seq: u64,
    /// Entries each shard is expected to take (see
    /// [`HintBuilder::expect_entries`]); 0: unknown.
    expected_per_shard: usize,
}

impl HintBuilder {
    /// An empty hint for segment `id` with replay `order`, its entries to be
    /// ordered for a keydir hashing with `seed` whose tables have
    /// `2^order_bits` buckets (see [`keydir::bulk_order_key`]).
    pub fn new(id: u32, order: u64, seed: u64, order_bits: u32) -> HintBuilder {
        let order_bits = order_bits.min(32);
        HintBuilder {
            id,
            order,
            seed,
            order_bits,
            shards: (0..keydir::SHARDS).map(|_| ShardEntries::default()).collect(),
            hasher: KeyHasher::with_seed(seed),
            bucket_mask: (1u64 << order_bits) - 1,
            entries: 0,
            puts: 0,
            min_seq: u64::MAX,
            expected_per_shard: 0,
        }
    }

    /// Tells how many entries the hint will likely get: each shard's
    /// staging is then sized once, at its first entry, instead of growing
    /// by doubling. (Growth reallocated and touched about twice the memory
    /// kept, and fresh memory is what staging costs most: on the test VM
    /// each new 4 KiB page costs ~1.3 µs, a third of a 100-byte merge's
    /// hint time.)
    pub fn expect_entries(&mut self, entries: u64) {
        // Keys spread evenly over the shards; 6% plus a little more covers
        // their spread (a shard's count varies by about its square root).
        let per_shard = entries / keydir::SHARDS as u64;
        self.expected_per_shard = (per_shard + per_shard / 16 + 16).min(u32::MAX as u64) as usize;
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
        if shard.order.capacity() == 0 && self.expected_per_shard > 0 {
            // Sized by this first entry: a segment's keys are alike.
            let expiry = if h.expire_at_ms != 0 { 8 } else { 0 };
            let entry_bytes = STAGED_PREFIX_LEN + 2 + 4 + 4 + expiry + rec.key.len() + inline.len();
            shard.buf.reserve(self.expected_per_shard.saturating_mul(entry_bytes));
            shard.order.reserve(self.expected_per_shard);
        }
        let start = shard.buf.len();
        let b = &mut shard.buf;
        b.extend_from_slice(&[0u8; 4]);
        b.extend_from_slice(&h.seq.to_le_bytes());
        b.extend_from_slice(&h.key_len.to_le_bytes());
        let len = rec.len();
        let (tag, widths, wl, wo) = entry_head(h, len, off);
        b.push(tag);
        b.push(widths);
        packed_int::put(b, len, wl);
        packed_int::put(b, off, wo);
        if h.expire_at_ms != 0 {
            b.extend_from_slice(&h.expire_at_ms.to_le_bytes());
        }
        b.extend_from_slice(rec.key);
        b.extend_from_slice(inline);
        let n = (b.len() - start - STAGED_PREFIX_LEN) as u32;
        b[start..start + 4].copy_from_slice(&n.to_le_bytes());
        // A shard's staging stays under 4 GiB: the segment itself does.
        shard.order.push(((order_key & self.bucket_mask) as u32, start as u32));
        self.entries += 1;
        self.puts += (h.kind == RecordKind::Put) as u32;
        self.min_seq = self.min_seq.min(h.seq);
    }

    /// The staged entry at `s` of a shard buffer. The buffer is this
    /// builder's own: its layout is known good.
    fn staged(buf: &[u8], s: usize) -> Staged<'_> {
        let n = u32::from_le_bytes(buf[s..s + 4].try_into().expect("4 bytes")) as usize;
        let seq = u64::from_le_bytes(buf[s + 4..s + 12].try_into().expect("8 bytes"));
        let key_len = u32::from_le_bytes(buf[s + 12..s + 16].try_into().expect("4 bytes")) as usize;
        let rest = &buf[s + STAGED_PREFIX_LEN..s + STAGED_PREFIX_LEN + n];
        let (tag, widths) = (rest[0], rest[1]);
        let ints_end = 2 + (widths >> 4 & 3) as usize + 1 + (widths >> 6) as usize + 1;
        let key_at = ints_end + if tag & TAG_EXPIRY != 0 { 8 } else { 0 };
        Staged {
            seq,
            head: [tag, widths],
            ints: &rest[2..ints_end],
            expiry: &rest[ints_end..key_at],
            key: &rest[key_at..key_at + key_len],
            inline: &rest[key_at + key_len..],
        }
    }

    /// Appends the v5 encoding of `e` to `out`, after an entry with key
    /// `prev` (empty at a restart point), its sequence numbers relative to
    /// `base_seq`.
    fn encode_v5(e: &Staged<'_>, prev: &[u8], base_seq: u64, out: &mut Vec<u8>) {
        let shared = shared_prefix_len(prev, e.key);
        let suffix = &e.key[shared..];
        let (ws, seq_code, wide) = seq_width(e.seq - base_seq);
        let wsuf = packed_int::width(suffix.len() as u64);
        out.push(e.head[0] | wide | if shared > 0 { TAG_SHARED } else { 0 });
        out.push(e.head[1] | seq_code | ((wsuf - 1) << 2) as u8);
        packed_int::put(out, e.seq - base_seq, ws);
        packed_int::put(out, suffix.len() as u64, wsuf);
        out.extend_from_slice(e.ints);
        if shared > 0 {
            out.push(shared as u8);
        }
        out.extend_from_slice(e.expiry);
        out.extend_from_slice(suffix);
        out.extend_from_slice(e.inline);
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
        let base_seq = if self.entries == 0 { 0 } else { self.min_seq };
        let mut scratch = Vec::new();
        // The split point goes in the header, before the entries: sum the
        // encoded sizes of the lower half's entries. Their shared key
        // prefixes depend on the order, so those shards are ordered now.
        let mut split = HINT_HEADER_LEN as u64;
        let mut prev: &[u8] = &[];
        for shard in &mut self.shards[..keydir::SHARDS / 2] {
            // Ties keep insertion (file) order: a key's entries replay in
            // order (the sort is stable and entries were added in file order).
            crate::radix::sort_by_u64_key(&mut shard.order, &mut scratch, |&(bucket, _)| bucket as u64);
        }
        for shard in &self.shards[..keydir::SHARDS / 2] {
            for (k, &(_, start)) in shard.order.iter().enumerate() {
                shard.prefetch_ahead(k);
                let e = Self::staged(&shard.buf, start as usize);
                split += e.encoded_len(seq_width(e.seq - base_seq).0, shared_prefix_len(prev, e.key)) as u64;
                prev = e.key;
            }
        }
        let header = HeaderFields {
            id: self.id,
            order: self.order,
            seg_len,
            tail_crc,
            entries: self.entries,
            puts: self.puts,
            order_bits: self.order_bits,
            seed: self.seed,
            base_seq,
            split,
        }
        .encode();
        let mut pieces = Pieces::start(&header, emit)?;
        let mut at = HINT_HEADER_LEN as u64;
        // The previous entry's key (empty at the two restart points).
        let mut prev: Vec<u8> = Vec::new();
        for (i, shard) in self.shards.iter_mut().enumerate() {
            if i == keydir::SHARDS / 2 {
                debug_assert_eq!(at, split, "split point miscounted");
                prev.clear();
            }
            if i >= keydir::SHARDS / 2 {
                // See above (the lower half is ordered already).
                crate::radix::sort_by_u64_key(&mut shard.order, &mut scratch, |&(bucket, _)| bucket as u64);
            }
            for (k, &(_, start)) in shard.order.iter().enumerate() {
                shard.prefetch_ahead(k);
                let e = Self::staged(&shard.buf, start as usize);
                let piece = pieces.buf();
                let before = piece.len();
                Self::encode_v5(&e, &prev, base_seq, piece);
                prev.clear();
                prev.extend_from_slice(e.key);
                at += (piece.len() - before) as u64;
                pieces.hand_out_if_full()?;
            }
            // The shard's memory goes back as soon as it is written.
            *shard = ShardEntries::default();
        }
        pieces.finish()
    }

    /// The finished hint file bytes (see [`HintBuilder::write`]).
    #[cfg(test)]
    pub fn finish(self, seg_len: u64, tail_crc: u32) -> Vec<u8> {
        collect(|emit| self.write(seg_len, tail_crc, emit))
    }
}

/// The header fields of a hint file (format v5; see the module doc).
struct HeaderFields {
    id: u32,
    order: u64,
    seg_len: u64,
    tail_crc: u32,
    entries: u32,
    puts: u32,
    order_bits: u32,
    seed: u64,
    base_seq: u64,
    split: u64,
}

impl HeaderFields {
    fn encode(&self) -> Vec<u8> {
        let mut header = Vec::with_capacity(HINT_HEADER_LEN);
        header.extend_from_slice(&HINT_MAGIC);
        header.extend_from_slice(&HINT_VERSION.to_le_bytes());
        header.extend_from_slice(&self.id.to_le_bytes());
        header.extend_from_slice(&self.order.to_le_bytes());
        header.extend_from_slice(&self.seg_len.to_le_bytes());
        header.extend_from_slice(&self.tail_crc.to_le_bytes());
        header.extend_from_slice(&self.entries.to_le_bytes());
        header.extend_from_slice(&self.puts.to_le_bytes());
        header.extend_from_slice(&self.order_bits.to_le_bytes());
        header.extend_from_slice(&self.seed.to_le_bytes());
        header.extend_from_slice(&self.base_seq.to_le_bytes());
        header.extend_from_slice(&self.split.to_le_bytes());
        debug_assert_eq!(header.len(), HINT_HEADER_LEN);
        header
    }
}

/// A hint file's bytes on their way out: handed to `emit` in pieces of
/// about 64 KiB, their checksum kept for the trailer.
struct Pieces<'e, E> {
    piece: Vec<u8>,
    crc: crc32fast::Hasher,
    emit: &'e mut dyn FnMut(&[u8]) -> Result<(), E>,
}

impl<'e, E> Pieces<'e, E> {
    /// Hands out `header` and starts the entries.
    fn start(header: &[u8], emit: &'e mut dyn FnMut(&[u8]) -> Result<(), E>) -> Result<Self, E> {
        let mut crc = crc32fast::Hasher::new();
        crc.update(header);
        emit(header)?;
        Ok(Pieces { piece: Vec::with_capacity(64 * 1024), crc, emit })
    }

    /// The piece being filled (entries are appended to it).
    fn buf(&mut self) -> &mut Vec<u8> {
        &mut self.piece
    }

    /// Hands out the piece once it holds 64 KiB.
    fn hand_out_if_full(&mut self) -> Result<(), E> {
        if self.piece.len() >= 64 * 1024 {
            self.crc.update(&self.piece);
            (self.emit)(&self.piece)?;
            self.piece.clear();
        }
        Ok(())
    }

    /// Hands out the last piece and the trailer (the checksum).
    fn finish(mut self) -> Result<(), E> {
        self.crc.update(&self.piece);
        let crc = self.crc.finalize();
        self.piece.extend_from_slice(&crc.to_le_bytes());
        (self.emit)(&self.piece)
    }
}

/// The bytes a hint writer hands out, gathered (tests).
#[cfg(test)]
fn collect(
    write: impl FnOnce(
        &mut dyn FnMut(&[u8]) -> Result<(), std::convert::Infallible>,
    ) -> Result<(), std::convert::Infallible>,
) -> Vec<u8> {
    let mut out = Vec::new();
    let written = write(&mut |b| {
        out.extend_from_slice(b);
        Ok(())
    });
    match written {
        Ok(()) => out,
        Err(never) => match never {},
    }
}

/// Builds the hint of one segment whose records arrive in hint order
/// (by keydir shard, then table bucket: a merge that copies in the
/// keydir's order), encoding each entry as it comes but for its sequence
/// number, which is encoded relative to the smallest one, known only at the
/// end: each entry's other fields are kept encoded, its sequence number
/// aside, and [`HintStream::write`] puts them together in one pass. Nothing
/// is sorted or staged field by field, as [`HintBuilder`] must. Entries out
/// of order make a valid hint that loads in a worse order, except that
/// every entry of the lower half of the shards must come before every entry
/// of the upper half (the split).
pub(crate) struct HintStream {
    id: u32,
    order: u64,
    seed: u64,
    order_bits: u32,
    hasher: KeyHasher,
    /// The entries, encoded without their sequence numbers: the tag and
    /// widths bytes lack the sequence delta's bits, and the delta itself
    /// is missing after them.
    body: Vec<u8>,
    /// Where each entry of `body` ends, and its sequence number.
    ends: Vec<u32>,
    seqs: Vec<u64>,
    /// The previous entry's key (empty at a restart point).
    prev: Vec<u8>,
    /// Index of the first upper-half entry.
    split: Option<usize>,
    puts: u32,
    min_seq: u64,
}

impl HintStream {
    /// An empty hint for segment `id` with replay `order`, for a keydir
    /// hashing with `seed` whose tables have `2^order_bits` buckets.
    pub fn new(id: u32, order: u64, seed: u64, order_bits: u32) -> HintStream {
        HintStream {
            id,
            order,
            seed,
            order_bits: order_bits.min(32),
            hasher: KeyHasher::with_seed(seed),
            body: Vec::new(),
            ends: Vec::new(),
            seqs: Vec::new(),
            prev: Vec::new(),
            split: None,
            puts: 0,
            min_seq: u64::MAX,
        }
    }

    /// Sizes the buffers for about `entries` entries with keys of about
    /// `key_bytes` bytes (so they are not grown by doubling; memory
    /// reserved and never written costs no page).
    pub fn expect_entries(&mut self, entries: u64, key_bytes: usize) {
        let entries = entries as usize;
        self.body.reserve(entries.saturating_mul(2 + 1 + 4 + 4 + key_bytes));
        self.ends.reserve(entries);
        self.seqs.reserve(entries);
    }

    /// Whether an entry for `key` belongs to the upper half of the shards.
    fn upper(&self, key: &[u8]) -> bool {
        use std::hash::BuildHasher as _;
        (keydir::bulk_order_key(self.hasher.hash_one(key), 0) >> 32) as usize >= keydir::SHARDS / 2
    }

    /// Adds the record `rec`, written at offset `off` of the segment.
    /// Returns false, adding nothing, for a lower-half entry after an
    /// upper-half one (the hint would be rejected at open), or past 4 GiB
    /// of entries.
    pub fn add(&mut self, rec: &RecordRef<'_>, off: u64) -> bool {
        let upper = self.upper(rec.key);
        if !upper && self.split.is_some() {
            return false;
        }
        if upper && self.split.is_none() {
            self.split = Some(self.ends.len());
            self.prev.clear();
        }
        let h = &rec.header;
        let inline: &[u8] = if h.kind == RecordKind::Put { &[] } else { rec.stored_value };
        let len = rec.len();
        let (tag, widths, wl, wo) = entry_head(h, len, off);
        let shared = shared_prefix_len(&self.prev, rec.key);
        let suffix = &rec.key[shared..];
        let wsuf = packed_int::width(suffix.len() as u64);
        let b = &mut self.body;
        let start = b.len();
        b.push(tag | if shared > 0 { TAG_SHARED } else { 0 });
        b.push(widths | ((wsuf - 1) << 2) as u8);
        packed_int::put(b, suffix.len() as u64, wsuf);
        packed_int::put(b, len, wl);
        packed_int::put(b, off, wo);
        if shared > 0 {
            b.push(shared as u8);
        }
        if h.expire_at_ms != 0 {
            b.extend_from_slice(&h.expire_at_ms.to_le_bytes());
        }
        b.extend_from_slice(suffix);
        b.extend_from_slice(inline);
        let Ok(end) = u32::try_from(b.len()) else {
            b.truncate(start);
            return false;
        };
        self.ends.push(end);
        self.seqs.push(h.seq);
        self.prev.clear();
        self.prev.extend_from_slice(rec.key);
        self.puts += (h.kind == RecordKind::Put) as u32;
        self.min_seq = self.min_seq.min(h.seq);
        true
    }

    /// Hands the finished hint file's bytes, in order and in pieces, to
    /// `emit` (see [`HintBuilder::write`]): each entry with its sequence
    /// number relative to the smallest inserted after its tag and widths
    /// bytes.
    pub fn write<E>(self, seg_len: u64, tail_crc: u32, emit: &mut dyn FnMut(&[u8]) -> Result<(), E>) -> Result<(), E> {
        let base_seq = if self.seqs.is_empty() { 0 } else { self.min_seq };
        let delta_bytes = |seq: u64| seq_width(seq - base_seq).0;
        // The split position counts the lower half's sequence bytes too.
        let split_entry = self.split.unwrap_or(self.ends.len());
        let lower_body = split_entry.checked_sub(1).map_or(0, |i| self.ends[i] as usize);
        let lower_seq_bytes: usize = self.seqs[..split_entry].iter().map(|&q| delta_bytes(q)).sum();
        let split = (HINT_HEADER_LEN + lower_body + lower_seq_bytes) as u64;
        let header = HeaderFields {
            id: self.id,
            order: self.order,
            seg_len,
            tail_crc,
            entries: self.ends.len() as u32,
            puts: self.puts,
            order_bits: self.order_bits,
            seed: self.seed,
            base_seq,
            split,
        }
        .encode();
        let mut pieces = Pieces::start(&header, emit)?;
        let mut start = 0usize;
        for (&end, &seq) in self.ends.iter().zip(&self.seqs) {
            let e = &self.body[start..end as usize];
            let (ws, seq_code, wide) = seq_width(seq - base_seq);
            let piece = pieces.buf();
            piece.push(e[0] | wide);
            piece.push(e[1] | seq_code);
            packed_int::put(piece, seq - base_seq, ws);
            piece.extend_from_slice(&e[2..]);
            start = end as usize;
            pieces.hand_out_if_full()?;
        }
        pieces.finish()
    }

    /// The finished hint file bytes (see [`HintStream::write`]).
    #[cfg(test)]
    pub fn finish(self, seg_len: u64, tail_crc: u32) -> Vec<u8> {
        collect(|emit| self.write(seg_len, tail_crc, emit))
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

/// The entry encoding of a hint file, from its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// Fixed 36-byte entry heads (still read, no longer written).
    V3,
    /// Varint entries; sequence numbers relative to `base_seq` (still
    /// read, no longer written).
    V4 {
        /// The header's base sequence number.
        base_seq: u64,
    },
    /// v4 with key prefix compression, restarting at `split`.
    V5 {
        /// The header's base sequence number.
        base_seq: u64,
        /// The header's split position: the entry there shares no prefix.
        split: u64,
    },
}

impl Format {
    /// Reads the version (and the base sequence and split of v4 and v5) of
    /// a hint body. `None`: not a version read, or a header cut short.
    fn of(body: &[u8]) -> Option<Format> {
        let u64_at = |i: usize| Some(u64::from_le_bytes(body.get(i..i + 8)?.try_into().ok()?));
        match u32::from_le_bytes(body.get(8..12)?.try_into().ok()?) {
            HINT_VERSION_V3 => Some(Format::V3),
            HINT_VERSION_V4 => Some(Format::V4 { base_seq: u64_at(56)? }),
            HINT_VERSION => Some(Format::V5 { base_seq: u64_at(56)?, split: u64_at(64)? }),
            _ => None,
        }
    }

    /// The version number.
    fn version(self) -> u32 {
        match self {
            Format::V3 => HINT_VERSION_V3,
            Format::V4 { .. } => HINT_VERSION_V4,
            Format::V5 { .. } => HINT_VERSION,
        }
    }

    /// The base sequence number (v3 has none: 0).
    fn base_seq(self) -> u64 {
        match self {
            Format::V3 => 0,
            Format::V4 { base_seq } | Format::V5 { base_seq, .. } => base_seq,
        }
    }

    /// Bytes before the first entry.
    fn header_len(self) -> usize {
        match self {
            Format::V3 => HINT_V3_HEADER_LEN,
            Format::V4 { .. } | Format::V5 { .. } => HINT_HEADER_LEN,
        }
    }
}

/// `LEAD_MASKS[n]`: 16 bytes, the first `n` of them 0xff, the rest 0.
const LEAD_MASKS: [[u8; 16]; 17] = {
    let mut m = [[0u8; 16]; 17];
    let mut n = 0;
    while n <= 16 {
        let mut j = 0;
        while j < n {
            m[n][j] = 0xff;
            j += 1;
        }
        n += 1;
    }
    m
};

/// Sets the bytes of `dst` that `keep` does not mask (0xff: keep) to those
/// of `src`, with one 16-byte store: the loads that read the key next (8
/// bytes for its hash, 16 for the keydir's copy and compare) are then each
/// forwarded from that one store.
#[inline(always)]
fn blend16(dst: &mut [u8; 16], src: &[u8; 16], keep: &[u8; 16]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_and_si128, _mm_andnot_si128, _mm_loadu_si128, _mm_or_si128, _mm_storeu_si128};
        // SAFETY: each pointer is to a 16-byte array, valid for a 16-byte
        // read (and `dst` for a write); these loads and the store take
        // unaligned addresses; SSE2 is part of the x86_64 baseline.
        unsafe {
            let (d, s) = (_mm_loadu_si128(dst.as_ptr().cast()), _mm_loadu_si128(src.as_ptr().cast()));
            let k = _mm_loadu_si128(keep.as_ptr().cast());
            _mm_storeu_si128(dst.as_mut_ptr().cast(), _mm_or_si128(_mm_and_si128(k, d), _mm_andnot_si128(k, s)));
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let (d, s, k) = (u128::from_le_bytes(*dst), u128::from_le_bytes(*src), u128::from_le_bytes(*keep));
        *dst = ((d & k) | (s & !k)).to_le_bytes();
    }
}

/// Bytes of a [`KeyBuf`]: the longest key and a chunk of padding.
const KEY_BUF_LEN: usize = crate::options::MAX_KEY_SIZE_BYTES + 16;

/// A v5 decoder's copy of the previous entry's key, rebuilt in place for
/// each entry.
///
/// The key is written in whole 16-byte chunks (aligned to its start), never
/// in pieces: hashing it next loads 8-byte words, and a load that straddles
/// a smaller, still-buffered store cannot be forwarded from it and stalls
/// (a plain 3-byte suffix copy made a 10M-key open ~20% slower).
struct KeyBuf {
    /// The key, then padding.
    bytes: Box<[u8; KEY_BUF_LEN]>,
    /// The key's length.
    len: usize,
}

impl KeyBuf {
    fn new() -> KeyBuf {
        let bytes = vec![0u8; KEY_BUF_LEN].into_boxed_slice().try_into().unwrap_or_else(|_| unreachable!());
        KeyBuf { bytes, len: 0 }
    }

    /// A buffer holding `key` (tests start decoding after it).
    #[cfg(test)]
    fn holding(key: &[u8]) -> KeyBuf {
        let mut b = KeyBuf::new();
        b.bytes[..key.len()].copy_from_slice(key);
        b.len = key.len();
        b
    }

    /// Forgets the key (a restart point: the next entry shares nothing).
    fn clear(&mut self) {
        self.len = 0;
    }

    fn key(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Whether a key sharing `shared` (at most 255) bytes with this one
    /// and going on with `next` shares more: then `shared` is not canonical.
    #[inline(always)]
    fn shares_more(&self, shared: u8, next: Option<&u8>) -> bool {
        (shared as usize) < self.len && next == Some(&self.bytes[shared as usize])
    }

    /// Makes the key its first `shared` bytes (at most its length) followed
    /// by `suffix`, which is `body[p..]`; the key is at most
    /// [`crate::options::MAX_KEY_SIZE_BYTES`].
    #[inline(always)]
    fn rebuild(&mut self, shared: usize, body: &[u8], p: usize, suffix: &[u8]) {
        let key_len = shared + suffix.len();
        // A key of one chunk (most): kept bytes and suffix blended in one
        // register, then stored whole. The bytes read past the suffix land
        // in the padding.
        if key_len <= 16 {
            let src = p.checked_sub(shared).and_then(|from| body.get(from..from + 16)?.first_chunk::<16>());
            if let (Some(src), Some(keep), Some(dst)) = (src, LEAD_MASKS.get(shared), self.bytes.first_chunk_mut()) {
                blend16(dst, src, keep);
                self.len = key_len;
                return;
            }
        }
        self.rebuild_long(shared, body, p, suffix);
    }

    /// [`KeyBuf::rebuild`] for keys of more than one chunk, and near the end
    /// of the body: chunk `c0` holds the first suffix byte, after `lead`
    /// kept bytes, and the chunks from it on come from body[p - lead..].
    #[inline(never)]
    fn rebuild_long(&mut self, shared: usize, body: &[u8], p: usize, suffix: &[u8]) {
        let key_len = shared + suffix.len();
        self.len = key_len;
        if suffix.is_empty() {
            return;
        }
        let (c0, lead) = (shared / 16, shared % 16);
        let end = (key_len + 15) & !15;
        let src = p.checked_sub(lead).and_then(|from| body.get(from..from + (end - 16 * c0)));
        let (Some(src), Some(dst)) = (src, self.bytes.get_mut(16 * c0..end)) else {
            // Near the end of the body: byte by byte.
            if let Some(dst) = self.bytes.get_mut(shared..key_len) {
                dst.copy_from_slice(suffix);
            }
            return;
        };
        let chunks = dst.chunks_exact_mut(16).zip(src.chunks_exact(16));
        for (i, (d, s)) in chunks.enumerate() {
            if let (Some(d), Some(s)) = (d.first_chunk_mut::<16>(), s.first_chunk::<16>()) {
                blend16(d, s, &LEAD_MASKS[if i == 0 { lead } else { 0 }]);
            }
        }
    }
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

/// Parses the entry at `pos` of a checksum-verified hint body of format
/// `fmt` against its segment (`seg_len` bytes). `key_buf` holds the
/// previous entry's key (v5: empty at a restart point) and is left holding
/// this one's; v3 and v4 do not use it. Returns the entry, its location
/// (segment id left 0) and the position of the next entry, or `None` when
/// malformed.
#[inline]
fn parse_entry<'a>(
    fmt: Format,
    body: &'a [u8],
    pos: usize,
    seg_len: u64,
    key_buf: &'a mut KeyBuf,
) -> Option<(HintEntry<'a>, Loc, usize)> {
    match fmt.version() {
        HINT_VERSION => parse_entry_as::<HINT_VERSION>(fmt, body, pos, seg_len, key_buf),
        HINT_VERSION_V4 => parse_entry_as::<HINT_VERSION_V4>(fmt, body, pos, seg_len, key_buf),
        _ => parse_entry_as::<HINT_VERSION_V3>(fmt, body, pos, seg_len, key_buf),
    }
}

/// [`parse_entry`] for a format of version `VERSION` (which `fmt` is),
/// inlined whole into its caller's loop: returned through memory, the
/// entry costs more than parsing it.
#[inline(always)]
fn parse_entry_as<'a, const VERSION: u32>(
    fmt: Format,
    body: &'a [u8],
    pos: usize,
    seg_len: u64,
    key_buf: &'a mut KeyBuf,
) -> Option<(HintEntry<'a>, Loc, usize)> {
    match VERSION {
        HINT_VERSION => parse_v4::<true, true>(body, pos, seg_len, fmt.base_seq(), key_buf),
        HINT_VERSION_V4 => parse_v4::<false, true>(body, pos, seg_len, fmt.base_seq(), key_buf),
        _ => parse_v3(body, pos, seg_len),
    }
}

/// [`parse_entry`] for format v4, or v5 when `V5`. Every field is
/// bounds-checked; each integer must be in its fewest bytes; an expiry flag
/// with expiry 0 is rejected, and so is (when `CANON`) a v5 `shared` that is
/// not the true common prefix length of the key and the previous one (in
/// `key_buf`) capped at [`MAX_SHARED`] (each entry has one encoding).
/// Without `CANON` (replay of a validated hint) any `shared` up to the
/// previous key's length is taken. v5 rebuilds the key in `key_buf`; v4
/// returns it in place.
#[inline(always)]
fn parse_v4<'a, const V5: bool, const CANON: bool>(
    body: &'a [u8],
    pos: usize,
    seg_len: u64,
    base_seq: u64,
    key_buf: &'a mut KeyBuf,
) -> Option<(HintEntry<'a>, Loc, usize)> {
    let head = body.get(pos..pos.checked_add(2)?)?;
    let (tag, widths) = (head[0], head[1]);
    let kind = RecordKind::from_u8(tag & TAG_KIND_MASK)?;
    let known = TAG_KIND_MASK | TAG_LZ4 | TAG_EXPIRY | TAG_WIDE_SEQ | if V5 { TAG_SHARED } else { 0 };
    // Merge output never holds a batch: its inner records are written singly.
    if kind == RecordKind::Batch || tag & !known != 0 {
        return None;
    }
    let ws = if tag & TAG_WIDE_SEQ == 0 {
        (widths & 3) as usize + 1
    } else if widths & 3 == 0 {
        8
    } else {
        return None;
    };
    // v4: the key's length; v5: its suffix's.
    let wk = (widths >> 2 & 3) as usize + 1;
    let wl = (widths >> 4 & 3) as usize + 1;
    let wo = (widths >> 6) as usize + 1;
    // Positions follow from the widths alone: the loads are independent.
    let p_seq = pos + 2;
    let p_key_len = p_seq + ws;
    let p_len = p_key_len + wk;
    let p_off = p_len + wl;
    let p_rest = p_off + wo;
    let delta = packed_int::get(body, p_seq, ws)?;
    let key_len = packed_int::get(body, p_key_len, wk)?;
    let len = packed_int::get(body, p_len, wl)?;
    let off = packed_int::get(body, p_off, wo)?;
    let seq_minimal = if ws == 8 { delta > u32::MAX as u64 } else { packed_int::is_minimal(delta, ws) };
    let minimal = packed_int::is_minimal(key_len, wk)
        & packed_int::is_minimal(len, wl)
        & packed_int::is_minimal(off, wo)
        & seq_minimal;
    // v5: the shared prefix, present (and then nonzero) when flagged.
    let (shared, p_rest) = if V5 && tag & TAG_SHARED != 0 {
        match *body.get(p_rest)? {
            0 => return None,
            s => (s as usize, p_rest + 1),
        }
    } else {
        (0, p_rest)
    };
    // The stored length is the suffix's (all of the key in v4).
    let suffix_len = key_len;
    let key_len = shared as u64 + suffix_len;
    if !minimal || key_len > crate::options::MAX_KEY_SIZE_BYTES as u64 {
        return None;
    }
    let (expire_at_ms, p) = if tag & TAG_EXPIRY != 0 {
        match packed_int::get(body, p_rest, 8)? {
            0 => return None,
            e => (e, p_rest + 8),
        }
    } else {
        (0, p_rest)
    };
    let seq = base_seq.checked_add(delta)?;
    // At most 64 KiB and 4 bytes: both fit in usize and u32.
    let (key_len, suffix_len, len) = (key_len as usize, suffix_len as usize, len as u32);
    let value_len = (len as usize).checked_sub(record::HEADER_LEN + key_len)?;
    let inline_len = if kind == RecordKind::Put { 0 } else { value_len };
    let key_end = p.checked_add(suffix_len)?;
    let end = key_end.checked_add(inline_len)?;
    let stored_key = body.get(p..key_end)?;
    let inline = body.get(key_end..end)?;
    if off < segment::HEADER_LEN || off + len as u64 > seg_len {
        return None;
    }
    let key: &[u8] = if V5 {
        // Canonical: `shared` is no longer than the previous key, and when
        // under the cap, the keys differ right after it (or one ends).
        if shared > key_buf.len
            || (CANON && shared < MAX_SHARED && key_buf.shares_more(shared as u8, stored_key.first()))
        {
            return None;
        }
        key_buf.rebuild(shared, body, p, stored_key);
        key_buf.key()
    } else {
        stored_key
    };
    let flags = if tag & TAG_LZ4 != 0 { record::FLAG_LZ4 } else { 0 };
    let loc = Loc { seg: 0, off: off as u32, len };
    Some((HintEntry { kind, flags, key, len, inline, seq, expire_at_ms }, loc, end))
}

/// [`parse_entry`] for format v3.
fn parse_v3(body: &[u8], pos: usize, seg_len: u64) -> Option<(HintEntry<'_>, Loc, usize)> {
    let h = body.get(pos..pos.checked_add(V3_ENTRY_HEADER_LEN)?)?;
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
    let key_start = pos + V3_ENTRY_HEADER_LEN;
    let key = body.get(key_start..key_start + key_len)?;
    let inline = body.get(key_start + key_len..key_start + key_len + inline_len)?;
    if off < segment::HEADER_LEN || off + len as u64 > seg_len {
        return None;
    }
    let loc = Loc { seg: 0, off: off as u32, len };
    let e = HintEntry { kind, flags: h[1], key, len, inline, seq: u64_at(20), expire_at_ms: u64_at(28) };
    Some((e, loc, key_start + key_len + inline_len))
}

/// The entries of a checksum-verified hint body, in order, each checked
/// against the segment (`seg_len`). A lending iterator: a v5 entry's key
/// lives in the cursor's scratch buffer.
struct Entries<'b> {
    fmt: Format,
    body: &'b [u8],
    pos: usize,
    left: u32,
    seg_len: u64,
    /// The previous entry's key (v5; emptied at the restart points).
    key: KeyBuf,
}

impl<'b> Entries<'b> {
    /// The first `count` entries of `body`, of format `fmt`.
    fn new(fmt: Format, body: &'b [u8], count: u32, seg_len: u64) -> Entries<'b> {
        Entries { fmt, body, pos: fmt.header_len(), left: count, seg_len, key: KeyBuf::new() }
    }

    /// The next entry, with its position and the position after it in the
    /// body; `Some(None)` for a malformed entry (the last item then).
    #[allow(clippy::type_complexity)]
    fn next_entry(&mut self) -> Option<Option<(HintEntry<'_>, Loc, usize, usize)>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let at = self.pos;
        if let Format::V5 { split, .. } = self.fmt {
            // The upper half starts afresh (see `walk_v4`).
            if at as u64 == split {
                self.key.clear();
            }
        }
        match parse_entry(self.fmt, self.body, at, self.seg_len, &mut self.key) {
            Some((e, loc, next)) => {
                self.pos = next;
                Some(Some((e, loc, at, next)))
            }
            None => {
                self.left = 0;
                Some(None)
            }
        }
    }
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
    /// `ExpireTombstone`) and the entries are split by shard half under the
    /// keydir's seed: the byte offset of the first entry whose key belongs
    /// to the upper half of the shards (every entry before it belongs to
    /// the lower half). Replay may then load the two halves in two threads.
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
    if hint.len() < MIN_HINT_FILE_LEN || hint[0..8] != HINT_MAGIC {
        return None;
    }
    let (body, crc) = hint.split_at(hint.len() - 4);
    if crc32fast::hash(body) != u32::from_le_bytes(crc.try_into().ok()?) {
        return None;
    }
    let fmt = Format::of(body)?;
    if body.len() < fmt.header_len() {
        return None;
    }
    let u32_at = |i: usize| u32::from_le_bytes(body[i..i + 4].try_into().expect("4 bytes"));
    let u64_at = |i: usize| u64::from_le_bytes(body[i..i + 8].try_into().expect("8 bytes"));
    if u32_at(12) != id || u64_at(16) != order || u64_at(24) != seg_len {
        return None;
    }
    if tail_crc(seg, seg_len).ok()? != u32_at(32) {
        return None;
    }
    let count = u32_at(36);
    let hint_seed = u64_at(48);
    let (tiled, consumed, split_at) = match fmt {
        Format::V3 => walk_v3(body, count, seg_len, keydir_seed.filter(|&k| k == hint_seed))?,
        Format::V4 { .. } | Format::V5 { .. } => {
            walk_v4(fmt, body, count, seg_len, hint_seed, u64_at(64), keydir_seed == Some(hint_seed))?
        }
    };
    (tiled && consumed == body.len()).then_some(Validated { count, split_at })
}

/// Sums for the tiling check: the records must tile the segment exactly.
/// Entries are in hash order, so instead of sorting offsets this compares
/// two multisets: the record starts plus the segment end, and the record
/// ends plus the first record's offset. They are equal exactly when the
/// records chain from the header to the end (ends only grow, so no cycle
/// can balance them); two independent 64-bit mixed sums compare them.
#[derive(Default)]
struct Tiling {
    starts: [u64; 2],
    ends: [u64; 2],
}

impl Tiling {
    const SALTS: [u64; 2] = [0x9e37_79b9_7f4a_7c15, 0xd1b5_4a32_d192_ed03];

    fn add(&mut self, loc: &Loc) {
        let end = loc.off as u64 + loc.len as u64;
        for i in 0..2 {
            self.starts[i] = self.starts[i].wrapping_add(mix(loc.off as u64, Self::SALTS[i]));
            self.ends[i] = self.ends[i].wrapping_add(mix(end, Self::SALTS[i]));
        }
    }

    /// Adds the records `other` added.
    fn merge(&mut self, other: &Tiling) {
        for i in 0..2 {
            self.starts[i] = self.starts[i].wrapping_add(other.starts[i]);
            self.ends[i] = self.ends[i].wrapping_add(other.ends[i]);
        }
    }

    /// Whether the added records tile a segment of `seg_len` bytes.
    fn tiles(mut self, seg_len: u64) -> bool {
        for i in 0..2 {
            self.starts[i] = self.starts[i].wrapping_add(mix(seg_len, Self::SALTS[i]));
            self.ends[i] = self.ends[i].wrapping_add(mix(segment::HEADER_LEN, Self::SALTS[i]));
        }
        self.starts == self.ends
    }
}

/// Walks a v3 body: (records tile, bytes consumed, split point). The split
/// is searched only under `split_seed` (the keydir's seed, when it is the
/// hint's): v3 stores none, so it is the first upper-half entry of a
/// string-only hint whose entries are in shard order.
fn walk_v3(body: &[u8], count: u32, seg_len: u64, split_seed: Option<u64>) -> Option<(bool, usize, Option<usize>)> {
    let mut tiling = Tiling::default();
    let mut consumed = HINT_V3_HEADER_LEN;
    let mut split = split_seed.map(|k| (KeyHasher::with_seed(k), 0usize, None));
    let mut entries = Entries::new(Format::V3, body, count, seg_len);
    while let Some(item) = entries.next_entry() {
        let (e, loc, at, next) = item?;
        if let Some((hasher, last_shard, first_upper)) = &mut split {
            use std::hash::BuildHasher as _;
            let shard = keydir::KeyDir::shard_index(hasher.hash_one(e.key));
            let string_kind = matches!(e.kind, RecordKind::Put | RecordKind::Delete | RecordKind::ExpireTombstone);
            if !string_kind || shard < *last_shard {
                split = None;
            } else {
                *last_shard = shard;
                if shard >= keydir::SHARDS / 2 && first_upper.is_none() {
                    *first_upper = Some(at);
                }
            }
        }
        consumed = next;
        tiling.add(&loc);
    }
    let split_at = split.map(|(_, _, first_upper)| first_upper.unwrap_or(consumed));
    Some((tiling.tiles(seg_len), consumed, split_at))
}

/// Walks a v4 or v5 body: (records tile, bytes consumed, split point). The
/// header's split point `split_pos` must be an entry boundary (or the end),
/// every entry before it must belong to the lower half of the shards under
/// the hint's seed `hint_seed` and every entry from it on to the upper
/// half, the halves must hold `count` entries, and the base sequence must
/// be the smallest; otherwise the hint is rejected. It is used
/// (`same_seed`: the keydir hashes with `hint_seed`) when every entry is a
/// string kind. A large hint's halves are walked in two threads (the
/// first hint's check is not overlapped by any replay). In v5 each half
/// starts with an empty previous key, so the first entry of each must
/// share no prefix: a hint violating that is rejected too.
fn walk_v4(
    fmt: Format,
    body: &[u8],
    count: u32,
    seg_len: u64,
    hint_seed: u64,
    split_pos: u64,
    same_seed: bool,
) -> Option<(bool, usize, Option<usize>)> {
    let split_pos = usize::try_from(split_pos).ok().filter(|p| (HINT_HEADER_LEN..=body.len()).contains(p))?;
    let (base_seq, v5) = match fmt {
        Format::V4 { base_seq } => (base_seq, false),
        Format::V5 { base_seq, .. } => (base_seq, true),
        Format::V3 => return None,
    };
    let half = move |from: usize, to: usize, upper: bool| {
        if v5 {
            walk_v4_half::<true>(body, from, to, upper, seg_len, hint_seed, base_seq)
        } else {
            walk_v4_half::<false>(body, from, to, upper, seg_len, hint_seed, base_seq)
        }
    };
    let (lo, hi) = if count >= PARALLEL_REPLAY_MIN_ENTRIES && split_pos > HINT_HEADER_LEN && split_pos < body.len() {
        std::thread::scope(|s| {
            let upper = s.spawn(move || half(split_pos, body.len(), true));
            let lower = half(HINT_HEADER_LEN, split_pos, false);
            // A panic in the upper half is re-raised here.
            (lower, upper.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
        })
    } else {
        (half(HINT_HEADER_LEN, split_pos, false), half(split_pos, body.len(), true))
    };
    let (lo, hi) = (lo?, hi?);
    if lo.count.checked_add(hi.count)? != count as u64 {
        return None;
    }
    let min_delta = lo.min_delta.min(hi.min_delta);
    // The base is the smallest sequence number: some delta is 0.
    if (count > 0 && min_delta != 0) || (count == 0 && base_seq != 0) {
        return None;
    }
    let mut tiling = lo.tiling;
    tiling.merge(&hi.tiling);
    let split_at = (same_seed && lo.strings_only && hi.strings_only).then_some(split_pos);
    Some((tiling.tiles(seg_len), body.len(), split_at))
}

/// What [`walk_v4_half`] found in one half of a v4 or v5 body.
struct HalfWalk {
    count: u64,
    min_delta: u64,
    strings_only: bool,
    tiling: Tiling,
}

/// Walks the v4 (v5 when `V5`) entries at `from..to` of `body`, which must
/// end exactly at `to` and whose keys must all be in the `upper` (or lower)
/// half of the shards under `hint_seed`. `None` when an entry is malformed.
fn walk_v4_half<const V5: bool>(
    body: &[u8],
    from: usize,
    to: usize,
    upper: bool,
    seg_len: u64,
    hint_seed: u64,
    base_seq: u64,
) -> Option<HalfWalk> {
    use std::hash::BuildHasher as _;
    let hasher = KeyHasher::with_seed(hint_seed);
    // Entries end at `to`: parse only that far.
    let part = body.get(..to)?;
    let mut out = HalfWalk { count: 0, min_delta: u64::MAX, strings_only: true, tiling: Tiling::default() };
    let mut pos = from;
    // A half starts at a restart point: no previous key.
    let mut key = KeyBuf::new();
    while pos < to {
        let (e, loc, next) = parse_v4::<V5, true>(part, pos, seg_len, base_seq, &mut key)?;
        if (keydir::KeyDir::shard_index(hasher.hash_one(e.key)) >= keydir::SHARDS / 2) != upper {
            return None;
        }
        out.strings_only &= matches!(e.kind, RecordKind::Put | RecordKind::Delete | RecordKind::ExpireTombstone);
        out.min_delta = out.min_delta.min(e.seq - base_seq);
        out.count += 1;
        out.tiling.add(&loc);
        pos = next;
    }
    Some(out)
}

/// What the header of segment `id`'s hint file claims, read without
/// validating the file: used to size the keydir and pick its hash seed
/// before replay. `None` when there is no readable hint header of a version
/// read.
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
    let mut h = [0u8; HINT_V3_HEADER_LEN];
    if len < HINT_V3_HEADER_LEN as u64 || file.read_exact_at(&mut h, 0).is_err() || h[0..8] != HINT_MAGIC {
        return None;
    }
    let min_entry_len = match u32::from_le_bytes(h[8..12].try_into().expect("4 bytes")) {
        HINT_VERSION | HINT_VERSION_V4 => V4_MIN_ENTRY_LEN,
        HINT_VERSION_V3 => V3_ENTRY_HEADER_LEN as u64 + 1,
        _ => return None,
    };
    // Every version keeps the v3 header's fields at the same offsets.
    let puts = u32::from_le_bytes(h[40..44].try_into().expect("4 bytes")) as u64;
    let seed = u64::from_le_bytes(h[48..56].try_into().expect("8 bytes"));
    Some(HintHeaderInfo { puts: puts.min(len / min_entry_len), seed })
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
    // Validated: the format is known.
    let Some(fmt) = Format::of(body) else { return Ok(false) };
    if let Some(split_at) = v.split_at.filter(|_| v.count >= PARALLEL_REPLAY_MIN_ENTRIES) {
        apply_halves(fmt, body, split_at, id, seg_len, rp);
        return Ok(true);
    }
    let mut entries = Entries::new(fmt, body, v.count, seg_len);
    // Validated: every entry parses.
    while let Some(Some((e, loc, _, _))) = entries.next_entry() {
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

/// Replays a validated, string-only hint of format `fmt` whose entries are
/// split by shard half at `split_at`, in two threads: entries before
/// `split_at` (lower shards) here, the rest in a scoped thread, each into
/// its own half of the keydir. The effect is [`Replayer::apply`]'s for
/// these kinds, entry by entry in file order per key (a key lives in one
/// shard, so in one half).
fn apply_halves(fmt: Format, body: &[u8], split_at: usize, id: u32, seg_len: u64, rp: &mut Replayer) {
    let now_ms = rp.now_ms;
    let (mut lo, mut hi) = rp.keydir.split_halves();
    // One loop per version, so the entry parser inlines into it.
    let half = |from: usize, to: usize, kd: &mut crate::keydir::ShardsMut<'_>| match fmt.version() {
        HINT_VERSION => replay_half::<HINT_VERSION>(fmt, body, from, to, id, seg_len, now_ms, kd),
        HINT_VERSION_V4 => replay_half::<HINT_VERSION_V4>(fmt, body, from, to, id, seg_len, now_ms, kd),
        _ => replay_half::<HINT_VERSION_V3>(fmt, body, from, to, id, seg_len, now_ms, kd),
    };
    let (a, b) = std::thread::scope(|scope| {
        let upper = scope.spawn(|| half(split_at, body.len(), &mut hi));
        let lower = half(fmt.header_len(), split_at, &mut lo);
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

/// One half of [`apply_halves`]: the entries at `from..to` of `body`, of
/// format `fmt` (whose version is `VERSION`).
#[allow(clippy::too_many_arguments)]
fn replay_half<const VERSION: u32>(
    fmt: Format,
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
    // A half starts at a restart point (v5): no previous key.
    let mut key = KeyBuf::new();
    while pos < to {
        // Validated already: every entry parses, and each v5 `shared` was
        // found canonical, so that check is not repeated (the rest still
        // is: bounds keep a file changed since from reading out of range).
        let Some((e, loc, next)) = (match VERSION {
            HINT_VERSION => parse_v4::<true, false>(body, pos, seg_len, fmt.base_seq(), &mut key),
            _ => parse_entry_as::<VERSION>(fmt, body, pos, seg_len, &mut key),
        }) else {
            break;
        };
        pos = next;
        let loc = Loc { seg: id, ..loc };
        out.max_seq = out.max_seq.max(e.seq);
        out.records += 1;
        let hash = kd.hash(e.key);
        // Validated: the key is in these shards. Checked again because a
        // key of the other half would index outside this half's shards.
        if !kd.owns(hash) {
            continue;
        }
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

    #[test]
    fn shared_prefix_len_matches_a_byte_loop() {
        let mut rng = fastrand::Rng::with_seed(5);
        for _ in 0..20_000 {
            let n = rng.usize(..300);
            let a: Vec<u8> = (0..n).map(|_| rng.u8(..2)).collect();
            let mut b = a.clone();
            b.truncate(rng.usize(..=n));
            if !b.is_empty() && rng.bool() {
                let k = rng.usize(..b.len());
                b[k] ^= 1 << rng.u8(..8);
            }
            let want = a.iter().zip(&b).take(MAX_SHARED).take_while(|(x, y)| x == y).count();
            assert_eq!(shared_prefix_len(&a, &b), want, "{a:?} {b:?}");
            assert_eq!(shared_prefix_len(&b, &a), want);
        }
    }
    use crate::storage::SimStorage;

    /// Sizing the staging ahead (too little, about right, or far too much)
    /// changes nothing in the hint written.
    #[test]
    fn hint_expect_entries_changes_no_byte() {
        let hint_of = |expected: Option<u64>| {
            let mut seg = segment::SegmentHeader { id: 4, order: 4 << 16 }.encode().to_vec();
            let mut hint = HintBuilder::new(4, 4 << 16, 7, 10);
            if let Some(n) = expected {
                hint.expect_entries(n);
            }
            for i in 0..5_000u32 {
                let start = seg.len();
                let expiry = if i % 5 == 0 { 9_000 + i as u64 } else { 0 };
                let key = format!("key-{}", i * 7919 % 5_000);
                record::encode(&mut seg, RecordKind::Put, i as u64 + 1, expiry, key.as_bytes(), b"v", 4096);
                hint.add(&record::decode(&seg[start..]).unwrap(), start as u64);
            }
            hint.finish(seg.len() as u64, 0)
        };
        let plain = hint_of(None);
        for n in [1, 4_000, 5_000, 1_000_000] {
            assert_eq!(hint_of(Some(n)), plain, "expecting {n} entries");
        }
    }

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

    /// A v5 entry with every field raw (so tests can write malformed ones).
    #[derive(Clone, Debug, PartialEq)]
    struct RawEntry {
        /// Kind, lz4 and expiry bits (the wide-sequence and shared bits
        /// follow `widths` and `shared`).
        tag: u8,
        /// Bytes of sequence delta, suffix length, record length, offset:
        /// the fewest when `None`; a sequence width of 8 is the wide form.
        widths: Option<[usize; 4]>,
        seq_delta: u64,
        /// The stored suffix length: the suffix's when `None`.
        suffix_len: Option<u64>,
        len: u64,
        off: u64,
        /// The stored `shared` byte (its tag bit set, even for 0): the
        /// common prefix with the previous key when `None` (no byte when 0).
        shared: Option<u8>,
        expiry: Option<u64>,
        /// The whole key: the bytes after `shared` are stored.
        key: Vec<u8>,
        inline: Vec<u8>,
    }

    /// Appends `e` encoded after an entry with key `prev`.
    fn encode_raw(e: &RawEntry, prev: &[u8], out: &mut Vec<u8>) {
        use packed_int::width;
        let shared = e.shared.map_or(shared_prefix_len(prev, &e.key), usize::from);
        let suffix = e.key.get(shared..).unwrap_or(&[]);
        let suffix_len = e.suffix_len.unwrap_or(suffix.len() as u64);
        let [ws, wk, wl, wo] =
            e.widths.unwrap_or([seq_width(e.seq_delta).0, width(suffix_len), width(e.len), width(e.off)]);
        let code = |w: usize| ((w - 1) & 3) as u8;
        let wide = ws == 8;
        let shared_byte = e.shared.or((shared > 0).then_some(shared as u8));
        out.push(e.tag | if wide { TAG_WIDE_SEQ } else { 0 } | if shared_byte.is_some() { TAG_SHARED } else { 0 });
        out.push(if wide { 0 } else { code(ws) } | code(wk) << 2 | code(wl) << 4 | code(wo) << 6);
        for (v, w) in [(e.seq_delta, ws), (suffix_len, wk), (e.len, wl), (e.off, wo)] {
            out.extend_from_slice(&v.to_le_bytes()[..w]);
        }
        out.extend(shared_byte);
        if let Some(x) = e.expiry {
            out.extend_from_slice(&x.to_le_bytes());
        }
        out.extend_from_slice(suffix);
        out.extend_from_slice(&e.inline);
    }

    /// A v5 hint taken apart: header, entries, index of the split entry.
    struct Decoded {
        header: Vec<u8>,
        entries: Vec<RawEntry>,
        split_idx: usize,
    }

    fn decode_v5(hint: &[u8]) -> Decoded {
        let body = &hint[..hint.len() - 4];
        let fmt = Format::of(body).unwrap();
        let Format::V5 { base_seq, split } = fmt else { panic!("not v5") };
        let count = u32::from_le_bytes(body[36..40].try_into().unwrap());
        let mut entries = Vec::new();
        let mut split_idx = count as usize;
        let mut cursor = Entries::new(fmt, body, count, u64::MAX);
        while let Some(item) = cursor.next_entry() {
            let (e, loc, at, _) = item.unwrap();
            let split = at as u64 == split;
            if split {
                split_idx = entries.len();
            }
            let mut tag = e.kind as u8;
            tag |= if e.flags & record::FLAG_LZ4 != 0 { TAG_LZ4 } else { 0 };
            tag |= if e.expire_at_ms != 0 { TAG_EXPIRY } else { 0 };
            entries.push(RawEntry {
                tag,
                widths: None,
                seq_delta: e.seq - base_seq,
                suffix_len: None,
                len: loc.len as u64,
                off: loc.off as u64,
                shared: None,
                expiry: (e.expire_at_ms != 0).then_some(e.expire_at_ms),
                key: e.key.to_vec(),
                inline: e.inline.to_vec(),
            });
        }
        Decoded { header: body[..HINT_HEADER_LEN].to_vec(), entries, split_idx }
    }

    /// Re-encodes `d`: the count and the split position follow the entries
    /// (the entry there is a restart point), the trailer is recomputed.
    fn encode_v5(d: &Decoded) -> Vec<u8> {
        let mut out = d.header.clone();
        out[36..40].copy_from_slice(&(d.entries.len() as u32).to_le_bytes());
        let mut split = None;
        let mut prev: &[u8] = &[];
        for (i, e) in d.entries.iter().enumerate() {
            if i == d.split_idx {
                split = Some(out.len());
                prev = &[];
            }
            encode_raw(e, prev, &mut out);
            prev = &e.key;
        }
        let split = split.unwrap_or(out.len()) as u64;
        out[64..72].copy_from_slice(&split.to_le_bytes());
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Byte positions of each entry in a hint (any version).
    fn entry_positions(hint: &[u8]) -> Vec<usize> {
        let body = &hint[..hint.len() - 4];
        let fmt = Format::of(body).unwrap();
        let count = u32::from_le_bytes(hint[36..40].try_into().unwrap());
        let mut cursor = Entries::new(fmt, body, count, u64::MAX);
        let mut out = Vec::new();
        while let Some(item) = cursor.next_entry() {
            out.push(item.unwrap().2);
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
        let d = decode_v5(&hint);
        let keys: Vec<u64> = d
            .entries
            .iter()
            .map(|e| {
                use std::hash::BuildHasher as _;
                keydir::bulk_order_key(hasher.hash_one(&e.key), 4)
            })
            .collect();
        assert!(keys.windows(2).all(|w| w[0] <= w[1]), "entries not in bulk order: {keys:?}");
        // Not trivially sorted: the records were written in another order.
        assert!(d.entries.windows(2).any(|w| w[0].off > w[1].off), "hint happens to be in file order");
        // The decoder and the encoder agree byte for byte.
        assert_eq!(encode_v5(&d), hint);
    }

    /// A hint whose checksum is right but whose records do not tile the
    /// segment (a bug, or a hand-made file) must not be trusted.
    #[test]
    fn hint_with_valid_checksum_but_records_not_tiling_is_rejected() {
        let sim = SimStorage::new();
        let (seg, hint) = segment_with_records(&sim, 3, 3 << 16);
        let f = sim.open_read(&segment::segment_file_name(3)).unwrap();
        let len = seg.len() as u64;
        let d = decode_v5(&hint);
        for i in 0..d.entries.len() {
            for delta in [1i64, -1, 32, -32, 1000] {
                let mut m = decode_v5(&hint);
                m.entries[i].off = (m.entries[i].off as i64 + delta).max(0) as u64;
                let h = encode_v5(&m);
                assert_eq!(validate(&h, 3, 3 << 16, f.as_ref(), len), None, "entry {i} offset {delta:+}");
            }
        }
        // Two entries swapping offsets (same lengths would still tile; these differ).
        let mut m = decode_v5(&hint);
        let (a, b) = (0, (1..m.entries.len()).find(|&j| m.entries[j].len != m.entries[0].len).unwrap());
        let (oa, ob) = (m.entries[a].off, m.entries[b].off);
        m.entries[a].off = ob;
        m.entries[b].off = oa;
        assert_eq!(validate(&encode_v5(&m), 3, 3 << 16, f.as_ref(), len), None, "swapped offsets");
        // A duplicated entry (count bumped, bytes repeated) overlaps itself.
        let mut m = decode_v5(&hint);
        let last = m.entries.last().unwrap().clone();
        m.entries.push(last);
        assert_eq!(validate(&encode_v5(&m), 3, 3 << 16, f.as_ref(), len), None, "duplicated entry");
        // Unchanged, the rebuilt hint is valid (the checks above are not vacuous).
        assert_eq!(validate(&encode_v5(&d), 3, 3 << 16, f.as_ref(), len), Some(50));
    }

    /// The header's split position (where the upper half of the shards
    /// starts) must be exactly the first upper-half entry: anything else,
    /// with a correct checksum, is rejected rather than replayed split at
    /// the wrong entry.
    #[test]
    fn hint_with_corrupt_split_position_is_rejected() {
        let sim = SimStorage::new();
        let (seg, hint) = segment_with_records(&sim, 3, 3 << 16);
        let f = sim.open_read(&segment::segment_file_name(3)).unwrap();
        let len = seg.len() as u64;
        let stored = u64::from_le_bytes(hint[64..72].try_into().unwrap());
        let positions = entry_positions(&hint);
        let idx = positions.iter().position(|&p| p as u64 == stored).expect("split at an entry");
        assert!(idx >= 2 && idx + 2 <= positions.len(), "test needs entries in both halves: {idx}");
        let v = validate_for_replay(&hint, 3, 3 << 16, f.as_ref(), len, Some(7)).unwrap();
        assert_eq!(v.split_at, Some(stored as usize));
        let body_len = (hint.len() - 4) as u64;
        let bad = [
            stored - 1,
            stored + 1,
            positions[idx - 1] as u64,
            positions[idx + 1] as u64,
            HINT_HEADER_LEN as u64,
            0,
            body_len,
            body_len + 1,
            u64::MAX,
        ];
        for split in bad {
            let mut h = hint.clone();
            h[64..72].copy_from_slice(&split.to_le_bytes());
            reseal(&mut h);
            for seed in [Some(7), Some(8), None] {
                let got = validate_for_replay(&h, 3, 3 << 16, f.as_ref(), len, seed);
                assert_eq!(got, None, "split {split} (genuine {stored}), keydir seed {seed:?}");
            }
        }
    }

    /// The base sequence number is the smallest in the hint: an encoding
    /// whose deltas are all positive (another base for the same numbers)
    /// is rejected, so each hint has one encoding.
    #[test]
    fn hint_whose_base_sequence_is_not_the_smallest_is_rejected() {
        let sim = SimStorage::new();
        let (seg, hint) = segment_with_records(&sim, 3, 3 << 16);
        let f = sim.open_read(&segment::segment_file_name(3)).unwrap();
        let len = seg.len() as u64;
        let base = u64::from_le_bytes(hint[56..64].try_into().unwrap());
        assert_eq!(base, 1, "smallest sequence number of the records");
        let mut m = decode_v5(&hint);
        assert!(m.entries.iter().any(|e| e.seq_delta == 0));
        for e in &mut m.entries {
            e.seq_delta += 1;
        }
        m.header[56..64].copy_from_slice(&0u64.to_le_bytes());
        assert_eq!(validate(&encode_v5(&m), 3, 3 << 16, f.as_ref(), len), None, "base below the smallest");
        // The same deltas on the right base are accepted.
        m.header[56..64].copy_from_slice(&base.to_le_bytes());
        for e in &mut m.entries {
            e.seq_delta -= 1;
        }
        assert_eq!(validate(&encode_v5(&m), 3, 3 << 16, f.as_ref(), len), Some(50));
    }

    /// Sizes measured by the builder: with the benchmark's keys
    /// (`key:\0\0\0\0` + a big-endian u64 below 2^24: neighbours share 13
    /// bytes) a v5 entry is at most 15 bytes, against 28 in v4; with random
    /// 16-byte keys nothing is shared and it is v4's size.
    #[test]
    fn hint_entry_sizes_at_16_byte_keys_shared_prefix_and_random() {
        let n = 4000u64;
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut random_key = || {
            let mut k = [0u8; 16];
            for half in k.chunks_mut(8) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                half.copy_from_slice(&x.to_le_bytes());
            }
            k
        };
        for structured in [true, false] {
            let mut hint = HintBuilder::new(1, 1 << 16, 7, 12);
            let mut seg = segment::SegmentHeader { id: 1, order: 1 << 16 }.encode().to_vec();
            for i in 0..n {
                let key = if structured {
                    let mut k = *b"key:\0\0\0\0\0\0\0\0\0\0\0\0";
                    k[8..].copy_from_slice(&((i * 4099) % (1 << 24)).to_be_bytes());
                    k
                } else {
                    random_key()
                };
                let start = seg.len();
                // Sequence deltas of 3 bytes, offsets of 4 (past 16 MiB).
                record::encode(&mut seg, RecordKind::Put, 5_000_000 + i * 1000, 0, &key, &[7u8; 100], 4096);
                hint.add(&record::decode(&seg[start..]).unwrap(), 200_000_000 + start as u64);
            }
            let bytes = hint.finish(u32::MAX as u64, 0);
            let per_entry = (bytes.len() - HINT_HEADER_LEN - 4) as f64 / n as f64;
            // v4: tag, widths, the sequence delta, 1 + 1 + 4 bytes of
            // integers, the key.
            let v4: usize = (0..n).map(|i| 2 + seq_width(i * 1000).0 + 1 + 1 + 4 + 16).sum();
            let v4 = v4 as f64 / n as f64;
            assert!(v4 > 26.9, "{v4}");
            if structured {
                assert!(per_entry <= 15.0, "{per_entry} B per entry");
            } else {
                // A 1-byte shared prefix (1 entry in 256) costs its byte.
                assert!(per_entry <= v4 && per_entry > v4 - 0.01, "{per_entry} B per entry, v4 {v4}");
            }
        }
    }

    /// `prefix` and a two-byte tail, its first byte not in `avoid`, that
    /// puts the key in keydir shard `shard` under `seed`.
    fn key_in_shard(prefix: &[u8], avoid: &[u8], shard: usize, seed: u64) -> Vec<u8> {
        use std::hash::BuildHasher as _;
        let hasher = KeyHasher::with_seed(seed);
        for a in (0u8..=255).filter(|a| !avoid.contains(a)) {
            for b in 0u8..=255 {
                let key = [prefix, &[a, b]].concat();
                if keydir::KeyDir::shard_index(hasher.hash_one(&key)) == shard {
                    return key;
                }
            }
        }
        panic!("no key in shard {shard}");
    }

    /// The `shared` byte each entry of a v5 hint stores (0 when absent).
    fn stored_shared(hint: &[u8]) -> Vec<u8> {
        entry_positions(hint)
            .into_iter()
            .map(|pos| {
                let (tag, widths) = (hint[pos], hint[pos + 1] as usize);
                let ws = if tag & TAG_WIDE_SEQ != 0 { 8 } else { (widths & 3) + 1 };
                let ints = ws + (widths >> 2 & 3) + (widths >> 4 & 3) + (widths >> 6) + 3;
                if tag & TAG_SHARED != 0 {
                    hint[pos + 2 + ints]
                } else {
                    0
                }
            })
            .collect()
    }

    /// A segment whose hint (order bits 0: a shard's entries stay in file
    /// order) lists keys sharing prefixes of 0, 1, 254, 255 and more than
    /// 255 bytes with their neighbour, of lengths from 3 bytes to the
    /// 64 KiB limit, and whose first upper-half key shares 12 bytes with
    /// the last lower-half one. Returns the segment, its hint, the keys in
    /// hint order and the `shared` each entry must store.
    fn segment_with_shared_prefixes(sim: &SimStorage, seed: u64) -> (Vec<u8>, Vec<u8>, Vec<Vec<u8>>, Vec<u8>) {
        let y = |n: usize| vec![b'y'; n];
        let l1 = key_in_shard(b"x", &[], 0, seed);
        let l2 = key_in_shard(b"x", &[l1[1]], 0, seed);
        let l3 = key_in_shard(&y(300), &[], 0, seed);
        let l4 = key_in_shard(&y(300), &[l3[300]], 0, seed);
        let l5 = key_in_shard(&y(255), b"y", 0, seed);
        let l6 = key_in_shard(&y(254), b"y", 0, seed);
        let l8 = key_in_shard(&y(10), b"y", 0, seed);
        let l9 = key_in_shard(&y(crate::options::MAX_KEY_SIZE_BYTES - 2), b"y", 0, seed);
        let l10 = key_in_shard(&y(12), b"y", 0, seed);
        let u1 = key_in_shard(&y(12), &[b'y', l10[12]], keydir::SHARDS / 2, seed);
        let u2 = key_in_shard(&y(12), &[b'y', u1[12]], keydir::SHARDS / 2, seed);
        // L7 is L6 again (a delete): the same key shares all of it, capped.
        let keys = vec![l1, l2, l3, l4, l5, l6.clone(), l6, l8, l9, l10, u1, u2];
        let shared = vec![0, 1, 0, 255, 255, 254, 255, 10, 10, 12, 0, 12];
        let mut seg = segment::SegmentHeader { id: 3, order: 3 << 16 }.encode().to_vec();
        let mut hint = HintBuilder::new(3, 3 << 16, seed, 0);
        for (i, key) in keys.iter().enumerate() {
            let start = seg.len();
            let kind = if i == 6 { RecordKind::Delete } else { RecordKind::Put };
            let value: &[u8] = if i == 6 { b"" } else { b"v" };
            record::encode(&mut seg, kind, i as u64 + 1, 0, key, value, 4096);
            hint.add(&record::decode(&seg[start..]).unwrap(), start as u64);
        }
        let f = sim.create(&segment::segment_file_name(3)).unwrap();
        f.write_all_at(&seg, 0).unwrap();
        let tail = tail_crc(f.as_ref(), seg.len() as u64).unwrap();
        let bytes = hint.finish(seg.len() as u64, tail);
        (seg, bytes, keys, shared)
    }

    /// A scan of segment 3 into `rp`.
    fn scan_segment(rp: &mut Replayer, id: u32, seg: &[u8]) {
        let mut off = segment::HEADER_LEN as usize;
        while off < seg.len() {
            let rec = record::decode(&seg[off..]).unwrap();
            rp.apply(&rec, Loc { seg: id, off: off as u32, len: rec.len() as u32 }, Path::new("x")).unwrap();
            off += rec.len() as usize;
        }
    }

    /// Keys sharing 0, 1, 254, 255 and more than 255 bytes, of very
    /// different lengths, round-trip through a v5 hint: each entry stores
    /// the canonical `shared`, decodes to its key, and the hint validates,
    /// splits, and replays to what a scan builds.
    #[test]
    fn v5_round_trip_with_shared_prefixes_of_0_1_255_and_more() {
        let seed = 7;
        let sim = SimStorage::new();
        let (seg, hint, keys, shared) = segment_with_shared_prefixes(&sim, seed);
        assert_eq!(stored_shared(&hint), shared);
        let d = decode_v5(&hint);
        assert_eq!(d.entries.iter().map(|e| e.key.clone()).collect::<Vec<_>>(), keys);
        assert_eq!(d.split_idx, 10, "the upper half starts at the 11th entry");
        assert_eq!(encode_v5(&d), hint, "the test encoder agrees byte for byte");
        let f = sim.open_read(&segment::segment_file_name(3)).unwrap();
        let len = seg.len() as u64;
        let v = validate_for_replay(&hint, 3, 3 << 16, f.as_ref(), len, Some(seed)).unwrap();
        assert_eq!((v.count, v.split_at), (12, Some(entry_positions(&hint)[10])));
        sim.write_file(&segment::hint_file_name(3), &hint);
        let fresh = || Replayer { keydir: crate::keydir::KeyDir::with_seed(seed), ..replayer() };
        let mut from_hint = fresh();
        let mut removed = 0;
        assert!(replay(&sim, 3, 3 << 16, f.as_ref(), len, &mut from_hint, &mut removed).unwrap());
        let mut scanned = fresh();
        scan_segment(&mut scanned, 3, &seg);
        assert_eq!((from_hint.max_seq, &from_hint.dead), (scanned.max_seq, &scanned.dead));
        assert_eq!(from_hint.keydir.len(), scanned.keydir.len());
        for key in &keys {
            assert_eq!(from_hint.keydir.get(key), scanned.keydir.get(key), "{:?}", &key[..key.len().min(20)]);
        }
        assert!(from_hint.keydir.get(&keys[5]).is_none(), "deleted");
        assert!(from_hint.keydir.get(&keys[8]).is_some(), "the 64 KiB key");
        // The two halves decode alone (the upper from its restart point),
        // in two threads, to the same keydir.
        let mut halves = fresh();
        apply_halves(
            Format::of(&hint[..hint.len() - 4]).unwrap(),
            &hint[..hint.len() - 4],
            v.split_at.unwrap(),
            3,
            len,
            &mut halves,
        );
        for key in &keys {
            assert_eq!(halves.keydir.get(key), scanned.keydir.get(key));
        }
    }

    /// `shared` must be the true common prefix length capped at 255: one
    /// too small (the next bytes still agree), one longer than the previous
    /// key, and a flagged 0 are each rejected; v4 has no `shared`.
    #[test]
    fn v5_entry_rejects_non_canonical_shared() {
        let entry = |key: &[u8], shared: Option<u8>| RawEntry {
            shared,
            key: key.to_vec(),
            ..put_entry(key.len(), (32 + key.len()) as u64, 32)
        };
        let ok = |prev: &[u8], key: &[u8], shared: Option<u8>| {
            parse_after(prev, &entry(key, shared), 0, 1 << 20).map(|got| got.1)
        };
        assert_eq!(ok(b"abcdef", b"abcxyz", None).as_deref(), Some(&b"abcxyz"[..]));
        assert_eq!(ok(b"abcdef", b"abcxyz", Some(3)).as_deref(), Some(&b"abcxyz"[..]), "canonical");
        assert_eq!(ok(b"abcdef", b"abcxyz", Some(2)), None, "too small");
        assert_eq!(ok(b"abcdef", b"abcxyz", Some(0)), None, "flagged 0");
        assert_eq!(ok(b"abcdef", b"xyz", Some(0)), None, "flagged 0, nothing shared");
        assert_eq!(ok(b"abc", b"abcdef", Some(4)), None, "longer than the previous key");
        assert_eq!(ok(b"", b"abc", Some(1)), None, "after a restart point");
        // A key that is a prefix of the previous one, and the reverse.
        assert_eq!(ok(b"abc", b"ab", None).as_deref(), Some(&b"ab"[..]));
        assert_eq!(ok(b"abc", b"ab", Some(1)), None, "too small, key ends after");
        assert_eq!(ok(b"ab", b"abc", Some(2)).as_deref(), Some(&b"abc"[..]), "previous key ends");
        // The cap: 300 common bytes store 255; fewer is too small.
        let long = vec![b'a'; 300];
        let longer = [&long[..], b"b"].concat();
        assert_eq!(ok(&long, &longer, None), Some(longer.clone()));
        assert_eq!(ok(&long, &longer, Some(255)), Some(longer.clone()));
        assert_eq!(ok(&long, &longer, Some(254)), None, "under the cap with more in common");
        // Exactly 255 in common, then a difference.
        let other = [&long[..255], b"c"].concat();
        assert_eq!(ok(&long, &other, Some(255)), Some(other.clone()));
        assert_eq!(ok(&long, &other, Some(254)), None);
        // Version 4 knows no shared-prefix flag.
        let mut body = vec![0u8; HINT_HEADER_LEN];
        encode_raw(&entry(b"abcxyz", Some(3)), b"abcdef", &mut body);
        let mut key = KeyBuf::holding(b"abcdef");
        assert!(parse_v4::<true, true>(&body, HINT_HEADER_LEN, 1 << 20, 0, &mut key).is_some());
        assert!(parse_v4::<false, true>(&body, HINT_HEADER_LEN, 1 << 20, 0, &mut KeyBuf::new()).is_none());
    }

    /// The entry at the split position is a restart point: encoded as
    /// sharing its prefix with the last lower-half key instead (a canonical
    /// `shared` for a reader that did not restart), the hint is rejected,
    /// removed, and the segment scanned, which builds the same keydir.
    #[test]
    fn v5_split_entry_with_shared_prefix_is_rejected() {
        let seed = 7;
        let sim = SimStorage::new();
        let (seg, hint, keys, _) = segment_with_shared_prefixes(&sim, seed);
        let f = sim.open_read(&segment::segment_file_name(3)).unwrap();
        let len = seg.len() as u64;
        let mut d = decode_v5(&hint);
        assert_eq!(encode_v5(&d), hint);
        let prev = d.entries[d.split_idx - 1].key.clone();
        let split = d.split_idx;
        let shared = shared_prefix_len(&prev, &d.entries[split].key);
        assert_eq!(shared, 12);
        d.entries[split].shared = Some(shared as u8);
        let bad = encode_v5(&d);
        for keydir_seed in [Some(seed), Some(seed + 1), None] {
            assert_eq!(validate_for_replay(&bad, 3, 3 << 16, f.as_ref(), len, keydir_seed), None);
        }
        // Entry 0 (the other restart point) sharing with nothing is rejected too.
        let mut d0 = decode_v5(&hint);
        d0.entries[0].shared = Some(1);
        assert_eq!(validate(&encode_v5(&d0), 3, 3 << 16, f.as_ref(), len), None);

        sim.write_file(&segment::hint_file_name(3), &bad);
        let fresh = || Replayer { keydir: crate::keydir::KeyDir::with_seed(seed), ..replayer() };
        let mut rp = fresh();
        let mut removed = 0;
        assert!(!replay(&sim, 3, 3 << 16, f.as_ref(), len, &mut rp, &mut removed).unwrap(), "not replayed");
        assert_eq!((removed, rp.records), (1, 0), "removed, nothing applied");
        assert!(sim.read_file(&segment::hint_file_name(3)).is_none());
        scan_segment(&mut rp, 3, &seg);
        let mut from_hint = fresh();
        sim.write_file(&segment::hint_file_name(3), &hint);
        assert!(replay(&sim, 3, 3 << 16, f.as_ref(), len, &mut from_hint, &mut removed).unwrap());
        assert_eq!(rp.keydir.len(), from_hint.keydir.len());
        for key in &keys {
            assert_eq!(rp.keydir.get(key), from_hint.keydir.get(key));
        }
    }

    /// Parses a single v5 entry built from `e` (base sequence `base`) after
    /// an entry with key `prev`, in a body with a dummy header, against a
    /// segment of `seg_len` bytes.
    fn parse_after(prev: &[u8], e: &RawEntry, base: u64, seg_len: u64) -> Option<(u64, Vec<u8>, Loc, u64, usize)> {
        let mut body = vec![0u8; HINT_HEADER_LEN];
        encode_raw(e, prev, &mut body);
        let total = body.len();
        let mut key = KeyBuf::holding(prev);
        let got = parse_v4::<true, true>(&body, HINT_HEADER_LEN, seg_len, base, &mut key)
            .map(|(h, loc, next)| (next, (h.seq, h.key.to_vec(), loc, h.expire_at_ms, h.inline.len())));
        // Every proper prefix fails to parse (no read past the end).
        for cut in HINT_HEADER_LEN..total {
            let mut key = KeyBuf::holding(prev);
            let short = parse_v4::<true, true>(&body[..cut], HINT_HEADER_LEN, seg_len, base, &mut key);
            assert!(short.is_none(), "prefix {cut} parsed");
        }
        // Without a shared prefix the entry is also a v4 entry, read alike.
        if body[HINT_HEADER_LEN] & TAG_SHARED == 0 {
            let v4 = parse_v4::<false, true>(&body, HINT_HEADER_LEN, seg_len, base, &mut KeyBuf::new())
                .map(|(h, loc, next)| (next, (h.seq, h.key.to_vec(), loc, h.expire_at_ms, h.inline.len())));
            assert_eq!(v4, got, "v4 reads a v5 entry without a shared prefix otherwise");
        }
        let (next, got) = got?;
        assert_eq!(next, total, "entry not consumed exactly");
        Some(got)
    }

    /// [`parse_after`] at a restart point.
    fn parse_one(e: &RawEntry, base: u64, seg_len: u64) -> Option<(u64, Vec<u8>, Loc, u64, usize)> {
        parse_after(&[], e, base, seg_len)
    }

    fn put_entry(key_len: usize, len: u64, off: u64) -> RawEntry {
        RawEntry {
            tag: RecordKind::Put as u8,
            widths: None,
            seq_delta: 0,
            suffix_len: None,
            len,
            off,
            shared: None,
            expiry: None,
            key: vec![b'k'; key_len],
            inline: Vec::new(),
        }
    }

    #[test]
    fn v4_entry_edge_cases_key_length_limit() {
        let max = crate::options::MAX_KEY_SIZE_BYTES;
        let e = put_entry(max, (32 + max + 100) as u64, 32);
        let (_, key, loc, _, _) = parse_one(&e, 0, 1 << 20).unwrap();
        assert_eq!((key.len(), loc.len), (max, (32 + max + 100) as u32));
        let e = put_entry(max + 1, (32 + max + 101) as u64, 32);
        assert!(parse_one(&e, 0, 1 << 20).is_none(), "key over 64 KiB");
        // A record length too short for its key.
        assert!(parse_one(&put_entry(16, 47, 32), 0, 1 << 20).is_none());
        assert!(parse_one(&put_entry(16, 48, 32), 0, 1 << 20).is_some());
    }

    #[test]
    fn v4_entry_edge_cases_lengths_and_offsets_near_u32_limit() {
        let big = 32 + u32::MAX as u64;
        let (_, _, loc, _, _) = parse_one(&put_entry(16, u32::MAX as u64, 32), 0, big).unwrap();
        assert_eq!((loc.off, loc.len), (32, u32::MAX));
        // One byte more than the segment holds.
        assert!(parse_one(&put_entry(16, u32::MAX as u64, 33), 0, big).is_none());
        // Past u32 is not expressible (widths are 1..=4 bytes); the largest
        // key length that is (u32::MAX) is past the key limit.
        let mut e = put_entry(16, 48, 32);
        e.suffix_len = Some(u32::MAX as u64);
        assert!(parse_one(&e, 0, u64::MAX).is_none());
        // The last offset that fits.
        let (_, _, loc, _, _) = parse_one(&put_entry(16, 48, u32::MAX as u64 - 48), 0, u32::MAX as u64).unwrap();
        assert_eq!(loc.off, u32::MAX - 48);
        // A non-Put kind's inline value is L - 32 - k bytes: a huge L asks
        // for bytes the body does not have (and never allocates).
        let mut e = put_entry(16, u32::MAX as u64, 32);
        e.tag = RecordKind::Delete as u8;
        assert!(parse_one(&e, 0, big).is_none());
        e.len = 48 + 5;
        e.inline = b"abcde".to_vec();
        assert_eq!(parse_one(&e, 0, 1 << 20).unwrap().4, 5);
    }

    #[test]
    fn v4_entry_edge_cases_expiry_and_sequence() {
        let mut e = put_entry(16, 48, 32);
        e.tag |= TAG_EXPIRY;
        e.expiry = Some(u64::MAX);
        assert_eq!(parse_one(&e, 0, 1 << 20).unwrap().3, u64::MAX);
        e.expiry = Some(1);
        assert_eq!(parse_one(&e, 0, 1 << 20).unwrap().3, 1);
        // Flagged expiry 0 has another encoding (no flag): rejected.
        e.expiry = Some(0);
        assert!(parse_one(&e, 0, 1 << 20).is_none());
        // Flag without the expiry bytes: the key is read as the expiry and
        // the entry comes out short.
        e.expiry = None;
        assert!(parse_one(&e, 0, 1 << 20).is_none());

        let mut e = put_entry(16, 48, 32);
        assert_eq!(parse_one(&e, 42, 1 << 20).unwrap().0, 42, "delta 0");
        // The largest 4-byte delta, the smallest and the largest wide ones.
        for delta in [u32::MAX as u64, u32::MAX as u64 + 1, u64::MAX - 42] {
            e.seq_delta = delta;
            assert_eq!(parse_one(&e, 42, 1 << 20).unwrap().0, 42 + delta, "delta {delta}");
        }
        let mut b = Vec::new();
        encode_raw(&e, &[], &mut b);
        assert_eq!(b[0] & TAG_WIDE_SEQ, TAG_WIDE_SEQ);
        assert!(parse_one(&e, 43, 1 << 20).is_none(), "base + delta overflows");
        // The wide form for a delta that fits 4 bytes is overlong.
        e.seq_delta = u32::MAX as u64;
        e.widths = Some([8, 1, 1, 1]);
        assert!(parse_one(&e, 0, 1 << 20).is_none(), "wide form of a 4-byte delta");
        // Wide, with a nonzero sequence width code as well.
        e.seq_delta = 1 << 40;
        e.widths = None;
        let mut body = vec![0u8; HINT_HEADER_LEN];
        encode_raw(&e, &[], &mut body);
        assert!(parse_v4::<true, true>(&body, HINT_HEADER_LEN, 1 << 20, 0, &mut KeyBuf::new()).is_some());
        body[HINT_HEADER_LEN + 1] |= 1;
        let wide_and_code = parse_v4::<true, true>(&body, HINT_HEADER_LEN, 1 << 20, 0, &mut KeyBuf::new()).is_none();
        assert!(wide_and_code, "wide and a width code");
    }

    #[test]
    fn v4_entry_rejects_bad_tags_and_overlong_integers() {
        for tag in [0u8, RecordKind::Batch as u8, 0x40 | 1, 0x80 | 1] {
            let mut e = put_entry(16, 48, 32);
            e.tag = tag;
            assert!(parse_one(&e, 0, 1 << 20).is_none(), "tag {tag:#x}");
        }
        let mut e = put_entry(16, 48, 32);
        e.tag |= TAG_LZ4;
        assert!(parse_one(&e, 0, 1 << 20).is_some(), "lz4 Put");
        // Each integer one byte wider than it needs is rejected; at its
        // width it is accepted.
        let e = put_entry(16, 300, 70_000);
        assert!(parse_one(&e, 0, 1 << 20).is_some());
        let minimal = [1, 1, 2, 3];
        for field in 0..4 {
            let mut wide = e.clone();
            let mut widths = minimal;
            widths[field] += 1;
            wide.widths = Some(widths);
            assert!(parse_one(&wide, 0, 1 << 20).is_none(), "field {field} overlong: {widths:?}");
        }
        let mut exact = e.clone();
        exact.widths = Some(minimal);
        assert!(parse_one(&exact, 0, 1 << 20).is_some());
    }

    /// The extremes, written by the builder into a real segment: the hint
    /// validates and replays to what a scan builds.
    #[test]
    fn hint_at_field_extremes_validates_and_replays_like_a_scan() {
        let sim = SimStorage::new();
        let mut seg = segment::SegmentHeader { id: 3, order: 3 << 16 }.encode().to_vec();
        let mut hint = HintBuilder::new(3, 3 << 16, 7, 4);
        let big_key = vec![b'x'; crate::options::MAX_KEY_SIZE_BYTES];
        // (kind, seq, expiry, key, value)
        let records = [
            (RecordKind::Put, 0, u64::MAX, big_key.clone(), b"v".to_vec()),
            (RecordKind::Put, u64::MAX, 0, b"a".to_vec(), vec![1u8; 300]),
            (RecordKind::Put, 1 << 40, 1, b"b".to_vec(), b"expired".to_vec()),
            (RecordKind::Delete, 7, 0, b"c".to_vec(), Vec::new()),
            (RecordKind::Put, 8u64, 0u64, b"c".to_vec(), vec![2u8; 10_000]),
        ];
        for (kind, seq, exp, key, value) in &records {
            let start = seg.len();
            record::encode(&mut seg, *kind, *seq, *exp, key, value, 4096);
            hint.add(&record::decode(&seg[start..]).unwrap(), start as u64);
        }
        let f = sim.create(&segment::segment_file_name(3)).unwrap();
        f.write_all_at(&seg, 0).unwrap();
        let tail = tail_crc(f.as_ref(), seg.len() as u64).unwrap();
        let bytes = hint.finish(seg.len() as u64, tail);
        assert_eq!(u64::from_le_bytes(bytes[56..64].try_into().unwrap()), 0, "base = smallest seq");
        sim.write_file(&segment::hint_file_name(3), &bytes);
        let mut from_hint = Replayer { now_ms: 1000, ..replayer() };
        let mut removed = 0;
        assert!(replay(&sim, 3, 3 << 16, f.as_ref(), seg.len() as u64, &mut from_hint, &mut removed).unwrap());
        let mut scanned = Replayer { now_ms: 1000, ..replayer() };
        scan_segment(&mut scanned, 3, &seg);
        assert_eq!(from_hint.max_seq, u64::MAX);
        assert_eq!(from_hint.max_seq, scanned.max_seq);
        assert_eq!(from_hint.dead, scanned.dead);
        for key in [&big_key[..], b"a", b"b", b"c"] {
            assert_eq!(from_hint.keydir.get(key), scanned.keydir.get(key));
        }
        assert_eq!(from_hint.keydir.get(&big_key).map(|e| e.expire_at_ms), Some(u64::MAX));
        assert!(from_hint.keydir.get(b"c").is_some(), "compressed put after the delete");
    }

    /// Format v3, as builds before v4 wrote it: fixed 36-byte entry heads
    /// in keydir bulk order. Kept to test that v3 files still load.
    fn encode_v3(id: u32, order: u64, seed: u64, order_bits: u32, seg: &[u8], tail: u32) -> Vec<u8> {
        use std::hash::BuildHasher as _;
        let hasher = KeyHasher::with_seed(seed);
        let mut recs = Vec::new();
        let mut off = segment::HEADER_LEN as usize;
        while off < seg.len() {
            let rec = record::decode(&seg[off..]).unwrap();
            let k = keydir::bulk_order_key(hasher.hash_one(rec.key), 32);
            let mask = (1u64 << order_bits) - 1;
            recs.push(((k >> 32, k & mask), off, rec.len() as usize));
            off += rec.len() as usize;
        }
        recs.sort_by_key(|r| r.0);
        let mut out = Vec::new();
        out.extend_from_slice(&HINT_MAGIC);
        out.extend_from_slice(&HINT_VERSION_V3.to_le_bytes());
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&order.to_le_bytes());
        out.extend_from_slice(&(seg.len() as u64).to_le_bytes());
        out.extend_from_slice(&tail.to_le_bytes());
        out.extend_from_slice(&(recs.len() as u32).to_le_bytes());
        let puts = recs.iter().filter(|r| record::decode(&seg[r.1..]).unwrap().header.kind == RecordKind::Put);
        out.extend_from_slice(&(puts.count() as u32).to_le_bytes());
        out.extend_from_slice(&order_bits.to_le_bytes());
        out.extend_from_slice(&seed.to_le_bytes());
        assert_eq!(out.len(), HINT_V3_HEADER_LEN);
        for &(_, off, len) in &recs {
            let rec = record::decode(&seg[off..off + len]).unwrap();
            let h = &rec.header;
            let inline: &[u8] = if h.kind == RecordKind::Put { &[] } else { rec.stored_value };
            out.extend_from_slice(&[h.kind as u8, h.flags, 0, 0]);
            out.extend_from_slice(&h.key_len.to_le_bytes());
            out.extend_from_slice(&(len as u32).to_le_bytes());
            out.extend_from_slice(&(inline.len() as u32).to_le_bytes());
            out.extend_from_slice(&(off as u32).to_le_bytes());
            out.extend_from_slice(&h.seq.to_le_bytes());
            out.extend_from_slice(&h.expire_at_ms.to_le_bytes());
            out.extend_from_slice(rec.key);
            out.extend_from_slice(inline);
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// v3 hint files (databases written by earlier builds) still validate,
    /// split for parallel replay, and replay to what a scan builds; damage
    /// to them is still rejected.
    #[test]
    fn v3_hint_still_validates_and_replays_like_a_scan() {
        let sim = SimStorage::new();
        let (seg, _) = segment_with_records(&sim, 3, 3 << 16);
        let f = sim.open_read(&segment::segment_file_name(3)).unwrap();
        let len = seg.len() as u64;
        let tail = tail_crc(f.as_ref(), len).unwrap();
        let v3 = encode_v3(3, 3 << 16, 7, 4, &seg, tail);
        let v = validate_for_replay(&v3, 3, 3 << 16, f.as_ref(), len, Some(7)).unwrap();
        assert_eq!(v.count, 50);
        assert!(v.split_at.is_some(), "a string-only v3 hint in shard order splits");
        for bit in (0..v3.len() * 8).step_by(5) {
            let mut h = v3.clone();
            h[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(validate(&h, 3, 3 << 16, f.as_ref(), len), None, "bit {bit}");
        }
        let info = {
            sim.write_file(&segment::hint_file_name(3), &v3);
            header_info(&sim, 3).expect("v3 header read")
        };
        assert_eq!((info.seed, info.puts), (7, 43));
        let mut from_hint = replayer();
        let mut removed = 0;
        assert!(replay(&sim, 3, 3 << 16, f.as_ref(), len, &mut from_hint, &mut removed).unwrap());
        assert_eq!(removed, 0);
        let mut scanned = replayer();
        scan_segment(&mut scanned, 3, &seg);
        assert_eq!(from_hint.max_seq, scanned.max_seq);
        assert_eq!(from_hint.dead, scanned.dead);
        for i in 0..20 {
            let k = format!("k{i}");
            assert_eq!(from_hint.keydir.get(k.as_bytes()), scanned.keydir.get(k.as_bytes()), "{k}");
        }
        // Versions 1, 2 and 6 are not read: the segment is scanned.
        for version in [1u32, 2, 6] {
            let mut h = v3.clone();
            h[8..12].copy_from_slice(&version.to_le_bytes());
            reseal(&mut h);
            assert_eq!(validate(&h, 3, 3 << 16, f.as_ref(), len), None, "version {version}");
        }
    }

    /// Opens a database on `sim` with [`db_opts`], lets `write` fill it,
    /// merges it and closes it; returns the keydir's hash seed and the ids
    /// of the segments that have hint files (at least one).
    fn merged_db(sim: &SimStorage, write: impl FnOnce(&crate::Db)) -> (u64, Vec<u32>) {
        let db = crate::Db::open_with_storage(std::sync::Arc::new(sim.clone()), db_opts()).unwrap();
        write(&db);
        db.compact().unwrap();
        let seed = db.inner.keydir.seed();
        drop(db);
        let ids: Vec<u32> = (0..256).filter(|&id| sim.open_read(&segment::hint_file_name(id)).is_ok()).collect();
        assert!(!ids.is_empty(), "compaction wrote no hint");
        (seed, ids)
    }

    /// Options of the tests that open a whole database: small segments, so
    /// a few hundred writes make several, and no background work.
    fn db_opts() -> crate::Options {
        crate::Options {
            fsync: crate::Fsync::Always,
            max_segment_size_bytes: 4096,
            auto_compaction: false,
            active_expiry: false,
            ..crate::Options::default()
        }
    }

    /// A database whose merge outputs carry v3 hints (written before v4)
    /// opens from them, with the same contents as a scan (the merge itself
    /// writes the current version).
    #[test]
    fn database_with_v3_hints_opens_from_them() {
        use crate::Db;
        use std::sync::Arc;
        let sim = SimStorage::new();
        let opts = db_opts;
        let (seed, ids) = merged_db(&sim, |db| {
            for i in 0..300u32 {
                db.put(format!("key{}", i % 200).as_bytes(), format!("value{i}").as_bytes()).unwrap();
            }
            db.delete(b"key7").unwrap();
        });
        for &id in &ids {
            let hint = sim.read_file(&segment::hint_file_name(id)).unwrap();
            assert_eq!(u32::from_le_bytes(hint[8..12].try_into().unwrap()), HINT_VERSION, "merge writes v5");
            let seg = sim.read_file(&segment::segment_file_name(id)).unwrap();
            let order = u64::from_le_bytes(hint[16..24].try_into().unwrap());
            let bits = u32::from_le_bytes(hint[44..48].try_into().unwrap());
            let f = sim.open_read(&segment::segment_file_name(id)).unwrap();
            let tail = tail_crc(f.as_ref(), seg.len() as u64).unwrap();
            sim.write_file(&segment::hint_file_name(id), &encode_v3(id, order, seed, bits, &seg, tail));
        }
        let db = Db::open_with_storage(Arc::new(sim.clone()), opts()).unwrap();
        assert_eq!(db.stats().recovery.segments_from_hints, ids.len() as u64);
        assert_eq!(db.inner.keydir.seed(), seed, "seed taken from the v3 hints");
        for i in 0..200u32 {
            let want = if i == 7 { None } else { Some(format!("value{}", if i < 100 { i + 200 } else { i })) };
            assert_eq!(db.get(format!("key{i}").as_bytes()).unwrap(), want.map(String::into_bytes), "key{i}");
        }
        drop(db);
        for &id in &ids {
            assert!(sim.open_read(&segment::hint_file_name(id)).is_ok(), "v3 hint {id} kept (valid)");
        }
    }

    /// Open takes the keydir's hash seed from the hint files, so the entries
    /// a merge wrote arrive in table order on the next open.
    #[test]
    fn open_hashes_with_the_seed_of_the_hint_files() {
        use crate::Db;
        use std::sync::Arc;
        let sim = SimStorage::new();
        let opts = db_opts;
        let (seed, ids) = merged_db(&sim, |db| {
            for i in 0..300u32 {
                db.put(format!("key{i}").as_bytes(), b"value").unwrap();
            }
        });
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

        let fresh = || Replayer { keydir: crate::keydir::KeyDir::with_seed(seed), now_ms, ..replayer() };
        let mut parallel = fresh();
        let mut sequential = fresh();
        scan_segment(&mut parallel, 1, &old);
        scan_segment(&mut sequential, 1, &old);
        assert_eq!(parallel.zsets.store.keys(), vec![b"k5".to_vec()], "segment 1 holds the sorted set");
        scan_segment(&mut sequential, 2, &seg);

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

    /// A hint encoded as its entries arrive in keydir order is byte for
    /// byte the one `HintBuilder` writes for the same records (base the
    /// smallest sequence number, wherever it comes; split; shared
    /// prefixes), validates, splits for a parallel replay, and replays like
    /// a scan; a lower-half entry after the split is refused.
    #[test]
    fn hint_stream_in_keydir_order_replays_like_a_scan() {
        use std::hash::BuildHasher as _;
        let seed = 41;
        let n = PARALLEL_REPLAY_MIN_ENTRIES as u64 + 3_000;
        let now_ms = 1_000_000;
        let sim = SimStorage::new();
        let mut seg = segment::SegmentHeader { id: 2, order: 2 << 16 }.encode().to_vec();
        let mut recs = Vec::new();
        for i in 0..n {
            let start = seg.len();
            let key = format!("key:{i:08}");
            let expiry = match i % 9 {
                0 => now_ms - 1,
                1 => now_ms + 50,
                _ => 0,
            };
            // Sequence numbers out of order, spanning 1 to 4 delta bytes.
            let seq = 5_000 + (i * 7_919 % n) * if i % 5 == 0 { 40_000 } else { 1 };
            record::encode(&mut seg, RecordKind::Put, seq, expiry, key.as_bytes(), b"value", 4096);
            recs.push((start, key));
        }
        let mut builder = HintBuilder::new(2, 2 << 16, seed, 12);
        for (start, _) in &recs {
            builder.add(&record::decode(&seg[*start..]).unwrap(), *start as u64);
        }
        let hasher = KeyHasher::with_seed(seed);
        recs.sort_by_key(|(_, k)| keydir::bulk_order_key(hasher.hash_one(k.as_bytes()), 12));
        let mut hint = HintStream::new(2, 2 << 16, seed, 12);
        for (start, _) in &recs {
            assert!(hint.add(&record::decode(&seg[*start..]).unwrap(), *start as u64));
        }
        let f = sim.create(&segment::segment_file_name(2)).unwrap();
        f.write_all_at(&seg, 0).unwrap();
        let tail = tail_crc(f.as_ref(), seg.len() as u64).unwrap();
        let bytes = hint.finish(seg.len() as u64, tail);
        assert_eq!(u64::from_le_bytes(bytes[56..64].try_into().unwrap()), 5_000, "base: the smallest");
        assert!(bytes == builder.finish(seg.len() as u64, tail), "the stream's hint differs from the builder's");
        sim.write_file(&segment::hint_file_name(2), &bytes);

        let reader = sim.open_read(&segment::segment_file_name(2)).unwrap();
        let checked = check(&sim, 2, 2 << 16, reader.as_ref(), seg.len() as u64, seed).unwrap();
        let Checked::Valid { v, .. } = &checked else { panic!("hint not valid") };
        assert!(v.split_at.is_some(), "a string-only hint in shard order splits");
        let fresh = || Replayer { keydir: crate::keydir::KeyDir::with_seed(seed), now_ms, ..replayer() };
        let mut from_hint = fresh();
        let mut removed = 0;
        assert!(apply_checked(&sim, 2, seg.len() as u64, checked, &mut from_hint, &mut removed).unwrap());
        let mut scanned = fresh();
        scan_segment(&mut scanned, 2, &seg);
        assert_eq!(from_hint.max_seq, scanned.max_seq);
        assert_eq!(from_hint.keydir.len(), scanned.keydir.len());
        for (_, k) in &recs {
            assert_eq!(from_hint.keydir.get(k.as_bytes()), scanned.keydir.get(k.as_bytes()), "{k}");
        }

        // Past the split, a lower-half entry is refused.
        let mut hint = HintStream::new(2, 2 << 16, seed, 12);
        let (lower, upper): (Vec<_>, Vec<_>) = recs.iter().partition(|(_, k)| !hint.upper(k.as_bytes()));
        assert!(hint.add(&record::decode(&seg[upper[0].0..]).unwrap(), upper[0].0 as u64));
        assert!(!hint.add(&record::decode(&seg[lower[0].0..]).unwrap(), lower[0].0 as u64));
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
        scan_segment(&mut scanned, 3, &seg);
        assert_eq!(from_hint.max_seq, scanned.max_seq);
        assert_eq!(from_hint.dead, scanned.dead);
        assert_eq!(from_hint.keydir.len(), scanned.keydir.len());
        for i in 0..20 {
            let k = format!("k{i}");
            assert_eq!(from_hint.keydir.get(k.as_bytes()), scanned.keydir.get(k.as_bytes()), "{k}");
        }
    }
}
