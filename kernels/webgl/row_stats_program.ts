/**
 * Block pass 2, -- online softmax statistics --: per row, from the block's scores and the previous
 * (m, l):  m_ij = max(m_i, rowmax S);  l_i = l_i · exp2(m_i - m_ij) + rowsum exp2(S - m_ij).
 * One fragment = a row quad; it writes two targets, (m_r, m_r+1, l_r, l_r+1) for each row pair.
 * A NaN or +inf score makes the row's m and l NaN (nanRows), so its output and LSE are NaN, as in the reference.
 * The first block starts from m = -inf, l = 0, or with sinks from the sink as a key without value:
 * m = sink_h · log2 e, l = 1 (rowInfo.w), so every later step, the output and the LSE include it.
 */
import type {FlashAttentionSpec} from '../../src/spec';
import {SHIFT_GLSL, unrolledLoop} from './block_common';
import type {Geometry} from './geometry';
import {geoUniform, layoutShape, outGeoUniform, OUTPUT_TEXEL_GLSL} from './texel_layout';
import type {ProgramDef} from './webgl_program';

export function rowStatsProgram(spec: FlashAttentionSpec, geo: Geometry, first: boolean): ProgramDef {
  return {
    name: 'RowStats', key: `sinks=${spec.sinks}`,
    inputs: ['s0', 's1', 's2', 's3', 'prev0', 'prev1', ...(spec.sinks ? ['rowInfo'] : [])],
    packedInputs: true, packedOutput: true, outputs: 2,
    outputShape: layoutShape(geo.quadStats),
    uniforms: [
      outGeoUniform(geo.quadStats), geoUniform('s', geo.quadBlock), geoUniform('prev', geo.quadStats),
      {name: 'first', type: 'int', value: first ? 1 : 0},
      ...(spec.sinks ? [geoUniform('rowInfo', geo.rowStats)] : []),
    ],
    body: `
${OUTPUT_TEXEL_GLSL}
${SHIFT_GLSL}
// |x| as bits: a NaN is above +inf (0x7f800000), and the max of these keeps a NaN, which GLSL's max need not.
uvec4 magnitude(vec4 x) {
  return floatBitsToUint(x) & 0x7fffffffu;
}

// Rows (of a pair) whose softmax is NaN in the reference: a NaN score (the max magnitude over the row's
// texels is above +inf), a +inf score (exp(s - m) = exp(inf - inf)), or a NaN l from an earlier block.
bvec2 nanRows(uvec4 mag, vec2 m, vec2 lBefore) {
  uvec2 rows = uvec2(max(mag.x, mag.y), max(mag.z, mag.w));
  return bvec2(uvec2(greaterThan(rows, uvec2(0x7f800000u))) | uvec2(equal(m, vec2(FA_INF))) |
               uvec2(greaterThan(magnitude(lBefore.xyxy).xy, uvec2(0x7f800000u))));
}

// m of a row pair from its running max over 2×2 score texels [2 rows × 2 keys] and its m before.
vec2 rowMax(vec4 mx, vec2 before) {
  return max(before, vec2(max(mx.x, mx.y), max(mx.z, mx.w)));
}

void main() {
  ivec2 o = outputTexel();
  if (o.x < 0) { setOutputs(vec4(0.0), vec4(0.0)); return; }
  ivec2 at = groupBase(prevGeo, o.x);
  ${spec.sinks ? `float sinkA = texelFetch(rowInfo, groupBase(rowInfoGeo, 2 * o.x), 0).w;
  float sinkB = texelFetch(rowInfo, groupBase(rowInfoGeo, 2 * o.x + 1), 0).w;
  vec4 startA = vec4(sinkA, sinkA, exp2(sinkA - shiftOf(vec2(sinkA)).xx));
  vec4 startB = vec4(sinkB, sinkB, exp2(sinkB - shiftOf(vec2(sinkB)).xx));` : `vec4 startA = vec4(-FA_INF, -FA_INF, 0.0, 0.0), startB = startA;`}
  vec4 beforeA = first == 1 ? startA : texelFetch(prev0, at, 0);
  vec4 beforeB = first == 1 ? startB : texelFetch(prev1, at, 0);
  ivec2 base = groupBase(sGeo, o.x);
  vec4 mxA = vec4(-FA_INF), mxB = vec4(-FA_INF);
  uvec4 magA = uvec4(0u), magB = uvec4(0u);
  {
  ${unrolledLoop('sGeo.y', `vec4 a0 = texelFetch(s0, base + ivec2(t, 0), 0), a1 = texelFetch(s1, base + ivec2(t, 0), 0);
      vec4 b0 = texelFetch(s2, base + ivec2(t, 0), 0), b1 = texelFetch(s3, base + ivec2(t, 0), 0);
      mxA = max(mxA, max(a0, a1));
      mxB = max(mxB, max(b0, b1));
      magA = max(magA, max(magnitude(a0), magnitude(a1)));
      magB = max(magB, max(magnitude(b0), magnitude(b1)));`)}
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
  // Such a row's m and l become NaN, for good (then its output and LSE are NaN, as in the reference): exp2
  // and max cannot be trusted with a NaN (SwiftShader's exp2 of NaN is a large finite number).
  bvec2 nanA = nanRows(magA, mA, beforeA.zw), nanB = nanRows(magB, mB, beforeB.zw);
  setOutputs(vec4(mix(mA, vec2(NAN), nanA), mix(lA, vec2(NAN), nanA)),
             vec4(mix(mB, vec2(NAN), nanB), mix(lB, vec2(NAN), nanB)));
}
`,
  };
}
