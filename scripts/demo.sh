#!/usr/bin/env bash
# The quick start's demo: trains 72 networks (hidden layers 1-8 x widths 2-64 x
# sigmoid/relu) on the two-arm spiral, renders the gallery and says which file
# to open. 15-35 seconds on a 2-core machine without a GPU.
# Prints each command it runs, to copy and change.
# usage: scripts/demo.sh [NAME]   (writes NAME.h5 and the gallery NAME/; default demo)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${NETSWEEP_BUILD_DIR:-build}
name=${1:-demo}
[ -x "$build/netsweep" ] || { echo "demo: $build/netsweep is not built; run scripts/setup.sh first" >&2; exit 2; }

run() {
  echo "+ $*" >&2
  "$@"
}
run "$build/netsweep" run --layers 1,2,3,4,6,8 --widths 2,4,8,16,32,64 --activations sigmoid,relu \
  --dataset spiral --test-fraction 0.2 --lr 0.01 --epochs 400 --snapshot-every 25 --grid 96 -o "$name.h5"
run "$build/netsweep" info "$name.h5" --by activation,layers
run "$build/netsweep-render" "$name.h5" -o "$name/"
echo "demo: narrow networks cannot fit the spiral, deep sigmoid ones do not train, deep relu ones do;" \
  "open $name/index.html (file://$(realpath -m "$name/index.html"))" >&2
