"""Atomic batches of sets and deletes (``kv_batch``)."""

from __future__ import annotations

import time
import weakref
from ctypes import byref, c_size_t
from types import TracebackType
from typing import TYPE_CHECKING, Optional

from . import _ffi
from ._convert import EncodableT, ExpiryT, KeyT, enc, millis, only_one, seconds
from .errors import InternalError, InvalidArgumentError, check

if TYPE_CHECKING:
    from .db import DB

_lib = _ffi.lib


class Batch:
    """Sets and deletes applied all-or-nothing (also across a crash) by
    :meth:`commit`. Made by :meth:`DB.batch`.

    As a context manager it commits when the block succeeds and discards
    everything when it raises. Operations are buffered: reads inside the
    block do not see them. Not meant to be filled from several threads at
    once (it is safe, but the order is then unspecified).
    """

    def __init__(self, db: DB) -> None:
        """A new empty batch for ``db``; prefer :meth:`DB.batch`."""
        h = _lib.kv_batch_new()
        if not h:
            raise InternalError("libkv: kv_batch_new failed")
        self._db = db
        self._h: int = h
        self._finalizer = weakref.finalize(self, _lib.kv_batch_free, h)

    def set(self, name: KeyT, value: EncodableT, ex: Optional[ExpiryT] = None, px: Optional[ExpiryT] = None) -> None:
        """Adds a set of ``name`` to ``value``, expiring in ``ex`` seconds
        or ``px`` milliseconds (computed now, from the wall clock), else
        without expiry."""
        only_one("ex and px", ex=ex, px=px)
        k = enc(name)
        v = enc(value)
        if ex is None and px is None:
            check(_lib.kv_batch_put(self._h, k, len(k), v, len(v)))
            return
        ttl_ms = seconds(ex, "ex") * 1000 if ex is not None else millis(px, "px")  # type: ignore[arg-type]
        if ttl_ms <= 0:
            raise InvalidArgumentError("ERR invalid expire time in 'set' command")
        expire_at_ms = int(time.time() * 1000) + ttl_ms
        check(_lib.kv_batch_put_ex(self._h, k, len(k), v, len(v), expire_at_ms))

    def delete(self, *names: KeyT) -> None:
        """Adds deletes of ``names`` (of any type)."""
        for name in names:
            k = enc(name)
            check(_lib.kv_batch_delete(self._h, k, len(k)))

    def __setitem__(self, name: KeyT, value: EncodableT) -> None:
        """``b[k] = v``: as :meth:`set` without expiry."""
        self.set(name, value)

    def __delitem__(self, name: KeyT) -> None:
        """``del b[k]``: as :meth:`delete`."""
        self.delete(name)

    def __len__(self) -> int:
        """The number of buffered operations."""
        out = c_size_t()
        check(_lib.kv_batch_len(self._h, byref(out)))
        return out.value

    def commit(self) -> None:
        """Applies every buffered operation atomically, then empties the
        batch. On failure (:class:`BatchTooLargeError`,
        :class:`KeyTooLargeError`, :class:`PoisonedError`...) nothing is
        applied and the batch keeps its operations."""
        check(_lib.kv_db_write_batch(self._db._h, self._h))
        check(_lib.kv_batch_clear(self._h))

    def discard(self) -> None:
        """Drops every buffered operation."""
        check(_lib.kv_batch_clear(self._h))

    def __enter__(self) -> Batch:
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()
