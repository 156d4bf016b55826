/**
 * Registers every kernel of this package, and the FlashAttention gradient, with tfjs's registries. Kernels import backends' types
 * only, so registering for a backend that is not installed costs nothing and fails nothing.
 */
import {getGradient, getKernel, KernelConfig, registerGradient, registerKernel} from '@tensorflow/tfjs-core';
import {kernelConfigs} from '../kernels/all';
import {flashAttentionGradConfig} from './gradient';

export function registerFlashAttentionKernels(configs: KernelConfig[] = kernelConfigs): void {
  for (const config of configs) {
    if (getKernel(config.kernelName, config.backendName) == null) registerKernel(config);
  }
  if (getGradient(flashAttentionGradConfig.kernelName) == null) registerGradient(flashAttentionGradConfig);
}

registerFlashAttentionKernels();
