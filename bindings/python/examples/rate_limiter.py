"""Fixed-window rate limiter: INCR + EXPIRE (the Redis seed pattern).

Each client gets a counter per window, ``rate:<client>:<window>``; the
first request of a window sets its TTL so old windows vanish on their own.

    python rate_limiter.py /tmp/ratelimit-db
"""

from __future__ import annotations

import sys
import tempfile
import time

import libkv


def allow(db: libkv.DB, client: str, limit: int, window_s: int) -> bool:
    """Whether ``client`` may make one more request in the current window."""
    window = int(time.time()) // window_s
    key = f"rate:{client}:{window}"
    count = db.incr(key)
    if count == 1:
        db.expire(key, window_s, nx=True)
    return count <= limit


def main(path: str) -> None:
    """Sends 15 requests from one client against a limit of 10 a minute."""
    with libkv.open(path, fsync="everysec") as db:
        results = [allow(db, "192.168.1.1", limit=10, window_s=60) for _ in range(15)]
        allowed = sum(results)
        print(f"allowed {allowed} of {len(results)} requests")
        assert allowed == 10, results
        key = next(iter(db.keys("rate:192.168.1.1:")))
        ttl = db.ttl(key)
        print(f"{key.decode()} expires in {ttl}s")
        assert 0 < ttl <= 60
        assert allow(db, "10.0.0.2", limit=10, window_s=60)  # other clients are independent


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="libkv-ratelimit-"))
