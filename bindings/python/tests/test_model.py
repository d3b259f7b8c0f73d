"""Hypothesis stateful test: libkv against a dict model (strings and
sorted sets sharing one keyspace), with reopen."""

from __future__ import annotations

import math
import re
import shutil
import tempfile
from typing import Any, Callable, Optional

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import libkv

KEYS = st.sampled_from([b"a", b"b", b"c", b"ab", b"abc", b"b\x00", "é".encode(), b"user:1", b"user:2"])
VALUES = st.one_of(
    st.integers(-(2**63), 2**63 - 1).map(lambda n: str(n).encode()),
    st.integers(-5, 5).map(lambda n: str(n).encode()),
    st.binary(max_size=24),
    st.sampled_from([b"", b"007", b"-0", b" 1", b"1.5", b"9223372036854775808"]),
)
MEMBERS = st.sampled_from([b"", b"a", b"b", b"c", b"ab", b"\x00", b"\xff", "é".encode()])
SCORES = st.one_of(
    st.integers(-3, 3).map(float),
    st.sampled_from([-math.inf, math.inf, 0.5, -0.0, 1e300]),
    st.floats(allow_nan=False),
)
_INF = math.inf
_CANONICAL_INT = re.compile(rb"^(0|-?[1-9][0-9]{0,18})$")
_LONG_TTL_S = 100_000


def redis_int(v: bytes) -> Optional[int]:
    """The integer Redis's INCR accepts in ``v``, or None."""
    if not _CANONICAL_INT.match(v):
        return None
    n = int(v)
    return n if -(2**63) <= n <= 2**63 - 1 else None


