/**
 * What FP8 and float16 tensors share: an int32 tensor of words packing several narrow values along the last
 * axis (each row padded to whole words), and the logical shape they stand for.
 */
import {Tensor, util} from '@tensorflow/tfjs-core';

export abstract class PackedTensor {
  constructor(
      /** int32 [..., wordsPerRow(n)]: values packed little-endian. */
      readonly words: Tensor,
      /** Logical shape [..., n]. */
      readonly shape: number[], kind: string, wordsPerRow: (n: number) => number) {
    util.assert(words.dtype === 'int32', () => `${kind}: words must be int32, got ${words.dtype}`);
    util.assert(shape.length >= 1, () => `${kind}: the logical shape must have rank >= 1`);
    const expected = [...shape.slice(0, -1), wordsPerRow(shape[shape.length - 1])];
    util.assert(
        util.arraysEqual(words.shape, expected),
        () => `${kind}: words shape ${JSON.stringify(words.shape)} does not hold logical shape ` +
            `${JSON.stringify(shape)} (expected ${JSON.stringify(expected)})`);
  }
  get rank(): number {
    return this.shape.length;
  }
  get isDisposed(): boolean {
    return this.words.isDisposed;
  }
  dispose(): void {
    this.words.dispose();
  }
}
