/**
 * The gradient of the attention sinks, shared by every backend. The sink of head h is one more logit in
 * each row's softmax with no value, so its weight is P_sink(i) = exp(sink_h − lse_i) (the LSE includes it)
 * and, with D_i = dO_i · O_i − dLse_i (the row statistic of FlashAttention-2's backward),
 *   d out_i / d sink_h = −P_sink(i) · out_i,   d lse_i / d sink_h = P_sink(i)
 *   ⇒ dsink_h = −Σ_i P_sink(i) · D_i   over every row i of head h (all sequences).
 * It needs only per-row values (O, dO, LSE), never S or P, so it is a few tfjs ops on [B, Hq, Sq] here
 * rather than a reduction in each backend's kernels; those see the sink only through the LSE.
 */
import {exp, mul, neg, reshape, sub, sum, Tensor, transpose, where, zerosLike, equal} from '@tensorflow/tfjs-core';
import type {FlashAttentionSpec} from './spec';

/** Σ_d dO ∘ O per row, in the LSE's layout ([B, Hq, Sq] dense, [Hq, Tq] varlen). */
function rowDot(spec: FlashAttentionSpec, output: Tensor, dOutput: Tensor): Tensor {
  const dots = sum(mul(output, dOutput), -1);
  return spec.layout === 'bhsd' ? dots : spec.layout === 'bshd' ? transpose(dots, [0, 2, 1]) : transpose(dots, [1, 0]);
}

export function sinkGradient(
    spec: FlashAttentionSpec, sinks: Tensor, output: Tensor, dOutput: Tensor, lse: Tensor, dLse?: Tensor): Tensor {
  const perRow = spec.varlen ? reshape(sinks, [spec.numHeadsQ, 1]) : reshape(sinks, [1, spec.numHeadsQ, 1]);
  let d = rowDot(spec, output, dOutput);
  if (dLse != null) d = sub(d, dLse);
  // A row whose LSE is −inf (a −inf sink and no visible key) has no sink weight, not exp(−inf + inf).
  const pSink = where(equal(lse, -Infinity), zerosLike(lse), exp(sub(perRow, lse)));
  return neg(sum(mul(pSink, d), spec.varlen ? [1] : [0, 2]));
}
