/**
 * Attention over projected heads with flashAttention: q [B, Sq, Hq, keyDim], k [B, Sk, Hk, keyDim],
 * v [B, Sk, Hk, valueDim] → [B, Sq, Hq, valueDim]. The op wants one head size for q, k and v, so when
 * keyDim ≠ valueDim all three are zero-padded to the larger one: zeros add nothing to q·k, the scale stays
 * 1/sqrt(keyDim), and the padded output columns (P·0) are sliced off.
 */
import {pad, Tensor} from '@tensorflow/tfjs-core';
import {flashAttention, FlashAttentionOptions} from '../index';
import {kerasCausalAttention} from './keras_causal';
import {sliceAxis} from './slice_axis';

const dim = (x: Tensor, axis: number) => (x.shape as number[])[axis];

export interface AttendOptions {
  /** Keras's causal mask (query i sees keys j <= i). */
  causal: boolean;
  /** Additive score bias, rank 4, broadcastable to [B, Hq, Sq, Sk]. */
  bias: Tensor|null;
  /** flashAttention's precision; null: the op's default. */
  precision: FlashAttentionOptions['precision']|null;
  /** Attention dropout for this call (training), or null. Each op call takes its own seed (seed, seed + 1). */
  dropout: {rate: number, seed: number}|null;
}

export function attend(q: Tensor, k: Tensor, v: Tensor, options: AttendOptions): Tensor {
  const keyDim = dim(q, 3), valueDim = dim(v, 3), d = Math.max(keyDim, valueDim);
  const widen = (x: Tensor) => (dim(x, 3) === d ? x : pad(x, [[0, 0], [0, 0], [0, 0], [0, d - dim(x, 3)]]));
  const softmaxScale = 1 / Math.sqrt(keyDim);
  let part = 0;  // Keras's causal mask may take two op calls (Sq > Sk): each its own dropout mask
  const call = (q: Tensor, k: Tensor, v: Tensor, causal: boolean, bias: Tensor|null) => flashAttention(q, k, v, {
    causal, softmaxScale, ...(bias ? {bias} : {}), ...(options.precision ? {precision: options.precision} : {}),
    ...(options.dropout ? {dropout: {rate: options.dropout.rate, seed: options.dropout.seed + part++}} : {}),
  });
  const [qd, kd, vd] = [widen(q), widen(k), widen(v)];
  const out = options.causal ? kerasCausalAttention(qd, kd, vd, options.bias, call) : call(qd, kd, vd, false, options.bias);
  return dim(out, 3) === valueDim ? out : sliceAxis(out, 3, 0, valueDim);
}
