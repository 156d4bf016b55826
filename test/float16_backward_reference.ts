/**
 * The cpu backward as the reference for the float16 backward's rounding points (q, k, v, dO; P for dV; dS for
 * dQ and dK). Through tf.grads the forward's own O enters D_i = rowsum(dO ∘ O), and a float16 O moves every
 * gradient by ~1e-4, as much as leaving a rounding point out does: the case-table test cannot tell them apart.
 * Here the FlashAttentionGrad kernel is fed the oracle's exact O and LSE (of the half-rounded q, k, v), so
 * what remains against the oracle is float32 summation and the odd term that rounds to the other half
 * neighbour; and the same kernel output, held to oracles that each leave one point out, must miss them.
 */
import {expect} from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import {asAttrs, FlashAttentionGrad} from '../src/kernel_name';
import {normalizeSpec} from '../src/normalize_spec';
import {oracleAttentionGrad, OracleGradInputs} from './grad_oracle';
import {randomData} from './harness';
import {oracleAttention} from './oracle';
import {makeRng} from './rng';

interface ReferenceCase {
  name: string;
  batch: number; sq: number; sk: number; hq: number; hk: number; d: number;
  causal?: boolean;
}

const REFERENCE_CASES: ReferenceCase[] = [
  {name: 'plain', batch: 2, sq: 13, sk: 17, hq: 2, hk: 2, d: 16},
  {name: 'causal Sq < Sk, GQA 4:1, past one key block', batch: 1, sq: 19, sk: 150, hq: 4, hk: 1, d: 32, causal: true},
];

/**
 * Two measures against each oracle, over dq, dk and dv:
 *   rms: the worst of the three relative RMS differences ‖got − ref‖₂ / ‖ref‖₂;
 *   max: the worst |got − ref| / (MAX_ATOL + MAX_RTOL·|ref|).
 * An omitted rounding point moves every element a little (rms), a near-tie that the kernel's float32 P rounds
 * the other way moves one element by one half quantum (max; in these small cases a few such flips also reach
 * the rms). Seeds 1–5 on these two cases: rms against the full oracle 7e-8 (one key block) to 1.4e-5, against
 * oracles without one point 1.8e-4 (P or dS) to 6.5e-4 (the inputs); max ≤ 0.23 against the full oracle.
 * Seeds 100–140 on cpu: full oracle up to 6.0e-5, without one point from 1.69e-4; seed 168970120 gave 6.4e-5
 * on webgpu (the bound was 5e-5 then, and failed CI). The bound sits 1.6× from both sides.
 */
const RMS_BOUND = 1.04e-4;
const MAX_ATOL = 1e-4, MAX_RTOL = 1e-3;

function measures(got: ArrayLike<number>[], want: {dq: Float64Array, dk: Float64Array, dv: Float64Array}) {
  let rms = 0, max = 0, where = '';
  (['dq', 'dk', 'dv'] as const).forEach((name, n) => {
    const ref = want[name];
    let diff2 = 0, ref2 = 0;
    for (let i = 0; i < ref.length; i++) {
      const e = got[n][i] - ref[i];
      diff2 += e * e;
      ref2 += ref[i] * ref[i];
      const r = Math.abs(e) / (MAX_ATOL + MAX_RTOL * Math.abs(ref[i]));
      if (!(r <= max)) [max, where] = [Number.isNaN(r) ? Infinity : r, `${name}[${i}]: got ${got[n][i]}, oracle ${ref[i]}`];
    }
    const rel = Math.sqrt(diff2 / Math.max(ref2, 1e-300));
    rms = Number.isNaN(rel) ? Infinity : Math.max(rms, rel);
  });
  return {rms, max, where};
}

async function kernelGrads(c: ReferenceCase, seed: string) {
  const rng = makeRng(`${seed}:float16 backward reference: ${c.name}`);
  const rowsQ = c.batch * c.sq, rowsK = c.batch * c.sk;
  const q = randomData(rng, rowsQ * c.hq * c.d), k = randomData(rng, rowsK * c.hk * c.d), v = randomData(rng, rowsK * c.hk * c.d);
  const dOut = randomData(rng, rowsQ * c.hq * c.d);
  const oracleIn: OracleGradInputs = {
    batch: c.batch, hq: c.hq, hk: c.hk, d: c.d, startsQ: Array.from({length: c.batch}, (_, b) => b * c.sq),
    startsK: Array.from({length: c.batch}, (_, b) => b * c.sk), lensQ: Array(c.batch).fill(c.sq),
    lensK: Array(c.batch).fill(c.sk), q, k, v, causal: c.causal ?? false, softmaxScale: 1 / Math.sqrt(c.d), dOut,
    half: 'qkv',
  };
  // The oracle's forward of the half-rounded q, k, v (P unrounded): the O and LSE a perfect forward gives.
  const forward = oracleAttention(oracleIn, rowsQ, true);
  const qShape = [c.batch, c.sq, c.hq, c.d], kShape = [c.batch, c.sk, c.hk, c.d];
  const t = {
    q: tf.tensor(q, qShape), k: tf.tensor(k, kShape), v: tf.tensor(v, kShape), dOutput: tf.tensor(dOut, qShape),
    output: tf.tensor(Float32Array.from(forward.out), qShape), lse: tf.tensor(Float32Array.from(forward.lse), [c.batch, c.hq, c.sq]),
  };
  try {
    const {spec} = normalizeSpec(t.q, t.k, t.v, {causal: c.causal, precision: 'float16'});
    const grads = tf.engine().runKernel(FlashAttentionGrad, t, asAttrs(spec)) as tf.Tensor[];
    const got = await Promise.all(grads.slice(0, 3).map(g => g.data()));
    tf.dispose(grads);
    return {got, oracleIn};
  } finally {
    tf.dispose(Object.values(t));
  }
}

export function defineFloat16BackwardReferenceTests(seed: string): void {
  describe('the float16 backward\'s rounding points (kernel fed the oracle\'s O and LSE)', () => {
    for (const c of REFERENCE_CASES) {
      it(c.name, async () => {
        const {got, oracleIn} = await kernelGrads(c, seed);
        const exact = measures(got, oracleAttentionGrad(oracleIn, c.batch * c.sq, c.batch * c.sk));
        expect(exact.rms, `seed ${seed}: relative RMS against the oracle with every rounding point`).to.be.at.most(RMS_BOUND);
        expect(exact.max, `seed ${seed}: against the oracle with every rounding point, worst ${exact.where}`).to.be.at.most(1);
        for (const skip of ['inputs', 'p', 'ds'] as const) {
          const without = measures(got, oracleAttentionGrad({...oracleIn, halfSkip: skip}, c.batch * c.sq, c.batch * c.sk));
          expect(without.rms, `seed ${seed}: an oracle without the ${skip} rounding must be missed`).to.be.greaterThan(RMS_BOUND);
        }
      });
    }
  });
}
