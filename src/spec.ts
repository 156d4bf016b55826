/**
 * The normalized FlashAttention spec: every option of SPEC.md validated and resolved once, in the op,
 * into one readonly object. Every kernel (cpu, webgpu, webgl) reads this object and nothing else: no
 * kernel re-derives layout, strides, mask kinds or FP8 modes on its own.
 *
 * Addressing (all kernels): element d of row i of head h of sequence b of tensor X lives at
 *   X[(seqStart_X(b) + i) * X.strides[1] + b * X.strides[0] + h * X.strides[2] + d]
 * where seqStart_X(b) is 0 for dense layouts and cuSeqlensX[b] for `thd` (whose batch stride is 0).
 * For an FP8 tensor the unit is one int32 word holding four e4m3 codes, a row is
 * ceil(D / 4) words, and code d sits in bits 8·(d mod 4) of word d >> 2 (little-endian bytes).
 * For a float16 tensor (src/float16.ts) the unit is one int32 word holding two IEEE halves, a row is
 * ceil(D / 2) words, and half d sits in bits 16·(d mod 2) of word d >> 1.
 */

export type Layout = 'bshd' | 'bhsd' | 'thd';
export type Fp8Format = 'e4m3fn' | 'e4m3fnuz';
/** 'none': all float32. 'kv': q float32, k and v FP8. 'full': q, k and v FP8 (vLLM's 8-bit GEMM). */
export type Fp8Mode = 'none' | 'kv' | 'full';
/** How the additive score term is formed (besides the causal mask). */
export type BiasKind = 'none' | 'matrix';
export type AlibiKind = 'none' | 'perHead' | 'perBatchHead';
/** A scale that is either one number for every head or read per head from a tensor input. */
export type DescaleKind = 'none' | 'scalar' | 'perHead';
/**
 * The arithmetic of the two matrix products. 'float32': all float32. 'float16': q, k, v rounded to half
 * for Q·Kᵀ and P·V, and P = exp(S − m) rounded to half for P·V; S, acc, m, l and the LSE stay float32.
 */
export type Precision = 'float32' | 'float16';
/**
 * How q, k or v is stored: float32 elements, packed IEEE halves (two per int32 word) or packed e4m3 codes
 * (four per word). The storage decides the stride unit and how a kernel decodes a row, nothing else: a
 * half input's values are exactly representable in float32, so the arithmetic is the precision's.
 */
export type Storage = 'float32' | 'float16' | 'fp8';

/** [batch, seq, head] strides, in the tensor's storage unit (float32 element, half-pair word or FP8 word). */
export type Strides3 = [number, number, number];

export interface FlashAttentionSpec {
  readonly layout: Layout;
  /** `thd`: sequence b spans rows cuSeqlens[b] .. cuSeqlens[b+1] of the packed tensors. */
  readonly varlen: boolean;
  /**
   * A padded KV cache (dense layouts): an int32 [B] `cacheSeqlens` input; sequence b's k and v hold
   * cacheSeqlens[b] valid keys of seqlenK, and its lenK (the causal diagonal, ALiBi's distance, the
   * window) is that length.
   */
  readonly cacheSeqlens: boolean;
  readonly batch: number;
  readonly numHeadsQ: number;
  readonly numHeadsK: number;
  /** Hq / Hk: query head h reads kv head floor(h / groupSize). */
  readonly groupSize: number;
  readonly headDim: number;
  /** Dense: Sq. Varlen: maxSeqlenQ, an upper bound on every sequence (the launch grid's extent). */
  readonly seqlenQ: number;
  readonly seqlenK: number;
  /** Rows along the sequence axis of the q (k) tensor: Sq (Sk) dense, Tq (Tk) varlen. */
  readonly totalQ: number;
  readonly totalK: number;
  /** Storage of q, k, v: every kernel decodes rows by these (FP8 ones also by their format). */
  readonly qStorage: Storage;
  readonly kStorage: Storage;
  readonly vStorage: Storage;
  readonly qStrides: Strides3;
  readonly kStrides: Strides3;
  readonly vStrides: Strides3;
  /** The output has q's layout in float32 (its strides are q's float strides). */
  readonly oStrides: Strides3;
  /** LSE is [B, Hq, Sq] dense or [Hq, Tq] varlen: [batch, seq, head] strides like the others. */
  readonly lseStrides: Strides3;

