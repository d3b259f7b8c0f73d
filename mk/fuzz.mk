# Fuzzing (fuzz/ is a cargo-fuzz crate outside the workspace; nightly).
#   make fuzz-replay              every committed corpus file, on stable
#   make fuzz-run FUZZ_SECONDS=60 each target for FUZZ_SECONDS, one at a time
#   make fuzz-cmin                minimize each committed corpus
#   make crash-loop CRASH_CYCLES=1000
#   make fuzz-cpu FUZZ_CPU_SECONDS=3600  each target until it has used that much
#                                 CPU time (scripts/fuzz-cpu.sh; nice 19; logs in
#                                 target/fuzz-logs/)

FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= $(basename $(notdir $(wildcard fuzz/fuzz_targets/*.rs)))
# New inputs go to a scratch corpus; only minimized ones are committed.
FUZZ_WORK ?= $(CURDIR)/target/fuzz-work
CRASH_CYCLES ?= 1000
FUZZ_CPU_SECONDS ?= 3600

.PHONY: fuzz-replay fuzz-run fuzz-cmin fuzz-cpu crash-loop

fuzz-replay:
	$(CARGO) test -p kv-engine --test fuzz_replay
	$(CARGO) test -p kv-ffi --test fuzz_replay

fuzz-run:
	@set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_WORK)/$$t; \
	  echo "== fuzz $$t for $(FUZZ_SECONDS) s"; \
	  (cd fuzz && $(CARGO) +nightly fuzz run -O $$t $(FUZZ_WORK)/$$t corpus/$$t -- \
	    -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -print_final_stats=1); \
	done

fuzz-cmin:
	@set -e; for t in $(FUZZ_TARGETS); do \
	  (cd fuzz && $(CARGO) +nightly fuzz cmin -O $$t corpus/$$t -- -rss_limit_mb=2048); \
	done

crash-loop:
	scripts/crash-loop.sh $(CRASH_CYCLES)

fuzz-cpu:
	@set -e; for t in $(FUZZ_TARGETS); do scripts/fuzz-cpu.sh $$t $(FUZZ_CPU_SECONDS); done
