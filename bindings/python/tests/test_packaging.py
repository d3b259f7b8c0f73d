"""What `pip install ./bindings/python` ships."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_library_abi_version_matches_the_binding() -> None:
    assert libkv._ffi.ABI_VERSION == 2
    assert libkv.library_abi_version() == libkv._ffi.ABI_VERSION


def test_library_of_another_abi_version_is_refused() -> None:
    """Loading checks ``kv_abi_version()`` against the version the binding
    was written for: here the binding expects one more than the library."""
    path = libkv.library_path()
    wanted = libkv._ffi.ABI_VERSION + 1
    with pytest.raises(ImportError) as e:
        libkv._ffi._load(path, wanted)
    msg = str(e.value)
    assert f"ABI version {libkv._ffi.ABI_VERSION}," in msg and f"written for ABI version {wanted}" in msg
    assert path in msg
    # The same library passes with the version it implements.
    assert libkv._ffi._load(path, libkv._ffi.ABI_VERSION).kv_abi_version() == libkv._ffi.ABI_VERSION


def test_import_refuses_a_library_of_another_abi_version() -> None:
    """The check runs at import: a binding expecting another version (the
    module's constant patched before the library loads) cannot be imported."""
    code = (
        "import ctypes, sys\n"
        "real = ctypes.CDLL\n"
        "class Older:\n"
        "    def __init__(self, path):\n"
        "        self._lib = real(path)\n"
        "        self.kv_abi_version = lambda: 1\n"
        "    def __getattr__(self, name):\n"
        "        return getattr(self._lib, name)\n"
        "ctypes.CDLL = Older\n"
        "import libkv\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode != 0
    assert "ImportError" in r.stderr, r.stderr
    assert "ABI version 1, but this libkv package was written for ABI version 2" in r.stderr, r.stderr


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
