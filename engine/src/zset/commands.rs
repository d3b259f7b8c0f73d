//! The sorted-set commands of [`Db`], with Redis 7 semantics (replies,
//! errors, argument order).
//!
//! Reads look the key up in the keydir (missing or expired: empty; a string:
//! [`Error::WrongType`]) and then read its [`ZSet`] under a shared lock.
//! Writes run in one write transaction: read the committed set, plan, stage
//! one record per changed member (`ZAdd` / `ZRem`), and let the apply
//! closures update the set with each record's final location. Several
//! records commit as one atomic batch. Ranges given as bytes are parsed with
//! [`ScoreRange::parse`] / [`LexRange::parse`], always as `(min, max)`: the
//! `REV` forms swap their `max min` arguments here.

use std::collections::HashSet;

use super::store::encode_zadd_value;
use super::{diff, inter, plan_add_to, union, Aggregate, LexRange, ScoreRange, ZAddFlags, ZSet};
use crate::error::{Error, Result};
use crate::keydir::ValueKind;
use crate::record::RecordKind;
use crate::writer::{Apply, WriteTxn};
use crate::Db;

/// Reply of [`Db::zadd_with`]: the integer reply, or with `INCR` the new
/// score (`None` when `NX`/`XX`/`GT`/`LT` skipped the member: a nil reply).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ZAddReply {
    /// Members added (with `CH`: added or changed).
    Count(u64),
    /// `INCR`: the member's new score, or `None` if not updated.
    Score(Option<f64>),
}

/// What a `ZRANGE` selects by.
#[derive(Debug, Clone, PartialEq)]
pub enum ZRangeBy {
    /// 0-based ranks `start..=stop`; negative counts from the end.
    Rank {
        /// First rank.
        start: i64,
        /// Last rank (inclusive).
        stop: i64,
    },
    /// Scores in a range (always `(min, max)`, also for `rev`).
    Score(ScoreRange),
    /// Members in a lexicographic range (always `(min, max)`).
    Lex(LexRange),
}

/// The arguments of a general `ZRANGE key start stop [BYSCORE|BYLEX] [REV]
/// [LIMIT offset count]`. Scores are always returned: `WITHSCORES` is a
/// matter of reply formatting.
#[derive(Debug, Clone, PartialEq)]
pub struct ZRangeArgs {
    /// Selection.
    pub by: ZRangeBy,
    /// Highest first (`REV`).
    pub rev: bool,
    /// `LIMIT offset count` (`BYSCORE`/`BYLEX` only); a negative count means
    /// no limit, a negative offset selects nothing (as Redis).
    pub limit: Option<(i64, i64)>,
}

/// Which kind of `ZRANGE` the byte arguments of [`ZRangeArgs::parse`] are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZRangeKind {
    /// By rank (the default).
    Rank,
    /// `BYSCORE`.
    Score,
    /// `BYLEX`.
    Lex,
}

/// Redis's reply to `LIMIT` without `BYSCORE`/`BYLEX`.
const ERR_LIMIT_RANK: &str = "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX";
/// The most elements a negative-count `ZRANDMEMBER` may return: the reply is
/// materialised, so this engine bounds it (Redis streams it).
pub const ZRANDMEMBER_MAX_REPEATS: u64 = 10_000_000;

impl ZRangeArgs {
    /// Parses `ZRANGE key start stop [BY...] [REV] [LIMIT offset count]`
    /// arguments as Redis does: ranks are integers, score and lex bounds use
    /// Redis syntax (`-inf`, `(1`, `[a`, `-`, `+`), and with `rev` the first
    /// argument is the maximum for `BYSCORE`/`BYLEX`.
    ///
    /// # Errors
    ///
    /// [`Error::NotInteger`] for a bad rank; the range errors of
    /// [`ScoreRange::parse`] / [`LexRange::parse`]; `ERR syntax error, LIMIT
    /// is only supported ...` for `LIMIT` with ranks.
    pub fn parse(kind: ZRangeKind, start: &[u8], stop: &[u8], rev: bool, limit: Option<(i64, i64)>) -> Result<Self> {
        let (lo, hi) = if rev { (stop, start) } else { (start, stop) };
        let by = match kind {
            ZRangeKind::Rank => {
                if limit.is_some() {
                    return Err(Error::invalid(ERR_LIMIT_RANK));
                }
                ZRangeBy::Rank { start: parse_i64(start)?, stop: parse_i64(stop)? }
            }
            ZRangeKind::Score => ZRangeBy::Score(ScoreRange::parse(lo, hi)?),
            ZRangeKind::Lex => ZRangeBy::Lex(LexRange::parse(lo, hi)?),
        };
        Ok(ZRangeArgs { by, rev, limit })
    }
}

