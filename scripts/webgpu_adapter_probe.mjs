// Prints, as one JSON line, the WebGPU adapter Dawn (npm `webgpu`) offers in this environment (Vulkan driver
// as VK_ICD_FILENAMES / the loader's defaults pick it), or {"adapter": null, "error": …}. Used by bench_webgpu.mjs.
import {create, globals} from 'webgpu';

Object.assign(globalThis, globals);
const gpu = create([]);   // keep the reference: Dawn dies if it is collected mid-run
try {
  const adapter = await gpu.requestAdapter({powerPreference: 'high-performance'});
  const info = adapter?.info ?? {};
  console.log(JSON.stringify(adapter == null ? {adapter: null} : {adapter: {
    vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description,
    isFallbackAdapter: info.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false}}));
} catch (e) {
  console.log(JSON.stringify({adapter: null, error: String(e?.message ?? e)}));
}
process.exit(0);
