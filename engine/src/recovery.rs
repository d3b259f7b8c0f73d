//! Opening a database: rebuilding the index from the segments.
//!
//! Segments are replayed in ascending replay order (see [`crate::segment`]);
//! within a segment, records in file order. A record counts only if its full
//! length is present and its checksum matches. At the first bad record:
//!
//! - in the newest segment, if no valid record follows, it is a **torn
//!   tail** (the crash interrupted an append, or the space was preallocated
//!   and never written): the segment is truncated there and the bytes are
//!   counted in `RecoveryStats`;
//! - anywhere else it is damage: [`Error::Corruption`] naming file and
//!   offset, or, under `RecoveryMode::Salvage`, the damaged bytes are skipped
//!   up to the next valid record.
//!
//! Recovery only truncates files, removes empty ones and creates a fresh
//! active segment: each step is idempotent, so a crash during recovery is
//! recovered from by running it again (sled#851). It never writes a checksum.
//!
//! Whether damage in the newest segment is a torn tail depends on what
//! follows it, and truncating a torn tail removes some of that. So the
//! newest segment is replayed only up to the end it *settles* at (see
//! [`settled_end`]): the end a reopen of the truncated file keeps too.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use crate::db::Segment;
use crate::error::{Error, Result};
use crate::keydir::{Entry, KeyDir, Loc, ValueKind};
use crate::options::{Options, RecoveryMode};
use crate::record::{self, RecordKind, RecordRef};
use crate::segment::{self, RecordTally, SegmentHeader};
use crate::stats::RecoveryStats;
use crate::storage::{ReadFile, Storage};
use crate::writer::WriterState;

/// Everything open needs from recovery.
pub(crate) struct Recovered {
    pub keydir: KeyDir,
    pub segments: BTreeMap<u32, Arc<Segment>>,
    pub writer: WriterState,
    pub stats: RecoveryStats,
    pub zsets: crate::zset::store::ZSetStore,
}

/// Applies replayed records to the index being rebuilt.
pub(crate) struct Replayer {
    pub keydir: KeyDir,
    pub dead: HashMap<u32, u64>,
    pub now_ms: u64,
    pub max_seq: u64,
    pub records: u64,
    /// Sorted sets being rebuilt.
    pub zsets: crate::zset::store::ZReplay,
}

impl Replayer {
    fn dead(&mut self, seg: u32, bytes: u64) {
        *self.dead.entry(seg).or_default() += bytes;
    }

    fn replace(&mut self, key: &[u8], e: Option<Entry>) {
        let old = match e {
            Some(e) => self.keydir.insert_exclusive(key, e).ok().flatten(),
            None => self.keydir.remove_exclusive(key),
        };
        if let Some(old) = old {
            self.dead(old.loc.seg, old.loc.len as u64);
            if old.kind == ValueKind::ZSet {
                // Whatever replaced or deleted the key makes every older member record dead.
                self.zsets.dropped(key, &mut self.dead);
            }
        }
    }

