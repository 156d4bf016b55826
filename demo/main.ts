/**
 * The demo page: wires the backend picker, the presets, "Run both", the sweep and the heat-maps to the DOM.
 * Everything it measures is also exposed for the page test: body[data-state] ('loading' | 'idle' | 'running' |
 * 'done' | 'error') and window.__demoResult / __demoSweep / __demoHeatmap / __demoTraining / __demoLm.
 */
import {activate, BackendName, BackendStatus, probeBackends} from './backends';
import {chartSvg, lossChartSvg} from './chart';
import {compare, cpuReference, isFailure, RunOptions} from './compare';
import {diff, errorText, lossText, ms} from './format';
import {attentionWeights, heatmapSvg, MAP_CASES} from './heatmap';
import {maxAbsDiff} from './measure';
import {Config, configError, KvFormat, presetById, PRESETS, usefulFlops} from './presets';
import {sweep, sweepLengths, SweepPoint} from './sweep';
import {trainTinyModel} from './training';
import {runLmPanel} from './lm_panel';
import {$, esc, resultHtml} from './view';

declare global {
  interface Window {
    __demoResult?: unknown;
    __demoSweep?: unknown;
    __demoHeatmap?: unknown;
    __demoTraining?: unknown;
    __demoLm?: unknown;
    __demoBackends?: BackendStatus[];
    /** [step, ms since page start]: where the page spent its start-up. */
    __demoTimings?: Array<[string, number]>;
  }
}

/** The CPU reference kernel is plain JS: check against it automatically only below this many FLOPs. */
const CPU_CHECK_FLOPS = 2e9;
const TOLERANCE = 1e-4;

let backend: BackendName = 'cpu';
const mark = (step: string) => (window.__demoTimings ??= []).push([step, Math.round(performance.now())]);
let busy = false;
let cancelled = false;
const errors: string[] = [];

function setState(state: string) {
  document.body.dataset.state = state;
}
function status(text: string, progress?: {value: number, max: number}|'indeterminate') {
  $('status-text').textContent = text;
  const bar = $<HTMLProgressElement>('progress');
  bar.hidden = progress == null;
  if (progress === 'indeterminate') bar.removeAttribute('value');
  else if (progress) { bar.max = progress.max; bar.value = progress.value; }
}
function showError(message: string) {
  errors.push(message);
  const box = $('errors');
  box.hidden = false;
  box.textContent = errors.slice(-6).join('\n');
}
function clearErrors() {
  errors.length = 0;
  $('errors').hidden = true;
}
function setBusy(on: boolean, cancellable = false) {
  busy = on;
  for (const id of ['run', 'sweep', 'heatmap-draw', 'train', 'lm-train']) $<HTMLButtonElement>(id).disabled = on;
  $<HTMLButtonElement>('cancel').disabled = !(on && cancellable);
  document.querySelectorAll<HTMLInputElement>('input[name=backend]').forEach(r => r.disabled = on || r.dataset.reason != null);
}

const num = (id: string) => Number($<HTMLInputElement>(id).value);

function readConfig(): Config {
  return {preset: presetById($<HTMLSelectElement>('preset').value).id, b: num('f-b'), h: num('f-h'), hkv: num('f-hkv'),
          sq: num('f-sq'), sk: num('f-sk'), d: num('f-d'), causal: $<HTMLInputElement>('f-causal').checked,
          kv: $<HTMLSelectElement>('f-kv').value as KvFormat};
}
function runOptions(): RunOptions {
  const cap = $<HTMLInputElement>('f-cap').value;
  return {warmup: 1, runs: Math.max(1, Math.round(num('f-runs'))), capBytes: cap === '' ? null : Number(cap) * 2 ** 20};
}

function applyPreset() {
  const p = presetById($<HTMLSelectElement>('preset').value);
  const shape = backend === 'cpu' ? p.cpu : p.gpu;
  for (const key of ['b', 'h', 'hkv', 'sq', 'sk', 'd'] as const) $<HTMLInputElement>(`f-${key}`).value = String(shape[key]);
  $<HTMLInputElement>('f-causal').checked = shape.causal;
  $<HTMLSelectElement>('f-kv').value = p.kv ?? 'float32';
  $('preset-about').textContent = p.about + (backend === 'cpu' ? ' (smaller sizes for the JS cpu backend.)' : '');
  $<HTMLInputElement>('sweep-min').value = String(backend === 'cpu' ? 64 : 128);
  $<HTMLInputElement>('sweep-max').value = String(backend === 'cpu' ? 1024 : 16384);
}

