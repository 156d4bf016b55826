/**
 * Gradients: tf.grads through flashAttention against the float64 hand-differentiated oracle, for q, k, v,
 * bias (reduced over its broadcast axes) and ALiBi slopes, with and without an LSE output in the loss.
 */
import {expect} from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import {flashAttention, Float16Tensor, quantizeFp8, toFloat16} from '../src/index';
import type {FlashAttentionOptions} from '../src/flash_attention';
import {FlashAttention, FlashAttentionGrad} from '../src/kernel_name';
import type {FlashAttentionSpec} from '../src/spec';
import {AttentionCase, CASES} from './cases';
import {oracleAttentionGrad, OracleGradInputs} from './grad_oracle';
import {oracleHalfRound} from './half_oracle';
import {biasIndexer, broadcastBias, fail, geometry, layoutIndex, layoutShape, randomData, setCacheSeqlens, setCuSeqlens, setVariants, toLayout} from './harness';
import {makeRng} from './rng';
import {defineTrainingTests} from './training_suite';

export const GRAD_CASES: AttentionCase[] = [
  {name: 'grad: plain', batch: 2, sq: 13, sk: 17, hq: 2, d: 16},
  {name: 'grad: causal Sq > Sk (empty rows)', batch: 1, sq: 40, sk: 25, hq: 2, d: 8, causal: true},
  {name: 'grad: causal Sq < Sk, GQA 4:1', batch: 1, sq: 19, sk: 70, hq: 4, hk: 1, d: 32, causal: true},
  {name: 'grad: D=80 bhsd', layout: 'bhsd', batch: 1, sq: 21, sk: 33, hq: 2, d: 80},
  {name: 'grad: varlen with an empty sequence', layout: 'thd', seqlensQ: [9, 0, 30], seqlensK: [12, 5, 30], hq: 2, hk: 1, d: 16, causal: true},
  {name: 'grad: bias broadcast [B, 1, 1, Sk] and [Sq, Sk]', batch: 2, sq: 11, sk: 14, hq: 2, d: 8, bias: [2, 1, 1, 14]},
  {name: 'grad: full bias', batch: 1, sq: 11, sk: 14, hq: 2, d: 8, bias: [1, 2, 11, 14], causal: true},
  {name: 'grad: ALiBi per batch and head', batch: 2, sq: 15, sk: 15, hq: 2, d: 8, alibi: 'perBatchHead', causal: true},
  {name: 'grad: through the LSE output too', batch: 1, sq: 18, sk: 23, hq: 2, d: 16, returnLse: true, alibi: 'perHead'},
  // Past one key block of every kernel (webgl: 256 keys, webgpu: 16-64): state carried across blocks,
  // and a bias broadcast over keys whose gradient sums over all of them.
  {name: 'grad: several key blocks, causal GQA 2:1, bias [B, Hq, Sq, 1]', batch: 1, sq: 37, sk: 600, hq: 2, hk: 1, d: 24, causal: true, bias: [1, 2, 37, 1]},
  // Key blocks wholly outside the window are skipped on both sides; the sink's gradient sums over rows.
  {name: 'grad: window [90, 40] over several key blocks, softcap, sinks, through the LSE', batch: 1, sq: 300, sk: 330, hq: 2, hk: 1, d: 16, window: [90, 40], softcap: 3, sinks: true, returnLse: true},
  // D = 128: the float16 passes' resident tiles in workgroup memory (matrix_grad_shape.ts), several blocks
  // of both passes and tile groups sharing them.
  {name: 'grad: D=128 over several blocks, GQA 2:1', batch: 1, sq: 70, sk: 90, hq: 2, hk: 1, d: 128},
];

/**
 * The shared forward case table too, but for what has no gradient: FP8 inputs (forward-only, their refusal
 * is tested), NaN and past-half inputs (the gradient is NaN or infinite wherever the output is; nothing
 * finite to compare) and calls whose q, k and v are all float16 tensors (no float32 input to differentiate).
 * float16 inputs get no gradient; the float32 inputs of the same call do (gradient.ts).
 */
