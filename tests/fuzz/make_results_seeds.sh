#!/usr/bin/env bash
# Remakes the HDF5 seeds of corpus/fuzz_results (small real files):
# results files of tiny sweeps (float16 and float32 frames, 1-D regression,
# three classes), a plan file, a results file rewritten in HDF5's oldest format
# with variable-length strings (as older netsweep versions wrote them), and a
# checkpoint state of fuzz_results' fixed sweep.
# The old-format file goes to corpus-legacy/: netsweep refuses that format
# before libhdf5 parses it (see the README), so it only seeds that refusal.
# usage: make_results_seeds.sh NETSWEEP FUZZ_RESULTS PYTHON
set -euo pipefail
netsweep=$1 fuzz_results=$2 python=$3
here=$(cd "$(dirname "$0")" && pwd)
out=$here/corpus/fuzz_results legacy=$here/corpus-legacy/fuzz_results
mkdir -p "$out" "$legacy"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
run=("$netsweep" run -q --device cpu)
"${run[@]}" --layers 1 --widths 2 --activations relu --epochs 3 --snapshot-every 2 --grid 4 --dataset xor:n=20 \
  -o binary_f16.h5
"${run[@]}" --layers 1 --widths 2 --shape 3-2 --activations tanh --loss mse --dataset poly:n=16 --epochs 2 \
  --snapshot-every 0 --grid 5 --frame-dtype f32 --test-fraction 0.25 -o regression_f32.h5
printf 'x1,x2,label\n0,0,0\n1,0,1\n0,1,2\n1,1,0\n2,0,1\n0,2,2\n' >c3.csv
"${run[@]}" --layers 1 --widths 2 --activations sigmoid,relu --loss softmax --csv c3.csv --epochs 2 --snapshot-every 1 \
  --grid 3 -o softmax3.h5
"$netsweep" slurm --layers 1 --widths 2 --activations relu,tanh --epochs 3 --grid 4 --dataset moons:n=12 --shards 2 \
  -o sharded.h5 >/dev/null
"$python" - <<'PY'
import h5py, numpy as np
src = h5py.File('binary_f16.h5', 'r')
dst = h5py.File('old_format_vlen.h5', 'w', libver='earliest')
vstr = h5py.string_dtype('utf-8')
def attrs(s, d):
    for k, v in s.attrs.items():
        if isinstance(v, (bytes, np.bytes_)): v = v.decode()
        if isinstance(v, str): d.attrs.create(k, v, dtype=vstr)
        else: d.attrs[k] = v
def copy(name, o):
    if isinstance(o, h5py.Group):
        attrs(o, dst.require_group(name)); return
    if o.dtype.kind == 'S':
        d = dst.create_dataset(name, data=[x.decode() for x in o[()]], dtype=vstr)
    elif name == 'frames':
        d = dst.create_dataset(name, data=o[()], chunks=o.chunks, compression='gzip', shuffle=True, fillvalue=np.nan)
    else:
        d = dst.create_dataset(name, data=o[()])
    attrs(o, d)
attrs(src, dst)
src.visititems(copy)
dst.close()
PY
NETSWEEP_FUZZ_WRITE_CHECKPOINT_SEED="$work/checkpoint_state.h5" "$fuzz_results"
cp binary_f16.h5 regression_f32.h5 softmax3.h5 sharded.plan.h5 checkpoint_state.h5 "$out/"
head -c 4096 binary_f16.h5 >"$out/truncated.h5"
cp old_format_vlen.h5 "$legacy/"
ls -l "$out" "$legacy"
