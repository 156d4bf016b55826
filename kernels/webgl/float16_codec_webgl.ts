/**
 * ToFloat16 / FromFloat16 on the webgl backend, the codec on the GPU (half_glsl.ts), one fragment per
 * output float: pack x [rows × n] → one half's 16 bits per float [rows × 2·ceil(n/2)] (+0 past n);
 * unpack 16-bit pairs → values [rows × n]. Words cross the CPU boundary as 16-bit halves because a float32
 * texture cannot hold an int32 word exactly (fp8_words.ts), so ToFloat16, like QuantizeFp8, reads its
 * halves back (one synchronous read) and returns CPU-resident int32 words: the only way a tfjs-webgl int32
 * tensor can hold them bit-exactly.
 */
import type {MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';
import {KernelConfig, KernelFunc, TensorInfo, util} from '@tensorflow/tfjs-core';
import {Float16CodecAttrs, FromFloat16, ToFloat16} from '../../src/kernel_name';
import {halfWordsPerRow} from '../../src/spec';
import {checkFp8Supported, halvesToWords, wordsAsHalves} from './fp8_words';
import {HALF_GLSL} from './half_glsl';
import {flatView} from './webgl_inputs';
import {ProgramDef, runProgram} from './webgl_program';

interface CodecArgs {
  inputs: {x: TensorInfo};
  backend: MathBackendWebGL;
  attrs: Float16CodecAttrs;
}

function codecProgram(name: string, attrs: Float16CodecAttrs, size: number, main: string): ProgramDef {
  return {
    name, key: 'halves', inputs: ['x'], packedInputs: false, packedOutput: false, outputShape: [size],
    uniforms: [{name: 'rowLength', type: 'int', value: attrs.rowLength}, {name: 'wordsPerRow', type: 'int', value: halfWordsPerRow(attrs.rowLength)}],
    body: `${HALF_GLSL}\nvoid main() {\n  int f = getOutputCoords();\n${main}\n}\n`,
  };
}

function toFloat16WebGL({inputs: {x}, backend, attrs}: CodecArgs): TensorInfo {
  checkFp8Supported('toFloat16 (webgl)', 'float16');
  const wordsShape = [...x.shape.slice(0, -1), halfWordsPerRow(attrs.rowLength)];
  const words = util.sizeFromShape(wordsShape);
  if (words === 0) return backend.makeTensorInfo(wordsShape, 'int32', new Int32Array(0));
  const temps: TensorInfo[] = [];
  const halves = runProgram(backend, codecProgram('ToFloat16', attrs, 2 * words, `
  int row = f / (2 * wordsPerRow), c = f - row * 2 * wordsPerRow;
  setOutput(c < rowLength ? float(halfEncode(getX(row * rowLength + c))) : 0.0);`), [flatView(backend, x, temps)]);
  const values = backend.readSync(halves.dataId) as Float32Array;
  for (const t of [...temps, halves]) backend.disposeIntermediateTensorInfo(t);
  return backend.makeTensorInfo(wordsShape, 'int32', halvesToWords(values));
}

function fromFloat16WebGL({inputs: {x: words}, backend, attrs}: CodecArgs): TensorInfo {
  const shape = [...words.shape.slice(0, -1), attrs.rowLength];
  const size = util.sizeFromShape(shape);
  if (size === 0) return backend.makeTensorInfo(shape, 'float32', new Float32Array(0));
  const halves = wordsAsHalves(backend, words, 'fromFloat16 (webgl)', 'float16');
  const out = runProgram(backend, codecProgram('FromFloat16', attrs, size, `
  int row = f / rowLength, c = f - row * rowLength;
  setOutput(halfAt(row * wordsPerRow, c));`), [halves]);
  backend.disposeIntermediateTensorInfo(halves);
  return {dataId: out.dataId, shape, dtype: 'float32'};
}

export const toFloat16WebGLConfig: KernelConfig = {
  kernelName: ToFloat16, backendName: 'webgl', kernelFunc: toFloat16WebGL as unknown as KernelFunc,
};
export const fromFloat16WebGLConfig: KernelConfig = {
  kernelName: FromFloat16, backendName: 'webgl', kernelFunc: fromFloat16WebGL as unknown as KernelFunc,
};