  readonly causal: boolean;
  readonly softmaxScale: number;
  /**
   * 'float16': the rounding points of SPEC.md's Precision section (the cpu kernel implements them; a
   * backend without matrix units may compute in float32). Always 'float32' in full FP8 mode, which keeps
   * its own arithmetic.
   */
  readonly precision: Precision;

  /**
   * Sliding window (SPEC.md, Attention variants): key j is visible to row i only if
   * j >= i + diagonal - windowLeft (when windowLeft >= 0) and j <= i + diagonal + windowRight (when
   * windowRight >= 0), diagonal = Sk - Sq of the sequence. -1 = unbounded. Under causal windowRight is
   * -1: the causal bound j <= i + diagonal is the tighter one.
   */
  readonly windowLeft: number;
  readonly windowRight: number;
  /** Logit soft-cap (0 = off): the scaled dot product x becomes softcap · tanh(x / softcap). */
  readonly softcap: number;
  /** A float32 [Hq] `sinks` input: exp(sink_h) joins every row's softmax denominator. */
  readonly sinks: boolean;
  /**
   * Attention dropout (0 = off): after the softmax each P_ij is kept iff dropoutHash(seed, b, h, i, j) >=
   * dropoutThreshold (src/dropout.ts) and scaled by 1 / (1 − dropoutRate); the LSE is unaffected.
   */
  readonly dropoutRate: number;
  /** The seed's low 32 bits (uint32) and floor(rate · 2^32). */
  readonly dropoutSeed: number;
  readonly dropoutThreshold: number;

  readonly bias: BiasKind;
  /** Strides of bias broadcast to [B, Hq, Sq, Sk] (0 on broadcast axes). */
  readonly biasStrides: [number, number, number, number];
  readonly alibi: AlibiKind;
  /** Stride of the batch axis in the slopes tensor (0 for per-head slopes). */
  readonly alibiBatchStride: number;

  /**
   * The kernel writes the LSE as its second output: the caller asked for it (the returnLse option), or
   * it is kept for the backward only (lseForBackwardOnly).
   */
  readonly returnLse: boolean;
  /**
   * A gradient tape records this call and the caller did not ask for the LSE: the kernel still writes it,
   * tfjs saves it with the output for the backward (which then needs no second forward), and the op
   * returns the output alone. Never set outside a tape, so a plain forward writes no LSE unasked.
   */
  readonly lseForBackwardOnly: boolean;

  readonly fp8Mode: Fp8Mode;
  readonly qFormat: Fp8Format | null;
  readonly kFormat: Fp8Format | null;
  readonly vFormat: Fp8Format | null;
  readonly qDescaleKind: DescaleKind;
  readonly kDescaleKind: DescaleKind;
  readonly vDescaleKind: DescaleKind;
  /** Scalar descales (1 when absent or per-head). */
  readonly qDescale: number;
  readonly kDescale: number;
  readonly vDescale: number;
  /** Full FP8 mode: P is quantized as fp8(P · pScale) before P·V (0 = off). */
  readonly pScale: number;
  /** Format P is quantized to (q's format). */
  readonly pFormat: Fp8Format | null;
  /** Full FP8 mode: the kernel writes clamp(acc / oScale, ±FP8_MAX) and the op packs it (0 = off). */
  readonly oScale: number;
  readonly oFormat: Fp8Format | null;
}

/** Whether the sliding window bounds either side (beyond what causal already does). */
export function hasWindow(spec: FlashAttentionSpec): boolean {
  return spec.windowLeft >= 0 || spec.windowRight >= 0;
}

