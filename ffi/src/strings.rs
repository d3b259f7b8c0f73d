//! Redis string and TTL commands: SET with options, GETEX/GETDEL, APPEND,
//! ranges, the INCR family, the EXPIRE/TTL family, MGET/MSET and the atomic
//! compare-and-delete / compare-and-swap used for locks.

use kv_engine::{Condition, Db, ExpireCondition, Expiry, GetExOption, SetOptions};

use crate::args;
use crate::buf::{kv_buf, kv_slice};
use crate::db::{kv_db, with_db};
use crate::status::{kv_status, Fail, FfiResult};

/// Expiry of `kv_db_set` / `kv_db_compare_and_swap` (the `expiry_kind`
/// field or argument).
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum kv_expiry_kind {
    /// No expiry: the key has no TTL afterwards.
    KV_EXPIRY_NONE = 0,
    /// `EX`: `expiry` seconds from now (> 0).
    KV_EXPIRY_EX = 1,
    /// `PX`: `expiry` milliseconds from now (> 0).
    KV_EXPIRY_PX = 2,
    /// `EXAT`: at Unix time `expiry` seconds (> 0).
    KV_EXPIRY_EXAT = 3,
    /// `PXAT`: at Unix time `expiry` milliseconds (> 0).
    KV_EXPIRY_PXAT = 4,
    /// `KEEPTTL`: keep the key's current expiry.
    KV_EXPIRY_KEEPTTL = 5,
}

/// Condition of `kv_db_set` (the `condition` field).
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum kv_set_condition {
    /// Always set.
    KV_SET_ALWAYS = 0,
    /// `NX`: only if the key does not exist.
    KV_SET_NX = 1,
    /// `XX`: only if the key exists.
    KV_SET_XX = 2,
}

/// Condition of the `kv_db_expire` family (Redis 7 `NX`/`XX`/`GT`/`LT`). A
/// key without TTL counts as an infinite TTL for GT and LT.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum kv_expire_condition {
    /// Always set.
    KV_EXPIRE_ALWAYS = 0,
    /// Only if the key has no expiry.
    KV_EXPIRE_NX = 1,
    /// Only if the key has an expiry.
    KV_EXPIRE_XX = 2,
    /// Only if the new expiry is later.
    KV_EXPIRE_GT = 3,
    /// Only if the new expiry is earlier.
    KV_EXPIRE_LT = 4,
    /// `XX LT`: has an expiry and the new one is earlier.
    KV_EXPIRE_XX_LT = 5,
}

/// Option of `kv_db_getex`.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum kv_getex_kind {
    /// Leave the expiry alone (plain GET).
    KV_GETEX_NONE = 0,
    /// `EX`: seconds from now.
    KV_GETEX_EX = 1,
    /// `PX`: milliseconds from now.
    KV_GETEX_PX = 2,
    /// `EXAT`: Unix seconds.
    KV_GETEX_EXAT = 3,
    /// `PXAT`: Unix milliseconds.
    KV_GETEX_PXAT = 4,
    /// `PERSIST`: remove the expiry.
    KV_GETEX_PERSIST = 5,
}

/// Options of `kv_db_set`. Zero-initialise for a plain SET.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, Default)]
pub struct kv_set_args {
    /// One of `kv_expiry_kind`.
    pub expiry_kind: i32,
    /// The number for `expiry_kind` (seconds or ms, relative or absolute).
    pub expiry: i64,
    /// One of `kv_set_condition`.
    pub condition: i32,
    /// `GET`: return the old value in `out_old`.
    pub get: bool,
}

fn expiry_of(kind: i32, t: i64) -> Result<Option<Expiry>, Fail> {
    Ok(match kind {
        0 => None,
        1 => Some(Expiry::Ex(t)),
        2 => Some(Expiry::Px(t)),
        3 => Some(Expiry::ExAt(t)),
        4 => Some(Expiry::PxAt(t)),
        5 => Some(Expiry::KeepTtl),
        other => return Err(Fail::invalid(format!("unknown expiry kind {other}"))),
    })
}

fn expire_condition_of(c: i32) -> Result<ExpireCondition, Fail> {
    Ok(match c {
        0 => ExpireCondition::None,
        1 => ExpireCondition::Nx,
        2 => ExpireCondition::Xx,
        3 => ExpireCondition::Gt,
        4 => ExpireCondition::Lt,
        5 => ExpireCondition::XxLt,
        other => return Err(Fail::invalid(format!("unknown expire condition {other}"))),
    })
}

