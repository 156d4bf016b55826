/** Node entry: the cpu backend, and webgpu through Dawn on a Vulkan software driver. */
import './setup_webgpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgpu';
import {selectedBackends} from '../backends';
import {defineBackendSuite} from '../flash_attention_suite';

for (const backend of selectedBackends(['cpu', 'webgpu'])) {
  defineBackendSuite(backend, {otherBackend: backend === 'cpu' ? null : 'cpu'});
}
