/**
 * Small helpers shared by this folder's kernels: flat views of tensors (programs index storage
 * buffers directly, so every input is bound as a 1-D view and tfjs's generated prelude stays small and
 * shape-independent), and the storage-binding size check every kernel runs before any GPU work.
 */
import type {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';
import type {TensorInfo} from '@tensorflow/tfjs-core';
import {util} from '@tensorflow/tfjs-core';

/** The same data seen as a 1-D tensor (no copy, no new reference: only for passing to a program). */
export function flatView(t: TensorInfo): TensorInfo {
  return {dataId: t.dataId, shape: [util.sizeFromShape(t.shape)], dtype: t.dtype};
}

/** The same data under another shape of equal size (as tfjs's own Reshape does on this backend). */
export function reshapedInfo(t: TensorInfo, shape: number[]): TensorInfo {
  return {dataId: t.dataId, shape, dtype: t.dtype};
}

/**
 * Throws, naming the limit, if a tensor of `elements` 4-byte values cannot be bound as one storage
 * buffer on this device (binding a larger buffer would fail validation and return garbage).
 */
export function checkBindingSize(backend: WebGPUBackend, kernel: string, name: string, elements: number): void {
  const limit = backend.device.limits.maxStorageBufferBindingSize;
  const bytes = elements * 4;
  if (bytes > limit) {
    throw new Error(
        `${kernel} (webgpu): ${name} needs a ${bytes}-byte storage buffer, above this device's ` +
        `maxStorageBufferBindingSize of ${limit} bytes; split the call (fewer batches or heads per call)`);
  }
}
