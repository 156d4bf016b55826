/**
 * Register-staged block loads, shared by the forward and the backward programs. A block of `block` rows ×
 * D4 vec4 columns travels device → this thread's registers → workgroup tiles in two steps:
 *   stageBlock  the device reads: vec4 u of the thread is tile element idx = tid + u·THREADS (row
 *               idx / D4, column idx % D4, so a warp reads contiguous rows); invalid rows give the zero value;
 *   storeBlock  the staged registers into the tiles, in the same element order (between two barriers).
 * Issued one block ahead of its use, the reads are in flight while the previous block computes, instead of
 * stalling the loop on device-memory latency every block. `loads` is the WGSL constant of vec4 per thread
 * (its loops are unrolled by unroll.ts, so the staged arrays stay in registers).
 */

/** One tensor read per staged element: WGSL for the zero value and for the load (in terms of `row`, `idx`). */
export interface StagedRead {
  staged: string;
  zero: string;
  load: string;
}

export function stageBlock(loads: string, block: string, rowValid: string, reads: readonly StagedRead[]): string {
  return `
    for (var u = 0; u < ${loads}; u++) {
      let idx = tid + u * THREADS;
      let row = idx / D4;${reads.map((x, i) => `
      var x${i} = ${x.zero};`).join('')}
      if (idx < ${block} * D4 && ${rowValid}) {${reads.map((x, i) => ` x${i} = ${x.load};`).join('')} }${reads.map((x, i) => `
      ${x.staged}[u] = x${i};`).join('')}
    }`;
}

/** One tile write per staged element: the tile and the WGSL value (in terms of `u`). */
export interface StagedWrite {
  tile: string;
  value: string;
}

export function storeBlock(loads: string, block: string, writes: readonly StagedWrite[]): string {
  return `
    for (var u = 0; u < ${loads}; u++) {
      let idx = tid + u * THREADS;
      if (idx < ${block} * D4) {${writes.map(w => ` ${w.tile}[(idx / D4) * ROW + idx % D4] = ${w.value};`).join('')} }
    }`;
}
