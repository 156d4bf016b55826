/**
 * precision 'float16' (SPEC.md, Precision), on the active backend: the shared case table under
 * 'float16' against the oracle on half-rounded q, k, v (SPEC's bound); half's range (a value past
 * ±65504 becomes ±Infinity and propagates as IEEE math); the option against the env flag default; the
 * backward taking a float16 forward's spec. On cpu also: the kernel's rounding points exactly (it is
 * the reference), its float16 result differing from its float32 one, and the round-to-half helper.
 */
import {expect} from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import {BLOCK_N} from '../kernels/cpu/attention_loop';
import {halfBits, halfValue, roundToHalf} from '../src/half';
import {flashAttention, PRECISION_FLAG, quantizeFp8, WEBGPU_MATRIX_FLAG} from '../src/index';
import {FlashAttentionOptions, normalizeSpec} from '../src/normalize_spec';
import {AttentionCase, CASES} from './cases';
import {GRAD_CASES, runGradCase, SHARED_GRAD_CASES} from './grad_suite';
import {defineFloat16BackwardReferenceTests} from './float16_backward_reference';
import {ORACLE_HALF_MAX, oracleHalfRound} from './half_oracle';
import {runCase, tolerance} from './harness';
import {makeRng} from './rng';

/**
 * The arithmetic each backend gives a 'float16' call. SPEC.md lets a backend without matrix units compute
 * it in float32 (more accurate, never less); only where it rounds does a value past ±65504 become
 * ±Infinity. cpu is the reference; webgl has no matrix units. webgpu is 'either' while its portable twin
 * (which the FLASH_ATTENTION_WEBGPU_MATRIX = 'portable' flag, set for these tests, asks for) is being
 * built: make it 'float16' once that kernel takes every float16 call.
 */
export const FLOAT16_ARITHMETIC: Record<string, 'float16'|'float32'|'either'> = {cpu: 'float16', webgpu: 'either', webgl: 'float32'};

/** A case under precision 'float16' (its own name, so its own seeded inputs). */
export const asFloat16 = (c: AttentionCase): AttentionCase => ({...c, name: `float16: ${c.name}`, precision: 'float16'});

/**
 * The float16-tensor rows that run under 'float16' too (on webgpu: the matrix-tile forward's half reads of
 * q, and of k and v); the rest would only add shader variants that test the same reads.
 */
const FLOAT16_HALF_ROWS = ['float16 k and v with causal GQA 4:1', 'float16 q with float32 k, v: bhsd, ALiBi and bias'];
for (const name of FLOAT16_HALF_ROWS) {
  if (!CASES.some(c => c.name === name)) throw new Error(`precision_suite: no case named "${name}" in test/cases.ts`);
}

/**
 * The shared table under 'float16' (float16-tensor rows: FLOAT16_HALF_ROWS). Full FP8 rows stay in: precision is normalized to 'float32' there
 * (full FP8 keeps its own arithmetic), so they are held to their own oracle and bounds (harness.ts).
 */
export const FLOAT16_CASES: AttentionCase[] =
    CASES.filter(c => c.half == null || FLOAT16_HALF_ROWS.includes(c.name)).map(asFloat16);

/**
 * webgl has no matrix units and computes float16 calls in float32 (SPEC allows it), so the whole table
 * under float16 would retest its float32 arithmetic at ~2 s a case on SwiftShader: a representative
 * subset (every layout, D at both ends, causal Sq > Sk, GQA, varlen, bias, ALiBi, both FP8 modes, NaN)
 * checks that it takes the option and meets the float16 bound.
 */
const WEBGL_FLOAT16_NAMES = [
  'D=1 pads the tile', 'D=80 pads the tile', 'D=256 causal', 'decode: Sq = 1 against a long Sk',
  'causal Sq > Sk: first Sq - Sk rows are 0 with -Infinity LSE', 'GQA ratio 4', 'bhsd layout', 'varlen: empty sequences',
  'bias broadcast [B, 1, 1, Sk] (padding mask)', 'ALiBi per batch and head', 'FP8 KV-only e4m3fn', 'FP8 full e4m3fn',
  'NaN in v poisons the rows that see it',
];

function float16CasesFor(backend: string): AttentionCase[] {
  if (backend !== 'webgl') return FLOAT16_CASES;
  return WEBGL_FLOAT16_NAMES.map(name => {
    const c = CASES.find(x => x.name === name);
    if (c == null) throw new Error(`precision_suite: no case named "${name}" in test/cases.ts`);
    return asFloat16(c);
  });
}

