/** The webgpu backward kernels (FlashAttentionGrad). Kernels import tfjs-backend-webgpu's types only. */
import type {KernelConfig} from '@tensorflow/tfjs-core';
import {flashAttentionGradWebgpuConfig} from './flash_attention_grad_webgpu';

export const webgpuBackwardKernelConfigs: KernelConfig[] = [flashAttentionGradWebgpuConfig];
