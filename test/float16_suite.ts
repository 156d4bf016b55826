/**
 * toFloat16 / fromFloat16 (the ToFloat16 / FromFloat16 kernels of the active backend) against src/half.ts,
 * bit-exactly: every one of the 65536 halves both ways, then the rounding edges (65519 → 65504, 65520 →
 * Infinity, ties to even in normal and subnormal binades, underflow to ±0, float32 subnormals) and random
 * float32s, each also against the oracle's independent rounding (half_oracle.ts).
 */
import {expect} from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import {halfBits, halfValue} from '../src/half';
import {flashAttention, Float16Tensor, fromFloat16, isFloat16Tensor, toFloat16} from '../src/index';
import {checkHalvesThroughAttention} from './decoder_checks';
import {oracleHalfRound} from './half_oracle';
import {makeRng} from './rng';

const isHalfNan = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
const ALL_HALVES = Array.from({length: 65536}, (_, h) => h);

/** Half n of a row of packed words (little-endian: element 2m in the low 16 bits of word m). */
const halfAt = (words: ArrayLike<number>, n: number) => (words[n >> 1] >>> ((n & 1) * 16)) & 0xffff;

function packHalves(halves: number[]): Int32Array {
  const words = new Int32Array(Math.ceil(halves.length / 2));
  halves.forEach((h, i) => (words[i >> 1] |= h << ((i & 1) * 16)));
  return words;
}

/** The rounding edges of half, as float32 values. */
function edgeValues(): number[] {
  const tie = (h: number) => (halfValue(h) + halfValue(h + 1)) / 2;  // exact in float32: 12 significant bits
  return [
    0, -0, Infinity, -Infinity, NaN, 1, -1, 65504, -65504, 65519, -65519, 65520, -65520, 65535, 1e5, -1e5, 3.4e38,
    2 ** -14, 2 ** -24, -(2 ** -24), 2 ** -25, -(2 ** -25), 1.5 * 2 ** -25, 2 ** -26, 1e-40, -1e-40,  // float32 subnormals
    tie(0x3c00), tie(0x3c01), tie(0x0000), tie(0x0001), tie(0x03ff), tie(0x7bfe), -tie(0x3c00), -tie(0x0001),
    2049, 2051, 4097, 4099, 2 ** -14 - 2 ** -25,
  ].map(Math.fround);
}

export function defineFloat16Tests(seed: string): void {
  describe('float16 tensors: toFloat16 / fromFloat16', () => {
    it('fromFloat16 gives every one of the 65536 halves its exact value (±0, subnormals, ±Infinity, NaN)', async () => {
      const words = tf.tensor(packHalves(ALL_HALVES), [2, 16384], 'int32');
      const half = new Float16Tensor(words, [2, 32768]);
      const values = fromFloat16(half);
      expect(values.shape).to.deep.equal([2, 32768]);
      const got = await values.data();
      for (const h of ALL_HALVES) {
        const want = halfValue(h);
        const ok = Object.is(got[h], want) || (Number.isNaN(got[h]) && Number.isNaN(want));
        if (!ok) expect.fail(`half 0x${h.toString(16)}: got ${got[h]}, want ${want}`);
      }
      tf.dispose([words, values]);
    });

    it('every one of the 65536 halves read as V by flashAttention reaches O exactly (one key, P = 1)', () =>
      checkHalvesThroughAttention());

    it('toFloat16 packs every one of the 65536 half values back to its bits (NaNs to a NaN)', async () => {
      const x = tf.tensor(Float32Array.from(ALL_HALVES, halfValue), [4, 16384]);
      const half = toFloat16(x);
      expect(half.words.shape).to.deep.equal([4, 8192]);
      const words = await half.words.data();
      for (const h of ALL_HALVES) {
        const got = halfAt(words, h);
        if (got !== h && !(isHalfNan(h) && isHalfNan(got))) expect.fail(`half 0x${h.toString(16)} came back as 0x${got.toString(16)}`);
      }
      x.dispose();
      half.dispose();
    });

    it(`toFloat16 rounds to nearest even: 65519 → 65504, 65520 → Infinity, ties, underflow, random float32s (seed ${seed})`, async () => {
      const rng = makeRng(`${seed}:float16 codec`);
      const edges = edgeValues();
      const n = 4099;  // odd: the last word's high half is padding, +0
      const xs = Float32Array.from({length: n}, (_, i) => {
        if (i < edges.length) return edges[i];
        if (i % 5 === 0) {  // an exact tie between two neighbouring halves of one sign
          const h = rng.int(0, 0x7bfe);
          return rng.pick([-1, 1]) * (halfValue(h) + halfValue(h + 1)) / 2;
        }
        return rng.normal() * 2 ** rng.int(-28, 17);
      });
      const x = tf.tensor(xs, [1, n]);
      const half = toFloat16(x);
      const words = await half.words.data();
      for (let i = 0; i < n; i++) {
        const got = halfAt(words, i), want = halfBits(xs[i]);
        if (got !== want) expect.fail(`x = ${xs[i]}: got 0x${got.toString(16)}, src/half.ts 0x${want.toString(16)} (seed ${seed})`);
        const oracle = oracleHalfRound(xs[i]);
        if (!Object.is(halfValue(got), oracle) && !Number.isNaN(oracle)) expect.fail(`x = ${xs[i]}: ${halfValue(got)} != oracle ${oracle}`);
      }
      expect(halfAt(words, n), 'the padding half').to.equal(0);
      expect(halfAt(words, edges.indexOf(Math.fround(65519))), '65519').to.equal(0x7bff);
      expect(halfAt(words, edges.indexOf(Math.fround(65520))), '65520').to.equal(0x7c00);
      x.dispose();
      half.dispose();
    });

    it('a float16 tensor carries its logical shape, round-trips through fromFloat16 and leaks nothing', async () => {
      const x = tf.tensor([0.1, -2, 3.5, 65519, 1e-8, -0.3, 7], [1, 7]);
      const before = tf.memory().numTensors;
      const half = toFloat16(x);
      expect(isFloat16Tensor(half) && !isFloat16Tensor(x)).to.equal(true);
      expect([half.shape, half.rank, half.words.dtype, half.words.shape]).to.deep.equal([[1, 7], 2, 'int32', [1, 4]]);
      const back = fromFloat16(half);
      expect(Array.from(await back.data())).to.deep.equal(Array.from(await x.data(), v => halfValue(halfBits(v))));
      back.dispose();
      half.dispose();
      expect(half.isDisposed).to.equal(true);
      expect(tf.memory().numTensors).to.equal(before);
      expect(() => fromFloat16(half)).to.throw(/fromFloat16: t has been disposed/);
      const ints = tf.tensor([1], [1], 'int32');
      expect(() => toFloat16(ints)).to.throw(/toFloat16: x must be float32, got int32/);
      tf.dispose([x, ints]);
    });

    it('flashAttention on float16 inputs runs the FlashAttention kernel alone (no FromFloat16 copy first)', async () => {
      const q = tf.randomNormal([1, 5, 2, 8]), k = tf.randomNormal([1, 7, 2, 8]);
      const q16 = toFloat16(q), k16 = toFloat16(k);
      const info = await tf.profile(() => flashAttention(q16, k16, k16) as tf.Tensor);
      expect(info.kernelNames).to.deep.equal(['FlashAttention']);
      tf.dispose([q, k, info.result as tf.Tensor]);
      q16.dispose();
      k16.dispose();
    });
  });
}
