//! Compaction (merge): rewrites the live records of sealed segments into new
//! segments, each with a hint file, and deletes the old ones, while reads
//! and writes go on. See `docs/design.md` ("Compaction and hint files") for
//! the ordering and crash-safety argument and `docs/format.md` for the marker
//! layout.
//!
//! In short:
//!
//! - **Bands.** A segment's replay order is `band << 16 | offset`. Writer
//!   segments have offset 0 and band = their id. A merge takes a contiguous
//!   run of whole bands (every sealed segment whose band lies in `lo..=hi`)
//!   and writes its outputs into band `hi` with offsets `1..=k`. After the
//!   merge band `hi` holds only those outputs, so orders never collide, and
//!   no segment outside the merge lies between two inputs, so the outputs
//!   replay exactly where the inputs did relative to every other segment.
//! - **Tombstones** are dropped only when the run is a prefix (no older
//!   segment remains); otherwise they are copied (basho/bitcask#82). An
//!   expired live `Put` is dropped in a prefix merge and becomes an expiry
//!   tombstone otherwise (nutsdb#465).
//! - **Copy order.** Inputs that hold string `Put`s only are copied in the
//!   keydir's order, shard by shard (`Merger::copy_in_keydir_order`): the
//!   hints' own order, so each is encoded as records are copied. Other
//!   merges scan their inputs in file order and join the scan with a sorted
//!   list of the live entries (`merge_live`).
//! - **Commit point**: outputs are written as `N.seg.tmp` plus `N.hint`,
//!   synced, the directory synced; the active segment is synced (so every
//!   write that made an input record dead is durable); then the marker
//!   `MERGE-<n>` is written as `.tmp`, synced, renamed and the directory
//!   synced. Then outputs are renamed to `.seg`, swapped into memory with
//!   conditional relocation, and the inputs deleted; the marker goes last.
//!   Open finishes a merge whose marker exists and discards everything else.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::db::{Db, Inner, Segment, SegmentFile};
use crate::error::{Error, Result};
use crate::hint::{self, HintBuilder, HintStream};
use crate::keydir::{self, Loc, Slot, SlotGenerations, SlotUpdate};
use crate::merge_live::{InputIndex, InputLive, ListPos, LiveStrings};
use crate::merge_writer::MergeWriter;
use crate::record::{self, DecodeError, RecordKind, RecordRef};
use crate::remover::{self, remove_if_exists, TrashFile};
use crate::segment::{self, RecordTally, SegmentHeader};
use crate::stats::RecoveryStats;
use crate::storage::{Storage, WriteFile};

/// Bits of the replay order below the band (see the module docs).
pub const BAND_BITS: u32 = 16;
/// Most output segments one merge may write (offsets `1..=MAX` in its band).
pub const MAX_OUTPUTS_PER_MERGE: u64 = (1 << BAND_BITS) - 1;
/// Prefix of merge marker file names.
pub const MARKER_PREFIX: &str = "MERGE-";
/// Suffix of files not yet committed (merge outputs, markers being written).
pub const TMP_SUFFIX: &str = ".tmp";
/// Magic bytes at the start of a merge marker.
pub const MARKER_MAGIC: [u8; 8] = *b"LIBKVMRG";
/// Marker format version.
pub const MARKER_VERSION: u32 = 1;
/// How often the automatic compaction thread checks its trigger.
const AUTO_CHECK_INTERVAL_MS: u64 = 250;
/// Merge output is written in chunks of this size (and throttled per chunk).
const WRITE_CHUNK_BYTES: usize = 1 << 20;
/// Moves switched over in one batched keydir call (by slot or by key):
/// about 2k per shard, dense enough for each arena and table to be walked
/// in order (see `KeyDir::update_locs_at`).
const RELOCATE_BATCH_RECORDS: usize = 1 << 17;

/// What one merge did. Returned by [`Db::compact`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactionSummary {
    /// Segments merged (and deleted), in replay order.
    pub input_segments: Vec<u32>,
    /// Segments written.
    pub output_segments: Vec<u32>,
    /// Total size of the inputs.
    pub input_bytes: u64,
    /// Total size of the outputs.
    pub output_bytes: u64,
    /// Live records copied.
    pub records_copied: u64,
    /// Records dropped (dead, expired, or tombstones no longer needed).
    pub records_dropped: u64,
    /// Tombstones copied because older segments outside the merge remain.
    pub tombstones_kept: u64,
    /// Wall time of the merge in milliseconds.
    pub duration_ms: u64,
    /// The part of `duration_ms` spent retiring the inputs after the index
    /// switched to the outputs: removing their hints, renaming them to
    /// `N.seg.trash`, syncing the directory, removing the marker. Freeing
    /// their blocks and cached pages is not in it: the remover thread does
    /// that after `compact` returns (see `removal_queued_bytes`).
    pub removal_ms: u64,
    /// Bytes of inputs handed to the background remover; they stay on disk
    /// (as `N.seg.trash`, counted in `Stats::trash_bytes_pending`) until it
    /// gets to them. [`Db::wait_for_removals`] waits for that.
    pub removal_queued_bytes: u64,
    /// Threads that scanned the inputs (see `Options::compaction_threads`).
    pub scan_threads: u32,
    /// Inputs holding string `Put`s only, whose live records were copied
    /// from the index's list without reading their dead records.
    pub inputs_copied_from_index: u32,
}

impl CompactionSummary {
    /// Disk bytes the merge gave back.
    pub fn reclaimed_bytes(&self) -> u64 {
        self.input_bytes.saturating_sub(self.output_bytes)
    }
}

/// Compaction state shared by the handle and the background thread.
#[derive(Default)]
pub(crate) struct CompactionState {
    /// Held for the whole of a merge: one merge at a time.
    running: Mutex<()>,
    pub merges: AtomicU64,
    pub reclaimed_bytes: AtomicU64,
    pub last_duration_ms: AtomicU64,
    pub failures: AtomicU64,
}

/// File name of merge output `id` before the merge commits.
pub fn tmp_segment_name(id: u32) -> String {
    format!("{}{TMP_SUFFIX}", segment::segment_file_name(id))
}

/// File name of the marker of the merge numbered `id`.
pub fn marker_name(id: u32) -> String {
    format!("{MARKER_PREFIX}{id:010}")
}

/// The completion marker of a merge: which segments it replaced by which.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Marker {
    pub inputs: Vec<u32>,
    pub outputs: Vec<u32>,
}

