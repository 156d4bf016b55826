/**
 * Block pass 2, -- online softmax statistics --: per row pair, from the block's scores and the
 * previous (m, l):  m_ij = max(m_i, rowmax S);  l_i = l_i · exp2(m_i - m_ij) + rowsum exp2(S - m_ij).
 * Output texel (m_r, m_r+1, l_r, l_r+1). The max propagates NaN (as Math.max does in the reference).
 */
import {unrolledLoop} from './block_common';
import type {Geometry} from './geometry';
import {geoUniform, layoutShape, outGeoUniform, OUTPUT_TEXEL_GLSL} from './texel_layout';
import type {ProgramDef} from './webgl_program';

export function rowStatsProgram(geo: Geometry, first: boolean): ProgramDef {
  return {
    name: 'RowStats', key: '',
    inputs: ['scores', 'prev'], packedInputs: true, packedOutput: true, outputShape: layoutShape(geo.rowStats),
    uniforms: [
      outGeoUniform(geo.rowStats), geoUniform('scores', geo.block), geoUniform('prev', geo.rowStats),
      {name: 'first', type: 'int', value: first ? 1 : 0},
    ],
    body: `
${OUTPUT_TEXEL_GLSL}
float maxNan(float a, float b) { return faIsNan(a) || faIsNan(b) ? NAN : max(a, b); }

void main() {
  ivec2 o = outputTexel();
  if (o.x < 0) { setOutput(vec4(0.0)); return; }
  vec4 before = first == 1 ? vec4(-FA_INF, -FA_INF, 0.0, 0.0) : texelFetch(prev, groupBase(prevGeo, o.x), 0);
  ivec2 base = groupBase(scoresGeo, o.x);
  vec2 m = before.xy;
  {
  ${unrolledLoop('scoresGeo.y', `vec4 s = texelFetch(scores, base + ivec2(t, 0), 0);
      m = vec2(maxNan(m.x, maxNan(s.x, s.y)), maxNan(m.y, maxNan(s.z, s.w)));`)}
  }
  vec2 shift = vec2(m.x == -FA_INF ? 0.0 : m.x, m.y == -FA_INF ? 0.0 : m.y);
  vec2 l = vec2(0.0);
  {
  ${unrolledLoop('scoresGeo.y', `vec4 p = exp2(texelFetch(scores, base + ivec2(t, 0), 0) - shift.xxyy);
      l += p.xz + p.yw;`)}
  }
  setOutput(vec4(m, before.zw * exp2(before.xy - shift) + l));
}
`,
  };
}