export const SHARED_GRAD_CASES: AttentionCase[] =
    CASES.filter(c => c.fp8 == null && c.nan == null && c.large == null && (c.half?.length ?? 0) < 3);

/** float32 sums of up to Sk·(Hq/Hk) products of O(1) terms: a few 1e-6 relative; 10× margin. */
const ATOL = 1e-4, RTOL = 1e-3;

/** A gradient check's bound, and whether the oracle takes the float16 backward's rounding points (grad_oracle.ts). */
export interface GradCheck {
  atol: number;
  rtol: number;
  oracleHalf?: boolean;
  /**
   * Take the relative part of every gradient against the sum of its terms' magnitudes (grad_oracle.ts)
   * instead of |ref|: for a float16 forward, whose O and LSE move every dS and P a little.
   */
  sumScale?: boolean;
}

export async function runGradCase(c: AttentionCase, seed: string, bound: GradCheck = {atol: ATOL, rtol: RTOL}): Promise<void> {
  const rng = makeRng(`${seed}:${c.name}`);
  const g = geometry(c);
  const hq = c.hq, hk = c.hk ?? c.hq, d = c.d;
  const q = randomData(rng, g.rowsQ * hq * d), k = randomData(rng, g.rowsK * hk * d), v = randomData(rng, g.rowsK * hk * d);
  const dOut = randomData(rng, g.rowsQ * hq * d);
  const qShape = layoutShape(c, g, g.rowsQ, hq), kShape = layoutShape(c, g, g.rowsK, hk);
  const qAt = layoutIndex(c, g, g.rowsQ, hq), kAt = layoutIndex(c, g, g.rowsK, hk);
  const owned: tf.Tensor[] = [];
  const own = <T extends tf.Tensor>(t: T) => (owned.push(t), t);
  // float16 inputs (c.half) go to the op packed, outside xs; the oracle differentiates at their half values.
  const halves: Record<string, Float16Tensor> = {};
  const qkv: Record<string, [Float32Array, number[], number, number]> = {q: [q, qShape, g.rowsQ, hq], k: [k, kShape, g.rowsK, hk], v: [v, kShape, g.rowsK, hk]};
  const xs: tf.Tensor[] = [];
  const slotOf: Record<string, number> = {};
  for (const [name, [x, shape, rows, heads]] of Object.entries(qkv)) {
    const t = own(tf.tensor(toLayout(c, g, x, rows, heads), shape));
    if (c.half?.includes(name as 'q')) {
      halves[name] = toFloat16(t);
      for (let i = 0; i < x.length; i++) x[i] = oracleHalfRound(x[i]);
    } else {
      slotOf[name] = xs.push(t) - 1;
    }
  }
  const input = (name: string, args: tf.Tensor[]) => halves[name] ?? args[slotOf[name]];
  const dOutT = own(tf.tensor(toLayout(c, g, dOut, g.rowsQ, hq), qShape));
  const oracleIn: OracleGradInputs = {
    batch: g.batch, hq, hk, d, startsQ: g.startsQ, startsK: g.startsK, lensQ: g.lensQ, lensK: g.lensK, q, k, v,
    causal: c.causal ?? false, softmaxScale: c.softmaxScale ?? 1 / Math.sqrt(d), dOut,
    ...(bound.oracleHalf ? {half: 'qkv' as const} : {}),
  };
  const options: FlashAttentionOptions = {layout: c.layout, causal: c.causal, softmaxScale: c.softmaxScale, returnLse: c.returnLse};
  if (c.precision != null) options.precision = c.precision;
  setCuSeqlens(c, g, options, own);
  setCacheSeqlens(c, options, oracleIn, own);
  let biasSlot = -1, slopeSlot = -1, sinkSlot = -1;
  if (setVariants(c, rng, options, oracleIn, own) != null) sinkSlot = xs.push(options.sinks!) - 1;
  if (c.bias) {
    const values = randomData(rng, c.bias.reduce((a, n) => a * n, 1));
    biasSlot = xs.push(own(tf.tensor(values, c.bias))) - 1;
    oracleIn.bias = broadcastBias(c.bias, values);
    oracleIn.biasIndex = biasIndexer(c.bias);
    oracleIn.biasSize = values.length;
  }
  if (c.alibi) {
    const shape = c.alibi === 'perHead' ? [hq] : [g.batch, hq];
    const slopes = Float32Array.from({length: shape.reduce((a, n) => a * n, 1)}, () => rng.uniform(0.05, 0.6));
    slopeSlot = xs.push(own(tf.tensor(slopes, shape))) - 1;
    oracleIn.slopeIndex = (b, h) => (c.alibi === 'perHead' ? h : b * hq + h);
    oracleIn.slope = (b, h) => slopes[oracleIn.slopeIndex!(b, h)];
    oracleIn.slopeSize = slopes.length;
  }
  let dLseT: tf.Tensor|null = null;
  if (c.returnLse) {
    const lseShape = c.layout === 'thd' ? [hq, g.rowsQ] : [g.batch, hq, g.rowsQ / g.batch];
    const dLse = randomData(rng, lseShape.reduce((a, n) => a * n, 1));
    dLseT = own(tf.tensor(dLse, lseShape));
    oracleIn.dLse = (b, h, i) => (c.layout === 'thd' ? dLse[h * g.rowsQ + g.startsQ[b] + i] : dLse[(b * hq + h) * (g.rowsQ / g.batch) + i]);
  }
  try {
    const before = tf.memory().numTensors;
    const loss = (...args: tf.Tensor[]) => {
      const opts = {...options};
      if (biasSlot >= 0) opts.bias = args[biasSlot];
      if (slopeSlot >= 0) opts.alibiSlopes = args[slopeSlot];
      if (sinkSlot >= 0) opts.sinks = args[sinkSlot];
      const r = flashAttention(input('q', args), input('k', args), input('v', args), opts);
      if (c.returnLse) {
        const {output, lse} = r as unknown as {output: tf.Tensor, lse: tf.Tensor};
        return tf.add(tf.sum(tf.mul(output, dOutT)), tf.sum(tf.mul(lse, dLseT!))) as tf.Scalar;
      }
      return tf.sum(tf.mul(r as tf.Tensor, dOutT)) as tf.Scalar;
    };
    const grads = tf.grads(loss)(xs);
    const got = await Promise.all(grads.map(t => t.data()));
    tf.dispose(grads);
    if (tf.memory().numTensors !== before) fail(c, seed, `gradients leaked ${tf.memory().numTensors - before} tensors`);
    const want = oracleAttentionGrad(oracleIn, g.rowsQ, g.rowsK);
    const compare = (what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, at?: (i: number) => number,
                     scale?: ArrayLike<number>|null) => {
      for (let i = 0; i < expected.length; i++) {
        const a = actual[at ? at(i) : i], r = expected[i], s = bound.sumScale && scale ? scale[i] : Math.abs(r);
        if (!(Math.abs(a - r) <= bound.atol + bound.rtol * s)) fail(c, seed, `${what}[${i}]: got ${a}, expected ${r} (scale ${s})`);
      }
    };
    const canon = (rows: number, heads: number, layoutAt: typeof qAt) => (i: number) => {
      const row = Math.floor(i / (heads * d)), h = Math.floor(i / d) % heads;
      return layoutAt(row, h, i % d);
    };
    if (slotOf.q != null) compare('dq', got[slotOf.q], want.dq, canon(g.rowsQ, hq, qAt), want.dqScale);
    if (slotOf.k != null) compare('dk', got[slotOf.k], want.dk, canon(g.rowsK, hk, kAt), want.dkScale);
    if (slotOf.v != null) compare('dv', got[slotOf.v], want.dv, canon(g.rowsK, hk, kAt), want.dvScale);
    if (biasSlot >= 0) compare('dBias', got[biasSlot], want.dBias!, undefined, want.dBiasScale);
    if (slopeSlot >= 0) compare('dAlibiSlopes', got[slopeSlot], want.dSlopes!, undefined, want.dSlopesScale);
    if (sinkSlot >= 0) compare('dSinks', got[sinkSlot], want.dSinks!);
  } finally {
    tf.dispose(owned);
    Object.values(halves).forEach(t => t.dispose());
  }
}