function renderBackends(statuses: BackendStatus[]) {
  $('backends').innerHTML = statuses.map(s => `
    <label class="backend${s.reason ? ' off' : ''}" id="backend-${s.name}-label" ${s.reason ? `title="${esc(s.reason)}"` : ''}>
      <input type="radio" name="backend" id="backend-${s.name}" value="${s.name}" ${s.reason ? `disabled data-reason="${esc(s.reason)}"` : ''}>
      <span><b>${s.name}</b><small>${esc(s.reason ? `unavailable: ${s.reason}` : s.device)}</small></span>
    </label>`).join('');
  document.querySelectorAll<HTMLInputElement>('input[name=backend]').forEach(r => r.addEventListener('change', () => selectBackend(r.value as BackendName)));
}

async function selectBackend(name: BackendName) {
  setBusy(true);
  try {
    await activate(name, showError);
    backend = name;
    ($<HTMLInputElement>(`backend-${name}`)).checked = true;
    applyPreset();
    status(`backend: ${name} · drawing the heat-maps…`, 'indeterminate');
    mark(`${name} active`);
    await drawHeatmaps();
    mark(`${name} heat-maps drawn`);
    status(`backend: ${name}`);
    setState(errors.length ? 'error' : 'idle');
  } catch (e) {
    showError(`could not switch to ${name}: ${errorText(e)}`);
    setState('error');
  } finally {
    setBusy(false);
  }
}

async function runBoth() {
  const c = readConfig(), bad = configError(c);
  if (bad) return void showError(bad);
  clearErrors();
  setBusy(true);
  setState('running');
  status(`running ${c.preset} on ${backend}: warm-up, then ${runOptions().runs} timed calls of each…`, 'indeterminate');
  $('result').innerHTML = '';
  try {
    const r = await compare(c, runOptions());
    let cpuCheck = 'this is the cpu backend: its kernel is the reference.', cpuMaxDiff: number|null = null;
    if (backend !== 'cpu' && r.output) {
      if (usefulFlops(c) <= CPU_CHECK_FLOPS) {
        status('checking against the CPU reference kernel…', 'indeterminate');
        cpuMaxDiff = maxAbsDiff(r.output, await cpuReference(c, backend, showError));
        cpuCheck = `max |flash − CPU reference kernel| = <b data-testid="cpu-diff">${diff(cpuMaxDiff)}</b>` +
                   (cpuMaxDiff <= TOLERANCE ? ' ✓' : ` ✗ (more than ${TOLERANCE})`);
      } else {
        cpuCheck = 'the CPU reference check is skipped at this size (the JS kernel would take too long); lower Sq/Sk to run it.';
      }
    }
    $('result').innerHTML = resultHtml(r, c, runOptions().runs, cpuCheck);
    if (isFailure(r.flash)) showError(`flashAttention on ${backend}: ${r.flash.error}`);
    if (isFailure(r.composition) && r.composition.kind === 'failed') showError(`composition on ${backend}: ${r.composition.error}`);
    const out = r.output;
    window.__demoResult = {
      backend, config: c, flash: r.flash, composition: r.composition, maxDiff: r.maxDiff, cpuMaxDiff,
      outputLength: out?.length ?? 0, outputHead: out ? Array.from(out.subarray(0, 32)) : [],
      outputSum: out ? out.reduce((a, b) => a + b, 0) : null, errors: [...errors],
    };
    status(isFailure(r.flash) ? `flashAttention failed on ${backend} (the error is above)` : `done: ${c.preset} on ${backend}`);
    setState(isFailure(r.flash) || errors.length ? 'error' : 'done');
  } catch (e) {
    showError(errorText(e));
    window.__demoResult = {backend, config: c, errors: [...errors]};
    status('failed');
    setState('error');
  } finally {
    setBusy(false);
  }
}

async function runSweep() {
  const c = readConfig(), bad = configError(c);
  if (bad) return void showError(bad);
  clearErrors();
  setBusy(true, true);
  setState('running');
  cancelled = false;
  const points: SweepPoint[] = [];
  const xLabel = c.preset === 'decode' ? `Sk (Sq = ${c.sq})` : c.preset === 'varlen' ? 'longest sequence S = Sq = Sk of the batch' : 'sequence length S = Sq = Sk';
  const lengths = sweepLengths(num('sweep-min'), num('sweep-max'));
  $('chart').innerHTML = chartSvg(points, xLabel);
  try {
    const stop = await sweep(c, lengths, {...runOptions(), timeLimitMs: num('sweep-limit') * 1000}, {
      progress: (done, total, text) => status(`sweep ${Math.min(done + 1, total)}/${total} · ${text}`, {value: done, max: total}),
      point: p => {
        points.push(p);
        $('chart').innerHTML = chartSvg(points, xLabel);
      },
      cancelled: () => cancelled,
    });
    status(stop ? `sweep ended: ${stop}` : `sweep done: ${points.length} lengths on ${backend}`);
    window.__demoSweep = {backend, config: c, points, stop};
    setState('done');
  } catch (e) {
    showError(errorText(e));
    setState('error');
  } finally {
    setBusy(false);
  }
}

