//! Redis 7 string and TTL semantics, expiry (lazy and active), durability of
//! expiry across reopen, and the usage patterns of the seed (rate limiters,
//! locks, sessions). Time is a `ManualClock`: nothing here sleeps.

mod common;

use std::sync::Arc;

use common::{open_sim, small_opts};
use kv_engine::{
    Db, Error, ExpireCondition as EC, Expiry, Fsync, GetExOption, ManualClock, Options, SetOptions, SimStorage,
};

/// A fixed, realistic "now" (2026-01-01T00:00:00Z) in Unix ms.
const T0_MS: u64 = 1_767_225_600_000;

struct Env {
    sim: SimStorage,
    clock: Arc<ManualClock>,
    db: Option<Db>,
}

impl Env {
    fn new() -> Env {
        let sim = SimStorage::new();
        let clock = Arc::new(ManualClock::new(T0_MS));
        let db = open_sim(&sim, Env::opts_for(&clock)).unwrap();
        Env { sim, clock, db: Some(db) }
    }

    fn opts_for(clock: &Arc<ManualClock>) -> Options {
        Options { clock: clock.clone(), ..small_opts(Fsync::No) }
    }

    fn db(&self) -> &Db {
        self.db.as_ref().unwrap()
    }

    fn advance_ms(&self, ms: u64) {
        self.clock.advance_ms(ms);
    }

    fn reopen(&mut self) {
        drop(self.db.take());
        self.db = Some(open_sim(&self.sim, Env::opts_for(&self.clock)).unwrap());
    }

    fn now_ms(&self) -> i64 {
        use kv_engine::Clock;
        self.clock.now_ms() as i64
    }
}

fn msg(e: Error) -> String {
    e.to_string()
}

mod ttl {
    use super::*;

    #[test]
    fn ttl_and_pttl_on_missing_persistent_and_volatile_keys() {
        let env = Env::new();
        let db = env.db();
        assert_eq!(db.ttl(b"nokey").unwrap(), -2);
        assert_eq!(db.pttl(b"nokey").unwrap(), -2);
        db.put(b"k", b"v").unwrap();
        assert_eq!(db.ttl(b"k").unwrap(), -1);
        assert_eq!(db.pttl(b"k").unwrap(), -1);
        db.set(b"v", b"x", &SetOptions::new().ex(10)).unwrap();
        assert_eq!(db.ttl(b"v").unwrap(), 10);
        assert_eq!(db.pttl(b"v").unwrap(), 10_000);
        assert_eq!(db.expiretime(b"v").unwrap(), (T0_MS / 1000 + 10) as i64);
        assert_eq!(db.pexpiretime(b"v").unwrap(), T0_MS as i64 + 10_000);
        assert_eq!(db.expiretime(b"k").unwrap(), -1);
        assert_eq!(db.expiretime(b"nokey").unwrap(), -2);
    }

    #[test]
    fn ttl_rounds_to_nearest_second_like_redis() {
        let env = Env::new();
        let db = env.db();
        db.set(b"k", b"v", &SetOptions::new().px(10_000)).unwrap();
        env.advance_ms(1_499); // 8501 ms left
        assert_eq!(db.ttl(b"k").unwrap(), 9);
        env.advance_ms(2); // 8499 ms left
        assert_eq!(db.ttl(b"k").unwrap(), 8);
        env.advance_ms(8_498); // 1 ms left
        assert_eq!(db.pttl(b"k").unwrap(), 1);
        assert_eq!(db.ttl(b"k").unwrap(), 0);
        env.advance_ms(1);
        assert_eq!(db.ttl(b"k").unwrap(), -2);
    }

    #[test]
    fn expired_key_is_invisible_to_every_read_before_purge() {
        let env = Env::new();
        let db = env.db();
        db.set(b"gone", b"v", &SetOptions::new().px(100)).unwrap();
        db.put(b"stay", b"v").unwrap();
        env.advance_ms(100);
        assert_eq!(db.get(b"gone").unwrap(), None);
        assert!(!db.exists(b"gone").unwrap());
        assert_eq!(db.len().unwrap(), 1);
        assert_eq!(db.keys().unwrap().collect::<Vec<_>>(), vec![b"stay".to_vec()]);
        assert_eq!(db.mget(&[b"gone", b"stay"]).unwrap(), vec![None, Some(b"v".to_vec())]);
        assert_eq!(db.strlen(b"gone").unwrap(), 0);
        assert_eq!(db.getrange(b"gone", 0, -1).unwrap(), b"");
        assert_eq!(db.stats().keys, 1);
        assert_eq!(db.stats().keys_with_ttl, 0);
    }

    #[test]
    fn lazy_expiry_on_read_purges_and_counts() {
        let env = Env::new();
        let db = env.db();
        db.set(b"k", b"v", &SetOptions::new().px(10)).unwrap();
        let writes = db.stats().writes;
        env.advance_ms(10);
        assert_eq!(db.get(b"k").unwrap(), None);
        let s = db.stats();
        assert_eq!(s.expired_keys_lazy, 1);
        assert_eq!(s.expired_keys_active, 0);
        assert_eq!(s.writes, writes + 1, "the purge wrote a tombstone");
        assert_eq!(s.keyspace_misses, 1);
        // Already purged: a second read does not count again.
        assert_eq!(db.get(b"k").unwrap(), None);
        assert_eq!(db.stats().expired_keys_lazy, 1);
    }

