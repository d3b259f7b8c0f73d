//! Redis 7 string and key-expiry commands as methods on [`Db`].
//!
//! Return values and errors follow Redis 7 (the command each method mirrors
//! is named in its doc). Every read-modify-write runs under the writer mutex
//! (`Inner::write`), so it is atomic against every other mutation: this is
//! what makes [`Db::compare_and_delete`] a safe lock release.
//!
//! Expiry is an absolute Unix time in ms, kept in the string's `Put` record
//! and its keydir entry. Changing the expiry of a string (EXPIRE, PERSIST,
//! GETEX) rewrites its `Put` record with the new expiry: values in TTL use
//! cases (sessions, counters, locks) are small, and it keeps one record per
//! key, so recovery and compaction need nothing new. A key of another type
//! goes through `expire_non_string` instead.

use crate::db::Db;
use crate::error::{Error, Result};
use crate::keydir::{Entry, ValueKind};
use crate::long_double;
use crate::record::RecordKind;
use crate::stats::Counters;
use crate::writer::WriteTxn;

/// Expiry option of [`Db::set`] and [`Db::compare_and_swap`]
/// (`EX`/`PX`/`EXAT`/`PXAT`/`KEEPTTL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
    /// Expire after this many seconds (must be > 0).
    Ex(i64),
    /// Expire after this many milliseconds (must be > 0).
    Px(i64),
    /// Expire at this Unix time in seconds (must be > 0).
    ExAt(i64),
    /// Expire at this Unix time in milliseconds (must be > 0).
    PxAt(i64),
    /// Keep the key's current expiry (none if it has none or is missing).
    KeepTtl,
}

/// Condition of [`Db::set`] (`NX`/`XX`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    /// Only set if the key does not exist.
    Nx,
    /// Only set if the key exists.
    Xx,
}

/// Options of [`Db::set`]; build with `SetOptions::new().px(30_000).nx()`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetOptions {
    /// Expiry; `None` = the key has no TTL after the set.
    pub expiry: Option<Expiry>,
    /// Condition; `None` = always set.
    pub condition: Option<Condition>,
    /// Return the old value (`GET`).
    pub get: bool,
}

impl SetOptions {
    /// No expiry, no condition, no GET: plain `SET`.
    pub fn new() -> SetOptions {
        SetOptions::default()
    }
    /// `EX seconds`.
    pub fn ex(mut self, seconds: i64) -> Self {
        self.expiry = Some(Expiry::Ex(seconds));
        self
    }
    /// `PX milliseconds`.
    pub fn px(mut self, ms: i64) -> Self {
        self.expiry = Some(Expiry::Px(ms));
        self
    }
    /// `EXAT unix-seconds`.
    pub fn exat(mut self, unix_s: i64) -> Self {
        self.expiry = Some(Expiry::ExAt(unix_s));
        self
    }
    /// `PXAT unix-ms`.
    pub fn pxat(mut self, unix_ms: i64) -> Self {
        self.expiry = Some(Expiry::PxAt(unix_ms));
        self
    }
    /// `KEEPTTL`.
    pub fn keepttl(mut self) -> Self {
        self.expiry = Some(Expiry::KeepTtl);
        self
    }
    /// `NX`.
    pub fn nx(mut self) -> Self {
        self.condition = Some(Condition::Nx);
        self
    }
    /// `XX`.
    pub fn xx(mut self) -> Self {
        self.condition = Some(Condition::Xx);
        self
    }
    /// `GET`.
    pub fn get(mut self) -> Self {
        self.get = true;
        self
    }
}

/// Outcome of [`Db::set`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetResult {
    /// The value was written (Redis `OK`); false when NX/XX refused it
    /// (Redis nil without GET).
    pub written: bool,
    /// With `GET`: the old value, `None` if the key did not exist (Redis
    /// replies this whether or not the set happened). Always `None` without GET.
    pub old_value: Option<Vec<u8>>,
}

/// Option of [`Db::getex`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GetExOption {
    /// Set the expiry to this many seconds from now (> 0).
    Ex(i64),
    /// ... milliseconds from now (> 0).
    Px(i64),
    /// ... this Unix time in seconds (> 0).
    ExAt(i64),
    /// ... this Unix time in milliseconds (> 0).
    PxAt(i64),
    /// Remove the expiry.
    Persist,
}

