"""String commands: return values as redis-py (decode_responses=False)
documents them, with the examples from the Redis command pages."""

from __future__ import annotations

import pytest

import libkv


def test_set_get(db: libkv.DB) -> None:
    assert db.set("mykey", "Hello") is True
    assert db.get("mykey") == b"Hello"
    assert db.get("nosuchkey") is None


def test_set_nx_xx(db: libkv.DB) -> None:
    assert db.set("k", "1", nx=True) is True
    assert db.set("k", "2", nx=True) is None
    assert db.get("k") == b"1"
    assert db.set("k", "3", xx=True) is True
    assert db.set("other", "3", xx=True) is None
    assert db.get("other") is None
    with pytest.raises(libkv.InvalidArgumentError):
        db.set("k", "1", nx=True, xx=True)


def test_set_get_option(db: libkv.DB) -> None:
    assert db.set("k", "new", get=True) is None
    assert db.set("k", "newer", get=True) == b"new"
    assert db.set("k", "x", nx=True, get=True) == b"newer"  # Redis 7: NX GET
    assert db.get("k") == b"newer"
    db["e"] = b""
    assert db.set("e", "z", get=True) == b""


def test_set_expiry_options(db: libkv.DB) -> None:
    import datetime
    import time

    db.set("ex", "v", ex=100)
    assert 99 <= db.ttl("ex") <= 100
    db.set("exd", "v", ex=datetime.timedelta(seconds=50))
    assert 49 <= db.ttl("exd") <= 50
    db.set("px", "v", px=5000)
    assert 4000 < db.pttl("px") <= 5000
    db.set("pxd", "v", px=datetime.timedelta(milliseconds=7000))
    assert 6000 < db.pttl("pxd") <= 7000
    at = int(time.time()) + 300
    db.set("exat", "v", exat=at)
    assert db.expiretime("exat") == at
    db.set("pxat", "v", pxat=at * 1000 + 5)
    assert db.pexpiretime("pxat") == at * 1000 + 5
    when = datetime.datetime.now() + datetime.timedelta(seconds=200)
    db.set("exatd", "v", exat=when)
    assert db.expiretime("exatd") == int(when.timestamp())
    db.set("ex", "w", keepttl=True)
    assert 98 <= db.ttl("ex") <= 100
    db.set("ex", "w")
    assert db.ttl("ex") == -1
    with pytest.raises(libkv.InvalidArgumentError):
        db.set("k", "v", ex=1, px=1000)
    with pytest.raises(libkv.InvalidArgumentError):
        db.set("k", "v", ex=10, keepttl=True)
    with pytest.raises(libkv.InvalidArgumentError, match="invalid expire time"):
        db.set("k", "v", ex=0)
    with pytest.raises(ValueError):
        db.set("k", "v", px=-5)


def test_setnx_setex_psetex(db: libkv.DB) -> None:
    assert db.setnx("k", "1") is True
    assert db.setnx("k", "2") is False
    assert db.setex("s", 10, "v") is True
    assert 9 <= db.ttl("s") <= 10
    assert db.psetex("p", 10000, "v") is True
    assert 9000 < db.pttl("p") <= 10000


def test_getex(db: libkv.DB) -> None:
    assert db.getex("missing") is None
    db["k"] = "Hello"
    assert db.getex("k") == b"Hello"
    assert db.ttl("k") == -1
    assert db.getex("k", ex=60) == b"Hello"
    assert 59 <= db.ttl("k") <= 60
    assert db.getex("k", persist=True) == b"Hello"
    assert db.ttl("k") == -1
    assert db.getex("k", px=30000) == b"Hello"
    assert 29000 < db.pttl("k") <= 30000
    import time

    at = int(time.time()) + 500
    db.getex("k", exat=at)
    assert db.expiretime("k") == at
    db.getex("k", pxat=at * 1000 + 1)
    assert db.pexpiretime("k") == at * 1000 + 1
    with pytest.raises(libkv.InvalidArgumentError):
        db.getex("k", ex=1, persist=True)


def test_getdel_getset(db: libkv.DB) -> None:
    db["k"] = "Hello"
    assert db.getdel("k") == b"Hello"
    assert db.get("k") is None
    assert db.getdel("k") is None
    assert db.getset("k", "a") is None
    assert db.getset("k", "b") == b"a"


def test_mget_mset_msetnx(db: libkv.DB) -> None:
    assert db.mset({"key1": "Hello", "key2": "World"}) is True
    assert db.mget(["key1", "key2", "nonexisting"]) == [b"Hello", b"World", None]
    assert db.mget("key1", "key2") == [b"Hello", b"World"]
    assert db.mget("key1") == [b"Hello"]
    assert db.msetnx({"key3": "a", "key4": "b"}) is True
    assert db.msetnx({"key4": "x", "key5": "y"}) is False
    assert db.mget(["key3", "key4", "key5"]) == [b"a", b"b", None]
    with pytest.raises(libkv.InvalidArgumentError):
        db.mget([])
    with pytest.raises(libkv.InvalidArgumentError):
        db.mset({})


def test_append_strlen(db: libkv.DB) -> None:
    assert db.exists("mykey") == 0
    assert db.append("mykey", "Hello") == 5
    assert db.append("mykey", " World") == 11
    assert db.get("mykey") == b"Hello World"
    assert db.strlen("mykey") == 11
    assert db.strlen("nonexisting") == 0


