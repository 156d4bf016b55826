/**
 * Validates the op's arguments and normalizes them into a FlashAttentionSpec plus the tensor inputs of
 * the kernel. Every check runs here, before any kernel runs, and throws an Error naming the argument
 * and what was expected. Nothing here allocates a tensor, so a throw leaks nothing.
 */
import {engine, Tensor} from '@tensorflow/tfjs-core';
import {Float16Tensor, isFloat16Tensor} from './float16';
import {Descale, Fp8Tensor, isFp8Tensor} from './fp8';
import {rejectUnknownKeys} from './closest_name';
import {dropoutSeed32, dropoutThreshold} from './dropout';
import {resolvePrecision} from './precision';
import {AlibiKind, DescaleKind, FlashAttentionSpec, Fp8Format, Fp8Mode, Layout, Precision, Storage, storageRow, Strides3} from './spec';

export type Int32Like = Tensor|Int32Array|number[];

export interface FlashAttentionOptions {
  /** 'bshd' (default), 'bhsd' or 'thd' (varlen, packed; needs cuSeqlensQ/K). */
  layout?: Layout;
  /** Causal mask aligned to the bottom-right corner: key j is visible to query i iff j <= i + Sk - Sq. */
  causal?: boolean;
  /** Multiplies q·k; default 1 / sqrt(D). */
  softmaxScale?: number;
  /** Additive float32 score bias, broadcastable to [B, Hq, Sq, Sk]. Not with 'thd'. */
  bias?: Tensor;
  /** ALiBi slopes, float32 [Hq] or [B, Hq]: adds -slope · |i + Sk - Sq - j| to the score. */
  alibiSlopes?: Tensor;
  /** 'thd' only: int32 cumulative sequence starts, length B + 1, first 0, last Tq (Tk). */
  cuSeqlensQ?: Int32Like;
  cuSeqlensK?: Int32Like;
  /** 'thd' only: the longest sequence; required when cuSeqlens live on the GPU. */
  maxSeqlenQ?: number;
  maxSeqlenK?: number;
  /** FP8 descales (number, or float32 Tensor1D per head); override those the FP8 tensors carry. */
  qDescale?: Descale;
  kDescale?: Descale;
  vDescale?: Descale;
  /** Full FP8 mode only: quantize P as fp8(P · pScale) before P·V. */
  pScale?: number;
  /** Full FP8 mode only: return the output as an FP8 tensor of clamp(acc / oScale), descale oScale. */
  oScale?: number;
  /** Also return the natural-log LSE, float32 [B, Hq, Sq] ([Hq, Tq] for 'thd'). */
  returnLse?: boolean;
  /**
   * Arithmetic of the two matrix products: 'float32' or 'float16' (q, k, v and P rounded to half for
   * them; S, acc, m, l, the LSE and the output stay float32). Default: the env flag
   * FLASH_ATTENTION_PRECISION ('float32' unless set). Full FP8 mode keeps its own arithmetic and
   * ignores it; a backend without matrix units may compute 'float16' calls in float32.
   */
  precision?: Precision;
  /**
   * Sliding window [left, right] (integers >= -1; -1 = unbounded on that side; default [-1, -1]): key j
   * is visible to query i only if i + Sk - Sq - left <= j <= i + Sk - Sq + right. ANDed with causal.
   */
  windowSize?: [number, number];
  /** Logit soft-capping (> 0; 0 or absent = off): s = softcap · tanh(softmaxScale · q·k / softcap), then bias, ALiBi. */
  softcap?: number;
  /** Attention sinks, float32 Tensor1D [Hq]: one logit per query head in the softmax's denominator, no value. */
  sinks?: Tensor;
  /**
   * Attention dropout: each P_ij kept with probability 1 − rate (0 <= rate < 1) and scaled by 1 / (1 − rate),
   * by a counter-based hash of (seed, b, h, i, j) (src/dropout.ts), the same on every backend and in the backward.
   */
  dropout?: {rate: number, seed: number};
  /**
   * A padded KV cache (dense layouts; FlashAttention's cache_seqlens, ONNX Runtime's seqlens_k): int32 [B],
   * sequence b of k and v holds cacheSeqlens[b] valid keys (0 <= it <= Sk); keys past it take no part, and
   * Sk(b) = cacheSeqlens[b] for the causal diagonal, ALiBi and the window. A GPU tensor is read on the GPU.
   */
  cacheSeqlens?: Int32Like;
}

