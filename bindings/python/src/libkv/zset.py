"""Sorted-set commands of :class:`libkv.DB`, with the names, arguments and
return values of ``redis.Redis(decode_responses=False)`` (RESP2 reply
shapes, redis-py's default): members come back as ``bytes``, scores as
``float``, ``WITHSCORES`` replies as lists of ``(member, score)`` tuples,
a missing member or key as ``None``."""

from __future__ import annotations

import ctypes
import math
import operator
from ctypes import byref, c_bool, c_double, c_uint64, c_void_p
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence, Union

from . import _ffi
from ._convert import EncodableT, KeyT, enc, i64
from .errors import InvalidArgumentError, NotFloatError, check, error_for

_lib = _ffi.lib
_string_at = ctypes.string_at
_NOT_FOUND = _ffi.NOT_FOUND

#: A score bound as redis-py takes it: a number, or text in Redis syntax
#: (``"-inf"``, ``"+inf"``, ``"(1.5"`` for an exclusive bound).
ZScoreBoundT = Union[float, str, bytes]
#: A score: a number or its text (``"1.5"``, ``"inf"``).
ScoreT = Union[float, str, bytes]
#: What ``score_cast_func`` may be (redis-py: a type or any callable).
ScoreCastT = Union[type, Callable[..., Any]]

_ZPOP_NEGATIVE = "ERR value is out of range, must be positive"


def score(value: Any, what: str = "score") -> float:
    """``value`` as a double, as Redis parses a score argument: numbers as
    they are (redis-py sends their ``repr``, which Redis reads back to the
    same double), text through ``kv_score_parse`` (``"inf"``, ``"-1e3"``).
    A NaN is passed on for libkv to reject with Redis's error."""
    if isinstance(value, bool):
        raise TypeError(f"libkv: invalid {what} of type 'bool'; convert to bytes, str, int or float first")
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:  # Redis's strtod overflows too
            raise NotFloatError("ERR value is not a valid float") from None
    if isinstance(value, (str, bytes, bytearray, memoryview)):
        t = enc(value)
        out = c_double()
        check(_lib.kv_score_parse(t, len(t), byref(out)))
        return out.value
    raise TypeError(f"libkv: invalid {what} of type {type(value).__name__!r}; convert to bytes, str, int or float")


def format_score(value: float) -> bytes:
    """``value`` as Redis 7.2+ prints a score in a reply (``b"1.5"``,
    ``b"inf"``, ``b"1e+20"``): the bytes a RESP2 client receives."""
    b = _ffi.Buf()
    check(_lib.kv_score_format(value, byref(b)))
    return _ffi.take_buf(b)


def _caster(func: ScoreCastT) -> Optional[Callable[[float], Any]]:
    """redis-py's ``score_cast_func`` handling: the function gets the score
    as the bytes of the RESP2 reply, and if it rejects them (``int`` of
    ``b"1.5"``) the float. ``None`` for ``float``, which needs no work."""
    if func is float:
        return None

    def cast(s: float) -> Any:
        raw = format_score(s)
        try:
            return func(raw)
        except (ValueError, TypeError):
            return func(float(raw))

    return cast


def _slices(items: Sequence[EncodableT]) -> tuple[Any, list[bytes]]:
    """A ``kv_slice`` array over the encoded ``items`` (the returned list
    keeps the bytes alive)."""
    keep = [enc(i) for i in items]
    arr = (_ffi.InSlice * len(keep))()
    for i, b in enumerate(keep):
        arr[i].data = b
        arr[i].len = len(b)
    return arr, keep


def _take_entries(handle: Optional[int]) -> list[tuple[bytes, float]]:
    """The members and scores of a ``kv_zset_entries``, which it frees."""
    if not handle:
        return []
    try:
        n = _lib.kv_zset_entries_len(handle)
        m = _ffi.Slice()
        s = c_double()
        mref, sref = byref(m), byref(s)
        get = _lib.kv_zset_entries_get
        out = []
        for i in range(n):
            check(get(handle, i, mref, sref))
            out.append((_string_at(m.data, m.len) if m.len else b"", s.value))
        return out
    finally:
        _lib.kv_zset_entries_free(handle)