/** Largest finite value the quantizer clamps to: vLLM clamps e4m3fnuz to 224, not its true max 240. */
export function fp8Max(format: Fp8Format): number {
  return format === 'e4m3fn' ? 448 : 224;
}

/** Words per row of an FP8 tensor whose last axis has n codes. */
export function fp8WordsPerRow(n: number): number {
  return Math.ceil(n / 4);
}

/** Words per row of a float16 tensor whose last axis has n halves. */
export function halfWordsPerRow(n: number): number {
  return Math.ceil(n / 2);
}

/** Storage units per row of D elements: float32 elements, half-pair words or FP8 words. */
export function storageRow(storage: Storage, d: number): number {
  return storage === 'fp8' ? fp8WordsPerRow(d) : storage === 'float16' ? halfWordsPerRow(d) : d;
}

/**
 * The compile-time half of the spec: everything a GPU program specializes on. Sizes, strides and
 * scales are uniforms, so two calls that differ only in shape share one compiled program.
 */
export function kernelKey(spec: FlashAttentionSpec): string {
  return [
    spec.varlen ? 'varlen' : spec.cacheSeqlens ? 'cache' : 'dense', spec.causal ? 'causal' : 'full', spec.precision, `bias=${spec.bias}`,
    `alibi=${spec.alibi}`, `window=${hasWindow(spec)}`, `softcap=${spec.softcap > 0}`, `sinks=${spec.sinks}`, `dropout=${spec.dropoutRate > 0}`,
    spec.returnLse ? 'lse' : 'nolse', `storage=${spec.qStorage},${spec.kStorage},${spec.vStorage}`, `fp8=${spec.fp8Mode}`,
    `q=${spec.qFormat}:${spec.qDescaleKind}`, `k=${spec.kFormat}:${spec.kDescaleKind}`,
    `v=${spec.vFormat}:${spec.vDescaleKind}`, `p=${spec.pScale > 0 ? spec.pFormat : 'off'}`,
    `o=${spec.oScale > 0 ? spec.oFormat : 'off'}`
  ].join('|');
}

/** Logical output shape: q's shape (float32, or the FP8 tensor's logical shape). */
export function outputShape(spec: FlashAttentionSpec): number[] {
  return layoutShape(spec, spec.totalQ, spec.numHeadsQ);
}

/** The logical shape of a q-like (rows totalQ, heads numHeadsQ) or k/v-like (totalK, numHeadsK) tensor in the spec's layout. */
export function layoutShape(spec: FlashAttentionSpec, rows: number, heads: number): number[] {
  const {batch, headDim} = spec;
  if (spec.layout === 'bshd') return [batch, rows, heads, headDim];
  if (spec.layout === 'bhsd') return [batch, heads, rows, headDim];
  return [rows, heads, headDim];
}

/** LSE shape: [B, Hq, Sq] dense, [Hq, Tq] varlen. */
export function lseShape(spec: FlashAttentionSpec): number[] {
  return spec.varlen ? [spec.numHeadsQ, spec.totalQ] : [spec.batch, spec.numHeadsQ, spec.totalQ];
}

/**
 * The kernel's tensor inputs, in order, for a spec: the op builds its inputs in this order and the
 * gradient reads its saved tensors back in the same order.
 */
export function kernelInputNames(spec: FlashAttentionSpec): string[] {
  const names = ['q', 'k', 'v'];
  if (spec.bias !== 'none') names.push('bias');
  if (spec.alibi !== 'none') names.push('alibiSlopes');
  if (spec.sinks) names.push('sinks');
  if (spec.varlen) names.push('cuSeqlensQ', 'cuSeqlensK');
  if (spec.cacheSeqlens) names.push('cacheSeqlens');
  if (spec.qDescaleKind === 'perHead') names.push('qDescale');
  if (spec.kDescaleKind === 'perHead') names.push('kDescale');
  if (spec.vDescaleKind === 'perHead') names.push('vDescale');
  return names;
}