impl Marker {
    /// Layout: magic, u32 version, u32 input count, u32 output count,
    /// u32 reserved, the ids (u32 each), u32 crc32 of everything before.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(28 + 4 * (self.inputs.len() + self.outputs.len()));
        b.extend_from_slice(&MARKER_MAGIC);
        b.extend_from_slice(&MARKER_VERSION.to_le_bytes());
        b.extend_from_slice(&(self.inputs.len() as u32).to_le_bytes());
        b.extend_from_slice(&(self.outputs.len() as u32).to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        for id in self.inputs.iter().chain(&self.outputs) {
            b.extend_from_slice(&id.to_le_bytes());
        }
        let crc = crc32fast::hash(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes a marker; `None` unless complete and intact.
    pub fn decode(b: &[u8]) -> Option<Marker> {
        if b.len() < 28 || b[0..8] != MARKER_MAGIC {
            return None;
        }
        let (body, crc) = b.split_at(b.len() - 4);
        if crc32fast::hash(body) != u32::from_le_bytes(crc.try_into().ok()?) {
            return None;
        }
        let u32_at = |i: usize| u32::from_le_bytes(body[i..i + 4].try_into().expect("4 bytes"));
        if u32_at(8) != MARKER_VERSION || u32_at(20) != 0 {
            return None;
        }
        let (n_in, n_out) = (u32_at(12) as usize, u32_at(16) as usize);
        if body.len() != 24 + 4 * (n_in.checked_add(n_out)?) {
            return None;
        }
        let ids: Vec<u32> = (0..n_in + n_out).map(|i| u32_at(24 + 4 * i)).collect();
        Some(Marker { inputs: ids[..n_in].to_vec(), outputs: ids[n_in..].to_vec() })
    }
}

fn band(order: u64) -> u64 {
    order >> BAND_BITS
}

/// What a merge will read.
struct Plan {
    /// Inputs in replay order: every sealed segment of a contiguous run of bands.
    inputs: Vec<Arc<Segment>>,
    /// No sealed segment older than the inputs remains: tombstones may go.
    prefix: bool,
}

/// Sealed segments in replay order.
fn sealed_segments(inner: &Inner) -> Vec<Arc<Segment>> {
    let active_id = inner.writer.lock().active_id;
    let mut v: Vec<Arc<Segment>> = inner.segments.read().values().filter(|s| s.id != active_id).cloned().collect();
    v.sort_by_key(|s| (s.order, s.id));
    v
}

/// The plan merging every sealed segment whose band lies in `lo..=hi`.
fn plan_bands(sealed: &[Arc<Segment>], lo: u64, hi: u64) -> Plan {
    let inputs: Vec<Arc<Segment>> = sealed.iter().filter(|s| (lo..=hi).contains(&band(s.order))).cloned().collect();
    let prefix = !sealed.iter().any(|s| band(s.order) < lo);
    Plan { inputs, prefix }
}

/// The automatic trigger: the newest sealed segment whose dead ratio passes
/// `compaction_min_dead_ratio`, if the database's dead bytes pass
/// `compaction_min_dead_bytes`; the plan is the prefix up to its band.
fn plan_auto(inner: &Inner) -> Option<Plan> {
    let sealed = sealed_segments(inner);
    let total_dead: u64 = inner.segments.read().values().map(|s| s.dead_bytes.load(Ordering::Relaxed)).sum();
    if total_dead < inner.opts.compaction_min_dead_bytes.max(1) {
        return None;
    }
    let ratio = inner.opts.compaction_min_dead_ratio;
    let newest = sealed.iter().rev().find(|s| {
        let size = s.size_bytes.load(Ordering::Relaxed).max(1);
        let dead = s.dead_bytes.load(Ordering::Relaxed);
        dead > 0 && dead as f64 / size as f64 >= ratio
    })?;
    let lo = sealed.first().map_or(0, |s| band(s.order));
    Some(plan_bands(&sealed, lo, band(newest.order)))
}

impl Db {
    /// Merges every sealed segment (sealing the active one first if it holds
    /// records): afterwards the segments hold only live data, plus whatever
    /// was written meanwhile. Blocks until the merge is committed and the
    /// index points at its outputs; the merged inputs, renamed to
    /// `N.seg.trash`, are then freed by a background thread
    /// ([`Db::wait_for_removals`] waits for that; close finishes it, and open
    /// removes any left by a crash). Reads and writes proceed during the
    /// merge; a write made meanwhile always wins over the merged copy.
    pub fn compact(&self) -> Result<CompactionSummary> {
        let inner = &self.inner;
        inner.check_writable()?;
        let _running = inner.compaction.running.lock();
        {
            let mut ws = inner.writer.lock();
            inner.check_writable()?;
            if ws.write_off > segment::HEADER_LEN {
                inner.rotate(&mut ws)?;
            }
        }
        let sealed = sealed_segments(inner);
        let plan = match (sealed.first(), sealed.last()) {
            (Some(first), Some(last)) => plan_bands(&sealed, band(first.order), band(last.order)),
            _ => Plan { inputs: Vec::new(), prefix: true },
        };
        // The plan holds the inputs: the merge can tell when it holds the last
        // reference to one (see `remover::shrink_before_removal`).
        drop(sealed);
        run_and_count(inner, plan)
    }

    /// Merges exactly the sealed segments `ids`, which must be every segment
    /// of a contiguous run of replay bands (as listed by [`Db::stats`]; a
    /// writer segment is a band of its own, and a merge's outputs form one).
    /// If older segments remain, tombstones are kept. For tests and tools;
    /// [`Db::compact`] is the usual entry point.
    pub fn compact_segments(&self, ids: &[u32]) -> Result<CompactionSummary> {
        let inner = &self.inner;
        inner.check_writable()?;
        let _running = inner.compaction.running.lock();
        let sealed = sealed_segments(inner);
        let wanted: HashSet<u32> = ids.iter().copied().collect();
        let chosen: Vec<&Arc<Segment>> = sealed.iter().filter(|s| wanted.contains(&s.id)).collect();
        if chosen.len() != wanted.len() {
            return Err(Error::invalid("compact_segments: every id must name a sealed segment"));
        }
        let (Some(lo), Some(hi)) =
            (chosen.iter().map(|s| band(s.order)).min(), chosen.iter().map(|s| band(s.order)).max())
        else {
            return Ok(CompactionSummary::default());
        };
        let plan = plan_bands(&sealed, lo, hi);
        if plan.inputs.len() != wanted.len() {
            return Err(Error::invalid("compact_segments: ids must form whole, contiguous replay bands"));
        }
        drop(chosen);
        drop(sealed);
        run_and_count(inner, plan)
    }
}

/// Starts the automatic compaction thread.
pub(crate) fn spawn_auto(inner: Arc<Inner>) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name("kv-compact".into()).spawn(move || {
        while !inner.sleep_or_shutdown(Duration::from_millis(AUTO_CHECK_INTERVAL_MS)) {
            if inner.check_writable().is_err() {
                continue;
            }
            let Some(_running) = inner.compaction.running.try_lock() else { continue };
            if let Some(plan) = plan_auto(&inner) {
                // A failure before the commit point leaves the inputs in
                // place (counted in stats, retried next tick); one after it
                // has poisoned the handle and open will finish the merge.
                let _ = run_and_count(&inner, plan);
            }
        }
    })
}

fn run_and_count(inner: &Inner, plan: Plan) -> Result<CompactionSummary> {
    let c = &inner.compaction;
    match run(inner, plan) {
        Ok(s) => {
            if !s.input_segments.is_empty() {
                c.merges.fetch_add(1, Ordering::Relaxed);
                c.reclaimed_bytes.fetch_add(s.reclaimed_bytes(), Ordering::Relaxed);
                c.last_duration_ms.store(s.duration_ms, Ordering::Relaxed);
            }
            Ok(s)
        }
        Err(e) => {
            c.failures.fetch_add(1, Ordering::Relaxed);
            Err(e)
        }
    }
}

/// The bytes of a sealed segment (zero-copy when mapped).
fn segment_bytes(seg: &Segment) -> Result<Cow<'_, [u8]>> {
    let SegmentFile::Sealed(r) = &seg.file else {
        return Err(Error::Internal(format!("segment {} is not sealed", seg.id)));
    };
    if let Some(s) = r.as_slice() {
        return Ok(Cow::Borrowed(s));
    }
    let len = usize::try_from(r.len_bytes()?).map_err(|_| Error::Internal("segment too large".into()))?;
    let mut buf = vec![0u8; len];
    r.read_exact_at(&mut buf, 0)?;
    Ok(Cow::Owned(buf))
}

/// A record of an input segment awaiting its merge decision.
struct Leaf<'d> {
    bytes: &'d [u8],
    rec: RecordRef<'d>,
    loc: Loc,
}

/// A live record copied by the merge.
#[derive(Clone, Copy)]
struct Move {
    /// Where it was.
    from: Loc,
    /// Where it is now.
    to: Loc,
    /// A string's keydir slot, from the liveness walk.
    slot: Option<Slot>,
}

/// Live records copied from an input's liveness list back to back: the
/// `count` records the list names from position `from` on (all of input
/// `input`) went, in that order, to output segment `to_seg` from offset
/// `to_off` on. Kept instead of one [`Move`] each, and named again by
/// [`LiveStrings::replay`] when the index is switched.
struct ListedMoves {
    input: u32,
    from: ListPos,
    /// The list's position after the last of them.
    end: ListPos,
    count: u32,
    to_seg: u32,
    to_off: u32,
    /// Where the next record would go to extend this stretch.
    next_off: u32,
}

/// An output's hint as it is built.
enum OutputHint {
    /// Entries staged, ordered at the end (records copied in file order).
    Staged(HintBuilder),
    /// Entries encoded as they come (records copied in keydir order).
    Streamed(HintStream),
}

impl OutputHint {
    /// Adds the record `rec`, written at offset `off` of the segment;
    /// false if it cannot be (see [`HintStream::add`]).
    fn add(&mut self, rec: &RecordRef<'_>, off: u64) -> bool {
        match self {
            OutputHint::Staged(h) => {
                h.add(rec, off);
                true
            }
            OutputHint::Streamed(h) => h.add(rec, off),
        }
    }

    fn write<E>(self, seg_len: u64, tail_crc: u32, emit: &mut dyn FnMut(&[u8]) -> Result<(), E>) -> Result<(), E> {
        match self {
            OutputHint::Staged(h) => h.write(seg_len, tail_crc, emit),
            OutputHint::Streamed(h) => h.write(seg_len, tail_crc, emit),
        }
    }
}

/// One output segment being written.
struct Output {
    id: u32,
    order: u64,
    file: Arc<dyn WriteFile>,
    /// Logical length, bytes in [`Merger::buf`] included.
    len: u64,
    hint: Option<OutputHint>,
    dead_bytes: u64,
    /// Records written, and those of them not `Put`s (its [`RecordTally`]).
    records: u64,
    non_puts: u64,
}

/// What a merger copying in keydir order expects to copy (to size its
/// hints' buffers).
#[derive(Clone, Copy)]
struct ExpectedCopies {
    entries: u64,
    mean_bytes: u64,
}

