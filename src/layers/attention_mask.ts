/**
 * The call option `attentionMask` as flashAttention's additive `bias`. Keras's mask is [B, Sq, Sk] with true
 * (or non-zero: Keras casts it to bool) meaning "may attend"; here a bool or int mask becomes 0 / -Infinity,
 * and a float32 mask is taken as an additive bias as it is. Ranks: 2 [Sq, Sk], 3 [B, Sq, Sk] (Keras), or
 * 4 [B, Hq, Sq, Sk] (per head); any axis may be 1 (broadcast). The result has rank 4.
 */
import {cast, expandDims, fill, reshape, Tensor, where, zeros} from '@tensorflow/tfjs-core';

export interface ScoreShape {
  batch: number;
  heads: number;
  sq: number;
  sk: number;
}

export function maskToBias(mask: Tensor, target: ScoreShape): Tensor {
  const {batch, heads, sq, sk} = target;
  const wanted = `[B, Sq, Sk] = [${batch}, ${sq}, ${sk}] (or [Sq, Sk], or [B, Hq, Sq, Sk] with Hq = ${heads}; any axis may be 1)`;
  if (!(mask instanceof Tensor)) throw new Error(`MultiHeadAttention: attentionMask must be a tf.Tensor, got ${typeof mask}`);
  if (mask.rank < 2 || mask.rank > 4) {
    throw new Error(`MultiHeadAttention: attentionMask must have rank 2, 3 or 4, broadcastable to ${wanted}; got shape [${mask.shape}]`);
  }
  const full = mask.rank === 4 ? [batch, heads, sq, sk] : mask.rank === 3 ? [batch, sq, sk] : [sq, sk];
  if (!mask.shape.every((n, i) => n === 1 || n === full[i])) {
    throw new Error(`MultiHeadAttention: attentionMask of shape [${mask.shape}] is not broadcastable to ${wanted}`);
  }
  let bias: Tensor;
  if (mask.dtype === 'float32') {
    bias = mask;
  } else if (mask.dtype === 'bool' || mask.dtype === 'int32') {
    bias = where(cast(mask, 'bool'), zeros(mask.shape), fill(mask.shape, -Infinity));
  } else {
    throw new Error(`MultiHeadAttention: attentionMask must be bool, int32 (0 = masked) or float32 (additive), got ${mask.dtype}`);
  }
  if (mask.rank === 3) bias = expandDims(bias, 1);
  if (mask.rank === 2) bias = reshape(bias, [1, 1, ...mask.shape]);
  return bias;
}
