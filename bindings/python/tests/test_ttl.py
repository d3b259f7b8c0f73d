"""EXPIRE/TTL family, as redis-py returns it."""

from __future__ import annotations

import datetime
import time

import pytest

import libkv


def test_ttl_missing_and_persistent(db: libkv.DB) -> None:
    assert db.ttl("missing") == -2
    assert db.pttl("missing") == -2
    assert db.expiretime("missing") == -2
    assert db.pexpiretime("missing") == -2
    db["k"] = "v"
    assert db.ttl("k") == -1
    assert db.pttl("k") == -1
    assert db.expiretime("k") == -1
    assert db.pexpiretime("k") == -1


def test_expire_returns_bool(db: libkv.DB) -> None:
    assert db.expire("missing", 10) is False
    db["mykey"] = "Hello"
    assert db.expire("mykey", 10) is True
    assert db.ttl("mykey") == 10
    db["mykey"] = "Hello World"
    assert db.ttl("mykey") == -1  # SET clears the TTL


def test_expire_timedelta_and_pexpire(db: libkv.DB) -> None:
    db["k"] = "v"
    assert db.expire("k", datetime.timedelta(minutes=1)) is True
    assert 59 <= db.ttl("k") <= 60
    assert db.pexpire("k", 1500) is True
    assert 1000 < db.pttl("k") <= 1500
    assert db.pexpire("k", datetime.timedelta(seconds=3)) is True
    assert 2000 < db.pttl("k") <= 3000


def test_expire_conditions_redis_doc_example(db: libkv.DB) -> None:
    db["mykey"] = "Hello"
    assert db.expire("mykey", 10, xx=True) is False  # no TTL yet
    assert db.ttl("mykey") == -1
    assert db.expire("mykey", 10, nx=True) is True
    assert db.ttl("mykey") == 10
    assert db.expire("mykey", 5, nx=True) is False
    assert db.expire("mykey", 20, gt=True) is True
    assert db.ttl("mykey") == 20
    assert db.expire("mykey", 30, lt=True) is False
    assert db.expire("mykey", 15, lt=True) is True
    assert db.expire("mykey", 25, xx=True, gt=True) is True
    assert db.expire("mykey", 20, xx=True, lt=True) is True
    db["nottl"] = "x"
    assert db.expire("nottl", 10, gt=True) is False  # no TTL = infinite
    assert db.expire("nottl", 10, xx=True, lt=True) is False
    assert db.expire("nottl", 10, lt=True) is True


def test_expire_incompatible_options(db: libkv.DB) -> None:
    db["k"] = "v"
    with pytest.raises(libkv.InvalidArgumentError):
        db.expire("k", 10, nx=True, xx=True)
    with pytest.raises(libkv.InvalidArgumentError):
        db.expire("k", 10, gt=True, lt=True)


def test_expire_non_positive_deletes(db: libkv.DB) -> None:
    db["k"] = "v"
    assert db.expire("k", 0) is True
    assert db.get("k") is None
    db["k"] = "v"
    assert db.pexpire("k", -5) is True
    assert "k" not in db


def test_expireat_pexpireat(db: libkv.DB) -> None:
    db["k"] = "v"
    at = int(time.time()) + 100
    assert db.expireat("k", at) is True
    assert db.expiretime("k") == at
    assert db.pexpireat("k", at * 1000 + 250) is True
    assert db.pexpiretime("k") == at * 1000 + 250
    when = datetime.datetime.now() + datetime.timedelta(seconds=42)
    assert db.expireat("k", when) is True
    assert db.expiretime("k") == int(when.timestamp())
    assert db.pexpireat("k", when) is True
    assert db.pexpiretime("k") == int(when.timestamp() * 1000)
    assert db.expireat("k", 1) is True  # in the past: deleted
    assert db.get("k") is None
    # Redis doc example for EXPIRETIME
    db["mykey"] = "Hello"
    db.expireat("mykey", 33177117420)
    assert db.expiretime("mykey") == 33177117420


def test_persist(db: libkv.DB) -> None:
    db["mykey"] = "Hello"
    assert db.persist("mykey") is False
    db.expire("mykey", 10)
    assert db.persist("mykey") is True
    assert db.ttl("mykey") == -1
    assert db.persist("missing") is False


def test_key_expires(db: libkv.DB) -> None:
    started = time.time()
    db.set("k", "v", px=50)
    got = db.get("k")
    # Still there unless this process stalled past the TTL between the two
    # calls (a loaded machine can): judged by the wall clock libkv reads,
    # with a millisecond for its rounding.
    if (time.time() - started) * 1000 < 49:
        assert got == b"v"
    time.sleep(0.12)
    assert db.get("k") is None
    assert "k" not in db
    assert db.ttl("k") == -2
