/**
 * The sliding window saves work on the cpu kernel: key blocks wholly outside every row's window are never
 * loaded. Counts the kernel's row-block loads (RowLoader.load: one per Q block, one K and one V per key
 * block visited) and compares them with the key blocks each query block's window reaches.
 */
import {expect} from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import {BLOCK_M, BLOCK_N} from '../kernels/cpu/attention_loop';
import {RowLoader} from '../kernels/cpu/row_loader';
import {flashAttention} from '../src/index';

/** Row-block loads of one forward call. */
function countLoads(run: () => void): number {
  const original = RowLoader.prototype.load;
  let loads = 0;
  RowLoader.prototype.load = function(...args: Parameters<typeof original>) {
    loads++;
    return original.apply(this, args);
  };
  try {
    run();
  } finally {
    RowLoader.prototype.load = original;
  }
  return loads;
}

export function defineWindowSkipTests(): void {
  it('cpu: a causal window loads only the key blocks it reaches (not every block below the diagonal)', () => {
    const s = 640, left = 63;
    const [q, k, v] = [1, 2, 3].map(seed => tf.randomNormal([1, s, 1, 8], 0, 1, 'float32', seed));
    const call = (windowSize?: [number, number]) => () => tf.dispose(flashAttention(q, k, v, {causal: true, windowSize}));
    // Per query block m0: one Q load, then K and V for each key block from the first row's window start
    // (aligned down to BLOCK_N) to the last row's diagonal.
    let expected = 0, causalOnly = 0;
    for (let m0 = 0; m0 < s; m0 += BLOCK_M) {
      const end = Math.min(s, m0 + BLOCK_M);
      const begin = Math.floor(Math.max(0, m0 - left) / BLOCK_N) * BLOCK_N;
      expected += 1 + 2 * Math.ceil((end - begin) / BLOCK_N);
      causalOnly += 1 + 2 * Math.ceil(end / BLOCK_N);
    }
    expect(countLoads(call([left, -1]))).to.equal(expected);
    expect(countLoads(call())).to.equal(causalOnly);
    expect(expected).to.be.below(causalOnly / 2);  // 96 vs 240 loads here
    tf.dispose([q, k, v]);
  });
}