/** Half's range: 65519 rounds down to 65504, 1e5 and -7e4 overflow to ±Infinity. */
export const OVERFLOW_CASES: AttentionCase[] = [
  {name: 'float16: v past 65504 is +Infinity in the output of every row that sees it (65519 rounds to 65504)',
   batch: 1, sq: 9, sk: 12, hq: 2, d: 8, precision: 'float16', large: {input: 'v', values: [1e5, 65519]}, returnLse: true},
  {name: 'float16: v past -65504 is -Infinity in the rows that see it, causal',
   batch: 1, sq: 12, sk: 12, hq: 2, hk: 1, d: 16, causal: true, precision: 'float16', large: {input: 'v', values: [-7e4]}},
  {name: 'float16: q past -65504 gives ±Infinity scores, so its row is NaN (Inf - Inf), as IEEE math',
   batch: 1, sq: 9, sk: 12, hq: 2, d: 8, precision: 'float16', large: {input: 'q', values: [-1e5]}, returnLse: true},
];

/**
 * The cpu kernel against the oracle that also rounds P (one half per p, l of the unrounded p), where the
 * two round the same numbers: within one key block the kernel's running max is the row max, so its
 * p = exp(s − m) is the oracle's (past one block it is taken against a running max, and rounds differently
 * within half's 2^-11). What remains is float64 summation order and the float32 output: 1e-6 is tight
 * enough that dropping any rounding point (or summing l of the rounded P, ~1e-4) fails.
 */
const EXACT_CASES = CASES.filter(c => c.fp8 == null && Math.max(...(c.seqlensK ?? [c.sk!])) <= BLOCK_N).map(asFloat16);
const EXACT = {oracleHalf: 'qkvp', atol: 1e-6, rtol: 1e-6} as const;

/**
 * The arithmetic of each backend's backward under 'float16'. cpu rounds at FlashAttention-2's fp16 points
 * (q, k, v, dO, P for dV, dS for dQ and dK: kernels/cpu/attention_backward_loop.ts) and is held to the
 * oracle with the same points on the whole gradient table; webgpu's matrix-tile passes
 * (kernels/webgpu/backward/matrix_grad_program.ts, on the portable tiles here) round at the same points.
 * webgl's backward computes in float32 (SPEC lets a backend without matrix units do so) on the float16
 * forward's O and LSE.
 */
export const BACKWARD_FLOAT16_ARITHMETIC: Record<string, 'float16'|'float32'> = {cpu: 'float16', webgpu: 'float16', webgl: 'float32'};

/**
 * float16 backward vs the float64 oracle with its rounding points: what remains is float32 summation, the
 * float16 forward's O inside D_i = rowsum(dO ∘ O) (the oracle takes Σ P dP, exact) and its LSE inside P,
 * and values that sit next to a half rounding boundary and round the other way (2^-11 relative on one
 * term). SPEC's float16 bound, 2e-3 + 1e-2·scale. O's rounding moves every dS of a row by ~1e-3 of its
 * row's scale, coherently, so a gradient whose terms cancel moves by that much of its terms, not of itself:
 * dAlibiSlopes (Σ dS·|distance| over whole rows) reached 4 % of |ref| (4 of 31 seeds past an |ref| bound),
 * and dq of 'ALiBi with Sq > Sk and bias' 8 % (cpu, seed 167737179: 0.0386 vs 0.0420). So every gradient
 * takes the relative part against the sum of its terms' magnitudes (sumScale). A rounding point left out
 * is caught by the point-by-point tests (test/float16_backward_reference.ts: the kernel fed the oracle's
 * own O and LSE, where nothing moves every dS).
 */
export const FLOAT16_GRAD_BOUND = {atol: 2e-3, rtol: 1e-2, oracleHalf: true, sumScale: true};
export const FLOAT16_GRAD_CASES_FULL = [...GRAD_CASES, ...SHARED_GRAD_CASES].map(asFloat16);
/**
 * webgpu runs its float16 backward (the matrix-tile passes on the portable tiles) on a subset: a case costs
 * ~20 s of SwiftShader compiling, the whole table ~20 min. Every feature of the passes: D from 8 to 80 and
 * 256 (past the portable tiles' workgroup memory: the float32 passes, held to the same bound), causal both
 * ways, GQA, both layouts, varlen, a padded cache (keys past a length get dK = dV = 0), bias, ALiBi with the
 * LSE's gradient, several key and query blocks, window, softcap, sinks, dropout. The GPU runner
 * (test/gpu/run_cases.ts) runs the whole table on both matrix paths.
 */
