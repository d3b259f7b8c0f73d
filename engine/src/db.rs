//! The database handle: [`Db`] and its shared state.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex, RwLock};

use crate::batch::{BatchOp, WriteBatch};
use crate::error::{Error, Result};
use crate::keydir::{Entry, KeyDir, Loc, ValueKind, SHARDS};
use crate::options::{Fsync, Options};
use crate::record::{self, RecordKind};
use crate::segment;
use crate::stats::{Counters, RecoveryStats, SegmentStats, Stats};
use crate::storage::{FsStorage, LockGuard, ReadFile, Storage, WriteFile};
use crate::writer::{SyncState, WriterState};

/// How a segment is read.
pub(crate) enum SegmentFile {
    /// Being appended to: positional reads on the write handle.
    Active(Arc<dyn WriteFile>),
    /// Immutable: memory-mapped on the real file system.
    Sealed(Arc<dyn ReadFile>),
}

/// One segment known to the database.
pub(crate) struct Segment {
    pub id: u32,
    pub order: u64,
    pub file: SegmentFile,
    pub size_bytes: AtomicU64,
    pub dead_bytes: AtomicU64,
    /// The kinds of records it holds (for the merge).
    pub tally: segment::RecordTally,
}

impl Segment {
    pub fn active(id: u32, order: u64, file: Arc<dyn WriteFile>) -> Segment {
        Segment {
            id,
            order,
            file: SegmentFile::Active(file),
            size_bytes: AtomicU64::new(segment::HEADER_LEN),
            dead_bytes: AtomicU64::new(0),
            tally: segment::RecordTally::known(0, 0),
        }
    }

    pub fn sealed(
        id: u32,
        order: u64,
        file: Arc<dyn ReadFile>,
        size_bytes: u64,
        tally: segment::RecordTally,
    ) -> Segment {
        Segment {
            id,
            order,
            file: SegmentFile::Sealed(file),
            size_bytes: AtomicU64::new(size_bytes),
            dead_bytes: AtomicU64::new(0),
            tally,
        }
    }

    /// Whether no one but this segment holds its file handle (so when the
    /// last reference to the segment goes, so does its mapping).
    pub fn file_unshared(&self) -> bool {
        match &self.file {
            SegmentFile::Active(w) => Arc::strong_count(w) == 1,
            SegmentFile::Sealed(r) => Arc::strong_count(r) == 1,
        }
    }

    /// Reads `len` bytes at `off`, zero-copy when mapped.
    fn read(&self, off: u64, len: usize, f: &mut dyn FnMut(&[u8]) -> Result<()>) -> std::io::Result<Result<()>> {
        let file: &dyn ReadFile = match &self.file {
            SegmentFile::Active(w) => w.as_ref(),
            SegmentFile::Sealed(r) => r.as_ref(),
        };
        if let Some(map) = file.as_slice() {
            let start = off as usize;
            let bytes = map.get(start..start + len).ok_or(std::io::ErrorKind::UnexpectedEof)?;
            return Ok(f(bytes));
        }
        let mut buf = vec![0u8; len];
        file.read_exact_at(&mut buf, off)?;
        Ok(f(&buf))
    }
}

