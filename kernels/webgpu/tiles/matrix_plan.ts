/**
 * The block shape of the matrix-tile forward (matrix_attention_program.ts) and its launch plan.
 *
 * A workgroup is `groups` tile groups of GROUP_SIZE invocations. Group g owns 16·rowTiles consecutive
 * packed rows of the block (BLOCK_M = groups · 16 · rowTiles) and every key of a block of
 * BLOCK_N = 16 · keyTiles keys. For the softmax each row belongs to 32 / (16 · rowTiles) lanes of its
 * group (1 or 2), which split its BLOCK_N keys. Grid, GQA packing and split-KV are the float32 kernel's
 * (launch_plan.ts): only the block shape differs.
 *
 * Workgroup memory (tile elements: f16 on the matrix units, f32 in the portable twin):
 *   qTile  BLOCK_M × QS        the block's Q rows, QS = D_PAD + ROW_PAD (row stride against bank conflicts)
 *   kTile  D_PAD × KS          the K block, transposed (KS = BLOCK_N + ROW_PAD)
 *   vTile  BLOCK_N × QS        the V block
 *   pTile  BLOCK_M × BLOCK_N   P = exp2(S − m) rounded to half, the left operand of P·V
 *   sTile  BLOCK_M × BLOCK_N   f32: S out of the matrix units for the softmax; scratch for acc
 * (declared and counted from one list: matrix_workgroup.ts)
 */
import {env} from '@tensorflow/tfjs-core';
import type {FlashAttentionSpec} from '../../../src/spec';
import {chooseSplits, gridWorkgroups, LaunchPlan} from '../launch_plan';
import {GROUP_SIZE, MatrixTiles, TILE} from './matrix_tiles';
import {matrixWorkgroupBytes} from './matrix_workgroup';

export interface MatrixShape {
  groups: number;
  rowTiles: 1|2;
  keyTiles: number;
  /** Head size padded to a multiple of 16; zeros past D live only in workgroup memory. */
  dPad: number;
  /** Row stride of qTile and vTile, in elements. */
  rowStride: number;
  /** Row stride of Kᵀ in kTile (K is staged transposed: D_PAD rows of BLOCK_N keys). */
  keyStride: number;
  blockM: number;
  blockN: number;
  threads: number;
}

/** Elements of padding per Q/K/V tile row (16 bytes of f16) against bank conflicts. */
const ROW_PAD = 8;

/**
 * The grid that fills the H200 for this kernel, in tile groups (subgroups): about 1024, eight per SM. At
 * B1 H8 S4096 D64 (2026-12-01 sweeps) 512 workgroups of 2×2×1 ran faster unsplit than split two or four
 * ways, and 256 of 4×2×1 unsplit as fast as split two ways.
 */
const MATRIX_TARGET_GROUPS = 1024;
const targetWorkgroups = (s: MatrixShape) => Math.ceil(MATRIX_TARGET_GROUPS / s.groups);
/**
 * Causal calls split at least two ways (the longest row blocks then do half their work each): 27.7 vs 25.2
 * TFLOP/s at S4096 D64, 41.9 vs 40.4 at S16384, 24.9 vs 24.0 at S4096 D128; four
 * or eight splits were slower again (H200, 2026-12-01 interleaved sweep).
 */
const CAUSAL_MIN_SPLITS = 2;

export const MATRIX_TILES_FLAG = 'FLASH_ATTENTION_WEBGPU_MATRIX_SHAPE';
env().registerFlag(MATRIX_TILES_FLAG, () => '');

export function makeShape(headDim: number, groups: number, rowTiles: 1|2, keyTiles: number): MatrixShape {
  const dPad = Math.ceil(headDim / TILE) * TILE;
  return {
    groups, rowTiles, keyTiles, dPad, rowStride: dPad + ROW_PAD, keyStride: TILE * keyTiles + ROW_PAD, blockM: groups * TILE * rowTiles,
    blockN: TILE * keyTiles, threads: groups * GROUP_SIZE,
  };
}

/**
 * Preferred shapes first. Two row tiles per group give each lane a whole row (no cross-lane max), but
 * hold 2·D/16 accumulators per group: past D = 64 one row tile keeps them in registers. On the H200
 * (2026-12-01, interleaved sweep, BENCHMARKS.md) 4×2×1 was the fastest at D64 (S4096 0.67 ms against
 * 1.04 ms for 2×2×1; S16384 63 TFLOP/s) and 4×1×1 at D128; larger blocks pass the 48 KB of workgroup
 * memory, or spill registers.
 */
function candidates(headDim: number): MatrixShape[] {
  const list: Array<[number, 1|2, number]> = headDim <= 64 ?
      [[4, 2, 1], [2, 2, 1], [1, 2, 1], [1, 1, 1]] :
      [[4, 1, 1], [2, 1, 1], [1, 1, 1]];
  return list.map(([g, r, k]) => makeShape(headDim, g, r, k));
}

/** "GxRxK" (groups × row tiles × key tiles), for tuning runs. */
function parseShape(headDim: number, text: string): MatrixShape {
  const [g, r, k] = text.split('x').map(Number);
  if (![g, r, k].every(Number.isInteger) || !(g >= 1 && g <= 8) || (r !== 1 && r !== 2) || !(k >= 1 && k <= 8)) {
    throw new Error(`flashAttention (webgpu): matrix shape '${text}' is not GxRxK with G 1..8, R 1 or 2, K 1..8`);
  }
  return makeShape(headDim, g, r as 1|2, k);
}

/** The launch plan on matrix tiles, or null when no shape fits the device's workgroup memory. */
export function planMatrixLaunch(
    spec: FlashAttentionSpec, limits: {maxComputeWorkgroupStorageSize: number},
    tiles: MatrixTiles): LaunchPlan<MatrixShape>|null {
  const budget = limits.maxComputeWorkgroupStorageSize;
  const forced = env().getString(MATRIX_TILES_FLAG);
  const list = forced !== '' ? [parseShape(spec.headDim, forced)] : candidates(spec.headDim);
  let shape = list.find(s => matrixWorkgroupBytes(s, tiles) <= budget);
  if (shape == null) return null;
  // A grid too small for the GPU takes smaller row blocks before key splits (as the float32 plan does).
  const smaller = list.filter(s => s.blockM < shape!.blockM && matrixWorkgroupBytes(s, tiles) <= budget);
  if (forced === '' && gridWorkgroups(spec, shape) < targetWorkgroups(shape) && smaller.length > 0) shape = smaller[0];
  const grid = gridWorkgroups(spec, shape);
  const numSplits = chooseSplits(spec, shape, grid, targetWorkgroups(shape), spec.causal ? CAUSAL_MIN_SPLITS : 1);
  return {tiles: shape, vec4Rows: spec.headDim % 4 === 0, kvUnit: 1, numSplits, workgroups: grid * numSplits};
}

export function matrixPlanKey(plan: LaunchPlan<MatrixShape>): string {
  const t = plan.tiles;
  return `mx_d${t.dPad}_g${t.groups}_r${t.rowTiles}_k${t.keyTiles}_${plan.vec4Rows ? 'v4' : 'v1'}_${plan.numSplits > 1 ? 'split' : 'whole'}`;
}
