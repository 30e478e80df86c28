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
#
# With the device tool, after `prepare` (and `reference`) here, two calls, both with carry [".carry"]
# and timeout_s 360, the second right after the first (the machine stays warm 30 s):
#   bash tools/gpu_session.sh run .carry "$OUT" env test sanitize classes parity
#   bash tools/gpu_session.sh run .carry "$OUT" slide frames tf32 peers peer-loop seeds
# Each call stops starting steps after GPU_SESSION_BUDGET seconds (default 300) and cuts the last one
# to fit, so both calls and two machine starts fit in ~13 minutes. Before any phase, `run` checks
# that every carried binary finds all its shared libraries (ldd) and stops (exit 3) if not.
#
# Exit status: 0 if every step succeeded, 1 if any failed or timed out (all still ran), 3 if libraries
# are missing. Phases (run in the order given; `first` and `speed` name the first session's two calls'
# lists, `again` the single call of a session after the kernels have run once):
#   env       GPU name, driver and memory, nvcc and compute-sanitizer, the CUDA library folders used
#   test      the real-kernel tests (CudaBackend.*, DevicePlan.*), then the device-algorithm emulations
#   cudatest  the real-kernel tests alone
#   drift     8x256 relu, 3 epochs: CPU against GPU, and GPU against itself (bug or drift; determinism)
#   sanitize  compute-sanitizer memcheck on a 1-epoch run (layers 1,8 x widths 8,384), fused and gemm
#   classes   `netsweep bench` per network class: 8x16 and 8x64 fused, 1x128 and 8x384 gemm (100
#             epochs), and the whole slide grid on the auto path (100 epochs, 256^2 frames)
#   crossover 8x16, 8x32 and 8x64 on the fused and on the GEMM path (100 epochs): the auto choice
#   split     the slide sweep (200 epochs) with the auto split at widths 33, 65 and 129, one bench
#   dot       the slide sweep (200 epochs) with the GEMM path's forward and delta products as
#             netsweep's own ops (cuda-dot) against cuBLAS's GEMMs, A B A in one bench
#   slide-dot the full slide sweep (4000 epochs, 41 frames) with own products, timed by bench
#   parts     the slide sweep's fused networks, its GEMM groups and its 8-layer GEMM groups alone, and
#             the sweep with the GEMM streams at priorities by depth (cuda-prio), 200 epochs each
#   cpu-vs-gpu `bench --devices cpu,cuda` of the slide sweep, 100 epochs: the table users read
#   profile   ncu's per-kernel summary of the 8x384 GEMM group's launches (the sweep's slowest stream)
#   steady    that group alone at 20 and 220 epochs: its steady s/epoch (start-up cancels), with cuBLAS
#             in pedantic FP32 (netsweep's default) against its default math mode (cuda-gemm-defaultmath),
#             with netsweep's own products (cuda-gemm-dot), and on the fused path (groups of blocks)
#   parity    the slide sweep on the CPU (carried reference, else 100 epochs here) and on the GPU
#             (`run --from` the CPU file), compared by tools/compare_results.py within tolerances
#   slide     the full slide sweep (108 networks, 4000 epochs, 41 frames of 256^2), timed; `info`
#   frames    the same with only the first and last frame (frames-vs-no-frames ratio)
#   tf32      `bench` of the slide sweep (400 epochs): cuda-gemm against cuda-gemm-tf32
#   peers     PyTorch peer, stacked (5 epochs scaled to 400) beside netsweep (400 epochs), via
#             tools/bench_vs_torch.py; the JAX peer (padded mode, 20 epochs) if it runs
#   peer-loop the PyTorch peer's loop mode (1 epoch scaled to 400)
#   seeds     the full slide sweep with --seeds 10 (1,080 networks), timed
#   seeds-bench  `bench` of the slide sweep, 100 epochs, with 1 and with 10 seeds
#   frames-400   the slide sweep at 400 epochs with 41 frames and with 2 (the frames' cost)
# OUT gets at most 6 files: gpu_session.log (every command's output), timings.txt (one line a step:
# rc, seconds, limit), bench.jsonl (one JSON line a bench or peer step), parity.txt and parity.json
# (the comparison report), sanitize.log. Results files are written to a scratch folder and removed.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
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

