/** The presets: typical attention calls of an LLM, at GPU sizes and at sizes the JS cpu backend can finish. */
export type PresetId = 'prefill'|'long'|'gqa'|'varlen'|'fp8kv'|'decode';
/** How k and v are stored for flash attention: float32 tensors, packed halves (toFloat16) or FP8 e4m3fn (quantizeFp8). */
export type KvFormat = 'float32'|'float16'|'fp8';

export interface Shape {
  b: number;
  /** Query heads, and key/value heads (GQA/MQA when hkv < h). */
  h: number;
  hkv: number;
  sq: number;
  sk: number;
  d: number;
  causal: boolean;
}
export interface Config extends Shape {
  preset: PresetId;
  kv: KvFormat;
}

export interface Preset {
  id: PresetId;
  label: string;
  /** One line on what the preset is and how each contender gets its inputs. */
  about: string;
  gpu: Shape;
  cpu: Shape;
  /** The KV format the preset starts with (float32 unless given). */
  kv?: KvFormat;
}

export const PRESETS: Preset[] = [
  {id: 'prefill', label: 'Prefill', about: 'A prompt of S tokens attends to itself, causal; bhsd tensors, the same for both contenders.',
   gpu: {b: 1, h: 8, hkv: 8, sq: 1024, sk: 1024, d: 64, causal: true}, cpu: {b: 1, h: 4, hkv: 4, sq: 256, sk: 256, d: 64, causal: true}},
  {id: 'long', label: 'Long context', about: 'A long prompt: the composition\'s B·H·S·S score matrix gets big, flash attention never makes one.',
   gpu: {b: 1, h: 8, hkv: 8, sq: 4096, sk: 4096, d: 64, causal: true}, cpu: {b: 1, h: 4, hkv: 4, sq: 1024, sk: 1024, d: 64, causal: true}},
  {id: 'gqa', label: 'GQA', about: 'Grouped-query attention: H query heads share H/Hkv key/value heads. The composition gets k, v already repeated to H heads (untimed).',
   gpu: {b: 1, h: 32, hkv: 8, sq: 1024, sk: 1024, d: 128, causal: true}, cpu: {b: 1, h: 8, hkv: 2, sq: 256, sk: 256, d: 64, causal: true}},
  {id: 'varlen', label: 'Varlen batch', about: 'B sequences of lengths S, ¾S, ½S, … packed without padding (layout thd, cuSeqlens). The composition runs one call per sequence on pre-sliced inputs (untimed slicing) and concatenates.',
   gpu: {b: 4, h: 8, hkv: 8, sq: 1024, sk: 1024, d: 64, causal: true}, cpu: {b: 4, h: 4, hkv: 4, sq: 256, sk: 256, d: 64, causal: true}},
  {id: 'fp8kv', label: 'FP8 KV cache', about: 'k and v quantized to e4m3fn (scale 32); flash attention reads the packed FP8 words, the composition gets the same values dequantized to float32 (untimed).',
   gpu: {b: 1, h: 8, hkv: 8, sq: 1024, sk: 1024, d: 64, causal: true}, cpu: {b: 1, h: 4, hkv: 4, sq: 256, sk: 256, d: 64, causal: true}, kv: 'fp8'},
  {id: 'decode', label: 'Decode', about: 'One new token (Sq = 1) per sequence attends to a long KV cache; GQA as in Llama-style models. Decode is bound by reading K and V: pick their format below and read the GB/s.',
   gpu: {b: 4, h: 32, hkv: 8, sq: 1, sk: 8192, d: 128, causal: true}, cpu: {b: 2, h: 8, hkv: 2, sq: 1, sk: 2048, d: 64, causal: true}},
];

export const presetById = (id: string): Preset => PRESETS.find(p => p.id === id) ?? PRESETS[0];

/** The sequence lengths of a varlen batch: S, (B-1)/B·S, … (at least 1 each). */
export function varlenLengths(b: number, s: number): number[] {
  return Array.from({length: b}, (_, i) => Math.max(1, Math.round((s * (b - i)) / b)));
}

/** (query, key) pairs a row-block of Sq queries over Sk keys actually uses (bottom-right causal mask). */
export function visiblePairs(sq: number, sk: number, causal: boolean): number {
  if (!causal) return sq * sk;
  let n = 0;
  for (let i = 0; i < sq; i++) n += Math.min(sk, Math.max(0, i + sk - sq + 1));
  return n;
}

/** Useful FLOPs of one call: 4·D per visible (query, key) pair per head (Q·Kᵀ and P·V), for both contenders. */
export function usefulFlops(c: Config): number {
  if (c.preset === 'varlen') {
    const lq = varlenLengths(c.b, c.sq), lk = varlenLengths(c.b, c.sk);
    return lq.reduce((sum, l, i) => sum + 4 * c.h * c.d * visiblePairs(l, lk[i], c.causal), 0);
  }
  return 4 * c.b * c.h * c.d * visiblePairs(c.sq, c.sk, c.causal);
}

/** Bytes of K and V that one flash call reads in the config's KV format (what bounds decode). */
export function kvBytes(c: Config): number {
  const perElement = {float32: 4, float16: 2, fp8: 1}[c.kv];
  const keys = c.preset === 'varlen' ? varlenLengths(c.b, c.sk).reduce((a, n) => a + n, 0) : c.b * c.sk;
  return 2 * keys * c.hkv * c.d * perElement;
}

/** Bytes of one float32 score matrix the composition materializes (per sequence for varlen: it runs one at a time). */
export function scoreMatrixBytes(c: Config): number {
  return c.preset === 'varlen' ? 4 * c.h * c.sq * c.sk : 4 * c.b * c.h * c.sq * c.sk;
}

/** Checks that inputs can be built for a config; returns a message naming the bad field, or null. */
export function configError(c: Config): string|null {
  const names = {b: 'B', h: 'H', hkv: 'Hkv', sq: 'Sq', sk: 'Sk', d: 'D'} as const;
  for (const key of Object.keys(names) as Array<keyof typeof names>) {
    if (!Number.isInteger(c[key]) || c[key] < 1) return `${names[key]} must be a positive integer`;
  }
  return null;   // the rest (H a multiple of Hkv, D ≤ 256, …) the op checks itself, and the page shows its error
}
