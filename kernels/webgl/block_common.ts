/**
 * What the four block passes share: the uniforms that place a row pair in its sequence, and the
 * GLSL that turns a row pair into (b, h, i), its sequence lengths and the first key pair of its kv head.
 */
import type {FlashAttentionSpec} from '../../src/spec';
import type {Geometry} from './geometry';
import {geoUniform} from './texel_layout';
import type {Uniform} from './webgl_program';

export function rowUniforms(spec: FlashAttentionSpec, geo: Geometry, j0: number): Uniform[] {
  return [
    {name: 'blockStart', type: 'int', value: j0},
    {name: 'blockN', type: 'int', value: geo.blockN},
    {name: 'padded', type: 'ivec2', value: [geo.seqQPadded, geo.seqKPadded]},
    {name: 'heads', type: 'ivec3', value: [spec.numHeadsQ, spec.numHeadsK, spec.groupSize]},
    geoUniform('rowInfo', geo.rowStats),
  ];
}

/**
 * GLSL: struct Row {b, h, i, lenQ, lenK, slope, kvPair0, keyEnd}: keyEnd bounds the keys any of the
 * pair's two rows can see (sequence end, causal diagonal of the lower row); 0 for padding rows.
 */
export function rowGlsl(causal: boolean): string {
  return `
struct Row { int b; int h; int i; int lenQ; int lenK; float slope; int kvPair0; int keyEnd; };

Row rowOf(int rp) {
  Row row;
  int r = 2 * rp, bh = r / padded.x;
  row.i = r - bh * padded.x;
  row.b = bh / heads.x;
  row.h = bh - row.b * heads.x;
  vec4 info = texelFetch(rowInfo, groupBase(rowInfoGeo, rp), 0);
  row.lenQ = int(info.x);
  row.lenK = int(info.y);
  row.slope = info.z;
  row.kvPair0 = (row.b * heads.y + row.h / heads.z) * (padded.y / 2);
  row.keyEnd = row.i < row.lenQ ? row.lenK : 0;
  ${causal ? 'row.keyEnd = min(row.keyEnd, row.i + 2 + row.lenK - row.lenQ);' : ''}
  return row;
}

// Exponent shift of the two rows: a row that has seen only masked keys keeps m = -inf and shifts
// by 0, so exp2 gives 0, not NaN.
vec2 shiftOf(vec2 m) {
  return vec2(m.x == -FA_INF ? 0.0 : m.x, m.y == -FA_INF ? 0.0 : m.y);
}
`;
}
