//! The write path: appending records to the active segment, rotating it, and
//! group commit.
//!
//! All mutations serialise on one mutex ([`WriterState`]): a writer encodes
//! its records, appends them with one positional `write(2)` and applies them
//! to the index, then releases the mutex. Under [`Fsync::Always`] it then
//! waits in [`Inner::wait_durable`] for an fdatasync that covers its bytes:
//! the first waiter becomes the leader, syncs everything appended so far, and
//! wakes every follower it covered; while it syncs, new writers append and
//! gather behind the next leader. No lock that readers take is held across
//! the fsync.
//!
//! Visibility: a write is visible to readers once appended (before its
//! fsync), as in Redis; it is acknowledged to its writer only after the fsync
//! that covered it. If that fsync fails, every write it covered fails and the
//! database is poisoned.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use parking_lot::MutexGuard;

use crate::db::{Inner, Segment};
use crate::error::{Error, Result};
use crate::keydir::{Entry, Loc, ValueKind};
use crate::options::Fsync;
use crate::record::{self, RecordKind};
use crate::segment;
use crate::stats::Counters;
use crate::storage::WriteFile;
use crate::zset::UpdatePlan;

/// State owned by whoever holds the writer mutex.
pub(crate) struct WriterState {
    /// The active segment.
    pub active: Arc<dyn WriteFile>,
    /// Its id.
    pub active_id: u32,
    /// Next append offset in it.
    pub write_off: u64,
    /// Sequence number of the next record.
    pub next_seq: u64,
    /// Id the next new segment (rotation or merge output) takes.
    pub next_seg_id: u32,
    /// Records appended since open (for group-commit accounting).
    pub appended_writes: u64,
    /// The active segment's entry in the segment table (size accounting
    /// without taking the table lock on every append).
    pub active_seg: Arc<Segment>,
    /// Reused encode buffer: no allocation per write.
    pub scratch: Vec<u8>,
    /// Reused list of staged records.
    pub(crate) scratch_staged: Vec<Staged>,
    /// Where a `ZADD` plans its skiplist change (see
    /// [`WriteTxn::zset_plan`]); reused, since a plan is ~800 bytes.
    pub(crate) zset_plan: Box<UpdatePlan>,
}

impl WriterState {
    /// Position of the end of the log: ordered across segments.
    pub fn pos(&self) -> u64 {
        log_pos(self.active_id, self.write_off)
    }
}

/// Longest a group-commit leader waits for writers to gather (it also never
/// waits longer than the previous fsync took).
const GATHER_MAX: std::time::Duration = std::time::Duration::from_micros(200);

/// A totally ordered log position: segment id, then offset.
pub(crate) fn log_pos(seg: u32, off: u64) -> u64 {
    ((seg as u64) << 32) | off
}

/// Group-commit state.
#[derive(Default)]
pub(crate) struct SyncState {
    /// Everything before this log position is durable.
    pub synced_pos: u64,
    /// `appended_writes` at the last successful sync.
    pub synced_writes: u64,
    /// A leader is inside fdatasync.
    pub leader: bool,
    /// Writes the last fsync covered plus those appended while it ran: the
    /// group size the next leader expects to gather.
    pub expected_group: usize,
    /// Duration of the last fsync.
    pub last_sync: std::time::Duration,
}

/// A deferred in-memory update, run with the location of its record.
pub(crate) type ApplyFn = Box<dyn FnOnce(&Inner, Loc) + Send>;

/// What to do to the in-memory state once a staged record has its location.
pub(crate) enum Apply {
    /// The record's key now holds this string record.
    SetString { expire_at_ms: u64 },
    /// The record's key is gone (tombstone).
    RemoveKey,
    /// A sorted-set `ZAdd` record (value: score, then member) sets its
    /// member; the key's expiry if the set is created. No closure, so no
    /// allocation per `ZADD`.
    ZAdd { score: f64, expire_at_ms: u64 },
    /// Anything else, run with the record's location.
    Custom(ApplyFn),
}

