/** QuantizeFp8 / DequantizeFp8 on the cpu backend: the scalar codecs of src/fp8_codec.ts over a tensor. */
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';
import type {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import {fp8DecodeTable, fp8Encode} from '../../src/fp8_codec';
import {DequantizeFp8, Fp8CodecAttrs, Fp8CodecInputs, QuantizeFp8} from '../../src/kernel_name';
import {fp8WordsPerRow} from '../../src/spec';
import {optionalValues, valuesOf} from './backend_values';

interface CodecArgs {
  inputs: Fp8CodecInputs;
  backend: MathBackendCPU;
  attrs: Fp8CodecAttrs;
}

/** The scale of logical element `flat` (per-axis scales, or the scalar). */
function scaleAt(attrs: Fp8CodecAttrs, scales: ArrayLike<number>|null, flat: number): number {
  return scales ? scales[Math.floor(flat / attrs.innerSize) % attrs.axisSize] : attrs.scale;
}

function quantizeFp8Cpu({inputs, backend, attrs}: CodecArgs): TensorInfo {
  const x = valuesOf(backend, inputs.x);
  const scales = optionalValues(backend, inputs.scales);
  const n = attrs.rowLength, wordsPerRow = fp8WordsPerRow(n), rows = x.length / n;
  const words = new Int32Array(rows * wordsPerRow);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < n; c++) {
      const flat = r * n + c;
      const code = fp8Encode(Math.fround(x[flat] * Math.fround(scaleAt(attrs, scales, flat))), attrs.format);
      words[r * wordsPerRow + (c >> 2)] |= code << ((c & 3) * 8);
    }
  }
  return backend.makeTensorInfo([...inputs.x.shape.slice(0, -1), wordsPerRow], 'int32', words);
}

function dequantizeFp8Cpu({inputs, backend, attrs}: CodecArgs): TensorInfo {
  const words = valuesOf(backend, inputs.x);
  const scales = optionalValues(backend, inputs.scales);
  const table = fp8DecodeTable(attrs.format);
  const n = attrs.rowLength, wordsPerRow = fp8WordsPerRow(n), rows = words.length / wordsPerRow;
  const x = new Float32Array(rows * n);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < n; c++) {
      const code = (words[r * wordsPerRow + (c >> 2)] >>> ((c & 3) * 8)) & 0xff;
      x[r * n + c] = table[code] * scaleAt(attrs, scales, r * n + c);
    }
  }
  return backend.makeTensorInfo([...inputs.x.shape.slice(0, -1), n], 'float32', x);
}

export const quantizeFp8CpuConfig: KernelConfig = {
  kernelName: QuantizeFp8, backendName: 'cpu', kernelFunc: quantizeFp8Cpu as unknown as KernelFunc,
};
export const dequantizeFp8CpuConfig: KernelConfig = {
  kernelName: DequantizeFp8, backendName: 'cpu', kernelFunc: dequantizeFp8Cpu as unknown as KernelFunc,
};
