/**
 * Epilogue: one accumulator (dQ, dK or dV, 2×2 texels [rows × columns]) times a scale, written in the
 * caller's layout of q (dQ) or k (dK, dV): one fragment per element, the flat index decomposed by the
 * layout, a varlen row's sequence found by binary search in cuSeqlens (../query_row.ts, which serves
 * the key side too: its "query" uniforms then describe keys).
 */
import type {FlashAttentionSpec} from '../../../src/spec';
import {headMajorUniform, queryRowGlsl, rowOfElementGlsl} from '../query_row';
import {geoUniform, TEXEL_GLSL, TexelLayout} from '../texel_layout';
import type {ProgramDef} from '../webgl_program';
import type {GradGeometry} from './grad_geometry';

export interface GradOutputParams {
  /** 'q': rows of q (dQ); 'k': rows of k (dK, dV). */
  side: 'q'|'k';
  acc: TexelLayout;
  /** First texel of the value inside each accumulator group (dV follows dK in one group). */
  texelOffset: number;
  scale: number;
  size: number;
  /** Layout of the dense copy of cuSeqlens (varlen), else null. */
  cuLayout: TexelLayout|null;
}

export function gradOutputProgram(spec: FlashAttentionSpec, geo: GradGeometry, p: GradOutputParams): ProgramDef {
  const isQ = p.side === 'q';
  return {
    name: 'GradOutput', key: spec.varlen ? 'varlen' : 'dense',
    inputs: ['acc', ...(spec.varlen ? ['cuQ'] : [])],
    packedInputs: true, packedOutput: false, outputShape: [p.size],
    uniforms: [
      {name: 'heads', type: 'int', value: isQ ? spec.numHeadsQ : spec.numHeadsK},
      {name: 'seqlen', type: 'int', value: isQ ? spec.totalQ : spec.totalK},
      {name: 'batch', type: 'int', value: spec.batch},
      {name: 'padded', type: 'int', value: isQ ? geo.seqQPadded : geo.seqKPadded},
      ...(p.cuLayout ? [geoUniform('cuQ', p.cuLayout)] : []),
      geoUniform('acc', p.acc),
      {name: 'headDim', type: 'int', value: spec.headDim},
      headMajorUniform(spec),
      {name: 'texelOffset', type: 'int', value: p.texelOffset},
      {name: 'scale', type: 'float', value: p.scale},
    ],
    body: `
${TEXEL_GLSL}
${queryRowGlsl(spec.varlen)}
${rowOfElementGlsl(spec.varlen)}

void main() {
  int f = getOutputCoords();
  int d = f % headDim, r = rowOfElement(f / headDim);
  vec4 a = texelFetch(acc, groupBase(accGeo, r >> 1) + ivec2(texelOffset + (d >> 1), 0), 0);
  setOutput(a[2 * (r & 1) + (d & 1)] * scale);
}
`,
  };
}
