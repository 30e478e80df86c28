#!/usr/bin/env bash
# Interrupt a CPU run with SIGTERM and with kill -9, resume it with --resume,
# and check the final file is identical to an uninterrupted run's.
# usage: resume_test.sh NETSWEEP PYTHON COMPARE_SCRIPT (tools/compare_results.py)
set -euo pipefail
netsweep=$1 python=$2 compare=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
args=(--layers 1,2,3 --widths 32,96 --activations relu,tanh --seeds 2 --epochs 300 --snapshot-every 10 --grid 24
      --dataset spiral:n=400 --test-fraction 0.2 --device cpu --threads 2)

"$netsweep" run "${args[@]}" -q -o reference.h5

stop_midway() {  # signal name, output, the run's options: the run stopped once it has checkpointed
  local sig=$1 out=$2
  shift 2
  "$netsweep" run "$@" -q --resume --checkpoint-every 0 -o "$out" &
  local pid=$!
  for _ in $(seq 1 400); do [ -f "$out.ckpt/state.h5" ] && break; sleep 0.02; done
  sleep 0.3
  kill -s "$sig" "$pid"
  local status=0
  wait "$pid" || status=$?
  echo "run stopped by $sig: exit $status"
  [ ! -e "$out" ] || { echo "FAIL: $out exists after $sig: the run finished before the signal (make the sweep longer)"; exit 1; }
  [ -f "$out.ckpt/state.h5" ] || { echo "FAIL: no checkpoint after $sig"; exit 1; }
  if [ "$sig" = TERM ]; then [ "$status" -eq 143 ] || { echo "FAIL: exit $status after SIGTERM, expected 143"; exit 1; }; fi
}

interrupt() {  # signal name, output
  local sig=$1 out=$2
  stop_midway "$sig" "$out" "${args[@]}"
  "$netsweep" run "${args[@]}" --resume -o "$out" 2>resume.log
  grep -q "resuming from $out.ckpt" resume.log || { echo "FAIL: the rerun did not resume"; cat resume.log; exit 1; }
  [ ! -e "$out.ckpt" ] || { echo "FAIL: checkpoint left behind after completion"; exit 1; }
  "$python" "$compare" --exact reference.h5 "$out"
  # A complete output makes --resume a no-op.
  "$netsweep" run "${args[@]}" -q --resume -o "$out"
}

interrupt TERM sigterm.h5
interrupt KILL sigkill.h5
echo "resume after SIGTERM and kill -9: identical to the uninterrupted run"

# A run begun by an earlier netsweep (its spec has no "streams": network ids keyed the random streams) is
# resumed by the same command as it began: the result is that version's uninterrupted run, and a rerun on
# the complete file does nothing (neither is refused as another sweep's).
"$python" - reference.h5 earlier.h5 <<'EOF'
import json, shutil, sys
import h5py, numpy as np
shutil.copy(sys.argv[1], sys.argv[2])
with h5py.File(sys.argv[2], "r+") as f:
    spec = json.loads(f.attrs["spec"])
    del spec["streams"]
    f.attrs["spec"] = np.bytes_(json.dumps(spec))
EOF
"$netsweep" run --from earlier.h5 --device cpu --threads 2 -q -o reference-earlier.h5
if "$python" "$compare" --exact reference.h5 reference-earlier.h5 >/dev/null 2>&1; then
  echo "FAIL: the id rule trained as the shape rule does: the case below would show nothing"; exit 1
fi
stop_midway TERM begun.h5 --from earlier.h5 --device cpu --threads 2
# Another sweep's --resume onto that checkpoint is refused, saying whose it is; the checkpoint is kept.
if out=$("$netsweep" run "${args[@]}" --lr 0.01 --resume -o begun.h5 2>&1); then echo "FAIL: resumed as another sweep"; exit 1; fi
grep -Eq "begun.h5.ckpt/state.h5: checkpoint of another sweep or shard \(sweep [0-9a-f]{16}, whole; this run is sweep [0-9a-f]{16}, whole\)" <<<"$out" ||
  { echo "FAIL: $out"; exit 1; }
"$netsweep" run "${args[@]}" --resume -o begun.h5 2>begun.log
grep -q "begun.h5: begun by an earlier netsweep" begun.log || { echo "FAIL: not resumed as begun"; cat begun.log; exit 1; }
"$python" "$compare" --exact reference-earlier.h5 begun.h5
"$netsweep" run "${args[@]}" --resume -o begun.h5 2>begun.log
grep -q "begun.h5 is already complete; nothing to do" begun.log || { echo "FAIL: not a no-op"; cat begun.log; exit 1; }
echo "a run begun by an earlier version: resumed as it began"

# A SIGTERM once training is done, while the file is assembled from the
# checkpoint (many large frames, so that takes a while): either the run stops
# (143, the checkpoint kept, no partial file) and a resume completes it, or the
# signal came in the last step and the file is complete (0). Never killed
# outright with a full-size OUT.partial-HOST-PID left behind.
wargs=(--layers 1,2 --widths 2,3,4,5 --activations relu,tanh --epochs 40 --snapshot-every 1 --grid 128
       --dataset moons:n=200 --device cpu --threads 2)