prepare() {
  local shared=${1:-$ROOT/../shared}
  set -e
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
      first) phases+=(env test sanitize classes parity) ;;
      speed) phases+=(slide frames tf32 peers peer-loop seeds) ;;
      again) phases+=(cudatest steady dot slide slide-dot parts profile crossover drift cpu-vs-gpu seeds-bench tf32 \
        peers peer-loop) ;;
      env | test | cudatest | drift | sanitize | classes | crossover | split | dot | slide-dot | parts | cpu-vs-gpu | \
        profile | steady | parity | slide | frames | tf32 | peers | peer-loop | seeds | seeds-bench | frames-400) phases+=("$phase") ;;
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
  # one JSON document, into bench.jsonl), one line into timings.txt. Returns COMMAND's status.
  step() {
    local name=$1 limit=$2 json=0
    shift 2
    [ "${1:-}" = --json ] && json=1 && shift
    local left=$((budget - (SECONDS - start) - 5))
    if [ "$left" -lt 10 ]; then
      printf '%-18s skipped: budget of %ss spent\n' "$name" "$budget" | tee -a "$out/timings.txt"
      failed+=("$name(skipped)")
      return 124
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
      local doc
      if head -c1 "$work/step.json" | grep -q '\['; then doc=$(tr -d '\n' <"$work/step.json"); else
        doc=$(grep '^{' "$work/step.json" | tail -n 1); fi
      printf '{"step": "%s", "rc": %d, "seconds": %s, "result": %s}\n' "$name" "$rc" "$secs" "${doc:-null}" \
        >>"$out/bench.jsonl"
      doc=$(grep -o '"error": *"[^"][^"]*"' "$work/step.json" | head -n 1 | sed 's/"error": *//')
      [ -n "$doc" ] && note+="  unavailable: $doc"
    fi
    printf '%-18s rc=%-3d %8s s  (limit %3ss)%s\n' "$name" "$rc" "$secs" "$limit" "$note" | tee -a "$out/timings.txt"
    [ "$rc" = 0 ] || failed+=("$name")
    return "$rc"
  }

  local py failed=()
  py=$(h5_python) || py=""

  run_phases "${phases[@]}"
  echo "== $(date +%T) done in $((SECONDS - start)) s; files in $out: $(cd "$out" && printf '%s ' *)" | tee -a "$log"
  if [ "${#failed[@]}" -gt 0 ]; then
    echo "steps with nonzero status: ${failed[*]}" | tee -a "$log" "$out/timings.txt"
    return 1
  fi
}