    #[test]
    fn keyspace_hits_and_misses() {
        let env = Env::new();
        let db = env.db();
        db.put(b"a", b"1").unwrap();
        db.get(b"a").unwrap();
        db.get(b"b").unwrap();
        db.mget(&[b"a", b"b", b"c"]).unwrap();
        db.strlen(b"a").unwrap();
        let s = db.stats();
        assert_eq!((s.keyspace_hits, s.keyspace_misses), (3, 3));
    }

    #[test]
    fn keys_with_ttl_counts_live_volatile_keys() {
        let env = Env::new();
        let db = env.db();
        db.set(b"a", b"1", &SetOptions::new().ex(1)).unwrap();
        db.set(b"b", b"1", &SetOptions::new().ex(5)).unwrap();
        db.put(b"c", b"1").unwrap();
        assert_eq!(db.stats().keys_with_ttl, 2);
        assert!(db.persist(b"b").unwrap());
        assert_eq!(db.stats().keys_with_ttl, 1);
        env.advance_ms(1_000);
        assert_eq!(db.stats().keys_with_ttl, 0);
        assert_eq!(db.stats().keys, 2);
    }
}

mod expire {
    use super::*;

    #[test]
    fn expire_sets_and_missing_key_returns_false() {
        let env = Env::new();
        let db = env.db();
        assert!(!db.expire(b"nokey", 10, EC::None).unwrap());
        db.put(b"k", b"Hello").unwrap();
        assert!(db.expire(b"k", 10, EC::None).unwrap());
        assert_eq!(db.ttl(b"k").unwrap(), 10);
        assert_eq!(db.get(b"k").unwrap().unwrap(), b"Hello");
        assert!(db.pexpire(b"k", 1_500, EC::None).unwrap());
        assert_eq!(db.pttl(b"k").unwrap(), 1_500);
        assert!(db.expireat(b"k", (T0_MS / 1000) as i64 + 100, EC::None).unwrap());
        assert_eq!(db.ttl(b"k").unwrap(), 100);
        assert!(db.pexpireat(b"k", T0_MS as i64 + 2_000, EC::None).unwrap());
        assert_eq!(db.pttl(b"k").unwrap(), 2_000);
    }

    #[test]
    fn non_positive_or_past_time_deletes_the_key() {
        let env = Env::new();
        let db = env.db();
        for (i, f) in [
            |db: &Db, k: &[u8]| db.expire(k, 0, EC::None),
            |db: &Db, k: &[u8]| db.expire(k, -5, EC::None),
            |db: &Db, k: &[u8]| db.pexpire(k, 0, EC::None),
            |db: &Db, k: &[u8]| db.expireat(k, 1, EC::None),
            |db: &Db, k: &[u8]| db.pexpireat(k, -1, EC::None),
        ]
        .iter()
        .enumerate()
        {
            let k = format!("k{i}");
            db.put(k.as_bytes(), b"v").unwrap();
            assert!(f(db, k.as_bytes()).unwrap(), "case {i}");
            assert_eq!(db.get(k.as_bytes()).unwrap(), None, "case {i}");
            assert_eq!(db.ttl(k.as_bytes()).unwrap(), -2);
        }
    }

    #[test]
    fn nx_xx_gt_lt_follow_redis7() {
        let env = Env::new();
        let db = env.db();
        db.put(b"k", b"v").unwrap();
        // No TTL: XX refuses, GT refuses (no TTL = infinite), LT accepts.
        assert!(!db.expire(b"k", 100, EC::Xx).unwrap());
        assert!(!db.expire(b"k", 100, EC::Gt).unwrap());
        assert!(!db.expire(b"k", 100, EC::XxLt).unwrap());
        assert_eq!(db.ttl(b"k").unwrap(), -1);
        assert!(db.expire(b"k", 100, EC::Lt).unwrap());
        assert_eq!(db.ttl(b"k").unwrap(), 100);
        // Has TTL: NX refuses.
        assert!(!db.expire(b"k", 50, EC::Nx).unwrap());
        assert!(db.expire(b"k", 50, EC::Xx).unwrap());
        assert_eq!(db.ttl(b"k").unwrap(), 50);
        assert!(!db.expire(b"k", 40, EC::Gt).unwrap());
        assert!(!db.expire(b"k", 50, EC::Gt).unwrap(), "GT needs strictly greater");
        assert!(db.expire(b"k", 60, EC::Gt).unwrap());
        assert!(!db.expire(b"k", 70, EC::Lt).unwrap());
        assert!(db.expire(b"k", 30, EC::XxLt).unwrap());
        assert_eq!(db.ttl(b"k").unwrap(), 30);
        db.put(b"n", b"v").unwrap();
        assert!(db.expire(b"n", 5, EC::Nx).unwrap());
    }

    #[test]
    fn condition_failing_does_not_delete_even_with_past_time() {
        let env = Env::new();
        let db = env.db();
        db.set(b"k", b"v", &SetOptions::new().ex(100)).unwrap();
        assert!(!db.expire(b"k", -1, EC::Nx).unwrap());
        assert_eq!(db.ttl(b"k").unwrap(), 100);
    }

    #[test]
    fn overflowing_times_are_invalid_expire_time_errors() {
        let env = Env::new();
        let db = env.db();
        db.put(b"k", b"v").unwrap();
        assert_eq!(
            msg(db.expire(b"k", i64::MAX, EC::None).unwrap_err()),
            "ERR invalid expire time in 'expire' command"
        );
        assert_eq!(
            msg(db.pexpire(b"k", i64::MAX - 10, EC::None).unwrap_err()),
            "ERR invalid expire time in 'pexpire' command"
        );
        assert_eq!(
            msg(db.expireat(b"k", i64::MIN, EC::None).unwrap_err()),
            "ERR invalid expire time in 'expireat' command"
        );
        // PEXPIREAT with i64::MAX is a valid (far) time.
        assert!(db.pexpireat(b"k", i64::MAX, EC::None).unwrap());
        assert_eq!(db.pexpiretime(b"k").unwrap(), i64::MAX);
    }

