"""What `pip install ./bindings/python` ships."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import libkv


def test_installed_package_ships_library_and_py_typed() -> None:
    pkg = Path(libkv.__file__).resolve().parent
    assert (pkg / "py.typed").is_file()
    assert (pkg / "libkv.so").is_file()
    if "LIBKV_LIBRARY" not in os.environ:
        assert Path(libkv.library_path()) == pkg / "libkv.so"
    assert libkv.library_version() == "0.1.0"


def test_libkv_library_env_overrides_the_bundled_copy(tmp_path: Path) -> None:
    bundled = Path(libkv.__file__).resolve().parent / "libkv.so"
    code = "import libkv; print(libkv.library_path())"
    r = subprocess.run(
        [sys.executable, "-c", code],
        env=dict(os.environ, LIBKV_LIBRARY=str(bundled)),
        capture_output=True,
        text=True,
        check=True,
    )
    assert r.stdout.strip() == str(bundled)
    missing = tmp_path / "nope.so"
    r = subprocess.run(
        [sys.executable, "-c", code],
        env=dict(os.environ, LIBKV_LIBRARY=str(missing)),
        capture_output=True,
        text=True,
    )
    assert r.returncode != 0
    assert "ImportError" in r.stderr and "LIBKV_LIBRARY" in r.stderr


def test_public_api_is_documented() -> None:
    missing = []
    for name in libkv.__all__:
        obj = getattr(libkv, name)
        if not (getattr(obj, "__doc__", None) or "").strip():
            missing.append(name)
    for cls in (libkv.DB, libkv.Batch):
        for attr, member in vars(cls).items():
            if callable(member) and not attr.startswith("_") and not (member.__doc__ or "").strip():
                missing.append(f"{cls.__name__}.{attr}")
    assert missing == []
