/**
 * WebGPU in Node for the benchmark: Dawn (npm `webgpu`) as navigator.gpu. Must be imported BEFORE
 * '@tensorflow/tfjs-backend-webgpu', which registers its backend at import time only if navigator.gpu exists.
 *
 * Dawn quantizes timestamp queries to 65.536 µs by default (a timing-attack mitigation); the benchmark turns
 * that off so kernel times have nanosecond resolution. `--dawn <flag>` (repeatable) adds Dawn options, e.g.
 * `--dawn enable-dawn-features=disable_robustness`.
 */
import {create, globals} from 'webgpu';

export const dawnFlags = ['disable-dawn-features=timestamp_quantization'];
for (let i = 0; i < process.argv.length - 1; i++) {
  if (process.argv[i] === '--dawn') dawnFlags.push(process.argv[i + 1]);
}

Object.assign(globalThis, globals);
(globalThis as unknown as {navigator: unknown}).navigator = {gpu: create(dawnFlags)};