    #[test]
    fn persist_removes_ttl() {
        let env = Env::new();
        let db = env.db();
        assert!(!db.persist(b"nokey").unwrap());
        db.put(b"k", b"v").unwrap();
        assert!(!db.persist(b"k").unwrap());
        db.expire(b"k", 10, EC::None).unwrap();
        assert!(db.persist(b"k").unwrap());
        assert_eq!(db.ttl(b"k").unwrap(), -1);
        env.advance_ms(20_000);
        assert_eq!(db.get(b"k").unwrap().unwrap(), b"v");
    }

    /// redis#1026: EXPIRE/PERSIST/INCR on a logically expired key behave as on a missing key.
    #[test]
    fn redis_1026_commands_on_logically_expired_key_see_a_missing_key() {
        let env = Env::new();
        let db = env.db();
        for k in [&b"e"[..], b"p", b"i", b"a"] {
            db.set(k, b"41", &SetOptions::new().px(5)).unwrap();
        }
        env.advance_ms(5);
        assert!(!db.expire(b"e", 100, EC::None).unwrap());
        assert_eq!(db.ttl(b"e").unwrap(), -2);
        assert!(!db.persist(b"p").unwrap());
        assert_eq!(db.get(b"p").unwrap(), None);
        assert_eq!(db.incr(b"i").unwrap(), 1, "INCR starts from 0, not the expired 41");
        assert_eq!(db.ttl(b"i").unwrap(), -1, "and the new value has no TTL");
        assert_eq!(db.append(b"a", b"x").unwrap(), 1);
        assert!(db.stats().expired_keys_lazy >= 4);
    }

    #[test]
    fn expire_on_sorted_set_goes_through_the_non_string_hook() {
        // No sorted sets exist on this branch; the hook is covered once they
        // merge. Here: EXPIRE on strings does not go through it.
        let env = Env::new();
        env.db().put(b"k", b"v").unwrap();
        assert!(env.db().expire(b"k", 1, EC::None).unwrap());
    }
}

mod set {
    use super::*;

    #[test]
    fn set_nx_xx_get() {
        let env = Env::new();
        let db = env.db();
        let r = db.set(b"k", b"1", &SetOptions::new().xx()).unwrap();
        assert!(!r.written);
        assert_eq!(db.get(b"k").unwrap(), None);
        assert!(db.set(b"k", b"1", &SetOptions::new().nx()).unwrap().written);
        assert!(!db.set(b"k", b"2", &SetOptions::new().nx()).unwrap().written);
        assert_eq!(db.get(b"k").unwrap().unwrap(), b"1");
        let r = db.set(b"k", b"3", &SetOptions::new().xx().get()).unwrap();
        assert_eq!(r, kv_engine::SetResult { written: true, old_value: Some(b"1".to_vec()) });
        // NX + GET (allowed since Redis 7): refused, old value still returned.
        let r = db.set(b"k", b"4", &SetOptions::new().nx().get()).unwrap();
        assert_eq!(r, kv_engine::SetResult { written: false, old_value: Some(b"3".to_vec()) });
        let r = db.set(b"new", b"x", &SetOptions::new().get()).unwrap();
        assert_eq!(r, kv_engine::SetResult { written: true, old_value: None });
        assert!(db.setnx(b"nx", b"1").unwrap());
        assert!(!db.setnx(b"nx", b"2").unwrap());
    }

    #[test]
    fn set_expiry_options_and_keepttl() {
        let env = Env::new();
        let db = env.db();
        db.set(b"k", b"v", &SetOptions::new().ex(10)).unwrap();
        assert_eq!(db.pttl(b"k").unwrap(), 10_000);
        db.set(b"k", b"v2", &SetOptions::new().keepttl()).unwrap();
        assert_eq!(db.pttl(b"k").unwrap(), 10_000);
        db.set(b"k", b"v3", &SetOptions::new()).unwrap();
        assert_eq!(db.pttl(b"k").unwrap(), -1, "plain SET clears the TTL");
        db.set(b"k", b"v", &SetOptions::new().px(1234)).unwrap();
        assert_eq!(db.pttl(b"k").unwrap(), 1234);
        db.set(b"k", b"v", &SetOptions::new().exat((T0_MS / 1000) as i64 + 7)).unwrap();
        assert_eq!(db.ttl(b"k").unwrap(), 7);
        db.set(b"k", b"v", &SetOptions::new().pxat(T0_MS as i64 + 77)).unwrap();
        assert_eq!(db.pttl(b"k").unwrap(), 77);
        // A past PXAT leaves no key.
        db.set(b"k", b"v", &SetOptions::new().pxat(1)).unwrap();
        assert_eq!(db.get(b"k").unwrap(), None);
        db.set(b"m", b"v", &SetOptions::new().keepttl()).unwrap();
        assert_eq!(db.ttl(b"m").unwrap(), -1);
    }

