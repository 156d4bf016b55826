/**
 * QuantizeFp8 / DequantizeFp8 as one WGSL program template (the codecs are in fp8_wgsl.ts).
 *
 * Algorithm: quantize, one invocation per output word: four consecutive codes of one row,
 *   code = fp8Encode(x · scale), packed little-endian (code d in bits 8·(d mod 4)); codes past the
 *   row's end stay 0. Dequantize, one invocation per output float: value(code) · descale.
 * Geometry: flat, 64 invocations per workgroup, one workgroup per 64 outputs (tfjs folds a dispatch
 * above maxComputeWorkgroupsPerDimension into y and z, and its getGlobalIndex() unfolds it).
 * Limits: input and output must each fit one storage binding (checked by the kernel).
 */
import type {Fp8CodecAttrs} from '../../src/kernel_name';
import {fp8WordsPerRow} from '../../src/spec';
import {fp8CodecSnippet} from './fp8_wgsl';
import {FlatProgram, perElementDispatch} from './flat_program';
import {UniformField} from './uniforms';

export type CodecDirection = 'quantize'|'dequantize';

const WORKGROUP = 64;

export function fp8CodecUniforms(attrs: Fp8CodecAttrs): UniformField[] {
  return [
    {name: 'rowLength', type: 'i32', value: attrs.rowLength},
    {name: 'wordsPerRow', type: 'i32', value: fp8WordsPerRow(attrs.rowLength)},
    {name: 'scale', type: 'f32', value: attrs.scale},
    {name: 'innerSize', type: 'i32', value: attrs.innerSize},
    {name: 'axisSize', type: 'i32', value: attrs.axisSize},
  ];
}

export class Fp8CodecProgram extends FlatProgram {
  constructor(
      private readonly direction: CodecDirection, private readonly attrs: Fp8CodecAttrs,
      private readonly perAxisScales: boolean, outputSize: number) {
    super({
      variableNames: perAxisScales ? ['x', 'scales'] : ['x'], outputSize,
      shaderKey: `fp8_${direction}_${attrs.format}_${perAxisScales ? 'perAxis' : 'scalar'}`,
      dispatch: perElementDispatch(outputSize, WORKGROUP), workgroupSize: WORKGROUP,
      uniforms: fp8CodecUniforms(attrs), size: true,
    });
  }

  getUserCode(): string {
    const f = this.attrs.format;
    const scaleAt = this.perAxisScales ? 'scales[(flat / uniforms.innerSize) % uniforms.axisSize]' : 'uniforms.scale';
    const body = this.direction === 'quantize' ? `
    let row = index / uniforms.wordsPerRow;
    let w = index - row * uniforms.wordsPerRow;
    var word = 0u;
    for (var e = 0; e < 4; e++) {
      let c = w * 4 + e;
      if (c < uniforms.rowLength) {
        let flat = row * uniforms.rowLength + c;
        word = word | (fp8Encode_${f}(x[flat] * scaleAt(flat)) << (8u * u32(e)));
      }
    }
    result[index] = bitcast<i32>(word);` : `
    let row = index / uniforms.rowLength;
    let c = index - row * uniforms.rowLength;
    let word = bitcast<u32>(x[row * uniforms.wordsPerRow + c / 4]);
    result[index] = fp8Decode_${f}((word >> (8u * u32(c % 4))) & 0xffu) * scaleAt(index);`;
    return `
${fp8CodecSnippet(f)}
fn scaleAt(flat : i32) -> f32 { return ${scaleAt}; }

fn main(index : i32) {
  if (index < uniforms.size) {${body}
  }
}
`;
  }
}
