//! `kv_options`: the settings `kv_db_open` copies.

use std::ffi::c_int;

use kv_engine::{Fsync, Options, RecoveryMode};
use parking_lot::Mutex;

use crate::args;
use crate::status::{kv_status, Fail, FfiResult};

/// Options for `kv_db_open`. Create with `kv_options_new`, free with
/// `kv_options_free`. Setters validate at once. Thread-safe (internally
/// locked), though there is rarely a reason to share one.
#[allow(non_camel_case_types)]
pub struct kv_options {
    pub(crate) opts: Mutex<Options>,
}

/// Durability policy, for `kv_options_set_fsync`.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum kv_fsync {
    /// A write returns after an fdatasync covering it (group commit). A power
    /// cut loses no acknowledged write. The default.
    KV_FSYNC_ALWAYS = 0,
    /// Synced about once per second in the background: a power cut loses at
    /// most about a second (up to ~2 s under load) of acknowledged writes.
    KV_FSYNC_EVERYSEC = 1,
    /// The OS decides; synced on rotation, `kv_db_sync` and close. A process
    /// crash loses nothing; a power cut may lose unsynced writes.
    KV_FSYNC_NO = 2,
}

/// What opening does with a damaged record that is not a torn tail, for
/// `kv_options_set_recovery`.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum kv_recovery {
    /// Refuse to open with `KV_CORRUPTION`. The default.
    KV_RECOVERY_STRICT = 0,
    /// Skip damaged bytes (counted in `kv_stats`); their records are lost.
    KV_RECOVERY_SALVAGE = 1,
}

/// A new options object holding the defaults (fsync always, 256 MiB
/// segments, 64 KiB keys, 512 MiB values, strict recovery, automatic
/// compaction and active expiry on). Returns NULL only if libkv failed
/// internally.
///
/// Ownership: the caller owns the result and frees it with
/// `kv_options_free`.
#[no_mangle]
pub extern "C" fn kv_options_new() -> *mut kv_options {
    crate::ffi_boundary! {
        Box::into_raw(Box::new(kv_options { opts: Mutex::new(Options::default()) }))
    }
}

/// Frees `opts`. NULL is ignored. Databases opened with it are unaffected
/// (open copies the options).
///
/// # Safety
///
/// `opts` must be NULL or come from `kv_options_new`, not yet freed, and
/// not in use by another thread.
#[no_mangle]
pub unsafe extern "C" fn kv_options_free(opts: *mut kv_options) {
    crate::ffi_boundary! {
        if !opts.is_null() {
            // SAFETY: created by Box::into_raw in kv_options_new, freed once (contract).
            drop(unsafe { Box::from_raw(opts) });
        }
    }
}

/// Applies `change` to the options, keeping it only if every option is
/// still within its limits.
///
/// # Safety
///
/// As [`args::handle`].
unsafe fn update(opts: *const kv_options, change: impl FnOnce(&mut Options) -> FfiResult) -> FfiResult {
    // SAFETY: forwarded contract.
    let handle = unsafe { args::handle(opts, "opts") }?;
    let mut guard = handle.opts.lock();
    let mut candidate = guard.clone();
    change(&mut candidate)?;
    candidate.validate()?;
    *guard = candidate;
    Ok(())
}

/// Sets the durability policy: one of `kv_fsync` (default
/// `KV_FSYNC_ALWAYS`).
///
/// Returns `KV_OK`, or `KV_INVALID_ARGUMENT` when `opts` is NULL or
/// `policy` is not a `kv_fsync` value.
///
/// # Safety
///
/// `opts` must be NULL or a live `kv_options`.
#[no_mangle]
pub unsafe extern "C" fn kv_options_set_fsync(opts: *mut kv_options, policy: c_int) -> kv_status {
    crate::ffi_status! {
        let fsync = match policy {
            0 => Fsync::Always,
            1 => Fsync::EverySec,
            2 => Fsync::No,
            other => return Err(Fail::invalid(format!("unknown fsync policy {other}"))),
        };
        // SAFETY: forwarded contract.
        unsafe { update(opts, |o| { o.fsync = fsync; Ok(()) }) }
    }
}

