/**
 * Copies `size` floats starting at `offset` of a flat buffer into a new tensor. The FlashAttention
 * program writes output and LSE into one buffer (a tfjs program has one output); this splits them.
 * Geometry: flat, 64 invocations per workgroup (tfjs folds large dispatches into y and z).
 */
import type {WebGPUProgram} from '@tensorflow/tfjs-backend-webgpu';
import {UniformField, uniformDeclaration} from './uniforms';

const WORKGROUP = 64;

export function copyRangeUniforms(offset: number): UniformField[] {
  return [{name: 'offset', type: 'i32', value: offset}];
}

export class CopyRangeProgram implements WebGPUProgram {
  variableNames = ['x'];
  outputShape: number[];
  shaderKey = 'copyRange';
  dispatchLayout = {x: [0]};
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  size = true;
  uniforms = uniformDeclaration(copyRangeUniforms(0));

  constructor(size: number) {
    this.outputShape = [size];
    this.dispatch = [Math.ceil(size / WORKGROUP), 1, 1];
  }

  getUserCode(): string {
    return `
fn main(index : i32) {
  if (index < uniforms.size) { result[index] = x[uniforms.offset + index]; }
}
`;
  }
}
