# mk/python.mk: the Python binding (bindings/python, package `libkv`, ctypes).
# Included by the top-level Makefile.
#
#   make test-python    venv + `pip install ./bindings/python` (builds libkv.so
#                       with cargo) + mypy --strict + pytest (incl. hypothesis,
#                       crash test, examples)
#   make bench-python   bindings/python/bench/bench.py vs redis-py and py-lmdb

PYTHON ?= python3
export CARGO_TARGET_DIR ?= $(CURDIR)/target
KV_PY_VENV := $(CARGO_TARGET_DIR)/python-venv
KV_PY := $(KV_PY_VENV)/bin/python
KV_PY_DEPS := pytest hypothesis mypy redis

.PHONY: test-python bench-python

# The venv and the test tools, created once and reused.
$(KV_PY_VENV)/.deps-stamp: mk/python.mk
	$(PYTHON) -m venv $(KV_PY_VENV)
	$(KV_PY) -m pip install -q --upgrade pip
	$(KV_PY) -m pip install -q $(KV_PY_DEPS)
	touch $@

# Installs the binding the way users do (the build hook runs cargo), then
# tests the installed copy (the src/ layout keeps the checkout off sys.path).
test-python: $(KV_PY_VENV)/.deps-stamp
	env -u LIBKV_LIBRARY $(KV_PY) -m pip install -q --force-reinstall --no-deps ./bindings/python
	cd bindings/python && env -u LIBKV_LIBRARY $(KV_PY) -m mypy --strict src/libkv examples
	cd bindings/python && env -u LIBKV_LIBRARY $(KV_PY) -m pytest -q -p no:cacheprovider tests

bench-python: $(KV_PY_VENV)/.deps-stamp
	env -u LIBKV_LIBRARY $(KV_PY) -m pip install -q --force-reinstall --no-deps ./bindings/python
	$(KV_PY) -m pip install -q redis lmdb
	env -u LIBKV_LIBRARY $(KV_PY) bindings/python/bench/bench.py
