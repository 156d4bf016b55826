// Probe (not the benchmark): correctness against the cpu float16 reference and timing of the matrix-tile forward
// per tile shape, on a GPU with subgroup matrices. BENCHMARKS.md ("float16 on matrix tiles") has its 2026-12-01
// H200 results. Env: SHAPES=B1H8S4096D64,B1H8S4096D64c,... VARIANTS=GxRxK,... (tile shapes; '' = automatic),
// SPLITS=0,2,4 (forced split-KV counts; 0 = automatic), ROUNDS=6 (interleaved rounds of 3 samples each),
// NO32=1 (skip the float32 rows), NOCHECK=1 (skip the correctness checks), DAWN=',toggle' (more Dawn features). It forces the subgroup-matrix
// tiles (FLASH_ATTENTION_WEBGPU_MATRIX) when the device has them, else the portable ones.
// Build: npx esbuild bench/probes/matrix_forward_probe.ts --bundle --platform=node --format=esm --target=node20
//   --main-fields=module,main --external:webgpu --outfile=.test-build/probe.mjs --banner:js="import {createRequire
//   as __cr} from 'module'; const require = __cr(import.meta.url);" && bash scripts/gpu/pack.sh .test-build/probe.mjs
import {create, globals} from 'webgpu';
Object.assign(globalThis, globals);
const extra = process.env.DAWN ?? '';
const gpu = create(['enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia' + extra, 'disable-dawn-features=timestamp_quantization']);
(globalThis as any).navigator = {gpu};
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgpu';
import {flashAttention, flashAttentionCapabilities, registerWebGPUBackend} from '../../src/index';
import {interleavedKernelMs} from './interleaved';

