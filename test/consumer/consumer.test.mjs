// The package as a user gets it: `npm pack` → a fresh project in a temporary folder → `npm install` of the
// tarball and the tfjs peers (from npm's cache when it holds them, else the registry) → CommonJS `require`,
// ESM `import`, a `<script>` page in headless Chromium (puppeteer-core, Debian's chromium), each running one
// flashAttention call on cpu, and `tsc` on the package's types as ESM and as CommonJS.
// Needs `npm run build` first. Last line: "consumer: N passed, M failed". KEEP_CONSUMER=1 keeps the folder.
import {execFileSync} from 'node:child_process';
import {copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import puppeteer from 'puppeteer-core';

const here = dirname(fileURLToPath(import.meta.url)), root = join(here, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'fa-consumer-'));
let passed = 0, failed = 0;
function check(name, run) {
  try {
    const detail = run();
    passed++;
    console.log(`  ✔ ${name}${detail ? `: ${detail}` : ''}`);
  } catch (e) {
    failed++;
    console.log(`  ✖ ${name}\n      ${String(e.stdout ?? '')}${String(e.stderr ?? '')}${e.stdout == null ? e.message : ''}`.trimEnd());
  }
}
const sh = (cmd, args, cwd = dir) => execFileSync(cmd, args, {cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']}).trim();

try {
  const [{filename}] = JSON.parse(sh('npm', ['pack', '--json', '--silent', '--pack-destination', dir], root));
  console.log(`== consumer project in ${dir}, installing ${filename}`);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({name: 'fa-consumer', version: '1.0.0', private: true}));
  const tfjs = JSON.parse(readFileSync(join(root, 'node_modules/@tensorflow/tfjs-core/package.json'), 'utf8')).version;
  sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', `./${filename}`,
             ...['tfjs-core', 'tfjs-backend-cpu', 'tfjs-layers'].map(p => `@tensorflow/${p}@${tfjs}`)]);
  for (const f of ['check_call.cjs', 'require_check.cjs', 'import_check.mjs']) copyFileSync(join(here, f), join(dir, f));

  check('require("tfjs-flash-attention") and ("tfjs-flash-attention/layers") from CommonJS', () => sh('node', ['require_check.cjs']));
  check('import from "tfjs-flash-attention" and "tfjs-flash-attention/layers" in ESM', () => sh('node', ['import_check.mjs']));
  for (const [ext, kind] of [['mts', 'ESM'], ['cts', 'CommonJS']]) {
    check(`tsc (module nodenext) resolves the types as ${kind}`, () => {
      copyFileSync(join(here, 'types_check.ts'), join(dir, `types_check.${ext}`));
      writeFileSync(join(dir, `tsconfig.${ext}.json`), JSON.stringify({
        compilerOptions: {module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true,
                          skipLibCheck: true, types: []},
        files: [`types_check.${ext}`]}));
      return sh(join(root, 'node_modules/.bin/tsc'), ['-p', `tsconfig.${ext}.json`]);
    });
  }

  const browser = await puppeteer.launch({
    executablePath: process.env.CHROME_BIN || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage(), errors = [];
    page.on('pageerror', e => errors.push(String(e)));
    await page.setContent('<!doctype html><title>consumer</title>');
    for (const path of ['@tensorflow/tfjs-core/dist/tf-core.min.js', '@tensorflow/tfjs-backend-cpu/dist/tf-backend-cpu.min.js',
                        'tfjs-flash-attention/dist/tf-flash-attention.min.js']) {
      await page.addScriptTag({path: join(dir, 'node_modules', path)});
    }
    const diff = await page.evaluate(async () => {
      const tf = window.tf;
      await tf.setBackend('cpu');
      const q = tf.randomNormal([1, 6, 2, 8]), k = tf.randomNormal([1, 9, 2, 8]);
      const t = x => tf.transpose(x, [0, 2, 1, 3]);
      const ref = t(tf.matMul(tf.softmax(tf.mul(tf.matMul(t(q), t(k), false, true), 1 / Math.sqrt(8))), t(k)));
      return (await tf.max(tf.abs(tf.sub(tf.flashAttention(q, k, k), ref))).data())[0];
    });
    check('<script> tags from the installed package: tf.flashAttention on cpu', () => {
      if (!(diff < 1e-5) || errors.length) throw new Error(`max |diff| ${diff}; page errors: ${errors.join('; ')}`);
      return `max |diff| ${diff.toExponential(1)}`;
    });
  } finally {
    await browser.close();
  }
} catch (e) {
  check('the consumer project could be set up', () => { throw e; });
} finally {
  if (!process.env.KEEP_CONSUMER) rmSync(dir, {recursive: true, force: true});
}
console.log(`consumer: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
