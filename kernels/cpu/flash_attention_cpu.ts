/** FlashAttention on the cpu backend: inputs → spec → the tiled loop (attention_loop.ts) → outputs. */
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';
import {KernelConfig, KernelFunc, TensorInfo, util} from '@tensorflow/tfjs-core';
import {FlashAttention, FlashAttentionAttrs, FlashAttentionInputs} from '../../src/kernel_name';
import {lseShape, outputShape} from '../../src/spec';
import {attentionForward} from './attention_loop';
import {optionalValues, valuesOf} from './backend_values';

const {sizeFromShape} = util;

export function flashAttentionCpu(args: {
  inputs: FlashAttentionInputs,
  backend: MathBackendCPU,
  attrs: FlashAttentionAttrs
}): TensorInfo[] {
  const {inputs, backend, attrs: spec} = args;
  const shape = outputShape(spec);
  const out = new Float32Array(sizeFromShape(shape));
  const lse = spec.returnLse ? new Float32Array(sizeFromShape(lseShape(spec))) : null;
  attentionForward(spec, {
    q: valuesOf(backend, inputs.q),
    k: valuesOf(backend, inputs.k),
    v: valuesOf(backend, inputs.v),
    bias: optionalValues(backend, inputs.bias),
    alibiSlopes: optionalValues(backend, inputs.alibiSlopes),
    sinks: optionalValues(backend, inputs.sinks),
    cuSeqlensQ: optionalValues(backend, inputs.cuSeqlensQ),
    cuSeqlensK: optionalValues(backend, inputs.cuSeqlensK),
    cacheSeqlens: optionalValues(backend, inputs.cacheSeqlens),
    qDescale: optionalValues(backend, inputs.qDescale),
    kDescale: optionalValues(backend, inputs.kDescale),
    vDescale: optionalValues(backend, inputs.vDescale),
  }, out, lse);
  const outputs = [backend.makeTensorInfo(shape, 'float32', out)];
  if (lse != null) outputs.push(backend.makeTensorInfo(lseShape(spec), 'float32', lse));
  return outputs;
}

export const flashAttentionCpuConfig: KernelConfig = {
  kernelName: FlashAttention,
  backendName: 'cpu',
  kernelFunc: flashAttentionCpu as unknown as KernelFunc,
};
