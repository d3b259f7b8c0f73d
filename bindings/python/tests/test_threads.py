"""One handle shared by threads."""

from __future__ import annotations

import threading

import libkv


def test_concurrent_incr_and_gets(db: libkv.DB) -> None:
    n_threads, per_thread = 8, 500
    errors: list[BaseException] = []

    def worker(t: int) -> None:
        try:
            for i in range(per_thread):
                db.incr("counter")
                db[f"t{t}:{i}"] = f"{t}-{i}" * (i % 7)
                assert db.get(f"t{t}:{i}") == (f"{t}-{i}" * (i % 7)).encode()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    assert db.get("counter") == str(n_threads * per_thread).encode()
    assert db.dbsize() == 1 + n_threads * per_thread


def test_per_thread_get_buffers_do_not_mix(db: libkv.DB) -> None:
    for t in range(4):
        db[f"k{t}"] = bytes([t]) * (1000 + t)
    bad: list[int] = []

    def reader(t: int) -> None:
        want = bytes([t]) * (1000 + t)
        for _ in range(2000):
            if db.get(f"k{t}") != want:
                bad.append(t)

    threads = [threading.Thread(target=reader, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert bad == []


def test_error_messages_are_per_thread(db: libkv.DB) -> None:
    db["s"] = "abc"
    msgs: list[str] = []

    def fail() -> None:
        try:
            db.incr("s")
        except libkv.NotIntegerError as e:
            msgs.append(str(e))

    th = threading.Thread(target=fail)
    th.start()
    th.join()
    assert msgs and "integer" in msgs[0]
