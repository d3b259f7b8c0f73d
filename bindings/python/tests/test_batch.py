"""Atomic batches."""

from __future__ import annotations

from pathlib import Path

import pytest

import libkv


def test_commit_on_success(db: libkv.DB) -> None:
    db["old"] = "x"
    with db.batch() as b:
        b["a"] = "1"
        b.set("b", "2")
        b.delete("old")
        del b["nothing"]
        assert len(b) == 4
        assert db.get("a") is None  # buffered until commit
    assert db.mget(["a", "b", "old"]) == [b"1", b"2", None]


def test_discard_on_exception(db: libkv.DB) -> None:
    db["keep"] = "x"
    with pytest.raises(RuntimeError):
        with db.batch() as b:
            b["a"] = "1"
            b.delete("keep")
            raise RuntimeError("boom")
    assert db.get("a") is None
    assert db.get("keep") == b"x"


def test_batch_expiry(db: libkv.DB) -> None:
    with db.batch() as b:
        b.set("e", "1", ex=100)
        b.set("p", "1", px=5000)
    assert 99 <= db.ttl("e") <= 100
    assert 4000 < db.pttl("p") <= 5000
    with pytest.raises(libkv.InvalidArgumentError):
        db.batch().set("z", "1", ex=0)


def test_reuse_after_commit(db: libkv.DB) -> None:
    b = db.batch()
    b["a"] = "1"
    b.commit()
    assert len(b) == 0
    b["b"] = "2"
    b.commit()
    assert db.dbsize() == 2


def test_batch_durable_across_reopen(path: Path) -> None:
    with libkv.open(path, fsync="always") as d:
        with d.batch() as b:
            for i in range(100):
                b[f"k{i}"] = str(i)
    with libkv.open(path) as d:
        assert d.dbsize() == 100
        assert d["k99"] == b"99"


def test_batch_rejects_empty_key(db: libkv.DB) -> None:
    with pytest.raises(libkv.InvalidArgumentError):
        db.batch()[""] = "x"
