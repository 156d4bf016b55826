// Bundles bench/webgpu_bench.ts into ONE self-contained ESM file for Node (webgpu/dawn.node stays external),
// as scripts/gpu/pack.sh wants: artifacts/bench/webgpu_bench.mjs (artifacts/ is git-ignored).
// The kernel version (git describe, and a hash of src/ + kernels/ since the kernel may be uncommitted) is
// baked in so every result says which code produced it.
// If the library does not bundle (a kernel mid-edit), it is replaced by a stub whose flashAttention throws
// the bundler's error: the benchmark still runs the roofline and the composition and reports flash as an error.
import {build} from 'esbuild';
import {buildInfo} from './build_info.mjs';

const out = 'artifacts/bench/webgpu_bench.mjs';
const info = buildInfo();

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
