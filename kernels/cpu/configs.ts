import type {KernelConfig} from '@tensorflow/tfjs-core';
import {dequantizeFp8CpuConfig, quantizeFp8CpuConfig} from './fp8_codec_cpu';
import {flashAttentionCpuConfig} from './flash_attention_cpu';

export const cpuKernelConfigs: KernelConfig[] =
    [flashAttentionCpuConfig, quantizeFp8CpuConfig, dequantizeFp8CpuConfig];
