#!/usr/bin/env bash
# The GPU machine's benchmark in one command (scripts/device/bench-gpu.ts says what it prints).
#
#   scripts/device/run.sh --pack              here: fills .device/ (the bundle, dawn.node, sharp, the
#                                             kit from $DEEPVIS_ASSETS/device, models and photos)
#   scripts/device/run.sh --smoke             here: --pack, then the whole script on SwiftShader at tiny sizes
#   scripts/device/run.sh [bench args…]       on the GPU machine, with .device carried there (the
#                                             device tool's carry: [".device"]): runs it on the GPU
#
# .device/ must stay under 64 MiB (what the device tool carries); --pack checks it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dev="$root/.device"
mode=run
if [ "${1:-}" = "--pack" ]; then mode=pack; shift; fi
if [ "${1:-}" = "--smoke" ]; then mode=smoke; shift; fi

pack() {
  local assets="${DEEPVIS_ASSETS:-}"
  [ -n "$assets" ] || { echo "run.sh: set DEEPVIS_ASSETS to the shared assets folder" >&2; exit 2; }
  [ -f "$assets/device/pack.sh" ] || { echo "run.sh: no GPU kit at $assets/device/pack.sh" >&2; exit 2; }
  rm -rf "$dev"
  (cd "$root" && bash "$assets/device/pack.sh" >/dev/null)
  # The bundle sits at the same place under .device/app as its entry in the checkout, so the files
  # the code reads beside itself (../../package.json, the WordNet table) are found where it looks.
  local app="$dev/app"
  node "$root/scripts/device/bundle.mjs" "$app/scripts/device/bench.mjs"
  cp "$root/scripts/torch-reference.py" "$app/scripts/device/"
  cp "$root/package.json" "$app/"
  mkdir -p "$app/pipeline/graph/wordnet"
  cp "$root/pipeline/graph/wordnet/ilsvrc-hypernyms.json" "$app/pipeline/graph/wordnet/"
  # Native packages, beside the bundle; the large binaries as .xz, unpacked on first use.
  local nm="$root/node_modules" out="$dev/node_modules"
  mkdir -p "$out/webgpu/dist/linux-x64" "$out/@img"
  cp "$nm/webgpu/index.js" "$nm/webgpu/package.json" "$out/webgpu/"
  xz -T0 -6 -c "$nm/webgpu/dist/linux-x64/dawn.node" > "$out/webgpu/dist/linux-x64/dawn.node.xz"
  cp -r "$nm/sharp" "$nm/detect-libc" "$nm/semver" "$out/"
  cp -r "$nm/@img/colour" "$nm/@img/sharp-linux-x64" "$nm/@img/sharp-libvips-linux-x64" "$out/@img/"
  local vips="$out/@img/sharp-libvips-linux-x64/lib/libvips-cpp.so.8.17.3"
  xz -T0 -6 "$vips"
  # Models (prototxts and labels: the bench draws random weights) and photos.
  mkdir -p "$dev/assets/models" "$dev/assets/images/imagenet-sample"
  for m in caffenet-yos bvlc_googlenet; do
    mkdir -p "$dev/assets/models/$m"
    find "$assets/models/$m" -maxdepth 1 -type f ! -name '*.caffemodel' -exec cp {} "$dev/assets/models/$m/" \;
  done
  cp -r "$assets/images/ilsvrc2012-val" "$dev/assets/images/"
  local photos
  mapfile -t photos < <(find "$assets/images/imagenet-sample" -maxdepth 1 -type f | sort)
  cp "${photos[@]:0:64}" "$dev/assets/images/imagenet-sample/"
  chmod -R u+w "$dev"
  local bytes
  bytes=$(du -sb "$dev" | cut -f1)
  if [ "$bytes" -gt $((60 * 1024 * 1024)) ]; then
    echo "run.sh: .device is $((bytes / 1048576)) MiB, over the 60 MiB this script allows (64 MiB carry limit)" >&2
    exit 1
  fi
  echo "run.sh: .device packed, $((bytes / 1048576)) MiB"
}

unpack() {
  local dawn="$dev/node_modules/webgpu/dist/linux-x64/dawn.node"
  [ -f "$dawn" ] || xz -dc "$dawn.xz" > "$dawn"
  local vips="$dev/node_modules/@img/sharp-libvips-linux-x64/lib/libvips-cpp.so.8.17.3"
  [ -f "$vips" ] || xz -dkc "$vips.xz" > "$vips"
}

case "$mode" in
  pack)
    pack
    ;;
  smoke)
    pack
    unpack
    export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}" DEEPVIS_GPU_ADAPTER=swiftshader
    data="$(mktemp -d)"
    trap 'rm -rf "$data"' EXIT
    (cd "$dev" && node app/scripts/device/bench.mjs --assets "$dev/assets" --smoke --data "$data" "$@")
    ;;
  run)
    [ -f "$dev/app/scripts/device/bench.mjs" ] || { echo "run.sh: no .device/app/scripts/device/bench.mjs: run scripts/device/run.sh --pack first (here), then carry .device" >&2; exit 2; }
    unpack
    cd "$dev"
    exec bash gpu-env.sh node app/scripts/device/bench.mjs --assets "$dev/assets" --data "$dev/data" "$@"
    ;;
esac