/**
 * Every option name, checked against FlashAttentionOptions at compile time both ways, so an option added to
 * the interface must be listed here (and a misspelt one, `{casual: true}`, throws instead of being ignored).
 */
const OPTION_NAMES = [
  'layout', 'causal', 'softmaxScale', 'bias', 'alibiSlopes', 'cuSeqlensQ', 'cuSeqlensK', 'maxSeqlenQ', 'maxSeqlenK',
  'qDescale', 'kDescale', 'vDescale', 'pScale', 'oScale', 'returnLse', 'precision',
  'windowSize', 'softcap', 'sinks', 'dropout', 'cacheSeqlens',
] as const satisfies ReadonlyArray<keyof FlashAttentionOptions>;
type UnlistedOption = Exclude<keyof FlashAttentionOptions, typeof OPTION_NAMES[number]>;
const everyOptionListed: [UnlistedOption] extends [never] ? true : UnlistedOption = true;
void everyOptionListed;

export type AttentionInput = Tensor|Fp8Tensor|Float16Tensor;

/** Tensor inputs of the kernel, keyed as FlashAttentionInputs, plus int arrays still to be uploaded. */
export interface NormalizedCall {
  spec: FlashAttentionSpec;
  tensors: Record<string, Tensor>;
  /** cuSeqlens given as arrays: the op uploads them as int32 tensors inside its scope. */
  arrays: Record<string, Int32Array>;
}

const fn = 'flashAttention';
function fail(message: string): never {
  throw new Error(`${fn}: ${message}`);
}
const fmt = (shape: number[]) => `[${shape.join(', ')}]`;

function backendOf(t: Tensor): unknown {
  // tfjs keeps each tensor's owning backend in the engine's tensorInfo map.
  const info = (engine() as unknown as {state: {tensorInfo: WeakMap<object, {backend: unknown}>}})
                   .state.tensorInfo.get(t.dataId);
  return info?.backend;
}

/** The values of an int tensor when they can be read without a GPU→CPU sync, else null. */
function cpuResidentValues(t: Tensor): ArrayLike<number>|null {
  const backend = backendOf(t) as Record<string, {get(id: object): {values?: unknown}|undefined}>|undefined;
  const store = backend && (backend.tensorMap ?? backend.texData ?? backend.data);
  const values = store?.get?.(t.dataId)?.values;
  return ArrayBuffer.isView(values) ? values as unknown as ArrayLike<number>: null;
}

interface InputInfo {
  shape: number[];
  storage: Storage;
  format: Fp8Format|null;
  words: Tensor;
  carriedDescale?: Descale;
  carriedAxis?: number;
}

function describeInput(name: string, x: unknown): InputInfo {
  if (isFp8Tensor(x)) {
    if (x.words.isDisposed) fail(`${name} (FP8) has been disposed`);
    return {shape: x.shape, storage: 'fp8', format: x.format, words: x.words, carriedDescale: x.descale, carriedAxis: x.descaleAxis};
  }
  if (isFloat16Tensor(x)) {
    if (x.words.isDisposed) fail(`${name} (float16) has been disposed`);
    return {shape: x.shape, storage: 'float16', format: null, words: x.words};
  }
  if (!(x instanceof Tensor)) fail(`${name} must be a tf.Tensor, a float16 tensor or an FP8 tensor, got ${typeof x}`);
  if (x.isDisposed) fail(`${name} has been disposed`);
  if (x.dtype !== 'float32') fail(`${name} must be float32 (or a float16 / FP8 tensor), got dtype ${x.dtype}`);
  return {shape: x.shape, storage: 'float32', format: null, words: x};
}

/** [batch, seq, head] strides of a tensor whose rows hold `row` storage units. */
export function layoutStrides(layout: Layout, s: number, h: number, row: number): Strides3 {
  if (layout === 'bshd') return [s * h * row, h * row, row];
  if (layout === 'bhsd') return [h * s * row, row, s * row];
  return [0, h * row, row];
}