/// The merge in progress.
struct Merger<'a> {
    inner: &'a Inner,
    prefix: bool,
    band_base: u64,
    now_ms: u64,
    outputs: Vec<Output>,
    /// Bytes of the newest output not yet written (`out.buf()`, starting
    /// at its `len - buf.len()`; aligned, and written whole when full, so
    /// output files can take `O_DIRECT`), and the writes in flight.
    out: MergeWriter,
    /// Live records copied, but for those copied from a list.
    moves: Vec<Move>,
    /// Live records copied from a list.
    listed_moves: Vec<ListedMoves>,
    /// Set when this merger copies in keydir order
    /// ([`Merger::copy_in_keydir_order`]): its outputs' hints are then
    /// encoded as they come. Sizes them.
    keydir_order: Option<ExpectedCopies>,
    /// The live string entries of the inputs, from one keydir walk, sorted
    /// by (input index, offset): the scan, which visits records in that
    /// order, joins against it instead of probing the keydir per record.
    live: LiveStrings,
    /// Expired live Puts dropped (or turned into tombstones): purged from
    /// the keydir after the commit, if still current.
    expired: Vec<Loc>,
    written_bytes: u64,
    started: Instant,
    summary: CompactionSummary,
    /// Marker written under its temporary name (to clean up on failure).
    marker_tmp: Option<String>,
    /// The `k` (order `band_base + k`) of this merger's first output, and
    /// the largest it may use: mergers running side by side take disjoint
    /// ranges, the earlier inputs' merger the lower one.
    first_k: u64,
    last_k: u64,
    /// Mergers sharing the rate limits.
    rate_share: u64,
    /// Set when a merger running beside this one failed: stop early.
    abandoned: &'a AtomicBool,
}

