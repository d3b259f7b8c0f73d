//! Calls the C ABI from Rust, as a C program would.

use std::ffi::{CStr, CString};
use std::ptr;

use kv::batch::*;
use kv::buf::*;
use kv::db::*;
use kv::iter::*;
use kv::kv_status::*;
use kv::options::*;
use kv::panic::kv_test_panic;
use kv::stats::*;
use kv::status::*;

fn last_error() -> String {
    // SAFETY: kv_last_error_message never returns NULL and the string is
    // valid until the next libkv call on this thread.
    unsafe { CStr::from_ptr(kv_last_error_message()) }.to_string_lossy().into_owned()
}

struct TestDb {
    db: *mut kv_db,
    _dir: tempfile::TempDir,
}

fn open() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let path = CString::new(dir.path().join("db").to_str().unwrap()).unwrap();
    let mut db = ptr::null_mut();
    // SAFETY: valid path, NULL options, writable out pointer.
    assert_eq!(unsafe { kv_db_open(path.as_ptr(), ptr::null(), &mut db) }, KV_OK, "{}", last_error());
    TestDb { db, _dir: dir }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // SAFETY: the handle is live and freed once.
        unsafe { kv_db_free(self.db) };
    }
}

#[test]
fn panic_inside_boundary_returns_internal_and_does_not_unwind() {
    assert_eq!(kv_test_panic(false), KV_OK);
    assert_eq!(kv_test_panic(true), KV_INTERNAL);
    assert!(last_error().contains("deliberate panic"), "{}", last_error());
    // The thread and the library keep working.
    let t = open();
    // SAFETY: valid pointers and lengths.
    assert_eq!(unsafe { kv_db_put(t.db, b"k".as_ptr(), 1, b"v".as_ptr(), 1) }, KV_OK);
}

#[test]
fn status_numbers_are_stable() {
    let expected = [
        (KV_OK, 0),
        (KV_NOT_FOUND, 1),
        (KV_INVALID_ARGUMENT, 2),
        (KV_IO, 3),
        (KV_CORRUPTION, 4),
        (KV_LOCKED, 5),
        (KV_POISONED, 6),
        (KV_WRONG_TYPE, 7),
        (KV_NOT_INTEGER, 8),
        (KV_NOT_FLOAT, 9),
        (KV_OVERFLOW, 10),
        (KV_KEY_TOO_LARGE, 11),
        (KV_VALUE_TOO_LARGE, 12),
        (KV_BATCH_TOO_LARGE, 13),
        (KV_BUFFER_TOO_SMALL, 14),
        (KV_CLOSED, 15),
        (KV_INTERNAL, 16),
    ];
    assert_eq!(expected.len(), kv_status::all().len());
    for (s, n) in expected {
        assert_eq!(s as i32, n);
        // SAFETY: kv_strerror returns a static NUL-terminated string.
        let text = unsafe { CStr::from_ptr(kv_strerror(n)) };
        assert!(!text.to_bytes().is_empty());
    }
    // SAFETY: as above.
    assert_eq!(unsafe { CStr::from_ptr(kv_strerror(1000)) }.to_bytes(), b"unknown status code");
}

#[test]
fn engine_errors_map_to_their_codes() {
    use kv_engine::Error;
    assert_eq!(status_of(&Error::Closed), KV_CLOSED);
    assert_eq!(status_of(&Error::WrongType), KV_WRONG_TYPE);
    assert_eq!(status_of(&Error::KeyTooLarge { size_bytes: 2, limit_bytes: 1 }), KV_KEY_TOO_LARGE);
    assert_eq!(status_of(&Error::ValueTooLarge { size_bytes: 2, limit_bytes: 1 }), KV_VALUE_TOO_LARGE);
    assert_eq!(status_of(&Error::BatchTooLarge { reason: String::new() }), KV_BATCH_TOO_LARGE);
    assert_eq!(status_of(&Error::Io(std::io::Error::other("x"))), KV_IO);
    assert_eq!(status_of(&Error::Locked("/x".into())), KV_LOCKED);
    assert_eq!(status_of(&Error::Poisoned("x".into())), KV_POISONED);
    assert_eq!(status_of(&Error::NotInteger), KV_NOT_INTEGER);
    assert_eq!(status_of(&Error::NotFloat), KV_NOT_FLOAT);
    assert_eq!(status_of(&Error::Overflow), KV_OVERFLOW);
    assert_eq!(status_of(&Error::InvalidArgument("x".into())), KV_INVALID_ARGUMENT);
    assert_eq!(status_of(&Error::Internal("x".into())), KV_INTERNAL);
}