/// Checks `key` and runs `f` on the open database.
///
/// # Safety
///
/// `db` NULL or live; `key` valid for `key_len`.
pub(crate) unsafe fn on_key<T>(
    db: *const kv_db,
    key: *const u8,
    key_len: usize,
    f: impl FnOnce(&Db, &[u8]) -> kv_engine::Result<T>,
) -> Result<T, Fail> {
    // SAFETY: forwarded contract.
    let key = unsafe { args::key(key, key_len, "key") }?;
    // SAFETY: forwarded contract.
    unsafe { with_db(db, |d| Ok(f(d, key)?)) }
}

/// Writes `v` to a required out-parameter after a successful call.
///
/// # Safety
///
/// `out` NULL or writable.
pub(crate) unsafe fn put_out<T>(out: *mut T, name: &str, v: T) -> FfiResult {
    // SAFETY: forwarded contract.
    *unsafe { args::out(out, name) }? = v;
    Ok(())
}

/// Writes `v` to an optional out-parameter.
///
/// # Safety
///
/// `out` NULL or writable.
pub(crate) unsafe fn put_opt<T>(out: *mut T, v: T) {
    // SAFETY: forwarded contract.
    if let Some(o) = unsafe { args::out_opt(out) } {
        *o = v;
    }
}

/// Hands `bytes` to an optional `kv_buf` out-parameter. When it is NULL the
/// bytes are dropped here: a `kv_buf` has no destructor, so building one
/// first would leak. Regression test: `test_null_buffer_outs_do_not_leak`
/// (C, under ASan and valgrind).
///
/// # Safety
///
/// `out` NULL or writable.
pub(crate) unsafe fn put_buf_opt(out: *mut kv_buf, bytes: Vec<u8>) {
    // SAFETY: forwarded contract.
    if let Some(o) = unsafe { args::out_opt(out) } {
        *o = kv_buf::from_vec(bytes);
    }
}

/// `SET key value [NX|XX] [GET] [EX|PX|EXAT|PXAT|KEEPTTL]`. `set_args` may
/// be NULL (plain SET). `out_written` (may be NULL) receives whether the
/// value was written (false when NX/XX refused it). With `get`,
/// `out_old` (may be NULL) receives the old value, or `{NULL, 0}` when the
/// key did not exist.
///
/// Ownership: the caller frees `*out_old` with `kv_buf_free`.
///
/// Returns `KV_OK` (also when NX/XX refused); `KV_INVALID_ARGUMENT`
/// (including `ERR invalid expire time in 'set' command`); `KV_WRONG_TYPE`
/// with `get` on a non-string; `KV_KEY_TOO_LARGE`; `KV_VALUE_TOO_LARGE`;
/// `KV_POISONED`; `KV_IO`; `KV_CLOSED`.
///
/// # Safety
///
/// Pointers valid for their lengths or NULL as documented.
#[no_mangle]
pub unsafe extern "C" fn kv_db_set(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    set_args: *const kv_set_args,
    out_written: *mut bool,
    out_old: *mut kv_buf,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { put_opt(out_written, false) };
        // SAFETY: forwarded contract.
        unsafe { put_opt(out_old, kv_buf::EMPTY) };
        // SAFETY: forwarded contract.
        let a = unsafe { set_args.as_ref() }.copied().unwrap_or_default();
        let mut opts = SetOptions::new();
        opts.expiry = expiry_of(a.expiry_kind, a.expiry)?;
        opts.condition = match a.condition {
            0 => None,
            1 => Some(Condition::Nx),
            2 => Some(Condition::Xx),
            other => return Err(Fail::invalid(format!("unknown set condition {other}"))),
        };
        opts.get = a.get;
        // SAFETY: forwarded contract.
        let value = unsafe { args::bytes(value, value_len, "value") }?;
        // SAFETY: forwarded contract.
        let r = unsafe { on_key(db, key, key_len, |d, k| d.set(k, value, &opts)) }?;
        // SAFETY: forwarded contract.
        unsafe { put_opt(out_written, r.written) };
        if let Some(old) = r.old_value {
            // SAFETY: forwarded contract.
            unsafe { put_buf_opt(out_old, old) };
        }
        Ok(())
    }
}

