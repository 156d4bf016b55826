/**
 * The one table of attention cases, run on every backend that has the kernel. Each case names what
 * it guards. Sizes are small (software GPUs run the suite) but deliberately not multiples of any tile.
 */
import type {Fp8Format, Layout, Precision} from '../src/spec';

export interface Fp8CaseOptions {
  mode: 'kv'|'full';
  format?: Fp8Format;
  /** Per-head descale tensors instead of scalars. */
  perHead?: boolean;
  pScale?: number;
  oScale?: number;
}

export interface AttentionCase {
  name: string;
  layout?: Layout;
  /** Dense layouts. */
  batch?: number;
  sq?: number;
  sk?: number;
  /** 'thd': per-sequence lengths (may be 0). */
  seqlensQ?: number[];
  seqlensK?: number[];
  /** How 'thd' passes cuSeqlens: number[] (default), Int32Array or an int32 tensor (+ maxSeqlen). */
  cuSeqlensAs?: 'array'|'int32array'|'tensor';
  hq: number;
  hk?: number;
  d: number;
  causal?: boolean;
  softmaxScale?: number;
  /** Shape of an additive bias, broadcastable to [B, Hq, Sq, Sk]. */
  bias?: number[];
  alibi?: 'perHead'|'perBatchHead';
  fp8?: Fp8CaseOptions;
  /** Pass these inputs as float16 tensors (toFloat16); the oracle sees their half-rounded values. */
  half?: ('q'|'k'|'v')[];
  returnLse?: boolean;
  /** Put one NaN into this input. */
  nan?: 'q'|'k'|'v';
  /** Put these values (e.g. past half's ±65504) into random elements of this input. */
  large?: {input: 'q'|'k'|'v', values: number[]};
  /** The precision option (absent: the default, float32). */
  precision?: Precision;
  /** The windowSize option [left, right]. */
  window?: [number, number];
  softcap?: number;
  /** Random sink logits, one per query head. */
  sinks?: boolean;
  /** The dropout option (seed fixed by the case). */
  dropout?: {rate: number, seed: number};
  /** A padded KV cache: valid keys per sequence (dense layouts, each 0..sk), as number[] or an int32 tensor. */
  cacheSeqlens?: number[];
  cacheSeqlensAs?: 'array'|'tensor';
}

const headSizes = [1, 8, 48, 64, 80, 96, 128, 160, 256];

