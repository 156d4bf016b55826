/**
 * What every WebGPU program of this package shares: inputs bound as flat views and indexed directly, a
 * flat 1-D output, a 1-D dispatch layout, and uniforms declared from a field list (uniforms.ts). A program
 * passes what differs to the constructor and writes getUserCode().
 */
import type {WebGPUProgram} from '@tensorflow/tfjs-backend-webgpu';
import {UniformField, uniformDeclaration} from './uniforms';

export interface FlatProgramShape {
  variableNames: string[];
  /** Elements of the flat output buffer. */
  outputSize: number;
  shaderKey: string;
  dispatch: [number, number, number];
  /** Invocations per workgroup (x only). */
  workgroupSize: number;
  /** The program's own uniforms (tfjs adds its shape uniforms). */
  uniforms: readonly UniformField[];
  /** tfjs's `size` uniform: the output size, for an `index < uniforms.size` guard. */
  size?: boolean;
  /** Components per input binding (4: the input is bound as array<vec4<f32>>). */
  variableComponents?: number[];
}

/** One invocation per element: enough workgroups of `workgroupSize` for `count` invocations (tfjs folds x > 65535). */
export function perElementDispatch(count: number, workgroupSize: number): [number, number, number] {
  return [Math.ceil(count / workgroupSize), 1, 1];
}

export abstract class FlatProgram implements WebGPUProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = {x: [0]};
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms: string;
  size: boolean;
  variableComponents?: number[];

  constructor(shape: FlatProgramShape) {
    this.variableNames = shape.variableNames;
    this.outputShape = [shape.outputSize];
    this.shaderKey = shape.shaderKey;
    this.dispatch = shape.dispatch;
    this.workgroupSize = [shape.workgroupSize, 1, 1];
    this.uniforms = uniformDeclaration(shape.uniforms);
    this.size = shape.size ?? false;
    this.variableComponents = shape.variableComponents;
  }

  abstract getUserCode(): string;
}
