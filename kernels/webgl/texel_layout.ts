/**
 * The textures this folder creates for itself are addressed by texel, not through tfjs's samplers:
 * a texture holds `groups` groups of `rowTexels` RGBA texels (e.g. one group = two query rows of Q,
 * one texel = a 2×2 block of [rows × columns]), and a group never wraps a texture row, so a loop
 * over a group's texels walks one texture row with texelFetch and no division.
 *
 * Group order: `linear` layouts fill texture rows one after the other (K and V rely on it: the P·V
 * loop walks consecutive key pairs along a row). `paired` layouts (row-pair textures: Q, acc, a
 * block's scores and P) put groups 2k and 2k+1 on two adjacent texture rows at the same x, so the
 * 2×2 fragment quads that a software rasterizer shades together (SwiftShader runs a quad as one
 * SIMD program) hold four adjacent query rows: under a causal mask their loops end at nearly the
 * same key, instead of one lane's long loop holding the quad (rows 2·groupsPerRow apart).
 *
 * Rows are as wide as MAX_TEXTURE_SIZE allows, down to MIN_ROWS scanlines (measured: squarish
 * textures made the key loops 2× slower on SwiftShader, one-scanline textures ran on one thread).
 * tfjs allocates a packed output of logical shape [2h, 2w] as exactly w × h RGBA texels; keeping
 * w, h >= 2 keeps tfjs from re-shaping "narrow" textures, so the layout below is the physical one.
 */
import {env} from '@tensorflow/tfjs-core';
import type {Uniform} from './webgl_program';

const MIN_ROWS = 16;

export interface TexelLayout {
  groups: number;
  rowTexels: number;
  groupsPerRow: number;
  paired: boolean;
  width: number;
  height: number;
}

export function maxTextureSize(): number {
  return env().getNumber('WEBGL_MAX_TEXTURE_SIZE');
}

/**
 * Lays `groups` groups of `rowTexels` texels out in at most MAX_TEXTURE_SIZE² texels, or throws.
 * `evenGroups`: an even number of groups per texture row where two fit, so that groups 2k and 2k+1
 * share a texture row (K and V: the P·V loop reads two key pairs per step).
 */
export function texelLayout(
    groups: number, rowTexels: number, what: string, paired = false, evenGroups = false): TexelLayout {
  const max = maxTextureSize();
  if (rowTexels > max) {
    throw new Error(`flashAttention (webgl): ${what} needs ${rowTexels} texels per row, more than ` +
                    `MAX_TEXTURE_SIZE = ${max}`);
  }
  // Wide rows (texture-cache friendly), but at least MIN_ROWS scanlines where the groups allow:
  // software rasterizers (SwiftShader) share a draw between threads by scanlines.
  let groupsPerRow = Math.max(1, Math.min(Math.ceil(groups / MIN_ROWS), Math.floor(max / rowTexels)));
  if (evenGroups && groupsPerRow % 2 === 1 && groupsPerRow > 1) groupsPerRow -= 1;
  if (evenGroups && groupsPerRow === 1 && 2 * rowTexels <= max && groups > 1) groupsPerRow = 2;
  const height = paired ? 2 * Math.ceil(groups / (2 * groupsPerRow)) : Math.max(2, Math.ceil(groups / groupsPerRow));
  if (height > max) {
    throw new Error(`flashAttention (webgl): ${what} needs ${groups * rowTexels} RGBA texels, more than ` +
                    `one ${max}×${max} texture (MAX_TEXTURE_SIZE) holds; split the call (fewer heads or batches)`);
  }
  return {groups, rowTexels, groupsPerRow, paired, width: Math.max(2, groupsPerRow * rowTexels), height};
}

/** The logical (packed) output shape that makes tfjs allocate exactly this layout. */
export function layoutShape(layout: TexelLayout): number[] {
  return [2 * layout.height, 2 * layout.width];
}

/** Geometry uniform of an input texture: (groups per texture row, texels per group, paired ? 1 : 0). */
export function geoUniform(name: string, layout: TexelLayout): Uniform {
  return {name: `${name}Geo`, type: 'ivec3', value: [layout.groupsPerRow, layout.rowTexels, layout.paired ? 1 : 0]};
}

/** Geometry uniform of the output texture: (groups per row, texels per group, groups, paired ? 1 : 0). */
export function outGeoUniform(layout: TexelLayout): Uniform {
  return {name: 'outGeo', type: 'ivec4', value: [layout.groupsPerRow, layout.rowTexels, layout.groups, layout.paired ? 1 : 0]};
}

/** Texel addressing for programs whose inputs follow a TexelLayout. */
export const TEXEL_GLSL = `
const float FA_INF = uintBitsToFloat(0x7f800000u);
bool faIsNan(float x) { return (floatBitsToUint(x) & 0x7fffffffu) > 0x7f800000u; }

// First texel of group g of a texture with geometry geo = (groups per row, texels per group, paired).
ivec2 groupBase(ivec3 geo, int g) {
  if (geo.z == 0) return ivec2((g % geo.x) * geo.y, g / geo.x);
  int k = g >> 1;
  return ivec2((k % geo.x) * geo.y, 2 * (k / geo.x) + (g & 1));
}
`;

/** ... and whose output is one too (the program declares the outGeo uniform, outGeoUniform). */
export const OUTPUT_TEXEL_GLSL = `${TEXEL_GLSL}
// (group, texel within group) this fragment writes, or (-1, -1) past the last group.
ivec2 outputTexel() {
  int x = int(gl_FragCoord.x), y = int(gl_FragCoord.y);
  if (x >= outGeo.x * outGeo.y) return ivec2(-1);
  int column = x / outGeo.y;
  int g = outGeo.w == 0 ? y * outGeo.x + column : 2 * ((y >> 1) * outGeo.x + column) + (y & 1);
  if (g >= outGeo.z) return ivec2(-1);
  return ivec2(g, x - column * outGeo.y);
}
`;
