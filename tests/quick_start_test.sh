#!/usr/bin/env bash
# The README's first command, as a new user runs it: its setup step is
# scripts/setup.sh (this build stands in for it), its demo step runs as written
# and must end in a gallery whose index.html exists and is named in the last
# line; the demo must teach its lesson (narrow networks fail, deep sigmoid ones
# do not train, deep relu ones fit). Prints how long the demo took.
# usage: quick_start_test.sh SOURCE_DIR BUILD_DIR PYTHON
set -euo pipefail
src=$1 build=$2 python=$3
command=$(awk '/^## Quick start/{q=1} q && /^```sh/{getline; print; exit}' "$src/README.md")
echo "README's first command: $command"
[ "$command" = "scripts/setup.sh && scripts/demo.sh" ] || { echo "FAIL: the quick start's command changed; update this test" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start=$(date +%s.%N)
NETSWEEP_BUILD_DIR=$build "$src/scripts/demo.sh" "$work/demo" 2> "$work/log" || { cat "$work/log"; exit 1; }
end=$(date +%s.%N)
tail -3 "$work/log"
[ -f "$work/demo/index.html" ] || { echo "FAIL: no $work/demo/index.html" >&2; exit 1; }
tail -1 "$work/log" | grep -qF "open $work/demo/index.html (file://$work/demo/index.html)" ||
  { echo "FAIL: the last line does not say what to open, as a path and a URL" >&2; exit 1; }
awk -v a="$start" -v b="$end" 'BEGIN { printf "demo (train + render): %.1f s\n", b - a }'

"$python" - "$work/demo.h5" <<'PY'
import sys
import h5py
import numpy as np
f = h5py.File(sys.argv[1], "r")
n = f["networks"]
layers, width = n["hidden_layers"][:], n["width"][:]
act = n["activation"].asstr()[:]
acc = n["final_train_accuracy"][:]
def median(mask):
    return float(np.median(acc[mask]))
checks = {
    "width 2 (too narrow)": (median(width == 2), "<", 0.8),
    "relu, 2-4 layers, width >= 8": (median((act == "relu") & (layers >= 2) & (layers <= 4) & (width >= 8)), ">", 0.95),
    "sigmoid, 6-8 layers": (median((act == "sigmoid") & (layers >= 6)), "<", 0.75),
}
bad = 0
for what, (value, op, limit) in checks.items():
    ok = value < limit if op == "<" else value > limit
    print(f"{what}: median final train accuracy {value:.3f} ({op} {limit}) {'ok' if ok else 'FAIL'}")
    bad += not ok
print(f"{len(acc)} networks")
sys.exit(1 if bad or len(acc) != 72 else 0)
PY