    /// Applies one verified record found at `loc`.
    pub fn apply(&mut self, rec: &RecordRef<'_>, loc: Loc, file: &std::path::Path) -> Result<()> {
        self.max_seq = self.max_seq.max(rec.header.seq);
        self.records += 1;
        match rec.header.kind {
            RecordKind::Put => {
                let expire = rec.header.expire_at_ms;
                if expire != 0 && expire <= self.now_ms {
                    // Expired: the key is gone, and so is any older value (nutsdb#465).
                    self.replace(rec.key, None);
                    self.dead(loc.seg, loc.len as u64);
                } else {
                    self.replace(rec.key, Some(Entry { loc, kind: ValueKind::String, expire_at_ms: expire }));
                }
            }
            RecordKind::Delete | RecordKind::ExpireTombstone => {
                // Replaying a delete of a missing key is a no-op (nutsdb#431).
                self.replace(rec.key, None);
                self.dead(loc.seg, loc.len as u64);
            }
            RecordKind::Batch => {
                let body = rec.stored_value;
                let mut pos = 0usize;
                while pos < body.len() {
                    let inner = record::decode(&body[pos..]).map_err(|e| {
                        record::corruption(file, loc.off as u64 + (record::HEADER_LEN + pos) as u64, &e)
                    })?;
                    if inner.header.kind == RecordKind::Batch {
                        return Err(Error::corruption(file, loc.off as u64, "nested batch"));
                    }
                    let inner_loc =
                        Loc { seg: loc.seg, off: loc.off + (record::HEADER_LEN + pos) as u32, len: inner.len() as u32 };
                    self.apply(&inner, inner_loc, file)?;
                    pos += inner.len() as usize;
                }
                self.dead(loc.seg, record::HEADER_LEN as u64);
            }
            RecordKind::ZAdd | RecordKind::ZRem | RecordKind::KeyMeta => {
                use crate::zset::store::KeyEffect;
                let current = self.keydir.get_exclusive(rec.key);
                let effect = self
                    .zsets
                    .apply(rec, loc, current, &mut self.dead)
                    .map_err(|()| Error::corruption(file, loc.off as u64, "malformed sorted-set record"))?;
                match effect {
                    KeyEffect::None => {}
                    KeyEffect::Set(e) => self.replace(rec.key, Some(e)),
                    KeyEffect::Meta(e) => {
                        let _ = self.keydir.insert_exclusive(rec.key, e);
                    }
                    KeyEffect::Remove => {
                        self.keydir.remove_exclusive(rec.key);
                    }
                }
            }
        }
        Ok(())
    }
}

/// Adds `rec` to `counts` (records, records other than `Put`s), as a
/// [`RecordTally`] counts: a batch is its frame plus its inner records.
fn count_record(rec: &RecordRef<'_>, counts: &mut (u64, u64)) {
    counts.0 += 1;
    if rec.header.kind != RecordKind::Batch {
        counts.1 += (rec.header.kind != RecordKind::Put) as u64;
        return;
    }
    // Replay decoded every inner record already: only their headers are read.
    let body = rec.stored_value;
    let mut pos = 0usize;
    while let Some(h) = body.get(pos..).and_then(|b| record::decode_header(b).ok()) {
        counts.0 += 1;
        counts.1 += (h.kind != RecordKind::Put) as u64;
        pos += h.record_len() as usize;
    }
}

/// One segment file found on disk.
struct Found {
    id: u32,
    order: u64,
    reader: Arc<dyn ReadFile>,
    len: u64,
}

fn read_all(reader: &dyn ReadFile, len: u64) -> Result<std::borrow::Cow<'_, [u8]>> {
    if let Some(s) = reader.as_slice() {
        return Ok(std::borrow::Cow::Borrowed(s));
    }
    let mut buf = vec![0u8; len as usize];
    reader.read_exact_at(&mut buf, 0)?;
    Ok(std::borrow::Cow::Owned(buf))
}

/// Finds the first offset in `start..limit` where a valid record begins.
fn next_valid(data: &[u8], start: usize, limit: usize) -> Option<usize> {
    (start..limit).find(|&o| record::decode(&data[o..limit]).is_ok())
}

