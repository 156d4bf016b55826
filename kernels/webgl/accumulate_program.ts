/**
 * Block pass 4, -- rescale acc --:  acc = acc · exp2(m_i - m_ij) + P V  for one key block.
 * One fragment = a 2×2 texel [rows r, r+1 × columns d, d+1] of acc; per step of two keys one P texel
 * and one V texel feed 8 multiply-adds. The loop stops at the last key either row can see (sequence
 * end, causal diagonal), so causal blocks past the diagonal cost nothing. A product with p = 0 is
 * dropped, not added as 0 · v, so a NaN in a V row that a row cannot see never reaches that row.
 */
import type {FlashAttentionSpec} from '../../src/spec';
import {rowGlsl, rowUniforms} from './block_common';
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
  ivec2 pBase = groupBase(probsGeo, o.x);
  // Key pairs of the block are consecutive groups of V: walk them without dividing.
  ivec2 vGroup = groupBase(ivec2(vGeo.x, 1), row.kvPair0 + blockStart / 2);
  for (int t = 0; t < pairs; t++) {
    vec4 p = texelFetch(probs, pBase + ivec2(t, 0), 0);
    vec4 vt = texelFetch(v, ivec2(vGroup.x * vGeo.y + o.y, vGroup.y), 0);
    vec4 pv0 = p.xxzz * vt.xyxy, pv1 = p.yyww * vt.zwzw;
    if (any(equal(p, vec4(0.0)))) {
      pv0 = mix(pv0, vec4(0.0), equal(p.xxzz, vec4(0.0)));
      pv1 = mix(pv1, vec4(0.0), equal(p.yyww, vec4(0.0)));
    }
    acc += pv0 + pv1;
    vGroup.x += 1;
    if (vGroup.x == vGeo.x) { vGroup = ivec2(0, vGroup.y + 1); }
  }
  setOutput(acc);
}
`,
  };
}
