/**
 * WebGL benchmark (issue 4), the page half: flashAttention on the webgl backend vs the tfjs composition
 * (bench/composition.ts: matMul → softmax → matMul on [B, H, S, D]) in one browser, on the same inputs.
 * bench/webgl_bench.mjs bundles this file, opens it in headless Chromium and calls window.__webglBench.run().
 *
 * Timing (wall): performance.now() from the call until `await out.data()` has the output on the host; the
 * GPU is idle before each run (the previous run read its output back). Both contenders pay one readback of
 * their [B, H, S, D] output (2 MiB at S1024). tf.time's kernelMs needs EXT_disjoint_timer_query, which
 * SwiftShader does not offer (reported as `timerQuery` in the device line), hence wall time.
 * Per case: `warmup` untimed runs of each contender (programs compiled, inputs uploaded), then `runs`
 * timed runs, contenders interleaved and their order alternated run to run; the figure is the median.
 * The `tf.grads` rows time a training step instead: tf.grads of each contender with a given dO (forward and
 * backward), until dq, dk and dv are on the host; checked flash against the composition.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';  // the composition's tf.grads
import '@tensorflow/tfjs-backend-webgl';
import type {MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';
// The op and the webgl kernels only (not src/index, which registers every backend's kernels): the bundle
// holds just what is measured, and a backend folder mid-edit elsewhere does not break this benchmark.
import {flashAttention} from '../src/flash_attention';
import {flashAttentionGradConfig} from '../src/gradient';
import {webglKernelConfigs} from '../kernels/webgl/configs';
import {compositionAttention} from './composition';
import {attentionRowF64, normals} from './reference';

export interface WebglCase {
  name: string;
  b: number; h: number; s: number; d: number; causal: boolean;
  /** Time training's step instead of the forward: tf.grads (VJP with a given dO) of each contender, dq, dk, dv read back. */
  grads?: boolean;
  /** false: the composition is attempted once (not timed) to report what happens, then skipped. */
  composition: boolean;
  runs: number;
  warmup: number;
}

export interface Timing {
  status: 'ok'|'error'|'skipped';
  ms?: number;
  samples?: number[];
  reason?: string;
}

export interface CaseResult {
  case: WebglCase;
  flash: Timing;
  composition: Timing;
  speedup?: number;
  gflops?: number;
  /** max |flash - composition| over the whole output of one timed run of each. */
  maxAbsDiffVsComposition?: number;
  /** max |flash - float64 reference| over a few sampled rows (every case, so S8192 is checked too). */
  maxAbsDiffVsF64?: number;
}

const progress = (s: string) => console.log(`[progress] ${s}`);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const message = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 300);

for (const config of webglKernelConfigs) {
  if (tf.getKernel(config.kernelName, config.backendName) == null) tf.registerKernel(config);
}
if (tf.getGradient(flashAttentionGradConfig.kernelName) == null) tf.registerGradient(flashAttentionGradConfig);

async function device() {
  await tf.setBackend('webgl');
  await tf.ready();
  const gl = (tf.backend() as MathBackendWebGL).gpgpu.gl;
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  return {
    userAgent: navigator.userAgent,
    renderer: info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER),
    vendor: info ? gl.getParameter(info.UNMASKED_VENDOR_WEBGL) : gl.getParameter(gl.VENDOR),
    glVersion: gl.getParameter(gl.VERSION),
    webglVersion: tf.env().getNumber('WEBGL_VERSION'),
    maxTextureSize: tf.env().getNumber('WEBGL_MAX_TEXTURE_SIZE'),
    float32Render: tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED'),
    timerQuery: tf.env().getNumber('WEBGL_DISJOINT_QUERY_TIMER_EXTENSION_VERSION'),
    hardwareConcurrency: navigator.hardwareConcurrency,
  };
}

