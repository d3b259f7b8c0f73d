//! Background removal of merged inputs (after RocksDB's `DeleteScheduler`).
//!
//! Once a merge has switched the index to its outputs, it renames each input
//! `N.seg` to `N.seg.trash`, makes that durable and removes its marker (see
//! `compaction::run` and `docs/design.md`, "Steps, and why a crash at any
//! point is safe"); from then on a trash file is garbage that nothing reads
//! and open deletes. The merge hands the trash files to this per-database
//! thread and returns: freeing a 256 MiB input's blocks waits for the
//! device's discard where the file system discards synchronously (~60 ms
//! per segment on the benchmark VM), which is I/O wait, not work the merge
//! needs done.
//!
//! The thread truncates each file in steps ([`shrink_before_removal`]) and
//! removes it, without syncing the directory: a removal lost to a power cut
//! leaves a trash file, which open deletes.
//!
//! A failed removal does not poison the handle: the data is safe whatever
//! becomes of a trash file, so refusing writes would turn a space leak into
//! an outage. It is counted (`Stats::trash_removal_failures`), reported once
//! by [`crate::Db::wait_for_removals`], and the file is left to the next
//! open. Retrying would have the thread spin on a persistent error (a
//! read-only remount, a failing device); RocksDB's scheduler likewise
//! records the error and leaves the file to the startup cleanup.
//!
//! Close finishes the queue: it holds at most the inputs of the merges that
//! just ended, and a closed database then holds no trash for tools that do
//! not open it (`kv verify` ignores trash anyway).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex};

use crate::db::Inner;
use crate::segment;
use crate::storage::Storage;

/// A merged input renamed to `N.seg.trash`, awaiting removal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TrashFile {
    /// Segment id (the file is `segment::trash_file_name(id)`).
    pub id: u32,
    /// File length when it was handed over.
    pub len_bytes: u64,
    /// Whether it may be truncated before removal: the merge held the only
    /// reference (no reader maps it; a mapped file must not shrink).
    pub shrink: bool,
}

#[derive(Default)]
struct Queue {
    files: VecDeque<TrashFile>,
    /// The thread is removing a file it took off `files`.
    busy: bool,
    /// Close has begun: no thread will take new files.
    stopped: bool,
    /// `Db::pause_removals`: the thread leaves the queue alone until resumed
    /// or until close begins.
    paused: bool,
    /// The first failure not yet reported by `wait_idle`.
    unreported_failure: Option<String>,
}

impl Queue {
    /// Paused, and close has not begun (close drains a paused queue).
    fn held(&self) -> bool {
        self.paused && !self.stopped
    }
}

/// How [`RemoverState::wait_idle`] ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Idle {
    /// Every file handed over so far is removed.
    Done,
    /// Every file handed over so far was dealt with, and this removal (the
    /// first since the previous wait) failed.
    Failed(String),
    /// Files are queued but the thread is paused: waiting would never end.
    Paused,
}

/// The remover's queue and counters, shared by the handle, the merges and
/// the thread.
#[derive(Default)]
pub(crate) struct RemoverState {
    queue: Mutex<Queue>,
    /// Signalled when files are queued or close begins.
    work_cv: Condvar,
    /// Signalled when the queue empties and the thread is idle.
    idle_cv: Condvar,
    /// Bytes of the trash files queued or being removed.
    pub pending_bytes: AtomicU64,
    /// Trash files removed since open.
    pub removed_files: AtomicU64,
    /// Trash files whose removal failed since open (left to the next open).
    pub failures: AtomicU64,
}

impl RemoverState {
    /// Queues `files` for the thread. Returns them instead if close has
    /// begun (the caller removes them itself: nothing would take them).
    pub fn submit(&self, files: Vec<TrashFile>) -> Vec<TrashFile> {
        let mut q = self.queue.lock();
        if q.stopped {
            return files;
        }
        let bytes: u64 = files.iter().map(|f| f.len_bytes).sum();
        self.pending_bytes.fetch_add(bytes, Ordering::Relaxed);
        q.files.extend(files);
        self.work_cv.notify_one();
        Vec::new()
    }

    /// Close: the thread finishes the queue (paused or not) and exits.
    pub fn stop(&self) {
        self.queue.lock().stopped = true;
        self.work_cv.notify_all();
    }

    /// Pauses (`true`) or resumes (`false`) the thread.
    pub fn set_paused(&self, paused: bool) {
        self.queue.lock().paused = paused;
        self.work_cv.notify_all();
        // A waiter gives up when paused (see `wait_idle`).
        self.idle_cv.notify_all();
    }

