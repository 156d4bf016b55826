/**
 * FP8 e4m3 emulated in float64 for the tests, written from SPEC.md independently of src/fp8_codec.ts:
 * values come from the bit-field formula, encoding is a search for the nearest of the 256 values
 * (ties to the even code), so the two implementations can check each other.
 */
export type OracleFp8Format = 'e4m3fn'|'e4m3fnuz';

export const ORACLE_FP8_MAX: Record<OracleFp8Format, number> = {e4m3fn: 448, e4m3fnuz: 224};

export function oracleFp8Value(code: number, format: OracleFp8Format): number {
  const bias = format === 'e4m3fn' ? 7 : 8;
  const s = (code >> 7) & 1, e = (code >> 3) & 15, m = code & 7;
  if (format === 'e4m3fn' && e === 15 && m === 7) return NaN;
  if (format === 'e4m3fnuz' && code === 0x80) return NaN;
  const magnitude = e === 0 ? (m / 8) * Math.pow(2, 1 - bias) : (1 + m / 8) * Math.pow(2, e - bias);
  return s ? -magnitude : magnitude;
}

const finiteCodes = new Map<OracleFp8Format, Array<{code: number, value: number}>>();

function codesOf(format: OracleFp8Format) {
  let codes = finiteCodes.get(format);
  if (!codes) {
    codes = [];
    for (let c = 0; c < 256; c++) {
      const value = oracleFp8Value(c, format);
      if (!Number.isNaN(value)) codes.push({code: c, value});
    }
    finiteCodes.set(format, codes);
  }
  return codes;
}

/** code = round_to_nearest_even(clamp(x, ±FP8_MAX)) by exhaustive search. */
export function oracleFp8Encode(x: number, format: OracleFp8Format): number {
  const negative = x < 0 || Object.is(x, -0);
  if (Number.isNaN(x)) return format === 'e4m3fn' ? 0x7f : 0x80;
  const max = ORACLE_FP8_MAX[format];
  const clamped = Math.min(Math.max(x, -max), max);
  let best = -1, bestErr = Infinity;
  for (const {code, value} of codesOf(format)) {
    if (clamped !== 0 && (value < 0) !== (clamped < 0) && value !== 0) continue;
    const err = Math.abs(value - clamped);
    const even = (code & 1) === 0;
    if (err < bestErr || (err === bestErr && even)) {
      best = code;
      bestErr = err;
    }
  }
  const value = oracleFp8Value(best, format);
  if (value === 0) return format === 'e4m3fn' && negative ? 0x80 : 0;
  return best;
}

/** The FP8 value nearest to x (what a quantize → dequantize round trip yields, before descale). */
export function oracleFp8Round(x: number, format: OracleFp8Format): number {
  return oracleFp8Value(oracleFp8Encode(x, format), format);
}
