/**
 * The public op: validate and normalize once (normalize_spec.ts), then run the `FlashAttention`
 * kernel of the active backend through the engine, so tidy, profile, memory and gradients work as
 * for tfjs's own ops.
 */
import {engine, op, Tensor, tensor1d} from '@tensorflow/tfjs-core';
import type {Float16Tensor} from './float16';
import {Fp8Tensor, quantizeFp8} from './fp8';
import {backwardNeedsLse, setInputsToSave} from './gradient';
import {asAttrs, FlashAttention} from './kernel_name';
import {AttentionInput, FlashAttentionOptions, normalizeSpec} from './normalize_spec';
import {kernelInputNames} from './spec';

export type {AttentionInput, FlashAttentionOptions} from './normalize_spec';

export type FlashAttentionOutput = Tensor|Fp8Tensor;
export interface FlashAttentionWithLse {
  output: FlashAttentionOutput;
  /** Natural-log LSE, float32 [B, Hq, Sq] ([Hq, Tq] for 'thd'); -Infinity for rows with no visible key. */
  lse: Tensor;
}

function flashAttention_(
    q: AttentionInput, k: AttentionInput, v: AttentionInput,
    options: FlashAttentionOptions = {}): FlashAttentionOutput|FlashAttentionWithLse {
  const {spec, tensors, arrays} = normalizeSpec(q, k, v, options, backwardNeedsLse());
  // Inputs in kernelInputNames order; cuSeqlens given as arrays are uploaded here, inside the op's scope.
  const inputs: Record<string, Tensor> = {};
  for (const name of kernelInputNames(spec)) inputs[name] = tensors[name] ?? tensor1d(arrays[name], 'int32');

  setInputsToSave(spec);
  const outputs = engine().runKernel(FlashAttention, inputs, asAttrs(spec)) as Tensor[];
  let output: FlashAttentionOutput = outputs[0];
  if (spec.oScale > 0) {
    // The kernel wrote clamp(acc / oScale): packing it is quantizeFp8 with scale 1, and the packed
    // tensor carries descale = oScale so dequantizeFp8 gives the attention result back.
    const packed = quantizeFp8(output, {format: spec.oFormat!});
    output = new Fp8Tensor(packed.words, packed.shape, packed.format, spec.oScale, spec.layout === 'bshd' ? 2 : 1);
  }
  // An LSE written for the backward only stays out of the result (tfjs saved its own copy; this one
  // is disposed with the op's scope).
  return spec.returnLse && !spec.lseForBackwardOnly ? {output, lse: outputs[1]} : output;
}

/**
 * FlashAttention-2 forward (vLLM's Triton "Fused Attention" semantics); see README.md and SPEC.md.
 * Returns the output (q's shape and layout), or {output, lse} with `returnLse: true`.
 */
export function flashAttention(q: AttentionInput, k: AttentionInput, v: AttentionInput,
                               options: FlashAttentionOptions&{returnLse: true}): FlashAttentionWithLse;
export function flashAttention(q: Tensor|Float16Tensor, k: AttentionInput, v: AttentionInput,
                               options?: FlashAttentionOptions&{oScale?: undefined}): Tensor;
export function flashAttention(q: AttentionInput, k: AttentionInput, v: AttentionInput,
                               options?: FlashAttentionOptions): FlashAttentionOutput;
export function flashAttention(
    q: AttentionInput, k: AttentionInput, v: AttentionInput,
    options?: FlashAttentionOptions): FlashAttentionOutput|FlashAttentionWithLse {
  return flashAttentionOp(q, k, v, options);
}
const flashAttentionOp = op({flashAttention_});
