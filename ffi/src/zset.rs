//! Redis sorted-set commands (`ZADD` ... `ZDIFFSTORE`) and
//! [`kv_zset_entries`], the result object of the commands that return
//! members with scores (`ZRANGE`, `ZPOPMIN`, `ZRANDMEMBER`, ...).
//!
//! Score and lex range bounds are passed as the byte strings Redis receives
//! (`"-inf"`, `"(1.5"`, `"[a"`, `"-"`, `"+"`), parsed by the engine exactly
//! as Redis parses them, so the bindings need no parser of their own.

use kv_engine::zset::{
    format_score, parse_score, Aggregate, LexRange, ScoreRange, ZAddFlags, ZAddReply, ZRangeArgs, ZRangeBy,
    ERR_SCORE_RANGE,
};

use crate::args;
use crate::buf::{kv_buf, kv_slice};
use crate::db::{kv_db, with_db};
use crate::status::{kv_status, Fail, FfiResult};
use crate::strings::{key_list, on_key, put_opt, put_out};

/// `kv_zset_add` flag `NX`: only add new members.
pub const KV_ZADD_NX: u32 = 1;
/// `kv_zset_add` flag `XX`: only update existing members.
pub const KV_ZADD_XX: u32 = 2;
/// `kv_zset_add` flag `GT`: only update when the new score is greater.
pub const KV_ZADD_GT: u32 = 4;
/// `kv_zset_add` flag `LT`: only update when the new score is less.
pub const KV_ZADD_LT: u32 = 8;
/// `kv_zset_add` flag `CH`: count changed members, not only added ones.
pub const KV_ZADD_CH: u32 = 16;
/// `kv_zset_add` flag `INCR`: add the score to the member's (one pair only).
pub const KV_ZADD_INCR: u32 = 32;
/// Every `KV_ZADD_*` flag.
const ZADD_ALL_FLAGS: u32 = KV_ZADD_NX | KV_ZADD_XX | KV_ZADD_GT | KV_ZADD_LT | KV_ZADD_CH | KV_ZADD_INCR;

/// What `kv_zset_range` selects by (the `by` field of `kv_zrange_args`).
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum kv_zrange_by {
    /// By 0-based rank (`ZRANGE key start stop`), fields `start`/`stop`.
    KV_ZRANGE_BY_RANK = 0,
    /// By score (`BYSCORE`), fields `min`/`max` in Redis syntax.
    KV_ZRANGE_BY_SCORE = 1,
    /// By member (`BYLEX`), fields `min`/`max` in Redis syntax.
    KV_ZRANGE_BY_LEX = 2,
}

/// How `kv_zset_unionstore` / `kv_zset_interstore` combine the scores of a
/// member found in several inputs (`AGGREGATE`).
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum kv_aggregate {
    /// Add the weighted scores (the default).
    KV_AGGREGATE_SUM = 0,
    /// Keep the smallest weighted score.
    KV_AGGREGATE_MIN = 1,
    /// Keep the largest weighted score.
    KV_AGGREGATE_MAX = 2,
}

/// The reply of `kv_zset_add`.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct kv_zadd_reply {
    /// Without `KV_ZADD_INCR`: members added (with `KV_ZADD_CH`: added or
    /// changed). With `KV_ZADD_INCR`: 1 if the member was updated, else 0.
    pub count: u64,
    /// With `KV_ZADD_INCR` and `has_score`: the member's new score.
    pub score: f64,
    /// With `KV_ZADD_INCR`: false when NX/XX/GT/LT skipped the member (Redis
    /// replies nil). Always false without `KV_ZADD_INCR`.
    pub has_score: bool,
}

/// A score interval with numeric bounds, for `kv_zset_count_range`. `-inf`
/// and `+inf` are `-INFINITY` and `INFINITY`; NaN is rejected.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct kv_score_range {
    /// Lower bound.
    pub min: f64,
    /// Upper bound.
    pub max: f64,
    /// Whether `min` itself is excluded (Redis `(min`).
    pub min_exclusive: bool,
    /// Whether `max` itself is excluded (Redis `(max`).
    pub max_exclusive: bool,
}