/// `GETEX key [EX|PX|EXAT|PXAT|PERSIST]`: the value, changing the expiry
/// per `kind` (one of `kv_getex_kind`) and `t`.
///
/// Ownership: the caller frees `*out_value` with `kv_buf_free`.
///
/// Returns `KV_OK`; `KV_NOT_FOUND`; `KV_WRONG_TYPE`; `KV_INVALID_ARGUMENT`.
///
/// # Safety
///
/// Pointers valid for their lengths; `out_value` writable.
#[no_mangle]
pub unsafe extern "C" fn kv_db_getex(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    kind: i32,
    t: i64,
    out_value: *mut kv_buf,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        let out = unsafe { args::out(out_value, "out_value") }?;
        *out = kv_buf::EMPTY;
        let opt = match kind {
            0 => None,
            1 => Some(GetExOption::Ex(t)),
            2 => Some(GetExOption::Px(t)),
            3 => Some(GetExOption::ExAt(t)),
            4 => Some(GetExOption::PxAt(t)),
            5 => Some(GetExOption::Persist),
            other => return Err(Fail::invalid(format!("unknown getex kind {other}"))),
        };
        // SAFETY: forwarded contract.
        let v = unsafe { on_key(db, key, key_len, |d, k| d.getex(k, opt)) }?.ok_or_else(Fail::not_found)?;
        *out = kv_buf::from_vec(v);
        Ok(())
    }
}

/// `GETDEL key`: the value, deleting the key.
///
/// Ownership: the caller frees `*out_value` with `kv_buf_free`.
///
/// Returns `KV_OK`; `KV_NOT_FOUND`; `KV_WRONG_TYPE`; as `kv_db_get`.
///
/// # Safety
///
/// Pointers valid for their lengths; `out_value` writable.
#[no_mangle]
pub unsafe extern "C" fn kv_db_getdel(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    out_value: *mut kv_buf,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        let out = unsafe { args::out(out_value, "out_value") }?;
        *out = kv_buf::EMPTY;
        // SAFETY: forwarded contract.
        let v = unsafe { on_key(db, key, key_len, |d, k| d.getdel(k)) }?.ok_or_else(Fail::not_found)?;
        *out = kv_buf::from_vec(v);
        Ok(())
    }
}

/// `APPEND key value`: appends (creating the key), keeps the expiry;
/// `*out_len` receives the new length.
///
/// Returns `KV_OK`; `KV_WRONG_TYPE`; `KV_VALUE_TOO_LARGE`; as `kv_db_put`.
///
/// # Safety
///
/// Pointers valid for their lengths; `out_len` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kv_db_append(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    out_len: *mut u64,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        let value = unsafe { args::bytes(value, value_len, "value") }?;
        // SAFETY: forwarded contract.
        let n = unsafe { on_key(db, key, key_len, |d, k| d.append(k, value)) }?;
        // SAFETY: forwarded contract.
        unsafe { put_opt(out_len, n) };
        Ok(())
    }
}

/// `STRLEN key`: `*out_len` receives the value's length (0 if missing).
///
/// Returns `KV_OK`; `KV_WRONG_TYPE`; `KV_INVALID_ARGUMENT`; `KV_CLOSED`.
///
/// # Safety
///
/// Pointers valid for their lengths; `out_len` writable.
#[no_mangle]
pub unsafe extern "C" fn kv_db_strlen(db: *mut kv_db, key: *const u8, key_len: usize, out_len: *mut u64) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        let n = unsafe { on_key(db, key, key_len, |d, k| d.strlen(k)) }?;
        // SAFETY: forwarded contract.
        unsafe { put_out(out_len, "out_len", n) }
    }
}

/// `GETRANGE key start end` (inclusive, negative from the end).
///
/// Ownership: the caller frees `*out_value` with `kv_buf_free` (empty, not
/// NULL, for a missing key or an empty range).
///
/// Returns `KV_OK`; `KV_WRONG_TYPE`; `KV_INVALID_ARGUMENT`; `KV_CLOSED`.
///
/// # Safety
///
/// Pointers valid for their lengths; `out_value` writable.
#[no_mangle]
pub unsafe extern "C" fn kv_db_getrange(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    start: i64,
    end: i64,
    out_value: *mut kv_buf,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        let out = unsafe { args::out(out_value, "out_value") }?;
        *out = kv_buf::EMPTY;
        // SAFETY: forwarded contract.
        let v = unsafe { on_key(db, key, key_len, |d, k| d.getrange(k, start, end)) }?;
        *out = kv_buf::from_vec(v);
        Ok(())
    }
}

