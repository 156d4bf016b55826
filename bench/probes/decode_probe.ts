// Probe (not the benchmark): decode (Sq = 1) speed of the WebGPU forward per KV format, tile shape and split
// count, interleaved round by round (the H200's clock drifts), with the streaming-read roofline measured in the
// same run, and a correctness check of every configuration against the cpu kernel on a smaller shape first.
// Env: SHAPES=B8Hq32Hk8Sk8192D128,... KV=f32,f16,fp8 TILES=,4x32x1x2 (TMxTNxRMxRN; '' = automatic)
//   SPLITS=0,16 (0 = automatic) ROUNDS=6 CALLS=12 (calls queued per sample) NOCHECK=1 READ_MB=1024 (roofline).
// Build: npx esbuild bench/probes/decode_probe.ts --bundle --platform=node --format=esm --target=node20
//   --main-fields=module,main --external:webgpu --outfile=.test-build/decode_probe.mjs --banner:js="import
//   {createRequire as __cr} from 'module'; const require = __cr(import.meta.url);"
import {create, globals} from 'webgpu';
Object.assign(globalThis, globals);
const gpu = create(['enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia', 'disable-dawn-features=timestamp_quantization']);
(globalThis as any).navigator = {gpu};
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgpu';
import {flashAttention, Float16Tensor, Fp8Tensor, quantizeFp8, registerWebGPUBackend, toFloat16} from '../../src/index';
import {median, Roofline} from '../roofline';
import {interleavedKernelMs} from './interleaved';

const log = (o: unknown) => console.log(JSON.stringify(o));
const list = (name: string, fallback: string) => (process.env[name] ?? fallback).split(',');

interface Config {kv: string; tiles: string; splits: number}
type Inputs = {q: tf.Tensor, k: tf.Tensor|Fp8Tensor|Float16Tensor, v: tf.Tensor|Fp8Tensor|Float16Tensor};

function shapeOf(name: string) {
  const m = /^B(\d+)Hq(\d+)Hk(\d+)Sk(\d+)D(\d+)$/.exec(name);
  if (m == null) throw new Error(`bad shape ${name}`);
  const [B, Hq, Hk, Sk, D] = m.slice(1).map(Number);
  return {B, Hq, Hk, Sk, D};
}

function inputs(s: ReturnType<typeof shapeOf>, kv: string): Inputs {
  const q = tf.randomNormal([s.B, 1, s.Hq, s.D], 0, 1, 'float32', 1);
  const k = tf.randomNormal([s.B, s.Sk, s.Hk, s.D], 0, 1, 'float32', 2);
  const v = tf.randomNormal([s.B, s.Sk, s.Hk, s.D], 0, 1, 'float32', 3);
  if (kv === 'f32') return {q, k, v};
  const encode = (x: tf.Tensor) => (kv === 'f16' ? toFloat16(x) : quantizeFp8(x, {scale: 32}));
  const k2 = encode(k), v2 = encode(v);
  tf.dispose([k, v]);
  return {q, k: k2, v: v2};
}

function run(x: Inputs, c: Config): tf.Tensor {
  tf.env().set('FLASH_ATTENTION_WEBGPU_TILES', c.tiles);
  tf.env().set('FLASH_ATTENTION_WEBGPU_SPLITS', c.splits);
  return flashAttention(x.q, x.k, x.v) as tf.Tensor;
}

const disposeInputs = (x: Inputs) => [x.q, x.k, x.v].forEach(t => t.dispose());

async function check(configs: Config[]) {
  const s = shapeOf('B2Hq8Hk2Sk3000D128');
  for (const kv of [...new Set(configs.map(c => c.kv))]) {
    await tf.setBackend('cpu');
    const xc = inputs(s, kv);
    const ref = await (flashAttention(xc.q, xc.k, xc.v) as tf.Tensor).data();
    disposeInputs(xc);
    await tf.setBackend('webgpu');
    const xg = inputs(s, kv);
    for (const c of configs.filter(c => c.kv === kv)) {
      let o: Float32Array;
      try {
        const out = run(xg, c);
        o = await out.data() as Float32Array;
        out.dispose();
      } catch (e) { log({check: c, error: String((e as Error).message).slice(0, 300)}); continue; }
      let worst = 0;
      for (let i = 0; i < o.length; i++) worst = Math.max(worst, Number.isNaN(o[i]) ? Infinity : Math.abs(o[i] - ref[i]));
      log({check: c, maxAbsErr: worst, ok: worst < 1e-4});
    }
    disposeInputs(xg);
  }
}

async function main() {
  registerWebGPUBackend();
  await tf.setBackend('webgpu');
  tf.env().set('WEBGPU_CPU_FORWARD', false);
  const device: GPUDevice = (tf.backend() as any).device;
  device.onuncapturederror = (e: any) => log({uncaptured: String(e.error?.message).slice(0, 3000)});
  const configs: Config[] = list('KV', 'f32,f16,fp8').flatMap(kv => list('TILES', '').flatMap(tiles =>
      list('SPLITS', '0').map(Number).map(splits => ({kv, tiles, splits}))));
  if (!process.env.NOCHECK) await check(configs);
  const roof = await new Roofline(device, 60000).run(
      {fmaWorkgroups: 264, fmaIters: 64, readBytes: Number(process.env.READ_MB ?? 1024) * 1024 * 1024, readWorkgroups: [1056, 2112, 4224]}, 3, 10);
  log({readGBs: roof.readGBs});
  const rounds = Number(process.env.ROUNDS ?? 6), calls = Number(process.env.CALLS ?? 12);
  for (const name of list('SHAPES', 'B8Hq32Hk8Sk8192D128')) {
    const s = shapeOf(name);
    const kvs = [...new Set(configs.map(c => c.kv))];
    const data = Object.fromEntries(kvs.map(kv => [kv, inputs(s, kv)]));
    const bytesPerElement = (kv: string) => ({f32: 4, f16: 2, fp8: 1}[kv] ?? NaN);
    try {
      const samples = await interleavedKernelMs(configs, c => run(data[c.kv], c), {warmupMs: 1500, rounds, samplesPerRound: 3, calls});
      for (const [i, c] of configs.entries()) {
        const ms = median(samples[i]);
        const bytes = 2 * s.B * s.Hk * s.Sk * s.D * bytesPerElement(c.kv);
        const gbs = bytes / ms / 1e6;
        log({shape: name, ...c, ms, gbs, pctRoofline: 100 * gbs / roof.readGBs});
      }
    } catch (e) { log({shape: name, error: String((e as Error).message).slice(0, 1000)}); }
    Object.values(data).forEach(disposeInputs);
  }
  process.exit(0);
}
main().catch(e => { console.error(e); process.exit(1); });