/** One timed call: from the op call until its outputs are on the host. Returns them (concatenated) and the ms. */
async function timed(fn: () => tf.Tensor|tf.Tensor[]): Promise<{ms: number, data: Float32Array}> {
  const t0 = performance.now();
  const out = fn();
  const outs = Array.isArray(out) ? out : [out];
  const parts = await Promise.all(outs.map(t => t.data() as Promise<Float32Array>));
  const ms = performance.now() - t0;
  tf.dispose(outs);
  const data = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (data.set(p, at), at + p.length), 0);
  return {ms, data};
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) || (a[i] === b[i] ? 0 : Infinity));
  return m;
}

/** Sampled rows of the flash output ([B, H, S, D]) against float64 softmax(q·kᵀ/√D)·v. */
function checkRows(c: WebglCase, host: {q: Float32Array, k: Float32Array, v: Float32Array}, out: Float32Array): number {
  const {s, d, b, h} = c;
  let worst = 0;
  for (let n = 0; n < 8; n++) {
    const bh = (n * 5) % (b * h), i = Math.min(s - 1, Math.floor((n + 0.5) * s / 8) + (n & 1));
    const base = bh * s * d;
    const row = attentionRowF64(host.q, base + i * d, host.k, host.v, j => base + j * d, j => base + j * d,
                                c.causal ? i + 1 : s, d, 1 / Math.sqrt(d));
    for (let x = 0; x < d; x++) worst = Math.max(worst, Math.abs(row[x] - out[base + i * d + x]));
  }
  return worst;
}

async function runCase(c: WebglCase, seed: number): Promise<CaseResult> {
  const shape: [number, number, number, number] = [c.b, c.h, c.s, c.d];
  const size = c.b * c.h * c.s * c.d;
  const host = {q: normals(size, seed), k: normals(size, seed + 1), v: normals(size, seed + 2)};
  const q = tf.tensor4d(host.q, shape), k = tf.tensor4d(host.k, shape), v = tf.tensor4d(host.v, shape);
  const flashOp = (a: tf.Tensor, b: tf.Tensor, x: tf.Tensor) => flashAttention(a, b, x, {layout: 'bhsd', causal: c.causal}) as tf.Tensor;
  const compositionOp = (a: tf.Tensor, b: tf.Tensor, x: tf.Tensor) =>
    compositionAttention(a as tf.Tensor4D, b as tf.Tensor4D, x as tf.Tensor4D, c.causal) as tf.Tensor;
  // Training's step: the VJP with a given dO (no scalar loss, whose Sum gradient would upload a ones tensor).
  const dO = c.grads ? tf.tensor4d(normals(size, seed + 3), shape) : null;
  const vjp = (op: typeof flashOp) => () => tf.grads(op)([q, k, v], dO!);
  const flash: () => tf.Tensor|tf.Tensor[] = c.grads ? vjp(flashOp) : () => flashOp(q, k, v);
  const composition: () => tf.Tensor|tf.Tensor[] = c.grads ? vjp(compositionOp) : () => compositionOp(q, k, v);
  const result: CaseResult = {case: c, flash: {status: 'ok'}, composition: {status: 'ok'}};
  const samples = {flash: [] as number[], composition: [] as number[]};
  const last: {flash?: Float32Array, composition?: Float32Array} = {};
  const contenders: Array<['flash'|'composition', () => tf.Tensor|tf.Tensor[]]> =
      c.composition ? [['flash', flash], ['composition', composition]] : [['flash', flash]];
  try {
    for (let w = 0; w < c.warmup; w++) {
      for (const [name, fn] of contenders) {
        const {ms} = await timed(fn);
        progress(`${c.name}: warm-up ${w + 1}/${c.warmup} ${name} ${ms.toFixed(0)} ms`);
      }
    }
    for (let r = 0; r < c.runs; r++) {
      const order = r % 2 === 0 ? contenders : [...contenders].reverse();
      for (const [name, fn] of order) {
        const {ms, data} = await timed(fn);
        samples[name].push(ms);
        last[name] = data;
        progress(`${c.name}: run ${r + 1}/${c.runs} ${name} ${ms.toFixed(0)} ms`);
      }
    }
  } catch (e) {
    // A failure of either contender fails the case: its figures would not be comparable.
    result.flash = {status: 'error', reason: message(e)};
    result.composition = {status: 'error', reason: message(e)};
    tf.dispose([q, k, v, ...(dO ? [dO] : [])]);
    return result;
  }
  result.flash = {status: 'ok', ms: median(samples.flash), samples: samples.flash};
  // Training: forward + backward counted as 3.5 × the forward's FLOPs; its check is against the composition only.
  const flops = 4 * c.b * c.h * c.s * c.s * c.d * (c.causal ? 0.5 : 1) * (c.grads ? 3.5 : 1);
  result.gflops = flops / (result.flash.ms! * 1e6);
  if (!c.grads) result.maxAbsDiffVsF64 = checkRows(c, host, last.flash!);
  if (c.composition) {
    result.composition = {status: 'ok', ms: median(samples.composition), samples: samples.composition};
    result.speedup = result.composition.ms! / result.flash.ms!;
    result.maxAbsDiffVsComposition = maxAbsDiff(last.flash!, last.composition!);
  } else {
    // Not timed: one attempt, to report what really happens to the composition at this size.
    const scoreBytes = 4 * c.b * c.h * c.s * c.s;
    const what = `its [${c.b}, ${c.h}, ${c.s}, ${c.s}] float32 score matrix is ${(scoreBytes / 2 ** 30).toFixed(1)} GiB`;
    progress(`${c.name}: one untimed composition attempt (${what})`);
    tf.engine().startScope();
    try {
      const {ms} = await timed(composition);
      result.composition = {status: 'skipped', reason: `${what}; the one untimed attempt ran (${ms.toFixed(0)} ms), ` +
                                                       `not timed because of its size`};
    } catch (e) {
      result.composition = {status: 'skipped', reason: `${what}; the attempt failed: ${message(e)}`};
    } finally {
      tf.engine().endScope();
    }
  }
  tf.dispose([q, k, v, ...(dO ? [dO] : [])]);
  return result;
}