const WEBGPU_FLOAT16_GRAD_NAMES = [
  'grad: plain', 'grad: causal Sq > Sk (empty rows)', 'grad: causal Sq < Sk, GQA 4:1', 'grad: D=80 bhsd',
  'grad: varlen with an empty sequence', 'grad: full bias', 'grad: through the LSE output too',
  'grad: window [90, 40] over several key blocks, softcap, sinks, through the LSE', 'D=256 causal',
  'padded KV cache: causal bhsd with a window, Sq > a length', 'dropout with causal GQA, window, softcap and sinks, a negative seed',
];

function float16GradCasesFor(backend: string): AttentionCase[] {
  if (backend !== 'webgpu') return FLOAT16_GRAD_CASES_FULL;
  return WEBGPU_FLOAT16_GRAD_NAMES.map(name => {
    const c = FLOAT16_GRAD_CASES_FULL.find(x => x.name === `float16: ${name}`);
    if (c == null) throw new Error(`precision_suite: no gradient case named "${name}"`);
    return c;
  });
}
/**
 * A float32 backward of a float16 forward: float32 attention's gradients (the float64 oracle on the float32
 * inputs) up to that forward's half rounding, ~1e-3 relative in P (through the LSE) and in O (through
 * D_i). The cpu's float32 backward met 1e-3 + 5e-3·|ref| on these two cases over four seeds; 2.5× that.
 */
const FLOAT16_FORWARD_GRAD_CASES = [GRAD_CASES[0], GRAD_CASES[2]].map(asFloat16);
const FLOAT16_FORWARD_GRAD_BOUND = {atol: 5e-3, rtol: 2e-2};

/** Runs body with the env flag set to value, restoring the flag afterwards. */
async function withFlag<T>(name: string, value: string, body: () => Promise<T>|T): Promise<T> {
  const saved = tf.env().get(name);
  tf.env().set(name, value);
  try {
    return await body();
  } finally {
    tf.env().set(name, saved);
  }
}

function specPrecision(options: FlashAttentionOptions, fp8 = false): string {
  const [q, k] = [tf.zeros([1, 4, 2, 8]), tf.zeros([1, 6, 2, 8])];
  const q8 = fp8 ? quantizeFp8(q) : null, k8 = fp8 ? quantizeFp8(k) : null;
  try {
    return fp8 ? normalizeSpec(q8!, k8!, k8!, options).spec.precision : normalizeSpec(q, k, k, options).spec.precision;
  } finally {
    tf.dispose([q, k]);
    q8?.dispose();
    k8?.dispose();
  }
}