/// State shared by the handle and its background threads.
pub(crate) struct Inner {
    pub storage: Arc<dyn Storage>,
    pub opts: Options,
    pub keydir: KeyDir,
    pub segments: RwLock<BTreeMap<u32, Arc<Segment>>>,
    pub writer: Mutex<WriterState>,
    pub sync: Mutex<SyncState>,
    pub sync_cv: Condvar,
    poison: Mutex<Option<String>>,
    poisoned: AtomicBool,
    closed: AtomicBool,
    pub counters: Counters,
    /// Mirror of `WriterState::appended_writes`, readable without the writer lock.
    pub appended_total: AtomicU64,
    /// Mirror of `SyncState::synced_pos`, readable without the sync mutex.
    pub synced_pos_hint: AtomicU64,
    /// A group-commit leader is inside fdatasync.
    pub leader_active: AtomicBool,
    /// When an `Fsync::Always` write last committed: merges write in small,
    /// paced pieces, with one thread, while such commits run (see
    /// `merge_writer`).
    pub(crate) commit_activity: Arc<crate::merge_writer::CommitActivity>,
    pub recovery: Mutex<RecoveryStats>,
    shutdown: Mutex<bool>,
    shutdown_cv: Condvar,
    lock: Mutex<Option<LockGuard>>,
    pub compaction: crate::compaction::CompactionState,
    /// Removes merged inputs in the background (see `remover`).
    pub remover: crate::remover::RemoverState,
    /// Members of every sorted-set key (see `zset::store`).
    pub zsets: crate::zset::store::ZSetStore,
    /// Where the active expiry cycle resumes.
    pub expiry: crate::expiry::ExpiryState,
}

/// Outcome of [`Inner::read_record`]: the segment vanished under us
/// (compaction removed it), so the caller retries its lookup.
pub(crate) enum ReadOutcome<T> {
    Done(T),
    SegmentGone,
}

impl Inner {
    /// Fails with `Closed` or `Poisoned` if writes are not allowed.
    pub fn check_writable(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        if let Some(why) = self.poison_reason() {
            return Err(Error::Poisoned(why));
        }
        Ok(())
    }

    /// Fails with `Closed` after close.
    pub fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    /// The poison message, if poisoned.
    pub fn poison_reason(&self) -> Option<String> {
        if self.poisoned.load(Ordering::Acquire) {
            self.poison.lock().clone()
        } else {
            None
        }
    }

    /// Poisons the handle and returns the error for the failing call.
    pub fn poison(&self, why: String, e: std::io::Error) -> Error {
        let mut p = self.poison.lock();
        if p.is_none() {
            *p = Some(why);
        }
        self.poisoned.store(true, Ordering::Release);
        self.sync_cv.notify_all();
        Error::Io(e)
    }

    /// Checks a key against the limits.
    pub fn check_key(&self, key: &[u8]) -> Result<()> {
        if key.is_empty() || key.len() > self.opts.max_key_size_bytes {
            return Err(Error::KeyTooLarge { size_bytes: key.len(), limit_bytes: self.opts.max_key_size_bytes });
        }
        Ok(())
    }

    /// Checks a value against the limits.
    pub fn check_value(&self, value: &[u8]) -> Result<()> {
        if value.len() > self.opts.max_value_size_bytes {
            return Err(Error::ValueTooLarge { size_bytes: value.len(), limit_bytes: self.opts.max_value_size_bytes });
        }
        Ok(())
    }

    /// Current time for TTLs.
    pub fn now_ms(&self) -> u64 {
        self.opts.clock.now_ms()
    }

    /// Counts `bytes` of segment `seg` as dead.
    pub fn add_dead(&self, seg: u32, bytes: u64) {
        if let Some(s) = self.segments.read().get(&seg) {
            s.dead_bytes.fetch_add(bytes, Ordering::Relaxed);
        }
    }

    /// Points `key` at `e`, counting whatever it replaced as dead.
    pub fn set_entry(&self, key: &[u8], e: Entry) {
        match self.keydir.insert(key, e) {
            Ok(Some(old)) => self.on_replaced(key, old),
            Ok(None) => {}
            // Unreachable below 4 GiB of keys per shard; the record is durable
            // and will be indexed on the next open.
            Err(_) => debug_assert!(false, "keydir shard full"),
        }
    }

    /// Drops `key` from the index, counting its record as dead.
    pub fn remove_entry(&self, key: &[u8]) -> Option<Entry> {
        let old = self.keydir.remove(key)?;
        self.on_replaced(key, old);
        Some(old)
    }

    fn on_replaced(&self, key: &[u8], old: Entry) {
        match old.kind {
            ValueKind::String => self.add_dead(old.loc.seg, old.loc.len as u64),
            ValueKind::ZSet => self.zset_dropped(key, old),
        }
    }

