"""The :class:`DB` handle: dict-like access plus the Redis commands libkv
implements, with the names, arguments and return values of
``redis.Redis(decode_responses=False)``."""

from __future__ import annotations

import ctypes
import os
import threading
import weakref
from ctypes import byref, c_bool, c_int64, c_size_t, c_uint64, c_void_p
from typing import Any, Iterable, Iterator, Literal, Mapping, Optional, Union

from . import _ffi
from ._convert import (
    AbsExpiryT,
    EncodableT,
    ExpiryT,
    KeyT,
    enc,
    i64,
    millis,
    only_one,
    seconds,
    unix_millis,
    unix_seconds,
)
from .batch import Batch
from .errors import ClosedError, InvalidArgumentError, NotFoundError, check, error_for
from .zset import SortedSetCommands

_lib = _ffi.lib
_get_into = _lib.kv_db_get_into
_get = _lib.kv_db_get
_put = _lib.kv_db_put
_string_at = ctypes.string_at
_BUFFER_TOO_SMALL = _ffi.BUFFER_TOO_SMALL
_NOT_FOUND = _ffi.NOT_FOUND

#: Size of the per-thread buffer ``get`` reads into; longer values take the
#: allocating path (one more FFI call, to free libkv's copy).
GET_BUFFER_BYTES = 64 * 1024

FsyncPolicy = Literal["always", "everysec", "no"]

PathT = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]

# open() option name -> (C setter, Python type check).
_OPTIONS: dict[str, tuple[str, type]] = {
    "max_segment_size": ("kv_options_set_max_segment_size", int),
    "max_key_size": ("kv_options_set_max_key_size", int),
    "max_value_size": ("kv_options_set_max_value_size", int),
    "max_batch_ops": ("kv_options_set_max_batch_ops", int),
    "max_batch_size": ("kv_options_set_max_batch_size", int),
    "compression_threshold": ("kv_options_set_compression_threshold", int),
    "preallocate": ("kv_options_set_preallocate", bool),
    "auto_compaction": ("kv_options_set_auto_compaction", bool),
    "compaction_direct_io": ("kv_options_set_compaction_direct_io", bool),
    "compaction_min_dead_ratio": ("kv_options_set_compaction_min_dead_ratio", float),
    "compaction_min_dead_bytes": ("kv_options_set_compaction_min_dead_bytes", int),
    "compaction_rate_limit": ("kv_options_set_compaction_rate_limit", int),
    "compaction_busy_rate_limit": ("kv_options_set_compaction_busy_rate_limit", int),
    "compaction_threads": ("kv_options_set_compaction_threads", int),
    "active_expiry": ("kv_options_set_active_expiry", bool),
    "active_expiry_interval_ms": ("kv_options_set_active_expiry_interval_ms", int),
    "active_expiry_budget_ms": ("kv_options_set_active_expiry_budget_ms", int),
}


class _Scratch(threading.local):
    """Per-thread reusable output buffer for ``get``: no allocation in libkv,
    no buffer allocation in Python, one copy into the result ``bytes``."""

    def __init__(self) -> None:
        self.buf = ctypes.create_string_buffer(GET_BUFFER_BYTES)
        self.view = memoryview(self.buf)
        self.n = c_size_t()
        self.n_ref = byref(self.n)


def _make_options(fsync: str, options: Mapping[str, Any]) -> int:
    opts = _lib.kv_options_new()
    if not opts:
        raise error_for(_ffi.INTERNAL)
    try:
        if fsync not in _ffi.FSYNC:
            raise InvalidArgumentError(f"libkv: fsync must be 'always', 'everysec' or 'no', not {fsync!r}")
        check(_lib.kv_options_set_fsync(opts, _ffi.FSYNC[fsync]))
        for name, value in options.items():
            if name == "recovery":
                if value not in _ffi.RECOVERY:
                    raise InvalidArgumentError(f"libkv: recovery must be 'strict' or 'salvage', not {value!r}")
                check(_lib.kv_options_set_recovery(opts, _ffi.RECOVERY[value]))
                continue
            if name not in _OPTIONS:
                raise TypeError(f"libkv.open() got an unexpected option {name!r}")
            setter, kind = _OPTIONS[name]
            if kind is bool:
                if not isinstance(value, bool):
                    raise TypeError(f"libkv: option {name} must be a bool")
            elif kind is float:
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise TypeError(f"libkv: option {name} must be a number")
                value = float(value)
            else:
                if isinstance(value, bool) or not isinstance(value, int):
                    raise TypeError(f"libkv: option {name} must be an int")
                if not 0 <= value < 2**64:
                    raise InvalidArgumentError(f"libkv: option {name} out of range: {value}")
            check(getattr(_lib, setter)(opts, value))
        return int(opts)
    except BaseException:
        _lib.kv_options_free(opts)
        raise


