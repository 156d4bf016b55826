/**
 * The e4m3 codecs of src/fp8_codec.ts in WGSL, bit-exact with them:
 *   fp8Decode_<format>(code) -> f32          value(code); NaN codes give NaN
 *   fp8Encode_<format>(x) -> u32             round_to_nearest_even(clamp(x, ±FP8_MAX)); NaN keeps its
 *                                            sign on e4m3fn (0x7f/0xff), is 0x80 on e4m3fnuz; a zero
 *                                            result keeps the sign on e4m3fn (-0 = 0x80), not on fnuz
 * Powers of two are built with ldexp or from exponent bits (exact), signs and NaNs are read from the
 * bits (so a GPU that flushes subnormals or folds NaN compares still gets the same codes). Needs tfjs's
 * uniforms.NAN. These two serve QuantizeFp8 / DequantizeFp8 and full FP8's P grid. Apart from them:
 *   fp8DecodeWord_<format>(word) -> vec4<f32>  the 4 codes of a word, for the attention kernels' K/V reads:
 *                                            through halves (fp8WordDecoder), about 3 ALU operations a code;
 *                                            exact where unpack2x16float keeps half subnormals (the float16
 *                                            tensors need that too; test/decoder_checks.ts asks each device)
 */
import {Fp8Format, fp8Max} from '../../src/spec';

interface FormatTraits {
  bias: number;
  max: number;
  /** WGSL condition on `code` that names the NaN codes. */
  isNan: string;
  /** WGSL code of a NaN input (`sign` holds 0x80 or 0). */
  nanCode: string;
  /** WGSL code of a result that rounds to zero. */
  zeroCode: string;
}

const traits: Record<Fp8Format, FormatTraits & {wordHasNan: string}> = {
  e4m3fn: {bias: 7, max: fp8Max('e4m3fn'), isNan: '(code & 0x7fu) == 0x7fu', nanCode: '0x7fu | sign', zeroCode: 'sign',
           // a byte whose low 7 bits are all ones carries into its top bit
           wordHasNan: '(((word & 0x7f7f7f7fu) + 0x01010101u) & 0x80808080u) != 0u'},
  e4m3fnuz: {bias: 8, max: fp8Max('e4m3fnuz'), isNan: 'code == 0x80u', nanCode: '0x80u', zeroCode: '0u',
             // a zero byte of word ^ 0x80808080 (the classic has-zero-byte test)
             wordHasNan: '(((word ^ 0x80808080u) - 0x01010101u) & ~(word ^ 0x80808080u) & 0x80808080u) != 0u'},
};

const f32Literal = (x: number) => Number.isInteger(x) ? `${x}.0` : `${x}`;

export function fp8CodecSnippet(format: Fp8Format): string {
  const {bias, max, isNan, nanCode, zeroCode} = traits[format];
  return `
fn fp8Decode_${format}(code : u32) -> f32 {
  let e = (code >> 3u) & 0xfu;
  let m = code & 7u;
  // 2^(max(e, 1) - bias - 3) built from its exponent bits: always a normal float32, so exact everywhere.
  let quantum = bitcast<f32>((max(e, 1u) + ${127 - bias - 3}u) << 23u);
  let magnitude = f32(select(m, m + 8u, e > 0u)) * quantum;
  return select(select(magnitude, -magnitude, (code & 0x80u) != 0u), uniforms.NAN, ${isNan});
}

fn fp8Encode_${format}(x : f32) -> u32 {
  let bits = bitcast<u32>(x);
  let sign = (bits >> 24u) & 0x80u;
  if ((bits & 0x7fffffffu) > 0x7f800000u) { return ${nanCode}; }
  let a = min(bitcast<f32>(bits & 0x7fffffffu), ${f32Literal(max)});
  // Quantum of a's binade (subnormal codes share the smallest normal binade's quantum).
  let e = max(i32(bitcast<u32>(a) >> 23u) - 127, ${1 - bias});
  let n = u32(round(ldexp(a, 3 - e)));
  // n counts quanta: 8..16 in a normal binade (16 carries into the next), 0..7 subnormal.
  let code = (u32(e + ${bias}) << 3u) + n - 8u;
  if (code == 0u) { return ${zeroCode}; }
  return code | sign;
}
`;
}

/**
 * The K/V word decoder of the attention kernels. An e4m3 code S.EEEE.MMM moved to half bits
 * S.0EEEE.MMM0000000 is the half 2^(E − 15)·1.MMM, or the half subnormal MMM·2^-17 when E = 0: the code's
 * value times 2^(bias − 15), normal and subnormal alike, so one unpack2x16float per two codes and one
 * multiply by 2^(15 − bias) decode exactly (where unpack2x16float keeps half subnormals, as the float16
 * tensors need too). NaN codes, which the halves would read as numbers, are patched on a word that has one.
 * Against the 256-entry workgroup table this replaces: no workgroup-memory reads (the decode kernel's K and
 * V reads were bound by them, BENCHMARKS.md) and no table to fill.
 */
export function fp8WordDecoder(format: Fp8Format): string {
  const {bias, isNan, wordHasNan} = traits[format];
  return `
fn fp8DecodeWord_${format}(word : u32) -> vec4<f32> {
  // bytes 0, 1 (2, 3) into the two 16-bit halves of lo (hi), then each code into half bits
  let lo = (word & 0xffu) | ((word & 0xff00u) << 8u);
  let hi = ((word >> 16u) & 0xffu) | ((word >> 8u) & 0xff0000u);
  let halvesLo = ((lo & 0x007f007fu) << 7u) | ((lo & 0x00800080u) << 8u);
  let halvesHi = ((hi & 0x007f007fu) << 7u) | ((hi & 0x00800080u) << 8u);
  var values = vec4<f32>(unpack2x16float(halvesLo), unpack2x16float(halvesHi)) * ${2 ** (15 - bias)}.0;
  if (${wordHasNan}) {
    for (var e = 0u; e < 4u; e++) {
      let code = (word >> (8u * e)) & 0xffu;
      if (${isNan}) { values[e] = uniforms.NAN; }
    }
  }
  return values;
}
`;
}
