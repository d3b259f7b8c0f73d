"""Single-threaded get/set throughput of the libkv binding (fsync="no")
against redis-py talking to a local redis-server (unix socket and TCP
loopback, persistence off) and against py-lmdb (sync off), in one run.

A benchmark, not a test. Run from the repo root:

    make bench-python
    # or: target/python-venv/bin/python bindings/python/bench/bench.py [--ops N]

Needs `pip install redis lmdb` and redis-server on PATH
(`apt-get install -y redis-server`); missing competitors are skipped.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import subprocess
import tempfile
import time
from typing import Any, Callable, Optional

import libkv


def _rate(n: int, fn: Callable[[], None]) -> float:
    t0 = time.perf_counter()
    fn()
    return n / (time.perf_counter() - t0)


def bench_libkv(keys: list[bytes], value: bytes, workdir: str) -> tuple[float, float]:
    """(sets/s, gets/s) for libkv."""
    with libkv.open(os.path.join(workdir, "libkv"), fsync="no") as db:
        def sets() -> None:
            s = db.set
            for k in keys:
                s(k, value)

        def gets() -> None:
            g = db.get
            for k in keys:
                g(k)

        set_rate = _rate(len(keys), sets)
        get_rate = _rate(len(keys), gets)
        assert db.get(keys[-1]) == value
        return set_rate, get_rate


def bench_dict_api(keys: list[bytes], value: bytes, workdir: str) -> tuple[float, float]:
    """(db[k] = v per second, db[k] per second)."""
    with libkv.open(os.path.join(workdir, "libkv-dict"), fsync="no") as db:
        def sets() -> None:
            for k in keys:
                db[k] = value

        def gets() -> None:
            for k in keys:
                db[k]

        return _rate(len(keys), sets), _rate(len(keys), gets)


def bench_redis(client: Any, keys: list[bytes], value: bytes) -> tuple[float, float]:
    """(sets/s, gets/s) for redis-py."""
    client.flushall()

    def sets() -> None:
        s = client.set
        for k in keys:
            s(k, value)

    def gets() -> None:
        g = client.get
        for k in keys:
            g(k)

    set_rate = _rate(len(keys), sets)
    get_rate = _rate(len(keys), gets)
    assert client.get(keys[-1]) == value
    return set_rate, get_rate


def bench_lmdb(keys: list[bytes], value: bytes, workdir: str) -> tuple[float, float]:
    """(sets/s, gets/s) for py-lmdb, one transaction per operation (as the
    other two do), sync off."""
    import lmdb

    env = lmdb.open(os.path.join(workdir, "lmdb"), map_size=1 << 30, sync=False, metasync=False)
    try:
        def sets() -> None:
            for k in keys:
                with env.begin(write=True) as txn:
                    txn.put(k, value)

        def gets() -> None:
            for k in keys:
                with env.begin() as txn:
                    txn.get(k)

        return _rate(len(keys), sets), _rate(len(keys), gets)
    finally:
        env.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_redis(workdir: str) -> Optional[tuple[subprocess.Popen[bytes], str, int]]:
    """A redis-server on a unix socket and a loopback port, persistence off."""
    exe = shutil.which("redis-server")
    if exe is None:
        return None
    sock = os.path.join(workdir, "redis.sock")
    port = _free_port()
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--unixsocket", sock, "--save", "",
         "--appendonly", "no", "--dir", workdir],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(100):
        if os.path.exists(sock):
            return proc, sock, port
        time.sleep(0.05)
    proc.kill()
    return None


def main() -> None:
    """Runs every available competitor and prints a table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ops", type=int, default=100_000, help="operations per phase")
    ap.add_argument("--value-bytes", type=int, default=100)
    args = ap.parse_args()
    keys = [f"key:{i:08d}".encode() for i in range(args.ops)]
    value = os.urandom(args.value_bytes // 2).hex().encode()[: args.value_bytes]
    rows: list[tuple[str, float, float]] = []
    workdir = tempfile.mkdtemp(prefix="libkv-bench-")
    try:
        rows.append(("libkv db.set/db.get (fsync=no)", *bench_libkv(keys, value, workdir)))
        rows.append(("libkv db[k]=v / db[k] (fsync=no)", *bench_dict_api(keys, value, workdir)))
        try:
            import redis
        except ImportError:
            redis = None  # type: ignore[assignment]
        server = start_redis(workdir) if redis is not None else None
        if server is not None:
            proc, sock, port = server
            try:
                rows.append(("redis-py, unix socket", *bench_redis(redis.Redis(unix_socket_path=sock), keys, value)))
                rows.append(("redis-py, TCP 127.0.0.1", *bench_redis(redis.Redis(port=port), keys, value)))
            finally:
                proc.terminate()
                proc.wait()
        else:
            print("(redis-py or redis-server missing: skipped)")
        try:
            rows.append(("py-lmdb, txn per op (sync=False)", *bench_lmdb(keys, value, workdir)))
        except ImportError:
            print("(lmdb missing: skipped)")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"python {platform.python_version()}, {args.ops} ops per phase, {args.value_bytes}-byte values, 1 thread")
    print(f"{'':36} {'set ops/s':>12} {'get ops/s':>12}")
    for name, s, g in rows:
        print(f"{name:36} {s:12,.0f} {g:12,.0f}")
    base = rows[0]
    for name, s, g in rows[2:]:
        print(f"libkv vs {name}: set x{base[1] / s:.1f}, get x{base[2] / g:.1f}")


if __name__ == "__main__":
    main()
