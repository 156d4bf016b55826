/**
 * Copies `size` floats starting at `offset` of a flat buffer into a new tensor. The FlashAttention
 * program writes output and LSE into one buffer (a tfjs program has one output); this splits them.
 * Geometry: flat, 64 invocations per workgroup (tfjs folds large dispatches into y and z).
 */
import {FlatProgram, perElementDispatch} from './flat_program';
import {UniformField} from './uniforms';

const WORKGROUP = 64;

export function copyRangeUniforms(offset: number): UniformField[] {
  return [{name: 'offset', type: 'i32', value: offset}];
}

export class CopyRangeProgram extends FlatProgram {
  constructor(size: number) {
    super({variableNames: ['x'], outputSize: size, shaderKey: 'copyRange', dispatch: perElementDispatch(size, WORKGROUP),
           workgroupSize: WORKGROUP, uniforms: copyRangeUniforms(0), size: true});
  }

  getUserCode(): string {
    return `
fn main(index : i32) {
  if (index < uniforms.size) { result[index] = x[uniforms.offset + index]; }
}
`;
  }
}
