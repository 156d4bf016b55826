/**
 * Shapes of the WebGPU benchmark. `small` (default) is tiny, so it runs in minutes on SwiftShader, so anyone can
 * try the benchmark on a software driver; `h100` holds issue 7's shapes.
 */
import type {RooflineConfig} from './roofline';

export interface BenchCase {
  name: string;
  kind: 'prefill' | 'varlen' | 'decode';
  b: number;
  hq: number;
  hk: number;
  sq: number;
  sk: number;
  d: number;
  causal: boolean;
  /** K and V as FP8 e4m3fn (KV-only mode: q and the output stay float32). */
  fp8?: boolean;
  /** K and V as float16 tensors (toFloat16: packed halves, read as such by the kernels). */
  half?: boolean;
  /** varlen: the sequence lengths (q and k alike); b is their count, sq = sk = their sum. */
  seqlens?: number[];
  /** Why the composition is not run at all (besides the automatic score-matrix limit). */
  flashOnly?: string;
  /** flashAttention's precision: 'float16' rows run the matrix tiles where the device has them. */
  precision?: 'float16';
  /** Causal sliding window over the last W keys (windowSize [W − 1, −1]); dense rows only. */
  window?: number;
  /** A padded KV cache of capacity sk: the valid keys of each sequence (cacheSeqlens); decode rows only. */
  cacheSeqlens?: number[];
}

export interface Preset {
  cases: BenchCase[];
  roofline: RooflineConfig;
  /** Largest score matrix (bytes, one tensor) the composition is allowed to allocate. */
  compositionLimitBytes: number;
}

function prefill(b: number, h: number, s: number, d: number, causal: boolean, extra: Partial<BenchCase> = {}): BenchCase {
  const hk = extra.hk ?? h;
  const heads = hk === h ? `H${h}` : `Hq${h} Hk${hk}`;
  const name = `B${b} ${heads} S${s} D${d}${causal ? ' causal' : ''}${extra.window ? ` window ${extra.window}` : ''}` +
      `${extra.fp8 ? ' fp8-kv' : ''}${extra.precision === 'float16' ? ' f16' : ''}`;
  return {name, kind: 'prefill', b, hq: h, hk, sq: s, sk: s, d, causal, ...extra};
}

function varlen(h: number, d: number, causal: boolean, seqlens: number[]): BenchCase {
  const t = seqlens.reduce((a, x) => a + x, 0);
  return {name: `varlen ${seqlens.length}×(${Math.min(...seqlens)}..${Math.max(...seqlens)}) T${t} H${h} D${d}${causal ? ' causal' : ''}`,
    kind: 'varlen', b: seqlens.length, hq: h, hk: h, sq: t, sk: t, d, causal, seqlens};
}

const KV_FORMATS = ['float32', 'float16', 'fp8'] as const;

/** A decode row (Sq = 1) with K and V stored as float32, float16 (toFloat16) or FP8 e4m3fn. */
function decode(b: number, hq: number, hk: number, sk: number, d: number, kv: 'float32'|'float16'|'fp8' = 'float32'): BenchCase {
  return {name: `decode B${b} Hq${hq} Hk${hk} Sq1 Sk${sk} D${d}${kv === 'fp8' ? ' fp8-kv' : kv === 'float16' ? ' f16-kv' : ''}`,
    kind: 'decode', b, hq, hk, sq: 1, sk, d, causal: false, fp8: kv === 'fp8', half: kv === 'float16'};
}

/**
 * Decode over a padded KV cache of capacity sk whose valid lengths average `mean` (spread 0.25·mean ..
 * 1.75·mean over the batch): time should follow the valid keys, as the decode row of Sk = mean does.
 */
function decodeCache(b: number, hq: number, hk: number, sk: number, d: number, mean: number): BenchCase {
  const lengths = Array.from({length: b}, (_, i) => Math.round(mean * (0.25 + 1.5 * i / Math.max(1, b - 1))));
  return {name: `decode B${b} Hq${hq} Hk${hk} Sq1 cache ${sk} (valid mean ${mean}) D${d}`, kind: 'decode', b, hq, hk, sq: 1, sk, d,
    causal: false, cacheSeqlens: lengths, flashOnly: 'padded cache: compare with the decode row of Sk = the mean length'};
}

const GiB = 1024 ** 3;
/** The composition has no window mask: a window row is compared with the full causal row of its shape. */
const windowOnly = (w: number): Partial<BenchCase> => ({window: w, flashOnly: 'window: compare with the causal row of the same shape'});
const f16: Partial<BenchCase> = {precision: 'float16'};

/** Roofline sizes and the composition's memory cap for an H100-class card (the h100 and probe presets). */
const H100_DEVICE: Omit<Preset, 'cases'> = {
  // FMA: 8448 workgroups × 256 threads × 1024 iterations × 256 FLOPs = 0.57 TFLOP (~9 ms at 65 TFLOP/s).
  // Read: 1 GiB, far beyond the 50 MB L2.
  // Matrix units: an f16 subgroup-matrix matmul of 4096³ (137 GFLOP, ~1.7 ms at 82 TFLOP/s).
  roofline: {fmaWorkgroups: 8448, fmaIters: 1024, readBytes: GiB, readWorkgroups: [1056, 4224, 16896], matrixN: 4096},
  compositionLimitBytes: 4 * GiB,
};

