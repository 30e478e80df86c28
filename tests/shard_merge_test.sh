#!/usr/bin/env bash
# Shards of a sweep, merged, equal the single-process run; merge refuses
# missing, duplicated and foreign shards with a message naming them.
# usage: shard_merge_test.sh NETSWEEP PYTHON COMPARE_SCRIPT (tools/compare_results.py)
set -euo pipefail
netsweep=$1 python=$2 compare=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
args=(--layers 1,2 --widths 4,16,64 --activations relu,tanh --seeds 2 --epochs 15 --snapshot-every 5 --grid 16
      --dataset moons:n=200 --device cpu -q)
"$netsweep" run "${args[@]}" -o single.h5
for i in 0 1 2; do "$netsweep" run "${args[@]}" --shard "$i/3" -o "sweep.shard-$i.h5"; done
"$netsweep" merge -q sweep.shard-*.h5 -o merged.h5
"$python" "$compare" --exact single.h5 merged.h5
"$netsweep" info merged.h5 | grep -q "networks: 24, frames: 4 of 16x16"

expect_error() {  # message, command...
  local message=$1; shift
  local out status=0
  out=$("$@" 2>&1) || status=$?
  [ "$status" -ne 0 ] || { echo "FAIL: '$*' succeeded"; exit 1; }
  grep -qF -- "$message" <<<"$out" || { echo "FAIL: '$*' said: $out"; exit 1; }
  echo "ok: $message"
}
expect_error "networks are missing, e.g." "$netsweep" merge sweep.shard-0.h5 sweep.shard-1.h5 -o bad.h5
expect_error "sweep.shard-1.h5: given twice (as sweep.shard-1.h5)" \
  "$netsweep" merge sweep.shard-0.h5 sweep.shard-1.h5 sweep.shard-1.h5 sweep.shard-2.h5 -o bad.h5
cp sweep.shard-1.h5 copy-of-shard-1.h5
expect_error "is in both sweep.shard-1.h5 and copy-of-shard-1.h5" \
  "$netsweep" merge sweep.shard-0.h5 sweep.shard-1.h5 copy-of-shard-1.h5 sweep.shard-2.h5 -o bad.h5
"$netsweep" run --layers 1 --widths 4 --epochs 3 --grid 8 --dataset moons:n=50 --device cpu -q -o other.h5
expect_error "shards of different sweeps cannot be merged" "$netsweep" merge sweep.shard-0.h5 other.h5 -o bad.h5
expect_error "--shard '3/3': expected I/N" "$netsweep" run "${args[@]}" --shard 3/3 -o bad.h5
expect_error "the sweep has only 24 networks" "$netsweep" run "${args[@]}" --shard 30/40 -o bad.h5
[ ! -e bad.h5 ] || { echo "FAIL: a failed merge left bad.h5"; exit 1; }

# A SIGTERM during a merge (shards of large frames: it takes most of a second)
# stops it with 143 and nothing left, or comes in the last step and the file is
# complete; never killed outright with a full-size partial file left.
wargs=(--layers 1,2 --widths 2,3,4,5 --activations relu,tanh --epochs 40 --snapshot-every 1 --grid 128
       --dataset moons:n=200 --device cpu --threads 2 -q)
for i in 0 1; do "$netsweep" run "${wargs[@]}" --shard "$i/2" -o "big.shard-$i.h5"; done
"$netsweep" run "${wargs[@]}" -o big.h5
"$netsweep" merge big.shard-*.h5 -o stopped.h5 2>stop.log &
pid=$!
# Once its partial file exists (a signal before the handlers are set kills any program).
for _ in $(seq 1 2000); do compgen -G "stopped.h5.partial-*" >/dev/null && break; sleep 0.005; done
kill -s TERM "$pid"
status=0
wait "$pid" || status=$?
echo "SIGTERM during merge: exit $status"
partials=$(ls stopped.h5.partial-* 2>/dev/null || true)
[ -z "$partials" ] || { echo "FAIL: left behind: $partials"; exit 1; }
if [ "$status" -eq 143 ]; then
  grep -q "merge: stopped by SIGTERM; nothing written to stopped.h5" stop.log || { cat stop.log; exit 1; }
  [ ! -e stopped.h5 ] || { echo "FAIL: stopped.h5 exists after the stop"; exit 1; }
elif [ "$status" -eq 0 ]; then
  "$python" "$compare" --exact big.h5 stopped.h5
else
  echo "FAIL: exit $status after SIGTERM during merge, expected 143 or 0"; cat stop.log; exit 1
fi
echo "shards merge to the single-process result"