/// The arguments of `kv_zset_range`: Redis 7 `ZRANGE key start stop
/// [BYSCORE|BYLEX] [REV] [LIMIT offset count]`. Zero-initialise, then set
/// the fields the selection uses.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug)]
pub struct kv_zrange_args {
    /// One of `kv_zrange_by`.
    pub by: i32,
    /// `KV_ZRANGE_BY_RANK`: first rank (0-based; negative counts from the
    /// end, -1 is the last).
    pub start: i64,
    /// `KV_ZRANGE_BY_RANK`: last rank, inclusive.
    pub stop: i64,
    /// `KV_ZRANGE_BY_SCORE` / `_LEX`: the lower bound in Redis syntax
    /// (`"1"`, `"(1"`, `"-inf"`; `"[a"`, `"(a"`, `"-"`). Always the lower
    /// bound, also with `rev` (where Redis takes `max min`).
    pub min: kv_slice,
    /// `KV_ZRANGE_BY_SCORE` / `_LEX`: the upper bound (`"+inf"`, `"+"`, ...).
    pub max: kv_slice,
    /// `REV`: highest first (for ranks: rank 0 is the highest score).
    pub rev: bool,
    /// `LIMIT offset count` (only with `KV_ZRANGE_BY_SCORE` / `_LEX`, as in
    /// Redis): when true, `offset` and `count` apply.
    pub has_limit: bool,
    /// Elements to skip; negative selects nothing (as Redis).
    pub offset: i64,
    /// Most elements to return; negative means all (as Redis).
    pub count: i64,
}

/// Members with their scores, in reply order: the result of `kv_zset_range`,
/// `kv_zset_popmin`, `kv_zset_popmax` and `kv_zset_randmember`. Read with
/// `kv_zset_entries_len` and `kv_zset_entries_get`; free with
/// `kv_zset_entries_free`. Immutable, so it may be read by several threads.
#[allow(non_camel_case_types)]
pub struct kv_zset_entries {
    items: Vec<(Vec<u8>, f64)>,
}

/// The members of a `kv_slice` array (any bytes; NULL allowed with length
/// 0, since the empty string is a valid member).
///
/// # Safety
///
/// `members` NULL or valid for `n` slices, each valid for its length.
unsafe fn member_list<'a>(members: *const kv_slice, n: usize) -> Result<Vec<&'a [u8]>, Fail> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if members.is_null() {
        return Err(Fail::invalid(format!("members is NULL but the count is {n}")));
    }
    // SAFETY: non-NULL and valid for n elements by the contract.
    let slices = unsafe { std::slice::from_raw_parts(members, n) };
    slices
        .iter()
        .enumerate()
        // SAFETY: each slice is valid for its length by the contract.
        .map(|(i, s)| unsafe { args::bytes(s.data, s.len, &format!("members[{i}]")) })
        .collect()
}

/// The `n` doubles at `ptr`.
///
/// # Safety
///
/// `ptr` NULL or valid for `n` reads.
unsafe fn f64_list<'a>(ptr: *const f64, n: usize, name: &str) -> Result<&'a [f64], Fail> {
    if n == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Fail::invalid(format!("{name} is NULL but the count is {n}")));
    }
    // SAFETY: non-NULL and valid for n elements by the contract.
    Ok(unsafe { std::slice::from_raw_parts(ptr, n) })
}

/// Resets the required entries out-parameter, runs `f` and hands its result
/// to the caller as a `kv_zset_entries`.
///
/// # Safety
///
/// `out` NULL or writable.
unsafe fn into_entries(
    out: *mut *mut kv_zset_entries,
    f: impl FnOnce() -> Result<Vec<(Vec<u8>, f64)>, Fail>,
) -> FfiResult {
    // SAFETY: forwarded contract.
    let out = unsafe { args::out(out, "out_entries") }?;
    *out = std::ptr::null_mut();
    let items = f()?;
    *out = Box::into_raw(Box::new(kv_zset_entries { items }));
    Ok(())
}

/// The engine flags for `KV_ZADD_*` bits.
fn zadd_flags_of(bits: u32) -> Result<ZAddFlags, Fail> {
    if bits & !ZADD_ALL_FLAGS != 0 {
        return Err(Fail::invalid(format!("unknown zadd flags {:#x}", bits & !ZADD_ALL_FLAGS)));
    }
    Ok(ZAddFlags {
        nx: bits & KV_ZADD_NX != 0,
        xx: bits & KV_ZADD_XX != 0,
        gt: bits & KV_ZADD_GT != 0,
        lt: bits & KV_ZADD_LT != 0,
        ch: bits & KV_ZADD_CH != 0,
        incr: bits & KV_ZADD_INCR != 0,
    })
}

fn aggregate_of(a: i32) -> Result<Aggregate, Fail> {
    Ok(match a {
        0 => Aggregate::Sum,
        1 => Aggregate::Min,
        2 => Aggregate::Max,
        other => return Err(Fail::invalid(format!("unknown aggregate {other}"))),
    })
}

