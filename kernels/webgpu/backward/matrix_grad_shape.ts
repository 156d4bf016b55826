/**
 * The block shape of the float16 backward on matrix tiles (matrix_grad_program.ts), and its workgroup
 * memory as one list that declares and counts it (workgroup_memory.ts).
 *
 * A workgroup is `groups` tile groups of GROUP_SIZE invocations. The pass's resident block (the dK/dV
 * pass's keys, the dQ pass's query rows) has 16 rows per group: BLOCK_R = 16·groups; the streamed block
 * (query rows for dK/dV, keys for dQ) has BLOCK_S = 16·streamTiles rows, shared by the groups.
 *
 * Where fragments hold their values (registers: the matrix units) and D ≤ 64 (8 fragments beside the
 * accumulators), the resident block's left fragments are made once per workgroup, staged through pTile /
 * dsTile one 16-column d-tile at a time, and the resident tiles are not declared: the memory goes to more
 * resident rows. Elsewhere (the portable twin reads its operands at each product; D > 64) the resident
 * pair stays in workgroup memory and each product makes its fragment there.
 *
 * Workgroup memory (tile elements: f16 on the matrix units, f32 in the portable twin; RS = D_PAD + ROW_PAD):
 *   resident pair per group, 16 × RS      kTile, vTile (dK/dV) or qTile, dOTile (dQ), as halves (only
 *                                         where the fragments are not held in registers)
 *   streamed pair BLOCK_S × RS            qTile, dOTile (dK/dV) or kTile, vTile (dQ), as halves
 *   sTile, dpTile per group, 16 × SS f32:  S and dP of the group's rows (Sᵀ, dPᵀ in the dK/dV pass), row
 *                                         stride SS = BLOCK_S + 4 (the matrix stores' 8 rows of a phase fall
 *                                         in distinct banks; a 128-byte stride put them in one), or BLOCK_S
 *                                         where only the unpadded shape fits;
 *                                         scratch for the accumulators in the epilogue (16 × 16)
 *   pTile, dsTile per group, 16 × PS      P∘Z and dS·capSlope rounded to half, PS = BLOCK_S + 8 (or
 *                                         BLOCK_S, as SS): the left operands
 *   lseRow, deltaRow  the streamed (dK/dV) or resident (dQ) rows' lse_i, D_i
 *   blockFlags        the last streamed block with a non-finite right operand (its products go guarded)
 * Small variables come first, the tiles last (the H200's subgroup-matrix layout constraint,
 * ../tiles/matrix_workgroup.ts).
 */
import type {WorkgroupVariable} from '../workgroup_memory';
import {workgroupBytesOf, workgroupVariable} from '../workgroup_memory';
import {GROUP_SIZE, MatrixTiles, TILE} from '../tiles/matrix_tiles';
import type {GradPass} from './grad_tiles';
import {forcedGradTiles} from './grad_tiles';

export interface MatrixGradShape {
  pass: GradPass;
  groups: number;
  /** Tiles of the streamed block (BLOCK_S = 16 · streamTiles). */
  streamTiles: number;
  /** Head size padded to a multiple of 16 (zeros past D live only in workgroup memory). */
  dPad: number;
  /** Row stride of the operand tiles, in elements. */
  rowStride: number;
  threads: number;
  /** The resident left fragments live in registers (no resident tiles in workgroup memory). */
  residentInRegisters: boolean;
  /**
   * The streamed block's device reads are issued one block ahead (registers: STREAM_LOADS vec4 of each
   * streamed tensor per invocation), where they take at most READ_AHEAD_REGISTERS; else each block reads
   * its rows when it stages them.
   */
  readsAhead: boolean;
  /** Row strides of the f32 score tiles (sTile, dpTile) and of the half ones (pTile, dsTile), in elements. */
  scoreStride: number;
  halfScoreStride: number;
}

/** Elements of padding per operand tile row (16 bytes of f16) against bank conflicts, as the forward. */
const ROW_PAD = 8;

export const residentRows = (s: MatrixGradShape) => TILE * s.groups;
export const streamedRows = (s: MatrixGradShape) => TILE * s.streamTiles;
/** BLOCK_M × BLOCK_N of the pass: query rows × keys. */
export const blockM = (s: MatrixGradShape) => (s.pass === 'dkdv' ? streamedRows(s) : residentRows(s));
export const blockN = (s: MatrixGradShape) => (s.pass === 'dkdv' ? residentRows(s) : streamedRows(s));

/** The operand pairs by tile name: the resident one is per group. */
export const residentPair = (s: MatrixGradShape) => (s.pass === 'dkdv' ? ['k', 'v'] : ['q', 'dO']);
export const streamedPair = (s: MatrixGradShape) => (s.pass === 'dkdv' ? ['q', 'dO'] : ['k', 'v']);

