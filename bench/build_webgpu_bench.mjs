// Bundles bench/webgpu_bench.ts into ONE self-contained ESM file for Node (webgpu/dawn.node stays external),
// as ../shared/gpu/pack.sh wants: artifacts/bench/webgpu_bench.mjs (artifacts/ is git-ignored).
// The kernel version (git describe, and a hash of src/ + kernels/ since the kernel may be uncommitted) is
// baked in so every result says which code produced it.
// If the library does not bundle (a kernel mid-edit), it is replaced by a stub whose flashAttention throws
// the bundler's error: the benchmark still runs the roofline and the composition and reports flash as an error.
import {build} from 'esbuild';
import {execFileSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import {readdirSync, readFileSync, statSync} from 'node:fs';
import {join} from 'node:path';

const out = 'artifacts/bench/webgpu_bench.mjs';
const git = (...args) => {
  try {
    return execFileSync('git', args, {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']}).trim();
  } catch {
    return '';
  }
};
function files(dir) {
  return readdirSync(dir).sort().flatMap(f => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}
const hash = createHash('sha256');
for (const f of [...files('src'), ...files('kernels')]) hash.update(f + '\0').update(readFileSync(f));
const info = {
  gitDescribe: git('describe', '--always', '--dirty', '--tags'),
  gitHead: git('rev-parse', 'HEAD'),
  dirty: git('status', '--porcelain', '--', 'src', 'kernels').split('\n').filter(Boolean),
  sourceHash: hash.digest('hex').slice(0, 12),
  builtAt: new Date().toISOString(),
};

const options = {
  entryPoints: ['bench/webgpu_bench.ts'], outfile: out, bundle: true, platform: 'node', format: 'esm',
  target: 'node20', external: ['webgpu'], logLevel: 'silent',
  banner: {js: "import {createRequire as __cr} from 'module'; const require = __cr(import.meta.url);"},
  define: {BENCH_BUILD: JSON.stringify(info)},
};

try {
  await build(options);
} catch (e) {
  const reason = (e.errors ?? []).map(x => `${x.location?.file ?? ''}:${x.location?.line ?? ''} ${x.text}`).join('; ') || String(e);
  console.error(`build_webgpu_bench: the library does not bundle (${reason}); flash will be reported as an error`);
  const stub = {
    name: 'library-stub',
    setup(b) {
      b.onResolve({filter: /\/src\/index$/}, () => ({path: 'stub', namespace: 'library-stub'}));
      b.onLoad({filter: /.*/, namespace: 'library-stub'}, () => ({loader: 'js', contents:
        `throw new Error(${JSON.stringify('the library did not bundle: ' + reason)});`}));
    },
  };
  await build({...options, plugins: [stub], logLevel: 'error'});
}
console.error(`build_webgpu_bench: ${out} (kernel ${info.gitDescribe}, source hash ${info.sourceHash})`);