/// `ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]`:
/// the `n` pairs `(scores[i], members[i])` are applied in order, in one
/// atomic write. `flags` is a bitwise OR of `KV_ZADD_*` (0 for none).
/// `out_reply` (may be NULL) receives the reply (see `kv_zadd_reply`).
///
/// Returns `KV_OK`; `KV_NOT_FLOAT` for a NaN score; `KV_INVALID_ARGUMENT`
/// with Redis's message for no pairs (`ERR syntax error`), NX with XX, GT
/// with LT or NX, INCR with several pairs, an INCR that makes NaN (`ERR
/// resulting score is not a number (NaN)`), unknown flag bits or NULL
/// arrays; `KV_WRONG_TYPE` if `key` holds a string; `KV_VALUE_TOO_LARGE`
/// for a member over `max_value_size`; as `kv_db_put`. Nothing is written
/// on failure.
///
/// # Safety
///
/// `key` valid for `key_len`; `scores` and `members` valid for `n`
/// elements (each member valid for its length); `out_reply` NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn kv_zset_add(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    flags: u32,
    scores: *const f64,
    members: *const kv_slice,
    n: usize,
    out_reply: *mut kv_zadd_reply,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { put_opt(out_reply, kv_zadd_reply::default()) };
        let flags = zadd_flags_of(flags)?;
        // SAFETY: forwarded contract.
        let scores = unsafe { f64_list(scores, n, "scores") }?;
        // SAFETY: forwarded contract.
        let members = unsafe { member_list(members, n) }?;
        let pairs: Vec<(f64, &[u8])> = scores.iter().copied().zip(members).collect();
        // SAFETY: forwarded contract.
        let reply = unsafe { on_key(db, key, key_len, |d, k| d.zadd_with(k, flags, &pairs)) }?;
        let r = match reply {
            ZAddReply::Count(count) => kv_zadd_reply { count, score: 0.0, has_score: false },
            ZAddReply::Score(Some(score)) => kv_zadd_reply { count: 1, score, has_score: true },
            ZAddReply::Score(None) => kv_zadd_reply::default(),
        };
        // SAFETY: forwarded contract.
        unsafe { put_opt(out_reply, r) };
        Ok(())
    }
}

/// `ZINCRBY key increment member`: `*out_score` (may be NULL) receives the
/// member's new score (a new member starts at 0).
///
/// Returns `KV_OK`; `KV_NOT_FLOAT` for a NaN increment;
/// `KV_INVALID_ARGUMENT` (`ERR resulting score is not a number (NaN)` for
/// `inf + -inf`); `KV_WRONG_TYPE`; as `kv_db_put`.
///
/// # Safety
///
/// `key`, `member` valid for their lengths; `out_score` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kv_zset_incrby(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    increment: f64,
    member: *const u8,
    member_len: usize,
    out_score: *mut f64,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        let member = unsafe { args::bytes(member, member_len, "member") }?;
        // SAFETY: forwarded contract.
        let s = unsafe { on_key(db, key, key_len, |d, k| d.zincrby(k, increment, member)) }?;
        // SAFETY: forwarded contract.
        unsafe { put_opt(out_score, s) };
        Ok(())
    }
}

/// `ZREM key member [member ...]`: `*out_removed` (may be NULL) receives
/// how many of the `n` members were removed. Removing the last member
/// deletes the key.
///
/// Returns `KV_OK`; `KV_INVALID_ARGUMENT` for `n == 0` (`ERR wrong number
/// of arguments for 'zrem' command`); `KV_WRONG_TYPE`; as `kv_db_put`.
///
/// # Safety
///
/// `key` valid for `key_len`; `members` valid for `n` slices;
/// `out_removed` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kv_zset_rem(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    members: *const kv_slice,
    n: usize,
    out_removed: *mut u64,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { put_opt(out_removed, 0) };
        // SAFETY: forwarded contract.
        let members = unsafe { member_list(members, n) }?;
        // SAFETY: forwarded contract.
        let r = unsafe { on_key(db, key, key_len, |d, k| d.zrem(k, &members)) }?;
        // SAFETY: forwarded contract.
        unsafe { put_opt(out_removed, r) };
        Ok(())
    }
}

/// `ZSCORE key member`: `*out_score` receives the member's score.
///
/// Returns `KV_OK`; `KV_NOT_FOUND` if the key or the member is missing;
/// `KV_WRONG_TYPE`; `KV_INVALID_ARGUMENT`; `KV_CLOSED`.
///
/// # Safety
///
/// `key`, `member` valid for their lengths; `out_score` writable.
#[no_mangle]
pub unsafe extern "C" fn kv_zset_score(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    member: *const u8,
    member_len: usize,
    out_score: *mut f64,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        let out = unsafe { args::out(out_score, "out_score") }?;
        *out = 0.0;
        // SAFETY: forwarded contract.
        let member = unsafe { args::bytes(member, member_len, "member") }?;
        // SAFETY: forwarded contract.
        *out = unsafe { on_key(db, key, key_len, |d, k| d.zscore(k, member)) }?.ok_or_else(Fail::not_found)?;
        Ok(())
    }
}

