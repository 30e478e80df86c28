#!/usr/bin/env bash
# The GPU checks of the CUDA backend, fitted to a lent GPU machine's session (15 min of device time).
#
#   tools/gpu_session.sh prepare [SHARED]   here, on a build machine: CUDA build into build-gpu/, then
#       the binaries, their non-system libraries, the slide data and the peers from SHARED (default
#       ../shared) into .carry/ (git-ignored)
#   tools/gpu_session.sh reference [EPOCHS] here, optional, after prepare: train the parity sweep's CPU
#       side (default 400 epochs; ~2 min on 2 cores) into .carry/parity/cpu.h5, so that the GPU
#       session spends no device time on it (without it, `parity` trains 100 epochs on the GPU
#       machine's CPU)
#   tools/gpu_session.sh run CARRY OUT [PHASE...]   on the GPU machine, from the repository root
#   tools/gpu_session.sh check [CARRY]      here, free: was CARRY (default .carry) built from these
#       sources? (exit 0, else 3: `run` would stop before its first phase)
#
# With the device tool, after `prepare` (and `reference`) here, two calls, both with carry [".carry"]
# and timeout_s 360, the second right after the first (the machine stays warm 30 s):
#   bash tools/gpu_session.sh run .carry "$OUT" env cudatest sanitize classes parity
#   bash tools/gpu_session.sh run .carry "$OUT" slide frames tf32 peers peer-loop seeds-bench
# Each call stops starting steps after GPU_SESSION_BUDGET seconds (default 300) and cuts the last one
# to fit (or skips it, under half its limit left), so both calls and two machine starts fit in ~13
# minutes. Before any phase, `run` checks that every carried binary finds all its shared libraries
# (ldd) and that the carry was built from the sources beside it (.carry/SOURCES); else it stops (exit 3).
#
# Exit status: 0 if every step succeeded, 1 if any failed, timed out or was skipped, or a tool it
# needs (ncu, compute-sanitizer, python3 with h5py for the replays) was missing (all still ran;
# slide-best's skip when no variant won is an answer, not a failure), 3 as above. Phases (run in
# the order given; `first` and `speed` name the first session's two calls' lists, `again` the single
# call of a session after the kernels have run once):
#   env       GPU name, driver and memory, nvcc and compute-sanitizer, the CUDA library folders used
#   test      the real-kernel tests (CudaBackend.*, DevicePlan.*), then the device-algorithm emulations
#   cudatest  the real-kernel tests alone
#   drift     8x256 relu, 3 epochs: CPU against GPU, and GPU against itself (bug or drift; determinism)
#   sanitize  compute-sanitizer memcheck on a 1-epoch run (layers 1,8 x widths 8,384), fused and gemm
#   classes   `netsweep bench` per network class: 8x16 and 8x64 fused, 1x128 and 8x384 gemm (100
#             epochs), and the whole slide grid on the auto path (100 epochs, 256^2 frames)
#   crossover 8x16, 8x32 and 8x64 on the fused (also cuda-smem, cuda-terms1) and on the GEMM path (also cuda-dot),
#             100 epochs: the auto choice
#   split     the slide sweep (200 epochs) with the auto split at widths 33, 65 and 129, one bench
#   dot       the slide sweep (200 epochs) with the GEMM path's forward and delta products as
#             netsweep's own ops (cuda-dot) against cuBLAS's GEMMs, A B A in one bench
#   slide-dot the full slide sweep (4000 epochs, 41 frames) with own products, timed by bench
#   merge     the slide sweep (200 epochs) with every GEMM-path width of a depth in one group
#             (cuda-merge, -pershape, -dot), own products (cuda-dot), the fused networks' scratch in
#             shared memory (cuda-smem, cuda-merge-smem), the fused sums a term at a time (cuda-terms1),
#             every fused block of 256 threads (cuda-block256) against cuda, one bench; the 8-layer groups
#   slide-best the slide sweep (1000 epochs) on merge's fastest variant, if it beat cuda by 3% or
#             more, beside cuda in one bench
#   parts     the slide sweep's fused networks (also cuda-smem, cuda-terms1, cuda-block256), its GEMM
#             groups and its 8-layer GEMM groups alone, and
#             the sweep with the GEMM streams at priorities by depth (cuda-prio), 200 epochs each
#   cpu-vs-gpu `bench --devices cpu,cuda` of the slide sweep, 100 epochs: the table users read; again
#             at 200 epochs, for the ratio without the GPU's start-up
#   profile   ncu's per-kernel summary of the 8x384 GEMM group's launches (the sweep's slowest stream)
#   steady    that group alone at 20 and 220 epochs: its steady s/epoch (start-up cancels), with cuBLAS
#             in pedantic FP32 (netsweep's default) against its default math mode (cuda-gemm-defaultmath),
#             with netsweep's own products (cuda-gemm-dot), and on the fused path (groups of blocks; its
#             sums 8 terms a load, the default, and a term at a time, cuda-fused-terms1)
#   parity    the slide sweep on the CPU (carried reference, else 100 epochs here) and on the GPU
#             (`run --from` the CPU file), compared by tools/compare_results.py within tolerances
#   slide     the full slide sweep (108 networks, 4000 epochs, 41 frames of 256^2), timed; `info`
#   frames    the same with only the first and last frame (frames-vs-no-frames ratio)
#   tf32      `bench` of the slide sweep (400 epochs): cuda-gemm against cuda-gemm-tf32
#   peers     PyTorch peer, stacked (5 epochs scaled to 400) beside netsweep (400 epochs), via
#             tools/bench_vs_torch.py; the JAX peer (padded mode) at 10 and 20 epochs (their
#             difference is its steady time; a run not on a GPU fails the step)
#   peer-seeds the stacked peer with 10 networks a stack (--repeats 10, 2 epochs scaled to 400)
#             beside netsweep --seeds 10
#   peer-loop the PyTorch peer's loop mode (1 epoch scaled to 400)
#   seeds     the full slide sweep with --seeds 10 (1,080 networks), timed
#   seeds-bench  `bench` of the slide sweep, 100 epochs, with 1 and with 10 seeds (cuda, cuda-merge,
#                cuda-block256), then cuda at 200 epochs: the ratio with start-up and the steady one
#   frames-400   the slide sweep at 400 epochs with 41 frames and with 2 (the frames' cost)
# OUT gets at most 6 files: gpu_session.log (every command's output), timings.txt (one line a step:
# rc, seconds, limit), bench.jsonl (one JSON line a bench or peer step), parity.txt and parity.json
# (the comparison report), sanitize.log. Results files are written to a scratch folder and removed.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tools/gpu_phases.sh
. "$ROOT/tools/gpu_phases.sh"
SLIDE_SHAPE="--layers 1,2,3,4,6,8 --widths 2,4,8,16,32,64,128,256,384 --activations sigmoid,relu"