def open(path: PathT, fsync: FsyncPolicy = "always", **options: Any) -> DB:  # noqa: A001
    """Opens (creating if needed) the database in directory ``path``.

    ``fsync``: ``"always"`` (a write returns once durable; group commit),
    ``"everysec"`` (synced about once a second) or ``"no"`` (the OS decides;
    a process crash loses nothing, a power cut may).

    ``options`` (all optional, as in the C API): ``recovery`` (``"strict"``
    or ``"salvage"``), ``max_segment_size``, ``max_key_size``,
    ``max_value_size``, ``max_batch_ops``, ``max_batch_size``,
    ``compression_threshold`` (bytes), ``preallocate``, ``auto_compaction``,
    ``compaction_direct_io``,
    ``compaction_min_dead_ratio``, ``compaction_min_dead_bytes``,
    ``compaction_rate_limit`` (bytes/s), ``compaction_busy_rate_limit``
    (bytes/s while ``fsync="always"`` commits run; default 64 MB/s, 0 =
    unthrottled), ``compaction_threads`` (1 or 2), ``active_expiry``,
    ``active_expiry_interval_ms``, ``active_expiry_budget_ms``.

    Raises :class:`LockedError` if another handle has the directory open,
    :class:`CorruptionError` on damaged files under strict recovery,
    :class:`LibkvIOError`, :class:`InvalidArgumentError` for a bad option.
    """
    return DB(path, fsync, **options)


