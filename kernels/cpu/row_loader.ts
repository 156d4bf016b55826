/**
 * Loads rows of q, k or v into a dense float32 tile [rows × D], the CPU analogue of a GPU kernel's
 * load of a block into workgroup memory: strides and layout are resolved here, and FP8 words are
 * decoded (code → value · descale) so the attention loop only ever sees plain tiles. With `half`
 * (precision 'float16') every loaded value, the decoded FP8 value · descale included, is rounded to
 * IEEE half, as a float16 kernel stages its tiles.
 */
import type {TypedArray} from '@tensorflow/tfjs-core';
import {fp8DecodeTable} from '../../src/fp8_codec';
import {roundTileToHalf} from '../../src/half';
import type {Fp8Format, Strides3} from '../../src/spec';

export class RowLoader {
  private readonly table: Float32Array|null;
  constructor(
      private readonly data: TypedArray, private readonly strides: Strides3,
      format: Fp8Format|null, private readonly headDim: number, private readonly half = false) {
    this.table = format ? fp8DecodeTable(format) : null;
  }

  /** Copies rows [row0, row0 + rows) of sequence b (starting at packed row seqStart), head h, into tile. */
  load(tile: Float32Array, b: number, h: number, seqStart: number, row0: number, rows: number,
       descale: number): void {
    const [sb, ss, sh] = this.strides;
    const d = this.headDim, data = this.data, table = this.table;
    for (let r = 0; r < rows; r++) {
      const base = (seqStart + row0 + r) * ss + b * sb + h * sh;
      const dst = r * d;
      if (table == null) {
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