/** [B, S, H, D] (thd: [1, T, H, D]) of a q/k/v shape under a layout. */
function dims(layout: Layout, shape: number[]): [number, number, number, number] {
  if (layout === 'bshd') return [shape[0], shape[1], shape[2], shape[3]];
  if (layout === 'bhsd') return [shape[0], shape[2], shape[1], shape[3]];
  return [1, shape[0], shape[1], shape[2]];
}

function checkPositiveNumber(name: string, x: unknown): number {
  if (typeof x !== 'number' || !Number.isFinite(x) || x <= 0) {
    fail(`${name} must be a finite number > 0, got ${String(x)}`);
  }
  return x;
}

interface Int32Vector {
  tensor?: Tensor;
  array?: Int32Array;
  /** The values, when readable without a GPU→CPU sync (an array, or a tensor whose data is on the CPU). */
  values: ArrayLike<number>|null;
  length: number;
}

/** An int32 Tensor1D, Int32Array or number[] option, type-checked (its values are the caller's to check). */
function readInt32Vector(name: string, x: Int32Like): Int32Vector {
  let values: ArrayLike<number>|null;
  let tensor: Tensor|undefined;
  let array: Int32Array|undefined;
  if (x instanceof Tensor) {
    if (x.isDisposed) fail(`${name} has been disposed`);
    if (x.dtype !== 'int32' || x.rank !== 1) {
      fail(`${name} must be an int32 Tensor1D, got ${x.dtype} of shape ${fmt(x.shape)}`);
    }
    tensor = x;
    values = cpuResidentValues(x);
  } else if (x instanceof Int32Array || Array.isArray(x)) {
    if (Array.isArray(x) && !x.every(Number.isInteger)) fail(`${name} must hold integers`);
    array = Int32Array.from(x);
    values = array;
  } else {
    fail(`${name} must be an int32 Tensor1D, Int32Array or number[]`);
  }
  return {tensor, array, values, length: tensor ? tensor.size : array!.length};
}

function readCuSeqlens(name: string, x: Int32Like|undefined, total: number, totalName: string): Int32Vector {
  if (x == null) fail(`layout 'thd' needs ${name} (int32, length B + 1)`);
  const {tensor, array, values, length} = readInt32Vector(name, x);
  if (length < 2) fail(`${name} must have length B + 1 >= 2, got ${length}`);
  if (values != null) {
    if (values[0] !== 0) fail(`${name}[0] must be 0, got ${values[0]}`);
    for (let i = 1; i < length; i++) {
      if (values[i] < values[i - 1]) {
        fail(`${name} must be non-decreasing, but ${name}[${i}] = ${values[i]} < ${name}[${i - 1}] = ${values[i - 1]}`);
      }
    }
    if (values[length - 1] !== total) {
      fail(`${name}'s last entry must equal ${totalName} = ${total}, got ${values[length - 1]}`);
    }
  }
  return {tensor, array, values, length};
}

/**
 * cacheSeqlens: B entries, each 0 <= n <= Sk, checked where readable without a sync; a GPU-resident tensor is
 * not read here (as cuSeqlens), and the GPU kernels clamp its entries to 0..Sk.
 */
function readCacheSeqlens(x: Int32Like, batch: number, sk: number): Int32Vector {
  const name = 'cacheSeqlens';
  const vector = readInt32Vector(name, x);
  if (vector.length !== batch) fail(`${name} must have B = ${batch} entries (one per sequence), got ${vector.length}`);
  if (vector.values != null) {
    for (let b = 0; b < batch; b++) {
      const n = vector.values[b];
      if (!(n >= 0 && n <= sk)) fail(`${name}[${b}] = ${n} must be in 0..Sk = ${sk} (the cache's capacity)`);
    }
  }
  return vector;
}

function maxSeqlen(
    cu: {values: ArrayLike<number>|null, length: number}, given: number|undefined, name: string,
    cuName: string): number {
  let actual: number|null = null;
  if (cu.values != null) {
    actual = 0;
    for (let i = 1; i < cu.length; i++) actual = Math.max(actual, cu.values[i] - cu.values[i - 1]);
  }
  if (given == null) {
    if (actual == null) fail(`${cuName} lives on the GPU and cannot be read without a sync: pass ${name}`);
    return actual;
  }
  if (!Number.isInteger(given) || given < 0) fail(`${name} must be an integer >= 0, got ${given}`);
  if (actual != null && given < actual) fail(`${name} = ${given} is less than the longest sequence in ${cuName} (${actual})`);
  return given;
}

