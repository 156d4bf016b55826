/**
 * Runs one AttentionCase on the active backend and checks it against the float64 oracle:
 * fresh seeded inputs, FP8 codes checked against the oracle's own encoder, outputs poisoned with NaN
 * beforehand (GPU backends recycle freed buffers, so an unwritten element reads NaN and fails), no
 * tensor leaks, every element within atol + rtol·|ref|. Independent of mocha: the H100 runner uses it too.
 */
import * as tf from '@tensorflow/tfjs-core';
import {dequantizeFp8, flashAttention, Float16Tensor, Fp8Tensor, quantizeFp8, toFloat16} from '../src/index';
import type {FlashAttentionOptions} from '../src/flash_attention';
import type {AttentionCase} from './cases';
import {oracleFp8Encode} from './fp8_oracle';
import {oracleHalfRound} from './half_oracle';
import {oracleAttention, OracleFp8, OracleInputs} from './oracle';
import {makeRng, Rng} from './rng';
import {dropoutKeeps, dropoutSeed32, dropoutThreshold} from '../src/dropout';

/**
 * Tolerances. float32 kernels: scores carry ~D·2^-24 relative rounding and GPUs' exp2 a few ulp, so
 * probabilities are good to ~1e-5 relative and the output (a convex mix of |v| <~ 4) to a few 1e-5
 * absolute; atol 2e-4 + rtol 2e-3 leaves a 10× margin over what the CPU kernel shows.
 * pScale: P is quantized against the running max of a key block, not the row max (vLLM's choice),
 * so each p may land on a neighbouring FP8 value: up to 1/8 relative per element, i.e. up to 1/8 of
 * Σ p·|v| / l in the output, which the relative part of the bound is taken of (where v's signs cancel,
 * |ref| is far smaller; seed 605538494 gave |err| 0.054 at ref -0.033 on webgpu, session 2's kernel too).
 * oScale: the output is one FP8 code; float rounding near a half-way point may pick the neighbour.
 * precision 'float16' (full FP8 aside, which keeps its arithmetic and its bounds above): SPEC.md's bound,
 * atol 2e-3 + rtol 1e-2, against the oracle on half-rounded q, k, v. The oracle reproduces that input
 * rounding, so what is left is P's rounding to half for P·V (2^-11 ≈ 4.9e-4 relative per p, while l sums
 * the unrounded p): at most 4.9e-4 · Σ p·|v| / l, ~2e-3 only if every p rounded the same way next to a
 * |v| of 4, ~4.9e-4 / √keys in practice (the cpu kernel shows a few 1e-4 at most), plus the float32 terms
 * above. A backend that computes float16 calls in float32 (SPEC allows it) instead differs by the input
 * rounding, ~1e-3 in a score and 4.9e-4 relative in v: the same order, inside the bound.
 * float16 tensors (`half`) take no bound of their own: the oracle is fed their half-rounded values, which
 * the kernels decode exactly (every half is a float32), so the arithmetic and its bound are the precision's.
 */
export function tolerance(c: AttentionCase): {atol: number, rtol: number} {
  if (c.fp8?.oScale) return {atol: 2 * 2 ** -9 * c.fp8.oScale, rtol: 0.13};
  if (c.fp8?.pScale) return {atol: 0.03, rtol: 0.13};
  if (c.precision === 'float16' && c.fp8?.mode !== 'full') return {atol: 2e-3, rtol: 1e-2};
  return {atol: 2e-4, rtol: 2e-3};
}

/**
 * What a precision 'float16' case is checked against: the oracle on half-rounded q, k, v ('qkv', the
 * default, SPEC's test), with P rounded too ('qkvp'), or on the float32 inputs ('none': a backend that
 * computes float16 calls in float32). Full FP8 cases always use their own arithmetic.
 */
export interface CaseCheck {
  oracleHalf?: 'none'|'qkv'|'qkvp';
  /** Replace tolerance(c). */
  atol?: number;
  rtol?: number;
}

export interface Geometry {
  batch: number;
  lensQ: number[];
  lensK: number[];
  startsQ: number[];
  startsK: number[];
  rowsQ: number;
  rowsK: number;
}

export function geometry(c: AttentionCase): Geometry {
  const batch = c.layout === 'thd' ? c.seqlensQ!.length : c.batch!;
  const lensQ = c.layout === 'thd' ? c.seqlensQ! : new Array(batch).fill(c.sq);
  const lensK = c.layout === 'thd' ? c.seqlensK! : new Array(batch).fill(c.sk);
  const starts = (lens: number[]) => lens.map((_, b) => lens.slice(0, b).reduce((a, n) => a + n, 0));
  const sum = (lens: number[]) => lens.reduce((a, n) => a + n, 0);
  return {batch, lensQ, lensK, startsQ: starts(lensQ), startsK: starts(lensK), rowsQ: sum(lensQ), rowsK: sum(lensK)};
}

