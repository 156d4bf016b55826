/**
 * A tiny training example: one causal attention layer, trained through flashAttention's gradient,
 * learns to answer "what was the first token of this sequence?" at every position (it must attend
 * back to position 0, which only a working attention backward can teach it).
 */
import * as tf from '@tensorflow/tfjs-core';
import {flashAttention} from '../src/index';

export interface TrainOptions {
  steps?: number;
  vocab?: number;
  seqLen?: number;
  batch?: number;
  dModel?: number;
  heads?: number;
  seed?: number;
  /** The op's arithmetic (SPEC's Precision): 'float16' rounds at FlashAttention-2's fp16 points, forward and backward. */
  precision?: 'float32'|'float16';
  /**
   * Called after every step with its loss and its wall time in ms (forward, backward and Adam, to the loss
   * being read back; the demo page draws the curve and shows the step time); awaited, so it may yield to the UI.
   */
  onStep?: (step: number, loss: number, ms: number) => void|Promise<void>;
}

/** Trains with Adam and returns the loss of every step. */
export async function trainFirstTokenTask(options: TrainOptions = {}): Promise<number[]> {
  const {steps = 60, vocab = 6, seqLen = 8, batch = 16, dModel = 16, heads = 2, seed = 1, precision = 'float32', onStep} = options;
  const d = dModel / heads;
  const init = (shape: number[], i: number) => tf.tidy(() => tf.variable(tf.randomNormal(shape, 0, 0.3, 'float32', seed + i)));
  const params = {
    embed: init([vocab, dModel], 0), pos: init([seqLen, dModel], 1),
    wq: init([dModel, dModel], 2), wk: init([dModel, dModel], 3), wv: init([dModel, dModel], 4), wo: init([dModel, vocab], 5),
  };
  const optimizer = tf.train.adam(0.03);
  const losses: number[] = [];
  let rngState = seed;
  const nextToken = () => (rngState = (rngState * 1103515245 + 12345) % 2147483648) % vocab;
  try {
    for (let step = 0; step < steps; step++) {
      const t0 = performance.now();
      const tokens = Array.from({length: batch * seqLen}, nextToken);
      const targets = tokens.map((_, i) => tokens[i - (i % seqLen)]);  // the sequence's first token
      const loss = optimizer.minimize(() => tf.tidy(() => {
        const x = tf.add(tf.gather(params.embed, tf.tensor1d(tokens, 'int32')), tf.tile(params.pos, [batch, 1]));
        const project = (w: tf.Variable) => tf.reshape(tf.matMul(x, w), [batch, seqLen, heads, d]);
        const attended = flashAttention(project(params.wq), project(params.wk), project(params.wv), {causal: true, precision}) as tf.Tensor;
        const logits = tf.matMul(tf.reshape(attended, [batch * seqLen, dModel]), params.wo);
        return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(targets, 'int32'), vocab), logits) as tf.Scalar;
      }), true) as tf.Scalar;
      losses.push((await loss.data())[0]);
      loss.dispose();
      await onStep?.(step, losses[step], performance.now() - t0);
    }
  } finally {
    optimizer.dispose();
    tf.dispose(Object.values(params));
  }
  return losses;
}