impl Merger<'_> {
    /// Walks the records of input `input` (segment `seg`, bytes `data`) in
    /// order and decides each one's fate.
    fn scan(&mut self, input: u32, seg: &Segment, data: &[u8], range: std::ops::Range<usize>) -> Result<()> {
        let path = self.inner.storage.path().join(segment::segment_file_name(seg.id));
        let size = range.end.min(data.len());
        let mut off = range.start;
        let mut window: Vec<Leaf<'_>> = Vec::new();
        while off < size {
            match record::decode(&data[off..size]) {
                Ok(rec) => {
                    let len = rec.len() as usize;
                    let loc = Loc { seg: seg.id, off: off as u32, len: len as u32 };
                    self.leaves(&data[off..off + len], rec, loc, &path, &mut window)?;
                    off += len;
                }
                // Unwritten space left by a crash before the tail was trimmed.
                Err(DecodeError::Zero) => break,
                Err(e) => return Err(record::corruption(&path, off as u64, &e)),
            }
            for leaf in window.drain(..) {
                let slot = if leaf.rec.header.kind == RecordKind::Put { self.live.take(input, leaf.loc) } else { None };
                let is_live = slot.is_some()
                    || (leaf.rec.header.kind != RecordKind::Put && self.inner.is_live(&leaf.rec, leaf.loc));
                self.consider(leaf.bytes, &leaf.rec, leaf.loc, is_live, slot)?;
            }
        }
        self.live.finish_input(input)
    }

    /// Copies the live records of input `input` (segment `seg`, bytes
    /// `data`) at offsets in `range`, as the liveness list names them: the
    /// input holds string `Put`s only ([`RecordTally::strings_only`]), so
    /// every record the index does not point at is dead and is never read.
    /// Each listed record is decoded (checksum included) before it counts,
    /// so a list entry that does not lead to its record stops the merge as
    /// [`LiveStrings::finish_input`] does for a scan. Returns the records
    /// copied or dropped (listed).
    fn copy_listed(&mut self, input: u32, seg: &Segment, data: &[u8], range: std::ops::Range<usize>) -> Result<u64> {
        let size = range.end.min(data.len());
        let mut listed = 0u64;
        loop {
            let from = self.live.position();
            let Some((off, len, slot)) = self.live.next_listed(input, size as u32) else { break };
            // A record listed before `range.end` is this part's whole, even
            // if it ends past it (a split inside such an input need not fall
            // on a record boundary).
            let loc = Loc { seg: seg.id, off, len };
            let (bytes, rec) = self.indexed_put(data, loc)?;
            if self.expired(&rec.header) {
                // Dropped, or turned into a tombstone.
                self.consider(bytes, &rec, loc, true, Some(slot))?;
            } else {
                let to = self.copy(bytes, &rec)?;
                self.note_listed_move(input, from, to);
                self.summary.records_copied += 1;
            }
            listed += 1;
        }
        self.live.finish_input(input)?;
        Ok(listed)
    }

    /// Copies the live records of the inputs (all of string `Put`s only,
    /// [`RecordTally::strings_only`]) that the keydir's shards point at, in
    /// `blocks` of shards (each a run of lower-half shards then one of
    /// upper-half shards; each block starts a new output, so that every
    /// hint holds both halves, lower first, and open replays it in two
    /// threads), shard by shard, each shard's in table-bucket order: the
    /// order hint files list entries in, so each output's hint is encoded
    /// as records are copied (nothing staged, nothing sorted but one shard
    /// at a time, in cache), and no liveness list is built or sorted. The
    /// records are read out of file order; reads run [`KEYDIR_ORDER_PREFETCH`]
    /// records ahead. Each record is decoded (checksum included) before it
    /// counts: an entry that does not lead to a whole `Put` of its length
    /// stops the merge. Returns the records copied or dropped, and fills in
    /// `generations` for `shards` (the slots' validity).
    fn copy_in_keydir_order(
        &mut self,
        blocks: &[Vec<usize>],
        inputs: &[Arc<Segment>],
        datas: &[Cow<'_, [u8]>],
        generations: &mut SlotGenerations,
    ) -> Result<u64> {
        let order_bits = keydir::bulk_order_bits(self.inner.keydir.len() as u64);
        let bucket_mask = (1u64 << order_bits.min(32)) - 1;
        let input_ids: Vec<u32> = inputs.iter().map(|s| s.id).collect();
        let index = InputIndex::new(&input_ids);
        // (table bucket, input index, location, slot), one shard's worth;
        // the sorts' scratch space, reused shard after shard.
        let mut items: Vec<(u32, u32, Loc, Slot)> = Vec::new();
        let mut scratch = Vec::new();
        let mut moves_scratch = Vec::new();
        let mut seen = 0u64;
        // (Each block's first shard starts a new output.)
        let shards = blocks.iter().flat_map(|block| block.iter().enumerate().map(|(i, &shard)| (i == 0, shard)));
        for (block_start, shard) in shards {
            if block_start && self.outputs.last().is_some_and(|o| o.records > 0) {
                self.open_output()?;
            }
            items.clear();
            let pick = |loc: Loc, slot: Slot, hash: u64| {
                let input = index.get(loc.seg)?;
                Some(((hash & bucket_mask) as u32, input, loc, slot))
            };
            if let Some(g) = generations.0.get_mut(shard) {
                *g = self.inner.keydir.string_entries_of_shard(shard, &pick, &mut items);
            }
            crate::radix::sort_by_u64_key(&mut items, &mut scratch, |it| it.0 as u64);
            let first_move = self.moves.len();
            for k in 0..items.len() {
                if let Some(&(_, input, loc, _)) = items.get(k + KEYDIR_ORDER_PREFETCH) {
                    // The record's first lines and its last one.
                    if let Some(b) = datas.get(input as usize).and_then(|d| d.get(loc.off as usize..)) {
                        let last = (loc.len as usize).min(b.len()).saturating_sub(1);
                        for at in [0, 64.min(last), last] {
                            if let Some(byte) = b.get(at) {
                                crate::prefetch::prefetch(byte);
                            }
                        }
                    }
                }
                let (_, input, loc, slot) = items[k];
                let Some(data) = datas.get(input as usize) else {
                    return Err(Error::Internal("merge: an entry without its input".into()));
                };
                let (bytes, rec) = self.indexed_put(data, loc)?;
                if self.expired(&rec.header) {
                    // Dropped, or turned into a tombstone.
                    self.consider(bytes, &rec, loc, true, Some(slot))?;
                } else {
                    let to = self.copy(bytes, &rec)?;
                    self.moves.push(Move { from: loc, to, slot: Some(slot) });
                    self.summary.records_copied += 1;
                }
                seen += 1;
            }
            // The index switch then walks the shard's arena in order.
            let shard_moves = &mut self.moves[first_move..];
            crate::radix::sort_by_u64_key(shard_moves, &mut moves_scratch, |mv| {
                mv.slot.as_ref().map_or(u64::MAX, keydir::slot_key)
            });
        }
        Ok(seen)
    }

    /// The string `Put` the index names at `loc` (in input bytes `data`),
    /// decoded with its checksum. An entry that does not lead to a whole
    /// `Put` of its length stops the merge (deleting the input would lose
    /// the key's value).
    fn indexed_put<'d>(&self, data: &'d [u8], loc: Loc) -> Result<(&'d [u8], RecordRef<'d>)> {
        let Loc { seg, off, len } = loc;
        let bytes = data.get(off as usize..off as usize + len as usize).unwrap_or_default();
        let rec = record::decode(bytes).map_err(|e| {
            record::corruption(&self.inner.storage.path().join(segment::segment_file_name(seg)), off as u64, &e)
        })?;
        if rec.len() != len as u64 || rec.header.kind != RecordKind::Put {
            return Err(Error::Internal(format!(
                "merge: the index points at a {len}-byte string record at offset {off} of segment {seg}, which \
                 holds a {}-byte {:?} record there; merge abandoned",
                rec.len(),
                rec.header.kind
            )));
        }
        Ok((bytes, rec))
    }

    /// Records that the record the list named from position `from` (of
    /// input `input`) was copied to `to`: it extends the last stretch of
    /// listed moves if it follows it both in the list and in the output.
    fn note_listed_move(&mut self, input: u32, from: ListPos, to: Loc) {
        let end = self.live.position();
        if let Some(last) = self.listed_moves.last_mut() {
            if last.input == input && last.end == from && last.to_seg == to.seg && last.next_off == to.off {
                last.end = end;
                last.count += 1;
                last.next_off = to.off.wrapping_add(to.len);
                return;
            }
        }
        self.listed_moves.push(ListedMoves {
            input,
            from,
            end,
            count: 1,
            to_seg: to.seg,
            to_off: to.off,
            next_off: to.off.wrapping_add(to.len),
        });
    }

    /// Whether a `Put` with header `h` has expired (the merge drops it).
    fn expired(&self, h: &record::Header) -> bool {
        h.expire_at_ms != 0 && h.expire_at_ms <= self.now_ms
    }

    /// Adds the record `rec` (`bytes`, at `loc`) to `window`: a batch as
    /// its inner records, each of which stands on its own in the output
    /// (the output is fully synced before it counts, so the batch's
    /// all-or-nothing framing is no longer needed).
    fn leaves<'d>(
        &mut self,
        bytes: &'d [u8],
        rec: RecordRef<'d>,
        loc: Loc,
        path: &std::path::Path,
        window: &mut Vec<Leaf<'d>>,
    ) -> Result<()> {
        if rec.header.kind != RecordKind::Batch {
            window.push(Leaf { bytes, rec, loc });
            return Ok(());
        }
        if rec.header.flags != 0 {
            return Err(Error::corruption(path, loc.off as u64, "compressed batch"));
        }
        let body = rec.stored_value;
        let mut pos = 0usize;
        while pos < body.len() {
            let at = loc.off as u64 + (record::HEADER_LEN + pos) as u64;
            let inner = record::decode(&body[pos..]).map_err(|e| record::corruption(path, at, &e))?;
            if inner.header.kind == RecordKind::Batch {
                return Err(Error::corruption(path, loc.off as u64, "nested batch"));
            }
            let len = inner.len() as usize;
            let inner_loc = Loc { seg: loc.seg, off: at as u32, len: len as u32 };
            window.push(Leaf { bytes: &body[pos..pos + len], rec: inner, loc: inner_loc });
            pos += len;
        }
        self.summary.records_dropped += 1;
        Ok(())
    }

    /// Decides the fate of one record (`bytes` is its encoding, at `loc`;
    /// `is_live`: the index pointed at it when looked up; `slot`: where, for
    /// a string).
    fn consider(
        &mut self,
        bytes: &[u8],
        rec: &RecordRef<'_>,
        loc: Loc,
        is_live: bool,
        slot: Option<Slot>,
    ) -> Result<()> {
        match rec.header.kind {
            RecordKind::Batch => return Err(Error::Internal("batch record reached consider".into())),
            // A ZRem is a member-level tombstone: the same rule applies, or a
            // partial merge brings the removed member back.
            RecordKind::Delete | RecordKind::ExpireTombstone | RecordKind::ZRem => {
                if self.prefix {
                    self.summary.records_dropped += 1;
                } else {
                    // An older segment outside the merge may hold the key.
                    let to = self.copy(bytes, rec)?;
                    self.dead(to);
                    self.summary.tombstones_kept += 1;
                }
            }
            RecordKind::Put if self.expired(&rec.header) => {
                if is_live {
                    if !self.prefix {
                        // Dropping it would let an older value outside the
                        // merge come back (nutsdb#465): leave a tombstone.
                        let mut buf = Vec::with_capacity(record::HEADER_LEN + rec.key.len());
                        record::encode(
                            &mut buf,
                            RecordKind::ExpireTombstone,
                            rec.header.seq,
                            0,
                            rec.key,
                            &[],
                            usize::MAX,
                        );
                        let path = self.inner.storage.path().join(segment::segment_file_name(loc.seg));
                        let tomb = record::decode(&buf).map_err(|e| record::corruption(&path, 0, &e))?;
                        let to = self.copy(&buf, &tomb)?;
                        self.dead(to);
                        self.summary.tombstones_kept += 1;
                    }
                    self.expired.push(loc);
                }
                self.summary.records_dropped += 1;
            }
            _ => {
                if is_live {
                    let to = self.copy(bytes, rec)?;
                    self.moves.push(Move { from: loc, to, slot });
                    self.summary.records_copied += 1;
                } else {
                    self.summary.records_dropped += 1;
                }
            }
        }
        Ok(())
    }

    fn dead(&mut self, at: Loc) {
        if let Some(o) = self.outputs.last_mut() {
            o.dead_bytes += at.len as u64;
        }
    }

    /// Appends a record to the current output, starting a new one when full.
    fn copy(&mut self, bytes: &[u8], rec: &RecordRef<'_>) -> Result<Loc> {
        let len = bytes.len() as u64;
        let full = self
            .outputs
            .last()
            .is_none_or(|o| o.len + len > self.inner.opts.max_segment_size_bytes && o.len > segment::HEADER_LEN);
        if full {
            self.open_output()?;
        }
        let o = self.outputs.last_mut().ok_or_else(|| Error::Internal("no merge output".into()))?;
        let off = o.len;
        o.records += 1;
        o.non_puts += (rec.header.kind != RecordKind::Put) as u64;
        if let Some(h) = o.hint.as_mut() {
            if !h.add(rec, off) {
                return Err(Error::Internal("merge: a record out of keydir order for its hint".into()));
            }
        }
        let loc = Loc { seg: o.id, off: off as u32, len: len as u32 };
        // The record may straddle chunks: a chunk is written when full, so
        // every write but an output's last is whole and aligned.
        let mut rest = bytes;
        while !rest.is_empty() {
            let o = self.outputs.last_mut().ok_or_else(|| Error::Internal("no merge output".into()))?;
            let n = self.out.buf().push(rest);
            o.len += n as u64;
            rest = &rest[n..];
            if self.out.buf().is_full() {
                self.flush_last()?;
            }
        }
        Ok(loc)
    }

    fn open_output(&mut self) -> Result<()> {
        self.flush_last()?;
        let k = self.first_k + self.outputs.len() as u64;
        if k > self.last_k {
            return Err(Error::Internal("merge would write more output segments than its band holds".into()));
        }
        let id = self.inner.allocate_segment_id()?;
        let order = self.band_base + k;
        let file = if self.inner.opts.compaction_direct_io {
            self.inner.storage.create_direct(&tmp_segment_name(id))?
        } else {
            self.inner.storage.create(&tmp_segment_name(id))?
        };
        let mut o = Output { id, order, file, len: 0, hint: None, dead_bytes: 0, records: 0, non_puts: 0 };
        // The keydir size now is the best guess of the next open's.
        let (seed, order_bits) = (self.inner.keydir.seed(), keydir::bulk_order_bits(self.inner.keydir.len() as u64));
        o.hint = Some(match self.keydir_order {
            Some(expected) => {
                let mut h = HintStream::new(id, order, seed, order_bits);
                h.expect_entries(
                    expected.entries.min(self.inner.opts.max_segment_size_bytes / expected.mean_bytes),
                    16,
                );
                OutputHint::Streamed(h)
            }
            None => {
                let mut h = HintBuilder::new(id, order, seed, order_bits);
                // This merger's live strings still to copy, as many as fit.
                let mean_bytes = self.live.mean_entry_bytes().max(record::HEADER_LEN as u64);
                h.expect_entries((self.live.len() as u64).min(self.inner.opts.max_segment_size_bytes / mean_bytes));
                OutputHint::Staged(h)
            }
        });
        let header = SegmentHeader { id, order }.encode();
        debug_assert!(self.out.buf().is_empty() && header.len() < WRITE_CHUNK_BYTES);
        o.len = self.out.buf().push(&header) as u64;
        self.outputs.push(o);
        Ok(())
    }

    /// Writes the buffered bytes of the newest output, throttled.
    fn flush_last(&mut self) -> Result<()> {
        let Some(o) = self.outputs.last_mut() else { return Ok(()) };
        let pending = self.out.buf().len();
        if pending == 0 {
            return Ok(());
        }
        self.out.submit(&o.file, o.len - pending as u64)?;
        self.written_bytes += pending as u64;
        // A close (or a failed write elsewhere) stops the merge.
        self.inner.check_writable()?;
        if self.abandoned.load(Ordering::Relaxed) {
            return Err(Error::Internal("merge abandoned: the merge of its other inputs failed".into()));
        }
        let rate = self.inner.opts.compaction_rate_limit_bytes_per_sec / self.rate_share;
        if rate > 0 {
            let due = Duration::from_secs_f64(self.written_bytes as f64 / rate as f64);
            let elapsed = self.started.elapsed();
            if due > elapsed && self.inner.sleep_or_shutdown(due - elapsed) {
                return Err(Error::Closed);
            }
        }
        Ok(())
    }

    /// Makes every output and its hint durable (files, then directory).
    fn seal_outputs(&mut self) -> Result<()> {
        self.flush_last()?;
        self.out.wait_all()?;
        let storage = self.inner.storage.clone();
        for o in &mut self.outputs {
            o.file.sync_data()?;
            let tail = hint::tail_crc(o.file.as_ref(), o.len)?;
            let Some(hint) = o.hint.take() else { continue };
            let name = segment::hint_file_name(o.id);
            // A hint is a fifth of a merge of small values (28 of 148 B):
            // it goes around the page cache too (open reads it once).
            let h = if self.inner.opts.compaction_direct_io {
                storage.create_direct(&name)?
            } else {
                storage.create(&name)?
            };
            // Streamed through the chunk writer (aligned chunks, so
            // `O_DIRECT` applies to all but the tail), never whole in memory.
            let out = &mut self.out;
            debug_assert!(out.buf().is_empty());
            let mut at = 0u64;
            hint.write(o.len, tail, &mut |mut rest: &[u8]| -> std::io::Result<()> {
                while !rest.is_empty() {
                    let n = out.buf().push(rest);
                    rest = &rest[n..];
                    if out.buf().is_full() {
                        let len = out.buf().len() as u64;
                        out.submit(&h, at)?;
                        at += len;
                    }
                }
                Ok(())
            })?;
            out.submit(&h, at)?;
            out.wait_all()?;
            h.sync_data()?;
        }
        storage.sync_dir()?;
        Ok(())
    }

    /// Removes everything this uncommitted merge created (best effort: open
    /// removes whatever is left).
    fn discard(&mut self) {
        // No write may land after its file is removed.
        let _ = self.out.wait_all();
        let storage = &self.inner.storage;
        for o in self.outputs.drain(..) {
            let _ = storage.remove(&tmp_segment_name(o.id));
            let _ = storage.remove(&segment::hint_file_name(o.id));
        }
        if let Some(m) = self.marker_tmp.take() {
            let _ = storage.remove(&m);
        }
        let _ = storage.sync_dir();
    }
}

