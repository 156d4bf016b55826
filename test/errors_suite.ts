/** Every validation error of SPEC.md: thrown before any kernel runs, naming the argument, leaking nothing. */
import {expect} from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import {flashAttention, Float16Tensor, Fp8Tensor, quantizeFp8, toFloat16} from '../src/index';
import type {FlashAttentionOptions} from '../src/flash_attention';

type Input = tf.Tensor|Fp8Tensor|Float16Tensor;
interface ErrorCase {
  name: string;
  /** Builds [q, k, v, options]; every tensor it makes is disposed after the check. */
  make: (t: (shape: number[], dtype?: 'float32'|'int32') => tf.Tensor) => [Input, Input, Input, FlashAttentionOptions?];
  message: RegExp;
}

const Q = [1, 4, 2, 8], K = [1, 6, 2, 8];
const dense = (t: (s: number[]) => tf.Tensor, o: FlashAttentionOptions = {}): [Input, Input, Input, FlashAttentionOptions] => [t(Q), t(K), t(K), o];
const packed = (t: (s: number[]) => tf.Tensor, o: FlashAttentionOptions): [Input, Input, Input, FlashAttentionOptions] =>
    [t([5, 2, 8]), t([7, 2, 8]), t([7, 2, 8]), {layout: 'thd', ...o}];