/// Condition of the EXPIRE family (Redis 7 `NX`/`XX`/`GT`/`LT`). A key
/// without a TTL counts as an infinite TTL for `Gt` and `Lt`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExpireCondition {
    /// Always set.
    #[default]
    None,
    /// Only if the key has no expiry.
    Nx,
    /// Only if the key has an expiry.
    Xx,
    /// Only if the new expiry is later than the current one.
    Gt,
    /// Only if the new expiry is earlier than the current one.
    Lt,
    /// `XX LT`: the key has an expiry and the new one is earlier. (`XX GT`
    /// is [`ExpireCondition::Gt`]: GT already fails on a key without expiry.)
    XxLt,
}

impl ExpireCondition {
    /// Parses EXPIRE flags (case-insensitive) with Redis 7's errors for
    /// incompatible combinations.
    pub fn parse(flags: &[&[u8]]) -> Result<ExpireCondition> {
        let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
        for f in flags {
            match f.to_ascii_uppercase().as_slice() {
                b"NX" => nx = true,
                b"XX" => xx = true,
                b"GT" => gt = true,
                b"LT" => lt = true,
                _ => return Err(Error::invalid(format!("ERR Unsupported option {}", String::from_utf8_lossy(f)))),
            }
        }
        if nx && (xx || gt || lt) {
            return Err(Error::invalid("ERR NX and XX, GT or LT options at the same time are not compatible"));
        }
        if gt && lt {
            return Err(Error::invalid("ERR GT and LT options at the same time are not compatible"));
        }
        Ok(match (nx, xx, gt, lt) {
            (true, ..) => ExpireCondition::Nx,
            (_, _, true, _) => ExpireCondition::Gt,
            (_, true, _, true) => ExpireCondition::XxLt,
            (_, _, _, true) => ExpireCondition::Lt,
            (_, true, ..) => ExpireCondition::Xx,
            _ => ExpireCondition::None,
        })
    }

    /// Whether the condition allows replacing `current_ms` (`None` = no
    /// expiry) with `new_ms`. Mirrors `expireGenericCommand`.
    fn allows(self, current_ms: Option<i64>, new_ms: i64) -> bool {
        match self {
            ExpireCondition::None => true,
            ExpireCondition::Nx => current_ms.is_none(),
            ExpireCondition::Xx => current_ms.is_some(),
            ExpireCondition::Gt => current_ms.is_some_and(|c| new_ms > c),
            // No expiry counts as infinite, so any new time is lower.
            ExpireCondition::Lt => match current_ms {
                None => true,
                Some(c) => new_ms < c,
            },
            ExpireCondition::XxLt => current_ms.is_some_and(|c| new_ms < c),
        }
    }
}

/// A key's state as a command sees it, after lazy expiry.
enum Current {
    Missing,
    Str { value: Vec<u8>, entry: Entry },
    Other(Entry),
}

impl Current {
    fn entry(&self) -> Option<Entry> {
        match self {
            Current::Missing => None,
            Current::Str { entry, .. } | Current::Other(entry) => Some(*entry),
        }
    }
}

/// Redis's "invalid expire time in '<cmd>' command" error.
fn invalid_expire(cmd: &str) -> Error {
    Error::invalid(format!("ERR invalid expire time in '{cmd}' command"))
}

/// Absolute expiry in Unix ms for the SET/GETEX style options (Redis
/// `getExpireMillisecondsOrReply`): the number must be > 0 and the result
/// must not overflow.
fn set_style_expire_ms(cmd: &str, t: i64, seconds: bool, relative: bool, now_ms: u64) -> Result<u64> {
    if t <= 0 || (seconds && t > i64::MAX / 1000) {
        return Err(invalid_expire(cmd));
    }
    let mut ms = if seconds { t * 1000 } else { t };
    if relative {
        ms = ms.checked_add(now_i64(now_ms)).ok_or_else(|| invalid_expire(cmd))?;
    }
    Ok(ms as u64)
}

fn now_i64(now_ms: u64) -> i64 {
    i64::try_from(now_ms).unwrap_or(i64::MAX)
}

