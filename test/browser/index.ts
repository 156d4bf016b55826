/** Browser entry (karma, headless Chromium): cpu, webgl and webgpu. */
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import {selectedBackends} from '../backends';
import {defineBackendSuite} from '../flash_attention_suite';
import {defineLayerSuite} from '../layers_suite';
import {defineWebglTests} from '../webgl_cases';
import {defineWebgpuOnlyTests, WEBGPU_CASES} from '../webgpu_cases';

for (const backend of selectedBackends(['cpu', 'webgl', 'webgpu'])) {
  if (backend === 'webgpu') {
    defineBackendSuite(backend, {otherBackend: 'cpu', extraCases: WEBGPU_CASES, extraTests: defineWebgpuOnlyTests});
  } else if (backend === 'webgl') {
    defineBackendSuite(backend, {otherBackend: 'cpu', extraTests: defineWebglTests});
  } else {
    defineBackendSuite(backend, {otherBackend: null});
  }
}
for (const backend of selectedBackends(['cpu', 'webgl', 'webgpu'])) defineLayerSuite(backend, {indexedDb: true, fitSteps: backend === 'cpu' ? 40 : 30});
