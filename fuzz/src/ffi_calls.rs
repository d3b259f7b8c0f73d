//! `ffi_calls`: the C entry points of `kv-ffi` called with fuzzer-chosen
//! arguments — NULL pointers, NULL with a non-zero length, empty and
//! impossibly long lengths, NULL handles and out-parameters, unknown enum
//! values, extreme integers — interleaved with valid calls, on a real
//! directory (tmpfs when available).
//!
//! Checks: no call reports `KV_INTERNAL` (a panic caught at the boundary);
//! a NULL pointer with a non-zero length, a NULL handle and a NULL required
//! out-parameter are `KV_INVALID_ARGUMENT`; an out-buffer is `{NULL, 0}`
//! after a failed call and non-NULL after a successful one; calls after
//! close are `KV_CLOSED`; and values of keys touched only by put/delete
//! match a model. Every pointer handed over is valid for the length passed
//! with it, or NULL, or comes with a length past `isize::MAX` (which the
//! library must reject before reading), so the harness itself has no UB.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::sync::atomic::{AtomicU64, Ordering};

use kv::status::kv_status;
use kv::{kv_batch, kv_buf, kv_db};

use super::bytes::Cursor;

const KEYS: [&[u8]; 6] = [b"k0", b"k1", b"k2", b"k3", b"k4", b"k5"];
const MAX_OPS: usize = 64;

/// A pointer/length pair as a C caller might pass it.
struct Arg {
    ptr: *const u8,
    len: usize,
    /// What the library must make of it: `Some(bytes)` if well formed.
    valid: Option<Vec<u8>>,
    null_with_len: bool,
}

/// Argument bytes, kept for the whole run so that pointers stay valid.
type Arena = Vec<Box<[u8]>>;

fn stash(arena: &mut Arena, v: Vec<u8>) -> (*const u8, usize) {
    let b = v.into_boxed_slice();
    let p = (b.as_ptr(), b.len());
    arena.push(b);
    p
}

fn arg(c: &mut Cursor<'_>, as_key: bool, arena: &mut Arena) -> Arg {
    let choice = c.u8();
    let null = |len: usize| Arg { ptr: std::ptr::null(), len, valid: None, null_with_len: len != 0 };
    match choice % 8 {
        0 => {
            let mut a = null(0);
            a.valid = if as_key { None } else { Some(Vec::new()) };
            a
        }
        1 => null(1 + c.u8() as usize),
        2 => {
            // A valid pointer with an impossible length: rejected before any read.
            let (ptr, _) = stash(arena, vec![0u8; 1]);
            Arg { ptr, len: usize::MAX - c.u8() as usize, valid: None, null_with_len: false }
        }
        3 => {
            let b = c.take(c_len(choice)).to_vec();
            let valid = if as_key && b.is_empty() { None } else { Some(b.clone()) };
            let (ptr, len) = stash(arena, b);
            Arg { ptr, len, valid, null_with_len: false }
        }
        _ => {
            let k = KEYS[c.u8() as usize % KEYS.len()];
            Arg { ptr: k.as_ptr(), len: k.len(), valid: Some(k.to_vec()), null_with_len: false }
        }
    }
}

fn c_len(choice: u8) -> usize {
    (choice >> 3) as usize * 3
}

