// The demo page in headless Chromium (puppeteer-core, Debian's /usr/bin/chromium; webgl and webgpu run on
// SwiftShader): builds demo/, serves it on a free localhost port, and per backend (webgl, webgpu, cpu) drives the
// page like a user: picks the backend, the "prefill" preset at a tiny size, presses "Run both", then checks what
// the page reports (window.__demoResult) against the CPU reference, and the heat-maps' masking. A backend the
// page greys out (no browser support, or no FlashAttention kernel yet) is reported as skipped with the page's
// reason. Then a tiny sweep on cpu (chart, progress, composition-over-cap marker), the outputs of all backends
// against the cpu run's, the training panel on every backend (the README's tiny model trained through the op's
// gradient: the loss must fall below a fifth of its start; with the attention gradients zeroed it only halves;
// PAGE_TRAIN=cpu narrows the backends), the transformer language-model panel briefly on cpu (tfjs-layers model of
// MultiHeadAttention layers: model.fit steps, progress, loss curve, a sample, no leaks), and no console errors or
// requests beyond localhost.
// Screenshots go to artifacts/. Last line: "page: N passed, M failed".
import puppeteer from 'puppeteer-core';
import {existsSync, mkdirSync} from 'node:fs';
import {join} from 'node:path';
import {buildDemo, root} from '../../scripts/build_demo.mjs';
import {serveStatic} from '../../scripts/serve_demo.mjs';

// cpu last: the page opens on cpu (?backend=cpu, cheap start-up) and the sweep runs there (no shader compiles).
const BACKENDS = ['webgl', 'webgpu', 'cpu'];
const SHAPE = {b: 1, h: 2, hkv: 2, sq: 24, sk: 40, d: 16, causal: true};
const TOL = 1e-4;
// Training panel: steps per backend (working gradients bring the loss near 0 by then), and where to train.
const TRAIN_STEPS = 40;
// Every backend by default (SwiftShader: cpu 1.5 s, webgl 6 s, webgpu 25 s); PAGE_TRAIN=cpu narrows it.
const TRAIN_BACKENDS = (process.env.PAGE_TRAIN || 'cpu,webgl,webgpu').split(',').map(s => s.trim());
const artifacts = join(root, 'artifacts');
mkdirSync(artifacts, {recursive: true});
const swiftshaderIcd = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(swiftshaderIcd)) process.env.VK_ICD_FILENAMES = swiftshaderIcd;

let passed = 0, failed = 0;
const skipped = [];
function check(name, problems) {
  if (problems.length === 0) {
    passed++;
    console.log(`  ✔ ${name}`);
  } else {
    failed++;
    console.log(`  ✖ ${name}\n${problems.map(p => `      - ${p}`).join('\n')}`);
  }
}

const LM_STEPS = 10;
const WATCHDOG_S = 230 + 120 * TRAIN_BACKENDS.filter(b => b !== 'cpu').length;
const watchdog = setTimeout(() => {
  console.log(`  ✖ the page test ran over ${WATCHDOG_S} s`);
  console.log(`page: ${passed} passed, ${failed + 1} failed`);
  process.exit(1);
}, WATCHDOG_S * 1000);

const t0 = Date.now();
const dir = await buildDemo();
const server = await serveStatic(dir, 0);
const url = `http://127.0.0.1:${server.address().port}/`;
console.log(`== demo page at ${url} (built in ${((Date.now() - t0) / 1000).toFixed(1)} s)`);

