/**
 * What the backward's block passes share: their uniforms, the GLSL that turns a row pair into
 * (b, h, i), its sequence lengths, ALiBi slope, the first key pair of its kv head and the end of
 * the keys either row can see, and the row pair × key pair dot products over D.
 */
import {FlashAttentionSpec, hasWindow} from '../../../src/spec';
import {rowUniforms, unrolledLoop} from '../block_common';
import {geoUniform, outGeoUniform, TexelLayout} from '../texel_layout';
import type {Uniform} from '../webgl_program';
import type {GradGeometry} from './grad_geometry';

/**
 * Uniforms of a block pass that accumulates into `layout` over key blocks: its output and previous
 * textures (`prev`, read unless `first`), dTexels, and the row uniforms of ../block_common.ts.
 */
export function accumulatorUniforms(
    spec: FlashAttentionSpec, geo: GradGeometry, layout: TexelLayout, j0: number, first: boolean): Uniform[] {
  return [
    outGeoUniform(layout), geoUniform('prev', layout),
    {name: 'dTexels', type: 'int', value: geo.dTexels},
    {name: 'first', type: 'int', value: first ? 1 : 0},
    ...rowUniforms(spec, geo, j0),
  ];
}

/**
 * GLSL: the unrolled dot products of a row pair with a key pair over D, as 2×2 texels:
 * result (r, j), (r, j+1), (r+1, j), (r+1, j+1) += Σ_d a[r, d] · b[j, d], with a's texels from
 * aBase and b's from bBase along one texture row (dTexels of them, the `${a}Geo` group size).
 */
export function pairDotGlsl(result: string, a: string, aBase: string, b: string, bBase: string): string {
  return unrolledLoop(`${a}Geo.y`, `vec4 at = texelFetch(${a}, ${aBase} + ivec2(t, 0), 0);
      vec4 bt = texelFetch(${b}, ${bBase} + ivec2(t, 0), 0);
      ${result} += at.xxzz * bt.xzxz + at.yyww * bt.ywyw;`);
}

/**
 * GLSL: struct Row {b, h, i, lenQ, lenK, slope, kvPair0, keyStart, keyEnd} of row pair rp (rows i, i+1):
 * keyStart .. keyEnd bound the keys either row sees (the upper row's window start; sequence end, causal
 * diagonal or window end of the lower row); keyEnd 0 for padding rows. rowInfo holds (lenQ, lenK,
 * slope · log2 e, sink · log2 e) per row pair (../row_info_program.ts).
 */
export function gradRowGlsl(spec: FlashAttentionSpec): string {
  const window = hasWindow(spec);
  return `
struct Row { int b; int h; int i; int lenQ; int lenK; float slope; int kvPair0; int keyStart; int keyEnd; };

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
  row.keyStart = 0;
  ${spec.causal ? 'row.keyEnd = min(row.keyEnd, row.i + 2 + row.lenK - row.lenQ);' : ''}
  ${window ? `if (window.y >= 0) { row.keyEnd = max(min(row.keyEnd, row.i + 2 + row.lenK - row.lenQ + window.y), 0); }
  if (window.x >= 0) { row.keyStart = max(row.i + row.lenK - row.lenQ - window.x, 0); }` : ''}
  return row;
}
`;
}