usage() {
  sed -n '2,/^set /p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
  exit 2
}

# A python3 with h5py and numpy (the GPU image's python3 has them; Debian's is /usr/bin/python3).
h5_python() {
  local p
  for p in ${NETSWEEP_PYTHON:-} python3 /usr/bin/python3; do
    "$p" -c 'import h5py, numpy' 2>/dev/null && { echo "$p"; return 0; }
  done
  return 1
}

# A digest of every file the build reads, without git (the device's copy of the checkout may lack it):
# `run` refuses a carry built from other sources than those beside it.
source_hash() {
  (cd "$ROOT" && find CMakeLists.txt cmake include src kernels tests tools -type f \( -name '*.cpp' -o -name '*.c' -o -name '*.h' \
    -o -name '*.cu' -o -name '*.cuh' -o -name '*.in' -o -name '*.cmake' -o -name CMakeLists.txt \) |
    LC_ALL=C sort | xargs cat | sha256sum | cut -c1-16)
}

prepare() {
  local shared=${1:-$ROOT/../shared}
  set -e
  # Taken before the build: a source changed while it ran may not be in the binaries, and the
  # carry must not claim it (checked again at the end).
  local sources commit
  sources=$(source_hash)
  commit=$(git -C "$ROOT" describe --always --dirty --abbrev=12)
  cmake -S "$ROOT" -B "$ROOT/build-gpu" -G Ninja -DCMAKE_BUILD_TYPE=Release -DNETSWEEP_CUDA=ON \
    -DNETSWEEP_NATIVE=OFF -DCMAKE_CXX_FLAGS=-march=x86-64-v3 # AVX2/FMA: runs on the GPU machine's CPU too
  cmake --build "$ROOT/build-gpu"
  rm -rf "$ROOT/.carry" && mkdir -p "$ROOT/.carry/bin" "$ROOT/.carry/lib" "$ROOT/.carry/shared/data/slide"
  cp "$ROOT/build-gpu/netsweep" "$ROOT/build-gpu/netsweep-render" "$ROOT/build-gpu/tests/netsweep_tests" \
    "$ROOT/.carry/bin/"
  # Libraries the binaries need beyond glibc's (never mixed across versions), the C++ runtime and
  # CUDA's own: the GPU image has those.
  ldd "$ROOT"/.carry/bin/* | awk '$3 ~ /^\// {print $3}' | sort -u |
    grep -Ev '/(libc|libm|libdl|libpthread|librt|libresolv|libutil|libnsl|libanl|libmvec|libgcc_s|libstdc\+\+|ld-linux[^/]*|libcuda[^/]*|libcublas[^/]*)\.so' |
    xargs -r cp -L -t "$ROOT/.carry/lib/"
  cp "$shared"/data/slide/*.json "$ROOT/.carry/shared/data/slide/"
  cp -r "$shared/peers" "$ROOT/.carry/shared/"
  # What the binaries were built from: a later session skips `prepare` if this still matches.
  if [ "$(source_hash)" != "$sources" ]; then
    echo "prepare: the sources changed while it built; run it again" >&2
    rm -rf "$ROOT/.carry"
    return 1
  fi
  echo "$commit" >"$ROOT/.carry/COMMIT"
  echo "$sources" >"$ROOT/.carry/SOURCES"
  echo "carry built from $(cat "$ROOT/.carry/COMMIT"), sources $(cat "$ROOT/.carry/SOURCES")"
  du -sh "$ROOT/.carry"
}

# The parity sweep's CPU side, trained here (no device time), without the weights (the comparison
# does not read them; they would not fit the carry limit).
reference() {
  local epochs=${1:-400} carry=$ROOT/.carry py
  [ -x "$carry/bin/netsweep" ] || { echo "run '$0 prepare' first" >&2; return 2; }
  py=$(h5_python) || { echo "no python3 with h5py (set NETSWEEP_PYTHON)" >&2; return 2; }
  mkdir -p "$carry/parity"
  local points="--points $carry/shared/data/slide/green_points.json:0 --points $carry/shared/data/slide/red_points.json:1"
  # shellcheck disable=SC2086 # word lists
  "$carry/bin/netsweep" run $SLIDE_SHAPE $points --epochs "$epochs" --snapshot-every 100 --grid 64 --device cpu \
    -o "$carry/parity/full.h5" || return
  "$py" - "$carry/parity/full.h5" "$carry/parity/cpu.h5" <<'PY' || return
import sys
import h5py
# libver v110: the checksummed format netsweep reads (h5py's default, the 1.8 format, is refused)
with h5py.File(sys.argv[1], "r") as src, h5py.File(sys.argv[2], "w", libver=("v110", "v110")) as dst:
    for k, v in src.attrs.items():
        dst.attrs[k] = v
    for name in src:
        if name != "weights":
            src.copy(name, dst)
PY
  rm -f "$carry/parity/full.h5"
  du -sh "$carry/parity/cpu.h5"
}

# Folders that may hold CUDA's libraries on the GPU machine: the toolkit's, the driver's, and the
# pip wheels' under python3's site-packages (CUDA 13 wheels: nvidia/cu13/lib; older: nvidia/*/lib).
cuda_lib_dirs() {
  local d sp
  for d in /usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda/targets/x86_64-linux/lib \
    /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
    [ -d "$d" ] && echo "$d"
  done
  sp=$(python3 -c 'import site; print("\n".join(site.getsitepackages()))' 2>/dev/null) || return 0
  while read -r d; do
    [ -n "$d" ] || continue
    for d in "$d"/nvidia/cu13/lib "$d"/nvidia/*/lib; do [ -d "$d" ] && echo "$d"; done
  done <<<"$sp" | awk '!seen[$0]++'
}

run() {
  local carry=${1:?usage: gpu_session.sh run CARRY OUT [PHASE...]} out=${2:?usage: gpu_session.sh run CARRY OUT [PHASE...]}
  shift 2
  [ $# -gt 0 ] || set -- first
  local phases=() phase
  for phase in "$@"; do
    case $phase in
      first) phases+=(env cudatest sanitize classes parity) ;;
      speed) phases+=(slide frames tf32 peers peer-loop seeds-bench) ;;
      again) phases+=(env cudatest sanitize merge slide slide-best seeds-bench parts steady profile crossover drift \
        cpu-vs-gpu tf32 peers peer-loop) ;;
      env | test | cudatest | drift | sanitize | classes | crossover | split | dot | slide-dot | merge | slide-best | \
        parts | cpu-vs-gpu | profile | steady | parity | slide | frames | tf32 | peers | peer-seeds | peer-loop | seeds | \
        seeds-bench | frames-400) phases+=("$phase") ;;
      *) echo "unknown phase '$phase' (see the usage; lists: first, speed, again)" >&2
        return 2 ;;
    esac
  done
  carry=$(cd "$carry" && pwd) || return 2
  mkdir -p "$out" && out=$(cd "$out" && pwd) || return 2
  local log=$out/gpu_session.log budget=${GPU_SESSION_BUDGET:-300} start=$SECONDS
  local work
  work=$(mktemp -d "${TMPDIR:-/tmp}/gpu_session.XXXXXX") || return 2
  # shellcheck disable=SC2064 # expand now: the scratch folder and its results files go at exit
  trap "rm -rf '$work'" EXIT

  local stale
  if ! stale=$(check "$carry"); then
    echo "stopping: $stale" | tee -a "$log"
    echo "carry-stale rc=3" >>"$out/timings.txt"
    return 3
  fi

  # Wrappers: the carried libraries (and CUDA's folders) for the carried binaries only, so that
  # python3 (PyTorch, JAX) keeps the image's own libraries.
  local ldpath wrap=$carry/wrap b
  ldpath=$carry/lib$(cuda_lib_dirs | awk '{printf ":%s", $0}')
  mkdir -p "$wrap"
  for b in "$carry"/bin/*; do
    # shellcheck disable=SC2016 # $LD_LIBRARY_PATH and $@ are the wrapper's
    printf '#!/bin/sh\nLD_LIBRARY_PATH=%s${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} exec %s "$@"\n' \
      "'$ldpath'" "'$b'" >"$wrap/${b##*/}"
    chmod +x "$wrap/${b##*/}"
  done
  local ns=$wrap/netsweep

  # Every carried binary must find every library it needs, with the wrappers' environment.
  echo "== $(date +%T) libraries: LD_LIBRARY_PATH=$ldpath" | tee -a "$log"
  local missing=0 lines
  for b in "$carry"/bin/*; do
    if command -v ldd >/dev/null; then
      lines=$(LD_LIBRARY_PATH=$ldpath ldd "$b" 2>&1 | grep 'not found') || continue
    else
      lines=$("$wrap/${b##*/}" --help 2>&1 >/dev/null | grep -E 'error while loading') || continue
    fi
    missing=1
    echo "MISSING for ${b##*/}:" | tee -a "$log"
    while read -r l; do echo "  $l"; done <<<"$lines" | tee -a "$log"
  done
  if [ "$missing" = 1 ]; then
    echo "stopping: carried binaries lack libraries (looked in $ldpath and the system's)" | tee -a "$log"
    echo "libraries-missing rc=3" >>"$out/timings.txt"
    return 3
  fi
  if ! lines=$("$wrap/netsweep" --version 2>&1); then
    echo "stopping: the carried netsweep does not start: $lines" | tee -a "$log"
    echo "libraries-missing rc=3" >>"$out/timings.txt"
    return 3
  fi
  echo "all carried binaries resolve their libraries; $lines" | tee -a "$log"

  local points="--points $carry/shared/data/slide/green_points.json:0 --points $carry/shared/data/slide/red_points.json:1"
  local slide="$SLIDE_SHAPE $points"
  local full="$slide --epochs 4000 --snapshot-every 100 --grid 256"
  # tools/bench_vs_torch.py's sweep: netsweep's 400 epochs beside the PyTorch peer's, scaled
  local peer_sweep="$SLIDE_SHAPE --epochs 400 --snapshot-every 100 --grid 256 --repeats 1 --device cuda"
  peer_sweep+=" --netsweep $ns --shared $carry/shared --python python3"

  # step NAME LIMIT [--json] COMMAND...: runs COMMAND under min(LIMIT, what is left of the budget),
  # its output into the log (with --json: its stdout's last JSON line, or the whole stdout if it is
  # one JSON document, into bench.jsonl), one line into timings.txt. Returns COMMAND's status (125: skipped).
  step() {
    local name=$1 limit=$2 json=0
    shift 2
    [ "${1:-}" = --json ] && json=1 && shift
    local left=$((budget - (SECONDS - start) - 5))
    rm -f "$work/step.out" "$work/step.json"  # no earlier step's output read as this one's
    if [ -n "$stop_all" ]; then
      printf '%-18s skipped: %s\n' "$name" "$stop_all" | tee -a "$out/timings.txt"
      failed+=("$name(skipped)")
      return 125  # skipped: not a timeout
    fi
    # A bench's figures come row by row, ncu's only at its end: a step cut to under half its
    # limit would likely give little or nothing, and take the time shorter steps after it could use.
    if [ "$left" -lt 10 ] || [ "$left" -lt $((limit / 2)) ]; then
      printf '%-18s skipped: %ss left of the budget, its limit %ss\n' "$name" "$left" "$limit" |
        tee -a "$out/timings.txt"
      failed+=("$name(skipped)")
      return 125  # skipped: not a timeout
    fi
    [ "$limit" -gt "$left" ] && limit=$left
    echo "== $(date +%T) $name (limit ${limit}s): $*" >>"$log"
    local t0 rc
    t0=$(date +%s.%N)
    # The step's output: into the log as it comes (progress lines survive a kill), and kept in
    # step.out (with --json, stdout alone in step.json) for what follows.
    if [ "$json" = 1 ]; then
      timeout -k 5 "$limit" "$@" 2> >(tee "$work/step.out" >>"$log") | tee "$work/step.json" >>"$log"
    else
      timeout -k 5 "$limit" "$@" 2>&1 | tee "$work/step.out" >>"$log"
    fi
    rc=${PIPESTATUS[0]}
    local secs note=""
    secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}')
    { [ "$rc" = 124 ] || [ "$rc" = 137 ]; } && note="  TIMEOUT"
    if [ "$json" = 1 ]; then
      local doc error
      error=$(grep -o '"error": *"[^"][^"]*"' "$work/step.json" | head -n 1 | sed 's/"error": *//')
      # A variant that could not run (no device, a refused option) is a failure, not a figure.
      [ -n "$error" ] && note+="  unavailable: $error" && [ "$rc" = 0 ] && rc=1
      if head -c1 "$work/step.json" | grep -q '\['; then doc=$(tr -d '\n' <"$work/step.json"); else
        doc=$(grep '^{' "$work/step.json" | tail -n 1); fi
      printf '{"step": "%s", "rc": %d, "seconds": %s, "result": %s}\n' "$name" "$rc" "$secs" "${doc:-null}" \
        >>"$out/bench.jsonl"
    fi
    printf '%-18s rc=%-3d %8s s  (limit %3ss)%s\n' "$name" "$rc" "$secs" "$limit" "$note" | tee -a "$out/timings.txt"
    [ "$rc" = 0 ] || failed+=("$name")
    return "$rc"
  }

  local py failed=() stop_all=""
  py=$(h5_python) || py=""

  run_phases "${phases[@]}"
  echo "== $(date +%T) done in $((SECONDS - start)) s; files in $out: $(cd "$out" && printf '%s ' *)" | tee -a "$log"
  if [ "${#failed[@]}" -gt 0 ]; then
    echo "steps with nonzero status: ${failed[*]}" | tee -a "$log" "$out/timings.txt"
    return 1
  fi
}


check() {
  local carry=${1:-$ROOT/.carry} sources
  sources=$(source_hash)
  if [ "$sources" = "$(cat "$carry/SOURCES" 2>/dev/null)" ]; then
    echo "$carry matches these sources ($sources, built from $(cat "$carry/COMMIT"))"
  else
    echo "$carry was not built from these sources ($sources; carry: $(cat "$carry/SOURCES" 2>/dev/null ||
      echo none), $(cat "$carry/COMMIT" 2>/dev/null)): run '$0 prepare' again"
    return 3
  fi
}

case ${1:-} in
  check) shift && check "$@" ;;
  prepare) shift && prepare "$@" ;;
  reference) shift && reference "$@" ;;
  run) shift && run "$@" ;;
  *) usage ;;
esac
