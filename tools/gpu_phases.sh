# The phases of tools/gpu_session.sh (sourced by it; see its usage for what each measures).
# run_phases and its steps read the variables of gpu_session.sh's run(): carry, out, log, work,
# wrap, ldpath, ns, points, slide, full, peer_sweep, py, and its step function.
# shellcheck shell=bash
# shellcheck disable=SC2154 # those variables are run()'s locals

# shellcheck disable=SC2086 # $slide, $full and $points are word lists by design
run_phases() {
  local phase
  for phase in "$@"; do
    case $phase in
      env)
        {
          echo "== $(date +%T) env"
          date -u; uname -srm; echo "cpus: $(nproc)"; free -g | head -n 2
          timeout 20 nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv 2>&1 ||
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
          echo "carry built from: $(cat "$carry/COMMIT" 2>/dev/null || echo 'unknown (prepared before COMMIT was written)')"
        } >>"$log" 2>&1
        echo "env: $(timeout 20 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null ||
          echo 'no nvidia-smi')" | tee -a "$out/timings.txt"
        ;;
      test | cudatest)
        local rc=0
        step test-cuda 120 "$wrap/netsweep_tests" --gtest_filter='CudaBackend.*:DevicePlan.*' || rc=$?
        # Tests skipped for want of a device pass in CTest, not here (DeviceCudaWithoutAGpuIsAClearError
        # skips itself on a GPU: not counted); a hang would hang every later step.
        if grep -qs '^no CUDA device' "$work/step.out"; then
          echo "test-cuda          SKIPPED tests: the GPU is not usable (see the log)" | tee -a "$out/timings.txt"
          failed+=("test-cuda(skipped tests)")
        fi
        { [ "$rc" = 124 ] || [ "$rc" = 137 ]; } && stop_all="test-cuda timed out (a kernel hang?): no GPU step after it"
        # The GPU's training against the float64 NumPy replay of the documented rules, on each path.
        if [ -n "$py" ]; then
          step replay-cuda-fused 60 "$py" "$ROOT/tests/check_training_numpy.py" "$ns" --device cuda --gpu-path fused
          step replay-cuda-gemm 60 "$py" "$ROOT/tests/check_training_numpy.py" "$ns" --device cuda --gpu-path gemm
        else
          echo "replay-cuda        skipped: no python3 with h5py and NumPy here" | tee -a "$out/timings.txt"
          failed+=("replay-cuda(skipped)")
        fi
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
              --epochs 100 --snapshot-every 100 --grid 16 --gpu-path "$p" \
              --devices "$([ "$p" = fused ] && echo cuda,cuda-smem,cuda-terms1 || echo cuda,cuda-dot)" --json
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
      merge)
        # Every GEMM-path width of a depth in one group (cuda-merge: 6 streams and chains of launches
        # rather than 24), its GEMMs one grouped-batched call or a call per width, with cuBLAS's or
        # own products; the fused networks' scratch in shared memory (smem); the fused sums a term at a
        # time as before (terms1, against the default's chunks of 8); the slide sweep at 200
        # epochs, A ... A in one bench. Then the 8-layer groups alone, merged or not.
        step merge-slide 120 --json "$ns" bench $slide --epochs 200 --snapshot-every 100 --grid 256 \
          --devices cuda,cuda-merge,cuda-merge-pershape,cuda-merge-dot,cuda-dot,cuda-smem,cuda-merge-smem,cuda-terms1,cuda-block256,cuda \
          --json
        step merge-gemm-8 40 --json "$ns" bench --layers 8 --widths 64,128,256,384 --activations sigmoid,relu \
          $points --epochs 200 --snapshot-every 100 --grid 256 --devices cuda,cuda-merge,cuda-merge-dot --json
        ;;
      slide-best)
        # The slide sweep at 1000 epochs on merge-slide's fastest variant, if it beat plain cuda by 3%
        # or more, beside plain cuda in the same bench (start-up ~10% of each row, not ~45% as at 200
        # epochs; two full sweeps would take ~130 s of the call).
        local best
        best=$(python3 - "$out/bench.jsonl" <<'PY' 2>>"$log"
import json, os, sys
rows = []
for line in open(sys.argv[1]) if os.path.exists(sys.argv[1]) else []:
    d = json.loads(line)
    if d["step"] == "merge-slide" and isinstance(d["result"], list):
        rows = [r for r in d["result"] if not r.get("error")]
base = min((r["seconds"] for r in rows if r["device"] == "cuda"), default=None)
best = min(rows, key=lambda r: r["seconds"], default=None)
if not base:
    print("-")  # no figures to choose from
elif best and best["device"] != "cuda" and best["seconds"] < 0.97 * base:
    print(best["device"])
PY
        )
        if [ "$best" = - ]; then
          echo "slide-best         skipped: merge-slide gave no cuda row to compare with" | tee -a "$out/timings.txt"
          failed+=("slide-best(no merge-slide rows)")
        elif [ -z "$best" ]; then
          echo "slide-best         skipped: no variant of merge-slide beat cuda by 3%" | tee -a "$out/timings.txt"
        else
          step "slide-$best" 80 --json "$ns" bench $slide --epochs 1000 --snapshot-every 100 --grid 256 \
            --devices "$best",cuda --json
        fi
        ;;
      parts)
        # What slows the sweep beyond its slowest stream: its parts alone (200 epochs), the fused
        # networks (widths 2-32), the GEMM groups (64-384), the 8-layer GEMM groups, and with the GEMM
        # streams at priorities by depth (A, B, A in one bench).
        step parts-fused 40 --json "$ns" bench --layers 1,2,3,4,6,8 --widths 2,4,8,16,32 --activations sigmoid,relu \
          $points --epochs 200 --snapshot-every 100 --grid 256 --devices cuda,cuda-smem,cuda-terms1,cuda-block256 --json
        step parts-gemm 40 --json "$ns" bench --layers 1,2,3,4,6,8 --widths 64,128,256,384 \
          --activations sigmoid,relu $points --epochs 200 --snapshot-every 100 --grid 256 --devices cuda --json
        step parts-gemm-8 40 --json "$ns" bench --layers 8 --widths 64,128,256,384 --activations sigmoid,relu \
          $points --epochs 200 --snapshot-every 100 --grid 256 --devices cuda --json
        step parts-prio 60 --json "$ns" bench $slide --epochs 200 --snapshot-every 100 --grid 256 \
          --devices cuda,cuda-prio,cuda --json
        ;;
      cpu-vs-gpu)
        # 100 epochs: at 20 (2026-11-30) the GPU's start-up and the two frame sets outweighed its training;
        # at 100 its start-up (~1.9 s) is still most of its row: again at 200, for the steady ratio.
        step cpu-vs-gpu 90 --json "$ns" bench $slide --epochs 100 --snapshot-every 100 --grid 256 --devices cpu,cuda \
          --threads "$(nproc)" --json
        step cpu-vs-gpu-200 120 --json "$ns" bench $slide --epochs 200 --snapshot-every 200 --grid 256 \
          --devices cpu,cuda --threads "$(nproc)" --json
        steady_ratio "cpu against gpu" cpu-vs-gpu/cpu cpu-vs-gpu-200/cpu cpu-vs-gpu/cuda cpu-vs-gpu-200/cuda
        ;;
      profile)
        # The slowest stream of the sweep, the 8x384 GEMM group (its step time sets the sweep's):
        # ncu's per-kernel summary of 150 launches after the first 300 (clocks left alone).
        local ncu
        ncu=$(command -v ncu || ls /usr/local/cuda/bin/ncu /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -n 1)
        if [ -z "$ncu" ]; then
          echo "profile            skipped: ncu not found" | tee -a "$out/timings.txt"
          failed+=("profile(no ncu)")
        else
          # Limit 120: skipped with under 60 s left (it took 54 s, and ncu prints only at its end).
          step profile-8x384 120 "$ncu" --clock-control none --target-processes all --section SpeedOfLight \
            --launch-skip 300 --launch-count 150 --print-summary per-kernel \
            "$ns" run --layers 8 --widths 384 --activations relu $points --epochs 2 --snapshot-every 2 --grid 16 \
            --gpu-path gemm --device cuda -q -o "$work/profile.h5"
          # ncu may exit 0 having profiled nothing (counters not readable here).
          if grep -qs '==ERROR==\|No kernels were profiled' "$work/step.out"; then
            echo "profile-8x384      no profile: $(grep -m1 '==ERROR==\|No kernels' "$work/step.out")" |
              tee -a "$out/timings.txt"
            failed+=("profile-8x384(no profile)")
          fi
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
            $points --epochs "$e" --snapshot-every "$e" --grid 16 --devices cuda-fused,cuda-fused-terms1 --json
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
        # 1,080 networks against 108, with the GEMM groups merged by depth, and with every fused block of
        # 256 threads (cuda-block256: 600 single-block networks against 264 resident blocks; fitted,
        # the default, they need 40% of those registers).
        step seeds-1-bench 50 --json "$ns" bench $slide --epochs 100 --snapshot-every 100 --grid 256 \
          --devices cuda,cuda-merge,cuda-block256 --json
        step seeds-10-bench 90 --json "$ns" bench $slide --seeds 10 --epochs 100 --snapshot-every 100 --grid 256 \
          --devices cuda,cuda-merge,cuda-block256 --json
        # Every row above includes start-up (~1.9 s for the 108), which pulls the ratio toward 1: both
        # again at 200 epochs; the differences are 100 epochs of steady training (both runs make
        # frames at their first and last epochs only: those cancel).
        step seeds-1-bench-200 30 --json "$ns" bench $slide --epochs 200 --snapshot-every 200 --grid 256 \
          --devices cuda --json
        step seeds-10-bench-200 60 --json "$ns" bench $slide --seeds 10 --epochs 200 --snapshot-every 200 \
          --grid 256 --devices cuda --json
        steady_ratio "seeds ratio" seeds-10-bench/cuda seeds-10-bench-200/cuda seeds-1-bench/cuda \
          seeds-1-bench-200/cuda
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
          failed+=("sanitize(no compute-sanitizer)")
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
          failed+=("parity(no h5py)")
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
        # The stacked and padded peers. torch_sweep.py stacks networks of one shape (its --repeats,
        # here 1): on the slide sweep each stack holds one network (peer-seeds stacks 10).
        # PyTorch's 20 epochs did not finish in 90 s (stacked) on the H200: 5, scaled.
        step peer-torch-stacked 90 --json python3 "$ROOT/tools/bench_vs_torch.py" $peer_sweep --mode stacked --peer-epochs 5
        # JAX at two lengths: its wall time includes a jit compilation per depth, which scaling one
        # short run to 4000 epochs would multiply; without a GPU it runs on the CPU and exits 0.
        local e
        for e in 10 20; do
          step "peer-jax-padded-$e" 60 --json python3 "$carry/shared/peers/jax_sweep.py" --mode padded \
            --epochs "$e" --snapshot-every 100 --grid 256 --data "$carry/shared/data/slide" || continue
          if ! grep -qiE '"device": *"[^"]*(cuda|gpu)' "$work/step.json"; then
            echo "peer-jax-padded-$e  not on a GPU: $(grep -o '"device": *"[^"]*"' "$work/step.json")" |
              tee -a "$out/timings.txt"
            failed+=("peer-jax-padded-$e(not on a GPU)")
          fi
        done
        python3 - "$out/bench.jsonl" <<'PY' 2>>"$log" | tee -a "$out/timings.txt"
import json, os, sys
t = {}
for line in open(sys.argv[1]) if os.path.exists(sys.argv[1]) else []:
    d = json.loads(line)
    r = d["result"]
    on_gpu = isinstance(r, dict) and any(w in str(r.get("device", "")).lower() for w in ("cuda", "gpu"))
    if d["step"].startswith("peer-jax-padded-") and on_gpu and "wall_s" in r:
        t[r["epochs"]] = r["wall_s"]
if 10 in t and 20 in t:
    per = (t[20] - t[10]) / 10
    print(f"jax padded         {per:.3f} s/epoch steady (20 minus 10 epochs), 4000 epochs ~{per * 4000:.0f} s "
          f"+ {t[10] - 10 * per:.1f} s start-up and compilation")
else:
    print("jax padded         n/a: a run on a GPU is missing")
PY
        ;;
      peer-seeds)
        # The stacked peer with 10 networks a stack (--repeats 10) beside netsweep --seeds 10.
        step peer-torch-seeds 150 --json python3 "$ROOT/tools/bench_vs_torch.py" $peer_sweep --mode stacked \
          --peer-epochs 2 --seeds 10
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

