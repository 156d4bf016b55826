/** The layer's dense projections into and out of heads, as plain matMuls (one per projection). */
import {add, matMul, reshape, Tensor} from '@tensorflow/tfjs-core';

/** x [B, S, F] · kernel [F, H, D] (+ bias [H, D]) → [B, S, H, D]. */
export function projectToHeads(x: Tensor, kernel: Tensor, bias: Tensor|null): Tensor {
  const [b, s, f] = x.shape, [, h, d] = kernel.shape;
  let y = matMul(reshape(x, [b * s, f]), reshape(kernel, [f, h * d]));
  if (bias != null) y = add(y, reshape(bias, [h * d]));
  return reshape(y, [b, s, h, d]);
}

/** x [B, S, H, D] · kernel [H, D, ...out] (+ bias [...out]) → [B, S, ...out]. */
export function projectFromHeads(x: Tensor, kernel: Tensor, bias: Tensor|null): Tensor {
  const [b, s, h, d] = x.shape, out = kernel.shape.slice(2), units = out.reduce((p, n) => p * n, 1);
  let y = matMul(reshape(x, [b * s, h * d]), reshape(kernel, [h * d, units]));
  if (bias != null) y = add(y, reshape(bias, [units]));
  return reshape(y, [b, s, ...out]);
}
