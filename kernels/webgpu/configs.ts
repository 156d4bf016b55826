/** Every webgpu kernel of the package. Kernels import tfjs-backend-webgpu's types only (no runtime cost). */
import type {KernelConfig} from '@tensorflow/tfjs-core';
import {dequantizeFp8WebgpuConfig, quantizeFp8WebgpuConfig} from './fp8_codec_webgpu';
import {flashAttentionWebgpuConfig} from './flash_attention_webgpu';
import {fromFloat16WebgpuConfig, toFloat16WebgpuConfig} from './float16_codec_webgpu';

export const webgpuKernelConfigs: KernelConfig[] =
    [flashAttentionWebgpuConfig, quantizeFp8WebgpuConfig, dequantizeFp8WebgpuConfig, toFloat16WebgpuConfig, fromFloat16WebgpuConfig];