/// Switches the index from each move's old location to its new one, if it
/// still points at the old one (a write during the merge wins and the copy
/// is dead). Strings go by the keydir slot the liveness walk found, in
/// batches, falling back to a lookup by key where the slot proves nothing;
/// sorted-set records one by one.
struct Relocator<'a> {
    inner: &'a Inner,
    generations: &'a SlotGenerations,
    datas: &'a [Cow<'a, [u8]>],
    index: &'a HashMap<u32, usize>,
    at_slot: Vec<(Slot, Loc, Loc)>,
    slot_results: Vec<SlotUpdate>,
    sort_scratch: Vec<(Slot, Loc, Loc)>,
    by_key: Vec<(&'a [u8], Loc, Loc)>,
    moved: Vec<bool>,
}

impl<'a> Relocator<'a> {
    fn new(
        inner: &'a Inner,
        generations: &'a SlotGenerations,
        datas: &'a [Cow<'a, [u8]>],
        index: &'a HashMap<u32, usize>,
    ) -> Relocator<'a> {
        Relocator {
            inner,
            generations,
            datas,
            index,
            at_slot: Vec::with_capacity(RELOCATE_BATCH_RECORDS),
            slot_results: Vec::with_capacity(RELOCATE_BATCH_RECORDS),
            sort_scratch: Vec::with_capacity(RELOCATE_BATCH_RECORDS),
            by_key: Vec::new(),
            moved: Vec::new(),
        }
    }

    /// The header and bytes of the input record at `loc`. The inputs were
    /// verified when scanned and are still mapped: only the header is
    /// decoded (no second checksum pass).
    fn header_at(&self, loc: &Loc) -> Option<(record::Header, &'a [u8])> {
        let data: &'a Cow<'a, [u8]> = self.datas.get(*self.index.get(&loc.seg)?)?;
        let bytes = data.get(loc.off as usize..loc.off as usize + loc.len as usize)?;
        let h = record::decode_header(bytes).ok()?;
        Some((h, bytes))
    }

    fn key_of<'b>(h: &record::Header, bytes: &'b [u8]) -> &'b [u8] {
        bytes.get(record::HEADER_LEN..record::HEADER_LEN + h.key_len as usize).unwrap_or_default()
    }

    /// Switches a string move found by the walk at `slot` (batched).
    #[inline]
    fn push_at_slot(&mut self, slot: Slot, from: Loc, to: Loc) {
        self.at_slot.push((slot, from, to));
        if self.at_slot.len() >= RELOCATE_BATCH_RECORDS {
            self.flush();
        }
    }

    /// Switches move `mv`.
    fn push(&mut self, mv: Move) {
        if let Some(slot) = mv.slot {
            self.push_at_slot(slot, mv.from, mv.to);
            return;
        }
        let Some((h, bytes)) = self.header_at(&mv.from) else {
            self.inner.add_dead(mv.to.seg, mv.to.len as u64);
            return;
        };
        let key = Self::key_of(&h, bytes);
        if h.kind == RecordKind::Put {
            self.by_key.push((key, mv.from, mv.to));
            if self.by_key.len() >= RELOCATE_BATCH_RECORDS {
                self.flush();
            }
            return;
        }
        let rec =
            RecordRef { header: h, key, stored_value: bytes.get(record::HEADER_LEN + key.len()..).unwrap_or_default() };
        if !self.inner.relocate(&rec, mv.from, mv.to) {
            self.inner.add_dead(mv.to.seg, mv.to.len as u64);
        }
    }

    /// Switches the moves batched so far.
    fn flush(&mut self) {
        let inner = self.inner;
        inner.keydir.update_locs_at(
            self.generations,
            &mut self.at_slot,
            &mut self.sort_scratch,
            &mut self.slot_results,
        );
        for i in 0..self.at_slot.len() {
            let (_, from, to) = self.at_slot[i];
            match self.slot_results.get(i) {
                Some(SlotUpdate::Moved) => {}
                Some(SlotUpdate::Superseded) => inner.add_dead(to.seg, to.len as u64),
                Some(SlotUpdate::Unknown) | None => match self.header_at(&from) {
                    Some((h, bytes)) => self.by_key.push((Self::key_of(&h, bytes), from, to)),
                    None => inner.add_dead(to.seg, to.len as u64),
                },
            }
        }
        self.at_slot.clear();
        inner.keydir.update_locs_if(&self.by_key, &mut self.moved);
        for ((_, _, to), ok) in self.by_key.iter().zip(&self.moved) {
            if !ok {
                inner.add_dead(to.seg, to.len as u64);
            }
        }
        self.by_key.clear();
    }
}

/// Switches a merger's moves: those it kept one by one (`moves`), and
/// those its list `live` names (`listed`). See [`Relocator`].
fn relocate_moves(
    inner: &Inner,
    moves: &[Move],
    listed: &[ListedMoves],
    live: &LiveStrings,
    datas: &[Cow<'_, [u8]>],
    index: &HashMap<u32, usize>,
) {
    let mut r = Relocator::new(inner, &live.generations, datas, index);
    for &mv in moves {
        r.push(mv);
    }
    for l in listed {
        let mut to_off = l.to_off;
        live.replay(l.from, l.input, l.count as usize, |from, slot| {
            r.push_at_slot(slot, from, Loc { seg: l.to_seg, off: to_off, len: from.len });
            to_off = to_off.wrapping_add(from.len);
        });
    }
    r.flush();
}

impl Inner {
    /// Takes a fresh segment id (shared with rotation, under the writer mutex).
    pub(crate) fn allocate_segment_id(&self) -> Result<u32> {
        let mut ws = self.writer.lock();
        let id = ws.next_seg_id;
        ws.next_seg_id = id.checked_add(1).ok_or_else(|| Error::Internal("segment ids exhausted".into()))?;
        Ok(id)
    }
}

/// How many records ahead of the one being copied a merge in keydir order
/// asks for (each is a likely cache miss: the reads jump around the
/// inputs).
const KEYDIR_ORDER_PREFETCH: usize = 16;

/// The blocks a merger copying in keydir order takes the shards `lower`
/// (of the lower half) and `upper` (as many, of the upper half) in: `size`
/// (at least 1) of each per block, the lower first. A block about fills an
/// output when `size` is sized so; each starts its own.
fn keydir_order_blocks(lower: std::ops::Range<usize>, upper: std::ops::Range<usize>, size: usize) -> Vec<Vec<usize>> {
    let size = size.max(1);
    let (lower, upper): (Vec<usize>, Vec<usize>) = (lower.collect(), upper.collect());
    lower.chunks(size).zip(upper.chunks(size)).map(|(l, u)| l.iter().chain(u).copied().collect()).collect()
}

/// Inputs below this many bytes in all (or two segments' worth, if less)
/// are merged by one thread.
const PARALLEL_MIN_INPUT_BYTES: u64 = 16 << 20;

/// What a live byte costs the merge against a scanned one, for balancing
/// the halves: a dead record is decoded and skipped, a live one is also
/// copied, hinted and switched in the index (1M x 100 B: ~0.25 ms per input
/// MB against ~1.3 ms per live MB).
const LIVE_BYTE_COST: u64 = 4;

/// Bytes `start..end` of input `input`, scanned by one merger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Part {
    input: usize,
    start: usize,
    end: usize,
}

