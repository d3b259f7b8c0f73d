# mk/bench.mk: the kv-bench suite (benches/). Included by the top-level Makefile.
#
#   make bench        quick preset (≤ 15 min on 2 cores): libkv beside the raw
#                     disk and redis-server (if installed), crash cost, gets,
#                     memory, open, compaction, sorted sets, TTL storm
#   make bench-full   everything, peers included (redb, fjall, sled, LMDB via
#                     heed, RocksDB via the system librocksdb): run
#                     `make bench-deps` first (root, Debian) or have the
#                     packages it lists installed
#   make bench-deps   apt-get install the prerequisites of bench-full
#   make bench-full BENCH_FULL_PRESET=full-small   every engine, quick sizes
#
# Results: benches/results/<date>-<host>[-full].md and PNG charts beside it.
# Peers are behind cargo features, so `make test`, `make build` and CI never
# compile them. RocksDB is never built from source here: the `peers-rocksdb`
# feature links Debian's librocksdb-dev dynamically.

CARGO ?= cargo
export CARGO_TARGET_DIR ?= $(CURDIR)/target
BENCH_DEB_PACKAGES := redis-server librocksdb-dev libclang-dev
ROCKSDB_LIB_DIR ?= /usr/lib/x86_64-linux-gnu
SNAPPY_LIB_DIR ?= /usr/lib/x86_64-linux-gnu
comma := ,
BENCH_FULL_PRESET ?= full
# Full preset: RocksDB only when the system library is there.
BENCH_FULL_FEATURES := peers$(if $(wildcard $(ROCKSDB_LIB_DIR)/librocksdb.so),$(comma)peers-rocksdb,)

.PHONY: bench bench-full bench-deps

bench:
	$(CARGO) build --release -p kv-bench
	KV_BENCH_FEATURES=none benches/run-suite.sh quick

bench-deps:
	@missing=""; for p in $(BENCH_DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then apt-get update && apt-get install -y $$missing; else echo "bench-deps: all installed"; fi

bench-full:
	ROCKSDB_LIB_DIR=$(ROCKSDB_LIB_DIR) SNAPPY_LIB_DIR=$(SNAPPY_LIB_DIR) \
		$(CARGO) build --release -p kv-bench --features $(BENCH_FULL_FEATURES)
	KV_BENCH_FEATURES=$(BENCH_FULL_FEATURES) benches/run-suite.sh $(BENCH_FULL_PRESET)
