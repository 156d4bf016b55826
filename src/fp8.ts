/**
 * FP8 (e4m3) tensors. tfjs has no 8-bit dtype, so an FP8 tensor is a value object around an int32
 * tensor of packed words (four codes per word along the last axis, each row padded to a multiple of
 * four codes), its logical shape, its format and the descale that maps codes back to real values.
 */
import {engine, reciprocal, Tensor, Tensor1D, util} from '@tensorflow/tfjs-core';
import {asAttrs, DequantizeFp8, Fp8CodecAttrs, Fp8CodecInputs, QuantizeFp8} from './kernel_name';
import {PackedTensor} from './packed_words';
import {Fp8Format, fp8WordsPerRow} from './spec';
import {rejectUnknownKeys} from './closest_name';

export type {Fp8Format} from './spec';

/** A descale: one number for the whole tensor, or a 1-D tensor along one axis (the head axis for the op). */
export type Descale = number | Tensor1D;

export class Fp8Tensor extends PackedTensor {
  readonly isFp8Tensor = true;
  /** words: int32 [..., ceil(n / 4)], codes packed little-endian, four per word; shape: the logical [..., n]. */
  constructor(
      words: Tensor, shape: number[], readonly format: Fp8Format,
      /** value = value(code) · descale; undefined when the creator did not record one. */
      readonly descale?: Descale,
      /** Axis the descale tensor runs along (default: the head axis, rank - 2). */
      readonly descaleAxis = shape.length - 2) {
    super(words, shape, 'Fp8Tensor', fp8WordsPerRow);
  }
  /** Disposes the words and a descale tensor that this object owns. */
  override dispose(): void {
    super.dispose();
    if (this.descale instanceof Tensor) this.descale.dispose();
  }
}

export function isFp8Tensor(x: unknown): x is Fp8Tensor {
  return x != null && typeof x === 'object' && (x as Fp8Tensor).isFp8Tensor === true;
}

export interface QuantizeFp8Options {
  format?: Fp8Format;
  /** Multiplier applied before rounding: a number, or a 1-D tensor along `axis`. Default 1. */
  scale?: number | Tensor1D;
  /** Axis a tensor scale runs along; default the head axis (2 for rank-4 bshd, 1 for rank-3 thd). */
  axis?: number;
}

const QUANTIZE_OPTION_NAMES: ReadonlyArray<keyof QuantizeFp8Options> = ['format', 'scale', 'axis'];

function checkFormat(format: string, fn: string): Fp8Format {
  if (format !== 'e4m3fn' && format !== 'e4m3fnuz') {
    throw new Error(`${fn}: format must be 'e4m3fn' or 'e4m3fnuz', got '${format}'`);
  }
  return format;
}

/** Resolves a scale option into codec attrs (+ the per-axis tensor, if any), validating it. */
function codecScale(
    fn: string, arg: string, shape: number[], scale: number|Tensor1D,
    axis: number): {attrs: Omit<Fp8CodecAttrs, 'format'>, scales?: Tensor1D} {
  const rowLength = shape[shape.length - 1];
  if (typeof scale === 'number') {
    if (!Number.isFinite(scale) || scale <= 0) {
      throw new Error(`${fn}: ${arg} must be a finite positive number, got ${scale}`);
    }
    return {attrs: {rowLength, scale, innerSize: 1, axisSize: 1}};
  }
  if (!(scale instanceof Tensor) || scale.rank !== 1 || scale.dtype !== 'float32') {
    throw new Error(`${fn}: ${arg} must be a number or a float32 Tensor1D`);
  }
  if (!Number.isInteger(axis) || axis < 0 || axis >= shape.length) {
    throw new Error(`${fn}: axis must be an integer in [0, ${shape.length - 1}], got ${axis}`);
  }
  if (scale.size !== shape[axis]) {
    throw new Error(
        `${fn}: ${arg} has ${scale.size} entries but axis ${axis} has size ${shape[axis]}`);
  }
  const innerSize = util.sizeFromShape(shape.slice(axis + 1));
  return {attrs: {rowLength, scale: 1, innerSize, axisSize: shape[axis]}, scales: scale};
}

/**
 * Quantizes float32 x to FP8: code = round_to_nearest_even(clamp(x · scale, ±FP8_MAX)), with
 * FP8_MAX 448 (e4m3fn) or 224 (e4m3fnuz, vLLM's clamp). The result carries descale = 1 / scale.
 */
export function quantizeFp8(x: Tensor, options: QuantizeFp8Options = {}): Fp8Tensor {
  const fn = 'quantizeFp8';
  if (!(x instanceof Tensor)) throw new Error(`${fn}: x must be a Tensor`);
  if (x.dtype !== 'float32') throw new Error(`${fn}: x must be float32, got ${x.dtype}`);
  if (x.rank < 1) throw new Error(`${fn}: x must have rank >= 1`);
  if (options == null || typeof options !== 'object') throw new Error(`${fn}: options must be an object, got ${options}`);
  rejectUnknownKeys(fn, options, QUANTIZE_OPTION_NAMES, 'option');
  const format = checkFormat(options.format ?? 'e4m3fn', fn);
  const scale = options.scale ?? 1;
  const axis = options.axis ?? (x.rank === 4 ? 2 : Math.max(x.rank - 2, 0));
  const {attrs, scales} = codecScale(fn, 'scale', x.shape, scale, axis);
  const inputs: Fp8CodecInputs = scales ? {x, scales} : {x};
  const words = engine().runKernel(
                    QuantizeFp8, inputs as unknown as Record<string, Tensor>,
                    asAttrs({...attrs, format})) as Tensor;
  const descale: Descale = typeof scale === 'number' ? 1 / scale :
                                                        reciprocal(scale) as Tensor1D;
  return new Fp8Tensor(words, x.shape.slice(), format, descale, axis);
}

/** Decodes an FP8 tensor to float32: value(code) · descale (descale 1 when none is recorded). */
export function dequantizeFp8(t: Fp8Tensor): Tensor {
  const fn = 'dequantizeFp8';
  if (!isFp8Tensor(t)) throw new Error(`${fn}: t must be an Fp8Tensor`);
  if (t.words.isDisposed) throw new Error(`${fn}: t has been disposed`);
  const {attrs, scales} = codecScale(fn, 'descale', t.shape, t.descale ?? 1, t.descaleAxis);
  const inputs: Fp8CodecInputs = scales ? {x: t.words, scales} : {x: t.words};
  return engine().runKernel(
             DequantizeFp8, inputs as unknown as Record<string, Tensor>,
             asAttrs({...attrs, format: t.format})) as Tensor;
}
