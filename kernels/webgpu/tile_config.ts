/**
 * Tile sizes of the FlashAttention program: compile-time constants chosen per padded head size and
 * per device (workgroup memory), so they are part of the shader key.
 *
 * Threads form a TM × TN grid (16 × 8 = 128). Thread (tm, tn) owns query rows tm + TM·r (r < RM) of the
 * block, keys tn + TN·c (c < RN) of each K block for S = QKᵀ, and vec4 columns tn + TN·k of the head
 * dimension for acc. So BLOCK_M = TM·RM, BLOCK_N = TN·RN, and the padded head size D_PAD is a multiple
 * of 4·TN (zeros past D live only in registers and workgroup memory, never in device memory).
 */
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

const TM = 16, TN = 8;
/** Row stride padding of the Q and K/V tiles (one vec4) against bank conflicts. */
export const ROW_PAD_VEC4 = 1;

/** Bytes of workgroup memory a config uses: Q tile, one K/V tile, P tile, row-reduction scratch. */
export function workgroupBytes(c: TileConfig): number {
  const row = c.dPad / 4 + ROW_PAD_VEC4;
  return 16 * (c.blockM * row + c.blockN * row) + 4 * (c.blockM * c.blockN + c.blockM * c.tn);
}

/** The largest tiles (rows first) that fit the device's workgroup memory. */
export function chooseTileConfig(headDim: number, maxWorkgroupBytes: number): TileConfig {
  const dPad = Math.ceil(headDim / (4 * TN)) * 4 * TN;
  const candidates: Array<[number, number]> = [[4, 4], [4, 2], [2, 4], [2, 2], [2, 1], [1, 2], [1, 1]];
  for (const [rm, rn] of candidates) {
    const c = {dPad, tm: TM, tn: TN, rm, rn, blockM: TM * rm, blockN: TN * rn, threads: TM * TN};
    if (workgroupBytes(c) <= maxWorkgroupBytes) return c;
  }
  throw new Error(
      `flashAttention (webgpu): head size ${headDim} needs more than this device's ` +
      `maxComputeWorkgroupStorageSize of ${maxWorkgroupBytes} bytes`);
}

export function tileKey(c: TileConfig): string {
  return `d${c.dPad}_m${c.blockM}_n${c.blockN}_t${c.tm}x${c.tn}`;
}
