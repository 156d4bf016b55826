/**
 * Register-staged block loads, shared by the forward and the backward programs. A block of `block` rows ×
 * D4 vec4 columns travels device → this thread's registers → workgroup tiles in two steps:
 *   stageBlock  the device reads: read u of the thread is read idx = tid + u·THREADS of the block (row
 *               idx / perRow, read idx % perRow of the row, so a warp reads contiguous rows); invalid rows
 *               give the zero value;
 *   storeBlock  the staged registers into the tiles, in the same order (between two barriers).
 * A read carries `unit` vec4 of the row (ReadLayout; perRow = D4 / unit): 1 for float32 vec4, more for the
 * 16-byte reads of packed K/V (forward_snippets.ts's rowLoader), whose decode gives `unit` vec4 at once.
 * Issued one block ahead of its use, the reads are in flight while the previous block computes, instead of
 * stalling the loop on device-memory latency every block. `loads` is the WGSL constant of reads per thread
 * (its loops are unrolled by unroll.ts, so the staged arrays stay in registers).
 */

/** Reads per row (a WGSL constant) and vec4 per read; one vec4 per read by default. */
export interface ReadLayout {
  perRow: string;
  unit: number;
}
const VEC4_READS: ReadLayout = {perRow: 'D4', unit: 1};

/** One tensor read per staged element: WGSL for the zero value and for the load (in terms of `row`, `idx`). */
export interface StagedRead {
  staged: string;
  zero: string;
  load: string;
}

export function stageBlock(
    loads: string, block: string, rowValid: string, reads: readonly StagedRead[], layout = VEC4_READS): string {
  return `
    for (var u = 0; u < ${loads}; u++) {
      let idx = tid + u * THREADS;
      let row = idx / ${layout.perRow};${reads.map((x, i) => `
      var x${i} = ${x.zero};`).join('')}
      if (idx < ${block} * ${layout.perRow} && ${rowValid}) {${reads.map((x, i) => ` x${i} = ${x.load};`).join('')} }${reads.map((x, i) => `
      ${x.staged}[u] = x${i};`).join('')}
    }`;
}

/**
 * The tile writes of one staged element: the tile, the WGSL value (in terms of `u`; `unit` vec4 as an array
 * when the layout's unit is above 1) and a factor applied to each vec4.
 */
export interface StagedWrite {
  tile: string;
  value: string;
  scale?: string;
}

export function storeBlock(loads: string, block: string, writes: readonly StagedWrite[], layout = VEC4_READS): string {
  const {perRow, unit} = layout;
  const scaled = (w: StagedWrite, x: string) => w.scale != null ? `${x} * ${w.scale}` : x;
  const at = `(idx / ${perRow}) * ROW + (idx % ${perRow})${unit > 1 ? ` * ${unit}` : ''}`;
  const write = (w: StagedWrite, i: number) => unit === 1 ? ` ${w.tile}[${at}] = ${scaled(w, w.value)};` : `
        let values${i} = ${w.value};
        for (var e = 0; e < ${unit}; e++) { ${w.tile}[${at} + e] = ${scaled(w, `values${i}[e]`)}; }`;
  return `
    for (var u = 0; u < ${loads}; u++) {
      let idx = tid + u * THREADS;
      if (idx < ${block} * ${perRow}) {${writes.map(write).join('')} }
    }`;
}
