/**
 * Registers every kernel of this package with tfjs's kernel registry. Kernels import backends' types
 * only, so registering for a backend that is not installed costs nothing and fails nothing.
 */
import {getKernel, KernelConfig, registerKernel} from '@tensorflow/tfjs-core';
import {kernelConfigs} from '../kernels/all';

export function registerFlashAttentionKernels(configs: KernelConfig[] = kernelConfigs): void {
  for (const config of configs) {
    if (getKernel(config.kernelName, config.backendName) == null) registerKernel(config);
  }
}

registerFlashAttentionKernels();
