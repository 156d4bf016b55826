/** FlashAttentionGrad on the cpu backend: inputs → spec → the tiled backward loop → dq, dk, dv (+ dBias, dSlopes). */
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';
import type {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import {FlashAttentionAttrs, FlashAttentionGrad, FlashAttentionGradInputs} from '../../src/kernel_name';
import {attentionBackward} from './attention_backward_loop';
import {optionalValues, valuesOf} from './backend_values';

const size = (t: TensorInfo) => t.shape.reduce((a, b) => a * b, 1);

function flashAttentionGradCpu(args: {inputs: FlashAttentionGradInputs, backend: MathBackendCPU, attrs: FlashAttentionAttrs}): TensorInfo[] {
  const {inputs, backend, attrs: spec} = args;
  const result = {
    dq: new Float32Array(size(inputs.q)),
    dk: new Float32Array(size(inputs.k)),
    dv: new Float32Array(size(inputs.v)),
    dBias: inputs.bias ? new Float64Array(size(inputs.bias)) : null,
    dSlopes: inputs.alibiSlopes ? new Float64Array(size(inputs.alibiSlopes)) : null,
  };
  attentionBackward(spec, {
    q: valuesOf(backend, inputs.q), k: valuesOf(backend, inputs.k), v: valuesOf(backend, inputs.v),
    output: valuesOf(backend, inputs.output), dOutput: valuesOf(backend, inputs.dOutput),
    lse: valuesOf(backend, inputs.lse), dLse: optionalValues(backend, inputs.dLse),
    bias: optionalValues(backend, inputs.bias), alibiSlopes: optionalValues(backend, inputs.alibiSlopes),
    cuSeqlensQ: optionalValues(backend, inputs.cuSeqlensQ), cuSeqlensK: optionalValues(backend, inputs.cuSeqlensK),
    cacheSeqlens: optionalValues(backend, inputs.cacheSeqlens),
  }, result);
  const outputs = [
    backend.makeTensorInfo(inputs.q.shape, 'float32', result.dq),
    backend.makeTensorInfo(inputs.k.shape, 'float32', result.dk),
    backend.makeTensorInfo(inputs.v.shape, 'float32', result.dv),
  ];
  if (inputs.bias) outputs.push(backend.makeTensorInfo(inputs.bias.shape, 'float32', Float32Array.from(result.dBias!)));
  if (inputs.alibiSlopes) outputs.push(backend.makeTensorInfo(inputs.alibiSlopes.shape, 'float32', Float32Array.from(result.dSlopes!)));
  return outputs;
}

export const flashAttentionGradCpuConfig: KernelConfig = {
  kernelName: FlashAttentionGrad,
  backendName: 'cpu',
  kernelFunc: flashAttentionGradCpu as unknown as KernelFunc,
};