"$netsweep" run "${wargs[@]}" -q -o write-reference.h5
"$netsweep" run "${wargs[@]}" --resume -o write.h5 2>write.log &
pid=$!
for _ in $(seq 1 3000); do grep -q "writing write.h5" write.log && break; sleep 0.01; done
grep -q "writing write.h5" write.log || { echo "FAIL: no 'writing' line"; cat write.log; exit 1; }
kill -s TERM "$pid"
status=0
wait "$pid" || status=$?
echo "SIGTERM while writing: exit $status"
partials=$(ls write.h5.partial-* 2>/dev/null || true)
[ -z "$partials" ] || { echo "FAIL: left behind: $partials"; cat write.log; exit 1; }
if [ "$status" -eq 143 ]; then
  grep -q "stopped by SIGTERM while writing write.h5 (nothing written); checkpoint written" write.log ||
    { echo "FAIL: no one-line reason"; cat write.log; exit 1; }
  [ ! -e write.h5 ] || { echo "FAIL: write.h5 exists after the stop"; exit 1; }
  "$netsweep" run "${wargs[@]}" -q --resume -o write.h5
elif [ "$status" -ne 0 ]; then
  echo "FAIL: exit $status after SIGTERM while writing, expected 143 or 0"; cat write.log; exit 1
fi
[ ! -e write.h5.ckpt ] || { echo "FAIL: checkpoint left behind after completion"; exit 1; }
"$python" "$compare" --exact write-reference.h5 write.h5
echo "SIGTERM while writing: no partial file, and the result identical to the uninterrupted run"

# kill -9 as the file is written leaves OUT.partial-HOST-PID behind; the next
# run writing OUT removes it (its process is gone) and says so, but keeps the
# partial file of a process still running (this script's shell).
"$netsweep" run "${wargs[@]}" -q -o killed.h5 &
pid=$!
for _ in $(seq 1 3000); do compgen -G "killed.h5.partial-*" >/dev/null && break; sleep 0.01; done
kill -s KILL "$pid"
wait "$pid" || true
stale=$(ls killed.h5.partial-*) || { echo "FAIL: no partial file to test with"; exit 1; }
live=${stale%-*}-$$
touch "$live"
"$netsweep" run "${wargs[@]}" -o killed.h5 2>killed.log
grep -q "removed $stale, left by a process that is gone" killed.log || { echo "FAIL: not removed"; cat killed.log; exit 1; }
[ ! -e "$stale" ] || { echo "FAIL: $stale left behind"; exit 1; }
grep -q "$live exists: another process is writing killed.h5" killed.log || { echo "FAIL: no warning"; cat killed.log; exit 1; }
[ -e "$live" ] || { echo "FAIL: a live process's partial file was removed"; exit 1; }
"$python" "$compare" --exact write-reference.h5 killed.h5
echo "kill -9 while writing: the next run removed $stale and kept $live"

# Its log piped into `head -1`, which exits at once: the run is not killed by
# SIGPIPE half-way (leaving a partial file); it completes, its lines unread.
set +o pipefail
"$netsweep" run "${wargs[@]}" -o piped.h5 2>&1 | head -1
status=${PIPESTATUS[0]}
set -o pipefail
[ "$status" -eq 0 ] || { echo "FAIL: exit $status with stderr piped into head -1"; exit 1; }
"$python" "$compare" --exact write-reference.h5 piped.h5
echo "stderr piped into head -1: the run completed"

# A checkpoint left beside the output is named when a run without --resume
# starts over (and is not used).
mkdir -p stale.h5.ckpt
"$netsweep" run "${wargs[@]}" -q -o stale.h5 2>stale.log
grep -q "stale.h5.ckpt: a checkpoint of an earlier run, not used without --resume" stale.log ||
  { echo "FAIL: the checkpoint left beside the output was not named"; cat stale.log; exit 1; }

# While a run with checkpoints is under way, another run of the same output is
# refused, with or without --resume, as is a merge into it, and the first is unharmed.
"$netsweep" run "${args[@]}" -q --resume --checkpoint-every 0 -o busy.h5 &
pid=$!
for _ in $(seq 1 400); do [ -f busy.h5.ckpt/state.h5 ] && break; sleep 0.02; done
for extra in "" "--resume"; do
  status=0
  "$netsweep" run "${args[@]}" -q $extra -o busy.h5 2>busy.log || status=$?
  [ "$status" -eq 2 ] || { echo "FAIL: a second run ($extra) of a busy output: exit $status"; cat busy.log; exit 1; }
  grep -q "busy.h5.*process $pid" busy.log || { echo "FAIL: the holder is not named"; cat busy.log; exit 1; }
done
status=0  # nor merge, whose file the run would replace at its end
"$netsweep" merge -q reference.h5 -o busy.h5 2>busy.log || status=$?
[ "$status" -eq 2 ] || { echo "FAIL: a merge onto a busy output: exit $status"; cat busy.log; exit 1; }
grep -q "busy.h5: another run is writing it now (process $pid" busy.log || { echo "FAIL: not named"; cat busy.log; exit 1; }
wait "$pid"
"$python" "$compare" --exact reference.h5 busy.h5
echo "a second run of a busy output: refused, naming process $pid; the first completed"

