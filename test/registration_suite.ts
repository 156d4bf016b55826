/**
 * registerWebGPUBackend and flashAttentionCapabilities (issue 12). Runs last in the Node suite: it replaces the
 * 'webgpu' backend the other suites used. Software GPUs have no subgroup matrices, so here the float16 path is
 * float32 (or the portable tiles when forced); the H200 runner (test/gpu/run_cases.ts) covers the matrix units.
 */
import {expect} from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import {flashAttention, flashAttentionCapabilities, registerWebGPUBackend, WEBGPU_MATRIX_FLAG} from '../src/index';
import {makeRng, runSeed} from './rng';

export function defineRegistrationTests(): void {
  describe('registerWebGPUBackend and flashAttentionCapabilities', function() {
    this.timeout(120000);
    const seed = runSeed();

    it('capabilities on cpu: no matrix units, the float16 reference', async () => {
      await tf.setBackend('cpu');
      const caps = flashAttentionCapabilities();
      expect(caps).to.include({backend: 'cpu', matrixUnits: false, shaderF16: false, subgroups: false, float16Path: 'reference'});
    });

    it('re-registers webgpu with a device on which tfjs ops and float16 attention run', async () => {
      registerWebGPUBackend();
      registerWebGPUBackend();  // twice is fine: the second replaces the first
      expect(await tf.setBackend('webgpu')).to.equal(true);
      tf.env().set('WEBGPU_CPU_FORWARD', false);
      const caps = flashAttentionCapabilities();
      expect(caps.backend).to.equal('webgpu');
      const device = (tf.backend() as unknown as {device: GPUDevice}).device;
      // every feature the adapter offers among the three was asked for
      const adapter = await (navigator as unknown as {gpu: GPU}).gpu.requestAdapter({powerPreference: 'high-performance'});
      for (const f of ['shader-f16', 'subgroups', 'chromium-experimental-subgroup-matrix']) {
        expect(device.features.has(f), f).to.equal(adapter!.features.has(f));
      }
      expect(caps.float16Path).to.equal(caps.matrixUnits ? 'subgroup-matrix' : 'float32');
      const sum = tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4]));
      expect(Array.from(await sum.data())).to.deep.equal([4, 6]);
      sum.dispose();

      // A float16 call on the new device (portable tiles forced) against the cpu kernel's float16 reference.
      const rng = makeRng(`${seed}:registration`);
      const shape = [1, 21, 2, 32];
      const data = [0, 1, 2].map(() => Float32Array.from({length: 21 * 2 * 32}, () => rng.normal()));
      const before = tf.memory().numTensors;
      tf.env().set(WEBGPU_MATRIX_FLAG, 'portable');
      try {
        const [q, k, v] = data.map(x => tf.tensor(x, shape));
        const out = flashAttention(q, k, v, {causal: true, precision: 'float16'}) as tf.Tensor;
        const got = await out.data();
        tf.dispose([q, k, v, out]);
        expect(tf.memory().numTensors, 'leaked tensors').to.equal(before);
        await tf.setBackend('cpu');
        const [qc, kc, vc] = data.map(x => tf.tensor(x, shape));
        const ref = await (flashAttention(qc, kc, vc, {causal: true, precision: 'float16'}) as tf.Tensor).data();
        // SPEC.md's float16 tolerance (both sides round q, k, v and P to half; P against different maxima).
        for (let i = 0; i < ref.length; i++) {
          expect(Math.abs(got[i] - ref[i]), `element ${i} (seed ${seed})`).to.be.at.most(2e-3 + 1e-2 * Math.abs(ref[i]));
        }
        tf.dispose([qc, kc, vc]);
      } finally {
        tf.env().set(WEBGPU_MATRIX_FLAG, 'auto');
      }
    });
  });
}
