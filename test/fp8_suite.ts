/** The FP8 codecs against the oracle's table: all 256 codes of both formats, bit-exactly, both ways. */
import {expect} from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import {dequantizeFp8, Fp8Tensor, quantizeFp8} from '../src/index';
import {checkFp8CodesThroughAttention} from './decoder_checks';
import {ORACLE_FP8_MAX, OracleFp8Format, oracleFp8Encode, oracleFp8Value} from './fp8_oracle';
import {makeRng} from './rng';

const isNan = (format: OracleFp8Format, code: number) => format === 'e4m3fn' ? (code & 0x7f) === 0x7f : code === 0x80;

function packCodes(codes: number[]): Int32Array {
  const words = new Int32Array(Math.ceil(codes.length / 4));
  codes.forEach((c, i) => (words[i >> 2] |= c << ((i & 3) * 8)));
  return words;
}

export function defineFp8Tests(seed: string): void {
  describe('FP8 e4m3 codecs', () => {
    for (const format of ['e4m3fn', 'e4m3fnuz'] as const) {
      const codes = Array.from({length: 256}, (_, c) => c);
      it(`${format}: every one of the 256 codes dequantizes to its table value, bit-exactly`, async () => {
        const words = tf.tensor(packCodes(codes), [1, 64], 'int32');
        const fp8 = new Fp8Tensor(words, [1, 256], format, 1);
        const values = dequantizeFp8(fp8);
        const got = await values.data();
        for (const c of codes) {
          const want = oracleFp8Value(c, format);
          expect(Object.is(got[c], want) || (Number.isNaN(got[c]) && Number.isNaN(want)), `code 0x${c.toString(16)}: got ${got[c]}, want ${want}`).to.equal(true);
        }
        tf.dispose([words, values]);
      });
      // e4m3fnuz's ±240 (0x7f, 0xff) lie above vLLM's clamp of 224: they quantize to ±224 by SPEC's formula.
      it(`${format}: every one of the 256 values quantizes back to its code (fnuz ±240 clamp to ±224)`, async () => {
        const x = tf.tensor(Float32Array.from(codes, c => oracleFp8Value(c, format)), [1, 256]);
        const fp8 = quantizeFp8(x, {format});
        const words = await fp8.words.data();
        for (const c of codes) {
          const got = (words[c >> 2] >>> ((c & 3) * 8)) & 0xff;
          const value = oracleFp8Value(c, format);
          const want = Math.abs(value) > ORACLE_FP8_MAX[format] ? oracleFp8Encode(value, format) : c;
          if (want !== c) expect([0x7f, 0xff]).to.include(c);
          const ok = got === want || (isNan(format, c) && isNan(format, got));
          expect(ok, `code 0x${c.toString(16)} came back as 0x${got.toString(16)}`).to.equal(true);
        }
        tf.dispose([x]);
        fp8.dispose();
      });
      for (const [heads, d] of [[4, 256], [29, 36]]) {
        it(`${format}: every code read as V by flashAttention reaches O exactly (one key, P = 1, ${heads} × D ${d})`, () =>
          checkFp8CodesThroughAttention(format, heads, d));
      }
      it(`${format}: random values round to nearest even and clamp to ±${ORACLE_FP8_MAX[format]} (seed ${seed})`, async () => {
        const rng = makeRng(`${seed}:${format}`);
        const n = 4099;  // not a multiple of 4: the last word is padded
        const xs = Float32Array.from({length: n}, (_, i) => {
          if (i % 7 === 0) {  // exact ties: the midpoint of two neighbouring codes of one sign
            const c = rng.int(0, 0x7d), sign = rng.pick([-1, 1]);
            return sign * (oracleFp8Value(c, format) + oracleFp8Value(c + 1, format)) / 2;
          }
          return Math.fround(rng.normal() * 2 ** rng.int(-12, 10));
        });
        xs[1] = Infinity; xs[2] = -Infinity; xs[3] = 1000; xs[4] = -0;
        const x = tf.tensor(xs, [1, n]);
        const fp8 = quantizeFp8(x, {format});
        expect(fp8.words.shape).to.deep.equal([1, Math.ceil(n / 4)]);
        const words = await fp8.words.data();
        for (let i = 0; i < n; i++) {
          const got = (words[i >> 2] >>> ((i & 3) * 8)) & 0xff;
          const want = oracleFp8Encode(xs[i], format);
          if (Number.isNaN(xs[i])) continue;
          expect(got, `x = ${xs[i]} (seed ${seed})`).to.equal(want);
        }
        x.dispose();
        fp8.dispose();
      });
    }
    it('per-head scales run along the head axis and descale carries 1 / scale', async () => {
      const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 2, 4]);
      const scale = tf.tensor1d([2, 0.5]);
      const fp8 = quantizeFp8(x, {scale});
      expect(fp8.descaleAxis).to.equal(2);
      const back = dequantizeFp8(fp8);
      expect(Array.from(await back.data())).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
      tf.dispose([x, scale, back]);
      fp8.dispose();
    });
  });
}
