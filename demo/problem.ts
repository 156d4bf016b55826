/**
 * One attention problem on the active backend: seeded inputs (identical on every backend), and the two
 * contenders as closures over them: `flash` (this package's op) and `composition` (bench/composition.ts,
 * matMul → softmax → matMul). Input preparation the composition needs (repeating GQA heads, slicing varlen
 * sequences, dequantizing FP8 or half KV) happens here, once, untimed. Both closures return outputs of the same
 * layout. The KV format (float32, float16 through toFloat16, FP8 through quantizeFp8) is the config's `kv`.
 */
import * as tf from '@tensorflow/tfjs-core';
import {compositionAttention} from '../bench/composition';
import {dequantizeFp8, flashAttention, Float16Tensor, Fp8Tensor, fromFloat16, quantizeFp8, toFloat16} from '../src/index';
import type {Config} from './presets';
import {varlenLengths} from './presets';
import {normalArray} from './rng';

export interface Problem {
  flash(): tf.Tensor;
  composition(): tf.Tensor;
  dispose(): void;
}

const FP8_SCALE = 32;

const seeded = (shape: number[], seed: number) => tf.tensor(normalArray(shape.reduce((a, b) => a * b, 1), seed), shape, 'float32');

/** Repeats kv heads (axis 1 of bhsd) so query head h reads kv head floor(h / (H / Hkv)). */
function repeatHeads(x: tf.Tensor4D, h: number): tf.Tensor4D {
  const hkv = x.shape[1];
  if (hkv === h) return x.clone();
  const index = tf.tensor1d(Array.from({length: h}, (_, i) => Math.floor(i / (h / hkv))), 'int32');
  const out = tf.gather(x, index, 1) as tf.Tensor4D;
  index.dispose();
  return out;
}

function denseProblem(c: Config): Problem {
  const q = seeded([c.b, c.h, c.sq, c.d], 1) as tf.Tensor4D;
  let k = seeded([c.b, c.hkv, c.sk, c.d], 2) as tf.Tensor4D, v = seeded([c.b, c.hkv, c.sk, c.d], 3) as tf.Tensor4D;
  const owned: Array<{dispose(): void}> = [q];
  let flashK: tf.Tensor|Fp8Tensor|Float16Tensor = k, flashV: tf.Tensor|Fp8Tensor|Float16Tensor = v;
  if (c.kv !== 'float32') {
    // The composition gets exactly the values flash attention reads: decode(encode(x)).
    const encode = (x: tf.Tensor) => (c.kv === 'fp8' ? quantizeFp8(x, {format: 'e4m3fn', scale: FP8_SCALE}) : toFloat16(x));
    const decode = (x: Fp8Tensor|Float16Tensor) => (x instanceof Fp8Tensor ? dequantizeFp8(x) : fromFloat16(x)) as tf.Tensor4D;
    const k2 = encode(k), v2 = encode(v);
    tf.dispose([k, v]);
    flashK = k2;
    flashV = v2;
    k = decode(k2);
    v = decode(v2);
    owned.push(k2, v2, k, v);
  } else {
    owned.push(k, v);
  }
  const compK = repeatHeads(k, c.h), compV = repeatHeads(v, c.h);
  owned.push(compK, compV);
  return {
    flash: () => flashAttention(q, flashK, flashV, {layout: 'bhsd', causal: c.causal}) as tf.Tensor,
    composition: () => compositionAttention(q, compK, compV, c.causal),
    dispose: () => owned.forEach(t => t.dispose()),
  };
}

function varlenProblem(c: Config): Problem {
  const lq = varlenLengths(c.b, c.sq), lk = varlenLengths(c.b, c.sk);
  const cum = (ls: number[]) => Int32Array.from([0, ...ls.map((_, i) => ls.slice(0, i + 1).reduce((a, b) => a + b, 0))]);
  const cuQ = cum(lq), cuK = cum(lk);
  const q = seeded([cuQ[c.b], c.h, c.d], 1), k = seeded([cuK[c.b], c.hkv, c.d], 2), v = seeded([cuK[c.b], c.hkv, c.d], 3);
  // Per sequence, [1, H, len, D] slices for the composition (kv heads repeated).
  const toBhsd = (x: tf.Tensor, start: number, len: number, h: number) => tf.tidy(() =>
      repeatHeads(tf.expandDims(tf.transpose(tf.slice(x, [start, 0, 0], [len, -1, -1]), [1, 0, 2]), 0) as tf.Tensor4D, h));
  const seqs = lq.map((len, i) => ({
    q: toBhsd(q, cuQ[i], len, c.h), k: toBhsd(k, cuK[i], lk[i], c.h), v: toBhsd(v, cuK[i], lk[i], c.h),
  }));
  return {
    flash: () => flashAttention(q, k, v, {layout: 'thd', cuSeqlensQ: cuQ, cuSeqlensK: cuK, causal: c.causal}) as tf.Tensor,
    composition: () => {
      const outs = seqs.map(s => {
        const o = compositionAttention(s.q, s.k, s.v, c.causal);
        const t = tf.transpose(tf.squeeze(o, [0]), [1, 0, 2]);
        o.dispose();
        return t;
      });
      const out = tf.concat(outs, 0);
      tf.dispose(outs);
      return out;
    },
    dispose: () => tf.dispose([q, k, v, ...seqs.flatMap(s => [s.q, s.k, s.v])]),
  };
}

/** Builds the inputs for `c` on the active backend. The caller disposes the problem. */
export function buildProblem(c: Config): Problem {
  return c.preset === 'varlen' ? varlenProblem(c) : denseProblem(c);
}