/// `ZMSCORE key member [member ...]`: for each of the `n` members,
/// `out_scores[i]` receives its score, or NaN if it is missing (a score is
/// never NaN), and `out_found[i]` (the array may be NULL) whether it exists.
///
/// Returns `KV_OK` (also for a missing key: all missing);
/// `KV_INVALID_ARGUMENT` for `n == 0` (`ERR wrong number of arguments for
/// 'zmscore' command`) or NULL arrays; `KV_WRONG_TYPE`; `KV_CLOSED`.
///
/// # Safety
///
/// `members` valid for `n` slices; `out_scores` valid for `n` writes;
/// `out_found` NULL or valid for `n` writes.
#[no_mangle]
pub unsafe extern "C" fn kv_zset_mscore(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    members: *const kv_slice,
    n: usize,
    out_scores: *mut f64,
    out_found: *mut bool,
) -> kv_status {
    crate::ffi_status! {
        if n > 0 && out_scores.is_null() {
            return Err(Fail::invalid("out_scores is NULL"));
        }
        let scores: &mut [f64] = if n == 0 {
            &mut []
        } else {
            // SAFETY: non-NULL and valid for n writes by the contract.
            unsafe { std::slice::from_raw_parts_mut(out_scores, n) }
        };
        scores.fill(f64::NAN);
        let found: &mut [bool] = if n == 0 || out_found.is_null() {
            &mut []
        } else {
            // SAFETY: non-NULL and valid for n writes by the contract.
            unsafe { std::slice::from_raw_parts_mut(out_found, n) }
        };
        found.fill(false);
        // SAFETY: forwarded contract.
        let members = unsafe { member_list(members, n) }?;
        // SAFETY: forwarded contract.
        let r = unsafe { on_key(db, key, key_len, |d, k| d.zmscore(k, &members)) }?;
        for (i, s) in r.into_iter().enumerate() {
            if let Some(s) = s {
                scores[i] = s;
                if let Some(f) = found.get_mut(i) {
                    *f = true;
                }
            }
        }
        Ok(())
    }
}

/// `ZCARD key`: `*out_card` receives the number of members (0 if missing).
///
/// Returns `KV_OK`; `KV_WRONG_TYPE`; `KV_INVALID_ARGUMENT`; `KV_CLOSED`.
///
/// # Safety
///
/// `key` valid for `key_len`; `out_card` writable.
#[no_mangle]
pub unsafe extern "C" fn kv_zset_card(db: *mut kv_db, key: *const u8, key_len: usize, out_card: *mut u64) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { put_opt(out_card, 0) };
        // SAFETY: forwarded contract.
        let n = unsafe { on_key(db, key, key_len, |d, k| d.zcard(k)) }?;
        // SAFETY: forwarded contract.
        unsafe { put_out(out_card, "out_card", n) }
    }
}

/// `ZCOUNT key min max`: `*out_count` receives the number of members with
/// a score in the range. `min`/`max` use Redis syntax: a float (`"1.5"`,
/// `"-inf"`, `"+inf"`), optionally prefixed by `(` for an exclusive bound.
///
/// Returns `KV_OK`; `KV_INVALID_ARGUMENT` (`ERR min or max is not a float`);
/// `KV_WRONG_TYPE`; `KV_CLOSED`.
///
/// # Safety
///
/// Pointers valid for their lengths; `out_count` writable.
#[no_mangle]
pub unsafe extern "C" fn kv_zset_count(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    min: *const u8,
    min_len: usize,
    max: *const u8,
    max_len: usize,
    out_count: *mut u64,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { put_opt(out_count, 0) };
        // SAFETY: forwarded contract.
        let (min, max) = unsafe { (args::bytes(min, min_len, "min")?, args::bytes(max, max_len, "max")?) };
        // SAFETY: forwarded contract.
        let n = unsafe { on_key(db, key, key_len, |d, k| d.zcount(k, min, max)) }?;
        // SAFETY: forwarded contract.
        unsafe { put_out(out_count, "out_count", n) }
    }
}

/// `ZCOUNT` with numeric bounds: `*out_count` receives the number of
/// members with a score in `*range`.
///
/// Returns `KV_OK`; `KV_INVALID_ARGUMENT` (NULL `range`, or a NaN bound:
/// `ERR min or max is not a float`); `KV_WRONG_TYPE`; `KV_CLOSED`.
///
/// # Safety
///
/// `key` valid for `key_len`; `range` NULL or readable; `out_count`
/// writable.
#[no_mangle]
pub unsafe extern "C" fn kv_zset_count_range(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    range: *const kv_score_range,
    out_count: *mut u64,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { put_opt(out_count, 0) };
        // SAFETY: forwarded contract.
        let r = *unsafe { args::handle(range, "range") }?;
        if r.min.is_nan() || r.max.is_nan() {
            return Err(Fail::invalid(ERR_SCORE_RANGE));
        }
        let range =
            ScoreRange { min: r.min, max: r.max, min_exclusive: r.min_exclusive, max_exclusive: r.max_exclusive };
        // SAFETY: forwarded contract.
        let n = unsafe { on_key(db, key, key_len, |d, k| d.zcount_range(k, &range)) }?;
        // SAFETY: forwarded contract.
        unsafe { put_out(out_count, "out_count", n) }
    }
}

