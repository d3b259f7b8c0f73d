//! Counters the engine keeps, and the [`Stats`] snapshot users read.

use std::sync::atomic::{AtomicU64, Ordering};

/// Number of group-commit histogram buckets: sizes 1, 2–3, 4–7, …, ≥ 2^(N-1).
pub const GROUP_BUCKETS: usize = 12;

/// Live counters (atomics, updated without locks).
#[derive(Default)]
pub(crate) struct Counters {
    pub reads: AtomicU64,
    pub read_bytes: AtomicU64,
    pub writes: AtomicU64,
    pub written_bytes: AtomicU64,
    pub fsyncs: AtomicU64,
    pub synced_writes: AtomicU64,
    pub group_hist: [AtomicU64; GROUP_BUCKETS],
    pub keyspace_hits: AtomicU64,
    pub keyspace_misses: AtomicU64,
    pub expired_lazy: AtomicU64,
    pub expired_active: AtomicU64,
    pub rotations: AtomicU64,
}

impl Counters {
    pub fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }

    /// Records one fsync that made `group` writes durable.
    pub fn record_fsync(&self, group: u64) {
        Self::add(&self.fsyncs, 1);
        if group > 0 {
            Self::add(&self.synced_writes, group);
            let bucket = (63 - group.leading_zeros() as usize).min(GROUP_BUCKETS - 1);
            Self::add(&self.group_hist[bucket], 1);
        }
    }
}

/// What recovery did when the database was opened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryStats {
    /// Segments whose records were scanned.
    pub segments_scanned: u64,
    /// Segments loaded from hint files instead.
    pub segments_from_hints: u64,
    /// Records replayed into the index.
    pub records_replayed: u64,
    /// Bytes of a torn tail (partial or bad record at the end of the newest
    /// segment) that were truncated.
    pub torn_tail_bytes_truncated: u64,
    /// Bytes of zero-filled (preallocated, never written) tail trimmed.
    pub zero_tail_bytes_trimmed: u64,
    /// Damaged bytes skipped under `RecoveryMode::Salvage`.
    pub salvaged_bytes_skipped: u64,
    /// Files removed because a crash left them incomplete (empty new segment,
    /// unfinished merge output, stale hint).
    pub incomplete_files_removed: u64,
    /// Merges found committed but unfinished (marker present) and finished.
    pub merges_completed_on_open: u64,
    /// Merged inputs (`N.seg.trash`) that the background remover had not
    /// removed (a crash, a failed removal) and open did.
    pub trash_files_removed: u64,
    /// Milliseconds open spent recovering.
    pub duration_ms: u64,
}

/// One segment in [`Stats`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentStats {
    /// Segment id.
    pub id: u32,
    /// Bytes written to it (its length once sealed).
    pub size_bytes: u64,
    /// Bytes of records that are no longer live.
    pub dead_bytes: u64,
    /// Whether this is the active (appended-to) segment.
    pub active: bool,
}

/// A snapshot of the engine's state and counters.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Live keys of every type (expired-but-unpurged keys excluded).
    pub keys: u64,
    /// Keys carrying a TTL.
    pub keys_with_ttl: u64,
    /// Per segment, oldest first.
    pub segments: Vec<SegmentStats>,
    /// Sum of segment sizes.
    pub disk_bytes: u64,
    /// Sum of dead bytes.
    pub dead_bytes: u64,
    /// Records read from disk.
    pub reads: u64,
    /// Bytes read from disk.
    pub read_bytes: u64,
    /// Records appended (a batch counts once).
    pub writes: u64,
    /// Bytes appended.
    pub written_bytes: u64,
    /// fdatasync calls on segments.
    pub fsyncs: u64,
    /// Writes made durable by those fsyncs.
    pub synced_writes: u64,
    /// Histogram of writes per fsync: bucket i counts fsyncs covering
    /// 2^i ..= 2^(i+1)-1 writes (last bucket open-ended).
    pub group_commit_histogram: [u64; GROUP_BUCKETS],
    /// Mean writes per fsync (group-commit size).
    pub mean_group_commit: f64,
    /// Lookups that found a live key (Redis `keyspace_hits`).
    pub keyspace_hits: u64,
    /// Lookups that did not (Redis `keyspace_misses`).
    pub keyspace_misses: u64,
    /// Keys purged on access (lazy expiry).
    pub expired_keys_lazy: u64,
    /// Keys purged by the active expiry cycle.
    pub expired_keys_active: u64,
    /// Segment rotations since open.
    pub rotations: u64,
    /// Heap bytes of the key index.
    pub keydir_heap_bytes: u64,
    /// What recovery did on open.
    pub recovery: RecoveryStats,
    /// Whether the handle is poisoned.
    pub poisoned: bool,
    /// Merges (compactions) completed since open.
    pub merges: u64,
    /// Disk bytes those merges gave back (input minus output sizes).
    pub merge_reclaimed_bytes: u64,
    /// Wall time of the most recent merge in milliseconds.
    pub last_merge_duration_ms: u64,
    /// Merges that failed (before their commit point they change nothing).
    pub merge_failures: u64,
    /// Bytes of merged inputs awaiting the background remover (renamed to
    /// `N.seg.trash`, not in `disk_bytes`); see `Db::wait_for_removals`.
    pub trash_bytes_pending: u64,
    /// Merged inputs the background remover removed since open.
    pub trash_removals: u64,
    /// Merged inputs whose background removal failed since open; each is
    /// left on disk for the next open to remove. The handle is not poisoned
    /// (the data never depends on them).
    pub trash_removal_failures: u64,
}

impl Stats {
    /// Sum of expired keys, lazy and active (Redis `expired_keys`).
    pub fn expired_keys(&self) -> u64 {
        self.expired_keys_lazy + self.expired_keys_active
    }
}
