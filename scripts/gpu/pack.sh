#!/usr/bin/env bash
# Packs a Node program that uses WebGPU through Dawn (npm package `webgpu`) so that it runs on the NVIDIA
# NVIDIA GPU machine (H200), which has a GPU and a Vulkan driver but no Node.js.
#   usage (from the project root):  bash scripts/gpu/pack.sh path/to/bundle.mjs
#   (npm run bench:pack and scripts/pack_gpu_tests.sh call it; it used to live outside the repository)
# The bundle must be ONE self-contained ESM file (esbuild --bundle --platform=node --format=esm
#   --external:webgpu --banner:js="import {createRequire as __cr} from 'module'; const require = __cr(import.meta.url);")
# and must set globalThis.navigator = {gpu: create([])} from 'webgpu' before importing tfjs-backend-webgpu.
# Result: .gpu/ (ignored by git) with node, dawn.node, Vulkan/GL loader packages, the bundle and run.sh.
set -euo pipefail
bundle=${1:?usage: pack.sh BUNDLE.mjs}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)   # the repository (works in a tarball or a copy without .git, too)
dawn="$root/node_modules/webgpu/dist/linux-x64/dawn.node"
[ -f "$dawn" ] || { echo "pack.sh: $dawn missing: npm install webgpu first" >&2; exit 1; }
# .gpu/ is in .gitignore
out="$root/.gpu"; mkdir -p "$out/node_modules/webgpu/dist/linux-x64" "$out/debs"
[ -f "$out/node.xz" ] || xz -T2 -c "$(readlink -f "$(command -v node)")" > "$out/node.xz"
[ -f "$out/dawn.node.xz" ] || xz -T2 -c "$dawn" > "$out/dawn.node.xz"
cp "$root/node_modules/webgpu/index.js" "$root/node_modules/webgpu/package.json" "$out/node_modules/webgpu/"
if ! ls "$out"/debs/libvulkan1_*.deb >/dev/null 2>&1; then
  o="-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/gpu-apt-lists"
  mkdir -p /tmp/gpu-apt-lists/partial
  apt-get $o update -qq
  (cd "$out/debs" && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 2>&1 | grep -v unsandboxed || true)
fi
cp "$bundle" "$out/main.mjs"
cp "$here/run.sh" "$out/run.sh"
du -sh "$out"
cat <<MSG
Packed into .gpu/. On the NVIDIA GPU machine (H200), with .gpu/ copied into the project root there, run:
  bash .gpu/run.sh [ARGS for your program]
MSG
