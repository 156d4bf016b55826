/**
 * The gradient of FlashAttention (tf.grad / tf.grads / optimizers flow through the op).
 * FlashAttention-2 backward needs Q, K, V, O and the LSE. tfjs saves them when the forward runs under a
 * gradient tape: the forward then always writes the LSE (spec.lseForBackwardOnly when the caller did not
 * ask for it), so the backward never reruns the forward. The FlashAttentionGrad kernel of the active
 * backend then computes dQ, dK, dV (and dBias, dSlopes), with no Sq×Sk anywhere.
 */
import {engine, getKernel, GradConfig, NamedAttrMap, Tensor, zeros} from '@tensorflow/tfjs-core';
import {Float16Tensor, fromFloat16} from './float16';
import {asAttrs, FlashAttention, FlashAttentionGrad} from './kernel_name';
import {withFloat32Storage} from './normalize_spec';
import {sinkGradient} from './sink_gradient';
import {FlashAttentionSpec, kernelInputNames, layoutShape} from './spec';

/**
 * Which inputs this call's forward must save. tfjs reads `inputsToSave` once per forward, and which
 * optional inputs exist varies per call; the op names them (kernelInputNames) right before runKernel.
 */
let inputsToSave: string[] = ['q', 'k', 'v'];
export function setInputsToSave(spec: FlashAttentionSpec): void {
  inputsToSave = kernelInputNames(spec);
}

/**
 * Whether a forward starting now must write its LSE for a backward: a gradient tape records it and the
 * active backend has a FlashAttentionGrad kernel (elsewhere the backward cannot run anyway).
 */
export function backwardNeedsLse(): boolean {
  const e = engine();
  return e.isTapeOn() && getKernel(FlashAttentionGrad, e.backendName) != null;
}

/**
 * Float16 inputs in the backward. tfjs differentiates with respect to tf.Tensors only, and a float16
 * tensor's words are int32, so a half input has no gradient (its thunk throws if tfjs ever asks). The
 * float32 inputs of the same call do: the backward decodes the half inputs with fromFloat16 (exact, every
 * half is a float32) and runs the ordinary float32 backward on withFloat32Storage(spec). The saved O and LSE
 * are those of that float32 problem: the forward computed on exactly these values.
 */
function decodeHalfInputs(spec: FlashAttentionSpec, inputs: Record<string, Tensor>): FlashAttentionSpec {
  const storages = {q: spec.qStorage, k: spec.kStorage, v: spec.vStorage};
  if (!Object.values(storages).includes('float16')) return spec;
  for (const name of ['q', 'k', 'v'] as const) {
    if (storages[name] !== 'float16') continue;
    const [rows, heads] = name === 'q' ? [spec.totalQ, spec.numHeadsQ] : [spec.totalK, spec.numHeadsK];
    inputs[name] = fromFloat16(new Float16Tensor(inputs[name], layoutShape(spec, rows, heads)));
  }
  return withFloat32Storage(spec);
}

function noHalfGradient(name: string): () => Tensor {
  return () => {
    throw new Error(`flashAttention: ${name} is a float16 tensor (packed int32 words), which has no gradient; ` +
                    `pass a float32 ${name} to differentiate with respect to it`);
  };
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
    // The LSE was saved with the output (the forward writes it under a tape, asked for or not).
    const lse = saved[names.length + 1];
    if (lse == null) {
      throw new Error(`flashAttention: the forward saved no LSE for the backward ` +
                      `(backend '${engine().backendName}' has no ${FlashAttentionGrad} kernel)`);
    }
    const floatInputs = {...inputs};
    const floatSpec = decodeHalfInputs(spec, floatInputs);
    const gradInputs: Record<string, Tensor> = {...floatInputs, output, dOutput: dys[0], lse};
    // An LSE kept for the backward only never reached the caller, so its upstream gradient is zero.
    if (!spec.lseForBackwardOnly && dys[1] != null) gradInputs.dLse = dys[1];
    const grads = engine().runKernel(FlashAttentionGrad, gradInputs, asAttrs(floatSpec)) as Tensor[];
    const [dq, dk, dv] = grads;
    let next = 3;
    const result: Record<string, () => Tensor> = {
      q: spec.qStorage === 'float16' ? noHalfGradient('q') : () => dq,
      k: spec.kStorage === 'float16' ? noHalfGradient('k') : () => dk,
      v: spec.vStorage === 'float16' ? noHalfGradient('v') : () => dv,
    };
    if (spec.bias !== 'none') {
      const dBias = grads[next++];
      result.bias = () => dBias;
    }
    if (spec.alibi !== 'none') {
      const dSlopes = grads[next++];
      result.alibiSlopes = () => dSlopes;
    }
    if (spec.sinks) {
      // Every backend's kernels see the sink through the LSE only; its own gradient is per row (sink_gradient.ts).
      const dSinks = sinkGradient(spec, inputs.sinks, output, dys[0], lse, gradInputs.dLse);
      result.sinks = () => dSinks;
    }
    // cuSeqlens are integers: no gradient (tfjs still wants a float32 tensor of their shape).
    for (const name of names.slice(3)) result[name] ??= () => zeros(inputs[name].shape);
    return result;
  },
};