export function definePrecisionTests(backend: string, seed: string): void {
  const arithmetic = FLOAT16_ARITHMETIC[backend] ?? 'float32';
  describe('precision float16', () => {
    // webgpu: the portable matrix tiles (what CI can run; software GPUs have no matrix units).
    let savedMatrix: unknown;
    before(() => {
      if (backend !== 'webgpu') return;
      savedMatrix = tf.env().get(WEBGPU_MATRIX_FLAG);
      tf.env().set(WEBGPU_MATRIX_FLAG, 'portable');
    });
    after(() => {
      if (backend === 'webgpu') tf.env().set(WEBGPU_MATRIX_FLAG, savedMatrix as string);
    });

    describe(`case table under float16 vs the oracle on half-rounded q, k, v${backend === 'webgl' ? ' (a subset: webgl computes float32)' : ''}`, () => {
      for (const c of float16CasesFor(backend)) it(c.name, async () => void await runCase(c, seed));
    });

    describe(`half's range (${backend} computes float16 calls in ${arithmetic === 'either' ? 'float16 or float32' : arithmetic})`, () => {
      const asHalf = async (c: AttentionCase) => {
        const result = await runCase(c, seed);
        if (c.large!.input === 'v') expect(result.infinities, `outputs that are ±Infinity (seed ${seed}, FA_SEED replays)`).to.be.greaterThan(0);
      };
      // float32 arithmetic holds these values: the float32 oracle, finite outputs.
      const asFloat32 = async (c: AttentionCase) => {
        const result = await runCase(c, seed, {oracleHalf: 'none'});
        expect(result.infinities, `outputs that are ±Infinity (seed ${seed}, FA_SEED replays)`).to.equal(0);
      };
      for (const c of OVERFLOW_CASES) {
        it(c.name, async () => {
          if (arithmetic === 'float16') return asHalf(c);
          if (arithmetic === 'float32') return asFloat32(c);
          try {
            await asHalf(c);
          } catch (asHalfError) {
            try {
              await asFloat32(c);
            } catch (asFloat32Error) {
              throw new Error(`neither float16 (${(asHalfError as Error).message}) nor float32 arithmetic (${(asFloat32Error as Error).message})`);
            }
          }
        });
      }
    });

    describe(`the option and its default, the env flag ${PRECISION_FLAG}`, () => {
      it('the env flag sets the default; the option overrides it; full FP8 is always float32', () => withFlag(PRECISION_FLAG, 'float32', async () => {
        expect(specPrecision({})).to.equal('float32');
        expect(specPrecision({precision: 'float16'})).to.equal('float16');
        await withFlag(PRECISION_FLAG, 'float16', () => {
          expect(specPrecision({})).to.equal('float16');
          expect(specPrecision({precision: 'float32'})).to.equal('float32');
          expect(specPrecision({}, true), 'full FP8 under the float16 flag').to.equal('float32');
        });
        expect(specPrecision({precision: 'float16'}, true), 'full FP8 asked for float16').to.equal('float32');
      }));

      it('a call under the flag gives the bits of an explicit float16 call; the option overrides the flag', async () => {
        const rng = makeRng(`${seed}:precision flag`);
        const shape = [1, 21, 2, 32];
        const [q, k, v] = [0, 1, 2].map(() => tf.tensor(Float32Array.from({length: 21 * 2 * 32}, () => rng.normal()), shape));
        const bits = async (options: FlashAttentionOptions) => {
          const out = flashAttention(q, k, v, {causal: true, ...options}) as tf.Tensor;
          const data = new Uint32Array((await out.data() as Float32Array).slice().buffer);
          out.dispose();
          return Array.from(data);
        };
        try {
          const before = tf.memory().numTensors;
          const float32 = await bits({}), float16 = await bits({precision: 'float16'});
          const underFlag = await withFlag(PRECISION_FLAG, 'float16', async () => [await bits({}), await bits({precision: 'float32'})]);
          expect(underFlag[0], 'flag float16, no option').to.deep.equal(float16);
          expect(underFlag[1], 'flag float16, option float32').to.deep.equal(float32);
          if (arithmetic === 'float16') expect(float16, 'float16 rounds').to.not.deep.equal(float32);
          expect(tf.memory().numTensors).to.equal(before);
        } finally {
          tf.dispose([q, k, v]);
        }
      });

      it('a bad env flag value throws naming the flag and the allowed values, leaking nothing', () => withFlag(PRECISION_FLAG, 'half', () => {
        const q = tf.zeros([1, 4, 1, 8]);
        const before = tf.memory().numTensors;
        expect(() => flashAttention(q, q, q)).to.throw(Error, /FLASH_ATTENTION_PRECISION .* must be 'float32' or 'float16', got 'half'/);
        expect(tf.memory().numTensors).to.equal(before);
        q.dispose();
      }));
    });

    if (tf.getKernel('FlashAttentionGrad', backend) != null && BACKWARD_FLOAT16_ARITHMETIC[backend] === 'float16') {
      defineNonFiniteGradTests(backend);
      describe(`float16 gradients vs the oracle with the float16 backward\'s rounding points: ${backend === 'webgpu' ? 'a subset of the gradient table (the matrix-tile passes, portable tiles)' : 'the whole gradient table'}`, () => {
        for (const c of float16GradCasesFor(backend)) it(c.name, async () => void await runGradCase(c, seed, FLOAT16_GRAD_BOUND));
      });
    } else if (tf.getKernel('FlashAttentionGrad', backend) != null) {
      describe('gradients of a float16 forward (this backend\'s backward computes in float32)', () => {
        for (const c of FLOAT16_FORWARD_GRAD_CASES) it(c.name, async () => void await runGradCase(c, seed, FLOAT16_FORWARD_GRAD_BOUND));
      });
    }

    // The rounding points one by one: the cpu (the reference) and webgpu's matrix passes (portable tiles).
    if (backend === 'webgpu' && tf.getKernel('FlashAttentionGrad', backend) != null) defineFloat16BackwardReferenceTests(seed);
    if (backend === 'cpu') defineCpuReferenceTests(seed);
  });
}

