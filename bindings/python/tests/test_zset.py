"""Sorted-set methods against the examples of the Redis command docs
(redis.io/commands/<cmd>), with the reply shapes redis-py 5+ gives for
``redis.Redis(decode_responses=False)`` (RESP2 callbacks): ints, floats,
lists of bytes, lists of ``(bytes, float)`` tuples, ``None`` for nil."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

import libkv

INF = float("inf")


def _three(db: libkv.DB, key: str = "myzset") -> None:
    assert db.zadd(key, {"one": 1, "two": 2, "three": 3}) == 3


# ---------------------------------------------------------------- ZADD


def test_zadd_docs_example(db: libkv.DB) -> None:
    assert db.zadd("myzset", {"one": 1}) == 1
    assert db.zadd("myzset", {"uno": 1}) == 1
    assert db.zadd("myzset", {"two": 2, "three": 3}) == 2
    assert db.zrange("myzset", 0, -1, withscores=True) == [(b"one", 1.0), (b"uno", 1.0), (b"two", 2.0), (b"three", 3.0)]


def test_zadd_flags(db: libkv.DB) -> None:
    db.zadd("z", {"a": 1, "b": 2})
    assert db.zadd("z", {"a": 5, "c": 3}, nx=True) == 1  # c added, a untouched
    assert db.zscore("z", "a") == 1.0
    assert db.zadd("z", {"a": 5, "d": 4}, xx=True) == 0  # a updated, d not added
    assert db.zscore("z", "a") == 5.0 and db.zscore("z", "d") is None
    assert db.zadd("z", {"a": 6, "b": 1, "e": 0}, gt=True, ch=True) == 2  # a raised, e added; b not lowered
    assert db.zmscore("z", ["a", "b", "e"]) == [6.0, 2.0, 0.0]
    assert db.zadd("z", {"a": 1, "b": 9}, lt=True, ch=True) == 1
    assert db.zscore("z", "a") == 1.0 and db.zscore("z", "b") == 2.0
    assert db.zadd("z", {"a": 1}, ch=True) == 0  # same score: not changed


def test_zadd_incr(db: libkv.DB) -> None:
    r = db.zadd("z", {"a": 2.5}, incr=True)
    assert r == 2.5 and isinstance(r, float)
    assert db.zadd("z", {"a": 1}, incr=True) == 3.5
    assert db.zadd("z", {"a": 1}, incr=True, nx=True) is None  # redis-py: nil -> None
    assert db.zadd("z", {"b": 1}, incr=True, xx=True) is None
    assert db.zadd("z", {"a": -10}, incr=True, gt=True) is None
    assert db.zscore("z", "a") == 3.5


def test_zadd_scores_as_redis_py_sends_them(db: libkv.DB) -> None:
    assert db.zadd("z", {"a": "-inf", "b": b"+inf", "c": "1e3", "d": 7, "e": INF}) == 5
    assert db.zrange("z", 0, -1, withscores=True) == [(b"a", -INF), (b"d", 7.0), (b"c", 1000.0), (b"b", INF), (b"e", INF)]
    with pytest.raises(libkv.NotFloatError):
        db.zadd("z", {"x": "abc"})
    with pytest.raises(libkv.NotFloatError):
        db.zadd("z", {"x": float("nan")})
    with pytest.raises(libkv.NotFloatError):
        db.zadd("z", {"x": 10**400})
    with pytest.raises(TypeError):
        db.zadd("z", {"x": True})
    assert db.zcard("z") == 5


def test_zadd_argument_errors_like_redis_py(db: libkv.DB) -> None:
    for kwargs in ({"nx": True, "xx": True}, {"gt": True, "lt": True}, {"nx": True, "gt": True}):
        with pytest.raises(libkv.InvalidArgumentError):
            db.zadd("z", {"a": 1}, **kwargs)
    with pytest.raises(libkv.InvalidArgumentError):
        db.zadd("z", {})
    with pytest.raises(libkv.InvalidArgumentError):
        db.zadd("z", {"a": 1, "b": 2}, incr=True)
    assert "z" not in db


# ------------------------------------------------------ single members


def test_zincrby_docs_example(db: libkv.DB) -> None:
    db.zadd("myzset", {"one": 1, "two": 2})
    r = db.zincrby("myzset", 2, "one")
    assert r == 3.0 and isinstance(r, float)
    assert db.zrange("myzset", 0, -1, withscores=True) == [(b"two", 2.0), (b"one", 3.0)]
    assert db.zincrby("new", "1.5", "m") == 1.5
    db.zadd("inf", {"m": INF})
    with pytest.raises(libkv.InvalidArgumentError, match="NaN"):
        db.zincrby("inf", -INF, "m")


def test_zrem_docs_example(db: libkv.DB) -> None:
    _three(db)
    assert db.zrem("myzset", "two") == 1
    assert db.zrange("myzset", 0, -1, withscores=True) == [(b"one", 1.0), (b"three", 3.0)]
    assert db.zrem("myzset", "one", "three", "nope") == 2
    assert "myzset" not in db  # the last member takes the key with it
    assert db.zrem("missing", "x") == 0


def test_zscore_zmscore_zcard_docs_examples(db: libkv.DB) -> None:
    db.zadd("myzset", {"one": 1, "two": 2})
    r = db.zscore("myzset", "one")
    assert r == 1.0 and isinstance(r, float)
    assert db.zscore("myzset", "nope") is None
    assert db.zscore("missing", "one") is None
    assert db.zmscore("myzset", ["one", "two", "nofield"]) == [1.0, 2.0, None]
    assert db.zmscore("missing", ["a"]) == [None]
    with pytest.raises(libkv.InvalidArgumentError):
        db.zmscore("myzset", [])
    assert db.zcard("myzset") == 2
    assert db.zcard("missing") == 0


def test_zcount_docs_example(db: libkv.DB) -> None:
    _three(db)
    assert db.zcount("myzset", "-inf", "+inf") == 3
    assert db.zcount("myzset", "(1", 3) == 2
    assert db.zcount("myzset", -INF, INF) == 3
    assert db.zcount("myzset", 1.5, "(3") == 1
    with pytest.raises(libkv.InvalidArgumentError, match="not a float"):
        db.zcount("myzset", "x", 1)


def test_zlexcount_docs_example(db: libkv.DB) -> None:
    db.zadd("myzset", {"a": 0, "b": 0, "c": 0, "d": 0, "e": 0})
    db.zadd("myzset", {"f": 0, "g": 0})
    assert db.zlexcount("myzset", "-", "+") == 7
    assert db.zlexcount("myzset", "[b", "[f") == 5
    with pytest.raises(libkv.InvalidArgumentError, match="string range item"):
        db.zlexcount("myzset", "b", "[f")


def test_zrank_zrevrank_docs_examples(db: libkv.DB) -> None:
    _three(db)
    assert db.zrank("myzset", "three") == 2
    assert db.zrank("myzset", "four") is None
    assert db.zrank("myzset", "three", withscore=True) == [2, 3.0]
    assert db.zrank("myzset", "four", withscore=True) is None
    assert db.zrevrank("myzset", "one") == 2
    assert db.zrevrank("myzset", "four") is None
    assert db.zrevrank("myzset", "three", withscore=True) == [0, 3.0]
    assert db.zrank("myzset", "two", withscore=True, score_cast_func=int) == [1, 2]
    assert db.zrank("missing", "x") is None


# --------------------------------------------------------------- ranges


def test_zrange_docs_example(db: libkv.DB) -> None:
    _three(db)
    assert db.zrange("myzset", 0, -1) == [b"one", b"two", b"three"]
    assert db.zrange("myzset", 2, 3) == [b"three"]
    assert db.zrange("myzset", -2, -1) == [b"two", b"three"]
    assert db.zrange("myzset", 0, 1, withscores=True) == [(b"one", 1.0), (b"two", 2.0)]
    assert db.zrange("myzset", "(1", "+inf", byscore=True, offset=1, num=1) == [b"three"]
    assert db.zrange("missing", 0, -1) == []


def test_zrange_options(db: libkv.DB) -> None:
    _three(db)
    assert db.zrange("myzset", 0, 0, desc=True) == [b"three"]
    # BYSCORE REV takes max then min, as Redis.
    assert db.zrange("myzset", "+inf", 2, desc=True, byscore=True, withscores=True) == [(b"three", 3.0), (b"two", 2.0)]
    assert db.zrange("myzset", 1, 2, byscore=True, withscores=True, score_cast_func=int) == [(b"one", 1), (b"two", 2)]
    assert db.zrange("myzset", 0, -1, withscores=True, score_cast_func=bytes) == [
        (b"one", b"1"),
        (b"two", b"2"),
        (b"three", b"3"),
    ]
    db.zadd("lex", {c: 0 for c in "abcde"})
    assert db.zrange("lex", "[b", "(d", bylex=True) == [b"b", b"c"]
    assert db.zrange("lex", "+", "-", bylex=True, desc=True, offset=1, num=2) == [b"d", b"c"]
    with pytest.raises(libkv.InvalidArgumentError, match="LIMIT is only supported"):
        db.zrange("myzset", 0, 1, offset=0, num=1)
    with pytest.raises(libkv.InvalidArgumentError):
        db.zrange("myzset", 0, 1, byscore=True, bylex=True)
    with pytest.raises(libkv.InvalidArgumentError):
        db.zrange("myzset", 0, 1, byscore=True, offset=1)
    with pytest.raises(libkv.InvalidArgumentError):
        db.zrange("lex", "-", "+", bylex=True, withscores=True)


def test_zrevrange_docs_example(db: libkv.DB) -> None:
    _three(db)
    assert db.zrevrange("myzset", 0, -1) == [b"three", b"two", b"one"]
    assert db.zrevrange("myzset", 2, 3) == [b"one"]
    assert db.zrevrange("myzset", -2, -1) == [b"two", b"one"]
    assert db.zrevrange("myzset", 0, 0, withscores=True) == [(b"three", 3.0)]


def test_zrangebyscore_docs_example(db: libkv.DB) -> None:
    _three(db)
    assert db.zrangebyscore("myzset", "-inf", "+inf") == [b"one", b"two", b"three"]
    assert db.zrangebyscore("myzset", 1, 2) == [b"one", b"two"]
    assert db.zrangebyscore("myzset", "(1", 2) == [b"two"]
    assert db.zrangebyscore("myzset", "(1", "(2") == []
    assert db.zrangebyscore("myzset", "-inf", "+inf", start=1, num=5, withscores=True) == [
        (b"two", 2.0),
        (b"three", 3.0),
    ]
    with pytest.raises(libkv.InvalidArgumentError):
        db.zrangebyscore("myzset", 0, 1, start=1)


def test_zrevrangebyscore_docs_example(db: libkv.DB) -> None:
    _three(db)
    assert db.zrevrangebyscore("myzset", "+inf", "-inf") == [b"three", b"two", b"one"]
    assert db.zrevrangebyscore("myzset", 2, 1) == [b"two", b"one"]
    assert db.zrevrangebyscore("myzset", 2, "(1") == [b"two"]
    assert db.zrevrangebyscore("myzset", "(2", "(1") == []
    assert db.zrevrangebyscore("myzset", INF, -INF, 0, 1, withscores=True) == [(b"three", 3.0)]


def test_zrangebylex_docs_examples(db: libkv.DB) -> None:
    db.zadd("myzset", {c: 0 for c in "abcdefg"})
    assert db.zrangebylex("myzset", "-", "[c") == [b"a", b"b", b"c"]
    assert db.zrangebylex("myzset", "-", "(c") == [b"a", b"b"]
    assert db.zrangebylex("myzset", "[aaa", "(g") == [b"b", b"c", b"d", b"e", b"f"]
    assert db.zrangebylex("myzset", "-", "+", 2, 2) == [b"c", b"d"]
    assert db.zrevrangebylex("myzset", "[c", "-") == [b"c", b"b", b"a"]
    assert db.zrevrangebylex("myzset", "(c", "-") == [b"b", b"a"]
    assert db.zrevrangebylex("myzset", "(g", "[aaa") == [b"f", b"e", b"d", b"c", b"b"]
    assert db.zrevrangebylex("myzset", "+", "-", 0, 1) == [b"g"]


# ------------------------------------------------------------- removals


def test_zpopmin_zpopmax_docs_examples(db: libkv.DB) -> None:
    _three(db)
    assert db.zpopmin("myzset") == [(b"one", 1.0)]
    _three(db, "other")
    assert db.zpopmax("other") == [(b"three", 3.0)]
    assert db.zpopmax("other", 5) == [(b"two", 2.0), (b"one", 1.0)]
    assert "other" not in db
    assert db.zpopmin("missing") == []
    assert db.zpopmin("myzset", 0) == []
    with pytest.raises(libkv.InvalidArgumentError, match="must be positive"):
        db.zpopmin("myzset", -1)


def test_zremrange_docs_examples(db: libkv.DB) -> None:
    _three(db, "rank")
    assert db.zremrangebyrank("rank", 0, 1) == 2
    assert db.zrange("rank", 0, -1, withscores=True) == [(b"three", 3.0)]
    _three(db, "score")
    assert db.zremrangebyscore("score", "-inf", "(2") == 1
    assert db.zrange("score", 0, -1, withscores=True) == [(b"two", 2.0), (b"three", 3.0)]
    db.zadd("lex", {m: 0 for m in ["aaaa", "b", "c", "d", "e"]})
    db.zadd("lex", {m: 0 for m in ["foo", "zap", "zip", "ALPHA", "alpha"]})
    assert db.zrange("lex", 0, -1) == [b"ALPHA", b"aaaa", b"alpha", b"b", b"c", b"d", b"e", b"foo", b"zap", b"zip"]
    assert db.zremrangebylex("lex", "[alpha", "[omega") == 6
    assert db.zrange("lex", 0, -1) == [b"ALPHA", b"aaaa", b"zap", b"zip"]
    assert db.zremrangebyrank("missing", 0, -1) == 0


# --------------------------------------------------------------- random


def test_zrandmember_docs_example(db: libkv.DB) -> None:
    dadi = {"uno": 1, "due": 2, "tre": 3, "quattro": 4, "cinque": 5, "sei": 6}
    db.zadd("dadi", dadi)
    names = {k.encode() for k in dadi}
    assert db.zrandmember("dadi") in names
    assert db.zrandmember("missing") is None
    assert db.zrandmember("missing", 3) == []
    distinct = db.zrandmember("dadi", 4)
    assert isinstance(distinct, list) and len(set(distinct)) == 4 and set(distinct) <= names
    assert sorted(db.zrandmember("dadi", 10) or []) == sorted(names)  # capped at the set's size
    repeats = db.zrandmember("dadi", -20)
    assert isinstance(repeats, list) and len(repeats) == 20 and set(repeats) <= names
    # redis-py leaves ZRANDMEMBER WITHSCORES flat: member, score bytes, ...
    flat = db.zrandmember("dadi", -5, withscores=True)
    assert isinstance(flat, list) and len(flat) == 10
    for member, s in zip(flat[::2], flat[1::2]):
        assert float(s) == dadi[member.decode()] and s == str(dadi[member.decode()]).encode()
    with pytest.raises(libkv.InvalidArgumentError):
        db.zrandmember("dadi", withscores=True)


# ----------------------------------------------------------- set algebra


def test_zunionstore_docs_example(db: libkv.DB) -> None:
    db.zadd("zset1", {"one": 1, "two": 2})
    db.zadd("zset2", {"one": 1, "two": 2, "three": 3})
    assert db.zunionstore("out", {"zset1": 2, "zset2": 3}) == 3
    assert db.zrange("out", 0, -1, withscores=True) == [(b"one", 5.0), (b"three", 9.0), (b"two", 10.0)]
    assert db.zunionstore("out", ["zset1", "zset2", "missing"], aggregate="max") == 3
    assert db.zrange("out", 0, -1, withscores=True) == [(b"one", 1.0), (b"two", 2.0), (b"three", 3.0)]
    assert db.zunionstore("out", ["zset1", "zset2"], aggregate="MIN") == 3
    with pytest.raises(libkv.InvalidArgumentError):
        db.zunionstore("out", ["zset1"], aggregate="avg")
    with pytest.raises(libkv.InvalidArgumentError, match="at least 1 input key"):
        db.zunionstore("out", [])


def test_zinterstore_docs_example(db: libkv.DB) -> None:
    db.zadd("zset1", {"one": 1, "two": 2})
    db.zadd("zset2", {"one": 1, "two": 2, "three": 3})
    assert db.zinterstore("out", {"zset1": 2, "zset2": 3}) == 2
    assert db.zrange("out", 0, -1, withscores=True) == [(b"one", 5.0), (b"two", 10.0)]
    db["out2"] = "a string"  # the destination is replaced whatever it held
    assert db.zinterstore("out2", ["zset1", "missing"]) == 0
    assert "out2" not in db


def test_zdiffstore_docs_example(db: libkv.DB) -> None:
    _three(db, "zset1")
    db.zadd("zset2", {"one": 1, "two": 2})
    assert db.zdiffstore("out", ["zset1", "zset2"]) == 1
    assert db.zrange("out", 0, -1, withscores=True) == [(b"three", 3.0)]


def test_weights_inf_times_zero_is_zero_as_redis(db: libkv.DB) -> None:
    db.zadd("a", {"m": INF})
    assert db.zunionstore("out", {"a": 0}) == 1
    assert db.zscore("out", "m") == 0.0
    with pytest.raises(libkv.InvalidArgumentError, match="weight value is not a float"):
        db.zunionstore("out", {"a": float("nan")})


# ------------------------------------------------------ types and keys


def test_wrongtype_both_directions(db: libkv.DB) -> None:
    db["s"] = "x"
    db.zadd("z", {"a": 1})
    for call in (
        lambda: db.zadd("s", {"a": 1}),
        lambda: db.zrange("s", 0, -1),
        lambda: db.zscore("s", "a"),
        lambda: db.zcard("s"),
        lambda: db.zrank("s", "a"),
        lambda: db.zpopmin("s"),
        lambda: db.zunionstore("out", ["z", "s"]),
        lambda: db.get("z"),
        lambda: db["z"],
        lambda: db.incr("z"),
        lambda: db.append("z", "x"),
        lambda: db.getdel("z"),
        lambda: db.set("z", "v", get=True),
    ):
        with pytest.raises(libkv.WrongTypeError) as e:
            call()
        assert isinstance(e.value, TypeError)
        assert "WRONGTYPE" in str(e.value)
    assert db.get("s") == b"x" and db.zcard("z") == 1


def test_dict_access_and_keyspace_cover_sorted_sets(db: libkv.DB) -> None:
    db["s"] = "x"
    db.zadd("z", {"a": 1, "b": 2})
    assert len(db) == 2 and db.dbsize() == 2
    assert "z" in db and db.exists("z", "s") == 2
    assert sorted(db) == [b"s", b"z"]
    assert list(db.items()) == [(b"s", b"x")]  # items() is for strings
    del db["z"]
    assert len(db) == 1 and db.zcard("z") == 0
    with pytest.raises(KeyError):
        del db["z"]
    db.zadd("z", {"a": 1})
    db["z"] = "now a string"  # SET replaces any type, as Redis
    assert db["z"] == b"now a string"


def test_sorted_set_ttl(db: libkv.DB) -> None:
    db.zadd("z", {"a": 1})
    assert db.expire("z", 100) is True
    assert 0 < db.ttl("z") <= 100
    db.zadd("z", {"b": 2})  # ZADD keeps the key's TTL
    assert 0 < db.ttl("z") <= 100
    assert db.pexpire("z", 1) is True
    time.sleep(0.02)
    assert db.zcard("z") == 0 and db.zrange("z", 0, -1) == [] and "z" not in db


def test_sorted_sets_survive_reopen_and_compaction(path: Path) -> None:
    with libkv.open(path, fsync="no", max_segment_size=4096) as db:
        for i in range(300):
            db.zadd("board", {f"p{i % 40}": i})
            db[f"k{i % 10}"] = str(i)
        db.zrem("board", "p0")
        before = db.zrange("board", 0, -1, withscores=True)
        summary = db.compact()
        assert summary["input_segments"] >= 2
        assert summary["records_dropped"] > 0 and summary["reclaimed_bytes"] > 0
        assert set(summary) == {
            "input_segments",
            "output_segments",
            "input_bytes",
            "output_bytes",
            "reclaimed_bytes",
            "records_copied",
            "records_dropped",
            "tombstones_kept",
            "duration_ms",
            "removal_ms",
            "inputs_copied_from_index",
        }
        assert db.zrange("board", 0, -1, withscores=True) == before
        st = db.stats()
        assert st["merges"] == 1 and st["merge_reclaimed_bytes"] == summary["reclaimed_bytes"]
        assert st["merge_failures"] == 0
    with libkv.open(path, fsync="no") as db:
        assert db.zrange("board", 0, -1, withscores=True) == before
        assert db.zscore("board", "p0") is None and db.get("k9") == b"299"
        assert db.stats()["recovery_segments_from_hints"] >= 1


def test_compact_reports_inputs_copied_from_index(path: Path) -> None:
    """ABI version 2 fields: inputs of string puts only are copied from the
    index's list; a segment holding deletes is scanned instead."""
    with libkv.open(path, fsync="no", max_segment_size=64 * 1024, auto_compaction=False) as db:
        for _ in range(8):
            for i in range(50):
                db[f"k{i}"] = "v" * 512
        r = db.compact()
        assert r["input_segments"] >= 3
        assert r["inputs_copied_from_index"] == r["input_segments"]
        assert 0 <= r["removal_ms"] <= r["duration_ms"]
        assert r["records_copied"] == 50
        for i in range(0, 50, 5):
            del db[f"k{i}"]
        r = db.compact()
        assert r["input_segments"] >= 2
        assert r["inputs_copied_from_index"] == r["input_segments"] - 1
        assert 0 <= r["removal_ms"] <= r["duration_ms"]
        assert r["records_copied"] == 40