#[test]
fn put_get_roundtrip_and_buffer_too_small() {
    let t = open();
    // SAFETY: every pointer below is valid for the length passed with it.
    unsafe {
        assert_eq!(kv_db_put(t.db, b"key".as_ptr(), 3, b"value".as_ptr(), 5), KV_OK);
        let mut buf = kv_buf::EMPTY;
        assert_eq!(kv_db_get(t.db, b"key".as_ptr(), 3, &mut buf), KV_OK);
        assert_eq!(std::slice::from_raw_parts(buf.data, buf.len), b"value");
        kv_buf_free(&mut buf);
        assert!(buf.data.is_null());

        let mut dst = [0u8; 3];
        let mut len = 0usize;
        assert_eq!(kv_db_get_into(t.db, b"key".as_ptr(), 3, dst.as_mut_ptr(), 3, &mut len), KV_BUFFER_TOO_SMALL);
        assert_eq!(len, 5);
        assert_eq!(kv_db_get(t.db, b"nope".as_ptr(), 4, &mut buf), KV_NOT_FOUND);
        assert!(buf.data.is_null());
    }
}

#[test]
fn null_and_empty_keys_are_invalid_arguments() {
    let t = open();
    // SAFETY: NULL pointers are what is being tested; the rest are valid.
    unsafe {
        assert_eq!(kv_db_put(t.db, ptr::null(), 0, b"v".as_ptr(), 1), KV_INVALID_ARGUMENT);
        assert!(last_error().contains("key is NULL"));
        assert_eq!(kv_db_put(t.db, b"".as_ptr(), 0, b"v".as_ptr(), 1), KV_INVALID_ARGUMENT);
        assert!(last_error().contains("key is empty"));
        assert_eq!(kv_db_put(ptr::null_mut(), b"k".as_ptr(), 1, b"v".as_ptr(), 1), KV_INVALID_ARGUMENT);
        assert_eq!(kv_db_get(t.db, b"k".as_ptr(), 1, ptr::null_mut()), KV_INVALID_ARGUMENT);
        assert_eq!(kv_db_put(t.db, b"k".as_ptr(), 1, ptr::null(), 0), KV_OK, "NULL empty value is allowed");
    }
}

#[test]
fn closed_handle_returns_closed_until_freed() {
    let t = open();
    // SAFETY: valid handle and pointers.
    unsafe {
        assert_eq!(kv_db_close(t.db), KV_OK);
        assert_eq!(kv_db_put(t.db, b"k".as_ptr(), 1, b"v".as_ptr(), 1), KV_CLOSED);
        let mut st = kv_stats::default();
        assert_eq!(kv_db_stats(t.db, &mut st), KV_CLOSED);
        assert_eq!(kv_db_close(t.db), KV_CLOSED);
    }
}

#[test]
fn iterator_survives_free_of_its_database() {
    let t = open();
    // SAFETY: valid handle and pointers; the iterator is freed once.
    unsafe {
        assert_eq!(kv_db_put(t.db, b"p:1".as_ptr(), 3, b"a".as_ptr(), 1), KV_OK);
        let mut it = ptr::null_mut();
        assert_eq!(kv_db_scan_prefix(t.db, b"p:".as_ptr(), 2, &mut it), KV_OK);
        drop(t);
        let mut k = kv_slice { data: ptr::null(), len: 0 };
        assert_eq!(kv_iter_next(it, &mut k, ptr::null_mut()), KV_CLOSED);
        kv_iter_free(it);
    }
}

#[test]
fn options_are_validated_when_set() {
    let o = kv_options_new();
    // SAFETY: o is live until freed at the end.
    unsafe {
        assert_eq!(kv_options_set_max_key_size(o, 0), KV_INVALID_ARGUMENT);
        assert_eq!(kv_options_set_max_key_size(o, 8), KV_OK);
        assert_eq!(kv_options_set_fsync(o, 7), KV_INVALID_ARGUMENT);
        assert_eq!(kv_options_set_fsync(o, kv_fsync::KV_FSYNC_NO as i32), KV_OK);
        kv_options_free(o);
    }
}

#[test]
fn batch_over_op_limit_is_rejected_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = CString::new(dir.path().to_str().unwrap()).unwrap();
    // SAFETY: all handles are live until freed once below.
    unsafe {
        let o = kv_options_new();
        assert_eq!(kv_options_set_max_batch_ops(o, 1), KV_OK);
        let mut db = ptr::null_mut();
        assert_eq!(kv_db_open(path.as_ptr(), o, &mut db), KV_OK);
        kv_options_free(o);
        let b = kv_batch_new();
        assert_eq!(kv_batch_put(b, b"a".as_ptr(), 1, b"1".as_ptr(), 1), KV_OK);
        assert_eq!(kv_batch_put(b, b"b".as_ptr(), 1, b"2".as_ptr(), 1), KV_OK);
        assert_eq!(kv_db_write_batch(db, b), KV_BATCH_TOO_LARGE);
        let mut n = 9;
        assert_eq!(kv_db_len(db, &mut n), KV_OK);
        assert_eq!(n, 0);
        kv_batch_free(b);
        kv_db_free(db);
    }
}
