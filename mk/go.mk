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
# The prefix has a fixed path inside this checkout and the build uses this
# checkout's own Go cache: Go's shared build cache kept the cgo link flags
# pkg-config gave an earlier build (-L<old prefix>/lib) and reused them after
# that prefix was gone ("cannot find -lkv").
KV_GO_PKGCONFIG_PREFIX := $(CURDIR)/target/go-pkgconfig-prefix
test-go-pkgconfig: lib
	@set -e; rm -rf $(KV_GO_PKGCONFIG_PREFIX); \
	$(MAKE) --no-print-directory install PREFIX=$(KV_GO_PKGCONFIG_PREFIX) >/dev/null; \
	cd $(KV_GO_DIR); \
	GOCACHE=$(CURDIR)/target/go-cache-pkgconfig \
	PKG_CONFIG_PATH=$(KV_GO_PKGCONFIG_PREFIX)/lib/pkgconfig LD_LIBRARY_PATH=$(KV_GO_PKGCONFIG_PREFIX)/lib \
		$(GO) test -tags libkv_pkgconfig -count=1 -run 'Example' ./...

bench-go: lib
	cd $(KV_GO_DIR) && $(GO) test -run '^$$' -bench . -benchtime 2s ./...

fuzz-go: lib
	cd $(KV_GO_DIR) && $(GO) test -run '^$$' -fuzz FuzzOps -fuzztime $(FUZZTIME) ./...