def test_compact_with_nothing_to_merge(db: libkv.DB) -> None:
    r = db.compact()
    assert r["input_segments"] == 0 and r["records_copied"] == 0


def test_segments_and_compact_segments(path: Path) -> None:
    with libkv.open(path, fsync="no", max_segment_size=4096, auto_compaction=False) as db:
        for i in range(200):
            db[f"k{i % 5}"] = "v" * 50
        segs = db.segments()
        assert len(segs) >= 3 and [s["active"] for s in segs].count(True) == 1
        assert segs[-1]["active"] and all(s["size_bytes"] > 0 for s in segs[:-1])
        assert [s["id"] for s in segs] == sorted(s["id"] for s in segs)
        sealed = [s["id"] for s in segs if not s["active"]]
        r = db.compact_segments(sealed[:2])
        assert r["input_segments"] == 2
        assert len(db.segments()) < len(segs)
        with pytest.raises(libkv.InvalidArgumentError):
            db.compact_segments([segs[-1]["id"]])  # the active segment is never merged
        assert db.compact_segments([]) ["input_segments"] == 0
        assert [db.get(f"k{i}") for i in range(5)] == [b"v" * 50] * 5


def test_run_expiry_cycle(path: Path) -> None:
    with libkv.open(path, fsync="no", active_expiry=False) as db:
        for i in range(50):
            db.set(f"t{i}", "x", px=1)
        db.zadd("z", {"a": 1})
        db.pexpire("z", 1)
        db.set("keep", "x", ex=1000)
        time.sleep(0.02)
        # One cycle stops when its 25 ms budget runs out (a preempted thread
        # on a loaded machine): run cycles until one ends within its budget
        # having found nothing, and check the totals.
        expired = sampled = 0
        for _ in range(10_000):
            r = db.run_expiry_cycle()
            assert set(r) == {"samples", "sampled_keys", "expired_keys", "budget_exhausted"}
            assert r["samples"] >= 1 and r["sampled_keys"] >= r["expired_keys"]
            expired += r["expired_keys"]
            sampled += r["sampled_keys"]
            if r["expired_keys"] == 0 and not r["budget_exhausted"]:
                break
        else:
            pytest.fail(f"expiry cycles never finished: {r}")
        assert expired == 51 and sampled >= 51
        st = db.stats()
        assert st["expired_keys_active"] == 51 and st["expired_keys"] >= 51
        assert st["keys"] == 1 and db.dbsize() == 1