    #[test]
    fn invalid_expire_times_are_refused_without_writing() {
        let env = Env::new();
        let db = env.db();
        for o in [
            SetOptions::new().ex(0),
            SetOptions::new().ex(-1),
            SetOptions::new().px(0),
            SetOptions::new().exat(0),
            SetOptions::new().pxat(-5),
            SetOptions::new().ex(i64::MAX / 1000 + 1),
            SetOptions::new().px(i64::MAX),
        ] {
            assert_eq!(msg(db.set(b"k", b"v", &o).unwrap_err()), "ERR invalid expire time in 'set' command", "{o:?}");
        }
        assert_eq!(db.get(b"k").unwrap(), None);
        assert_eq!(
            msg(db.getex(b"k", Some(GetExOption::Ex(0))).unwrap_err()),
            "ERR invalid expire time in 'getex' command"
        );
    }

    #[test]
    fn getex_changes_expiry_and_returns_value() {
        let env = Env::new();
        let db = env.db();
        assert_eq!(db.getex(b"nokey", Some(GetExOption::Ex(5))).unwrap(), None);
        db.put(b"k", b"Hello").unwrap();
        assert_eq!(db.getex(b"k", None).unwrap().unwrap(), b"Hello");
        assert_eq!(db.ttl(b"k").unwrap(), -1);
        assert_eq!(db.getex(b"k", Some(GetExOption::Ex(60))).unwrap().unwrap(), b"Hello");
        assert_eq!(db.ttl(b"k").unwrap(), 60);
        db.getex(b"k", Some(GetExOption::Px(1500))).unwrap();
        assert_eq!(db.pttl(b"k").unwrap(), 1500);
        db.getex(b"k", Some(GetExOption::ExAt((T0_MS / 1000) as i64 + 9))).unwrap();
        assert_eq!(db.ttl(b"k").unwrap(), 9);
        db.getex(b"k", Some(GetExOption::PxAt(T0_MS as i64 + 99))).unwrap();
        assert_eq!(db.pttl(b"k").unwrap(), 99);
        db.getex(b"k", Some(GetExOption::Persist)).unwrap();
        assert_eq!(db.ttl(b"k").unwrap(), -1);
        assert_eq!(db.getex(b"k", Some(GetExOption::PxAt(1))).unwrap().unwrap(), b"Hello");
        assert_eq!(db.get(b"k").unwrap(), None, "a past PXAT deletes");
    }

    #[test]
    fn getdel_mget_mset_msetnx() {
        let env = Env::new();
        let db = env.db();
        db.mset(&[(b"a", b"1"), (b"b", b"2"), (b"a", b"3")]).unwrap();
        assert_eq!(db.mget(&[b"a", b"b", b"c"]).unwrap(), vec![Some(b"3".to_vec()), Some(b"2".to_vec()), None]);
        assert_eq!(db.stats().writes, 1, "MSET is one atomic record");
        assert!(db.mset(&[]).is_err());
        assert!(!db.msetnx(&[(b"x", b"1"), (b"a", b"9")]).unwrap());
        assert_eq!(db.get(b"x").unwrap(), None);
        assert!(db.msetnx(&[(b"x", b"1"), (b"y", b"2")]).unwrap());
        assert_eq!(db.getdel(b"x").unwrap().unwrap(), b"1");
        assert_eq!(db.getdel(b"x").unwrap(), None);
        assert!(!db.exists(b"x").unwrap());
        db.set(b"t", b"v", &SetOptions::new().ex(5)).unwrap();
        db.mset(&[(b"t", b"w")]).unwrap();
        assert_eq!(db.ttl(b"t").unwrap(), -1, "MSET clears TTL");
    }

    #[test]
    fn append_and_strlen_keep_ttl() {
        let env = Env::new();
        let db = env.db();
        assert_eq!(db.append(b"k", b"Hello").unwrap(), 5);
        assert_eq!(db.append(b"k", b" World").unwrap(), 11);
        assert_eq!(db.get(b"k").unwrap().unwrap(), b"Hello World");
        assert_eq!(db.strlen(b"k").unwrap(), 11);
        assert_eq!(db.strlen(b"nokey").unwrap(), 0);
        db.expire(b"k", 100, EC::None).unwrap();
        db.append(b"k", b"!").unwrap();
        assert_eq!(db.ttl(b"k").unwrap(), 100);
    }

    #[test]
    fn setrange_follows_redis() {
        let env = Env::new();
        let db = env.db();
        db.put(b"k", b"Hello World").unwrap();
        assert_eq!(db.setrange(b"k", 6, b"Redis").unwrap(), 11);
        assert_eq!(db.get(b"k").unwrap().unwrap(), b"Hello Redis");
        assert_eq!(db.setrange(b"p", 6, b"Redis").unwrap(), 11);
        assert_eq!(db.get(b"p").unwrap().unwrap(), b"\0\0\0\0\0\0Redis");
        assert_eq!(db.setrange(b"empty", 3, b"").unwrap(), 0);
        assert!(!db.exists(b"empty").unwrap());
        assert_eq!(msg(db.setrange(b"k", -1, b"x").unwrap_err()), "ERR offset is out of range");
        assert!(matches!(db.setrange(b"k", i64::MAX, b"x"), Err(Error::ValueTooLarge { .. })));
    }

