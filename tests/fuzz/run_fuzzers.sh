#!/usr/bin/env bash
# Builds the libFuzzer harnesses in a tree of their own and runs each for a
# bounded time over its seed corpus; fails if any harness finds a crash, a
# sanitizer report, a hang or an allocation over the limit.
#
# usage: run_fuzzers.sh SRC BUILD SECONDS [HARNESS...]
#   SRC      the repository root
#   BUILD    the fuzz build tree (configured with clang and NETSWEEP_FUZZ=ON
#            if it has no CMakeCache.txt yet; reused, and rebuilt incrementally)
#   SECONDS  fuzzing time for all harnesses together (split evenly)
#   HARNESS  fuzz_points_json fuzz_csv fuzz_config fuzz_spec_json fuzz_results
#            fuzz_results_layout fuzz_font (default: all)
# Each run starts from the seed corpus (tests/fuzz/corpus/<harness>), which
# is read, never written (new inputs go to BUILD/corpus/<harness>, emptied at
# the start of each run), so every
# run fuzzes the same starting point; a finding is saved as
# BUILD/findings/<harness>-crash-... (or -timeout-, -oom-, -leak-) and the run fails.
set -euo pipefail
src=$(cd "$1" && pwd) build=$2 seconds=$3
shift 3
harnesses=("$@")
((${#harnesses[@]})) || harnesses=(fuzz_points_json fuzz_csv fuzz_config fuzz_spec_json fuzz_results fuzz_results_layout
  fuzz_font)

for tool in clang clang++ cmake; do
  command -v "$tool" >/dev/null || { echo "run_fuzzers: $tool is missing (scripts/setup.sh installs it)"; exit 1; }
done
start=$(date +%s)
if [ ! -f "$build/CMakeCache.txt" ]; then
  generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  cmake -S "$src" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DNETSWEEP_FUZZ=ON -DNETSWEEP_CUDA=OFF \
    -DNETSWEEP_NATIVE=OFF -DBUILD_TESTING=OFF >"$build.configure.log" 2>&1 ||
    { cat "$build.configure.log"; exit 1; }
fi
cmake --build "$build" --target netsweep_fuzzers -j "$(nproc)" | tail -n 1
built=$(date +%s)
echo "run_fuzzers: built in $((built - start)) s"

per=$((seconds / ${#harnesses[@]}))
((per >= 1)) || per=1
mkdir -p "$build/findings"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$src/tests/fuzz/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
for h in "${harnesses[@]}"; do
  seeds=$src/tests/fuzz/corpus/$h
  [ -d "$seeds" ] || { echo "run_fuzzers: no seed corpus $seeds"; exit 1; }
  rm -rf "$build/corpus/$h"
  mkdir -p "$build/corpus/$h"
  log=$build/findings/$h.log
  # -timeout: one input may take at most 10 s; -rss_limit_mb: 2 GB in all
  # (and so no single allocation over 2 GB).
  if "$build/tests/fuzz/$h" -max_total_time="$per" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$build/findings/$h-" "$build/corpus/$h" "$seeds" >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    echo "run_fuzzers: $h: $runs inputs in ${per} s, nothing found"
  else
    echo "run_fuzzers: $h: FOUND SOMETHING (log: $log)"
    grep -E '^(==[0-9]+==ERROR|SUMMARY|FUZZ_CHECK|artifact_prefix|Test unit written)|runtime error|deadly signal|out-of-memory|timeout' \
      "$log" | head -n 20 || true
    failed+=("$h")
  fi
done
echo "run_fuzzers: $(( $(date +%s) - start )) s in all"
if ((${#failed[@]})); then
  echo "run_fuzzers: findings in ${failed[*]}; reproduce with BUILD/tests/fuzz/HARNESS FILE"
  exit 1
fi
