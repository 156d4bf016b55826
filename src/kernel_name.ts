/** Kernel names, inputs and attrs, kept together as in tfjs's kernel_names.ts. */
import type {NamedAttrMap, TensorInfo} from '@tensorflow/tfjs-core';
import type {Fp8Format, FlashAttentionSpec} from './spec';

export const FlashAttention = 'FlashAttention';
export type FlashAttention = typeof FlashAttention;

/**
 * Tensor inputs of the FlashAttention kernel. q, k, v are float32, or int32 words of packed halves or
 * e4m3 codes as the spec's qStorage / kStorage / vStorage say. Optional inputs are present exactly when the
 * spec says so (bias: 'matrix', alibi: not 'none', varlen, a descale kind 'perHead').
 */
export interface FlashAttentionInputs {
  q: TensorInfo;
  k: TensorInfo;
  v: TensorInfo;
  bias?: TensorInfo;
  alibiSlopes?: TensorInfo;
  sinks?: TensorInfo;
  cuSeqlensQ?: TensorInfo;
  cuSeqlensK?: TensorInfo;
  /** int32 [B]: valid keys of each sequence of a padded KV cache. */
  cacheSeqlens?: TensorInfo;
  qDescale?: TensorInfo;
  kDescale?: TensorInfo;
  vDescale?: TensorInfo;
}

/** The attrs ARE the normalized spec: one object feeds every kernel. */
export type FlashAttentionAttrs = FlashAttentionSpec;

/**
 * Outputs: [output] or [output, lse]. output has q's shape in float32; in full FP8 mode with oScale
 * it holds clamp(acc / oScale, ±FP8_MAX), which the op packs into an FP8 tensor.
 */

export const QuantizeFp8 = 'QuantizeFp8';
export const DequantizeFp8 = 'DequantizeFp8';

/**
 * QuantizeFp8: x float32 of shape [..., n] → int32 words [..., ceil(n / 4)],
 * code = round_to_nearest_even(clamp(x · scale, ±FP8_MAX)). DequantizeFp8 is the inverse map,
 * value(code) · descale, from words back to float32 [..., n].
 * The scale (descale) is `scale` when no `scales` tensor is given, else scales[(flat / innerSize) % axisSize]
 * where flat is the element's index in the logical (unpacked) tensor.
 */
export interface Fp8CodecAttrs {
  format: Fp8Format;
  /** Logical length of the last axis (codes per row). */
  rowLength: number;
  scale: number;
  /** Per-axis scales: product of the logical dims after the scaled axis, and that axis' size. */
  innerSize: number;
  axisSize: number;
}
export interface Fp8CodecInputs {
  x: TensorInfo;
  scales?: TensorInfo;
}

export const ToFloat16 = 'ToFloat16';
export const FromFloat16 = 'FromFloat16';

/**
 * ToFloat16: x float32 [..., n] → int32 words [..., ceil(n / 2)], half 2m + e of a row (round to nearest
 * even, src/half.ts halfBits) in bits 16·e of word m, a padding half +0. FromFloat16: words → float32
 * [..., n], the value of each half. Input `x` in both directions.
 */
export interface Float16CodecAttrs {
  /** Logical length of the last axis (halves per row). */
  rowLength: number;
}

export function asAttrs<T extends object>(attrs: T): NamedAttrMap {
  return attrs as unknown as NamedAttrMap;
}

export const FlashAttentionGrad = 'FlashAttentionGrad';

/**
 * FlashAttention-2 backward. Same spec as the forward (attrs); inputs are the forward's plus the
 * forward output, its LSE and the upstream gradients. Outputs: [dq, dk, dv] (float32, shapes of q, k, v),
 * then dBias (bias's own shape, reduced over its broadcast axes) when bias is given, then dAlibiSlopes
 * when alibiSlopes is given.
 */
export interface FlashAttentionGradInputs extends FlashAttentionInputs {
  output: TensorInfo;
  dOutput: TensorInfo;
  lse: TensorInfo;
  /** Upstream gradient of the LSE output, when the forward returned it. */
  dLse?: TensorInfo;
}
