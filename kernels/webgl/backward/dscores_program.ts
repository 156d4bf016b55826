/**
 * Block pass 2 of the backward, -- dS --: for the block's keys,
 *   dP = dO Vᵀ;   dS = P ∘ (dP − D_i)
 * with P from pass 1 and D_i from the row pass. `capChain` (soft-cap): dS · (1 − tanh²) instead, what dQ and
 * dK take through the cap (tanh = cap(Q̃ Kᵀ) / c₂, Q̃ Kᵀ recomputed here); bias and ALiBi take the plain dS.
 * Dropout: dP = Z ∘ (dO Vᵀ), Z = keep / (1 − rate) regenerated here (../block_common.ts dropoutGlsl). Where P is exactly 0 (masked, or underflowed), dS is
 * exactly 0, as in the reference loop (no 0 · Inf, 0 · NaN); a texel whose four P are 0 costs no fetch
 * of dO or V (this is where causal blocks above the diagonal are skipped).
 * One fragment = a 2×2 texel [rows r, r+1 × keys j, j+1], laid out like P.
 */
import type {FlashAttentionSpec} from '../../../src/spec';
import {dropoutGlsl, rowUniforms, softcapGlsl} from '../block_common';
import {geoUniform, layoutShape, outGeoUniform, OUTPUT_TEXEL_GLSL} from '../texel_layout';
import type {ProgramDef} from '../webgl_program';
import type {GradGeometry} from './grad_geometry';
import {gradRowGlsl, pairDotGlsl} from './grad_rows';

export function dScoresProgram(spec: FlashAttentionSpec, geo: GradGeometry, j0: number, capChain: boolean): ProgramDef {
  return {
    name: 'GradDScores', key: `capChain=${capChain}|dropout=${spec.dropoutRate > 0}`,
    inputs: ['probs', 'dout', 'v', 'stats', 'rowInfo', ...(capChain ? ['q', 'k'] : [])],
    packedInputs: true, packedOutput: true, outputShape: layoutShape(geo.block),
    uniforms: [
      outGeoUniform(geo.block), geoUniform('probs', geo.block), geoUniform('dout', geo.rows), geoUniform('v', geo.keys),
      geoUniform('stats', geo.rowStats), ...rowUniforms(spec, geo, j0),
      ...(capChain ? [geoUniform('q', geo.rows), geoUniform('k', geo.keys)] : []),
    ],
    body: `
${OUTPUT_TEXEL_GLSL}
${gradRowGlsl({...spec, causal: false, windowLeft: -1, windowRight: -1})}
${capChain ? softcapGlsl(spec) : ''}
${dropoutGlsl(spec)}

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
  ${spec.dropoutRate > 0 ? `dp *= vec4(dropoutScale(row.b, row.h, row.i, j), dropoutScale(row.b, row.h, row.i, j + 1),
             dropoutScale(row.b, row.h, row.i + 1, j), dropoutScale(row.b, row.h, row.i + 1, j + 1));` : ''}
  vec4 ds = p * (dp - rowD.xxyy);
  ${capChain ? `// -- through the cap: d cap(x) / dx = 1 − (cap(x) / c₂)² --
  ivec2 qBase = groupBase(qGeo, o.x);
  ivec2 kBase = groupBase(kGeo, row.kvPair0 + j / 2);
  vec4 x = vec4(0.0);
  {
  ${pairDotGlsl('x', 'q', 'qBase', 'k', 'kBase')}
  }
  for (int c = 0; c < 4; c++) {
    float t = capScore(x[c]) / softcapLog2;
    ds[c] *= 1.0 - t * t;
  }` : ''}
  setOutput(mix(ds, vec4(0.0), zero));
}
`,
  };
}