pub(crate) struct Staged {
    start: usize,
    len: usize,
    apply: Apply,
}

/// A group of mutations made under the writer mutex and appended together;
/// more than one record is wrapped in an atomic batch record.
pub(crate) struct WriteTxn<'a> {
    pub inner: &'a Inner,
    ws: MutexGuard<'a, WriterState>,
    buf: Vec<u8>,
    staged: Vec<Staged>,
    /// Most records and bytes this transaction may stage (the options'
    /// batch limits unless raised with [`WriteTxn::raise_limits`]).
    max_ops: usize,
    max_bytes: usize,
    /// The writer's plan buffer holds a plan for the transaction's only
    /// record (see [`WriteTxn::zset_plan`]).
    zset_planned: bool,
    /// Staged records of a kind other than `Put` (for the segment's
    /// [`crate::segment::RecordTally`]).
    non_puts: u64,
}

impl<'a> WriteTxn<'a> {
    /// The buffer a `ZADD` plans its skiplist change into
    /// ([`crate::zset::ZSet::score_planning`]); call
    /// [`WriteTxn::use_zset_plan`] if it planned. The apply step of the
    /// staged `ZAdd` record then skips the skiplist descents, if that
    /// record is the transaction's only one; the skiplist re-plans a plan
    /// made stale by any change since.
    pub(crate) fn zset_plan(&mut self) -> &mut UpdatePlan {
        &mut self.ws.zset_plan
    }

    /// Marks the plan buffer as holding the plan of the last staged record.
    pub(crate) fn use_zset_plan(&mut self) {
        self.zset_planned = true;
    }

    /// Stages one record; `apply` runs after it is appended.
    pub fn stage(&mut self, kind: RecordKind, key: &[u8], value: &[u8], expire_at_ms: u64, apply: Apply) -> Result<()> {
        let opts = &self.inner.opts;
        if self.staged.len() >= self.max_ops {
            return Err(Error::BatchTooLarge { reason: format!("more than {} operations", self.max_ops) });
        }
        let start = self.buf.len();
        let seq = self.ws.next_seq;
        self.ws.next_seq += 1;
        // Sorted-set records stay uncompressed so their length follows from the
        // key and member lengths (a member's tag holds only its position).
        let threshold = if kind == RecordKind::Put { opts.compression_threshold_bytes } else { usize::MAX };
        let len = record::encode(&mut self.buf, kind, seq, expire_at_ms, key, value, threshold);
        if !self.staged.is_empty() && self.buf.len() > self.max_bytes {
            return Err(Error::BatchTooLarge { reason: format!("more than {} bytes", self.max_bytes) });
        }
        self.staged.push(Staged { start, len, apply });
        self.non_puts += (kind != RecordKind::Put) as u64;
        Ok(())
    }

    /// Stages a string put.
    pub fn put(&mut self, key: &[u8], value: &[u8], expire_at_ms: u64) -> Result<()> {
        self.inner.check_key(key)?;
        self.inner.check_value(value)?;
        self.stage(RecordKind::Put, key, value, expire_at_ms, Apply::SetString { expire_at_ms })
    }

    /// Stages a tombstone for `key` (of `kind` Delete or ExpireTombstone).
    pub fn tombstone(&mut self, key: &[u8], kind: RecordKind) -> Result<()> {
        self.inner.check_key(key)?;
        self.stage(kind, key, &[], 0, Apply::RemoveKey)
    }

    /// Raises this transaction's batch limits (never lowers them): commands
    /// that must write many records atomically (`ZUNIONSTORE`) use the
    /// format's ceilings rather than the options' batch limits.
    pub fn raise_limits(&mut self, max_ops: usize, max_bytes: usize) {
        self.max_ops = self.max_ops.max(max_ops);
        self.max_bytes = self.max_bytes.max(max_bytes);
    }

