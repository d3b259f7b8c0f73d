//! Compaction (merge) on demand, and the per-segment view needed to merge
//! chosen segments.

use kv_engine::CompactionSummary;

use crate::args;
use crate::db::{kv_db, with_db};
use crate::status::{kv_status, Fail, FfiResult};

/// What one merge did, filled by `kv_db_compact` and
/// `kv_db_compact_segments`. A plain struct owned by the caller, so any
/// change to its fields bumps `KV_ABI_VERSION`.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Debug, Default, Clone, Copy)]
pub struct kv_compaction_summary {
    /// Segments merged (and deleted); 0 when there was nothing to merge.
    pub input_segments: u64,
    /// Segments written.
    pub output_segments: u64,
    /// Total size of the inputs in bytes.
    pub input_bytes: u64,
    /// Total size of the outputs in bytes.
    pub output_bytes: u64,
    /// Disk bytes given back (`input_bytes - output_bytes`, at least 0).
    pub reclaimed_bytes: u64,
    /// Live records copied.
    pub records_copied: u64,
    /// Records dropped (dead, expired, or tombstones no longer needed).
    pub records_dropped: u64,
    /// Tombstones copied because older segments outside the merge remain.
    pub tombstones_kept: u64,
    /// Wall time of the merge in milliseconds.
    pub duration_ms: u64,
    /// The part of `duration_ms` spent retiring the merged inputs after the
    /// index switched to the outputs (removing their hints, renaming them to
    /// trash, syncing the directory); freeing their blocks happens on a
    /// background thread afterwards. Added in ABI version 2.
    pub removal_ms: u64,
    /// Inputs holding string Puts only, whose live records were copied from
    /// the index's list without reading their dead records (at most
    /// `input_segments`). Added in ABI version 2.
    pub inputs_copied_from_index: u64,
}

impl From<&CompactionSummary> for kv_compaction_summary {
    fn from(s: &CompactionSummary) -> Self {
        kv_compaction_summary {
            input_segments: s.input_segments.len() as u64,
            output_segments: s.output_segments.len() as u64,
            input_bytes: s.input_bytes,
            output_bytes: s.output_bytes,
            reclaimed_bytes: s.reclaimed_bytes(),
            records_copied: s.records_copied,
            records_dropped: s.records_dropped,
            tombstones_kept: s.tombstones_kept,
            duration_ms: s.duration_ms,
            removal_ms: s.removal_ms,
            inputs_copied_from_index: u64::from(s.inputs_copied_from_index),
        }
    }
}

/// One segment file, as listed by `kv_db_segments`.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Debug, Default, Clone, Copy)]
pub struct kv_segment_info {
    /// Segment id (the number in its file name).
    pub id: u32,
    /// Bytes written to it (its length once sealed).
    pub size_bytes: u64,
    /// Bytes of records that are no longer live.
    pub dead_bytes: u64,
    /// Whether it is the active (appended-to) segment, which is never merged.
    pub active: bool,
}

/// Runs `f` (a merge) and writes its summary to the optional out-parameter.
///
/// # Safety
///
/// `db` NULL or live; `out_summary` NULL or writable.
unsafe fn merge(
    db: *const kv_db,
    out_summary: *mut kv_compaction_summary,
    f: impl FnOnce(&kv_engine::Db) -> kv_engine::Result<CompactionSummary>,
) -> FfiResult {
    // SAFETY: forwarded contract.
    let mut out = unsafe { args::out_opt(out_summary) };
    if let Some(o) = out.as_deref_mut() {
        *o = kv_compaction_summary::default();
    }
    // SAFETY: forwarded contract.
    let s = unsafe { with_db(db, |d| Ok(f(d)?)) }?;
    if let Some(o) = out {
        *o = kv_compaction_summary::from(&s);
    }
    Ok(())
}

/// Merges every sealed segment now (rotating the active one first if it
/// holds records): live records are rewritten with hint files and the old
/// segments deleted, while reads and writes go on. `*out_summary` (may be
/// NULL) receives what the merge did. Waits for a merge already running.
///
/// Returns `KV_OK`; `KV_IO`; `KV_POISONED`; `KV_CLOSED`;
/// `KV_INVALID_ARGUMENT` for a NULL `db`.
///
/// # Safety
///
/// `db` NULL or live; `out_summary` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kv_db_compact(db: *mut kv_db, out_summary: *mut kv_compaction_summary) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { merge(db, out_summary, |d| d.compact()) }
    }
}