/// Sets what opening does with damaged records: one of `kv_recovery`
/// (default `KV_RECOVERY_STRICT`).
///
/// Returns `KV_OK`, or `KV_INVALID_ARGUMENT` when `opts` is NULL or `mode`
/// is not a `kv_recovery` value.
///
/// # Safety
///
/// `opts` must be NULL or a live `kv_options`.
#[no_mangle]
pub unsafe extern "C" fn kv_options_set_recovery(opts: *mut kv_options, mode: c_int) -> kv_status {
    crate::ffi_status! {
        let recovery = match mode {
            0 => RecoveryMode::Strict,
            1 => RecoveryMode::Salvage,
            other => return Err(Fail::invalid(format!("unknown recovery mode {other}"))),
        };
        // SAFETY: forwarded contract.
        unsafe { update(opts, |o| { o.recovery = recovery; Ok(()) }) }
    }
}

/// Sets the segment size at which the active segment is rotated, in
/// bytes: 4 KiB to 2 GiB (default 256 MiB).
///
/// Returns `KV_OK`, or `KV_INVALID_ARGUMENT` (options unchanged) when
/// `opts` is NULL or the value is out of range.
///
/// # Safety
///
/// `opts` must be NULL or a live `kv_options`.
#[no_mangle]
pub unsafe extern "C" fn kv_options_set_max_segment_size(
    opts: *mut kv_options,
    max_segment_size_bytes: u64,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { update(opts, |o| { o.max_segment_size_bytes = max_segment_size_bytes; Ok(()) }) }
    }
}
/// Sets the longest accepted key in bytes: 1 to 65536 (default 65536).
///
/// Returns `KV_OK`, or `KV_INVALID_ARGUMENT` (options unchanged) when
/// `opts` is NULL or the value is out of range.
///
/// # Safety
///
/// `opts` must be NULL or a live `kv_options`.
#[no_mangle]
pub unsafe extern "C" fn kv_options_set_max_key_size(opts: *mut kv_options, max_key_size_bytes: usize) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { update(opts, |o| { o.max_key_size_bytes = max_key_size_bytes; Ok(()) }) }
    }
}
/// Sets the longest accepted value in bytes: 1 to 1 GiB (default 512 MiB).
///
/// Returns `KV_OK`, or `KV_INVALID_ARGUMENT` (options unchanged) when
/// `opts` is NULL or the value is out of range.
///
/// # Safety
///
/// `opts` must be NULL or a live `kv_options`.
#[no_mangle]
pub unsafe extern "C" fn kv_options_set_max_value_size(
    opts: *mut kv_options,
    max_value_size_bytes: usize,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { update(opts, |o| { o.max_value_size_bytes = max_value_size_bytes; Ok(()) }) }
    }
}
/// Sets the most operations in one batch: at least 1 (default 100000).
///
/// Returns `KV_OK`, or `KV_INVALID_ARGUMENT` (options unchanged) when
/// `opts` is NULL or the value is out of range.
///
/// # Safety
///
/// `opts` must be NULL or a live `kv_options`.
#[no_mangle]
pub unsafe extern "C" fn kv_options_set_max_batch_ops(opts: *mut kv_options, max_batch_ops: usize) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { update(opts, |o| { o.max_batch_ops = max_batch_ops; Ok(()) }) }
    }
}
/// Sets the most encoded bytes in one batch: 1 to 1 GiB (default 64 MiB).
///
/// Returns `KV_OK`, or `KV_INVALID_ARGUMENT` (options unchanged) when
/// `opts` is NULL or the value is out of range.
///
/// # Safety
///
/// `opts` must be NULL or a live `kv_options`.
#[no_mangle]
pub unsafe extern "C" fn kv_options_set_max_batch_size(
    opts: *mut kv_options,
    max_batch_size_bytes: usize,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { update(opts, |o| { o.max_batch_size_bytes = max_batch_size_bytes; Ok(()) }) }
    }
}
/// Sets the value length from which values are lz4-compressed when that
/// makes them smaller, in bytes (default 4096; `SIZE_MAX` disables).
///
/// Returns `KV_OK`, or `KV_INVALID_ARGUMENT` (options unchanged) when
/// `opts` is NULL or the value is out of range.
///
/// # Safety
///
/// `opts` must be NULL or a live `kv_options`.
#[no_mangle]
pub unsafe extern "C" fn kv_options_set_compression_threshold(
    opts: *mut kv_options,
    compression_threshold_bytes: usize,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { update(opts, |o| { o.compression_threshold_bytes = compression_threshold_bytes; Ok(()) }) }
    }
}
/// Preallocates each new segment to its full size (default true).
///
/// Returns `KV_OK`, or `KV_INVALID_ARGUMENT` (options unchanged) when
/// `opts` is NULL or the value is out of range.
///
/// # Safety
///
/// `opts` must be NULL or a live `kv_options`.
#[no_mangle]
pub unsafe extern "C" fn kv_options_set_preallocate(opts: *mut kv_options, preallocate: bool) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { update(opts, |o| { o.preallocate = preallocate; Ok(()) }) }
    }
}
/// Runs automatic background compaction (default true).
///
/// Returns `KV_OK`, or `KV_INVALID_ARGUMENT` (options unchanged) when
/// `opts` is NULL or the value is out of range.
///
/// # Safety
///
/// `opts` must be NULL or a live `kv_options`.
#[no_mangle]
pub unsafe extern "C" fn kv_options_set_auto_compaction(opts: *mut kv_options, auto_compaction: bool) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { update(opts, |o| { o.auto_compaction = auto_compaction; Ok(()) }) }
    }
}
/// Sets the dead fraction (0.0 to 1.0) from which a sealed segment is a
/// compaction candidate (default 0.5).
///
/// Returns `KV_OK`, or `KV_INVALID_ARGUMENT` (options unchanged) when
/// `opts` is NULL or the value is out of range.
///
/// # Safety
///
/// `opts` must be NULL or a live `kv_options`.
#[no_mangle]
pub unsafe extern "C" fn kv_options_set_compaction_min_dead_ratio(
    opts: *mut kv_options,
    compaction_min_dead_ratio: f64,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { update(opts, |o| { o.compaction_min_dead_ratio = compaction_min_dead_ratio; Ok(()) }) }
    }
}
/// Sets the dead bytes the database must hold before compacting
/// (default 64 MiB).
///
/// Returns `KV_OK`, or `KV_INVALID_ARGUMENT` (options unchanged) when
/// `opts` is NULL or the value is out of range.
///
/// # Safety
///
/// `opts` must be NULL or a live `kv_options`.
#[no_mangle]
pub unsafe extern "C" fn kv_options_set_compaction_min_dead_bytes(
    opts: *mut kv_options,
    compaction_min_dead_bytes: u64,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { update(opts, |o| { o.compaction_min_dead_bytes = compaction_min_dead_bytes; Ok(()) }) }
    }
}
/// Throttles compaction writes, in bytes per second; 0 = unthrottled
/// (the default).
///
/// Returns `KV_OK`, or `KV_INVALID_ARGUMENT` (options unchanged) when
/// `opts` is NULL or the value is out of range.
///
/// # Safety
///
/// `opts` must be NULL or a live `kv_options`.
#[no_mangle]
pub unsafe extern "C" fn kv_options_set_compaction_rate_limit(
    opts: *mut kv_options,
    compaction_rate_limit_bytes_per_sec: u64,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { update(opts, |o| { o.compaction_rate_limit_bytes_per_sec = compaction_rate_limit_bytes_per_sec; Ok(()) }) }
    }
}
/// Throttles compaction writes while foreground commits run (`KV_FSYNC_ALWAYS`
/// writes seen in the last 20 ms), in bytes per second; 0 = unthrottled.
/// Default 64 MB/s: every byte a merge writes between two commits is
/// flushed by the second one, so this bounds what a merge adds to commit
/// latency. With no commits running the merge goes at full speed.
///
/// Returns `KV_OK`, or `KV_INVALID_ARGUMENT` (options unchanged) when
/// `opts` is NULL.
///
/// # Safety
///
/// `opts` must be NULL or a live `kv_options`.
#[no_mangle]
pub unsafe extern "C" fn kv_options_set_compaction_busy_rate_limit(
    opts: *mut kv_options,
    compaction_busy_rate_limit_bytes_per_sec: u64,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe {
            update(opts, |o| {
                o.compaction_busy_rate_limit_bytes_per_sec = compaction_busy_rate_limit_bytes_per_sec;
                Ok(())
            })
        }
    }
}
/// Threads that scan a large merge's inputs, 1 or 2 (default 2, 1 on a one-CPU machine: the two
/// halves of the inputs side by side when they total at least 16 MiB).
///
/// Returns `KV_OK`, or `KV_INVALID_ARGUMENT` (options unchanged) when
/// `opts` is NULL or the value is not 1 or 2.
///
/// # Safety
///
/// `opts` must be NULL or a live `kv_options`.
#[no_mangle]
pub unsafe extern "C" fn kv_options_set_compaction_threads(
    opts: *mut kv_options,
    compaction_threads: u32,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe {
            update(opts, |o| {
                o.compaction_threads = compaction_threads as usize;
                Ok(())
            })
        }
    }
}
/// Writes compaction output around the page cache (`O_DIRECT`, where the
/// file system supports it; default true): merges run near the device's
/// speed and do not evict the cached working set, but the first read of a
/// moved record after a merge comes from the device.
///
/// Returns `KV_OK`, or `KV_INVALID_ARGUMENT` (options unchanged) when
/// `opts` is NULL or the value is out of range.
///
/// # Safety
///
/// `opts` must be NULL or a live `kv_options`.
#[no_mangle]
pub unsafe extern "C" fn kv_options_set_compaction_direct_io(
    opts: *mut kv_options,
    compaction_direct_io: bool,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { update(opts, |o| { o.compaction_direct_io = compaction_direct_io; Ok(()) }) }
    }
}
/// Runs the background active expiry cycle (default true).
///
/// Returns `KV_OK`, or `KV_INVALID_ARGUMENT` (options unchanged) when
/// `opts` is NULL or the value is out of range.
///
/// # Safety
///
/// `opts` must be NULL or a live `kv_options`.
#[no_mangle]
pub unsafe extern "C" fn kv_options_set_active_expiry(opts: *mut kv_options, active_expiry: bool) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { update(opts, |o| { o.active_expiry = active_expiry; Ok(()) }) }
    }
}
/// Sets the interval between active expiry cycles in ms: at least 1
/// (default 100).
///
/// Returns `KV_OK`, or `KV_INVALID_ARGUMENT` (options unchanged) when
/// `opts` is NULL or the value is out of range.
///
/// # Safety
///
/// `opts` must be NULL or a live `kv_options`.
#[no_mangle]
pub unsafe extern "C" fn kv_options_set_active_expiry_interval_ms(
    opts: *mut kv_options,
    active_expiry_interval_ms: u64,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { update(opts, |o| { o.active_expiry_interval_ms = active_expiry_interval_ms; Ok(()) }) }
    }
}
/// Sets the time budget of one active expiry cycle in ms (default 25).
///
/// Returns `KV_OK`, or `KV_INVALID_ARGUMENT` (options unchanged) when
/// `opts` is NULL or the value is out of range.
///
/// # Safety
///
/// `opts` must be NULL or a live `kv_options`.
#[no_mangle]
pub unsafe extern "C" fn kv_options_set_active_expiry_budget_ms(
    opts: *mut kv_options,
    active_expiry_budget_ms: u64,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { update(opts, |o| { o.active_expiry_budget_ms = active_expiry_budget_ms; Ok(()) }) }
    }
}