def _pairs_reply(entries: list[tuple[bytes, float]], withscores: bool, func: ScoreCastT) -> list[Any]:
    if not withscores:
        return [m for m, _ in entries]
    cast = _caster(func)
    if cast is None:
        return entries
    return [(m, cast(s)) for m, s in entries]


def _limit(start: Optional[int], num: Optional[int], names: str) -> None:
    if (start is None) != (num is None):
        raise InvalidArgumentError(f"libkv: {names} must both be specified")


def _rank(value: Any, what: str) -> int:
    """A rank argument: an int, or its decimal text (as Redis parses it)."""
    if isinstance(value, (str, bytes)):
        try:
            value = int(value)
        except ValueError:
            raise InvalidArgumentError("ERR value is not an integer or out of range") from None
    try:
        return i64(operator.index(value), what)
    except TypeError:
        raise TypeError(f"libkv: {what} must be an int, not {type(value).__name__}") from None


def _keys_and_weights(keys: Union[Sequence[KeyT], Mapping[KeyT, float]]) -> tuple[list[Any], Optional[Any]]:
    """redis-py's ``keys`` for ZUNIONSTORE/ZINTERSTORE: a list of keys or a
    dict of key -> weight."""
    if isinstance(keys, Mapping):
        names = list(keys.keys())
        ws = (c_double * len(names))(*(_weight(w) for w in keys.values()))
        return names, ws
    if isinstance(keys, (bytes, str)):
        return [keys], None
    return list(keys), None


def _weight(value: Any) -> float:
    try:
        w = score(value, "weight")
    except NotFloatError:
        raise InvalidArgumentError("ERR weight value is not a float") from None
    if math.isnan(w):
        raise InvalidArgumentError("ERR weight value is not a float")
    return w


