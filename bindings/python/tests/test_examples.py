"""Every example in examples/ runs and passes its own assertions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.py"))


def test_examples_found() -> None:
    names = {p.stem for p in EXAMPLES}
    assert {"rate_limiter", "lock", "session", "leaderboard"} <= names


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs(example: Path, tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, str(example), str(tmp_path / "db")], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip()