    /// Whether the non-tombstone record `rec` at `loc` is still the newest
    /// word on its key (compaction copies exactly these). Tombstones are the
    /// compaction's business: see `docs/design.md`.
    pub fn is_live(&self, rec: &record::RecordRef<'_>, loc: Loc) -> bool {
        match rec.header.kind {
            RecordKind::Put => self.keydir.get(rec.key).is_some_and(|e| e.kind == ValueKind::String && e.loc == loc),
            // Sorted-set records: decided by the sorted-set layer (a ZRem is
            // a tombstone and never live).
            RecordKind::ZAdd | RecordKind::ZRem | RecordKind::KeyMeta => self.zset_is_live(rec, loc),
            RecordKind::Delete | RecordKind::ExpireTombstone | RecordKind::Batch => false,
        }
    }

    /// Points the in-memory state at `to` instead of `from` for the record
    /// `rec`, only if it still points at `from` (a newer write wins).
    /// Returns whether it moved.
    pub fn relocate(&self, rec: &record::RecordRef<'_>, from: Loc, to: Loc) -> bool {
        match rec.header.kind {
            RecordKind::Put => self.keydir.update_loc_if(rec.key, from, to),
            RecordKind::ZAdd | RecordKind::KeyMeta => self.zset_relocate(rec, from, to),
            _ => false,
        }
    }

    /// Reads and verifies the record at `loc`, passing it to `f`.
    pub fn read_record<T>(
        &self,
        loc: Loc,
        f: impl FnOnce(record::RecordRef<'_>) -> Result<T>,
    ) -> Result<ReadOutcome<T>> {
        let Some(seg) = self.segments.read().get(&loc.seg).cloned() else {
            return Ok(ReadOutcome::SegmentGone);
        };
        Counters::add(&self.counters.reads, 1);
        Counters::add(&self.counters.read_bytes, loc.len as u64);
        let mut out = None;
        let mut f = Some(f);
        let path = self.storage.path().join(segment::segment_file_name(loc.seg));
        let io = seg.read(loc.off as u64, loc.len as usize, &mut |bytes| {
            let rec = record::decode(bytes).map_err(|e| record::corruption(&path, loc.off as u64, &e))?;
            if rec.len() != loc.len as u64 {
                return Err(Error::corruption(&path, loc.off as u64, "record length differs from index"));
            }
            let f = f.take().ok_or_else(|| Error::Internal("read callback reused".into()))?;
            out = Some(f(rec)?);
            Ok(())
        });
        match io {
            Ok(r) => r?,
            Err(e) => return Err(Error::Io(e)),
        }
        out.map(ReadOutcome::Done).ok_or_else(|| Error::Internal("read produced nothing".into()))
    }

    /// The string value of `key` (with its entry), honouring expiry. `None`
    /// when missing or expired; `WrongType` for a non-string key.
    pub fn get_string(&self, key: &[u8]) -> Result<Option<(Vec<u8>, Entry)>> {
        self.check_key(key)?;
        // A lookup races only with compaction moving the record; a few
        // retries always succeed because a move is published before its
        // source segment is dropped.
        for _ in 0..64 {
            let Some(e) = self.keydir.get(key) else { return Ok(None) };
            if self.expired(&e) {
                return Ok(None);
            }
            if e.kind != ValueKind::String {
                return Err(Error::WrongType);
            }
            let max = self.opts.max_value_size_bytes.max(crate::options::MAX_VALUE_SIZE_BYTES);
            // Built only for an error: a path is an allocation per read.
            let path = || self.storage.path().join(segment::segment_file_name(e.loc.seg));
            match self.read_record(e.loc, |rec| {
                if rec.header.kind != RecordKind::Put || rec.key != key {
                    return Err(Error::corruption(path(), e.loc.off as u64, "index points at a different record"));
                }
                rec.value(max).map_err(|err| record::corruption(&path(), e.loc.off as u64, &err))
            })? {
                ReadOutcome::Done(v) => return Ok(Some((v, e))),
                ReadOutcome::SegmentGone => continue,
            }
        }
        Err(Error::Internal("record kept moving during read".into()))
    }

    /// The live entry of `key` at `now_ms`, or `None` if missing or expired.
    pub fn live_entry(&self, key: &[u8], now_ms: u64) -> Option<Entry> {
        self.keydir.get(key).filter(|e| !e.is_expired(now_ms))
    }

    /// Whether entry `e` has expired by now. The clock is read only for an
    /// entry with an expiry: most keys have none, and a clock read (a
    /// virtual call and `clock_gettime`) is ~5 % of a cached read.
    pub fn expired(&self, e: &Entry) -> bool {
        e.expire_at_ms != 0 && e.is_expired(self.now_ms())
    }

    /// [`Inner::live_entry`] now, reading the clock only if needed (see
    /// [`Inner::expired`]).
    pub fn live_entry_now(&self, key: &[u8]) -> Option<Entry> {
        self.keydir.get(key).filter(|e| !self.expired(e))
    }

    /// Blocks up to `timeout` or until shutdown; returns true on shutdown.
    pub fn sleep_or_shutdown(&self, timeout: Duration) -> bool {
        let mut down = self.shutdown.lock();
        if !*down {
            self.shutdown_cv.wait_for(&mut down, timeout);
        }
        *down
    }
}

/// A libkv database. Thread-safe: share it (`&Db` or `Arc<Db>`) between
/// threads freely. Closed on drop.
pub struct Db {
    pub(crate) inner: Arc<Inner>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Db>();
};

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("path", &self.inner.storage.path()).finish_non_exhaustive()
    }
}