/// `ZLEXCOUNT key min max`: `*out_count` receives the number of members in
/// the lexicographic range. `min`/`max` use Redis syntax: `"-"`, `"+"`,
/// `"[member"` (inclusive), `"(member"` (exclusive).
///
/// Returns `KV_OK`; `KV_INVALID_ARGUMENT` (`ERR min or max not valid string
/// range item`); `KV_WRONG_TYPE`; `KV_CLOSED`.
///
/// # Safety
///
/// Pointers valid for their lengths; `out_count` writable.
#[no_mangle]
pub unsafe extern "C" fn kv_zset_lexcount(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    min: *const u8,
    min_len: usize,
    max: *const u8,
    max_len: usize,
    out_count: *mut u64,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { put_opt(out_count, 0) };
        // SAFETY: forwarded contract.
        let (min, max) = unsafe { (args::bytes(min, min_len, "min")?, args::bytes(max, max_len, "max")?) };
        // SAFETY: forwarded contract.
        let n = unsafe { on_key(db, key, key_len, |d, k| d.zlexcount(k, min, max)) }?;
        // SAFETY: forwarded contract.
        unsafe { put_out(out_count, "out_count", n) }
    }
}

/// `ZRANK key member [WITHSCORE]` (`rev` false) or `ZREVRANK` (`rev` true):
/// `*out_rank` receives the member's 0-based rank by ascending (descending)
/// score, and `*out_score` (may be NULL) its score.
///
/// Returns `KV_OK`; `KV_NOT_FOUND` if the key or member is missing;
/// `KV_WRONG_TYPE`; `KV_INVALID_ARGUMENT`; `KV_CLOSED`.
///
/// # Safety
///
/// Pointers valid for their lengths; `out_rank` writable; `out_score` NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn kv_zset_rank(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    member: *const u8,
    member_len: usize,
    rev: bool,
    out_rank: *mut u64,
    out_score: *mut f64,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        let out = unsafe { args::out(out_rank, "out_rank") }?;
        *out = 0;
        // SAFETY: forwarded contract.
        unsafe { put_opt(out_score, 0.0) };
        // SAFETY: forwarded contract.
        let member = unsafe { args::bytes(member, member_len, "member") }?;
        // SAFETY: forwarded contract.
        let (rank, score) = unsafe { on_key(db, key, key_len, |d, k| d.zrank_with_score(k, member, rev)) }?
            .ok_or_else(Fail::not_found)?;
        *out = rank;
        // SAFETY: forwarded contract.
        unsafe { put_opt(out_score, score) };
        Ok(())
    }
}

/// The engine's `ZRangeArgs` for `a`.
///
/// # Safety
///
/// The slices in `a` valid for their lengths.
unsafe fn zrange_args_of(a: &kv_zrange_args) -> Result<ZRangeArgs, Fail> {
    let limit = a.has_limit.then_some((a.offset, a.count));
    // SAFETY: forwarded contract.
    let bounds = || unsafe {
        Ok::<_, Fail>((args::bytes(a.min.data, a.min.len, "min")?, args::bytes(a.max.data, a.max.len, "max")?))
    };
    let by = match a.by {
        0 => ZRangeBy::Rank { start: a.start, stop: a.stop },
        1 => {
            let (min, max) = bounds()?;
            ZRangeBy::Score(ScoreRange::parse(min, max)?)
        }
        2 => {
            let (min, max) = bounds()?;
            ZRangeBy::Lex(LexRange::parse(min, max)?)
        }
        other => return Err(Fail::invalid(format!("unknown zrange kind {other}"))),
    };
    Ok(ZRangeArgs { by, rev: a.rev, limit })
}

/// `ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count]
/// [WITHSCORES]` as described by `*range_args` (see `kv_zrange_args`).
/// `*out_entries` receives the selected members with their scores (scores
/// are always included; `WITHSCORES` is a matter of what the caller reads).
///
/// Ownership: the caller frees `*out_entries` with `kv_zset_entries_free`.
/// It is set to NULL on failure and is never NULL on `KV_OK` (an empty
/// result for a missing key).
///
/// Returns `KV_OK`; `KV_INVALID_ARGUMENT` with Redis's message (`ERR min or
/// max is not a float`, `ERR min or max not valid string range item`, `ERR
/// syntax error, LIMIT is only supported in combination with either BYSCORE
/// or BYLEX`), for an unknown `by` or NULL arguments; `KV_WRONG_TYPE`;
/// `KV_CLOSED`.
///
/// # Safety
///
/// `key` valid for `key_len`; `range_args` NULL or readable, its slices
/// valid for their lengths; `out_entries` writable.
#[no_mangle]
pub unsafe extern "C" fn kv_zset_range(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    range_args: *const kv_zrange_args,
    out_entries: *mut *mut kv_zset_entries,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe {
            into_entries(out_entries, || {
                let a = args::handle(range_args, "range_args")?;
                let z = zrange_args_of(a)?;
                on_key(db, key, key_len, |d, k| d.zrange(k, &z))
            })
        }
    }
}