def test_new_stats_fields(path: Path) -> None:
    with libkv.open(path, fsync="always") as db:
        st0 = db.stats()
        for name in (
            "expired_keys",
            "merges",
            "merge_reclaimed_bytes",
            "last_merge_duration_ms",
            "merge_failures",
            "recovery_segments_scanned",
            "recovery_segments_from_hints",
            "recovery_zero_tail_bytes_trimmed",
            "recovery_incomplete_files_removed",
            "recovery_merges_completed",
            "zset_heap_bytes",
        ):
            assert isinstance(st0[name], int), name
        assert st0["zset_heap_bytes"] == 0
        hist0 = st0["group_commit_histogram"]
        assert isinstance(hist0, list) and len(hist0) == 12
        db.zadd("z", {f"m{i}": i for i in range(100)})
        db.set("a", "1")
        st = db.stats()
        assert isinstance(st["zset_heap_bytes"], int) and st["zset_heap_bytes"] >= 100 * 2
        hist = st["group_commit_histogram"]
        assert isinstance(hist, list) and sum(hist) == st["fsyncs"] and sum(hist) >= 2


def test_score_formatting_matches_redis_7_2(db: libkv.DB) -> None:
    from libkv.zset import format_score

    assert format_score(1.5) == b"1.5"
    assert format_score(INF) == b"inf" and format_score(-INF) == b"-inf"
    assert format_score(1e20) == b"1e+20"
    assert format_score(10000000.0) == b"10000000"
    assert float(format_score(0.1)) == 0.1
    assert math.isclose(float(format_score(1 / 3)), 1 / 3, rel_tol=0)