impl Db {
    /// Opens (creating if needed) the database in directory `dir`.
    ///
    /// Fails with [`Error::Locked`] if another handle, in this process or
    /// another, has it open; with [`Error::Corruption`] if a record other than
    /// a torn tail is damaged (unless `options.recovery` is `Salvage`).
    pub fn open(dir: impl AsRef<Path>, options: Options) -> Result<Db> {
        Db::open_with_storage(Arc::new(FsStorage::new(dir.as_ref())), options)
    }

    /// Opens a database on any [`Storage`] (the simulated one in tests).
    pub fn open_with_storage(storage: Arc<dyn Storage>, options: Options) -> Result<Db> {
        options.validate()?;
        storage.create_dir_all()?;
        let lock = storage.lock(segment::LOCK_FILE).map_err(|e| {
            if e.kind() == std::io::ErrorKind::WouldBlock {
                Error::Locked(storage.path().to_path_buf())
            } else {
                Error::Io(e)
            }
        })?;
        let started = std::time::Instant::now();
        let recovered = crate::recovery::recover(storage.as_ref(), &options)?;
        let inner = Arc::new(Inner {
            storage,
            keydir: recovered.keydir,
            segments: RwLock::new(recovered.segments),
            writer: Mutex::new(recovered.writer),
            sync: Mutex::new(SyncState::default()),
            sync_cv: Condvar::new(),
            poison: Mutex::new(None),
            poisoned: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            counters: Counters::default(),
            appended_total: AtomicU64::new(0),
            synced_pos_hint: AtomicU64::new(0),
            leader_active: AtomicBool::new(false),
            commit_activity: Arc::default(),
            recovery: Mutex::new(RecoveryStats {
                duration_ms: started.elapsed().as_millis() as u64,
                ..recovered.stats
            }),
            shutdown: Mutex::new(false),
            shutdown_cv: Condvar::new(),
            lock: Mutex::new(Some(lock)),
            compaction: Default::default(),
            remover: Default::default(),
            zsets: recovered.zsets,
            expiry: crate::expiry::ExpiryState::default(),
            opts: options,
        });
        {
            // Everything recovered is on disk already.
            let pos = inner.writer.lock().pos();
            inner.sync.lock().synced_pos = pos;
            inner.synced_pos_hint.store(pos, Ordering::Release);
        }
        let db = Db { inner, threads: Mutex::new(Vec::new()) };
        db.start_background()?;
        Ok(db)
    }

