#!/usr/bin/env bash
# A portable build (the default, NETSWEEP_NATIVE=OFF) runs on CPUs older than
# the build machine's and picks its vector code there: the binary has no AVX
# outside the CPU backend's clones, and under QEMU's user-mode emulation of a
# CPU without AVX (Nehalem) and of an AVX2 CPU (Haswell) it trains with the
# baseline and the AVX2 code (the file's device attribute says which) to
# results within tolerance of this machine's.
# Installs qemu-user if missing; exits 77 (skipped) only if it cannot.
# usage: portable_build_test.sh NETSWEEP PYTHON COMPARE_SCRIPT CHECK_VECTOR_CODE
set -euo pipefail
netsweep=$1 python=$2 compare=$3 check_vector_code=$4
"$python" "$check_vector_code" "$netsweep"

skip() { echo "SKIP: $*"; exit 77; }
if ! command -v qemu-x86_64 >/dev/null; then
  [ "$(id -u)" -eq 0 ] || skip "qemu-user is not installed and this is not root"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user >/dev/null 2>&1; } ||
    skip "cannot install qemu-user"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
args=(run --layers 1,2 --widths 8,32 --activations relu,tanh --epochs 8 --snapshot-every 4 --grid 16
      --dataset moons:n=80 --device cpu -q)
"$netsweep" "${args[@]}" -o "$work/host.h5"
device() { "$python" -c "import h5py, sys; print(h5py.File(sys.argv[1], 'r').attrs['device'].decode())" "$1"; }
echo "this machine: $(device "$work/host.h5")"
for cpu in Nehalem:x86-64 Haswell:AVX2; do
  model=${cpu%%:*} want=${cpu##*:}
  # QEMU warns about CPU flags it does not emulate (pcid, x2apic, ...): not ours to report.
  qemu-x86_64 -cpu "$model" "$netsweep" "${args[@]}" -o "$work/$model.h5" 2> >(grep -v "TCG doesn't support" >&2)
  got=$(device "$work/$model.h5")
  echo "$model: $got"
  case "$got" in
    *", $want") ;;
    *) echo "FAIL: on a $model CPU the CPU backend should run its $want code" >&2; exit 1 ;;
  esac
  "$python" "$compare" "$work/host.h5" "$work/$model.h5" | tail -1
done
echo "portable build: runs without AVX, picks AVX2 / AVX-512 where present, results within tolerance"
