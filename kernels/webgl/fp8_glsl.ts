/**
 * e4m3 codecs in GLSL, bit-exact twins of src/fp8_codec.ts (the reference):
 *   fp8Decode(code) = value(code);  fp8Encode(x) = round_to_nearest_even(clamp(x, ±FP8_MAX)).
 * Powers of two are built from bits (exp2 is not exact in GLSL ES); NaN maps to S.1111.111 (e4m3fn)
 * or 0x80 (e4m3fnuz); -0 encodes to 0x80 on e4m3fn and to 0 on e4m3fnuz.
 */
import {Fp8Format, fp8Max} from '../../src/spec';

export function fp8CodecGlsl(format: Fp8Format): string {
  const fn = format === 'e4m3fn';
  const bias = fn ? 7 : 8;
  return `
float pow2(int e) { return uintBitsToFloat(uint(e + 127) << 23); }

float fp8Decode(int code) {
  int e = (code >> 3) & 15, m = code & 7;
  ${fn ? 'if (e == 15 && m == 7) return NAN;' : 'if (code == 128) return NAN;'}
  float magnitude = e == 0 ? float(m) * pow2(${-bias - 2}) : (1.0 + float(m) * 0.125) * pow2(e - ${bias});
  return (code & 128) != 0 ? -magnitude : magnitude;
}

int fp8Encode(float x) {
  uint bits = floatBitsToUint(x);
  int sign = int(bits >> 31) << 7;
  if ((bits & 0x7fffffffu) > 0x7f800000u) return ${fn ? '0x7f | sign' : '128'};
  float a = min(abs(x), ${fp8Max(format).toFixed(1)});
  // Binade of a (subnormals share the smallest normal binade's quantum).
  int exponent = max(int(floatBitsToUint(a) >> 23) - 127, ${1 - bias});
  float steps = a * pow2(3 - exponent);
  float n = floor(steps);
  float frac = steps - n;
  if (frac > 0.5 || (frac == 0.5 && mod(n, 2.0) == 1.0)) n += 1.0;
  int q = int(n);
  int code;
  if (q < 8 && exponent == ${1 - bias}) {
    code = q;
  } else {
    int e = exponent + ${bias}, m = q - 8;
    if (m == 8) { e += 1; m = 0; }
    code = (e << 3) | m;
  }
  if (code == 0) return ${fn ? 'sign' : '0'};
  return code | sign;
}
`;
}
