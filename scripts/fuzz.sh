#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang, ASan + UBSan) and runs each for SECONDS from its
# seed corpus in tests/fuzz/corpus/<target>; prints each target's executions and crashes and exits
# non-zero when any target found one (the input is kept under BUILD_DIR/crashes/).
#
# Usage: scripts/fuzz.sh [SECONDS] [BUILD_DIR]     defaults: 60, build-fuzz-clang
# Environment: FUZZ_TARGETS (default "idx gzip mat safetensors config"), FUZZ_JOBS (build jobs).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
build=${2:-build-fuzz-clang}
targets=${FUZZ_TARGETS:-idx gzip mat safetensors config}
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}

command -v clang++ >/dev/null || { echo "fuzz: clang++ not found (scripts/setup.sh installs clang)" >&2; exit 1; }
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# -O1 with line tables: fast to build and to fuzz, reports with file:line; only the fuzz targets are built.
cmake -S . -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -gline-tables-only" \
  -DTAPIR_FUZZ=ON -DTAPIR_BUILD_TESTS=OFF -DTAPIR_BUILD_BENCH=OFF -DTAPIR_BUILD_EXAMPLES=OFF -DTAPIR_BUILD_CLI=OFF \
  "${launcher[@]}" >/dev/null
cmake --build "$build" -j"$jobs" --target fuzzers

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=0
printf '%-12s %12s %8s  %s\n' target executions crashes result
for t in $targets; do
  corpus="$build/corpus/$t" crashes="$build/crashes/$t"
  mkdir -p "$corpus" "$crashes"
  log="$build/fuzz_$t.log"
  # New inputs go to the build's corpus (the first directory); the committed seeds stay as they are.
  # A single allocation above 64 MB is a finding: no input of a few KB justifies it.
  rc=0
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=64 \
    -print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" "tests/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  found=$(grep -c 'Test unit written' "$log" || true)
  if [ "$rc" -ne 0 ]; then
    failed=1
    printf '%-12s %12s %8s  %s\n' "$t" "${execs:-?}" "$found" "FAILED (exit $rc; see $log)"
    grep -m1 -E 'ERROR: |runtime error|deadly signal' "$log" | sed 's/^/    /' || true
    grep -E 'Test unit written' "$log" | sed 's/^/    /' || true
  else
    printf '%-12s %12s %8s  %s\n' "$t" "${execs:-?}" 0 ok
  fi
done
exit "$failed"