async function runTraining() {
  const steps = Math.round(num('train-steps'));
  if (!(steps >= 2 && steps <= 1000)) return void showError(`training steps must be 2..1000, got ${$<HTMLInputElement>('train-steps').value}`);
  clearErrors();
  setBusy(true);
  setState('running');
  const bar = $<HTMLProgressElement>('train-progress'), text = $('train-status');
  const losses: number[] = [];
  bar.hidden = false;
  bar.max = steps;
  bar.value = 0;
  $('train-result').innerHTML = '';
  $('train-chart').innerHTML = lossChartSvg(losses, steps);
  try {
    const precision = $<HTMLSelectElement>('train-precision').value as 'float32'|'float16';
    const run = await trainTinyModel(steps, precision, async (step, loss) => {
      losses.push(loss);
      bar.value = step + 1;
      text.textContent = `step ${step + 1}/${steps} on ${backend} · loss ${loss.toFixed(3)}`;
      $('train-chart').innerHTML = lossChartSvg(losses, steps);
      await new Promise(resolve => setTimeout(resolve, 0));   // let the page paint the step
    });
    text.textContent = `trained ${steps} steps on ${run.backend} (${precision}) in ${(run.ms / 1000).toFixed(1)} s`;
    $('train-result').innerHTML = `<p class="verdict">final loss <b data-testid="final-loss">${lossText(run.finalLoss)}</b> ` +
        `(step 1: ${lossText(run.losses[0])}); one step (forward, backward, Adam) <b data-testid="step-ms">${ms(run.stepMs)}</b> ` +
        `(median, first step left out)${run.leakedTensors ? `; <b>${run.leakedTensors} tensors leaked</b>` : ''}</p>`;
    window.__demoTraining = run;
    setState('done');
  } catch (e) {
    showError(`training on ${backend}: ${errorText(e)}`);
    text.textContent = 'training failed (the error is above)';
    window.__demoTraining = {backend, steps, losses, error: errorText(e)};
    setState('error');
  } finally {
    bar.hidden = true;
    setBusy(false);
  }
}

async function drawHeatmaps() {
  const sq = Math.min(64, Math.max(1, num('map-sq'))), sk = Math.min(64, Math.max(1, num('map-sk')));
  const maps: number[][][] = [];
  $<HTMLButtonElement>('heatmap-draw').disabled = true;
  try {
    for (const m of MAP_CASES) maps.push(await attentionWeights(sq, sk, m));
    $('heatmaps').innerHTML = maps.map((p, i) => heatmapSvg(p, MAP_CASES[i])).join('');
    window.__demoHeatmap = {backend, sq, sk, cases: MAP_CASES, weights: maps};
  } catch (e) {
    $('heatmaps').innerHTML = '';
    showError(`heat-map on ${backend}: ${errorText(e)}`);
    window.__demoHeatmap = {backend, error: errorText(e)};
  } finally {
    $<HTMLButtonElement>('heatmap-draw').disabled = busy;
  }
}

async function main() {
  window.addEventListener('error', e => showError(`uncaught: ${e.message}`));
  window.addEventListener('unhandledrejection', e => showError(`unhandled: ${errorText(e.reason)}`));
  $('preset').innerHTML = PRESETS.map(p => `<option value="${p.id}">${p.label}</option>`).join('');
  $('preset').addEventListener('change', applyPreset);
  $('run').addEventListener('click', () => void runBoth());
  $('sweep').addEventListener('click', () => void runSweep());
  $('cancel').addEventListener('click', () => { cancelled = true; status('cancelling after the current length…'); });
  $('heatmap-draw').addEventListener('click', () => void drawHeatmaps());
  $('train').addEventListener('click', () => void runTraining());
  $('lm-train').addEventListener('click', () => void runLmPanel({backend: () => backend, setBusy, setState, clearErrors, showError}));
  status('starting backends…', 'indeterminate');
  mark('bundle running');
  const statuses = await probeBackends();
  mark('backends probed');
  window.__demoBackends = statuses;
  renderBackends(statuses);
  const wanted = new URLSearchParams(location.search).get('backend');   // e.g. ?backend=cpu
  const first = statuses.find(s => s.reason == null && s.name === wanted) ?? statuses.find(s => s.reason == null);
  if (!first) {
    showError('no backend can run flashAttention in this browser');
    return setState('error');
  }
  await selectBackend(first.name);
  $('chart').innerHTML = chartSvg([], '');
  $('train-chart').innerHTML = lossChartSvg([], 0);
  $('lm-chart').innerHTML = lossChartSvg([], 0);
}

void main();
