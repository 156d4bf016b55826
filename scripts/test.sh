#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine with Node 20:
#   installs what it needs (Debian's chromium and libvulkan1 through apt when missing and root; npm packages),
#   builds the package, type-checks, then runs
#     1. Node (mocha): cpu, and webgpu through Dawn on SwiftShader's Vulkan driver; and, at the same time,
#     2. headless Chromium (karma): cpu, webgl and webgpu on SwiftShader;
#     3. the <script> build, the npm-packed package in a fresh project (test/consumer), the demo page;
#   and exits non-zero on any failure. FA_BACKENDS=cpu,webgpu narrows the backends; FA_SEED replays a run.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing+=(chromium)
ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1' || missing+=(libvulkan1)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "== installing ${missing[*]} (apt)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

echo "== npm ci"
npm ci --no-audit --no-fund --loglevel=error
echo "== build and type-check"
npm run --silent build
npm run --silent typecheck

export CHROME_BIN=${CHROME_BIN:-/usr/bin/chromium}
export VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-/usr/lib/chromium/vk_swiftshader_icd.json}
logs=$(mktemp -d)
status=0

# The two suites run side by side: each spends its time compiling shaders on one core (SwiftShader),
# so together they take about as long as the longer one. Node's log is printed when it ends.
echo "== building the test bundles"
node scripts/build_tests.mjs
echo "== Node: cpu and webgpu (Dawn + SwiftShader), in the background (log below)"
npx mocha >"$logs/node.log" 2>&1 &
node_pid=$!
echo "== headless Chromium: cpu, webgl, webgpu"
npx karma start karma.conf.cjs 2>&1 | tee "$logs/browser.log" || status=1
wait "$node_pid" || status=1
echo "== Node: cpu and webgpu (Dawn + SwiftShader)"
cat "$logs/node.log"

echo "== the <script> build in headless Chromium"
node test/umd/umd.test.mjs 2>&1 | tee "$logs/umd.log" || status=1

echo "== the packed package in a fresh project: require, import, <script>, types"
node test/consumer/consumer.test.mjs 2>&1 | tee "$logs/consumer.log" || status=1

if [ -f test/page/page.test.mjs ]; then
  echo "== demo page in headless Chromium"
  node test/page/page.test.mjs 2>&1 | tee "$logs/page.log" || status=1
fi

node scripts/summarize_tests.mjs "$logs" || status=1
exit $status