    /// Appends the staged records and applies them. Returns the log position
    /// that must be durable before acknowledging, or `None` if nothing was staged.
    pub fn commit(mut self) -> Result<Option<u64>> {
        if self.staged.is_empty() {
            self.ws.scratch = std::mem::take(&mut self.buf);
            return Ok(None);
        }
        let inner = self.inner;
        let ws = &mut *self.ws;
        let (off, base) = if self.staged.len() == 1 {
            (inner.append(ws, &self.buf)?, 0usize)
        } else {
            let mut outer = Vec::with_capacity(self.buf.len() + record::HEADER_LEN);
            let seq = ws.next_seq;
            ws.next_seq += 1;
            let base = record::encode_batch(&mut outer, seq, &self.buf);
            (inner.append(ws, &outer)?, base)
        };
        ws.appended_writes += 1;
        inner.appended_total.store(ws.appended_writes, Ordering::Release);
        // After `append`, which may have rotated: the segment written to.
        let frames = (base != 0) as u64;
        ws.active_seg.tally.add(self.staged.len() as u64 + frames, self.non_puts);
        let seg = ws.active_id;
        let pos = ws.pos();
        let mut zset_plan = (self.zset_planned && self.staged.len() == 1).then_some(&mut *ws.zset_plan);
        for s in self.staged.drain(..) {
            let loc = Loc { seg, off: (off + (base + s.start) as u64) as u32, len: s.len as u32 };
            let rec = &self.buf[s.start..s.start + s.len];
            let key_len = u32::from_le_bytes(rec[24..28].try_into().expect("4 bytes")) as usize;
            let (key, value) = rec[record::HEADER_LEN..].split_at(key_len);
            match s.apply {
                // A ZAdd record is never compressed: its member follows the score.
                Apply::ZAdd { score, expire_at_ms } => {
                    let member = value.get(8..).unwrap_or_default();
                    inner.zset_apply_add(key, member, score, expire_at_ms, loc, zset_plan.take());
                }
                apply => inner.apply(apply, key, loc),
            }
        }
        if base != 0 {
            // The batch header itself is dead weight from the start.
            inner.add_dead(seg, record::HEADER_LEN as u64);
        }
        self.buf.clear();
        ws.scratch = std::mem::take(&mut self.buf);
        ws.scratch_staged = std::mem::take(&mut self.staged);
        Ok(Some(pos))
    }
}

