// Bundles the test entries with esbuild into .test-build/: Node's runs ONE copy of tfjs-core (its ESM build,
// as browsers and bundlers do: the gradient registry and deep imports work) with Dawn external; the
// browser's is one IIFE that karma serves as is.
import {build} from 'esbuild';

await build({
  entryPoints: {'node.test': 'test/node/node.test.ts'}, outdir: '.test-build', outExtension: {'.js': '.mjs'},
  bundle: true, platform: 'node', format: 'esm', target: 'node20', sourcemap: 'inline', mainFields: ['module', 'main'],
  external: ['webgpu', 'mocha'], logLevel: 'warning',
  banner: {js: "import {createRequire as __cr} from 'module'; const require = __cr(import.meta.url);"},
});

await build({
  entryPoints: {'browser.test': 'test/browser/index.ts'}, outdir: '.test-build', bundle: true, format: 'iife',
  target: 'es2020', sourcemap: 'inline', logLevel: 'warning', define: {'process.env.NODE_ENV': '"test"'},
});
