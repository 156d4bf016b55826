/**
 * The FP8 codec over a tensor, one fragment per output float:
 *   quantize: x [rows × n] → 16-bit halves [rows × 2·ceil(n/4)] (two codes each, code c in byte c % 2);
 *   dequantize: halves → value(code) · descale [rows × n].
 * The scale of logical element i is `scale`, or scales[(i / innerSize) % axisSize].
 */
import type {Fp8CodecAttrs} from '../../src/kernel_name';
import {fp8WordsPerRow} from '../../src/spec';
import {fp8CodecGlsl} from './fp8_glsl';
import {fp8CodeGlsl} from './fp8_words';
import type {ProgramDef, Uniform} from './webgl_program';

function codecUniforms(attrs: Fp8CodecAttrs): Uniform[] {
  return [
    {name: 'rowLength', type: 'int', value: attrs.rowLength},
    {name: 'wordsPerRow', type: 'int', value: fp8WordsPerRow(attrs.rowLength)},
    {name: 'scale', type: 'float', value: attrs.scale},
    {name: 'axis', type: 'ivec2', value: [attrs.innerSize, attrs.axisSize]},
  ];
}

function scaleGlsl(perAxis: boolean): string {
  return `float scaleAt(int i) { return ${perAxis ? 'getScales((i / axis.x) % axis.y)' : 'scale'}; }`;
}

/** What both codec programs share: x (and per-axis scales) in, a flat unpacked output, the codec uniforms. */
function codecProgram(name: string, attrs: Fp8CodecAttrs, perAxis: boolean, size: number, body: string): ProgramDef {
  return {
    name, key: `${attrs.format}|perAxis=${perAxis}`, inputs: ['x', ...(perAxis ? ['scales'] : [])],
    packedInputs: false, packedOutput: false, outputShape: [size], uniforms: codecUniforms(attrs), body,
  };
}

export function quantizeProgram(attrs: Fp8CodecAttrs, perAxis: boolean, size: number): ProgramDef {
  return codecProgram('QuantizeFp8', attrs, perAxis, size, `
${fp8CodecGlsl(attrs.format)}
${scaleGlsl(perAxis)}
int codeAt(int row, int c) {
  if (c >= rowLength) return 0;
  int i = row * rowLength + c;
  return fp8Encode(getX(i) * scaleAt(i));
}
void main() {
  int f = getOutputCoords();
  int row = f / (2 * wordsPerRow), pair = f - row * 2 * wordsPerRow;
  int c = 4 * (pair >> 1) + 2 * (pair & 1);
  setOutput(float(codeAt(row, c) | (codeAt(row, c + 1) << 8)));
}
`);
}

export function dequantizeProgram(attrs: Fp8CodecAttrs, perAxis: boolean, size: number): ProgramDef {
  return codecProgram('DequantizeFp8', attrs, perAxis, size, `
${fp8CodecGlsl(attrs.format)}
${fp8CodeGlsl('getX')}
${scaleGlsl(perAxis)}
void main() {
  int f = getOutputCoords();
  int row = f / rowLength, c = f - row * rowLength;
  setOutput(fp8Decode(fp8CodeAt(row * wordsPerRow, c)) * scaleAt(f));
}
`);
}
