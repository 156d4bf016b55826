// Builds the package with esbuild: dist/index.js (ESM, tfjs external), dist/tf-flash-attention.min.js
// (IIFE for a <script> tag after tfjs: '@tensorflow/tfjs-core' resolves to the global `tf`), and
// type declarations with tsc.
import {build} from 'esbuild';
import {execFileSync} from 'node:child_process';

const tfGlobal = {
  name: 'tf-global',
  setup(b) {
    b.onResolve({filter: /^@tensorflow\/tfjs-core$/}, () => ({path: 'tf', namespace: 'tf-global'}));
    b.onLoad({filter: /.*/, namespace: 'tf-global'}, () => ({contents: 'module.exports = globalThis.tf;', loader: 'js'}));
  },
};

await build({
  entryPoints: ['src/index.ts'], outfile: 'dist/index.js', bundle: true, format: 'esm', target: 'es2020',
  platform: 'neutral', external: ['@tensorflow/*'], sourcemap: true, logLevel: 'warning',
});
await build({
  entryPoints: ['src/umd.ts'], outfile: 'dist/tf-flash-attention.min.js', bundle: true, format: 'iife',
  target: 'es2020', minify: true, sourcemap: true, plugins: [tfGlobal], logLevel: 'warning',
});
execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], {stdio: 'inherit'});
console.log('built dist/index.js, dist/tf-flash-attention.min.js, dist/types/');
