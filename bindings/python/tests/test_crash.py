"""Crash test through the binding: SIGKILL a writer subprocess, reopen, and
check that every acknowledged write is there (and batches are atomic)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import libkv

WRITER = textwrap.dedent(
    """
    import sys, libkv
    path, fsync = sys.argv[1], sys.argv[2]
    db = libkv.open(path, fsync=fsync, max_segment_size=256 * 1024)
    i = 0
    while True:
        if i % 3 == 2:
            with db.batch() as b:
                for j in range(10):
                    b[f"batch{i}:{j}"] = f"v{i}" * 20
        else:
            db.set(f"key{i}", f"value{i}" * (i % 50))
        db.incr("counter")
        # acknowledged: the write and the increment returned
        sys.stdout.write(f"{i}\\n")
        sys.stdout.flush()
        i += 1
    """
)


def _check(db: libkv.DB, i: int, required: bool) -> bool:
    if i % 3 == 2:
        got = [db.get(f"batch{i}:{j}") for j in range(10)]
        if all(g is None for g in got) and not required:
            return False
        assert got == [f"v{i}".encode() * 20] * 10, f"batch {i} torn or lost: {got}"
        return True
    v = db.get(f"key{i}")
    if v is None and not required:
        return False
    assert v == f"value{i}".encode() * (i % 50), f"key{i} lost or wrong"
    return True


@pytest.mark.parametrize("fsync", ["always", "no"])
@pytest.mark.parametrize("round_", range(3))
def test_sigkill_writer_keeps_acknowledged_writes(tmp_path: Path, fsync: str, round_: int) -> None:
    path = tmp_path / "db"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), fsync], stdout=subprocess.PIPE, text=True, bufsize=1
    )
    assert proc.stdout is not None
    acked = -1
    target = 200 + 150 * round_
    for line in proc.stdout:
        acked = int(line)
        if acked >= target:
            break
    os.kill(proc.pid, signal.SIGKILL)
    # The writer may have run ahead of what we read: drain the pipe for the
    # true last acknowledgement.
    for line in proc.stdout:
        if line.endswith("\n"):
            acked = int(line)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert acked >= target, "writer died early"
    with libkv.open(path) as db:
        for i in range(acked + 1):
            _check(db, i, required=True)
        # Writes past the last ack may be there or not, but never torn.
        extra = 0
        while _check(db, acked + 1 + extra, required=False):
            extra += 1
        assert extra <= 1, "at most the in-flight write can be beyond the last ack"
        counter = int(db["counter"])
        assert acked + 1 <= counter <= acked + 2
