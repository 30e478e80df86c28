#!/usr/bin/env bash
# What looking inside the networks costs on the slide sweep (108 networks, 41
# frames of 256^2 on the slide points): the same sweep with recording off
# (--neuron-maps none --record-weights none) and with the defaults (auto),
# side by side: wall time, file size, and the gallery's render time. The run
# is shortened (EPOCHS, default 200, frames every EPOCHS/40 so there are the
# full run's 41 frames); recording costs per frame, not per epoch, so the
# full 4000-epoch run's overhead is extrapolated from the measured training
# rate and printed as such.
#
# usage: tools/bench_recording.sh [BUILD] [SHARED] [EPOCHS]
set -euo pipefail
build=${1:-build} shared=${2:-../shared} epochs=${3:-200}
every=$((epochs / 40))
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
slide=(--layers 1,2,3,4,6,8 --widths 2,4,8,16,32,64,128,256,384 --activations sigmoid,relu
       --points "$shared/data/slide/green_points.json:0" --points "$shared/data/slide/red_points.json:1"
       --epochs "$epochs" --grid 256 --device cpu -q)
seconds() { local t0 t1; t0=$(date +%s.%N); "$@"; t1=$(date +%s.%N); awk "BEGIN {printf \"%.2f\", $t1 - $t0}"; }
off=$(seconds "$build/netsweep" run "${slide[@]}" --snapshot-every "$every" --neuron-maps none --record-weights none \
  -o "$work/off.h5")
on=$(seconds "$build/netsweep" run "${slide[@]}" --snapshot-every "$every" -o "$work/on.h5")
two=$(seconds "$build/netsweep" run "${slide[@]}" --snapshot-every "$epochs" --neuron-maps none --record-weights none \
  -o "$work/two.h5")
size_off=$(stat -c %s "$work/off.h5") size_on=$(stat -c %s "$work/on.h5")
render_off=$(seconds "$build/netsweep-render" -q "$work/off.h5" -o "$work/gallery-off")
render_on=$(seconds "$build/netsweep-render" -q "$work/on.h5" -o "$work/gallery-on")
awk -v cpu="$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2)" -v e="$epochs" -v off="$off" -v on="$on" -v so="$size_off" -v son="$size_on" -v ro="$render_off" -v ron="$render_on" -v two="$two" 'BEGIN {
  printf "slide sweep, %d epochs, 41 frames of 256^2, on%s\n", e, cpu
  printf "%-28s %12s %14s %12s\n", "", "run (s)", "file (MB)", "render (s)"
  printf "%-28s %12.2f %14.1f %12.2f\n", "recording off", off, so / 1e6, ro
  printf "%-28s %12.2f %14.1f %12.2f\n", "recording on (defaults)", on, son / 1e6, ron
  printf "ratio on/off: run %.3f, file %.3f, render %.2f\n", on / off, son / so, ron / ro
  frame = (off - two) / 39            # one frame of all networks (recording off)
  epochs = (two - 2 * frame) * 4000 / e  # the full run: its epochs without frames
  full = epochs + 41 * frame
  printf "first and last frames only (recording off): %.2f s, so one frame of all networks costs %.2f s\n", two, frame
  printf "extrapolated to 4000 epochs: %.0f s of epochs + %.0f s of frames = %.0f s (%.1f min); recording on adds %.1f s = %.1f%%\n", epochs, 41 * frame, full, full / 60, on - off, 100 * (on - off) / full
}'
