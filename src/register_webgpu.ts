/**
 * registerWebGPUBackend: (re)registers tfjs's 'webgpu' backend with a device that also asks for the
 * features this package can use where the adapter offers them (shader-f16, subgroups, subgroup matrices),
 * and otherwise is made exactly as tfjs-backend-webgpu makes its own (same adapter request, features,
 * limits and priority), so every tfjs op runs on it as before.
 *
 * Dawn offers shader-f16 and subgroup matrices on NVIDIA only with its toggles
 * `allow_unsafe_apis,vulkan_enable_f16_on_nvidia` (Node: create(['enable-dawn-features=...']); Chrome:
 * --enable-unsafe-webgpu --enable-dawn-features=...). Without them the device simply lacks the features.
 */
import {engine, env, registerBackend, removeBackend} from '@tensorflow/tfjs-core';
import type {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';
import {recordAdapterFacts, SHADER_F16, SUBGROUP_MATRIX, SUBGROUPS} from '../kernels/webgpu/device_features';

export interface RegisterWebGPUOptions {
  /** Backend priority, as tfjs's (3 by default, above webgl's 2 and cpu's 1). */
  priority?: number;
  /** Adapter power preference; default as tfjs: 'high-performance' unless WEBGPU_USE_LOW_POWER_GPU. */
  powerPreference?: GPUPowerPreference;
  /** The features to ask for where offered; default all three. */
  features?: ReadonlyArray<'shader-f16'|'subgroups'|'chromium-experimental-subgroup-matrix'>;
}

const TFJS_FEATURES = ['timestamp-query', 'bgra8unorm-storage'];

async function createBackend(options: RegisterWebGPUOptions): Promise<WebGPUBackend> {
  // Loaded here, not at import: tfjs-backend-webgpu is an optional peer (the <script> build maps it to the
  // global tf, which tf-backend-webgpu.js fills). Importing it also registers its flags.
  const {WebGPUBackend: Backend} = await import('@tensorflow/tfjs-backend-webgpu');
  const gpu = (globalThis as {navigator?: {gpu?: GPU}}).navigator?.gpu;
  if (gpu == null) throw new Error('registerWebGPUBackend: navigator.gpu is missing: this environment has no WebGPU');
  const powerPreference = options.powerPreference ??
      (env().getBool('WEBGPU_USE_LOW_POWER_GPU') ? 'low-power' : 'high-performance');
  const adapter = await gpu.requestAdapter({powerPreference});
  if (adapter == null) throw new Error('registerWebGPUBackend: navigator.gpu.requestAdapter() found no adapter');
  const wanted = [...TFJS_FEATURES, ...(options.features ?? [SHADER_F16, SUBGROUPS, SUBGROUP_MATRIX])];
  const requiredFeatures = wanted.filter(f => adapter.features.has(f)) as GPUFeatureName[];
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    },
  });
  // As tfjs: adapter.info where it exists, else the older requestAdapterInfo(), else nothing.
  const legacy = adapter as unknown as {requestAdapterInfo?: () => Promise<GPUAdapterInfo>};
  const info = ('info' in adapter ? adapter.info : legacy.requestAdapterInfo ? await legacy.requestAdapterInfo() : undefined) as
      (GPUAdapterInfo & {subgroupMatrixConfigs?: Iterable<never>})|undefined;
  recordAdapterFacts(device, {
    subgroupMinSize: info?.subgroupMinSize, subgroupMaxSize: info?.subgroupMaxSize,
    subgroupMatrixConfigs: info?.subgroupMatrixConfigs ? [...info.subgroupMatrixConfigs] : [],
  });
  return new Backend(device, info);
}

/**
 * Call before `tf.setBackend('webgpu')` (or `tf.ready()`). A 'webgpu' backend already created is removed
 * first (its tensors go with it). Resolves nothing; the backend is created when tfjs first asks for it.
 */
export function registerWebGPUBackend(options: RegisterWebGPUOptions = {}): void {
  if (engine().registryFactory['webgpu'] != null) removeBackend('webgpu');
  registerBackend('webgpu', () => createBackend(options), options.priority ?? 3);
}