/**
 * A NaN reaches the gradients of the pairs that see it and no others: a P or dS of 0 (a masked pair) takes
 * no part, not even as 0·NaN (the cpu reference; the matrix passes take a guarded route for such blocks).
 * Causal, Sq = Sk = 20 (past one block of every pass), head 0 of two: row 0 sees only key 0, key 19 only
 * row 19. WGSL leaves arithmetic on NaN indeterminate (kernels/webgpu/nan_wgsl.ts: SwiftShader's exp2(NaN)
 * is finite, and both webgpu backwards then lose NaNs the reference keeps), so on webgpu only the gradients
 * that must stay numbers are checked; the cpu is held to the whole pattern.
 */
function defineNonFiniteGradTests(backend: string): void {
  const strict = backend === 'cpu';
  const [S, H, D] = [20, 2, 16];
  const at = (row: number, head: number, d: number) => (row * H + head) * D + d;
  const where = (nan: (row: number, head: number) => boolean) => (i: number) => nan(Math.floor(i / (H * D)), Math.floor(i / D) % H);
  const run = async (poison: 'dO'|'k') => {
    const rng = makeRng(`non-finite gradients: ${poison}`);
    const data = () => Float32Array.from({length: S * H * D}, () => rng.normal());
    const [q, k, v, dOut] = [data(), data(), data(), data()];
    (poison === 'dO' ? dOut : k)[at(poison === 'dO' ? 0 : S - 1, 0, 3)] = NaN;
    const t = [q, k, v, dOut].map(x => tf.tensor(x, [1, S, H, D]));
    try {
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
        flashAttention(a, b, c, {causal: true, precision: 'float16'}) as tf.Tensor)(t.slice(0, 3), t[3]);
      const got = await Promise.all(grads.map(g => g.data()));
      tf.dispose(grads);
      return got;
    } finally {
      tf.dispose(t);
    }
  };
  const expectNaNs = (name: string, x: ArrayLike<number>, nan: (i: number) => boolean) => {
    for (let i = 0; i < x.length; i++) {
      if (Number.isNaN(x[i]) ? !nan(i) : nan(i) && strict) throw new Error(`${name}[${i}] is ${x[i]}, expected ${nan(i) ? 'NaN' : 'a number'}`);
    }
  };
  it('a NaN in dO[0, 3] (row 0): NaN in dq of row 0, dk of key 0 and dv[0, 3] only', async () => {
    const [dq, dk, dv] = await run('dO');
    const first = where((row, head) => row === 0 && head === 0);
    expectNaNs('dq', dq, first);
    expectNaNs('dk', dk, first);
    expectNaNs('dv', dv, i => i === at(0, 0, 3));
  });
  it('a NaN in k of the last key: row 19 (the only one that sees it) is NaN and poisons dk, dv of its head; dq of the other rows stays a number', async () => {
    const [dq, dk, dv] = await run('k');
    expectNaNs('dq', dq, where((row, head) => row === S - 1 && head === 0));
    expectNaNs('dk', dk, where((_, head) => head === 0));
    expectNaNs('dv', dv, where((_, head) => head === 0));
  });
}

