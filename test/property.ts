/** Random valid configurations for the property test, drawn from a seeded generator. */
import type {AttentionCase} from './cases';
import type {Rng} from './rng';

export function randomCase(rng: Rng, index: number): AttentionCase {
  const layout = rng.pick(['bshd', 'bhsd', 'thd'] as const);
  const hk = rng.pick([1, 2, 3]);
  const hq = hk * rng.pick([1, 2, 4]);
  const d = rng.pick([1, 3, 8, 16, 24, 33, 64, 72, 100, 128]);
  const c: AttentionCase = {name: `property #${index}`, layout, hq, hk, d, causal: rng.next() < 0.5, returnLse: rng.next() < 0.6};
  if (layout === 'thd') {
    const batch = rng.int(1, 4);
    c.seqlensQ = Array.from({length: batch}, () => rng.int(0, 40));
    c.seqlensK = Array.from({length: batch}, () => rng.int(0, 40));
    c.cuSeqlensAs = rng.pick(['array', 'int32array', 'tensor'] as const);
  } else {
    c.batch = rng.int(1, 3);
    c.sq = rng.int(1, 48);
    c.sk = rng.int(1, 48);
    if (rng.next() < 0.3) {
      c.bias = rng.pick([[c.batch, hq, c.sq, c.sk], [1, 1, c.sq, c.sk], [c.batch, 1, 1, c.sk], [c.sq, 1]]);
    }
  }
  // The attention variants, each on a third of the cases, so every pair meets now and then.
  if (rng.next() < 0.35) c.window = [rng.pick([-1, 0, 1, 5, 17]), rng.pick([-1, 0, 3, 12])];
  if (rng.next() < 0.3) c.softcap = rng.pick([0.5, 2, 10, 50]);
  if (rng.next() < 0.3) c.sinks = true;
  if (rng.next() < 0.2) c.dropout = {rate: rng.pick([0.1, 0.5, 0.9]), seed: rng.int(0, 2 ** 31)};
  if (rng.next() < 0.3) c.alibi = rng.pick(['perHead', 'perBatchHead'] as const);
  if (rng.next() < 0.2) c.softmaxScale = rng.uniform(-1, 1);
  if (rng.next() < 0.2) {
    c.fp8 = {mode: rng.pick(['kv', 'full'] as const), format: rng.pick(['e4m3fn', 'e4m3fnuz'] as const), perHead: rng.next() < 0.5};
  }
  return c;
}
