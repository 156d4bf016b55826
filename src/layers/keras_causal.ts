/**
 * Keras's causal mask through flashAttention's causal flag, with no Sq×Sk matrix. Keras lets query i see
 * keys j <= i (top-left aligned); the op's causal flag is bottom-right aligned (j <= i + Sk - Sq). They agree
 * when Sq = Sk. When Sq < Sk, keys from Sq on are visible to no query: drop them and the two agree again.
 * When Sq > Sk, queries from Sk on see every key: they get a second, non-causal call.
 */
import {concat, Tensor} from '@tensorflow/tfjs-core';
import {sliceAxis} from './slice_axis';

/** One flashAttention call on [B, S, H, D] tensors; bias rank 4 broadcastable to [B, Hq, Sq, Sk], or null. */
export type AttentionCall = (q: Tensor, k: Tensor, v: Tensor, causal: boolean, bias: Tensor|null) => Tensor;

export function kerasCausalAttention(q: Tensor, k: Tensor, v: Tensor, bias: Tensor|null, call: AttentionCall): Tensor {
  const sq = (q.shape as number[])[1], sk = (k.shape as number[])[1];
  if (sq === sk) return call(q, k, v, true, bias);
  if (sq < sk) {
    return call(q, sliceAxis(k, 1, 0, sq), sliceAxis(v, 1, 0, sq), true, bias && sliceAxis(bias, 3, 0, sq));
  }
  const head = call(sliceAxis(q, 1, 0, sk), k, v, true, bias && sliceAxis(bias, 2, 0, sk));
  const tail = call(sliceAxis(q, 1, sk, sq - sk), k, v, false, bias && sliceAxis(bias, 2, sk, sq - sk));
  return concat([head, tail], 1);
}
