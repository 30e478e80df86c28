#!/usr/bin/env bash
# One-step setup: installs netsweep's Debian dependencies (if missing) and
# builds it into build/. Safe to rerun. Set NETSWEEP_BUILD_DIR to build elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake ninja-build pkg-config
          libhdf5-dev zlib1g-dev libcli11-dev libtomlplusplus-dev nlohmann-json3-dev libgtest-dev
          libstb-dev libgif-dev libfreetype-dev fonts-dejavu-core fonts-cantarell
          python3 python3-h5py python3-numpy python3-pandas python3-xarray python3-h5netcdf
          clang libclang-rt-dev  # the fuzz tests (tests/fuzz): clang and its libFuzzer
          libopenblas0)          # bench --by-width's SGEMM reference (loaded at run time)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

build=${NETSWEEP_BUILD_DIR:-build}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
# The CUDA backend is built when nvcc is found (on PATH or in /usr/local/cuda).
[ -x /usr/local/cuda/bin/nvcc ] && ! command -v nvcc >/dev/null && export PATH="/usr/local/cuda/bin:$PATH"
[ -f "$build/CMakeCache.txt" ] || cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j "$(nproc)"
echo "setup: built $build/netsweep"
