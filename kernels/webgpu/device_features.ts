/**
 * What a WebGPU device offers this package: the features it was created with, and the adapter facts a
 * device does not carry (its subgroup sizes, its subgroup-matrix configurations), recorded by
 * registerWebGPUBackend when it creates the device. A device made elsewhere (tfjs's own registration)
 * is judged by its features alone, and tfjs asks for none of these.
 */
import {GROUP_SIZE} from './tiles/matrix_tiles';

export const SHADER_F16 = 'shader-f16';
export const SUBGROUPS = 'subgroups';
export const SUBGROUP_MATRIX = 'chromium-experimental-subgroup-matrix';

export interface AdapterFacts {
  subgroupMinSize?: number;
  subgroupMaxSize?: number;
  /** Dawn's adapter.info.subgroupMatrixConfigs. */
  subgroupMatrixConfigs?: ReadonlyArray<{componentType: string, resultComponentType: string, M: number, N: number, K: number}>;
}

const facts = new WeakMap<GPUDevice, AdapterFacts>();

export function recordAdapterFacts(device: GPUDevice, adapterFacts: AdapterFacts): void {
  facts.set(device, adapterFacts);
}

export interface DeviceFeatures {
  shaderF16: boolean;
  subgroups: boolean;
  /** Subgroup size when the adapter reports one fixed size, else null. */
  subgroupSize: number|null;
  /** f16×f16→f32 16×16×16 subgroup matrices with GROUP_SIZE-wide subgroups: the matrix tiles' needs. */
  matrixUnits: boolean;
}

export function deviceFeatures(device: GPUDevice): DeviceFeatures {
  const has = (f: string) => device.features.has(f);
  const known = facts.get(device) ?? {};
  const subgroupSize = known.subgroupMinSize != null && known.subgroupMinSize === known.subgroupMaxSize ? known.subgroupMinSize : null;
  const f16Config = (known.subgroupMatrixConfigs ?? []).some(c =>
      c.componentType === 'f16' && c.resultComponentType === 'f32' && c.M === 16 && c.N === 16 && c.K === 16);
  return {
    shaderF16: has(SHADER_F16), subgroups: has(SUBGROUPS), subgroupSize,
    matrixUnits: has(SUBGROUP_MATRIX) && has(SHADER_F16) && has(SUBGROUPS) && f16Config && subgroupSize === GROUP_SIZE,
  };
}