/// `ZRANGE key start stop` (`rev` false) or `ZREVRANGE key start stop`
/// (`rev` true) by 0-based rank: the convenience form of `kv_zset_range`.
///
/// Ownership and returns as `kv_zset_range`.
///
/// # Safety
///
/// `key` valid for `key_len`; `out_entries` writable.
#[no_mangle]
pub unsafe extern "C" fn kv_zset_range_by_rank(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    start: i64,
    stop: i64,
    rev: bool,
    out_entries: *mut *mut kv_zset_entries,
) -> kv_status {
    crate::ffi_status! {
        let z = ZRangeArgs { by: ZRangeBy::Rank { start, stop }, rev, limit: None };
        // SAFETY: forwarded contract.
        unsafe { into_entries(out_entries, || on_key(db, key, key_len, |d, k| d.zrange(k, &z))) }
    }
}

/// `ZPOPMIN key count`: removes up to `count` lowest-scored members;
/// `*out_entries` receives them, lowest first. `count` 0 removes nothing.
///
/// Ownership: the caller frees `*out_entries` with `kv_zset_entries_free`
/// (NULL on failure, never NULL on `KV_OK`).
///
/// Returns `KV_OK`; `KV_WRONG_TYPE`; `KV_INVALID_ARGUMENT`; as `kv_db_put`.
///
/// # Safety
///
/// `key` valid for `key_len`; `out_entries` writable.
#[no_mangle]
pub unsafe extern "C" fn kv_zset_popmin(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    count: u64,
    out_entries: *mut *mut kv_zset_entries,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { into_entries(out_entries, || on_key(db, key, key_len, |d, k| d.zpopmin(k, count))) }
    }
}

/// `ZPOPMAX key count`: as `kv_zset_popmin` for the highest scores,
/// highest first.
///
/// # Safety
///
/// As `kv_zset_popmin`.
#[no_mangle]
pub unsafe extern "C" fn kv_zset_popmax(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    count: u64,
    out_entries: *mut *mut kv_zset_entries,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { into_entries(out_entries, || on_key(db, key, key_len, |d, k| d.zpopmax(k, count))) }
    }
}

/// `ZREMRANGEBYRANK key start stop`: removes the members at ranks
/// `start..=stop` (negative from the end); `*out_removed` (may be NULL)
/// receives how many.
///
/// Returns `KV_OK`; `KV_WRONG_TYPE`; `KV_INVALID_ARGUMENT`; as `kv_db_put`.
///
/// # Safety
///
/// `key` valid for `key_len`; `out_removed` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kv_zset_remrangebyrank(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    start: i64,
    stop: i64,
    out_removed: *mut u64,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { put_opt(out_removed, 0) };
        // SAFETY: forwarded contract.
        let n = unsafe { on_key(db, key, key_len, |d, k| d.zremrangebyrank(k, start, stop)) }?;
        // SAFETY: forwarded contract.
        unsafe { put_opt(out_removed, n) };
        Ok(())
    }
}

/// `ZREMRANGEBYSCORE key min max` (bounds as in `kv_zset_count`);
/// `*out_removed` (may be NULL) receives how many were removed.
///
/// Returns `KV_OK`; `KV_INVALID_ARGUMENT` (`ERR min or max is not a
/// float`); `KV_WRONG_TYPE`; as `kv_db_put`.
///
/// # Safety
///
/// Pointers valid for their lengths; `out_removed` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kv_zset_remrangebyscore(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    min: *const u8,
    min_len: usize,
    max: *const u8,
    max_len: usize,
    out_removed: *mut u64,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { put_opt(out_removed, 0) };
        // SAFETY: forwarded contract.
        let (min, max) = unsafe { (args::bytes(min, min_len, "min")?, args::bytes(max, max_len, "max")?) };
        // SAFETY: forwarded contract.
        let n = unsafe { on_key(db, key, key_len, |d, k| d.zremrangebyscore(k, min, max)) }?;
        // SAFETY: forwarded contract.
        unsafe { put_opt(out_removed, n) };
        Ok(())
    }
}

/// `ZREMRANGEBYLEX key min max` (bounds as in `kv_zset_lexcount`);
/// `*out_removed` (may be NULL) receives how many were removed.
///
/// Returns `KV_OK`; `KV_INVALID_ARGUMENT` (`ERR min or max not valid string
/// range item`); `KV_WRONG_TYPE`; as `kv_db_put`.
///
/// # Safety
///
/// Pointers valid for their lengths; `out_removed` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kv_zset_remrangebylex(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    min: *const u8,
    min_len: usize,
    max: *const u8,
    max_len: usize,
    out_removed: *mut u64,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { put_opt(out_removed, 0) };
        // SAFETY: forwarded contract.
        let (min, max) = unsafe { (args::bytes(min, min_len, "min")?, args::bytes(max, max_len, "max")?) };
        // SAFETY: forwarded contract.
        let n = unsafe { on_key(db, key, key_len, |d, k| d.zremrangebylex(k, min, max)) }?;
        // SAFETY: forwarded contract.
        unsafe { put_opt(out_removed, n) };
        Ok(())
    }
}