    #[test]
    fn compare_and_swap_and_delete() {
        let env = Env::new();
        let db = env.db();
        assert!(!db.compare_and_delete(b"lock", b"me").unwrap());
        db.put(b"lock", b"me").unwrap();
        assert!(!db.compare_and_delete(b"lock", b"you").unwrap());
        assert!(db.exists(b"lock").unwrap());
        assert!(!db.compare_and_swap(b"lock", b"you", b"you", None).unwrap());
        assert!(db.compare_and_swap(b"lock", b"me", b"me", Some(Expiry::Px(500))).unwrap());
        assert_eq!(db.pttl(b"lock").unwrap(), 500);
        assert!(db.compare_and_swap(b"lock", b"me", b"me2", Some(Expiry::KeepTtl)).unwrap());
        assert_eq!(db.pttl(b"lock").unwrap(), 500);
        assert!(db.compare_and_delete(b"lock", b"me2").unwrap());
        assert!(!db.exists(b"lock").unwrap());
    }

    #[test]
    fn values_survive_reopen_with_their_ttl() {
        let mut env = Env::new();
        env.db().set(b"k", b"v", &SetOptions::new().ex(100)).unwrap();
        env.db().set(b"p", b"v", &SetOptions::new().ex(100)).unwrap();
        env.db().persist(b"p").unwrap();
        env.reopen();
        assert_eq!(env.db().ttl(b"k").unwrap(), 100);
        assert_eq!(env.db().ttl(b"p").unwrap(), -1);
        env.advance_ms(100_000);
        env.reopen();
        assert_eq!(env.db().get(b"k").unwrap(), None);
        assert_eq!(env.db().get(b"p").unwrap().unwrap(), b"v");
    }
}

mod incr {
    use super::*;

    #[test]
    fn incr_decr_family() {
        let env = Env::new();
        let db = env.db();
        db.put(b"mykey", b"10").unwrap();
        assert_eq!(db.incr(b"mykey").unwrap(), 11);
        assert_eq!(db.get(b"mykey").unwrap().unwrap(), b"11");
        assert_eq!(db.decr(b"mykey").unwrap(), 10);
        assert_eq!(db.incrby(b"mykey", 5).unwrap(), 15);
        assert_eq!(db.decrby(b"mykey", 3).unwrap(), 12);
        assert_eq!(db.incr(b"new").unwrap(), 1);
        assert_eq!(db.decr(b"new2").unwrap(), -1);
    }

    #[test]
    fn incr_errors_match_redis() {
        let env = Env::new();
        let db = env.db();
        for bad in [&b"abc"[..], b" 1", b"1 ", b"+1", b"01", b"1.5", b"", b"12345678901234567890123", b"-0"] {
            db.put(b"k", bad).unwrap();
            let e = db.incr(b"k").unwrap_err();
            assert_eq!(msg(e), "ERR value is not an integer or out of range", "{bad:?}");
            assert_eq!(db.get(b"k").unwrap().unwrap(), bad, "value untouched");
        }
        db.put(b"k", i64::MAX.to_string().as_bytes()).unwrap();
        assert_eq!(msg(db.incr(b"k").unwrap_err()), "ERR increment or decrement would overflow");
        db.put(b"k", i64::MIN.to_string().as_bytes()).unwrap();
        assert!(matches!(db.decr(b"k"), Err(Error::Overflow)));
        assert_eq!(msg(db.decrby(b"k", i64::MIN).unwrap_err()), "ERR decrement would overflow");
        db.put(b"z", b"0").unwrap();
        assert_eq!(db.incrby(b"z", i64::MIN).unwrap(), i64::MIN);
    }

    #[test]
    fn incr_keeps_ttl() {
        let env = Env::new();
        let db = env.db();
        db.set(b"c", b"1", &SetOptions::new().ex(60)).unwrap();
        env.advance_ms(10_000);
        assert_eq!(db.incr(b"c").unwrap(), 2);
        assert_eq!(db.ttl(b"c").unwrap(), 50);
        assert_eq!(db.incrbyfloat(b"c", b"0.5").unwrap(), "2.5");
        assert_eq!(db.ttl(b"c").unwrap(), 50);
    }

    #[test]
    fn incrbyfloat_redis_examples() {
        let env = Env::new();
        let db = env.db();
        db.put(b"mykey", b"10.50").unwrap();
        assert_eq!(db.incrbyfloat(b"mykey", b"0.1").unwrap(), "10.6");
        assert_eq!(db.incrbyfloat(b"mykey", b"-5").unwrap(), "5.6");
        assert_eq!(db.get(b"mykey").unwrap().unwrap(), b"5.6");
        db.put(b"mykey", b"5.0e3").unwrap();
        assert_eq!(db.incrbyfloat(b"mykey", b"2.0e2").unwrap(), "5200");
        assert_eq!(db.incrbyfloat_f64(b"f", 0.1).unwrap(), "0.1");
        assert_eq!(db.incrbyfloat_f64(b"f", 0.2).unwrap(), "0.3");
        assert_eq!(db.incrbyfloat(b"i", b"3").unwrap(), "3");
        assert_eq!(db.incr(b"i").unwrap(), 4, "an integral float result is an integer again");
    }

    #[test]
    fn incrbyfloat_errors() {
        let env = Env::new();
        let db = env.db();
        db.put(b"k", b"abc").unwrap();
        assert_eq!(msg(db.incrbyfloat(b"k", b"1").unwrap_err()), "ERR value is not a valid float");
        db.put(b"k", b"1").unwrap();
        assert!(matches!(db.incrbyfloat(b"k", b" 1"), Err(Error::NotFloat)));
        assert!(matches!(db.incrbyfloat_f64(b"k", f64::NAN), Err(Error::NotFloat)));
        assert_eq!(
            msg(db.incrbyfloat_f64(b"k", f64::INFINITY).unwrap_err()),
            "ERR increment would produce NaN or Infinity"
        );
        assert_eq!(db.get(b"k").unwrap().unwrap(), b"1");
    }
}

