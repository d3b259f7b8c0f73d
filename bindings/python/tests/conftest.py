"""Shared fixtures: a fresh database per test."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

import libkv


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """A directory for a database."""
    return tmp_path / "db"


@pytest.fixture
def db(path: Path) -> Iterator[libkv.DB]:
    """An open database (fsync="no": the tests are about semantics)."""
    d = libkv.open(path, fsync="no")
    yield d
    d.close()
