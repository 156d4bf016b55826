import {slice, Tensor} from '@tensorflow/tfjs-core';

/** x[..., begin : begin + size, ...] along `axis`; an axis of size 1 is a broadcast axis and stays whole. */
export function sliceAxis(x: Tensor, axis: number, begin: number, size: number): Tensor {
  if ((x.shape as number[])[axis] === 1) return x;
  const start = x.shape.map(() => 0), sizes = x.shape.map(() => -1);
  start[axis] = begin;
  sizes[axis] = size;
  return slice(x, start, sizes);
}
