/**
 * The probes' sampler: per-call GPU time of each configuration, sampled round by round so that every
 * configuration sees the same clock drift (the H200's speed drifts by up to 1.7× over seconds, and its clock
 * falls within milliseconds of idling, so a sample is several calls queued back to back).
 *   1. warm-up: the first configuration runs for warmupMs (the clocks ramp up from 345 MHz);
 *   2. every configuration runs once (its pipelines compile outside the samples);
 *   3. rounds × configurations × samplesPerRound samples, each tf.time's kernelMs over `calls` calls / calls.
 * Returns the samples of each configuration, in the order given.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface InterleaveOptions {
  warmupMs: number;
  rounds: number;
  samplesPerRound: number;
  calls: number;
}

export async function interleavedKernelMs<C>(configs: C[], run: (c: C) => tf.Tensor, o: InterleaveOptions): Promise<number[][]> {
  const once = async (c: C) => {
    const r = run(c);
    await r.data();
    r.dispose();
  };
  const t0 = performance.now();
  while (performance.now() - t0 < o.warmupMs) await once(configs[0]);
  for (const c of configs) await once(c);
  const samples = configs.map(() => [] as number[]);
  for (let round = 0; round < o.rounds; round++) {
    for (const [i, c] of configs.entries()) {
      for (let j = 0; j < o.samplesPerRound; j++) {
        const t = await tf.time(() => { for (let n = 0; n < o.calls; n++) run(c).dispose(); });
        samples[i].push(t.kernelMs as number / o.calls);
      }
    }
  }
  return samples;
}
