// WebGL benchmark (issue 4): `npm run bench:webgl`. Bundles bench/webgl_bench.ts (esbuild, one IIFE) into
// artifacts/bench/webgl_bench.js (artifacts/ is git-ignored), opens it in Debian's headless Chromium through
// puppeteer-core (webgl runs on SwiftShader there) and times flashAttention vs the tfjs composition; see the
// header of bench/webgl_bench.ts for the method.
//
//   npm run bench:webgl                               table on stdout, progress on stderr
//   npm run -s bench:webgl -- --json                  JSON on stdout instead of the table
//   npm run bench:webgl -- --out bench/results/webgl_$(date -u +%F).json
// Options: --runs N (timed runs per S1024 case, >= 5, default 7), --warmup N (default 2), --big-runs N (timed
//   runs per S8192 case, >= 5, default 5), --only SUBSTRING (repeatable; e.g. --only S1024), --seed N,
//   --timeout SECONDS (whole browser run, default 3600).
import {build} from 'esbuild';
import puppeteer from 'puppeteer-core';
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {dirname} from 'node:path';
import {buildInfo} from './build_info.mjs';
import {cpus, loadavg} from 'node:os';

const argv = process.argv.slice(2);
const opt = name => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const options = {
  runs: Math.max(5, Number(opt('--runs') ?? 7)),
  warmup: Math.max(1, Number(opt('--warmup') ?? 2)),
  bigRuns: Math.max(5, Number(opt('--big-runs') ?? 5)),
  only: argv.flatMap((a, i) => a === '--only' ? [argv[i + 1]] : []),
  seed: Number(opt('--seed') ?? 1234),
};
const json = argv.includes('--json');
const outFile = opt('--out');
const timeoutMs = 1000 * Number(opt('--timeout') ?? 3600);
const log = s => process.stderr.write(s + '\n');

// -- which code is measured (bench/build_info.mjs) --
const code = buildInfo();

// -- bundle --
const bundle = 'artifacts/bench/webgl_bench.js';
mkdirSync(dirname(bundle), {recursive: true});
await build({
  entryPoints: ['bench/webgl_bench.ts'], outfile: bundle, bundle: true, format: 'iife', target: 'es2020',
  logLevel: 'warning', define: {'process.env.NODE_ENV': '"production"'},
});
log(`webgl bench: ${bundle} (kernel ${code.gitDescribe}, source hash ${code.sourceHash})`);

// -- browser (flags as in karma.conf.cjs / test/page/page.test.mjs) --
const browser = await puppeteer.launch({
  executablePath: process.env.CHROME_BIN || '/usr/bin/chromium',
  headless: true,
  protocolTimeout: timeoutMs,
  args: ['--headless', '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--enable-unsafe-swiftshader'],
});
let report;
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(timeoutMs);
  page.on('console', m => {
    const text = m.text();
    if (text.startsWith('[progress] ')) log(text.slice(11));
    else if (m.type() === 'error' || m.type() === 'warning') log(`page ${m.type()}: ${text}`);
  });
  page.on('pageerror', e => log(`page error: ${e.message}`));
  await page.setContent('<!doctype html><title>webgl bench</title>');
  await page.addScriptTag({content: readFileSync(bundle, 'utf8')});
  const startedAt = new Date().toISOString(), loadBefore = loadavg();
  const {device, results} = await page.evaluate(o => window.__webglBench.run(o), options);
  report = {
    bench: 'webgl', startedAt, finishedAt: new Date().toISOString(), code,
    device: {chromium: await browser.version(), ...device},
    // The machine is shared: the 1-minute load average (of cpus().length cores) before and after the run.
    host: {cores: cpus().length, loadAverageBefore: loadBefore[0], loadAverageAfter: loadavg()[0]},
    method: {
      timing: 'wall: performance.now() from the op call until `await out.data()` returns (one output readback ' +
              'included for both contenders); median of the timed runs',
      warmup: options.warmup, runs: options.runs, bigRuns: options.bigRuns, seed: options.seed,
      interleaved: 'contenders alternate within each run, their order flipped run to run',
      composition: 'bench/composition.ts: matMul(q, kᵀ)·scale → [causal mask by where] → softmax → matMul(·, v), [B, H, S, D]',
      flash: "flashAttention(q, k, v, {layout: 'bhsd', causal}) on the webgl backend",
      grads: 'rows named "tf.grads": tf.grads(contender)([q, k, v], dO), until dq, dk, dv are on the host',
    },
    results,
  };
} finally {
  await browser.close();
}

// -- report --
const f = (x, digits = 0) => x == null ? '—' : x.toFixed(digits);
const e = x => x == null ? '—' : x.toExponential(1);
const lines = [
  `WebGL backend, ${report.device.chromium}, ${report.device.renderer}`,
  '',
  '| shape | flashAttention ms | composition ms | speedup | flash GFLOP/s | max \\|flash − composition\\| | max \\|flash − f64\\| (8 rows) |',
  '|---|---|---|---|---|---|---|',
  ...report.results.map(r => `| ${r.case.name} | ${r.flash.status === 'ok' ? f(r.flash.ms) : `error: ${r.flash.reason}`} | ` +
      `${r.composition.status === 'ok' ? f(r.composition.ms) : `${r.composition.status}: ${r.composition.reason}`} | ` +
      `${r.speedup == null ? '—' : f(r.speedup, 2) + '×'} | ${f(r.gflops, 2)} | ${e(r.maxAbsDiffVsComposition)} | ${e(r.maxAbsDiffVsF64)} |`),
];
if (outFile) {
  mkdirSync(dirname(outFile), {recursive: true});
  writeFileSync(outFile, JSON.stringify(report, null, 2) + '\n');
  log(`webgl bench: wrote ${outFile}`);
}
process.stdout.write(json ? JSON.stringify(report, null, 2) + '\n' : lines.join('\n') + '\n');
