/**
 * WebGPU in Node through Dawn (npm `webgpu`). Must run before '@tensorflow/tfjs-backend-webgpu' is
 * imported: that package registers its backend at import time only if navigator.gpu exists.
 */
import {create, globals} from 'webgpu';

Object.assign(globalThis, globals);
(globalThis as unknown as {navigator: unknown}).navigator = {gpu: create([])};