/** Shape of a q/k/v tensor in the case's layout, from canonical [rows, H, D]. */
export function layoutShape(c: AttentionCase, g: Geometry, rows: number, h: number): number[] {
  if (c.layout === 'thd') return [rows, h, c.d];
  const s = rows / g.batch;
  return c.layout === 'bhsd' ? [g.batch, h, s, c.d] : [g.batch, s, h, c.d];
}

/** Index in the layout tensor of canonical element (row, head, dim). */
export function layoutIndex(c: AttentionCase, g: Geometry, rows: number, h: number) {
  if (c.layout !== 'bhsd') return (row: number, head: number, dim: number) => (row * h + head) * c.d + dim;
  const s = rows / g.batch;
  return (row: number, head: number, dim: number) => {
    const b = Math.floor(row / s), i = row % s;
    return ((b * h + head) * s + i) * c.d + dim;
  };
}

export function toLayout(c: AttentionCase, g: Geometry, canonical: Float32Array, rows: number, h: number): Float32Array {
  const out = new Float32Array(canonical.length);
  const at = layoutIndex(c, g, rows, h);
  for (let row = 0; row < rows; row++) {
    for (let head = 0; head < h; head++) {
      for (let dim = 0; dim < c.d; dim++) out[at(row, head, dim)] = canonical[(row * h + head) * c.d + dim];
    }
  }
  return out;
}

export function randomData(rng: Rng, n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = rng.normal();
  return x;
}

/** Index into a bias of `shape` (right-aligned, size-1 axes broadcast) read by score (b, h, i, j). */
export function biasIndexer(shape: number[]) {
  const padded = [...new Array(4 - shape.length).fill(1), ...shape];
  return (b: number, h: number, i: number, j: number) => {
    const idx = [b, h, i, j].map((x, a) => (padded[a] === 1 ? 0 : x));
    return ((idx[0] * padded[1] + idx[1]) * padded[2] + idx[2]) * padded[3] + idx[3];
  };
}

export function broadcastBias(shape: number[], values: Float32Array) {
  const at = biasIndexer(shape);
  return (b: number, h: number, i: number, j: number) => values[at(b, h, i, j)];
}

/** cuSeqlens of sequences of these lengths: [0, l0, l0 + l1, ...]. */
export function cumulativeSeqlens(lens: number[]): number[] {
  return [0, ...lens.map((_, b) => lens.slice(0, b + 1).reduce((a, n) => a + n, 0))];
}

/** Codes of a packed FP8 tensor, read back and put in canonical order. */
async function canonicalCodes(
    t: Fp8Tensor, at: (row: number, head: number, dim: number) => number, rows: number, h: number,
    d: number): Promise<Uint8Array> {
  const words = await t.words.data();
  const wordsPerRow = Math.ceil(d / 4);
  const codes = new Uint8Array(rows * h * d);
  for (let row = 0; row < rows; row++) {
    for (let head = 0; head < h; head++) {
      for (let dim = 0; dim < d; dim++) {
        const flat = at(row, head, dim), r = Math.floor(flat / d), col = flat % d;
        codes[(row * h + head) * d + dim] = (words[r * wordsPerRow + (col >> 2)] >>> ((col & 3) * 8)) & 0xff;
      }
    }
  }
  return codes;
}

export interface CaseResult {
  name: string;
  checked: number;
  maxAbsErr: number;
  /** The output as read back (the case's layout; dequantized when FP8) and how many of it are ±Infinity. */
  output: ArrayLike<number>;
  infinities: number;
}

export function fail(c: AttentionCase, seed: string, message: string): never {
  throw new Error(`[${tf.getBackend()}] case "${c.name}" (seed ${seed}, rerun with FA_SEED=${seed}): ${message}`);
}

/** Fills the backend's pools with NaN buffers of the output sizes, so unwritten outputs read NaN. */
function poisonPools(shapes: number[][]): void {
  for (const shape of shapes) tf.fill(shape, NaN).dispose();
}