/// Parses a Redis integer argument (`string2ll`: optional `-`, digits, no
/// spaces or `+`).
fn parse_i64(arg: &[u8]) -> Result<i64> {
    let s = std::str::from_utf8(arg).map_err(|_| Error::NotInteger)?;
    if s.is_empty() || s.starts_with('+') || (s.len() > 1 && s.starts_with('0')) || s.starts_with("-0") {
        return Err(Error::NotInteger);
    }
    s.parse::<i64>().map_err(|_| Error::NotInteger)
}

/// State of `key` for a writing command, under the writer mutex: the
/// expiry of its set, `None` if it holds none. An expired key of any type
/// is purged first (an `ExpireTombstone` in the same batch), so a new set
/// never inherits its members.
fn write_state(tx: &mut WriteTxn<'_>, key: &[u8]) -> Result<Option<u64>> {
    tx.inner.check_key(key)?;
    match tx.inner.keydir.get(key) {
        None => {
            stage_purge_tombstone(tx, key)?;
            Ok(None)
        }
        Some(e) if tx.inner.expired(&e) => {
            crate::expiry::stage_purge(tx, key, crate::expiry::PurgeCause::Lazy)?;
            Ok(None)
        }
        Some(e) if e.kind != ValueKind::ZSet => Err(Error::WrongType),
        Some(e) => Ok(Some(e.expire_at_ms)),
    }
}

/// If recovery dropped an expired set at `key` without a tombstone, stages
/// one, so the set's old member records can never replay into a new set
/// (for instance after the clock goes back): regression test
/// `zset_expiry_hides_the_set_and_survives_reopen_even_if_clock_goes_back`.
fn stage_purge_tombstone(tx: &mut WriteTxn<'_>, key: &[u8]) -> Result<()> {
    if !tx.inner.zsets.is_purged(key) {
        return Ok(());
    }
    let k = key.to_vec();
    let apply = Apply::Custom(Box::new(move |inner, loc| {
        inner.zsets.unpurge(&k);
        inner.add_dead(loc.seg, loc.len as u64);
    }));
    tx.stage(RecordKind::ExpireTombstone, key, &[], 0, apply)
}

/// Stages a `ZAdd` of `member` with `score` under `key` (whose expiry is
/// `expire_at_ms`).
fn stage_zadd(tx: &mut WriteTxn<'_>, key: &[u8], member: &[u8], score: f64, expire_at_ms: u64) -> Result<()> {
    tx.inner.check_value(member)?;
    let apply = Apply::ZAdd { score, expire_at_ms };
    // Short members are encoded on the stack: no allocation per ZADD.
    let mut small = [0u8; 8 + SMALL_MEMBER];
    if member.len() <= SMALL_MEMBER {
        let value = &mut small[..8 + member.len()];
        value[..8].copy_from_slice(&score.to_le_bytes());
        value[8..].copy_from_slice(member);
        return tx.stage(RecordKind::ZAdd, key, value, expire_at_ms, apply);
    }
    tx.stage(RecordKind::ZAdd, key, &encode_zadd_value(score, member), expire_at_ms, apply)
}

/// Longest member whose `ZAdd` value [`stage_zadd`] encodes on the stack.
const SMALL_MEMBER: usize = 120;

