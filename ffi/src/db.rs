//! `kv_db`: opening, closing and the plain key-value calls.

use std::ffi::{c_char, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;

use kv_engine::{Db, Options};
use parking_lot::RwLock;

use crate::args;
use crate::buf::kv_buf;
use crate::options::kv_options;
use crate::status::{kv_status, Fail, FfiResult};

/// An open database. Thread-safe: one handle may be used by many threads at
/// once. `kv_db_close` closes it (later calls return `KV_CLOSED`) but keeps
/// the handle valid until `kv_db_free`.
#[allow(non_camel_case_types)]
pub struct kv_db {
    /// `None` once closed. Calls hold the read lock for their duration, so
    /// close (write lock) waits for calls in flight and none runs after it.
    state: RwLock<Option<Db>>,
}

/// The C handle is `Arc::into_raw` of this, so that iterators can keep the
/// shell alive (and see `KV_CLOSED`) after the database is freed.
impl kv_db {
    /// Runs `f` on the open database, or fails with `KV_CLOSED`.
    pub(crate) fn with<T>(&self, f: impl FnOnce(&Db) -> Result<T, Fail>) -> Result<T, Fail> {
        let guard = self.state.read();
        match guard.as_ref() {
            Some(db) => f(db),
            None => Err(Fail::from(kv_engine::Error::Closed)),
        }
    }

    /// Closes the database; `KV_CLOSED` if it already was.
    fn close(&self) -> FfiResult {
        let db = self.state.write().take().ok_or_else(|| Fail::from(kv_engine::Error::Closed))?;
        let result = db.close();
        drop(db);
        Ok(result?)
    }
}

/// Runs `f` on the open database behind the handle `db`.
///
/// # Safety
///
/// `db` must be NULL or a live handle from `kv_db_open`.
pub(crate) unsafe fn with_db<T>(db: *const kv_db, f: impl FnOnce(&Db) -> Result<T, Fail>) -> Result<T, Fail> {
    // SAFETY: forwarded contract.
    unsafe { args::handle(db, "db") }?.with(f)
}

/// A new strong reference to the handle `db` (for iterators).
///
/// # Safety
///
/// `db` must be a non-NULL live handle from `kv_db_open`.
pub(crate) unsafe fn retain(db: *const kv_db) -> Arc<kv_db> {
    // SAFETY: db came from Arc::into_raw and is live, so its count is >= 1.
    unsafe {
        Arc::increment_strong_count(db);
        Arc::from_raw(db)
    }
}

/// The version of libkv, e.g. "0.1.0".
///
/// Ownership: static string; do not free.
#[no_mangle]
pub extern "C" fn kv_version() -> *const c_char {
    crate::ffi_boundary! {
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast::<c_char>()
    }
}

/// Opens (creating if needed) the database in directory `path`.
///
/// `path`: NUL-terminated path, any bytes (not necessarily UTF-8).
/// `opts`: options to copy, or NULL for the defaults; still owned by the
/// caller, who may free it right after this call.
/// `out_db`: receives the handle on success, NULL on failure.
///
/// Ownership: the caller owns `*out_db` and must release it with
/// `kv_db_free` (which also closes it).
///
/// Returns `KV_OK`; `KV_LOCKED` if another handle (in this process or
/// another) has the directory open; `KV_CORRUPTION` if a record other than a
/// torn tail is damaged under strict recovery; `KV_IO`;
/// `KV_INVALID_ARGUMENT` for a NULL `path` or `out_db`.
///
/// # Safety
///
/// `path` must be NULL or NUL-terminated; `opts` NULL or live; `out_db`
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kv_db_open(
    path: *const c_char,
    opts: *const kv_options,
    out_db: *mut *mut kv_db,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        let out_db = unsafe { args::out(out_db, "out_db") }?;
        *out_db = std::ptr::null_mut();
        // SAFETY: forwarded contract.
        let path = unsafe { args::c_str(path, "path") }?;
        // SAFETY: forwarded contract.
        let options: Options = match unsafe { opts.as_ref() } {
            Some(o) => o.opts.lock().clone(),
            None => Options::default(),
        };
        let db = Db::open(OsStr::from_bytes(path.to_bytes()), options)?;
        *out_db = Arc::into_raw(Arc::new(kv_db { state: RwLock::new(Some(db)) })).cast_mut();
        Ok(())
    }
}

