/**
 * Loads rows of q, k or v into a dense float32 tile [rows × D], the CPU analogue of a GPU kernel's
 * load of a block into workgroup memory: strides and layout are resolved here, and packed words are
 * decoded (FP8: code → value · descale; float16: half → value) so the attention loop only ever sees
 * plain tiles. With `half` (precision 'float16') every loaded value, the decoded FP8 value · descale
 * included, is rounded to IEEE half, as a float16 kernel stages its tiles; a float16 input is already
 * half (rounding it again is the identity), so it is not rounded twice.
 */
import type {TypedArray} from '@tensorflow/tfjs-core';
import {fp8DecodeTable} from '../../src/fp8_codec';
import {halfDecodeTable, roundTileToHalf} from '../../src/half';
import type {Fp8Format, Storage, Strides3} from '../../src/spec';

export class RowLoader {
  private readonly table: Float32Array|null;
  private readonly halves: Float32Array|null;
  private readonly half: boolean;
  constructor(
      private readonly data: TypedArray, private readonly strides: Strides3,
      format: Fp8Format|null, private readonly headDim: number, half = false, storage: Storage = format ? 'fp8' : 'float32') {
    this.table = format ? fp8DecodeTable(format) : null;
    this.halves = storage === 'float16' ? halfDecodeTable() : null;
    this.half = half && storage !== 'float16';
  }

  /** Copies rows [row0, row0 + rows) of sequence b (starting at packed row seqStart), head h, into tile. */
  load(tile: Float32Array, b: number, h: number, seqStart: number, row0: number, rows: number,
       descale: number): void {
    const [sb, ss, sh] = this.strides;
    const d = this.headDim, data = this.data, table = this.table, halves = this.halves;
    for (let r = 0; r < rows; r++) {
      const base = (seqStart + row0 + r) * ss + b * sb + h * sh;
      const dst = r * d;
      if (halves != null) {
        for (let c = 0; c < d; c++) tile[dst + c] = halves[(data[base + (c >> 1)] >>> ((c & 1) * 16)) & 0xffff] * descale;
      } else if (table == null) {
        for (let c = 0; c < d; c++) tile[dst + c] = data[base + c] * descale;
      } else {
        for (let c = 0; c < d; c++) {
          const code = (data[base + (c >> 2)] >>> ((c & 3) * 8)) & 0xff;
          tile[dst + c] = table[code] * descale;
        }
      }
    }
    if (this.half) roundTileToHalf(tile, rows * d);
  }
}