const log = (o: unknown) => console.log(JSON.stringify(o));
async function main() {
  registerWebGPUBackend();
  await tf.setBackend('webgpu');
  tf.env().set('WEBGPU_CPU_FORWARD', false);
  tf.env().set('FLASH_ATTENTION_WEBGPU_MATRIX', flashAttentionCapabilities().matrixUnits ? 'subgroup-matrix' : 'portable');
  const backend = tf.backend() as any;
  const device: GPUDevice = backend.device;
  device.onuncapturederror = (e: any) => log({uncaptured: String(e.error?.message).slice(0, 3000)});
  log({features: [...device.features]});
  async function checks(maxD: number) {
  // -- correctness: small shapes vs the cpu float16 reference
  const small = [{B: 1, S: 16, Sk: 16, H: 1, Hk: 1, D: 16, causal: false},
    {B: 1, S: 77, Sk: 93, H: 4, Hk: 2, D: 64, causal: false}, {B: 2, S: 70, Sk: 70, H: 2, Hk: 1, D: 128, causal: true},
    {B: 1, S: 33, Sk: 40, H: 2, Hk: 2, D: 80, causal: true}, {B: 1, S: 21, Sk: 300, H: 2, Hk: 1, D: 256, causal: false},
    {B: 1, S: 1, Sk: 2000, H: 8, Hk: 2, D: 128, causal: false},
  ];
  for (const c of small.filter(c => c.D <= maxD)) {
    await tf.setBackend('cpu');
    const q = tf.randomNormal([c.B, c.S, c.H, c.D], 0, 1, 'float32', 1), k = tf.randomNormal([c.B, c.Sk, c.Hk, c.D], 0, 1, 'float32', 2), v = tf.randomNormal([c.B, c.Sk, c.Hk, c.D], 0, 1, 'float32', 3);
    const [qd, kd, vd] = [await q.data(), await k.data(), await v.data()];
    const ref = flashAttention(q, k, v, {causal: c.causal, precision: 'float16', returnLse: true}) as any;
    const refO = await ref.output.data(), refL = await ref.lse.data();
    await tf.setBackend('webgpu');
    const out = flashAttention(tf.tensor(qd, q.shape), tf.tensor(kd, k.shape), tf.tensor(vd, v.shape), {causal: c.causal, precision: 'float16', returnLse: true}) as any;
    const o = await out.output.data(), lo = await out.lse.data();
    let worstL = 0;
    for (let i = 0; i < lo.length; i++) worstL = Math.max(worstL, Number.isNaN(lo[i]) ? Infinity : Math.abs(lo[i] - refL[i]));
    if (c.D === 16) log({o: Array.from(o.slice(0, 16)), ref: Array.from(refO.slice(0, 16)), lse: Array.from(lo.slice(0, 4)), refLse: Array.from(refL.slice(0, 4))});
    let worst = 0;
    for (let i = 0; i < o.length; i++) worst = Math.max(worst, Number.isNaN(o[i]) ? Infinity : Math.abs(o[i] - refO[i]));
    log({check: c, variant: tf.env().getString('FLASH_ATTENTION_WEBGPU_MATRIX_SHAPE'), maxAbsErr: worst, lseErr: worstL});
  }
  }
  // -- timing: the configurations of one shape interleaved round by round (the H200's speed drifts by up to
  // 1.7× over seconds, so configurations timed one after another are not comparable)
  const shapes = (process.env.SHAPES ?? 'B1H8S4096D64,B1H8S4096D64c,B1H8S4096D128,B4H32S512D128').split(',');
  const variants = (process.env.VARIANTS ?? '').split(',');
  const splits = (process.env.SPLITS ?? '0').split(',').map(Number);
  const rounds = Number(process.env.ROUNDS ?? 6);
  let warmedUp = false;
  for (const name of shapes) {
    const m = /^B(\d+)H(\d+)S(\d+)D(\d+)(c?)$/.exec(name)!;
    const [B, H, S, D] = [1, 2, 3, 4].map(i => Number(m[i])); const causal = m[5] === 'c';
    const q = tf.randomNormal([B, S, H, D]), k = tf.randomNormal([B, S, H, D]), v = tf.randomNormal([B, S, H, D]);
    const flops = 4 * B * H * S * S * D * (causal ? 0.5 : 1);
    if (name === shapes[0] && !process.env.NOCHECK) for (const variant of variants) {
      tf.env().set('FLASH_ATTENTION_WEBGPU_MATRIX_SHAPE', variant);
      await checks(D);
    }
    const configs: Array<{precision: 'float16'|'float32', variant: string, numSplits: number}> =
        variants.flatMap(variant => splits.map(numSplits => ({precision: 'float16' as const, variant, numSplits})));
    if (!process.env.NO32) configs.push({precision: 'float32', variant: '', numSplits: 0});
    const run = (c: typeof configs[0]) => {
      tf.env().set('FLASH_ATTENTION_WEBGPU_MATRIX_SHAPE', c.precision === 'float16' ? c.variant : '');
      tf.env().set('FLASH_ATTENTION_WEBGPU_SPLITS', c.numSplits);
      return tf.tidy(() => flashAttention(q, k, v, {causal, precision: c.precision}) as tf.Tensor);
    };
    try {
      // The clocks idle at 345 MHz: 1.5 s of warm-up before the first shape (interleaved.ts).
      const samples = await interleavedKernelMs(configs, run, {warmupMs: warmedUp ? 0 : 1500, rounds, samplesPerRound: 3, calls: 3});
      warmedUp = true;
      for (const [i, c] of configs.entries()) {
        const t = samples[i].sort((a, b) => a - b);
        const ms = t[Math.floor(t.length / 2)];
        log({shape: name, precision: c.precision, variant: c.variant, splits: c.numSplits, ms, tflops: flops / ms / 1e9,
             q1: t[Math.floor(t.length / 4)], q3: t[Math.floor(3 * t.length / 4)]});
      }
    } catch (e) { log({shape: name, error: String((e as Error).message).slice(0, 1000)}); }
    tf.dispose([q, k, v]);
  }
  process.exit(0);
}
main().catch(e => { console.error(e); process.exit(1); });