/** A thd case's cuSeqlens into `options`, as the case asks: number[] (default), Int32Array or int32 tensors. */
export function setCuSeqlens(
    c: AttentionCase, g: Geometry, options: FlashAttentionOptions, track: (t: tf.Tensor) => tf.Tensor): void {
  if (c.layout !== 'thd') return;
  const [cuQ, cuK] = [cumulativeSeqlens(g.lensQ), cumulativeSeqlens(g.lensK)];
  if (c.cuSeqlensAs === 'tensor') {
    options.cuSeqlensQ = track(tf.tensor1d(cuQ, 'int32'));
    options.cuSeqlensK = track(tf.tensor1d(cuK, 'int32'));
    options.maxSeqlenQ = Math.max(...g.lensQ);
    options.maxSeqlenK = Math.max(...g.lensK);
  } else if (c.cuSeqlensAs === 'int32array') {
    options.cuSeqlensQ = Int32Array.from(cuQ);
    options.cuSeqlensK = Int32Array.from(cuK);
  } else {
    options.cuSeqlensQ = cuQ;
    options.cuSeqlensK = cuK;
  }
}

/** A padded-cache case's cacheSeqlens into `options`; the oracle sees sequence b as its valid keys only. */
export function setCacheSeqlens(
    c: AttentionCase, options: FlashAttentionOptions, oracleIn: OracleInputs, track: (t: tf.Tensor) => tf.Tensor): void {
  if (c.cacheSeqlens == null) return;
  options.cacheSeqlens = c.cacheSeqlensAs === 'tensor' ? track(tf.tensor1d(c.cacheSeqlens, 'int32')) : c.cacheSeqlens;
  oracleIn.lensK = c.cacheSeqlens.slice();
}

/**
 * The attention variants of a case into the options and the oracle's inputs: windowSize, softcap and
 * dropout as given (the oracle applies the documented keep mask, src/dropout.ts); sinks drawn in [-1, 3] (the scores are ~N(0, 1), so the sink takes a real share of each row).
 * Returns the sink logits (null without sinks).
 */
export function setVariants(
    c: AttentionCase, rng: Rng, options: FlashAttentionOptions, oracleIn: OracleInputs,
    track: (t: tf.Tensor) => tf.Tensor): Float32Array|null {
  if (c.window) {
    options.windowSize = c.window;
    oracleIn.window = c.window;
  }
  if (c.softcap) {
    options.softcap = c.softcap;
    oracleIn.softcap = c.softcap;
  }
  if (c.dropout) {
    const {rate, seed} = c.dropout;
    options.dropout = c.dropout;
    const seed32 = dropoutSeed32(seed), threshold = dropoutThreshold(rate);
    oracleIn.dropout = {rate, keep: (b, h, i, j) => dropoutKeeps(seed32, threshold, b, h, i, j)};
  }
  if (!c.sinks) return null;
  const sinks = Float32Array.from({length: c.hq}, () => rng.uniform(-1, 3));
  options.sinks = track(tf.tensor1d(sinks, 'float32'));
  oracleIn.sinks = sinks;
  return sinks;
}

