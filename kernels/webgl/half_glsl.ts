/**
 * IEEE half in GLSL ES 3.00, bit-exact twins of src/half.ts (the reference), built on float bits:
 *   halfEncode(x) -> int   the 16 bits of the half nearest to x (ties to even; |x| >= 65520 → ±Inf,
 *                          NaN → the quiet NaN S.11111.1000000000, underflow keeps the sign)
 *   halfDecode(h) -> float the value of half bits h, sign carried in the bits (so -0 stays -0);
 *                          NaN is tfjs's NAN uniform.
 * By hand rather than unpackHalf2x16 / packHalf2x16: GLSL ES leaves packHalf2x16's rounding to the
 * implementation, and this way the decoder needs no check of the driver's subnormal handling.
 */
export const HALF_GLSL = `
int halfEncode(float x) {
  uint bits = floatBitsToUint(x);
  uint sign = (bits >> 16) & 0x8000u;
  uint exponent = (bits >> 23) & 0xffu;
  uint mantissa = bits & 0x7fffffu;
  if (exponent == 0xffu) return int(sign | 0x7c00u | (mantissa != 0u ? 0x200u : 0u));
  int e = int(exponent) - 112;  // the half's biased exponent (127 - 15)
  if (e >= 31) return int(sign | 0x7c00u);
  if (e <= 0) {
    // Subnormal half: units of 2^-24, (1.mantissa · 2^23) >> (14 - e), to nearest even; below 2^-25: ±0.
    int shift = 14 - e;
    if (shift > 24) return int(sign);
    uint full = mantissa | 0x800000u;
    uint rest = full & ((1u << shift) - 1u), halfway = 1u << (shift - 1);
    uint m = full >> shift;
    if (rest > halfway || (rest == halfway && (m & 1u) == 1u)) m += 1u;
    return int(sign | m);
  }
  // Normal: the top 10 mantissa bits; a carry out of them bumps the exponent (to Inf past 65504).
  uint h = (uint(e) << 10) | (mantissa >> 13);
  uint rest = mantissa & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u) == 1u)) h += 1u;
  return int(sign | h);
}

float halfDecode(int h) {
  uint sign = uint(h & 0x8000) << 16;
  int e = (h >> 10) & 31, m = h & 1023;
  if (e == 31) return m != 0 ? NAN : uintBitsToFloat(sign | 0x7f800000u);
  // Subnormal: m · 2^-24 (exact, a normal float32); else the exponent rebased from 15 to 127.
  uint magnitude = e == 0 ? floatBitsToUint(float(m) * uintBitsToFloat(0x33800000u)) : (uint(e + 112) << 23) | (uint(m) << 13);
  return uintBitsToFloat(sign | magnitude);
}

/** Half d of a row whose words start at \`base\`, from the 16-bit pairs sampler getter (fp8_words.ts). */
float halfAt(int base, int d) {
  return halfDecode(int(getX(2 * base + d)));
}
`;
