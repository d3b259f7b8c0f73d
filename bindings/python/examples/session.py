"""Session store with a sliding TTL: SET EX on login, GETEX EX on each
request to extend it, GETDEL on logout (the seed's session pattern).

    python session.py /tmp/session-db
"""

from __future__ import annotations

import json
import secrets
import sys
import tempfile
import time
from typing import Any, Optional

import libkv

SESSION_TTL_S = 1800


def login(db: libkv.DB, user_id: int) -> str:
    """Creates a session; its id."""
    sid = secrets.token_urlsafe(16)
    db.set(f"session:{sid}", json.dumps({"user_id": user_id, "login_at": time.time()}), ex=SESSION_TTL_S)
    return sid


def touch(db: libkv.DB, sid: str) -> Optional[dict[str, Any]]:
    """The session's data, sliding its expiry; None if expired or unknown."""
    raw = db.getex(f"session:{sid}", ex=SESSION_TTL_S)
    return None if raw is None else dict(json.loads(raw))


def logout(db: libkv.DB, sid: str) -> bool:
    """Ends the session; whether it existed."""
    return db.getdel(f"session:{sid}") is not None


def main(path: str) -> None:
    """Logs in, slides the TTL, survives a reopen, logs out, and shows a
    short-lived session expiring."""
    with libkv.open(path, fsync="always") as db:
        sid = login(db, 123)
        db.expire(f"session:{sid}", 10)  # pretend most of the TTL has passed
        data = touch(db, sid)
        assert data is not None and data["user_id"] == 123
        assert db.ttl(f"session:{sid}") > 10, "GETEX slid the TTL"
    with libkv.open(path) as db:  # sessions persist across restarts
        assert touch(db, sid) is not None
        assert logout(db, sid)
        assert touch(db, sid) is None
        short = secrets.token_urlsafe(8)
        db.set(f"session:{short}", "{}", px=100)
        time.sleep(0.2)
        assert touch(db, short) is None
        print("session login/touch/logout/expiry OK")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="libkv-session-"))