const browser = await puppeteer.launch({
  executablePath: process.env.CHROME_BIN || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--enable-unsafe-webgpu', '--enable-unsafe-swiftshader'],
});
const consoleErrors = [], foreignRequests = [];
try {
  const page = await browser.newPage();
  await page.setViewport({width: 1100, height: 900});
  page.on('console', m => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', e => consoleErrors.push(`pageerror: ${e.message}`));
  page.on('request', r => {
    const u = new URL(r.url());
    if (!['127.0.0.1', 'localhost'].includes(u.hostname) && u.protocol !== 'data:') foreignRequests.push(r.url());
  });
  page.on('requestfailed', r => consoleErrors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));

  const state = () => page.evaluate(() => document.body.dataset.state);
  const settled = (timeout = 90_000) =>
      page.waitForFunction(() => !['loading', 'running'].includes(document.body.dataset.state) &&
                                 !document.querySelector('#heatmap-draw').disabled, {timeout, polling: 100});
  const setFields = values => page.evaluate(values => {
    for (const [id, v] of Object.entries(values)) {
      const el = document.getElementById(id);
      if (el.type === 'checkbox') el.checked = v; else el.value = String(v);
    }
  }, values);

  await page.goto(`${url}?backend=cpu`, {waitUntil: 'load'});
  await settled();
  console.log(`  page loaded, backends probed, heat-maps drawn in ${((Date.now() - t0) / 1000).toFixed(1)} s: ` +
              (await page.evaluate(() => JSON.stringify(window.__demoTimings))));
  const statuses = await page.evaluate(() => window.__demoBackends);
  let lastBackend = null;
  const heads = {};

  for (const name of BACKENDS) {
    const s = statuses.find(x => x.name === name);
    if (!s || s.reason) {
      skipped.push(`${name}: ${s ? s.reason : 'not listed by the page'}`);
      console.log(`  - ${name}: skipped (${s ? s.reason : 'not listed by the page'})`);
      continue;
    }
    const problems = [];
    const tb = Date.now();
    if (!(await page.$eval(`#backend-${name}`, r => r.checked))) await page.click(`#backend-${name}`);
    await page.waitForFunction(n => document.querySelector(`#backend-${n}`).checked, {}, name);
    await settled();
    await page.select('#preset', 'prefill');
    await setFields({'f-b': SHAPE.b, 'f-h': SHAPE.h, 'f-hkv': SHAPE.hkv, 'f-sq': SHAPE.sq, 'f-sk': SHAPE.sk, 'f-d': SHAPE.d,
                     'f-causal': SHAPE.causal, 'f-runs': 3, 'f-cap': ''});
    await page.click('#run');
    await page.waitForFunction(() => document.body.dataset.state === 'running' || window.__demoResult, {timeout: 10_000});
    await settled();
    const r = await page.evaluate(() => window.__demoResult);
    const st = await state();
    if (st !== 'done') problems.push(`page state '${st}', errors: ${JSON.stringify(r?.errors ?? await page.$eval('#errors', e => e.textContent))}`);
    if (r?.backend !== name) problems.push(`result is for backend ${r?.backend}`);
    if (!(r?.flash?.ms > 0)) problems.push(`flash attention: ${JSON.stringify(r?.flash)}`);
    if (!(r?.composition?.ms > 0)) problems.push(`composition: ${JSON.stringify(r?.composition)}`);
    if (!(r?.flash?.tflops > 0) || !(r?.flash?.peakBytes > 0)) problems.push(`missing TFLOP/s or peak memory: ${JSON.stringify(r?.flash)}`);
    if (!(r?.maxDiff <= TOL)) problems.push(`max |flash − composition| = ${r?.maxDiff}`);
    if (r?.outputLength !== SHAPE.b * SHAPE.h * SHAPE.sq * SHAPE.d) problems.push(`output length ${r?.outputLength}`);
    if (name !== 'cpu' && !(r?.cpuMaxDiff <= TOL)) problems.push(`max |flash − CPU reference kernel| (page) = ${r?.cpuMaxDiff}`);
    if (r?.outputHead?.length) heads[name] = r.outputHead;
    // Heat-maps drawn for this backend on selection: masks as the README says.
    const hm = await page.evaluate(() => window.__demoHeatmap);
    if (hm?.backend !== name || !hm.weights) problems.push(`heat-map: ${JSON.stringify(hm?.error ?? hm?.backend)}`);
    else {
      hm.cases.forEach((c, m) => hm.weights[m].forEach((row, i) => {
        // A sink takes part of every row's mass (its logit is finite): the keys' weights sum to less than 1.
        const sum = row.reduce((a, b) => a + b, 0);
        if (c.sink == null && Math.abs(sum - 1) > 1e-4) problems.push(`heat-map '${c.title}' row ${i} sums to ${sum}`);
        if (c.sink != null && !(sum > 0 && sum < 1 - 1e-4)) problems.push(`heat-map '${c.title}' (sink) row ${i} sums to ${sum}`);
        const [left, right] = c.windowSize ?? [-1, -1], diagonal = i + hm.sk - hm.sq;
        row.forEach((w, j) => {
          const visible = (!c.causal || j <= diagonal) && (left < 0 || j >= diagonal - left) && (right < 0 || j <= diagonal + right);
          if (visible !== (w > 0)) problems.push(`heat-map '${c.title}' P[${i}][${j}] = ${w} (visible: ${visible})`);
        });
      }));
    }
    await page.screenshot({path: join(artifacts, `demo-${name}.png`), fullPage: true});
    check(`${name}: prefill B${SHAPE.b} H${SHAPE.h} Sq${SHAPE.sq} Sk${SHAPE.sk} D${SHAPE.d} causal matches the reference; heat-maps masked right (${((Date.now() - tb) / 1000).toFixed(1)} s)`,
          problems.slice(0, 8));
    lastBackend = name;
  }

  if (lastBackend) {
    // A tiny sweep with a memory cap the composition's S = 64 score matrix (32 KiB) exceeds.
    const problems = [], ts = Date.now();
    await setFields({'sweep-min': 16, 'sweep-max': 64, 'f-runs': 1, 'f-cap': 0.02});
    await page.evaluate(() => {   // records every progress-bar state the sweep shows
      const bar = document.getElementById('progress');
      window.__progressSeen = [];
      new MutationObserver(() => { if (!bar.hidden) window.__progressSeen.push(`${bar.value}/${bar.max}`); })
          .observe(bar, {attributes: true});
    });
    await page.click('#sweep');
    await page.waitForFunction(() => document.body.dataset.state === 'running' || window.__demoSweep, {timeout: 10_000});
    await settled();
    const seen = await page.evaluate(() => window.__progressSeen);
    const sawProgress = seen.includes('1/3') && seen.includes('2/3');
    const sw = await page.evaluate(() => window.__demoSweep);
    if (!sawProgress) problems.push(`the progress bar did not step through the sweep: ${JSON.stringify(seen)}`);
    if (sw?.points?.length !== 3) problems.push(`sweep points: ${JSON.stringify(sw)}`);
    else {
      sw.points.forEach(p => { if (!(p.flash.ms > 0)) problems.push(`flash at S=${p.s}: ${JSON.stringify(p.flash)}`); });
      if (!(sw.points[1].composition.ms > 0)) problems.push(`composition at S=32: ${JSON.stringify(sw.points[1].composition)}`);
      if (sw.points[2].composition.kind !== 'cap') problems.push(`composition at S=64 should be over the cap: ${JSON.stringify(sw.points[2].composition)}`);
    }
    const chart = await page.evaluate(() => ({
      flashLine: !!document.querySelector('#chart polyline.flash'), marker: !!document.querySelector('#chart .oom'),
      crosses: document.querySelectorAll('#chart .comp.fail').length}));
    if (!chart.flashLine || !chart.marker || chart.crosses !== 1) problems.push(`chart: ${JSON.stringify(chart)}`);
    await page.evaluate(() => document.getElementById('sweep-section').scrollIntoView());
    await page.screenshot({path: join(artifacts, 'demo.png'), fullPage: true});
    check(`${lastBackend}: sweep S = 16..64 draws both lines, progress, and the composition's over-cap marker (${((Date.now() - ts) / 1000).toFixed(1)} s)`, problems);
  }
  if (lastBackend) {
    // The decode preset's KV formats: flash reads packed halves / FP8 words, the page shows the K+V GB/s.
    for (const kv of ['float16', 'fp8']) {
      const problems = [];
      await page.select('#preset', 'decode');
      await setFields({'f-b': 1, 'f-h': 4, 'f-hkv': 2, 'f-sq': 1, 'f-sk': 40, 'f-d': 16, 'f-causal': false, 'f-kv': kv, 'f-runs': 1, 'f-cap': ''});
      await page.evaluate(() => { window.__demoResult = null; });
      await page.click('#run');
      await page.waitForFunction(() => window.__demoResult, {timeout: 30_000});
      await settled();
      const r = await page.evaluate(() => window.__demoResult);
      const shown = await page.$eval('#result', e => e.querySelector('[data-testid=kv-gbs]')?.textContent ?? '');
      if ((await state()) !== 'done') problems.push(`page state '${await state()}', errors: ${JSON.stringify(r?.errors)}`);
      if (r?.config?.kv !== kv) problems.push(`config kv ${r?.config?.kv}`);
      if (!(r?.flash?.kvGBs > 0) || !/GB\/s/.test(shown)) problems.push(`K+V GB/s: ${JSON.stringify(r?.flash)}, shown ${JSON.stringify(shown)}`);
      if (!(r?.maxDiff <= TOL)) problems.push(`max |flash − composition| = ${r?.maxDiff}`);
      check(`${lastBackend}: decode with ${kv} KV reads the packed KV and shows ${shown} of K+V`, problems);
    }
    await page.select('#preset', 'prefill');
    // An input the op rejects (H = 4 query heads over Hkv = 3): the op's own error must show in the page.
    const problems = [];
    await setFields({'f-h': 4, 'f-hkv': 3, 'f-runs': 1, 'f-cap': ''});
    await page.evaluate(() => { window.__demoResult = null; });
    await page.click('#run');
    await page.waitForFunction(() => window.__demoResult, {timeout: 30_000});
    await settled();
    const r = await page.evaluate(() => window.__demoResult);
    const shown = await page.$eval('#errors', e => (e.hidden ? '' : e.textContent));
    if ((await state()) !== 'error') problems.push(`page state '${await state()}'`);
    if (r?.flash?.kind !== 'failed') problems.push(`flash: ${JSON.stringify(r?.flash)}`);
    if (!/must be a multiple of the number of kv heads/.test(shown)) problems.push(`error box shows: ${JSON.stringify(shown)}`);
    await page.evaluate(() => document.getElementById('result-section').scrollIntoView());
    await page.screenshot({path: join(artifacts, 'demo-error.png')});
    check(`${lastBackend}: the op's error for Hq = 4, Hk = 3 is shown in the page`, problems);
  }
  // The training panel, on each backend of TRAIN_BACKENDS the page offers (cpu first: the page is already there).
  for (const name of TRAIN_BACKENDS.filter(n => lastBackend && statuses.some(s => s.name === n && !s.reason))) {
    const problems = [], tt = Date.now();
    if (!(await page.$eval(`#backend-${name}`, r => r.checked))) {
      await page.click(`#backend-${name}`);
      await page.waitForFunction(n => document.querySelector(`#backend-${n}`).checked, {}, name);
      await settled();
    }
    // cpu trains under precision 'float16' (its backward rounds at FA2's fp16 points); the GPUs under float32.
    const precision = name === 'cpu' ? 'float16' : 'float32';
    await setFields({'train-steps': TRAIN_STEPS, 'train-precision': precision});
    await page.evaluate(() => {   // records every value the training progress bar shows
      const bar = document.getElementById('train-progress');
      window.__demoTraining = null;
      window.__trainSeen = [];
      new MutationObserver(() => { if (!bar.hidden) window.__trainSeen.push(bar.value); }).observe(bar, {attributes: true});
    });
    await page.click('#train');
    await page.waitForFunction(() => document.body.dataset.state === 'running' || window.__demoTraining, {timeout: 10_000});
    await settled(150_000);
    const run = await page.evaluate(() => window.__demoTraining);
    const seen = await page.evaluate(() => window.__trainSeen);
    const losses = run?.losses ?? [];
    const mean = xs => xs.reduce((a, b) => a + b, 0) / xs.length;
    const first = mean(losses.slice(0, 5)), last = mean(losses.slice(-5));
    if (run?.error) problems.push(`training failed: ${run.error}`);
    if (run?.backend !== name) problems.push(`trained on ${run?.backend}`);
    if (losses.length !== TRAIN_STEPS || !losses.every(Number.isFinite)) problems.push(`losses: ${JSON.stringify(losses)}`);
    else if (!(last < first / 5)) problems.push(`the loss did not fall below a fifth: first 5 steps ${first.toFixed(3)}, last 5 ${last.toFixed(3)} (${losses.map(l => l.toFixed(2)).join(' ')})`);
    if (run?.leakedTensors !== 0) problems.push(`tensors leaked by training: ${run?.leakedTensors}`);
    if (run?.precision !== precision) problems.push(`trained under precision ${run?.precision}, asked ${precision}`);
    const shown = await page.evaluate(() => ({
      final: document.querySelector('[data-testid=final-loss]')?.textContent,
      stepMs: document.querySelector('[data-testid=step-ms]')?.textContent ?? '',
      points: document.querySelector('#train-chart polyline.loss')?.getAttribute('points').trim().split(/\s+/).length ?? 0}));
    const shownLoss = Number(shown.final);
    if (!(Math.abs(shownLoss - run?.finalLoss) <= 1e-4 + 1e-2 * Math.abs(run?.finalLoss))) problems.push(`final loss shown: ${shown.final}, run: ${run?.finalLoss}`);
    if (shown.points !== TRAIN_STEPS) problems.push(`the loss curve has ${shown.points} points`);
    if (!(run?.stepMs > 0) || !/ms$/.test(shown.stepMs)) problems.push(`step time: run ${run?.stepMs}, shown ${JSON.stringify(shown.stepMs)}`);
    if (!(seen.includes(1) && seen.includes(Math.floor(TRAIN_STEPS / 2)))) problems.push(`the training progress bar did not step: ${JSON.stringify(seen)}`);
    await page.evaluate(() => document.getElementById('train-section').scrollIntoView());
    await page.screenshot({path: join(artifacts, `demo-train-${name}.png`)});
    check(`${name}: the training panel trains the tiny model ${TRAIN_STEPS} steps under ${precision}, loss ${first.toFixed(2)} → ${last.toFixed(2)}, a step ${shown.stepMs} (${((Date.now() - tt) / 1000).toFixed(1)} s)`,
          problems.slice(0, 8));
  }
  if (lastBackend && statuses.some(s => s.name === 'cpu' && !s.reason)) {
    // The language-model panel, briefly, on cpu: a few model.fit steps of the tfjs-layers transformer.
    const problems = [], tl = Date.now();
    if (!(await page.$eval('#backend-cpu', r => r.checked))) {
      await page.click('#backend-cpu');
      await page.waitForFunction(() => document.querySelector('#backend-cpu').checked);
      await settled();
    }
    await setFields({'lm-steps': LM_STEPS});
    await page.evaluate(() => {
      const bar = document.getElementById('lm-progress');
      window.__demoLm = null;
      window.__lmSeen = [];
      new MutationObserver(() => { if (!bar.hidden) window.__lmSeen.push(bar.value); }).observe(bar, {attributes: true});
    });
    await page.click('#lm-train');
    await page.waitForFunction(() => document.body.dataset.state === 'running' || window.__demoLm, {timeout: 10_000});
    await settled(120_000);
    const run = await page.evaluate(() => window.__demoLm);
    const seen = await page.evaluate(() => window.__lmSeen);
    const losses = run?.losses ?? [];
    if (run?.error) problems.push(`training failed: ${run.error}`);
    if (losses.length !== LM_STEPS || !losses.every(Number.isFinite)) problems.push(`losses: ${JSON.stringify(losses)}`);
    else if (!(losses.slice(-3).reduce((a, b) => a + b) < losses.slice(0, 3).reduce((a, b) => a + b))) problems.push(`the loss did not fall: ${losses.map(l => l.toFixed(2)).join(' ')}`);
    if (run?.leakedTensors !== 0) problems.push(`tensors leaked: ${run?.leakedTensors}`);
    const shown = await page.evaluate(() => ({
      sample: document.querySelector('[data-testid=lm-sample]')?.textContent ?? '',
      points: document.querySelector('#lm-chart polyline.loss')?.getAttribute('points').trim().split(/\s+/).length ?? 0}));
    if (!shown.sample.startsWith('the cat ') || shown.sample.length !== 'the cat '.length + 48) problems.push(`sample shown: ${JSON.stringify(shown.sample)}`);
    if (shown.points !== LM_STEPS) problems.push(`the loss curve has ${shown.points} points`);
    if (!seen.includes(1) || !seen.includes(LM_STEPS / 2)) problems.push(`the progress bar did not step: ${JSON.stringify(seen)}`);
    await page.evaluate(() => document.getElementById('lm-section').scrollIntoView());
    await page.screenshot({path: join(artifacts, 'demo-lm-cpu.png')});
    check(`cpu: the language-model panel trains ${LM_STEPS} model.fit steps, loss ${losses[0]?.toFixed(2)} → ${losses[losses.length - 1]?.toFixed(2)}, samples ${JSON.stringify(shown.sample.slice(8, 28))}… (${((Date.now() - tl) / 1000).toFixed(1)} s)`,
          problems.slice(0, 8));
  }
  if (heads.cpu && Object.keys(heads).length > 1) {
    const problems = [];
    for (const [name, head] of Object.entries(heads)) {
      const d = Math.max(...head.map((x, i) => Math.abs(x - heads.cpu[i])));
      if (!(d <= TOL)) problems.push(`${name}'s first outputs differ from the cpu run's by ${d}`);
    }
    check(`the same inputs give the same outputs on ${Object.keys(heads).join(', ')}`, problems);
  }
  check('no console errors, no request beyond localhost',
        [...consoleErrors.map(e => `console: ${e}`), ...foreignRequests.map(u => `request: ${u}`)].slice(0, 10));
} catch (e) {
  check('page test ran to the end', [String(e?.stack ?? e)]);
} finally {
  await browser.close();
  server.close();
  clearTimeout(watchdog);
}
console.log(`  (${skipped.length} backend(s) skipped; screenshots in artifacts/; ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
console.log(`page: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
