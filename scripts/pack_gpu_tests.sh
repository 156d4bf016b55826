#!/usr/bin/env bash
# Bundles test/gpu/run_cases.ts (the case table on webgpu, no mocha) into one ESM file and packs it with
# scripts/gpu/pack.sh into .gpu/ for the NVIDIA GPU machine, where `bash .gpu/run.sh` runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
npx esbuild test/gpu/run_cases.ts --bundle --platform=node --format=esm --target=node20 \
  --main-fields=module,main --external:webgpu --outfile=.test-build/gpu_cases.mjs --log-level=warning \
  --banner:js="import {createRequire as __cr} from 'module'; const require = __cr(import.meta.url);"
bash scripts/gpu/pack.sh .test-build/gpu_cases.mjs