export const CASES: AttentionCase[] = [
  // -- head sizes: every D pads its tile differently --
  ...headSizes.map((d): AttentionCase => ({name: `D=${d} pads the tile`, batch: 1, sq: 19, sk: 23, hq: 2, d, returnLse: true})),
  ...[48, 80, 256].map((d): AttentionCase => ({name: `D=${d} causal`, batch: 1, sq: 21, sk: 21, hq: 2, d, causal: true})),

  // -- sequence lengths --
  {name: 'Sq = Sk = 1', batch: 2, sq: 1, sk: 1, hq: 1, d: 16, returnLse: true},
  {name: 'decode: Sq = 1 against a long Sk', batch: 2, sq: 1, sk: 150, hq: 4, hk: 2, d: 64, returnLse: true},
  {name: 'Sq > Sk', batch: 2, sq: 70, sk: 13, hq: 2, d: 32, returnLse: true},
  {name: 'Sq < Sk', batch: 2, sq: 13, sk: 70, hq: 2, d: 32, returnLse: true},
  {name: 'S not a multiple of any tile', batch: 1, sq: 67, sk: 131, hq: 3, d: 40},
  {name: 'S = 129 straddles 64 and 128 tiles', batch: 1, sq: 129, sk: 129, hq: 1, d: 64, causal: true, returnLse: true},

  // -- causal, bottom-right --
  {name: 'causal square', batch: 2, sq: 45, sk: 45, hq: 2, d: 32, causal: true, returnLse: true},
  {name: 'causal Sq < Sk aligns to the bottom-right', batch: 1, sq: 17, sk: 83, hq: 2, d: 24, causal: true, returnLse: true},
  {name: 'causal Sq > Sk: first Sq - Sk rows are 0 with -Infinity LSE', batch: 2, sq: 77, sk: 30, hq: 2, d: 16, causal: true, returnLse: true},
  {name: 'causal Sq > Sk by less than a tile', batch: 1, sq: 40, sk: 37, hq: 1, d: 8, causal: true, returnLse: true},
  {name: 'causal decode sees every key', batch: 2, sq: 1, sk: 95, hq: 2, d: 64, causal: true},

  // -- GQA / MQA --
  ...[1, 2, 4, 8].map((ratio): AttentionCase =>
      ({name: `GQA ratio ${ratio}`, batch: 2, sq: 20, sk: 27, hq: 8, hk: 8 / ratio, d: 32, causal: ratio % 2 === 0, returnLse: true})),
  {name: 'MQA: 6 query heads on one kv head', batch: 1, sq: 15, sk: 33, hq: 6, hk: 1, d: 48},

  // -- layouts --
  {name: 'bhsd layout', layout: 'bhsd', batch: 2, sq: 25, sk: 31, hq: 4, hk: 2, d: 40, returnLse: true},
  {name: 'bhsd causal', layout: 'bhsd', batch: 1, sq: 33, sk: 20, hq: 2, d: 64, causal: true, returnLse: true},
  {name: 'softmaxScale overrides 1/sqrt(D)', batch: 1, sq: 12, sk: 18, hq: 2, d: 32, softmaxScale: 0.37},
  {name: 'softmaxScale 0 gives the mean of v', batch: 1, sq: 5, sk: 9, hq: 1, d: 8, softmaxScale: 0},
  {name: 'negative softmaxScale', batch: 1, sq: 9, sk: 11, hq: 1, d: 8, softmaxScale: -0.8},

  // -- varlen --
  {name: 'varlen: three sequences', layout: 'thd', seqlensQ: [5, 17, 9], seqlensK: [5, 17, 9], hq: 2, d: 32, returnLse: true},
  {name: 'varlen: empty sequences', layout: 'thd', seqlensQ: [0, 7, 0, 12, 3], seqlensK: [4, 0, 0, 12, 9], hq: 2, d: 16, returnLse: true},
  {name: 'varlen causal with Sq != Sk per sequence', layout: 'thd', seqlensQ: [3, 20, 11], seqlensK: [9, 14, 11], hq: 4, hk: 2, d: 32, causal: true, returnLse: true},
  {name: 'varlen: many short sequences next to one long', layout: 'thd', seqlensQ: [1, 2, 1, 3, 1, 90, 2, 1], seqlensK: [2, 1, 3, 1, 1, 90, 1, 2], hq: 2, d: 24, causal: true, returnLse: true},
  {name: 'varlen: cuSeqlens as Int32Array', layout: 'thd', seqlensQ: [6, 10], seqlensK: [8, 3], hq: 2, d: 16, cuSeqlensAs: 'int32array'},
  {name: 'varlen: cuSeqlens as tensors', layout: 'thd', seqlensQ: [6, 10], seqlensK: [8, 3], hq: 2, d: 16, cuSeqlensAs: 'tensor', causal: true},
  // -- padded KV cache (cacheSeqlens): valid keys per sequence of a preallocated capacity Sk --
  {name: 'padded KV cache: lengths per sequence, one empty (LSE = the sink), GQA', batch: 3, sq: 5, sk: 40, hq: 4, hk: 2, d: 32,
   cacheSeqlens: [40, 17, 0], sinks: true, returnLse: true},
  {name: 'padded KV cache: causal decode with ALiBi, lengths as a tensor', batch: 2, sq: 1, sk: 150, hq: 4, hk: 1, d: 64,
   causal: true, alibi: 'perHead', cacheSeqlens: [150, 77], cacheSeqlensAs: 'tensor', returnLse: true},
  {name: 'padded KV cache: causal bhsd with a window, Sq > a length', layout: 'bhsd', batch: 2, sq: 12, sk: 50, hq: 2, d: 16,
   causal: true, window: [8, -1], cacheSeqlens: [30, 9], returnLse: true},
  {name: 'padded KV cache: FP8 KV and a bias', batch: 2, sq: 3, sk: 70, hq: 2, d: 64, fp8: {mode: 'kv'}, bias: [2, 2, 3, 70],
   cacheSeqlens: [70, 33]},
  {name: 'varlen ALiBi', layout: 'thd', seqlensQ: [7, 13], seqlensK: [10, 13], hq: 2, d: 16, alibi: 'perBatchHead', causal: true},

  // -- bias --
  {name: 'bias full [B, Hq, Sq, Sk]', batch: 2, sq: 11, sk: 14, hq: 2, d: 16, bias: [2, 2, 11, 14], returnLse: true},
  {name: 'bias broadcast [1, Hq, Sq, Sk]', batch: 2, sq: 11, sk: 14, hq: 2, d: 16, bias: [1, 2, 11, 14]},
  {name: 'bias broadcast [B, 1, 1, Sk] (padding mask)', batch: 2, sq: 11, sk: 14, hq: 2, d: 16, bias: [2, 1, 1, 14], causal: true},
  {name: 'bias broadcast [Sq, Sk] (rank 2)', batch: 2, sq: 11, sk: 14, hq: 3, d: 16, bias: [11, 14]},
  {name: 'bias broadcast [Sq, 1]', batch: 1, sq: 11, sk: 14, hq: 2, d: 16, bias: [11, 1]},
  {name: 'bias with bhsd and GQA', layout: 'bhsd', batch: 1, sq: 9, sk: 21, hq: 4, hk: 2, d: 32, bias: [1, 4, 9, 21], causal: true},

  // -- ALiBi --
  {name: 'ALiBi per head', batch: 2, sq: 19, sk: 25, hq: 4, d: 16, alibi: 'perHead', returnLse: true},
  {name: 'ALiBi per batch and head', batch: 2, sq: 19, sk: 25, hq: 4, hk: 2, d: 16, alibi: 'perBatchHead', causal: true},
  {name: 'ALiBi with Sq > Sk and bias', batch: 1, sq: 30, sk: 12, hq: 2, d: 16, alibi: 'perHead', bias: [1, 1, 30, 12]},

  // -- FP8 --
  {name: 'FP8 KV-only e4m3fn', batch: 1, sq: 21, sk: 37, hq: 2, d: 64, fp8: {mode: 'kv'}, returnLse: true},
  {name: 'FP8 KV-only e4m3fnuz, per-head descales', batch: 2, sq: 9, sk: 30, hq: 4, hk: 2, d: 48, fp8: {mode: 'kv', format: 'e4m3fnuz', perHead: true}},
  {name: 'FP8 KV-only D=5 pads the last word', batch: 1, sq: 7, sk: 9, hq: 1, d: 5, fp8: {mode: 'kv'}, causal: true},
  {name: 'FP8 full e4m3fn', batch: 1, sq: 16, sk: 40, hq: 2, d: 32, fp8: {mode: 'full'}, returnLse: true},
  {name: 'FP8 full e4m3fnuz per-head, causal', batch: 1, sq: 25, sk: 25, hq: 2, d: 32, fp8: {mode: 'full', format: 'e4m3fnuz', perHead: true}, causal: true},
  {name: 'FP8 full with pScale', batch: 1, sq: 12, sk: 50, hq: 2, d: 32, fp8: {mode: 'full', pScale: 240}},
  {name: 'FP8 full with oScale gives an FP8 output', batch: 1, sq: 12, sk: 20, hq: 2, d: 16, fp8: {mode: 'full', oScale: 0.01}},
  {name: 'FP8 full, pScale and oScale, varlen', layout: 'thd', seqlensQ: [5, 9], seqlensK: [7, 9], hq: 2, d: 16, fp8: {mode: 'full', format: 'e4m3fnuz', pScale: 200, oScale: 0.02}, causal: true},

  // -- float16 tensors (toFloat16): packed halves read directly, alone and mixed with float32 and FP8 --
  {name: 'float16 q, k, v, D = 37 pads the last word', batch: 1, sq: 19, sk: 23, hq: 2, d: 37, half: ['q', 'k', 'v'], returnLse: true},
  {name: 'float16 k and v with causal GQA 4:1', batch: 2, sq: 20, sk: 27, hq: 8, hk: 2, d: 32, causal: true, half: ['k', 'v'], returnLse: true},
  {name: 'float16 q with float32 k, v: bhsd, ALiBi and bias', layout: 'bhsd', batch: 2, sq: 19, sk: 25, hq: 4, hk: 2, d: 40,
   alibi: 'perHead', bias: [1, 4, 19, 25], half: ['q'], returnLse: true},
  {name: 'float16 v alone, varlen causal with Sq != Sk per sequence', layout: 'thd', seqlensQ: [3, 20, 0, 11], seqlensK: [9, 14, 4, 11],
   hq: 4, hk: 2, d: 24, causal: true, half: ['v'], returnLse: true},
  {name: 'float16 KV cache: causal decode with a window and sinks, lengths as a tensor', batch: 2, sq: 1, sk: 150, hq: 4, hk: 1, d: 64,
   causal: true, window: [50, -1], sinks: true, cacheSeqlens: [150, 77], cacheSeqlensAs: 'tensor', half: ['k', 'v'], returnLse: true},
  {name: 'float16 q with FP8 KV', batch: 1, sq: 21, sk: 37, hq: 2, d: 64, fp8: {mode: 'kv', perHead: true}, half: ['q'], returnLse: true},
  {name: 'float16 q, k, v under precision float16 with softcap and dropout', batch: 1, sq: 17, sk: 30, hq: 2, d: 16, precision: 'float16',
   softcap: 4, dropout: {rate: 0.2, seed: 7}, half: ['q', 'k', 'v'], returnLse: true},
  {name: 'float16 v: 65519 is 65504, 1e5 is +Infinity in the rows that see it', batch: 1, sq: 9, sk: 12, hq: 2, d: 8,
   large: {input: 'v', values: [1e5, 65519]}, half: ['v'], returnLse: true},

  // -- attention variants: sliding window, soft-cap, sinks (alone, then with the other options) --
  {name: 'window [7, 2] on a square', batch: 1, sq: 40, sk: 40, hq: 2, d: 32, window: [7, 2], returnLse: true},
  {name: 'window left with causal, Sq < Sk: early key blocks never seen', batch: 1, sq: 30, sk: 150, hq: 4, hk: 2, d: 16, causal: true, window: [16, -1], returnLse: true},
  {name: 'window right only, Sq > Sk: first rows see no key (0, -Infinity LSE)', batch: 2, sq: 50, sk: 20, hq: 2, d: 8, window: [-1, 2], returnLse: true},
  {name: 'softcap 2 then bias and ALiBi', batch: 1, sq: 19, sk: 25, hq: 2, d: 16, softcap: 2, bias: [1, 2, 19, 25], alibi: 'perHead', returnLse: true},
  {name: 'sinks with causal Sq > Sk: rows without keys give 0 and LSE = sink', batch: 1, sq: 33, sk: 20, hq: 3, d: 24, causal: true, sinks: true, returnLse: true},
  {name: 'sinks, softcap and window [0, 0] (only the diagonal key), bhsd GQA', layout: 'bhsd', batch: 2, sq: 17, sk: 23, hq: 4, hk: 2, d: 16, window: [0, 0], softcap: 5, sinks: true, returnLse: true},
  {name: 'varlen: window, softcap and sinks', layout: 'thd', seqlensQ: [5, 0, 30], seqlensK: [9, 4, 30], hq: 2, d: 32, causal: true, window: [10, -1], softcap: 3, sinks: true, returnLse: true},
  {name: 'window, softcap and sinks over several 256-key blocks', batch: 1, sq: 40, sk: 600, hq: 2, d: 16, window: [300, 60], softcap: 5, sinks: true, returnLse: true},
  {name: 'FP8 KV with window, sinks and dropout', batch: 1, sq: 21, sk: 37, hq: 2, d: 32, fp8: {mode: 'kv'}, window: [12, 4], sinks: true, dropout: {rate: 0.2, seed: 99}, returnLse: true},
  {name: 'dropout 0.25: P·V of the kept keys only, the LSE unaffected', batch: 2, sq: 19, sk: 23, hq: 2, d: 16, dropout: {rate: 0.25, seed: 12345}, returnLse: true},
  {name: 'dropout with causal GQA, window, softcap and sinks, a negative seed', batch: 1, sq: 9, sk: 70, hq: 4, hk: 2, d: 32, causal: true, window: [40, -1], softcap: 20, sinks: true, dropout: {rate: 0.5, seed: -7}, returnLse: true},
  {name: 'varlen dropout with ALiBi and a seed past 2^32', layout: 'thd', seqlensQ: [5, 12], seqlensK: [9, 12], hq: 2, d: 16, alibi: 'perHead', dropout: {rate: 0.1, seed: 2 ** 40 + 3}, returnLse: true},

  // -- IEEE propagation --
  {name: 'NaN in q poisons only its row', batch: 1, sq: 9, sk: 12, hq: 2, d: 8, nan: 'q', returnLse: true},
  {name: 'NaN in k poisons the rows that see it', batch: 1, sq: 9, sk: 12, hq: 2, d: 8, nan: 'k', causal: true, returnLse: true},
  {name: 'NaN in v poisons the rows that see it', batch: 1, sq: 9, sk: 12, hq: 2, d: 8, nan: 'v', returnLse: true},
];
