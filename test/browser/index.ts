/** Browser entry (karma, headless Chromium): cpu, webgl and webgpu. */
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import {selectedBackends} from '../backends';
import {defineBackendSuite} from '../flash_attention_suite';

for (const backend of selectedBackends(['cpu', 'webgl', 'webgpu'])) {
  defineBackendSuite(backend, {otherBackend: backend === 'cpu' ? null : 'cpu'});
}
