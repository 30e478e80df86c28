#!/usr/bin/env bash
# tools/compare_results.py: identical files pass in both modes, runs with 1 and 2
# threads are identical, planted errors fail naming their networks with the right
# triage verdict (BUG at epoch 0, drift for a smoothly growing error, JUMP for a
# sudden late one after bit-identical epochs), and a file of another sweep is
# refused (exit 2).
# usage: compare_tool_test.sh NETSWEEP PYTHON COMPARE_SCRIPT
set -euo pipefail
netsweep=$1 python=$2 compare=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
# shellcheck disable=SC2054 # commas are netsweep's list separators
args=(--layers 1,2 --widths 4 --epochs 30 --snapshot-every 10 --grid 16 --dataset moons --test-fraction 0.2 -q)
fail() { echo "FAIL: $*"; exit 1; }
expect() {  # status, command...: runs it, keeps its output in out.txt
  local want=$1 status=0
  shift
  "$@" >out.txt 2>&1 || status=$?
  [ "$status" -eq "$want" ] || { cat out.txt; fail "'$*' exited $status, expected $want"; }
}

"$netsweep" run "${args[@]}" --threads 1 -o a.h5
"$netsweep" run "${args[@]}" --threads 2 -o b.h5
expect 0 "$python" "$compare" a.h5 a.h5
expect 0 "$python" "$compare" --exact a.h5 a.h5
expect 0 "$python" "$compare" --exact a.h5 b.h5   # results do not depend on the thread count
expect 0 "$python" "$compare" a.h5 b.h5
grep -q "RESULT: all 4 networks within tolerance" out.txt || { cat out.txt; fail "no all-within line"; }
echo "ok: identical files pass, 1 and 2 threads identical"

# Planted errors: net 0 a frame value +0.1 at frame 2 (epoch 20) only; net 1 epoch losses drifting
# smoothly from below the tolerance (x (1 + 1e-5 (epoch - 4)) from epoch 5: crosses 1e-4 at epoch 15);
# net 2 its epoch-0 loss changed; net 3 one sudden error at epoch 20.
"$python" - <<'PY'
import shutil
import h5py
import numpy as np
shutil.copy("a.h5", "p.h5")
with h5py.File("p.h5", "r+") as f:
    fr = f["frames"]
    frame = fr[0, 2].astype(np.float32)
    frame[5, 7, 0] += 0.1
    fr[0, 2] = frame.astype(fr.dtype)
    loss = f["losses/epoch"][()]
    e = np.arange(loss.shape[1])
    loss[1, 5:] *= (1 + 1e-5 * (e[5:] - 4)).astype(np.float32)
    loss[2, 0] *= 1.01
    loss[3, 20] *= 1.01
    f["losses/epoch"][...] = loss
PY
expect 1 "$python" "$compare" a.h5 p.h5 --json p.json
cat out.txt
for n in 0 1 2 3; do grep -q "^FAIL net $n (" out.txt || fail "the report does not name net $n"; done
grep -q "RESULT: 4 of 4 networks beyond tolerance: 1 BUG" out.txt || fail "no RESULT line"
expect 1 "$python" "$compare" --exact a.h5 p.h5
"$python" - <<'PY' || fail "wrong verdicts"
import json
r = json.load(open("p.json"))
got = {n["id"]: n["verdict"] for n in r["networks"]}
want = {0: "JUMP", 1: "drift", 2: "BUG", 3: "JUMP"}
assert got == want, f"verdicts {got}, expected {want}"
assert r["networks_failing"] == 4 and r["verdicts"] == {"BUG": 1, "JUMP": 2, "drift": 1}, r["verdicts"]
n0 = r["networks"][0]
assert abs(n0["frame_max_abs"] - 0.1) < 2e-3 and n0["frame_first_mismatch"] == 2, n0
assert r["networks"][1]["epoch_loss_first_mismatch"] == 15, r["networks"][1]
print("ok: verdicts", got)
PY

# A tolerance wide enough for the planted loss errors leaves only the frame.
expect 1 "$python" "$compare" a.h5 p.h5 --loss-rtol 0.02 --frame-atol 0.05
grep -q "RESULT: 1 of 4 networks beyond tolerance" out.txt || { cat out.txt; fail "expected only net 0"; }
expect 0 "$python" "$compare" a.h5 p.h5 --loss-rtol 0.02 --frame-atol 0.2

# A diverged network's overflow in both files (inf against inf) is no mismatch; inf against a number is.
"$python" - <<'PY'
import shutil
import h5py
import numpy as np
for name, other in (("inf_a.h5", np.inf), ("inf_b.h5", np.inf), ("inf_c.h5", 3.0)):
    shutil.copy("a.h5", name)
    with h5py.File(name, "r+") as f:
        loss = f["losses/epoch"][()]
        loss[0, 25:] = other
        f["losses/epoch"][...] = loss
        fr = f["frames"]
        frame = fr[1, 2].astype(np.float32)
        frame[3, 4, 0] = np.inf if other == np.inf else 0.5
        fr[1, 2] = frame.astype(fr.dtype)
PY
expect 0 "$python" "$compare" inf_a.h5 inf_b.h5
expect 1 "$python" "$compare" inf_a.h5 inf_c.h5
for n in 0 1; do grep -q "^FAIL net $n (" out.txt || { cat out.txt; fail "inf against a number: net $n not named"; }; done
echo "ok: inf against inf equal, inf against a number a mismatch"

# Unusable input: another sweep, a file that is not a results file, a missing file.
"$netsweep" run --layers 1,2 --widths 4 --epochs 20 --snapshot-every 10 --grid 16 --dataset moons -q -o other.h5
expect 2 "$python" "$compare" a.h5 other.h5
grep -q "different sweeps" out.txt || { cat out.txt; fail "no 'different sweeps' message"; }
echo "not hdf5" >junk.h5
expect 2 "$python" "$compare" a.h5 junk.h5
expect 2 "$python" "$compare" a.h5 missing.h5
expect 2 "$python" "$compare" --exact a.h5 missing.h5
echo "compare_results.py: tolerance mode, triage verdicts and exit codes as documented"
