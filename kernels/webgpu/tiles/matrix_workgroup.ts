/**
 * The matrix-tile forward's workgroup memory as one list (workgroup_memory.ts): the shader declares it, the
 * plan (matrix_plan.ts) counts it.
 *
 * Order matters on the H200 (Dawn/Vulkan, 2026-12-01): subgroup-matrix loads and stores addressed the wrong
 * bytes when small variables sat between or after the tiles (bench/probes/subgroup_matrix_unit.mjs), so the
 * small variables come first and the matrix tiles last.
 */
import type {MatrixShape} from './matrix_plan';
import {WorkgroupVariable, workgroupBytesOf, workgroupVariable} from '../workgroup_memory';
import {MatrixTiles, TILE} from './matrix_tiles';

/** The small variables (before the tiles) and the tiles, in declaration order. */
export function matrixWorkgroupVariables(s: MatrixShape, tiles: MatrixTiles): {small: WorkgroupVariable[], tiles: WorkgroupVariable[]} {
  const rowsPerGroup = TILE * s.rowTiles;
  const t = tiles.tileType, e = tiles.tileBytes;
  return {
    small: [
      // (b, hk, m0, startQ, lenQ, startK, lenK, valid, split)
      workgroupVariable('blockInfo', 'i32', 4, '9', 9),
      // [0]: n0 + 1 when some row's m moved in block n0 (rescale acc); [1]: n0 + 1 when V holds a non-finite value.
      workgroupVariable('blockFlags', 'i32', 4, '2', 2),
      workgroupVariable('rowShare', 'f32', 4, 'THREADS', s.threads),
    ],
    tiles: [
      workgroupVariable('qTile', t, e, 'RS * QS', rowsPerGroup * s.rowStride, true),
      workgroupVariable('kTile', t, e, 'D_PAD * KS', s.dPad * s.keyStride),
      workgroupVariable('vTile', t, e, 'BLOCK_N * QS', s.blockN * s.rowStride),
      workgroupVariable('pTile', t, e, 'RS * BLOCK_N', rowsPerGroup * s.blockN, true),
      workgroupVariable('sTile', 'f32', 4, 'RS * BLOCK_N', rowsPerGroup * s.blockN, true),
    ],
  };
}

/** Bytes of the matrix kernel's workgroup variables (the plan's fit test). */
export function matrixWorkgroupBytes(s: MatrixShape, tiles: MatrixTiles): number {
  const {small, tiles: arrays} = matrixWorkgroupVariables(s, tiles);
  return workgroupBytesOf([...small, ...arrays], s.groups);
}
