"""Each Redis command method has redis-py's parameter names, order and
defaults (redis-py may have more trailing parameters for newer Redis
options that libkv does not implement)."""

from __future__ import annotations

import inspect

import pytest

import libkv

redis = pytest.importorskip("redis")

COMMANDS = (
    "set get getex getdel getset mget mset msetnx setnx setex psetex append strlen getrange setrange "
    "incr incrby decr decrby incrbyfloat expire pexpire expireat pexpireat ttl pttl persist expiretime "
    "pexpiretime delete unlink exists dbsize "
    "zadd zincrby zrem zscore zmscore zcard zcount zlexcount zrank zrevrank zrange zrevrange zrangebyscore "
    "zrevrangebyscore zrangebylex zrevrangebylex zpopmin zpopmax zremrangebyrank zremrangebyscore "
    "zremrangebylex zrandmember zunionstore zinterstore zdiffstore"
).split()


def _params(fn: object) -> list[tuple[str, object, object]]:
    sig = inspect.signature(fn)  # type: ignore[arg-type]
    return [(p.name, p.default, p.kind) for p in sig.parameters.values() if p.kind is not p.VAR_KEYWORD]


@pytest.mark.parametrize("cmd", COMMANDS)
def test_same_signature_as_redis_py(cmd: str) -> None:
    ours = _params(getattr(libkv.DB, cmd))
    theirs = _params(getattr(redis.Redis, cmd))
    assert ours == theirs[: len(ours)], f"{cmd}: {ours} vs redis-py {theirs}"
    extra = theirs[len(ours) :]
    assert all(p[1] is not inspect.Parameter.empty for p in extra), f"{cmd}: missing required {extra}"
