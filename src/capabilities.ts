/**
 * flashAttentionCapabilities(): what the active backend offers this package, and which arithmetic a
 * `precision: 'float16'` call takes there, so a user (and the benchmark) can see it.
 */
import {backend as activeBackend, getBackend} from '@tensorflow/tfjs-core';
import {deviceFeatures} from '../kernels/webgpu/device_features';
import {float16Path} from '../kernels/webgpu/tiles/arithmetic';

export interface FlashAttentionCapabilities {
  /** tf.getBackend(). */
  backend: string;
  /** f16 subgroup matrices (tensor cores) usable by the float16 kernel. */
  matrixUnits: boolean;
  shaderF16: boolean;
  subgroups: boolean;
  /** The device's subgroup size when fixed (webgpu), else null. */
  subgroupSize: number|null;
  /**
   * What a float16 call computes with: 'subgroup-matrix' (matrix units), 'portable' (the portable matrix
   * tiles, forced by FLASH_ATTENTION_WEBGPU_MATRIX), 'reference' (cpu: the rounding points, emulated),
   * 'float32' (computed in float32, which SPEC.md allows without matrix units; webgl always).
   */
  float16Path: 'subgroup-matrix'|'portable'|'reference'|'float32';
}

export function flashAttentionCapabilities(): FlashAttentionCapabilities {
  const name = getBackend();
  const none = {backend: name, matrixUnits: false, shaderF16: false, subgroups: false, subgroupSize: null};
  if (name === 'cpu') return {...none, float16Path: 'reference'};
  if (name !== 'webgpu') return {...none, float16Path: 'float32'};
  const device = (activeBackend() as unknown as {device: GPUDevice}).device;
  const f = deviceFeatures(device);
  // A query never throws: a flag forcing matrix units this device lacks (which a call would refuse) reports
  // the float32 path the automatic choice would take.
  let path: FlashAttentionCapabilities['float16Path'];
  try {
    path = float16Path(f);
  } catch {
    path = f.matrixUnits ? 'subgroup-matrix' : 'float32';
  }
  return {
    backend: name, matrixUnits: f.matrixUnits, shaderF16: f.shaderF16, subgroups: f.subgroups,
    subgroupSize: f.subgroupSize, float16Path: path,
  };
}
