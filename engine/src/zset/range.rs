//! Score and lexicographic range bounds, parsed exactly as Redis parses the
//! `min`/`max` arguments of `ZRANGEBYSCORE`/`ZCOUNT`/`ZREMRANGEBYSCORE`
//! (`zslParseRange`) and of `ZRANGEBYLEX`/`ZLEXCOUNT`/`ZREMRANGEBYLEX`
//! (`zslParseLexRange`).

use super::score::strtod_full;
use crate::{Error, Result};

/// Redis's reply when a score bound does not parse.
pub const ERR_SCORE_RANGE: &str = "ERR min or max is not a float";
/// Redis's reply when a lex bound does not parse.
pub const ERR_LEX_RANGE: &str = "ERR min or max not valid string range item";

/// A score interval `[min, max]`, each end optionally exclusive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRange {
    /// Lower bound (may be `-inf`).
    pub min: f64,
    /// Upper bound (may be `+inf`).
    pub max: f64,
    /// Whether `min` itself is excluded (`(min` syntax).
    pub min_exclusive: bool,
    /// Whether `max` itself is excluded (`(max` syntax).
    pub max_exclusive: bool,
}

impl ScoreRange {
    /// The range holding every score.
    pub const ALL: ScoreRange =
        ScoreRange { min: f64::NEG_INFINITY, max: f64::INFINITY, min_exclusive: false, max_exclusive: false };

    /// Parses Redis `min`/`max` arguments: a float as C `strtod` reads it
    /// (`-inf`, `+inf`, `inf`, `1.5`, `1e3`, ...), optionally prefixed by `(`
    /// for an exclusive bound. NaN is rejected. Like Redis, an empty string
    /// (or a bare `(`) reads as 0.
    ///
    /// # Errors
    ///
    /// `Error::InvalidArgument("ERR min or max is not a float")`.
    pub fn parse(min: &[u8], max: &[u8]) -> Result<ScoreRange> {
        let (min, min_exclusive) = parse_score_bound(min)?;
        let (max, max_exclusive) = parse_score_bound(max)?;
        Ok(ScoreRange { min, max, min_exclusive, max_exclusive })
    }

    /// Whether no score can be in the range (`min > max`, or `min == max`
    /// with an exclusive end).
    pub fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.min_exclusive || self.max_exclusive))
    }

    /// Whether `score` is at or above the lower bound (`zslValueGteMin`).
    #[inline]
    pub fn gte_min(&self, score: f64) -> bool {
        if self.min_exclusive {
            score > self.min
        } else {
            score >= self.min
        }
    }

    /// Whether `score` is at or below the upper bound (`zslValueLteMax`).
    #[inline]
    pub fn lte_max(&self, score: f64) -> bool {
        if self.max_exclusive {
            score < self.max
        } else {
            score <= self.max
        }
    }

    /// Whether `score` is in the range.
    #[inline]
    pub fn contains(&self, score: f64) -> bool {
        self.gte_min(score) && self.lte_max(score)
    }
}

fn parse_score_bound(arg: &[u8]) -> Result<(f64, bool)> {
    let (text, exclusive) = match arg.first() {
        Some(b'(') => (&arg[1..], true),
        _ => (arg, false),
    };
    match strtod_full(text) {
        Some(v) if !v.is_nan() => Ok((v, exclusive)),
        _ => Err(Error::invalid(ERR_SCORE_RANGE)),
    }
}

/// One end of a lexicographic range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexBound {
    /// `-`: below every member.
    NegInf,
    /// `+`: above every member.
    PosInf,
    /// `[x`: `x` itself is in the range.
    Inclusive(Vec<u8>),
    /// `(x`: `x` itself is not in the range.
    Exclusive(Vec<u8>),
}

impl LexBound {
    fn parse(arg: &[u8]) -> Result<LexBound> {
        let err = || Error::invalid(ERR_LEX_RANGE);
        match arg.first() {
            Some(b'+') if arg.len() == 1 => Ok(LexBound::PosInf),
            Some(b'-') if arg.len() == 1 => Ok(LexBound::NegInf),
            Some(b'(') => Ok(LexBound::Exclusive(arg[1..].to_vec())),
            Some(b'[') => Ok(LexBound::Inclusive(arg[1..].to_vec())),
            _ => Err(err()),
        }
    }

    /// Rank of a special bound in `sdscmplex` order, or the bytes.
    fn key(&self) -> (i8, &[u8]) {
        match self {
            LexBound::NegInf => (-1, &[]),
            LexBound::PosInf => (1, &[]),
            LexBound::Inclusive(b) | LexBound::Exclusive(b) => (0, b),
        }
    }

    /// `-` and `+` count as exclusive, as in Redis.
    fn exclusive(&self) -> bool {
        !matches!(self, LexBound::Inclusive(_))
    }
}

/// A member interval for `*BYLEX` commands. Like Redis, it compares member
/// bytes only and is meaningful when all scores are equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexRange {
    /// Lower end.
    pub min: LexBound,
    /// Upper end.
    pub max: LexBound,
}

impl LexRange {
    /// The range holding every member (`-` to `+`).
    pub const ALL: LexRange = LexRange { min: LexBound::NegInf, max: LexBound::PosInf };

