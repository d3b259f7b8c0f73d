"""The exceptions of libkv, one per C status code.

Every exception derives from :class:`Error` and carries the C status
(``status``) and the C library's detailed message. Errors about a bad
argument or value also derive from :class:`ValueError`, a missing key from
:class:`KeyError`, and an operating-system failure from :class:`OSError`, so
generic ``except`` clauses keep working.
"""

from __future__ import annotations

from . import _ffi


class Error(Exception):
    """Base of every libkv error. ``status`` is the C ``kv_status`` code."""

    status: int = -1

    def __init__(self, message: object = "", status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


class NotFoundError(Error, KeyError):
    """A key does not exist (raised by ``db[key]``/``del db[key]``; the
    redis-py methods return ``None`` instead)."""

    status = _ffi.NOT_FOUND

    def __str__(self) -> str:  # as KeyError: the missing key, repr'd
        return repr(self.args[0]) if self.args else ""


class InvalidArgumentError(Error, ValueError):
    """An argument libkv or Redis rejects (empty key, bad expire time,
    incompatible options...)."""

    status = _ffi.INVALID_ARGUMENT


class LibkvIOError(Error, OSError):
    """An operating-system I/O error inside libkv."""

    status = _ffi.IO


IOError_ = LibkvIOError
"""Alias of :class:`LibkvIOError`."""


class CorruptionError(Error):
    """A database file holds bytes that do not decode."""

    status = _ffi.CORRUPTION


class LockedError(Error):
    """Another handle (in this or another process) has the directory open."""

    status = _ffi.LOCKED


class PoisonedError(Error):
    """An earlier write or fsync failed; writes are refused until reopen."""

    status = _ffi.POISONED


class WrongTypeError(Error, TypeError):
    """The key holds a value of another type (Redis ``WRONGTYPE``)."""

    status = _ffi.WRONG_TYPE


class NotIntegerError(Error, ValueError):
    """The value is not an integer or is out of range."""

    status = _ffi.NOT_INTEGER


class NotFloatError(Error, ValueError):
    """The value is not a valid float."""

    status = _ffi.NOT_FLOAT


class LibkvOverflowError(Error, ValueError):
    """An increment or decrement would overflow."""

    status = _ffi.OVERFLOW


OverflowError_ = LibkvOverflowError
"""Alias of :class:`LibkvOverflowError`."""


class TooLargeError(Error, ValueError):
    """Base of the size-limit errors."""


class KeyTooLargeError(TooLargeError):
    """The key is longer than the ``max_key_size`` option."""

    status = _ffi.KEY_TOO_LARGE


class ValueTooLargeError(TooLargeError):
    """The value is longer than the ``max_value_size`` option."""

    status = _ffi.VALUE_TOO_LARGE


class BatchTooLargeError(TooLargeError):
    """The batch holds more operations or bytes than the options allow."""

    status = _ffi.BATCH_TOO_LARGE


class ClosedError(Error):
    """The database was closed."""

    status = _ffi.CLOSED


class InternalError(Error):
    """A bug inside libkv (including a caught Rust panic); please report it."""

    status = _ffi.INTERNAL


_BY_STATUS: dict[int, type[Error]] = {
    cls.status: cls
    for cls in (
        NotFoundError,
        InvalidArgumentError,
        LibkvIOError,
        CorruptionError,
        LockedError,
        PoisonedError,
        WrongTypeError,
        NotIntegerError,
        NotFloatError,
        LibkvOverflowError,
        KeyTooLargeError,
        ValueTooLargeError,
        BatchTooLargeError,
        ClosedError,
        InternalError,
    )
}


def error_for(status: int) -> Error:
    """The exception for C status ``status``, with the calling thread's last
    error message from libkv. Call it right after the failing call, on the
    same thread (the message is per thread)."""
    raw: bytes = _ffi.lib.kv_last_error_message()
    message = raw.decode("utf-8", "replace") if raw else ""
    if not message:
        desc: bytes = _ffi.lib.kv_strerror(status)
        message = desc.decode("utf-8", "replace")
    cls = _BY_STATUS.get(status, InternalError)
    return cls(message, status)


def check(status: int) -> None:
    """Raises the exception for ``status`` unless it is ``KV_OK``."""
    if status:
        raise error_for(status)
