/**
 * The matrix-tile forward's workgroup memory as one list: it declares the variables (WGSL) and counts their
 * bytes (the plan's fit test, matrix_plan.ts), so the two cannot drift apart. Element counts are written in
 * the shader's constants (RS, QS, …) for the declaration and evaluated from the block shape for the count.
 *
 * Order matters on the H200 (Dawn/Vulkan, 2026-12-01): subgroup-matrix loads and stores addressed the wrong
 * bytes when small variables sat between or after the tiles (bench/probes/subgroup_matrix_unit.mjs), so the
 * small variables come first and the matrix tiles last.
 */
import type {MatrixShape} from './matrix_plan';
import {MatrixTiles, TILE} from './matrix_tiles';

interface WorkgroupVariable {
  name: string;
  /** WGSL type of one element, and its bytes. */
  element: string;
  elementBytes: number;
  /** Element count: as WGSL constants, and its value; per tile group when perGroup. */
  count: string;
  value: number;
  perGroup: boolean;
}

/** The small variables (before the tiles) and the tiles, in declaration order. */
export function matrixWorkgroupVariables(s: MatrixShape, tiles: MatrixTiles): {small: WorkgroupVariable[], tiles: WorkgroupVariable[]} {
  const rowsPerGroup = TILE * s.rowTiles;
  const variable = (name: string, element: string, elementBytes: number, count: string, value: number, perGroup = false) =>
    ({name, element, elementBytes, count, value, perGroup});
  const t = tiles.tileType, e = tiles.tileBytes;
  return {
    small: [
      // (b, hk, m0, startQ, lenQ, startK, lenK, valid, split)
      variable('blockInfo', 'i32', 4, '9', 9),
      // [0]: n0 + 1 when some row's m moved in block n0 (rescale acc); [1]: n0 + 1 when V holds a non-finite value.
      variable('blockFlags', 'i32', 4, '2', 2),
      variable('rowShare', 'f32', 4, 'THREADS', s.threads),
    ],
    tiles: [
      variable('qTile', t, e, 'RS * QS', rowsPerGroup * s.rowStride, true),
      variable('kTile', t, e, 'D_PAD * KS', s.dPad * s.keyStride),
      variable('vTile', t, e, 'BLOCK_N * QS', s.blockN * s.rowStride),
      variable('pTile', t, e, 'RS * BLOCK_N', rowsPerGroup * s.blockN, true),
      variable('sTile', 'f32', 4, 'RS * BLOCK_N', rowsPerGroup * s.blockN, true),
    ],
  };
}

export function workgroupDeclarations(list: WorkgroupVariable[]): string {
  return list.map(v => v.perGroup ?
      `var<workgroup> ${v.name} : array<array<${v.element}, ${v.count}>, GROUPS>;` :
      `var<workgroup> ${v.name} : array<${v.element}, ${v.count}>;`).join('\n');
}

/** Bytes of every variable, each rounded up to 16 as Dawn counts them. */
export function matrixWorkgroupBytes(s: MatrixShape, tiles: MatrixTiles): number {
  const {small, tiles: arrays} = matrixWorkgroupVariables(s, tiles);
  const roundUp16 = (bytes: number) => Math.ceil(bytes / 16) * 16;
  return [...small, ...arrays].reduce((sum, v) => sum + roundUp16(v.value * v.elementBytes * (v.perGroup ? s.groups : 1)), 0);
}
