//! `kv_stats`: a snapshot of the engine's counters as a plain C struct.

use crate::args;
use crate::db::{kv_db, with_db};
use crate::status::kv_status;

/// Number of elements of `kv_stats.group_commit_histogram`.
pub const KV_GROUP_COMMIT_BUCKETS: usize = 12;
// The C array must match the engine's histogram.
const _: () = assert!(KV_GROUP_COMMIT_BUCKETS == kv_engine::stats::GROUP_BUCKETS);

/// Counters and sizes of a database, filled by `kv_db_stats`. A plain
/// struct owned by the caller (usually on the stack).
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Debug, Default, Clone, Copy)]
pub struct kv_stats {
    /// Live keys of every type.
    pub keys: u64,
    /// Keys carrying a TTL.
    pub keys_with_ttl: u64,
    /// Number of segment files.
    pub segments: u64,
    /// Sum of segment sizes in bytes.
    pub disk_bytes: u64,
    /// Bytes of records no longer live.
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
    /// Mean writes per fsync (group-commit size).
    pub mean_group_commit: f64,
    /// Lookups that found a live key.
    pub keyspace_hits: u64,
    /// Lookups that did not.
    pub keyspace_misses: u64,
    /// Keys purged on access (lazy expiry).
    pub expired_keys_lazy: u64,
    /// Keys purged by the active expiry cycle.
    pub expired_keys_active: u64,
    /// Segment rotations since open.
    pub rotations: u64,
    /// Heap bytes of the key index.
    pub keydir_heap_bytes: u64,
    /// Recovery on open: records replayed.
    pub recovery_records_replayed: u64,
    /// Recovery on open: torn-tail bytes truncated.
    pub recovery_torn_tail_bytes_truncated: u64,
    /// Recovery on open: damaged bytes skipped under salvage.
    pub recovery_salvaged_bytes_skipped: u64,
    /// Recovery on open: milliseconds spent.
    pub recovery_duration_ms: u64,
    /// Whether the handle is poisoned (writes refused until reopen).
    pub poisoned: bool,
    /// Expired keys purged, lazy plus active (Redis `expired_keys`).
    pub expired_keys: u64,
    /// Merges (compactions) completed since open.
    pub merges: u64,
    /// Disk bytes those merges gave back.
    pub merge_reclaimed_bytes: u64,
    /// Wall time of the most recent merge in milliseconds.
    pub last_merge_duration_ms: u64,
    /// Merges that failed (a failed merge changes nothing).
    pub merge_failures: u64,
    /// Recovery on open: segments whose records were scanned.
    pub recovery_segments_scanned: u64,
    /// Recovery on open: segments loaded from hint files instead.
    pub recovery_segments_from_hints: u64,
    /// Recovery on open: zero-filled (never written) tail bytes trimmed.
    pub recovery_zero_tail_bytes_trimmed: u64,
    /// Recovery on open: files of an interrupted write or merge removed.
    pub recovery_incomplete_files_removed: u64,
    /// Recovery on open: committed but unfinished merges completed.
    pub recovery_merges_completed: u64,
    /// Approximate heap bytes of the members of every sorted set.
    pub zset_heap_bytes: u64,
    /// Writes per fsync: element i counts fsyncs covering 2^i to
    /// 2^(i+1)-1 writes (the last one open-ended).
    pub group_commit_histogram: [u64; KV_GROUP_COMMIT_BUCKETS],
}

/// Fills `*out_stats` with a snapshot of the database's counters.
///
/// Returns `KV_OK`; `KV_CLOSED`; `KV_INVALID_ARGUMENT` for NULL arguments.
///
/// # Safety
///
/// `db` NULL or live; `out_stats` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kv_db_stats(db: *mut kv_db, out_stats: *mut kv_stats) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        let out = unsafe { args::out(out_stats, "out_stats") }?;
        *out = kv_stats::default();
        // SAFETY: forwarded contract.
        let (s, d_zset_heap_bytes) = unsafe { with_db(db, |d| Ok((d.stats(), d.zset_heap_bytes()))) }?;
        *out = kv_stats {
            keys: s.keys,
            keys_with_ttl: s.keys_with_ttl,
            segments: s.segments.len() as u64,
            disk_bytes: s.disk_bytes,
            dead_bytes: s.dead_bytes,
            reads: s.reads,
            read_bytes: s.read_bytes,
            writes: s.writes,
            written_bytes: s.written_bytes,
            fsyncs: s.fsyncs,
            synced_writes: s.synced_writes,
            mean_group_commit: s.mean_group_commit,
            keyspace_hits: s.keyspace_hits,
            keyspace_misses: s.keyspace_misses,
            expired_keys_lazy: s.expired_keys_lazy,
            expired_keys_active: s.expired_keys_active,
            rotations: s.rotations,
            keydir_heap_bytes: s.keydir_heap_bytes,
            recovery_records_replayed: s.recovery.records_replayed,
            recovery_torn_tail_bytes_truncated: s.recovery.torn_tail_bytes_truncated,
            recovery_salvaged_bytes_skipped: s.recovery.salvaged_bytes_skipped,
            recovery_duration_ms: s.recovery.duration_ms,
            poisoned: s.poisoned,
            expired_keys: s.expired_keys(),
            merges: s.merges,
            merge_reclaimed_bytes: s.merge_reclaimed_bytes,
            last_merge_duration_ms: s.last_merge_duration_ms,
            merge_failures: s.merge_failures,
            recovery_segments_scanned: s.recovery.segments_scanned,
            recovery_segments_from_hints: s.recovery.segments_from_hints,
            recovery_zero_tail_bytes_trimmed: s.recovery.zero_tail_bytes_trimmed,
            recovery_incomplete_files_removed: s.recovery.incomplete_files_removed,
            recovery_merges_completed: s.recovery.merges_completed_on_open,
            zset_heap_bytes: d_zset_heap_bytes,
            group_commit_histogram: s.group_commit_histogram,
        };
        Ok(())
    }
}
