/**
 * QuantizeFp8 / DequantizeFp8 on the webgl backend. The codec runs on the GPU (fp8_codec_programs.ts);
 * words cross the CPU boundary as 16-bit halves because a float32 texture cannot hold an int32 word
 * exactly (fp8_words.ts). Quantize therefore reads its halves back (one synchronous read, as tfjs's
 * own webgl kernels do for outputs a texture cannot represent) and returns CPU-resident int32 words.
 */
import type {MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';
import {KernelConfig, KernelFunc, TensorInfo, util} from '@tensorflow/tfjs-core';
import {DequantizeFp8, Fp8CodecAttrs, Fp8CodecInputs, QuantizeFp8} from '../../src/kernel_name';
import {fp8WordsPerRow} from '../../src/spec';
import {dequantizeProgram, quantizeProgram} from './fp8_codec_programs';
import {checkFp8Supported, halvesToWords, wordsAsHalves} from './fp8_words';
import {flatView} from './webgl_inputs';
import {runProgram} from './webgl_program';

interface CodecArgs {
  inputs: Fp8CodecInputs;
  backend: MathBackendWebGL;
  attrs: Fp8CodecAttrs;
}

function quantizeFp8WebGL({inputs, backend, attrs}: CodecArgs): TensorInfo {
  checkFp8Supported('quantizeFp8 (webgl)');
  const {x, scales} = inputs;
  const wordsShape = [...x.shape.slice(0, -1), fp8WordsPerRow(attrs.rowLength)];
  const words = util.sizeFromShape(wordsShape);
  if (words === 0) return backend.makeTensorInfo(wordsShape, 'int32', new Int32Array(0));
  const temps: TensorInfo[] = [];
  const views = [x, ...(scales ? [scales] : [])].map(t => flatView(backend, t, temps));
  const halves = runProgram(backend, quantizeProgram(attrs, scales != null, 2 * words), views);
  const values = backend.readSync(halves.dataId) as Float32Array;
  for (const t of [...temps, halves]) backend.disposeIntermediateTensorInfo(t);
  return backend.makeTensorInfo(wordsShape, 'int32', halvesToWords(values));
}

function dequantizeFp8WebGL({inputs, backend, attrs}: CodecArgs): TensorInfo {
  const what = 'dequantizeFp8 (webgl)';
  const {x: words, scales} = inputs;
  const shape = [...words.shape.slice(0, -1), attrs.rowLength];
  const size = util.sizeFromShape(shape);
  if (size === 0) return backend.makeTensorInfo(shape, 'float32', new Float32Array(0));
  const halves = wordsAsHalves(backend, words, what);
  const temps: TensorInfo[] = [halves];
  const views = [halves, ...(scales ? [flatView(backend, scales, temps)] : [])];
  const out = runProgram(backend, dequantizeProgram(attrs, scales != null, size), views);
  for (const t of temps) backend.disposeIntermediateTensorInfo(t);
  return {dataId: out.dataId, shape, dtype: 'float32'};
}

export const quantizeFp8WebGLConfig: KernelConfig = {
  kernelName: QuantizeFp8, backendName: 'webgl', kernelFunc: quantizeFp8WebGL as unknown as KernelFunc,
};
export const dequantizeFp8WebGLConfig: KernelConfig = {
  kernelName: DequantizeFp8, backendName: 'webgl', kernelFunc: dequantizeFp8WebGL as unknown as KernelFunc,
};
