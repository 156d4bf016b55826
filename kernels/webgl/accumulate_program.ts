/**
 * Block pass 4, -- rescale acc --:  acc = acc · exp2(m_i - m_ij) + P V  for one key block.
 * One fragment = a 4×4 tile [rows 4g..4g+3 × columns 4c..4c+3] of acc, written as four 2×2 texels
 * (four render targets, geometry.ts); per step of four keys, four P texels and four V texels feed 64
 * multiply-adds. The loop runs from the first to the last key any row of the quad can see (window,
 * sequence end, causal diagonal), so blocks outside them cost nothing. Key quads every real row sees run
 * unmasked in unrolled chunks (unrolledLoop); on the remaining quads (the diagonal, the window's edges, the
 * sequence end)
 * a product with p = 0 is dropped, not added as 0 · v, so a NaN in a V row that a row cannot see
 * never reaches that row (a visible key whose p is 0 gives 0 · v, as the reference does).
 */
import {FlashAttentionSpec, hasWindow} from '../../src/spec';
import {quadGlsl, rowUniforms, unrolledLoop} from './block_common';
import type {Geometry} from './geometry';
import {geoUniform, layoutShape, outGeoUniform, OUTPUT_TEXEL_GLSL} from './texel_layout';
import type {ProgramDef} from './webgl_program';

/** acc += P V of key quad t, dropping each product whose p is 0 (GLSL statements). */
const MASKED_PV = `vec4 pA0 = texelFetch(p0, pBase + ivec2(t, 0), 0), pA1 = texelFetch(p1, pBase + ivec2(t, 0), 0);
    vec4 pB0 = texelFetch(p2, pBase + ivec2(t, 0), 0), pB1 = texelFetch(p3, pBase + ivec2(t, 0), 0);
    int keyPair = quad.kvPair0 + blockStart / 2 + 2 * t;
    ivec2 v0 = groupBase(vGeo, keyPair) + ivec2(column, 0), v1 = groupBase(vGeo, keyPair + 1) + ivec2(column, 0);
    vec4 v00 = texelFetch(v, v0, 0), v01 = texelFetch(v, v0 + ivec2(1, 0), 0);
    vec4 v10 = texelFetch(v, v1, 0), v11 = texelFetch(v, v1 + ivec2(1, 0), 0);
    a0 += pvMasked(pA0, v00) + pvMasked(pA1, v10);
    a1 += pvMasked(pA0, v01) + pvMasked(pA1, v11);
    a2 += pvMasked(pB0, v00) + pvMasked(pB1, v10);
    a3 += pvMasked(pB0, v01) + pvMasked(pB1, v11);`;

