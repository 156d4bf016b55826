// Builds the demo page's bundle with esbuild: demo/main.ts (tfjs-core, the cpu/webgl/webgpu backends and this
// package, from source) → demo/dist/demo.js, served next to demo/index.html. No CDN: everything is in the bundle.
import {build} from 'esbuild';
import {fileURLToPath} from 'node:url';
import {dirname, join} from 'node:path';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export async function buildDemo() {
  await build({
    entryPoints: [join(root, 'demo/main.ts')], outfile: join(root, 'demo/dist/demo.js'), bundle: true,
    format: 'esm', target: 'es2020', platform: 'browser', minify: true, sourcemap: true, logLevel: 'warning',
    define: {'process.env.NODE_ENV': '"production"'},
  });
  return join(root, 'demo');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildDemo();
  console.log('built demo/dist/demo.js');
}