/// Stages the removal of `members` (all present, distinct) from `key`. When
/// they are the whole set, one `Delete` replaces the `ZRem`s.
fn stage_removals(tx: &mut WriteTxn<'_>, key: &[u8], members: &[Vec<u8>], whole_set: bool) -> Result<()> {
    if whole_set && members.len() > 1 {
        // Many records in one batch could exceed the batch limits; one
        // tombstone cannot.
        return tx.tombstone(key, RecordKind::Delete);
    }
    tx.raise_limits(usize::MAX, crate::options::MAX_BATCH_SIZE_BYTES);
    for m in members {
        let (k, mm) = (key.to_vec(), m.clone());
        let apply = Apply::Custom(Box::new(move |inner, loc| inner.zset_apply_rem(&k, &mm, loc)));
        tx.stage(RecordKind::ZRem, key, m, 0, apply)?;
    }
    Ok(())
}

/// Stages a `KeyMeta` record setting the expiry of the sorted set `key`
/// (0 = none). For the TTL commands on sorted-set keys.
pub(crate) fn stage_zset_expiry(tx: &mut WriteTxn<'_>, key: &[u8], expire_at_ms: u64) -> Result<()> {
    let k = key.to_vec();
    let apply = Apply::Custom(Box::new(move |inner, loc| inner.zset_apply_meta(&k, expire_at_ms, loc)));
    tx.stage(RecordKind::KeyMeta, key, &[], expire_at_ms, apply)
}

fn to_keys(members: impl IntoIterator<Item = (Vec<u8>, f64)>) -> Vec<Vec<u8>> {
    members.into_iter().map(|(m, _)| m).collect::<Vec<_>>()
}

/// Which set-algebra store command.
#[derive(Clone, Copy)]
enum StoreOp {
    Union,
    Inter,
    Diff,
}

impl StoreOp {
    fn name(self) -> &'static str {
        match self {
            StoreOp::Union => "zunionstore",
            StoreOp::Inter => "zinterstore",
            StoreOp::Diff => "zdiffstore",
        }
    }
}

impl Db {
    /// Runs `f` on the live sorted set at `key`: `None` if missing or
    /// expired, `WrongType` if it is a string.
    fn zread<R>(&self, key: &[u8], f: impl FnOnce(&ZSet) -> R) -> Result<Option<R>> {
        self.inner.check_open()?;
        self.inner.check_key(key)?;
        match self.inner.live_entry_now(key) {
            None => Ok(None),
            Some(e) if e.kind != ValueKind::ZSet => Err(Error::WrongType),
            // `None` if a concurrent write removed it since the lookup.
            Some(_) => Ok(self.inner.zsets.read(key, f)),
        }
    }

    /// `ZADD key score member [score member ...]` without options: returns
    /// the number of members added.
    pub fn zadd(&self, key: &[u8], pairs: &[(f64, &[u8])]) -> Result<u64> {
        match self.zadd_with(key, ZAddFlags::default(), pairs)? {
            ZAddReply::Count(n) => Ok(n),
            ZAddReply::Score(_) => Err(Error::Internal("ZADD without INCR replied a score".into())),
        }
    }

