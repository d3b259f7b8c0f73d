"""Distributed-style lock: SET NX PX with a random token, released with
compare_and_delete so a holder never deletes a lock that expired and was
taken by someone else (the seed's "lock with TTL" pattern).

    python lock.py /tmp/lock-db
"""

from __future__ import annotations

import secrets
import sys
import tempfile
import threading
import time
from typing import Optional

import libkv


def acquire(db: libkv.DB, name: str, ttl_ms: int) -> Optional[str]:
    """Takes the lock ``name`` for ``ttl_ms``; the token, or None if held."""
    token = secrets.token_hex(16)
    if db.set(f"lock:{name}", token, nx=True, px=ttl_ms):
        return token
    return None


def release(db: libkv.DB, name: str, token: str) -> bool:
    """Releases the lock if ``token`` still holds it."""
    return db.compare_and_delete(f"lock:{name}", token)


def main(path: str) -> None:
    """Threads increment a shared counter under the lock; none is lost."""
    with libkv.open(path, fsync="no") as db:
        db["counter"] = "0"

        def worker() -> None:
            for _ in range(50):
                while (token := acquire(db, "counter", ttl_ms=5000)) is None:
                    time.sleep(0.0005)
                n = int(db["counter"])  # read-modify-write, safe under the lock
                db["counter"] = str(n + 1)
                assert release(db, "counter", token)

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print("counter =", db["counter"].decode())
        assert db["counter"] == b"200"

        # An expired lock taken by someone else is not released by the old holder.
        old = acquire(db, "job", ttl_ms=50)
        assert old is not None
        time.sleep(0.1)
        new = acquire(db, "job", ttl_ms=5000)
        assert new is not None
        assert not release(db, "job", old)
        assert release(db, "job", new)
        print("stale holder could not release the new holder's lock")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="libkv-lock-"))
