/**
 * The training panel's work: trains the README's tiny model (examples/tiny_attention_model.ts: one causal
 * flashAttention layer learning to repeat a sequence's first token) on the active backend with Adam, so every
 * step runs the op's forward and its FlashAttentionGrad kernel. The page draws the loss as it goes.
 */
import '@tensorflow/tfjs-core/dist/register_all_gradients';   // Adam needs the gradients of tfjs's own ops too
import * as tf from '@tensorflow/tfjs-core';
import {trainFirstTokenTask} from '../examples/tiny_attention_model';

export interface TrainingRun {
  backend: string;
  steps: number;
  losses: number[];
  finalLoss: number;
  ms: number;
  /** tf.memory().numTensors after training minus before (0: nothing leaked). */
  leakedTensors: number;
}

/** Trains for `steps` steps; `onStep` sees every loss and is awaited (the page yields to the browser there). */
export async function trainTinyModel(
    steps: number, onStep: (step: number, loss: number) => Promise<void>|void): Promise<TrainingRun> {
  const before = tf.memory().numTensors, t0 = performance.now();
  const losses = await trainFirstTokenTask({steps, onStep});
  return {backend: tf.getBackend(), steps, losses, finalLoss: losses[losses.length - 1], ms: performance.now() - t0,
          leakedTensors: tf.memory().numTensors - before};
}