    /// `ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member ...`. Pairs are
    /// processed in order (`ZADD k 1 a 2 a` leaves `a` at 2), all in one
    /// atomic write.
    ///
    /// # Errors
    ///
    /// The flag errors of [`ZAddFlags::validate`]; [`Error::NotFloat`] for a
    /// NaN score; `ERR resulting score is not a number (NaN)` when `INCR`
    /// makes NaN; [`Error::WrongType`] if `key` holds a string;
    /// `ValueTooLarge` for a member over the value limit. Nothing is written
    /// on error.
    pub fn zadd_with(&self, key: &[u8], flags: ZAddFlags, pairs: &[(f64, &[u8])]) -> Result<ZAddReply> {
        flags.validate(pairs.len())?;
        if pairs.iter().any(|(s, _)| s.is_nan()) {
            return Err(Error::NotFloat);
        }
        self.inner.check_key(key)?;
        if let [(_, member)] = pairs {
            // Start loading the member's index slot before the write lock
            // and the key's state are taken (see `ZSet::score_planning`).
            self.inner.zsets.read(key, |z| z.prefetch_member(member));
        }
        self.inner.write(|tx| {
            let inner = tx.inner;
            let expire = write_state(tx, key)?;
            let expire_at_ms = expire.unwrap_or(0);
            let guard = inner.zsets.guard(key);
            let set = if expire.is_some() { guard.get(key) } else { None };
            // Scores staged by earlier pairs of this command (not applied
            // yet); a single pair needs none, and the map allocates only on
            // its first insert.
            let mut pending: hashbrown::HashMap<&[u8], f64> = hashbrown::HashMap::new();
            let (mut counted, mut last) = (0u64, None);
            for &(score, member) in pairs {
                let mut planned = false;
                let cur = match pending.get(member) {
                    Some(&s) => Some(s),
                    None if pairs.len() == 1 => set.and_then(|z| {
                        let (cur, p) = z.score_planning(member, score, flags.incr, tx.zset_plan());
                        planned = p;
                        cur
                    }),
                    None => set.and_then(|z| z.score(member)),
                };
                let plan = plan_add_to(cur, score, &flags)?;
                if let Some(s) = plan.write {
                    stage_zadd(tx, key, member, s, expire_at_ms)?;
                    if planned {
                        tx.use_zset_plan();
                    }
                    if pairs.len() > 1 {
                        pending.insert(member, s);
                    }
                }
                counted += u64::from(plan.counted(&flags));
                last = plan.score;
            }
            Ok(if flags.incr { ZAddReply::Score(last) } else { ZAddReply::Count(counted) })
        })
    }

    /// [`Db::zadd_with`] with scores as bytes, parsed like Redis
    /// (`inf`, `-inf`, `1e3`; `NotFloat` otherwise) before anything is done.
    pub fn zadd_bytes(&self, key: &[u8], flags: ZAddFlags, pairs: &[(&[u8], &[u8])]) -> Result<ZAddReply> {
        let parsed =
            pairs.iter().map(|&(s, m)| Ok((super::parse_score(s)?, m))).collect::<Result<Vec<(f64, &[u8])>>>()?;
        self.zadd_with(key, flags, &parsed)
    }

    /// `ZINCRBY key increment member`: the member's new score (a new member
    /// starts at 0).
    ///
    /// # Errors
    ///
    /// `NotFloat` for a NaN increment; `ERR resulting score is not a number
    /// (NaN)`; `WrongType`.
    pub fn zincrby(&self, key: &[u8], increment: f64, member: &[u8]) -> Result<f64> {
        let flags = ZAddFlags { incr: true, ..ZAddFlags::default() };
        match self.zadd_with(key, flags, &[(increment, member)])? {
            ZAddReply::Score(Some(s)) => Ok(s),
            _ => Err(Error::Internal("ZINCRBY without a score".into())),
        }
    }

    /// `ZREM key member [member ...]`: the number of members removed. The
    /// last member's removal deletes the key.
    ///
    /// # Errors
    ///
    /// `ERR wrong number of arguments for 'zrem' command` for no members;
    /// `WrongType`.
    pub fn zrem(&self, key: &[u8], members: &[&[u8]]) -> Result<u64> {
        if members.is_empty() {
            return Err(Error::invalid("ERR wrong number of arguments for 'zrem' command"));
        }
        self.inner.check_key(key)?;
        self.inner.write(|tx| {
            let inner = tx.inner;
            if write_state(tx, key)?.is_none() {
                return Ok(0);
            }
            let (hits, whole) = {
                let guard = inner.zsets.guard(key);
                let Some(set) = guard.get(key) else { return Ok(0) };
                let mut seen = HashSet::new();
                let hits: Vec<Vec<u8>> =
                    members.iter().filter(|m| set.contains(m) && seen.insert(**m)).map(|m| m.to_vec()).collect();
                let whole = hits.len() as u64 == set.len();
                (hits, whole)
            };
            stage_removals(tx, key, &hits, whole)?;
            Ok(hits.len() as u64)
        })
    }

