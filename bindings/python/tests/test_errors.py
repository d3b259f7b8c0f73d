"""The exception hierarchy and the C library's messages."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import libkv


def test_hierarchy() -> None:
    for cls in (
        libkv.InvalidArgumentError,
        libkv.NotIntegerError,
        libkv.NotFloatError,
        libkv.LibkvOverflowError,
        libkv.KeyTooLargeError,
        libkv.ValueTooLargeError,
        libkv.BatchTooLargeError,
    ):
        assert issubclass(cls, libkv.Error) and issubclass(cls, ValueError), cls
    assert issubclass(libkv.NotFoundError, KeyError)
    assert issubclass(libkv.LibkvIOError, OSError)
    assert libkv.IOError_ is libkv.LibkvIOError
    for cls in (libkv.CorruptionError, libkv.LockedError, libkv.PoisonedError, libkv.ClosedError, libkv.InternalError):
        assert issubclass(cls, libkv.Error) and not issubclass(cls, ValueError), cls
    statuses = {
        c.status
        for c in (
            libkv.NotFoundError,
            libkv.InvalidArgumentError,
            libkv.LibkvIOError,
            libkv.CorruptionError,
            libkv.LockedError,
            libkv.PoisonedError,
            libkv.WrongTypeError,
            libkv.NotIntegerError,
            libkv.NotFloatError,
            libkv.LibkvOverflowError,
            libkv.KeyTooLargeError,
            libkv.ValueTooLargeError,
            libkv.BatchTooLargeError,
            libkv.ClosedError,
            libkv.InternalError,
        )
    }
    assert statuses == set(range(1, 17)) - {14}  # BUFFER_TOO_SMALL is handled inside


def test_empty_key_is_invalid_argument_with_c_message(db: libkv.DB) -> None:
    with pytest.raises(libkv.InvalidArgumentError, match="key is empty"):
        db.get("")
    with pytest.raises(ValueError):
        db[""] = "v"


def test_key_and_value_too_large(path: Path) -> None:
    with libkv.open(path, fsync="no", max_key_size=8, max_value_size=16) as d:
        with pytest.raises(libkv.KeyTooLargeError) as e:
            d["123456789"] = "v"
        assert isinstance(e.value, ValueError) and e.value.status == 11
        with pytest.raises(libkv.ValueTooLargeError):
            d["k"] = "x" * 17
        d["k"] = "x" * 16


def test_batch_too_large(path: Path) -> None:
    with libkv.open(path, fsync="no", max_batch_ops=2) as d:
        b = d.batch()
        b["a"] = "1"
        b["b"] = "2"
        b["c"] = "3"
        with pytest.raises(libkv.BatchTooLargeError):
            b.commit()
        assert len(b) == 3  # kept on failure
        assert d.dbsize() == 0


def test_locked(path: Path) -> None:
    with libkv.open(path) as _d:
        with pytest.raises(libkv.LockedError):
            libkv.open(path)


def test_use_after_close_raises_closed(path: Path) -> None:
    d = libkv.open(path)
    d["k"] = "v"
    it = d.keys()
    d.close()
    d.close()  # idempotent
    assert d.closed
    for call in (
        lambda: d.get("k"),
        lambda: d.__setitem__("k", "v"),
        lambda: d.set("k", "v", ex=1),
        lambda: d.incr("k"),
        lambda: len(d),
        lambda: d.stats(),
        lambda: d.sync(),
        lambda: list(d.keys()),
        lambda: d.mget(["k"]),
        lambda: d.ttl("k"),
        lambda: next(it),
    ):
        with pytest.raises(libkv.ClosedError):
            call()
    with pytest.raises(libkv.ClosedError):
        with d.batch() as b:
            b["x"] = "y"


def test_wrong_type_is_typeerror_subclass() -> None:
    assert issubclass(libkv.WrongTypeError, libkv.Error)
    assert issubclass(libkv.WrongTypeError, TypeError)


def test_bad_options(path: Path) -> None:
    with pytest.raises(libkv.InvalidArgumentError):
        libkv.open(path, fsync="sometimes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        libkv.open(path, no_such_option=1)
    with pytest.raises(libkv.InvalidArgumentError, match="max_key_size"):
        libkv.open(path, max_key_size=0)
    with pytest.raises(libkv.InvalidArgumentError):
        libkv.open(path, max_key_size=-1)
    with pytest.raises(TypeError):
        libkv.open(path, preallocate=1)
    with pytest.raises(libkv.InvalidArgumentError):
        libkv.open(path, recovery="lenient")
    with libkv.open(
        path,
        fsync="everysec",
        recovery="salvage",
        max_segment_size=1 << 20,
        preallocate=False,
        auto_compaction=False,
        compaction_min_dead_ratio=0.3,
        active_expiry_interval_ms=50,
    ) as d:
        d["k"] = "v"


def test_open_on_a_file_is_io_error(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(libkv.Error) as e:
        libkv.open(f)
    assert e.value.args[0]  # carries libkv's message


def test_corruption_detected(path: Path) -> None:
    with libkv.open(path, fsync="always", preallocate=False) as d:
        for i in range(50):
            d[f"key{i}"] = "v" * 100
        d.set("more", "x")
    seg = sorted(p for p in path.iterdir() if p.suffix == ".seg")[0]
    data = bytearray(seg.read_bytes())
    mid = len(data) // 2
    data[mid] ^= 0xFF
    seg.write_bytes(bytes(data))
    with pytest.raises(libkv.CorruptionError) as e:
        libkv.open(path)
    assert "seg" in str(e.value) or "offset" in str(e.value)
    with libkv.open(path, recovery="salvage") as d:
        assert d.stats()["recovery_salvaged_bytes_skipped"] > 0


@pytest.mark.parametrize("direct,threads", [(True, 2), (False, 2), (True, 1)])
def test_compaction_output_direct_or_buffered_keeps_data(path: Path, direct: bool, threads: int) -> None:
    """Merge output goes around the page cache by default
    (``compaction_direct_io=True``) or through it, scanned by one or two
    threads; every way keeps every value."""
    opts = dict(
        fsync="no",
        max_segment_size=1 << 16,
        auto_compaction=False,
        compaction_direct_io=direct,
        compaction_threads=threads,
    )
    with libkv.open(path, **opts) as d:
        for rnd in range(2):
            for i in range(2000):
                d[f"k{i:05}"] = f"value-{i}-{rnd}-" + "x" * 200
        s = d.compact()
        assert s["records_copied"] >= 2000 and s["records_dropped"] >= 2000, s
    with libkv.open(path, **opts) as d:
        for i in range(2000):
            assert d[f"k{i:05}"] == (f"value-{i}-1-" + "x" * 200).encode()
    with pytest.raises(TypeError):
        libkv.open(path, compaction_direct_io=1)
    with pytest.raises(libkv.InvalidArgumentError):
        libkv.open(path, compaction_threads=3)


def test_compaction_busy_rate_limit_paces_merge_during_always_commits(tmp_path: Path) -> None:
    """With ``compaction_busy_rate_limit`` set, a merge running beside
    ``fsync="always"`` writers is paced to it (about 1 MB at 2 MB/s takes at
    least a quarter second) and keeps every value.

    The merge is paced only while a commit waits for its fsync or ended less
    than 20 ms ago (the engine's busy hold); a writer thread preempted for
    longer (a loaded machine) leaves it unpaced meanwhile. So the writer
    measures its longest time between one write's return and the next one's
    call; an attempt where that reached half the hold (the other half is for
    the library's own steps around the fsync wait, and the floor is half the
    paced duration) proves nothing about pacing and is run again."""
    import threading

    rate = 2_000_000
    busy_hold_s = 0.020
    opts = dict(fsync="always", max_segment_size=1 << 20, auto_compaction=False, compaction_busy_rate_limit=rate)

    def attempt(path: Path) -> tuple[dict[str, int], float]:
        with libkv.open(path, **opts) as d:
            for rnd in range(2):
                for start in range(0, 2000, 500):
                    with d.batch() as b:
                        for i in range(start, start + 500):
                            b[f"k{i:05}"] = f"value-{i}-{rnd}-" + "x" * 500
            stop, writing = threading.Event(), threading.Event()
            max_span = 0.0

            def writer() -> None:
                nonlocal max_span
                i = 0
                returned = None
                while not stop.is_set():
                    key = f"fg{i}"
                    if returned is not None:
                        max_span = max(max_span, time.monotonic() - returned)
                    d[key] = "during the merge"
                    returned = time.monotonic()
                    writing.set()
                    i += 1

            t = threading.Thread(target=writer)
            t.start()
            try:
                assert writing.wait(60)
                s = d.compact()
            finally:
                stop.set()
                t.join()
        with libkv.open(path, **opts) as d:
            for i in range(2000):
                assert d[f"k{i:05}"] == (f"value-{i}-1-" + "x" * 500).encode()
        return s, max_span

    attempts = 10
    for n in range(1, attempts + 1):
        s, max_span = attempt(tmp_path / f"db{n}")
        if max_span < busy_hold_s / 2:
            assert s["output_bytes"] > 500_000, s
            assert s["duration_ms"] >= s["output_bytes"] * 1000 // rate // 2, (s, max_span)
            break
    else:
        pytest.skip(f"the writer stalled for 10 ms or more in each of {attempts} attempts: pacing not judged")
    with pytest.raises(TypeError):
        libkv.open(tmp_path / "db", compaction_busy_rate_limit="fast")