class DB(SortedSetCommands):
    """An open libkv database. Create with :func:`libkv.open`.

    Thread-safe: share one ``DB`` between threads. ctypes releases the GIL
    during each libkv call, so calls from several threads run in parallel
    inside libkv (writers share fsyncs through group commit).

    After :meth:`close`, every call raises :class:`ClosedError`. The native
    handle is released when the object is garbage-collected.
    """

    def __init__(self, path: PathT, fsync: FsyncPolicy = "always", **options: Any) -> None:
        """Opens the database; see :func:`libkv.open`."""
        self._path = os.fsdecode(path)
        opts = _make_options(fsync, options)
        out = c_void_p()
        try:
            check(_lib.kv_db_open(os.fsencode(path), opts, byref(out)))
        finally:
            _lib.kv_options_free(opts)
        h = out.value
        assert h is not None  # KV_OK always sets the handle
        self._h: int = h
        self._closed = False
        self._scratch = _Scratch()
        # Freed only when unreachable: kv_db_free must not race calls from
        # other threads, while kv_db_close may.
        self._finalizer = weakref.finalize(self, _lib.kv_db_free, h)

    # ----------------------------------------------------------- lifecycle

    @property
    def path(self) -> str:
        """The database directory."""
        return self._path

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def close(self) -> None:
        """Syncs and closes the database and releases its directory lock.
        Waits for calls in flight on other threads. Calling it again does
        nothing. Raises :class:`PoisonedError`/:class:`LibkvIOError` if the
        final sync failed (the database is closed all the same)."""
        if self._closed:
            return
        self._closed = True
        st = _lib.kv_db_close(self._h)
        if st and st != _ffi.CLOSED:
            raise error_for(st)

    def __enter__(self) -> DB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<libkv.DB path={self._path!r} {state}>"

    def sync(self) -> None:
        """Makes every acknowledged write durable now, whatever the fsync
        policy."""
        check(_lib.kv_db_sync(self._h))

    def stats(self) -> dict[str, Union[int, float, bool, list[int]]]:
        """A snapshot of the database's counters (keys, segments, disk and
        dead bytes, reads/writes, fsyncs, group-commit size, hits/misses,
        expiries, merges, recovery figures, ``zset_heap_bytes``,
        ``poisoned``), as in the C ``kv_stats``.
        ``group_commit_histogram`` is a list: element ``i`` counts fsyncs
        that covered ``2**i`` to ``2**(i+1) - 1`` writes (the last one
        open-ended)."""
        s = _ffi.Stats()
        check(_lib.kv_db_stats(self._h, byref(s)))
        out: dict[str, Union[int, float, bool, list[int]]] = {}
        for f in _ffi.Stats._fields_:
            name = f[0]
            v = getattr(s, name)
            out[name] = list(v) if name == "group_commit_histogram" else v
        return out

    def compact(self) -> dict[str, int]:
        """Merges every sealed segment now (the active one is sealed first
        if it holds records) while reads and writes go on; waits for a merge
        already running. Returns what it did: ``input_segments``,
        ``output_segments``, ``input_bytes``, ``output_bytes``,
        ``reclaimed_bytes``, ``records_copied``, ``records_dropped``,
        ``tombstones_kept``, ``duration_ms`` (``input_segments`` 0: nothing
        to merge), ``removal_ms`` (the part of ``duration_ms`` spent retiring
        the merged inputs; a background thread frees them afterwards) and ``inputs_copied_from_index`` (inputs of string
        puts only, whose live records were copied from the index's list
        without reading their dead records)."""
        s = _ffi.CompactionSummary()
        check(_lib.kv_db_compact(self._h, byref(s)))
        return _struct_dict(s)

    def compact_segments(self, ids: Iterable[int]) -> dict[str, int]:
        """Merges exactly the sealed segments ``ids`` (from
        :meth:`segments`), which must form whole, contiguous replay bands
        (:class:`InvalidArgumentError` otherwise). For tools and tests;
        :meth:`compact` is the usual call. Returns as :meth:`compact`."""
        id_list = [int(i) for i in ids]
        if any(not 0 <= i < 2**32 for i in id_list):
            raise InvalidArgumentError("libkv: segment ids are 32-bit unsigned integers")
        arr = (ctypes.c_uint32 * len(id_list))(*id_list)
        s = _ffi.CompactionSummary()
        check(_lib.kv_db_compact_segments(self._h, arr, len(id_list), byref(s)))
        return _struct_dict(s)

    def segments(self) -> list[dict[str, Union[int, bool]]]:
        """The segment files, oldest first: ``id``, ``size_bytes``,
        ``dead_bytes``, ``active`` (the appended-to one, never merged)."""
        n = c_size_t()
        while True:
            cap = n.value + 4  # room for segments created meanwhile
            arr = (_ffi.SegmentInfo * cap)()
            st = _lib.kv_db_segments(self._h, arr, cap, byref(n))
            if st == _BUFFER_TOO_SMALL:
                continue
            check(st)
            return [_struct_dict(arr[i]) for i in range(n.value)]

    def run_expiry_cycle(self) -> dict[str, Union[int, bool]]:
        """Runs one active expiry cycle now (what the background thread does
        every ``active_expiry_interval_ms``; useful with
        ``active_expiry=False``): samples keys with a TTL and purges the
        expired ones. Returns ``samples``, ``sampled_keys``,
        ``expired_keys``, ``budget_exhausted``."""
        r = _ffi.ExpiryCycleReport()
        check(_lib.kv_db_run_expiry_cycle(self._h, byref(r)))
        return _struct_dict(r)

    def batch(self) -> Batch:
        """A new atomic batch of sets and deletes. As a context manager it
        commits on success and discards on exception::

            with db.batch() as b:
                b["a"] = "1"
                b.delete("b")
        """
        return Batch(self)

    # ------------------------------------------------------------ dict API

    def __getitem__(self, name: KeyT) -> bytes:
        """The value of ``name``. Raises :class:`KeyError` (a
        :class:`NotFoundError`) when missing, :class:`WrongTypeError` when it
        holds a sorted set."""
        v = self.get(name)
        if v is None:
            raise NotFoundError(name)
        return v

    def __setitem__(self, name: KeyT, value: EncodableT) -> None:
        """Sets ``name`` to ``value`` (no expiry; replaces any type)."""
        k = enc(name)
        v = enc(value)
        st = _put(self._h, k, len(k), v, len(v))
        if st:
            raise error_for(st)

    def __delitem__(self, name: KeyT) -> None:
        """Deletes ``name``; :class:`KeyError` if it did not exist."""
        if not self._delete_one(enc(name)):
            raise NotFoundError(name)

    def __contains__(self, name: object) -> bool:
        """Whether ``name`` exists (any type, not expired)."""
        k = enc(name)  # type: ignore[arg-type]
        out = c_bool()
        check(_lib.kv_db_exists(self._h, k, len(k), byref(out)))
        return out.value

    def __len__(self) -> int:
        """The number of live keys of every type."""
        return self.dbsize()

    def __iter__(self) -> Iterator[bytes]:
        """Every key (of every type), in byte order."""
        return self.keys()

    def keys(self, prefix: KeyT = b"") -> Iterator[bytes]:
        """The keys (of every type) starting with ``prefix``, in byte order.

        An iterator, as ``dict.keys`` (not redis-py's ``KEYS pattern`` list:
        glob patterns are not supported). The set of keys is fixed when
        iteration starts."""
        return self._iterate(_lib.kv_db_keys, enc(prefix), with_values=False)

    def items(self, prefix: KeyT = b"") -> Iterator[tuple[bytes, bytes]]:
        """``(key, value)`` for the string keys starting with ``prefix``, in
        byte order (sorted-set keys are skipped)."""
        return self._iterate(_lib.kv_db_scan_prefix, enc(prefix), with_values=True)

    def values(self, prefix: KeyT = b"") -> Iterator[bytes]:
        """The values of the string keys starting with ``prefix``."""
        return (v for _, v in self.items(prefix))

    def scan_prefix(self, prefix: KeyT) -> Iterator[tuple[bytes, bytes]]:
        """``(key, value)`` for the string keys starting with ``prefix``, in
        byte order. The set of keys is fixed when the scan starts; values
        are read as it advances (a key deleted meanwhile is skipped)."""
        return self.items(prefix)

    def _iterate(self, start: Any, prefix: bytes, with_values: bool) -> Iterator[Any]:
        it = c_void_p()
        check(start(self._h, prefix, len(prefix), byref(it)))
        assert it.value is not None  # KV_OK always sets the iterator
        return _Iter(it.value, with_values)

    # ------------------------------------------------------------- strings

    def get(self, name: KeyT) -> Optional[bytes]:
        """``GET``: the value, or ``None`` if missing. Raises
        :class:`WrongTypeError` on a sorted set."""
        k = name if type(name) is bytes else enc(name)
        s = self._scratch
        st = _get_into(self._h, k, len(k), s.buf, GET_BUFFER_BYTES, s.n_ref)
        if st == 0:
            return s.view[: s.n.value].tobytes()
        if st == _NOT_FOUND:
            return None
        if st == _BUFFER_TOO_SMALL:
            return self._get_alloc(k)
        raise error_for(st)

    def _get_alloc(self, k: bytes) -> Optional[bytes]:
        b = _ffi.Buf()
        st = _get(self._h, k, len(k), byref(b))
        if st == _NOT_FOUND:
            return None
        check(st)
        return _ffi.take_buf(b)

    def set(
        self,
        name: KeyT,
        value: EncodableT,
        ex: Optional[ExpiryT] = None,
        px: Optional[ExpiryT] = None,
        nx: bool = False,
        xx: bool = False,
        keepttl: bool = False,
        get: bool = False,
        exat: Optional[AbsExpiryT] = None,
        pxat: Optional[AbsExpiryT] = None,
    ) -> Optional[Union[bool, bytes]]:
        """``SET``. Returns ``True`` if written, ``None`` if ``nx``/``xx``
        refused it; with ``get=True`` the old value (or ``None``) instead.

        ``ex``/``px``: seconds/milliseconds from now (int or timedelta);
        ``exat``/``pxat``: Unix seconds/milliseconds (int or datetime);
        ``keepttl``: keep the current expiry. Without any, the key loses its
        TTL. A non-positive expiry raises :class:`InvalidArgumentError`.
        """
        k = enc(name)
        v = enc(value)
        if ex is None and px is None and exat is None and pxat is None and not (nx or xx or keepttl or get):
            st = _put(self._h, k, len(k), v, len(v))
            if st:
                raise error_for(st)
            return True
        only_one("ex, px, exat, pxat and keepttl", ex=ex, px=px, exat=exat, pxat=pxat, keepttl=keepttl)
        if nx and xx:
            raise InvalidArgumentError("libkv: nx and xx are mutually exclusive")
        a = _ffi.SetArgs()
        if ex is not None:
            a.expiry_kind, a.expiry = _ffi.EXPIRY_EX, seconds(ex, "ex")
        elif px is not None:
            a.expiry_kind, a.expiry = _ffi.EXPIRY_PX, millis(px, "px")
        elif exat is not None:
            a.expiry_kind, a.expiry = _ffi.EXPIRY_EXAT, unix_seconds(exat, "exat")
        elif pxat is not None:
            a.expiry_kind, a.expiry = _ffi.EXPIRY_PXAT, unix_millis(pxat, "pxat")
        elif keepttl:
            a.expiry_kind = _ffi.EXPIRY_KEEPTTL
        a.condition = _ffi.SET_NX if nx else _ffi.SET_XX if xx else _ffi.SET_ALWAYS
        a.get = bool(get)
        written = c_bool()
        old = _ffi.Buf()
        check(_lib.kv_db_set(self._h, k, len(k), v, len(v), byref(a), byref(written), byref(old)))
        if get:
            return _ffi.take_buf(old) if old.data else None
        return True if written.value else None

    def setnx(self, name: KeyT, value: EncodableT) -> bool:
        """``SETNX``: sets ``name`` only if it does not exist; whether it
        did."""
        return self.set(name, value, nx=True) is True

    def setex(self, name: KeyT, time: ExpiryT, value: EncodableT) -> bool:
        """``SETEX``: sets with an expiry of ``time`` seconds."""
        return bool(self.set(name, value, ex=time))

    def psetex(self, name: KeyT, time_ms: ExpiryT, value: EncodableT) -> bool:
        """``PSETEX``: sets with an expiry of ``time_ms`` milliseconds."""
        return bool(self.set(name, value, px=time_ms))

    def getex(
        self,
        name: KeyT,
        ex: Optional[ExpiryT] = None,
        px: Optional[ExpiryT] = None,
        exat: Optional[AbsExpiryT] = None,
        pxat: Optional[AbsExpiryT] = None,
        persist: bool = False,
    ) -> Optional[bytes]:
        """``GETEX``: the value (or ``None``), setting the expiry (``ex``,
        ``px``, ``exat``, ``pxat``) or removing it (``persist``)."""
        only_one("ex, px, exat, pxat and persist", ex=ex, px=px, exat=exat, pxat=pxat, persist=persist)
        k = enc(name)
        kind, t = _ffi.GETEX_NONE, 0
        if ex is not None:
            kind, t = _ffi.GETEX_EX, seconds(ex, "ex")
        elif px is not None:
            kind, t = _ffi.GETEX_PX, millis(px, "px")
        elif exat is not None:
            kind, t = _ffi.GETEX_EXAT, unix_seconds(exat, "exat")
        elif pxat is not None:
            kind, t = _ffi.GETEX_PXAT, unix_millis(pxat, "pxat")
        elif persist:
            kind = _ffi.GETEX_PERSIST
        b = _ffi.Buf()
        st = _lib.kv_db_getex(self._h, k, len(k), kind, t, byref(b))
        if st == _NOT_FOUND:
            return None
        check(st)
        return _ffi.take_buf(b)

    def getdel(self, name: KeyT) -> Optional[bytes]:
        """``GETDEL``: the value (or ``None``), deleting the key."""
        k = enc(name)
        b = _ffi.Buf()
        st = _lib.kv_db_getdel(self._h, k, len(k), byref(b))
        if st == _NOT_FOUND:
            return None
        check(st)
        return _ffi.take_buf(b)

    def getset(self, name: KeyT, value: EncodableT) -> Optional[bytes]:
        """``GETSET``: sets ``value`` and returns the old value (or
        ``None``)."""
        r = self.set(name, value, get=True)
        return r if isinstance(r, bytes) else None

    def mget(self, keys: Union[KeyT, Iterable[KeyT]], *args: KeyT) -> list[Optional[bytes]]:
        """``MGET``: the values of the keys (``None`` for a missing key or
        one that is not a string). ``keys`` is a key or a list of keys;
        ``args`` adds more."""
        names = _list_or_args(keys, args)
        n = len(names)
        if n == 0:
            raise InvalidArgumentError("ERR wrong number of arguments for 'mget' command")
        ks = (_ffi.InSlice * n)()
        for i, name in enumerate(names):
            k = enc(name)
            ks[i].data = k
            ks[i].len = len(k)
        outs = (_ffi.Buf * n)()
        check(_lib.kv_db_mget(self._h, ks, n, outs))
        return [_ffi.take_buf(b) if b.data else None for b in outs]

    def _pairs(self, mapping: Mapping[KeyT, EncodableT], cmd: str) -> tuple[Any, Any, int]:
        n = len(mapping)
        if n == 0:
            raise InvalidArgumentError(f"ERR wrong number of arguments for '{cmd}' command")
        ks = (_ffi.InSlice * n)()
        vs = (_ffi.InSlice * n)()
        for i, (name, value) in enumerate(mapping.items()):
            k = enc(name)
            v = enc(value)
            ks[i].data, ks[i].len = k, len(k)
            vs[i].data, vs[i].len = v, len(v)
        return ks, vs, n

    def mset(self, mapping: Mapping[KeyT, EncodableT]) -> bool:
        """``MSET``: sets every pair atomically (no expiry). Returns
        ``True``."""
        ks, vs, n = self._pairs(mapping, "mset")
        check(_lib.kv_db_mset(self._h, ks, vs, n))
        return True

    def msetnx(self, mapping: Mapping[KeyT, EncodableT]) -> bool:
        """``MSETNX``: sets every pair only if none of the keys exists;
        whether it did."""
        ks, vs, n = self._pairs(mapping, "msetnx")
        out = c_bool()
        check(_lib.kv_db_msetnx(self._h, ks, vs, n, byref(out)))
        return out.value

    def append(self, key: KeyT, value: EncodableT) -> int:
        """``APPEND``: appends (creating the key, keeping its TTL); the new
        length."""
        k = enc(key)
        v = enc(value)
        out = c_uint64()
        check(_lib.kv_db_append(self._h, k, len(k), v, len(v), byref(out)))
        return out.value

    def strlen(self, name: KeyT) -> int:
        """``STRLEN``: the value's length (0 if missing)."""
        k = enc(name)
        out = c_uint64()
        check(_lib.kv_db_strlen(self._h, k, len(k), byref(out)))
        return out.value

    def getrange(self, key: KeyT, start: int, end: int) -> bytes:
        """``GETRANGE``: bytes ``start``..``end`` inclusive (negative counts
        from the end); ``b""`` for a missing key."""
        k = enc(key)
        b = _ffi.Buf()
        check(_lib.kv_db_getrange(self._h, k, len(k), i64(start, "start"), i64(end, "end"), byref(b)))
        return _ffi.take_buf(b)

    def setrange(self, name: KeyT, offset: int, value: EncodableT) -> int:
        """``SETRANGE``: overwrites from ``offset`` (zero-padding); the new
        length."""
        k = enc(name)
        v = enc(value)
        out = c_uint64()
        check(_lib.kv_db_setrange(self._h, k, len(k), i64(offset, "offset"), v, len(v), byref(out)))
        return out.value

    def incrby(self, name: KeyT, amount: int = 1) -> int:
        """``INCRBY``: adds ``amount`` (a missing key counts as 0, the TTL is
        kept); the new value. :class:`NotIntegerError` if the value is not
        an integer, :class:`LibkvOverflowError` on overflow."""
        k = enc(name)
        out = c_int64()
        check(_lib.kv_db_incrby(self._h, k, len(k), i64(amount, "amount"), byref(out)))
        return out.value

    def incr(self, name: KeyT, amount: int = 1) -> int:
        """``INCR``/``INCRBY``: as :meth:`incrby`."""
        return self.incrby(name, amount)

    def decrby(self, name: KeyT, amount: int = 1) -> int:
        """``DECRBY``: subtracts ``amount``; the new value."""
        k = enc(name)
        out = c_int64()
        check(_lib.kv_db_decrby(self._h, k, len(k), i64(amount, "amount"), byref(out)))
        return out.value

    def decr(self, name: KeyT, amount: int = 1) -> int:
        """``DECR``/``DECRBY``: as :meth:`decrby`."""
        return self.decrby(name, amount)

    def incrbyfloat(self, name: KeyT, amount: float = 1.0) -> float:
        """``INCRBYFLOAT``: adds ``amount`` (Redis's long-double arithmetic
        and formatting); the new value as a float."""
        k = enc(name)
        a = enc(amount)
        b = _ffi.Buf()
        check(_lib.kv_db_incrbyfloat(self._h, k, len(k), a, len(a), byref(b)))
        return float(_ffi.take_buf(b))

    # ----------------------------------------------------------------- TTL

    def _expire(self, fn: Any, name: KeyT, t: int, nx: bool, xx: bool, gt: bool, lt: bool) -> bool:
        if nx and (xx or gt or lt):
            raise InvalidArgumentError("ERR NX and XX, GT or LT options at the same time are not compatible")
        if gt and lt:
            raise InvalidArgumentError("ERR GT and LT options at the same time are not compatible")
        if nx:
            cond = _ffi.EXPIRE_NX
        elif gt:  # XX GT == GT: a key without TTL never gets a later expiry
            cond = _ffi.EXPIRE_GT
        elif lt:
            cond = _ffi.EXPIRE_XX_LT if xx else _ffi.EXPIRE_LT
        elif xx:
            cond = _ffi.EXPIRE_XX
        else:
            cond = _ffi.EXPIRE_ALWAYS
        k = enc(name)
        out = c_bool()
        check(fn(self._h, k, len(k), t, cond, byref(out)))
        return out.value

    def expire(
        self, name: KeyT, time: ExpiryT, nx: bool = False, xx: bool = False, gt: bool = False, lt: bool = False
    ) -> bool:
        """``EXPIRE``: expire in ``time`` seconds (int or timedelta), under
        the Redis 7 conditions; whether it was set. A non-positive time
        deletes the key."""
        return self._expire(_lib.kv_db_expire, name, seconds(time), nx, xx, gt, lt)

    def pexpire(
        self, name: KeyT, time: ExpiryT, nx: bool = False, xx: bool = False, gt: bool = False, lt: bool = False
    ) -> bool:
        """``PEXPIRE``: as :meth:`expire` in milliseconds."""
        return self._expire(_lib.kv_db_pexpire, name, millis(time), nx, xx, gt, lt)

    def expireat(
        self, name: KeyT, when: AbsExpiryT, nx: bool = False, xx: bool = False, gt: bool = False, lt: bool = False
    ) -> bool:
        """``EXPIREAT``: expire at Unix time ``when`` (seconds or datetime)."""
        return self._expire(_lib.kv_db_expireat, name, unix_seconds(when), nx, xx, gt, lt)

    def pexpireat(
        self, name: KeyT, when: AbsExpiryT, nx: bool = False, xx: bool = False, gt: bool = False, lt: bool = False
    ) -> bool:
        """``PEXPIREAT``: expire at Unix time ``when`` (ms or datetime)."""
        return self._expire(_lib.kv_db_pexpireat, name, unix_millis(when), nx, xx, gt, lt)

    def _time_query(self, fn: Any, name: KeyT) -> int:
        k = enc(name)
        out = c_int64()
        check(fn(self._h, k, len(k), byref(out)))
        return out.value

    def ttl(self, name: KeyT) -> int:
        """``TTL``: remaining seconds; -2 if missing, -1 without expiry."""
        return self._time_query(_lib.kv_db_ttl, name)

    def pttl(self, name: KeyT) -> int:
        """``PTTL``: remaining milliseconds; -2 if missing, -1 without
        expiry."""
        return self._time_query(_lib.kv_db_pttl, name)

    def expiretime(self, key: KeyT) -> int:
        """``EXPIRETIME``: the expiry as Unix seconds; -2 if missing, -1
        without expiry."""
        return self._time_query(_lib.kv_db_expiretime, key)

    def pexpiretime(self, key: KeyT) -> int:
        """``PEXPIRETIME``: the expiry as Unix milliseconds; -2 / -1."""
        return self._time_query(_lib.kv_db_pexpiretime, key)

    def persist(self, name: KeyT) -> bool:
        """``PERSIST``: removes the expiry; whether there was one."""
        k = enc(name)
        out = c_bool()
        check(_lib.kv_db_persist(self._h, k, len(k), byref(out)))
        return out.value

    # ---------------------------------------------------------------- keys

    def _delete_one(self, k: bytes) -> bool:
        out = c_bool()
        check(_lib.kv_db_delete(self._h, k, len(k), byref(out)))
        return out.value

    def delete(self, *names: KeyT) -> int:
        """``DEL``: deletes the keys (of any type); how many existed. Each
        key is deleted atomically, the keys one after another (use
        :meth:`batch` for all-or-nothing)."""
        return sum(self._delete_one(enc(n)) for n in names)

    def unlink(self, *names: KeyT) -> int:
        """``UNLINK``: as :meth:`delete`."""
        return self.delete(*names)

    def exists(self, *names: KeyT) -> int:
        """``EXISTS``: how many of the keys exist (a key named twice counts
        twice)."""
        out = c_bool()
        ref = byref(out)
        n = 0
        for name in names:
            k = enc(name)
            check(_lib.kv_db_exists(self._h, k, len(k), ref))
            n += out.value
        return n

    def dbsize(self) -> int:
        """``DBSIZE``: the number of live keys of every type."""
        out = c_uint64()
        check(_lib.kv_db_len(self._h, byref(out)))
        return out.value

    # ------------------------------------------------------- beyond Redis

    def compare_and_delete(self, key: KeyT, token: EncodableT) -> bool:
        """Deletes ``key`` only if it holds exactly ``token`` (atomic): the
        safe release of a lock taken with ``set(key, token, nx=True,
        px=...)``. Whether it deleted."""
        k = enc(key)
        t = enc(token)
        out = c_bool()
        check(_lib.kv_db_compare_and_delete(self._h, k, len(k), t, len(t), byref(out)))
        return out.value

    def compare_and_swap(
        self,
        key: KeyT,
        expected: EncodableT,
        new: EncodableT,
        ex: Optional[ExpiryT] = None,
        px: Optional[ExpiryT] = None,
        keepttl: bool = False,
    ) -> bool:
        """Sets ``key`` to ``new`` only if it holds exactly ``expected``
        (atomic); whether it did. The expiry becomes ``ex`` seconds or
        ``px`` milliseconds, is kept with ``keepttl``, else removed."""
        only_one("ex, px and keepttl", ex=ex, px=px, keepttl=keepttl)
        kind, t = _ffi.EXPIRY_NONE, 0
        if ex is not None:
            kind, t = _ffi.EXPIRY_EX, seconds(ex, "ex")
        elif px is not None:
            kind, t = _ffi.EXPIRY_PX, millis(px, "px")
        elif keepttl:
            kind = _ffi.EXPIRY_KEEPTTL
        k = enc(key)
        e = enc(expected)
        n = enc(new)
        out = c_bool()
        check(_lib.kv_db_compare_and_swap(self._h, k, len(k), e, len(e), n, len(n), kind, t, byref(out)))
        return out.value


