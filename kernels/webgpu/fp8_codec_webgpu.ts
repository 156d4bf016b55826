/** QuantizeFp8 / DequantizeFp8 on the webgpu backend: inputs → Fp8CodecProgram → one output. */
import type {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';
import type {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import {util} from '@tensorflow/tfjs-core';
import {DequantizeFp8, Fp8CodecAttrs, Fp8CodecInputs, QuantizeFp8} from '../../src/kernel_name';
import {fp8WordsPerRow} from '../../src/spec';
import {CodecDirection, Fp8CodecProgram, fp8CodecUniforms} from './fp8_codec_program';
import {uniformData} from './uniforms';
import {checkBindingSize, flatView, reshapedInfo} from './webgpu_tensors';

interface CodecArgs {
  inputs: Fp8CodecInputs;
  backend: WebGPUBackend;
  attrs: Fp8CodecAttrs;
}

function runCodec(direction: CodecDirection, {inputs, backend, attrs}: CodecArgs): TensorInfo {
  const {x, scales} = inputs;
  const lastAxis = direction === 'quantize' ? fp8WordsPerRow(attrs.rowLength) : attrs.rowLength;
  const shape = [...x.shape.slice(0, -1), lastAxis];
  const size = util.sizeFromShape(shape);
  const kernel = direction === 'quantize' ? QuantizeFp8 : DequantizeFp8;
  checkBindingSize(backend, kernel, 'x', util.sizeFromShape(x.shape));
  checkBindingSize(backend, kernel, 'the output', size);
  const program = new Fp8CodecProgram(direction, attrs, scales != null, size);
  const programInputs = scales != null ? [flatView(x), flatView(scales)] : [flatView(x)];
  const out = backend.runWebGPUProgram(
      program, programInputs, direction === 'quantize' ? 'int32' : 'float32', uniformData(fp8CodecUniforms(attrs)));
  return reshapedInfo(out, shape);
}

export const quantizeFp8WebgpuConfig: KernelConfig = {
  kernelName: QuantizeFp8,
  backendName: 'webgpu',
  kernelFunc: ((args: CodecArgs) => runCodec('quantize', args)) as unknown as KernelFunc,
};
export const dequantizeFp8WebgpuConfig: KernelConfig = {
  kernelName: DequantizeFp8,
  backendName: 'webgpu',
  kernelFunc: ((args: CodecArgs) => runCodec('dequantize', args)) as unknown as KernelFunc,
};