mod getrange {
    use super::*;

    #[test]
    fn getrange_documented_examples() {
        let env = Env::new();
        let db = env.db();
        db.put(b"mykey", b"This is a string").unwrap();
        assert_eq!(db.getrange(b"mykey", 0, 3).unwrap(), b"This");
        assert_eq!(db.getrange(b"mykey", -3, -1).unwrap(), b"ing");
        assert_eq!(db.getrange(b"mykey", 0, -1).unwrap(), b"This is a string");
        assert_eq!(db.getrange(b"mykey", 10, 100).unwrap(), b"string");
        assert_eq!(db.getrange(b"nokey", 0, -1).unwrap(), b"");
    }
}

mod persistence {
    use super::*;

    /// nutsdb#465: put k v1 (no TTL) → put k v2 short TTL → past expiry → reopen: k missing, v1 not back.
    #[test]
    fn nutsdb_465_expired_overwrite_does_not_resurrect_older_value() {
        let mut env = Env::new();
        env.db().put(b"k", b"v1").unwrap();
        env.db().set(b"k", b"v2", &SetOptions::new().px(50)).unwrap();
        env.advance_ms(51);
        env.reopen();
        assert_eq!(env.db().get(b"k").unwrap(), None);
        assert_eq!(env.db().len().unwrap(), 0);
        env.reopen();
        assert_eq!(env.db().get(b"k").unwrap(), None);
    }

    #[test]
    fn purged_key_stays_gone_when_clock_goes_back() {
        let mut env = Env::new();
        env.db().set(b"k", b"v", &SetOptions::new().px(50)).unwrap();
        env.advance_ms(50);
        assert_eq!(env.db().get(b"k").unwrap(), None); // lazy purge writes a tombstone
        env.clock.set_ms(T0_MS);
        env.reopen();
        assert_eq!(env.db().get(b"k").unwrap(), None, "tombstone keeps it gone");
    }

    #[test]
    fn expire_and_persist_survive_reopen() {
        let mut env = Env::new();
        env.db().put(b"a", b"1").unwrap();
        env.db().put(b"b", b"2").unwrap();
        env.db().expire(b"a", 10, EC::None).unwrap();
        env.db().set(b"b", b"2", &SetOptions::new().ex(10)).unwrap();
        env.db().persist(b"b").unwrap();
        env.db().incr(b"c").unwrap();
        env.db().expire(b"c", 1, EC::None).unwrap();
        env.reopen();
        assert_eq!(env.db().ttl(b"a").unwrap(), 10);
        assert_eq!(env.db().ttl(b"b").unwrap(), -1);
        env.advance_ms(10_000);
        env.reopen();
        assert_eq!(env.db().get(b"a").unwrap(), None);
        assert_eq!(env.db().get(b"b").unwrap().unwrap(), b"2");
        assert_eq!(env.db().get(b"c").unwrap(), None);
    }
}

mod active {
    use super::*;

    #[test]
    fn active_cycles_purge_10k_keys_expiring_at_once_and_write_tombstones() {
        let mut env = Env::new();
        let db = env.db();
        for chunk in 0..10 {
            let mut b = kv_engine::WriteBatch::new();
            for i in 0..1000 {
                let k = format!("t{}", chunk * 1000 + i);
                b.put_with_expiry(k.as_bytes(), b"v", T0_MS + 1_000);
            }
            db.write_batch(&b).unwrap();
        }
        for i in 0..100 {
            db.put(format!("p{i}").as_bytes(), b"v").unwrap();
        }
        assert_eq!(db.run_expiry_cycle().unwrap().expired_keys, 0);
        env.advance_ms(1_000);
        // Each cycle repeats while >25% of a sample was expired, within its
        // budget; run cycles until one finds nothing left.
        // A cycle that ran out of its 25 ms budget (a preempted thread on a
        // loaded machine) can report 0 purged with keys left: only one that
        // finished within its budget and found nothing means done.
        let mut cycles = 0;
        loop {
            let r = db.run_expiry_cycle().unwrap();
            if r.expired_keys == 0 && !r.budget_exhausted {
                break;
            }
            cycles += 1;
            assert!(cycles < 10_000);
        }
        let s = db.stats();
        assert_eq!(s.expired_keys_active, 10_000);
        assert_eq!(s.expired_keys_lazy, 0);
        assert_eq!(s.keys, 100);
        // Tombstones were written: with the clock set back, the keys stay gone.
        env.clock.set_ms(T0_MS);
        env.reopen();
        assert_eq!(env.db().len().unwrap(), 100);
        assert_eq!(env.db().get(b"t1234").unwrap(), None);
    }

    #[test]
    fn active_cycle_stops_when_few_keys_are_expired() {
        // A budget no cycle can exhaust: with the default 25 ms, a thread
        // preempted mid-sample stops with fewer than 20 keys sampled.
        let sim = SimStorage::new();
        let clock = Arc::new(ManualClock::new(T0_MS));
        let opts = Options { active_expiry_budget_ms: 3_600_000, ..Env::opts_for(&clock) };
        let db = open_sim(&sim, opts).unwrap();
        // Only 5 of 1000 keys expire, so no sample of 20 can be more than 25%
        // expired, whatever the keydir's (randomly seeded) order. This test
        // once had 100 of 1000 expire: about 1% of the time a sample drew 6
        // of them and the cycle rightly went on (CI failure, session 7).
        for i in 0..1000 {
            let ttl = if i % 200 == 0 { 10 } else { 100_000 };
            db.set(format!("k{i}").as_bytes(), b"v", &SetOptions::new().px(ttl)).unwrap();
        }
        clock.advance_ms(10);
        let r = db.run_expiry_cycle().unwrap();
        assert!(!r.budget_exhausted);
        assert_eq!(r.samples, 1);
        assert_eq!(r.sampled_keys, 20);
        assert!(r.expired_keys <= 5);
        assert_eq!(db.len().unwrap(), 995);
    }

