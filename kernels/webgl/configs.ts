import type {KernelConfig} from '@tensorflow/tfjs-core';
import {flashAttentionWebGLConfig} from './flash_attention_webgl';
import {dequantizeFp8WebGLConfig, quantizeFp8WebGLConfig} from './fp8_codec_webgl';
import {registerDebugFlag} from './webgl_program';

registerDebugFlag();

export const webglKernelConfigs: KernelConfig[] =
    [flashAttentionWebGLConfig, quantizeFp8WebGLConfig, dequantizeFp8WebGLConfig];
