/**
 * Runs flashAttention and the composition side by side on one problem: time per call, TFLOP/s, peak tensor
 * memory, and the max difference between their outputs. The composition is not run when its score matrix
 * would exceed a hard limit of the device or the user's memory cap; when it throws, the error is the result.
 */
import * as tf from '@tensorflow/tfjs-core';
import {activate, BackendName, bufferLimit} from './backends';
import {bytes, errorText} from './format';
import {maxAbsDiff, medianMs, outputOf, peakBytes} from './measure';
import {Config, kvBytes, scoreMatrixBytes, usefulFlops} from './presets';
import {buildProblem} from './problem';

export interface Timing {
  ms: number;
  tflops: number;
  /** GB/s of K and V in the config's KV format (kvBytes / time): the figure that matters for decode. */
  kvGBs: number;
  peakBytes: number;
}
export interface Failure {
  /** 'failed': it threw; 'limit': the device cannot hold its score matrix; 'cap': over the user's memory cap. */
  kind: 'failed'|'limit'|'cap'|'skipped';
  error: string;
}
export interface Comparison {
  flash: Timing|Failure;
  composition: Timing|Failure;
  /** max |flash − composition| over the output, when both ran. */
  maxDiff: number|null;
  /** The flash output, for checks against the CPU reference. */
  output: Float32Array|null;
}
export interface RunOptions {
  warmup: number;
  runs: number;
  /** Skip the composition when its score matrix exceeds this many bytes (null: no cap). */
  capBytes: number|null;
  /** Skip the composition without trying (a sweep does this once it has failed at a smaller size). */
  skipComposition?: string;
}

export const isFailure = (x: Timing|Failure): x is Failure => 'error' in x;

async function timeIt(fn: () => tf.Tensor, c: Config, o: RunOptions): Promise<Timing> {
  const ms = await medianMs(fn, o.warmup, o.runs);
  return {ms, tflops: usefulFlops(c) / (ms * 1e9), kvGBs: kvBytes(c) / (ms * 1e6), peakBytes: await peakBytes(fn)};
}

function compositionBlocked(c: Config, o: RunOptions): Failure|null {
  if (o.skipComposition) return {kind: 'skipped', error: o.skipComposition};
  const need = scoreMatrixBytes(c), limit = bufferLimit();
  if (limit != null && need > limit) {
    return {kind: 'limit', error: `its ${bytes(need)} score matrix exceeds this GPU's largest buffer (${bytes(limit)})`};
  }
  if (o.capBytes != null && need > o.capBytes) {
    return {kind: 'cap', error: `its ${bytes(need)} score matrix exceeds the ${bytes(o.capBytes)} memory cap set on this page`};
  }
  return null;
}

export async function compare(c: Config, o: RunOptions): Promise<Comparison> {
  const problem = buildProblem(c);
  try {
    let flash: Timing|Failure, output: Float32Array|null = null;
    try {
      output = await outputOf(problem.flash);
      flash = await timeIt(problem.flash, c, o);
    } catch (e) {
      flash = {kind: 'failed', error: errorText(e)};
    }
    let composition: Timing|Failure|null = compositionBlocked(c, o), maxDiff: number|null = null;
    if (composition == null) {
      try {
        const ref = await outputOf(problem.composition);
        if (output) maxDiff = maxAbsDiff(output, ref);
        composition = await timeIt(problem.composition, c, o);
      } catch (e) {
        composition = {kind: 'failed', error: errorText(e)};
      }
    }
    return {flash, composition, maxDiff, output};
  } finally {
    problem.dispose();
  }
}

/** The same flash call on the cpu backend (the reference kernel), then `backend` is active again. */
export async function cpuReference(c: Config, backend: BackendName, onGpuError: (m: string) => void): Promise<Float32Array> {
  await tf.setBackend('cpu');
  try {
    const problem = buildProblem(c);
    try {
      return await outputOf(problem.flash);
    } finally {
      problem.dispose();
    }
  } finally {
    await activate(backend, onGpuError);
  }
}
