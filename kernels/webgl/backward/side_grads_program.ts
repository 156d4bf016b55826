/**
 * Epilogues of the side inputs' gradients:
 *   dSlopes[b, h] = −Σ_i (Σ_j dS_ij · |i + Sk − Sq − j|), from the ALiBi column of the dQ accumulator
 *     (dq_program.ts), summed over the head's rows (and over the batch for per-head slopes [Hq]);
 *   dBias: the dense accumulator of dbias_program.ts, read back in flat order (the bias's own shape).
 */
import type {FlashAttentionSpec} from '../../../src/spec';
import {denseGlsl} from '../dense_copy_program';
import {geoUniform, TEXEL_GLSL, TexelLayout} from '../texel_layout';
import type {ProgramDef} from '../webgl_program';
import type {GradGeometry} from './grad_geometry';

export function dSlopesProgram(spec: FlashAttentionSpec, geo: GradGeometry, size: number): ProgramDef {
  return {
    name: 'GradDSlopes', key: '',
    inputs: ['dq'], packedInputs: true, packedOutput: false, outputShape: [size],
    uniforms: [
      geoUniform('dq', geo.dq),
      {name: 'dTexels', type: 'int', value: geo.dTexels},
      {name: 'heads', type: 'int', value: spec.numHeadsQ},
      {name: 'batch', type: 'int', value: spec.batch},
      {name: 'headPairs', type: 'int', value: geo.seqQPadded / 2},
      {name: 'perBatch', type: 'int', value: spec.alibiBatchStride !== 0 ? 1 : 0},
    ],
    body: `
${TEXEL_GLSL}
void main() {
  int e = getOutputCoords();
  int h = e, b0 = 0, b1 = batch;
  if (perBatch == 1) { b0 = e / heads; h = e - b0 * heads; b1 = b0 + 1; }
  float sum = 0.0;
  for (int b = b0; b < b1; b++) {
    int base = (b * heads + h) * headPairs;
    for (int rp = 0; rp < headPairs; rp++) {
      vec4 t = texelFetch(dq, groupBase(dqGeo, base + rp) + ivec2(dTexels, 0), 0);
      sum += t.x + t.y;
    }
  }
  setOutput(-sum);
}
`,
  };
}

export function denseOutputProgram(layout: TexelLayout, size: number): ProgramDef {
  return {
    name: 'GradDenseOutput', key: '',
    inputs: ['x'], packedInputs: true, packedOutput: false, outputShape: [size],
    uniforms: [geoUniform('x', layout)],
    body: `
${TEXEL_GLSL}
${denseGlsl('x')}
void main() {
  setOutput(xAt(getOutputCoords()));
}
`,
  };
}