    /// Blocks until nothing is queued or being removed.
    pub fn wait_idle(&self) -> Idle {
        let mut q = self.queue.lock();
        while q.busy || (!q.files.is_empty() && !q.held()) {
            self.idle_cv.wait(&mut q);
        }
        if !q.files.is_empty() {
            return Idle::Paused;
        }
        match q.unreported_failure.take() {
            Some(why) => Idle::Failed(why),
            None => Idle::Done,
        }
    }

    /// Removes `file` (see the module docs), updating the counters.
    pub fn remove_one(&self, storage: &dyn Storage, file: TrashFile, step_bytes: u64) {
        let name = segment::trash_file_name(file.id);
        let done = match file.shrink {
            true => shrink_before_removal(storage, &name, file.len_bytes, step_bytes),
            false => Ok(()),
        }
        .and_then(|()| remove_if_exists(storage, &name));
        self.pending_bytes.fetch_sub(file.len_bytes, Ordering::Relaxed);
        match done {
            Ok(()) => {
                self.removed_files.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                let mut q = self.queue.lock();
                if q.unreported_failure.is_none() {
                    q.unreported_failure = Some(format!("removing merged input {name} failed: {e}"));
                }
            }
        }
    }

    /// The thread's loop: takes files until close begins and the queue is empty.
    fn run(&self, storage: &dyn Storage, step_bytes: u64) {
        let mut q = self.queue.lock();
        loop {
            if q.held() && !q.files.is_empty() {
                self.work_cv.wait(&mut q);
            } else if let Some(file) = q.files.pop_front() {
                q.busy = true;
                drop(q);
                self.remove_one(storage, file, step_bytes);
                q = self.queue.lock();
                q.busy = false;
                // Waiters check whether the queue is done (or paused).
                self.idle_cv.notify_all();
            } else if q.stopped {
                return;
            } else {
                self.work_cv.wait(&mut q);
            }
        }
    }
}

/// Starts the database's remover thread.
pub(crate) fn spawn(inner: Arc<Inner>) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name("kv-remover".into()).spawn(move || {
        let step_bytes = shrink_step_bytes(inner.opts.max_segment_size_bytes);
        inner.remover.run(inner.storage.as_ref(), step_bytes);
    })
}

/// How much of a merged input [`shrink_before_removal`] frees per step: a
/// sixteenth of a full segment (16 MiB of the default 256 MiB), at least
/// 256 B so that small test segments are shrunk in steps too.
pub(crate) fn shrink_step_bytes(max_segment_size_bytes: u64) -> u64 {
    (max_segment_size_bytes / 16).max(256)
}

/// Truncates the file `name` (`len_bytes` of data) to at most `step_bytes`,
/// `step_bytes` at a time; its removal frees the rest.
///
/// Why: removing a 256 MiB segment frees all its blocks and page-cache pages
/// in one go when its last handle closes. Measured after a merge of 1M
/// 100-byte records (`kv-bench compaction --trace-slow-puts-us 3000`): that
/// close took 57-74 ms, and an `Fsync::Always` writer's fdatasync in that
/// window 20-33 ms, the worst put of the whole merge. Each step here frees
/// a sixteenth in a file-system transaction of its own.
///
/// Where the file system discards freed blocks synchronously (ext4 without
/// a journal, mounted with `discard`: the benchmark VM), each step also
/// waits for the device's discard: ~3.7 ms per 16 MiB there, ~70 ms of a
/// ~240 ms merge of 1M x 100 B when the merge itself removed its inputs;
/// the remover thread now waits for it instead.
///
/// Only for a file whose mapping is gone (no reader holds it): a mapped
/// file must not shrink under its readers. A crash midway is harmless: the
/// file is trash, which open deletes whatever its length.
pub(crate) fn shrink_before_removal(
    storage: &dyn Storage,
    name: &str,
    len_bytes: u64,
    step_bytes: u64,
) -> std::io::Result<()> {
    if len_bytes <= step_bytes {
        return Ok(());
    }
    let file = match storage.open_write(name) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        other => other?,
    };
    let mut len = len_bytes;
    while len > step_bytes {
        len -= step_bytes;
        file.set_len(len)?;
    }
    Ok(())
}

