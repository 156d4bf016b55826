/**
 * GLSL: (m, l) of row r from the final row statistics (geometry.ts: row pair a of row quad g is texel g
 * of stats0 or stats1), for programs with those two inputs and the uniform statsGeo (statsUniform).
 */
export const STATS_OF_GLSL = `
vec2 statsOf(int r) {
  ivec2 at = groupBase(statsGeo, r >> 2);
  vec4 st = ((r >> 1) & 1) == 0 ? texelFetch(stats0, at, 0) : texelFetch(stats1, at, 0);
  return (r & 1) == 1 ? st.yw : st.xz;
}
`;

export function statsUniform(geo: Geometry): Uniform {
  return geoUniform('stats', geo.quadStats);
}

/**
 * What the two epilogue passes share: finding the row pair of a query (b, h, i) among this folder's
 * textures, and for varlen the sequence b of a packed query row t (binary search in cuSeqlensQ).
 */
import type {FlashAttentionSpec} from '../../src/spec';
import {denseGlsl} from './dense_copy_program';
import type {Geometry} from './geometry';
import {geoUniform, TexelLayout} from './texel_layout';
import type {Uniform} from './webgl_program';

export function queryRowUniforms(spec: FlashAttentionSpec, geo: Geometry, cuLayout: TexelLayout|null): Uniform[] {
  return [
    {name: 'heads', type: 'int', value: spec.numHeadsQ},
    {name: 'seqlen', type: 'int', value: spec.totalQ},
    {name: 'batch', type: 'int', value: spec.batch},
    {name: 'padded', type: 'int', value: geo.seqQPadded},
    ...(cuLayout ? [geoUniform('cuQ', cuLayout)] : []),
  ];
}

export function queryRowGlsl(varlen: boolean): string {
  return `
${varlen ? `${denseGlsl('cuQ')}
// Sequence holding packed row t: the last b with cuQ[b] <= t (empty sequences skipped).
int batchOf(int t) {
  int lo = 0, hi = batch;
  while (hi - lo > 1) {
    int mid = (lo + hi) / 2;
    if (int(cuQAt(mid)) <= t) lo = mid; else hi = mid;
  }
  return lo;
}` : ''}

// Row r = (b·Hq + h)·SqP + i of query i of head h of sequence b.
int queryRow(int b, int h, int i) {
  return (b * heads + h) * padded + i;
}

`;
}

/**
 * GLSL: the row r (queryRow) of element row `flatRow` of a [..., D] tensor in the caller's layout of q
 * (bshd, bhsd through the uniform headMajor, thd through cuQ): what the epilogues that write outputs in
 * that layout share. Needs queryRowGlsl before it and the headMajor uniform (headMajorUniform).
 */
export function rowOfElementGlsl(varlen: boolean): string {
  return `
int rowOfElement(int flatRow) {
  ${varlen ? `int t = flatRow / heads, h = flatRow - t * heads;
  int b = batchOf(t);
  return queryRow(b, h, t - int(cuQAt(b)));` : `int perBatch = seqlen * heads;
  int b = flatRow / perBatch, rem = flatRow - b * perBatch, h, i;
  if (headMajor == 1) { h = rem / seqlen; i = rem - h * seqlen; } else { i = rem / heads; h = rem - i * heads; }
  return queryRow(b, h, i);`}
}
`;
}

export function headMajorUniform(spec: FlashAttentionSpec): Uniform {
  return {name: 'headMajor', type: 'int', value: spec.layout === 'bhsd' ? 1 : 0};
}