/// Syncs and closes the database and releases its directory lock. The
/// handle stays allocated: every later call on it returns `KV_CLOSED`, and
/// it must still be released with `kv_db_free`. Waits for calls in flight
/// on other threads to finish.
///
/// Returns `KV_OK`; `KV_POISONED` or `KV_IO` if an earlier or the final sync
/// failed (the database is closed all the same); `KV_CLOSED` if it already
/// was closed; `KV_INVALID_ARGUMENT` for NULL.
///
/// # Safety
///
/// `db` must be NULL or a handle from `kv_db_open` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn kv_db_close(db: *mut kv_db) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { args::handle(db, "db") }?.close()
    }
}

/// Closes the database if still open (errors are lost: call `kv_db_close`
/// first to see them) and releases the handle. NULL is ignored. Iterators
/// created from it stay valid (their `kv_iter_next` then returns
/// `KV_CLOSED`) and must still be freed.
///
/// # Safety
///
/// `db` must be NULL or a handle from `kv_db_open` not yet freed, and no
/// other thread may use it during or after this call.
#[no_mangle]
pub unsafe extern "C" fn kv_db_free(db: *mut kv_db) {
    crate::ffi_boundary! {
        if db.is_null() {
            return;
        }
        // SAFETY: db is a live handle made by Arc::into_raw (contract); this
        // takes over the caller's reference exactly once.
        let handle = unsafe { Arc::from_raw(db.cast_const()) };
        let _ = handle.close();
    }
}

/// Looks up the string value of `key`.
///
/// `key`/`key_len`: the key, non-NULL and non-empty.
/// `out_value`: receives the value on `KV_OK`; set to `{NULL, 0}` otherwise.
///
/// Ownership: on `KV_OK` the caller owns `out_value->data` and releases it
/// with `kv_buf_free(out_value)`.
///
/// Returns `KV_OK`; `KV_NOT_FOUND` if missing or expired; `KV_WRONG_TYPE` if
/// the key holds a sorted set; `KV_KEY_TOO_LARGE`; `KV_CLOSED`; `KV_IO`;
/// `KV_CORRUPTION`; `KV_INVALID_ARGUMENT` for NULL or empty arguments.
///
/// # Safety
///
/// `db` NULL or live; `key` valid for `key_len` bytes; `out_value` NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn kv_db_get(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    out_value: *mut kv_buf,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        let out_value = unsafe { args::out(out_value, "out_value") }?;
        *out_value = kv_buf::EMPTY;
        // SAFETY: forwarded contract.
        let key = unsafe { args::key(key, key_len, "key") }?;
        // SAFETY: forwarded contract.
        let value = unsafe { with_db(db, |db| Ok(db.get(key)?)) }?.ok_or_else(Fail::not_found)?;
        *out_value = kv_buf::from_vec(value);
        Ok(())
    }
}

/// Copies the string value of `key` into the caller's buffer `dst` of
/// `dst_cap` bytes, without allocating a `kv_buf`.
///
/// `out_len`: receives the value's length on `KV_OK` and on
/// `KV_BUFFER_TOO_SMALL` (so calling with `dst_cap` 0 asks for the size).
/// `dst` may be NULL only when `dst_cap` is 0.
///
/// Returns `KV_OK`; `KV_BUFFER_TOO_SMALL` (nothing copied) if the value is
/// longer than `dst_cap`; otherwise as `kv_db_get`.
///
/// # Safety
///
/// `dst` valid for `dst_cap` bytes of writes; others as `kv_db_get`.
#[no_mangle]
pub unsafe extern "C" fn kv_db_get_into(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    dst: *mut u8,
    dst_cap: usize,
    out_len: *mut usize,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        let out_len = unsafe { args::out(out_len, "out_len") }?;
        *out_len = 0;
        if dst.is_null() && dst_cap != 0 {
            return Err(Fail::invalid(format!("dst is NULL but dst_cap is {dst_cap}")));
        }
        // SAFETY: forwarded contract.
        let key = unsafe { args::key(key, key_len, "key") }?;
        // SAFETY: forwarded contract.
        let value = unsafe { with_db(db, |db| Ok(db.get(key)?)) }?.ok_or_else(Fail::not_found)?;
        *out_len = value.len();
        if value.len() > dst_cap {
            return Err(Fail::new(
                kv_status::KV_BUFFER_TOO_SMALL,
                format!("value of {} bytes does not fit in {dst_cap} bytes", value.len()),
            ));
        }
        if !value.is_empty() {
            // SAFETY: dst is valid for dst_cap >= value.len() bytes (contract)
            // and cannot overlap our own Vec.
            unsafe { std::ptr::copy_nonoverlapping(value.as_ptr(), dst, value.len()) };
        }
        Ok(())
    }
}

