import type {KernelConfig} from '@tensorflow/tfjs-core';
import {dequantizeFp8CpuConfig, quantizeFp8CpuConfig} from './fp8_codec_cpu';
import {flashAttentionCpuConfig} from './flash_attention_cpu';
import {fromFloat16CpuConfig, toFloat16CpuConfig} from './float16_codec_cpu';
import {flashAttentionGradCpuConfig} from './flash_attention_grad_cpu';

export const cpuKernelConfigs: KernelConfig[] =
    [flashAttentionCpuConfig, flashAttentionGradCpuConfig, quantizeFp8CpuConfig, dequantizeFp8CpuConfig,
     toFloat16CpuConfig, fromFloat16CpuConfig];
