/**
 * The <script> build: loaded after tfjs's own scripts, it registers the kernels with the global `tf`
 * (this bundle's '@tensorflow/tfjs-core' IS window.tf) and adds the public functions to it.
 */
import {dequantizeFp8, flashAttention, fromFloat16, isFloat16Tensor, quantizeFp8, toFloat16} from './index';

const tf = (globalThis as unknown as {tf?: Record<string, unknown>}).tf;
if (tf == null) throw new Error('tf-flash-attention: load @tensorflow/tfjs (or tfjs-core and a backend) before this script');
Object.assign(tf, {flashAttention, quantizeFp8, dequantizeFp8, toFloat16, fromFloat16, isFloat16Tensor});