function biasStrides(shape: number[], target: number[]): [number, number, number, number] {
  if (shape.length > 4) fail(`bias must have rank <= 4 (broadcastable to [B, Hq, Sq, Sk] = ${fmt(target)}), got shape ${fmt(shape)}`);
  const padded = [...new Array(4 - shape.length).fill(1), ...shape];
  const strides = [0, 0, 0, 0] as [number, number, number, number];
  let stride = 1;
  for (let a = 3; a >= 0; a--) {
    if (padded[a] !== 1 && padded[a] !== target[a]) {
      fail(`bias of shape ${fmt(shape)} is not broadcastable to [B, Hq, Sq, Sk] = ${fmt(target)}`);
    }
    strides[a] = padded[a] === 1 ? 0 : stride;
    stride *= padded[a];
  }
  return strides;
}

/** Resolves the descale of one FP8 input: explicit option > carried by the FP8 tensor > error. */
function resolveDescale(
    name: string, info: InputInfo, option: Descale|undefined, heads: number, headAxis: number,
    tensors: Record<string, Tensor>): {kind: DescaleKind, value: number} {
  const optionName = `${name}Descale`;
  if (info.format == null) {
    if (option != null) fail(`${optionName} applies to an FP8 ${name} only, but ${name} is ${info.storage}`);
    return {kind: 'none', value: 1};
  }
  const descale = option ?? info.carriedDescale;
  if (descale == null) fail(`${name} is FP8 but has no descale: pass ${optionName} (number or Tensor1D [${heads}])`);
  if (typeof descale === 'number') return {kind: 'scalar', value: checkPositiveNumber(optionName, descale)};
  if (!(descale instanceof Tensor) || descale.dtype !== 'float32' || descale.rank !== 1 || descale.size !== heads) {
    fail(`${optionName} must be a number or a float32 Tensor1D of ${heads} entries (one per head)` +
         (descale instanceof Tensor ? `, got ${descale.dtype} ${fmt(descale.shape)}` : ''));
  }
  if (option == null && info.carriedAxis !== headAxis) {
    fail(`${name}'s carried descale runs along axis ${info.carriedAxis}, not the head axis ${headAxis}: pass ${optionName}`);
  }
  tensors[optionName] = descale;
  return {kind: 'perHead', value: 1};
}

/**
 * windowSize → the spec's bounds. Causal already bounds the right side at the diagonal (j <= i + Sk - Sq),
 * tighter than any right >= 0, so under causal the spec keeps right = -1 and the causal path does that side.
 */
function readWindow(windowSize: unknown, causal: boolean): {windowLeft: number, windowRight: number} {
  if (windowSize == null) return {windowLeft: -1, windowRight: -1};
  if (!Array.isArray(windowSize) || windowSize.length !== 2 ||
      !windowSize.every(x => Number.isInteger(x) && x >= -1)) {
    fail(`windowSize must be [left, right], two integers >= -1 (-1 = unbounded), got ${
        Array.isArray(windowSize) ? `[${windowSize.map(String).join(', ')}]` : String(windowSize)}`);
  }
  return {windowLeft: windowSize[0], windowRight: causal ? -1 : windowSize[1]};
}

function readSoftcap(softcap: unknown): number {
  if (softcap == null || softcap === 0) return 0;
  if (typeof softcap !== 'number' || !Number.isFinite(softcap) || softcap < 0) {
    fail(`softcap must be a finite number > 0 (0 or absent = off), got ${String(softcap)}`);
  }
  return softcap;
}

function readDropout(dropout: unknown): {rate: number, seed: number} {
  if (dropout == null) return {rate: 0, seed: 0};
  if (typeof dropout !== 'object') fail(`dropout must be {rate, seed}, got ${String(dropout)}`);
  rejectUnknownKeys(`${fn}: dropout`, dropout, ['rate', 'seed'], 'field');
  const {rate, seed} = dropout as {rate: unknown, seed: unknown};
  if (typeof rate !== 'number' || !(rate >= 0 && rate < 1)) fail(`dropout.rate must be a number in [0, 1), got ${String(rate)}`);
  if (!Number.isSafeInteger(seed)) fail(`dropout.seed must be an integer, got ${String(seed)}`);
  return {rate, seed: seed as number};
}

