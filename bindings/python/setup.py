"""Build hook: runs ``cargo build --release -p kv-ffi`` in the libkv
repository that contains this directory and ships the resulting
``libkv.so`` inside the ``libkv`` package. The package itself is pure
Python (ctypes); only the wheel's platform tag reflects the bundled
library.

Environment:
  LIBKV_PREBUILT=/path/libkv.so   ship this file instead of running cargo
  CARGO                           the cargo to run (default: cargo)
  CARGO_TARGET_DIR                where cargo builds (default: <repo>/target)
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


def _build_libkv() -> Path:
    prebuilt = os.environ.get("LIBKV_PREBUILT")
    if prebuilt:
        return Path(prebuilt)
    if not (REPO / "Cargo.toml").is_file() or not (REPO / "ffi").is_dir():
        raise SystemExit(
            f"libkv: cannot find the Rust workspace at {REPO}; build from a libkv checkout "
            "(pip install ./bindings/python) or set LIBKV_PREBUILT to a libkv.so"
        )
    cargo = os.environ.get("CARGO", "cargo")
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    env = dict(os.environ, CARGO_TARGET_DIR=str(target))
    subprocess.run([cargo, "build", "--release", "-p", "kv-ffi"], cwd=REPO, env=env, check=True)
    return target / "release" / "libkv.so"


class BuildPyWithLibkv(build_py):
    """build_py that also builds and copies ``libkv.so`` into the package."""

    def run(self) -> None:
        super().run()
        so = _build_libkv()
        dest = Path(self.build_lib) / "libkv" / "libkv.so"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(so, dest)
        os.chmod(dest, 0o755)


class BinaryDistribution(Distribution):
    """Marks the wheel as platform-specific: it carries a native library."""

    def has_ext_modules(self) -> bool:
        return True


try:
    from setuptools.command.bdist_wheel import bdist_wheel as _bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel as _bdist_wheel  # type: ignore[no-redef]


class BdistWheelAnyPython(_bdist_wheel):  # type: ignore[misc,valid-type]
    """Tags the wheel ``py3-none-<platform>``: no extension module, so any
    Python 3 can load it."""

    def get_tag(self) -> tuple[str, str, str]:
        _, _, plat = super().get_tag()
        return "py3", "none", plat


setup(
    cmdclass={"build_py": BuildPyWithLibkv, "bdist_wheel": BdistWheelAnyPython},
    distclass=BinaryDistribution,
)