/// Whether the damage at `off`, in the newest segment, is a batch torn by
/// the crash: its inner records are complete records of their own, so a
/// torn batch leaves "valid records after the damage" behind that are not
/// later writes. Found by the kill -9 loop (a `memcpy` into a mapping stores
/// the first bytes of the destination last; a `write(2)` or a power cut
/// tears at any page boundary).
///
/// It is one when every valid record after `off` belongs to the contiguous
/// run of non-batch records starting right after a batch header at `off`,
/// and that run visibly stops short of the batch or is its end: bytes after
/// it that do not decode (a partial inner record), or the header's own
/// length reaching to or past the end of the written data. A damaged batch
/// followed by later writes does not qualify: the run continues into them,
/// past the batch's stated length, and ends where the data ends.
fn is_torn_batch(data: &[u8], off: usize, nonzero_end: usize) -> bool {
    let le32 = |at: usize| data.get(at..at + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
    // Raw fields: the checksum, kind and flags may be what is missing.
    if le32(off + 24) != Some(0) {
        return false; // a batch has no key
    }
    let claimed_end = le32(off + 28).map(|v| off + record::HEADER_LEN + v);
    let mut end = off + record::HEADER_LEN;
    while end < nonzero_end {
        match record::decode(&data[end..nonzero_end]) {
            Ok(rec) if rec.header.kind != RecordKind::Batch => end += rec.len() as usize,
            _ => break,
        }
    }
    if end == off + record::HEADER_LEN || next_valid(data, end + 1, nonzero_end).is_some() {
        return false;
    }
    // A batch that is the last thing written and complete but for its
    // header is treated like any last record with a bad checksum: torn.
    end < nonzero_end || claimed_end.is_some_and(|c| c >= nonzero_end && c >= end)
}

/// What scanning one segment's bytes found besides its records.
#[derive(Default)]
struct Scanned {
    /// End of the last valid record: where the newest segment is cut.
    valid_end: usize,
    torn_tail_bytes: u64,
    zero_tail_bytes: u64,
    salvaged_bytes: u64,
}

/// Walks the records of one segment's bytes in file order, calling
/// `on_record(record, offset)` for each valid one, and applies the rules for
/// a bad record (module docs): torn tail, corruption, or a salvage skip.
fn scan(
    data: &[u8],
    is_newest: bool,
    mode: RecoveryMode,
    path: &std::path::Path,
    mut on_record: impl FnMut(&RecordRef<'_>, usize) -> Result<()>,
) -> Result<Scanned> {
    // Everything past the last non-zero byte is unwritten space.
    let nonzero_end = data.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1).max(segment::HEADER_LEN as usize);
    let mut off = segment::HEADER_LEN as usize;
    let mut s = Scanned { valid_end: off, ..Scanned::default() };
    while off < data.len() {
        if off >= nonzero_end {
            s.zero_tail_bytes += (data.len() - off) as u64;
            break;
        }
        match record::decode(&data[off..]) {
            Ok(rec) => {
                on_record(&rec, off)?;
                off += rec.len() as usize;
                s.valid_end = off;
            }
            Err(e) => match next_valid(data, off + 1, nonzero_end) {
                None if is_newest => {
                    s.torn_tail_bytes += (nonzero_end - off) as u64;
                    s.zero_tail_bytes += (data.len() - nonzero_end) as u64;
                    break;
                }
                // A zero header in the newest segment is space that was
                // never written: an append that did not complete (a power
                // cut losing the page holding its head, or a copy cut
                // short). Whatever follows was written no earlier than it,
                // so it was never acknowledged under `Always` (an fsync
                // covering it would have covered this too), and under the
                // other policies a prefix is what survives. Bit rot does
                // not zero 32 aligned bytes; sealed segments stay strict.
                Some(_) if is_newest && e == record::DecodeError::Zero => {
                    s.torn_tail_bytes += (nonzero_end - off) as u64;
                    s.zero_tail_bytes += (data.len() - nonzero_end) as u64;
                    break;
                }
                Some(_) if is_newest && is_torn_batch(data, off, nonzero_end) => {
                    s.torn_tail_bytes += (nonzero_end - off) as u64;
                    s.zero_tail_bytes += (data.len() - nonzero_end) as u64;
                    break;
                }
                _ if mode == RecoveryMode::Strict => {
                    return Err(record::corruption(path, off as u64, &e));
                }
                None => {
                    s.salvaged_bytes += (nonzero_end - off) as u64;
                    break;
                }
                Some(next) => {
                    s.salvaged_bytes += (next - off) as u64;
                    off = next;
                }
            },
        }
    }
    Ok(s)
}

/// The length the newest segment keeps: the first `end` (going down from
/// the file length) at which scanning `data[..end]` cuts nothing more.
///
/// One scan is not enough under Salvage: a damaged record skipped because
/// valid records follow it can become a torn tail once a later torn tail is
/// truncated away, so the next open would cut there and lose what the skip
/// kept (found by the recovery_open fuzzer: a damaged batch header whose
/// inner record was replayed, then dropped after a power cut and reopen).
/// Without a skip everything before the cut is valid records, which read
/// the same after the cut; so Strict, and undamaged segments, scan once.
fn settled_end(data: &[u8], mode: RecoveryMode, path: &std::path::Path) -> Result<usize> {
    let mut end = data.len();
    loop {
        let s = scan(&data[..end], true, mode, path, |_, _| Ok(()))?;
        // `valid_end` only shrinks, so this ends.
        if s.valid_end >= end || s.salvaged_bytes == 0 {
            return Ok(s.valid_end);
        }
        end = s.valid_end;
    }
}

/// Rebuilds the index from the directory.
pub(crate) fn recover(storage: &dyn Storage, opts: &Options) -> Result<Recovered> {
    let mut stats = RecoveryStats::default();
    crate::compaction::resolve_on_open(storage, &mut stats)?;
    let names = storage.list()?;
    let mut ids: Vec<u32> = names.iter().filter_map(|n| segment::parse_file_name(n, "seg")).collect();
    ids.sort_unstable();
    let max_id = ids.last().copied().unwrap_or(0);
    let path_of = |id: u32| -> PathBuf { storage.path().join(segment::segment_file_name(id)) };

    let mut found = Vec::new();
    for &id in &ids {
        let name = segment::segment_file_name(id);
        let reader = storage.open_read(&name)?;
        let len = reader.len_bytes()?;
        let mut head = [0u8; segment::HEADER_LEN as usize];
        let header = if len >= segment::HEADER_LEN {
            reader.read_exact_at(&mut head, 0)?;
            SegmentHeader::decode(&head, &path_of(id))
        } else {
            Err(Error::corruption(path_of(id), 0, "segment shorter than its header"))
        };
        match header {
            Ok(h) if h.id == id => found.push(Found { id, order: h.order, reader, len }),
            Ok(_) => return Err(Error::corruption(path_of(id), 12, "segment id differs from file name")),
            // A crash while creating the newest segment can leave it without a
            // durable header (bitcask#136); it holds no record, so drop it.
            Err(_) if id == max_id && head[8..].iter().all(|&b| b == 0) => {
                drop(reader);
                storage.remove(&name)?;
                storage.sync_dir()?;
                stats.incomplete_files_removed += 1;
            }
            Err(e) => return Err(e),
        }
    }
    found.sort_by_key(|f| (f.order, f.id));

    // Size the keydir once for the keys the hint files announce, instead of
    // rehashing it over and over while millions of entries arrive, and hash
    // with the seed the largest hint is ordered by, so its entries arrive
    // in table order (see `hint`).
    let hinted: Vec<crate::hint::HintHeaderInfo> =
        found.iter().filter_map(|f| crate::hint::header_info(storage, f.id)).collect();
    let hinted_puts: u64 = hinted.iter().map(|h| h.puts).sum();
    let keydir = match hinted.iter().max_by_key(|h| h.puts) {
        Some(h) => KeyDir::with_seed(h.seed),
        None => opts.hash_seed.map_or_else(KeyDir::new, KeyDir::with_seed),
    };
    let mut rp = Replayer {
        keydir,
        dead: HashMap::new(),
        now_ms: opts.clock.now_ms(),
        max_seq: 0,
        records: 0,
        zsets: Default::default(),
    };
    rp.keydir.reserve(hinted_puts as usize);
    // The torn-tail allowance belongs to the newest segment that keeps any
    // record. Segments after it hold nothing (a crash right after creating
    // them, or during their first append) and are removed; treating such an
    // empty file as "newest" would turn the real newest segment's torn tail
    // into corruption.
    let mut empty_after = Vec::new();
    while let Some(last) = found.last() {
        let data = read_all(last.reader.as_ref(), last.len)?;
        let start = segment::HEADER_LEN as usize;
        let nonzero_end = data.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
        // A segment that would be cut back to its header (nothing but a torn
        // tail) counts as nothing too: else the allowance would move to the
        // previous segment only on the next open (after this one truncated
        // and removed the file), and a damaged batch there would be read
        // differently by the two opens (found by the recovery_open fuzzer).
        // A valid first record is always kept, so the scan is rarely needed.
        if data.get(start..).is_some_and(|d| record::decode(d).is_ok())
            || settled_end(&data, opts.recovery, &path_of(last.id))? > start
        {
            break;
        }
        if nonzero_end > start {
            stats.torn_tail_bytes_truncated += (nonzero_end - start) as u64;
            stats.zero_tail_bytes_trimmed += (data.len() - nonzero_end) as u64;
        }
        drop(data);
        empty_after.push(found.pop().map(|f| f.id).unwrap_or_default());
    }
    for id in empty_after {
        storage.remove(&segment::segment_file_name(id))?;
        storage.sync_dir()?;
        stats.incomplete_files_removed += 1;
    }
    let newest = found.last().map(|f| f.id);
    let mut newest_valid_end = None;
    // The record tally of each segment replayed by scanning.
    let mut tallies: HashMap<u32, RecordTally> = HashMap::new();
    std::thread::scope(|scope| -> Result<()> {
        // Hints are read and validated one segment ahead in a second
        // thread: a cold open then reads the next hint from disk while the
        // previous one is replayed. The channel holds one checked hint, so
        // at most two hints are in memory at once.
        // Without any hint file there is nothing to read ahead: no thread.
        let seed = rp.keydir.seed();
        let ahead = (!hinted.is_empty()).then(|| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Result<crate::hint::Checked>>(1);
            let ahead: Vec<(u32, u64, Arc<dyn ReadFile>, u64)> =
                found.iter().map(|f| (f.id, f.order, f.reader.clone(), f.len)).collect();
            let checker = scope.spawn(move || {
                for (id, order, reader, len) in ahead {
                    // A send fails only when the replay stopped early (an error).
                    if tx.send(crate::hint::check(storage, id, order, reader.as_ref(), len, seed)).is_err() {
                        break;
                    }
                }
            });
            (rx, checker)
        });
        let (rx, checker) = match ahead {
            Some((rx, checker)) => (Some(rx), Some(checker)),
            None => (None, None),
        };
        let replayed = (|| -> Result<()> {
            for f in &found {
                let path = path_of(f.id);
                let is_newest = Some(f.id) == newest;
                let removed = &mut stats.incomplete_files_removed;
                let checked = match &rx {
                    Some(rx) => rx.recv().map_err(|_| Error::Internal("hint checker stopped".into()))??,
                    None => crate::hint::check(storage, f.id, f.order, f.reader.as_ref(), f.len, seed)?,
                };
                if crate::hint::apply_checked(storage, f.id, f.len, checked, &mut rp, removed)? {
                    stats.segments_from_hints += 1;
                    if is_newest {
                        newest_valid_end = Some(f.len);
                    }
                    continue;
                }
                let data = read_all(f.reader.as_ref(), f.len)?;
                stats.segments_scanned += 1;
                // The newest segment replays only what it keeps (`settled_end`); the
                // bytes after that are counted as the torn tail they are. This costs
                // one read-only scan more, under Salvage only: Strict never skips,
                // so its single scan already ends where a reopen would.
                let (data, cut): (&[u8], &[u8]) = if is_newest && opts.recovery == RecoveryMode::Salvage {
                    data.split_at(settled_end(&data, opts.recovery, &path)?)
                } else {
                    (&data, &[])
                };
                let cut_nonzero = cut.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
                let mut counts = (0u64, 0u64);
                let s = scan(data, is_newest, opts.recovery, &path, |rec, off| {
                    rp.apply(rec, Loc { seg: f.id, off: off as u32, len: rec.len() as u32 }, &path)?;
                    count_record(rec, &mut counts);
                    Ok(())
                })?;
                // A skipped stretch may have held anything.
                let tally =
                    if s.salvaged_bytes == 0 { RecordTally::known(counts.0, counts.1) } else { RecordTally::unknown() };
                tallies.insert(f.id, tally);
                stats.torn_tail_bytes_truncated += s.torn_tail_bytes + cut_nonzero as u64;
                stats.zero_tail_bytes_trimmed += s.zero_tail_bytes + (cut.len() - cut_nonzero) as u64;
                stats.salvaged_bytes_skipped += s.salvaged_bytes;
                let valid_end = s.valid_end;
                if is_newest {
                    newest_valid_end = Some(valid_end as u64);
                }
            }
            Ok(())
        })();
        // Join the checker explicitly (the scope's implicit wait returns
        // before a thread's thread-local destructors have run, which leak
        // checkers report); dropping the receiver first ends it early on an
        // error.
        drop(rx);
        if let Some(checker) = checker {
            checker.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        }
        replayed
    })?;
    stats.records_replayed = rp.records;
    // Sets whose expiry passed while the database was closed are gone.
    for key in rp.zsets.store.keys() {
        if rp.keydir.get_exclusive(&key).is_some_and(|e| e.kind == ValueKind::ZSet && e.is_expired(rp.now_ms)) {
            rp.replace(&key, None);
            rp.zsets.store.mark_purged(&key);
        }
    }

    // Seal the newest segment at its valid end, or drop it if it holds nothing.
    // Segments loaded from hints were not counted record by record.
    let mut tally_of = |id: u32| tallies.remove(&id).unwrap_or_else(RecordTally::unknown);
    let mut segments = BTreeMap::new();
    for f in found {
        let name = segment::segment_file_name(f.id);
        let mut size = f.len;
        if Some(f.id) == newest {
            let end = newest_valid_end.unwrap_or(segment::HEADER_LEN);
            drop(f.reader);
            if end <= segment::HEADER_LEN {
                storage.remove(&name)?;
                storage.sync_dir()?;
                stats.incomplete_files_removed += 1;
                continue;
            }
            if end < f.len {
                let w = storage.open_write(&name)?;
                w.set_len(end)?;
                w.sync_data()?;
            }
            size = end;
            let reader = storage.open_read(&name)?;
            let seg = Segment::sealed(f.id, f.order, reader, size, tally_of(f.id));
            segments.insert(f.id, seg);
        } else {
            segments.insert(f.id, Segment::sealed(f.id, f.order, f.reader, size, tally_of(f.id)));
        }
    }
    let segments: BTreeMap<u32, Arc<Segment>> = segments
        .into_iter()
        .map(|(id, s)| {
            s.dead_bytes.store(rp.dead.get(&id).copied().unwrap_or(0), std::sync::atomic::Ordering::Relaxed);
            (id, Arc::new(s))
        })
        .collect();

    // A fresh active segment after everything that exists or existed.
    let active_id = max_id.checked_add(1).ok_or_else(|| Error::Internal("segment ids exhausted".into()))?;
    let prealloc = opts.preallocate.then_some(opts.max_segment_size_bytes);
    let active = segment::create_file(storage, active_id, segment::writer_order(active_id), prealloc)?;
    let mut segments = segments;
    let active_seg = Arc::new(Segment::active(active_id, segment::writer_order(active_id), active.clone()));
    segments.insert(active_id, active_seg.clone());

    Ok(Recovered {
        keydir: rp.keydir,
        segments,
        writer: WriterState {
            active,
            active_id,
            write_off: segment::HEADER_LEN,
            next_seq: rp.max_seq + 1,
            next_seg_id: active_id + 1,
            appended_writes: 0,
            active_seg,
            scratch: Vec::new(),
            scratch_staged: Vec::new(),
            zset_plan: Box::new(crate::zset::UpdatePlan::new()),
        },
        stats,
        zsets: rp.zsets.store,
    })
}
