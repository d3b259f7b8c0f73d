"""Hypothesis stateful test: libkv against a dict model, with reopen."""

from __future__ import annotations

import re
import shutil
import tempfile
from typing import Optional

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
        self.with_ttl: set[bytes] = set()

    def teardown(self) -> None:
        self.db.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _set_model(self, k: bytes, v: bytes) -> None:
        self.model[k] = v
        self.with_ttl.discard(k)

    def _del_model(self, k: bytes) -> None:
        self.model.pop(k, None)
        self.with_ttl.discard(k)

    @rule(k=KEYS, v=VALUES)
    def setitem(self, k: bytes, v: bytes) -> None:
        self.db[k] = v
        self._set_model(k, v)

    @rule(k=KEYS, v=VALUES, nx=st.booleans(), xx=st.booleans(), get=st.booleans())
    def set_conditional(self, k: bytes, v: bytes, nx: bool, xx: bool, get: bool) -> None:
        if nx and xx:
            return
        old = self.model.get(k)
        r = self.db.set(k, v, nx=nx, xx=xx, get=get)
        ok = not (nx and old is not None) and not (xx and old is None)
        if get:
            assert r == old
        else:
            assert r == (True if ok else None)
        if ok:
            self._set_model(k, v)

    @rule(k=KEYS, v=VALUES)
    def set_with_ttl(self, k: bytes, v: bytes) -> None:
        assert self.db.set(k, v, ex=_LONG_TTL_S) is True
        self.model[k] = v
        self.with_ttl.add(k)

    @rule(k=KEYS)
    def delete(self, k: bytes) -> None:
        assert self.db.delete(k) == (1 if k in self.model else 0)
        self._del_model(k)

    @rule(k=KEYS)
    def getdel(self, k: bytes) -> None:
        assert self.db.getdel(k) == self.model.get(k)
        self._del_model(k)

    @rule(k=KEYS, n=st.integers(-(2**40), 2**40))
    def incrby(self, k: bytes, n: int) -> None:
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
        new = self.model.get(k, b"") + v
        assert self.db.append(k, v) == len(new)
        self.model[k] = new

    @rule(k=KEYS)
    def persist(self, k: bytes) -> None:
        assert self.db.persist(k) == (k in self.with_ttl)
        self.with_ttl.discard(k)

    @rule(k=KEYS)
    def expire_long(self, k: bytes) -> None:
        assert self.db.expire(k, _LONG_TTL_S) == (k in self.model)
        if k in self.model:
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

    @precondition(lambda self: True)
    @rule()
    def reopen(self) -> None:
        self.db.close()
        self.db = libkv.open(self.dir, fsync="no", max_segment_size=64 * 1024)

    @invariant()
    def same_contents(self) -> None:
        assert len(self.db) == len(self.model)
        assert list(self.db.items()) == sorted(self.model.items())
        for k in (b"a", b"ab", b"user:1"):
            assert self.db.get(k) == self.model.get(k)
            ttl = self.db.ttl(k)
            if k not in self.model:
                assert ttl == -2
            elif k in self.with_ttl:
                assert 0 < ttl <= _LONG_TTL_S
            else:
                assert ttl == -1


LibkvModel.TestCase.settings = settings(
    max_examples=60, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestLibkvModel = LibkvModel.TestCase
