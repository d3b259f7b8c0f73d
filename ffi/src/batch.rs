//! `kv_batch`: writes applied atomically by `kv_db_write_batch`.

use kv_engine::WriteBatch;
use parking_lot::Mutex;

use crate::args;
use crate::db::{kv_db, with_db};
use crate::status::{kv_status, FfiResult};

/// A list of puts and deletes applied all-or-nothing (also across a crash)
/// by `kv_db_write_batch`. Create with `kv_batch_new`, free with
/// `kv_batch_free`. Reusable after a write. Internally locked, so sharing it
/// between threads is safe, though operations added concurrently land in an
/// unspecified order.
#[allow(non_camel_case_types)]
pub struct kv_batch {
    batch: Mutex<WriteBatch>,
}

/// A new empty batch. Returns NULL only if libkv failed internally.
///
/// Ownership: the caller owns the result and frees it with `kv_batch_free`.
#[no_mangle]
pub extern "C" fn kv_batch_new() -> *mut kv_batch {
    crate::ffi_boundary! {
        Box::into_raw(Box::new(kv_batch { batch: Mutex::new(WriteBatch::new()) }))
    }
}

/// Frees `batch`. NULL is ignored.
///
/// # Safety
///
/// `batch` must be NULL or come from `kv_batch_new`, not yet freed, and not
/// in use by another thread.
#[no_mangle]
pub unsafe extern "C" fn kv_batch_free(batch: *mut kv_batch) {
    crate::ffi_boundary! {
        if !batch.is_null() {
            // SAFETY: made by Box::into_raw in kv_batch_new, freed once (contract).
            drop(unsafe { Box::from_raw(batch) });
        }
    }
}

/// Runs `f` on the batch behind `batch`.
///
/// # Safety
///
/// `batch` must be NULL or live.
unsafe fn with_batch(batch: *const kv_batch, f: impl FnOnce(&mut WriteBatch)) -> FfiResult {
    // SAFETY: forwarded contract.
    let b = unsafe { args::handle(batch, "batch") }?;
    f(&mut b.batch.lock());
    Ok(())
}

/// Adds a put of `key` = `value` without expiry. Limits are checked by
/// `kv_db_write_batch`. The bytes are copied.
///
/// Returns `KV_OK`; `KV_INVALID_ARGUMENT` for a NULL batch, a NULL or empty
/// key, or a NULL value with a non-zero length.
///
/// # Safety
///
/// `batch` NULL or live; `key`, `value` valid for their lengths.
#[no_mangle]
pub unsafe extern "C" fn kv_batch_put(
    batch: *mut kv_batch,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { kv_batch_put_ex_inner(batch, key, key_len, value, value_len, 0) }
    }
}

/// Adds a put of `key` = `value` that expires at `expire_at_ms` (Unix time
/// in milliseconds; 0 = never). Otherwise as `kv_batch_put`.
///
/// # Safety
///
/// As `kv_batch_put`.
#[no_mangle]
pub unsafe extern "C" fn kv_batch_put_ex(
    batch: *mut kv_batch,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    expire_at_ms: u64,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { kv_batch_put_ex_inner(batch, key, key_len, value, value_len, expire_at_ms) }
    }
}

/// The shared body of the two puts.
///
/// # Safety
///
/// As `kv_batch_put`.
unsafe fn kv_batch_put_ex_inner(
    batch: *const kv_batch,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    expire_at_ms: u64,
) -> FfiResult {
    // SAFETY: forwarded contract.
    let key = unsafe { args::key(key, key_len, "key") }?;
    // SAFETY: forwarded contract.
    let value = unsafe { args::bytes(value, value_len, "value") }?;
    // SAFETY: forwarded contract.
    unsafe {
        with_batch(batch, |b| {
            b.put_with_expiry(key, value, expire_at_ms);
        })
    }
}

/// Adds a delete of `key` (of any type).
///
/// Returns `KV_OK`; `KV_INVALID_ARGUMENT` for a NULL batch or a NULL or
/// empty key.
///
/// # Safety
///
/// `batch` NULL or live; `key` valid for `key_len`.
#[no_mangle]
pub unsafe extern "C" fn kv_batch_delete(batch: *mut kv_batch, key: *const u8, key_len: usize) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        let key = unsafe { args::key(key, key_len, "key") }?;
        // SAFETY: forwarded contract.
        unsafe { with_batch(batch, |b| { b.delete(key); }) }
    }
}

/// The number of operations in `batch`: `*out_len` receives it.
///
/// Returns `KV_OK` or `KV_INVALID_ARGUMENT` for NULL arguments.
///
/// # Safety
///
/// `batch` NULL or live; `out_len` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kv_batch_len(batch: *mut kv_batch, out_len: *mut usize) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        let out = unsafe { args::out(out_len, "out_len") }?;
        // SAFETY: forwarded contract.
        unsafe { with_batch(batch, |b| *out = b.len()) }
    }
}

/// Removes every operation from `batch`.
///
/// Returns `KV_OK` or `KV_INVALID_ARGUMENT` for NULL.
///
/// # Safety
///
/// `batch` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn kv_batch_clear(batch: *mut kv_batch) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { with_batch(batch, |b| b.clear()) }
    }
}

/// Applies every operation of `batch` atomically: after a crash either all
/// are present or none. The batch is left unchanged (clear it to reuse).
///
/// Returns `KV_OK`; `KV_BATCH_TOO_LARGE` (more than `max_batch_ops`
/// operations or `max_batch_size` bytes); `KV_KEY_TOO_LARGE`;
/// `KV_VALUE_TOO_LARGE`; `KV_POISONED`; `KV_IO`; `KV_CLOSED`;
/// `KV_INVALID_ARGUMENT` for NULL. Nothing is applied on failure.
///
/// # Safety
///
/// `db`, `batch` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn kv_db_write_batch(db: *mut kv_db, batch: *mut kv_batch) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        let b = unsafe { args::handle(batch, "batch") }?;
        let batch = b.batch.lock();
        // SAFETY: forwarded contract.
        unsafe { with_db(db, |db| Ok(db.write_batch(&batch)?)) }
    }
}
