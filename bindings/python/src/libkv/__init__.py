"""libkv: a persistent key-value store with Redis semantics, for Python.

>>> import libkv
>>> with libkv.open("/tmp/demo-db", fsync="no") as db:
...     db["greeting"] = "hello"
...     db.set("session", "x", ex=60)
...     db["greeting"]
b'hello'

A :class:`DB` is dict-like (``db[k] = v``, ``db[k]``, ``del db[k]``,
``k in db``, ``len(db)``, iteration) and has the Redis commands libkv
implements with the signatures and return values of
``redis.Redis(decode_responses=False)``. See ``bindings/python/README.md``.
"""

from __future__ import annotations

from ._ffi import abi_version as _abi_version, library_path, version as _version
from .batch import Batch
from .db import DB, open
from .errors import (
    BatchTooLargeError,
    ClosedError,
    CorruptionError,
    Error,
    InternalError,
    InvalidArgumentError,
    IOError_,
    KeyTooLargeError,
    LibkvIOError,
    LibkvOverflowError,
    LockedError,
    NotFloatError,
    NotFoundError,
    NotIntegerError,
    OverflowError_,
    PoisonedError,
    TooLargeError,
    ValueTooLargeError,
    WrongTypeError,
)

__version__ = "0.1.0"


def library_version() -> str:
    """The version of the loaded C library (``kv_version``)."""
    return _version()


def library_abi_version() -> int:
    """The ABI version of the loaded C library (``kv_abi_version``), which
    import checked against the one this package was written for."""
    return _abi_version()


__all__ = [
    "DB",
    "Batch",
    "open",
    "library_path",
    "library_version",
    "library_abi_version",
    "Error",
    "NotFoundError",
    "InvalidArgumentError",
    "LibkvIOError",
    "IOError_",
    "CorruptionError",
    "LockedError",
    "PoisonedError",
    "WrongTypeError",
    "NotIntegerError",
    "NotFloatError",
    "LibkvOverflowError",
    "OverflowError_",
    "TooLargeError",
    "KeyTooLargeError",
    "ValueTooLargeError",
    "BatchTooLargeError",
    "ClosedError",
    "InternalError",
]