/// Removes `name`, which may already be gone.
pub(crate) fn remove_if_exists(storage: &dyn Storage, name: &str) -> std::io::Result<()> {
    match storage.remove(name) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Fault, SimStorage};

    /// A merged input goes in steps (each step frees a part of it), and
    /// one already removed is no error.
    #[test]
    fn compact_merged_input_is_shrunk_in_steps_before_removal() {
        let sim = SimStorage::new();
        let step = shrink_step_bytes(16 * 1024);
        assert_eq!(step, 1024);
        assert_eq!(shrink_step_bytes(1024), 256);
        assert_eq!(shrink_step_bytes(256 << 20), 16 << 20);
        let len = 10 * step + 100;
        let f = sim.create("0000000007.seg").unwrap();
        f.write_all_at(&vec![7u8; len as usize], 0).unwrap();
        shrink_before_removal(&sim, "0000000007.seg", len, step).unwrap();
        assert_eq!(sim.open_read("0000000007.seg").unwrap().len_bytes().unwrap(), 100);
        // Small files are left to the removal; missing ones are skipped.
        let g = sim.create("0000000008.seg").unwrap();
        g.write_all_at(&[1u8; 300], 0).unwrap();
        shrink_before_removal(&sim, "0000000008.seg", 300, step).unwrap();
        assert_eq!(sim.open_read("0000000008.seg").unwrap().len_bytes().unwrap(), 300);
        shrink_before_removal(&sim, "0000000009.seg", len, step).unwrap();
    }

    fn trash(sim: &SimStorage, id: u32, len: usize) -> TrashFile {
        sim.create(&segment::trash_file_name(id)).unwrap().write_all_at(&vec![1u8; len], 0).unwrap();
        TrashFile { id, len_bytes: len as u64, shrink: true }
    }

    /// A failed removal is counted, reported once by the wait, and does not
    /// stop the files after it; the failed file is left (for open).
    #[test]
    fn remover_failure_is_reported_once_and_later_files_still_go() {
        let sim = SimStorage::new();
        let state = RemoverState::default();
        let (a, b) = (trash(&sim, 3, 4000), trash(&sim, 4, 4000));
        let base = sim.op_count();
        // The first truncation of file 3 fails.
        sim.set_fault(Some(Fault::FailAt { op: base, errno: libc::EIO }));
        assert!(state.submit(vec![a, b]).is_empty());
        assert_eq!(state.pending_bytes.load(Ordering::Relaxed), 8000);
        std::thread::scope(|s| {
            s.spawn(|| state.run(&sim, 1024));
            let Idle::Failed(why) = state.wait_idle() else { panic!("the failure is not reported") };
            assert!(why.contains("0000000003.seg.trash"), "{why}");
            assert_eq!(state.wait_idle(), Idle::Done, "reported once");
            state.stop();
        });
        assert_eq!(state.pending_bytes.load(Ordering::Relaxed), 0);
        assert_eq!(state.failures.load(Ordering::Relaxed), 1);
        assert_eq!(state.removed_files.load(Ordering::Relaxed), 1);
        assert_eq!(sim.file_names(), vec![segment::trash_file_name(3)]);
    }

    /// After close began, nothing takes new files: `submit` hands them back.
    #[test]
    fn remover_stopped_hands_files_back() {
        let sim = SimStorage::new();
        let state = RemoverState::default();
        state.stop();
        let a = trash(&sim, 5, 10);
        assert_eq!(state.submit(vec![a]), vec![a]);
        assert_eq!(state.pending_bytes.load(Ordering::Relaxed), 0);
        assert_eq!(state.wait_idle(), Idle::Done);
    }

    /// Paused, the thread leaves the queue alone and a wait returns rather
    /// than hang; resumed, it removes the files; close drains a paused queue.
    #[test]
    fn remover_pause_holds_files_and_close_drains_them() {
        let sim = SimStorage::new();
        let state = RemoverState::default();
        state.set_paused(true);
        std::thread::scope(|s| {
            s.spawn(|| state.run(&sim, 1024));
            assert!(state.submit(vec![trash(&sim, 3, 10)]).is_empty());
            assert_eq!(state.wait_idle(), Idle::Paused);
            assert_eq!(sim.file_names(), vec![segment::trash_file_name(3)]);
            state.set_paused(false);
            assert_eq!(state.wait_idle(), Idle::Done);
            assert!(sim.file_names().is_empty());
            state.set_paused(true);
            assert!(state.submit(vec![trash(&sim, 4, 10)]).is_empty());
            state.stop();
        });
        assert!(sim.file_names().is_empty(), "close removes a paused queue");
        assert_eq!(state.removed_files.load(Ordering::Relaxed), 2);
    }
}
