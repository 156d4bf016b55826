/**
 * The attention kernels decode packed K/V themselves (FP8 words, half pairs; webgpu reads 16 bytes at a time
 * where D allows and decodes through `unpack2x16float`), separately from the dequantizeFp8 / fromFloat16 codec
 * kernels. These checks put every code into V with a single key, so P = 1 and O is V's row exactly as the
 * kernel decoded it: the oracle's value for every code, bit for bit (NaN as NaN; −0 may come back as +0, since
 * O = 0 + 1·v). Shared by the mocha suites and the real-GPU runner (test/gpu/run_cases.ts), so the H200 says
 * whether its unpack2x16float keeps half subnormals, on which both decoders rely.
 */
import * as tf from '@tensorflow/tfjs-core';
import {halfValue} from '../src/half';
import {flashAttention, Float16Tensor, Fp8Tensor} from '../src/index';
import {OracleFp8Format, oracleFp8Value} from './fp8_oracle';

/** Little-endian packing of `bits`-wide codes into int32 words, as SPEC.md lays FP8 and half tensors out. */
function packCodes(codes: readonly number[], bits: 8|16): Int32Array {
  const perWord = 32 / bits;
  const words = new Int32Array(Math.ceil(codes.length / perWord));
  codes.forEach((c, i) => (words[Math.floor(i / perWord)] |= c << ((i % perWord) * bits)));
  return words;
}

/** O of one query against one key with V = `v` ([1, 1, heads, d]), on the active backend. */
async function oneKeyOutput(heads: number, d: number, k: Fp8Tensor|Float16Tensor, v: Fp8Tensor|Float16Tensor): Promise<Float32Array> {
  const q = tf.zeros([1, 1, heads, d]);
  const out = flashAttention(q, k, v) as tf.Tensor;
  const got = await out.data() as Float32Array;
  tf.dispose([q, out]);
  k.dispose();
  v.dispose();
  return got;
}

/** Throws naming the first position whose O differs from `want(position)`; positions past `count` must give 0. */
function compare(got: Float32Array, count: number, want: (position: number) => number, what: string): void {
  for (let i = 0; i < got.length; i++) {
    const w = i < count ? want(i) : 0;
    if (!(got[i] === w || (Number.isNaN(got[i]) && Number.isNaN(w)))) {
      throw new Error(`${what}: position ${i} reached O as ${got[i]}, want ${w}`);
    }
  }
}

/**
 * All 256 FP8 codes of `format` as V, four times over, shifted by one code each time so that every code (the
 * NaN codes too) sits at each of a word's four bytes: positions p < 1024 of heads × d hold (p + p / 256) % 256,
 * the rest 0. d = 256 takes the 16-byte reads on webgpu; d % 16 ≠ 0 the word reads.
 */
export async function checkFp8CodesThroughAttention(format: OracleFp8Format, heads: number, d: number): Promise<void> {
  const n = heads * d;
  const codeAt = (p: number) => (p + (p >> 8)) & 0xff;
  const codes = Array.from({length: n}, (_, p) => (p < 1024 ? codeAt(p) : 0));
  const fp8 = (c: number[]) => new Fp8Tensor(tf.tensor(packCodes(c, 8), [1, 1, heads, d / 4], 'int32'), [1, 1, heads, d], format, 1);
  const got = await oneKeyOutput(heads, d, fp8(new Array(n).fill(0)), fp8(codes));
  compare(got, Math.min(n, 1024), p => oracleFp8Value(codeAt(p), format), `FP8 ${format} V, ${heads} × D ${d}`);
}

/** All 65536 halves as V: 256 heads × D 256 (16-byte reads on webgpu). */
export async function checkHalvesThroughAttention(): Promise<void> {
  const heads = 256, d = 256;
  const half = (h: number[]) => new Float16Tensor(tf.tensor(packCodes(h, 16), [1, 1, heads, d / 2], 'int32'), [1, 1, heads, d]);
  const codes = Array.from({length: heads * d}, (_, h) => h);
  const got = await oneKeyOutput(heads, d, half(new Array(heads * d).fill(0)), half(codes));
  compare(got, 65536, halfValue, `float16 V, ${heads} × D ${d}`);
}
