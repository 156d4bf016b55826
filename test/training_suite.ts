/** The README's training example: a loss that goes down proves gradients flow through the op in a model. */
import {expect} from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import {trainFirstTokenTask} from '../examples/tiny_attention_model';

export function defineTrainingTests(): void {
  it('a one-layer causal attention model learns the first-token task (loss falls below a fifth)', async function() {
    // 60 training steps: 86 s on SwiftShader's webgpu in Node beside the Chromium suite, past 120 s once.
    this.timeout(360000);
    const before = tf.memory().numTensors;
    const losses = await trainFirstTokenTask({steps: 60});
    const first = losses.slice(0, 5).reduce((a, b) => a + b) / 5, last = losses.slice(-5).reduce((a, b) => a + b) / 5;
    expect(last, `losses: ${losses.map(l => l.toFixed(3)).join(' ')}`).to.be.lessThan(first / 5);
    expect(tf.memory().numTensors).to.equal(before);
  });
}