    /// Removes the members `select` picks from the live set at `key`; returns
    /// them with their scores.
    fn zremove_where(
        &self,
        key: &[u8],
        select: impl FnOnce(&ZSet) -> Vec<(Vec<u8>, f64)>,
    ) -> Result<Vec<(Vec<u8>, f64)>> {
        self.inner.check_key(key)?;
        self.inner.write(|tx| {
            let inner = tx.inner;
            if write_state(tx, key)?.is_none() {
                return Ok(Vec::new());
            }
            let (picked, whole) = {
                let guard = inner.zsets.guard(key);
                let Some(set) = guard.get(key) else { return Ok(Vec::new()) };
                let picked = select(set);
                let whole = picked.len() as u64 == set.len();
                (picked, whole)
            };
            let members: Vec<Vec<u8>> = picked.iter().map(|(m, _)| m.clone()).collect();
            stage_removals(tx, key, &members, whole)?;
            Ok(picked)
        })
    }

    /// `ZPOPMIN key count`: removes and returns up to `count` lowest-scored
    /// members, lowest first.
    pub fn zpopmin(&self, key: &[u8], count: u64) -> Result<Vec<(Vec<u8>, f64)>> {
        self.zpop(key, count, false)
    }

    /// `ZPOPMAX key count`: removes and returns up to `count` highest-scored
    /// members, highest first.
    pub fn zpopmax(&self, key: &[u8], count: u64) -> Result<Vec<(Vec<u8>, f64)>> {
        self.zpop(key, count, true)
    }

    fn zpop(&self, key: &[u8], count: u64, max: bool) -> Result<Vec<(Vec<u8>, f64)>> {
        if count == 0 {
            // Redis replies an empty array without touching the key (but
            // still checks its type).
            self.zread(key, |_| ())?;
            return Ok(Vec::new());
        }
        let stop = i64::try_from(count - 1).unwrap_or(i64::MAX);
        self.zremove_where(key, |z| z.range_by_rank(0, stop, max))
    }

    /// `ZREMRANGEBYRANK key start stop`: the number of members removed.
    pub fn zremrangebyrank(&self, key: &[u8], start: i64, stop: i64) -> Result<u64> {
        Ok(self.zremove_where(key, |z| z.range_by_rank(start, stop, false))?.len() as u64)
    }

    /// `ZREMRANGEBYSCORE key min max` (Redis bound syntax).
    pub fn zremrangebyscore(&self, key: &[u8], min: &[u8], max: &[u8]) -> Result<u64> {
        let range = ScoreRange::parse(min, max)?;
        self.zremrangebyscore_range(key, &range)
    }

    /// `ZREMRANGEBYSCORE` with a typed range.
    pub fn zremrangebyscore_range(&self, key: &[u8], range: &ScoreRange) -> Result<u64> {
        Ok(self.zremove_where(key, |z| z.range_by_score(range, false, 0, -1))?.len() as u64)
    }

    /// `ZREMRANGEBYLEX key min max` (Redis bound syntax).
    pub fn zremrangebylex(&self, key: &[u8], min: &[u8], max: &[u8]) -> Result<u64> {
        let range = LexRange::parse(min, max)?;
        self.zremrangebylex_range(key, &range)
    }

    /// `ZREMRANGEBYLEX` with a typed range.
    pub fn zremrangebylex_range(&self, key: &[u8], range: &LexRange) -> Result<u64> {
        Ok(self.zremove_where(key, |z| z.range_by_lex(range, false, 0, -1))?.len() as u64)
    }

    /// `ZSCORE key member`.
    pub fn zscore(&self, key: &[u8], member: &[u8]) -> Result<Option<f64>> {
        Ok(self.zread(key, |z| z.score(member))?.flatten())
    }

    /// `ZMSCORE key member [member ...]`: one score (or `None`) per member.
    pub fn zmscore(&self, key: &[u8], members: &[&[u8]]) -> Result<Vec<Option<f64>>> {
        if members.is_empty() {
            return Err(Error::invalid("ERR wrong number of arguments for 'zmscore' command"));
        }
        Ok(self
            .zread(key, |z| members.iter().map(|m| z.score(m)).collect())?
            .unwrap_or_else(|| vec![None; members.len()]))
    }

    /// `ZCARD key`: the number of members (0 if missing).
    pub fn zcard(&self, key: &[u8]) -> Result<u64> {
        Ok(self.zread(key, |z| z.len())?.unwrap_or(0))
    }

