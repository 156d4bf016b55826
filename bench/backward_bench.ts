/**
 * Backward benchmark (issue 6): gradients of flashAttention on the webgpu backend vs tf.grads through the tfjs
 * composition (bench/composition.ts), in one run, on one device, on the same inputs. Node + Dawn (npm `webgpu`).
 *
 * Contenders (the VJP with upstream gradient dO: tf.grads(attention)([q, k, v], dO), gradients for q, k and v; no
 * scalar loss, whose tfjs Sum gradient would upload a CPU-made ones(q.shape) tensor into every contender's time):
 *   composition   tf.grads through matMul → softmax → matMul ([B, H, S, S] scores, forward + backward)
 *   flash tf.grads tf.grads through flashAttention: its forward (which keeps the LSE under the tape), FlashAttentionGrad
 *   flash kernel  the FlashAttentionGrad kernel alone (output and LSE computed once beforehand)
 * Timing: after warm-up, each contender runs N times (interleaved). Per run: `wall` = performance.now() from the
 * call until queue.onSubmittedWorkDone() after a forced submit (queue idle before), and `gpu` = tf.time().kernelMs
 * (sum of the timestamp-query durations of every program, when the device has timestamp-query). Medians reported.
 * Then one accuracy check at the benchmark shape: flash gradients vs the composition's (max |Δ| / max |ref|).
 *
 *   bundle:  npx esbuild bench/backward_bench.ts --bundle --platform=node --format=esm --target=node20 \
 *              --external:webgpu --main-fields=module,main --outfile=artifacts/bench/backward_bench.mjs \
 *              --banner:js="import {createRequire as __cr} from 'module'; const require = __cr(import.meta.url);"
 *   H100:    bash ../shared/gpu/pack.sh artifacts/bench/backward_bench.mjs; bash .gpu/run.sh [options]
 * Options: --b N --h N --s N --d N (default 1 8 4096 64), --causal, --runs N (≥ 10), --warmup N, --warmup-ms MS
 * (default 1000: warm-up lasts at least that long), --no-composition, --precision float16 (flash's arithmetic; the
 * composition stays float32), --roofline (the in-run f16 matrix and FMA ceilings, and the kernel's share). Where
 * the composition cannot run (its
 * [B, H, S, S] scores past the device's buffer limits) the bench says so and times flash alone.
 */
