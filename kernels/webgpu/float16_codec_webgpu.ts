/** ToFloat16 / FromFloat16 on the webgpu backend: x → Float16CodecProgram → one output, on the GPU. */
import type {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';
import type {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import {util} from '@tensorflow/tfjs-core';
import {Float16CodecAttrs, FromFloat16, ToFloat16} from '../../src/kernel_name';
import {halfWordsPerRow} from '../../src/spec';
import {Float16CodecProgram, float16CodecUniforms, HalfDirection} from './float16_codec_program';
import {uniformData} from './uniforms';
import {checkBindingSize, flatView, reshapedInfo} from './webgpu_tensors';

interface CodecArgs {
  inputs: {x: TensorInfo};
  backend: WebGPUBackend;
  attrs: Float16CodecAttrs;
}

function runCodec(direction: HalfDirection, {inputs: {x}, backend, attrs}: CodecArgs): TensorInfo {
  const lastAxis = direction === 'pack' ? halfWordsPerRow(attrs.rowLength) : attrs.rowLength;
  const shape = [...x.shape.slice(0, -1), lastAxis];
  const size = util.sizeFromShape(shape);
  const kernel = direction === 'pack' ? ToFloat16 : FromFloat16;
  checkBindingSize(backend, kernel, 'x', util.sizeFromShape(x.shape));
  checkBindingSize(backend, kernel, 'the output', size);
  const out = backend.runWebGPUProgram(
      new Float16CodecProgram(direction, attrs, size), [flatView(x)], direction === 'pack' ? 'int32' : 'float32',
      uniformData(float16CodecUniforms(attrs)));
  return reshapedInfo(out, shape);
}

/** ToFloat16 packs, FromFloat16 unpacks: one config per direction. */
export const [toFloat16WebgpuConfig, fromFloat16WebgpuConfig]: KernelConfig[] = (['pack', 'unpack'] as const).map(direction => ({
  kernelName: direction === 'pack' ? ToFloat16 : FromFloat16, backendName: 'webgpu',
  kernelFunc: ((args: CodecArgs) => runCodec(direction, args)) as unknown as KernelFunc,
}));