/// The scanned length of each input.
fn input_lens(inputs: &[Arc<Segment>], datas: &[Cow<'_, [u8]>]) -> Vec<usize> {
    inputs.iter().zip(datas).map(|(s, d)| (s.size_bytes.load(Ordering::Relaxed) as usize).min(d.len())).collect()
}

/// The first offset at or after `target` where a record of `data` (a
/// segment's bytes) starts, following the records' lengths from the first
/// (a batch is one record, so this never lands inside one); `None` on a
/// header that does not decode (the scan will report it).
fn record_start_at_or_after(data: &[u8], target: usize) -> Option<usize> {
    let mut off = segment::HEADER_LEN as usize;
    while off < target {
        let h = record::decode_header(data.get(off..)?).ok()?;
        let len = usize::try_from(h.record_len()).ok()?;
        if len < record::HEADER_LEN {
            return None;
        }
        off = off.checked_add(len)?;
    }
    (off <= data.len()).then_some(off)
}

/// Splits the merge between two threads: the parts each scans, in replay
/// order (the first thread's all precede the second's), balancing the
/// estimated work (scanned bytes, plus [`LIVE_BYTE_COST`] per live string
/// byte; an input copied from the list, `listed[i]`, is not scanned), at a
/// record boundary inside a scanned input if need be (a listed input can
/// split anywhere: its part is the records listed before the split).
/// `None` for one thread: one allowed, too little input, or no usable
/// split.
fn split_parts(
    inputs: &[Arc<Segment>],
    datas: &[Cow<'_, [u8]>],
    live: &LiveStrings,
    listed: &[bool],
    threads: usize,
    segment_bytes: u64,
) -> Option<(Vec<Part>, Vec<Part>)> {
    let lens = input_lens(inputs, datas);
    let total_bytes: u64 = lens.iter().map(|&l| l as u64).sum();
    if threads < 2 || total_bytes < PARALLEL_MIN_INPUT_BYTES.min(segment_bytes.saturating_mul(2)) {
        return None;
    }
    let live_bytes: Vec<u64> = (0..inputs.len()).map(|i| live.collected(i).bytes).collect();
    let is_listed = |i: usize| listed.get(i).copied().unwrap_or(false);
    let scanned = |i: usize| if is_listed(i) { 0 } else { lens[i] as u64 };
    let cost = |i: usize| scanned(i) + LIVE_BYTE_COST * live_bytes[i];
    let mut remaining = (0..inputs.len()).map(cost).sum::<u64>() / 2;
    let i = (0..inputs.len()).find(|&i| {
        let c = cost(i);
        let here = remaining < c;
        if !here {
            remaining -= c;
        }
        here
    })?;
    // The halfway point lies in input `i`: the first offset where its
    // cumulative cost reaches `remaining`, its live bytes below an offset
    // taken as the entries below it times their mean size (found by
    // bisection on the sorted list: no pass over the entries).
    let header = segment::HEADER_LEN as usize;
    let listed_i = is_listed(i);
    let InputLive { entries, bytes } = live.collected(i);
    let mean_bytes = bytes as f64 / entries.max(1) as f64;
    let cost_below = |at: usize| -> u64 {
        let scanned_below = if listed_i { 0 } else { at.saturating_sub(header) as u64 };
        let live_below = (live.entries_below(i as u32, at.min(u32::MAX as usize) as u32) as f64 * mean_bytes) as u64;
        scanned_below + LIVE_BYTE_COST * live_below
    };
    let (mut lo, mut hi) = (header, lens[i].max(header));
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if cost_below(mid) >= remaining {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    let target = lo;
    let at = if listed_i { target } else { record_start_at_or_after(datas.get(i)?.get(..lens[i])?, target)? };
    let whole = |j: usize| Part { input: j, start: header, end: lens[j] };
    let mut first: Vec<Part> = (0..i).map(whole).collect();
    let mut second = Vec::new();
    if at > header {
        first.push(Part { input: i, start: header, end: at });
    }
    if at < lens[i] {
        second.push(Part { input: i, start: at, end: lens[i] });
    }
    second.extend((i + 1..inputs.len()).map(whole));
    (!first.is_empty() && !second.is_empty()).then_some((first, second))
}

/// Runs a merge (the caller holds `compaction.running`).
fn run(inner: &Inner, plan: Plan) -> Result<CompactionSummary> {
    let started = Instant::now();
    let Plan { inputs, prefix } = plan;
    if inputs.is_empty() {
        return Ok(CompactionSummary::default());
    }
    inner.check_writable()?;
    let storage = inner.storage.as_ref();
    let max_order = inputs.iter().map(|s| s.order).max().unwrap_or(0);
    let datas: Vec<Cow<'_, [u8]>> = inputs.iter().map(|s| segment_bytes(s)).collect::<Result<_>>()?;
    let index: HashMap<u32, usize> = inputs.iter().enumerate().map(|(i, s)| (s.id, i)).collect();
    let input_ids: Vec<u32> = inputs.iter().map(|s| s.id).collect();
    // While foreground commits run, the merge's writes are paced (see
    // `merge_writer`), which one thread keeps up with: a second would only
    // take CPU from the committing threads.
    let threads = if inner.commit_activity.busy() { 1 } else { inner.opts.compaction_threads };
    // Inputs of string `Put`s only are copied from the list (their dead
    // records are never read); the record counts give their dropped count.
    let listed_records: Vec<Option<u64>> = inputs.iter().map(|s| s.tally.strings_only()).collect();
    let listed: Vec<bool> = listed_records.iter().map(Option::is_some).collect();
    // When every input is, the copy goes in keydir order instead (see
    // `Merger::copy_in_keydir_order`): no liveness list at all, and the two
    // mergers take half of the shards each.
    let keydir_order = listed.iter().all(|&l| l);
    let mut live = if keydir_order {
        LiveStrings::empty(&input_ids)
    } else {
        LiveStrings::collect(&inner.keydir, &input_ids, threads)
    };
    // Two mergers scan the two halves of the inputs side by side, when
    // there is enough to split. The first half's outputs replay first (lower
    // `k`), so records keep their relative replay order across the halves
    // just as within one: a kept tombstone still replays before a newer put.
    let split = if keydir_order {
        None
    } else {
        split_parts(&inputs, &datas, &live, &listed, threads, inner.opts.max_segment_size_bytes)
    };
    let input_bytes: u64 = input_lens(&inputs, &datas).iter().map(|&l| l as u64).sum();
    let split_shards = keydir_order
        && threads >= 2
        && input_bytes >= PARALLEL_MIN_INPUT_BYTES.min(inner.opts.max_segment_size_bytes.saturating_mul(2));
    let rate_share = if split.is_some() || split_shards { 2 } else { 1 };
    let expected = keydir_order.then(|| {
        let records: u64 = listed_records.iter().flatten().sum();
        ExpectedCopies {
            entries: (inner.keydir.len() as u64).min(records) / rate_share,
            mean_bytes: (input_bytes / records.max(1)).max(record::HEADER_LEN as u64),
        }
    });
    let abandoned = AtomicBool::new(false);
    // Which merger (0 or 1) failed first.
    let failed_first = AtomicUsize::new(0);
    let new_merger = |live: LiveStrings, first_k: u64, last_k: u64| Merger {
        inner,
        prefix,
        band_base: (max_order >> BAND_BITS) << BAND_BITS,
        now_ms: inner.now_ms(),
        outputs: Vec::new(),
        out: MergeWriter::new(
            WRITE_CHUNK_BYTES,
            inner.commit_activity.clone(),
            inner.opts.compaction_busy_rate_limit_bytes_per_sec / rate_share,
        ),
        moves: Vec::new(),
        listed_moves: Vec::new(),
        keydir_order: expected,
        live,
        expired: Vec::new(),
        written_bytes: 0,
        started,
        summary: CompactionSummary::default(),
        marker_tmp: None,
        first_k,
        last_k,
        rate_share,
        abandoned: &abandoned,
    };
    let half_k = MAX_OUTPUTS_PER_MERGE / 2;
    let mut second = match &split {
        Some((_, second_parts)) => {
            let from = second_parts[0];
            Some(new_merger(live.split_off(from.input as u32, from.start as u32), half_k + 1, MAX_OUTPUTS_PER_MERGE))
        }
        None if split_shards => Some(new_merger(LiveStrings::empty(&input_ids), half_k + 1, MAX_OUTPUTS_PER_MERGE)),
        None => None,
    };
    let mut m = new_merger(live, 1, if rate_share == 2 { half_k } else { MAX_OUTPUTS_PER_MERGE });
    m.summary.input_segments = inputs.iter().map(|s| s.id).collect();
    m.summary.input_bytes = inputs.iter().map(|s| s.size_bytes.load(Ordering::Relaxed)).sum();
    m.summary.scan_threads = rate_share as u32;
    m.summary.inputs_copied_from_index = listed.iter().filter(|&&l| l).count() as u32;
    // Records of the listed inputs each merger copied or dropped by the list.
    let listed_seen = [AtomicU64::new(0), AtomicU64::new(0)];
    // The shards of each merger copying in keydir order, in blocks (see
    // `keydir_order_blocks`), and the shard generations their walks saw.
    let half = keydir::SHARDS / 2;
    let block_shards = expected.map_or(1, |e| {
        let shard_bytes = e.entries.saturating_mul(e.mean_bytes) * rate_share / keydir::SHARDS as u64;
        (inner.opts.max_segment_size_bytes / shard_bytes.max(1) / 2) as usize
    });
    let (first_blocks, second_blocks) = if split_shards {
        let quarter = half / 2;
        (
            keydir_order_blocks(0..quarter, half..half + quarter, block_shards),
            keydir_order_blocks(quarter..half, half + quarter..keydir::SHARDS, block_shards),
        )
    } else {
        (keydir_order_blocks(0..half, half..keydir::SHARDS, block_shards), Vec::new())
    };
    let second_shards: Vec<usize> = second_blocks.iter().flatten().copied().collect();
    let walked = [Mutex::new(SlotGenerations([0; keydir::SHARDS])), Mutex::new(SlotGenerations([0; keydir::SHARDS]))];
    // Scans `parts` (or, in keydir order, its half's shards) into `merger`
    // (the first or second, `half`) and seals its outputs.
    let scan_parts = |merger: &mut Merger<'_>, parts: &[Part], half: usize| -> Result<()> {
        let seen = &listed_seen[half];
        let r = (|| {
            if keydir_order {
                let blocks = if half == 0 { &first_blocks } else { &second_blocks };
                let n = merger.copy_in_keydir_order(blocks, &inputs, &datas, &mut walked[half].lock())?;
                seen.fetch_add(n, Ordering::Relaxed);
                return merger.seal_outputs();
            }
            for p in parts {
                let (Some(seg), Some(data)) = (inputs.get(p.input), datas.get(p.input)) else {
                    return Err(Error::Internal("merge part without its input".into()));
                };
                if listed[p.input] {
                    let n = merger.copy_listed(p.input as u32, seg, data, p.start..p.end)?;
                    seen.fetch_add(n, Ordering::Relaxed);
                } else {
                    merger.scan(p.input as u32, seg, data, p.start..p.end)?;
                }
            }
            merger.seal_outputs()
        })();
        // The first merger to fail names the cause; the other one then
        // stops with "abandoned", which says nothing about it.
        if r.is_err() && abandoned.compare_exchange(false, true, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
            failed_first.store(half, Ordering::Relaxed);
        }
        r
    };

    // The second merger's moves and list, once it is done.
    let mut second_moves: Vec<Move> = Vec::new();
    let mut second_listed: Vec<ListedMoves> = Vec::new();
    let mut second_live: Option<LiveStrings> = None;

    // Phase 1, uncommitted: outputs and hints durable, the log durable, the
    // marker durable under its temporary name. A failure discards it all.
    let phase1 = (|| -> Result<(Marker, String)> {
        let lens = input_lens(&inputs, &datas);
        let (first_parts, second_parts) = match &split {
            Some((a, b)) => (a.clone(), b.clone()),
            None => (
                (0..inputs.len())
                    .map(|i| Part { input: i, start: segment::HEADER_LEN as usize, end: lens[i] })
                    .collect(),
                Vec::new(),
            ),
        };
        let scanned = std::thread::scope(|s| {
            let other = match second.as_mut() {
                None => None,
                Some(b) => {
                    let spawned = std::thread::Builder::new()
                        .name("kv-merge-2".into())
                        .spawn_scoped(s, || scan_parts(b, &second_parts, 1));
                    match spawned {
                        Ok(h) => Some(h),
                        Err(e) => {
                            abandoned.store(true, Ordering::Relaxed);
                            return Err(Error::Io(e));
                        }
                    }
                }
            };
            let mine = scan_parts(&mut m, &first_parts, 0);
            let theirs = match other {
                None => Ok(()),
                Some(h) => h.join().unwrap_or_else(|_| Err(Error::Internal("merge thread panicked".into()))),
            };
            match (mine, theirs) {
                (Err(a), Err(b)) => Err(if failed_first.load(Ordering::Relaxed) == 1 { b } else { a }),
                (mine, theirs) => mine.and(theirs),
            }
        });
        if let Err(e) = scanned {
            if let Some(b) = second.as_mut() {
                b.discard();
            }
            return Err(e);
        }
        if let Some(mut b) = second.take() {
            m.outputs.append(&mut b.outputs);
            // Not appended: copying millions of moves took longer than
            // switching them, which the second half's list does on its own.
            second_moves = std::mem::take(&mut b.moves);
            second_listed = std::mem::take(&mut b.listed_moves);
            second_live = Some(b.live);
            m.expired.append(&mut b.expired);
            m.written_bytes += b.written_bytes;
            m.summary.records_copied += b.summary.records_copied;
            m.summary.records_dropped += b.summary.records_dropped;
            m.summary.tombstones_kept += b.summary.tombstones_kept;
        }
        if keydir_order {
            // The slots the mergers' walks found are valid for these.
            let mut g = walked[0].lock().clone();
            for &s in &second_shards {
                g = g.combine(&walked[1].lock(), s..s + 1);
            }
            m.live.generations = g;
        }
        // The listed inputs' records the list did not name were dead.
        let listed_total: u64 = listed_records.iter().flatten().sum();
        let seen: u64 = listed_seen.iter().map(|n| n.load(Ordering::Relaxed)).sum();
        debug_assert!(seen <= listed_total, "{seen} listed of {listed_total} records");
        m.summary.records_dropped += listed_total.saturating_sub(seen);
        // Liveness was judged against writes that may still be unsynced. If
        // a power cut kept the merge but lost such a write, a key could end
        // up in a state that never existed (neither old nor new value), so
        // they become durable before the commit point.
        inner.sync_now()?;
        let marker =
            Marker { inputs: m.summary.input_segments.clone(), outputs: m.outputs.iter().map(|o| o.id).collect() };
        let name = marker_name(inner.allocate_segment_id()?);
        let tmp = format!("{name}{TMP_SUFFIX}");
        m.marker_tmp = Some(tmp.clone());
        let f = storage.create(&tmp)?;
        f.write_all_at(&marker.encode(), 0)?;
        f.sync_data()?;
        Ok((marker, name))
    })();
    let (marker, name) = match phase1 {
        Ok(x) => x,
        Err(e) => {
            m.discard();
            return Err(e);
        }
    };

    // Commit point: the marker appears under its final name. If the rename
    // or the directory sync fails we cannot know which state is durable;
    // both are consistent, so poison and let open decide.
    let tmp = format!("{name}{TMP_SUFFIX}");
    if let Err(e) = storage.rename(&tmp, &name).and_then(|()| storage.sync_dir()) {
        return Err(inner.poison(format!("committing merge failed: {e}"), e));
    }
    m.marker_tmp = None;

    // Phase 2, committed: open would finish it, so any failure poisons.
    let opened = (|| -> std::io::Result<Vec<Arc<Segment>>> {
        for o in &m.outputs {
            storage.rename(&tmp_segment_name(o.id), &segment::segment_file_name(o.id))?;
        }
        storage.sync_dir()?;
        let mut segs = Vec::with_capacity(m.outputs.len());
        for o in &m.outputs {
            let reader = storage.open_read(&segment::segment_file_name(o.id))?;
            let seg = Segment::sealed(o.id, o.order, reader, o.len, RecordTally::known(o.records, o.non_puts));
            seg.dead_bytes.store(o.dead_bytes, Ordering::Relaxed);
            segs.push(Arc::new(seg));
        }
        Ok(segs)
    })();
    let new_segments = opened.map_err(|e| inner.poison(format!("installing merge output failed: {e}"), e))?;
    {
        let mut map = inner.segments.write();
        for s in new_segments {
            map.insert(s.id, s);
        }
    }
    // Switch the index over, record by record; a write made during the
    // merge has moved the key on and wins (the copy is then dead).
    let record_at = |loc: &Loc| -> Option<RecordRef<'_>> {
        let data = datas.get(*index.get(&loc.seg)?)?;
        record::decode(data.get(loc.off as usize..loc.off as usize + loc.len as usize)?).ok()
    };
    let (input_datas, input_index) = (&datas, &index);
    let all_moves = |moves: &[Move], listed: &[ListedMoves], live: &LiveStrings| {
        relocate_moves(inner, moves, listed, live, input_datas, input_index)
    };
    let second_has_moves = !second_moves.is_empty() || !second_listed.is_empty();
    std::thread::scope(|s| {
        // The halves' moves are switched side by side (different keys).
        let second = || {
            if let Some(live) = &second_live {
                all_moves(&second_moves, &second_listed, live);
            }
        };
        let other = if second_has_moves {
            std::thread::Builder::new().name("kv-merge-index".into()).spawn_scoped(s, second).ok()
        } else {
            None
        };
        all_moves(&m.moves, &m.listed_moves, &m.live);
        // Switching is idempotent (an entry moves only if it still points
        // at the old copy), so a thread that could not start or did not
        // finish is redone here: committed moves must all be switched.
        if second_has_moves && other.is_none_or(|h| h.join().is_err()) {
            second();
        }
    });
    for loc in &m.expired {
        if let Some(rec) = record_at(loc) {
            inner.keydir.remove_if(rec.key, *loc);
        }
    }
    {
        let mut map = inner.segments.write();
        for s in &inputs {
            map.remove(&s.id);
        }
    }
    // Readers still holding an input finish with it; the mapping goes away
    // with the last reference (bitcask#249). An input no reader holds is
    // shrunk step by step before it is removed (see
    // `remover::shrink_before_removal`).
    drop(datas);
    // (id, file length) of each input, and which ones only this merge holds.
    let lens: HashMap<u32, u64> = inputs.iter().map(|s| (s.id, s.size_bytes.load(Ordering::Relaxed))).collect();
    let unshared: HashSet<u32> =
        inputs.iter().filter(|s| Arc::strong_count(s) == 1 && s.file_unshared()).map(|s| s.id).collect();
    drop(inputs);
    // Retire the inputs: renamed to trash (durably) before the marker goes,
    // so that once it is gone no input exists under a segment name; the
    // trash is then garbage that open deletes, and the remover thread frees
    // it (see `remover` and docs/design.md).
    let removal_started = Instant::now();
    let retired = (|| -> std::io::Result<Vec<TrashFile>> {
        let mut trash = Vec::with_capacity(marker.inputs.len());
        for &id in &marker.inputs {
            remove_if_exists(storage, &segment::hint_file_name(id))?;
            match storage.rename(&segment::segment_file_name(id), &segment::trash_file_name(id)) {
                Ok(()) => trash.push(TrashFile {
                    id,
                    len_bytes: lens.get(&id).copied().unwrap_or(0),
                    shrink: unshared.contains(&id),
                }),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        storage.sync_dir()?;
        storage.remove(&name)?;
        storage.sync_dir()?;
        Ok(trash)
    })();
    let trash = retired.map_err(|e| inner.poison(format!("retiring merged segments failed: {e}"), e))?;
    let removal_ms = removal_started.elapsed().as_millis() as u64;
    let removal_queued_bytes = trash.iter().map(|t| t.len_bytes).sum();
    // Close has begun and the remover is gone: remove them here.
    let step_bytes = remover::shrink_step_bytes(inner.opts.max_segment_size_bytes);
    for file in inner.remover.submit(trash) {
        inner.remover.remove_one(storage, file, step_bytes);
    }

    let mut summary = std::mem::take(&mut m.summary);
    summary.removal_ms = removal_ms;
    summary.removal_queued_bytes = removal_queued_bytes;
    summary.output_segments = marker.outputs;
    summary.output_bytes = m.outputs.iter().map(|o| o.len).sum();
    summary.duration_ms = started.elapsed().as_millis() as u64;
    Ok(summary)
}

/// Open, before anything else: finishes every committed merge (its marker
/// exists) and removes what uncommitted ones left: `.tmp` outputs and
/// markers, and hint files whose segment is gone. Each step is idempotent,
/// so a crash here is recovered from by opening again.
pub(crate) fn resolve_on_open(storage: &dyn Storage, stats: &mut RecoveryStats) -> Result<()> {
    let mut names = storage.list()?;
    names.sort();
    for name in &names {
        if !name.starts_with(MARKER_PREFIX) || name.ends_with(TMP_SUFFIX) {
            continue;
        }
        let path = storage.path().join(name);
        let file = storage.open_read(name)?;
        let len = usize::try_from(file.len_bytes()?).map_err(|_| Error::corruption(&path, 0, "marker too large"))?;
        let mut bytes = vec![0u8; len.min(1 << 24)];
        file.read_exact_at(&mut bytes, 0)?;
        drop(file);
        // The final name appears only after the marker was synced: damage
        // here is not a torn write, and guessing could lose data.
        let marker = Marker::decode(&bytes).ok_or_else(|| Error::corruption(&path, 0, "merge marker damaged"))?;
        let present: HashSet<String> = storage.list()?.into_iter().collect();
        for &id in &marker.outputs {
            let (tmp, seg) = (tmp_segment_name(id), segment::segment_file_name(id));
            if present.contains(&tmp) {
                storage.rename(&tmp, &seg)?;
            } else if !present.contains(&seg) {
                return Err(Error::corruption(&path, 0, format!("merge output segment {id} is missing")));
            }
        }
        storage.sync_dir()?;
        for &id in &marker.inputs {
            remove_if_exists(storage, &segment::hint_file_name(id))?;
            remove_if_exists(storage, &segment::segment_file_name(id))?;
        }
        storage.sync_dir()?;
        storage.remove(name)?;
        storage.sync_dir()?;
        stats.merges_completed_on_open += 1;
    }

    let names = storage.list()?;
    let segments: HashSet<u32> = names.iter().filter_map(|n| segment::parse_file_name(n, "seg")).collect();
    let mut removed = 0u64;
    for name in &names {
        let leftover = (name.starts_with(MARKER_PREFIX) && name.ends_with(TMP_SUFFIX))
            || name.strip_suffix(TMP_SUFFIX).and_then(|n| segment::parse_file_name(n, "seg")).is_some()
            || segment::parse_file_name(name, "hint").is_some_and(|id| !segments.contains(&id));
        if leftover {
            storage.remove(name)?;
            removed += 1;
        } else if segment::parse_trash_file_name(name).is_some() {
            // A merged input the remover did not get to (its merge is done:
            // the marker went after the rename). Not synced: should the
            // removal be lost, the next open removes it again.
            remove_if_exists(storage, name)?;
            stats.trash_files_removed += 1;
        }
    }
    if removed > 0 {
        storage.sync_dir()?;
        stats.incomplete_files_removed += removed;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A segment whose file handle someone else holds (a reader of its
    /// mapping) is not shrunk: a mapped file must not shrink under it.
    #[test]
    fn compact_input_held_by_a_reader_counts_as_shared() {
        let sim = crate::storage::SimStorage::new();
        sim.create("0000000003.seg").unwrap().write_all_at(&[0u8; 64], 0).unwrap();
        let reader = sim.open_read("0000000003.seg").unwrap();
        let seg = Arc::new(Segment::sealed(3, 3 << 16, reader.clone(), 64, segment::RecordTally::unknown()));
        assert!(!seg.file_unshared(), "the test still holds the reader");
        drop(reader);
        assert!(seg.file_unshared());
        let held = seg.clone();
        assert_eq!(Arc::strong_count(&seg), 2, "a reader's clone of the segment");
        drop(held);
        assert_eq!(Arc::strong_count(&seg), 1);
    }

    #[test]
    fn marker_round_trip_and_damage() {
        let m = Marker { inputs: vec![1, 2, 5], outputs: vec![9] };
        let b = m.encode();
        assert_eq!(Marker::decode(&b), Some(m.clone()));
        for cut in 0..b.len() {
            assert_eq!(Marker::decode(&b[..cut]), None, "cut {cut}");
        }
        for bit in 0..b.len() * 8 {
            let mut c = b.clone();
            c[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(Marker::decode(&c), None, "bit {bit}");
        }
        let empty = Marker { inputs: vec![3], outputs: vec![] };
        assert_eq!(Marker::decode(&empty.encode()), Some(empty));
    }

    /// A two-thread split lands on a record start, never inside a batch
    /// (whose inner records look like records too), and gives up on a
    /// header that does not decode.
    #[test]
    fn compact_split_lands_on_a_record_start_never_inside_a_batch() {
        let mut data = vec![0u8; segment::HEADER_LEN as usize];
        let put = |data: &mut Vec<u8>, k: &[u8]| {
            let at = data.len();
            record::encode(data, RecordKind::Put, 1, 0, k, b"value", usize::MAX);
            at
        };
        let first = put(&mut data, b"a");
        let mut inner = Vec::new();
        for k in [b"b", b"c", b"d"] {
            record::encode(&mut inner, RecordKind::Put, 2, 0, k, b"value", usize::MAX);
        }
        let batch = data.len();
        record::encode_batch(&mut data, 2, &inner);
        let after = put(&mut data, b"e");
        let end = data.len();
        assert_eq!(record_start_at_or_after(&data, 0), Some(first));
        assert_eq!(record_start_at_or_after(&data, first + 1), Some(batch));
        for target in batch + 1..=after {
            assert_eq!(record_start_at_or_after(&data, target), Some(after), "target {target}");
        }
        assert_eq!(record_start_at_or_after(&data, after + 1), Some(end));
        let mut broken = data.clone();
        broken[batch + 4] = 0xEE; // an unknown record kind
        assert_eq!(record_start_at_or_after(&broken, after), None);
    }

    #[test]
    fn leftover_names_are_recognised() {
        assert_eq!(tmp_segment_name(7), "0000000007.seg.tmp");
        assert_eq!(marker_name(7), "MERGE-0000000007");
        assert_eq!(segment::parse_file_name(tmp_segment_name(7).strip_suffix(TMP_SUFFIX).unwrap(), "seg"), Some(7));
    }
}