/// `SETRANGE key offset value`: overwrites from `offset` (zero-padding);
/// `*out_len` (may be NULL) receives the new length.
///
/// Returns `KV_OK`; `KV_WRONG_TYPE`; `KV_INVALID_ARGUMENT` (negative offset);
/// `KV_VALUE_TOO_LARGE`; as `kv_db_put`.
///
/// # Safety
///
/// Pointers valid for their lengths; `out_len` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kv_db_setrange(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    offset: i64,
    value: *const u8,
    value_len: usize,
    out_len: *mut u64,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        let value = unsafe { args::bytes(value, value_len, "value") }?;
        // SAFETY: forwarded contract.
        let n = unsafe { on_key(db, key, key_len, |d, k| d.setrange(k, offset, value)) }?;
        // SAFETY: forwarded contract.
        unsafe { put_opt(out_len, n) };
        Ok(())
    }
}

/// `INCRBY key delta` (use 1 for INCR, a negative delta for DECRBY):
/// `*out_value` receives the new value. A missing key counts as 0; the
/// expiry is kept.
///
/// Returns `KV_OK`; `KV_NOT_INTEGER`; `KV_OVERFLOW`; `KV_WRONG_TYPE`; as
/// `kv_db_put`.
///
/// # Safety
///
/// Pointers valid for their lengths; `out_value` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kv_db_incrby(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    delta: i64,
    out_value: *mut i64,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        let n = unsafe { on_key(db, key, key_len, |d, k| d.incrby(k, delta)) }?;
        // SAFETY: forwarded contract.
        unsafe { put_opt(out_value, n) };
        Ok(())
    }
}

/// `DECRBY key delta`: as `kv_db_incrby` with `-delta`. A `delta` of
/// `INT64_MIN` cannot be negated: `KV_INVALID_ARGUMENT` with Redis's
/// message "ERR decrement would overflow".
///
/// # Safety
///
/// As `kv_db_incrby`.
#[no_mangle]
pub unsafe extern "C" fn kv_db_decrby(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    delta: i64,
    out_value: *mut i64,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        let n = unsafe { on_key(db, key, key_len, |d, k| d.decrby(k, delta)) }?;
        // SAFETY: forwarded contract.
        unsafe { put_opt(out_value, n) };
        Ok(())
    }
}

/// `INCRBYFLOAT key increment`: `increment` is the decimal text Redis would
/// receive (e.g. "0.1"). `out_value` (may be NULL) receives the new value
/// as Redis formats it (e.g. "10.6").
///
/// Ownership: the caller frees `*out_value` with `kv_buf_free`.
///
/// Returns `KV_OK`; `KV_NOT_FLOAT`; `KV_INVALID_ARGUMENT` (NaN/Infinity
/// result); `KV_WRONG_TYPE`; as `kv_db_put`.
///
/// # Safety
///
/// Pointers valid for their lengths; `out_value` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kv_db_incrbyfloat(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    increment: *const u8,
    increment_len: usize,
    out_value: *mut kv_buf,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { put_opt(out_value, kv_buf::EMPTY) };
        // SAFETY: forwarded contract.
        let inc = unsafe { args::key(increment, increment_len, "increment") }?;
        // SAFETY: forwarded contract.
        let s = unsafe { on_key(db, key, key_len, |d, k| d.incrbyfloat(k, inc)) }?;
        // SAFETY: forwarded contract.
        unsafe { put_buf_opt(out_value, s.into_bytes()) };
        Ok(())
    }
}

/// Which EXPIRE command a call is.
#[derive(Clone, Copy)]
enum ExpireCmd {
    Expire,
    PExpire,
    ExpireAt,
    PExpireAt,
}

/// The shared body of the EXPIRE family.
///
/// # Safety
///
/// As `kv_db_expire`.
unsafe fn expire_any(
    db: *const kv_db,
    key: *const u8,
    key_len: usize,
    t: i64,
    condition: i32,
    out_set: *mut bool,
    cmd: ExpireCmd,
) -> FfiResult {
    // SAFETY: forwarded contract.
    unsafe { put_opt(out_set, false) };
    let cond = expire_condition_of(condition)?;
    // SAFETY: forwarded contract.
    let set = unsafe {
        on_key(db, key, key_len, |d, k| match cmd {
            ExpireCmd::Expire => d.expire(k, t, cond),
            ExpireCmd::PExpire => d.pexpire(k, t, cond),
            ExpireCmd::ExpireAt => d.expireat(k, t, cond),
            ExpireCmd::PExpireAt => d.pexpireat(k, t, cond),
        })
    }?;
    // SAFETY: forwarded contract.
    unsafe { put_opt(out_set, set) };
    Ok(())
}