/// Sets `key` to `value` without expiry, replacing any value of any type.
/// `value` may be NULL when `value_len` is 0 (the empty string).
///
/// Returns `KV_OK` once durable as the fsync policy promises;
/// `KV_KEY_TOO_LARGE`; `KV_VALUE_TOO_LARGE`; `KV_POISONED`; `KV_IO`;
/// `KV_CLOSED`; `KV_INVALID_ARGUMENT`.
///
/// # Safety
///
/// `db` NULL or live; `key`, `value` valid for their lengths.
#[no_mangle]
pub unsafe extern "C" fn kv_db_put(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        let key = unsafe { args::key(key, key_len, "key") }?;
        // SAFETY: forwarded contract.
        let value = unsafe { args::bytes(value, value_len, "value") }?;
        // SAFETY: forwarded contract.
        unsafe { with_db(db, |db| Ok(db.put(key, value)?)) }
    }
}

/// Deletes `key` (of any type). `out_existed` (may be NULL) receives whether
/// it existed.
///
/// Returns `KV_OK` (also when the key did not exist); otherwise as
/// `kv_db_put`.
///
/// # Safety
///
/// `db` NULL or live; `key` valid for `key_len`; `out_existed` NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn kv_db_delete(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    out_existed: *mut bool,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        let key = unsafe { args::key(key, key_len, "key") }?;
        // SAFETY: forwarded contract.
        let existed = unsafe { with_db(db, |db| Ok(db.delete(key)?)) }?;
        // SAFETY: forwarded contract.
        if let Some(out) = unsafe { args::out_opt(out_existed) } {
            *out = existed;
        }
        Ok(())
    }
}

/// Whether `key` exists (any type, not expired): `*out_exists` receives it.
///
/// Returns `KV_OK`; `KV_KEY_TOO_LARGE`; `KV_CLOSED`; `KV_INVALID_ARGUMENT`.
///
/// # Safety
///
/// `db` NULL or live; `key` valid for `key_len`; `out_exists` NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn kv_db_exists(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    out_exists: *mut bool,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        let out = unsafe { args::out(out_exists, "out_exists") }?;
        *out = false;
        // SAFETY: forwarded contract.
        let key = unsafe { args::key(key, key_len, "key") }?;
        // SAFETY: forwarded contract.
        *out = unsafe { with_db(db, |db| Ok(db.exists(key)?)) }?;
        Ok(())
    }
}

/// The number of live keys of every type: `*out_len` receives it.
///
/// Returns `KV_OK`; `KV_CLOSED`; `KV_INVALID_ARGUMENT`.
///
/// # Safety
///
/// `db` NULL or live; `out_len` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kv_db_len(db: *mut kv_db, out_len: *mut u64) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        let out = unsafe { args::out(out_len, "out_len") }?;
        *out = 0;
        // SAFETY: forwarded contract.
        *out = unsafe { with_db(db, |db| Ok(db.len()?)) }?;
        Ok(())
    }
}

/// Makes every acknowledged write durable now, whatever the fsync policy.
///
/// Returns `KV_OK`; `KV_POISONED`; `KV_IO`; `KV_CLOSED`;
/// `KV_INVALID_ARGUMENT`.
///
/// # Safety
///
/// `db` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn kv_db_sync(db: *mut kv_db) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { with_db(db, |db| Ok(db.sync()?)) }
    }
}
