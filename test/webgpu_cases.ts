/**
 * Cases only a GPU kernel can get wrong, sized against the WebGPU kernel's tiles (kernels/webgpu/
 * tile_config.ts: 64 query rows per workgroup for D ≤ 32 and D = 64, 32 for D = 128; 32, 16 or 8 keys
 * per block): rows and keys one past a tile, workgroups straddling the causal diagonal, more
 * workgroups than one dispatch dimension holds, many short varlen sequences next to a long one.
 * They run through the same harness as test/cases.ts (outputs poisoned first, leak check, oracle);
 * defineWebgpuOnlyTests adds what the table cannot say: identical bits on two runs, and these cases again
 * with split-KV forced (every key range merged by the LSE rule), whatever the automatic plan would pick.
 */
import * as tf from '@tensorflow/tfjs-core';
import {expect} from 'chai';
import {flashAttention, WEBGPU_MATRIX_FLAG, WEBGPU_SPLITS_FLAG} from '../src/index';
import type {AttentionCase} from './cases';
import {runCase} from './harness';
import {defineLaunchPlanTests} from './launch_plan_suite';
import {makeRng} from './rng';

export const WEBGPU_CASES: AttentionCase[] = [
  {name: 'gpu: rows and keys one past a tile', batch: 1, sq: 65, sk: 33, hq: 2, d: 32, returnLse: true},
  {name: 'gpu: rows and keys one past a tile, causal', batch: 2, sq: 65, sk: 65, hq: 1, d: 64, causal: true, returnLse: true},
  {name: 'gpu: a workgroup straddles the causal diagonal', batch: 1, sq: 100, sk: 100, hq: 2, d: 32, causal: true, returnLse: true},
  {name: 'gpu: causal Sq < Sk, diagonal offset inside a key block', batch: 1, sq: 70, sk: 151, hq: 2, hk: 1, d: 64, causal: true, returnLse: true},
  {name: 'gpu: causal Sq > Sk, whole query blocks see no key', batch: 1, sq: 150, sk: 20, hq: 1, d: 16, causal: true, returnLse: true},
  {name: 'gpu: many short varlen sequences next to a long one', layout: 'thd',
   seqlensQ: [...new Array(30).fill(1), 1, 2, 3, 200, 0, 5, 1], seqlensK: [...new Array(30).fill(2), 0, 3, 1, 200, 4, 5, 1],
   hq: 2, d: 16, causal: true, returnLse: true, cuSeqlensAs: 'tensor'},
  {name: 'gpu: decode against a long key sequence', batch: 2, sq: 1, sk: 700, hq: 4, hk: 1, d: 128, returnLse: true},
  {name: 'gpu: D=256 over several key blocks, bhsd, GQA', layout: 'bhsd', batch: 1, sq: 40, sk: 70, hq: 4, hk: 2, d: 256, causal: true},
  {name: 'gpu: bias and ALiBi over several blocks', batch: 1, sq: 70, sk: 90, hq: 2, d: 32, bias: [1, 2, 70, 90], alibi: 'perHead', causal: true, returnLse: true},
  {name: 'gpu: FP8 KV-only over several blocks', batch: 1, sq: 70, sk: 100, hq: 2, d: 64, fp8: {mode: 'kv', format: 'e4m3fnuz'}, causal: true},
  // Every optional input at once: more storage buffers than WebGPU's default 8 unless the kernel packs them.
  {name: 'gpu: every optional input at once (dense: bias, ALiBi, three per-head descales)', batch: 2, sq: 20, sk: 30, hq: 4, hk: 2, d: 16,
   bias: [2, 1, 20, 30], alibi: 'perBatchHead', fp8: {mode: 'full', perHead: true}, causal: true, returnLse: true},
  {name: 'gpu: every optional input at once (varlen: cuSeqlens tensors, ALiBi, three per-head descales)', layout: 'thd',
   seqlensQ: [26, 22, 0, 24], seqlensK: [19, 37, 12, 5], cuSeqlensAs: 'tensor', hq: 4, hk: 2, d: 16, alibi: 'perBatchHead',
   fp8: {mode: 'full', format: 'e4m3fnuz', perHead: true, pScale: 200}, causal: true, returnLse: true},
  // A zero-size K/V is bound as a placeholder, which must be as large as one vec4 row read (D % 4 == 0).
  {name: 'gpu: no keys at all in a varlen batch, D a multiple of 4', layout: 'thd', seqlensQ: [3, 2], seqlensK: [0, 0], hq: 2, d: 8, returnLse: true},
  {name: 'gpu: FP8 full with pScale over several blocks', batch: 1, sq: 33, sk: 100, hq: 2, d: 32, fp8: {mode: 'full', pScale: 240, perHead: true}},
  // The window's first and last key blocks move with the row block; split-KV cuts the visible range only,
  // and the sink joins once, in the merge.
  {name: 'gpu: decode with a window and sinks over many key blocks', batch: 2, sq: 3, sk: 400, hq: 4, hk: 2, d: 32, window: [150, -1], causal: true, sinks: true, returnLse: true},
  // Packed halves in the staged K/V reads of many blocks, and (forced below) in every split's range.
  {name: 'gpu: float16 q, k, v decode over many key blocks, GQA, D = 30 (a row ends mid vec2)', batch: 2, sq: 3, sk: 400, hq: 4, hk: 2, d: 30,
   half: ['q', 'k', 'v'], returnLse: true},
  // 16-byte K/V reads (launch_plan.ts kvUnit): 16 FP8 codes or 8 halves a read, decoded into 4 or 2 vec4;
  // D = 80 pads its rows to 128 in the decode tile, so whole reads past D are zeros, never device reads.
  {name: 'gpu: FP8 KV decode, 16 codes a read, GQA over many key blocks, D = 128, per-head descales', batch: 1, sq: 1, sk: 333, hq: 8, hk: 2, d: 128,
   fp8: {mode: 'kv', format: 'e4m3fn', perHead: true}, returnLse: true},
  {name: 'gpu: FP8 KV e4m3fnuz decode, 16 codes a read, D = 80 (reads past D are zero), causal Sq 2', batch: 2, sq: 2, sk: 150, hq: 4, hk: 2, d: 80,
   fp8: {mode: 'kv', format: 'e4m3fnuz'}, causal: true},
  {name: 'gpu: float16 K/V decode, 8 halves a read, GQA 4:1, D = 64, sinks', batch: 2, sq: 1, sk: 300, hq: 4, hk: 1, d: 64,
   half: ['k', 'v'], sinks: true, returnLse: true},
  {name: 'gpu: window [30, 10] over several row and key blocks, softcap', batch: 1, sq: 130, sk: 140, hq: 2, d: 32, window: [30, 10], softcap: 4, returnLse: true},
];