/// `EXPIRE key seconds [NX|XX|GT|LT]` (`condition`: one of
/// `kv_expire_condition`). `*out_set` (may be NULL) receives whether the
/// expiry was set (Redis 1/0); false for a missing key. A non-positive time
/// deletes the key.
///
/// Returns `KV_OK`; `KV_INVALID_ARGUMENT`; as `kv_db_put`.
///
/// # Safety
///
/// Pointers valid for their lengths; `out_set` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kv_db_expire(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    seconds: i64,
    condition: i32,
    out_set: *mut bool,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { expire_any(db, key, key_len, seconds, condition, out_set, ExpireCmd::Expire) }
    }
}

/// `PEXPIRE key ms [cond]`: as `kv_db_expire` in milliseconds.
///
/// # Safety
///
/// As `kv_db_expire`.
#[no_mangle]
pub unsafe extern "C" fn kv_db_pexpire(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    ms: i64,
    condition: i32,
    out_set: *mut bool,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { expire_any(db, key, key_len, ms, condition, out_set, ExpireCmd::PExpire) }
    }
}

/// `EXPIREAT key unix_s [cond]`: as `kv_db_expire` at an absolute time.
///
/// # Safety
///
/// As `kv_db_expire`.
#[no_mangle]
pub unsafe extern "C" fn kv_db_expireat(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    unix_s: i64,
    condition: i32,
    out_set: *mut bool,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { expire_any(db, key, key_len, unix_s, condition, out_set, ExpireCmd::ExpireAt) }
    }
}

/// `PEXPIREAT key unix_ms [cond]`: as `kv_db_expireat` in milliseconds.
///
/// # Safety
///
/// As `kv_db_expire`.
#[no_mangle]
pub unsafe extern "C" fn kv_db_pexpireat(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    unix_ms: i64,
    condition: i32,
    out_set: *mut bool,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { expire_any(db, key, key_len, unix_ms, condition, out_set, ExpireCmd::PExpireAt) }
    }
}

/// `PERSIST key`: removes the expiry; `*out_removed` (may be NULL)
/// receives whether there was one.
///
/// Returns `KV_OK`; as `kv_db_put`.
///
/// # Safety
///
/// Pointers valid for their lengths; `out_removed` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kv_db_persist(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    out_removed: *mut bool,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        let r = unsafe { on_key(db, key, key_len, |d, k| d.persist(k)) }?;
        // SAFETY: forwarded contract.
        unsafe { put_opt(out_removed, r) };
        Ok(())
    }
}

/// Which TTL query a call is.
#[derive(Clone, Copy)]
enum TtlCmd {
    Ttl,
    PTtl,
    ExpireTime,
    PExpireTime,
}

/// The shared body of the TTL queries.
///
/// # Safety
///
/// As `kv_db_ttl`.
unsafe fn ttl_any(db: *const kv_db, key: *const u8, key_len: usize, out: *mut i64, cmd: TtlCmd) -> FfiResult {
    // SAFETY: forwarded contract.
    let out = unsafe { args::out(out, "out") }?;
    // SAFETY: forwarded contract.
    *out = unsafe {
        on_key(db, key, key_len, |d, k| match cmd {
            TtlCmd::Ttl => d.ttl(k),
            TtlCmd::PTtl => d.pttl(k),
            TtlCmd::ExpireTime => d.expiretime(k),
            TtlCmd::PExpireTime => d.pexpiretime(k),
        })
    }?;
    Ok(())
}

/// `TTL key`: `*out_seconds` receives the remaining seconds, -2 if the key
/// is missing, -1 if it has no expiry.
///
/// Returns `KV_OK`; `KV_INVALID_ARGUMENT`; `KV_CLOSED`.
///
/// # Safety
///
/// Pointers valid for their lengths; the out-parameter writable.
#[no_mangle]
pub unsafe extern "C" fn kv_db_ttl(db: *mut kv_db, key: *const u8, key_len: usize, out_seconds: *mut i64) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { ttl_any(db, key, key_len, out_seconds, TtlCmd::Ttl) }
    }
}