def _struct_dict(s: Any) -> dict[str, Any]:
    """A ctypes structure's fields as a dict."""
    return {f[0]: getattr(s, f[0]) for f in s._fields_}


def _list_or_args(keys: Any, args: tuple[Any, ...]) -> list[Any]:
    """redis-py's convention: ``keys`` is one key or an iterable of keys."""
    if isinstance(keys, (bytes, str, bytearray, memoryview, int, float)):
        names = [keys]
    else:
        names = list(keys)
    names.extend(args)
    return names


class _Iter:
    """Drives a ``kv_iter``; frees it when exhausted, on :meth:`close`, or
    when garbage-collected (also if never started)."""

    def __init__(self, handle: int, with_values: bool) -> None:
        self._h: Optional[int] = handle
        self._with_values = with_values
        self._k = _ffi.Slice()
        self._v = _ffi.Slice()
        self._kref = byref(self._k)
        self._vref = byref(self._v) if with_values else None
        self._finalizer = weakref.finalize(self, _lib.kv_iter_free, handle)

    def __iter__(self) -> _Iter:
        return self

    def __next__(self) -> Any:
        h = self._h
        if h is None:
            raise StopIteration
        st = _lib.kv_iter_next(h, self._kref, self._vref)
        if st:
            self.close()
            if st == _NOT_FOUND:
                raise StopIteration
            raise error_for(st)
        key = _string_at(self._k.data, self._k.len)
        if self._with_values:
            v = self._v
            return key, (_string_at(v.data, v.len) if v.len else b"")
        return key

    def close(self) -> None:
        """Frees the native iterator now."""
        self._h = None
        self._finalizer()


__all__ = ["DB", "open"]
