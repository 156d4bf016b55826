/**
 * WebGPU in Node for the benchmark: Dawn (npm `webgpu`) as navigator.gpu. Must be imported BEFORE
 * '@tensorflow/tfjs-backend-webgpu', which registers its backend at import time only if navigator.gpu exists.
 *
 * Dawn quantizes timestamp queries to 65.536 µs by default (a timing-attack mitigation); the benchmark turns
 * that off so kernel times have nanosecond resolution. `--dawn <flag>` (repeatable) adds Dawn options, e.g.
 * `--dawn enable-dawn-features=disable_robustness`.
 */
import {create, globals} from 'webgpu';

/**
 * The toggles that expose shader-f16 and subgroup matrices on NVIDIA (issue 12; registerWebGPUBackend then asks
 * for them). Dawn keeps one enable-dawn-features list, so `--dawn enable-dawn-features=X` adds X to it.
 */
const enabled = ['allow_unsafe_apis', 'vulkan_enable_f16_on_nvidia'];
export const dawnFlags = ['disable-dawn-features=timestamp_quantization'];
for (let i = 0; i < process.argv.length - 1; i++) {
  if (process.argv[i] !== '--dawn') continue;
  const flag = process.argv[i + 1];
  if (flag.startsWith('enable-dawn-features=')) enabled.push(...flag.slice('enable-dawn-features='.length).split(','));
  else dawnFlags.push(flag);
}
dawnFlags.push(`enable-dawn-features=${enabled.join(',')}`);

Object.assign(globalThis, globals);
(globalThis as unknown as {navigator: unknown}).navigator = {gpu: create(dawnFlags)};