/// `PTTL key`: as `kv_db_ttl` in milliseconds.
///
/// # Safety
///
/// As `kv_db_ttl`.
#[no_mangle]
pub unsafe extern "C" fn kv_db_pttl(db: *mut kv_db, key: *const u8, key_len: usize, out_ms: *mut i64) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { ttl_any(db, key, key_len, out_ms, TtlCmd::PTtl) }
    }
}

/// `EXPIRETIME key`: absolute Unix seconds of the expiry; -2 missing, -1
/// none.
///
/// # Safety
///
/// As `kv_db_ttl`.
#[no_mangle]
pub unsafe extern "C" fn kv_db_expiretime(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    out_unix_s: *mut i64,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { ttl_any(db, key, key_len, out_unix_s, TtlCmd::ExpireTime) }
    }
}

/// `PEXPIRETIME key`: as `kv_db_expiretime` in milliseconds.
///
/// # Safety
///
/// As `kv_db_ttl`.
#[no_mangle]
pub unsafe extern "C" fn kv_db_pexpiretime(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    out_unix_ms: *mut i64,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { ttl_any(db, key, key_len, out_unix_ms, TtlCmd::PExpireTime) }
    }
}

/// Deletes `key` only if it holds exactly `token` (atomic): the safe
/// release of a lock taken with `kv_db_set` NX PX. `*out_deleted` (may be
/// NULL) receives whether it did.
///
/// Returns `KV_OK`; `KV_WRONG_TYPE`; as `kv_db_put`.
///
/// # Safety
///
/// Pointers valid for their lengths; `out_deleted` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kv_db_compare_and_delete(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    token: *const u8,
    token_len: usize,
    out_deleted: *mut bool,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { put_opt(out_deleted, false) };
        // SAFETY: forwarded contract.
        let token = unsafe { args::bytes(token, token_len, "token") }?;
        // SAFETY: forwarded contract.
        let r = unsafe { on_key(db, key, key_len, |d, k| d.compare_and_delete(k, token)) }?;
        // SAFETY: forwarded contract.
        unsafe { put_opt(out_deleted, r) };
        Ok(())
    }
}

/// Sets `key` to `new_value` only if it holds exactly `expected` (atomic),
/// with the expiry given by `expiry_kind` (one of `kv_expiry_kind`;
/// `KV_EXPIRY_KEEPTTL` keeps it) and `expiry`. `*out_swapped` (may be NULL)
/// receives whether it did.
///
/// Returns `KV_OK`; `KV_WRONG_TYPE`; `KV_INVALID_ARGUMENT`; as `kv_db_put`.
///
/// # Safety
///
/// Pointers valid for their lengths; `out_swapped` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kv_db_compare_and_swap(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    expected: *const u8,
    expected_len: usize,
    new_value: *const u8,
    new_value_len: usize,
    expiry_kind: i32,
    expiry: i64,
    out_swapped: *mut bool,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { put_opt(out_swapped, false) };
        let exp = expiry_of(expiry_kind, expiry)?;
        // SAFETY: forwarded contract.
        let expected = unsafe { args::bytes(expected, expected_len, "expected") }?;
        // SAFETY: forwarded contract.
        let new_value = unsafe { args::bytes(new_value, new_value_len, "new_value") }?;
        // SAFETY: forwarded contract.
        let r = unsafe { on_key(db, key, key_len, |d, k| d.compare_and_swap(k, expected, new_value, exp)) }?;
        // SAFETY: forwarded contract.
        unsafe { put_opt(out_swapped, r) };
        Ok(())
    }
}

/// The `n` keys of a `kv_slice` array, each checked.
///
/// # Safety
///
/// `keys` NULL or valid for `n` elements, each valid for its length.
pub(crate) unsafe fn key_list<'a>(keys: *const kv_slice, n: usize, name: &str) -> Result<Vec<&'a [u8]>, Fail> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if keys.is_null() {
        return Err(Fail::invalid(format!("{name} is NULL but the count is {n}")));
    }
    // SAFETY: non-NULL and valid for n elements by the contract.
    let slices = unsafe { std::slice::from_raw_parts(keys, n) };
    slices
        .iter()
        .enumerate()
        // SAFETY: each slice is valid for its length by the contract.
        .map(|(i, s)| unsafe { args::key(s.data, s.len, &format!("{name}[{i}]")) })
        .collect()
}

