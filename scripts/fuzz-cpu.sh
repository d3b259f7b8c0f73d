#!/usr/bin/env bash
# Runs one cargo-fuzz target until it has used CPU_SECONDS of CPU time (not
# wall time: on a shared machine a wall-clock limit under-fuzzes), then stops
# it with SIGINT so libFuzzer prints its final stats.
#
#   scripts/fuzz-cpu.sh TARGET CPU_SECONDS [LOG]
#
# New inputs go to target/fuzz-work/TARGET (scratch); the committed corpus
# under fuzz/corpus/TARGET is read, not written. A crash stops the run with
# libFuzzer's artifact path in the log. Runs at nice 19 so it only takes
# otherwise idle CPU.
set -euo pipefail
target=${1:?usage: fuzz-cpu.sh TARGET CPU_SECONDS [LOG]}
cpu_limit_s=${2:?usage: fuzz-cpu.sh TARGET CPU_SECONDS [LOG]}
root=$(cd "$(dirname "$0")/.." && pwd)
log=${3:-$root/target/fuzz-logs/$target.log}
work=$root/target/fuzz-work/$target
artifacts=$root/target/fuzz-artifacts/$target
mkdir -p "$work" "$artifacts" "$(dirname "$log")"
bin=$root/fuzz/target/x86_64-unknown-linux-gnu/release/$target
if [[ ! -x $bin ]]; then
  (cd "$root/fuzz" && cargo +nightly fuzz build -O "$target")
fi
ticks_per_s=$(getconf CLK_TCK)
start=$(date +%s)
nice -n 19 "$bin" "$work" "$root/fuzz/corpus/$target" -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$artifacts/" >"$log" 2>&1 &
pid=$!
cpu_s=0
while kill -0 "$pid" 2>/dev/null; do
  # utime + stime of the fuzzer process, fields 14 and 15 of /proc/PID/stat.
  if stat=$(cat "/proc/$pid/stat" 2>/dev/null); then
    read -r utime stime < <(echo "${stat##*) }" | awk '{print $12, $13}')
    cpu_s=$(((utime + stime) / ticks_per_s))
    if ((cpu_s >= cpu_limit_s)); then
      kill -INT "$pid" 2>/dev/null || true
      break
    fi
  fi
  sleep 5
done
rc=0
wait "$pid" || rc=$?
echo "fuzz-cpu: $target used ${cpu_s} s CPU in $(($(date +%s) - start)) s wall, exit $rc" | tee -a "$log"
# libFuzzer exits 0 after SIGINT's final stats, or 72 (-interrupted_exitcode default);
# anything else is a crash or an error.
[[ $rc == 0 || $rc == 72 || $rc == 130 ]]