    #[test]
    fn background_thread_purges_without_access() {
        let sim = SimStorage::new();
        let clock = Arc::new(ManualClock::new(T0_MS));
        let opts = Options {
            clock: clock.clone(),
            active_expiry: true,
            active_expiry_interval_ms: 1,
            ..small_opts(Fsync::No)
        };
        let db = open_sim(&sim, opts).unwrap();
        for i in 0..200 {
            db.set(format!("k{i}").as_bytes(), b"v", &SetOptions::new().px(5)).unwrap();
        }
        clock.advance_ms(5);
        let started = std::time::Instant::now();
        while db.stats().expired_keys_active < 200 {
            // Only for a thread that never runs: generous for a loaded machine.
            assert!(started.elapsed() < std::time::Duration::from_secs(60), "background expiry did not run");
            std::thread::yield_now();
        }
        assert_eq!(db.stats().expired_keys_lazy, 0);
    }
}

mod patterns {
    use super::*;

    /// Fixed-window rate limiter: INCR, and EXPIRE NX on the window's first hit.
    #[test]
    fn fixed_window_rate_limiter() {
        let env = Env::new();
        let db = env.db();
        let limit = 5;
        let hit = |db: &Db| -> bool {
            let n = db.incr(b"rate:ip").unwrap();
            db.expire(b"rate:ip", 60, EC::Nx).unwrap();
            n <= limit
        };
        let allowed = (0..8).filter(|_| hit(db)).count();
        assert_eq!(allowed, 5);
        env.advance_ms(30_000);
        assert!(!hit(db), "EXPIRE NX did not extend the window");
        assert_eq!(db.ttl(b"rate:ip").unwrap(), 30);
        env.advance_ms(30_000);
        assert!(hit(db), "new window");
        assert_eq!(db.get(b"rate:ip").unwrap().unwrap(), b"1");
    }

    /// Sliding-window limiter built from per-second string buckets: INCR the
    /// current bucket (TTL = window), MGET the window's buckets.
    #[test]
    fn sliding_window_rate_limiter_with_string_buckets() {
        let env = Env::new();
        let db = env.db();
        let window_s = 10i64;
        let limit = 20i64;
        let try_hit = |db: &Db| -> bool {
            let now_s = env.now_ms() / 1000;
            let keys: Vec<Vec<u8>> = (0..window_s).map(|d| format!("sw:{}", now_s - d).into_bytes()).collect();
            let refs: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
            let used: i64 = db
                .mget(&refs)
                .unwrap()
                .into_iter()
                .flatten()
                .map(|v| std::str::from_utf8(&v).unwrap().parse::<i64>().unwrap())
                .sum();
            if used >= limit {
                return false;
            }
            db.incr(&keys[0]).unwrap();
            db.expire(&keys[0], window_s, EC::Nx).unwrap();
            true
        };
        let mut allowed = 0;
        for _ in 0..10 {
            allowed += (0..3).filter(|_| try_hit(db)).count();
            env.advance_ms(1_000);
        }
        assert_eq!(allowed, 20);
        env.advance_ms(3_000); // the oldest buckets left the window
        assert!(try_hit(db));
    }

    /// Lock: SET NX PX; only the owner's token releases it; it expires by itself.
    #[test]
    fn lock_with_set_nx_px_and_owner_checked_release() {
        let env = Env::new();
        let db = env.db();
        let acquire = |token: &[u8]| db.set(b"lock:job", token, &SetOptions::new().nx().px(30_000)).unwrap().written;
        assert!(acquire(b"owner-a"));
        assert!(!acquire(b"owner-b"));
        assert!(!db.compare_and_delete(b"lock:job", b"owner-b").unwrap(), "wrong owner must not release");
        assert_eq!(db.get(b"lock:job").unwrap().unwrap(), b"owner-a");
        // A's lock times out; B takes it; A's late release must not free B's lock.
        env.advance_ms(30_000);
        assert!(acquire(b"owner-b"));
        assert!(!db.compare_and_delete(b"lock:job", b"owner-a").unwrap());
        assert!(db.compare_and_delete(b"lock:job", b"owner-b").unwrap());
        assert!(acquire(b"owner-c"));
    }

    #[test]
    fn lock_release_is_atomic_under_concurrency() {
        let env = Env::new();
        let db = env.db();
        let winners = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for t in 0..4 {
                let winners = &winners;
                s.spawn(move || {
                    for i in 0..200 {
                        let token = format!("{t}-{i}");
                        if db.set(b"lock", token.as_bytes(), &SetOptions::new().nx().px(1000)).unwrap().written {
                            winners.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            // Only this owner can release, and only once.
                            assert!(db.compare_and_delete(b"lock", token.as_bytes()).unwrap());
                            assert!(!db.compare_and_delete(b"lock", token.as_bytes()).unwrap());
                        }
                    }
                });
            }
        });
        assert!(winners.into_inner() > 0);
        assert!(!db.exists(b"lock").unwrap());
    }

    /// Session refresh: GETEX EX on every access slides the expiry.
    #[test]
    fn session_refresh_with_getex() {
        let env = Env::new();
        let db = env.db();
        db.set(b"session:abc", b"{\"user\":1}", &SetOptions::new().ex(1800)).unwrap();
        for _ in 0..5 {
            env.advance_ms(1_000_000);
            let s = db.getex(b"session:abc", Some(GetExOption::Ex(1800))).unwrap();
            assert_eq!(s.unwrap(), b"{\"user\":1}");
            assert_eq!(db.ttl(b"session:abc").unwrap(), 1800);
        }
        env.advance_ms(1_800_000);
        assert_eq!(db.getex(b"session:abc", Some(GetExOption::Ex(1800))).unwrap(), None);
    }
}

