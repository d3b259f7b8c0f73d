//! Calls the sorted-set, compaction and expiry-cycle functions of the C ABI
//! from Rust, as a C program would: NULL handling, reset out-parameters and
//! the panic boundary.

use std::ffi::{CStr, CString};
use std::ptr;

use kv::buf::*;
use kv::compaction::*;
use kv::db::*;
use kv::expiry::*;
use kv::kv_status::*;
use kv::stats::*;
use kv::status::*;
use kv::zset::*;

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

fn sl(b: &[u8]) -> kv_slice {
    kv_slice::of(b)
}

/// ZADD of `pairs` to `key`.
fn zadd(t: &TestDb, key: &[u8], pairs: &[(f64, &[u8])]) {
    let scores: Vec<f64> = pairs.iter().map(|p| p.0).collect();
    let members: Vec<kv_slice> = pairs.iter().map(|p| sl(p.1)).collect();
    // SAFETY: arrays of pairs.len() elements, slices borrowed from live data.
    let st = unsafe {
        kv_zset_add(t.db, key.as_ptr(), key.len(), 0, scores.as_ptr(), members.as_ptr(), pairs.len(), ptr::null_mut())
    };
    assert_eq!(st, KV_OK, "{}", last_error());
}

/// The members and scores of `e`, then frees it.
fn take(e: *mut kv_zset_entries) -> Vec<(Vec<u8>, f64)> {
    assert!(!e.is_null());
    let mut out = Vec::new();
    // SAFETY: e is a live entries object, freed once at the end.
    unsafe {
        for i in 0..kv_zset_entries_len(e) {
            let mut m = kv_slice { data: ptr::null(), len: 0 };
            let mut s = 0.0;
            assert_eq!(kv_zset_entries_get(e, i, &mut m, &mut s), KV_OK);
            out.push((std::slice::from_raw_parts(m.data, m.len).to_vec(), s));
        }
        kv_zset_entries_free(e);
    }
    out
}

#[test]
fn null_db_is_an_invalid_argument_for_every_zset_call() {
    let one = [1.0f64];
    let m = [sl(b"a")];
    let mut e: *mut kv_zset_entries = ptr::NonNull::dangling().as_ptr();
    let (mut n, mut s, mut r) = (0u64, 0.0f64, 0u64);
    let k = b"k";
    // SAFETY: NULL db is what is tested; every other pointer is valid.
    unsafe {
        let db = ptr::null_mut();
        let statuses = [
            kv_zset_add(db, k.as_ptr(), 1, 0, one.as_ptr(), m.as_ptr(), 1, ptr::null_mut()),
            kv_zset_incrby(db, k.as_ptr(), 1, 1.0, b"a".as_ptr(), 1, &mut s),
            kv_zset_rem(db, k.as_ptr(), 1, m.as_ptr(), 1, &mut n),
            kv_zset_score(db, k.as_ptr(), 1, b"a".as_ptr(), 1, &mut s),
            kv_zset_mscore(db, k.as_ptr(), 1, m.as_ptr(), 1, &mut s, ptr::null_mut()),
            kv_zset_card(db, k.as_ptr(), 1, &mut n),
            kv_zset_count(db, k.as_ptr(), 1, b"0".as_ptr(), 1, b"1".as_ptr(), 1, &mut n),
            kv_zset_lexcount(db, k.as_ptr(), 1, b"-".as_ptr(), 1, b"+".as_ptr(), 1, &mut n),
            kv_zset_rank(db, k.as_ptr(), 1, b"a".as_ptr(), 1, false, &mut r, &mut s),
            kv_zset_range_by_rank(db, k.as_ptr(), 1, 0, -1, false, &mut e),
            kv_zset_popmin(db, k.as_ptr(), 1, 1, &mut e),
            kv_zset_popmax(db, k.as_ptr(), 1, 1, &mut e),
            kv_zset_remrangebyrank(db, k.as_ptr(), 1, 0, -1, &mut n),
            kv_zset_remrangebyscore(db, k.as_ptr(), 1, b"0".as_ptr(), 1, b"1".as_ptr(), 1, &mut n),
            kv_zset_remrangebylex(db, k.as_ptr(), 1, b"-".as_ptr(), 1, b"+".as_ptr(), 1, &mut n),
            kv_zset_randmember(db, k.as_ptr(), 1, 1, false, &mut e),
            kv_zset_unionstore(db, k.as_ptr(), 1, m.as_ptr(), 1, ptr::null(), 0, &mut n),
            kv_zset_interstore(db, k.as_ptr(), 1, m.as_ptr(), 1, ptr::null(), 0, &mut n),
            kv_zset_diffstore(db, k.as_ptr(), 1, m.as_ptr(), 1, &mut n),
            kv_db_compact(db, ptr::null_mut()),
            kv_db_compact_segments(db, ptr::null(), 0, ptr::null_mut()),
            kv_db_run_expiry_cycle(db, ptr::null_mut()),
        ];
        for (i, st) in statuses.iter().enumerate() {
            assert_eq!(*st, KV_INVALID_ARGUMENT, "call #{i}");
        }
        assert!(last_error().contains("db is NULL"), "{}", last_error());
        assert!(e.is_null(), "entries out-parameter is reset to NULL on failure");
        let mut len = 7usize;
        assert_eq!(kv_db_segments(db, ptr::null_mut(), 0, &mut len), KV_INVALID_ARGUMENT);
        assert_eq!(len, 0);
    }
}

