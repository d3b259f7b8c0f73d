"""Argument conversion the way redis-py encodes commands: keys and values
become ``bytes``; times become integers of seconds or milliseconds."""

from __future__ import annotations

import datetime
import operator
from typing import Union

from .errors import InvalidArgumentError, NotIntegerError

#: What a key may be.
KeyT = Union[bytes, str, bytearray, memoryview]
#: What a value may be (numbers are stored as their decimal text, as redis-py
#: sends them).
EncodableT = Union[bytes, bytearray, memoryview, str, int, float]
#: A relative expiry: seconds (or milliseconds for the ``p`` variants) or a
#: ``timedelta``.
ExpiryT = Union[int, datetime.timedelta]
#: An absolute expiry: Unix seconds (or milliseconds) or a ``datetime``.
AbsExpiryT = Union[int, datetime.datetime]

_I64_MIN = -(2**63)
_I64_MAX = 2**63 - 1


def enc(value: EncodableT) -> bytes:
    """``value`` as bytes: UTF-8 for ``str``, decimal text for ``int`` and
    ``float`` (``repr``, as redis-py). ``bool`` and other types are refused,
    as redis-py refuses them."""
    t = type(value)
    if t is bytes:
        return value  # type: ignore[return-value]
    if t is str:
        return value.encode()  # type: ignore[union-attr]
    if isinstance(value, bool):
        raise TypeError("libkv: invalid input of type 'bool'; convert to bytes, str, int or float first")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, int):
        return str(int(value)).encode()
    if isinstance(value, float):
        return repr(float(value)).encode()
    raise TypeError(
        f"libkv: invalid input of type {type(value).__name__!r}; convert to bytes, str, int or float first"
    )


def i64(value: int, what: str = "value") -> int:
    """``value`` as an integer that fits a C ``int64_t``; Redis's "not an
    integer or out of range" otherwise."""
    try:
        n = operator.index(value)
    except TypeError:
        raise TypeError(f"libkv: {what} must be an int, not {type(value).__name__}") from None
    if not _I64_MIN <= n <= _I64_MAX:
        raise NotIntegerError(f"ERR {what} is not an integer or out of range")
    return n


def seconds(value: ExpiryT, what: str = "time") -> int:
    """A relative time in whole seconds (a ``timedelta`` is truncated, as
    redis-py does)."""
    if isinstance(value, datetime.timedelta):
        return i64(int(value.total_seconds()), what)
    return i64(value, what)


def millis(value: ExpiryT, what: str = "time") -> int:
    """A relative time in whole milliseconds."""
    if isinstance(value, datetime.timedelta):
        return i64(int(value.total_seconds() * 1000), what)
    return i64(value, what)


def unix_seconds(value: AbsExpiryT, what: str = "when") -> int:
    """An absolute time in Unix seconds (a naive ``datetime`` is local time,
    as in ``datetime.timestamp``)."""
    if isinstance(value, datetime.datetime):
        return i64(int(value.timestamp()), what)
    return i64(value, what)


def unix_millis(value: AbsExpiryT, what: str = "when") -> int:
    """An absolute time in Unix milliseconds."""
    if isinstance(value, datetime.datetime):
        return i64(int(value.timestamp() * 1000), what)
    return i64(value, what)


def only_one(what: str, **given: object) -> None:
    """Raises unless at most one of ``given`` is set (not None/False)."""
    names = [k for k, v in given.items() if v is not None and v is not False]
    if len(names) > 1:
        raise InvalidArgumentError(f"libkv: {what} are mutually exclusive (got {', '.join(names)})")