# shellcheck disable=SC2086 # $slide, $full and $points are word lists by design
run_phases() {
  local phase
  for phase in "$@"; do
    case $phase in
      env)
        {
          echo "== $(date +%T) env"
          date -u; uname -srm; echo "cpus: $(nproc)"; free -g | head -n 2
          nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv 2>&1 ||
            echo "nvidia-smi: not available"
          local nvcc
          nvcc=$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null) && "$nvcc" --version | tail -n 2 ||
            echo "nvcc: not found"
          echo "compute-sanitizer: $(sanitizer || echo 'not found')"
          echo "python3: $(command -v python3) $(python3 --version 2>&1); h5py python: ${py:-none}"
          echo "CUDA library folders: $(cuda_lib_dirs | tr '\n' ' ')"
          echo "libcuda (driver): $(ldconfig -p 2>/dev/null | grep -m1 'libcuda\.so\.1' || echo 'not in ldconfig')"
          LD_LIBRARY_PATH=$ldpath ldd "$carry/bin/netsweep" 2>&1 | grep -E 'cuda|cublas|hdf5'
          "$ns" --version
        } >>"$log" 2>&1
        echo "env: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null ||
          echo 'no nvidia-smi')" | tee -a "$out/timings.txt"
        ;;
      test | cudatest)
        step test-cuda 120 "$wrap/netsweep_tests" --gtest_filter='CudaBackend.*:DevicePlan.*'
        [ "$phase" = test ] && step test-emulation 60 "$wrap/netsweep_tests" --gtest_filter='GemmPath.*:DeviceAlgorithm.*'
        ;;
      drift)
        # Bug or drift: 8 x 256 relu (deep and wide, the parity sweep's earliest crossing) for 3
        # epochs on the CPU and twice on the GPU; the GPU against itself says whether it is deterministic.
        local d="--layers 8 --widths 256 --activations relu $points --epochs 3 --snapshot-every 1 --grid 16 -q"
        local cpu_ok=0 cuda_ok=0 again_ok=0
        step drift-cpu 40 "$ns" run $d --device cpu --threads "$(nproc)" -o "$work/drift_cpu.h5" && cpu_ok=1
        step drift-cuda 20 "$ns" run $d --device cuda -o "$work/drift_cuda.h5" && cuda_ok=1
        step drift-cuda-again 20 "$ns" run $d --device cuda -o "$work/drift_cuda2.h5" && again_ok=1
        [ "$cpu_ok$cuda_ok$again_ok" = 111 ] && [ -n "$py" ] && {
          "$py" "$ROOT/tools/compare_results.py" "$work/drift_cpu.h5" "$work/drift_cuda.h5" --show 1 2>&1 | tail -n 8
          "$py" "$ROOT/tools/compare_results.py" "$work/drift_cuda.h5" "$work/drift_cuda2.h5" --exact 2>&1 | tail -n 2
          "$py" - "$work/drift_cpu.h5" "$work/drift_cuda.h5" <<'PY'
import sys, h5py, numpy as np
a, b = (h5py.File(f, "r")["losses/epoch"][0] for f in sys.argv[1:])
print("drift 8x256 relu: epoch losses", a, b, "relative differences", np.abs(a - b) / np.abs(a))
PY
        } 2>&1 | tee -a "$out/timings.txt" >>"$log"
        rm -f "$work"/drift_*.h5
        ;;
      crossover)
        # The auto path's crossover: the same classes on both paths.
        local w p
        for w in 16 32 64; do
          for p in fused gemm; do
            step "cross-8x$w-$p" 30 --json "$ns" bench --layers 8 --widths "$w" --activations sigmoid,relu $points \
              --epochs 100 --snapshot-every 100 --grid 16 --gpu-path "$p" --devices cuda --json
          done
        done
        ;;
      split)
        # The automatic path's split in the whole sweep (where the GEMM groups' streams and the fused
        # blocks share the GPU), side by side: networks at least 33 (the default), 65 or 129 wide on
        # the GEMM path.
        step split-slide 90 --json "$ns" bench $slide --epochs 200 --snapshot-every 100 --grid 256 \
          --devices cuda,cuda-split65,cuda-split129 --json
        ;;
      dot)
        # The GEMM path's forward and delta products as netsweep's own ops (cuda-dot) against cuBLAS
        # in the whole sweep, 200 epochs, A B A in one bench.
        step dot-slide 60 --json "$ns" bench $slide --epochs 200 --snapshot-every 100 --grid 256 \
          --devices cuda,cuda-dot,cuda --json
        ;;
      slide-dot)
        # The full slide sweep (4000 epochs, 41 frames) with own products, timed by bench (no file written).
        step slide-dot 150 --json "$ns" bench $full --devices cuda-dot --json
        ;;
      parts)
        # What slows the sweep beyond its slowest stream: its parts alone (200 epochs), the fused
        # networks (widths 2-32), the GEMM groups (64-384), the 8-layer GEMM groups, and with the GEMM
        # streams at priorities by depth (A, B, A in one bench).
        step parts-fused 40 --json "$ns" bench --layers 1,2,3,4,6,8 --widths 2,4,8,16,32 --activations sigmoid,relu \
          $points --epochs 200 --snapshot-every 100 --grid 256 --devices cuda --json
        step parts-gemm 40 --json "$ns" bench --layers 1,2,3,4,6,8 --widths 64,128,256,384 \
          --activations sigmoid,relu $points --epochs 200 --snapshot-every 100 --grid 256 --devices cuda --json
        step parts-gemm-8 40 --json "$ns" bench --layers 8 --widths 64,128,256,384 --activations sigmoid,relu \
          $points --epochs 200 --snapshot-every 100 --grid 256 --devices cuda --json
        step parts-prio 60 --json "$ns" bench $slide --epochs 200 --snapshot-every 100 --grid 256 \
          --devices cuda,cuda-prio,cuda --json
        ;;
      cpu-vs-gpu)
        # 100 epochs: at 20 (2026-11-30) the GPU's start-up and the two frame sets outweighed its training.
        step cpu-vs-gpu 90 --json "$ns" bench $slide --epochs 100 --snapshot-every 100 --grid 256 --devices cpu,cuda \
          --threads "$(nproc)" --json
        ;;
      profile)
        # The slowest stream of the sweep, the 8x384 GEMM group (its step time sets the sweep's):
        # ncu's per-kernel summary of 150 launches after the first 300 (clocks left alone).
        local ncu
        ncu=$(command -v ncu || ls /usr/local/cuda/bin/ncu /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -n 1)
        if [ -z "$ncu" ]; then
          echo "profile            skipped: ncu not found" | tee -a "$out/timings.txt"
        else
          step profile-8x384 60 "$ncu" --clock-control none --target-processes all --section SpeedOfLight \
            --launch-skip 300 --launch-count 150 --print-summary per-kernel \
            "$ns" run --layers 8 --widths 384 --activations relu $points --epochs 2 --snapshot-every 2 --grid 16 \
            --gpu-path gemm --device cuda -q -o "$work/profile.h5"
          rm -f "$work/profile.h5"
        fi
        ;;
      steady)
        # The sweep's time is this group's step time x 96,000 steps. Two lengths, so that start-up
        # (context, cuBLAS, graph capture) cancels; each variant in a process of its own.
        local e
        for e in 20 220; do
          step "steady-8x384-$e" 40 --json "$ns" bench --layers 8 --widths 384 --activations sigmoid,relu $points \
            --epochs "$e" --snapshot-every "$e" --grid 16 --devices cuda-gemm,cuda-gemm-defaultmath,cuda-gemm-dot --json
        done
        # The fused path (3x the GEMM path's step at this width on the H200): steps of its own, shorter.
        for e in 10 60; do
          step "steady-fused-8x384-$e" 60 --json "$ns" bench --layers 8 --widths 384 --activations sigmoid,relu \
            $points --epochs "$e" --snapshot-every "$e" --grid 16 --devices cuda-fused --json
        done
        [ -n "$py" ] && "$py" - "$out/bench.jsonl" <<'PY' 2>&1 | tee -a "$out/timings.txt" >>"$log"
