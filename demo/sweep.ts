/**
 * A sweep over sequence length: the current preset at S = min, 2·min, … max (Sq = Sk = S; for decode only
 * Sk grows). Once the composition fails it is not tried again at larger S; the sweep stops when flash
 * attention fails, when one of its calls takes longer than the time limit, or when cancelled.
 */
import {Comparison, compare, Failure, isFailure, RunOptions, Timing} from './compare';
import type {Config} from './presets';

export interface SweepPoint {
  s: number;
  flash: Timing|Failure;
  composition: Timing|Failure;
  maxDiff: number|null;
}
export interface SweepHooks {
  progress(done: number, total: number, text: string): void;
  point(p: SweepPoint): void;
  cancelled(): boolean;
}

export function sweepLengths(min: number, max: number): number[] {
  const out: number[] = [];
  for (let s = Math.max(1, min); s <= max; s *= 2) out.push(s);
  return out;
}

export const atLength = (c: Config, s: number): Config => (c.preset === 'decode' ? {...c, sk: s} : {...c, sq: s, sk: s});

/** Returns why the sweep ended early, or null when it covered every length. */
export async function sweep(base: Config, lengths: number[], o: RunOptions&{timeLimitMs: number}, hooks: SweepHooks): Promise<string|null> {
  let compositionGone: string|undefined;
  for (let i = 0; i < lengths.length; i++) {
    const s = lengths[i];
    if (hooks.cancelled()) return 'cancelled';
    hooks.progress(i, lengths.length, `S = ${s}: running both contenders…`);
    const r: Comparison = await compare(atLength(base, s), {...o, skipComposition: compositionGone});
    hooks.point({s, flash: r.flash, composition: r.composition, maxDiff: r.maxDiff});
    if (isFailure(r.composition) && compositionGone == null) compositionGone = `the composition already failed at S = ${s}`;
    if (isFailure(r.flash)) return `flash attention failed at S = ${s}: ${r.flash.error}`;
    if (r.flash.ms > o.timeLimitMs && i < lengths.length - 1) {
      return `stopped after S = ${s}: one flash attention call took ${(r.flash.ms / 1000).toFixed(1)} s (limit ${(o.timeLimitMs / 1000).toFixed(0)} s)`;
    }
  }
  hooks.progress(lengths.length, lengths.length, 'done');
  return null;
}