export const presets: Record<string, Preset> = {
  small: {
    cases: [
      prefill(1, 2, 128, 64, false),
      prefill(1, 2, 128, 64, true),
      prefill(2, 2, 64, 128, false),
      prefill(1, 4, 64, 128, true, {hk: 2}),
      prefill(1, 2, 64, 80, false),
      prefill(1, 2, 64, 96, false),
      varlen(2, 64, true, [40, 8, 48, 32]),
      prefill(1, 2, 128, 64, false, {fp8: true}),
      decode(2, 4, 2, 256, 128),
      decode(2, 4, 2, 256, 128, 'fp8'),
      decode(2, 4, 2, 256, 128, 'float16'),
      prefill(1, 1, 512, 64, true, {flashOnly: 'long sequence, flash only (as S65536 in the h100 preset)'}),
      prefill(1, 2, 128, 64, false, f16),
      prefill(1, 2, 128, 64, true, f16),
      prefill(1, 1, 512, 64, true, windowOnly(128)),
    ],
    roofline: {fmaWorkgroups: 16, fmaIters: 32, readBytes: 8 * 1024 * 1024, readWorkgroups: [16, 64]},
    compositionLimitBytes: 64 * 1024 * 1024,
  },
  h100: {
    cases: [
      prefill(1, 8, 1024, 64, false),
      prefill(1, 8, 1024, 64, true),
      prefill(1, 8, 4096, 64, false),
      prefill(1, 8, 4096, 64, true),
      prefill(1, 8, 16384, 64, false),
      prefill(1, 8, 16384, 64, true),
      // issue 15: local attention over the last 4096 keys should cost ≈ 4096/16384 of the full causal row
      prefill(1, 8, 16384, 64, true, windowOnly(4096)),
      prefill(4, 32, 512, 128, false),
      prefill(1, 32, 4096, 128, true, {hk: 8}),
      prefill(1, 8, 4096, 80, false),
      prefill(1, 8, 4096, 96, false),
      varlen(8, 64, true, [1024, 4096, 300, 1536, 648, 2048, 256, 900, 512, 1000, 400, 1024, 700, 500, 640, 800]),
      prefill(1, 8, 4096, 64, false, {fp8: true}),
      decode(8, 32, 8, 8192, 128),
      decode(8, 32, 8, 8192, 128, 'fp8'),
      decode(8, 32, 8, 8192, 128, 'float16'),
      // issue 14: a padded KV cache, capacity 16384, valid lengths averaging 4096, beside plain Sk = 4096
      decodeCache(8, 32, 8, 16384, 128, 4096),
      decode(8, 32, 8, 4096, 128),
      prefill(1, 8, 65536, 64, true, {flashOnly: 'the composition cannot allocate its 128 GiB score matrix'}),
      // issue 12: precision 'float16' (the matrix tiles where the device has them) beside the float32 rows
      prefill(1, 8, 4096, 64, false, f16),
      prefill(1, 8, 4096, 64, true, f16),
      prefill(1, 8, 16384, 64, false, f16),
      prefill(1, 8, 16384, 64, true, f16),
      prefill(1, 8, 16384, 64, true, {...f16, ...windowOnly(4096)}),
      prefill(4, 32, 512, 128, false, f16),
      prefill(1, 8, 4096, 128, false, f16),
      prefill(1, 8, 65536, 64, true, {...f16, flashOnly: 'the composition cannot allocate its 128 GiB score matrix'}),
    ],
    ...H100_DEVICE,
  },
  // Issue 14's decode rows: K and V in float32, float16 and FP8 at three lengths, one long sequence alone (split-KV
  // must fill the GPU), and the padded cache beside the plain row of its mean length.
  decode: {
    cases: [
      ...[2048, 8192, 32768].flatMap(sk => KV_FORMATS.map(kv => decode(8, 32, 8, sk, 128, kv))),
      ...KV_FORMATS.map(kv => decode(1, 32, 8, 8192, 128, kv)),
      decodeCache(8, 32, 8, 16384, 128, 4096),
      decode(8, 32, 8, 4096, 128),
    ],
    ...H100_DEVICE,
  },
  // Shapes around the h100 preset's slow rows, for finding what limits them (tuning runs, not the record).
  probe: {
    cases: [
      decode(1, 32, 8, 8192, 128),
      decode(8, 32, 8, 1024, 128),
      decode(8, 8, 8, 8192, 128),
      decode(8, 32, 8, 8192, 64),
      decode(8, 32, 8, 8192, 128),
      prefill(4, 32, 512, 64, false),
      prefill(1, 8, 4096, 128, false),
      prefill(1, 128, 512, 128, false),
    ],
    ...H100_DEVICE,
  },
};
