#!/usr/bin/env bash
# The GPU checks of the GPU backend in one place.
#
#   tools/gpu_session.sh prepare [SHARED]       here (a build machine): CUDA build, binaries, their
#                                               non-system libraries and the slide data and PyTorch
#                                               peer from SHARED (default ../shared), all into .carry/
#   tools/gpu_session.sh run CARRY OUT [PHASE...]   on a machine with an NVIDIA GPU and the CUDA
#                                               toolkit, from the repository root; logs, timings and
#                                               JSON go to OUT
#
# Phases (default: all, in this order; each under its own time limit):
#   test    the CUDA-vs-CPU parity tests and the device algorithm tests
#   bench   `netsweep bench` of the slide sweep (400 epochs): fused, GEMM, auto and TF32 paths, and the CPU
#   slide   the full slide sweep (108 networks, 4000 epochs, 41 frames of 256^2), HDF5 written, timed
#   frames  the same with only the last frame, for the frames-vs-no-frames ratio
#   seeds   the slide sweep with --seeds 10 (1,080 networks)
#   peers   ../shared/peers/torch_sweep.py on the same GPU: stacked (400 epochs, scaled) and loop
#           (40 epochs, scaled), each beside netsweep's full run
# With the device tool: `tools/gpu_session.sh prepare` here, then run
#   bash tools/gpu_session.sh run .carry "$OUT" test bench slide     (carry: .carry)
# and the other phases in a second call. Each phase's wall time is in OUT/timings.txt.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)

prepare() {
  local shared=${1:-$ROOT/../shared}
  set -e
  cmake -S "$ROOT" -B "$ROOT/build-gpu" -G Ninja -DCMAKE_BUILD_TYPE=Release -DNETSWEEP_CUDA=ON \
    -DNETSWEEP_NATIVE=OFF -DCMAKE_CXX_FLAGS=-march=x86-64-v3  # AVX2/FMA: runs on the GPU machine's CPU too
  cmake --build "$ROOT/build-gpu"
  rm -rf "$ROOT/.carry" && mkdir -p "$ROOT/.carry/bin" "$ROOT/.carry/lib" "$ROOT/.carry/shared/data"
  cp "$ROOT/build-gpu/netsweep" "$ROOT/build-gpu/netsweep-render" "$ROOT/build-gpu/tests/netsweep_tests" \
    "$ROOT/.carry/bin/"
  # Libraries the binaries need beyond the C/C++ runtime and CUDA's own (the GPU machine has those).
  ldd "$ROOT"/.carry/bin/* | awk '$3 ~ /^\// {print $3}' | sort -u |
    grep -Ev '/(libc|libm|libdl|libpthread|librt|libgcc_s|libstdc\+\+|ld-linux[^/]*|libcuda[^/]*|libcublas[^/]*)\.so' |
    xargs -r cp -L -t "$ROOT/.carry/lib/"
  cp -r "$shared/data/slide" "$ROOT/.carry/shared/data/"
  cp -r "$shared/peers" "$ROOT/.carry/shared/"
  du -sh "$ROOT/.carry"
}

run() {
  local carry=${1:?usage: gpu_session.sh run CARRY OUT [PHASE...]} out=${2:?usage: gpu_session.sh run CARRY OUT}
  shift 2
  local phases=${*:-test bench slide frames seeds peers}
  carry=$(cd "$carry" && pwd)
  mkdir -p "$out"
  local log=$out/gpu_session.log ns=$carry/bin/netsweep
  # CUDA's libraries: the toolkit's, else the ones PyTorch's wheels bring.
  local cuda_libs
  cuda_libs=$(ls -d /usr/local/cuda/lib64 /usr/local/cuda/lib 2>/dev/null | tr '\n' ':')
  cuda_libs+=$(python3 -c 'import nvidia.cublas, nvidia.cuda_runtime, os; print(":".join(os.path.join(list(m.__path__)[0], "lib") for m in (nvidia.cublas, nvidia.cuda_runtime)))' 2>/dev/null)
  export LD_LIBRARY_PATH=$carry/lib:$cuda_libs:${LD_LIBRARY_PATH:-}
  local points="--points $carry/shared/data/slide/green_points.json:0 --points $carry/shared/data/slide/red_points.json:1"
  local slide="--layers 1,2,3,4,6,8 --widths 2,4,8,16,32,64,128,256,384 --activations sigmoid,relu $points"
  local full="$slide --epochs 4000 --snapshot-every 100 --grid 256"

  # name limit command...: runs it, logs its output, records its wall time
  timed() {
    local name=$1 limit=$2
    shift 2
    echo "== $(date +%T) $name: $*" | tee -a "$log"
    local t0 t1 rc
    t0=$(date +%s.%N)
    timeout "$limit" "$@" >>"$log" 2>&1
    rc=$?
    t1=$(date +%s.%N)
    printf '%-14s rc=%-3d %8.2f s   %s\n' "$name" "$rc" "$(awk "BEGIN {print $t1 - $t0}")" "$*" | tee -a "$out/timings.txt"
  }

  {
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
    "$ns" --version
  } >>"$log" 2>&1
  for phase in $phases; do
    case $phase in
      test)
        timed test 300 "$carry/bin/netsweep_tests" --gtest_filter='CudaBackend.*:GemmPath.*:DeviceAlgorithm.*:DevicePlan.*'
        ;;
      bench)
        timed bench-gpu 300 "$ns" bench $slide --epochs 400 --snapshot-every 100 --grid 256 \
          --devices cuda-fused,cuda-gemm,cuda,cuda-gemm-tf32 --json
        timed bench-cpu 300 "$ns" bench $slide --epochs 40 --snapshot-every 20 --grid 256 --devices cpu,cuda --json
        ;;
      slide) timed slide 600 "$ns" run $full --device cuda -o "$out/slide.h5" && "$ns" info "$out/slide.h5" >>"$log" ;;
      frames) timed no-frames 600 "$ns" run $slide --epochs 4000 --snapshot-every 4000 --grid 256 --device cuda \
        -q -o "$out/no_frames.h5" ;;
      seeds) timed seeds-10 600 "$ns" run $full --seeds 10 --device cuda -q -o "$out/seeds10.h5" ;;
      peers)
        local sweep="--layers 1,2,3,4,6,8 --widths 2,4,8,16,32,64,128,256,384 --epochs 4000 --snapshot-every 100"
        sweep+=" --grid 256 --repeats 1 --device cuda --netsweep $ns --shared $carry/shared --python python3"
        timed peer-stacked 600 python3 "$ROOT/tools/bench_vs_torch.py" $sweep --mode stacked --peer-epochs 400
        timed peer-loop 600 python3 "$ROOT/tools/bench_vs_torch.py" $sweep --mode loop --peer-epochs 40
        ;;
      *) echo "unknown phase '$phase' (test bench slide frames seeds peers)" >&2 && return 2 ;;
    esac
  done
  rm -f "$out"/*.h5  # keep the logs; the results files are large
}

case ${1:-} in
  prepare) shift && prepare "$@" ;;
  run) shift && run "$@" ;;
  *) sed -n '2,22p' "$0" && exit 2 ;;
esac
