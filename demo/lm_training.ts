/**
 * The "transformer language model" panel's work: examples/transformer_lm.ts (a character-level model of
 * tfjs-layers layers and this package's MultiHeadAttention, GQA 4:2 heads, causal) trained with model.fit on
 * the toy corpus shipped in examples/data/, on the active backend; then a greedy sample from it.
 */
import * as tf from '@tensorflow/tfjs-core';
import {generate, trainTransformerLm} from '../examples/transformer_lm';

export interface LmRun {
  backend: string;
  steps: number;
  losses: number[];
  finalLoss: number;
  ms: number;
  sample: string;
  /** tf.memory().numTensors after the run (model and optimizer disposed) minus before. */
  leakedTensors: number;
}

export async function trainLanguageModel(
    steps: number, onStep: (step: number, loss: number) => Promise<void>|void, prompt = 'the cat '): Promise<LmRun> {
  const before = tf.memory().numTensors, t0 = performance.now();
  const lm = await trainTransformerLm({steps, onStep});
  const ms = performance.now() - t0;
  let sample: string;
  try {
    sample = await generate(lm, prompt, 48);
  } finally {
    lm.model.optimizer.dispose();   // the example passes its optimizer in, so the model does not own it
    lm.model.dispose();
  }
  return {backend: tf.getBackend(), steps, losses: lm.losses, finalLoss: lm.losses[lm.losses.length - 1], ms, sample,
          leakedTensors: tf.memory().numTensors - before};
}
