/**
 * IEEE half in WGSL, bit-exact with src/half.ts (the reference), without the shader-f16 feature:
 *   halfEncode(x) -> u32        the 16 bits of the half nearest to float32 x (ties to even); |x| >= 65520
 *                               gives ±Inf, ±Inf stays, NaN gives the quiet NaN S.11111.1000000000, underflow
 *                               keeps the sign. Written on the float32 bits: WGSL's pack2x16float leaves both
 *                               the rounding and out-of-range values to the implementation.
 *   halfDecode2(word) -> vec2<f32>  the two halves of a word (low 16 bits first): unpack2x16float, exact
 *                               (every half is a float32); the ToFloat16 / FromFloat16 tests hold it to the
 *                               reference for every class of half (subnormals, ±0, ±Inf, NaN) on each device.
 */
export const HALF_ENCODE_WGSL = `
fn halfEncode(x : f32) -> u32 {
  let bits = bitcast<u32>(x);
  let sign = (bits >> 16u) & 0x8000u;
  let exponent = (bits >> 23u) & 0xffu;
  let mantissa = bits & 0x7fffffu;
  if (exponent == 0xffu) { return sign | 0x7c00u | select(0u, 0x200u, mantissa != 0u); }
  let e = i32(exponent) - 112;  // the half's biased exponent (127 - 15)
  if (e >= 31) { return sign | 0x7c00u; }
  if (e <= 0) {
    // Subnormal half: units of 2^-24, (1.mantissa · 2^23) >> (14 - e), to nearest even; below 2^-25: ±0.
    let shift = u32(14 - e);
    if (shift > 24u) { return sign; }
    let full = mantissa | 0x800000u;
    let rest = full & ((1u << shift) - 1u);
    let halfway = 1u << (shift - 1u);
    var m = full >> shift;
    if (rest > halfway || (rest == halfway && (m & 1u) == 1u)) { m = m + 1u; }
    return sign | m;
  }
  // Normal: the top 10 mantissa bits; a carry out of them bumps the exponent (to Inf past 65504).
  var h = (u32(e) << 10u) | (mantissa >> 13u);
  let rest = mantissa & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u) == 1u)) { h = h + 1u; }
  return sign | h;
}
`;

export const HALF_DECODE_WGSL = `
fn halfDecode2(word : u32) -> vec2<f32> {
  return unpack2x16float(word);
}
`;
