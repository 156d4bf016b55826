/**
 * Block pass 2, -- online softmax statistics --: per row, from the block's scores and the previous
 * (m, l):  m_ij = max(m_i, rowmax S);  l_i = l_i · exp2(m_i - m_ij) + rowsum exp2(S - m_ij).
 * One fragment = a row quad; it writes two targets, (m_r, m_r+1, l_r, l_r+1) for each row pair.
 * A NaN score reaches l through exp2 (whatever max makes of it), so the row's output and LSE are NaN,
 * as in the reference.
 */
import {SHIFT_GLSL, unrolledLoop} from './block_common';
import type {Geometry} from './geometry';
import {geoUniform, layoutShape, outGeoUniform, OUTPUT_TEXEL_GLSL} from './texel_layout';
import type {ProgramDef} from './webgl_program';

export function rowStatsProgram(geo: Geometry, first: boolean): ProgramDef {
  return {
    name: 'RowStats', key: '',
    inputs: ['s0', 's1', 's2', 's3', 'prev0', 'prev1'], packedInputs: true, packedOutput: true, outputs: 2,
    outputShape: layoutShape(geo.quadStats),
    uniforms: [
      outGeoUniform(geo.quadStats), geoUniform('s', geo.quadBlock), geoUniform('prev', geo.quadStats),
      {name: 'first', type: 'int', value: first ? 1 : 0},
    ],
    body: `
${OUTPUT_TEXEL_GLSL}
${SHIFT_GLSL}
// m of a row pair from its running max over 2×2 score texels [2 rows × 2 keys] and its m before.
vec2 rowMax(vec4 mx, vec2 before) {
  return max(before, vec2(max(mx.x, mx.y), max(mx.z, mx.w)));
}

void main() {
  ivec2 o = outputTexel();
  if (o.x < 0) { setOutputs(vec4(0.0), vec4(0.0)); return; }
  vec4 start = vec4(-FA_INF, -FA_INF, 0.0, 0.0);
  ivec2 at = groupBase(prevGeo, o.x);
  vec4 beforeA = first == 1 ? start : texelFetch(prev0, at, 0);
  vec4 beforeB = first == 1 ? start : texelFetch(prev1, at, 0);
  ivec2 base = groupBase(sGeo, o.x);
  vec4 mxA = vec4(-FA_INF), mxB = vec4(-FA_INF);
  {
  ${unrolledLoop('sGeo.y', `mxA = max(mxA, max(texelFetch(s0, base + ivec2(t, 0), 0), texelFetch(s1, base + ivec2(t, 0), 0)));
      mxB = max(mxB, max(texelFetch(s2, base + ivec2(t, 0), 0), texelFetch(s3, base + ivec2(t, 0), 0)));`)}
  }
  vec2 mA = rowMax(mxA, beforeA.xy), mB = rowMax(mxB, beforeB.xy);
  vec4 shiftA = shiftOf(mA).xxyy, shiftB = shiftOf(mB).xxyy;
  vec4 sumA = vec4(0.0), sumB = vec4(0.0);
  {
  ${unrolledLoop('sGeo.y', `sumA += exp2(texelFetch(s0, base + ivec2(t, 0), 0) - shiftA) + exp2(texelFetch(s1, base + ivec2(t, 0), 0) - shiftA);
      sumB += exp2(texelFetch(s2, base + ivec2(t, 0), 0) - shiftB) + exp2(texelFetch(s3, base + ivec2(t, 0), 0) - shiftB);`)}
  }
  vec2 lA = beforeA.zw * exp2(beforeA.xy - shiftA.xz) + vec2(sumA.x + sumA.y, sumA.z + sumA.w);
  vec2 lB = beforeB.zw * exp2(beforeB.xy - shiftB.xz) + vec2(sumB.x + sumB.y, sumB.z + sumB.w);
  setOutputs(vec4(mA, lA), vec4(mB, lB));
}
`,
  };
}
