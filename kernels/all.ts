/** Every kernel config of the package, one line per backend folder. */
import type {KernelConfig} from '@tensorflow/tfjs-core';
import {cpuKernelConfigs} from './cpu/configs';
import {webglKernelConfigs} from './webgl/configs';
import {webgpuBackwardKernelConfigs} from './webgpu/backward/configs';
import {webgpuKernelConfigs} from './webgpu/configs';

export const kernelConfigs: KernelConfig[] =
    [...cpuKernelConfigs, ...webglKernelConfigs, ...webgpuKernelConfigs, ...webgpuBackwardKernelConfigs];