    /// `ZCOUNT key min max` (Redis bound syntax; parsed before the lookup).
    pub fn zcount(&self, key: &[u8], min: &[u8], max: &[u8]) -> Result<u64> {
        let range = ScoreRange::parse(min, max)?;
        self.zcount_range(key, &range)
    }

    /// `ZCOUNT` with a typed range.
    pub fn zcount_range(&self, key: &[u8], range: &ScoreRange) -> Result<u64> {
        Ok(self.zread(key, |z| z.count(range))?.unwrap_or(0))
    }

    /// `ZLEXCOUNT key min max` (Redis bound syntax).
    pub fn zlexcount(&self, key: &[u8], min: &[u8], max: &[u8]) -> Result<u64> {
        let range = LexRange::parse(min, max)?;
        self.zlexcount_range(key, &range)
    }

    /// `ZLEXCOUNT` with a typed range.
    pub fn zlexcount_range(&self, key: &[u8], range: &LexRange) -> Result<u64> {
        Ok(self.zread(key, |z| z.lex_count(range))?.unwrap_or(0))
    }

    /// `ZRANK key member`: 0-based rank by ascending score.
    pub fn zrank(&self, key: &[u8], member: &[u8]) -> Result<Option<u64>> {
        Ok(self.zrank_with_score(key, member, false)?.map(|(r, _)| r))
    }

    /// `ZREVRANK key member`: 0-based rank by descending score.
    pub fn zrevrank(&self, key: &[u8], member: &[u8]) -> Result<Option<u64>> {
        Ok(self.zrank_with_score(key, member, true)?.map(|(r, _)| r))
    }

    /// `ZRANK`/`ZREVRANK key member WITHSCORE`: rank and score.
    pub fn zrank_with_score(&self, key: &[u8], member: &[u8], rev: bool) -> Result<Option<(u64, f64)>> {
        Ok(self.zread(key, |z| z.rank(member, rev))?.flatten())
    }

    /// The general `ZRANGE`: members with scores, in the requested order.
    ///
    /// # Errors
    ///
    /// `ERR syntax error, LIMIT is only supported ...` for `LIMIT` with
    /// ranks; `WrongType`.
    pub fn zrange(&self, key: &[u8], args: &ZRangeArgs) -> Result<Vec<(Vec<u8>, f64)>> {
        let (offset, count) = args.limit.unwrap_or((0, -1));
        if args.limit.is_some() && matches!(args.by, ZRangeBy::Rank { .. }) {
            return Err(Error::invalid(ERR_LIMIT_RANK));
        }
        Ok(self
            .zread(key, |z| match &args.by {
                ZRangeBy::Rank { start, stop } => z.range_by_rank(*start, *stop, args.rev),
                ZRangeBy::Score(r) => z.range_by_score(r, args.rev, offset, count),
                ZRangeBy::Lex(r) => z.range_by_lex(r, args.rev, offset, count),
            })?
            .unwrap_or_default())
    }

    /// `ZRANGE key start stop` by rank.
    pub fn zrange_by_rank(&self, key: &[u8], start: i64, stop: i64) -> Result<Vec<(Vec<u8>, f64)>> {
        self.zrange(key, &ZRangeArgs { by: ZRangeBy::Rank { start, stop }, rev: false, limit: None })
    }

    /// `ZREVRANGE key start stop`: ranks counted from the highest score.
    pub fn zrevrange(&self, key: &[u8], start: i64, stop: i64) -> Result<Vec<(Vec<u8>, f64)>> {
        self.zrange(key, &ZRangeArgs { by: ZRangeBy::Rank { start, stop }, rev: true, limit: None })
    }

    /// `ZRANGEBYSCORE key min max [LIMIT offset count]`.
    pub fn zrangebyscore(
        &self,
        key: &[u8],
        min: &[u8],
        max: &[u8],
        limit: Option<(i64, i64)>,
    ) -> Result<Vec<(Vec<u8>, f64)>> {
        self.zrange(key, &ZRangeArgs::parse(ZRangeKind::Score, min, max, false, limit)?)
    }

