//! `ZADD`/`ZINCRBY` semantics (Redis 7 `zaddGenericCommand` + `zsetAdd`),
//! split into a side-effect-free plan so the engine can write its log record
//! before touching memory: `validate` → `plan_add` → (write) → `insert`.

use super::ZSet;
use crate::{Error, Result};

/// Redis's reply when `INCR` produces NaN (`+inf` plus `-inf`).
pub const ERR_NAN_SCORE: &str = "ERR resulting score is not a number (NaN)";

/// The option flags of `ZADD` (`ZINCRBY` is `ZADD` with `incr` set).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ZAddFlags {
    /// `NX`: only add new elements.
    pub nx: bool,
    /// `XX`: only update existing elements.
    pub xx: bool,
    /// `GT`: only update when the new score is greater.
    pub gt: bool,
    /// `LT`: only update when the new score is less.
    pub lt: bool,
    /// `CH`: count changed elements, not only added ones, in the reply.
    pub ch: bool,
    /// `INCR`: add the score to the current one and reply the result.
    pub incr: bool,
}

impl ZAddFlags {
    /// Checks the flags against `n_pairs` score/member pairs, with Redis 7's
    /// checks in Redis's order.
    ///
    /// # Errors
    ///
    /// `Error::InvalidArgument` with `ERR syntax error` (no pairs), `ERR XX and
    /// NX options at the same time are not compatible`, `ERR GT, LT, and/or NX
    /// options at the same time are not compatible`, or `ERR INCR option
    /// supports a single increment-element pair`.
    pub fn validate(&self, n_pairs: usize) -> Result<()> {
        let err = |m: &str| Err(Error::invalid(m));
        if n_pairs == 0 {
            return err("ERR syntax error");
        }
        if self.nx && self.xx {
            return err("ERR XX and NX options at the same time are not compatible");
        }
        if (self.nx && (self.gt || self.lt)) || (self.gt && self.lt) {
            return err("ERR GT, LT, and/or NX options at the same time are not compatible");
        }
        if self.incr && n_pairs > 1 {
            return err("ERR INCR option supports a single increment-element pair");
        }
        Ok(())
    }
}

/// What `ZADD` does with one `(member, score)` pair, computed without
/// mutating the set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AddPlan {
    /// The score to store (then call [`ZSet::insert`]); `None`: nothing to
    /// write (skipped by a flag, or the score is unchanged).
    pub write: Option<f64>,
    /// The member is new.
    pub added: bool,
    /// An existing member's score changes.
    pub updated: bool,
    /// The member's resulting score if the pair was processed, `None` if a
    /// flag (`NX`/`XX`/`GT`/`LT`) made Redis skip it. For `INCR` this is the
    /// reply (`None` = nil reply).
    pub score: Option<f64>,
}

impl AddPlan {
    const SKIP: AddPlan = AddPlan { write: None, added: false, updated: false, score: None };

    /// This pair's contribution to ZADD's integer reply: added, or also
    /// updated with `CH`.
    pub fn counted(&self, flags: &ZAddFlags) -> bool {
        self.added || (flags.ch && self.updated)
    }
}

impl ZSet {
    /// Computes what `ZADD` (with `flags`) would do for `(member, score)`,
    /// without changing the set. Mirrors Redis `zsetAdd`: `NX` skips existing
    /// members, `XX` skips new ones, `GT`/`LT` skip updates that do not raise
    /// / lower the score (new members are still added), `INCR` adds to the
    /// current score (a new member starts at the increment).
    ///
    /// # Errors
    ///
    /// [`Error::NotFloat`] if `score` is NaN; `Error::InvalidArgument("ERR
    /// resulting score is not a number (NaN)")` if the increment makes NaN.
    pub fn plan_add(&self, member: &[u8], score: f64, flags: &ZAddFlags) -> Result<AddPlan> {
        plan_add_to(self.score(member), score, flags)
    }
}