/// A scratch directory for one run, removed on drop.
struct Dir(std::path::PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch_dir() -> Dir {
    static N: AtomicU64 = AtomicU64::new(0);
    let shm = std::path::Path::new("/dev/shm");
    let root = if shm.is_dir() { shm.to_path_buf() } else { std::env::temp_dir() };
    let p = root.join(format!("kv-ffi-fuzz-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
    let _ = std::fs::remove_dir_all(&p);
    Dir(p)
}

fn ok(s: kv_status, what: &str) {
    assert_ne!(s, kv_status::KV_INTERNAL, "{what}: KV_INTERNAL (a panic at the boundary)");
}

/// Opens a database with a small value limit so that SETRANGE/APPEND cannot
/// grow values past 1 MiB.
fn open(dir: &Dir) -> *mut kv_db {
    let path = CString::new(dir.0.as_os_str().as_encoded_bytes()).expect("no NUL in a temp path");
    // SAFETY: no arguments.
    let opts = kv::options::kv_options_new();
    // SAFETY: opts is a live options handle.
    unsafe {
        assert_eq!(kv::options::kv_options_set_max_value_size(opts, 1 << 20), kv_status::KV_OK);
        assert_eq!(kv::options::kv_options_set_fsync(opts, 2), kv_status::KV_OK);
        // Small segments: preallocating the default 256 MiB on tmpfs costs RAM and time.
        assert_eq!(kv::options::kv_options_set_max_segment_size(opts, 64 * 1024), kv_status::KV_OK);
        assert_eq!(kv::options::kv_options_set_auto_compaction(opts, false), kv_status::KV_OK);
    }
    let mut db: *mut kv_db = std::ptr::null_mut();
    // SAFETY: path is NUL-terminated, opts live, &mut db writable.
    let s = unsafe { kv::db::kv_db_open(path.as_ptr(), opts, &mut db) };
    // SAFETY: opts is live and not used after.
    unsafe { kv::options::kv_options_free(opts) };
    assert_eq!(s, kv_status::KV_OK, "open");
    db
}

/// Expected state of the keys only put/delete touched (others: unknown).
type Model = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

fn forget(model: &mut Model, key: &Arg) {
    if let Some(k) = &key.valid {
        model.remove(k);
    }
}

fn check_buf(s: kv_status, buf: &mut kv_buf, what: &str) -> Option<Vec<u8>> {
    ok(s, what);
    if s != kv_status::KV_OK {
        assert!(buf.data.is_null() && buf.len == 0, "{what}: out buffer not reset on {s:?}");
        return None;
    }
    assert!(!buf.data.is_null(), "{what}: NULL data on KV_OK");
    // SAFETY: libkv filled buf with len readable bytes.
    let v = unsafe { std::slice::from_raw_parts(buf.data, buf.len) }.to_vec();
    // SAFETY: buf was filled by libkv and not modified; freeing twice is documented as harmless.
    unsafe {
        kv::buf::kv_buf_free(buf);
        kv::buf::kv_buf_free(buf);
    }
    Some(v)
}

/// Target body.
pub fn run(data: &[u8]) {
    let mut c = Cursor::new(data);
    let dir = scratch_dir();
    let mut db = open(&dir);
    let mut closed = false;
    let mut model: Model = KEYS.iter().map(|k| (k.to_vec(), None)).collect();
    let mut arena = Arena::new();
    // SAFETY: no arguments.
    let batch: *mut kv_batch = kv::batch::kv_batch_new();
    for _ in 0..MAX_OPS {
        if c.is_empty() {
            break;
        }
        let op = c.u8();
        // 1 in 16 calls gets a NULL database handle.
        let use_null_db = op & 0xF0 == 0xF0;
        let h = if use_null_db { std::ptr::null_mut() } else { db };
        let k = arg(&mut c, true, &mut arena);
        let bad_key = k.valid.is_none();
        let expect_invalid = |s: kv_status, what: &str, v: Option<&Arg>| {
            ok(s, what);
            if use_null_db || k.null_with_len || k.valid.is_none() || v.is_some_and(|v| v.valid.is_none()) {
                assert_eq!(s, kv_status::KV_INVALID_ARGUMENT, "{what}: bad argument not rejected");
            } else if closed && s != kv_status::KV_INVALID_ARGUMENT {
                assert_eq!(s, kv_status::KV_CLOSED, "{what} after close");
            }
        };
        match op & 0x0F {
            0 | 1 => {
                let v = arg(&mut c, false, &mut arena);
                // SAFETY: k and v are NULL, valid for their lengths, or too long to be read.
                let s = unsafe { kv::db::kv_db_put(h, k.ptr, k.len, v.ptr, v.len) };
                expect_invalid(s, "put", Some(&v));
                if s == kv_status::KV_OK {
                    model.insert(k.valid.clone().expect("accepted key"), v.valid.clone());
                }
            }
            2 | 3 => {
                let mut buf = kv_buf::EMPTY;
                let out: *mut kv_buf = if c.u8().is_multiple_of(8) { std::ptr::null_mut() } else { &mut buf };
                // SAFETY: as above; out is NULL or writable.
                let s = unsafe { kv::db::kv_db_get(h, k.ptr, k.len, out) };
                expect_invalid(s, "get", None);
                if out.is_null() {
                    assert_eq!(s, kv_status::KV_INVALID_ARGUMENT, "get with NULL out_value");
                    continue;
                }
                let got = check_buf(s, &mut buf, "get");
                if let (false, false, Some(key)) = (closed || use_null_db, bad_key, &k.valid) {
                    if let Some(want) = model.get(key) {
                        assert_eq!(&got, want, "get {key:?}");
                    }
                }
            }
            4 => {
                let cap = c.u8() as usize % 16;
                let mut dst = vec![0u8; cap];
                let dst_ptr = if c.u8().is_multiple_of(4) { std::ptr::null_mut() } else { dst.as_mut_ptr() };
                let mut len = usize::MAX;
                // SAFETY: dst_ptr is NULL or valid for cap bytes; &mut len writable.
                let s = unsafe { kv::db::kv_db_get_into(h, k.ptr, k.len, dst_ptr, cap, &mut len) };
                expect_invalid(s, "get_into", None);
                if dst_ptr.is_null() && cap != 0 {
                    assert_eq!(s, kv_status::KV_INVALID_ARGUMENT, "get_into with NULL dst and cap {cap}");
                }
                if s == kv_status::KV_OK {
                    assert!(len <= cap, "get_into reported {len} > cap {cap}");
                }
            }
            5 => {
                let mut existed = false;
                let out: *mut bool = if c.u8().is_multiple_of(2) { std::ptr::null_mut() } else { &mut existed };
                // SAFETY: out NULL (optional) or writable.
                let s = unsafe { kv::db::kv_db_delete(h, k.ptr, k.len, out) };
                expect_invalid(s, "delete", None);
                if s == kv_status::KV_OK {
                    let key = k.valid.clone().expect("accepted key");
                    if let (false, Some(was)) = (out.is_null(), model.get(&key)) {
                        assert_eq!(existed, was.is_some(), "delete {key:?} existed");
                    }
                    model.insert(key, None);
                }
            }
            6 => {
                let mut n = 0u64;
                let out: *mut u64 = if c.u8().is_multiple_of(8) { std::ptr::null_mut() } else { &mut n };
                // SAFETY: out NULL or writable.
                let s = unsafe { kv::db::kv_db_len(h, out) };
                ok(s, "len");
                if out.is_null() || use_null_db {
                    assert_eq!(s, kv_status::KV_INVALID_ARGUMENT, "len with NULL argument");
                }
            }
            7 => {
                let v = arg(&mut c, false, &mut arena);
                let set_args = kv::strings::kv_set_args {
                    expiry_kind: c.u8() as i8 as i32,
                    expiry: i64::from(c.u32() as i32).wrapping_mul(if c.u8().is_multiple_of(2) { 1 } else { 1 << 33 }),
                    condition: c.u8() as i8 as i32 % 4,
                    get: c.u8().is_multiple_of(2),
                };
                let mut written = false;
                let mut old = kv_buf::EMPTY;
                // SAFETY: arguments valid or NULL as above; out pointers writable.
                let s =
                    unsafe { kv::strings::kv_db_set(h, k.ptr, k.len, v.ptr, v.len, &set_args, &mut written, &mut old) };
                expect_invalid(s, "set", Some(&v));
                check_buf(if old.data.is_null() { kv_status::KV_NOT_FOUND } else { s }, &mut old, "set old");
                forget(&mut model, &k);
            }
            8 => {
                let mut set = false;
                let (ms, cond) = (i64::from(c.u32() as i32) * 1000, c.u8() as i8 as i32);
                // SAFETY: as above.
                let s = unsafe { kv::strings::kv_db_pexpire(h, k.ptr, k.len, ms, cond, &mut set) };
                expect_invalid(s, "pexpire", None);
                forget(&mut model, &k);
            }
            9 => {
                let mut out = 0i64;
                let delta = [1i64, -1, i64::MAX, i64::MIN, c.u32() as i32 as i64][c.u8() as usize % 5];
                // SAFETY: as above.
                let s = unsafe { kv::strings::kv_db_incrby(h, k.ptr, k.len, delta, &mut out) };
                expect_invalid(s, "incrby", None);
                forget(&mut model, &k);
            }
            10 => {
                let (start, end) =
                    (c.u32() as i32 as i64 * 3, [i64::MAX, i64::MIN, -1, c.u16() as i64][c.u8() as usize % 4]);
                let mut buf = kv_buf::EMPTY;
                // SAFETY: as above.
                let s = unsafe { kv::strings::kv_db_getrange(h, k.ptr, k.len, start, end, &mut buf) };
                expect_invalid(s, "getrange", None);
                check_buf(s, &mut buf, "getrange");
            }
            11 => {
                let v = arg(&mut c, false, &mut arena);
                let offset = [0i64, -1, i64::MAX, (1 << 20) - 1, 1 << 20, c.u16() as i64][c.u8() as usize % 6];
                let mut len = 0u64;
                // SAFETY: as above.
                let s = unsafe { kv::strings::kv_db_setrange(h, k.ptr, k.len, offset, v.ptr, v.len, &mut len) };
                expect_invalid(s, "setrange", Some(&v));
                forget(&mut model, &k);
            }
            12 => {
                let v = arg(&mut c, false, &mut arena);
                let mut len = 0u64;
                // SAFETY: as above.
                let s = unsafe { kv::strings::kv_db_append(h, k.ptr, k.len, v.ptr, v.len, &mut len) };
                expect_invalid(s, "append", Some(&v));
                forget(&mut model, &k);
            }
            13 => {
                let v = arg(&mut c, false, &mut arena);
                let b = if c.u8().is_multiple_of(8) { std::ptr::null_mut() } else { batch };
                // SAFETY: b is NULL or the live batch; k, v as above.
                let s = unsafe {
                    if c.u8().is_multiple_of(2) {
                        kv::batch::kv_batch_put(b, k.ptr, k.len, v.ptr, v.len)
                    } else {
                        kv::batch::kv_batch_delete(b, k.ptr, k.len)
                    }
                };
                ok(s, "batch op");
                if b.is_null() || k.null_with_len || k.valid.is_none() {
                    assert_eq!(s, kv_status::KV_INVALID_ARGUMENT, "batch op with bad argument");
                }
                forget(&mut model, &k);
            }
            14 => {
                // SAFETY: h NULL or live; batch live.
                let s = unsafe { kv::batch::kv_db_write_batch(h, batch) };
                ok(s, "write_batch");
                // SAFETY: batch live.
                ok(unsafe { kv::batch::kv_batch_clear(batch) }, "batch clear");
                model.retain(|_, _| false);
            }
            _ => {
                if c.u8().is_multiple_of(2) && !closed {
                    // SAFETY: db is live.
                    assert_eq!(unsafe { kv::db::kv_db_close(db) }, kv_status::KV_OK, "close");
                    closed = true;
                    // SAFETY: db is live (closed but not freed).
                    assert_eq!(unsafe { kv::db::kv_db_close(db) }, kv_status::KV_CLOSED, "second close");
                } else {
                    // SAFETY: db is live and not used after this.
                    unsafe { kv::db::kv_db_free(db) };
                    db = open(&dir);
                    closed = false;
                }
            }
        }
    }
    // SAFETY: batch and db are live and not used after.
    unsafe {
        kv::batch::kv_batch_free(batch);
        kv::db::kv_db_free(db);
    }
}
