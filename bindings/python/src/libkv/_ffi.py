"""Loading ``libkv.so`` and declaring the C functions of ``kv.h``.

Every function gets its ``argtypes``/``restype`` once, at import, so a call
does no signature guessing. Byte arguments are declared ``c_char_p``: ctypes
passes a ``bytes`` object's buffer without copying it. ctypes releases the
GIL for the duration of each call (``CDLL``, not ``PyDLL``), so threads
sharing a handle really run in parallel inside libkv.
"""

from __future__ import annotations

import ctypes
import os
from ctypes import (
    POINTER,
    Structure,
    c_bool,
    c_char_p,
    c_double,
    c_int,
    c_int32,
    c_int64,
    c_size_t,
    c_uint8,
    c_uint32,
    c_uint64,
    c_void_p,
)
from pathlib import Path
from typing import Any

#: The ``KV_ABI_VERSION`` of the ``kv.h`` this module's structs and
#: signatures were written for. Loading a library that reports another
#: ``kv_abi_version()`` fails: libkv would read or write past the end of
#: structs laid out for a different version. Bump it together with the
#: structs below, in the commit that bumps ``KV_ABI_VERSION``.
ABI_VERSION = 2

# Status codes (kv_status); the numbers are stable.
OK = 0
NOT_FOUND = 1
INVALID_ARGUMENT = 2
IO = 3
CORRUPTION = 4
LOCKED = 5
POISONED = 6
WRONG_TYPE = 7
NOT_INTEGER = 8
NOT_FLOAT = 9
OVERFLOW = 10
KEY_TOO_LARGE = 11
VALUE_TOO_LARGE = 12
BATCH_TOO_LARGE = 13
BUFFER_TOO_SMALL = 14
CLOSED = 15
INTERNAL = 16

# kv_fsync
FSYNC = {"always": 0, "everysec": 1, "no": 2}
# kv_recovery
RECOVERY = {"strict": 0, "salvage": 1}
# kv_expiry_kind
EXPIRY_NONE, EXPIRY_EX, EXPIRY_PX, EXPIRY_EXAT, EXPIRY_PXAT, EXPIRY_KEEPTTL = range(6)
# kv_set_condition
SET_ALWAYS, SET_NX, SET_XX = range(3)
# kv_expire_condition
EXPIRE_ALWAYS, EXPIRE_NX, EXPIRE_XX, EXPIRE_GT, EXPIRE_LT, EXPIRE_XX_LT = range(6)
# kv_getex_kind
GETEX_NONE, GETEX_EX, GETEX_PX, GETEX_EXAT, GETEX_PXAT, GETEX_PERSIST = range(6)
# kv_zset_add flags (KV_ZADD_*)
ZADD_NX, ZADD_XX, ZADD_GT, ZADD_LT, ZADD_CH, ZADD_INCR = 1, 2, 4, 8, 16, 32
# kv_zrange_by
ZRANGE_BY_RANK, ZRANGE_BY_SCORE, ZRANGE_BY_LEX = range(3)
# kv_aggregate
AGGREGATE = {"SUM": 0, "MIN": 1, "MAX": 2}
# KV_GROUP_COMMIT_BUCKETS
GROUP_COMMIT_BUCKETS = 12


class Buf(Structure):
    """``kv_buf``: bytes owned by the caller, released with ``kv_buf_free``."""

    _fields_ = [("data", POINTER(c_uint8)), ("len", c_size_t)]


class Slice(Structure):
    """``kv_slice`` as filled by libkv (``kv_iter_next``): borrowed bytes."""

    _fields_ = [("data", c_void_p), ("len", c_size_t)]


class InSlice(Structure):
    """``kv_slice`` as passed to libkv: assigning a ``bytes`` object to
    ``data`` points at its buffer and keeps it alive with the struct."""

    _fields_ = [("data", c_char_p), ("len", c_size_t)]


class SetArgs(Structure):
    """``kv_set_args``: the options of ``kv_db_set``."""

    _fields_ = [
        ("expiry_kind", c_int32),
        ("expiry", c_int64),
        ("condition", c_int32),
        ("get", c_bool),
    ]


