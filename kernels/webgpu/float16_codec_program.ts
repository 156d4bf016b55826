/**
 * ToFloat16 / FromFloat16 as one WGSL program template (the codec is in half_wgsl.ts).
 *
 * Algorithm: pack, one invocation per output word: halves 2w and 2w + 1 of one row, halfEncode(x), the
 *   first in the low 16 bits; a half past the row's end (odd row length) is +0. Unpack, one invocation per
 *   output float: half c of the row from word c / 2.
 * Geometry: flat, 64 invocations per workgroup, one workgroup per 64 outputs.
 * Limits: input and output must each fit one storage binding (checked by the kernel).
 */
import type {Float16CodecAttrs} from '../../src/kernel_name';
import {halfWordsPerRow} from '../../src/spec';
import {FlatProgram, perElementDispatch} from './flat_program';
import {HALF_DECODE_WGSL, HALF_ENCODE_WGSL} from './half_wgsl';
import {UniformField} from './uniforms';

export type HalfDirection = 'pack'|'unpack';

const WORKGROUP = 64;

export function float16CodecUniforms(attrs: Float16CodecAttrs): UniformField[] {
  return [
    {name: 'rowLength', type: 'i32', value: attrs.rowLength},
    {name: 'wordsPerRow', type: 'i32', value: halfWordsPerRow(attrs.rowLength)},
  ];
}

export class Float16CodecProgram extends FlatProgram {
  constructor(private readonly direction: HalfDirection, attrs: Float16CodecAttrs, outputSize: number) {
    super({
      variableNames: ['x'], outputSize, shaderKey: `float16_${direction}`,
      dispatch: perElementDispatch(outputSize, WORKGROUP), workgroupSize: WORKGROUP,
      uniforms: float16CodecUniforms(attrs), size: true,
    });
  }

  getUserCode(): string {
    const body = this.direction === 'pack' ? `
    let row = index / uniforms.wordsPerRow;
    let c = 2 * (index - row * uniforms.wordsPerRow);
    let flat = row * uniforms.rowLength + c;
    var word = halfEncode(x[flat]);
    if (c + 1 < uniforms.rowLength) { word = word | (halfEncode(x[flat + 1]) << 16u); }
    result[index] = bitcast<i32>(word);` : `
    let row = index / uniforms.rowLength;
    let c = index - row * uniforms.rowLength;
    result[index] = halfDecode2(bitcast<u32>(x[row * uniforms.wordsPerRow + c / 2]))[c % 2];`;
    return `
${this.direction === 'pack' ? HALF_ENCODE_WGSL : HALF_DECODE_WGSL}
fn main(index : i32) {
  if (index < uniforms.size) {${body}
  }
}
`;
  }
}
