/** Node entry: the cpu backend, and webgpu through Dawn on a Vulkan software driver. */
import './setup_webgpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgpu';
import {selectedBackends} from '../backends';
import {defineBackendSuite} from '../flash_attention_suite';
import {defineLayerSuite} from '../layers_suite';
import {defineRegistrationTests} from '../registration_suite';
import {defineWebgpuOnlyTests, WEBGPU_CASES} from '../webgpu_cases';

for (const backend of selectedBackends(['cpu', 'webgpu'])) {
  defineBackendSuite(backend, backend === 'webgpu' ?
      {otherBackend: 'cpu', extraCases: WEBGPU_CASES, extraTests: defineWebgpuOnlyTests} : {otherBackend: null});
}
for (const backend of selectedBackends(['cpu', 'webgpu'])) defineLayerSuite(backend, {fitSteps: backend === 'cpu' ? 40 : 30});
// Last: it replaces the 'webgpu' backend the suites above used.
if (selectedBackends(['webgpu']).length > 0) defineRegistrationTests();
