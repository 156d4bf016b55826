/**
 * Caller tensors as the prep passes read them: flat 1-D views (so one flat index, computed from the
 * spec's strides, addresses any layout through tfjs's own sampler, which also handles slices and
 * tiny tensors uploaded as uniforms). A packed texture is unpacked first, with its own shape, since
 * a packed texture's order is not the flat order. Temporaries go to `temps` for disposal.
 */
import type {MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';
import {TensorInfo, util} from '@tensorflow/tfjs-core';

export function flatView(backend: MathBackendWebGL, t: TensorInfo, temps: TensorInfo[]): TensorInfo {
  let source = t;
  const data = backend.texData.get(t.dataId);
  if (data.isPacked && data.texture != null && t.shape.length > 1) {
    source = backend.unpackTensor(t);
    temps.push(source);
  }
  return {dataId: source.dataId, shape: [util.sizeFromShape(t.shape)], dtype: source.dtype};
}
