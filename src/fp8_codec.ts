/**
 * e4m3 codecs on the CPU: the value of each of the 256 codes, and round-to-nearest-even encoding.
 *   e4m3fn:   bias 7, no infinities, NaN = S.1111.111, largest finite 448, has -0 (0x80).
 *   e4m3fnuz: bias 8, no infinities, no -0, NaN = 0x80, largest finite 240 (vLLM clamps to 224).
 * GPU kernels implement the same two maps in their shading language; this file is their reference.
 */
import {Fp8Format, fp8Max} from './spec';

function decodeCode(code: number, format: Fp8Format): number {
  const sign = code & 0x80 ? -1 : 1;
  const exponent = (code >> 3) & 0xf;
  const mantissa = code & 0x7;
  if (format === 'e4m3fn') {
    if (exponent === 15 && mantissa === 7) return NaN;
    return sign * (exponent === 0 ? mantissa * 2 ** -9 : (1 + mantissa / 8) * 2 ** (exponent - 7));
  }
  if (code === 0x80) return NaN;
  return sign * (exponent === 0 ? mantissa * 2 ** -10 : (1 + mantissa / 8) * 2 ** (exponent - 8));
}

const tables = new Map<Fp8Format, Float32Array>();

/** value(code) for all 256 codes. */
export function fp8DecodeTable(format: Fp8Format): Float32Array {
  let table = tables.get(format);
  if (table == null) {
    table = new Float32Array(256);
    for (let c = 0; c < 256; c++) table[c] = decodeCode(c, format);
    tables.set(format, table);
  }
  return table;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * code = round_to_nearest_even(clamp(x, ±FP8_MAX)) for an already scaled x (float32 semantics).
 * NaN keeps its sign on e4m3fn (0x7f / 0xff) and maps to 0x80 on e4m3fnuz; -0 is 0x80 on e4m3fn, 0 on fnuz.
 */
export function fp8Encode(x: number, format: Fp8Format): number {
  f32[0] = x;
  const signBit = (u32[0] >>> 31) << 7;
  if (Number.isNaN(x)) return format === 'e4m3fn' ? 0x7f | signBit : 0x80;
  const max = fp8Max(format);
  const a = Math.min(Math.abs(x), max);
  const bias = format === 'e4m3fn' ? 7 : 8;
  // Quantum of the binade holding a (subnormals share the smallest normal binade's quantum).
  const exponent = Math.max(a > 0 ? Math.floor(Math.log2(a)) : 1 - bias, 1 - bias);
  const quantum = 2 ** (exponent - 3);
  const steps = a / quantum;
  let n = Math.floor(steps);
  const frac = steps - n;
  if (frac > 0.5 || (frac === 0.5 && (n & 1) === 1)) n += 1;
  // n counts quanta: 8..16 in a normal binade (16 carries into the next), 0..7 subnormal.
  let code: number;
  if (n < 8 && exponent === 1 - bias) {
    code = n;
  } else {
    let e = exponent + bias;
    let m = n - 8;
    if (m === 8) { e += 1; m = 0; }
    code = (e << 3) | m;
  }
  if (code === 0) return format === 'e4m3fn' ? signBit : 0;
  return code | signBit;
}