export async function runCase(c: AttentionCase, seed: string, caseCheck: CaseCheck = {}): Promise<CaseResult> {
  const rng = makeRng(`${seed}:${c.name}`);
  const g = geometry(c);
  const hq = c.hq, hk = c.hk ?? c.hq, d = c.d;
  const keep: Array<tf.Tensor|Fp8Tensor|Float16Tensor> = [];
  const track = <T extends tf.Tensor|Fp8Tensor|Float16Tensor>(t: T) => (keep.push(t), t);
  try {
    const q = randomData(rng, g.rowsQ * hq * d);
    const k = randomData(rng, g.rowsK * hk * d);
    const v = randomData(rng, g.rowsK * hk * d);
    if (c.nan) {
      const x = {q, k, v}[c.nan];
      x[rng.int(0, x.length - 1)] = NaN;
    }
    if (c.large) {
      const x = {q, k, v}[c.large.input];
      // Distinct positions: two values drawn onto one index would leave only the last (a case asking for
      // 1e5 and 65519 then sees no overflow, once in x.length runs).
      const taken = new Set<number>();
      for (const value of c.large.values) {
        let at = rng.int(0, x.length - 1);
        while (taken.has(at)) at = (at + 1) % x.length;
        taken.add(at);
        x[at] = value;
      }
    }
    const qAt = layoutIndex(c, g, g.rowsQ, hq), kAt = layoutIndex(c, g, g.rowsK, hk);
    const qShape = layoutShape(c, g, g.rowsQ, hq), kShape = layoutShape(c, g, g.rowsK, hk);
    const qT = track(tf.tensor(toLayout(c, g, q, g.rowsQ, hq), qShape, 'float32'));
    const kT = track(tf.tensor(toLayout(c, g, k, g.rowsK, hk), kShape, 'float32'));
    const vT = track(tf.tensor(toLayout(c, g, v, g.rowsK, hk), kShape, 'float32'));
    const options: FlashAttentionOptions = {layout: c.layout, causal: c.causal, softmaxScale: c.softmaxScale, returnLse: c.returnLse};
    if (c.precision != null) options.precision = c.precision;
    const oracleHalf = c.precision === 'float16' && c.fp8?.mode !== 'full' ? caseCheck.oracleHalf ?? 'qkv' : 'none';
    const oracleIn: OracleInputs = {
      batch: g.batch, hq, hk, d, startsQ: g.startsQ, startsK: g.startsK, lensQ: g.lensQ, lensK: g.lensK,
      q, k, v, causal: c.causal ?? false, softmaxScale: c.softmaxScale ?? 1 / Math.sqrt(d),
      ...(oracleHalf !== 'none' ? {half: oracleHalf} : {}),
    };

    setCuSeqlens(c, g, options, track);
    setCacheSeqlens(c, options, oracleIn, track);
    setVariants(c, rng, options, oracleIn, track);
    if (c.bias) {
      const values = randomData(rng, c.bias.reduce((a, n) => a * n, 1));
      options.bias = track(tf.tensor(values, c.bias, 'float32'));
      oracleIn.bias = broadcastBias(c.bias, values);
    }
    if (c.alibi) {
      const shape = c.alibi === 'perHead' ? [hq] : [g.batch, hq];
      const slopes = Float32Array.from({length: shape.reduce((a, n) => a * n, 1)}, () => rng.uniform(0.05, 0.6));
      options.alibiSlopes = track(tf.tensor(slopes, shape, 'float32'));
      oracleIn.slope = (b, h) => slopes[c.alibi === 'perHead' ? h : b * hq + h];
    }

    type Input = tf.Tensor|Fp8Tensor|Float16Tensor;
    let inputs: [Input, Input, Input] = [qT, kT, vT];
    if (c.fp8) {
      const format = c.fp8.format ?? 'e4m3fn';
      const headAxis = c.layout === 'bhsd' || c.layout === 'thd' ? 1 : 2;
      // Scales that spread the normal inputs over the FP8 range; per head when asked.
      const scalesFor = (heads: number) => Array.from({length: c.fp8!.perHead ? heads : 1}, () => Math.fround(rng.uniform(4, 40)));
      const quantize = async (name: 'q'|'k'|'v', t: tf.Tensor, canonical: Float32Array, heads: number, at: typeof qAt, rows: number) => {
        const scales = scalesFor(heads);
        const scale = c.fp8!.perHead ? track(tf.tensor1d(scales)) as tf.Tensor1D : scales[0];
        const fp8 = track(quantizeFp8(t, {format, scale, axis: headAxis}));
        const codes = await canonicalCodes(fp8, at, rows, heads, d);
        for (let i = 0; i < codes.length; i++) {
          const head = Math.floor(i / d) % heads;
          const expected = oracleFp8Encode(Math.fround(canonical[i] * Math.fround(scales[c.fp8!.perHead ? head : 0])), format);
          const nan = (x: number) => (format === 'e4m3fn' ? (x & 0x7f) === 0x7f : x === 0x80);
          if (codes[i] !== expected && !(nan(codes[i]) && nan(expected))) {
            fail(c, seed, `quantizeFp8(${name}) code ${codes[i]} != oracle ${expected} for x = ${canonical[i]} · ${scales[0]}`);
          }
        }
        const descales = Array.from({length: heads}, (_, h) => Math.fround(1 / Math.fround(scales[c.fp8!.perHead ? h : 0])));
        return {fp8, codes, descales};
      };
      const kq = await quantize('k', kT, k, hk, kAt, g.rowsK);
      const vq = await quantize('v', vT, v, hk, kAt, g.rowsK);
      const oracleFp8: OracleFp8 = {
        mode: c.fp8.mode, format, kCodes: kq.codes, vCodes: vq.codes, kDescale: kq.descales, vDescale: vq.descales,
        pScale: c.fp8.pScale, oScale: c.fp8.oScale,
      };
      let qInput: Input = qT;
      if (c.fp8.mode === 'full') {
        const qq = await quantize('q', qT, q, hq, qAt, g.rowsQ);
        oracleFp8.qCodes = qq.codes;
        oracleFp8.qDescale = qq.descales;
        qInput = qq.fp8;
        options.pScale = c.fp8.pScale;
        options.oScale = c.fp8.oScale;
      }
      oracleIn.fp8 = oracleFp8;
      inputs = [qInput, kq.fp8, vq.fp8];
    }
    for (const name of c.half ?? []) {
      // The packed halves go to the op; the oracle (which reads q, k, v by reference) gets their values.
      const at = ['q', 'k', 'v'].indexOf(name), x = {q, k, v}[name];
      if (!(inputs[at] instanceof tf.Tensor)) fail(c, seed, `half: ${name} is already FP8`);
      inputs[at] = track(toFloat16(inputs[at] as tf.Tensor));
      for (let i = 0; i < x.length; i++) x[i] = oracleHalfRound(x[i]);
    }

    const expected = oracleAttention(oracleIn, g.rowsQ, c.layout !== 'thd');
    const lseShape = c.layout === 'thd' ? [hq, g.rowsQ] : [g.batch, hq, g.rowsQ / g.batch];
    poisonPools(c.returnLse ? [qShape, lseShape] : [qShape]);

    const before = tf.memory().numTensors;
    const result = flashAttention(inputs[0], inputs[1], inputs[2], options);
    const {output, lse} = c.returnLse ? result as unknown as {output: tf.Tensor|Fp8Tensor, lse: tf.Tensor} : {output: result as tf.Tensor|Fp8Tensor, lse: undefined};
    let outTensor: tf.Tensor;
    if (output instanceof Fp8Tensor) {
      if (!c.fp8?.oScale) fail(c, seed, 'got an FP8 output without oScale');
      outTensor = dequantizeFp8(output);
      output.dispose();
    } else {
      if (c.fp8?.oScale) fail(c, seed, 'oScale must give an FP8 output');
      outTensor = output;
    }
    if (!tf.util.arraysEqual(outTensor.shape, qShape)) fail(c, seed, `output shape [${outTensor.shape}] != q shape [${qShape}]`);
    const actual = await outTensor.data();
    const actualLse = lse ? await lse.data() : null;
    outTensor.dispose();
    lse?.dispose();
    if (tf.memory().numTensors !== before) fail(c, seed, `leaked ${tf.memory().numTensors - before} tensors`);

    const {atol, rtol} = {...tolerance(c), ...caseCheck};
    let maxAbsErr = 0, checked = 0;
    // pScale: the relative part of the bound is taken of Σ p·|v| / l (oracle.ts magnitude), not of |ref|.
    const check = (what: string, a: number, r: number, scale = Math.abs(r)) => {
      checked++;
      if (Number.isNaN(r) || Number.isNaN(a)) {
        if (Number.isNaN(r) !== Number.isNaN(a)) fail(c, seed, `${what}: got ${a}, expected ${r}`);
        return;
      }
      if (!Number.isFinite(r) || !Number.isFinite(a)) {
        if (a !== r) fail(c, seed, `${what}: got ${a}, expected ${r}`);
        return;
      }
      const err = Math.abs(a - r);
      maxAbsErr = Math.max(maxAbsErr, err);
      if (err > atol + rtol * scale) {
        fail(c, seed, `${what}: got ${a}, expected ${r} (|err| ${err.toExponential(2)} > ${atol} + ${rtol}·${
            scale === Math.abs(r) ? '|ref|' : `${scale.toExponential(2)} (Σ p·|v| / l)`})`);
      }
    };
    for (let row = 0; row < g.rowsQ; row++) {
      for (let h = 0; h < hq; h++) {
        for (let dim = 0; dim < d; dim++) {
          const at = (row * hq + h) * d + dim;
          const r = expected.out[at];
          check(`out[row ${row}, head ${h}, d ${dim}]`, actual[qAt(row, h, dim)], r,
                expected.magnitude ? Math.max(Math.abs(r), expected.magnitude[at]) : Math.abs(r));
        }
      }
    }
    if (c.returnLse) {
      if (actualLse == null) fail(c, seed, 'returnLse gave no lse');
      if (actualLse.length !== expected.lse.length) fail(c, seed, `lse has ${actualLse.length} entries, expected ${expected.lse.length}`);
      for (let i = 0; i < actualLse.length; i++) check(`lse[${i}]`, actualLse[i], expected.lse[i]);
    }
    let infinities = 0;
    for (let i = 0; i < actual.length; i++) if (actual[i] === Infinity || actual[i] === -Infinity) infinities++;
    return {name: c.name, checked, maxAbsErr, output: actual, infinities};
  } finally {
    for (const t of keep) t.dispose();
  }
}
