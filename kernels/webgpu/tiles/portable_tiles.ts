/**
 * The portable twin of subgroup_matrix_tiles.ts: the same tile semantics in plain WGSL, for devices
 * without matrix units (CI's software GPUs). Tile arrays hold f32 values rounded to half (roundToHalf,
 * round to nearest even, exactly as f16 conversion; needs no shader-f16), and a 16×16 accumulator is
 * spread over the group's 32 invocations, 8 elements each: element t of lane l is row 2t + l / 16,
 * column l % 16. A product of two halves is exact in f32, so mma matches f16 matrix units up to the
 * order of the f32 accumulation.
 */
import {Fragment, MatrixTiles, Operand} from './matrix_tiles';

/**
 * f32 → nearest half (ties to even) → f32. |x| ≥ 65520 (half-way past 65504) becomes ±Inf; NaN and ±Inf
 * stay; below 2^-14 the step is half's subnormal 2^-24 (round() is ties-to-even in WGSL).
 */
export const ROUND_TO_HALF_WGSL = `
fn roundToHalf(x : f32) -> f32 {
  let bits = bitcast<u32>(x);
  let sign = bits & 0x80000000u;
  let mag = bits & 0x7fffffffu;
  if (mag >= 0x7f800000u) { return x; }
  if (mag >= 0x477ff000u) { return bitcast<f32>(sign | 0x7f800000u); }
  if (mag < 0x38800000u) {
    let units = round(bitcast<f32>(mag) * 16777216.0);
    return bitcast<f32>(sign | bitcast<u32>(units * 5.9604644775390625e-8));
  }
  let lsb = (mag >> 13u) & 1u;
  return bitcast<f32>(sign | ((mag + 0x0fffu + lsb) & 0xffffe000u));
}`;

/** `qTile[sg]` → {base: 'qTile', indexed: true}: per-group arrays are indexed inside the helpers. */
function parseArray(array: string): {base: string, indexed: boolean} {
  const m = /^(\w+)(\[sg\])?$/.exec(array);
  if (m == null) throw new Error(`portable tiles: unsupported operand array '${array}'`);
  return {base: m[1], indexed: m[2] != null};
}

/** WGSL reading element (row, col) of an operand of `array` at runtime offset `off`, stride `stride`. */
function element(array: string, colMajor: boolean, off: string, stride: string, row: string, col: string, group: string): string {
  const {base, indexed} = parseArray(array);
  const at = colMajor ? `${off} + (${col}) * ${stride} + ${row}` : `${off} + (${row}) * ${stride} + ${col}`;
  return `${base}${indexed ? `[${group}]` : ''}[${at}]`;
}

const PER_ELEMENT = `let lane = i32(localIndex) % 32;
  for (var pt = 0; pt < 8; pt++) {
    let row = 2 * pt + lane / 16;
    let col = lane % 16;`;

/**
 * The portable tiles as helper functions, one per operand pair / array, shared by all call sites (so the
 * module stays small: software GPUs compile it in a fraction of the time an unrolled copy per tile takes).
 * Stateful: the kernel generator asks for `helpers` after generating its body.
 */
export function createPortableTiles(): MatrixTiles {
  const functions = new Map<string, string>();
  const fnName = (...parts: string[]) => parts.join('_').replace(/\[sg\]/g, 'g');
  const mmaFn = (a: Operand, b: Operand) => {
    const name = fnName('mma', a.array, a.colMajor ? 'T' : 'N', b.array, b.colMajor ? 'T' : 'N');
    if (!functions.has(name)) {
      functions.set(name, `
fn ${name}(acc : array<f32, 8>, g : i32, aOff : i32, aStride : i32, bOff : i32, bStride : i32) -> array<f32, 8> {
  var r = acc;
  ${PER_ELEMENT}
    var sum = r[pt];
    for (var pk = 0; pk < 16; pk++) {
      sum = fma(${element(a.array, a.colMajor, 'aOff', 'aStride', 'row', 'pk', 'g')}, ${element(b.array, b.colMajor, 'bOff', 'bStride', 'pk', 'col', 'g')}, sum);
    }
    r[pt] = sum;
  }
  return r;
}`);
    }
    return name;
  };
  const moveFn = (kind: 'store'|'load', array: string) => {
    const name = fnName(kind, array);
    if (!functions.has(name)) {
      const at = element(array, false, 'off', 'stride', 'row', 'col', 'g');
      functions.set(name, kind === 'store' ? `
fn ${name}(acc : array<f32, 8>, g : i32, off : i32, stride : i32) {
  ${PER_ELEMENT}
    ${at} = acc[pt];
  }
}` : `
fn ${name}(g : i32, off : i32, stride : i32) -> array<f32, 8> {
  var r = array<f32, 8>();
  ${PER_ELEMENT}
    r[pt] = ${at};
  }
  return r;
}`);
    }
    return name;
  };
  return {
    kind: 'portable',
    enables: '',
    tileType: 'f32',
    tileBytes: 4,
    fragmentsHoldValues: false,
    get helpers() { return ROUND_TO_HALF_WGSL + [...functions.values()].join('\n'); },
    toTile: x => `roundToHalf(${x})`,
    declareAcc: name => `var ${name} = array<f32, 8>();`,
    fragment: (name: string, role: 'left'|'right', op: Operand) => ({code: '', fragment: {...op, name, role}}),
    mma: (acc: string, a: Fragment, b: Fragment) =>
        `${acc} = ${mmaFn(a, b)}(${acc}, sg, ${a.offset}, ${a.stride}, ${b.offset}, ${b.stride});`,
    shuffleXor: null,  // plain WGSL has no subgroups: lanes exchange through workgroup memory
    storeAcc: (acc, array, offset, stride) => `${moveFn('store', array)}(${acc}, sg, ${offset}, ${stride});`,
    loadAcc: (acc, array, offset, stride) => `${acc} = ${moveFn('load', array)}(sg, ${offset}, ${stride});`,
  };
}
