/** The op behaves like a tfjs op: tidy, profile, memory, kernel name, caller's tensors untouched. */
import {expect} from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import {flashAttention} from '../src/index';

export function defineApiTests(): void {
  describe('behaves like a tfjs op', () => {
    it('runs inside tf.tidy without leaking and leaves the caller\'s tensors alive', async () => {
      const q = tf.randomNormal([1, 5, 2, 8]), k = tf.randomNormal([1, 6, 1, 8]), v = tf.randomNormal([1, 6, 1, 8]);
      const before = tf.memory().numTensors;
      const kept = tf.tidy(() => {
        const {output, lse} = flashAttention(q, k, v, {returnLse: true, causal: true});
        lse.dispose();
        return output as tf.Tensor;
      });
      expect(tf.memory().numTensors).to.equal(before + 1);
      expect(q.isDisposed || k.isDisposed || v.isDisposed).to.equal(false);
      await kept.data();
      tf.dispose([kept, q, k, v]);
    });
    it('shows up as the FlashAttention kernel in tf.profile', async () => {
      const q = tf.randomNormal([1, 4, 1, 8]), k = tf.randomNormal([1, 4, 1, 8]);
      const info = await tf.profile(() => flashAttention(q, k, k) as tf.Tensor);
      expect(info.kernelNames).to.include('FlashAttention');
      tf.dispose([q, k]);
    });
    it('a thd call with empty batch rows returns empty outputs', async () => {
      const q = tf.zeros([0, 2, 8]), k = tf.zeros([0, 2, 8]);
      const before = tf.memory().numTensors;
      const {output, lse} = flashAttention(q, k, k, {layout: 'thd', cuSeqlensQ: [0, 0], cuSeqlensK: [0, 0], returnLse: true});
      expect((output as tf.Tensor).shape).to.deep.equal([0, 2, 8]);
      expect(lse.shape).to.deep.equal([2, 0]);
      tf.dispose([output as tf.Tensor, lse]);
      expect(tf.memory().numTensors).to.equal(before);
      tf.dispose([q, k]);
    });
  });
}