interface Launch {
  kernel: string;
  spec: FlashAttentionSpec;
  inputs: string[];
  outputs: number;
}

/** Runs f with the active backend's FlashAttention and FlashAttentionGrad kernels wrapped, recording each launch. */
function recordLaunches<T>(f: () => T): {result: T, launches: Launch[]} {
  const launches: Launch[] = [];
  const configs = [FlashAttention, FlashAttentionGrad].map(name => tf.getKernel(name, tf.getBackend())!);
  const originals = configs.map(config => config.kernelFunc);
  configs.forEach((config, i) => {
    config.kernelFunc = args => {
      const out = originals[i](args);
      launches.push({kernel: config.kernelName, spec: args.attrs as unknown as FlashAttentionSpec,
                     inputs: Object.keys(args.inputs).filter(n => args.inputs[n] != null), outputs: Array.isArray(out) ? out.length : 1});
      return out;
    };
  });
  try {
    return {result: f(), launches};
  } finally {
    configs.forEach((config, i) => (config.kernelFunc = originals[i]));
  }
}

/** The forward keeps its LSE for the backward only while a gradient tape records it. */
function defineSavedLseTests(): void {
  const shape = [1, 12, 2, 8];
  const withInputs = async (body: (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => Promise<void>|void) => {
    const q = tf.randomNormal(shape, 0, 1, 'float32', 1), k = tf.randomNormal(shape, 0, 1, 'float32', 2);
    const v = tf.randomNormal(shape, 0, 1, 'float32', 3);
    try {
      await body(q, k, v);
    } finally {
      tf.dispose([q, k, v]);
    }
  };
  const kernels = (launches: Launch[]) => launches.map(l => l.kernel).join(', ');

  it('outside a gradient tape the forward writes no LSE it was not asked for (one output, no copy)', () => withInputs(async (q, k, v) => {
    const before = tf.memory().numTensors;
    const {result, launches} = recordLaunches(() => flashAttention(q, k, v, {causal: true}));
    expect(result).to.be.instanceOf(tf.Tensor);
    expect(kernels(launches)).to.equal(FlashAttention);
    expect(launches[0].spec.returnLse).to.equal(false);
    expect(launches[0].spec.lseForBackwardOnly).to.equal(false);
    expect(launches[0].outputs).to.equal(1);
    expect(tf.memory().numTensors).to.equal(before + 1);
    (result as tf.Tensor).dispose();
    const inTidy = recordLaunches(() => tf.tidy(() => tf.sum(flashAttention(q, k, v) as tf.Tensor)));
    expect(inTidy.launches.map(l => l.spec.returnLse)).to.deep.equal([false]);
    inTidy.result.dispose();
    expect(tf.memory().numTensors).to.equal(before);
  }));

  for (const returnLse of [false, true]) {
    const what = returnLse ? 'with returnLse' : 'without returnLse';
    it(`tf.grads ${what}: one forward, whose saved LSE the backward reads (no second forward), no leak`, () => withInputs(async (q, k, v) => {
      const dOut = tf.randomNormal(shape, 0, 1, 'float32', 4);
      const before = tf.memory().numTensors;
      const seen: unknown[] = [];
      const {result: grads, launches} = recordLaunches(() => tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
        const r = flashAttention(a, b, c, {causal: true, returnLse});
        seen.push(r);
        const output = returnLse ? (r as unknown as {output: tf.Tensor}).output : r as tf.Tensor;
        return tf.sum(tf.mul(output, dOut)) as tf.Scalar;
      })([q, k, v]));
      // The caller sees exactly what a forward outside the tape gives.
      if (returnLse) expect(Object.keys(seen[0] as object).sort()).to.deep.equal(['lse', 'output']);
      else expect(seen[0]).to.be.instanceOf(tf.Tensor);
      expect(kernels(launches)).to.equal(`${FlashAttention}, ${FlashAttentionGrad}`);
      expect(launches[0].spec.returnLse).to.equal(true);
      expect(launches[0].spec.lseForBackwardOnly).to.equal(!returnLse);
      expect(launches[0].outputs).to.equal(2);
      // An LSE the caller never saw has no upstream gradient to pass on.
      expect(launches[1].inputs.includes('dLse')).to.equal(returnLse);
      // The same gradients as from the LSE of a separate forward (returnLse, so the kernel writes it there too).
      const want = tf.tidy(() => {
        const {output, lse} = flashAttention(q, k, v, {causal: true, returnLse: true});
        return tf.engine().runKernel(FlashAttentionGrad, {q, k, v, output: output as tf.Tensor, lse, dOutput: dOut},
                                     launches[1].spec as unknown as tf.NamedAttrMap) as tf.Tensor[];
      });
      for (let i = 0; i < 3; i++) expect(Array.from(await grads[i].data())).to.deep.equal(Array.from(await want[i].data()));
      tf.dispose([...grads, ...want]);
      expect(tf.memory().numTensors).to.equal(before);
      dOut.dispose();
    }));
  }

  it('no leak when the recorded forward is not on the gradient\'s path, or inside tf.tidy / tf.valueAndGrads', () => withInputs(async (q, k, v) => {
    const before = tf.memory().numTensors;
    const loss = (a: tf.Tensor) => {
      flashAttention(k, a, v, {causal: true});                 // recorded on the tape, then pruned
      flashAttention(a, k, v, {returnLse: true});              // its LSE and output unused
      return tf.sum(flashAttention(a, k, v) as tf.Tensor) as tf.Scalar;
    };
    const g = tf.tidy(() => tf.grad(loss)(q));
    g.dispose();
    const {value, grads} = tf.valueAndGrads((a: tf.Tensor) => loss(a))([q]);
    tf.dispose([value, ...grads]);
    expect(tf.memory().numTensors).to.equal(before);
  }));

  it('the gradient through a used LSE still flows (d lse / d q is not zero)', () => withInputs(async (q, k, v) => {
    const g = tf.grad((a: tf.Tensor) => tf.sum(flashAttention(a, k, v, {returnLse: true}).lse) as tf.Scalar)(q);
    const size = tf.max(tf.abs(g));
    expect((await size.data())[0]).to.be.greaterThan(1e-3);
    tf.dispose([g, size]);
  }));
}

