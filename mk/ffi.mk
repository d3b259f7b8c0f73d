# mk/ffi.mk: the C ABI of libkv (libkv.so, libkv.a, include/kv.h, libkv.pc)
# and its C tests. Included by the top-level Makefile.
#
#   make lib            release build of target/release/libkv.{so,a}
#   make header         regenerate include/kv.h with cbindgen
#   make header-check   fail if include/kv.h differs from a fresh generation
#   make install PREFIX=/usr/local   header, both libraries, libkv.pc
#   make test-c         C tests: normal, ASan+UBSan, valgrind, pkg-config, examples
#   make examples-c     build and run the C examples

CARGO ?= cargo
export CARGO_TARGET_DIR ?= $(CURDIR)/target
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig

KV_VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' $(CURDIR)/Cargo.toml | head -n 1)
# The soname's major number is the ABI version (ffi/build.rs reads the same line).
KV_SOMAJOR := $(shell sed -n 's/^pub const KV_ABI_VERSION: u32 = \([0-9]*\);/\1/p' $(CURDIR)/ffi/src/abi.rs)
KV_RELEASE := $(CARGO_TARGET_DIR)/release
KV_SO := $(KV_RELEASE)/libkv.so
KV_A := $(KV_RELEASE)/libkv.a
# What a program linking libkv.a also needs (rustc --print native-static-libs).
KV_STATIC_LIBS := -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
KV_CBUILD := $(CARGO_TARGET_DIR)/c
KV_CFLAGS := -std=c99 -Wall -Wextra -Werror -g -O1 -D_POSIX_C_SOURCE=200809L -Iinclude
KV_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
KV_VALGRIND := valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
	--show-leak-kinds=definite,indirect
KV_C_TESTS := $(wildcard bindings/c/tests/test_*.c)
KV_C_EXAMPLES := $(wildcard bindings/c/examples/*.c)
KV_C_COMMON := bindings/c/tests/runner.h

.PHONY: lib header header-check install test-c examples-c pc

lib:
	$(CARGO) build --release -p kv-ffi

header:
	$(CARGO) run -q -p kv-ffi-header -- ffi include/kv.h

header-check:
	@mkdir -p $(KV_CBUILD)
	$(CARGO) run -q -p kv-ffi-header -- ffi $(KV_CBUILD)/kv.h.fresh
	@diff -u include/kv.h $(KV_CBUILD)/kv.h.fresh || \
		{ echo "include/kv.h is stale: run 'make header' and commit it" >&2; exit 1; }
	@echo "include/kv.h is up to date"

$(KV_CBUILD)/libkv.pc: ffi/libkv.pc.in $(CURDIR)/Cargo.toml
	@mkdir -p $(KV_CBUILD)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
		-e 's|@VERSION@|$(KV_VERSION)|' -e 's|@LIBS_PRIVATE@|$(KV_STATIC_LIBS)|' $< > $@

# Always regenerated: PREFIX is part of its content.
pc:
	@rm -f $(KV_CBUILD)/libkv.pc
	@$(MAKE) --no-print-directory $(KV_CBUILD)/libkv.pc PREFIX=$(PREFIX) LIBDIR=$(LIBDIR) INCLUDEDIR=$(INCLUDEDIR)

install: lib pc
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 644 include/kv.h $(DESTDIR)$(INCLUDEDIR)/kv.h
	install -m 755 $(KV_SO) $(DESTDIR)$(LIBDIR)/libkv.so.$(KV_VERSION)
	ln -sf libkv.so.$(KV_VERSION) $(DESTDIR)$(LIBDIR)/libkv.so.$(KV_SOMAJOR)
	ln -sf libkv.so.$(KV_SOMAJOR) $(DESTDIR)$(LIBDIR)/libkv.so
	install -m 644 $(KV_A) $(DESTDIR)$(LIBDIR)/libkv.a
	install -m 644 $(KV_CBUILD)/libkv.pc $(DESTDIR)$(PKGCONFIGDIR)/libkv.pc

# C tests, three ways: plain, under ASan+UBSan, under valgrind. All link the
# static library (built normally; the sanitizers instrument the C side and
# intercept malloc/free for the whole process).
test-c: lib header-check
	@mkdir -p $(KV_CBUILD)
	@set -e; for t in $(KV_C_TESTS); do \
		n=$$(basename $$t .c); \
		echo "== $$n (plain)"; \
		$(CC) $(KV_CFLAGS) -o $(KV_CBUILD)/$$n $$t $(KV_A) $(KV_STATIC_LIBS); \
		$(KV_CBUILD)/$$n; \
		echo "== $$n (ASan+UBSan)"; \
		$(CC) $(KV_CFLAGS) $(KV_SAN) -o $(KV_CBUILD)/$$n.san $$t $(KV_A) $(KV_STATIC_LIBS); \
		ASAN_OPTIONS=detect_leaks=1 $(KV_CBUILD)/$$n.san; \
		echo "== $$n (valgrind)"; \
		$(KV_VALGRIND) $(KV_CBUILD)/$$n; \
	done
	@$(MAKE) --no-print-directory examples-c
	@$(MAKE) --no-print-directory test-c-pkgconfig

examples-c: lib
	@mkdir -p $(KV_CBUILD)
	@set -e; for e in $(KV_C_EXAMPLES); do \
		n=$$(basename $$e .c); \
		echo "== example $$n"; \
		$(CC) $(KV_CFLAGS) -o $(KV_CBUILD)/ex_$$n $$e $(KV_A) $(KV_STATIC_LIBS); \
		tmp=$$(mktemp -d); \
		$(KV_VALGRIND) $(KV_CBUILD)/ex_$$n $$tmp/db || { rm -rf "$$tmp"; exit 1; }; \
		rm -rf "$$tmp"; \
	done

# Installs into a temporary prefix and builds a program the way users do:
# cc app.c $(pkg-config --cflags --libs libkv), shared and static.
test-c-pkgconfig: lib
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(MAKE) --no-print-directory install PREFIX=$$tmp/prefix >/dev/null; \
	export PKG_CONFIG_PATH=$$tmp/prefix/lib/pkgconfig; \
	echo "== pkg-config: $$(pkg-config --modversion libkv) $$(pkg-config --cflags --libs libkv)"; \
	$(CC) -std=c99 -Wall -Wextra -Werror -o $$tmp/app bindings/c/tests/pkgconfig_app.c $$(pkg-config --cflags --libs libkv); \
	LD_LIBRARY_PATH=$$tmp/prefix/lib $$tmp/app $$tmp/db-shared; \
	test -n "$(KV_SOMAJOR)" || { echo "no KV_ABI_VERSION in ffi/src/abi.rs" >&2; exit 1; }; \
	readelf -d $$tmp/prefix/lib/libkv.so | grep -q 'SONAME.*\[libkv.so.$(KV_SOMAJOR)\]' || { echo "libkv.so lacks soname libkv.so.$(KV_SOMAJOR)" >&2; exit 1; }; \
	readelf -d $$tmp/app | grep -q 'NEEDED.*\[libkv.so.$(KV_SOMAJOR)\]' || { echo "app does not record libkv.so.$(KV_SOMAJOR)" >&2; exit 1; }; \
	$(CC) -std=c99 -Wall -Wextra -Werror -o $$tmp/app-static bindings/c/tests/pkgconfig_app.c \
		$$(pkg-config --cflags libkv) $$(pkg-config --static --libs libkv | sed "s/-lkv /-l:libkv.a /"); \
	$$tmp/app-static $$tmp/db-static; \
	echo "pkg-config: 2 passed, 0 failed"