/**
 * Cases too slow for a software GPU (SwiftShader runs ~10 ms per workgroup of this kernel on a busy
 * 2-core machine): run them on real hardware (the H100 bundle).
 */
export const WEBGPU_LARGE_CASES: AttentionCase[] = [
  // KV heads, not query heads, count workgroups (GQA packing puts a group's query heads in one block).
  {name: 'gpu: more workgroups than one dispatch dimension holds (65600 heads)', batch: 1, sq: 1, sk: 3, hq: 65600, hk: 65600, d: 1, returnLse: true},
  // The same with GQA: the grid is 65600 KV heads, and the launch rounds it up past what it covers.
  {name: 'gpu: more workgroups than one dispatch dimension holds, GQA 2:1 (65600 KV heads)', batch: 1, sq: 1, sk: 3, hq: 131200, hk: 65600, d: 1, returnLse: true},
];

/** Key ranges forced in the split-KV pass: more than one, and not a divisor of most block counts. */
export const FORCED_SPLITS = 3;

export function defineWebgpuOnlyTests(seed: string): void {
  describe(`webgpu kernel: split-KV forced to ${FORCED_SPLITS} key ranges`, () => {
    before(() => tf.env().set(WEBGPU_SPLITS_FLAG, FORCED_SPLITS));
    after(() => tf.env().set(WEBGPU_SPLITS_FLAG, 0));
    for (const c of WEBGPU_CASES) it(c.name, async () => void await runCase(c, seed));
  });
  defineDeterminismTest();
  defineLaunchPlanTests();
  defineEmptyFloat16Test();
}

/** An empty output (thd, no query rows) on the matrix tiles is readable, as on the float32 kernel. */
function defineEmptyFloat16Test(): void {
  it('webgpu kernel: float16 on matrix tiles with no query rows returns an empty output', async () => {
    tf.env().set(WEBGPU_MATRIX_FLAG, 'portable');
    try {
      const q = tf.zeros([0, 2, 16]), k = tf.randomNormal([5, 2, 16]);
      const before = tf.memory().numTensors;
      const out = flashAttention(q, k, k, {layout: 'thd', cuSeqlensQ: [0, 0], cuSeqlensK: [0, 5], precision: 'float16'}) as tf.Tensor;
      expect(out.shape).to.deep.equal([0, 2, 16]);
      expect((await out.data()).length).to.equal(0);
      out.dispose();
      expect(tf.memory().numTensors).to.equal(before);
      tf.dispose([q, k]);
    } finally {
      tf.env().set(WEBGPU_MATRIX_FLAG, 'auto');
    }
  });
}

/** Same inputs twice give identical bits (no race in workgroup memory, no order-dependent reduction). */
function defineDeterminismTest(): void {
  describe('webgpu kernel: determinism', () => {
    it('the same inputs twice give identical bits', async () => {
      const rng = makeRng('determinism');
      const shape = [1, 150, 2, 64];
      const values = () => Float32Array.from({length: 150 * 2 * 64}, () => rng.normal());
      const [q, k, v] = [values(), values(), values()].map(x => tf.tensor(x, shape));
      const runOnce = async () => {
        const {output, lse} = flashAttention(q, k, v, {causal: true, returnLse: true});
        const bits = [new Uint32Array((await (output as tf.Tensor).data() as Float32Array).buffer), new Uint32Array((await lse.data() as Float32Array).buffer)];
        tf.dispose([output as tf.Tensor, lse]);
        return bits;
      };
      const first = await runOnce(), second = await runOnce();
      tf.dispose([q, k, v]);
      for (let t = 0; t < 2; t++) {
        const i = first[t].findIndex((x, j) => x !== second[t][j]);
        if (i >= 0) throw new Error(`${t === 0 ? 'output' : 'lse'}[${i}] differs between two runs: bits ${first[t][i]} vs ${second[t][i]}`);
      }
    });
  });
}
