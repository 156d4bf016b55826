import type {KernelConfig} from '@tensorflow/tfjs-core';
import {flashAttentionGradWebGLConfig} from './backward/flash_attention_grad_webgl';
import {flashAttentionWebGLConfig} from './flash_attention_webgl';
import {fromFloat16WebGLConfig, toFloat16WebGLConfig} from './float16_codec_webgl';
import {dequantizeFp8WebGLConfig, quantizeFp8WebGLConfig} from './fp8_codec_webgl';
import {registerDebugFlag} from './webgl_program';

registerDebugFlag();

export const webglKernelConfigs: KernelConfig[] =
    [flashAttentionWebGLConfig, flashAttentionGradWebGLConfig, quantizeFp8WebGLConfig, dequantizeFp8WebGLConfig,
     toFloat16WebGLConfig, fromFloat16WebGLConfig];
