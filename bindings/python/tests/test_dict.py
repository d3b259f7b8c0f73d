"""The dict-like API."""

from __future__ import annotations

from pathlib import Path

import pytest

import libkv


def test_setitem_getitem_returns_bytes(db: libkv.DB) -> None:
    db["a"] = "é"
    db[b"b"] = b"\x00\xff"
    assert db["a"] == "é".encode()
    assert db[b"a"] == "é".encode()
    assert db["b"] == b"\x00\xff"
    assert isinstance(db["a"], bytes)


def test_getitem_missing_raises_keyerror(db: libkv.DB) -> None:
    with pytest.raises(KeyError):
        db["missing"]
    with pytest.raises(libkv.NotFoundError) as e:
        db["missing"]
    assert e.value.status == 1


def test_empty_value(db: libkv.DB) -> None:
    db["e"] = b""
    assert db["e"] == b""
    assert "e" in db
    assert db.get("e") == b""


def test_delitem(db: libkv.DB) -> None:
    db["a"] = "1"
    del db["a"]
    assert "a" not in db
    with pytest.raises(KeyError):
        del db["a"]


def test_contains_len_iter(db: libkv.DB) -> None:
    assert len(db) == 0
    assert list(db) == []
    for k in ["b", "a", "c"]:
        db[k] = k.upper()
    assert len(db) == 3
    assert "a" in db and b"b" in db and "zz" not in db
    assert list(db) == [b"a", b"b", b"c"]
    assert list(db.keys()) == [b"a", b"b", b"c"]
    assert list(db.items()) == [(b"a", b"A"), (b"b", b"B"), (b"c", b"C")]
    assert list(db.values()) == [b"A", b"B", b"C"]


def test_scan_prefix(db: libkv.DB) -> None:
    db.mset({"user:2": "b", "user:1": "a", "usr": "x", "session:1": "s"})
    assert list(db.scan_prefix("user:")) == [(b"user:1", b"a"), (b"user:2", b"b")]
    assert list(db.keys("user:")) == [b"user:1", b"user:2"]
    assert list(db.scan_prefix(b"nothing")) == []


def test_large_value_beyond_get_buffer(db: libkv.DB) -> None:
    big = bytes(range(256)) * (libkv.db.GET_BUFFER_BYTES // 256 + 10)
    db["big"] = big
    assert db["big"] == big
    assert db.get("big") == big
    exact = b"x" * libkv.db.GET_BUFFER_BYTES
    db["exact"] = exact
    assert db["exact"] == exact


def test_iterator_abandoned_and_closed(db: libkv.DB) -> None:
    db.mset({f"k{i}": i for i in range(10)})
    it = db.keys()
    assert next(it) == b"k0"
    del it  # freed by its finalizer
    it2 = db.items()
    assert next(it2) == (b"k0", b"0")
    it2.close()  # type: ignore[attr-defined]
    with pytest.raises(StopIteration):
        next(it2)
    never_started = db.keys()
    del never_started


def test_iterator_sees_deletes_made_during_iteration(db: libkv.DB) -> None:
    db.mset({"a": 1, "b": 2, "c": 3})
    it = db.items()
    assert next(it) == (b"a", b"1")
    del db["b"]
    assert list(it) == [(b"c", b"3")]


def test_numbers_are_stored_as_text_like_redis_py(db: libkv.DB) -> None:
    db["i"] = 42
    db["f"] = 1.5
    assert db["i"] == b"42"
    assert db["f"] == b"1.5"
    with pytest.raises(TypeError):
        db["b"] = True
    with pytest.raises(TypeError):
        db["n"] = None  # type: ignore[assignment]


def test_context_manager_closes(path: Path) -> None:
    with libkv.open(path) as d:
        d["k"] = "v"
        assert not d.closed
    assert d.closed
    with libkv.open(path) as d2:
        assert d2["k"] == b"v"


def test_persistence_across_reopen(path: Path) -> None:
    with libkv.open(path, fsync="always") as d:
        d["a"] = "1"
        d.set("t", "x", ex=1000)
    with libkv.open(path) as d:
        assert d["a"] == b"1"
        assert 990 <= d.ttl("t") <= 1000


def test_repr(db: libkv.DB) -> None:
    assert "open" in repr(db)
    assert str(db.path) in repr(db)