export const ERROR_CASES: ErrorCase[] = [
  {name: 'unknown layout', make: t => dense(t, {layout: 'sbhd' as 'bshd'}), message: /layout must be 'bshd', 'bhsd' or 'thd'/},
  {name: 'wrong rank for the layout', make: t => [t([4, 2, 8]), t(K), t(K)], message: /q must have rank 4 \[B, S, H, D\]/},
  {name: 'wrong rank for thd', make: t => [t(Q), t(K), t(K), {layout: 'thd', cuSeqlensQ: [0, 4], cuSeqlensK: [0, 6]}], message: /q must have rank 3 \[T, H, D\]/},
  {name: 'k and v shapes differ', make: t => [t(Q), t(K), t([1, 5, 2, 8])], message: /k and v must have the same shape/},
  {name: 'mismatched batch', make: t => [t([2, 4, 2, 8]), t(K), t(K)], message: /same batch size/},
  {name: 'mismatched D', make: t => [t(Q), t([1, 6, 2, 4]), t([1, 6, 2, 4])], message: /share the head size D/},
  {name: 'Hq not a multiple of Hk', make: t => [t([1, 4, 3, 8]), t(K), t(K)], message: /Hq=3 must be a multiple of .* Hk=2/},
  {name: 'D above 256', make: t => [t([1, 2, 1, 257]), t([1, 2, 1, 257]), t([1, 2, 1, 257])], message: /head size D must be in 1\.\.256, got 257/},
  {name: 'zero-length sequence in a dense layout', make: t => [t([1, 0, 2, 8]), t(K), t(K)], message: /sequence lengths must be >= 1/},
  {name: 'int32 q', make: t => [t(Q, 'int32'), t(K), t(K)], message: /q must be float32 \(or a float16 \/ FP8 tensor\), got dtype int32/},
  {name: 'q not a tensor', make: t => [[1, 2] as unknown as tf.Tensor, t(K), t(K)], message: /q must be a tf.Tensor, a float16 tensor or an FP8 tensor/},
  {name: 'NaN softmaxScale', make: t => dense(t, {softmaxScale: NaN}), message: /softmaxScale must be a finite number, got NaN/},
  {name: 'infinite softmaxScale', make: t => dense(t, {softmaxScale: Infinity}), message: /softmaxScale must be a finite number/},
  {name: 'thd without cuSeqlens', make: t => packed(t, {}), message: /layout 'thd' needs cuSeqlensQ/},
  {name: 'cuSeqlens too short', make: t => packed(t, {cuSeqlensQ: [5], cuSeqlensK: [7]}), message: /cuSeqlensQ must have length B \+ 1 >= 2/},
  {name: 'cuSeqlens not starting at 0', make: t => packed(t, {cuSeqlensQ: [1, 5], cuSeqlensK: [0, 7]}), message: /cuSeqlensQ\[0\] must be 0/},
  {name: 'cuSeqlens decreasing', make: t => packed(t, {cuSeqlensQ: [0, 4, 3, 5], cuSeqlensK: [0, 1, 2, 7]}), message: /cuSeqlensQ must be non-decreasing/},
  {name: 'cuSeqlens last entry not T', make: t => packed(t, {cuSeqlensQ: [0, 5], cuSeqlensK: [0, 6]}), message: /cuSeqlensK's last entry must equal Tk .* = 7, got 6/},
  {name: 'cuSeqlensQ and cuSeqlensK lengths differ', make: t => packed(t, {cuSeqlensQ: [0, 5], cuSeqlensK: [0, 3, 7]}), message: /same length B \+ 1/},
  {name: 'cuSeqlens float tensor', make: t => packed(t, {cuSeqlensQ: t([2]), cuSeqlensK: [0, 7]}), message: /cuSeqlensQ must be an int32 Tensor1D/},
  {name: 'maxSeqlenQ below the longest sequence', make: t => packed(t, {cuSeqlensQ: [0, 5], cuSeqlensK: [0, 7], maxSeqlenQ: 3}), message: /maxSeqlenQ = 3 is less than the longest sequence/},
  {name: 'cuSeqlens with a dense layout', make: t => dense(t, {cuSeqlensQ: [0, 4]}), message: /cuSeqlensQ is only for layout 'thd'/},
  {name: 'bias not broadcastable', make: t => dense(t, {bias: t([1, 2, 4, 5])}), message: /bias of shape \[1, 2, 4, 5\] is not broadcastable to \[B, Hq, Sq, Sk\] = \[1, 2, 4, 6\]/},
  {name: 'bias of rank 5', make: t => dense(t, {bias: t([1, 1, 2, 4, 6])}), message: /bias must have rank <= 4/},
  {name: 'bias with thd', make: t => packed(t, {cuSeqlensQ: [0, 5], cuSeqlensK: [0, 7], bias: t([5, 7])}), message: /bias is not supported with layout 'thd'/},
  {name: 'int32 bias', make: t => dense(t, {bias: t([4, 6], 'int32')}), message: /bias must be float32/},
  {name: 'ALiBi slopes of the wrong shape', make: t => dense(t, {alibiSlopes: t([3])}), message: /alibiSlopes must have shape \[Hq\] = \[2\] or \[B, Hq\] = \[1, 2\], got \[3\]/},
  {name: 'FP8 k without a descale', make: t => {
    const words = t([1, 6, 2, 2], 'int32');
    return [t(Q), new Fp8Tensor(words, K, 'e4m3fn'), new Fp8Tensor(t([1, 6, 2, 2], 'int32'), K, 'e4m3fn', 1)];
  }, message: /k is FP8 but has no descale: pass kDescale/},
  {name: 'FP8 k with float v', make: t => [t(Q), quantizeFp8(t(K)), t(K)], message: /k and v must both be FP8/},
  {name: 'FP8 q with float k', make: t => [quantizeFp8(t(Q)), t(K), t(K)], message: /q is FP8, so k and v must be FP8 too/},
  {name: 'float16 k with FP8 v', make: t => [t(Q), toFloat16(t(K)), quantizeFp8(t(K))], message: /v is FP8 but k is a float16 tensor: k and v cannot mix FP8 and float16/},
  {name: 'FP8 k with float16 v', make: t => [toFloat16(t(Q)), quantizeFp8(t(K)), toFloat16(t(K))], message: /k is FP8 but v is a float16 tensor/},
  {name: 'FP8 q with float16 k and v', make: t => [quantizeFp8(t(Q)), toFloat16(t(K)), toFloat16(t(K))], message: /q is FP8, so k and v must be FP8 too/},
  {name: 'float16 k of another shape than v', make: t => [t(Q), toFloat16(t([1, 5, 2, 8])), t(K)], message: /k and v must have the same shape, got k \[1, 5, 2, 8\] and v \[1, 6, 2, 8\]/},
  {name: 'float16 q with another head size', make: t => [toFloat16(t([1, 4, 2, 7])), t(K), t(K)], message: /share the head size D, got q D=7 and k D=8/},
  {name: 'float16 q of the wrong rank', make: t => [toFloat16(t([4, 2, 8])), t(K), t(K)], message: /q must have rank 4 \[B, S, H, D\] for layout 'bshd', got shape \[4, 2, 8\]/},
  {name: 'a disposed float16 v', make: t => {
    const v = toFloat16(t(K));
    v.dispose();
    return [t(Q), t(K), v];
  }, message: /v \(float16\) has been disposed/},
  {name: 'descale for a float16 tensor', make: t => [t(Q), toFloat16(t(K)), toFloat16(t(K)), {kDescale: 2}], message: /kDescale applies to an FP8 k only, but k is float16/},
  {name: 'descale tensor of the wrong length', make: t => [t(Q), quantizeFp8(t(K)), quantizeFp8(t(K)), {kDescale: t([3]) as tf.Tensor1D}], message: /kDescale must be a number or a float32 Tensor1D of 2 entries/},
  {name: 'descale for a float tensor', make: t => dense(t, {qDescale: 2}), message: /qDescale applies to an FP8 q only/},
  {name: 'pScale without full FP8', make: t => [t(Q), quantizeFp8(t(K)), quantizeFp8(t(K)), {pScale: 100}], message: /pScale needs full FP8 mode/},
  {name: 'non-positive oScale', make: t => [quantizeFp8(t(Q)), quantizeFp8(t(K)), quantizeFp8(t(K)), {oScale: 0}], message: /oScale must be a finite number > 0, got 0/},
  {name: 'causal not a boolean', make: t => dense(t, {causal: 'yes' as unknown as boolean}), message: /causal must be a boolean/},
  {name: 'a misspelt option (casual) names the closest one', make: t => dense(t, {casual: true} as FlashAttentionOptions), message: /unknown option 'casual' \(did you mean 'causal'\?\)/},
  {name: 'a misspelt option (softmax_scale)', make: t => dense(t, {softmax_scale: 0.5} as FlashAttentionOptions), message: /unknown option 'softmax_scale' \(did you mean 'softmaxScale'\?\)/},
  {name: 'unknown precision', make: t => dense(t, {precision: 'bfloat16' as 'float16'}), message: /precision must be 'float32' or 'float16', got 'bfloat16'/},
  {name: 'precision not a string', make: t => dense(t, {precision: 16 as unknown as 'float16'}), message: /precision must be 'float32' or 'float16', got 16/},
  {name: 'window value below -1', make: t => dense(t, {windowSize: [-2, 0]}), message: /windowSize must be \[left, right\], two integers >= -1 .*got \[-2, 0\]/},
  {name: 'window value not an integer', make: t => dense(t, {windowSize: [3, 1.5]}), message: /windowSize must be \[left, right\], two integers >= -1 .*got \[3, 1.5\]/},
  {name: 'window not a pair', make: t => dense(t, {windowSize: 4 as unknown as [number, number]}), message: /windowSize must be \[left, right\].*got 4/},
  {name: 'negative softcap', make: t => dense(t, {softcap: -1}), message: /softcap must be a finite number > 0 \(0 or absent = off\), got -1/},
  {name: 'infinite softcap', make: t => dense(t, {softcap: Infinity}), message: /softcap must be a finite number > 0.*got Infinity/},
  {name: 'NaN softcap', make: t => dense(t, {softcap: NaN}), message: /softcap must be a finite number > 0.*got NaN/},
  {name: 'sinks of the wrong length', make: t => dense(t, {sinks: t([3])}), message: /sinks must be a float32 Tensor1D of Hq = 2 entries .*got float32 \[3\]/},
  {name: 'int32 sinks', make: t => dense(t, {sinks: t([2], 'int32')}), message: /sinks must be a float32 Tensor1D of Hq = 2 entries .*got int32 \[2\]/},
  {name: 'sinks of rank 2', make: t => dense(t, {sinks: t([1, 2])}), message: /sinks must be a float32 Tensor1D .*got float32 \[1, 2\]/},
  {name: 'dropout rate 1', make: t => dense(t, {dropout: {rate: 1, seed: 0}}), message: /dropout.rate must be a number in \[0, 1\), got 1/},
  {name: 'negative dropout rate', make: t => dense(t, {dropout: {rate: -0.1, seed: 0}}), message: /dropout.rate must be a number in \[0, 1\), got -0.1/},
  {name: 'NaN dropout rate', make: t => dense(t, {dropout: {rate: NaN, seed: 0}}), message: /dropout.rate must be a number in \[0, 1\), got NaN/},
  {name: 'dropout seed not an integer', make: t => dense(t, {dropout: {rate: 0.1, seed: 1.5}}), message: /dropout.seed must be an integer, got 1.5/},
  {name: 'dropout with a misspelt field', make: t => dense(t, {dropout: {rate: 0.1, sead: 1} as unknown as {rate: number, seed: number}}), message: /dropout: unknown field 'sead' \(did you mean 'seed'\?\)/},
  {name: 'cacheSeqlens of the wrong length', make: t => dense(t, {cacheSeqlens: [3, 4]}), message: /cacheSeqlens must have B = 1 entries \(one per sequence\), got 2/},
  {name: 'cacheSeqlens past the capacity Sk', make: t => dense(t, {cacheSeqlens: [K[1] + 1]}), message: new RegExp(`cacheSeqlens\\[0\\] = ${K[1] + 1} must be in 0\\.\\.Sk = ${K[1]}`)},
  {name: 'negative cacheSeqlens', make: t => dense(t, {cacheSeqlens: [-1]}), message: /cacheSeqlens\[0\] = -1 must be in 0\.\.Sk/},
  {name: 'cacheSeqlens not integers', make: t => dense(t, {cacheSeqlens: [2.5]}), message: /cacheSeqlens must hold integers/},
  {name: 'cacheSeqlens as a float tensor', make: t => dense(t, {cacheSeqlens: t([1])}), message: /cacheSeqlens must be an int32 Tensor1D, got float32/},
  {name: 'cacheSeqlens with thd', make: t => packed(t, {cuSeqlensQ: [0, 5], cuSeqlensK: [0, 7], cacheSeqlens: [3]}), message: /cacheSeqlens is for the dense layouts/},
  {name: 'a misspelt variant (window_size) names the closest option', make: t => dense(t, {window_size: [4, 0]} as FlashAttentionOptions), message: /unknown option 'window_size' \(did you mean 'windowSize'\?\)/},
  {name: 'a misspelt variant (softCap)', make: t => dense(t, {softCap: 30} as FlashAttentionOptions), message: /unknown option 'softCap' \(did you mean 'softcap'\?\)/},
];

/** Registers the error tests for the active backend. `otherBackend` lets us build a foreign tensor. */
export function defineErrorTests(otherBackend: string|null): void {
  describe('bad input throws a named error before any GPU work, leaking nothing', () => {
    for (const c of ERROR_CASES) {
      it(c.name, () => {
        const made: Input[] = [];
        const t = (shape: number[], dtype: 'float32'|'int32' = 'float32') => {
          const x = tf.zeros(shape, dtype);
          made.push(x);
          return x;
        };
        const [q, k, v, options] = c.make(t);
        for (const x of [q, k, v]) if (x instanceof Fp8Tensor || x instanceof Float16Tensor) made.push(x);
        const before = tf.memory().numTensors;
        expect(() => flashAttention(q, k, v, options)).to.throw(Error, c.message);
        expect(tf.memory().numTensors, 'tensors leaked by the failed call').to.equal(before);
        for (const x of made) x.dispose();
      });
    }
    it('quantizeFp8 names a misspelt option before any GPU work', () => {
      const x = tf.zeros(K);
      const before = tf.memory().numTensors;
      expect(() => quantizeFp8(x, {fromat: 'e4m3fnuz'} as unknown as Parameters<typeof quantizeFp8>[1]))
          .to.throw(Error, /quantizeFp8: unknown option 'fromat' \(did you mean 'format'\?\)/);
      expect(tf.memory().numTensors, 'tensors leaked by the failed call').to.equal(before);
      x.dispose();
    });
    it('tensors from different backends', async function() {
      if (otherBackend == null) this.skip();
      const active = tf.getBackend();
      await tf.setBackend(otherBackend!);
      const foreign = tf.zeros(K);
      await tf.setBackend(active);
      const q = tf.zeros(Q), v = tf.zeros(K);
      const before = tf.memory().numTensors;
      expect(() => flashAttention(q, foreign, v)).to.throw(Error, /k lives on a different backend than q/);
      expect(tf.memory().numTensors).to.equal(before);
      tf.dispose([q, v, foreign]);
    });
  });
}