import './webgpu_setup';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-webgpu';
import type {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';
import {flashAttention, registerWebGPUBackend} from '../src/index';
import {asAttrs, FlashAttention, FlashAttentionGrad} from '../src/kernel_name';
import {compositionAttention} from './composition';
import {GRAD_TILES_FLAG} from '../kernels/webgpu/backward/grad_tiles';
import {Roofline} from './roofline';

const argv = process.argv.slice(2);
const num = (name: string, dflt: number) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const B = num('--b', 1), H = num('--h', 8), S = num('--s', 4096), D = num('--d', 64);
const causal = argv.includes('--causal');
const precision = argv.indexOf('--precision') >= 0 ? argv[argv.indexOf('--precision') + 1] as 'float16'|'float32' : 'float32';
// Tuning: --grad-tiles RxS[,RxS] forces the backward's [resident, streamed] block sizes, for both passes or for the
// dK/dV pass then the dQ pass (kernels/webgpu/backward/grad_tiles.ts).
const gradTiles = argv.indexOf('--grad-tiles') >= 0 ? argv[argv.indexOf('--grad-tiles') + 1] : '';
const RUNS = Math.max(10, num('--runs', 10)), WARMUP = Math.max(1, num('--warmup', 2));
const log = (s: string) => process.stdout.write(s + '\n');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// The device with shader-f16 and subgroup matrices where offered (the float16 backward's matrix tiles).
registerWebGPUBackend();
await tf.setBackend('webgpu');
if (gradTiles !== '') tf.env().set(GRAD_TILES_FLAG, gradTiles);
await tf.ready();
tf.env().set('WEBGPU_CPU_FORWARD', false);
const backend = tf.backend() as WebGPUBackend;
const internals = backend as unknown as {adapterInfo?: unknown; commandEncoder: unknown; endComputePassEncoder(): void; submitQueue(): void};
const device = backend.device;
const hasTimestamps = device.features.has('timestamp-query');
log(`device: ${JSON.stringify(internals.adapterInfo ?? {})} timestamp-query=${hasTimestamps} ` +
    `maxComputeWorkgroupStorageSize=${device.limits.maxComputeWorkgroupStorageSize} ` +
    `maxBufferSize=${device.limits.maxBufferSize} maxStorageBufferBindingSize=${device.limits.maxStorageBufferBindingSize}`);
log(`shape: B${B} H${H} S${S} D${D}${causal ? ' causal' : ''} ${precision}, runs ${RUNS} after ${WARMUP} warm-up`);

async function settle(): Promise<void> {
  if (internals.commandEncoder != null) {
    internals.endComputePassEncoder();
    internals.submitQueue();
  }
  await device.queue.onSubmittedWorkDone();
}

// Inputs in [B, H, S, D] (layout 'bhsd' for flash, the composition's own layout).
const shape: [number, number, number, number] = [B, H, S, D];
const q = tf.randomNormal(shape) as tf.Tensor4D, k = tf.randomNormal(shape) as tf.Tensor4D, v = tf.randomNormal(shape) as tf.Tensor4D;
const dO = tf.randomNormal(shape);
const flashFn = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => flashAttention(a, b, c, {layout: 'bhsd', causal, precision}) as tf.Tensor;
const compFn = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
  compositionAttention(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D, causal) as tf.Tensor;
const vjp = (f: typeof flashFn) => {
  const g = tf.grads(f);
  return (xs: tf.Tensor[]) => g(xs, dO);
};
const flashGrads = vjp(flashFn), compGrads = vjp(compFn);

// The kernel alone: the spec comes from one forward call's attrs (the op normalizes options into it).
let spec: Record<string, unknown> = {};
let captured = false;
const origRunKernel = tf.engine().runKernel.bind(tf.engine());
(tf.engine() as unknown as {runKernel: typeof origRunKernel}).runKernel = ((name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap) => {
  if (name === FlashAttention && !captured) {
    spec = {...attrs};
    captured = true;
  }
  return origRunKernel(name, inputs, attrs);
}) as typeof origRunKernel;
const fwd = flashAttention(q, k, v, {layout: 'bhsd', causal, precision, returnLse: true}) as unknown as {output: tf.Tensor, lse: tf.Tensor};
(tf.engine() as unknown as {runKernel: typeof origRunKernel}).runKernel = origRunKernel;
const kernelAttrs = asAttrs({...spec, returnLse: true});
const kernelOnly = () => tf.engine().runKernel(FlashAttentionGrad, {q, k, v, output: fwd.output, dOutput: dO, lse: fwd.lse}, kernelAttrs) as tf.Tensor[];

interface Contender { name: string; run: () => tf.Tensor[] }
const contenders: Contender[] = [
  {name: 'flash kernel (FlashAttentionGrad alone)', run: kernelOnly},
  {name: 'flash tf.grads (fwd + bwd)', run: () => flashGrads([q, k, v])},
];
if (!argv.includes('--no-composition')) {
  // One trial run under error scopes first: past the device's buffer limits (the [B, H, S, S] scores) the
  // composition fails with a validation or out-of-memory error instead of a result, and is left out, saying why.
  device.pushErrorScope('validation');
  device.pushErrorScope('out-of-memory');
  let failure: string|null = null;
  try {
    tf.dispose(compGrads([q, k, v]));
    await settle();
  } catch (e) {
    failure = String(e);
  }
  for (const scope of ['out-of-memory', 'validation']) {
    const error = await device.popErrorScope();
    if (error != null) failure ??= `${scope} error: ${error.message.split('\n')[0]}`;
  }
  if (failure == null) contenders.push({name: 'composition tf.grads (fwd + bwd)', run: () => compGrads([q, k, v])});
  else log(`composition tf.grads cannot run at this shape: ${failure}`);
}

const wall: Record<string, number[]> = {}, gpu: Record<string, number[]> = {};
// GPU ms of each program of the kernel-alone contender, in dispatch order (the two main passes share a class
// name, so a repeated name gets its ordinal: FlashAttentionGradProgram, FlashAttentionGradProgram#2).
const programs: Record<string, number[]> = {};
for (const c of contenders) {
  wall[c.name] = [];
  gpu[c.name] = [];
}
// Warm-up lasts at least WARMUP_MS as well: GPUs raise their clocks only under sustained load (the H100
// idles at 345 MHz), and a count-only warm-up gave bimodal samples there.
const WARMUP_MS = num('--warmup-ms', 1000);
const warmStart = performance.now();
for (let n = 0; n < WARMUP || performance.now() - warmStart < WARMUP_MS; n++) {
  for (const c of contenders) {
    tf.dispose(c.run());
    await settle();
  }
}
for (let r = WARMUP; r < WARMUP + RUNS; r++) {
  for (const c of contenders) {
    await settle();
    const t0 = performance.now();
    const out = c.run();
    await settle();
    const ms = performance.now() - t0;
    tf.dispose(out);
    if (r >= WARMUP) wall[c.name].push(ms);
    if (hasTimestamps) {
      let timed: tf.Tensor[] = [];
      const info = await tf.time(() => void (timed = c.run()));
      tf.dispose(timed);
      if (r >= WARMUP && typeof info.kernelMs === 'number') gpu[c.name].push(info.kernelMs);
      if (r >= WARMUP && c === contenders[0]) {
        // tfjs-backend-webgpu 4.22 formats it as "Name: ms, Name: ms".
        const perProgram = (info as {getExtraProfileInfo?: () => string}).getExtraProfileInfo?.() ?? '';
        const seen: Record<string, number> = {};
        for (const [, name, ms] of perProgram.matchAll(/(\w+): ([\d.eE+-]+)/g)) {
          seen[name] = (seen[name] ?? 0) + 1;
          (programs[seen[name] > 1 ? `${name}#${seen[name]}` : name] ??= []).push(Number(ms));
        }
      }
    }
  }
}

const flops = 4 * B * H * S * S * D * (causal ? 0.5 : 1);
log(`\n${'contender'.padEnd(44)} ${'wall ms'.padStart(9)} ${'gpu ms'.padStart(9)}`);
const med: Record<string, {wall: number, gpu: number}> = {};
for (const c of contenders) {
  med[c.name] = {wall: median(wall[c.name]), gpu: median(gpu[c.name])};
  log(`${c.name.padEnd(44)} ${med[c.name].wall.toFixed(2).padStart(9)} ${med[c.name].gpu.toFixed(2).padStart(9)}`);
}
log(`programs of the kernel alone (median GPU ms): ${
    Object.entries(programs).map(([name, ms]) => `${name} ${median(ms).toFixed(3)}`).join(', ')}`);
const comp = contenders[2] && med[contenders[2].name];
if (comp) {
  for (const c of contenders.slice(0, 2)) {
    log(`speed-up of ${c.name} over the composition's tf.grads: wall ${(comp.wall / med[c.name].wall).toFixed(2)}x, ` +
        `gpu ${(comp.gpu / med[c.name].gpu).toFixed(2)}x`);
  }
}
const kern = med[contenders[0].name];
log(`FlashAttentionGrad alone: ${(2.5 * flops / (kern.gpu * 1e9)).toFixed(2)} TFLOP/s at the GPU time ` +
    `(backward counted as 2.5 × the forward's 4·B·H·Sq·Sk·D${causal ? ' / 2' : ''})`);
if (argv.includes('--roofline')) {
  // The in-run ceilings (bench/roofline.ts): the f16 subgroup-matrix matmul where the device has one (the
  // float16 passes' units), and the WGSL FMA peak (the float32 passes'); the kernel executes 3.5 × the
  // forward's products (S and dP are recomputed in the dQ pass), counted 2.5 ×.
  const roof = await new Roofline(device, 120_000).run(
      {fmaWorkgroups: 8448, fmaIters: 1024, readBytes: 64 << 20, readWorkgroups: [1056], matrixN: 4096}, 2, 10);
  const executed = 3.5 * flops / (kern.gpu * 1e9), counted = 2.5 * flops / (kern.gpu * 1e9);
  const ceiling = precision === 'float16' && roof.matrixTflops != null ? {name: 'f16 subgroup-matrix matmul', tflops: roof.matrixTflops} :
      {name: 'WGSL FMA peak', tflops: roof.fmaTflops};
  log(`roofline (same run): FMA ${roof.fmaTflops.toFixed(2)} TFLOP/s` +
      `${roof.matrixTflops != null ? `, f16 subgroup-matrix matmul ${roof.matrixTflops.toFixed(2)} TFLOP/s` : ''}; ` +
      `the kernel alone at ${(100 * executed / ceiling.tflops).toFixed(1)} % of the ${ceiling.name} executed, ` +
      `${(100 * counted / ceiling.tflops).toFixed(1)} % counted`);
}

// -- accuracy at this shape: flash vs composition gradients --
if (comp) {
  const a = flashGrads([q, k, v]), b = compGrads([q, k, v]);
  const names = ['dq', 'dk', 'dv'];
  for (let i = 0; i < 3; i++) {
    const diff = await tf.max(tf.abs(tf.sub(a[i], b[i]))).data(), ref = await tf.max(tf.abs(b[i])).data();
    log(`accuracy ${names[i]}: max |flash - composition| = ${diff[0].toExponential(2)}, max |composition| = ${ref[0].toExponential(2)}`);
  }
  tf.dispose([...a, ...b]);
}
tf.dispose([q, k, v, dO, fwd.output, fwd.lse]);
process.exit(0);