/// `ZRANDMEMBER key count [WITHSCORES]`: a positive `count` gives up to
/// `count` distinct members, a negative one exactly `-count` members with
/// possible repeats (`count` 1 is the plain `ZRANDMEMBER key`: an empty
/// result stands for nil). Scores are always included; `withscores` only
/// selects Redis's range check for `count`.
///
/// Ownership: the caller frees `*out_entries` with `kv_zset_entries_free`
/// (NULL on failure, never NULL on `KV_OK`).
///
/// Returns `KV_OK`; `KV_INVALID_ARGUMENT` (`ERR value is out of range...`
/// for `INT64_MIN`, for `|count| > INT64_MAX / 2` with `withscores`, or a
/// negative count below -10000000, since the reply is materialised);
/// `KV_WRONG_TYPE`; `KV_CLOSED`.
///
/// # Safety
///
/// `key` valid for `key_len`; `out_entries` writable.
#[no_mangle]
pub unsafe extern "C" fn kv_zset_randmember(
    db: *mut kv_db,
    key: *const u8,
    key_len: usize,
    count: i64,
    withscores: bool,
    out_entries: *mut *mut kv_zset_entries,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe {
            into_entries(out_entries, || on_key(db, key, key_len, |d, k| d.zrandmember_count(k, count, withscores)))
        }
    }
}

/// Which set-algebra store command a call is.
#[derive(Clone, Copy)]
enum StoreCmd {
    Union,
    Inter,
    Diff,
}

/// The shared body of the store commands.
///
/// # Safety
///
/// As `kv_zset_unionstore`.
#[allow(clippy::too_many_arguments)]
unsafe fn store_any(
    db: *const kv_db,
    dest: *const u8,
    dest_len: usize,
    keys: *const kv_slice,
    n: usize,
    weights: *const f64,
    aggregate: i32,
    out_len: *mut u64,
    cmd: StoreCmd,
) -> FfiResult {
    // SAFETY: forwarded contract.
    unsafe { put_opt(out_len, 0) };
    let agg = aggregate_of(aggregate)?;
    // SAFETY: forwarded contract.
    let dest = unsafe { args::key(dest, dest_len, "dest") }?;
    // SAFETY: forwarded contract.
    let keys = unsafe { key_list(keys, n, "keys") }?;
    // SAFETY: forwarded contract.
    let weights = if weights.is_null() { None } else { Some(unsafe { f64_list(weights, n, "weights") }?) };
    // SAFETY: forwarded contract.
    let r = unsafe {
        with_db(db, |d| {
            Ok(match cmd {
                StoreCmd::Union => d.zunionstore(dest, &keys, weights, agg)?,
                StoreCmd::Inter => d.zinterstore(dest, &keys, weights, agg)?,
                StoreCmd::Diff => d.zdiffstore(dest, &keys)?,
            })
        })
    }?;
    // SAFETY: forwarded contract.
    unsafe { put_opt(out_len, r) };
    Ok(())
}

/// `ZUNIONSTORE dest numkeys key ... [WEIGHTS w ...] [AGGREGATE
/// SUM|MIN|MAX]`: stores the union of the `n` sets `keys` at `dest`
/// (replacing whatever it held, atomically); `*out_len` (may be NULL)
/// receives its size. `weights`: NULL for all 1, else `n` weights.
/// `aggregate`: one of `kv_aggregate`. Missing inputs are empty sets.
///
/// Returns `KV_OK`; `KV_INVALID_ARGUMENT` (`ERR at least 1 input key is
/// needed for 'zunionstore' command`, `ERR weight value is not a float` for
/// a NaN weight, an unknown aggregate, NULL arrays); `KV_WRONG_TYPE` if an
/// input holds a string; `KV_BATCH_TOO_LARGE`; as `kv_db_put`.
///
/// # Safety
///
/// `dest` valid for `dest_len`; `keys` valid for `n` slices; `weights` NULL
/// or valid for `n` reads; `out_len` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kv_zset_unionstore(
    db: *mut kv_db,
    dest: *const u8,
    dest_len: usize,
    keys: *const kv_slice,
    n: usize,
    weights: *const f64,
    aggregate: i32,
    out_len: *mut u64,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { store_any(db, dest, dest_len, keys, n, weights, aggregate, out_len, StoreCmd::Union) }
    }
}

