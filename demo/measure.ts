/** Timing and memory of one contender: median wall time of warm calls (to the data being readable), peak tensor bytes. */
import * as tf from '@tensorflow/tfjs-core';

/** Median ms over `runs` calls after `warmup` calls; each call counts until its output can be read back. */
export async function medianMs(fn: () => tf.Tensor, warmup: number, runs: number): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < warmup + runs; r++) {
    const t0 = performance.now();
    const out = fn();
    await out.data();
    const t = performance.now() - t0;
    out.dispose();
    if (r >= warmup) times.push(t);
    await new Promise(resolve => setTimeout(resolve, 0));   // let the page repaint between calls
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** Peak tensor memory of one call above what was allocated before it (tf.profile's peak of tf.memory().numBytes). */
export async function peakBytes(fn: () => tf.Tensor): Promise<number> {
  const before = tf.memory().numBytes;
  const profile = await tf.profile(() => fn());
  (profile.result as tf.Tensor).dispose();
  return Math.max(0, profile.peakBytes - before);
}

/** One call's output, read back to the CPU. */
export async function outputOf(fn: () => tf.Tensor): Promise<Float32Array> {
  const out = fn();
  try {
    return (await out.data()) as Float32Array;
  } finally {
    out.dispose();
  }
}

/** max |a - b|; NaN when either side has a NaN the other lacks. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return NaN;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(d)) { if (!(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return NaN; } else if (d > m) m = d;
  }
  return m;
}
