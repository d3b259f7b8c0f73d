# mk/go.mk: the Go binding (bindings/go, package kv) over the static
# libkv.a. Included by the top-level Makefile.
#
#   make test-go    go vet, then the tests under the race detector with
#                   cgocheck2 (every Go pointer passed to C is checked), then
#                   the pkg-config build against an installed libkv
#   make bench-go   Get/Set benchmarks per fsync policy, sorted-set benchmarks
#   make fuzz-go    the operation-sequence fuzzer (FUZZTIME, default 60s)

GO ?= go
KV_GO_DIR := bindings/go
FUZZTIME ?= 60s

.PHONY: test-go test-go-pkgconfig bench-go fuzz-go

test-go: lib
	cd $(KV_GO_DIR) && $(GO) vet ./...
	cd $(KV_GO_DIR) && GOEXPERIMENT=cgocheck2 $(GO) test -race -count=1 ./...
	@$(MAKE) --no-print-directory test-go-pkgconfig

# Builds the binding the way an installed-library user does
# (-tags libkv_pkgconfig, shared libkv.so) and runs its examples.
test-go-pkgconfig: lib
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(MAKE) --no-print-directory install PREFIX=$$tmp/prefix >/dev/null; \
	cd $(KV_GO_DIR); \
	PKG_CONFIG_PATH=$$tmp/prefix/lib/pkgconfig LD_LIBRARY_PATH=$$tmp/prefix/lib \
		$(GO) test -tags libkv_pkgconfig -count=1 -run 'Example' ./...

bench-go: lib
	cd $(KV_GO_DIR) && $(GO) test -run '^$$' -bench . -benchtime 2s ./...

fuzz-go: lib
	cd $(KV_GO_DIR) && $(GO) test -run '^$$' -fuzz FuzzOps -fuzztime $(FUZZTIME) ./...
