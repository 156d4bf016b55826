/**
 * Which backends a run tests, and why one is skipped. FA_BACKENDS (comma list) narrows the set.
 * A backend is skipped, loudly, when tfjs cannot start it here or when it has no FlashAttention
 * kernel yet; a skipped backend's tests show as pending, never as passed.
 */
import * as tf from '@tensorflow/tfjs-core';
import {FlashAttention} from '../src/kernel_name';
import {testEnv} from './env';

export function selectedBackends(candidates: string[]): string[] {
  const env = testEnv('FA_BACKENDS');
  if (!env) return candidates;
  const wanted = env.split(',').map(s => s.trim());
  return candidates.filter(b => wanted.includes(b));
}

/** Activates a backend; returns why it cannot be tested, or null. */
export async function activateBackend(name: string): Promise<string|null> {
  if (tf.findBackendFactory(name) == null) return `tfjs backend '${name}' is not registered in this environment`;
  let ok = false;
  try {
    ok = await tf.setBackend(name);
  } catch (e) {
    return `tfjs backend '${name}' failed to start: ${(e as Error).message}`;
  }
  if (!ok) return `tfjs backend '${name}' failed to initialize here`;
  if (tf.getKernel(FlashAttention, name) == null) return `no ${FlashAttention} kernel is registered for '${name}' yet`;
  // Never forward small ops to the CPU: in Node that path reads GPU data synchronously.
  if (name === 'webgpu') tf.env().set('WEBGPU_CPU_FORWARD', false);
  return null;
}