# steady_ratio LABEL A_SHORT A_LONG B_SHORT B_LONG (each STEP/DEVICE, a bench row in bench.jsonl; the
# long run has more epochs than the short, the same frames): A's time over B's at the short length
# (start-up in both), and their steady ratio (long minus short: start-up and frames cancel), into
# timings.txt.
steady_ratio() {
  python3 - "$out/bench.jsonl" "$@" <<'PY' 2>>"$log" | tee -a "$out/timings.txt"
import json, os, sys
rows = {}  # the latest row of each step and device (a rerun into the same OUT appends)
for line in open(sys.argv[1]) if os.path.exists(sys.argv[1]) else []:
    d = json.loads(line)
    res = d["result"] if isinstance(d["result"], list) else [d["result"]] if d["result"] else []
    seen = set()
    for r in res:
        key = d["step"] + "/" + str(r.get("device")) if isinstance(r, dict) else None
        if key and key not in seen and "seconds" in r and not r.get("error"):
            rows[key] = r["seconds"]  # the first of a device in one bench (cuda ... cuda: the first)
            seen.add(key)
label, keys = sys.argv[2], sys.argv[3:]
if all(k in rows for k in keys):
    a, a2, b, b2 = (rows[k] for k in keys)
    print(f"{label:<18} {a / b:.2f}x at the short length (start-up in both); steady {(a2 - a) / (b2 - b):.2f}x "
          f"(long minus short: {a2 - a:.2f} s against {b2 - b:.2f} s)")
else:
    print(f"{label:<18} n/a: no row for {', '.join(k for k in keys if k not in rows)}")
PY
}

sanitizer() {
  command -v compute-sanitizer || { [ -x /usr/local/cuda/bin/compute-sanitizer ] && echo /usr/local/cuda/bin/compute-sanitizer; }
}