class SortedSetCommands:
    """The Redis sorted-set commands; mixed into :class:`libkv.DB`."""

    _h: int

    # --------------------------------------------------------------- write

    def zadd(
        self,
        name: KeyT,
        mapping: Mapping[EncodableT, ScoreT],
        nx: bool = False,
        xx: bool = False,
        ch: bool = False,
        incr: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> Optional[Union[int, float]]:
        """``ZADD``: sets the ``member -> score`` pairs of ``mapping`` (one
        atomic write). Returns the number of members added (with ``ch``:
        added or changed); with ``incr`` (one pair only) the member's new
        score, or ``None`` if ``nx``/``xx``/``gt``/``lt`` skipped it.
        Raises :class:`WrongTypeError` if ``name`` holds a string."""
        if not mapping:
            raise InvalidArgumentError("libkv: ZADD requires at least one element/score pair")
        if nx and xx:
            raise InvalidArgumentError("libkv: ZADD allows either 'nx' or 'xx', not both")
        if gt and lt:
            raise InvalidArgumentError("libkv: ZADD allows either 'gt' or 'lt', not both")
        if incr and len(mapping) != 1:
            raise InvalidArgumentError("libkv: ZADD option 'incr' only works when passing a single element/score pair")
        if nx and (gt or lt):
            raise InvalidArgumentError("libkv: only one of 'nx', 'lt', or 'gt' may be defined")
        flags = (
            (_ffi.ZADD_NX if nx else 0)
            | (_ffi.ZADD_XX if xx else 0)
            | (_ffi.ZADD_CH if ch else 0)
            | (_ffi.ZADD_INCR if incr else 0)
            | (_ffi.ZADD_GT if gt else 0)
            | (_ffi.ZADD_LT if lt else 0)
        )
        members, keep = _slices(list(mapping.keys()))
        n = len(keep)
        scores = (c_double * n)(*(score(v) for v in mapping.values()))
        k = enc(name)
        r = _ffi.ZaddReply()
        check(_lib.kv_zset_add(self._h, k, len(k), flags, scores, members, n, byref(r)))
        if incr:
            return r.score if r.has_score else None
        return int(r.count)

    def zincrby(self, name: KeyT, amount: ScoreT, value: EncodableT) -> float:
        """``ZINCRBY``: adds ``amount`` to ``value``'s score (a new member
        starts at 0); the new score."""
        k = enc(name)
        m = enc(value)
        out = c_double()
        check(_lib.kv_zset_incrby(self._h, k, len(k), score(amount, "amount"), m, len(m), byref(out)))
        return out.value

    def zrem(self, name: KeyT, *values: EncodableT) -> int:
        """``ZREM``: removes the members; how many existed. Removing the
        last member deletes the key."""
        k = enc(name)
        arr, keep = _slices(values)
        out = c_uint64()
        check(_lib.kv_zset_rem(self._h, k, len(k), arr, len(keep), byref(out)))
        return out.value

    def zpopmin(self, name: KeyT, count: Optional[int] = None) -> list[tuple[bytes, float]]:
        """``ZPOPMIN``: removes and returns up to ``count`` (default 1)
        lowest-scored members as ``(member, score)``, lowest first."""
        return self._zpop(_lib.kv_zset_popmin, name, count)

    def zpopmax(self, name: KeyT, count: Optional[int] = None) -> list[tuple[bytes, float]]:
        """``ZPOPMAX``: as :meth:`zpopmin` for the highest scores, highest
        first."""
        return self._zpop(_lib.kv_zset_popmax, name, count)

    def _zpop(self, fn: Any, name: KeyT, count: Optional[int]) -> list[tuple[bytes, float]]:
        n = 1 if count is None else i64(count, "count")
        if n < 0:
            raise InvalidArgumentError(_ZPOP_NEGATIVE)
        k = enc(name)
        e = c_void_p()
        check(fn(self._h, k, len(k), n, byref(e)))
        return _take_entries(e.value)

    def zremrangebyrank(self, name: KeyT, min: int, max: int) -> int:
        """``ZREMRANGEBYRANK``: removes the members with ranks ``min`` to
        ``max`` inclusive (negative counts from the highest); how many."""
        k = enc(name)
        out = c_uint64()
        check(_lib.kv_zset_remrangebyrank(self._h, k, len(k), _rank(min, "min"), _rank(max, "max"), byref(out)))
        return out.value

    def zremrangebyscore(self, name: KeyT, min: ZScoreBoundT, max: ZScoreBoundT) -> int:
        """``ZREMRANGEBYSCORE``: removes the members with a score between
        ``min`` and ``max`` (``"(1"`` exclusive, ``"-inf"``, ``"+inf"``);
        how many."""
        return self._two_bounds(_lib.kv_zset_remrangebyscore, name, min, max)

    def zremrangebylex(self, name: KeyT, min: EncodableT, max: EncodableT) -> int:
        """``ZREMRANGEBYLEX``: removes the members between ``min`` and
        ``max`` (``"[a"``, ``"(a"``, ``"-"``, ``"+"``); how many."""
        return self._two_bounds(_lib.kv_zset_remrangebylex, name, min, max)

    def _store(self, fn: Any, dest: KeyT, keys: Any, aggregate: Optional[str]) -> int:
        names, weights = _keys_and_weights(keys)
        agg = _ffi.AGGREGATE["SUM"]
        if aggregate:
            up = aggregate.upper()
            if up == "COUNT":  # Redis 8 only
                raise InvalidArgumentError("ERR syntax error")
            if up not in _ffi.AGGREGATE:
                raise InvalidArgumentError("libkv: aggregate can be sum, min, max or count.")
            agg = _ffi.AGGREGATE[up]
        d = enc(dest)
        arr, keep = _slices(names)
        out = c_uint64()
        check(fn(self._h, d, len(d), arr, len(keep), weights, agg, byref(out)))
        return out.value

    def zunionstore(
        self, dest: KeyT, keys: Union[Sequence[KeyT], Mapping[KeyT, float]], aggregate: Optional[str] = None
    ) -> int:
        """``ZUNIONSTORE``: stores at ``dest`` the union of the sorted sets
        ``keys`` (a list, or a dict of key -> weight), scores combined by
        ``aggregate`` (``"SUM"`` default, ``"MIN"``, ``"MAX"``); its size.
        Missing keys are empty sets; ``dest`` is replaced atomically."""
        return self._store(_lib.kv_zset_unionstore, dest, keys, aggregate)

    def zinterstore(
        self, dest: KeyT, keys: Union[Sequence[KeyT], Mapping[KeyT, float]], aggregate: Optional[str] = None
    ) -> int:
        """``ZINTERSTORE``: as :meth:`zunionstore` for the members present
        in every input."""
        return self._store(_lib.kv_zset_interstore, dest, keys, aggregate)

    def zdiffstore(self, dest: KeyT, keys: Union[Iterable[KeyT], KeyT]) -> int:
        """``ZDIFFSTORE``: stores at ``dest`` the members of the first set
        absent from the others (with the first set's scores); its size."""
        names = [keys] if isinstance(keys, (bytes, str)) else list(keys)
        d = enc(dest)
        arr, keep = _slices(names)
        out = c_uint64()
        check(_lib.kv_zset_diffstore(self._h, d, len(d), arr, len(keep), byref(out)))
        return out.value

    # ---------------------------------------------------------------- read

    def zscore(self, name: KeyT, value: EncodableT) -> Optional[float]:
        """``ZSCORE``: the member's score, or ``None`` if the key or member
        is missing."""
        k = enc(name)
        m = enc(value)
        out = c_double()
        st = _lib.kv_zset_score(self._h, k, len(k), m, len(m), byref(out))
        if st == _NOT_FOUND:
            return None
        if st:
            raise error_for(st)
        return out.value

    def zmscore(self, key: KeyT, members: Sequence[EncodableT]) -> list[Optional[float]]:
        """``ZMSCORE``: the scores of ``members`` (``None`` for a missing
        one)."""
        if not members:
            raise InvalidArgumentError("libkv: ZMSCORE members must be a non-empty list")
        k = enc(key)
        arr, keep = _slices(members)
        n = len(keep)
        scores = (c_double * n)()
        found = (c_bool * n)()
        check(_lib.kv_zset_mscore(self._h, k, len(k), arr, n, scores, found))
        return [scores[i] if found[i] else None for i in range(n)]

    def zcard(self, name: KeyT) -> int:
        """``ZCARD``: the number of members (0 if missing)."""
        k = enc(name)
        out = c_uint64()
        check(_lib.kv_zset_card(self._h, k, len(k), byref(out)))
        return out.value

    def _two_bounds(self, fn: Any, name: KeyT, lo: Any, hi: Any) -> int:
        k = enc(name)
        a = enc(lo)
        b = enc(hi)
        out = c_uint64()
        check(fn(self._h, k, len(k), a, len(a), b, len(b), byref(out)))
        return out.value

    def zcount(self, name: KeyT, min: ZScoreBoundT, max: ZScoreBoundT) -> int:
        """``ZCOUNT``: the number of members with a score between ``min``
        and ``max`` (numbers, ``"-inf"``, ``"+inf"``, ``"(1.5"``)."""
        return self._two_bounds(_lib.kv_zset_count, name, min, max)

    def zlexcount(self, name: KeyT, min: EncodableT, max: EncodableT) -> int:
        """``ZLEXCOUNT``: the number of members between ``min`` and ``max``
        (``"-"``, ``"+"``, ``"[a"`` inclusive, ``"(a"`` exclusive)."""
        return self._two_bounds(_lib.kv_zset_lexcount, name, min, max)

    def _rank_of(
        self, name: KeyT, value: EncodableT, rev: bool, withscore: bool, func: ScoreCastT
    ) -> Union[None, int, list[Any]]:
        k = enc(name)
        m = enc(value)
        rank = c_uint64()
        s = c_double()
        st = _lib.kv_zset_rank(self._h, k, len(k), m, len(m), rev, byref(rank), byref(s))
        if st == _NOT_FOUND:
            return None
        if st:
            raise error_for(st)
        if not withscore:
            return int(rank.value)
        cast = _caster(func)
        return [rank.value, s.value if cast is None else cast(s.value)]

    def zrank(
        self, name: KeyT, value: EncodableT, withscore: bool = False, score_cast_func: ScoreCastT = float
    ) -> Union[None, int, list[Any]]:
        """``ZRANK``: the member's 0-based rank by ascending score, or
        ``None``; with ``withscore`` ``[rank, score]``."""
        return self._rank_of(name, value, False, withscore, score_cast_func)

    def zrevrank(
        self, name: KeyT, value: EncodableT, withscore: bool = False, score_cast_func: ScoreCastT = float
    ) -> Union[None, int, list[Any]]:
        """``ZREVRANK``: the member's 0-based rank by descending score, or
        ``None``; with ``withscore`` ``[rank, score]``."""
        return self._rank_of(name, value, True, withscore, score_cast_func)

    def _range(
        self,
        name: KeyT,
        by: int,
        lo: Any,
        hi: Any,
        rev: bool,
        offset: Optional[int],
        num: Optional[int],
    ) -> list[tuple[bytes, float]]:
        k = enc(name)
        a = _ffi.ZrangeArgs()
        a.by = by
        a.rev = rev
        if by == _ffi.ZRANGE_BY_RANK:
            a.start = _rank(lo, "start")
            a.stop = _rank(hi, "end")
            keep: tuple[bytes, ...] = ()
        else:
            lo_b, hi_b = enc(lo), enc(hi)
            keep = (lo_b, hi_b)  # the struct points into these
            a.min.data, a.min.len = lo_b, len(lo_b)
            a.max.data, a.max.len = hi_b, len(hi_b)
        if offset is not None and num is not None:
            a.has_limit = True
            a.offset = i64(offset, "offset")
            a.count = i64(num, "num")
        e = c_void_p()
        check(_lib.kv_zset_range(self._h, k, len(k), byref(a), byref(e)))
        del keep
        return _take_entries(e.value)

    def zrange(
        self,
        name: KeyT,
        start: EncodableT,
        end: EncodableT,
        desc: bool = False,
        withscores: bool = False,
        score_cast_func: ScoreCastT = float,
        byscore: bool = False,
        bylex: bool = False,
        offset: Optional[int] = None,
        num: Optional[int] = None,
    ) -> list[Any]:
        """``ZRANGE``: the members from rank ``start`` to ``end`` inclusive
        (negative counts from the end); with ``byscore``/``bylex`` those
        between the bounds ``start`` and ``end`` (with ``desc``, ``start``
        is the upper bound, as Redis's ``REV``). ``desc``: highest first;
        ``offset``/``num``: Redis's ``LIMIT`` (byscore/bylex only).
        ``withscores``: ``(member, score_cast_func(score))`` tuples."""
        if byscore and bylex:
            raise InvalidArgumentError("libkv: ``byscore`` and ``bylex`` can not be specified together.")
        _limit(offset, num, "``offset`` and ``num``")
        if bylex and withscores:
            raise InvalidArgumentError("libkv: ``withscores`` not supported in combination with ``bylex``.")
        if byscore or bylex:
            by = _ffi.ZRANGE_BY_SCORE if byscore else _ffi.ZRANGE_BY_LEX
            lo, hi = (end, start) if desc else (start, end)
            entries = self._range(name, by, lo, hi, desc, offset, num)
        else:
            entries = self._range(name, _ffi.ZRANGE_BY_RANK, start, end, desc, offset, num)
        return _pairs_reply(entries, withscores, score_cast_func)

    def zrevrange(
        self, name: KeyT, start: int, end: int, withscores: bool = False, score_cast_func: ScoreCastT = float
    ) -> list[Any]:
        """``ZREVRANGE``: the members from rank ``start`` to ``end`` by
        descending score."""
        entries = self._range(name, _ffi.ZRANGE_BY_RANK, start, end, True, None, None)
        return _pairs_reply(entries, withscores, score_cast_func)

    def zrangebyscore(
        self,
        name: KeyT,
        min: ZScoreBoundT,
        max: ZScoreBoundT,
        start: Optional[int] = None,
        num: Optional[int] = None,
        withscores: bool = False,
        score_cast_func: ScoreCastT = float,
    ) -> list[Any]:
        """``ZRANGEBYSCORE``: the members with a score between ``min`` and
        ``max``, lowest first; ``start``/``num``: ``LIMIT``."""
        _limit(start, num, "``start`` and ``num``")
        entries = self._range(name, _ffi.ZRANGE_BY_SCORE, min, max, False, start, num)
        return _pairs_reply(entries, withscores, score_cast_func)

    def zrevrangebyscore(
        self,
        name: KeyT,
        max: ZScoreBoundT,
        min: ZScoreBoundT,
        start: Optional[int] = None,
        num: Optional[int] = None,
        withscores: bool = False,
        score_cast_func: ScoreCastT = float,
    ) -> list[Any]:
        """``ZREVRANGEBYSCORE``: as :meth:`zrangebyscore`, highest first
        (note the ``max, min`` order)."""
        _limit(start, num, "``start`` and ``num``")
        entries = self._range(name, _ffi.ZRANGE_BY_SCORE, min, max, True, start, num)
        return _pairs_reply(entries, withscores, score_cast_func)

    def zrangebylex(
        self, name: KeyT, min: EncodableT, max: EncodableT, start: Optional[int] = None, num: Optional[int] = None
    ) -> list[bytes]:
        """``ZRANGEBYLEX``: the members between ``min`` and ``max``
        (``"-"``, ``"+"``, ``"[a"``, ``"(a"``) in byte order."""
        _limit(start, num, "``start`` and ``num``")
        return [m for m, _ in self._range(name, _ffi.ZRANGE_BY_LEX, min, max, False, start, num)]

    def zrevrangebylex(
        self, name: KeyT, max: EncodableT, min: EncodableT, start: Optional[int] = None, num: Optional[int] = None
    ) -> list[bytes]:
        """``ZREVRANGEBYLEX``: as :meth:`zrangebylex` in reverse order."""
        _limit(start, num, "``start`` and ``num``")
        return [m for m, _ in self._range(name, _ffi.ZRANGE_BY_LEX, min, max, True, start, num)]

    def zrandmember(
        self, key: KeyT, count: Optional[int] = None, withscores: bool = False
    ) -> Union[None, bytes, list[bytes]]:
        """``ZRANDMEMBER``: without ``count`` one random member (``None``
        if the key is missing); with a positive ``count`` up to ``count``
        distinct members, with a negative one exactly ``-count`` members,
        repeats allowed. With ``withscores`` the list alternates member and
        score, the score as the reply's bytes (``[b"a", b"1.5", ...]``:
        redis-py does not convert ZRANDMEMBER scores)."""
        k = enc(key)
        e = c_void_p()
        if count is None:
            if withscores:  # Redis reads WITHSCORES as the count
                raise InvalidArgumentError("ERR value is not an integer or out of range")
            check(_lib.kv_zset_randmember(self._h, k, len(k), 1, False, byref(e)))
            one = _take_entries(e.value)
            return one[0][0] if one else None
        check(_lib.kv_zset_randmember(self._h, k, len(k), i64(count, "count"), withscores, byref(e)))
        entries = _take_entries(e.value)
        if not withscores:
            return [m for m, _ in entries]
        out: list[bytes] = []
        for m, s in entries:
            out.append(m)
            out.append(format_score(s))
        return out


__all__ = ["SortedSetCommands", "format_score", "score"]