export async function run(options: {only: string[], runs: number, warmup: number, bigRuns: number, seed: number}) {
  const dev = await device();
  const cases: WebglCase[] = [
    {name: 'B1 H8 S1024 D64', b: 1, h: 8, s: 1024, d: 64, causal: false, composition: true, runs: options.runs, warmup: options.warmup},
    {name: 'B1 H8 S1024 D64 causal', b: 1, h: 8, s: 1024, d: 64, causal: true, composition: true, runs: options.runs, warmup: options.warmup},
    {name: 'B1 H8 S8192 D64', b: 1, h: 8, s: 8192, d: 64, causal: false, composition: false, runs: options.bigRuns, warmup: 1},
    {name: 'B1 H8 S8192 D64 causal', b: 1, h: 8, s: 8192, d: 64, causal: true, composition: false, runs: options.bigRuns, warmup: 1},
    {name: 'B1 H8 S1024 D64 tf.grads', b: 1, h: 8, s: 1024, d: 64, causal: false, grads: true, composition: true, runs: options.runs, warmup: options.warmup},
    {name: 'B1 H8 S1024 D64 causal tf.grads', b: 1, h: 8, s: 1024, d: 64, causal: true, grads: true, composition: true, runs: options.runs, warmup: options.warmup},
  ].filter(c => options.only.length === 0 || options.only.some(o => c.name.includes(o)));
  const results: CaseResult[] = [];
  for (const c of cases) {
    progress(`== ${c.name}`);
    const r = await runCase(c, options.seed);
    results.push(r);
    progress(`   flash ${r.flash.ms?.toFixed(0) ?? r.flash.reason} ms, composition ${r.composition.ms?.toFixed(0) ?? r.composition.reason}`);
  }
  return {device: dev, results};
}

(window as unknown as {__webglBench: unknown}).__webglBench = {run};