/// [`ZSet::plan_add`] for a member whose current score is `cur` (`None`:
/// not in the set). The engine uses it to plan a multi-member `ZADD` whose
/// earlier pairs are staged but not yet applied (`ZADD k 1 a 2 a`).
///
/// # Errors
///
/// As [`ZSet::plan_add`].
pub fn plan_add_to(cur: Option<f64>, score: f64, flags: &ZAddFlags) -> Result<AddPlan> {
    if score.is_nan() {
        return Err(Error::NotFloat);
    }
    let Some(cur) = cur else {
        if flags.xx {
            return Ok(AddPlan::SKIP);
        }
        return Ok(AddPlan { write: Some(score), added: true, updated: false, score: Some(score) });
    };
    if flags.nx {
        return Ok(AddPlan::SKIP);
    }
    let mut new = score;
    if flags.incr {
        new += cur;
        if new.is_nan() {
            return Err(Error::invalid(ERR_NAN_SCORE));
        }
    }
    if (flags.lt && new >= cur) || (flags.gt && new <= cur) {
        return Ok(AddPlan::SKIP);
    }
    // `-0.0 == 0.0`: like Redis, an equal score is no change.
    if new != cur {
        Ok(AddPlan { write: Some(new), added: false, updated: true, score: Some(new) })
    } else {
        Ok(AddPlan { write: None, added: false, updated: false, score: Some(new) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(s: &str) -> ZAddFlags {
        let mut f = ZAddFlags::default();
        for w in s.split_whitespace() {
            match w {
                "NX" => f.nx = true,
                "XX" => f.xx = true,
                "GT" => f.gt = true,
                "LT" => f.lt = true,
                "CH" => f.ch = true,
                "INCR" => f.incr = true,
                _ => panic!("{w}"),
            }
        }
        f
    }

    /// Runs ZADD like the engine would; returns the integer reply or, for
    /// INCR, the score reply.
    fn zadd(z: &mut ZSet, f: &str, pairs: &[(f64, &str)]) -> Result<(u64, Option<f64>)> {
        let f = flags(f);
        f.validate(pairs.len())?;
        let (mut n, mut last) = (0, None);
        for &(score, m) in pairs {
            let plan = z.plan_add(m.as_bytes(), score, &f)?;
            if let Some(s) = plan.write {
                z.insert(m.as_bytes(), s, 0);
            }
            n += u64::from(plan.counted(&f));
            last = plan.score;
            z.check_invariants();
        }
        Ok((n, last))
    }

    fn err(r: Result<(u64, Option<f64>)>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn zset_zadd_validate_errors() {
        let mut z = ZSet::new();
        assert_eq!(
            err(zadd(&mut z, "NX XX", &[(1.0, "a")])),
            "ERR XX and NX options at the same time are not compatible"
        );
        assert_eq!(
            err(zadd(&mut z, "GT LT", &[(1.0, "a")])),
            "ERR GT, LT, and/or NX options at the same time are not compatible"
        );
        assert_eq!(
            err(zadd(&mut z, "NX GT", &[(1.0, "a")])),
            "ERR GT, LT, and/or NX options at the same time are not compatible"
        );
        assert_eq!(
            err(zadd(&mut z, "NX LT", &[(1.0, "a")])),
            "ERR GT, LT, and/or NX options at the same time are not compatible"
        );
        // NX+XX is reported first, as in Redis.
        assert_eq!(
            err(zadd(&mut z, "NX XX GT", &[(1.0, "a")])),
            "ERR XX and NX options at the same time are not compatible"
        );
        assert_eq!(
            err(zadd(&mut z, "INCR", &[(1.0, "a"), (2.0, "b")])),
            "ERR INCR option supports a single increment-element pair"
        );
        assert_eq!(err(zadd(&mut z, "", &[])), "ERR syntax error");
        assert!(zadd(&mut z, "XX GT CH", &[(1.0, "a")]).is_ok());
        assert!(zadd(&mut z, "XX LT", &[(1.0, "a")]).is_ok());
        assert!(z.is_empty());
    }

    #[test]
    fn zset_zadd_basic_and_ch() {
        let mut z = ZSet::new();
        assert_eq!(zadd(&mut z, "", &[(1.0, "a"), (2.0, "b")]).unwrap().0, 2);
        assert_eq!(zadd(&mut z, "", &[(5.0, "a"), (3.0, "c")]).unwrap().0, 1);
        assert_eq!(zadd(&mut z, "CH", &[(6.0, "a"), (3.0, "c"), (4.0, "d")]).unwrap().0, 2);
        // Same member twice in one call: both pairs apply in order.
        assert_eq!(zadd(&mut z, "CH", &[(7.0, "e"), (8.0, "e")]).unwrap().0, 2);
        assert_eq!(z.score(b"e"), Some(8.0));
        assert_eq!(z.len(), 5);
    }

    #[test]
    fn zset_zadd_nx_xx() {
        let mut z = ZSet::new();
        zadd(&mut z, "", &[(1.0, "a")]).unwrap();
        assert_eq!(zadd(&mut z, "NX", &[(9.0, "a"), (2.0, "b")]).unwrap().0, 1);
        assert_eq!(z.score(b"a"), Some(1.0));
        assert_eq!(zadd(&mut z, "XX CH", &[(9.0, "a"), (3.0, "c")]).unwrap().0, 1);
        assert_eq!(z.score(b"a"), Some(9.0));
        assert_eq!(z.score(b"c"), None);
        assert_eq!(zadd(&mut z, "XX", &[(10.0, "a")]).unwrap().0, 0);
        assert_eq!(z.score(b"a"), Some(10.0));
    }

    #[test]
    fn zset_zadd_gt_lt() {
        let mut z = ZSet::new();
        zadd(&mut z, "", &[(5.0, "a")]).unwrap();
        assert_eq!(zadd(&mut z, "GT CH", &[(4.0, "a")]).unwrap().0, 0);
        assert_eq!(zadd(&mut z, "GT CH", &[(5.0, "a")]).unwrap().0, 0);
        assert_eq!(zadd(&mut z, "GT CH", &[(6.0, "a")]).unwrap().0, 1);
        assert_eq!(zadd(&mut z, "LT CH", &[(7.0, "a")]).unwrap().0, 0);
        assert_eq!(zadd(&mut z, "LT CH", &[(2.0, "a")]).unwrap().0, 1);
        assert_eq!(z.score(b"a"), Some(2.0));
        // GT/LT never prevent adding a new member.
        assert_eq!(zadd(&mut z, "GT", &[(-100.0, "new")]).unwrap().0, 1);
        assert_eq!(zadd(&mut z, "LT", &[(100.0, "new2")]).unwrap().0, 1);
        // XX GT: existing only, raise only.
        assert_eq!(zadd(&mut z, "XX GT CH", &[(3.0, "a"), (1.0, "zz")]).unwrap().0, 1);
        assert_eq!(z.score(b"zz"), None);
    }

    #[test]
    fn zset_zadd_incr() {
        let mut z = ZSet::new();
        assert_eq!(zadd(&mut z, "INCR", &[(2.5, "a")]).unwrap().1, Some(2.5));
        assert_eq!(zadd(&mut z, "INCR", &[(1.0, "a")]).unwrap().1, Some(3.5));
        // INCR by 0: processed, unchanged; reply is the score.
        assert_eq!(zadd(&mut z, "INCR", &[(0.0, "a")]).unwrap(), (0, Some(3.5)));
        // Blocked INCRs reply nil.
        assert_eq!(zadd(&mut z, "INCR NX", &[(1.0, "a")]).unwrap().1, None);
        assert_eq!(zadd(&mut z, "INCR XX", &[(1.0, "b")]).unwrap().1, None);
        assert_eq!(zadd(&mut z, "INCR GT", &[(-1.0, "a")]).unwrap().1, None);
        assert_eq!(zadd(&mut z, "INCR GT", &[(0.0, "a")]).unwrap().1, None);
        assert_eq!(zadd(&mut z, "INCR LT", &[(1.0, "a")]).unwrap().1, None);
        assert_eq!(zadd(&mut z, "INCR LT CH", &[(-1.0, "a")]).unwrap(), (1, Some(2.5)));
        assert_eq!(z.score(b"a"), Some(2.5));
        assert_eq!(zadd(&mut z, "INCR NX", &[(4.0, "n")]).unwrap(), (1, Some(4.0)));
        // inf + -inf is NaN: an error, and nothing changes.
        zadd(&mut z, "", &[(f64::INFINITY, "i")]).unwrap();
        assert_eq!(err(zadd(&mut z, "INCR", &[(f64::NEG_INFINITY, "i")])), ERR_NAN_SCORE);
        assert_eq!(z.score(b"i"), Some(f64::INFINITY));
        assert_eq!(zadd(&mut z, "INCR", &[(f64::INFINITY, "i")]).unwrap().1, Some(f64::INFINITY));
    }

    #[test]
    fn zset_zadd_nan_input() {
        let mut z = ZSet::new();
        assert!(matches!(z.plan_add(b"a", f64::NAN, &ZAddFlags::default()), Err(Error::NotFloat)));
        assert!(matches!(zadd(&mut z, "INCR", &[(f64::NAN, "a")]), Err(Error::NotFloat)));
    }
}
