/**
 * Attention dropout on the active backend, beyond the case table (whose dropout rows compare with the
 * oracle at the documented mask): the kernel's keep decisions are src/dropout.ts's hash bit for bit, the
 * kept fraction is within 4σ of 1 − rate, the output's mean over seeds is the no-dropout output, and the
 * gradients at a fixed seed match finite differences.
 * The mask is read through the op itself: with q = 0 every visible P is 1/Sk, and with v_j the one-hot
 * e_j (D = Sk) out_i[d] = Z_id / Sk, so out_i[d] > 0 iff key d was kept for row i.
 */
import {expect} from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import {flashAttention} from '../src/index';
import {dropoutKeeps, dropoutSeed32, dropoutThreshold} from '../src/dropout';
import {makeRng} from './rng';

/** The kernel's keep decisions for [B, Sq, Hq] rows × Sk keys, read through one-hot values (bshd). */
async function keptMask(batch: number, sq: number, hq: number, hk: number, sk: number, dropout: {rate: number, seed: number}) {
  const out = tf.tidy(() => {
    const q = tf.zeros([batch, sq, hq, sk]);
    const k = tf.randomNormal([batch, sk, hk, sk], 0, 1, 'float32', 3);
    const v = tf.tile(tf.reshape(tf.eye(sk), [1, sk, 1, sk]), [batch, 1, hk, 1]);
    return flashAttention(q, k, v, {dropout}) as tf.Tensor;
  });
  const values = await out.data();
  out.dispose();
  return values;
}

export function defineDropoutTests(seed: string): void {
  describe('attention dropout', () => {
    it('the kernel keeps exactly the keys src/dropout.ts keeps, scaled by 1 / (1 - rate)', async () => {
      const [batch, sq, hq, hk, sk] = [2, 21, 4, 2, 40], dropout = {rate: 0.37, seed: 4000000123};
      const values = await keptMask(batch, sq, hq, hk, sk, dropout);
      const seed32 = dropoutSeed32(dropout.seed), threshold = dropoutThreshold(dropout.rate);
      const kept = 1 / (sk * (1 - dropout.rate));
      for (let b = 0; b < batch; b++) {
        for (let i = 0; i < sq; i++) {
          for (let h = 0; h < hq; h++) {
            for (let j = 0; j < sk; j++) {
              const got = values[((b * sq + i) * hq + h) * sk + j];
              const want = dropoutKeeps(seed32, threshold, b, h, i, j) ? kept : 0;
              if (!(Math.abs(got - want) <= 1e-6 * kept)) {
                throw new Error(`[${tf.getBackend()}] keep(b ${b}, h ${h}, i ${i}, j ${j}): out ${got}, expected ${want}`);
              }
            }
          }
        }
      }
    });

    it('the kept fraction of a large call is within 4σ of 1 - rate', async () => {
      const [batch, sq, hq, sk] = [2, 64, 8, 128], rate = 0.3;
      const values = await keptMask(batch, sq, hq, hq, sk, {rate, seed: 77});
      let kept = 0;
      for (const x of values) if (x > 0) kept++;
      const n = values.length, p = 1 - rate, sigma = Math.sqrt(p * (1 - p) / n);
      expect(Math.abs(kept / n - p), `kept ${kept} of ${n}`).to.be.at.most(4 * sigma);
    });

    it('the output averaged over seeds is the output without dropout (within 5 standard errors)', async () => {
      const rng = makeRng(`${seed}:dropout expectation`);
      const seeds = 128, rate = 0.5, shape = [1, 8, 2, 8], keyShape = [1, 16, 2, 8];
      const [q, k, v] = [shape, keyShape, keyShape].map(s => tf.tensor(Float32Array.from({length: s.reduce((a, n) => a * n)}, () => rng.normal()), s));
      const reference = flashAttention(q, k, v) as tf.Tensor;
      const want = await reference.data();
      const sum = new Float64Array(want.length), sumSq = new Float64Array(want.length);
      for (let s = 0; s < seeds; s++) {
        const out = flashAttention(q, k, v, {dropout: {rate, seed: rng.int(0, 2 ** 31)}}) as tf.Tensor;
        const values = await out.data();
        out.dispose();
        values.forEach((x, e) => {
          sum[e] += x;
          sumSq[e] += x * x;
        });
      }
      tf.dispose([q, k, v, reference]);
      want.forEach((w, e) => {
        const mean = sum[e] / seeds, sd = Math.sqrt(Math.max(0, sumSq[e] / seeds - mean * mean));
        if (!(Math.abs(mean - w) <= 5 * sd / Math.sqrt(seeds) + 1e-5)) {
          throw new Error(`[${tf.getBackend()}] element ${e} (seed ${seed}): mean ${mean} over ${seeds} seeds, no-dropout ${w}, sd ${sd}`);
        }
      });
    });

    it('gradients at a fixed seed match central finite differences', async () => {
      const rng = makeRng(`${seed}:dropout finite differences`);
      const shape = [1, 6, 2, 8], keyShape = [1, 9, 1, 8], dropout = {rate: 0.4, seed: 31337};
      const data = [shape, keyShape, keyShape].map(s => Float32Array.from({length: s.reduce((a, n) => a * n)}, () => rng.normal()));
      const weights = tf.tensor(Float32Array.from({length: 96}, () => rng.normal()), shape);
      const loss = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) =>
          tf.sum(tf.mul(flashAttention(q, k, v, {dropout, causal: true}) as tf.Tensor, weights)) as tf.Scalar;
      const xs = data.map((d, a) => tf.tensor(d, a === 0 ? shape : keyShape));
      const grads = tf.grads(loss)(xs);
      const got = await Promise.all(grads.map(g => g.data()));
      tf.dispose(grads);
      // Central differences in float32: error ~ 1e-6·|loss| / h from rounding plus O(h²); h = 1e-2.
      const h = 1e-2;
      for (let a = 0; a < 3; a++) {
        for (let trial = 0; trial < 6; trial++) {
          const e = rng.int(0, data[a].length - 1);
          const at = async (delta: number) => {
            const moved = data[a].slice();
            moved[e] += delta;
            const value = tf.tidy(() => {
              const args = xs.map((x, b) => (b === a ? tf.tensor(moved, x.shape) : x));
              return loss(args[0], args[1], args[2]);
            });
            const result = (await value.data())[0];
            value.dispose();
            return result;
          };
          const fd = (await at(h) - await at(-h)) / (2 * h);
          const g = got[a][e];
          if (!(Math.abs(fd - g) <= 5e-3 + 2e-2 * Math.abs(fd))) {
            throw new Error(`[${tf.getBackend()}] d loss / d ${'qkv'[a]}[${e}] (seed ${seed}): tf.grads ${g}, finite difference ${fd}`);
          }
        }
      }
      tf.dispose([...xs, weights]);
    });
  });
}