#[test]
fn required_out_parameters_and_arrays_are_checked() {
    let t = open();
    zadd(&t, b"z", &[(1.0, b"a"), (2.0, b"b")]);
    let k = b"z";
    // SAFETY: NULL out-parameters/arrays are what is tested; the rest is valid.
    unsafe {
        assert_eq!(kv_zset_score(t.db, k.as_ptr(), 1, b"a".as_ptr(), 1, ptr::null_mut()), KV_INVALID_ARGUMENT);
        assert!(last_error().contains("out_score is NULL"));
        assert_eq!(kv_zset_card(t.db, k.as_ptr(), 1, ptr::null_mut()), KV_INVALID_ARGUMENT);
        assert_eq!(
            kv_zset_rank(t.db, k.as_ptr(), 1, b"a".as_ptr(), 1, true, ptr::null_mut(), ptr::null_mut()),
            KV_INVALID_ARGUMENT
        );
        assert_eq!(kv_zset_range_by_rank(t.db, k.as_ptr(), 1, 0, -1, false, ptr::null_mut()), KV_INVALID_ARGUMENT);
        assert!(last_error().contains("out_entries is NULL"));
        let mut e = ptr::null_mut();
        assert_eq!(kv_zset_range(t.db, k.as_ptr(), 1, ptr::null(), &mut e), KV_INVALID_ARGUMENT);
        assert!(last_error().contains("range_args is NULL"));
        assert!(e.is_null());
        let mut s = [0.0f64; 2];
        assert_eq!(
            kv_zset_mscore(t.db, k.as_ptr(), 1, ptr::null(), 2, s.as_mut_ptr(), ptr::null_mut()),
            KV_INVALID_ARGUMENT
        );
        assert!(last_error().contains("members is NULL"));
        let mut n = 0;
        assert_eq!(kv_zset_count_range(t.db, k.as_ptr(), 1, ptr::null(), &mut n), KV_INVALID_ARGUMENT);
        let w = [1.0f64];
        assert_eq!(
            kv_zset_unionstore(t.db, b"d".as_ptr(), 1, ptr::null(), 2, w.as_ptr(), 0, &mut n),
            KV_INVALID_ARGUMENT
        );
        assert!(last_error().contains("keys is NULL"));
        // Ranges given as NULL with a length.
        assert_eq!(kv_zset_count(t.db, k.as_ptr(), 1, ptr::null(), 1, b"1".as_ptr(), 1, &mut n), KV_INVALID_ARGUMENT);
        assert!(last_error().contains("min is NULL but its length is 1"));
        assert_eq!(kv_zset_entries_len(ptr::null()), 0);
        kv_zset_entries_free(ptr::null_mut());
        assert_eq!(kv_score_format(1.0, ptr::null_mut()), KV_INVALID_ARGUMENT);
        assert_eq!(kv_score_parse(b"1".as_ptr(), 1, ptr::null_mut()), KV_INVALID_ARGUMENT);
    }
}

#[test]
fn weighted_infinite_scores_store_zero_not_nan() {
    // inf * 0 is NaN; a NaN reaching the in-memory set would panic there
    // (ZSet::insert asserts), so this checks the boundary never sees one.
    let t = open();
    zadd(&t, b"a", &[(f64::INFINITY, b"m"), (f64::NEG_INFINITY, b"n")]);
    zadd(&t, b"b", &[(f64::NEG_INFINITY, b"m"), (f64::INFINITY, b"n")]);
    let keys = [sl(b"a"), sl(b"b")];
    for agg in [0, 1, 2] {
        for w in [[0.0, 0.0], [1.0, 1.0], [0.0, 1.0]] {
            let mut n = 0;
            // SAFETY: arrays of two elements, valid out pointers.
            unsafe {
                assert_eq!(
                    kv_zset_unionstore(t.db, b"u".as_ptr(), 1, keys.as_ptr(), 2, w.as_ptr(), agg, &mut n),
                    KV_OK
                );
                assert_eq!(n, 2);
                let mut e = ptr::null_mut();
                assert_eq!(kv_zset_range_by_rank(t.db, b"u".as_ptr(), 1, 0, -1, false, &mut e), KV_OK);
                assert!(take(e).iter().all(|(_, s)| !s.is_nan()));
                assert_eq!(
                    kv_zset_interstore(t.db, b"i".as_ptr(), 1, keys.as_ptr(), 2, w.as_ptr(), agg, &mut n),
                    KV_OK,
                    "{}",
                    last_error()
                );
                assert_eq!(n, 2);
                assert_eq!(kv_zset_range_by_rank(t.db, b"i".as_ptr(), 1, 0, -1, false, &mut e), KV_OK);
                assert!(take(e).iter().all(|(_, s)| !s.is_nan()));
            }
        }
    }
    // SUM of inf and -inf is 0 (Redis's rule).
    let mut s = f64::NAN;
    // SAFETY: valid pointers.
    unsafe {
        assert_eq!(
            kv_zset_unionstore(t.db, b"u".as_ptr(), 1, keys.as_ptr(), 2, ptr::null(), 0, ptr::null_mut()),
            KV_OK
        );
        assert_eq!(kv_zset_score(t.db, b"u".as_ptr(), 1, b"m".as_ptr(), 1, &mut s), KV_OK);
    }
    assert_eq!(s, 0.0);
}