impl Inner {
    /// Starts a write transaction (takes the writer mutex).
    pub(crate) fn begin(&self) -> Result<WriteTxn<'_>> {
        let mut ws = self.writer.lock();
        self.check_writable()?;
        let mut buf = std::mem::take(&mut ws.scratch);
        buf.clear();
        let staged = std::mem::take(&mut ws.scratch_staged);
        Ok(WriteTxn {
            inner: self,
            ws,
            buf,
            staged,
            max_ops: self.opts.max_batch_ops,
            max_bytes: self.opts.max_batch_size_bytes,
            zset_planned: false,
            non_puts: 0,
        })
    }

    /// Starts a write transaction only if the writer mutex is free right now;
    /// `Ok(None)` if another writer holds it. For work a reader may do on the
    /// side (lazy expiry) without queueing behind writers.
    pub(crate) fn try_begin(&self) -> Result<Option<WriteTxn<'_>>> {
        let Some(ws) = self.writer.try_lock() else { return Ok(None) };
        self.check_writable()?;
        Ok(Some(WriteTxn {
            inner: self,
            ws,
            buf: Vec::new(),
            staged: Vec::new(),
            max_ops: self.opts.max_batch_ops,
            max_bytes: self.opts.max_batch_size_bytes,
            zset_planned: false,
            non_puts: 0,
        }))
    }

    /// Runs `f` in a write transaction, commits, and waits for durability as
    /// the fsync policy requires. Nothing is written if `f` fails.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&mut WriteTxn<'_>) -> Result<T>) -> Result<T> {
        let mut txn = self.begin()?;
        let out = f(&mut txn)?;
        let pos = txn.commit()?;
        if let (Some(pos), Fsync::Always) = (pos, self.opts.fsync) {
            // Marked here, not by the fsync leader: a merge's own sync (or
            // `Db::sync`) is no foreground commit to yield to.
            let _waiting = self.commit_activity.waiting();
            self.wait_durable(pos)?;
        }
        Ok(out)
    }

    /// Applies a committed record (whose key is `key`) to the in-memory state.
    pub(crate) fn apply(&self, apply: Apply, key: &[u8], loc: Loc) {
        match apply {
            Apply::SetString { expire_at_ms } => {
                let e = Entry { loc, kind: ValueKind::String, expire_at_ms };
                self.set_entry(key, e);
            }
            Apply::RemoveKey => {
                self.remove_entry(key);
                // A tombstone is garbage once older records are merged away.
                self.add_dead(loc.seg, loc.len as u64);
            }
            Apply::Custom(f) => f(self, loc),
            Apply::ZAdd { .. } => debug_assert!(false, "a ZAdd apply needs its record (WriteTxn::commit)"),
        }
    }

    /// Appends encoded bytes to the active segment, rotating first if they
    /// would not fit. Returns their offset. Any I/O error poisons.
    pub(crate) fn append(&self, ws: &mut WriterState, bytes: &[u8]) -> Result<u64> {
        self.check_writable()?;
        let end = ws.write_off + bytes.len() as u64;
        if end > self.opts.max_segment_size_bytes && ws.write_off > segment::HEADER_LEN {
            self.rotate(ws)?;
        }
        let off = ws.write_off;
        if let Err(e) = ws.active.write_all_at(bytes, off) {
            return Err(self.poison(format!("write to segment {} failed: {e}", ws.active_id), e));
        }
        ws.write_off += bytes.len() as u64;
        ws.active_seg.size_bytes.store(ws.write_off, std::sync::atomic::Ordering::Relaxed);
        Counters::add(&self.counters.writes, 1);
        Counters::add(&self.counters.written_bytes, bytes.len() as u64);
        Ok(off)
    }

    /// Seals the active segment (trim preallocation, fsync) and starts a new
    /// one (create, header, preallocate, fsync file, fsync directory).
    pub(crate) fn rotate(&self, ws: &mut WriterState) -> Result<()> {
        let old_id = ws.active_id;
        let sealed = (|| {
            ws.active.set_len(ws.write_off)?;
            ws.active.sync_data()
        })();
        if let Err(e) = sealed {
            return Err(self.poison(format!("sealing segment {old_id} failed: {e}"), e));
        }
        self.mark_synced(log_pos(old_id, ws.write_off), ws.appended_writes);
        let new_id = ws.next_seg_id;
        let file = match self.create_segment(new_id, segment::writer_order(new_id), self.opts.preallocate) {
            Ok(f) => f,
            Err(e) => return Err(self.poison(format!("creating segment {new_id} failed: {e}"), e)),
        };
        ws.next_seg_id += 1;
        let reader = match self.storage.open_read(&segment::segment_file_name(old_id)) {
            Ok(r) => r,
            Err(e) => return Err(self.poison(format!("reopening sealed segment {old_id} failed: {e}"), e)),
        };
        {
            let mut segs = self.segments.write();
            if let Some(old) = segs.get(&old_id) {
                let sealed = Arc::new(Segment::sealed(old_id, old.order, reader, ws.write_off, old.tally.snapshot()));
                sealed.dead_bytes.store(
                    old.dead_bytes.load(std::sync::atomic::Ordering::Relaxed),
                    std::sync::atomic::Ordering::Relaxed,
                );
                segs.insert(old_id, sealed);
            }
            let active = Arc::new(Segment::active(new_id, segment::writer_order(new_id), file.clone()));
            segs.insert(new_id, active.clone());
            ws.active_seg = active;
        }
        ws.active = file;
        ws.active_id = new_id;
        ws.write_off = segment::HEADER_LEN;
        Counters::add(&self.counters.rotations, 1);
        Ok(())
    }

    /// Creates a segment file with its header, durable (file and directory).
    pub(crate) fn create_segment(&self, id: u32, order: u64, preallocate: bool) -> std::io::Result<Arc<dyn WriteFile>> {
        let prealloc = preallocate.then_some(self.opts.max_segment_size_bytes);
        segment::create_file(self.storage.as_ref(), id, order, prealloc)
    }

    /// Records that an fsync made everything before `pos` durable.
    pub(crate) fn mark_synced(&self, pos: u64, appended_writes: u64) {
        let mut st = self.sync.lock();
        self.counters.record_fsync(appended_writes.saturating_sub(st.synced_writes));
        st.synced_pos = st.synced_pos.max(pos);
        self.synced_pos_hint.store(st.synced_pos, Ordering::Release);
        st.synced_writes = st.synced_writes.max(appended_writes);
        self.sync_cv.notify_all();
    }

    /// Blocks until the log up to `pos` is durable, syncing as leader when no
    /// other thread is. Errors when the covering fsync fails or the database
    /// is poisoned.
    pub(crate) fn wait_durable(&self, pos: u64) -> Result<()> {
        // While a leader is syncing, watch the synced position without the
        // mutex: woken through a condvar, followers would file through the
        // mutex one by one, and on few cores that serial hand-off is most of
        // the time between two fsyncs. Bounded; the locked path below decides.
        let spin_until = std::time::Instant::now() + GATHER_MAX * 5;
        while self.leader_active.load(Ordering::Acquire)
            && self.synced_pos_hint.load(Ordering::Acquire) < pos
            && std::time::Instant::now() < spin_until
        {
            std::thread::yield_now();
        }
        if self.synced_pos_hint.load(Ordering::Acquire) >= pos {
            return Ok(());
        }
        let mut st = self.sync.lock();
        loop {
            if st.synced_pos >= pos {
                return Ok(());
            }
            if let Some(why) = self.poison_reason() {
                return Err(Error::Poisoned(why));
            }
            if st.leader {
                self.sync_cv.wait(&mut st);
                continue;
            }
            st.leader = true;
            self.leader_active.store(true, Ordering::Release);
            // Group commit gathers everyone: the writers released by the
            // previous fsync need a few µs to append again; without waiting
            // for them, groups alternate between two halves of the writers
            // and each fsync carries half as much. Wait (bounded by the last
            // fsync's duration) until as many writes are pending as writers
            // were active last time. A single writer never waits.
            let expected = st.expected_group as u64;
            let synced_writes = st.synced_writes;
            let deadline = std::time::Instant::now() + st.last_sync.min(GATHER_MAX);
            drop(st);
            while self.appended_total.load(Ordering::Acquire) - synced_writes < expected
                && std::time::Instant::now() < deadline
            {
                std::thread::yield_now();
            }
            let (file, target, appended) = {
                let ws = self.writer.lock();
                (ws.active.clone(), ws.pos(), ws.appended_writes)
            };
            let started = std::time::Instant::now();
            let res = file.sync_data();
            st = self.sync.lock();
            st.leader = false;
            st.last_sync = started.elapsed();
            match res {
                Ok(()) => {
                    // Writers active now: those this fsync covered plus those
                    // that appended meanwhile.
                    let group = appended.saturating_sub(st.synced_writes);
                    let pending_after = self.appended_total.load(Ordering::Acquire).saturating_sub(appended);
                    st.expected_group = (group + pending_after) as usize;
                    self.counters.record_fsync(group);
                    st.synced_writes = st.synced_writes.max(appended);
                    st.synced_pos = st.synced_pos.max(target);
                    self.synced_pos_hint.store(st.synced_pos, Ordering::Release);
                }
                Err(e) => {
                    drop(self.poison(format!("fsync failed: {e}"), e));
                }
            }
            self.leader_active.store(false, Ordering::Release);
            self.sync_cv.notify_all();
        }
    }

    /// Makes everything appended so far durable (any policy).
    pub(crate) fn sync_now(&self) -> Result<()> {
        let pos = self.writer.lock().pos();
        self.wait_durable(pos)
    }

    /// Whether anything appended is not yet durable.
    pub(crate) fn has_unsynced(&self) -> bool {
        let pos = self.writer.lock().pos();
        self.sync.lock().synced_pos < pos
    }
}
