// `npm run bench`: builds bench/webgpu_bench.ts and runs it on this machine's GPU when it has one. A probe
// (webgpu_adapter_probe.mjs, in a child process) asks Dawn for an adapter with the Vulkan drivers the loader
// finds by itself; a software adapter (SwiftShader, llvmpipe/lavapipe, or a fallback adapter) or none means
// "no GPU here", and only then does the benchmark run on SwiftShader (Debian's chromium ships it), saying so.
// A VK_ICD_FILENAMES / VK_DRIVER_FILES you set is respected as is. Arguments go to the benchmark.
import {execFileSync, spawnSync} from 'node:child_process';
import {existsSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const SOFTWARE = /swiftshader|llvmpipe|lavapipe|software|microsoft basic render/i;

function probe(env) {
  try {
    const out = execFileSync(process.execPath, [join(root, 'scripts/webgpu_adapter_probe.mjs')], {env, encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe']});
    return JSON.parse(out.trim().split('\n').pop());
  } catch (e) {
    return {adapter: null, error: String(e.message).split('\n')[0]};
  }
}
const describe = a => [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' / ') || 'unnamed adapter';

execFileSync(process.execPath, [join(root, 'bench/build_webgpu_bench.mjs')], {stdio: 'inherit', cwd: root});
const env = {...process.env};
if (env.VK_ICD_FILENAMES || env.VK_DRIVER_FILES) {
  console.error(`bench: using the Vulkan driver you chose (${env.VK_ICD_FILENAMES || env.VK_DRIVER_FILES})`);
} else {
  const found = probe(env);
  const a = found.adapter;
  if (a && !a.isFallbackAdapter && !SOFTWARE.test(describe(a))) {
    console.error(`bench: running on this machine's GPU: ${describe(a)}`);
  } else if (existsSync(SWIFTSHADER_ICD)) {
    console.error(`bench: no hardware GPU adapter here (${a ? `only ${describe(a)}` : found.error ?? 'Dawn found none'}); ` +
                  `falling back to SwiftShader, a software GPU on the CPU: the times say nothing about GPU speed`);
    env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  } else {
    console.error(`bench: no hardware GPU adapter here (${a ? `only ${describe(a)}` : found.error ?? 'none'}) and no SwiftShader ` +
                  `at ${SWIFTSHADER_ICD} (apt-get install chromium provides it); trying Dawn's default anyway`);
  }
}
const run = spawnSync(process.execPath, [join(root, 'artifacts/bench/webgpu_bench.mjs'), ...process.argv.slice(2)], {stdio: 'inherit', env, cwd: root});
process.exit(run.status ?? 1);
