#!/usr/bin/env bash
# crash-loop.sh N — kill -9 a multi-threaded writer at random points N times
# over the same database directory; after each kill, reopen and verify that
# every acknowledged operation is present (engine/examples/crash_writer.rs).
#
# Environment: CRASH_DIR (work directory; default a fresh temp dir, removed
# on success and kept on failure), CRASH_MAX_MS (longest run before the kill,
# default 300).
set -euo pipefail
cd "$(dirname "$0")/.."
cycles=${1:-100}
max_ms=${CRASH_MAX_MS:-300}
cargo build --quiet --release -p kv-engine --example crash_writer
bin="${CARGO_TARGET_DIR:-target}/release/examples/crash_writer"
work=${CRASH_DIR:-$(mktemp -d -t kv-crash-loop.XXXXXX)}
mkdir -p "$work/db" "$work/log"
start=$(date +%s)
for ((i = 1; i <= cycles; i++)); do
  "$bin" write "$work/db" "$work/log" "$i" 2>"$work/writer.err" &
  pid=$!
  # Uniform in 0..max_ms: early kills land inside open/recovery itself.
  delay_ms=$((RANDOM % (max_ms + 1)))
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  if ! kill -9 "$pid" 2>/dev/null; then
    echo "cycle $i: the writer exited before the kill:" >&2
    cat "$work/writer.err" >&2
    exit 1
  fi
  wait "$pid" 2>/dev/null || true
  if ! out=$("$bin" verify "$work/db" "$work/log" 2>&1); then
    echo "cycle $i (killed after ${delay_ms} ms): FAILED" >&2
    echo "$out" >&2
    echo "work directory kept: $work" >&2
    exit 1
  fi
  if ((i % 50 == 0 || i == cycles)); then
    echo "cycle $i: $out"
  fi
done
echo "crash-loop: $cycles cycles passed in $(($(date +%s) - start)) s ($(du -sh "$work/db" | cut -f1) on disk)"
if [[ -z "${CRASH_DIR:-}" ]]; then rm -rf "$work"; fi