/**
 * `backwardNeedsLse`: a gradient tape records this call and the backend has a gradient kernel (the op
 * asks gradient.ts); the LSE is then written even when the caller did not ask for it.
 */
export function normalizeSpec(
    q: AttentionInput, k: AttentionInput, v: AttentionInput, options: FlashAttentionOptions = {},
    backwardNeedsLse = false): NormalizedCall {
  if (options == null || typeof options !== 'object') fail('options must be an object');
  rejectUnknownKeys(fn, options, OPTION_NAMES, 'option');
  const layout = options.layout ?? 'bshd';
  if (layout !== 'bshd' && layout !== 'bhsd' && layout !== 'thd') {
    fail(`layout must be 'bshd', 'bhsd' or 'thd', got '${String(layout)}'`);
  }
  const qi = describeInput('q', q), ki = describeInput('k', k), vi = describeInput('v', v);
  const rank = layout === 'thd' ? 3 : 4;
  const axes = layout === 'bshd' ? '[B, S, H, D]' : layout === 'bhsd' ? '[B, H, S, D]' : '[T, H, D]';
  for (const [name, info] of [['q', qi], ['k', ki], ['v', vi]] as const) {
    if (info.shape.length !== rank) {
      fail(`${name} must have rank ${rank} ${axes} for layout '${layout}', got shape ${fmt(info.shape)}`);
    }
  }
  const [bq, sq, hq, d] = dims(layout, qi.shape);
  const [bk, sk, hk, dk] = dims(layout, ki.shape);
  if (!ki.shape.every((n, i) => n === vi.shape[i])) {
    fail(`k and v must have the same shape, got k ${fmt(ki.shape)} and v ${fmt(vi.shape)}`);
  }
  if (dk !== d) fail(`q, k and v must share the head size D, got q D=${d} and k D=${dk}`);
  if (!(d >= 1 && d <= 256)) fail(`head size D must be in 1..256, got ${d}`);
  if (bq !== bk) fail(`q and k must have the same batch size, got ${bq} and ${bk}`);
  if (layout !== 'thd') {
    if (bq < 1) fail(`batch size B must be >= 1, got ${bq}`);
    if (sq < 1 || sk < 1) fail(`sequence lengths must be >= 1, got Sq=${sq} and Sk=${sk}`);
  }
  if (hq < 1 || hk < 1 || hq % hk !== 0) {
    fail(`the number of query heads Hq=${hq} must be a multiple of the number of kv heads Hk=${hk}`);
  }

  const tensors: Record<string, Tensor> = {q: qi.words, k: ki.words, v: vi.words};
  const arrays: Record<string, Int32Array> = {};

  // -- sequence geometry --
  let batch = bq, seqlenQ = sq, seqlenK = sk;
  const varlen = layout === 'thd';
  if (varlen) {
    const cuQ = readCuSeqlens('cuSeqlensQ', options.cuSeqlensQ, sq, 'Tq (q.shape[0])');
    const cuK = readCuSeqlens('cuSeqlensK', options.cuSeqlensK, sk, 'Tk (k.shape[0])');
    if (cuQ.length !== cuK.length) {
      fail(`cuSeqlensQ and cuSeqlensK must have the same length B + 1, got ${cuQ.length} and ${cuK.length}`);
    }
    batch = cuQ.length - 1;
    seqlenQ = maxSeqlen(cuQ, options.maxSeqlenQ, 'maxSeqlenQ', 'cuSeqlensQ');
    seqlenK = maxSeqlen(cuK, options.maxSeqlenK, 'maxSeqlenK', 'cuSeqlensK');
    for (const [name, cu] of [['cuSeqlensQ', cuQ], ['cuSeqlensK', cuK]] as const) {
      if (cu.tensor) tensors[name] = cu.tensor; else arrays[name] = cu.array!;
    }
  } else {
    for (const name of ['cuSeqlensQ', 'cuSeqlensK', 'maxSeqlenQ', 'maxSeqlenK'] as const) {
      if (options[name] != null) fail(`${name} is only for layout 'thd', not '${layout}'`);
    }
  }
  const cacheSeqlens = options.cacheSeqlens != null;
  if (cacheSeqlens) {
    if (varlen) fail(`cacheSeqlens is for the dense layouts 'bshd' and 'bhsd', not 'thd' (use cuSeqlensK there)`);
    const cache = readCacheSeqlens(options.cacheSeqlens!, batch, sk);
    if (cache.tensor) tensors.cacheSeqlens = cache.tensor; else arrays.cacheSeqlens = cache.array!;
  }

  // -- score terms --
  const causal = options.causal ?? false;
  if (typeof causal !== 'boolean') fail(`causal must be a boolean, got ${String(causal)}`);
  const softmaxScale = options.softmaxScale ?? 1 / Math.sqrt(d);
  if (typeof softmaxScale !== 'number' || !Number.isFinite(softmaxScale)) {
    fail(`softmaxScale must be a finite number, got ${String(softmaxScale)}`);
  }
  const lseAsked = options.returnLse ?? false;
  if (typeof lseAsked !== 'boolean') fail(`returnLse must be a boolean, got ${String(lseAsked)}`);
  const precisionAsked = resolvePrecision(options.precision);

  let biasStride: [number, number, number, number] = [0, 0, 0, 0];
  if (options.bias != null) {
    const bias = options.bias;
    if (!(bias instanceof Tensor)) fail('bias must be a tf.Tensor');
    if (varlen) fail(`bias is not supported with layout 'thd' (as in vLLM's kernel); use 'bshd' or 'bhsd'`);
    if (bias.dtype !== 'float32') fail(`bias must be float32, got ${bias.dtype}`);
    biasStride = biasStrides(bias.shape, [batch, hq, sq, sk]);
    tensors.bias = bias;
  }

  let alibi: AlibiKind = 'none';
  if (options.alibiSlopes != null) {
    const slopes = options.alibiSlopes;
    if (!(slopes instanceof Tensor)) fail('alibiSlopes must be a tf.Tensor');
    if (slopes.dtype !== 'float32') fail(`alibiSlopes must be float32, got ${slopes.dtype}`);
    const s = slopes.shape;
    if (s.length === 1 && s[0] === hq) alibi = 'perHead';
    else if (s.length === 2 && s[0] === batch && s[1] === hq) alibi = 'perBatchHead';
    else fail(`alibiSlopes must have shape [Hq] = [${hq}] or [B, Hq] = [${batch}, ${hq}], got ${fmt(s)}`);
    tensors.alibiSlopes = slopes;
  }

  const {windowLeft, windowRight} = readWindow(options.windowSize, causal);
  const softcap = readSoftcap(options.softcap);
  const dropout = readDropout(options.dropout);
  if (options.sinks != null) {
    const sinks = options.sinks;
    if (!(sinks instanceof Tensor) || sinks.dtype !== 'float32' || sinks.rank !== 1 || sinks.size !== hq) {
      fail(`sinks must be a float32 Tensor1D of Hq = ${hq} entries (one logit per query head)` +
           (sinks instanceof Tensor ? `, got ${sinks.dtype} ${fmt(sinks.shape)}` : ''));
    }
    tensors.sinks = sinks;
  }

  // -- FP8 (float16 tensors may join float32 anywhere, and FP8 k/v as q only) --
  let fp8Mode: Fp8Mode = 'none';
  if (ki.storage !== vi.storage && (ki.storage === 'fp8' || vi.storage === 'fp8')) {
    const [fp8, other] = ki.storage === 'fp8' ? ['k', vi] : ['v', ki];
    const otherName = fp8 === 'k' ? 'v' : 'k';
    if (other.storage === 'float16') {
      fail(`${fp8} is FP8 but ${otherName} is a float16 tensor: k and v cannot mix FP8 and float16 in one call ` +
           `(quantize both with quantizeFp8, or pass both as float16 tensors)`);
    }
  }
  if (qi.format != null) {
    if (ki.format == null || vi.format == null) fail('q is FP8, so k and v must be FP8 too (full FP8 mode)');
    fp8Mode = 'full';
  } else if (ki.format != null || vi.format != null) {
    if (ki.format == null || vi.format == null) fail('k and v must both be FP8 or both be float32');
    fp8Mode = 'kv';
  }
  const headAxis = layout === 'bshd' ? 2 : 1;
  const qd = resolveDescale('q', qi, options.qDescale, hq, headAxis, tensors);
  const kd = resolveDescale('k', ki, options.kDescale, hk, headAxis, tensors);
  const vd = resolveDescale('v', vi, options.vDescale, hk, headAxis, tensors);
  let pScale = 0, oScale = 0;
  for (const name of ['pScale', 'oScale'] as const) {
    if (options[name] == null) continue;
    if (fp8Mode !== 'full') fail(`${name} needs full FP8 mode (q, k and v all FP8)`);
    const value = checkPositiveNumber(name, options[name]);
    if (name === 'pScale') pScale = value; else oScale = value;
  }

  // All tensors must share one backend: tfjs would otherwise move data with a blocking read.
  const home = backendOf(qi.words);
  for (const [name, t] of Object.entries(tensors)) {
    if (t.isDisposed) fail(`${name} has been disposed`);
    if (backendOf(t) !== home) fail(`${name} lives on a different backend than q; move it with tf.tensor(await x.data()) first`);
  }

  // Full FP8 keeps its own arithmetic (8-bit codes in both products, P through pScale): never float16.
  const precision: Precision = fp8Mode === 'full' ? 'float32' : precisionAsked;

  // FP8 inputs have no gradient, so their forward never keeps an LSE for one.
  const lseForBackwardOnly = !lseAsked && backwardNeedsLse && fp8Mode === 'none';

  const rowOf = (info: InputInfo) => storageRow(info.storage, d);
  const spec: FlashAttentionSpec = {
    layout, varlen, cacheSeqlens, batch, numHeadsQ: hq, numHeadsK: hk, groupSize: hq / hk, headDim: d,
    seqlenQ, seqlenK, totalQ: sq, totalK: sk,
    qStorage: qi.storage, kStorage: ki.storage, vStorage: vi.storage,
    qStrides: layoutStrides(layout, sq, hq, rowOf(qi)),
    kStrides: layoutStrides(layout, sk, hk, rowOf(ki)),
    vStrides: layoutStrides(layout, sk, hk, rowOf(vi)),
    oStrides: layoutStrides(layout, sq, hq, d),
    lseStrides: varlen ? [0, 1, sq] : [hq * sq, 1, sq],
    causal, softmaxScale, precision, windowLeft, windowRight, softcap, sinks: options.sinks != null,
    dropoutRate: dropout.rate, dropoutSeed: dropoutSeed32(dropout.seed), dropoutThreshold: dropoutThreshold(dropout.rate),
    bias: options.bias != null ? 'matrix' : 'none', biasStrides: biasStride,
    alibi, alibiBatchStride: alibi === 'perBatchHead' ? hq : 0,
    returnLse: lseAsked || lseForBackwardOnly, lseForBackwardOnly,
    fp8Mode, qFormat: qi.format, kFormat: ki.format, vFormat: vi.format,
    qDescaleKind: qd.kind, kDescaleKind: kd.kind, vDescaleKind: vd.kind,
    qDescale: qd.value, kDescale: kd.value, vDescale: vd.value,
    pScale, pFormat: fp8Mode === 'full' ? qi.format : null,
    oScale, oFormat: oScale > 0 ? qi.format : null,
  };
  return {spec, tensors, arrays};
}

/**
 * The spec of the same call with every float16 input decoded to float32 (float32 storage, float32 strides):
 * what the backward runs on after the gradient unpacks the half inputs (gradient.ts).
 */
export function withFloat32Storage(spec: FlashAttentionSpec): FlashAttentionSpec {
  const {layout, totalQ, totalK, numHeadsQ, numHeadsK, headDim} = spec;
  const decoded = (storage: Storage) => storage === 'float16' ? 'float32' : storage;
  const q = decoded(spec.qStorage), k = decoded(spec.kStorage), v = decoded(spec.vStorage);
  return {
    ...spec, qStorage: q, kStorage: k, vStorage: v,
    qStrides: layoutStrides(layout, totalQ, numHeadsQ, storageRow(q, headDim)),
    kStrides: layoutStrides(layout, totalK, numHeadsK, storageRow(k, headDim)),
    vStrides: layoutStrides(layout, totalK, numHeadsK, storageRow(v, headDim)),
  };
}
