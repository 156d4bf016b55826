/** Reading tensor data inside a cpu kernel (all inputs of a cpu kernel live on the cpu backend). */
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';
import type {TensorInfo, TypedArray} from '@tensorflow/tfjs-core';

export function valuesOf(backend: MathBackendCPU, t: TensorInfo): TypedArray {
  return backend.data.get(t.dataId).values as TypedArray;
}

export function optionalValues(backend: MathBackendCPU, t: TensorInfo|undefined): TypedArray|null {
  return t == null ? null : valuesOf(backend, t);
}
