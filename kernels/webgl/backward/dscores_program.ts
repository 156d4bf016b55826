/**
 * Block pass 2 of the backward, -- dS --: for the block's keys,
 *   dP = dO Vᵀ;   dS = P ∘ (dP − D_i)
 * with P from pass 1 and D_i from the row pass. Where P is exactly 0 (masked, or underflowed), dS is
 * exactly 0, as in the reference loop (no 0 · Inf, 0 · NaN); a texel whose four P are 0 costs no fetch
 * of dO or V (this is where causal blocks above the diagonal are skipped).
 * One fragment = a 2×2 texel [rows r, r+1 × keys j, j+1], laid out like P.
 */
import type {FlashAttentionSpec} from '../../../src/spec';
import {rowUniforms} from '../block_common';
import {geoUniform, layoutShape, outGeoUniform, OUTPUT_TEXEL_GLSL} from '../texel_layout';
import type {ProgramDef} from '../webgl_program';
import type {GradGeometry} from './grad_geometry';
import {gradRowGlsl, pairDotGlsl} from './grad_rows';

export function dScoresProgram(spec: FlashAttentionSpec, geo: GradGeometry, j0: number): ProgramDef {
  return {
    name: 'GradDScores', key: '',
    inputs: ['probs', 'dout', 'v', 'stats', 'rowInfo'],
    packedInputs: true, packedOutput: true, outputShape: layoutShape(geo.block),
    uniforms: [
      outGeoUniform(geo.block), geoUniform('probs', geo.block), geoUniform('dout', geo.rows), geoUniform('v', geo.keys),
      geoUniform('stats', geo.rowStats), ...rowUniforms(spec, geo, j0),
    ],
    body: `
${OUTPUT_TEXEL_GLSL}
${gradRowGlsl(false)}

void main() {
  ivec2 o = outputTexel();
  if (o.x < 0) { setOutput(vec4(0.0)); return; }
  vec4 p = texelFetch(probs, groupBase(probsGeo, o.x) + ivec2(o.y, 0), 0);
  bvec4 zero = equal(p, vec4(0.0));
  if (all(zero)) { setOutput(vec4(0.0)); return; }
  Row row = rowOf(o.x);
  int j = blockStart + 2 * o.y;
  vec2 rowD = texelFetch(stats, groupBase(statsGeo, o.x), 0).zw;

  // -- dP = dO Vᵀ --
  ivec2 oBase = groupBase(doutGeo, o.x);
  ivec2 vBase = groupBase(vGeo, row.kvPair0 + j / 2);
  vec4 dp = vec4(0.0);
  ${pairDotGlsl('dp', 'dout', 'oBase', 'v', 'vBase')}
  setOutput(mix(p * (dp - rowD.xxyy), vec4(0.0), zero));
}
`,
  };
}
