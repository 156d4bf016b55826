/**
 * WebGPU in Node for the GPU case runner: Dawn with the toggles that expose shader-f16 and subgroup matrices
 * on NVIDIA (ENVIRONMENT.md), set before '@tensorflow/tfjs-backend-webgpu' is imported.
 */
import {create, globals} from 'webgpu';

Object.assign(globalThis, globals);
(globalThis as unknown as {navigator: unknown}).navigator =
    {gpu: create(['enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia'])};