/// Expiry in ms (0 = none) a put should carry, given the option and the key's
/// current entry.
fn resolve_expiry(cmd: &str, e: Option<Expiry>, current: Option<Entry>, now_ms: u64) -> Result<u64> {
    Ok(match e {
        None => 0,
        Some(Expiry::KeepTtl) => current.map_or(0, |c| c.expire_at_ms),
        Some(Expiry::Ex(s)) => set_style_expire_ms(cmd, s, true, true, now_ms)?,
        Some(Expiry::Px(ms)) => set_style_expire_ms(cmd, ms, false, true, now_ms)?,
        Some(Expiry::ExAt(s)) => set_style_expire_ms(cmd, s, true, false, now_ms)?,
        Some(Expiry::PxAt(ms)) => set_style_expire_ms(cmd, ms, false, false, now_ms)?,
    })
}

/// Validates the numeric part of an expiry option before any write.
fn validate_expiry(cmd: &str, e: Option<Expiry>) -> Result<()> {
    resolve_expiry(cmd, e, None, 0).map(|_| ())
}

/// Redis `string2ll`: the only integers INCR accepts. No sign but a leading
/// `-`, no leading zeros, no spaces, at most 20 characters, within i64.
pub fn parse_redis_i64(s: &[u8]) -> Option<i64> {
    // Redis LONG_STR_SIZE is 21: strings of 21+ bytes are refused outright.
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// HOOK for the sorted-set layer: sets (`expire_at_ms > 0`) or removes (`0`)
/// the expiry of a non-string key. The sorted-set engineer persists it with a
/// `KeyMeta` record and updates the keydir entry; every EXPIRE-family command
/// and PERSIST reaches non-string keys only through here.
fn expire_non_string(tx: &mut WriteTxn<'_>, key: &[u8], entry: Entry, expire_at_ms: u64) -> Result<()> {
    match entry.kind {
        ValueKind::ZSet => crate::zset::stage_zset_expiry(tx, key, expire_at_ms),
        ValueKind::String => Err(Error::Internal("expire_non_string on a string key".into())),
    }
}

/// Looks `key` up for a write command at `now_ms`: an expired key is purged
/// (tombstone staged in `tx`, counted as lazy expiry) and reported missing.
fn current(tx: &mut WriteTxn<'_>, key: &[u8], now_ms: u64) -> Result<Current> {
    tx.inner.check_key(key)?;
    let Some(e) = tx.inner.keydir.get(key) else { return Ok(Current::Missing) };
    if e.is_expired(now_ms) {
        crate::expiry::stage_purge(tx, key, crate::expiry::PurgeCause::Lazy)?;
        return Ok(Current::Missing);
    }
    if e.kind != ValueKind::String {
        return Ok(Current::Other(e));
    }
    // `get_string` re-reads the entry; under the writer mutex only
    // compaction can move it, which it handles.
    match tx.inner.get_string(key)? {
        Some((value, entry)) => Ok(Current::Str { value, entry }),
        // Expired between the two reads (the clock moved): a miss.
        None => Ok(Current::Missing),
    }
}

/// Stages `key = value` with `expire_at_ms`, first deleting a key of another
/// type so the sorted-set layer drops its members (Redis SET replaces any type).
fn put_replacing(tx: &mut WriteTxn<'_>, key: &[u8], value: &[u8], expire_at_ms: u64, cur: &Current) -> Result<()> {
    if matches!(cur, Current::Other(_)) {
        tx.tombstone(key, RecordKind::Delete)?;
    }
    tx.put(key, value, expire_at_ms)
}

/// Sets the expiry (0 = none) of a live key of any type.
fn set_key_expiry(tx: &mut WriteTxn<'_>, key: &[u8], cur: &Current, expire_at_ms: u64) -> Result<()> {
    match cur {
        Current::Missing => Err(Error::Internal("expiry change on a missing key".into())),
        Current::Str { value, .. } => tx.put(key, value, expire_at_ms),
        Current::Other(entry) => expire_non_string(tx, key, *entry, expire_at_ms),
    }
}

/// Time unit and base of an EXPIRE-family command.
#[derive(Clone, Copy)]
struct ExpireCmd {
    name: &'static str,
    seconds: bool,
    absolute: bool,
}

impl Db {
    fn count_lookup(&self, hit: bool) {
        let c = &self.inner.counters;
        Counters::add(if hit { &c.keyspace_hits } else { &c.keyspace_misses }, 1);
    }

    /// Read-path lookup of a string: counts hit/miss, purges lazily when
    /// expired (only if the writer is free).
    fn read_string(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.inner.check_open()?;
        let v = match self.inner.get_string(key) {
            Err(Error::WrongType) => {
                self.count_lookup(true);
                return Err(Error::WrongType);
            }
            r => r?.map(|(v, _)| v),
        };
        if v.is_none() {
            self.inner.expire_if_needed_from_read(key);
        }
        self.count_lookup(v.is_some());
        Ok(v)
    }

    /// `SET key value [NX|XX] [GET] [EX|PX|EXAT|PXAT|KEEPTTL]`.
    ///
    /// Overwrites a key of any type. With `get`, fails with `WrongType` (and
    /// writes nothing) if the old value is not a string. EX/PX/EXAT/PXAT must
    /// be > 0: `ERR invalid expire time in 'set' command`. An EXAT/PXAT in
    /// the past stores a key that is already expired (so it is gone).
    pub fn set(&self, key: &[u8], value: &[u8], opts: &SetOptions) -> Result<SetResult> {
        self.inner.check_key(key)?;
        self.inner.check_value(value)?;
        validate_expiry("set", opts.expiry)?;
        let out = self.inner.write(|tx| {
            let now = tx.inner.now_ms();
            let cur = current(tx, key, now)?;
            let old_value = if opts.get {
                match &cur {
                    Current::Missing => None,
                    Current::Str { value, .. } => Some(value.clone()),
                    Current::Other(_) => return Err(Error::WrongType),
                }
            } else {
                None
            };
            let found = !matches!(cur, Current::Missing);
            let refused = match opts.condition {
                Some(Condition::Nx) => found,
                Some(Condition::Xx) => !found,
                None => false,
            };
            if refused {
                return Ok(SetResult { written: false, old_value });
            }
            let expire_at = resolve_expiry("set", opts.expiry, cur.entry(), now)?;
            put_replacing(tx, key, value, expire_at, &cur)?;
            Ok(SetResult { written: true, old_value })
        })?;
        if opts.get {
            self.count_lookup(out.old_value.is_some());
        }
        Ok(out)
    }

    /// `SETNX key value`: sets only if missing; returns whether it did.
    pub fn setnx(&self, key: &[u8], value: &[u8]) -> Result<bool> {
        Ok(self.set(key, value, &SetOptions::new().nx())?.written)
    }

    /// `GETEX key [EX|PX|EXAT|PXAT|PERSIST]`: the value (like GET), changing
    /// the expiry when an option is given. An EXAT/PXAT in the past deletes
    /// the key (the value is still returned).
    pub fn getex(&self, key: &[u8], opt: Option<GetExOption>) -> Result<Option<Vec<u8>>> {
        let Some(opt) = opt else { return self.read_string(key) };
        self.inner.check_key(key)?;
        let as_expiry = |o: GetExOption| match o {
            GetExOption::Ex(s) => Some(Expiry::Ex(s)),
            GetExOption::Px(ms) => Some(Expiry::Px(ms)),
            GetExOption::ExAt(s) => Some(Expiry::ExAt(s)),
            GetExOption::PxAt(ms) => Some(Expiry::PxAt(ms)),
            GetExOption::Persist => None,
        };
        validate_expiry("getex", as_expiry(opt))?;
        let v = self.inner.write(|tx| {
            let now = tx.inner.now_ms();
            let cur = current(tx, key, now)?;
            let (value, entry) = match &cur {
                Current::Missing => return Ok(None),
                Current::Other(_) => return Err(Error::WrongType),
                Current::Str { value, entry } => (value, *entry),
            };
            match as_expiry(opt) {
                None if entry.expire_at_ms != 0 => tx.put(key, value, 0)?,
                None => {}
                some => {
                    let at = resolve_expiry("getex", some, Some(entry), now)?;
                    if at <= now {
                        tx.tombstone(key, RecordKind::Delete)?;
                    } else {
                        tx.put(key, value, at)?;
                    }
                }
            }
            Ok(Some(value.clone()))
        })?;
        self.count_lookup(v.is_some());
        Ok(v)
    }

    /// `GETDEL key`: the value, and deletes the key. `WrongType` on a
    /// non-string (nothing deleted).
    pub fn getdel(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.inner.check_key(key)?;
        let v = self.inner.write(|tx| {
            let now = tx.inner.now_ms();
            match current(tx, key, now)? {
                Current::Missing => Ok(None),
                Current::Other(_) => Err(Error::WrongType),
                Current::Str { value, .. } => {
                    tx.tombstone(key, RecordKind::Delete)?;
                    Ok(Some(value))
                }
            }
        })?;
        self.count_lookup(v.is_some());
        Ok(v)
    }

    /// `MGET key...`: one entry per key; missing, expired and non-string
    /// keys are `None` (as Redis).
    pub fn mget(&self, keys: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>> {
        keys.iter()
            .map(|k| match self.read_string(k) {
                Err(Error::WrongType) => Ok(None),
                r => r,
            })
            .collect()
    }

    /// `MSET key value ...`: sets every pair atomically (one batch record),
    /// clearing any expiry; replaces keys of any type.
    pub fn mset(&self, pairs: &[(&[u8], &[u8])]) -> Result<()> {
        self.mset_generic(pairs, false).map(|_| ())
    }

    /// `MSETNX key value ...`: sets every pair atomically only if none of the
    /// keys exists (any type); returns whether it did.
    pub fn msetnx(&self, pairs: &[(&[u8], &[u8])]) -> Result<bool> {
        self.mset_generic(pairs, true)
    }

    fn mset_generic(&self, pairs: &[(&[u8], &[u8])], nx: bool) -> Result<bool> {
        let cmd = if nx { "msetnx" } else { "mset" };
        if pairs.is_empty() {
            return Err(Error::invalid(format!("ERR wrong number of arguments for '{cmd}' command")));
        }
        for (k, v) in pairs {
            self.inner.check_key(k)?;
            self.inner.check_value(v)?;
        }
        self.inner.write(|tx| {
            let now = tx.inner.now_ms();
            if nx && pairs.iter().any(|(k, _)| tx.inner.live_entry(k, now).is_some()) {
                return Ok(false);
            }
            for (k, v) in pairs {
                let other = tx.inner.keydir.get(k).is_some_and(|e| e.kind != ValueKind::String);
                if other {
                    tx.tombstone(k, RecordKind::Delete)?;
                }
                tx.put(k, v, 0)?;
            }
            Ok(true)
        })
    }

    /// `APPEND key value`: appends (creating the key if missing), keeps the
    /// expiry, returns the new length.
    pub fn append(&self, key: &[u8], value: &[u8]) -> Result<u64> {
        self.inner.check_key(key)?;
        self.inner.write(|tx| {
            let now = tx.inner.now_ms();
            match current(tx, key, now)? {
                Current::Other(_) => Err(Error::WrongType),
                Current::Missing => {
                    tx.put(key, value, 0)?;
                    Ok(value.len() as u64)
                }
                Current::Str { value: mut old, entry } => {
                    let new_len = old.len().saturating_add(value.len());
                    let limit = tx.inner.opts.max_value_size_bytes;
                    if new_len > limit {
                        return Err(Error::ValueTooLarge { size_bytes: new_len, limit_bytes: limit });
                    }
                    old.extend_from_slice(value);
                    tx.put(key, &old, entry.expire_at_ms)?;
                    Ok(old.len() as u64)
                }
            }
        })
    }

    /// `STRLEN key`: length of the value, 0 if missing.
    pub fn strlen(&self, key: &[u8]) -> Result<u64> {
        Ok(self.read_string(key)?.map_or(0, |v| v.len() as u64))
    }

    /// `GETRANGE key start end`: the substring, both ends inclusive; negative
    /// indexes count from the end (-1 = last byte); out-of-range is clamped.
    /// Empty for a missing key.
    pub fn getrange(&self, key: &[u8], start: i64, end: i64) -> Result<Vec<u8>> {
        let v = self.read_string(key)?.unwrap_or_default();
        Ok(getrange_slice(&v, start, end).to_vec())
    }

    /// `SETRANGE key offset value`: overwrites from `offset`, zero-padding,
    /// keeps the expiry; returns the new length. A missing key with an empty
    /// `value` is not created (returns 0).
    pub fn setrange(&self, key: &[u8], offset: i64, value: &[u8]) -> Result<u64> {
        self.inner.check_key(key)?;
        let offset = usize::try_from(offset).map_err(|_| Error::invalid("ERR offset is out of range"))?;
        let limit = self.inner.opts.max_value_size_bytes;
        self.inner.write(|tx| {
            let now = tx.inner.now_ms();
            let (mut old, expire) = match current(tx, key, now)? {
                Current::Other(_) => return Err(Error::WrongType),
                Current::Missing if value.is_empty() => return Ok(0),
                Current::Missing => (Vec::new(), 0),
                Current::Str { value: old, .. } if value.is_empty() => return Ok(old.len() as u64),
                Current::Str { value: old, entry } => (old, entry.expire_at_ms),
            };
            let end = offset.saturating_add(value.len());
            if end > limit {
                return Err(Error::ValueTooLarge { size_bytes: end, limit_bytes: limit });
            }
            if old.len() < end {
                old.resize(end, 0);
            }
            old[offset..end].copy_from_slice(value);
            tx.put(key, &old, expire)?;
            Ok(old.len() as u64)
        })
    }

    /// `INCR key`.
    pub fn incr(&self, key: &[u8]) -> Result<i64> {
        self.incrby(key, 1)
    }

    /// `DECR key`.
    pub fn decr(&self, key: &[u8]) -> Result<i64> {
        self.incrby(key, -1)
    }

    /// `DECRBY key delta`. `ERR decrement would overflow` for `i64::MIN`.
    pub fn decrby(&self, key: &[u8], delta: i64) -> Result<i64> {
        let neg = delta.checked_neg().ok_or_else(|| Error::invalid("ERR decrement would overflow"))?;
        self.incrby(key, neg)
    }

    /// `INCRBY key delta`: the value as a decimal i64 (missing = 0) plus
    /// `delta`; keeps the expiry. [`Error::NotInteger`] if the value is not
    /// exactly what Redis's `string2ll` accepts; [`Error::Overflow`] on
    /// overflow; `WrongType` on a non-string.
    pub fn incrby(&self, key: &[u8], delta: i64) -> Result<i64> {
        self.inner.check_key(key)?;
        self.inner.write(|tx| {
            let now = tx.inner.now_ms();
            let (old, expire) = match current(tx, key, now)? {
                Current::Other(_) => return Err(Error::WrongType),
                Current::Missing => (0, 0),
                Current::Str { value, entry } => {
                    (parse_redis_i64(&value).ok_or(Error::NotInteger)?, entry.expire_at_ms)
                }
            };
            let new = old.checked_add(delta).ok_or(Error::Overflow)?;
            tx.put(key, new.to_string().as_bytes(), expire)?;
            Ok(new)
        })
    }

    /// `INCRBYFLOAT key increment`: `increment` is the decimal text Redis
    /// would receive. Arithmetic in `long double` and output formatted as
    /// Redis does (`10.50` + `0.1` → `"10.6"`); keeps the expiry. Errors:
    /// [`Error::NotFloat`], `ERR increment would produce NaN or Infinity`,
    /// `WrongType`.
    pub fn incrbyfloat(&self, key: &[u8], increment: &[u8]) -> Result<String> {
        self.inner.check_key(key)?;
        self.inner.write(|tx| {
            let now = tx.inner.now_ms();
            let (old, expire) = match current(tx, key, now)? {
                Current::Other(_) => return Err(Error::WrongType),
                Current::Missing => (None, 0),
                Current::Str { value, entry } => (Some(value), entry.expire_at_ms),
            };
            let new = long_double::add_human(old.as_deref(), increment)?;
            tx.put(key, new.as_bytes(), expire)?;
            Ok(new)
        })
    }

    /// [`Db::incrbyfloat`] with an `f64` increment, sent as its shortest
    /// decimal form (`0.1` → `"0.1"`), so the result matches Redis given the
    /// same literal.
    pub fn incrbyfloat_f64(&self, key: &[u8], increment: f64) -> Result<String> {
        self.incrbyfloat(key, increment.to_string().as_bytes())
    }

    /// `EXPIRE key seconds [NX|XX|GT|LT]`: 1/0 as bool. A non-positive time
    /// deletes the key (true). Missing key: false.
    pub fn expire(&self, key: &[u8], seconds: i64, cond: ExpireCondition) -> Result<bool> {
        self.expire_generic(key, seconds, ExpireCmd { name: "expire", seconds: true, absolute: false }, cond)
    }

    /// `PEXPIRE key ms [NX|XX|GT|LT]`.
    pub fn pexpire(&self, key: &[u8], ms: i64, cond: ExpireCondition) -> Result<bool> {
        self.expire_generic(key, ms, ExpireCmd { name: "pexpire", seconds: false, absolute: false }, cond)
    }

    /// `EXPIREAT key unix-seconds [NX|XX|GT|LT]`. A past time deletes the key.
    pub fn expireat(&self, key: &[u8], unix_s: i64, cond: ExpireCondition) -> Result<bool> {
        self.expire_generic(key, unix_s, ExpireCmd { name: "expireat", seconds: true, absolute: true }, cond)
    }

    /// `PEXPIREAT key unix-ms [NX|XX|GT|LT]`.
    pub fn pexpireat(&self, key: &[u8], unix_ms: i64, cond: ExpireCondition) -> Result<bool> {
        self.expire_generic(key, unix_ms, ExpireCmd { name: "pexpireat", seconds: false, absolute: true }, cond)
    }

    /// Redis 7 `expireGenericCommand`.
    fn expire_generic(&self, key: &[u8], t: i64, cmd: ExpireCmd, cond: ExpireCondition) -> Result<bool> {
        self.inner.check_key(key)?;
        if cmd.seconds && !(i64::MIN / 1000..=i64::MAX / 1000).contains(&t) {
            return Err(invalid_expire(cmd.name));
        }
        let when_unbased = if cmd.seconds { t * 1000 } else { t };
        self.inner.write(|tx| {
            let now = tx.inner.now_ms();
            let base = if cmd.absolute { 0 } else { now_i64(now) };
            if when_unbased > i64::MAX - base {
                return Err(invalid_expire(cmd.name));
            }
            let when = when_unbased + base;
            let cur = current(tx, key, now)?;
            let Some(entry) = cur.entry() else { return Ok(false) };
            let current_ms = (entry.expire_at_ms != 0).then(|| now_i64(entry.expire_at_ms));
            if !cond.allows(current_ms, when) {
                return Ok(false);
            }
            if when <= now_i64(now) {
                // Redis deletes the key outright (not counted as expired).
                tx.tombstone(key, RecordKind::Delete)?;
            } else {
                set_key_expiry(tx, key, &cur, when as u64)?;
            }
            Ok(true)
        })
    }

    /// `PERSIST key`: removes the expiry; true if there was one.
    pub fn persist(&self, key: &[u8]) -> Result<bool> {
        self.inner.check_key(key)?;
        self.inner.write(|tx| {
            let now = tx.inner.now_ms();
            let cur = current(tx, key, now)?;
            match cur.entry() {
                Some(e) if e.expire_at_ms != 0 => {
                    set_key_expiry(tx, key, &cur, 0)?;
                    Ok(true)
                }
                _ => Ok(false),
            }
        })
    }

    /// Live entry for the TTL-reading commands, with stats and lazy expiry.
    fn ttl_entry(&self, key: &[u8]) -> Result<(Option<Entry>, u64)> {
        self.inner.check_open()?;
        self.inner.check_key(key)?;
        let now = self.inner.now_ms();
        let e = self.inner.live_entry(key, now);
        if e.is_none() {
            self.inner.expire_if_needed_from_read(key);
        }
        self.count_lookup(e.is_some());
        Ok((e, now))
    }

    /// `PTTL key`: remaining ms; -2 if missing, -1 if no expiry.
    pub fn pttl(&self, key: &[u8]) -> Result<i64> {
        let (e, now) = self.ttl_entry(key)?;
        Ok(match e {
            None => -2,
            Some(e) if e.expire_at_ms == 0 => -1,
            Some(e) => now_i64(e.expire_at_ms.saturating_sub(now)),
        })
    }

    /// `TTL key`: remaining seconds, rounded as Redis does ((ms + 500) / 1000);
    /// -2 if missing, -1 if no expiry.
    pub fn ttl(&self, key: &[u8]) -> Result<i64> {
        let ms = self.pttl(key)?;
        Ok(if ms < 0 { ms } else { (ms + 500) / 1000 })
    }

    /// `PEXPIRETIME key`: absolute expiry in Unix ms; -2 missing, -1 none.
    pub fn pexpiretime(&self, key: &[u8]) -> Result<i64> {
        let (e, _) = self.ttl_entry(key)?;
        Ok(match e {
            None => -2,
            Some(e) if e.expire_at_ms == 0 => -1,
            Some(e) => now_i64(e.expire_at_ms),
        })
    }

    /// `EXPIRETIME key`: absolute expiry in Unix seconds (truncated, as
    /// Redis); -2 missing, -1 none.
    pub fn expiretime(&self, key: &[u8]) -> Result<i64> {
        let ms = self.pexpiretime(key)?;
        Ok(if ms < 0 { ms } else { ms / 1000 })
    }

    /// Deletes `key` only if it holds exactly `token`; returns whether it
    /// did. Atomic under the writer mutex: the safe release of a lock taken
    /// with `SET key token NX PX ms` (another owner's token never matches).
    /// `WrongType` on a non-string.
    pub fn compare_and_delete(&self, key: &[u8], token: &[u8]) -> Result<bool> {
        self.inner.check_key(key)?;
        self.inner.write(|tx| {
            let now = tx.inner.now_ms();
            match current(tx, key, now)? {
                Current::Other(_) => Err(Error::WrongType),
                Current::Str { value, .. } if value == token => {
                    tx.tombstone(key, RecordKind::Delete)?;
                    Ok(true)
                }
                _ => Ok(false),
            }
        })
    }

    /// Sets `key` to `new` only if it holds exactly `expected`; returns
    /// whether it did. `expiry` as in [`Db::set`] (`None` = no expiry,
    /// `KeepTtl` keeps it). Atomic under the writer mutex (lock extension,
    /// optimistic updates). `WrongType` on a non-string.
    pub fn compare_and_swap(&self, key: &[u8], expected: &[u8], new: &[u8], expiry: Option<Expiry>) -> Result<bool> {
        self.inner.check_key(key)?;
        self.inner.check_value(new)?;
        validate_expiry("set", expiry)?;
        self.inner.write(|tx| {
            let now = tx.inner.now_ms();
            let cur = current(tx, key, now)?;
            match &cur {
                Current::Other(_) => Err(Error::WrongType),
                Current::Str { value, entry } if value == expected => {
                    let at = resolve_expiry("set", expiry, Some(*entry), now)?;
                    tx.put(key, new, at)?;
                    Ok(true)
                }
                _ => Ok(false),
            }
        })
    }
}

/// Redis 7 `getrangeCommand` index rules on `v`.
pub fn getrange_slice(v: &[u8], start: i64, end: i64) -> &[u8] {
    if start < 0 && end < 0 && start > end {
        return &[];
    }
    let len = v.len() as i64;
    let (mut start, mut end) = (start, end);
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return &[];
    }
    &v[start as usize..=end as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string2ll_accepts_only_canonical_integers() {
        assert_eq!(parse_redis_i64(b"0"), Some(0));
        assert_eq!(parse_redis_i64(b"-1"), Some(-1));
        assert_eq!(parse_redis_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_redis_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"+1",
            b" 1",
            b"1 ",
            b"01",
            b"-0",
            b"-",
            b"1.0",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"000000000000000000001",
            b"18446744073709551616",
            b"abc",
        ] {
            assert_eq!(parse_redis_i64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn getrange_redis_examples() {
        // From the GETRANGE page: "This is a string".
        let s = b"This is a string";
        assert_eq!(getrange_slice(s, 0, 3), b"This");
        assert_eq!(getrange_slice(s, -3, -1), b"ing");
        assert_eq!(getrange_slice(s, 0, -1), s);
        assert_eq!(getrange_slice(s, 10, 100), b"string");
        assert_eq!(getrange_slice(s, -1, -5), b"");
        assert_eq!(getrange_slice(s, 5, 3), b"");
        assert_eq!(getrange_slice(s, -100, 3), b"This");
        assert_eq!(getrange_slice(b"", 0, -1), b"");
        assert_eq!(getrange_slice(s, i64::MIN, i64::MAX), s);
    }

    #[test]
    fn expire_flag_parsing_matches_redis() {
        let p = |f: &[&str]| ExpireCondition::parse(&f.iter().map(|s| s.as_bytes()).collect::<Vec<_>>());
        assert_eq!(p(&[]).unwrap(), ExpireCondition::None);
        assert_eq!(p(&["nx"]).unwrap(), ExpireCondition::Nx);
        assert_eq!(p(&["XX", "GT"]).unwrap(), ExpireCondition::Gt);
        assert_eq!(p(&["XX", "LT"]).unwrap(), ExpireCondition::XxLt);
        assert_eq!(
            p(&["NX", "XX"]).unwrap_err().to_string(),
            "ERR NX and XX, GT or LT options at the same time are not compatible"
        );
        assert_eq!(
            p(&["GT", "LT"]).unwrap_err().to_string(),
            "ERR GT and LT options at the same time are not compatible"
        );
    }
}
