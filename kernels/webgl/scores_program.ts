/**
 * Block pass 1, -- compute qk --: S = Q Kᵀ for one block of BLOCK_N keys, in log2 units (Q carries
 * softmaxScale · log2 e), with the score modifiers in one place: bias, ALiBi, and the masks (causal
 * bottom-right diagonal, sequence ends) as -inf. One fragment = a 2×2 texel [rows r, r+1 × keys j, j+1]:
 * per step two texel fetches feed 8 multiply-adds; a texel no row can see is -inf without any fetch
 * (this is where causal blocks above the diagonal are skipped).
 */
import type {FlashAttentionSpec} from '../../src/spec';
import {rowGlsl, rowUniforms, unrolledLoop} from './block_common';
import {denseGlsl} from './dense_copy_program';
import type {Geometry} from './geometry';
import {geoUniform, layoutShape, outGeoUniform, OUTPUT_TEXEL_GLSL, TexelLayout} from './texel_layout';
import type {ProgramDef} from './webgl_program';

const LOG2E = Math.LOG2E;

export function scoresProgram(
    spec: FlashAttentionSpec, geo: Geometry, j0: number, biasLayout: TexelLayout|null): ProgramDef {
  const bias = spec.bias === 'matrix', alibi = spec.alibi !== 'none';
  return {
    name: 'Scores',
    key: `${spec.causal ? 'causal' : 'full'}|bias=${bias}|alibi=${alibi}`,
    inputs: ['q', 'k', 'rowInfo', ...(bias ? ['bias'] : [])],
    packedInputs: true, packedOutput: true, outputShape: layoutShape(geo.block),
    uniforms: [
      outGeoUniform(geo.block), geoUniform('q', geo.rows), geoUniform('k', geo.keys),
      ...rowUniforms(spec, geo, j0),
      ...(bias ? [geoUniform('bias', biasLayout!), {name: 'biasStrides', type: 'ivec4' as const, value: spec.biasStrides}] : []),
    ],
    body: `
${OUTPUT_TEXEL_GLSL}
${rowGlsl(spec.causal)}
${bias ? denseGlsl('bias') : ''}

void main() {
  ivec2 o = outputTexel();
  if (o.x < 0) { setOutput(vec4(0.0)); return; }
  Row row = rowOf(o.x);
  int j = blockStart + 2 * o.y;
  // -- masks: key j visible to row i iff j < lenK and (causal) j <= i + lenK - lenQ --
  int end0 = row.i < row.lenQ ? row.lenK : 0;
  int end1 = row.i + 1 < row.lenQ ? row.lenK : 0;
  ${spec.causal ? `int diagonal = row.lenK - row.lenQ;
  end0 = min(end0, row.i + 1 + diagonal);
  end1 = min(end1, row.i + 2 + diagonal);` : ''}
  ivec4 keys = ivec4(j, j + 1, j, j + 1);
  bvec4 visible = lessThan(keys, ivec4(end0, end0, end1, end1));
  if (!any(visible)) { setOutput(vec4(-FA_INF)); return; }

  // -- compute qk --
  ivec2 qBase = groupBase(qGeo, o.x);
  ivec2 kBase = groupBase(kGeo, row.kvPair0 + j / 2);
  vec4 s = vec4(0.0);
  ${unrolledLoop('qGeo.y', `vec4 qt = texelFetch(q, qBase + ivec2(t, 0), 0);
      vec4 kt = texelFetch(k, kBase + ivec2(t, 0), 0);
      s += qt.xxzz * kt.xzxz + qt.yyww * kt.ywyw;`)}

  // -- score modifiers --
  ivec4 rows = ivec4(row.i, row.i, row.i + 1, row.i + 1);
  ${bias ? `for (int c = 0; c < 4; c++) {
    if (visible[c]) {
      s[c] += biasAt(row.b * biasStrides.x + row.h * biasStrides.y + rows[c] * biasStrides.z +
                     keys[c] * biasStrides.w) * ${LOG2E};
    }
  }` : ''}
  ${alibi ? `s -= row.slope * abs(vec4(rows + (row.lenK - row.lenQ) - keys));` : ''}
  setOutput(mix(vec4(-FA_INF), s, visible));
}
`,
  };
}
