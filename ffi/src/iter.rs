//! `kv_iter`: iteration over keys with a prefix.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::args;
use crate::buf::kv_slice;
use crate::db::{kv_db, retain, with_db};
use crate::status::{kv_status, Fail};

/// An iterator over the keys with a prefix, sorted by bytes, from
/// `kv_db_scan_prefix` or `kv_db_keys`. The set of keys is fixed when it is
/// created; values are read as it advances, so a key deleted meanwhile is
/// skipped and a value reflects the latest write. Free with `kv_iter_free`.
/// Use it from one thread at a time.
#[allow(non_camel_case_types)]
pub struct kv_iter {
    state: Mutex<IterState>,
}

struct IterState {
    /// Keeps the handle's memory alive; its database may still be closed.
    db: Arc<kv_db>,
    /// Remaining keys.
    keys: std::vec::IntoIter<Vec<u8>>,
    /// Whether values are read (scan) or only keys (keys).
    with_values: bool,
    /// The current item, which the slices handed out borrow.
    key: Vec<u8>,
    value: Vec<u8>,
}

/// Creates an iterator.
///
/// # Safety
///
/// `db` NULL or live; `prefix` valid for `prefix_len`; `out_iter` NULL or
/// writable.
unsafe fn make_iter(
    db: *mut kv_db,
    prefix: *const u8,
    prefix_len: usize,
    out_iter: *mut *mut kv_iter,
    with_values: bool,
) -> Result<(), Fail> {
    // SAFETY: forwarded contract.
    let out = unsafe { args::out(out_iter, "out_iter") }?;
    *out = std::ptr::null_mut();
    // SAFETY: forwarded contract.
    let prefix = unsafe { args::bytes(prefix, prefix_len, "prefix") }?;
    // SAFETY: forwarded contract.
    let keys = unsafe { with_db(db, |d| Ok(d.keys_with_prefix(prefix)?)) }?;
    // SAFETY: with_db succeeded, so db is a non-NULL live handle.
    let db = unsafe { retain(db) };
    let state = IterState { db, keys: keys.into_iter(), with_values, key: Vec::new(), value: Vec::new() };
    *out = Box::into_raw(Box::new(kv_iter { state: Mutex::new(state) }));
    Ok(())
}

/// Starts an iteration over the string keys starting with `prefix` (NULL
/// with length 0 = every key), in byte order, yielding key and value. Keys
/// of other types are skipped. Costs one pass over the index to collect and
/// sort the matching keys (held in memory by the iterator).
///
/// Ownership: the caller owns `*out_iter` and frees it with `kv_iter_free`;
/// it stays valid after `kv_db_close`/`kv_db_free` (then yielding
/// `KV_CLOSED`).
///
/// Returns `KV_OK`; `KV_CLOSED`; `KV_INVALID_ARGUMENT` for NULL arguments.
///
/// # Safety
///
/// `db` NULL or live; `prefix` valid for `prefix_len`; `out_iter` NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn kv_db_scan_prefix(
    db: *mut kv_db,
    prefix: *const u8,
    prefix_len: usize,
    out_iter: *mut *mut kv_iter,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { make_iter(db, prefix, prefix_len, out_iter, true) }
    }
}

/// As `kv_db_scan_prefix`, but yields keys of every type and no values
/// (`kv_iter_next` sets `out_value` to `{NULL, 0}`).
///
/// # Safety
///
/// As `kv_db_scan_prefix`.
#[no_mangle]
pub unsafe extern "C" fn kv_db_keys(
    db: *mut kv_db,
    prefix: *const u8,
    prefix_len: usize,
    out_iter: *mut *mut kv_iter,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { make_iter(db, prefix, prefix_len, out_iter, false) }
    }
}

/// Advances `iter`. `out_key` and `out_value` (either may be NULL) receive
/// the item.
///
/// Ownership: the slices borrow from `iter` and stay valid until the next
/// `kv_iter_next` or `kv_iter_free` on it; do not free them.
///
/// Returns `KV_OK` with an item; `KV_NOT_FOUND` at the end (and on every
/// later call); `KV_CLOSED` if the database was closed; `KV_IO`,
/// `KV_CORRUPTION` reading a value; `KV_INVALID_ARGUMENT` for a NULL `iter`.
///
/// # Safety
///
/// `iter` NULL or live; `out_key`, `out_value` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kv_iter_next(
    iter: *mut kv_iter,
    out_key: *mut kv_slice,
    out_value: *mut kv_slice,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        let it = unsafe { args::handle(iter, "iter") }?;
        // SAFETY: forwarded contract.
        let mut out_key = unsafe { args::out_opt(out_key) };
        // SAFETY: forwarded contract.
        let mut out_value = unsafe { args::out_opt(out_value) };
        let empty = kv_slice { data: std::ptr::null(), len: 0 };
        for out in [&mut out_key, &mut out_value].into_iter().flatten() {
            **out = empty;
        }
        let mut guard = it.state.lock();
        let st = &mut *guard;
        loop {
            let db = st.db.clone();
            let Some(key) = st.keys.next() else { return Err(Fail::not_found()) };
            let value = if st.with_values {
                match db.with(|d| match d.get(&key) {
                    Ok(v) => Ok(v),
                    // The key became a sorted set meanwhile: not a string, skip.
                    Err(kv_engine::Error::WrongType) => Ok(None),
                    Err(e) => Err(e.into()),
                })? {
                    Some(v) => v,
                    // Deleted or expired since the iterator was made.
                    None => continue,
                }
            } else {
                db.with(|_| Ok(()))?;
                Vec::new()
            };
            st.key = key;
            st.value = value;
            break;
        }
        if let Some(k) = out_key {
            *k = kv_slice::of(&st.key);
        }
        if let (Some(v), true) = (out_value, st.with_values) {
            *v = kv_slice::of(&st.value);
        }
        Ok(())
    }
}

/// Frees `iter`. NULL is ignored.
///
/// # Safety
///
/// `iter` must be NULL or come from `kv_db_scan_prefix`/`kv_db_keys`, not
/// yet freed.
#[no_mangle]
pub unsafe extern "C" fn kv_iter_free(iter: *mut kv_iter) {
    crate::ffi_boundary! {
        if !iter.is_null() {
            // SAFETY: made by Box::into_raw in make_iter, freed once (contract).
            drop(unsafe { Box::from_raw(iter) });
        }
    }
}
