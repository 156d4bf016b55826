// Builds the package with esbuild: dist/index.js and dist/layers.js (ESM, tfjs external), the same two as
// CommonJS in dist/cjs/ (a package.json there says "commonjs"), dist/tf-flash-attention.min.js (IIFE for a
// <script> tag after tfjs: '@tensorflow/tfjs-core' resolves to the global `tf`), and type declarations with
// tsc (dist/types/, copied to dist/cjs/types/ so that TypeScript reads them as CommonJS for `require`).
// The layers entry imports the main one as the package itself ('tfjs-flash-attention'), so an app that loads
// both gets one copy of the kernels, registered once.
import {build} from 'esbuild';
import {execFileSync} from 'node:child_process';
import {cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {dirname, join} from 'node:path';

const tfGlobal = {
  name: 'tf-global',
  setup(b) {
    b.onResolve({filter: /^@tensorflow\/tfjs-(core|backend-webgpu)$/}, () => ({path: 'tf', namespace: 'tf-global'}));
    b.onLoad({filter: /.*/, namespace: 'tf-global'}, () => ({contents: 'module.exports = globalThis.tf;', loader: 'js'}));
  },
};

const mainAsPackage = {
  name: 'main-entry-as-package',
  setup(b) {
    b.onResolve({filter: /^\.\.\/index$/}, args =>
      (/[\\/]src[\\/]layers$/.test(args.resolveDir) ? {path: 'tfjs-flash-attention', external: true} : undefined));
  },
};
rmSync('dist', {recursive: true, force: true});
for (const [format, dir, ext] of [['esm', 'dist', '.js'], ['cjs', 'dist/cjs', '.js']]) {
  await build({
    entryPoints: {index: 'src/index.ts', layers: 'src/layers/index.ts'}, outdir: dir, outExtension: {'.js': ext},
    bundle: true, format, target: 'es2020', platform: 'neutral', external: ['@tensorflow/*'], plugins: [mainAsPackage],
    sourcemap: true, logLevel: 'warning',
  });
}
mkdirSync('dist/cjs', {recursive: true});
writeFileSync('dist/cjs/package.json', JSON.stringify({type: 'commonjs'}) + '\n');
await build({
  entryPoints: ['src/umd.ts'], outfile: 'dist/tf-flash-attention.min.js', bundle: true, format: 'iife',
  target: 'es2020', minify: true, sourcemap: true, plugins: [tfGlobal], logLevel: 'warning',
});
execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], {stdio: 'inherit'});
cpSync('dist/types', 'dist/cjs/types', {recursive: true});
addJsExtensions('dist/types');

/** ESM declarations need file extensions on relative imports (TypeScript's node16/nodenext resolution), as
 *  ESM code does: './spec' → './spec.js', a folder → './folder/index.js'. The CommonJS copy needs none. */
function addJsExtensions(dir) {
  for (const entry of readdirSync(dir, {withFileTypes: true, recursive: true})) {
    if (!entry.isFile() || !entry.name.endsWith('.d.ts')) continue;
    const file = join(entry.parentPath ?? entry.path, entry.name);
    const text = readFileSync(file, 'utf8').replace(/(from\s*|import\(\s*)(['"])(\.{1,2}\/[^'"]*?)\2/g, (all, lead, q, spec) => {
      if (/\.js$/.test(spec)) return all;
      const base = join(dirname(file), spec);
      const target = existsSync(`${base}.d.ts`) ? `${spec}.js` : existsSync(join(base, 'index.d.ts')) ? `${spec}/index.js` : spec;
      return `${lead}${q}${target}${q}`;
    });
    writeFileSync(file, text);
  }
}
console.log('built dist/index.js, dist/layers.js, dist/cjs/{index,layers}.js, dist/tf-flash-attention.min.js, dist/types/');
