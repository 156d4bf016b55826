/** ToFloat16 / FromFloat16 on the cpu backend: src/half.ts's scalar codec over a tensor. */
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';
import type {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import {halfBits, halfDecodeTable} from '../../src/half';
import {Float16CodecAttrs, FromFloat16, ToFloat16} from '../../src/kernel_name';
import {halfWordsPerRow} from '../../src/spec';
import {valuesOf} from './backend_values';

interface CodecArgs {
  inputs: {x: TensorInfo};
  backend: MathBackendCPU;
  attrs: Float16CodecAttrs;
}

function toFloat16Cpu({inputs, backend, attrs}: CodecArgs): TensorInfo {
  const x = valuesOf(backend, inputs.x);
  const n = attrs.rowLength, wordsPerRow = halfWordsPerRow(n), rows = n === 0 ? 0 : x.length / n;
  const words = new Int32Array(rows * wordsPerRow);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < n; c++) words[r * wordsPerRow + (c >> 1)] |= halfBits(x[r * n + c]) << ((c & 1) * 16);
  }
  return backend.makeTensorInfo([...inputs.x.shape.slice(0, -1), wordsPerRow], 'int32', words);
}

function fromFloat16Cpu({inputs, backend, attrs}: CodecArgs): TensorInfo {
  const words = valuesOf(backend, inputs.x);
  const table = halfDecodeTable();
  const n = attrs.rowLength, wordsPerRow = halfWordsPerRow(n), rows = wordsPerRow === 0 ? 0 : words.length / wordsPerRow;
  const x = new Float32Array(rows * n);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < n; c++) x[r * n + c] = table[(words[r * wordsPerRow + (c >> 1)] >>> ((c & 1) * 16)) & 0xffff];
  }
  return backend.makeTensorInfo([...inputs.x.shape.slice(0, -1), n], 'float32', x);
}

export const toFloat16CpuConfig: KernelConfig = {
  kernelName: ToFloat16, backendName: 'cpu', kernelFunc: toFloat16Cpu as unknown as KernelFunc,
};
export const fromFloat16CpuConfig: KernelConfig = {
  kernelName: FromFloat16, backendName: 'cpu', kernelFunc: fromFloat16Cpu as unknown as KernelFunc,
};