/// Merges exactly the sealed segments `ids[0..n]` (ids from
/// `kv_db_segments`), which must be every segment of a contiguous run of
/// replay bands: a segment written by the writer is a band of its own, the
/// outputs of one merge form one. For tools and tests; `kv_db_compact` is
/// the usual call. `n` 0 merges nothing.
///
/// Returns `KV_OK`; `KV_INVALID_ARGUMENT` when an id is not a sealed
/// segment or the ids do not form whole, contiguous bands; otherwise as
/// `kv_db_compact`.
///
/// # Safety
///
/// `ids` NULL or valid for `n` reads; others as `kv_db_compact`.
#[no_mangle]
pub unsafe extern "C" fn kv_db_compact_segments(
    db: *mut kv_db,
    ids: *const u32,
    n: usize,
    out_summary: *mut kv_compaction_summary,
) -> kv_status {
    crate::ffi_status! {
        let ids: &[u32] = if n == 0 {
            &[]
        } else if ids.is_null() {
            return Err(Fail::invalid(format!("ids is NULL but the count is {n}")));
        } else {
            // SAFETY: non-NULL and valid for n reads by the contract.
            unsafe { std::slice::from_raw_parts(ids, n) }
        };
        // SAFETY: forwarded contract.
        unsafe { merge(db, out_summary, |d| d.compact_segments(ids)) }
    }
}

/// Lists the segment files, oldest first, into the caller's array `out` of
/// `cap` elements. `*out_len` receives the number of segments, also on
/// `KV_BUFFER_TOO_SMALL` (so `cap` 0 asks for the count).
///
/// Returns `KV_OK`; `KV_BUFFER_TOO_SMALL` (nothing written) when there are
/// more than `cap`; `KV_CLOSED`; `KV_INVALID_ARGUMENT` for NULL `db` or
/// `out_len`, or NULL `out` with `cap` not 0.
///
/// # Safety
///
/// `out` NULL or valid for `cap` writes; `out_len` writable.
#[no_mangle]
pub unsafe extern "C" fn kv_db_segments(
    db: *mut kv_db,
    out: *mut kv_segment_info,
    cap: usize,
    out_len: *mut usize,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        let out_len = unsafe { args::out(out_len, "out_len") }?;
        *out_len = 0;
        if out.is_null() && cap != 0 {
            return Err(Fail::invalid(format!("out is NULL but cap is {cap}")));
        }
        // SAFETY: forwarded contract.
        let segs = unsafe { with_db(db, |d| Ok(d.stats().segments)) }?;
        *out_len = segs.len();
        if segs.len() > cap {
            return Err(Fail::new(
                kv_status::KV_BUFFER_TOO_SMALL,
                format!("{} segments do not fit in {cap} elements", segs.len()),
            ));
        }
        for (i, s) in segs.iter().enumerate() {
            let info = kv_segment_info { id: s.id, size_bytes: s.size_bytes, dead_bytes: s.dead_bytes, active: s.active };
            // SAFETY: i < segs.len() <= cap and out is valid for cap writes.
            unsafe { out.add(i).write(info) };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_carries_every_engine_field() {
        let s = CompactionSummary {
            input_segments: vec![3, 4, 5],
            output_segments: vec![9],
            input_bytes: 1000,
            output_bytes: 400,
            records_copied: 7,
            records_dropped: 8,
            tombstones_kept: 2,
            duration_ms: 30,
            removal_ms: 11,
            scan_threads: 2,
            inputs_copied_from_index: 2,
            // Not in ABI version 2 (the C ABI is unchanged): C callers see
            // the removal finished by `kv_db_close`.
            removal_queued_bytes: 500,
        };
        let c = kv_compaction_summary::from(&s);
        assert_eq!((c.input_segments, c.output_segments, c.input_bytes, c.output_bytes), (3, 1, 1000, 400));
        assert_eq!((c.reclaimed_bytes, c.records_copied, c.records_dropped, c.tombstones_kept), (600, 7, 8, 2));
        assert_eq!((c.duration_ms, c.removal_ms, c.inputs_copied_from_index), (30, 11, 2));
    }
}