class Stats(Structure):
    """``kv_stats``: a snapshot of a database's counters."""

    _fields_ = [
        ("keys", c_uint64),
        ("keys_with_ttl", c_uint64),
        ("segments", c_uint64),
        ("disk_bytes", c_uint64),
        ("dead_bytes", c_uint64),
        ("reads", c_uint64),
        ("read_bytes", c_uint64),
        ("writes", c_uint64),
        ("written_bytes", c_uint64),
        ("fsyncs", c_uint64),
        ("synced_writes", c_uint64),
        ("mean_group_commit", c_double),
        ("keyspace_hits", c_uint64),
        ("keyspace_misses", c_uint64),
        ("expired_keys_lazy", c_uint64),
        ("expired_keys_active", c_uint64),
        ("rotations", c_uint64),
        ("keydir_heap_bytes", c_uint64),
        ("recovery_records_replayed", c_uint64),
        ("recovery_torn_tail_bytes_truncated", c_uint64),
        ("recovery_salvaged_bytes_skipped", c_uint64),
        ("recovery_duration_ms", c_uint64),
        ("poisoned", c_bool),
        ("expired_keys", c_uint64),
        ("merges", c_uint64),
        ("merge_reclaimed_bytes", c_uint64),
        ("last_merge_duration_ms", c_uint64),
        ("merge_failures", c_uint64),
        ("recovery_segments_scanned", c_uint64),
        ("recovery_segments_from_hints", c_uint64),
        ("recovery_zero_tail_bytes_trimmed", c_uint64),
        ("recovery_incomplete_files_removed", c_uint64),
        ("recovery_merges_completed", c_uint64),
        ("zset_heap_bytes", c_uint64),
        ("group_commit_histogram", c_uint64 * GROUP_COMMIT_BUCKETS),
    ]


class CompactionSummary(Structure):
    """``kv_compaction_summary``: what one merge did."""

    _fields_ = [
        ("input_segments", c_uint64),
        ("output_segments", c_uint64),
        ("input_bytes", c_uint64),
        ("output_bytes", c_uint64),
        ("reclaimed_bytes", c_uint64),
        ("records_copied", c_uint64),
        ("records_dropped", c_uint64),
        ("tombstones_kept", c_uint64),
        ("duration_ms", c_uint64),
        ("removal_ms", c_uint64),
        ("inputs_copied_from_index", c_uint64),
    ]


class SegmentInfo(Structure):
    """``kv_segment_info``: one segment file."""

    _fields_ = [("id", c_uint32), ("size_bytes", c_uint64), ("dead_bytes", c_uint64), ("active", c_bool)]


class ExpiryCycleReport(Structure):
    """``kv_expiry_cycle_report``: what one active expiry cycle did."""

    _fields_ = [
        ("samples", c_uint64),
        ("sampled_keys", c_uint64),
        ("expired_keys", c_uint64),
        ("budget_exhausted", c_bool),
    ]


class ZaddReply(Structure):
    """``kv_zadd_reply``."""

    _fields_ = [("count", c_uint64), ("score", c_double), ("has_score", c_bool)]


class ZrangeArgs(Structure):
    """``kv_zrange_args``: the selection of ``kv_zset_range``."""

    _fields_ = [
        ("by", c_int32),
        ("start", c_int64),
        ("stop", c_int64),
        ("min", InSlice),
        ("max", InSlice),
        ("rev", c_bool),
        ("has_limit", c_bool),
        ("offset", c_int64),
        ("count", c_int64),
    ]


def library_path() -> str:
    """The ``libkv.so`` to load: ``$LIBKV_LIBRARY`` if set, else the copy
    shipped inside this package."""
    env = os.environ.get("LIBKV_LIBRARY")
    if env:
        return env
    return str(Path(__file__).resolve().parent / "libkv.so")