class LibkvModel(RuleBasedStateMachine):
    """Every rule runs on libkv and on ``self.model``; invariants compare."""

    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="libkv-hyp-")
        self.db = libkv.open(self.dir, fsync="no", max_segment_size=64 * 1024)
        self.model: dict[bytes, bytes] = {}
        self.zsets: dict[bytes, dict[bytes, float]] = {}
        self.with_ttl: set[bytes] = set()

    def teardown(self) -> None:
        self.db.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _set_model(self, k: bytes, v: bytes) -> None:
        self.model[k] = v
        self.zsets.pop(k, None)
        self.with_ttl.discard(k)

    def _del_model(self, k: bytes) -> None:
        self.model.pop(k, None)
        self.zsets.pop(k, None)
        self.with_ttl.discard(k)

    def _exists(self, k: bytes) -> bool:
        return k in self.model or k in self.zsets

    def _wrongtype(self, call: Callable[[], object]) -> None:
        try:
            call()
        except libkv.WrongTypeError:
            return
        raise AssertionError("WrongTypeError expected")

    def _zset_store(self, k: bytes, z: dict[bytes, float], keep_ttl: bool) -> None:
        """A sorted set written back: an empty one deletes the key."""
        if z:
            self.zsets[k] = z
            if not keep_ttl:
                self.with_ttl.discard(k)
        else:
            self._del_model(k)

    @rule(k=KEYS, v=VALUES)
    def setitem(self, k: bytes, v: bytes) -> None:
        self.db[k] = v
        self._set_model(k, v)

    @rule(k=KEYS, v=VALUES, nx=st.booleans(), xx=st.booleans(), get=st.booleans())
    def set_conditional(self, k: bytes, v: bytes, nx: bool, xx: bool, get: bool) -> None:
        if nx and xx:
            return
        if get and k in self.zsets:
            self._wrongtype(lambda: self.db.set(k, v, nx=nx, xx=xx, get=get))
            return
        old = self.model.get(k)
        r = self.db.set(k, v, nx=nx, xx=xx, get=get)
        ok = not (nx and self._exists(k)) and not (xx and not self._exists(k))
        if get:
            assert r == old
        else:
            assert r == (True if ok else None)
        if ok:
            self._set_model(k, v)

    @rule(k=KEYS, v=VALUES)
    def set_with_ttl(self, k: bytes, v: bytes) -> None:
        assert self.db.set(k, v, ex=_LONG_TTL_S) is True
        self._set_model(k, v)
        self.with_ttl.add(k)

    @rule(k=KEYS)
    def delete(self, k: bytes) -> None:
        assert self.db.delete(k) == (1 if self._exists(k) else 0)
        self._del_model(k)

    @rule(k=KEYS)
    def getdel(self, k: bytes) -> None:
        if k in self.zsets:
            return self._wrongtype(lambda: self.db.getdel(k))
        assert self.db.getdel(k) == self.model.get(k)
        self._del_model(k)

    @rule(k=KEYS, n=st.integers(-(2**40), 2**40))
    def incrby(self, k: bytes, n: int) -> None:
        if k in self.zsets:
            return self._wrongtype(lambda: self.db.incrby(k, n))
        cur = self.model.get(k, b"0")
        base = redis_int(cur)
        if base is None:
            try:
                self.db.incrby(k, n)
            except libkv.NotIntegerError:
                return
            raise AssertionError(f"incrby accepted non-integer {cur!r}")
        want = base + n
        if not -(2**63) <= want <= 2**63 - 1:
            try:
                self.db.incrby(k, n)
            except libkv.LibkvOverflowError:
                return
            raise AssertionError("overflow not detected")
        assert self.db.incrby(k, n) == want
        self.model[k] = str(want).encode()  # keeps the TTL

    @rule(k=KEYS, v=st.binary(max_size=8))
    def append(self, k: bytes, v: bytes) -> None:
        if k in self.zsets:
            return self._wrongtype(lambda: self.db.append(k, v))
        new = self.model.get(k, b"") + v
        assert self.db.append(k, v) == len(new)
        self.model[k] = new

    @rule(k=KEYS)
    def persist(self, k: bytes) -> None:
        assert self.db.persist(k) == (k in self.with_ttl)
        self.with_ttl.discard(k)

    @rule(k=KEYS)
    def expire_long(self, k: bytes) -> None:
        assert self.db.expire(k, _LONG_TTL_S) == self._exists(k)
        if self._exists(k):
            self.with_ttl.add(k)

    @rule(pairs=st.dictionaries(KEYS, VALUES, min_size=1, max_size=4))
    def mset(self, pairs: dict[bytes, bytes]) -> None:
        assert self.db.mset(pairs) is True
        for k, v in pairs.items():
            self._set_model(k, v)

    @rule(ops=st.lists(st.tuples(KEYS, st.one_of(st.none(), VALUES)), min_size=1, max_size=6), fail=st.booleans())
    def batch(self, ops: list[tuple[bytes, Optional[bytes]]], fail: bool) -> None:
        try:
            with self.db.batch() as b:
                for k, v in ops:
                    if v is None:
                        b.delete(k)
                    else:
                        b[k] = v
                if fail:
                    raise RuntimeError("abort")
        except RuntimeError:
            return
        for k, v in ops:
            if v is None:
                self._del_model(k)
            else:
                self._set_model(k, v)

    # --------------------------------------------------------- sorted sets

    @rule(
        k=KEYS,
        pairs=st.dictionaries(MEMBERS, SCORES, min_size=1, max_size=4),
        flags=st.sampled_from([{}, {"nx": True}, {"xx": True}, {"gt": True}, {"lt": True}, {"xx": True, "gt": True}]),
        ch=st.booleans(),
    )
    def zadd(self, k: bytes, pairs: dict[bytes, float], flags: dict[str, bool], ch: bool) -> None:
        if k in self.model:
            return self._wrongtype(lambda: self.db.zadd(k, pairs, ch=ch, **flags))
        z = dict(self.zsets.get(k, {}))
        added = changed = 0
        for m, sc in pairs.items():
            old = z.get(m)
            if old is None:
                if flags.get("xx"):
                    continue
                z[m] = sc
                added += 1
                continue
            if flags.get("nx") or (flags.get("gt") and not sc > old) or (flags.get("lt") and not sc < old):
                continue
            if sc != old:
                z[m] = sc
                changed += 1
        assert self.db.zadd(k, pairs, ch=ch, **flags) == (added + changed if ch else added)
        self._zset_store(k, z, keep_ttl=True)

    @rule(k=KEYS, m=MEMBERS, amount=SCORES)
    def zincrby(self, k: bytes, m: bytes, amount: float) -> None:
        if k in self.model:
            return self._wrongtype(lambda: self.db.zincrby(k, amount, m))
        z = dict(self.zsets.get(k, {}))
        new = z.get(m, 0.0) + amount
        if math.isnan(new):
            try:
                self.db.zincrby(k, amount, m)
            except libkv.InvalidArgumentError:
                return
            raise AssertionError("NaN score accepted")
        assert self.db.zincrby(k, amount, m) == new
        z[m] = new
        self._zset_store(k, z, keep_ttl=True)

    @rule(k=KEYS, ms=st.lists(MEMBERS, min_size=1, max_size=3))
    def zrem(self, k: bytes, ms: list[bytes]) -> None:
        if k in self.model:
            return self._wrongtype(lambda: self.db.zrem(k, *ms))
        z = dict(self.zsets.get(k, {}))
        removed = sum(1 for m in set(ms) if z.pop(m, None) is not None)
        assert self.db.zrem(k, *ms) == removed
        if k in self.zsets:
            self._zset_store(k, z, keep_ttl=True)

    @rule(k=KEYS, count=st.integers(0, 3), high=st.booleans())
    def zpop(self, k: bytes, count: int, high: bool) -> None:
        fn = self.db.zpopmax if high else self.db.zpopmin
        if k in self.model:
            return self._wrongtype(lambda: fn(k, count))
        z = dict(self.zsets.get(k, {}))
        order = _ordered(z)
        want = (order[::-1] if high else order)[:count]
        assert fn(k, count) == want
        for m, _ in want:
            del z[m]
        if k in self.zsets:
            self._zset_store(k, z, keep_ttl=True)

    @rule(k=KEYS, lo=SCORES, hi=SCORES)
    def zremrangebyscore(self, k: bytes, lo: float, hi: float) -> None:
        if k in self.model:
            return self._wrongtype(lambda: self.db.zremrangebyscore(k, lo, hi))
        z = self.zsets.get(k, {})
        keep = {m: s for m, s in z.items() if not lo <= s <= hi}
        assert self.db.zremrangebyscore(k, lo, hi) == len(z) - len(keep)
        if k in self.zsets:
            self._zset_store(k, keep, keep_ttl=True)

    @rule(
        dest=KEYS,
        srcs=st.lists(KEYS, min_size=1, max_size=3),
        weights=st.one_of(st.none(), st.lists(st.sampled_from([1.0, 2.0, -1.0, 0.0, 0.5]), min_size=3, max_size=3)),
        op=st.sampled_from(["union", "inter", "diff"]),
        aggregate=st.sampled_from([None, "SUM", "MIN", "MAX"]),
    )
    def zstore(
        self, dest: bytes, srcs: list[bytes], weights: Optional[list[float]], op: str, aggregate: Optional[str]
    ) -> None:
        if op == "diff":
            call: Callable[[], int] = lambda: self.db.zdiffstore(dest, srcs)  # noqa: E731
        else:
            fn = self.db.zunionstore if op == "union" else self.db.zinterstore
            # A key named twice: redis-py's dict form cannot say that, so weights only for distinct keys.
            keys: Any = dict(zip(srcs, weights)) if weights and len(set(srcs)) == len(srcs) else srcs
            call = lambda: fn(dest, keys, aggregate)  # noqa: E731
        if any(s in self.model for s in srcs):
            return self._wrongtype(call)
        ws = list(keys.values()) if op != "diff" and isinstance(keys, dict) else [1.0] * len(srcs)
        sets = [self.zsets.get(s, {}) for s in srcs]
        if op == "diff":
            out = {m: sc for m, sc in sets[0].items() if not any(m in o for o in sets[1:])}
        else:
            out = {}
            members = set().union(*sets) if op == "union" else set(sets[0]).intersection(*sets[1:])
            # Redis (and libkv) fold the inputs smallest first (stable), which
            # matters for rounding and for the inf + -inf = 0 rule.
            inputs = sorted(zip(sets, ws), key=lambda p: len(p[0]))
            for m in members:
                acc: Optional[float] = None
                for zs, w in inputs:
                    if m not in zs:
                        continue
                    v = zs[m] * w
                    v = 0.0 if math.isnan(v) else v  # Redis: inf * 0 is 0
                    if acc is None:
                        acc = v
                    elif aggregate in (None, "SUM"):
                        acc = acc + v
                        acc = 0.0 if math.isnan(acc) else acc  # inf + -inf is 0
                    elif aggregate == "MIN":
                        acc = min(acc, v)
                    else:
                        acc = max(acc, v)
                assert acc is not None
                out[m] = acc
        assert call() == len(out)
        self._del_model(dest)  # the destination is replaced, TTL and all
        if out:
            self.zsets[dest] = out

    @rule(k=KEYS, lo=SCORES, hi=SCORES, rev=st.booleans())
    def zrangebyscore(self, k: bytes, lo: float, hi: float, rev: bool) -> None:
        if k in self.model:
            return self._wrongtype(lambda: self.db.zrangebyscore(k, lo, hi))
        want = [(m, s) for m, s in _ordered(self.zsets.get(k, {})) if lo <= s <= hi]
        if rev:
            assert self.db.zrevrangebyscore(k, hi, lo, withscores=True) == want[::-1]
        else:
            assert self.db.zrangebyscore(k, lo, hi, withscores=True) == want
        assert self.db.zcount(k, lo, hi) == len(want)

    @precondition(lambda self: True)
    @rule()
    def reopen(self) -> None:
        self.db.close()
        self.db = libkv.open(self.dir, fsync="no", max_segment_size=64 * 1024)

    @invariant()
    def same_contents(self) -> None:
        assert len(self.db) == len(self.model) + len(self.zsets)
        assert list(self.db.items()) == sorted(self.model.items())
        assert list(self.db.keys()) == sorted([*self.model, *self.zsets])
        for k, z in self.zsets.items():
            want = _ordered(z)
            assert self.db.zrange(k, 0, -1, withscores=True) == want
            assert self.db.zcard(k) == len(z)
            for i, (m, sc) in enumerate(want):
                assert self.db.zrank(k, m, withscore=True) == [i, sc]
        for k in (b"a", b"ab", b"user:1"):
            if k in self.zsets:
                self._wrongtype(lambda: self.db.get(k))
            else:
                assert self.db.get(k) == self.model.get(k)
            ttl = self.db.ttl(k)
            if not self._exists(k):
                assert ttl == -2
            elif k in self.with_ttl:
                assert 0 < ttl <= _LONG_TTL_S
            else:
                assert ttl == -1


def _ordered(z: dict[bytes, float]) -> list[tuple[bytes, float]]:
    """A sorted set in Redis order: by score, ties by member bytes."""
    return sorted(z.items(), key=lambda p: (p[1], p[0]))


LibkvModel.TestCase.settings = settings(
    max_examples=60, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestLibkvModel = LibkvModel.TestCase