# SIGTERM with stderr into a pipe that has closed: still exit 143 with the
# checkpoint kept (not 141, killed by SIGPIPE as the stop line is written).
"$netsweep" run "${args[@]}" --resume --checkpoint-every 0 -o pipeterm.h5 2> >(head -c 1 >/dev/null) &
pid=$!
for _ in $(seq 1 400); do [ -f pipeterm.h5.ckpt/state.h5 ] && break; sleep 0.02; done
sleep 0.2
kill -s TERM "$pid"
status=0
wait "$pid" || status=$?
[ "$status" -eq 143 ] || { echo "FAIL: exit $status after SIGTERM with stderr into a closed pipe, expected 143"; exit 1; }
[ -f pipeterm.h5.ckpt/state.h5 ] || { echo "FAIL: no checkpoint after SIGTERM"; exit 1; }
echo "SIGTERM with stderr into a closed pipe: exit 143, checkpoint kept"

# --resume onto the complete file of another sweep, or of another shard of this
# one (a copied command with the wrong -o or --shard), is refused and the file
# kept; before, the run trained and replaced it without a word.
cp write-reference.h5 kept.h5
refused() {  # what the message must say, then the run's options
  local says=$1
  shift
  status=0
  "$netsweep" run "$@" -q --resume -o kept.h5 2>kept.log || status=$?
  [ "$status" -eq 2 ] || { echo "FAIL: --resume onto another's complete file: exit $status"; cat kept.log; exit 1; }
  grep -q "kept.h5: holds the complete results of $says" kept.log || { echo "FAIL: no reason"; cat kept.log; exit 1; }
  cmp -s write-reference.h5 kept.h5 || { echo "FAIL: kept.h5 changed"; exit 1; }
}
refused "another sweep" "${wargs[@]}" --lr 0.01
"$netsweep" run "${wargs[@]}" -q --shard 1/2 -o kept.h5
cp kept.h5 write-reference.h5
refused "shard 1/2 of this sweep (this run trains shard 0/2" "${wargs[@]}" --shard 0/2
refused "shard 1/2 of this sweep (this run trains this whole sweep)" "${wargs[@]}"
"$netsweep" run "${wargs[@]}" --shard 1/2 --resume -o kept.h5 2>&1 | grep -q "already complete" ||
  { echo "FAIL: its own shard's file was not taken as done"; exit 1; }
echo "--resume onto another sweep's or shard's complete file: refused, the file kept"
refused "this sweep with --frame-dtype f16 (this run writes f32)" "${wargs[@]}" --shard 1/2 --frame-dtype f32
echo "--resume onto this sweep's complete file of the other --frame-dtype: refused, the file kept"

# A run without checkpoints holds its partial file: a second run of that output is refused
# (both had run, and the last to finish replaced the other's file without a word).
"$netsweep" run "${args[@]}" -q -o streaming.h5 &
pid=$!
for _ in $(seq 1 3000); do compgen -G "streaming.h5.partial-*" >/dev/null && break; sleep 0.01; done
for extra in "" "--resume" "--checkpoint-every 0"; do
  status=0
  "$netsweep" run "${wargs[@]}" -q $extra -o streaming.h5 2>streaming.log || status=$?
  [ "$status" -eq 2 ] || { echo "FAIL: a second run ($extra) of a streaming output: exit $status"; cat streaming.log; exit 1; }
  grep -q "streaming.h5: another run is writing it now (process $pid" streaming.log ||
    { echo "FAIL: the writer is not named"; cat streaming.log; exit 1; }
done
wait "$pid"
"$python" "$compare" --exact reference.h5 streaming.h5
echo "a second run of an output another run streams into: refused, naming process $pid; the first completed"

# --checkpoint-every without --resume beside an earlier run's checkpoint is refused and the
# checkpoint kept: it had been overwritten, and removed at the end, without a word.
stop_midway TERM before.h5 "${args[@]}"
cp before.h5.ckpt/state.h5 before-state.h5
status=0
"$netsweep" run "${wargs[@]}" -q --checkpoint-every 0 -o before.h5 2>before.log || status=$?
[ "$status" -eq 2 ] || { echo "FAIL: --checkpoint-every over an earlier checkpoint: exit $status"; cat before.log; exit 1; }
grep -q "before.h5.ckpt: holds the checkpoint of an earlier run" before.log || { echo "FAIL: no reason"; cat before.log; exit 1; }
cmp -s before-state.h5 before.h5.ckpt/state.h5 || { echo "FAIL: the earlier checkpoint changed"; exit 1; }
"$netsweep" run "${args[@]}" -q --resume -o before.h5
"$python" "$compare" --exact reference.h5 before.h5
echo "--checkpoint-every without --resume over an earlier checkpoint: refused, the checkpoint kept and resumable"