def test_append_keeps_ttl(db: libkv.DB) -> None:
    db.set("k", "a", ex=100)
    db.append("k", "b")
    assert 99 <= db.ttl("k") <= 100


def test_getrange(db: libkv.DB) -> None:
    db["mykey"] = "This is a string"
    assert db.getrange("mykey", 0, 3) == b"This"
    assert db.getrange("mykey", -3, -1) == b"ing"
    assert db.getrange("mykey", 0, -1) == b"This is a string"
    assert db.getrange("mykey", 10, 100) == b"string"
    assert db.getrange("missing", 0, -1) == b""


def test_setrange(db: libkv.DB) -> None:
    db["key1"] = "Hello World"
    assert db.setrange("key1", 6, "Redis") == 11
    assert db.get("key1") == b"Hello Redis"
    assert db.setrange("key2", 6, "Redis") == 11
    assert db.get("key2") == b"\x00\x00\x00\x00\x00\x00Redis"
    with pytest.raises(libkv.InvalidArgumentError):
        db.setrange("key1", -1, "x")


def test_incr_family(db: libkv.DB) -> None:
    db["mykey"] = "10"
    assert db.incr("mykey") == 11
    assert db.get("mykey") == b"11"
    assert db.incr("mykey", 5) == 16
    assert db.incrby("mykey", -6) == 10
    assert db.decr("mykey") == 9
    assert db.decr("mykey", 4) == 5
    assert db.decrby("mykey", 3) == 2
    assert db.incr("new") == 1
    assert db.decr("new2") == -1


def test_incr_errors(db: libkv.DB) -> None:
    db["s"] = "abc"
    with pytest.raises(libkv.NotIntegerError) as e:
        db.incr("s")
    assert isinstance(e.value, ValueError)
    db["max"] = str(2**63 - 1)
    with pytest.raises(libkv.LibkvOverflowError):
        db.incr("max")
    assert libkv.OverflowError_ is libkv.LibkvOverflowError
    with pytest.raises(libkv.NotIntegerError):
        db.incrby("x", 2**64)
    with pytest.raises(TypeError):
        db.incrby("x", 1.5)  # type: ignore[arg-type]


def test_incr_keeps_ttl(db: libkv.DB) -> None:
    db.set("c", "1", ex=100)
    db.incr("c")
    assert 99 <= db.ttl("c") <= 100


def test_incrbyfloat(db: libkv.DB) -> None:
    db["mykey"] = "10.50"
    r = db.incrbyfloat("mykey", 0.1)
    assert isinstance(r, float) and r == 10.6
    assert db.get("mykey") == b"10.6"
    assert db.incrbyfloat("mykey", -5) == 5.6
    db["mykey"] = "5.0e3"
    assert db.incrbyfloat("mykey", 2.0e2) == 5200.0
    assert db.get("mykey") == b"5200"
    assert db.incrbyfloat("fresh") == 1.0
    db["s"] = "abc"
    with pytest.raises(libkv.NotFloatError):
        db.incrbyfloat("s", 1)


def test_delete_exists_dbsize(db: libkv.DB) -> None:
    db.mset({"key1": "Hello", "key2": "World"})
    assert db.exists("key1") == 1
    assert db.exists("nosuchkey") == 0
    assert db.exists("key1", "key2", "nosuchkey") == 2
    assert db.exists("key1", "key1") == 2
    assert db.dbsize() == 2
    assert db.delete("key1", "key2", "key3") == 2
    assert db.delete("key1") == 0
    assert db.dbsize() == 0
    db["u"] = "1"
    assert db.unlink("u", "u") == 1


def test_compare_and_delete(db: libkv.DB) -> None:
    db.set("lock", "token-1", px=10000)
    assert db.compare_and_delete("lock", "token-2") is False
    assert db.get("lock") == b"token-1"
    assert db.compare_and_delete("lock", "token-1") is True
    assert db.get("lock") is None
    assert db.compare_and_delete("lock", "token-1") is False


def test_compare_and_swap(db: libkv.DB) -> None:
    db["k"] = "a"
    assert db.compare_and_swap("k", "b", "c") is False
    assert db.compare_and_swap("k", "a", "c", ex=100) is True
    assert db.get("k") == b"c"
    assert 99 <= db.ttl("k") <= 100
    assert db.compare_and_swap("k", "c", "d", keepttl=True) is True
    assert 98 <= db.ttl("k") <= 100
    assert db.compare_and_swap("k", "d", "e", px=5000) is True
    assert 4000 < db.pttl("k") <= 5000
    assert db.compare_and_swap("k", "e", "f") is True
    assert db.ttl("k") == -1
    assert db.compare_and_swap("missing", "a", "b") is False
    assert db.get("missing") is None


def test_incrbyfloat_embedded_nul_is_not_a_float(db: libkv.DB) -> None:
    """Found by the differential test against redis-server: a value with a
    NUL (left by SETRANGE) was parsed as 0 by INCRBYFLOAT."""
    db["a"] = ""
    db.setrange("a", 1, "0")
    assert db["a"] == b"\x000"
    with pytest.raises(libkv.NotFloatError):
        db.incrbyfloat("a", 0.5)
    assert db["a"] == b"\x000"
