#!/usr/bin/env bash
# Runs the kv-bench suite and writes benches/results/<date>-<host>.md plus the
# charts beside it. Usage: benches/run-suite.sh quick|full|full-small
# (full-small: every engine, quick sizes: checks the peers end to end).
# Called by `make bench` / `make bench-full` (mk/bench.mk); the binary must be
# built already (KV_BENCH points at it).
set -euo pipefail

preset=${1:-quick}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${KV_BENCH:-$root/target/release/kv-bench}
stamp=$(date -u +%Y-%m-%d)
host=$(hostname -s 2>/dev/null || hostname)
name="$stamp-$host${KV_BENCH_SUFFIX:-}"
[ "$preset" != quick ] && name="$name-$preset"
[ -n "${KV_BENCH_SECTIONS:-}" ] && name="$name-$(echo "$KV_BENCH_SECTIONS" | tr ' ' '-')"
out="$root/benches/results/$name.md"
charts="$root/benches/results/$name"
# The databases live on the disk under test: the repository's file system.
work="$root/target/bench-work"
rm -rf "$work" "$charts"
mkdir -p "$work" "$charts"
cd "$work"

case "$preset" in
quick | full-small)
    engines="libkv,redis"
    [ "$preset" = full-small ] && engines=all
    durability=(durability --seconds 1 --warmup-seconds 0.3 --runs 3 --threads 1,4,16,64 --values 100,4096)
    crash=(crash --kill-runs 3 --power-runs 3)
    get=(get --keys 1000000 --threads 1,2,4 --seconds 2 --runs 3)
    memory=(memory --keys 1000000)
    open=(open --keys 1000000 --runs 3)
    compaction=(compaction --keys 500000 --runs 3)
    compaction_large=(compaction --keys 50000 --value-bytes 4096 --runs 3)
    zset=(zset --members 200000 --ops 50000 --runs 3)
    ttl=(ttl --keys 500000 --runs 3)
    ;;
full)
    engines=all
    durability=(durability --seconds 2 --warmup-seconds 0.5 --runs 3 --threads 1,4,16,64 --values 100,4096)
    crash=(crash --kill-runs 5 --power-runs 5)
    get=(get --keys 1000000,10000000 --threads 1,2,4 --seconds 3 --runs 3)
    memory=(memory --keys 1000000,10000000)
    open=(open --keys 1000000,10000000 --runs 3)
    compaction=(compaction --keys 1000000 --runs 3)
    compaction_large=(compaction --keys 100000 --value-bytes 4096 --runs 3)
    zset=(zset --members 1000000 --ops 100000 --runs 3)
    ttl=(ttl --keys 1000000 --runs 3)
    ;;
*)
    echo "usage: $0 quick|full|full-small" >&2
    exit 2
    ;;
esac
if ! command -v redis-server >/dev/null; then
    echo "redis-server not installed: redis comparisons skipped (apt-get install -y redis-server)" >&2
    [ "$engines" = "libkv,redis" ] && engines=libkv
fi

{
    echo "# kv-bench results: $name ($preset preset)"
    echo
    echo "Produced by \`benches/run-suite.sh $preset\` (\`make bench$([ "$preset" != quick ] && echo -full)\`) at $(date -u '+%Y-%m-%d %H:%M UTC'), commit \`$(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- engine benches || echo '+dirty')\`, features: \`${KV_BENCH_FEATURES:-none}\`."
    echo
    echo "## Machine"
    echo
    echo '```'
    echo "nproc: $(nproc)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "kernel: $(uname -r)"
    echo "load at start: $(uptime)"
    free -h
    df -T "$work" | sed 's/^/df: /'
    stat -f -c 'stat -f: type=%T block=%S' "$work"
    echo "redis-server: $(redis-server --version 2>/dev/null || echo 'not installed')"
    echo "rustc: $(rustc --version)"
    echo '```'
    echo
    echo "The machine is shared (2 cores, other engineers building and testing while this ran): every figure is"
    echo "noisy; the load is printed before each section. Figures are medians of runs with [min–max]."
    echo
} > "$out"

# KV_BENCH_SECTIONS (space-separated subcommand names, e.g. "open compaction")
# runs only those sections of the preset; the file name gets a -sections suffix.
sections=${KV_BENCH_SECTIONS:-}
section() {
    if [ -n "$sections" ] && [[ " $sections " != *" $1 "* ]]; then
        return
    fi
    {
        echo
        echo "<!-- load before this section: $(uptime) -->"
        echo "Load before this section: \`$(uptime | sed 's/.*load average/load average/')\`"
        echo
        echo "Command: \`kv-bench $*\`"
        echo
    } >> "$out"
    echo "== kv-bench $*" >&2
    "$bin" "$@" >> "$out"
}

section "${durability[@]}" --engines "$engines" --dir "$work/durability" --charts "$charts"
section "${crash[@]}" --dir "$work/crash"
section "${get[@]}" --engines "$engines"
section "${memory[@]}"
section "${open[@]}"
section "${compaction[@]}"
section "${compaction_large[@]}"
if command -v redis-server >/dev/null; then
    section "${zset[@]}"
else
    section "${zset[@]}" --no-redis
fi
section "${ttl[@]}"
echo >> "$out"
echo "Load at the end: \`$(uptime | sed 's/.*load average/load average/')\`" >> "$out"
# Chart links in the markdown are relative to the chart directory.
sed -i "s|](durability-|]($name/durability-|" "$out"
cd "$root"
rm -rf "$work"
echo "wrote $out and $charts/" >&2
