/**
 * Half-precision (IEEE binary16) tensors. tfjs 4.22 has no float16 dtype, so a float16 tensor is a value
 * object, like an FP8 tensor (fp8.ts), around an int32 tensor of packed words: two halves per word along
 * the last axis, little-endian (element 2n in the low 16 bits, 2n + 1 in the high), each row padded to an
 * even length with +0, and its logical shape. toFloat16 and fromFloat16 run as the ToFloat16 / FromFloat16
 * kernels of the active backend (kernels/<backend>/float16_codec_*), bit-exact with src/half.ts.
 */
import {engine, Tensor} from '@tensorflow/tfjs-core';
import {asAttrs, Float16CodecAttrs, FromFloat16, ToFloat16} from './kernel_name';
import {PackedTensor} from './packed_words';
import {halfWordsPerRow} from './spec';

export class Float16Tensor extends PackedTensor {
  readonly isFloat16Tensor = true;
  /** words: int32 [..., ceil(n / 2)], two halves per word; shape: the logical [..., n]. */
  constructor(words: Tensor, shape: number[]) {
    super(words, shape, 'Float16Tensor', halfWordsPerRow);
  }
}

export function isFloat16Tensor(x: unknown): x is Float16Tensor {
  return x != null && typeof x === 'object' && (x as Float16Tensor).isFloat16Tensor === true;
}

/**
 * Rounds float32 x to IEEE half (round to nearest even; |x| >= 65520 becomes ±Infinity, ±Infinity and NaN
 * are kept, underflow keeps the sign) and packs the halves two per int32 word.
 */
export function toFloat16(x: Tensor): Float16Tensor {
  const fn = 'toFloat16';
  if (!(x instanceof Tensor)) throw new Error(`${fn}: x must be a Tensor`);
  if (x.isDisposed) throw new Error(`${fn}: x has been disposed`);
  if (x.dtype !== 'float32') throw new Error(`${fn}: x must be float32, got ${x.dtype}`);
  if (x.rank < 1) throw new Error(`${fn}: x must have rank >= 1`);
  const attrs: Float16CodecAttrs = {rowLength: x.shape[x.rank - 1]};
  const words = engine().runKernel(ToFloat16, {x}, asAttrs(attrs)) as Tensor;
  return new Float16Tensor(words, x.shape.slice());
}

/** Unpacks a float16 tensor to float32 (exact: every half is a float32). */
export function fromFloat16(t: Float16Tensor): Tensor {
  const fn = 'fromFloat16';
  if (!isFloat16Tensor(t)) throw new Error(`${fn}: t must be a Float16Tensor (made by toFloat16)`);
  if (t.words.isDisposed) throw new Error(`${fn}: t has been disposed`);
  const attrs: Float16CodecAttrs = {rowLength: t.shape[t.shape.length - 1]};
  return engine().runKernel(FromFloat16, {x: t.words}, asAttrs(attrs)) as Tensor;
}
