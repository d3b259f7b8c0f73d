"""Game leaderboard on a sorted set (the Redis seed pattern): ZADD /
ZINCRBY to record scores, ZREVRANGE 0 9 WITHSCORES for the top ten,
ZREVRANK / ZRANK for a player's position.

    python leaderboard.py /tmp/leaderboard-db
"""

from __future__ import annotations

import sys
import tempfile

import libkv

BOARD = "leaderboard:weekly"


def record(db: libkv.DB, player: str, points: float) -> float:
    """Adds ``points`` to ``player``'s score; the new total."""
    return db.zincrby(BOARD, points, player)


def top(db: libkv.DB, n: int = 10) -> list[tuple[bytes, float]]:
    """The ``n`` best players with their scores, best first."""
    return db.zrevrange(BOARD, 0, n - 1, withscores=True)


def position(db: libkv.DB, player: str) -> int | None:
    """``player``'s 1-based place (1 = best), or None if unranked."""
    rank = db.zrevrank(BOARD, player)  # an int (a list only with withscore=True)
    return rank + 1 if isinstance(rank, int) else None


def main(path: str) -> None:
    """Fills a board with 25 players, then reads it back as a game would."""
    with libkv.open(path, fsync="everysec") as db:
        db.delete(BOARD)
        assert db.zadd(BOARD, {f"player:{i:02d}": i * 10 for i in range(25)}) == 25
        assert record(db, "player:03", 500) == 530.0  # a lucky round
        best = top(db)
        for place, (player, score) in enumerate(best, 1):
            print(f"{place:2d}. {player.decode():10s} {score:6.0f}")
        assert len(best) == 10
        assert best[0] == (b"player:03", 530.0)
        assert best[1] == (b"player:24", 240.0)
        assert [s for _, s in best] == sorted((s for _, s in best), reverse=True)
        assert position(db, "player:03") == 1
        assert position(db, "player:00") == 25 and db.zrank(BOARD, "player:00") == 0
        assert position(db, "nobody") is None
        print(f"player:00 is at place {position(db, 'player:00')} of {db.zcard(BOARD)}")
        # Players between 100 and 200 points, and the bottom three dropped.
        mid = db.zrangebyscore(BOARD, 100, 200)
        assert mid == [f"player:{i:02d}".encode() for i in range(10, 21)]
        assert db.zremrangebyrank(BOARD, 0, 2) == 3
        assert db.zcard(BOARD) == 22
    with libkv.open(path, fsync="everysec") as db:  # durable across reopen
        assert top(db, 1) == [(b"player:03", 530.0)]
        print("top player after reopen:", top(db, 1)[0][0].decode())


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="libkv-leaderboard-"))
