#!/usr/bin/env bash
# The gallery in a real browser: headless Chromium loads index.html and a
# network page from file://; the test fails on any broken image or script
# error (the page's self-check reports both) and saves a screenshot.
# Exits 77 (skipped) only if Chromium cannot be installed.
# usage: browser_test.sh NETSWEEP NETSWEEP_RENDER ARTIFACT_DIR
set -euo pipefail
netsweep=$1 render=$2 artifacts=$3
skip() { echo "SKIP: $*"; exit 77; }
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  [ "$(id -u)" -eq 0 ] || skip "chromium is not installed and this is not root"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; } ||
    skip "cannot install chromium"
  browser=$(command -v chromium)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$artifacts"

"$netsweep" run --layers 1,2 --widths 4,16 --activations relu,tanh --epochs 30 --snapshot-every 10 --grid 32 \
  --dataset spiral:n=120 --test-fraction 0.25 --device cpu -q -o "$work/sweep.h5"
"$render" "$work/sweep.h5" -o "$work/gallery" -q

chrome() {  # extra args...
  "$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --user-data-dir="$work/profile-$RANDOM" \
    --allow-file-access-from-files --virtual-time-budget=15000 "$@" 2>"$work/chrome.log"
}
check_page() {  # page, expected status
  local page=$1 expect=$2 dom status
  dom=$(chrome --dump-dom "file://$page") || { cat "$work/chrome.log"; echo "FAIL: chromium failed on $page"; exit 1; }
  status=$(grep -o 'data-selfcheck="[^"]*"' <<<"$dom" | head -n 1 | cut -d'"' -f2)
  images=$(grep -o 'data-images="[0-9]*"' <<<"$dom" | head -n 1 | cut -d'"' -f2)
  echo "$page: self-check '$status', $images images"
  case "$expect" in
    ok) [ "$status" = ok ] && [ "${images:-0}" -gt 0 ] || { echo "FAIL: $page: self-check '$status'"; exit 1; } ;;
    broken) [[ "$status" == broken=1* ]] || { echo "FAIL: the self-check missed a deleted image on $page: '$status'"; exit 1; } ;;
  esac
}
check_page "$work/gallery/index.html" ok
check_page "$work/gallery/nets/net-0003.html" ok
# The epoch slider of a network page moves every picture together: the page
# moves it from the last frame to the first and counts the pictures that followed.
dom=$(chrome --dump-dom "file://$work/gallery/nets/net-0003.html#slider-selftest") || { echo "FAIL: chromium"; exit 1; }
slider=$(grep -o 'data-slider="[^"]*"' <<<"$dom" | head -n 1 | cut -d'"' -f2)
echo "net-0003.html slider: '$slider'"
[[ "$slider" =~ ^moved=([0-9]+)/([0-9]+)$ ]] && [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] &&
  [ "${BASH_REMATCH[1]}" -ge 3 ] || { echo "FAIL: the slider did not move every picture: '$slider'"; exit 1; }
grep -q 'data-epoch="0"' <<<"$dom" || { echo "FAIL: the loss plot's marker did not move to epoch 0"; exit 1; }
chrome --screenshot="$artifacts/network.png" --window-size=1400,1000 "file://$work/gallery/nets/net-0003.html" >/dev/null
chrome --screenshot="$artifacts/gallery.png" --window-size=1400,1400 "file://$work/gallery/index.html" >/dev/null
[ -s "$artifacts/gallery.png" ] || { echo "FAIL: no screenshot"; exit 1; }
echo "screenshot: $artifacts/gallery.png"
# The overview of a sweep with replicas and several parts: every heat-map cell links to a page that exists,
# and a configuration's page (its replicas, the median loss band, the ensemble) loads cleanly.
"$netsweep" run --layers 1,2 --widths 4,8 --activations relu,tanh --seeds 3 --epochs 20 --snapshot-every 10 --grid 24 \
  --dataset moons:n=80 --dataset circle:n=80 --device cpu -q -o "$work/parts.h5"
"$render" "$work/parts.part-0.h5" "$work/parts.part-1.h5" -o "$work/overview" -q
cells=$(grep -o '<td class="hc"[^>]*><a style="[^"]*" href="[^"]*"' "$work/overview/index.html" | sed 's/.*href="//; s/"$//')
[ "$(wc -l <<<"$cells")" -ge 32 ] || { echo "FAIL: expected 2 parts x 2 panels x 4 cells x 2 maps, got: $cells"; exit 1; }
while read -r link; do
  [ -f "$work/overview/$link" ] || { echo "FAIL: a heat-map cell links to a missing page: $link"; exit 1; }
done <<<"$cells"
echo "overview: $(wc -l <<<"$cells") heat-map cells, every link resolves"
check_page "$work/overview/index.html" ok
check_page "$work/overview/groups/g-0000.html" ok
chrome --screenshot="$artifacts/overview.png" --window-size=1400,1600 "file://$work/overview/index.html" >/dev/null
# The check can fail: a missing image is reported.
rm "$work/gallery/nets/net-0002/final.png"  # shown in the list of networks
check_page "$work/gallery/index.html" broken
echo "gallery loads in Chromium with no broken image and no script error"