export function accumulateProgram(spec: FlashAttentionSpec, geo: Geometry, j0: number, first: boolean): ProgramDef {
  const window = hasWindow(spec);
  return {
    name: 'Accumulate', key: `${spec.causal ? 'causal' : 'full'}|window=${hasWindow(spec)}`,
    inputs: ['p0', 'p1', 'p2', 'p3', 'v', 'prev0', 'prev1', 'stats0', 'stats1', 'acc0', 'acc1', 'acc2', 'acc3', 'rowInfo'],
    packedInputs: true, packedOutput: true, outputs: 4, outputShape: layoutShape(geo.quadRows),
    uniforms: [
      outGeoUniform(geo.quadRows), geoUniform('p', geo.quadBlock), geoUniform('v', geo.keys),
      geoUniform('stats', geo.quadStats), geoUniform('acc', geo.quadRows),
      {name: 'first', type: 'int', value: first ? 1 : 0},
      ...rowUniforms(spec, geo, j0),
    ],
    body: `
${OUTPUT_TEXEL_GLSL}
${quadGlsl(spec)}

// [2 rows × 2 keys] · [2 keys × 2 columns of D] = [2 rows × 2 columns].
vec4 pv(vec4 p, vec4 v2) {
  return p.xxzz * v2.xyxy + p.yyww * v2.zwzw;
}

// The same, dropping each product whose p is 0.
vec4 pvMasked(vec4 p, vec4 v2) {
  return mix(p.xxzz * v2.xyxy, vec4(0.0), equal(p.xxzz, vec4(0.0))) +
         mix(p.yyww * v2.zwzw, vec4(0.0), equal(p.yyww, vec4(0.0)));
}

void main() {
  ivec2 o = outputTexel();
  if (o.x < 0) { setOutputs(vec4(0.0), vec4(0.0), vec4(0.0), vec4(0.0)); return; }
  Quad quad = quadOf(o.x);
  // acc0, acc1: row pair A (rows i, i+1), column pairs 2·o.y and 2·o.y + 1; acc2, acc3: row pair B.
  vec4 a0 = vec4(0.0), a1 = vec4(0.0), a2 = vec4(0.0), a3 = vec4(0.0);
  if (first == 0) {
    ivec2 statsAt = groupBase(statsGeo, o.x), accAt = groupBase(accGeo, o.x) + ivec2(o.y, 0);
    vec4 alphaA = exp2(texelFetch(prev0, statsAt, 0).xy - shiftOf(texelFetch(stats0, statsAt, 0).xy)).xxyy;
    vec4 alphaB = exp2(texelFetch(prev1, statsAt, 0).xy - shiftOf(texelFetch(stats1, statsAt, 0).xy)).xxyy;
    a0 = texelFetch(acc0, accAt, 0) * alphaA;
    a1 = texelFetch(acc1, accAt, 0) * alphaA;
    a2 = texelFetch(acc2, accAt, 0) * alphaB;
    a3 = texelFetch(acc3, accAt, 0) * alphaB;
  }
  int quads = (min(quad.keyEnd - blockStart, blockN) + 3) / 4;
  // Key quads [firstQuad, unmaskedQuad) start some row's window (masked), [unmaskedQuad, visibleQuads) every
  // real row sees; both 0 without a window.
  int firstQuad = ${window ? 'min(max(quad.keyStart - blockStart, 0) / 4, quads)' : '0'};
  int unmaskedQuad = ${window ? 'clamp((max(quad.allStart - blockStart, 0) + 3) / 4, firstQuad, quads)' : '0'};
  int visibleQuads = clamp((quad.allEnd - blockStart) / 4, unmaskedQuad, quads);
  ivec2 pBase = groupBase(pGeo, o.x);
  int column = 2 * o.y;
  ${window ? `// -- the window's leading edge: a product with p = 0 is dropped --
  for (int t = firstQuad; t < unmaskedQuad; t++) {
    ${MASKED_PV}
  }` : ''}
  // Key pairs of the block are consecutive groups of V (a linear layout with an even number of groups
  // per texture row, and the block's first key pair even): (group column, texture row) = vAt.
  ivec2 vAt = groupBase(ivec3(vGeo.x, 1, 0), quad.kvPair0 + blockStart / 2 + 2 * unmaskedQuad);
  int tStart = unmaskedQuad;
  // -- P V, unmasked, in chunks that stay on one texture row of V --
  ${unrolledLoop('visibleQuads', `vec4 pA0 = texelFetch(p0, pBase + ivec2(t, 0), 0), pA1 = texelFetch(p1, pBase + ivec2(t, 0), 0);
      vec4 pB0 = texelFetch(p2, pBase + ivec2(t, 0), 0), pB1 = texelFetch(p3, pBase + ivec2(t, 0), 0);
      ivec2 v0 = ivec2((vAt.x + 2 * u) * vGeo.y + column, vAt.y), v1 = v0 + ivec2(vGeo.y, 0);
      vec4 v00 = texelFetch(v, v0, 0), v01 = texelFetch(v, v0 + ivec2(1, 0), 0);
      vec4 v10 = texelFetch(v, v1, 0), v11 = texelFetch(v, v1 + ivec2(1, 0), 0);
      a0 += pv(pA0, v00) + pv(pA1, v10);
      a1 += pv(pA0, v01) + pv(pA1, v11);
      a2 += pv(pB0, v00) + pv(pB1, v10);
      a3 += pv(pB0, v01) + pv(pB1, v11);`,
      {start: 'tStart', extraCondition: n => `vAt.x + ${2 * n} <= vGeo.x`, tail: false,
       after: n => `vAt.x += ${2 * n}; if (vAt.x == vGeo.x) vAt = ivec2(0, vAt.y + 1);`})}
  // -- the rest (masked quads, texture row ends): a product with p = 0 is dropped --
  for (int t = tStart; t < quads; t++) {
    ${MASKED_PV}
  }
  setOutputs(a0, a1, a2, a3);
}
`,
  };
}