/// `ZINTERSTORE dest numkeys key ... [WEIGHTS ...] [AGGREGATE ...]`: as
/// `kv_zset_unionstore` for the members present in every input.
///
/// # Safety
///
/// As `kv_zset_unionstore`.
#[no_mangle]
pub unsafe extern "C" fn kv_zset_interstore(
    db: *mut kv_db,
    dest: *const u8,
    dest_len: usize,
    keys: *const kv_slice,
    n: usize,
    weights: *const f64,
    aggregate: i32,
    out_len: *mut u64,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { store_any(db, dest, dest_len, keys, n, weights, aggregate, out_len, StoreCmd::Inter) }
    }
}

/// `ZDIFFSTORE dest numkeys key ...`: stores at `dest` the members of the
/// first input absent from all the others (with the first input's scores);
/// otherwise as `kv_zset_unionstore`.
///
/// # Safety
///
/// `dest` valid for `dest_len`; `keys` valid for `n` slices; `out_len` NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn kv_zset_diffstore(
    db: *mut kv_db,
    dest: *const u8,
    dest_len: usize,
    keys: *const kv_slice,
    n: usize,
    out_len: *mut u64,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        unsafe { store_any(db, dest, dest_len, keys, n, std::ptr::null(), 0, out_len, StoreCmd::Diff) }
    }
}

/// The number of entries in `entries` (0 for NULL).
///
/// # Safety
///
/// `entries` NULL or a live `kv_zset_entries`.
#[no_mangle]
pub unsafe extern "C" fn kv_zset_entries_len(entries: *const kv_zset_entries) -> usize {
    crate::ffi_boundary! {
        // SAFETY: forwarded contract.
        unsafe { entries.as_ref() }.map_or(0, |e| e.items.len())
    }
}

/// Entry `index` of `entries`: `*out_member` (may be NULL) receives the
/// member, `*out_score` (may be NULL) its score.
///
/// Ownership: the member bytes belong to `entries` and stay valid until
/// `kv_zset_entries_free`; do not free them.
///
/// Returns `KV_OK`; `KV_INVALID_ARGUMENT` for a NULL `entries` or an
/// `index` not below `kv_zset_entries_len`.
///
/// # Safety
///
/// `entries` NULL or live; the out-parameters NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kv_zset_entries_get(
    entries: *const kv_zset_entries,
    index: usize,
    out_member: *mut kv_slice,
    out_score: *mut f64,
) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        let e = unsafe { args::handle(entries, "entries") }?;
        let (m, s) = e
            .items
            .get(index)
            .ok_or_else(|| Fail::invalid(format!("index {index} is out of range for {} entries", e.items.len())))?;
        // SAFETY: forwarded contract.
        unsafe { put_opt(out_member, kv_slice::of(m)) };
        // SAFETY: forwarded contract.
        unsafe { put_opt(out_score, *s) };
        Ok(())
    }
}

/// Releases `entries`. NULL is ignored.
///
/// # Safety
///
/// `entries` NULL or a `kv_zset_entries` from libkv not yet freed; slices
/// obtained from it are invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn kv_zset_entries_free(entries: *mut kv_zset_entries) {
    crate::ffi_boundary! {
        if !entries.is_null() {
            // SAFETY: made by Box::into_raw in into_entries, freed once (contract).
            drop(unsafe { Box::from_raw(entries) });
        }
    }
}

/// Parses a score the way Redis parses a `ZADD` score: `"1.5"`, `"1e3"`,
/// `"inf"`, `"-inf"`, `"+inf"`; not empty, no spaces, no NaN, no overflow.
/// `*out_score` receives it.
///
/// Returns `KV_OK`; `KV_NOT_FLOAT`; `KV_INVALID_ARGUMENT` for NULL.
///
/// # Safety
///
/// `text` valid for `text_len`; `out_score` writable.
#[no_mangle]
pub unsafe extern "C" fn kv_score_parse(text: *const u8, text_len: usize, out_score: *mut f64) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        let out = unsafe { args::out(out_score, "out_score") }?;
        *out = 0.0;
        // SAFETY: forwarded contract.
        let text = unsafe { args::bytes(text, text_len, "text") }?;
        *out = parse_score(text)?;
        Ok(())
    }
}

/// Formats `score` byte-for-byte as Redis 7.2+ replies it (`"1.5"`,
/// `"inf"`, `"-inf"`, `"10000000"`, `"1e+20"`): `*out_text` receives the
/// text, without a terminating NUL.
///
/// Ownership: the caller frees `*out_text` with `kv_buf_free`.
///
/// Returns `KV_OK`; `KV_INVALID_ARGUMENT` for NULL `out_text`.
///
/// # Safety
///
/// `out_text` writable.
#[no_mangle]
pub unsafe extern "C" fn kv_score_format(score: f64, out_text: *mut kv_buf) -> kv_status {
    crate::ffi_status! {
        // SAFETY: forwarded contract.
        let out = unsafe { args::out(out_text, "out_text") }?;
        *out = kv_buf::from_vec(format_score(score).into_bytes());
        Ok(())
    }
}
