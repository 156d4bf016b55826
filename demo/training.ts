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
  precision: 'float32'|'float16';
  steps: number;
  losses: number[];
  finalLoss: number;
  ms: number;
  /** Median wall time of one step (forward, backward, Adam, loss read back), the first step (compiles) left out. */
  stepMs: number;
  /** tf.memory().numTensors after training minus before (0: nothing leaked). */
  leakedTensors: number;
}

/** Trains for `steps` steps; `onStep` sees every loss and is awaited (the page yields to the browser there). */
export async function trainTinyModel(
    steps: number, precision: 'float32'|'float16', onStep: (step: number, loss: number) => Promise<void>|void): Promise<TrainingRun> {
  const before = tf.memory().numTensors, t0 = performance.now();
  const stepTimes: number[] = [];
  const losses = await trainFirstTokenTask({steps, precision, onStep: (step, loss, ms) => {
    stepTimes.push(ms);
    return onStep(step, loss);
  }});
  const warm = stepTimes.slice(1).sort((a, b) => a - b);
  return {backend: tf.getBackend(), precision, steps, losses, finalLoss: losses[losses.length - 1], ms: performance.now() - t0,
          stepMs: warm[Math.floor(warm.length / 2)], leakedTensors: tf.memory().numTensors - before};
}
