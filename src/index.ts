/**
 * tfjs-flash-attention: `flashAttention`, FlashAttention-2 forward for TensorFlow.js, with FP8 and float16 helpers.
 * Importing the package registers its kernels (cpu, webgl, webgpu) with tfjs's kernel registry.
 */
import './register';

export {flashAttention} from './flash_attention';
export type {AttentionInput, FlashAttentionOptions, FlashAttentionOutput, FlashAttentionWithLse} from './flash_attention';
export {dequantizeFp8, Fp8Tensor, isFp8Tensor, quantizeFp8} from './fp8';
export {Float16Tensor, fromFloat16, isFloat16Tensor, toFloat16} from './float16';
export type {Descale, QuantizeFp8Options} from './fp8';
export {FlashAttention, QuantizeFp8, DequantizeFp8, ToFloat16, FromFloat16} from './kernel_name';
export type {FlashAttentionAttrs, FlashAttentionInputs} from './kernel_name';
export {kernelKey} from './spec';
export type {FlashAttentionSpec, Fp8Format, Layout, Precision, Storage} from './spec';
/** tf.env() flag giving the default `precision` ('float32' or 'float16') of calls that pass none. */
export {PRECISION_FLAG} from './precision';
export {registerFlashAttentionKernels} from './register';
export {registerWebGPUBackend} from './register_webgpu';
export type {RegisterWebGPUOptions} from './register_webgpu';
export {flashAttentionCapabilities} from './capabilities';
export type {FlashAttentionCapabilities} from './capabilities';
/** tf.env() flags that force the WebGPU kernel's tiles ("TMxTNxRMxRN") or split-KV count, for tuning runs. */
export {SPLITS_FLAG as WEBGPU_SPLITS_FLAG, TILES_FLAG as WEBGPU_TILES_FLAG} from '../kernels/webgpu/launch_plan';
export {WEBGPU_MATRIX_FLAG} from '../kernels/webgpu/tiles/matrix_flag';
export type {MatrixChoice} from '../kernels/webgpu/tiles/matrix_flag';