#[test]
fn entries_outlive_their_database() {
    let t = open();
    zadd(&t, b"z", &[(1.0, b"a"), (2.0, b"b")]);
    let mut e = ptr::null_mut();
    // SAFETY: valid pointers; e is read after the db is freed, which the API allows.
    unsafe {
        assert_eq!(kv_zset_popmax(t.db, b"z".as_ptr(), 1, 5, &mut e), KV_OK);
    }
    drop(t);
    assert_eq!(take(e), vec![(b"b".to_vec(), 2.0), (b"a".to_vec(), 1.0)]);
}

#[test]
fn zadd_reply_and_nil_incr() {
    let t = open();
    let mut r = kv_zadd_reply { count: 9, score: 9.0, has_score: true };
    let s = [2.0f64];
    let m = [sl(b"a")];
    // SAFETY: valid pointers.
    unsafe {
        assert_eq!(kv_zset_add(t.db, b"z".as_ptr(), 1, KV_ZADD_INCR, s.as_ptr(), m.as_ptr(), 1, &mut r), KV_OK);
        assert_eq!(r, kv_zadd_reply { count: 1, score: 2.0, has_score: true });
        let flags = KV_ZADD_INCR | KV_ZADD_NX;
        assert_eq!(kv_zset_add(t.db, b"z".as_ptr(), 1, flags, s.as_ptr(), m.as_ptr(), 1, &mut r), KV_OK);
        assert_eq!(r, kv_zadd_reply::default());
        assert_eq!(kv_zset_add(t.db, b"z".as_ptr(), 1, 1 << 6, s.as_ptr(), m.as_ptr(), 1, &mut r), KV_INVALID_ARGUMENT);
    }
}

#[test]
fn compaction_fills_summary_and_stats() {
    let t = open();
    for i in 0..20u32 {
        let v = i.to_string();
        // SAFETY: valid pointers.
        assert_eq!(unsafe { kv_db_put(t.db, b"k".as_ptr(), 1, v.as_ptr(), v.len()) }, KV_OK);
    }
    let mut sum = kv_compaction_summary::default();
    let mut st = kv_stats::default();
    let mut report = kv_expiry_cycle_report { samples: 9, sampled_keys: 9, expired_keys: 9, budget_exhausted: true };
    // SAFETY: valid pointers.
    unsafe {
        assert_eq!(kv_db_compact(t.db, &mut sum), KV_OK, "{}", last_error());
        assert_eq!(sum.input_segments, 1);
        assert_eq!(sum.records_copied, 1);
        assert_eq!(sum.records_dropped, 19);
        assert_eq!(kv_db_stats(t.db, &mut st), KV_OK);
        assert_eq!(st.merges, 1);
        assert_eq!(st.merge_failures, 0);
        assert_eq!(st.merge_reclaimed_bytes, sum.reclaimed_bytes);
        let grouped: u64 = st.group_commit_histogram.iter().sum();
        assert!(grouped > 0 && grouped <= st.fsyncs, "{grouped} of {}", st.fsyncs);
        // No key has a TTL: the cycle samples nothing.
        assert_eq!(kv_db_run_expiry_cycle(t.db, &mut report), KV_OK);
        assert_eq!(report.samples, 0);
        assert_eq!(report.expired_keys, 0);
        assert!(!report.budget_exhausted);
    }
}

#[test]
fn panic_in_a_size_returning_call_becomes_zero() {
    // kv_zset_entries_len returns a size_t; its panic value is 0.
    let n: usize = kv::panic::boundary(|| -> usize { panic!("deliberate") });
    assert_eq!(n, 0);
    assert!(last_error().contains("deliberate"), "{}", last_error());
    let st = kv::panic::boundary(|| -> FfiResult { panic!("again") });
    assert_eq!(st, KV_INTERNAL);
}

#[test]
fn score_helpers_match_redis() {
    let mut b = kv_buf::EMPTY;
    let mut s = 0.0;
    // SAFETY: valid pointers; b is freed once.
    unsafe {
        assert_eq!(kv_score_format(0.1 + 0.2, &mut b), KV_OK);
        assert_eq!(std::slice::from_raw_parts(b.data, b.len), b"0.30000000000000004");
        kv_buf_free(&mut b);
        assert_eq!(kv_score_parse(b"-1.5e2".as_ptr(), 6, &mut s), KV_OK);
        assert_eq!(s, -150.0);
        assert_eq!(kv_score_parse(b"1e-400".as_ptr(), 6, &mut s), KV_NOT_FLOAT);
    }
}
