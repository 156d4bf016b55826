/**
 * Tile sizes of the FlashAttention backward programs (grad_program.ts): compile-time constants chosen per
 * padded head size, per pass and per device (workgroup memory), so they are part of the shader key.
 *
 * Both main passes run 128 invocations and share one thread layout:
 *   S / dP tile (BLOCK_M rows × BLOCK_N keys): 8 × 16 threads; thread (sm, sn) owns rows sm + 8·a (a < BLOCK_M/8)
 *     and keys sn + 16·c (c < BLOCK_N/16);
 *   accumulator tile (dK, dV: BLOCK_N keys × D_PAD; dQ: BLOCK_M rows × D_PAD): 16 × 8 threads; thread (ta, td)
 *     owns rows/keys ta + 16·a and vec4 columns td + 8·c.
 * So BLOCK_M and BLOCK_N are multiples of 16 and D_PAD a multiple of 32.
 * The pass's "resident" operands (K, V for the dK/dV pass; Q, dO for the dQ pass) stay in workgroup memory for
 * the whole workgroup; the "streamed" ones are loaded block after block. When a head size is too large for
 * both in workgroup memory (D = 256 on a 32 KiB device), the streamed pair, then the resident pair, is read
 * straight from the storage buffers instead (slower, same results).
 */
import {env} from '@tensorflow/tfjs-core';

export type GradPass = 'dkdv'|'dq';

export interface GradTiles {
  pass: GradPass;
  /** Head size padded to a multiple of 32. */
  dPad: number;
  blockM: number;
  blockN: number;
  /** Whether the resident / streamed operand pairs live in workgroup memory. */
  residentShared: boolean;
  streamedShared: boolean;
}

export const GRAD_THREADS = 128;
/** Row stride padding of the operand tiles (one vec4) against bank conflicts. */
export const GRAD_ROW_PAD_VEC4 = 1;

/** Bytes of workgroup memory: operand tiles in workgroup memory, P/dS tile, row statistics, reduction scratch. */
export function gradWorkgroupBytes(t: GradTiles): number {
  const row = 16 * (t.dPad / 4 + GRAD_ROW_PAD_VEC4);
  const resident = t.pass === 'dkdv' ? t.blockN : t.blockM;
  const streamed = t.pass === 'dkdv' ? t.blockM : t.blockN;
  return (t.residentShared ? 2 * resident * row : 0) + (t.streamedShared ? 2 * streamed * row : 0) +
      4 * t.blockM * t.blockN + 8 * t.blockM + 4 * GRAD_THREADS + 64;
}

/**
 * Tuning override for benchmarks: "RxS" puts [R resident, S streamed] first for both passes, "RxS,R'xS'" sets
 * the dK/dV pass and the dQ pass apart ('' = automatic).
 */
export const GRAD_TILES_FLAG = 'FLASH_ATTENTION_WEBGPU_GRAD_TILES';
env().registerFlag(GRAD_TILES_FLAG, () => '');

/**
 * GRAD_TILES_FLAG's block sizes for `pass` ([resident, streamed] rows, multiples of 16; a trailing 'u': the
 * matrix passes' unpadded score tiles), or null when the flag is unset or malformed.
 */
export function forcedGradTiles(pass: GradPass): {resident: number, streamed: number, suffix: string}|null {
  const perPass = env().getString(GRAD_TILES_FLAG).split(',');
  const m = /^(\d+)x(\d+)(u?)$/.exec(perPass[pass === 'dkdv' ? 0 : perPass.length - 1] ?? '');
  if (m == null) return null;
  const [resident, streamed] = [Number(m[1]), Number(m[2])];
  return resident > 0 && streamed > 0 && resident % 16 === 0 && streamed % 16 === 0 ? {resident, streamed, suffix: m[3]} : null;
}

/**
 * The largest tiles that fit the device's workgroup memory, preferring operands in workgroup memory; a causal
 * dK/dV pass prefers 32-key blocks (H100, B1 H8 S4096 D64: 2.36 vs 2.75 ms for 64-key blocks: the triangle's
 * uneven work spreads over twice as many workgroups; non-causal, 64 keys stay faster, 4.62 vs 4.73 ms).
 */
export function chooseGradTiles(pass: GradPass, headDim: number, maxWorkgroupBytes: number, causal = false): GradTiles {
  const dPad = Math.ceil(headDim / 32) * 32;
  // [resident block, streamed block]
  const sizes: Array<[number, number]> = [[64, 32], [64, 16], [32, 32], [32, 16], [16, 16]];
  if (pass === 'dkdv' && causal) sizes.unshift([32, 16]);
  const forced = forcedGradTiles(pass);
  if (forced != null) sizes.unshift([forced.resident, forced.streamed]);
  const placements: Array<[boolean, boolean]> = [[true, true], [true, false], [false, false]];
  for (const [residentShared, streamedShared] of placements) {
    for (const [resident, streamed] of sizes) {
      const t: GradTiles = {
        pass, dPad, residentShared, streamedShared,
        blockM: pass === 'dkdv' ? streamed : resident, blockN: pass === 'dkdv' ? resident : streamed,
      };
      if (gradWorkgroupBytes(t) <= maxWorkgroupBytes) return t;
    }
  }
  throw new Error(
      `FlashAttentionGrad (webgpu): head size ${headDim} needs more than this device's ` +
      `maxComputeWorkgroupStorageSize of ${maxWorkgroupBytes} bytes`);
}

export function gradTileKey(t: GradTiles): string {
  return `${t.pass}_d${t.dPad}_m${t.blockM}_n${t.blockN}_${t.residentShared ? 'R' : 'r'}${t.streamedShared ? 'S' : 's'}`;
}