    /// `ZREVRANGEBYSCORE key max min [LIMIT offset count]` (note the
    /// argument order, as in Redis).
    pub fn zrevrangebyscore(
        &self,
        key: &[u8],
        max: &[u8],
        min: &[u8],
        limit: Option<(i64, i64)>,
    ) -> Result<Vec<(Vec<u8>, f64)>> {
        self.zrange(key, &ZRangeArgs::parse(ZRangeKind::Score, max, min, true, limit)?)
    }

    /// `ZRANGEBYLEX key min max [LIMIT offset count]`.
    pub fn zrangebylex(&self, key: &[u8], min: &[u8], max: &[u8], limit: Option<(i64, i64)>) -> Result<Vec<Vec<u8>>> {
        Ok(to_keys(self.zrange(key, &ZRangeArgs::parse(ZRangeKind::Lex, min, max, false, limit)?)?))
    }

    /// `ZREVRANGEBYLEX key max min [LIMIT offset count]`.
    pub fn zrevrangebylex(
        &self,
        key: &[u8],
        max: &[u8],
        min: &[u8],
        limit: Option<(i64, i64)>,
    ) -> Result<Vec<Vec<u8>>> {
        Ok(to_keys(self.zrange(key, &ZRangeArgs::parse(ZRangeKind::Lex, max, min, true, limit)?)?))
    }