    fn start_background(&self) -> Result<()> {
        if self.inner.opts.fsync == Fsync::EverySec {
            let inner = self.inner.clone();
            let h = std::thread::Builder::new().name("kv-everysec".into()).spawn(move || {
                // Track the synced position, not "buffer empty" (redis#5985):
                // a write followed by silence is still synced within ~1 s.
                while !inner.sleep_or_shutdown(Duration::from_secs(1)) {
                    if inner.has_unsynced() && inner.check_writable().is_ok() {
                        let _ = inner.sync_now();
                    }
                }
            })?;
            self.threads.lock().push(h);
        }
        if self.inner.opts.auto_compaction {
            let h = crate::compaction::spawn_auto(self.inner.clone())?;
            self.threads.lock().push(h);
        }
        if self.inner.opts.active_expiry {
            let h = crate::expiry::spawn_active_expiry(self.inner.clone())?;
            self.threads.lock().push(h);
        }
        let h = crate::remover::spawn(self.inner.clone())?;
        self.threads.lock().push(h);
        Ok(())
    }

    /// The value of `key`, or `None`. `WrongType` if `key` is not a string.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.inner.check_open()?;
        let v = self.inner.get_string(key)?.map(|(v, _)| v);
        if v.is_none() {
            self.inner.expire_if_needed_from_read(key);
        }
        let c = if v.is_some() { &self.inner.counters.keyspace_hits } else { &self.inner.counters.keyspace_misses };
        Counters::add(c, 1);
        Ok(v)
    }

    /// Sets `key` to `value` (no expiry), replacing any value of any type.
    pub fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.inner.write(|tx| tx.put(key, value, 0))
    }

    /// Deletes `key` (of any type). Returns whether it existed.
    pub fn delete(&self, key: &[u8]) -> Result<bool> {
        self.inner.check_key(key)?;
        self.inner.write(|tx| {
            let existed = tx.inner.live_entry(key, tx.inner.now_ms()).is_some();
            if tx.inner.keydir.get(key).is_some() {
                tx.tombstone(key, RecordKind::Delete)?;
            }
            Ok(existed)
        })
    }

    /// Whether `key` exists (any type, not expired).
    pub fn exists(&self, key: &[u8]) -> Result<bool> {
        self.inner.check_open()?;
        self.inner.check_key(key)?;
        let found = self.inner.live_entry(key, self.inner.now_ms()).is_some();
        if !found {
            self.inner.expire_if_needed_from_read(key);
        }
        Ok(found)
    }

    /// Number of live keys of every type (expired keys are not counted).
    pub fn len(&self) -> Result<u64> {
        self.inner.check_open()?;
        Ok(self.count_live())
    }

    fn count_live(&self) -> u64 {
        let total = self.inner.keydir.len() as u64;
        if self.inner.keydir.ttl_len() == 0 {
            return total;
        }
        let now = self.inner.now_ms();
        let mut expired = 0u64;
        for s in 0..SHARDS {
            self.inner.keydir.for_each_in_shard(s, |_, e| expired += e.is_expired(now) as u64);
        }
        total - expired
    }

    /// True when the database holds no live key.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Applies every operation of `batch` atomically: after a crash either
    /// all of them are present or none.
    pub fn write_batch(&self, batch: &WriteBatch) -> Result<()> {
        if batch.ops.len() > self.inner.opts.max_batch_ops {
            return Err(Error::BatchTooLarge {
                reason: format!("more than {} operations", self.inner.opts.max_batch_ops),
            });
        }
        self.inner.write(|tx| {
            for op in &batch.ops {
                match op {
                    BatchOp::Put { key, value, expire_at_ms } => tx.put(key, value, *expire_at_ms)?,
                    BatchOp::Delete { key } => tx.tombstone(key, RecordKind::Delete)?,
                }
            }
            Ok(())
        })
    }

    /// Every live key, in no particular order. The iterator walks the index
    /// one shard at a time: each key live for the whole iteration is returned
    /// exactly once; keys written or deleted meanwhile may or may not be.
    pub fn keys(&self) -> Result<KeyIter<'_>> {
        self.inner.check_open()?;
        Ok(KeyIter { db: self, shard: 0, buf: Vec::new(), prefix: Vec::new() })
    }

    /// Live keys starting with `prefix`, sorted by bytes (the DynamoDB
    /// `begins_with` pattern). Costs one pass over the index.
    pub fn keys_with_prefix(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>> {
        self.inner.check_open()?;
        let mut keys: Vec<Vec<u8>> = KeyIter { db: self, shard: 0, buf: Vec::new(), prefix: prefix.to_vec() }.collect();
        keys.sort_unstable();
        Ok(keys)
    }

    /// `(key, value)` of every live string key starting with `prefix`, sorted
    /// by key. Keys of other types are skipped.
    pub fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut out = Vec::new();
        for key in self.keys_with_prefix(prefix)? {
            match self.inner.get_string(&key) {
                Ok(Some((v, _))) => out.push((key, v)),
                Ok(None) | Err(Error::WrongType) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Makes every acknowledged write durable now, whatever the policy.
    pub fn sync(&self) -> Result<()> {
        self.inner.check_writable()?;
        self.inner.sync_now()
    }

    /// A snapshot of counters and per-segment sizes.
    pub fn stats(&self) -> Stats {
        let c = &self.inner.counters;
        let ld = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let active_id = self.inner.writer.lock().active_id;
        let segments: Vec<SegmentStats> = self
            .inner
            .segments
            .read()
            .values()
            .map(|s| SegmentStats {
                id: s.id,
                size_bytes: ld(&s.size_bytes),
                dead_bytes: ld(&s.dead_bytes),
                active: s.id == active_id,
            })
            .collect();
        let mut hist = [0u64; crate::stats::GROUP_BUCKETS];
        for (h, a) in hist.iter_mut().zip(c.group_hist.iter()) {
            *h = ld(a);
        }
        let fsyncs = ld(&c.fsyncs);
        let synced = ld(&c.synced_writes);
        Stats {
            keys: self.count_live(),
            keys_with_ttl: crate::expiry::live_ttl_keys(&self.inner),
            disk_bytes: segments.iter().map(|s| s.size_bytes).sum(),
            dead_bytes: segments.iter().map(|s| s.dead_bytes).sum(),
            segments,
            reads: ld(&c.reads),
            read_bytes: ld(&c.read_bytes),
            writes: ld(&c.writes),
            written_bytes: ld(&c.written_bytes),
            fsyncs,
            synced_writes: synced,
            group_commit_histogram: hist,
            mean_group_commit: if fsyncs == 0 { 0.0 } else { synced as f64 / fsyncs as f64 },
            keyspace_hits: ld(&c.keyspace_hits),
            keyspace_misses: ld(&c.keyspace_misses),
            expired_keys_lazy: ld(&c.expired_lazy),
            expired_keys_active: ld(&c.expired_active),
            rotations: ld(&c.rotations),
            keydir_heap_bytes: self.inner.keydir.heap_bytes() as u64,
            recovery: self.inner.recovery.lock().clone(),
            poisoned: self.inner.poison_reason().is_some(),
            merges: ld(&self.inner.compaction.merges),
            merge_reclaimed_bytes: ld(&self.inner.compaction.reclaimed_bytes),
            last_merge_duration_ms: ld(&self.inner.compaction.last_duration_ms),
            merge_failures: ld(&self.inner.compaction.failures),
            trash_bytes_pending: ld(&self.inner.remover.pending_bytes),
            trash_removals: ld(&self.inner.remover.removed_files),
            trash_removal_failures: ld(&self.inner.remover.failures),
        }
    }

    /// Syncs, seals the active segment and releases the directory lock.
    /// Later calls on this handle return [`Error::Closed`]. Returns
    /// `Poisoned` (and still releases everything) if an earlier write or
    /// fsync failed, so a failure is never reported as a clean close.
    pub fn close(&self) -> Result<()> {
        let inner = &self.inner;
        let result = {
            let ws = inner.writer.lock();
            if inner.closed.swap(true, Ordering::AcqRel) {
                return Ok(());
            }
            if let Some(why) = inner.poison_reason() {
                Err(Error::Poisoned(why))
            } else {
                // Trim the preallocated tail so the file length is the data length.
                match ws.active.set_len(ws.write_off).and_then(|_| ws.active.sync_data()) {
                    Ok(()) => Ok(()),
                    Err(e) => Err(inner.poison(format!("final sync failed: {e}"), e)),
                }
            }
        };
        *inner.shutdown.lock() = true;
        inner.shutdown_cv.notify_all();
        inner.sync_cv.notify_all();
        // The remover finishes its queue before its thread is joined.
        inner.remover.stop();
        for h in self.threads.lock().drain(..) {
            let _ = h.join();
        }
        inner.lock.lock().take();
        result
    }

    /// Blocks until the background remover has removed every merged input
    /// handed to it so far (see [`CompactionSummary::removal_queued_bytes`]):
    /// afterwards the disk holds no `N.seg.trash` of those merges. For tests
    /// and tools that inspect files or disk use after [`Db::compact`].
    ///
    /// Returns `Io` describing the first removal that failed since the
    /// previous call, if any; such a file is left for the next open to
    /// remove and the handle stays usable (the data never depends on it).
    ///
    /// [`CompactionSummary::removal_queued_bytes`]: crate::CompactionSummary::removal_queued_bytes
    ///
    /// Returns `InvalidArgument` at once, instead of waiting forever, if removals
    /// are paused ([`Db::pause_removals`]) with files queued.
    pub fn wait_for_removals(&self) -> Result<()> {
        match self.inner.remover.wait_idle() {
            crate::remover::Idle::Done => Ok(()),
            crate::remover::Idle::Failed(why) => Err(Error::Io(std::io::Error::other(why))),
            crate::remover::Idle::Paused => Err(Error::invalid("wait_for_removals: removals are paused")),
        }
    }

    /// Pauses (`true`) or resumes (`false`) the background removal of
    /// merged inputs: while paused they stay on disk as `N.seg.trash`
    /// (counted in [`Stats::trash_bytes_pending`]). For tests (a merge,
    /// close or crash with removals pending) and for tools that want the
    /// removal's discard I/O out of a window. Close removes them anyway.
    pub fn pause_removals(&self, paused: bool) {
        self.inner.remover.set_paused(paused);
    }

    /// The directory (or simulated path) this database lives in.
    pub fn path(&self) -> &Path {
        self.inner.storage.path()
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// Iterator over live keys; see [`Db::keys`].
pub struct KeyIter<'a> {
    db: &'a Db,
    shard: usize,
    buf: Vec<Vec<u8>>,
    prefix: Vec<u8>,
}

impl Iterator for KeyIter<'_> {
    type Item = Vec<u8>;

    fn next(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(k) = self.buf.pop() {
                return Some(k);
            }
            if self.shard >= SHARDS || self.db.inner.check_open().is_err() {
                return None;
            }
            let now = self.db.inner.now_ms();
            let prefix = &self.prefix;
            let buf = &mut self.buf;
            self.db.inner.keydir.for_each_in_shard(self.shard, |k, e| {
                if !e.is_expired(now) && k.starts_with(prefix) {
                    buf.push(k.to_vec());
                }
            });
            self.shard += 1;
        }
    }
}