/** The cpu kernel is the reference for SPEC's float16 rounding points. */
function defineCpuReferenceTests(seed: string): void {
  describe('cpu kernel: the float16 reference', () => {
    defineFloat16BackwardReferenceTests(seed);
    describe('reproduces the rounding points exactly (oracle with P rounded too; one key block)', () => {
      for (const c of EXACT_CASES) it(c.name, async () => void await runCase(c, seed, EXACT));
    });

    it('its float16 result differs from its float32 result, each within its own bound', async () => {
      const c = CASES.find(x => x.name === 'S not a multiple of any tile')!;
      // Same name, so the same inputs: float32 against the plain oracle, float16 against the half-rounded one.
      const r32 = await runCase(c, seed), r16 = await runCase({...c, precision: 'float16'}, seed);
      let maxDiff = 0;
      for (let i = 0; i < r32.output.length; i++) maxDiff = Math.max(maxDiff, Math.abs(r32.output[i] - r16.output[i]));
      // Half rounding of q, k, v and P moves outputs by ~1e-4; float32 alone is good to ~1e-6 here.
      expect(maxDiff, 'max |float16 − float32|').to.be.greaterThan(2e-5);
      const {atol} = tolerance({...c, precision: 'float16'});
      expect(maxDiff).to.be.lessThan(atol * 2);
    });
  });

  describe('round to half (src/half.ts) against the oracle\'s own rounding', () => {
    it('every one of the 65536 halves maps to its own bits and back', () => {
      for (let h = 0; h < 0x10000; h++) {
        const value = halfValue(h);
        if (Number.isNaN(value)) {
          expect(((h >>> 10) & 0x1f) === 0x1f && (h & 0x3ff) !== 0, `0x${h.toString(16)} is NaN`).to.equal(true);
          expect(Number.isNaN(roundToHalf(value))).to.equal(true);
          continue;
        }
        if (halfBits(value) !== h) throw new Error(`half 0x${h.toString(16)} = ${value} gives bits 0x${halfBits(value).toString(16)}`);
        if (!Object.is(oracleHalfRound(value), value)) throw new Error(`oracle moves half ${value} to ${oracleHalfRound(value)}`);
      }
    });

    it('a value halfway between two neighbouring halves rounds to the even one', () => {
      for (let h = 0; h < 0x7bff; h++) {
        const [lo, hi] = [halfValue(h), halfValue(h + 1)];
        for (const sign of [1, -1]) {
          const got = roundToHalf(sign * (lo + hi) / 2), want = sign * ((h & 1) === 0 ? lo : hi);
          if (!Object.is(got, want)) throw new Error(`midpoint of ${sign * lo} and ${sign * hi} gave ${got}, want ${want}`);
        }
      }
    });

    it('a float64 just off a midpoint rounds to its own side (float32 would land on the tie)', () => {
      for (let h = 0; h < 0x7bff; h += 7) {
        const [lo, hi] = [halfValue(h), halfValue(h + 1)], mid = (lo + hi) / 2;
        for (const [x, want] of [[mid * (1 + 2 ** -40), hi], [mid * (1 - 2 ** -40), lo]]) {
          if (roundToHalf(x) !== want || oracleHalfRound(x) !== want) {
            throw new Error(`roundToHalf(${x}) = ${roundToHalf(x)}, oracle ${oracleHalfRound(x)}, want ${want}`);
          }
        }
      }
      expect(roundToHalf(65520 * (1 - 2 ** -40)), 'just below 65520').to.equal(65504);
    });

    it('range edges: 65504 and 65519 stay finite, 65520 and past are ±Infinity, NaN stays, tiny values keep their sign', () => {
      const cases: Array<[number, number]> = [
        [ORACLE_HALF_MAX, 65504], [65519, 65504], [65520, Infinity], [-65520, -Infinity], [1e5, Infinity], [-7e4, -Infinity],
        [Infinity, Infinity], [-Infinity, -Infinity], [2 ** -24, 2 ** -24], [2 ** -25, 0], [-(2 ** -25), -0],
        [2 ** -25 * 1.01, 2 ** -24], [-1e-30, -0], [0, 0], [-0, -0], [1 + 2 ** -11, 1], [1 + 3 * 2 ** -11, 1 + 2 ** -9],
      ];
      for (const [x, want] of cases) expect(Object.is(roundToHalf(x), want), `roundToHalf(${x}) = ${roundToHalf(x)}, want ${want}`).to.equal(true);
      expect(Number.isNaN(roundToHalf(NaN))).to.equal(true);
    });

    it('agrees with the oracle on 200000 random float32 and float64 values over every binade', () => {
      const rng = makeRng(`${seed}:half`);
      for (let i = 0; i < 200000; i++) {
        const x64 = (rng.next() < 0.5 ? -1 : 1) * rng.uniform(1, 2) * 2 ** rng.int(-30, 17);
        const x = i % 2 === 0 ? Math.fround(x64) : x64;
        if (!Object.is(roundToHalf(x), oracleHalfRound(x))) {
          throw new Error(`seed ${seed}: roundToHalf(${x}) = ${roundToHalf(x)}, oracle ${oracleHalfRound(x)}`);
        }
      }
    });
  });
}