mod model {
    //! A model test: random string/TTL operations, clock moves and reopens
    //! against a `HashMap` model of Redis semantics.
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    #[derive(Clone, Debug)]
    enum Op {
        Set(u8, u8, Option<u16>),
        Expire(u8, i8),
        Persist(u8),
        Incr(u8),
        Del(u8),
        Get(u8),
        Advance(u16),
        Reopen,
        Cycle,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0..6u8, 0..4u8, proptest::option::of(1..3000u16)).prop_map(|(k, v, t)| Op::Set(k, v, t)),
            2 => (0..6u8, -2..5i8).prop_map(|(k, s)| Op::Expire(k, s)),
            1 => (0..6u8).prop_map(Op::Persist),
            2 => (0..6u8).prop_map(Op::Incr),
            1 => (0..6u8).prop_map(Op::Del),
            2 => (0..6u8).prop_map(Op::Get),
            2 => (0..3000u16).prop_map(Op::Advance),
            1 => Just(Op::Reopen),
            1 => Just(Op::Cycle),
        ]
    }

    /// key → (value, expire_at_ms or 0)
    type Model = HashMap<Vec<u8>, (Vec<u8>, u64)>;

    fn live(m: &mut Model, k: &[u8], now: u64) -> Option<(Vec<u8>, u64)> {
        match m.get(k) {
            Some((_, e)) if *e != 0 && *e <= now => {
                m.remove(k);
                None
            }
            other => other.cloned(),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
        #[test]
        fn strings_and_ttl_match_a_model(ops in proptest::collection::vec(op(), 1..80)) {
            let mut env = Env::new();
            let mut m: Model = HashMap::new();
            for op in ops {
                use kv_engine::Clock;
                let now = env.clock.now_ms();
                match op {
                    Op::Set(k, v, ttl) => {
                        let key = vec![b'k', k];
                        let val = if v == 3 { b"x".to_vec() } else { v.to_string().into_bytes() };
                        let o = match ttl { Some(t) => SetOptions::new().px(t as i64), None => SetOptions::new() };
                        env.db().set(&key, &val, &o).unwrap();
                        m.insert(key, (val, ttl.map_or(0, |t| now + t as u64)));
                    }
                    Op::Expire(k, s) => {
                        let key = vec![b'k', k];
                        let got = env.db().expire(&key, s as i64, EC::None).unwrap();
                        let want = live(&mut m, &key, now).is_some();
                        prop_assert_eq!(got, want);
                        if want {
                            if s <= 0 { m.remove(&key); } else { m.get_mut(&key).unwrap().1 = now + s as u64 * 1000; }
                        }
                    }
                    Op::Persist(k) => {
                        let key = vec![b'k', k];
                        let got = env.db().persist(&key).unwrap();
                        let want = live(&mut m, &key, now).is_some_and(|(_, e)| e != 0);
                        prop_assert_eq!(got, want);
                        if want { m.get_mut(&key).unwrap().1 = 0; }
                    }
                    Op::Incr(k) => {
                        let key = vec![b'k', k];
                        let got = env.db().incr(&key);
                        match live(&mut m, &key, now) {
                            None => { prop_assert_eq!(got.unwrap(), 1); m.insert(key, (b"1".to_vec(), 0)); }
                            Some((v, e)) => match std::str::from_utf8(&v).unwrap().parse::<i64>() {
                                Ok(n) => {
                                    prop_assert_eq!(got.unwrap(), n + 1);
                                    m.insert(key, ((n + 1).to_string().into_bytes(), e));
                                }
                                Err(_) => prop_assert!(matches!(got, Err(Error::NotInteger))),
                            },
                        }
                    }
                    Op::Del(k) => {
                        let key = vec![b'k', k];
                        let got = env.db().delete(&key).unwrap();
                        prop_assert_eq!(got, live(&mut m, &key, now).is_some());
                        m.remove(&key);
                    }
                    Op::Get(k) => {
                        let key = vec![b'k', k];
                        prop_assert_eq!(env.db().get(&key).unwrap(), live(&mut m, &key, now).map(|(v, _)| v));
                    }
                    Op::Advance(ms) => env.advance_ms(ms as u64),
                    Op::Reopen => env.reopen(),
                    Op::Cycle => { env.db().run_expiry_cycle().unwrap(); }
                }
                // Full check after every step: values and PTTLs.
                let now = env.clock.now_ms();
                for k in 0..6u8 {
                    let key = vec![b'k', k];
                    let want = live(&mut m, &key, now);
                    prop_assert_eq!(env.db().get(&key).unwrap(), want.clone().map(|(v, _)| v));
                    let want_pttl = match want { None => -2, Some((_, 0)) => -1, Some((_, e)) => (e - now) as i64 };
                    prop_assert_eq!(env.db().pttl(&key).unwrap(), want_pttl);
                }
                prop_assert_eq!(env.db().len().unwrap(), m.len() as u64);
            }
        }
    }
}