/// The `n` values of a `kv_slice` array (NULL allowed with length 0).
///
/// # Safety
///
/// As [`key_list`].
unsafe fn value_list<'a>(values: *const kv_slice, n: usize) -> Result<Vec<&'a [u8]>, Fail> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if values.is_null() {
        return Err(Fail::invalid(format!("values is NULL but the count is {n}")));
    }
    // SAFETY: non-NULL and valid for n elements by the contract.
    let slices = unsafe { std::slice::from_raw_parts(values, n) };
    slices
        .iter()
        .enumerate()
        // SAFETY: each slice is valid for its length by the contract.
        .map(|(i, s)| unsafe { args::bytes(s.data, s.len, &format!("values[{i}]")) })
        .collect()
}

/// `MGET key...`: for each of the `n` keys, `out_values[i]` receives its
/// value, or `{NULL, 0}` if it is missing, expired or not a string.
///
/// Ownership: `out_values` is the caller's array of `n` `kv_buf`; the caller
/// frees each element with `kv_buf_free`.
///
/// Returns `KV_OK`; `KV_INVALID_ARGUMENT`; `KV_KEY_TOO_LARGE`; `KV_CLOSED`.
/// On failure every element is `{NULL, 0}`.
///
/// # Safety
///
/// `keys` valid for `n` slices; `out_values` valid for `n` writes.
#[no_mangle]
pub unsafe extern "C" fn kv_db_mget(
    db: *mut kv_db,
    keys: *const kv_slice,
    n: usize,
    out_values: *mut kv_buf,
) -> kv_status {
    crate::ffi_status! {
        if n > 0 && out_values.is_null() {
            return Err(Fail::invalid("out_values is NULL"));
        }
        let out: &mut [kv_buf] = if n == 0 {
            &mut []
        } else {
            // SAFETY: non-NULL and valid for n writes by the contract.
            unsafe { std::slice::from_raw_parts_mut(out_values, n) }
        };
        out.fill_with(|| kv_buf::EMPTY);
        // SAFETY: forwarded contract.
        let keys = unsafe { key_list(keys, n, "keys") }?;
        // SAFETY: forwarded contract.
        let values = unsafe { with_db(db, |d| Ok(d.mget(&keys)?)) }?;
        for (slot, v) in out.iter_mut().zip(values) {
            if let Some(v) = v {
                *slot = kv_buf::from_vec(v);
            }
        }
        Ok(())
    }
}

/// `MSET key value ...`: sets the `n` pairs atomically (no expiry).
///
/// Returns `KV_OK`; `KV_INVALID_ARGUMENT`; as `kv_db_put`.
///
/// # Safety
///
/// `keys` and `values` valid for `n` slices each.
#[no_mangle]
pub unsafe extern "C" fn kv_db_mset(
    db: *mut kv_db,
    keys: *const kv_slice,
    values: *const kv_slice,
    n: usize,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        let keys = unsafe { key_list(keys, n, "keys") }?;
        // SAFETY: forwarded contract.
        let values = unsafe { value_list(values, n) }?;
        let pairs: Vec<(&[u8], &[u8])> = keys.into_iter().zip(values).collect();
        // SAFETY: forwarded contract.
        unsafe { with_db(db, |d| Ok(d.mset(&pairs)?)) }
    }
}

/// `MSETNX key value ...`: sets all `n` pairs only if none of the keys
/// exists; `*out_set` (may be NULL) receives whether it did.
///
/// # Safety
///
/// As `kv_db_mset`; `out_set` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kv_db_msetnx(
    db: *mut kv_db,
    keys: *const kv_slice,
    values: *const kv_slice,
    n: usize,
    out_set: *mut bool,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { put_opt(out_set, false) };
        // SAFETY: forwarded contract.
        let keys = unsafe { key_list(keys, n, "keys") }?;
        // SAFETY: forwarded contract.
        let values = unsafe { value_list(values, n) }?;
        let pairs: Vec<(&[u8], &[u8])> = keys.into_iter().zip(values).collect();
        // SAFETY: forwarded contract.
        let r = unsafe { with_db(db, |d| Ok(d.msetnx(&pairs)?)) }?;
        // SAFETY: forwarded contract.
        unsafe { put_opt(out_set, r) };
        Ok(())
    }
}
