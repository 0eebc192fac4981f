#!/bin/bash
# Instruction and cache-miss counts per operation, from callgrind: deterministic where timings on
# a shared machine are not (see bench/PROFILE.md). Needs valgrind (Debian: apt install valgrind).
#
#   bench/counts/run.sh OPS SCRIPT [ARGS...]   (COUNTS_ROWS=N: report the N costliest functions; 25)
#
# SCRIPT (TypeScript, run with tsx) calls phase('start') and phase('end') from ./phase.ts around
# OPS operations; the report divides every count by OPS. The simulated caches are this machine's
# L1d (32 KiB) and L2 (512 KiB per core), so "L2 misses" are reads that went to L3 or memory.
set -euo pipefail
if [ $# -lt 2 ]; then echo 'usage: bench/counts/run.sh OPS SCRIPT [ARGS...]' >&2; exit 2; fi
command -v valgrind > /dev/null || { echo 'valgrind is not installed (apt install valgrind)' >&2; exit 2; }
ops=$1; shift
out=$(mktemp -d /tmp/counts.XXXXXX)
COUNTS=1 valgrind --tool=callgrind --cache-sim=yes --D1=32768,8,64 --LL=524288,8,64 --instr-atstart=no \
  --callgrind-out-file="$out/callgrind.%p" node --expose-gc --perf-basic-prof --import tsx "$@" > "$out/log" 2>&1 &
pid=$!
wait_for() {
  until grep -q "@@$1" "$out/log" 2>/dev/null; do
    kill -0 $pid 2>/dev/null || { cat "$out/log"; exit 1; }
    sleep 0.5
  done
}
wait_for start
callgrind_control -i on $pid > /dev/null 2>&1
touch /tmp/counts-flag.$pid.start
wait_for end
callgrind_control -d $pid > /dev/null 2>&1
callgrind_control -i off $pid > /dev/null 2>&1
touch /tmp/counts-flag.$pid.end
wait $pid
rm -f /tmp/counts-flag.$pid.*
dump=$(ls "$out"/callgrind.$pid.* | head -1)
node --import tsx "$(dirname "$0")/report.ts" "$dump" "/tmp/perf-$pid.map" "$ops" "${COUNTS_ROWS:-25}"
rm -rf "$out" "/tmp/perf-$pid.map"
