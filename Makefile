# libkv — top-level build. `make demo` runs the tour, `make test` runs every
# test of every language. Both build what they need; nothing is assumed
# installed beyond the toolchains (Rust, Go, Python 3, a C compiler).

CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: all build demo test test-rust lint fmt clippy bench bench-full clean

all: build

build:
	$(CARGO) build --workspace --release

## The main job: a guided tour of libkv (scripts/demo.sh): the Redis
## patterns through the `kv` CLI, the C/Python/Go examples, kill -9,
## compaction, corruption and repair, fsync policy costs.
demo:
	$(CARGO) build --quiet --release -p kv-cli
	$(CARGO) build --quiet --release -p kv-engine --example tour
	$(CARGO) build --quiet --release -p kv-ffi
	bash scripts/demo.sh

## Every test: Rust (unit, integration, crash, power-cut), then each
## language binding's suite, added by the fragments in mk/.
test: test-rust test-c test-python test-go

test-rust:
	$(CARGO) test --workspace

lint: fmt clippy

fmt:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

clean:
	$(CARGO) clean

# Language bindings, benchmarks and packaging add their targets here.
-include mk/*.mk