import json, sys
runs = {}  # device -> {epochs: row}; a rerun into the same OUT replaces the earlier rows
for line in open(sys.argv[1]):
    d = json.loads(line)
    if "8x384-" in d["step"] and d["step"].startswith("steady") and d["result"]:
        for r in d["result"]:
            if not r.get("error"):
                runs.setdefault(r["device"], {})[r["epochs"]] = r
for dev, rows in runs.items():
    if len(rows) >= 2:
        short, long = rows[min(rows)], rows[max(rows)]
        per = (long["seconds"] - short["seconds"]) / (long["epochs"] - short["epochs"])
        steps = long["steps_per_s"] * long["seconds"] / long["epochs"] / long["networks"]
        print(f"steady 8x384 {dev}: {per:.5f} s/epoch, {1e3 * per / steps:.3f} ms/step "
              f"(x 96,000 steps: {per / steps * 96000:.1f} s)")
PY
        ;;
      seeds-bench)
        step seeds-1-bench 40 --json "$ns" bench $slide --epochs 100 --snapshot-every 100 --grid 256 --devices cuda --json
        step seeds-10-bench 60 --json "$ns" bench $slide --seeds 10 --epochs 100 --snapshot-every 100 --grid 256 \
          --devices cuda --json
        ;;
      frames-400)
        # Frame cost at 400 epochs: 41 frames against 2 (scaled to the full sweep in the notes).
        step frames-41-of-400 60 "$ns" run $slide --epochs 400 --snapshot-every 10 --grid 256 --device cuda -q \
          -o "$work/f41.h5"
        step frames-2-of-400 60 "$ns" run $slide --epochs 400 --snapshot-every 400 --grid 256 --device cuda -q \
          -o "$work/f2.h5"
        rm -f "$work"/f41.h5 "$work"/f2.h5
        ;;
      sanitize)
        local cs
        if ! cs=$(sanitizer); then
          echo "sanitize           skipped: compute-sanitizer is not on PATH nor in /usr/local/cuda/bin" |
            tee -a "$out/timings.txt"
        else
          local p
          for p in fused gemm; do
            echo "== $(date +%T) memcheck, --gpu-path $p" >>"$out/sanitize.log"
            # shellcheck disable=SC2016 # expanded by sh -c
            step "sanitize-$p" 60 sh -c '"$@" >>"$0" 2>&1' "$out/sanitize.log" \
              "$cs" --tool memcheck --target-processes all --print-limit 50 --error-exitcode 3 \
              "$ns" run --layers 1,8 --widths 8,384 --activations sigmoid,relu $points --epochs 1 --snapshot-every 1 \
              --grid 32 --device cuda --gpu-path "$p" -q -o "$work/sanitize-$p.h5"
            rm -f "$work/sanitize-$p.h5"
          done
          tail -n 3 "$out/sanitize.log" >>"$log"
        fi
        ;;
      classes)
        local class shape path
        for class in 8x16:fused 8x64:fused 1x128:gemm 8x384:gemm; do
          shape=${class%:*} path=${class#*:}
          step "class-$shape-$path" 30 --json "$ns" bench --layers "${shape%x*}" --widths "${shape#*x}" \
            --activations sigmoid,relu $points --epochs 100 --snapshot-every 100 --grid 16 --gpu-path "$path" \
            --devices cuda --json
        done
        step class-slide-auto 60 --json "$ns" bench $slide --epochs 100 --snapshot-every 100 --grid 256 \
          --devices cuda --json
        ;;
      parity)
        local ref=$carry/parity/cpu.h5 gpu=$work/parity_cuda.h5
        if [ -f "$ref" ]; then
          echo "parity: CPU side carried ($ref)" | tee -a "$log"
        else
          ref=$work/parity_cpu.h5
          step parity-cpu 150 "$ns" run $slide --epochs "${PARITY_EPOCHS:-100}" --snapshot-every 25 --grid 64 \
            --device cpu --threads "$(nproc)" -q -o "$ref"
        fi
        if [ ! -f "$ref" ]; then
          echo "parity: no CPU file, nothing to compare" | tee -a "$out/parity.txt"
        elif ! step parity-cuda 90 "$ns" run --from "$ref" --device cuda -q -o "$gpu"; then
          {
            echo "parity: the CUDA run failed or was refused, comparison skipped. Its output:"
            tail -n 5 "$work/step.out"
          } | tee -a "$out/parity.txt"
        elif [ -z "$py" ]; then
          echo "parity: no python3 with h5py here, comparison skipped" | tee -a "$out/parity.txt"
        else
          # shellcheck disable=SC2016 # expanded by sh -c
          step parity-compare 60 sh -c '"$@" >"$0"' "$out/parity.txt" \
            "$py" "$ROOT/tools/compare_results.py" "$ref" "$gpu" --show 20 --json "$out/parity.json"
          case $? in
            0) echo "parity: all networks within tolerance" ;;
            1) echo "parity: networks beyond tolerance: $(grep '^RESULT' "$out/parity.txt")" ;;
            *) echo "parity: comparison failed (see parity.txt and the log)" ;;
          esac | tee -a "$log" "$out/timings.txt"
        fi
        rm -f "$work"/parity_*.h5
        ;;
      slide)
        step slide 150 "$ns" run $full --device cuda -o "$work/slide.h5" &&
          "$ns" info "$work/slide.h5" >>"$log" 2>&1 && ls -l "$work/slide.h5" >>"$log"
        rm -f "$work/slide.h5"
        ;;
      frames)
        step no-frames 90 "$ns" run $slide --epochs 4000 --snapshot-every 4000 --grid 256 --device cuda -q \
          -o "$work/no_frames.h5"
        rm -f "$work/no_frames.h5"
        ;;
      tf32)
        step tf32 60 --json "$ns" bench $slide --epochs 400 --snapshot-every 100 --grid 256 \
          --devices cuda-gemm,cuda-gemm-tf32 --json
        ;;
      peers)
        # The batched peers first: their ratio is the one the targets name at 5x.
        # PyTorch's 20 epochs did not finish in 90 s (stacked) on the H200: 5, scaled.
        step peer-torch-stacked 90 --json python3 "$ROOT/tools/bench_vs_torch.py" $peer_sweep --mode stacked --peer-epochs 5
        step peer-jax-padded 60 --json python3 "$carry/shared/peers/jax_sweep.py" --mode padded --epochs 20 \
          --snapshot-every 100 --grid 256 --data "$carry/shared/data/slide"
        ;;
      peer-loop)
        step peer-torch-loop 90 --json python3 "$ROOT/tools/bench_vs_torch.py" $peer_sweep --mode loop --peer-epochs 1
        ;;
      seeds)
        step seeds-10 240 "$ns" run $full --seeds 10 --device cuda -o "$work/seeds10.h5"
        rm -f "$work/seeds10.h5"
        ;;
    esac
  done
  return 0
}

sanitizer() {
  command -v compute-sanitizer || { [ -x /usr/local/cuda/bin/compute-sanitizer ] && echo /usr/local/cuda/bin/compute-sanitizer; }
}

case ${1:-} in
  prepare) shift && prepare "$@" ;;
  reference) shift && reference "$@" ;;
  run) shift && run "$@" ;;
  *) usage ;;
esac
