/**
 * Which tfjs backends this browser can run the op on, and why not when it cannot: the browser lacks the API,
 * tfjs fails to start the backend, or this build has no FlashAttention kernel for it yet.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import {FlashAttention} from '../src/index';
import {errorText} from './format';

export type BackendName = 'webgpu'|'webgl'|'cpu';
export const BACKENDS: BackendName[] = ['webgpu', 'webgl', 'cpu'];

export interface BackendStatus {
  name: BackendName;
  /** Why the backend cannot be used here; null when it can. */
  reason: string|null;
  /** The device, as the browser names it (a software GPU shows up here). */
  device: string;
}

async function browserSupport(name: BackendName): Promise<{reason: string|null, device: string}> {
  if (name === 'cpu') return {reason: null, device: 'JavaScript on the CPU (tfjs-backend-cpu)'};
  if (name === 'webgl') {
    const gl = document.createElement('canvas').getContext('webgl2');
    if (gl == null) return {reason: 'this browser gives no WebGL2 context', device: ''};
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const device = String(info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return {reason: null, device};
  }
  const gpu = (navigator as unknown as {gpu?: {requestAdapter(): Promise<{info?: Record<string, string>}|null>}}).gpu;
  if (gpu == null) return {reason: 'this browser has no WebGPU (navigator.gpu is missing; needs a secure context)', device: ''};
  const adapter = await gpu.requestAdapter();
  if (adapter == null) return {reason: 'WebGPU is present but the browser offers no GPU adapter', device: ''};
  const info = adapter.info ?? {};
  return {reason: null, device: [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'WebGPU adapter'};
}

/** Probes every backend once (starting each in tfjs), then leaves `fallback` active. */
export async function probeBackends(): Promise<BackendStatus[]> {
  const statuses: BackendStatus[] = [];
  for (const name of BACKENDS) {
    let {reason, device} = await browserSupport(name).catch(e => ({reason: errorText(e), device: ''}));
    if (reason == null) {
      try {
        if (!(await tf.setBackend(name))) reason = `tfjs could not start the '${name}' backend here`;
      } catch (e) {
        reason = `tfjs failed to start '${name}': ${errorText(e)}`;
      }
    }
    if (reason == null && tf.getKernel(FlashAttention, name) == null) {
      reason = `this build has no ${FlashAttention} kernel for '${name}' yet`;
    }
    if (/swiftshader|llvmpipe|software|basic render/i.test(device)) device += ' (a software GPU: times are not representative)';
    statuses.push({name, reason, device});
  }
  return statuses;
}

/** Makes `name` the active backend; on webgpu, surfaces GPU validation errors to `onGpuError`. */
export async function activate(name: BackendName, onGpuError: (message: string) => void): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`tfjs could not start the '${name}' backend`);
  await tf.ready();
  if (name === 'webgpu') {
    const device = (tf.backend() as unknown as {device?: EventTarget&{__demoHooked?: boolean}}).device;
    if (device && !device.__demoHooked) {
      device.__demoHooked = true;
      device.addEventListener('uncapturederror', e => onGpuError(`WebGPU error: ${(e as unknown as {error: {message: string}}).error.message}`));
    }
  }
}

/** The largest buffer the active backend can hold, when it has a hard limit we can read (webgpu). */
export function bufferLimit(): number|null {
  if (tf.getBackend() !== 'webgpu') return null;
  const device = (tf.backend() as unknown as {device?: {limits: {maxStorageBufferBindingSize: number, maxBufferSize: number}}}).device;
  return device ? Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize) : null;
}