export function defineGradTests(seed: string): void {
  describe('gradients vs the float64 hand-differentiated oracle', () => {
    for (const c of GRAD_CASES) it(c.name, async () => void await runGradCase(c, seed));
    describe('the shared case table', () => {
      for (const c of SHARED_GRAD_CASES) it(`grad of ${c.name}`, async () => void await runGradCase(c, seed));
    });
    describe('the LSE saved for the backward', defineSavedLseTests);
    defineTrainingTests();
    it('FP8 inputs are forward-only: asking for their gradient is a clear error', () => {
      const q = tf.randomNormal([1, 4, 1, 8]), k = tf.randomNormal([1, 4, 1, 8]);
      const k8 = quantizeFp8(k), v8 = quantizeFp8(k);
      expect(() => tf.grad((x: tf.Tensor) => tf.sum(flashAttention(x, k8, v8) as tf.Tensor))(q)).to.throw(/FP8 inputs are forward-only/);
      tf.dispose([q, k]);
      k8.dispose();
      v8.dispose();
    });
    it('float16 inputs have no gradient: differentiating through toFloat16 names the input', () => {
      // (tfjs's tf.grad itself keeps the forward's tensors when a gradient throws, as for FP8 above.)
      const q = tf.randomNormal([1, 4, 1, 8]), k = tf.randomNormal([1, 4, 1, 8]);
      expect(() => tf.grad((x: tf.Tensor) => tf.sum(flashAttention(q, toFloat16(x), k) as tf.Tensor))(k))
          .to.throw(/k is a float16 tensor \(packed int32 words\), which has no gradient/);
      tf.dispose([q, k]);
    });
  });
}