def _load(path: str, abi_version: int) -> Any:
    """Loads the library at ``path`` and checks that it implements
    ``abi_version``; :class:`ImportError` otherwise, naming both versions."""
    try:
        loaded = ctypes.CDLL(path)
    except OSError as e:
        raise ImportError(
            f"libkv: cannot load the C library {path!r} ({e}); reinstall the package "
            "(pip install ./bindings/python builds it with cargo) or point LIBKV_LIBRARY at a libkv.so"
        ) from e
    # Libraries older than ABI version 2 lack the function: version 1.
    found = 1
    if hasattr(loaded, "kv_abi_version"):
        loaded.kv_abi_version.restype = c_uint32
        loaded.kv_abi_version.argtypes = []
        found = int(loaded.kv_abi_version())
    if found != abi_version:
        raise ImportError(
            f"libkv: the C library {path!r} has ABI version {found}, but this libkv package was "
            f"written for ABI version {abi_version}; install matching versions (pip install "
            "./bindings/python builds the library from the same checkout) or point LIBKV_LIBRARY "
            "at a matching libkv.so"
        )
    return loaded


lib: Any = _load(library_path(), ABI_VERSION)

P = c_void_p  # opaque handles
B = c_char_p  # input bytes (zero-copy from a bytes object)
_pbool = POINTER(c_bool)
_psize = POINTER(c_size_t)
_pu64 = POINTER(c_uint64)
_pi64 = POINTER(c_int64)
_pbuf = POINTER(Buf)
_pslice = POINTER(Slice)
_pin = POINTER(InSlice)
_pdouble = POINTER(c_double)
_pentries = POINTER(c_void_p)