export function matrixGradVariables(s: MatrixGradShape, tiles: MatrixTiles): {small: WorkgroupVariable[], tiles: WorkgroupVariable[]} {
  const t = tiles.tileType, e = tiles.tileBytes;
  const operand = TILE * s.rowStride, streamed = streamedRows(s) * s.rowStride;
  const rows = s.pass === 'dkdv' ? streamedRows(s) : residentRows(s);
  return {
    small: [
      workgroupVariable('blockInfo', 'i32', 4, '8', 8),
      // the id of the last streamed block whose staged right operands hold a NaN or ±Inf (0: none yet)
      workgroupVariable('blockFlags', 'i32', 4, '1', 1),
      workgroupVariable('lseRow', 'f32', 4, 'BLOCK_M', rows),
      workgroupVariable('deltaRow', 'f32', 4, 'BLOCK_M', rows),
      ...(s.pass === 'dq' ? [workgroupVariable('reduceTile', 'f32', 4, 'THREADS', s.threads)] : []),
    ],
    tiles: [
      ...(s.residentInRegisters ? [] : residentPair(s).map(name => workgroupVariable(`${name}Tile`, t, e, '16 * RS', operand, true))),
      ...streamedPair(s).map(name => workgroupVariable(`${name}Tile`, t, e, 'BLOCK_S * RS', streamed)),
      workgroupVariable('pTile', t, e, '16 * PS', TILE * s.halfScoreStride, true),
      workgroupVariable('dsTile', t, e, '16 * PS', TILE * s.halfScoreStride, true),
      workgroupVariable('sTile', 'f32', 4, '16 * SS', TILE * s.scoreStride, true),
      workgroupVariable('dpTile', 'f32', 4, '16 * SS', TILE * s.scoreStride, true),
    ],
  };
}

export function matrixGradBytes(s: MatrixGradShape, tiles: MatrixTiles): number {
  const v = matrixGradVariables(s, tiles);
  return workgroupBytesOf([...v.small, ...v.tiles], s.groups);
}

/** D ≤ 64: the 2·D/16 resident fragments fit in registers beside the accumulators. */
const MAX_REGISTER_D_TILES = 4;
/**
 * Registers the reads ahead may take per invocation (2 tensors × vec4 × STREAM_LOADS). Past it (D128 on
 * 64 invocations: 128 registers beside 128 of accumulators) the H200 ran the dK/dV pass 14.3 ms.
 */
const READ_AHEAD_REGISTERS = 32;

/** vec4 of each streamed tensor per invocation. */
export const streamLoads = (s: MatrixGradShape) => Math.ceil(streamedRows(s) * s.dPad / 4 / s.threads);

function makeShape(pass: GradPass, headDim: number, groups: number, streamTiles: number, tiles: MatrixTiles, padScores = true): MatrixGradShape {
  const dPad = Math.ceil(headDim / TILE) * TILE;
  const residentInRegisters = tiles.fragmentsHoldValues && dPad / TILE <= MAX_REGISTER_D_TILES;
  const streamed = TILE * streamTiles, threads = groups * GROUP_SIZE;
  return {
    pass, groups, streamTiles, dPad, rowStride: dPad + ROW_PAD, threads, residentInRegisters,
    readsAhead: 2 * 4 * Math.ceil(streamed * dPad / 4 / threads) <= READ_AHEAD_REGISTERS,
    scoreStride: streamed + (padScores ? 4 : 0), halfScoreStride: streamed + (padScores ? 8 : 0),
  };
}

/**
 * The first shape that fits the device's workgroup memory and invocation limit, or null: the float32
 * programs then run the pass.
 */
export function chooseMatrixGradShape(
    pass: GradPass, headDim: number, maxWorkgroupBytes: number, tiles: MatrixTiles, maxInvocations = 256): MatrixGradShape|null {
  // [groups, streamed tiles], each with padded score tiles first. The H200's sweeps (BENCHMARKS.md, fifth
  // session; B1 H8 S4096): D64 (resident fragments in registers) 8×1 2.34 ms, 4×1 2.44, 4×2 3.97, 2×2 5.31,
  // 2×4 11.6, 1×2 18.5; D128 (resident tiles) 2×1 18.5 ms, 2×2 20.8, 1×1 36.2: 16-row streamed blocks.
  const sizes: Array<[number, number, boolean]> = [[8, 1], [4, 1], [2, 1], [4, 2], [2, 2], [1, 1]]
      .flatMap(([g, st]): Array<[number, number, boolean]> => [[g, st, true], [g, st, false]]);
  // Tuning: GRAD_TILES_FLAG's RxS (resident × streamed rows, multiples of 16; a trailing 'u': unpadded score tiles).
  const forced = forcedGradTiles(pass);
  if (forced != null) sizes.unshift([forced.resident / TILE, forced.streamed / TILE, !forced.suffix.includes('u')]);
  for (const [groups, streamTiles, padScores] of sizes) {
    const s = makeShape(pass, headDim, groups, streamTiles, tiles, padScores);
    if (s.threads <= maxInvocations && matrixGradBytes(s, tiles) <= maxWorkgroupBytes) return s;
  }
  return null;
}

export function matrixGradKey(s: MatrixGradShape): string {
  return `${s.pass}_d${s.dPad}_g${s.groups}_s${s.streamTiles}_ss${s.scoreStride}_ps${s.halfScoreStride}${s.residentInRegisters ? '_r' : ''}${s.readsAhead ? '_a' : ''}`;
}
