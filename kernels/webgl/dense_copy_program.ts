/**
 * Prep pass: copies a caller tensor (flattened) into a texel-addressed texture, four consecutive
 * elements per texel, so that the block passes (which read only this folder's textures) can index it:
 * element k is channel k % 4 of texel k / 4 (see DENSE_GLSL). Used for bias and cuSeqlensQ.
 */
import type {MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';
import {TensorInfo, util} from '@tensorflow/tfjs-core';
import {layoutShape, outGeoUniform, OUTPUT_TEXEL_GLSL, texelLayout, TexelLayout} from './texel_layout';
import {flatView} from './webgl_inputs';
import {ProgramDef, runProgram} from './webgl_program';

export function denseLayout(size: number, what: string): TexelLayout {
  return texelLayout(Math.max(1, Math.ceil(size / 4)), 1, what);
}

export function denseCopyProgram(layout: TexelLayout, size: number): ProgramDef {
  return {
    name: 'DenseCopy', key: '',
    inputs: ['x'], packedInputs: false, packedOutput: true, outputShape: layoutShape(layout),
    uniforms: [outGeoUniform(layout), {name: 'size', type: 'int', value: size}],
    body: `
${OUTPUT_TEXEL_GLSL}
void main() {
  ivec2 o = outputTexel();
  vec4 result = vec4(0.0);
  for (int c = 0; c < 4; c++) {
    int k = 4 * o.x + c;
    if (o.x >= 0 && k < size) result[c] = getX(k);
  }
  setOutput(result);
}
`,
  };
}

/** GLSL: element k of a dense copy `name` (with its `${name}Geo` uniform). */
export function denseGlsl(name: string): string {
  return `
float ${name}At(int k) {
  return texelFetch(${name}, groupBase(${name}Geo, k >> 2), 0)[k & 3];
}
`;
}

/** A caller tensor copied into a dense texel texture (its texture joins `temps`), with its layout. */
export function denseCopy(backend: MathBackendWebGL, t: TensorInfo, what: string, temps: TensorInfo[]):
    {info: TensorInfo, layout: TexelLayout} {
  const size = util.sizeFromShape(t.shape);
  const layout = denseLayout(size, what);
  const info = runProgram(backend, denseCopyProgram(layout, size), [flatView(backend, t, temps)]);
  temps.push(info);
  return {info, layout};
}
