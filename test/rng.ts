/** Seeded random numbers for the tests (seedrandom's alea), so every failure can be replayed from its seed. */
import seedrandom from 'seedrandom';
import {testEnv} from './env';

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number;
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number;
  pick<T>(items: readonly T[]): T;
  /** Standard normal (Box–Muller). */
  normal(): number;
}

export function makeRng(seed: string|number): Rng {
  const next = seedrandom.alea(String(seed));
  const rng: Rng = {
    next: () => next(),
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: items => items[Math.floor(next() * items.length)],
    normal: () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()),
  };
  return rng;
}

/** A fresh seed per run unless FA_SEED pins one (printed with every failure). */
export function runSeed(): string {
  return testEnv('FA_SEED') ?? String(Date.now() % 1e9);
}
