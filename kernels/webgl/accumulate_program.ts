/**
 * Block pass 4, -- rescale acc --:  acc = acc · exp2(m_i - m_ij) + P V  for one key block.
 * One fragment = a 2×2 texel [rows r, r+1 × columns d, d+1] of acc; per step of two keys one P texel
 * and one V texel feed 8 multiply-adds. The loop stops at the last key either row can see (sequence
 * end, causal diagonal), so causal blocks past the diagonal cost nothing. Keys both rows see run
 * unmasked in unrolled chunks (unrolledLoop); on the remaining pairs (the diagonal, the sequence end)
 * a product with p = 0 is dropped, not added as 0 · v, so a NaN in a V row that a row cannot see
 * never reaches that row (a visible key whose p is 0 gives 0 · v, as the reference does).
 */
import type {FlashAttentionSpec} from '../../src/spec';
import {rowGlsl, rowUniforms, unrolledLoop} from './block_common';
import type {Geometry} from './geometry';
import {geoUniform, layoutShape, outGeoUniform, OUTPUT_TEXEL_GLSL} from './texel_layout';
import type {ProgramDef} from './webgl_program';

export function accumulateProgram(spec: FlashAttentionSpec, geo: Geometry, j0: number, first: boolean): ProgramDef {
  return {
    name: 'Accumulate', key: spec.causal ? 'causal' : 'full',
    inputs: ['probs', 'v', 'prevStats', 'stats', 'prevAcc', 'rowInfo'],
    packedInputs: true, packedOutput: true, outputShape: layoutShape(geo.rows),
    uniforms: [
      outGeoUniform(geo.rows), geoUniform('probs', geo.block), geoUniform('v', geo.keys),
      geoUniform('prevStats', geo.rowStats), geoUniform('stats', geo.rowStats), geoUniform('prevAcc', geo.rows),
      {name: 'first', type: 'int', value: first ? 1 : 0},
      ...rowUniforms(spec, geo, j0),
    ],
    body: `
${OUTPUT_TEXEL_GLSL}
${rowGlsl(spec.causal)}

void main() {
  ivec2 o = outputTexel();
  if (o.x < 0) { setOutput(vec4(0.0)); return; }
  Row row = rowOf(o.x);
  vec4 acc = vec4(0.0);
  if (first == 0) {
    vec2 mPrev = texelFetch(prevStats, groupBase(prevStatsGeo, o.x), 0).xy;
    vec2 m = texelFetch(stats, groupBase(statsGeo, o.x), 0).xy;
    vec2 alpha = exp2(mPrev - shiftOf(m));
    acc = texelFetch(prevAcc, groupBase(prevAccGeo, o.x) + ivec2(o.y, 0), 0) * alpha.xxyy;
  }
  int pairs = (min(row.keyEnd - blockStart, blockN) + 1) / 2;
  // Key pairs both rows see (below the upper row's end; the lower row sees as far, or is padding):
  // their P is a true probability, so P·V needs no mask.
  int end0 = row.i < row.lenQ ? row.lenK : 0;
  ${spec.causal ? 'end0 = min(end0, row.i + 1 + row.lenK - row.lenQ);' : ''}
  int visiblePairs = clamp((end0 - blockStart) / 2, 0, pairs);
  ivec2 pBase = groupBase(probsGeo, o.x);
  // Key pairs of the block are consecutive groups of V (a linear layout), (column, texture row) = vAt.
  ivec2 vAt = groupBase(ivec3(vGeo.x, 1, 0), row.kvPair0 + blockStart / 2);
  int tStart = 0;
  // -- P V, unmasked, in chunks that stay on one texture row of V --
  ${unrolledLoop('visiblePairs', `vec4 p = texelFetch(probs, pBase + ivec2(t, 0), 0);
      vec4 vt = texelFetch(v, ivec2((vAt.x + u) * vGeo.y + o.y, vAt.y), 0);
      acc += p.xxzz * vt.xyxy + p.yyww * vt.zwzw;`,
      {start: 'tStart', extraCondition: n => `vAt.x + ${n} <= vGeo.x`, tail: false,
       after: n => `vAt.x += ${n}; if (vAt.x == vGeo.x) vAt = ivec2(0, vAt.y + 1);`})}
  // -- the rest (masked pairs, texture row wraps): a product with p = 0 is dropped --
  for (int t = tStart; t < pairs; t++) {
    vec4 p = texelFetch(probs, pBase + ivec2(t, 0), 0);
    vec4 vt = texelFetch(v, ivec2(vAt.x * vGeo.y + o.y, vAt.y), 0);
    vec4 pv0 = p.xxzz * vt.xyxy, pv1 = p.yyww * vt.zwzw;
    if (any(equal(p, vec4(0.0)))) {
      pv0 = mix(pv0, vec4(0.0), equal(p.xxzz, vec4(0.0)));
      pv1 = mix(pv1, vec4(0.0), equal(p.yyww, vec4(0.0)));
    }
    acc += pv0 + pv1;
    vAt.x += 1;
    if (vAt.x == vGeo.x) { vAt = ivec2(0, vAt.y + 1); }
  }
  setOutput(acc);
}
`,
  };
}
