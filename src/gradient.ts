/**
 * The gradient of FlashAttention (tf.grad / tf.grads / optimizers flow through the op).
 * FlashAttention-2 backward needs Q, K, V, O and the LSE: O is saved by the forward; the LSE is saved
 * when the forward returned it, otherwise one forward pass recomputes it (no Sq×Sk anywhere). The
 * FlashAttentionGrad kernel of the active backend then computes dQ, dK, dV (and dBias, dSlopes).
 */
import {engine, GradConfig, NamedAttrMap, Tensor, zeros} from '@tensorflow/tfjs-core';
import {asAttrs, FlashAttention, FlashAttentionGrad} from './kernel_name';
import {FlashAttentionSpec, kernelInputNames} from './spec';

/**
 * Which inputs this call's forward must save. tfjs reads `inputsToSave` once per forward, and which
 * optional inputs exist varies per call; the op names them (kernelInputNames) right before runKernel.
 */
let inputsToSave: string[] = ['q', 'k', 'v'];
export function setInputsToSave(spec: FlashAttentionSpec): void {
  inputsToSave = kernelInputNames(spec);
}

export const flashAttentionGradConfig: GradConfig = {
  kernelName: FlashAttention,
  get inputsToSave() {
    return inputsToSave;
  },
  outputsToSave: [true, true],
  gradFunc: (dy: Tensor|Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const spec = attrs as unknown as FlashAttentionSpec;
    if (spec.fp8Mode !== 'none') {
      throw new Error('flashAttention: FP8 inputs are forward-only; gradients need float32 q, k and v');
    }
    const names = kernelInputNames(spec);
    const inputs: Record<string, Tensor> = {};
    names.forEach((name, i) => (inputs[name] = saved[i]));
    const output = saved[names.length];
    const dys = Array.isArray(dy) ? dy : [dy];
    // -- the LSE: saved, or recomputed by one forward pass --
    const lse = spec.returnLse ? saved[names.length + 1] :
        (engine().runKernel(FlashAttention, inputs, asAttrs({...spec, returnLse: true})) as Tensor[])[1];
    const gradInputs: Record<string, Tensor> = {...inputs, output, dOutput: dys[0], lse};
    if (spec.returnLse && dys[1] != null) gradInputs.dLse = dys[1];
    const grads = engine().runKernel(FlashAttentionGrad, gradInputs, asAttrs(spec)) as Tensor[];
    const [dq, dk, dv] = grads;
    let next = 3;
    const result: Record<string, () => Tensor> = {q: () => dq, k: () => dk, v: () => dv};
    if (spec.bias !== 'none') {
      const dBias = grads[next++];
      result.bias = () => dBias;
    }
    if (spec.alibi !== 'none') {
      const dSlopes = grads[next++];
      result.alibiSlopes = () => dSlopes;
    }
    // cuSeqlens are integers: no gradient (tfjs still wants a float32 tensor of their shape).
    for (const name of names.slice(3)) result[name] ??= () => zeros(inputs[name].shape);
    return result;
  },
};
