/**
 * Epilogue: out = acc / l_i (· 1/pScale, · 1/oScale), written in q's layout (one fragment per output
 * element, q's flat index decomposed by the layout); a row with l = 0 (no visible key) is 0.
 */
import type {FlashAttentionSpec} from '../../src/spec';
import type {Geometry} from './geometry';
import {headMajorUniform, queryRowGlsl, queryRowUniforms, rowOfElementGlsl, STATS_OF_GLSL, statsUniform} from './query_row';
import {geoUniform, TEXEL_GLSL, TexelLayout} from './texel_layout';
import type {ProgramDef} from './webgl_program';

export function outputProgram(spec: FlashAttentionSpec, geo: Geometry, size: number, cuLayout: TexelLayout|null): ProgramDef {
  const outScale = (spec.pScale > 0 ? 1 / spec.pScale : 1) * (spec.oScale > 0 ? 1 / spec.oScale : 1);
  return {
    name: 'Output', key: spec.varlen ? 'varlen' : 'dense',
    inputs: ['acc0', 'acc1', 'acc2', 'acc3', 'stats0', 'stats1', ...(spec.varlen ? ['cuQ'] : [])],
    packedInputs: true, packedOutput: false, outputShape: [size],
    uniforms: [
      ...queryRowUniforms(spec, geo, cuLayout), statsUniform(geo), geoUniform('acc', geo.quadRows),
      {name: 'headDim', type: 'int', value: spec.headDim},
      headMajorUniform(spec),
      {name: 'outScale', type: 'float', value: outScale},
    ],
    body: `
${TEXEL_GLSL}
${queryRowGlsl(spec.varlen)}
${rowOfElementGlsl(spec.varlen)}
${STATS_OF_GLSL}

void main() {
  int f = getOutputCoords();
  int d = f % headDim, r = rowOfElement(f / headDim);
  // acc target 2·(row pair in the quad) + (column pair in the column quad), texel (row quad, column quad).
  int target = 2 * ((r >> 1) & 1) + ((d >> 1) & 1);
  ivec2 at = groupBase(accGeo, r >> 2) + ivec2(d >> 2, 0);
  vec4 a = target == 0 ? texelFetch(acc0, at, 0) : target == 1 ? texelFetch(acc1, at, 0) :
           target == 2 ? texelFetch(acc2, at, 0) : texelFetch(acc3, at, 0);
  float l = statsOf(r).y;
  setOutput(l == 0.0 ? 0.0 : a[2 * (r & 1) + (d & 1)] * outScale / l);
}
`,
  };
}
