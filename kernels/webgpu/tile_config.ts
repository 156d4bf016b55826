/**
 * Tile sizes of the FlashAttention program: compile-time constants chosen per padded head size, per
 * query length and per device (workgroup memory), so they are part of the shader key.
 *
 * Threads form a TM × TN grid (128 threads). Thread (tm, tn) owns query rows tm + TM·r (r < RM) of the
 * block, keys tn + TN·c (c < RN) of each K block for S = QKᵀ, and vec4 columns tn + TN·k of the head
 * dimension for acc. So BLOCK_M = TM·RM, BLOCK_N = TN·RN, and the padded head size D_PAD is a multiple
 * of 4·TN (zeros past D live only in registers and workgroup memory, never in device memory).
 *
 * Two families:
 *   prefill  TM 16 × TN 8, the largest RM × RN that fits workgroup memory (BLOCK_M up to 64): Q·Kᵀ
 *            and P·V reuse each workgroup-memory read over RM rows and RN keys.
 *   decode   (at most DECODE_MAX_ROWS packed rows Sq·G, launch_plan.ts) RM = 1 and TN as wide as the
 *            head's vec4 columns (up to 32), so a block holds only a few rows: a 64-row tile would spend
 *            most of its FMAs on padding.
 *            Decode is bound by reading K and V, which split-KV (launch_plan.ts) spreads over the GPU.
 */
import {WorkgroupVariable, workgroupBytesOf, workgroupVariable} from './workgroup_memory';

export interface TileConfig {
  /** Head size padded to a multiple of 4·TN. */
  dPad: number;
  tm: number;
  tn: number;
  /** Query rows and keys per thread. */
  rm: number;
  rn: number;
  blockM: number;
  blockN: number;
  threads: number;
}

const THREADS = 128;
/** Packed row counts (Sq · query heads per KV head) up to this use the decode family. */
export const DECODE_MAX_ROWS = 16;
/** Row stride padding of the Q and K/V tiles (one vec4) against bank conflicts. */
export const ROW_PAD_VEC4 = 1;

/**
 * The workgroup variables of a config, declared by the program (flash_attention_program.ts) and counted here:
 * Q tile, one K/V tile, P tile, row-reduction scratch and the block description.
 */
export function forwardWorkgroupVariables(c: TileConfig): WorkgroupVariable[] {
  const row = c.dPad / 4 + ROW_PAD_VEC4;
  return [
    workgroupVariable('qTile', 'vec4<f32>', 16, 'BLOCK_M * ROW', c.blockM * row),
    workgroupVariable('kvTile', 'vec4<f32>', 16, 'BLOCK_N * ROW', c.blockN * row),
    workgroupVariable('pTile', 'vec4<f32>', 16, 'BLOCK_M * BLOCK_N4', c.blockM * c.blockN / 4),
    workgroupVariable('rowTile', 'f32', 4, 'BLOCK_M * TN', c.blockM * c.tn),
    workgroupVariable('blockInfo', 'i32', 4, '9', 9),
  ];
}

/** Bytes of workgroup memory a config uses. */
export function workgroupBytes(c: TileConfig): number {
  return workgroupBytesOf(forwardWorkgroupVariables(c));
}

function makeConfig(headDim: number, tm: number, tn: number, rm: number, rn: number): TileConfig {
  const dPad = Math.ceil(headDim / (4 * tn)) * 4 * tn;
  return {dPad, tm, tn, rm, rn, blockM: tm * rm, blockN: tn * rn, threads: tm * tn};
}

function candidates(headDim: number, rows: number): TileConfig[] {
  const sizes: Array<[number, number]> = [[4, 4], [4, 2], [2, 4], [2, 2], [2, 1], [1, 2], [1, 1]];
  const prefill = sizes.map(([rm, rn]) => makeConfig(headDim, 16, 8, rm, rn));
  if (rows > DECODE_MAX_ROWS) return prefill;
  // Decode first; where its wide K/V block does not fit (small devices, large D), the prefill family.
  const tn = Math.min(32, Math.max(8, 2 ** Math.ceil(Math.log2(Math.ceil(headDim / 4)))));
  return [makeConfig(headDim, THREADS / tn, tn, 1, 32 / tn), ...prefill];
}

/** The same tile with half its rows per thread (it needs less workgroup memory, so it fits too). */
export function halfHeight(c: TileConfig): TileConfig {
  return makeConfig(c.dPad, c.tm, c.tn, c.rm / 2, c.rn);
}

/** An override such as "16x8x4x2" (TM×TN×RM×RN), for tuning runs. */
function parseOverride(headDim: number, text: string): TileConfig {
  const parts = text.split('x').map(Number);
  if (parts.length !== 4 || parts.some(n => !Number.isInteger(n) || n < 1)) {
    throw new Error(`flashAttention (webgpu): tile override '${text}' is not TMxTNxRMxRN`);
  }
  const [tm, tn, rm, rn] = parts;
  // P is read 4 keys at a time; WebGPU guarantees 256 invocations per workgroup.
  if ((tn * rn) % 4 !== 0 || tm * tn > 256) {
    throw new Error(`flashAttention (webgpu): tile override '${text}' needs TN·RN a multiple of 4 and TM·TN ≤ 256`);
  }
  return makeConfig(headDim, tm, tn, rm, rn);
}

/** The largest tiles (rows first) of the family that fit the device's workgroup memory. */
export function chooseTileConfig(
    headDim: number, rows: number, maxWorkgroupBytes: number, override = ''): TileConfig {
  const list = override !== '' ? [parseOverride(headDim, override)] : candidates(headDim, rows);
  for (const c of list) {
    if (workgroupBytes(c) <= maxWorkgroupBytes) return c;
  }
  throw new Error(
      `flashAttention (webgpu): head size ${headDim} needs more than this device's ` +
      `maxComputeWorkgroupStorageSize of ${maxWorkgroupBytes} bytes`);
}

export function tileKey(c: TileConfig): string {
  return `d${c.dPad}_m${c.blockM}_n${c.blockN}_t${c.tm}x${c.tn}`;
}
