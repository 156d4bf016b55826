/**
 * Block pass 1 of the backward, -- recompute P --: for one block of BLOCK_N keys,
 *   S = cap(Q̃ Kᵀ) (log2 units: Q̃ carries softmaxScale · log2 e; cap = the soft-cap, else identity)
 *       + bias · log2 e − slope · log2 e · |i + Sk − Sq − j|
 *   P = exp2(S − lse_i · log2 e)       (the forward's final softmax, from the LSE it saved; it includes a sink)
 * masked (causal bottom-right, window, sequence ends, a row with no visible key: lse = -inf) to exactly 0.
 * One fragment = a 2×2 texel [rows r, r+1 × keys j, j+1]; a texel no row can see is 0 without a fetch.
 */
import {FlashAttentionSpec, hasWindow} from '../../../src/spec';
import {rowUniforms, softcapGlsl, windowGlsl} from '../block_common';
import {denseGlsl} from '../dense_copy_program';
import {geoUniform, layoutShape, outGeoUniform, OUTPUT_TEXEL_GLSL, TexelLayout} from '../texel_layout';
import type {ProgramDef} from '../webgl_program';
import type {GradGeometry} from './grad_geometry';
import {gradRowGlsl, pairDotGlsl} from './grad_rows';

export function gradProbsProgram(
    spec: FlashAttentionSpec, geo: GradGeometry, j0: number, biasLayout: TexelLayout|null): ProgramDef {
  const bias = spec.bias === 'matrix', alibi = spec.alibi !== 'none';
  return {
    name: 'GradProbs',
    key: `${spec.causal ? 'causal' : 'full'}|bias=${bias}|alibi=${alibi}|window=${hasWindow(spec)}|softcap=${spec.softcap > 0}`,
    inputs: ['q', 'k', 'rowInfo', 'stats', ...(bias ? ['bias'] : [])],
    packedInputs: true, packedOutput: true, outputShape: layoutShape(geo.block),
    uniforms: [
      outGeoUniform(geo.block), geoUniform('q', geo.rows), geoUniform('k', geo.keys), geoUniform('stats', geo.rowStats),
      ...rowUniforms(spec, geo, j0),
      ...(bias ? [geoUniform('bias', biasLayout!), {name: 'biasStrides', type: 'ivec4' as const, value: spec.biasStrides}] : []),
    ],
    body: `
${OUTPUT_TEXEL_GLSL}
${gradRowGlsl(spec)}
${bias ? denseGlsl('bias') : ''}
${softcapGlsl(spec)}

void main() {
  ivec2 o = outputTexel();
  if (o.x < 0) { setOutput(vec4(0.0)); return; }
  Row row = rowOf(o.x);
  int j = blockStart + 2 * o.y;
  vec2 lse2 = texelFetch(stats, groupBase(statsGeo, o.x), 0).xy;
  // -- masks: key j visible to row i iff j < lenK, (causal) j <= i + lenK - lenQ, and the row saw a key --
  int end0 = row.i < row.lenQ && lse2.x != -FA_INF ? row.lenK : 0;
  int end1 = row.i + 1 < row.lenQ && lse2.y != -FA_INF ? row.lenK : 0;
  ivec2 ends = ivec2(end0, end1), starts = ivec2(0), pairRows = ivec2(row.i, row.i + 1);
  ${spec.causal ? 'ends = min(ends, pairRows + 1 + row.lenK - row.lenQ);' : ''}
  ${windowGlsl(spec, 'starts', 'ends', 'pairRows', '(row.lenK - row.lenQ)')}
  ivec4 keys = ivec4(j, j + 1, j, j + 1);
  bvec4 visible = bvec4(ivec4(lessThan(keys, ends.xxyy)) * ivec4(greaterThanEqual(keys, starts.xxyy)));
  if (!any(visible)) { setOutput(vec4(0.0)); return; }

  // -- S = Q̃ Kᵀ --
  ivec2 qBase = groupBase(qGeo, o.x);
  ivec2 kBase = groupBase(kGeo, row.kvPair0 + j / 2);
  vec4 s = vec4(0.0);
  ${pairDotGlsl('s', 'q', 'qBase', 'k', 'kBase')}

  // -- score modifiers --
  ${spec.softcap > 0 ? 'for (int c = 0; c < 4; c++) s[c] = capScore(s[c]);' : ''}
  ivec4 rows = ivec4(row.i, row.i, row.i + 1, row.i + 1);
  ${bias ? `for (int c = 0; c < 4; c++) {
    if (visible[c]) {
      s[c] += biasAt(row.b * biasStrides.x + row.h * biasStrides.y + rows[c] * biasStrides.z +
                     keys[c] * biasStrides.w) * 1.4426950408889634;
    }
  }` : ''}
  ${alibi ? `s -= row.slope * abs(vec4(rows + (row.lenK - row.lenQ) - keys));` : ''}
  // exp2 of a NaN exponent (a NaN score, or the NaN LSE of a row that saw one) stays NaN, as in IEEE
  // math (SwiftShader's exp2 would give Inf).
  vec4 x = s - lse2.xxyy;
  vec4 p = mix(exp2(x), x, bvec4(faIsNan(x.x), faIsNan(x.y), faIsNan(x.z), faIsNan(x.w)));
  setOutput(mix(vec4(0.0), p, visible));
}
`,
  };
}
