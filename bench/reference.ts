/**
 * Host-side inputs and the float64 check of the WebGPU benchmark: a fast seeded generator of normal
 * values (never zero), FP8 e4m3fn inputs built as codes (so the float32 composition and the float64 check
 * see exactly the values the kernel dequantizes), and attention rows computed in float64.
 */
import {fp8DecodeTable} from '../src/fp8_codec';

/** xorshift128+ → normal values by Box–Muller; exact zeros are replaced (inputs are never zero). */
export function normals(n: number, seed: number): Float32Array {
  let s0 = (seed * 2654435761) >>> 0 || 1, s1 = (seed ^ 0x9e3779b9) >>> 0 || 2;
  const next = () => {
    let x = s0, y = s1;
    s0 = y;
    x ^= x << 23; x ^= x >>> 17; x ^= y ^ (y >>> 26);
    s1 = x >>> 0;
    return ((s0 + s1) >>> 0) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - next(), v = next();
    const r = Math.sqrt(-2 * Math.log(u)), t = 2 * Math.PI * v;
    out[i] = r * Math.cos(t) || 1e-3;
    if (i + 1 < n) out[i + 1] = r * Math.sin(t) || 1e-3;
  }
  return out;
}

/**
 * Random e4m3fn codes whose values lie in ±[2^-6, 8) (no zero, no NaN), packed four per int32 word
 * little-endian along the last axis (rowLength must be a multiple of 4), and their dequantized values
 * value(code) · descale.
 */
export function fp8Codes(n: number, rowLength: number, seed: number, descale: number): {words: Int32Array; values: Float32Array} {
  if (rowLength % 4 !== 0) throw new Error('fp8Codes: the row length must be a multiple of 4');
  const table = fp8DecodeTable('e4m3fn');
  const pool: number[] = [];
  for (let c = 0; c < 256; c++) {
    const v = Math.abs(table[c]);
    if (Number.isFinite(v) && v >= 2 ** -6 && v < 8) pool.push(c);
  }
  const u = normals(n, seed);
  const words = new Int32Array(n / 4);
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const frac = (Math.abs(u[i]) * 997.13) % 1;
    const code = pool[Math.floor(frac * pool.length)];
    words[i >> 2] |= code << (8 * (i & 3));
    values[i] = table[code] * descale;
  }
  return {words, values};
}

/**
 * One output row of softmax(q·Kᵀ·scale)·V in float64. q: D values at qOff; key j's row at kOff(j) / vOff(j)
 * (D values each); keys 0..visible-1 take part. Returns zeros when no key is visible (the op's convention).
 */
export function attentionRowF64(q: Float32Array, qOff: number, k: Float32Array, v: Float32Array,
                                kOff: (j: number) => number, vOff: (j: number) => number,
                                visible: number, d: number, scale: number): Float64Array {
  const out = new Float64Array(d);
  if (visible <= 0) return out;
  const s = new Float64Array(visible);
  let max = -Infinity;
  for (let j = 0; j < visible; j++) {
    const ko = kOff(j);
    let dot = 0;
    for (let x = 0; x < d; x++) dot += q[qOff + x] * k[ko + x];
    s[j] = dot * scale;
    if (s[j] > max) max = s[j];
  }
  let sum = 0;
  for (let j = 0; j < visible; j++) {
    const p = Math.exp(s[j] - max);
    sum += p;
    const vo = vOff(j);
    for (let x = 0; x < d; x++) out[x] += p * v[vo + x];
  }
  for (let x = 0; x < d; x++) out[x] /= sum;
  return out;
}