# name -> (restype, argtypes); restype c_int is a kv_status.
_SIGNATURES: dict[str, tuple[Any, list[Any]]] = {
    "kv_abi_version": (c_uint32, []),
    "kv_version": (c_char_p, []),
    "kv_strerror": (c_char_p, [c_int]),
    "kv_last_error_message": (c_char_p, []),
    "kv_buf_free": (None, [_pbuf]),
    # options
    "kv_options_new": (P, []),
    "kv_options_free": (None, [P]),
    "kv_options_set_fsync": (c_int, [P, c_int]),
    "kv_options_set_recovery": (c_int, [P, c_int]),
    "kv_options_set_max_segment_size": (c_int, [P, c_uint64]),
    "kv_options_set_max_key_size": (c_int, [P, c_size_t]),
    "kv_options_set_max_value_size": (c_int, [P, c_size_t]),
    "kv_options_set_max_batch_ops": (c_int, [P, c_size_t]),
    "kv_options_set_max_batch_size": (c_int, [P, c_size_t]),
    "kv_options_set_compression_threshold": (c_int, [P, c_size_t]),
    "kv_options_set_preallocate": (c_int, [P, c_bool]),
    "kv_options_set_auto_compaction": (c_int, [P, c_bool]),
    "kv_options_set_compaction_direct_io": (c_int, [P, c_bool]),
    "kv_options_set_compaction_min_dead_ratio": (c_int, [P, c_double]),
    "kv_options_set_compaction_min_dead_bytes": (c_int, [P, c_uint64]),
    "kv_options_set_compaction_rate_limit": (c_int, [P, c_uint64]),
    "kv_options_set_compaction_busy_rate_limit": (c_int, [P, c_uint64]),
    "kv_options_set_compaction_threads": (c_int, [P, c_uint32]),
    "kv_options_set_active_expiry": (c_int, [P, c_bool]),
    "kv_options_set_active_expiry_interval_ms": (c_int, [P, c_uint64]),
    "kv_options_set_active_expiry_budget_ms": (c_int, [P, c_uint64]),
    # database
    "kv_db_open": (c_int, [c_char_p, P, POINTER(c_void_p)]),
    "kv_db_close": (c_int, [P]),
    "kv_db_free": (None, [P]),
    "kv_db_get": (c_int, [P, B, c_size_t, _pbuf]),
    "kv_db_get_into": (c_int, [P, B, c_size_t, c_void_p, c_size_t, _psize]),
    "kv_db_put": (c_int, [P, B, c_size_t, B, c_size_t]),
    "kv_db_delete": (c_int, [P, B, c_size_t, _pbool]),
    "kv_db_exists": (c_int, [P, B, c_size_t, _pbool]),
    "kv_db_len": (c_int, [P, _pu64]),
    "kv_db_sync": (c_int, [P]),
    "kv_db_stats": (c_int, [P, POINTER(Stats)]),
    # iteration
    "kv_db_scan_prefix": (c_int, [P, B, c_size_t, POINTER(c_void_p)]),
    "kv_db_keys": (c_int, [P, B, c_size_t, POINTER(c_void_p)]),
    "kv_iter_next": (c_int, [P, _pslice, _pslice]),
    "kv_iter_free": (None, [P]),
    # batches
    "kv_batch_new": (P, []),
    "kv_batch_free": (None, [P]),
    "kv_batch_put": (c_int, [P, B, c_size_t, B, c_size_t]),
    "kv_batch_put_ex": (c_int, [P, B, c_size_t, B, c_size_t, c_uint64]),
    "kv_batch_delete": (c_int, [P, B, c_size_t]),
    "kv_batch_len": (c_int, [P, _psize]),
    "kv_batch_clear": (c_int, [P]),
    "kv_db_write_batch": (c_int, [P, P]),
    # strings and TTL
    "kv_db_set": (c_int, [P, B, c_size_t, B, c_size_t, POINTER(SetArgs), _pbool, _pbuf]),
    "kv_db_getex": (c_int, [P, B, c_size_t, c_int32, c_int64, _pbuf]),
    "kv_db_getdel": (c_int, [P, B, c_size_t, _pbuf]),
    "kv_db_append": (c_int, [P, B, c_size_t, B, c_size_t, _pu64]),
    "kv_db_strlen": (c_int, [P, B, c_size_t, _pu64]),
    "kv_db_getrange": (c_int, [P, B, c_size_t, c_int64, c_int64, _pbuf]),
    "kv_db_setrange": (c_int, [P, B, c_size_t, c_int64, B, c_size_t, _pu64]),
    "kv_db_incrby": (c_int, [P, B, c_size_t, c_int64, _pi64]),
    "kv_db_decrby": (c_int, [P, B, c_size_t, c_int64, _pi64]),
    "kv_db_incrbyfloat": (c_int, [P, B, c_size_t, B, c_size_t, _pbuf]),
    "kv_db_expire": (c_int, [P, B, c_size_t, c_int64, c_int32, _pbool]),
    "kv_db_pexpire": (c_int, [P, B, c_size_t, c_int64, c_int32, _pbool]),
    "kv_db_expireat": (c_int, [P, B, c_size_t, c_int64, c_int32, _pbool]),
    "kv_db_pexpireat": (c_int, [P, B, c_size_t, c_int64, c_int32, _pbool]),
    "kv_db_persist": (c_int, [P, B, c_size_t, _pbool]),
    "kv_db_ttl": (c_int, [P, B, c_size_t, _pi64]),
    "kv_db_pttl": (c_int, [P, B, c_size_t, _pi64]),
    "kv_db_expiretime": (c_int, [P, B, c_size_t, _pi64]),
    "kv_db_pexpiretime": (c_int, [P, B, c_size_t, _pi64]),
    "kv_db_compare_and_delete": (c_int, [P, B, c_size_t, B, c_size_t, _pbool]),
    "kv_db_compare_and_swap": (
        c_int,
        [P, B, c_size_t, B, c_size_t, B, c_size_t, c_int32, c_int64, _pbool],
    ),
    "kv_db_mget": (c_int, [P, _pin, c_size_t, _pbuf]),
    "kv_db_mset": (c_int, [P, _pin, _pin, c_size_t]),
    "kv_db_msetnx": (c_int, [P, _pin, _pin, c_size_t, _pbool]),
    # maintenance
    "kv_db_compact": (c_int, [P, POINTER(CompactionSummary)]),
    "kv_db_compact_segments": (c_int, [P, POINTER(c_uint32), c_size_t, POINTER(CompactionSummary)]),
    "kv_db_segments": (c_int, [P, POINTER(SegmentInfo), c_size_t, _psize]),
    "kv_db_run_expiry_cycle": (c_int, [P, POINTER(ExpiryCycleReport)]),
    # sorted sets
    "kv_zset_add": (c_int, [P, B, c_size_t, c_uint32, _pdouble, _pin, c_size_t, POINTER(ZaddReply)]),
    "kv_zset_incrby": (c_int, [P, B, c_size_t, c_double, B, c_size_t, _pdouble]),
    "kv_zset_rem": (c_int, [P, B, c_size_t, _pin, c_size_t, _pu64]),
    "kv_zset_score": (c_int, [P, B, c_size_t, B, c_size_t, _pdouble]),
    "kv_zset_mscore": (c_int, [P, B, c_size_t, _pin, c_size_t, _pdouble, _pbool]),
    "kv_zset_card": (c_int, [P, B, c_size_t, _pu64]),
    "kv_zset_count": (c_int, [P, B, c_size_t, B, c_size_t, B, c_size_t, _pu64]),
    "kv_zset_lexcount": (c_int, [P, B, c_size_t, B, c_size_t, B, c_size_t, _pu64]),
    "kv_zset_rank": (c_int, [P, B, c_size_t, B, c_size_t, c_bool, _pu64, _pdouble]),
    "kv_zset_range": (c_int, [P, B, c_size_t, POINTER(ZrangeArgs), _pentries]),
    "kv_zset_range_by_rank": (c_int, [P, B, c_size_t, c_int64, c_int64, c_bool, _pentries]),
    "kv_zset_popmin": (c_int, [P, B, c_size_t, c_uint64, _pentries]),
    "kv_zset_popmax": (c_int, [P, B, c_size_t, c_uint64, _pentries]),
    "kv_zset_remrangebyrank": (c_int, [P, B, c_size_t, c_int64, c_int64, _pu64]),
    "kv_zset_remrangebyscore": (c_int, [P, B, c_size_t, B, c_size_t, B, c_size_t, _pu64]),
    "kv_zset_remrangebylex": (c_int, [P, B, c_size_t, B, c_size_t, B, c_size_t, _pu64]),
    "kv_zset_randmember": (c_int, [P, B, c_size_t, c_int64, c_bool, _pentries]),
    "kv_zset_unionstore": (c_int, [P, B, c_size_t, _pin, c_size_t, _pdouble, c_int32, _pu64]),
    "kv_zset_interstore": (c_int, [P, B, c_size_t, _pin, c_size_t, _pdouble, c_int32, _pu64]),
    "kv_zset_diffstore": (c_int, [P, B, c_size_t, _pin, c_size_t, _pu64]),
    "kv_zset_entries_len": (c_size_t, [P]),
    "kv_zset_entries_get": (c_int, [P, c_size_t, _pslice, _pdouble]),
    "kv_zset_entries_free": (None, [P]),
    "kv_score_parse": (c_int, [B, c_size_t, _pdouble]),
    "kv_score_format": (c_int, [c_double, _pbuf]),
}

# Functions that may be missing from a libkv build LIBKV_LIBRARY points at;
# the methods that need them raise NotImplementedError there.
_OPTIONAL: dict[str, tuple[Any, list[Any]]] = {}


def _bind() -> None:
    for name, (restype, argtypes) in _SIGNATURES.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    for name, (restype, argtypes) in _OPTIONAL.items():
        if hasattr(lib, name):
            fn = getattr(lib, name)
            fn.restype = restype
            fn.argtypes = argtypes


_bind()


def has(name: str) -> bool:
    """Whether the loaded library exports ``name``."""
    return hasattr(lib, name)


def take_buf(buf: Buf) -> bytes:
    """Copies a ``kv_buf`` filled by libkv into ``bytes`` and frees it."""
    try:
        return ctypes.string_at(buf.data, buf.len) if buf.len else b""
    finally:
        lib.kv_buf_free(ctypes.byref(buf))


def abi_version() -> int:
    """The ABI version of the loaded libkv (equal to :data:`ABI_VERSION`:
    loading checked it)."""
    v: int = lib.kv_abi_version()
    return v


def version() -> str:
    """The version of the loaded libkv."""
    v: bytes = lib.kv_version()
    return v.decode()
