/**
 * IEEE binary16 (half) on the CPU: a number → half bits with round to nearest even, half bits → value,
 * and the composition, roundToHalf, which the cpu kernel applies at SPEC.md's float16 rounding points.
 *   half: 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits; largest finite 65504, smallest
 *   subnormal 2^-24. |x| ≥ 65520 (65504 plus half an ulp, a tie that rounds to the even Infinity)
 *   becomes ±Infinity; ±Infinity stays, NaN stays NaN; underflow keeps the sign (±0).
 * Node 20 has neither Math.f16round nor Float16Array, so this works on float32 bits. A float64 argument
 * (the cpu kernel's P) is rounded correctly too: float32 rounding cannot step over a half's midpoint, only
 * land on one, and where it does the side x lay on decides instead of the even neighbour.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Round to nearest; a tie goes to x's side of its float32 rounding (side ±1), or to even (side 0). */
function roundsUp(rest: number, halfway: number, odd: boolean, side: number): boolean {
  return rest > halfway || (rest === halfway && (side > 0 || (side === 0 && odd)));
}

/** The 16 bits of the half nearest to x (ties to even). */
export function halfBits(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  // 0: x is a float32; +1 / -1: x lies above / below its float32 rounding (in magnitude).
  const side = f32[0] === x ? 0 : Math.abs(x) > Math.abs(f32[0]) ? 1 : -1;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);  // ±Inf, NaN (quiet)
  const e = exponent - 127 + 15;  // the half's biased exponent
  if (e >= 0x1f) return sign | 0x7c00;  // past the largest binade: ±Inf
  if (e <= 0) {
    // Subnormal half: m units of 2^-24, m = (1.mantissa · 2^23) >> (14 - e), rounded to nearest even.
    // Below 2^-25 (shift > 24) the value is under half a unit: ±0.
    const shift = 14 - e;
    if (shift > 24) return sign;
    const full = mantissa | 0x800000;
    let m = full >>> shift;
    const rest = full & ((1 << shift) - 1), halfway = 1 << (shift - 1);
    if (roundsUp(rest, halfway, (m & 1) === 1, side)) m += 1;  // m = 1024 is the smallest normal: right
    return sign | m;
  }
  // Normal: keep the top 10 mantissa bits; a carry out of them bumps the exponent (to Inf past 65504).
  let h = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (roundsUp(rest, 0x1000, (h & 1) === 1, side)) h += 1;
  return sign | h;
}

/** The value of half bits h (0..0xffff). */
export function halfValue(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0x1f) return m !== 0 ? NaN : sign * Infinity;
  if (e === 0) return sign * m * 2 ** -24;
  return sign * (1024 + m) * 2 ** (e - 25);
}

/** x rounded to the nearest half (ties to even), as a number: what a float16 register holds. */
export function roundToHalf(x: number): number {
  if (x !== x) return x;  // NaN stays NaN
  return halfValue(halfBits(x));
}

/** Rounds the first n entries of a tile to half, in place. */
export function roundTileToHalf(tile: Float32Array|Float64Array, n: number): void {
  for (let i = 0; i < n; i++) tile[i] = roundToHalf(tile[i]);
}

let decodeTable: Float32Array|null = null;

/** halfValue of all 65536 bit patterns (256 KiB, built on first use): the cpu kernels' half decoder. */
export function halfDecodeTable(): Float32Array {
  if (decodeTable == null) {
    decodeTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) decodeTable[h] = halfValue(h);
  }
  return decodeTable;
}
