/**
 * CPU benchmark: flashAttention's tiled kernel vs the tfjs composition on the cpu backend, same inputs,
 * one run. Median of repeated runs after warm-up. Usage: npm run bench:cpu [-- --json]
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import {flashAttention} from '../src/index';
import {compositionAttention} from './composition';

const json = process.argv.includes('--json');
const shapes = [
  {b: 1, h: 8, s: 512, d: 64, causal: false},
  {b: 1, h: 8, s: 512, d: 64, causal: true},
  {b: 1, h: 8, s: 1024, d: 64, causal: false},
];
const WARMUP = 2, RUNS = 7;

/** Median ms of each contender, runs interleaved so both see the same machine load. */
async function medians(fns: Array<() => tf.Tensor>): Promise<number[]> {
  const times: number[][] = fns.map(() => []);
  for (let r = 0; r < WARMUP + RUNS; r++) {
    for (let f = 0; f < fns.length; f++) {
      const t0 = performance.now();
      const out = fns[f]();
      await out.data();
      const t = performance.now() - t0;
      out.dispose();
      if (r >= WARMUP) times[f].push(t);
    }
  }
  return times.map(ts => ts.sort((a, b) => a - b)[Math.floor(ts.length / 2)]);
}

await tf.setBackend('cpu');
const rows = [];
for (const {b, h, s, d, causal} of shapes) {
  const [q, k, v] = [0, 1, 2].map(() => tf.randomNormal([b, h, s, d]) as tf.Tensor4D);
  const [flashMs, compMs] = await medians(
      [() => flashAttention(q, k, v, {layout: 'bhsd', causal}) as tf.Tensor, () => compositionAttention(q, k, v, causal)]);
  const a = await (flashAttention(q, k, v, {layout: 'bhsd', causal}) as tf.Tensor).data();
  const c = await compositionAttention(q, k, v, causal).data();
  let maxDiff = 0;
  for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - c[i]));
  const flops = 4 * b * h * s * s * d * (causal ? 0.5 : 1);
  const row = {shape: `B${b} H${h} S${s} D${d}${causal ? ' causal' : ''}`, flashMs, compositionMs: compMs,
               speedup: compMs / flashMs, flashGflops: flops / flashMs / 1e6, maxDiff};
  rows.push(row);
  if (!json) console.error(`  ${row.shape}: flash ${flashMs.toFixed(1)} ms, composition ${compMs.toFixed(1)} ms`);
  tf.dispose([q, k, v]);
}
if (json) {
  console.log(JSON.stringify({device: 'cpu backend (tfjs-backend-cpu, JS)', node: process.version, rows}, null, 2));
} else {
  console.log('| shape | flashAttention ms | composition ms | speedup | GFLOP/s | max |diff| |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.shape} | ${r.flashMs.toFixed(1)} | ${r.compositionMs.toFixed(1)} | ${r.speedup.toFixed(2)}× | ${r.flashGflops.toFixed(2)} | ${r.maxDiff.toExponential(1)} |`);
  }
}