    /// Parses Redis `min`/`max` arguments: `-`, `+`, `[member`, `(member`.
    ///
    /// # Errors
    ///
    /// `Error::InvalidArgument("ERR min or max not valid string range item")`.
    pub fn parse(min: &[u8], max: &[u8]) -> Result<LexRange> {
        Ok(LexRange { min: LexBound::parse(min)?, max: LexBound::parse(max)? })
    }

    /// Whether no member can be in the range (Redis `zslIsInLexRange`'s
    /// first test, using `sdscmplex` order of the bounds).
    pub fn is_empty(&self) -> bool {
        let (a, b) = (self.min.key(), self.max.key());
        let cmp = match (a.0, b.0) {
            (0, 0) => a.1.cmp(b.1),
            (x, y) => x.cmp(&y),
        };
        cmp.is_gt() || (cmp.is_eq() && (self.min.exclusive() || self.max.exclusive()))
    }

    /// Whether `member` is at or above the lower end (`zslLexValueGteMin`).
    #[inline]
    pub fn gte_min(&self, member: &[u8]) -> bool {
        match &self.min {
            LexBound::NegInf => true,
            LexBound::PosInf => false,
            LexBound::Inclusive(b) => member >= b.as_slice(),
            LexBound::Exclusive(b) => member > b.as_slice(),
        }
    }

    /// Whether `member` is at or below the upper end (`zslLexValueLteMax`).
    #[inline]
    pub fn lte_max(&self, member: &[u8]) -> bool {
        match &self.max {
            LexBound::NegInf => false,
            LexBound::PosInf => true,
            LexBound::Inclusive(b) => member <= b.as_slice(),
            LexBound::Exclusive(b) => member < b.as_slice(),
        }
    }

    /// Whether `member` is in the range.
    #[inline]
    pub fn contains(&self, member: &[u8]) -> bool {
        self.gte_min(member) && self.lte_max(member)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(e: Error) -> String {
        e.to_string()
    }

    #[test]
    fn zset_score_range_parse() {
        let r = ScoreRange::parse(b"-inf", b"+inf").unwrap();
        assert_eq!(r, ScoreRange::ALL);
        let r = ScoreRange::parse(b"(1.5", b"inf").unwrap();
        assert_eq!((r.min, r.min_exclusive, r.max, r.max_exclusive), (1.5, true, f64::INFINITY, false));
        let r = ScoreRange::parse(b"-Infinity", b"(3").unwrap();
        assert_eq!((r.min, r.max, r.max_exclusive), (f64::NEG_INFINITY, 3.0, true));
        let r = ScoreRange::parse(b" 2", b"1e400").unwrap();
        assert_eq!((r.min, r.max), (2.0, f64::INFINITY));
        for bad in [&b"nan"[..], b"(nan", b"abc", b"1.5x", b"((1", b"[1", b" "] {
            assert_eq!(msg(ScoreRange::parse(bad, b"1").unwrap_err()), ERR_SCORE_RANGE, "{bad:?}");
            assert_eq!(msg(ScoreRange::parse(b"1", bad).unwrap_err()), ERR_SCORE_RANGE, "{bad:?}");
        }
        // strtod("") converts nothing and stops at the terminator: Redis reads 0.
        assert_eq!(ScoreRange::parse(b"", b"(").unwrap().min, 0.0);
    }

    #[test]
    fn zset_score_range_emptiness() {
        assert!(ScoreRange::parse(b"2", b"1").unwrap().is_empty());
        assert!(ScoreRange::parse(b"(1", b"1").unwrap().is_empty());
        assert!(ScoreRange::parse(b"1", b"(1").unwrap().is_empty());
        assert!(!ScoreRange::parse(b"1", b"1").unwrap().is_empty());
        assert!(ScoreRange::parse(b"+inf", b"-inf").unwrap().is_empty());
    }

    #[test]
    fn zset_lex_range_parse() {
        let r = LexRange::parse(b"-", b"+").unwrap();
        assert_eq!(r, LexRange::ALL);
        let r = LexRange::parse(b"[a", b"(c").unwrap();
        assert!(r.contains(b"a") && r.contains(b"b") && r.contains(b"bzzz") && !r.contains(b"c"));
        for bad in [&b""[..], b"a", b"+a", b"-a", b"{a"] {
            assert_eq!(msg(LexRange::parse(bad, b"+").unwrap_err()), ERR_LEX_RANGE, "{bad:?}");
        }
        assert_eq!(LexRange::parse(b"[", b"(").unwrap().min, LexBound::Inclusive(vec![]));
    }

    #[test]
    fn zset_lex_range_emptiness() {
        let e = |a: &[u8], b: &[u8]| LexRange::parse(a, b).unwrap().is_empty();
        assert!(!e(b"-", b"+"));
        assert!(e(b"+", b"-"));
        assert!(e(b"-", b"-"));
        assert!(e(b"+", b"+"));
        assert!(e(b"[b", b"[a"));
        assert!(!e(b"[a", b"[a"));
        assert!(e(b"(a", b"[a"));
        assert!(e(b"[a", b"-"));
        assert!(e(b"+", b"[a"));
        assert!(!e(b"-", b"(a"));
    }
}