    /// `ZRANDMEMBER key`: one random member, `None` if the key is missing.
    pub fn zrandmember(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.zread(key, |z| z.random_members(1))?.and_then(|v| v.into_iter().next()).map(|(m, _)| m))
    }

    /// `ZRANDMEMBER key count [WITHSCORES]`: a positive `count` gives up to
    /// `count` distinct members, a negative one exactly `|count|` members
    /// with possible repeats. Scores are always returned; `withscores` only
    /// selects Redis's range check.
    ///
    /// # Errors
    ///
    /// As Redis: `count == i64::MIN` is `ERR value is out of range, value
    /// must between -9223372036854775807 and 9223372036854775807`; with
    /// `withscores`, `|count| > i64::MAX / 2` is `ERR value is out of
    /// range`. Beyond Redis, a negative count below
    /// `-ZRANDMEMBER_MAX_REPEATS` is `ERR value is out of range` (the reply
    /// is materialised). Checked before the key is looked up, as in Redis.
    pub fn zrandmember_count(&self, key: &[u8], count: i64, withscores: bool) -> Result<Vec<(Vec<u8>, f64)>> {
        if count == i64::MIN {
            return Err(Error::invalid(
                "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
            ));
        }
        if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
            return Err(Error::invalid("ERR value is out of range"));
        }
        if count < 0 && count.unsigned_abs() > ZRANDMEMBER_MAX_REPEATS {
            return Err(Error::invalid("ERR value is out of range"));
        }
        Ok(self.zread(key, |z| z.random_members(count))?.unwrap_or_default())
    }

    /// `ZUNIONSTORE dest numkeys key ... [WEIGHTS w ...] [AGGREGATE
    /// SUM|MIN|MAX]`: stores the union at `dest` (replacing whatever it held)
    /// and returns its size. Missing or expired inputs are empty sets.
    ///
    /// `dest` is replaced atomically: one batch holding a `Delete` of `dest`
    /// and one `ZAdd` per result member. That batch is bounded by the
    /// format's ceiling (1 GiB of records, `MAX_BATCH_SIZE_BYTES`), not by
    /// the options' batch limits; a larger result fails with `BatchTooLarge`
    /// and writes nothing.
    ///
    /// # Errors
    ///
    /// `ERR at least 1 input key is needed for 'zunionstore' command`;
    /// `ERR syntax error` when `weights` does not have one weight per key;
    /// `ERR weight value is not a float` for a NaN weight; `WrongType` if
    /// an input holds a string.
    pub fn zunionstore(&self, dest: &[u8], keys: &[&[u8]], weights: Option<&[f64]>, agg: Aggregate) -> Result<u64> {
        self.zstore(StoreOp::Union, dest, keys, weights, agg)
    }

    /// `ZINTERSTORE dest numkeys key ... [WEIGHTS ...] [AGGREGATE ...]`; see
    /// [`Db::zunionstore`].
    pub fn zinterstore(&self, dest: &[u8], keys: &[&[u8]], weights: Option<&[f64]>, agg: Aggregate) -> Result<u64> {
        self.zstore(StoreOp::Inter, dest, keys, weights, agg)
    }

    /// `ZDIFFSTORE dest numkeys key ...`: members of the first input absent
    /// from all others; see [`Db::zunionstore`].
    pub fn zdiffstore(&self, dest: &[u8], keys: &[&[u8]]) -> Result<u64> {
        self.zstore(StoreOp::Diff, dest, keys, None, Aggregate::Sum)
    }

    fn zstore(&self, op: StoreOp, dest: &[u8], keys: &[&[u8]], weights: Option<&[f64]>, agg: Aggregate) -> Result<u64> {
        if keys.is_empty() {
            return Err(Error::invalid(format!("ERR at least 1 input key is needed for '{}' command", op.name())));
        }
        if let Some(w) = weights {
            if w.len() != keys.len() {
                return Err(Error::invalid("ERR syntax error"));
            }
            if w.iter().any(|x| x.is_nan()) {
                return Err(Error::invalid("ERR weight value is not a float"));
            }
        }
        self.inner.check_key(dest)?;
        for k in keys {
            self.inner.check_key(k)?;
        }
        self.inner.write(|tx| {
            let inner = tx.inner;
            let now = inner.now_ms();
            let mut live = Vec::with_capacity(keys.len());
            for k in keys {
                match inner.live_entry(k, now) {
                    Some(e) if e.kind != ValueKind::ZSet => return Err(Error::WrongType),
                    e => live.push(e.is_some()),
                }
            }
            let result = {
                let guards: Vec<_> = keys.iter().map(|k| inner.zsets.guard(k)).collect();
                let empty = ZSet::new();
                let sets: Vec<&ZSet> = keys
                    .iter()
                    .zip(&guards)
                    .zip(&live)
                    .map(|((k, g), &is_live)| if is_live { g.get(*k).unwrap_or(&empty) } else { &empty })
                    .collect();
                let weighted = |i: usize| weights.map_or(1.0, |w| w[i]);
                let inputs: Vec<(&ZSet, f64)> = sets.iter().enumerate().map(|(i, z)| (*z, weighted(i))).collect();
                match op {
                    StoreOp::Union => union(&inputs, agg),
                    StoreOp::Inter => inter(&inputs, agg),
                    StoreOp::Diff => diff(&sets),
                }
            };
            if inner.keydir.get(dest).is_some() {
                tx.tombstone(dest, RecordKind::Delete)?;
            } else {
                stage_purge_tombstone(tx, dest)?;
            }
            tx.raise_limits(usize::MAX, crate::options::MAX_BATCH_SIZE_BYTES);
            for (m, s) in &result {
                stage_zadd(tx, dest, m, *s, 0)?;
            }
            Ok(result.len() as u64)
        })
    }

    /// Sets the expiry of the sorted set at `key` to `expire_at_ms` (Unix ms;
    /// 0 removes it, like `PERSIST`) with a `KeyMeta` record. A time not in
    /// the future deletes the key, as Redis's `EXPIRE` does. Returns `false`
    /// if `key` holds no live sorted set.
    ///
    /// # Errors
    ///
    /// `WrongType` if `key` holds a string (use the string TTL commands).
    pub fn zset_expire_at(&self, key: &[u8], expire_at_ms: u64) -> Result<bool> {
        self.inner.check_key(key)?;
        self.inner.write(|tx| {
            let Some(current) = write_state(tx, key)? else { return Ok(false) };
            if expire_at_ms != 0 && expire_at_ms <= tx.inner.now_ms() {
                tx.tombstone(key, RecordKind::Delete)?;
            } else if current != expire_at_ms {
                stage_zset_expiry(tx, key, expire_at_ms)?;
            }
            Ok(true)
        })
    }

    /// Approximate heap bytes held by the members of every sorted set.
    pub fn zset_heap_bytes(&self) -> u64 {
        self.inner.zsets.heap_bytes() as u64
    }
}
